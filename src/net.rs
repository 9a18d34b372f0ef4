//! UDP report and control (SPEC §8). Interim version: the API the event
//! loop uses; sockets are opened by the full version.

use crate::config::UdpUrl;
use rustix::fd::{BorrowedFd, OwnedFd};

/// A control datagram's verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Enable,
    Disable,
}

/// One line of a report: `NAME e|d SECONDS_RUNNING PID CMD`.
pub struct ReportLine<'a> {
    pub name: &'a str,
    pub enabled: bool,
    pub secs_running: u64,
    /// 0 when the job is not running.
    pub pid: u32,
    pub cmd: &'a [String],
}

/// The report destinations and listening sockets of the current config.
#[derive(Default)]
pub struct Net {
    listen: Vec<OwnedFd>,
    report: Vec<UdpUrl>,
}

impl Net {
    /// (Re)opens the sockets for a newly loaded configuration and registers
    /// listening socket `i` in `epoll` with token `token_base + i`. Failures
    /// are logged; jobs are never affected.
    pub fn configure(
        &mut self,
        epoll: BorrowedFd<'_>,
        token_base: u64,
        report: &[UdpUrl],
        listen: &[UdpUrl],
    ) {
        let _ = (epoll, token_base, listen);
        self.listen.clear();
        self.report = report.to_vec();
    }

    /// True when reports are due every 10 seconds.
    pub fn reporting(&self) -> bool {
        !self.report.is_empty()
    }

    /// Reads every pending datagram on listening socket `index` and calls
    /// `command` once per job name in each well-formed one.
    pub fn receive(&mut self, index: usize, command: impl FnMut(Control, &str)) {
        let _ = (index, command);
    }

    /// Sends one report datagram to every `report to` destination.
    pub fn send_report<'a>(&mut self, hostname: &str, jobs: impl Iterator<Item = ReportLine<'a>>) {
        let _ = (hostname, jobs.count());
    }
}
