//! Any bytes from a control-socket client are a request or a one-line
//! error answer (`pmtr::fuzz::control_request`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pmtr::fuzz::control_request(data));
