//! The `no_std` runtime: what std's runtime gave pmtr and the rest of the
//! crate builds on — the C entry point and process set-up ([`start`]), the
//! heap ([`heap`]), the one lock ([`lock`]), printing ([`print`]), giving
//! back start-up pages ([`trim`]), the prelude, and in the min builds the
//! C library's memory functions (`mem`) and, on 32-bit ARM, 64-bit
//! division (`div`). Syscall wrappers live apart, in `sys/`.

// No 64-bit atomics: the Thumb-1 armv6 build has no instructions for
// them and would need `__sync_*_8` helpers (`sys::NOT_DEFAULT` is two
// 32-bit words for that reason).

// The min builds' 64-bit division on 32-bit ARM (`cross/lib.sh` sets the
// cfg); the unit tests call it by its Rust names on every target.
#[cfg(any(test, all(pmtr_small_rt, target_arch = "arm", not(fuzzing))))]
mod div;
pub mod heap;
pub mod lock;
// The min builds' byte-loop memcpy and kin (`cross/lib.sh` sets the cfg);
// the unit tests call them by their Rust names.
#[cfg(any(test, all(pmtr_small_rt, not(fuzzing))))]
mod mem;
pub mod prelude;
#[macro_use]
pub mod print;
pub mod start;
pub mod trim;
