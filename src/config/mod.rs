//! Reading `pmtr.conf` (SPEC §2).

pub mod model;

pub use model::*;

use std::path::Path;

/// `pmtr -t`: prints `FILE: OK, N jobs` or every error; returns the exit code.
pub fn check(path: &Path) -> u8 {
    let _ = path;
    todo!("config helper")
}
