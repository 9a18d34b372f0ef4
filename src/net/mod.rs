//! UDP report and control (SPEC §8).
//!
//! `report to udp://HOST:PORT[@IFACE]`: every 10 seconds (and right after
//! an enable/disable) the event loop calls [`Net::send_report`], which
//! sends `report HOSTNAME` and one `NAME e|d SECONDS PID CMD` line per
//! restartable job to every destination. A report too big for one
//! datagram is split into several, each starting with its own `report`
//! line, rather than cut.
//!
//! `listen on udp://ADDR:PORT`: datagrams `enable NAME...` or
//! `disable NAME...`. There is no authentication: anyone who can reach the
//! port can stop jobs, so pmtr warns when the address is not loopback.
//!
//! Sockets are (re)opened on each configuration load; failures are logged
//! and never touch the jobs. Receiving and reporting use fixed buffers.

pub mod resolve;

use crate::config::UdpUrl;
use crate::prelude::*;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use rustix::event::epoll;
use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

/// The largest control datagram accepted (SPEC §7's record size: a
/// control line is logged).
pub const DATAGRAM_MAX: usize = 1024;

/// Reports are split to stay under a typical Ethernet MTU, so that no
/// datagram is fragmented.
pub const REPORT_MAX: usize = 1400;

/// A control datagram's verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Enable,
    Disable,
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Control::Enable => "enable",
            Control::Disable => "disable",
        })
    }
}

/// One line of a report: `NAME e|d|f SECONDS_RUNNING PID CMD`.
pub struct ReportLine<'a> {
    pub name: &'a str,
    pub enabled: bool,
    /// Gave up (`give up`, issue 15): `f` instead of `e`/`d`.
    pub failed: bool,
    pub secs_running: u64,
    /// 0 when the job is not running.
    pub pid: u32,
    pub cmd: &'a [String],
}

/// The report destinations and listening sockets of the current config.
#[derive(Default)]
pub struct Net {
    /// Indexed like the config's `listen on` lines; `None` where the
    /// socket could not be opened.
    listen: Vec<Option<Listener>>,
    report: Vec<Destination>,
}

struct Listener {
    fd: OwnedFd,
    addr: SocketAddr,
    text: String,
}

struct Destination {
    fd: OwnedFd,
    addr: SocketAddr,
    text: String,
    /// The last send failed (logged once, not every 10 seconds).
    failing: bool,
}

/// Why a control datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadDatagram<'a> {
    Oversized(usize),
    NotText,
    ControlCharacter,
    Empty,
    UnknownVerb(&'a str),
    NoJobNames,
}

impl fmt::Display for BadDatagram<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadDatagram::Oversized(n) => write!(f, "{n} bytes, more than {DATAGRAM_MAX}"),
            BadDatagram::NotText => f.write_str("not UTF-8 text"),
            BadDatagram::ControlCharacter => f.write_str("contains control characters"),
            BadDatagram::Empty => f.write_str("empty"),
            BadDatagram::UnknownVerb(verb) => {
                let short: String = verb.chars().take(32).collect();
                write!(f, "'{short}' is not enable or disable")
            }
            BadDatagram::NoJobNames => f.write_str("names no job"),
        }
    }
}

/// Parses `enable NAME...` / `disable NAME...` (whitespace-separated, a
/// trailing newline is fine) into the verb and the text holding the names.
pub fn parse_control(datagram: &[u8]) -> Result<(Control, &str), BadDatagram<'_>> {
    if datagram.len() > DATAGRAM_MAX {
        return Err(BadDatagram::Oversized(datagram.len()));
    }
    let text = core::str::from_utf8(datagram).map_err(|_| BadDatagram::NotText)?;
    if text
        .chars()
        .any(|c| c.is_control() && !c.is_ascii_whitespace())
    {
        return Err(BadDatagram::ControlCharacter);
    }
    let text = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let verb_end = text
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(text.len());
    let (verb, names) = text.split_at(verb_end);
    let control = match verb {
        "" => return Err(BadDatagram::Empty),
        "enable" => Control::Enable,
        "disable" => Control::Disable,
        other => return Err(BadDatagram::UnknownVerb(other)),
    };
    if names.split_ascii_whitespace().next().is_none() {
        return Err(BadDatagram::NoJobNames);
    }
    Ok((control, names))
}

