//! The resolver against fake DNS servers on loopback (through the
//! blocking wrapper, real sockets), and its state machine against fake
//! sockets and a fake clock.

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
        let dir = std::env::temp_dir().join(format!("pmtr-resolve-{}-{test}", std::process::id()));
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
        assert_eq!(lookup_in(host, 80, none), Ok(addrs(&[want])), "{host}");
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
    let found = lookup_in("box", 22, files.sources(1)).unwrap();
    assert_eq!(
        found,
        addrs(&["10.0.0.1:22", "10.0.0.4:22", "[2001:db8::2]:22"])
    );
    let alias = lookup_in("box.LAN", 22, files.sources(1)).unwrap();
    assert_eq!(alias, addrs(&["10.0.0.1:22"]));
}

#[test]
fn hosts_file_wins_over_dns() {
    let fake = serve(zone);
    let files = Files::new("precedence", "10.1.2.3 one.test\n", &conf_for(&fake, ""));
    let found = lookup_in("one.test", 1, files.sources(fake.addr.port()));
    assert_eq!(found, Ok(addrs(&["10.1.2.3:1"])));
    assert!(fake.stop().is_empty(), "no DNS query when hosts matched");
}

#[test]
fn dns_gives_ipv4_then_ipv6() {
    let fake = serve(zone);
    // No hosts file at all: skipped.
    let mut files = Files::new("both", "", &conf_for(&fake, ""));
    files.hosts.push_str(".missing");
    let found = lookup_in("one.test", 514, files.sources(fake.addr.port()));
    assert_eq!(found, Ok(addrs(&["192.0.2.1:514", "[2001:db8::1]:514"])));
    let mut seen = fake.stop();
    seen.sort();
    assert_eq!(seen, ["one.test 1", "one.test 28"]);
}

#[test]
fn dns_follows_a_compressed_cname() {
    let fake = serve(zone);
    let files = Files::new("cname", "", &conf_for(&fake, ""));
    let found = lookup_in("WWW.test", 80, files.sources(fake.addr.port()));
    assert_eq!(found, Ok(addrs(&["192.0.2.80:80"])));
    fake.stop();
}

#[test]
fn dns_ipv6_only_name() {
    let fake = serve(zone);
    let files = Files::new("v6only", "", &conf_for(&fake, ""));
    let found = lookup_in("v6only.test", 80, files.sources(fake.addr.port()));
    assert_eq!(found, Ok(addrs(&["[2001:db8::1]:80"])));
    fake.stop();
}

#[test]
fn nxdomain_is_not_found() {
    let fake = serve(zone);
    let files = Files::new("nxdomain", "", &conf_for(&fake, ""));
    let found = lookup_in("missing.test", 80, files.sources(fake.addr.port()));
    assert_eq!(found, Err(LookupError::NotFound));
    assert_eq!(LookupError::NotFound.to_string(), "name does not resolve");
    fake.stop();
}

#[test]
fn search_domains_in_order_then_bare_name() {
    let fake = serve(zone);
    let conf = conf_for(&fake, "search nx.test corp.test home.test");
    let files = Files::new("search", "", &conf);
    let found = lookup_in("host", 80, files.sources(fake.addr.port()));
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
    let found = lookup_in("one", 80, files.sources(fake.addr.port()));
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
    assert_eq!(lookup_in("one.x", 80, sources), Err(LookupError::NotFound));
    // Two dots: asked as is.
    assert_eq!(
        lookup_in("a.one.test", 80, sources),
        Err(LookupError::NotFound)
    );
    // Trailing dot: absolute, never searched.
    assert_eq!(lookup_in("one.", 80, sources), Err(LookupError::NotFound));
    assert_eq!(
        asked(&fake.stop()),
        ["one.x.test", "one.x", "a.one.test", "one"]
    );
}

#[test]
fn existing_name_without_addresses_ends_the_search() {
    let fake = serve(zone);
    let files = Files::new("nodata", "", &conf_for(&fake, "search test"));
    let found = lookup_in("empty", 80, files.sources(fake.addr.port()));
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
    let found = lookup_in("one.test", 80, files.sources(fake.addr.port()));
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
    let found = lookup_in("one.test", 80, files.sources(port));
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
    let found = lookup_in("one.test", 80, files.sources(fake.addr.port()));
    assert_eq!(found, Ok(addrs(&["192.0.2.1:80", "[2001:db8::1]:80"])));
    fake.stop();
}

