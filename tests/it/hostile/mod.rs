//! pmtr against the parties SPEC §10 does not trust: jobs running as
//! another `user`, whatever that user can write, every byte a job prints,
//! every datagram and every control-socket client (issue 13).
//!
//! Each test plays the attacker for one defect and asserts the guarantee:
//! the loop keeps answering `pmtr status` (within [`ANSWER_LIMIT`]), SIGTERM still
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

/// The job's user against its rotated logs (issue 17).
mod logs;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Pmtr, pmtr_bin, wait_until};

/// How long `pmtr status` may take before a test calls the loop stuck.
/// Each defect these tests hold closed would block the loop for good, so
/// the limit only has to be finite; it is generous because `make test`
/// runs many tests at once on two cores, where a healthy pmtr has taken
/// over a second to be scheduled (timing belongs in `make bench`).
pub(super) const ANSWER_LIMIT: Duration = Duration::from_secs(5);

/// `pmtr status` answers within [`ANSWER_LIMIT`] (the loop is not stuck).
pub(super) fn answers_promptly(p: &Pmtr) {
    let t0 = Instant::now();
    let mut child = Command::new(pmtr_bin())
        .arg("status")
        .arg("-s")
        .arg(p.socket())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let answered = wait_until(ANSWER_LIMIT, || matches!(child.try_wait(), Ok(Some(_))));
    if !answered {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(
        answered,
        "pmtr status did not answer within {ANSWER_LIMIT:?} ({:?}); log:\n{}",
        t0.elapsed(),
        p.log()
    );
}

/// Keeps checking that pmtr answers, for `how_long`.
pub(super) fn stays_responsive(p: &Pmtr, how_long: Duration) {
    let end = Instant::now() + how_long;
    while Instant::now() < end {
        answers_promptly(p);
        std::thread::sleep(Duration::from_millis(100));
    }
}