impl Net {
    /// (Re)opens the sockets for a newly loaded configuration and registers
    /// listening socket `i` in `epoll` with token `token_base + i`. Failures
    /// are logged; jobs are never affected. A listening socket whose
    /// address is unchanged is kept (no datagram lost, no repeated
    /// warning); the others are closed.
    pub fn configure(
        &mut self,
        epoll: BorrowedFd<'_>,
        token_base: u64,
        report: &[UdpUrl],
        listen: &[UdpUrl],
    ) {
        let mut old: Vec<Listener> = self.listen.drain(..).flatten().collect();
        for (i, url) in listen.iter().enumerate() {
            let token = epoll::EventData::new_u64(token_base + i as u64);
            let kept = old
                .iter()
                .position(|l| l.addr == url.addr)
                .map(|at| old.swap_remove(at));
            let listener = match kept {
                Some(l) => match epoll::modify(epoll, &l.fd, token, epoll::EventFlags::IN) {
                    Ok(()) => Some(l),
                    Err(e) => {
                        error!(
                            "listen on {}: epoll_ctl: {}; not listening there",
                            url.text,
                            crate::sys::strerror(e)
                        );
                        None
                    }
                },
                None => open_listener(epoll, token, url),
            };
            self.listen.push(listener);
        }
        for l in old {
            let _ = epoll::delete(epoll, &l.fd);
            info!("no longer listening on {}", l.text);
        }
        self.report = report.iter().filter_map(open_destination).collect();
    }

    /// True when reports are due every 10 seconds.
    pub fn reporting(&self) -> bool {
        !self.report.is_empty()
    }

    /// Reads every pending datagram on listening socket `index` and calls
    /// `command` once per job name in each well-formed one. Bad datagrams
    /// are logged (the first in detail, the rest counted, so a flood does
    /// not flood the log) and dropped.
    pub fn receive(&mut self, index: usize, mut command: impl FnMut(Control, &str)) {
        let Some(Some(listener)) = self.listen.get(index) else {
            return;
        };
        let mut buf = [0u8; DATAGRAM_MAX + 1];
        let mut more_bad = 0u32;
        loop {
            // MSG_TRUNC: the length returned is the datagram's, so an
            // oversized one is seen as such and not parsed cut.
            let (copied, len, from) = match rustix::net::recvfrom(
                &listener.fd,
                &mut buf,
                RecvFlags::TRUNC | RecvFlags::DONTWAIT,
            ) {
                Ok(got) => got,
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => break,
                Err(e) => {
                    error!(
                        "listen on {}: recvfrom: {}",
                        listener.text,
                        crate::sys::strerror(e)
                    );
                    break;
                }
            };
            let from = Peer(from.and_then(|a| SocketAddr::try_from(a).ok()));
            let parsed = if len > DATAGRAM_MAX {
                Err(BadDatagram::Oversized(len))
            } else {
                parse_control(&buf[..copied])
            };
            match parsed {
                Ok((control, names)) => {
                    debug!(
                        "{control} {} from {from} on {}",
                        names.trim(),
                        listener.text
                    );
                    for name in names.split_ascii_whitespace() {
                        command(control, name);
                    }
                }
                Err(why) if more_bad == 0 => {
                    warn!("ignored datagram from {from} on {}: {why}", listener.text);
                    more_bad = 1;
                }
                Err(_) => more_bad += 1,
            }
        }
        if more_bad > 1 {
            warn!(
                "ignored {} more bad datagrams on {}",
                more_bad - 1,
                listener.text
            );
        }
    }

    /// Sends the report to every `report to` destination, in as many
    /// datagrams of at most [`REPORT_MAX`] bytes as it takes.
    pub fn send_report<'a>(&mut self, hostname: &str, jobs: impl Iterator<Item = ReportLine<'a>>) {
        if self.report.is_empty() {
            return;
        }
        let mut header: heapless::Vec<u8, 300> = heapless::Vec::new();
        let _ = header.extend_from_slice(b"report ");
        push_word(&mut header, hostname, 255);
        let _ = header.push(b'\n');
        let mut dgram: heapless::Vec<u8, REPORT_MAX> = heapless::Vec::new();
        let _ = dgram.extend_from_slice(&header);
        for job in jobs {
            let mut line: heapless::Vec<u8, REPORT_MAX> = heapless::Vec::new();
            format_line(&mut line, &job, REPORT_MAX - header.len());
            if dgram.len() + line.len() > REPORT_MAX {
                self.send_all(&dgram);
                dgram.clear();
                let _ = dgram.extend_from_slice(&header);
            }
            let _ = dgram.extend_from_slice(&line);
        }
        // Sent even without jobs: the report says the host is alive.
        self.send_all(&dgram);
    }

    fn send_all(&mut self, dgram: &[u8]) {
        for d in &mut self.report {
            let sent = loop {
                match rustix::net::sendto(
                    &d.fd,
                    dgram,
                    SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
                    &d.addr,
                ) {
                    Err(Errno::INTR) => continue,
                    other => break other,
                }
            };
            match sent {
                Ok(_) if d.failing => {
                    d.failing = false;
                    info!("report to {}: sending again", d.text);
                }
                Ok(_) => {}
                Err(e) if !d.failing => {
                    d.failing = true;
                    warn!(
                        "report to {}: sendto: {}; will keep trying every 10 seconds",
                        d.text,
                        crate::sys::strerror(e)
                    );
                }
                Err(_) => {}
            }
        }
    }
}