#[test]
fn no_nameserver_means_localhost() {
    let fake = serve(zone);
    let files = Files::new("default-server", "", "search test\n");
    let found = lookup_in("one", 80, files.sources(fake.addr.port()));
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
    let found = lookup_in("one.test", 80, files.sources(port));
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
    let found = lookup_in("one.test", 80, files.sources(fake.addr.port()));
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
        lookup_in("one.test", 80, files.sources(port)),
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
        let found = lookup_in(host, 80, files.sources(port));
        assert_eq!(found, Err(LookupError::BadName), "{host:?}");
    }
    assert_eq!(LookupError::BadName.to_string(), "bad host name");
    let silent_port = silent.local_addr().unwrap().port();
    assert_eq!(silent_port, port);
    let mut buf = [0u8; 512];
    silent.set_nonblocking(true).unwrap();
    assert!(silent.recv_from(&mut buf).is_err(), "nothing was asked");
}

#[test]
fn refused_server_fails_at_once() {
    // Nothing listens there: the kernel answers with ICMP port
    // unreachable, which the connected socket turns into ECONNREFUSED.
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let files = Files::new("refused", "", "nameserver 127.0.0.1\noptions timeout:30\n");
    let started = Instant::now();
    let found = lookup_in("one.test", 80, files.sources(port));
    assert_eq!(found, Err(LookupError::Unreachable(Errno::CONNREFUSED)));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "not the 30 s timeout"
    );
    assert_eq!(
        LookupError::Unreachable(Errno::CONNREFUSED).to_string(),
        "no DNS server reachable (Connection refused)"
    );
}

#[test]
fn resolv_conf_options_defaults_and_caps() {
    let files = Files::new("conf-empty", "", "");
    let mut conf = Conf::default();
    read_conf(&mut conf, &files.resolv);
    assert!(conf.servers.is_empty() && conf.search.is_empty());
    assert_eq!(conf.ndots, 1);
    assert_eq!(
        (conf.timeout, conf.retry),
        (Duration::from_secs(5), Duration::from_millis(2500))
    );

    let text = "# nameserver 10.0.0.9\n\
                nameserver 10.0.0.1\n\
                nameserver fe80::1 # comment\n\
                nameserver bogus\n\
                nameserver 10.0.0.3\n\
                nameserver 10.0.0.4\n\
                domain a.example\n\
                search b.example. c..bad d1 d2 d3 d4 d5 d6 d7\n\
                options ndots:3 timeout:99 attempts:0 rotate\n\
                nameservers 10.0.0.8\n\
                searchx e.example\n\
                Options ndots:9\n\
                options ndot:9 Timeout:7 attempt:4\n";
    let files = Files::new("conf", "", text);
    let mut conf = Conf::default();
    read_conf(&mut conf, &files.resolv);
    let servers: Vec<String> = conf.servers.iter().map(ToString::to_string).collect();
    assert_eq!(servers, ["10.0.0.1", "fe80::1", "10.0.0.3"]);
    // The last search line wins; bad domains are dropped, six are kept.
    assert_eq!(conf.search, ["b.example", "d1", "d2", "d3", "d4", "d5"]);
    assert_eq!(conf.ndots, 3);
    assert_eq!(
        (conf.timeout, conf.retry),
        (Duration::from_secs(30), Duration::from_secs(30))
    );
}

#[test]
fn hosts_lines_longer_than_the_buffer_are_skipped_whole() {
    let long = format!("10.0.0.9 {}box\n", "x".repeat(LINE_MAX));
    let hosts = format!("10.0.0.1 a\n{long}10.0.0.2 box\n10.0.0.3 box");
    let files = Files::new("long-line", &hosts, "");
    assert_eq!(
        from_hosts(&files.hosts, "box"),
        [IpAddr::from([10, 0, 0, 2]), IpAddr::from([10, 0, 0, 3])]
    );
    assert_eq!(from_hosts(&files.hosts, "a"), [IpAddr::from([10, 0, 0, 1])]);
    assert!(from_hosts("/nonexistent/hosts", "a").is_empty());
}

#[test]
fn ipv4_first_keeps_each_family_in_order() {
    let mut ips: Vec<IpAddr> = ["::1", "10.0.0.1", "::2", "10.0.0.2", "10.0.0.3"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    ipv4_first(&mut ips);
    let shown: Vec<String> = ips.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["10.0.0.1", "10.0.0.2", "10.0.0.3", "::1", "::2"]);
}

// ---- the state machine, on fake sockets and a fake clock ----------------

type Clock = crate::clock::Instant;

