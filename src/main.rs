//! `pmtr`: the supervisor, `pmtr -t`, and `pmtr status|stop|start|restart`
//! (the library, `src/lib.rs`, picks which).

#![no_std]
#![no_main]

use core::ffi::{c_char, c_int};

/// The C entry point (pmtr has no std runtime: `src/rt/start.rs`).
#[unsafe(export_name = "main")]
extern "C" fn main(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: argc, argv and envp are as the C runtime passed them.
    unsafe { pmtr::rt::start::enter(argc, argv, envp, pmtr::run) }
}
