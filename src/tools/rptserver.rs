//! `pmtr-rptserver`: receives the UDP
//! reports of one or many pmtr instances (`report to udp://...`, SPEC §8)
//! and keeps FILE as a summary to read: one line per host and job, with how
//! long ago that host last reported the job.
//!
//! FILE is rewritten atomically (FILE.tmp, then rename), after every report
//! and every few seconds in between so the ages stay true. This is a tool,
//! not the daemon: it waits in `poll` with a timeout and allocates freely.

use crate::prelude::*;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::clock::Instant;
use core::time::Duration;
use rustix::io::Errno;
use rustix::net::RecvFlags;

use crate::control::table::{Cells, duration};
use crate::net::wire::{Report, ReportJob, parse_report};

pub const USAGE: &str = "\
usage: pmtr-rptserver -p PORT -f FILE [-a ADDR] [-x SECONDS]

Receives the reports that pmtr sends with `report to udp://HOST:PORT` and
keeps FILE as a summary: one line per host and job, with the job's state,
run time, PID, command, and how long ago the host last reported it. FILE
is replaced atomically (FILE.tmp, then rename) after each report and every
5 seconds.

  -p PORT     UDP port to receive on
  -f FILE     the summary file
  -a ADDR     address to receive on (default 0.0.0.0; a multicast group
              is joined on the default interface)
  -x SECONDS  forget a job its host has not reported for this long
              (default: never)
  -h          this text

Reports are not authenticated: anyone who can send to PORT can put lines
into FILE.
";

/// How often FILE is rewritten when no report comes.
const REFRESH: Duration = Duration::from_secs(5);

#[derive(Debug, PartialEq, Eq)]
struct Options {
    port: u16,
    file: String,
    addr: IpAddr,
    forget_after: Option<Duration>,
}

enum Parsed {
    Help,
    Run(Options),
}

/// One job as its host last reported it.
type Job = ReportJob;

/// What FILE shows: jobs by (host, name), with when they were last seen.
/// A Vec kept sorted by (host, name) rather than a BTreeMap: the same order
/// and lookups in a fraction of the code.
#[derive(Default)]
struct Summary {
    jobs: Vec<(HostJob, Seen)>,
}

/// A Summary key: (host, job name).
type HostJob = (String, String);

/// A Summary value: the job as last reported, when, and by which address.
type Seen = (Job, Instant, SocketAddr);

pub fn main(args: Vec<String>) -> u8 {
    let opts = match parse_args(&args) {
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return 0;
        }
        Ok(Parsed::Run(opts)) => opts,
        Err(e) => {
            eprint!("pmtr-rptserver: {e}\n{USAGE}");
            return 2;
        }
    };
    match run(&opts) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("pmtr-rptserver: {e}");
            1
        }
    }
}

fn parse_args(args: &[String]) -> Result<Parsed, String> {
    let mut port = None;
    let mut file = None;
    let mut addr: IpAddr = Ipv4Addr::UNSPECIFIED.into();
    let mut forget_after = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(Parsed::Help);
        }
        let Some(flag) = arg.strip_prefix('-').and_then(|f| f.chars().next()) else {
            return Err(format!("unexpected argument '{arg}'"));
        };
        let inline = &arg[1 + flag.len_utf8()..];
        if !"pfax".contains(flag) {
            return Err(format!("unknown option '{arg}'"));
        }
        let text: String = if inline.is_empty() {
            args.next()
                .cloned()
                .ok_or_else(|| format!("option '-{flag}' needs an argument"))?
        } else {
            inline.into()
        };
        match flag {
            'p' => {
                port = Some(
                    text.parse::<u16>()
                        .ok()
                        .filter(|&p| p != 0)
                        .ok_or(format!("'{text}' is not a port number (1-65535)"))?,
                )
            }
            'f' => file = Some(text),
            'a' => {
                addr = text
                    .parse()
                    .map_err(|_| format!("'{text}' is not an IP address"))?
            }
            _ => {
                let secs = text
                    .parse::<u64>()
                    .map_err(|_| format!("'{text}' is not a number of seconds"))?;
                forget_after = Some(Duration::from_secs(secs));
            }
        }
    }
    Ok(Parsed::Run(Options {
        port: port.ok_or("missing -p PORT")?,
        file: file.ok_or("missing -f FILE")?,
        addr,
        forget_after,
    }))
}

fn run(opts: &Options) -> Result<(), String> {
    let sock =
        crate::net::bind_udp(&SocketAddr::new(opts.addr, opts.port)).map_err(|(call, e)| {
            let addr = SocketAddr::new(opts.addr, opts.port);
            format!(
                "can't listen on {addr}: {call}: {}",
                crate::sys::strerror(e)
            )
        })?;
    let mut summary = Summary::default();
    write_atomically(&opts.file, &summary.render(Instant::now()))?;
    let mut buf = vec![0u8; 65536];
    let mut pollfd = [rustix::event::PollFd::new(
        &sock,
        rustix::event::PollFlags::IN,
    )];
    let refresh = rustix::time::Timespec {
        tv_sec: REFRESH.as_secs() as _,
        tv_nsec: 0,
    };
    loop {
        // FILE is rewritten after each report, and every REFRESH without one.
        match rustix::event::poll(&mut pollfd, Some(&refresh)) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Err(format!("poll: {}", crate::sys::strerror(e))),
        }
        match rustix::net::recvfrom(&sock, &mut buf, RecvFlags::empty()) {
            Ok((n, _, from)) => {
                let from = from.and_then(|a| SocketAddr::try_from(a).ok());
                let from = from.unwrap_or(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0));
                match parse_report(&buf[..n]) {
                    Ok(report) => summary.update(report, Instant::now(), from),
                    Err(why) => eprintln!("pmtr-rptserver: ignored datagram from {from}: {why}"),
                }
            }
            Err(Errno::AGAIN | Errno::INTR) => {}
            Err(e) => return Err(format!("recvfrom: {}", crate::sys::strerror(e))),
        }
        let now = Instant::now();
        if let Some(limit) = opts.forget_after {
            summary.forget_older_than(now, limit);
        }
        // A failed write (full disk) is worth saying, not worth stopping.
        if let Err(e) = write_atomically(&opts.file, &summary.render(now)) {
            eprintln!("pmtr-rptserver: {e}");
        }
    }
}