/// Sockets that exist only in memory: server `i`'s socket is `i`.
#[derive(Default)]
struct FakeIo {
    /// Servers `connect` fails for, and how.
    refuse: Vec<(IpAddr, Errno)>,
    connected: Vec<SocketAddr>,
    /// Every query sent: (server, bytes).
    sent: Vec<(usize, Vec<u8>)>,
    /// What each `recv` on a server's socket gets, in order; EAGAIN when
    /// none is left.
    inbox: Vec<(usize, Result<Vec<u8>, Errno>)>,
    reads: usize,
}

impl Io for FakeIo {
    type Socket = usize;

    fn connect(&mut self, index: usize, server: SocketAddr) -> Result<usize, Errno> {
        if let Some(&(_, e)) = self.refuse.iter().find(|(ip, _)| *ip == server.ip()) {
            return Err(e);
        }
        self.connected.push(server);
        Ok(index)
    }

    fn send(&mut self, socket: &usize, query: &[u8]) -> Result<(), Errno> {
        self.sent.push((*socket, query.to_vec()));
        Ok(())
    }

    fn recv<'b>(
        &mut self,
        socket: &usize,
        buf: &'b mut [core::mem::MaybeUninit<u8>],
    ) -> Result<&'b [u8], Errno> {
        self.reads += 1;
        let Some(at) = self.inbox.iter().position(|(s, _)| s == socket) else {
            return Err(Errno::AGAIN);
        };
        let bytes = self.inbox.remove(at).1?;
        let n = bytes.len().min(buf.len());
        for (d, &s) in buf.iter_mut().zip(&bytes[..n]) {
            d.write(s);
        }
        // SAFETY: `buf[..n]` was written just above.
        #[allow(unsafe_code)]
        Ok(unsafe { crate::written(&buf[..n]) })
    }
}

/// A resolver on fake sockets with `resolv` as resolv.conf and no hosts
/// file; the Files must outlive it.
fn fake(test: &str, resolv: &str) -> (Files, FakeIo) {
    (Files::new(test, "", resolv), FakeIo::default())
}

fn resolver<'a>(files: &'a Files, io: FakeIo) -> Resolver<'a, FakeIo> {
    Resolver::new(io, files.sources(53))
}

/// Answers every query sent to the fake sockets since `from` with `zone`,
/// from the server it went to; returns how many.
fn answer_sent(r: &mut Resolver<'_, FakeIo>, from: usize) -> usize {
    let sent: Vec<(usize, Vec<u8>)> = r.io.sent[from..].to_vec();
    for (server, query) in &sent {
        if let Some(answer) = zone(query, 0) {
            r.io.inbox.push((*server, Ok(answer)));
        }
    }
    sent.len()
}

#[test]
fn silent_servers_time_out_on_the_fake_clock() {
    let (files, io) = fake(
        "fake-silent",
        "nameserver 10.0.0.1\nnameserver 10.0.0.2\noptions timeout:4 attempts:2\n",
    );
    let mut r = resolver(&files, io);
    let t0 = Clock::now();
    r.start(7, "one.test", t0);
    assert_eq!(r.io.connected.len(), 2);
    assert_eq!(r.io.sent.len(), 4, "A and AAAA to each server");
    assert!(r.finished().is_none());
    assert_eq!(r.deadline(), Some(t0 + Duration::from_secs(2)));
    r.tick(t0 + Duration::from_secs(1));
    assert_eq!(r.io.sent.len(), 4, "nothing is due yet");
    r.tick(t0 + Duration::from_secs(2));
    assert_eq!(r.io.sent.len(), 8, "resent after timeout / attempts");
    assert_eq!(r.deadline(), Some(t0 + Duration::from_secs(4)));
    r.tick(t0 + Duration::from_secs(4));
    assert_eq!(r.finished(), Some((7, Err(LookupError::NoAnswer))));
    assert_eq!(r.io.sent.len(), 8, "no send once the time is up");
    assert_eq!(r.deadline(), None);
    assert_eq!(r.sockets().count(), 0, "the round's sockets are closed");
}

#[test]
fn ipv6_only_nameservers_without_ipv6_fail_at_once() {
    // A kernel without IPv6 refuses the socket itself; the lookup must not
    // then wait out its timeout with nobody to ask (issue 13, item 9).
    let (files, mut io) = fake(
        "fake-nov6",
        "nameserver 2001:db8::53\nnameserver fd00::53\noptions timeout:30\n",
    );
    for ip in ["2001:db8::53", "fd00::53"] {
        io.refuse.push((ip.parse().unwrap(), Errno::AFNOSUPPORT));
    }
    let mut r = resolver(&files, io);
    r.start(1, "one.test", Clock::now());
    assert_eq!(
        r.finished(),
        Some((1, Err(LookupError::Unreachable(Errno::AFNOSUPPORT))))
    );
    assert!(r.io.sent.is_empty());
    assert_eq!(r.deadline(), None);
}

