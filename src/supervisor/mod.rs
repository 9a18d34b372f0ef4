//! The supervisor: one event loop that keeps every job as the
//! configuration wants it (SPEC §3–6).

use crate::cli::Options;

pub fn run(opts: &Options) -> u8 {
    let _ = opts;
    todo!("core")
}
