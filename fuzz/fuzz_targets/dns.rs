//! Any reply from a name server yields addresses or none, reading no byte
//! outside it (`pmtr::fuzz::dns_reply`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pmtr::fuzz::dns_reply(data));
