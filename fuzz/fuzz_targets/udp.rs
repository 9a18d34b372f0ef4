//! Any datagram at a `listen on` socket is an enable/disable with job
//! names or a one-line reason to drop it (`pmtr::fuzz::udp_control`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pmtr::fuzz::udp_control(data));
