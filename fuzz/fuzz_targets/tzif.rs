//! Any /etc/localtime (TZif file, or POSIX rule) yields a zone or UTC and
//! a timestamp for every time the clock can show (`pmtr::fuzz::tzif`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pmtr::fuzz::tzif(data));
