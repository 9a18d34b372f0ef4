//! pmtr: starts the jobs in /etc/pmtr.conf, restarts them when they exit,
//! and applies edits to the file as soon as it is saved.
//!
//! This file only picks the mode: the companion tools by program name or
//! first word (busybox style, so a device carries one file), `-t`, or the
//! supervisor itself.

#![deny(unsafe_code)]

// First, so its macros are in scope in every module below.
#[macro_use]
mod syslog;

mod cli;
mod config;
mod control;
mod net;
mod spawn;
mod supervisor;
mod sys;
mod tools;
mod users;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let program = Path::new(&argv0)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rest: Vec<OsString> = args.collect();
    let code = match program.as_str() {
        "pmtr-ctl" => tools::ctl::main(&rest),
        "pmtr-rptserver" => tools::rptserver::main(&rest),
        _ => match rest.first().and_then(|a| a.to_str()) {
            Some("ctl") => tools::ctl::main(&rest[1..]),
            Some("rptserver") => tools::rptserver::main(&rest[1..]),
            Some(verb @ ("status" | "stop" | "start" | "restart")) => {
                control::client::main(verb, &rest[1..])
            }
            _ => daemon(rest),
        },
    };
    ExitCode::from(code)
}

/// `pmtr [flags]`: validate with `-t`, or supervise.
fn daemon(args: Vec<OsString>) -> u8 {
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
