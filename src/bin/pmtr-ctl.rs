//! `pmtr-ctl`: enables and disables jobs of a pmtr that listens on UDP
//! (`src/tools/ctl.rs`).

#![no_std]
#![no_main]

use core::ffi::{c_char, c_int};

/// The C entry point (no std runtime: `src/rt/start.rs`).
#[unsafe(export_name = "main")]
extern "C" fn main(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: argc, argv and envp are as the C runtime passed them.
    unsafe { pmtr::rt::start::enter(argc, argv, envp, pmtr::tools::ctl::main) }
}
