//! Net against real sockets on loopback: listening, bounded reads, bad
//! datagram summaries, and names that resolve late.

use super::*;
use rustix::fd::AsFd;
use std::net::UdpSocket;
use std::time::Duration;

type Clock = crate::clock::Instant;

fn url(text: &str) -> UdpUrl {
    let hostport = text.trim_start_matches("udp://");
    let (host, port) = hostport.rsplit_once(':').unwrap();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    UdpUrl {
        text: text.to_string(),
        host: match host.parse() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(host.to_string()),
        },
        port: port.parse().unwrap(),
        iface: None,
    }
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn epoll() -> OwnedFd {
    epoll::create(epoll::CreateFlags::CLOEXEC).unwrap()
}

/// The data of the events ready within `secs`.
fn wait(ep: &OwnedFd, secs: i64) -> Vec<u64> {
    let mut events = Vec::with_capacity(8);
    epoll::wait(
        ep,
        rustix::buffer::spare_capacity(&mut events),
        Some(&rustix::time::Timespec {
            tv_sec: secs,
            tv_nsec: 0,
        }),
    )
    .unwrap();
    events.iter().map(|e| e.data.u64()).collect()
}

/// A hosts file and resolv.conf in a temp dir, leaked: Net keeps
/// `Sources<'static>`.
fn sources(test: &str, hosts: &str, resolv: &str, dns_port: u16) -> (Sources<'static>, String) {
    let dir = std::env::temp_dir().join(format!("pmtr-net-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let hosts_path = dir.join("hosts").to_str().unwrap().to_string();
    let resolv_path = dir.join("resolv.conf").to_str().unwrap().to_string();
    std::fs::write(&hosts_path, hosts).unwrap();
    std::fs::write(&resolv_path, resolv).unwrap();
    let sources = Sources {
        hosts: Box::leak(hosts_path.clone().into_boxed_str()),
        resolv_conf: Box::leak(resolv_path.into_boxed_str()),
        dns_port,
    };
    (sources, hosts_path)
}

#[test]
fn listener_receives_control_and_drops_garbage() {
    let port = free_port();
    let ep = epoll();
    let mut net = Net::default();
    let listen = [url(&format!("udp://127.0.0.1:{port}"))];
    net.configure(ep.as_fd(), 7 << 32, &[], &listen, Clock::now());
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.send_to(b"garbage", ("127.0.0.1", port)).unwrap();
    tx.send_to(&[b'x'; 3000], ("127.0.0.1", port)).unwrap();
    tx.send_to(b"disable a b\n", ("127.0.0.1", port)).unwrap();
    tx.send_to(b"enable c", ("127.0.0.1", port)).unwrap();
    assert_eq!(wait(&ep, 5), [7 << 32]);
    let mut got = Vec::new();
    // Datagrams may trickle in; collect until both good ones arrived.
    let end = Clock::now() + Duration::from_secs(5);
    while got.len() < 3 && Clock::now() < end {
        net.on_event(0, Clock::now(), |c, n| got.push((c, n.to_string())));
    }
    assert_eq!(
        got,
        [
            (Control::Disable, "a".to_string()),
            (Control::Disable, "b".to_string()),
            (Control::Enable, "c".to_string())
        ]
    );
    assert_eq!(net.bad.count, 1, "the first logged, the second counted");
    // Reconfiguring with the same address keeps the socket.
    net.configure(ep.as_fd(), 8 << 32, &[], &listen, Clock::now());
    assert!(net.listen[0].fd.is_some());
    net.configure(ep.as_fd(), 8 << 32, &[], &[], Clock::now());
    assert!(net.listen.is_empty());
    assert!(
        UdpSocket::bind(("127.0.0.1", port)).is_ok(),
        "old socket closed"
    );
}

#[test]
fn bind_failure_is_not_fatal() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let ep = epoll();
    let mut net = Net::default();
    let listen = [
        url(&format!("udp://127.0.0.1:{port}")),
        url(&format!("udp://127.0.0.1:{}", free_port())),
    ];
    net.configure(ep.as_fd(), 0, &[], &listen, Clock::now());
    assert!(net.listen[0].fd.is_none());
    assert!(
        net.listen[1].fd.is_some(),
        "the second listener still opens"
    );
    net.on_event(0, Clock::now(), |_, _| panic!("no socket, no datagram"));
}

#[test]
fn a_flood_is_read_in_bounded_batches() {
    let port = free_port();
    let ep = epoll();
    let mut net = Net::default();
    net.configure(
        ep.as_fd(),
        0,
        &[],
        &[url(&format!("udp://127.0.0.1:{port}"))],
        Clock::now(),
    );
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..100 {
        tx.send_to(b"enable a", ("127.0.0.1", port)).unwrap();
    }
    let mut total = 0;
    while total < 100 {
        assert_eq!(wait(&ep, 5), [0], "level-triggered: reported again");
        let mut batch = 0;
        net.on_event(0, Clock::now(), |_, _| batch += 1);
        assert!(batch <= DATAGRAMS_PER_WAKEUP, "{batch}");
        total += batch;
    }
    assert_eq!(total, 100);
}

#[test]
fn bad_datagrams_make_one_line_per_window() {
    let mut bad = BadDatagrams::default();
    let t0 = Clock::now();
    let from = Peer(None);
    bad.note(t0, from, "udp://x", BadDatagram::Empty);
    assert_eq!(
        (bad.count, bad.deadline()),
        (0, None),
        "the first is logged"
    );
    for _ in 0..1000 {
        bad.note(
            t0 + Duration::from_secs(1),
            from,
            "udp://x",
            BadDatagram::Empty,
        );
    }
    let end = t0 + BAD_LOG_EVERY;
    assert_eq!((bad.count, bad.deadline()), (1000, Some(end)));
    bad.tick(end - Duration::from_millis(1));
    assert_eq!(bad.count, 1000, "not before the window ends");
    bad.tick(end);
    assert_eq!(bad.count, 0, "summed up in one line");
    assert_eq!(bad.deadline(), None);
    // Quiet for a window: the next one is logged in full again.
    let later = end + BAD_LOG_EVERY;
    bad.note(later, from, "udp://x", BadDatagram::Empty);
    assert_eq!(bad.count, 0);
    assert_eq!(bad.quiet_until, Some(later + BAD_LOG_EVERY));
}

#[test]
fn a_name_in_the_hosts_file_is_used_at_once() {
    let port = free_port();
    let (sources, _) = sources("hosts", "127.0.0.1 ctl.test\n", "", 1);
    let ep = epoll();
    let mut net = Net::with_sources(sources);
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let report = [url(&format!(
        "udp://CTL.test:{}",
        rx.local_addr().unwrap().port()
    ))];
    let listen = [url(&format!("udp://ctl.test:{port}"))];
    net.configure(ep.as_fd(), 0, &report, &listen, Clock::now());
    assert_eq!(
        net.listen[0].addr,
        Some(SocketAddr::from(([127, 0, 0, 1], port)))
    );
    assert!(net.listen[0].fd.is_some());
    assert_eq!(net.names.len(), 2, "names are compared as written");
    net.send_report("h", core::iter::empty());
    let mut buf = [0u8; 64];
    let n = rx.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"report h\n");
    // Looked up again in five minutes.
    let due = net.names[0].due.unwrap();
    assert!(due > Clock::now() + REFRESH_EVERY - Duration::from_secs(5));
}

