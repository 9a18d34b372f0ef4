//! pmtr's black-box tests: one crate that runs the real binary against
//! real processes, sockets and files. Each module holds one area.

/// Shared helpers: temp dirs, a running pmtr, waiting on conditions.
mod util;

/// `pmtr -t` and the configuration language (SPEC §1–2, issue 2).
mod config;

/// The supervisor core: running, restarting, stopping, live edits (SPEC §3–6, issue 3).
mod supervisor;

/// `pmtr status|stop|start|restart` over the control socket (issue 9).
mod status;