impl Summary {
    fn update(&mut self, report: Report, now: Instant, from: SocketAddr) {
        for (name, job) in report.jobs {
            let key = (report.host.clone(), name);
            match self.jobs.binary_search_by(|(k, _)| k.cmp(&key)) {
                Ok(i) => self.jobs[i].1 = (job, now, from),
                Err(i) => self.jobs.insert(i, (key, (job, now, from))),
            }
        }
    }

    fn forget_older_than(&mut self, now: Instant, limit: Duration) {
        self.jobs
            .retain(|(_, (_, seen, _))| now.duration_since(*seen) < limit);
    }

    /// The file's text: a header, then aligned columns.
    fn render(&self, now: Instant) -> String {
        let mut cells = Cells::<8>::new("HOST\tJOB\tSTATE\tRUNNING\tPID\tSEEN\tFROM\tCMD");
        for ((host, name), (job, seen, from)) in &self.jobs {
            cells.push(host);
            cells.push(name);
            match (&job.up, job.failed, job.enabled) {
                // Running, not ready or not healthy (issue 16).
                (Some((word, secs)), _, _) => {
                    cells.text.push_str(word);
                    cells.text.push(' ');
                    duration(&mut cells.text, *secs);
                    cells.end();
                }
                (None, true, _) => cells.push("failed"),
                (None, false, true) => cells.push("enabled"),
                (None, false, false) => cells.push("disabled"),
            }
            if job.pid == 0 {
                cells.push("-");
                cells.push("-");
            } else {
                duration(&mut cells.text, job.secs_running);
                cells.end();
                cells.push(&job.pid.to_string());
            }
            duration(&mut cells.text, now.duration_since(*seen).as_secs());
            cells.push(" ago");
            cells.push(&from.ip().to_string());
            cells.push(&job.cmd);
        }
        // Sorted by host first, so each new host starts where the host
        // differs from the row before.
        let hosts = self
            .jobs
            .iter()
            .enumerate()
            .filter(|&(i, ((h, _), _))| i == 0 || self.jobs[i - 1].0.0 != *h)
            .count();
        let mut out = format!(
            "# pmtr-rptserver: {} jobs on {hosts} hosts\n",
            self.jobs.len()
        );
        out.push_str(&cells.aligned(true));
        out
    }
}

/// Writes FILE.tmp and renames it over FILE, so a reader never sees half
/// a file.
fn write_atomically(file: &str, text: &str) -> Result<(), String> {
    let tmp = format!("{file}.tmp");
    let strerror = crate::sys::strerror;
    crate::files::write_file(&tmp, text.as_bytes(), 0o644)
        .map_err(|e| format!("can't write {tmp}: {}", strerror(e)))?;
    rustix::fs::rename(&tmp, file)
        .map_err(|e| format!("can't rename {tmp} to {file}: {}", strerror(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_has_one_line_per_host_and_job() {
        let mut s = Summary::default();
        let t0 = Instant::now();
        let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        s.update(
            parse_report(b"report a\nweb e 5 10 /bin/web\n").unwrap(),
            t0,
            from,
        );
        s.update(
            parse_report(b"report b\nweb d 0 0 /bin/web\ndb e 4000 11 /bin/db -x\n").unwrap(),
            t0,
            from,
        );
        s.update(
            parse_report(b"report a\nweb e 15 10 /bin/web\n").unwrap(),
            t0 + Duration::from_secs(10),
            from,
        );
        let text = s.render(t0 + Duration::from_secs(72));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# pmtr-rptserver: 3 jobs on 2 hosts");
        assert!(lines[1].starts_with("HOST  JOB  STATE"));
        fn row(l: &str) -> Vec<&str> {
            l.split_whitespace().collect()
        }
        assert_eq!(
            row(lines[2]),
            [
                "a",
                "web",
                "enabled",
                "15s",
                "10",
                "1m02s",
                "ago",
                "127.0.0.1",
                "/bin/web"
            ]
        );
        assert_eq!(
            row(lines[3]),
            [
                "b",
                "db",
                "enabled",
                "1h06m",
                "11",
                "1m12s",
                "ago",
                "127.0.0.1",
                "/bin/db",
                "-x"
            ]
        );
        assert_eq!(
            row(lines[4]),
            [
                "b",
                "web",
                "disabled",
                "-",
                "-",
                "1m12s",
                "ago",
                "127.0.0.1",
                "/bin/web"
            ]
        );
        s.forget_older_than(t0 + Duration::from_secs(72), Duration::from_secs(65));
        assert_eq!(s.jobs.len(), 1);
    }

    #[test]
    fn starting_and_unhealthy_jobs_show_as_such() {
        let mut s = Summary::default();
        let t0 = Instant::now();
        let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        s.update(
            parse_report(
                b"report a\napi e 3 7 /bin/api\tstarting 3\ndb e 90 8 /bin/db\tunhealthy 75\n",
            )
            .unwrap(),
            t0,
            from,
        );
        let text = s.render(t0);
        let states: Vec<String> = text
            .lines()
            .skip(2)
            .map(|l| {
                l.split_whitespace()
                    .skip(2)
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(states, ["starting 3s", "unhealthy 1m15s"], "{text}");
    }
}
