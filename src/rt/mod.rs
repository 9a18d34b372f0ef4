//! The `no_std` runtime: what std's runtime gave pmtr and the rest of the
//! crate builds on — the C entry point and process set-up ([`start`]), the
//! heap ([`heap`]), the one lock ([`lock`]), printing ([`print`]), giving
//! back start-up pages ([`trim`]) and the prelude. Syscall wrappers live
//! apart, in `sys/`.

pub mod heap;
pub mod lock;
pub mod prelude;
#[macro_use]
pub mod print;
pub mod start;
pub mod trim;