/// `NAME e|d SECONDS PID CMD\n`, the command cut with `...` if the line
/// would not fit in `max` bytes.
fn format_line(line: &mut heapless::Vec<u8, REPORT_MAX>, job: &ReportLine<'_>, max: usize) {
    use core::fmt::Write;
    let mut head: heapless::String<128> = heapless::String::new();
    push_word_str(&mut head, job.name);
    let _ = write!(
        head,
        " {} {} {}",
        match (job.failed, job.enabled) {
            (true, _) => 'f',
            (false, true) => 'e',
            (false, false) => 'd',
        },
        job.secs_running,
        job.pid
    );
    let _ = line.extend_from_slice(head.as_bytes());
    let budget = max.min(REPORT_MAX) - 1; // the newline
    for arg in job.cmd {
        for c in core::iter::once(' ').chain(arg.chars()) {
            // A newline in an argument would start a fake job line.
            let c = if c.is_control() { '?' } else { c };
            let mut utf8 = [0; 4];
            let bytes = c.encode_utf8(&mut utf8).as_bytes();
            if line.len() + bytes.len() > budget {
                while line.len() + 3 > budget {
                    line.pop();
                }
                // Do not leave half a UTF-8 character before the mark.
                while line.last().is_some_and(|&b| b & 0xC0 == 0x80) {
                    line.pop();
                }
                if line.last().is_some_and(|&b| b >= 0xC0) {
                    line.pop();
                }
                let _ = line.extend_from_slice(b"...\n");
                return;
            }
            let _ = line.extend_from_slice(bytes);
        }
    }
    let _ = line.push(b'\n');
}

/// A job name may not contain whitespace or control characters (the
/// config language has no way to write them), but a report must stay
/// parseable whatever it gets.
fn push_word_str(out: &mut heapless::String<128>, word: &str) {
    for c in word.chars().take(100) {
        let _ = out.push(if c.is_whitespace() || c.is_control() {
            '_'
        } else {
            c
        });
    }
}

fn push_word<const N: usize>(out: &mut heapless::Vec<u8, N>, word: &str, max_chars: usize) {
    for c in word.chars().take(max_chars) {
        let c = if c.is_whitespace() || c.is_control() {
            '_'
        } else {
            c
        };
        let mut utf8 = [0; 4];
        let _ = out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }
}

/// The sender of a datagram, for log lines.
struct Peer(Option<SocketAddr>);

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(addr) => addr.fmt(f),
            None => f.write_str("an unknown address"),
        }
    }
}

/// A non-blocking, close-on-exec UDP socket, IPv6 if `v6`.
pub fn udp_socket(v6: bool) -> rustix::io::Result<OwnedFd> {
    let family = if v6 {
        AddressFamily::INET6
    } else {
        AddressFamily::INET
    };
    rustix::net::socket_with(
        family,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )
}

/// A UDP socket bound to `addr` (non-blocking); for a multicast group,
/// bound to the group's port and a member of it on the default interface.
/// On failure, the call that failed and its errno.
pub fn bind_udp(addr: &SocketAddr) -> Result<OwnedFd, (&'static str, Errno)> {
    let fd = udp_socket(addr.is_ipv6()).map_err(|e| ("socket", e))?;
    match addr.ip() {
        IpAddr::V4(group) if group.is_multicast() => {
            rustix::net::sockopt::set_socket_reuseaddr(&fd, true)
                .map_err(|e| ("setsockopt SO_REUSEADDR", e))?;
            rustix::net::bind(&fd, addr).map_err(|e| ("bind", e))?;
            rustix::net::sockopt::set_ip_add_membership(&fd, &group, &Ipv4Addr::UNSPECIFIED)
                .map_err(|e| ("setsockopt IP_ADD_MEMBERSHIP", e))?;
        }
        IpAddr::V6(group) if group.is_multicast() => {
            rustix::net::sockopt::set_socket_reuseaddr(&fd, true)
                .map_err(|e| ("setsockopt SO_REUSEADDR", e))?;
            rustix::net::bind(&fd, addr).map_err(|e| ("bind", e))?;
            rustix::net::sockopt::set_ipv6_add_membership(&fd, &group, 0)
                .map_err(|e| ("setsockopt IPV6_ADD_MEMBERSHIP", e))?;
        }
        _ => rustix::net::bind(&fd, addr).map_err(|e| ("bind", e))?,
    }
    Ok(fd)
}

