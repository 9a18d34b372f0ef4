//! Companion tools served by the same binary (SPEC §8).

pub mod ctl;
pub mod rptserver;
pub mod table;
