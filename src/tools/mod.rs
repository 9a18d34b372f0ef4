//! The companion programs `pmtr-ctl` and `pmtr-rptserver` (SPEC §8),
//! built as their own binaries (`src/bin/`).

pub mod ctl;
pub mod rptserver;