#[test]
fn icmp_refusal_gives_up_one_server_then_the_lookup() {
    let (files, io) = fake(
        "fake-refused",
        "nameserver 10.0.0.1\nnameserver 10.0.0.2\noptions timeout:30 attempts:3\n",
    );
    let mut r = resolver(&files, io);
    let t0 = Clock::now();
    r.start(3, "one.test", t0);
    r.io.inbox.push((0, Err(Errno::CONNREFUSED)));
    r.on_readable(0, t0);
    assert!(r.finished().is_none(), "server 2 may still answer");
    assert_eq!(r.sockets().map(|(i, _)| i).collect::<Vec<_>>(), [1]);
    let before = r.io.sent.len();
    r.tick(t0 + Duration::from_secs(10));
    assert!(
        r.io.sent[before..].iter().all(|(s, _)| *s == 1),
        "resends go only to the server left"
    );
    r.io.inbox.push((1, Err(Errno::CONNREFUSED)));
    r.on_readable(1, t0 + Duration::from_secs(11));
    assert_eq!(
        r.finished(),
        Some((3, Err(LookupError::Unreachable(Errno::CONNREFUSED))))
    );
}

#[test]
fn replies_per_wakeup_are_bounded() {
    let (files, io) = fake("fake-flood", "nameserver 10.0.0.1\n");
    let mut r = resolver(&files, io);
    let t0 = Clock::now();
    r.start(5, "one.test", t0);
    for i in 0..50u8 {
        r.io.inbox.push((0, Ok(vec![i; 300])));
    }
    answer_sent(&mut r, 0);
    let mut wakeups = 0;
    while r.finished().is_none() {
        let reads = r.io.reads;
        r.on_readable(0, t0);
        assert!(r.io.reads - reads <= RECV_PER_WAKEUP);
        wakeups += 1;
        assert!(wakeups < 100);
    }
    // 50 junk datagrams and 2 answers, 8 a wakeup.
    assert_eq!(wakeups, 7);
}

#[test]
fn garbage_and_oversized_replies_change_nothing() {
    let (files, io) = fake("fake-garbage", "nameserver 10.0.0.1\noptions timeout:2\n");
    let mut r = resolver(&files, io);
    let t0 = Clock::now();
    r.start(5, "one.test", t0);
    let query = r.io.sent[0].1.clone();
    // Not a reply to it: wrong id, not a response, another question.
    let mut wrong_id = zone(&query, 0).unwrap();
    wrong_id[0] ^= 0xff;
    let mut not_reply = zone(&query, 0).unwrap();
    not_reply[2] &= 0x7f;
    let mut other_name = zone(&query, 0).unwrap();
    other_name[13] = b'x';
    // The right header with garbage after it, cut at 512 bytes like a
    // 64 KiB datagram would be.
    let mut huge = query.clone();
    huge[2] |= 0x80;
    huge[6..8].copy_from_slice(&[0xff, 0xff]);
    huge.resize(65_000, 0xc0);
    for junk in [vec![], vec![0xff; 11], wrong_id, not_reply, other_name] {
        r.io.inbox.push((0, Ok(junk)));
    }
    r.on_readable(0, t0);
    assert!(r.finished().is_none(), "junk is not an answer");
    r.io.inbox.push((0, Ok(huge)));
    r.on_readable(0, t0);
    assert!(r.finished().is_none(), "AAAA is still open");
    r.tick(t0 + Duration::from_secs(2));
    // The mangled A reply gave no address; AAAA went unanswered.
    assert_eq!(r.finished(), Some((5, Err(LookupError::NoAnswer))));
}

#[test]
fn search_list_is_capped_and_nxdomain_moves_on() {
    let (files, io) = fake(
        "fake-search",
        "nameserver 10.0.0.1\nsearch s1 s2 s3 s4 s5 s6 s7 s8\n",
    );
    let mut r = resolver(&files, io);
    let t0 = Clock::now();
    r.start(9, "nx", t0);
    let mut asked = Vec::new();
    let mut from = 0;
    while r.finished().is_none() {
        let to = r.io.sent.len();
        assert!(to > from, "something was asked");
        asked.push(qname(&r.io.sent[from].1));
        from += answer_sent(&mut r, from);
        r.on_readable(0, t0);
    }
    assert_eq!(
        asked,
        ["nx.s1", "nx.s2", "nx.s3", "nx.s4", "nx.s5", "nx.s6", "nx"]
    );
}

