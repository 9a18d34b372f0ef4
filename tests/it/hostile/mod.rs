//! pmtr against the parties SPEC §10 does not trust: jobs running as
//! another `user`, whatever that user can write, every byte a job prints,
//! every datagram and every control-socket client (issue 13).
//!
//! Each test plays the attacker for one defect and asserts the guarantee:
//! the loop keeps answering `pmtr status` within a second, SIGTERM still
//! stops pmtr within its `kill after` time, no file outside the job's
//! rights is touched, and pmtr's memory stays bounded. One submodule per
//! area; each names the defect it holds closed.

/// The untrusted job and its user (items 1–4, 6, 8, 9).
mod job;

/// The network: silent, late or lying nameservers; floods of junk
/// datagrams (items 5 and 6).
mod net;

/// Readiness input and health checks (issue 16): notify and ready-fd
/// floods, garbage datagrams, other users, checks that hang or babble.
mod ready;
