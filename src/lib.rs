//! pmtr: starts the jobs in /etc/pmtr.conf, restarts them when they exit,
//! and applies edits to the file as soon as it is saved.
//!
//! The library behind three programs (`src/main.rs`, `src/bin/`): `pmtr`
//! itself, and the companion tools `pmtr-ctl` and `pmtr-rptserver`, which
//! belong on the machine that watches the devices rather than on each
//! device, so the file copied onto a Pi carries none of their code. This
//! file picks pmtr's mode: a `status|stop|start|restart` command, `-t`, or
//! the supervisor itself.

#![deny(unsafe_code)]
// Without std (see `sys/start.rs` for why); unit tests run under std's
// harness.
#![cfg_attr(not(test), no_std)]

#[cfg_attr(not(test), macro_use)]
extern crate alloc;
#[cfg(test)]
#[macro_use]
extern crate std;

// First, so their macros are in scope in every module below.
#[macro_use]
pub mod rt;
#[macro_use]
mod syslog;

mod cli;
mod clock;
mod config;
mod control;
mod files;
mod logger;
// Entry points for fuzz/ (built with `--cfg fuzzing`) and the unit tests
// that replay its corpora; never in the programs.
#[cfg(any(test, fuzzing))]
pub mod fuzz;
mod net;
mod spawn;
mod supervisor;
pub mod sys;
pub mod tools;
mod users;

use prelude::*;
use rt::prelude;

/// Writes `PARTS…: STRERROR(e)`: the call or object that failed, then why.
/// One function for the `Display` of every error that carries an errno
/// (issue 18: a `write!` per message built its own argument list; these
/// `write_str` calls are the same text for fewer bytes).
#[inline(never)]
pub(crate) fn write_failed(
    f: &mut core::fmt::Formatter<'_>,
    parts: &[&str],
    e: rustix::io::Errno,
) -> core::fmt::Result {
    for part in parts {
        f.write_str(part)?;
    }
    f.write_str(": ")?;
    f.write_str(sys::strerror(e))
}

/// Runs `pmtr` with its arguments (argv without the program name);
/// returns the exit status.
///
/// Each mode is a function of its own, never inlined here, and so is the
/// supervisor's start-up (`supervisor::run`): the frames that stay on
/// the stack under the loop are small, and what start-up used below them
/// is given back when the loop first sleeps (`rt::trim`). Inlined, this
/// function's frame was 18 KB, every page of it written (stack probes)
/// and kept for good (issue 18, PSS).
pub fn run(args: Vec<String>) -> u8 {
    match args.first().map(String::as_str) {
        Some(verb @ ("status" | "stop" | "start" | "restart" | "reload" | "signal")) => {
            control::client::main(verb, &args[1..])
        }
        // A helper pmtr starts from its own binary (src/logger.rs).
        Some("log") => logger::main(&args[1..]),
        _ => daemon(args),
    }
}

/// `pmtr [flags]`: validate with `-t`, or supervise.
#[inline(never)]
fn daemon(args: Vec<String>) -> u8 {
    let opts = match cli::parse(args) {
        Ok(cli::Command::Run(opts)) => opts,
        Ok(cli::Command::Help) => {
            print!("{}", cli::USAGE);
            return 0;
        }
        Ok(cli::Command::Version) => {
            println!("pmtr {}", env!("CARGO_PKG_VERSION"));
            return 0;
        }
        Err(e) => {
            eprint!("pmtr: {e}\n{}", cli::USAGE);
            return 2;
        }
    };
    if opts.test {
        return config::check(&opts.config);
    }
    supervisor::run(&opts)
}