#[test]
fn lookups_share_the_round_and_close_it_after_the_last() {
    let (files, io) = fake("fake-shared", "nameserver 10.0.0.1\nnameserver 10.0.0.2\n");
    let mut r = resolver(&files, io);
    let t0 = Clock::now();
    r.start(1, "one.test", t0);
    r.start(2, "www.test", t0);
    r.start(3, "192.0.2.9", t0);
    assert_eq!(
        r.finished(),
        Some((3, Ok(vec![IpAddr::from([192, 0, 2, 9])])))
    );
    assert_eq!(r.io.connected.len(), 2, "one socket per server for both");
    assert!(r.has_room());
    answer_sent(&mut r, 0);
    r.on_readable(0, t0);
    r.on_readable(1, t0);
    let mut results = vec![r.finished().unwrap(), r.finished().unwrap()];
    results.sort_by_key(|(k, _)| *k);
    assert_eq!(
        results,
        [
            (
                1,
                Ok(vec![
                    IpAddr::from([192, 0, 2, 1]),
                    "2001:db8::1".parse().unwrap()
                ])
            ),
            (2, Ok(vec![IpAddr::from([192, 0, 2, 80])])),
        ]
    );
    assert_eq!(r.sockets().count(), 0);
    // The next lookup opens a new round.
    r.start(4, "one.test", t0);
    assert_eq!(r.io.connected.len(), 4);
    r.cancel(4);
    assert_eq!(r.sockets().count(), 0);
    assert_eq!(r.deadline(), None);
}

#[test]
fn a_reply_must_match_the_id_and_type_of_the_question_sent() {
    // One buffer holds both questions (issue 18): a reply to A must carry
    // A's id and type, one to AAAA the AAAA's, as when each had its own.
    let (files, io) = fake("fake-idtype", "nameserver 10.0.0.1\noptions timeout:2\n");
    let mut r = resolver(&files, io);
    let t0 = Clock::now();
    r.start(6, "one.test", t0);
    let (a, aaaa) = (r.io.sent[0].1.clone(), r.io.sent[1].1.clone());
    assert_eq!((qtype(&a), qtype(&aaaa)), (A, AAAA));
    let id = |q: &[u8]| u16::from_be_bytes([q[0], q[1]]);
    assert_eq!(id(&aaaa), id(&a).wrapping_add(1));
    let with = |query: &[u8], new_id: u16, new_type: u16| {
        let mut q = query.to_vec();
        q[..2].copy_from_slice(&new_id.to_be_bytes());
        let end = q.len();
        q[end - 4..end - 2].copy_from_slice(&new_type.to_be_bytes());
        zone(&q, 0).unwrap()
    };
    let (ia, iaaaa) = (id(&a), id(&aaaa));
    for junk in [
        // A's id with AAAA's type, and the reverse.
        with(&a, ia, AAAA),
        with(&a, iaaaa, A),
        // Other ids with either type.
        with(&a, ia.wrapping_sub(1), A),
        with(&a, iaaaa.wrapping_add(1), AAAA),
        with(&a, ia ^ 0x100, A),
    ] {
        r.io.inbox.push((0, Ok(junk)));
    }
    r.on_readable(0, t0);
    assert_eq!(r.lookups[0].answered, [false; 2], "none of them is a reply");
    assert!(r.finished().is_none());
    // The real replies, AAAA first: each is taken.
    r.io.inbox.push((0, Ok(with(&a, iaaaa, AAAA))));
    r.on_readable(0, t0);
    assert_eq!(r.lookups[0].answered, [false, true]);
    r.io.inbox.push((0, Ok(with(&a, ia, A))));
    r.on_readable(0, t0);
    assert_eq!(
        r.finished(),
        Some((
            6,
            Ok(vec![
                IpAddr::from([192, 0, 2, 1]),
                "2001:db8::1".parse().unwrap()
            ])
        ))
    );
    // A resend after the swaps still asks both questions as first sent.
    r.start(7, "one.test", t0);
    let n = r.io.sent.len();
    let first = r.io.sent[n - 2..].to_vec();
    r.tick(t0 + Duration::from_secs(1));
    assert_eq!(r.io.sent[n..], first);
}