#[test]
fn an_unresolved_name_is_unused_then_retried_and_rebound() {
    // resolv.conf names a server on a port nobody listens on: refused at
    // once (ICMP), so the test needs no timeout.
    let dns_port = free_port();
    let (sources, hosts) = sources("late", "", "nameserver 127.0.0.1\n", dns_port);
    let ep = epoll();
    let mut net = Net::with_sources(sources);
    let port = free_port();
    let t0 = Clock::now();
    net.configure(
        ep.as_fd(),
        0,
        &[],
        &[url(&format!("udp://late.test:{port}"))],
        t0,
    );
    assert!(net.listen[0].fd.is_none());
    // The refusal comes back on the resolver's socket: at the second send
    // already (loopback delivers the ICMP error at once), or as an event.
    while net.names[0].resolving {
        for n in wait(&ep, 5) {
            assert_eq!(n as u32 & RESOLVER_TOKEN, RESOLVER_TOKEN);
            net.on_event(n as u32, Clock::now(), |_, _| unreachable!());
        }
    }
    assert!(net.names[0].warned);
    assert!(net.listen[0].fd.is_none(), "not in use until it resolves");
    let retry = net.deadline().unwrap();
    assert!(retry >= t0 + RETRY_EVERY && retry < Clock::now() + RETRY_EVERY);
    // The name appears; the retry finds it.
    std::fs::write(&hosts, "127.0.0.1 late.test\n").unwrap();
    net.tick(retry);
    assert!(!net.names[0].warned);
    assert_eq!(
        net.listen[0].addr,
        Some(SocketAddr::from(([127, 0, 0, 1], port)))
    );
    assert!(net.listen[0].fd.is_some());
    // Its address changes: at the next refresh the listener moves.
    std::fs::write(&hosts, "127.0.0.2 late.test\n").unwrap();
    let refresh = net.deadline().unwrap();
    assert_eq!(refresh, retry + REFRESH_EVERY);
    net.tick(refresh);
    assert_eq!(
        net.listen[0].addr,
        Some(SocketAddr::from(([127, 0, 0, 2], port)))
    );
    assert!(net.listen[0].fd.is_some());
    assert!(
        UdpSocket::bind(("127.0.0.1", port)).is_ok(),
        "the old one is closed"
    );
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.send_to(b"disable web", ("127.0.0.2", port)).unwrap();
    assert_eq!(wait(&ep, 5), [0]);
    let mut got = Vec::new();
    net.on_event(0, Clock::now(), |c, n| got.push((c, n.to_string())));
    assert_eq!(got, [(Control::Disable, "web".to_string())]);
}

