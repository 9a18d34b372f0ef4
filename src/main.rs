//! pmtr: starts the jobs in /etc/pmtr.conf, restarts them when they exit,
//! and applies edits to the file as soon as it is saved.
//!
//! This file only picks the mode: the companion tools by program name or
//! first word (busybox style, so a device carries one file), `-t`, or the
//! supervisor itself.

#![deny(unsafe_code)]
// Without std (see `sys/start.rs` for why); unit tests run under std's
// harness.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

#[cfg_attr(not(test), macro_use)]
extern crate alloc;
#[cfg(test)]
#[macro_use]
extern crate std;

// First, so their macros are in scope in every module below.
#[macro_use]
mod os;
#[macro_use]
mod syslog;

mod cli;
mod config;
mod control;
mod net;
mod resolve;
mod spawn;
mod supervisor;
mod sys;
mod tools;
mod users;

/// What every module would have from std's prelude.
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
}

use prelude::*;

/// Runs pmtr with its command line (argv, program name first); returns the
/// exit status. Called by the C entry point in `sys/start.rs`.
#[cfg_attr(test, allow(dead_code))]
fn run(mut args: Vec<String>) -> u8 {
    let argv0 = if args.is_empty() {
        String::new()
    } else {
        args.remove(0)
    };
    let rest = args;
    match os::file_name(&argv0) {
        "pmtr-ctl" => tools::ctl::main(&rest),
        "pmtr-rptserver" => tools::rptserver::main(&rest),
        _ => match rest.first().map(String::as_str) {
            Some("ctl") => tools::ctl::main(&rest[1..]),
            Some("rptserver") => tools::rptserver::main(&rest[1..]),
            Some(verb @ ("status" | "stop" | "start" | "restart")) => {
                control::client::main(verb, &rest[1..])
            }
            _ => daemon(rest),
        },
    }
}

/// `pmtr [flags]`: validate with `-t`, or supervise.
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
