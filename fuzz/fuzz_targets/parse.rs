//! Any bytes given to the pmtr.conf reader yield a configuration or a list
//! of errors, never a panic, a hang or unbounded memory
//! (`pmtr::fuzz::config`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pmtr::fuzz::config(data));