#[test]
fn a_reload_keeps_a_resolved_address_while_looking_it_up_again() {
    let dns_port = free_port();
    let (sources, hosts) = sources(
        "reload",
        "127.0.0.1 keep.test\n",
        "nameserver 127.0.0.1\n",
        dns_port,
    );
    let ep = epoll();
    let mut net = Net::with_sources(sources);
    let port = free_port();
    let listen = [url(&format!("udp://keep.test:{port}"))];
    net.configure(ep.as_fd(), 0, &[], &listen, Clock::now());
    assert!(net.listen[0].fd.is_some());
    // DNS down and the hosts entry gone: a reload must not drop the socket.
    std::fs::write(&hosts, "").unwrap();
    let t1 = Clock::now();
    net.configure(ep.as_fd(), 0, &[], &listen, t1);
    assert!(net.listen[0].fd.is_some(), "the known address stays in use");
    while net.names[0].resolving {
        for n in wait(&ep, 5) {
            net.on_event(n as u32, Clock::now(), |_, _| {});
        }
    }
    assert!(net.names[0].warned, "it was looked up again, and failed");
    assert!(net.names[0].due.unwrap() >= t1 + RETRY_EVERY);
    assert!(net.listen[0].fd.is_some(), "a failed refresh keeps it too");
    assert_eq!(net.names[0].ip, Some(IpAddr::from([127, 0, 0, 1])));
}

/// `is_multicast` answers as core's `IpAddr::is_multicast` for both kinds,
/// around the edges of `224.0.0.0/4` and `ff00::/8`.
#[test]
fn multicast_test_matches_core() {
    for ip in [
        "0.0.0.0",
        "127.0.0.1",
        "223.255.255.255",
        "224.0.0.0",
        "239.1.2.3",
        "239.255.255.255",
        "240.0.0.0",
        "255.255.255.255",
        "::",
        "::1",
        "fe80::1",
        "feff::",
        "ff00::",
        "ff02::1",
        "ffff:ffff::",
        "00ff::",
        "::ffff:224.0.0.1",
    ] {
        let ip: IpAddr = ip.parse().unwrap();
        let addr = SocketAddr::new(ip, 9);
        assert_eq!(is_multicast(&addr), ip.is_multicast(), "{ip}");
    }
}
