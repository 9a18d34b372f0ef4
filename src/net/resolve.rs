//! Host name lookup without the C library: numeric literals, then
//! /etc/hosts, then DNS over UDP, in the order and with the options musl's
//! getaddrinfo uses.
//!
//! Why not getaddrinfo: in a static musl binary it pulls in qsort,
//! res_msend and the RFC 3484 sorting code, about 20 KB of pmtr's 128 KB
//! budget; and the crate is going `no_std`, which takes
//! `std::net::ToSocketAddrs` away. pmtr resolves a few names when it loads
//! its config, so this is one straightforward pass: IPv4 addresses first
//! instead of RFC 3484 sorting (pmtr prefers IPv4 anyway), no TCP fallback
//! (a truncated reply yields the records that fit) and no EDNS.
//!
//! Where it differs from musl, on purpose: hosts names match in any case
//! (DNS names do); `_` is allowed in names (service-style hosts exist); if
//! only one of the A/AAAA questions is answered, its addresses are used
//! rather than failing the lookup; `timeout:0`/`attempts:0` count as 1.
//! Not supported: IPv6 scope ids (`fe80::1%eth0`), inet_aton forms
//! (`127.1`), `options rotate`/`edns0`.

use alloc::format;
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags};
use rustix::time::ClockId;

/// Where lookups read from; `Sources::SYSTEM` is /etc/hosts,
/// /etc/resolv.conf, DNS port 53. Tests point these at temp files and a
/// fake server on an ephemeral port.
pub struct Sources<'a> {
    pub hosts: &'a str,
    pub resolv_conf: &'a str,
    pub dns_port: u16,
}

impl Sources<'static> {
    pub const SYSTEM: Sources<'static> = Sources {
        hosts: "/etc/hosts",
        resolv_conf: "/etc/resolv.conf",
        dns_port: 53,
    };
}

/// Why a name gave no address. `Display` is a short lowercase reason for
/// messages like `cannot resolve "HOST": REASON`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupError {
    /// Not in the hosts file, and DNS says no such name (under any search
    /// domain) or a name without A/AAAA records.
    NotFound,
    /// Not something DNS can carry: letters, digits, `-`, `_`, `.` only,
    /// labels of 1 to 63 bytes, 253 bytes in all.
    BadName,
    /// No nameserver gave a usable reply before the timeout (all silent,
    /// unreachable, or refusing).
    NoAnswer,
    /// The UDP socket for the queries could not be opened.
    Socket(Errno),
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::NotFound => f.write_str("name does not resolve"),
            LookupError::BadName => f.write_str("bad host name"),
            LookupError::NoAnswer => f.write_str("no DNS server answered"),
            LookupError::Socket(e) => write!(f, "cannot open DNS socket: {e}"),
        }
    }
}

/// Addresses for host:port, IPv4 ones first. Numeric IPv4/IPv6 literals
/// need no lookup.
pub fn lookup(host: &str, port: u16) -> Result<Vec<SocketAddr>, LookupError> {
    lookup_in(host, port, &Sources::SYSTEM)
}

/// [`lookup`] with other files and DNS port, for tests.
pub fn lookup_in(host: &str, port: u16, sources: &Sources) -> Result<Vec<SocketAddr>, LookupError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(alloc::vec![SocketAddr::new(ip, port)]);
    }
    let mut ips = from_hosts(sources.hosts, host);
    if ips.is_empty() {
        ips = from_dns(host, sources)?;
    }
    let mut addrs = Vec::with_capacity(ips.len());
    for want_v4 in [true, false] {
        for &ip in ips.iter().filter(|ip| ip.is_ipv4() == want_v4) {
            addrs.push(SocketAddr::new(ip, port));
        }
    }
    if addrs.is_empty() {
        return Err(LookupError::NotFound);
    }
    Ok(addrs)
}

/// The addresses the hosts file gives `name` (an address's first name or
/// an alias, any case), in file order. A missing or unreadable file counts
/// as empty, as in musl.
fn from_hosts(path: &str, name: &str) -> Vec<IpAddr> {
    let text = read_file(path);
    let mut ips = Vec::new();
    for line in lines(&text) {
        let mut words = line.split_ascii_whitespace();
        let Some(Ok(ip)) = words.next().map(str::parse::<IpAddr>) else {
            continue;
        };
        if words.any(|word| word.eq_ignore_ascii_case(name)) {
            ips.push(ip);
        }
    }
    ips
}

