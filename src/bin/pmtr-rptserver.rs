//! `pmtr-rptserver`: collects the UDP status reports of pmtr instances into
//! one file (`src/tools/rptserver.rs`).

#![no_std]
#![no_main]

use core::ffi::{c_char, c_int};

/// The C entry point (no std runtime: `src/rt/start.rs`).
#[unsafe(export_name = "main")]
extern "C" fn main(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: argc, argv and envp are as the C runtime passed them.
    unsafe { pmtr::rt::start::enter(argc, argv, envp, pmtr::tools::rptserver::main) }
}
