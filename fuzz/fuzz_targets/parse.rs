//! Any bytes given to the pmtr.conf reader yield a configuration or a list
//! of errors, never a panic, a hang or unbounded memory.

#![no_main]
// The target uses only parse_bytes; the rest of the module is pmtr's.
#![allow(dead_code)]

#[path = "../../src/config/mod.rs"]
mod config;
#[path = "../../src/os.rs"]
mod os;

/// What pmtr's crate root gives the config module.
#[allow(unused_imports)]
mod prelude {
    pub use std::borrow::ToOwned;
    pub use std::boxed::Box;
    pub use std::string::{String, ToString};
    pub use std::vec::Vec;
}

/// pmtr's `sys::strerror` is libc's; errors of file reads never happen
/// here (the target parses bytes).
mod sys {
    pub fn strerror(_: rustix::io::Errno) -> &'static str {
        "I/O error"
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    match config::parse_bytes("fuzz.conf", data) {
        Ok(cfg) => {
            // What the supervisor relies on.
            assert!(cfg.jobs.len() <= 10_000);
            for job in &cfg.jobs {
                assert!(job.cmd.first().is_some_and(|c| c.starts_with('/')));
                assert!(!job.name.is_empty());
                if let Some(cpus) = &job.cpu {
                    assert!(cpus.windows(2).all(|w| w[0] < w[1]));
                }
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in &errors {
                // Every message is one line.
                assert!(!e.to_string().contains('\n'));
            }
        }
    }
});
