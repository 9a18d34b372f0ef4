//! Local status and control (issue 9): `pmtr status`, `pmtr stop|start|
//! restart NAME…` ask the running pmtr over a unix stream socket
//! (`/run/pmtr.sock`, or `-s SOCKET`), mode 0600, where pmtr checks the
//! peer's uid (SO_PEERCRED): root and pmtr's own user only.
//!
//! [`server`] is pmtr's side, driven by the event loop; [`client`] is the
//! commands; [`protocol`] is what goes between them; [`table`] lays out
//! `pmtr status` (and `pmtr-rptserver`'s summary).

pub mod client;
pub mod protocol;
pub mod server;
pub mod table;

pub use server::{Readiness, Server};
