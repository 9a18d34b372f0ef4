//! pmtr's black-box tests: one crate that runs the real binary against
//! real processes, sockets and files. Each module holds one area.

/// Shared helpers: temp dirs, a running pmtr, waiting on conditions.
mod util;

/// `pmtr -t` and the configuration language (SPEC §1–2, issue 2).
mod config;

/// The supervisor core: running, restarting, stopping, live edits (SPEC §3–6, issue 3).
mod supervisor;

/// pmtr's syslog writer against busybox syslogd (SPEC §7, issue 4).
mod logging;

/// UDP report and control, `pmtr-ctl`, `pmtr-rptserver` (SPEC §8, issue 4).
mod udp;

/// `make install`/`uninstall`, the SysV script, the systemd unit, shell lint
/// (SPEC §9, issue 6).
mod install;

/// The Debian package: build, lintian, install/upgrade/remove/purge with
/// dpkg in a throwaway busybox root (issue 17).
mod deb;

/// Faults, floods and hostile input pmtr must survive (issue 8).
mod reliability;

/// `pmtr status|stop|start|restart` over the control socket (issue 9).
mod status;

/// Hostile jobs, users, output and datagrams (SPEC §10, issue 13).
mod hostile;

/// Restart policy, backoff, give up, stop/reload signals, env files,
/// groups and umask (issue 15).
mod restart;

/// Readiness, `after` and health checks against real processes (issue 16).
mod ready;