/// The whole file, or nothing if it cannot be read. A hosts file may be
/// large (ad blockers ship megabytes), so there is no limit.
fn read_file(path: &str) -> Vec<u8> {
    crate::files::read_file(path, usize::MAX).unwrap_or_default()
}

/// The lines of a hosts or resolv.conf file with `#` comments cut off; a
/// line that is not UTF-8 reads as empty rather than failing the file.
fn lines(text: &[u8]) -> impl Iterator<Item = &str> {
    text.split(|&b| b == b'\n').map(|line| {
        let line = line.split(|&b| b == b'#').next().unwrap_or_default();
        core::str::from_utf8(line).unwrap_or_default()
    })
}

/// What resolv.conf says, with musl's defaults for what it leaves out.
struct Conf<'a> {
    /// At most 3, as in musl (MAXNS).
    servers: Vec<IpAddr>,
    /// The domains of the last `search` or `domain` line, space-separated.
    search: &'a str,
    ndots: usize,
    /// Seconds for a whole query, retransmissions included (musl's meaning,
    /// not glibc's per-attempt one).
    timeout: u32,
    attempts: u32,
}

fn parse_conf(text: &[u8]) -> Conf<'_> {
    let mut conf = Conf {
        servers: Vec::new(),
        search: "",
        ndots: 1,
        timeout: 5,
        attempts: 2,
    };
    for line in lines(text) {
        let line = line.trim_start();
        let mut words = line.split_ascii_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let Some(Ok(ip)) = words.next().map(str::parse::<IpAddr>)
                    && conf.servers.len() < 3
                {
                    conf.servers.push(ip);
                }
            }
            Some(keyword @ ("search" | "domain")) => conf.search = &line[keyword.len()..],
            Some("options") => {
                for (key, value) in words.filter_map(|word| word.split_once(':')) {
                    let Ok(n) = value.parse::<u32>() else {
                        continue;
                    };
                    match key {
                        "ndots" => conf.ndots = n.min(15) as usize,
                        // Zero would mean never waiting: clamp to 1.
                        "timeout" => conf.timeout = n.clamp(1, 30),
                        "attempts" => conf.attempts = n.clamp(1, 5),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    conf
}

/// Looks `host` up in DNS. Like musl: a name with fewer dots than `ndots`
/// (and no trailing dot) is tried under each search domain first, then
/// bare; only "no such name" moves on to the next candidate, so a name that
/// exists without addresses, or silent servers, end the search.
fn from_dns(host: &str, sources: &Sources) -> Result<Vec<IpAddr>, LookupError> {
    let name = absolute(host);
    if !valid_name(name) {
        return Err(LookupError::BadName);
    }
    let text = read_file(sources.resolv_conf);
    let conf = parse_conf(&text);
    let dots = name.bytes().filter(|&b| b == b'.').count();
    let search = if host.ends_with('.') || dots >= conf.ndots {
        ""
    } else {
        conf.search
    };
    let mut dns = Dns::open(&conf, sources.dns_port)?;
    for domain in search.split_ascii_whitespace() {
        let candidate = format!("{name}.{}", absolute(domain));
        if valid_name(&candidate)
            && let Some(ips) = dns.query(&candidate)?
        {
            return Ok(ips);
        }
    }
    Ok(dns.query(name)?.unwrap_or_default())
}

/// `name` without the one trailing dot that marks it absolute.
fn absolute(name: &str) -> &str {
    name.strip_suffix('.').unwrap_or(name)
}

/// Whether DNS can carry `name` (given without its trailing dot): checked
/// before querying, so a typo fails at once instead of reaching servers.
fn valid_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// One UDP socket for every query of a lookup, and where to send them.
struct Dns {
    fd: OwnedFd,
    /// In the socket's family: IPv4 servers are v4-mapped on an IPv6
    /// socket, so replies come back from exactly these addresses.
    servers: Vec<SocketAddr>,
    timeout_ms: i64,
    retry_ms: i64,
    id: u16,
}

impl Dns {
    /// Opens an IPv6 socket if any server is IPv6 (falling back to IPv4 and
    /// dropping those servers where the kernel has no IPv6), else IPv4, as
    /// musl does. No server configured means 127.0.0.1.
    fn open(conf: &Conf, port: u16) -> Result<Dns, LookupError> {
        let localhost = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
        let ips = if conf.servers.is_empty() {
            &localhost[..]
        } else {
            &conf.servers
        };
        let mut v6 = ips.iter().any(IpAddr::is_ipv6);
        let fd = match crate::net::udp_socket(v6) {
            Err(_) if v6 => {
                v6 = false;
                crate::net::udp_socket(false)
            }
            other => other,
        }
        .map_err(LookupError::Socket)?;
        if v6 {
            // Off by default on Linux, but a sysctl can turn it on.
            let _ = rustix::net::sockopt::set_ipv6_v6only(&fd, false);
        }
        let mut servers = Vec::with_capacity(ips.len());
        for &ip in ips {
            let ip = match ip {
                IpAddr::V4(v4) if v6 => IpAddr::V6(v4.to_ipv6_mapped()),
                IpAddr::V6(_) if !v6 => continue,
                ip => ip,
            };
            servers.push(SocketAddr::new(ip, port));
        }
        let timeout_ms = i64::from(conf.timeout) * 1000;
        // Sub-microsecond clock bits make a hard-to-guess query id, as in
        // musl; the kernel's random source port adds the rest.
        let id = rustix::time::clock_gettime(ClockId::Realtime).tv_nsec as u16;
        Ok(Dns {
            fd,
            servers,
            timeout_ms,
            retry_ms: timeout_ms / i64::from(conf.attempts),
            id,
        })
    }

    /// Asks every server for `name`'s A and AAAA records at once, resending
    /// what is still unanswered every `timeout / attempts`, until both are
    /// answered or `timeout` has passed. Only a reply from a queried server
    /// with our id and question counts; SERVFAIL and REFUSED are ignored,
    /// so another server (or a resend) can still answer.
    ///
    /// `Ok(None)` is NXDOMAIN (try the next search candidate). If one
    /// question went unanswered, the other's addresses are still returned:
    /// a server that drops AAAA queries should not cost the IPv4 address.
    fn query(&mut self, name: &str) -> Result<Option<Vec<IpAddr>>, LookupError> {
        self.id = self.id.wrapping_add(2);
        let questions = [
            question(self.id, name, 1),
            question(self.id.wrapping_add(1), name, 28),
        ];
        let mut answered = [false; 2];
        let mut nxdomain = false;
        let mut ips = Vec::new();
        let start = now_ms();
        let deadline = start + self.timeout_ms;
        let mut resend_at = start;
        let mut buf = [0u8; 512];
        loop {
            let now = now_ms();
            if answered == [true; 2] || now >= deadline {
                break;
            }
            if now >= resend_at {
                for (q, _) in questions.iter().zip(answered).filter(|(_, done)| !done) {
                    for server in &self.servers {
                        // An unreachable server is just one that never answers.
                        let _ = rustix::net::sendto(&self.fd, q, SendFlags::empty(), server);
                    }
                }
                resend_at = now + self.retry_ms;
            }
            wait_readable(&self.fd, resend_at.min(deadline) - now);
            // Nonblocking: take every reply that arrived, then poll again.
            while let Ok((len, _, Some(from))) =
                rustix::net::recvfrom(&self.fd, &mut buf[..], RecvFlags::empty())
            {
                let Ok(from) = SocketAddr::try_from(from) else {
                    continue;
                };
                if !self
                    .servers
                    .iter()
                    .any(|s| s.ip() == from.ip() && s.port() == from.port())
                {
                    continue;
                }
                let reply = &buf[..len];
                let Some(i) = (0..2).find(|&i| !answered[i] && is_reply_to(reply, &questions[i]))
                else {
                    continue;
                };
                match reply[3] & 15 {
                    0 => {
                        answered[i] = true;
                        parse_answers(reply, &mut ips);
                    }
                    // No such name, for any record type: stop waiting.
                    3 => {
                        nxdomain = true;
                        answered = [true; 2];
                    }
                    _ => {}
                }
            }
        }
        if !ips.is_empty() || (answered == [true; 2] && !nxdomain) {
            Ok(Some(ips))
        } else if nxdomain {
            Ok(None)
        } else {
            Err(LookupError::NoAnswer)
        }
    }
}

/// Milliseconds on the monotonic clock, so a clock step cannot stretch or
/// cut the timeout.
fn now_ms() -> i64 {
    let t = rustix::time::clock_gettime(ClockId::Monotonic);
    t.tv_sec * 1000 + t.tv_nsec / 1_000_000
}

/// Sleeps until `fd` is readable or `ms` milliseconds pass. Errors (EINTR)
/// just end the wait early: the caller rechecks the clock.
fn wait_readable(fd: &OwnedFd, ms: i64) {
    let timeout = Timespec {
        tv_sec: ms / 1000,
        tv_nsec: ms % 1000 * 1_000_000,
    };
    let _ = rustix::event::poll(&mut [PollFd::new(fd, PollFlags::IN)], Some(&timeout));
}

/// A standard query (RFC 1035 §4.1) for `name`'s records of type `qtype`,
/// recursion desired. `name` is valid, so every label fits its length byte.
fn question(id: u16, name: &str, qtype: u8) -> Vec<u8> {
    let mut q = Vec::with_capacity(name.len() + 18);
    q.extend_from_slice(&id.to_be_bytes());
    // Flags: RD. Counts: one question, no records.
    q.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    // Root label, QTYPE, QCLASS IN.
    q.extend_from_slice(&[0, 0, qtype, 0, 1]);
    q
}

/// Whether `reply` answers `query`: same id, QR set, and the same single
/// question (name case aside, for servers that randomise it).
fn is_reply_to(reply: &[u8], query: &[u8]) -> bool {
    reply.len() >= query.len()
        && reply[..2] == query[..2]
        && reply[2] & 0x80 != 0
        && reply[4..6] == query[4..6]
        && reply[12..query.len()].eq_ignore_ascii_case(&query[12..])
}

/// Appends the A and AAAA records of a reply's answer section. Owner names
/// are not checked, as in musl: the answer to our one question is the
/// CNAME chain and the target's addresses. Stops at the first record that
/// does not fit, so a truncated (TC) reply yields what arrived.
pub(crate) fn parse_answers(reply: &[u8], ips: &mut Vec<IpAddr>) {
    let count = |at: usize| u16::from_be_bytes([reply[at], reply[at + 1]]);
    let mut pos = 12;
    for _ in 0..count(4) {
        pos = skip_name(reply, pos) + 4;
    }
    for _ in 0..count(6) {
        pos = skip_name(reply, pos);
        let Some(head) = reply.get(pos..pos + 10) else {
            return;
        };
        let rdlen = usize::from(u16::from_be_bytes([head[8], head[9]]));
        let Some(data) = reply.get(pos + 10..pos + 10 + rdlen) else {
            return;
        };
        // Type A or AAAA, class IN.
        let ip = match head[..4] {
            [0, 1, 0, 1] => <[u8; 4]>::try_from(data).map(IpAddr::from).ok(),
            [0, 28, 0, 1] => <[u8; 16]>::try_from(data).map(IpAddr::from).ok(),
            _ => None,
        };
        ips.extend(ip);
        pos += 10 + rdlen;
    }
}

/// The position after the (possibly compressed) name at `pos`. A pointer
/// ends a name, so compression needs no following here: owner names are
/// not used. Past the end means past the end; the caller's bounds checks
/// then stop.
pub(crate) fn skip_name(msg: &[u8], mut pos: usize) -> usize {
    while let Some(&len) = msg.get(pos) {
        match len {
            0 => return pos + 1,
            0xc0.. => return pos + 2,
            _ => pos += 1 + usize::from(len),
        }
    }
    msg.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::string::{String, ToString};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};
    use std::{fs, path::PathBuf, vec};

    /// A temp dir holding a hosts file and a resolv.conf, removed on drop.
    struct Files {
        dir: PathBuf,
        hosts: String,
        resolv: String,
    }

    impl Files {
        fn new(test: &str, hosts: &str, resolv: &str) -> Files {
            let dir =
                std::env::temp_dir().join(format!("pmtr-resolve-{}-{test}", std::process::id()));
            fs::create_dir_all(&dir).unwrap();
            let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
            let (hosts_path, resolv_path) = (path("hosts"), path("resolv.conf"));
            fs::write(&hosts_path, hosts).unwrap();
            fs::write(&resolv_path, resolv).unwrap();
            Files {
                hosts: hosts_path,
                resolv: resolv_path,
                dir,
            }
        }

        fn sources(&self, dns_port: u16) -> Sources<'_> {
            Sources {
                hosts: &self.hosts,
                resolv_conf: &self.resolv,
                dns_port,
            }
        }
    }

    impl Drop for Files {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }

    /// How a fake server treats the n-th query it gets: the reply to send,
    /// or `None` to drop it.
    type Behaviour = fn(&[u8], usize) -> Option<Vec<u8>>;

    /// A DNS server thread on a UDP socket; `stop` ends it and returns the
    /// questions it saw, as "name type".
    struct Fake {
        addr: SocketAddr,
        thread: JoinHandle<Vec<String>>,
    }

    fn serve_on(socket: UdpSocket, behaviour: Behaviour) -> Fake {
        // Only a backstop for a broken test: stop() normally ends it.
        socket
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let thread = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut buf = [0u8; 512];
            while let Ok((len, from)) = socket.recv_from(&mut buf) {
                let query = &buf[..len];
                if len < 12 {
                    break;
                }
                seen.push(format!("{} {}", qname(query), qtype(query)));
                if let Some(reply) = behaviour(query, seen.len() - 1) {
                    socket.send_to(&reply, from).unwrap();
                }
            }
            seen
        });
        Fake { addr, thread }
    }

    fn serve(behaviour: Behaviour) -> Fake {
        serve_on(UdpSocket::bind("127.0.0.1:0").unwrap(), behaviour)
    }

    /// The names a server was asked, once per A/AAAA pair, in order.
    fn asked(seen: &[String]) -> Vec<String> {
        let mut names: Vec<String> = seen
            .iter()
            .map(|q| q.split(' ').next().unwrap().to_string())
            .collect();
        names.dedup();
        names
    }

    impl Fake {
        fn stop(self) -> Vec<String> {
            let poke = UdpSocket::bind("127.0.0.1:0").unwrap();
            poke.send_to(b"stop", self.addr).unwrap();
            self.thread.join().unwrap()
        }
    }

    /// The dotted, lowercase question name of a query.
    fn qname(query: &[u8]) -> String {
        let mut labels = Vec::new();
        let mut pos = 12;
        while query[pos] != 0 {
            let len = usize::from(query[pos]);
            labels.push(String::from_utf8_lossy(&query[pos + 1..pos + 1 + len]).to_lowercase());
            pos += 1 + len;
        }
        labels.join(".")
    }

    fn qtype(query: &[u8]) -> u16 {
        let end = query.len();
        u16::from_be_bytes([query[end - 4], query[end - 3]])
    }

    /// A reply echoing `query`'s header and question, with `rcode` and the
    /// `count` records already encoded in `records`.
    fn reply(query: &[u8], rcode: u8, count: u16, records: &[u8]) -> Vec<u8> {
        let mut r = query.to_vec();
        r[2] = 0x81; // QR, RD
        r[3] = 0x80 | rcode; // RA
        r[6..8].copy_from_slice(&count.to_be_bytes());
        r.extend_from_slice(records);
        r
    }

    /// A record whose owner is the compressed name at `owner`.
    fn record(owner: u8, rtype: u16, data: &[u8]) -> Vec<u8> {
        let mut r = vec![0xc0, owner];
        r.extend_from_slice(&rtype.to_be_bytes());
        r.extend_from_slice(&[0, 1, 0, 0, 1, 0]); // IN, TTL 256
        r.extend_from_slice(&(data.len() as u16).to_be_bytes());
        r.extend_from_slice(data);
        r
    }

    const A: u16 = 1;
    const AAAA: u16 = 28;
    const V6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

    /// The test zone. Question names start at offset 12 in every message.
    fn zone(query: &[u8], _: usize) -> Option<Vec<u8>> {
        let (name, rtype) = (qname(query), qtype(query));
        Some(match (name.as_str(), rtype) {
            ("one.test", A) => reply(query, 0, 1, &record(12, A, &[192, 0, 2, 1])),
            ("one.test", AAAA) => reply(query, 0, 1, &record(12, AAAA, &V6)),
            // www.test CNAME web.test, "test" compressed to the question's
            // (offset 16); then web.test's address, owner compressed to
            // the CNAME target (record at 26, its data at 26 + 12 = 38).
            ("www.test", _) => {
                let mut records = record(12, 5, &[3, b'w', b'e', b'b', 0xc0, 16]);
                let mut count = 1;
                if rtype == A {
                    records.extend(record(38, A, &[192, 0, 2, 80]));
                    count = 2;
                }
                reply(query, 0, count, &records)
            }
            ("v6only.test", AAAA) => reply(query, 0, 1, &record(12, AAAA, &V6)),
            ("host.corp.test", A) => reply(query, 0, 1, &record(12, A, &[192, 0, 2, 7])),
            ("host.home.test", A) => reply(query, 0, 1, &record(12, A, &[192, 0, 2, 8])),
            ("host.corp.test" | "host.home.test" | "v6only.test" | "empty.test", _) => {
                reply(query, 0, 0, &[])
            }
            _ => reply(query, 3, 0, &[]),
        })
    }

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    fn conf_for(fake: &Fake, extra: &str) -> String {
        format!("nameserver {}\n{extra}\n", fake.addr.ip())
    }

    #[test]
    fn literals_need_no_lookup() {
        let none = Sources {
            hosts: "/nonexistent/hosts",
            resolv_conf: "/nonexistent/resolv.conf",
            dns_port: 1,
        };
        for (host, want) in [
            ("192.0.2.1", "192.0.2.1:80"),
            ("::1", "[::1]:80"),
            ("2001:db8::5", "[2001:db8::5]:80"),
        ] {
            assert_eq!(lookup_in(host, 80, &none), Ok(addrs(&[want])), "{host}");
        }
    }

    #[test]
    fn hosts_file_matches_names_and_aliases_any_case() {
        let hosts = "# 10.9.9.9 box\n\
                     2001:db8::2 box\n\
                     10.0.0.1\tother Box.lan box # 10.0.0.2 box\n\
                     not-an-address box\n\
                     10.0.0.3 boxes\n\
                     \t10.0.0.4 alias BOX\n";
        let files = Files::new("hosts", hosts, "options timeout:1 attempts:1\n");
        let found = lookup_in("box", 22, &files.sources(1)).unwrap();
        assert_eq!(
            found,
            addrs(&["10.0.0.1:22", "10.0.0.4:22", "[2001:db8::2]:22"])
        );
        let alias = lookup_in("box.LAN", 22, &files.sources(1)).unwrap();
        assert_eq!(alias, addrs(&["10.0.0.1:22"]));
    }

    #[test]
    fn hosts_file_wins_over_dns() {
        let fake = serve(zone);
        let files = Files::new("precedence", "10.1.2.3 one.test\n", &conf_for(&fake, ""));
        let found = lookup_in("one.test", 1, &files.sources(fake.addr.port()));
        assert_eq!(found, Ok(addrs(&["10.1.2.3:1"])));
        assert!(fake.stop().is_empty(), "no DNS query when hosts matched");
    }

    #[test]
    fn dns_gives_ipv4_then_ipv6() {
        let fake = serve(zone);
        // No hosts file at all: skipped.
        let mut files = Files::new("both", "", &conf_for(&fake, ""));
        files.hosts.push_str(".missing");
        let found = lookup_in("one.test", 514, &files.sources(fake.addr.port()));
        assert_eq!(found, Ok(addrs(&["192.0.2.1:514", "[2001:db8::1]:514"])));
        let mut seen = fake.stop();
        seen.sort();
        assert_eq!(seen, ["one.test 1", "one.test 28"]);
    }

    #[test]
    fn dns_follows_a_compressed_cname() {
        let fake = serve(zone);
        let files = Files::new("cname", "", &conf_for(&fake, ""));
        let found = lookup_in("WWW.test", 80, &files.sources(fake.addr.port()));
        assert_eq!(found, Ok(addrs(&["192.0.2.80:80"])));
        fake.stop();
    }

    #[test]
    fn dns_ipv6_only_name() {
        let fake = serve(zone);
        let files = Files::new("v6only", "", &conf_for(&fake, ""));
        let found = lookup_in("v6only.test", 80, &files.sources(fake.addr.port()));
        assert_eq!(found, Ok(addrs(&["[2001:db8::1]:80"])));
        fake.stop();
    }

    #[test]
    fn nxdomain_is_not_found() {
        let fake = serve(zone);
        let files = Files::new("nxdomain", "", &conf_for(&fake, ""));
        let found = lookup_in("missing.test", 80, &files.sources(fake.addr.port()));
        assert_eq!(found, Err(LookupError::NotFound));
        assert_eq!(LookupError::NotFound.to_string(), "name does not resolve");
        fake.stop();
    }

    #[test]
    fn search_domains_in_order_then_bare_name() {
        let fake = serve(zone);
        let conf = conf_for(&fake, "search nx.test corp.test home.test");
        let files = Files::new("search", "", &conf);
        let found = lookup_in("host", 80, &files.sources(fake.addr.port()));
        assert_eq!(found, Ok(addrs(&["192.0.2.7:80"])));
        let seen = fake.stop();
        let first_corp = seen
            .iter()
            .position(|q| q.starts_with("host.corp.test"))
            .unwrap();
        assert!(
            seen[..first_corp]
                .iter()
                .all(|q| q.starts_with("host.nx.test"))
        );
        assert!(
            !seen
                .iter()
                .any(|q| q.starts_with("host.home.test") || q.starts_with("host "))
        );

        // All search candidates NXDOMAIN: the bare name is asked last.
        let fake = serve(zone);
        let conf = conf_for(&fake, "domain nx.test\nsearch nx.test other.test");
        let files = Files::new("search-bare", "", &conf);
        let found = lookup_in("one", 80, &files.sources(fake.addr.port()));
        assert_eq!(found, Err(LookupError::NotFound));
        assert_eq!(
            asked(&fake.stop()),
            ["one.nx.test", "one.other.test", "one"]
        );
    }

    #[test]
    fn no_search_with_enough_dots_or_a_trailing_dot() {
        let fake = serve(zone);
        let conf = conf_for(&fake, "search test\noptions ndots:2");
        let files = Files::new("ndots", "", &conf);
        let sources = files.sources(fake.addr.port());
        // One dot, fewer than ndots 2: "one.x.test" first, then "one.x".
        assert_eq!(lookup_in("one.x", 80, &sources), Err(LookupError::NotFound));
        // Two dots: asked as is.
        assert_eq!(
            lookup_in("a.one.test", 80, &sources),
            Err(LookupError::NotFound)
        );
        // Trailing dot: absolute, never searched.
        assert_eq!(lookup_in("one.", 80, &sources), Err(LookupError::NotFound));
        assert_eq!(
            asked(&fake.stop()),
            ["one.x.test", "one.x", "a.one.test", "one"]
        );
    }

    #[test]
    fn existing_name_without_addresses_ends_the_search() {
        let fake = serve(zone);
        let files = Files::new("nodata", "", &conf_for(&fake, "search test"));
        let found = lookup_in("empty", 80, &files.sources(fake.addr.port()));
        assert_eq!(found, Err(LookupError::NotFound));
        assert!(fake.stop().iter().all(|q| q.starts_with("empty.test ")));
    }

    #[test]
    fn dropped_query_is_resent() {
        fn drop_first(query: &[u8], n: usize) -> Option<Vec<u8>> {
            if n == 0 { None } else { zone(query, n) }
        }
        let fake = serve(drop_first);
        let files = Files::new("resend", "", &conf_for(&fake, "options timeout:1"));
        let found = lookup_in("one.test", 80, &files.sources(fake.addr.port()));
        assert_eq!(found, Ok(addrs(&["192.0.2.1:80", "[2001:db8::1]:80"])));
        assert_eq!(fake.stop().len(), 3, "two queries and one resend");
    }

    #[test]
    fn servfail_lets_another_server_answer() {
        fn servfail(query: &[u8], _: usize) -> Option<Vec<u8>> {
            Some(reply(query, 2, 0, &[]))
        }
        let failing = serve(servfail);
        let port = failing.addr.port();
        // All of 127/8 is loopback on Linux: a second server, same port.
        let good = serve_on(UdpSocket::bind(("127.0.0.2", port)).unwrap(), zone);
        let conf = "nameserver 127.0.0.1\nnameserver 127.0.0.2\noptions timeout:2\n";
        let files = Files::new("servfail", "", conf);
        let started = Instant::now();
        let found = lookup_in("one.test", 80, &files.sources(port));
        assert_eq!(found, Ok(addrs(&["192.0.2.1:80", "[2001:db8::1]:80"])));
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "answered without a resend"
        );
        failing.stop();
        good.stop();
    }

    #[test]
    fn ipv6_server_listed_alongside() {
        // The IPv4 server is reached over a v4-mapped IPv6 socket when the
        // kernel has IPv6, or over IPv4 with ::1 dropped when it does not.
        let fake = serve(zone);
        let conf = format!("nameserver ::1\n{}", conf_for(&fake, "options timeout:2"));
        let files = Files::new("mapped", "", &conf);
        let found = lookup_in("one.test", 80, &files.sources(fake.addr.port()));
        assert_eq!(found, Ok(addrs(&["192.0.2.1:80", "[2001:db8::1]:80"])));
        fake.stop();
    }

    #[test]
    fn no_nameserver_means_localhost() {
        let fake = serve(zone);
        let files = Files::new("default-server", "", "search test\n");
        let found = lookup_in("one", 80, &files.sources(fake.addr.port()));
        assert_eq!(found, Ok(addrs(&["192.0.2.1:80", "[2001:db8::1]:80"])));
        fake.stop();
    }

    #[test]
    fn silent_server_is_no_answer() {
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let conf = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
        let files = Files::new("silent", "", conf);
        let started = Instant::now();
        let found = lookup_in("one.test", 80, &files.sources(port));
        assert_eq!(found, Err(LookupError::NoAnswer));
        assert_eq!(LookupError::NoAnswer.to_string(), "no DNS server answered");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(990) && waited < Duration::from_secs(3));
        // It was asked, once each for A and AAAA.
        let mut buf = [0u8; 512];
        silent.set_nonblocking(true).unwrap();
        let mut asked = 0;
        while silent.recv_from(&mut buf).is_ok() {
            asked += 1;
        }
        assert_eq!(asked, 2);
    }

    #[test]
    fn replies_with_wrong_id_or_question_are_ignored() {
        fn wrong(query: &[u8], n: usize) -> Option<Vec<u8>> {
            let mut r = zone(query, n)?;
            if n == 0 {
                r[1] ^= 0x55; // id
            } else {
                r[13] ^= 0x01; // first byte of the question name
            }
            Some(r)
        }
        let fake = serve(wrong);
        let files = Files::new(
            "wrong",
            "",
            &conf_for(&fake, "options timeout:1 attempts:1"),
        );
        let found = lookup_in("one.test", 80, &files.sources(fake.addr.port()));
        assert_eq!(found, Err(LookupError::NoAnswer));
        fake.stop();
    }

    #[test]
    fn reply_from_another_port_is_ignored() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let thread = std::thread::spawn(move || {
            let other = UdpSocket::bind("127.0.0.1:0").unwrap();
            let mut buf = [0u8; 512];
            for _ in 0..2 {
                let (len, from) = server.recv_from(&mut buf).unwrap();
                let answer = zone(&buf[..len], 0).unwrap();
                other.send_to(&answer, from).unwrap();
            }
        });
        let conf = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
        let files = Files::new("spoof", "", conf);
        assert_eq!(
            lookup_in("one.test", 80, &files.sources(port)),
            Err(LookupError::NoAnswer)
        );
        thread.join().unwrap();
    }

    #[test]
    fn bad_names_are_refused_before_querying() {
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let files = Files::new("badname", "", "options timeout:1 attempts:1\n");
        let long_label = "a".repeat(64);
        let long_name = ["abcdefghi"; 26].join("."); // 259 bytes
        for host in [
            "",
            ".",
            "a..b",
            ".a",
            "bad name",
            "bäd",
            "x!y",
            &long_label,
            &long_name,
        ] {
            let found = lookup_in(host, 80, &files.sources(port));
            assert_eq!(found, Err(LookupError::BadName), "{host:?}");
        }
        assert_eq!(LookupError::BadName.to_string(), "bad host name");
        assert!(valid_name(&"a".repeat(63)));
        assert!(valid_name(&["abcdefghi"; 25].join(".")));
        assert!(valid_name("under_score-and-dash.example"));
    }

    #[test]
    fn resolv_conf_options_defaults_and_caps() {
        let conf = parse_conf(b"");
        assert!(conf.servers.is_empty() && conf.search.is_empty());
        assert_eq!((conf.ndots, conf.timeout, conf.attempts), (1, 5, 2));

        let text = b"# nameserver 10.0.0.9\n\
                     nameserver 10.0.0.1\n\
                     nameserver fe80::1 # comment\n\
                     nameserver bogus\n\
                     nameserver 10.0.0.3\n\
                     nameserver 10.0.0.4\n\
                     domain a.example\n\
                     search b.example c.example\n\
                     options ndots:3 timeout:99 attempts:0 rotate\n";
        let conf = parse_conf(text);
        let servers: Vec<String> = conf.servers.iter().map(ToString::to_string).collect();
        assert_eq!(servers, ["10.0.0.1", "fe80::1", "10.0.0.3"]);
        assert_eq!(
            conf.search.split_ascii_whitespace().collect::<Vec<_>>(),
            ["b.example", "c.example"]
        );
        assert_eq!((conf.ndots, conf.timeout, conf.attempts), (3, 30, 1));
    }

    #[test]
    fn truncated_replies_never_panic() {
        let query = question(7, "www.test", 1);
        let full = zone(&query, 0).unwrap();
        let mut ips = Vec::new();
        parse_answers(&full, &mut ips);
        assert_eq!(ips, [IpAddr::from([192, 0, 2, 80])]);
        for len in 12..full.len() {
            let mut ips = Vec::new();
            parse_answers(&full[..len], &mut ips);
            assert!(ips.is_empty(), "{len}");
        }
        // Garbage counts and lengths stay in bounds too.
        let mut junk = full.clone();
        junk[4..8].copy_from_slice(&[0xff; 4]);
        parse_answers(&junk, &mut Vec::new());
    }
}