fn open_listener(epoll: BorrowedFd<'_>, token: epoll::EventData, url: &UdpUrl) -> Option<Listener> {
    let open = || -> Result<OwnedFd, (&'static str, Errno)> {
        let fd = bind_udp(&url.addr)?;
        epoll::add(epoll, &fd, token, epoll::EventFlags::IN).map_err(|e| ("epoll_ctl", e))?;
        Ok(fd)
    };
    match open() {
        Ok(fd) => {
            if url.addr.ip().is_loopback() {
                info!("listening on {}", url.text);
            } else {
                warn!(
                    "listening on {} without authentication: anyone who can send to it can enable and disable jobs",
                    url.text
                );
            }
            Some(Listener {
                fd,
                addr: url.addr,
                text: url.text.clone(),
            })
        }
        Err((call, e)) => {
            error!(
                "listen on {}: {call}: {}; not listening there",
                url.text,
                crate::sys::strerror(e)
            );
            None
        }
    }
}

fn open_destination(url: &UdpUrl) -> Option<Destination> {
    let open = || -> Result<OwnedFd, (&'static str, Errno)> {
        let fd = udp_socket(url.addr.is_ipv6()).map_err(|e| ("socket", e))?;
        if let Some(iface) = &url.iface {
            if !url.addr.ip().is_multicast() {
                warn!(
                    "report to {}: @{iface} applies only to multicast destinations; ignored",
                    url.text
                );
                return Ok(fd);
            }
            let index = rustix::net::netdevice::name_to_index(&fd, iface)
                .map_err(|e| ("interface lookup", e))?;
            match url.addr.ip() {
                IpAddr::V4(group) => rustix::net::sockopt::set_ip_multicast_if_with_ifindex(
                    &fd,
                    &group,
                    &Ipv4Addr::UNSPECIFIED,
                    index,
                )
                .map_err(|e| ("setsockopt IP_MULTICAST_IF", e))?,
                IpAddr::V6(_) => rustix::net::sockopt::set_ipv6_multicast_if(&fd, index)
                    .map_err(|e| ("setsockopt IPV6_MULTICAST_IF", e))?,
            }
        }
        Ok(fd)
    };
    match open() {
        Ok(fd) => Some(Destination {
            fd,
            addr: url.addr,
            text: url.text.clone(),
            failing: false,
        }),
        Err((call, e)) => {
            error!(
                "report to {}: {call}: {}; not reporting there",
                url.text,
                crate::sys::strerror(e)
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn control_datagrams_parse() {
        assert_eq!(
            parse_control(b"enable web\n"),
            Ok((Control::Enable, " web\n"))
        );
        let (c, names) = parse_control(b"  disable a\tb  c\r\n").unwrap();
        assert_eq!(c, Control::Disable);
        assert_eq!(
            names.split_ascii_whitespace().collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn malformed_datagrams_are_rejected() {
        assert_eq!(parse_control(b""), Err(BadDatagram::Empty));
        assert_eq!(parse_control(b" \n"), Err(BadDatagram::Empty));
        assert_eq!(parse_control(b"enable"), Err(BadDatagram::NoJobNames));
        assert_eq!(parse_control(b"enable \n"), Err(BadDatagram::NoJobNames));
        assert_eq!(
            parse_control(b"start web"),
            Err(BadDatagram::UnknownVerb("start"))
        );
        assert_eq!(
            parse_control(b"ENABLE web"),
            Err(BadDatagram::UnknownVerb("ENABLE"))
        );
        assert_eq!(
            parse_control(b"enable w\x00eb"),
            Err(BadDatagram::ControlCharacter)
        );
        assert_eq!(parse_control(b"enable \xff"), Err(BadDatagram::NotText));
        let big = [b'a'; DATAGRAM_MAX + 1];
        assert_eq!(
            parse_control(&big),
            Err(BadDatagram::Oversized(DATAGRAM_MAX + 1))
        );
    }

    fn url(text: &str) -> UdpUrl {
        let hostport = text.trim_start_matches("udp://");
        UdpUrl {
            text: text.to_string(),
            addr: hostport.parse().unwrap(),
            iface: None,
        }
    }

    fn free_port() -> u16 {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[test]
    fn report_is_split_across_datagrams_not_cut() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let port = rx.local_addr().unwrap().port();
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC).unwrap();
        let mut net = Net::default();
        net.configure(
            rustix::fd::AsFd::as_fd(&ep),
            100,
            &[url(&format!("udp://127.0.0.1:{port}"))],
            &[],
        );
        assert!(net.reporting());
        let cmd = vec!["/bin/sleep".to_string(), "x".repeat(100)];
        let names: Vec<String> = (0..40).map(|i| format!("job{i}")).collect();
        let jobs = names.iter().map(|n| ReportLine {
            name: n,
            enabled: n != "job3",
            failed: n == "job4",
            secs_running: 12,
            pid: 99,
            cmd: &cmd,
        });
        net.send_report("host-1", jobs);
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while seen.len() < 40 {
            let n = rx.recv(&mut buf).unwrap();
            assert!(n <= REPORT_MAX, "datagram of {n} bytes");
            let text = core::str::from_utf8(&buf[..n]).unwrap();
            let mut lines = text.lines();
            assert_eq!(lines.next(), Some("report host-1"));
            for line in lines {
                let fields: Vec<&str> = line.splitn(5, ' ').collect();
                assert_eq!(fields[4], cmd.join(" "));
                seen.push((fields[0].to_string(), fields[1].to_string()));
            }
        }
        assert_eq!(seen[0], ("job0".to_string(), "e".to_string()));
        assert_eq!(seen[3], ("job3".to_string(), "d".to_string()));
        assert_eq!(seen[4], ("job4".to_string(), "f".to_string()));
        assert_eq!(seen.len(), 40);
    }

    #[test]
    fn overlong_command_is_cut_with_mark() {
        let cmd = vec!["/bin/echo".to_string(), "é".repeat(2000)];
        let mut line = heapless::Vec::new();
        format_line(
            &mut line,
            &ReportLine {
                name: "a",
                enabled: true,
                failed: false,
                secs_running: 1,
                pid: 2,
                cmd: &cmd,
            },
            1000,
        );
        assert!(line.len() <= 1000);
        let text = core::str::from_utf8(&line).unwrap();
        assert!(text.starts_with("a e 1 2 /bin/echo éé"));
        assert!(text.ends_with("...\n"));
    }

    #[test]
    fn listener_receives_control_and_drops_garbage() {
        let port = free_port();
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC).unwrap();
        let mut net = Net::default();
        let listen = [url(&format!("udp://127.0.0.1:{port}"))];
        net.configure(rustix::fd::AsFd::as_fd(&ep), 7, &[], &listen);
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.send_to(b"garbage", ("127.0.0.1", port)).unwrap();
        tx.send_to(&[b'x'; 3000], ("127.0.0.1", port)).unwrap();
        tx.send_to(b"disable a b\n", ("127.0.0.1", port)).unwrap();
        tx.send_to(b"enable c", ("127.0.0.1", port)).unwrap();
        let mut events = Vec::with_capacity(4);
        epoll::wait(
            &ep,
            rustix::buffer::spare_capacity(&mut events),
            Some(&rustix::time::Timespec {
                tv_sec: 5,
                tv_nsec: 0,
            }),
        )
        .unwrap();
        assert_eq!(events[0].data.u64(), 7);
        let mut got = Vec::new();
        // Datagrams may trickle in; collect until both good ones arrived.
        let end = crate::clock::Instant::now() + Duration::from_secs(5);
        while got.len() < 3 && crate::clock::Instant::now() < end {
            net.receive(0, |c, n| got.push((c, n.to_string())));
        }
        assert_eq!(
            got,
            [
                (Control::Disable, "a".to_string()),
                (Control::Disable, "b".to_string()),
                (Control::Enable, "c".to_string())
            ]
        );
        // Reconfiguring with the same address keeps the socket.
        net.configure(rustix::fd::AsFd::as_fd(&ep), 8, &[], &listen);
        assert!(net.listen[0].is_some());
        net.configure(rustix::fd::AsFd::as_fd(&ep), 8, &[], &[]);
        assert!(net.listen.is_empty());
        assert!(
            std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok(),
            "old socket closed"
        );
    }

    #[test]
    fn bind_failure_is_not_fatal() {
        let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC).unwrap();
        let mut net = Net::default();
        let listen = [
            url(&format!("udp://127.0.0.1:{port}")),
            url(&format!("udp://127.0.0.1:{}", free_port())),
        ];
        net.configure(rustix::fd::AsFd::as_fd(&ep), 0, &[], &listen);
        assert!(net.listen[0].is_none());
        assert!(net.listen[1].is_some(), "the second listener still opens");
        net.receive(0, |_, _| panic!("no socket, no datagram"));
    }
}
