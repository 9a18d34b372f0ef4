//! `pmtr rptserver`.

use std::ffi::OsString;

pub fn main(args: &[OsString]) -> u8 {
    let _ = args;
    todo!("logging/udp helper")
}
