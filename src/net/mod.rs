//! UDP report and control (SPEC §8): the sockets. What goes in the
//! datagrams is `wire.rs`; host names are looked up by `resolve.rs`.
//!
//! `report to udp://HOST:PORT[@IFACE]`: every 10 seconds (and right after
//! an enable/disable) the event loop calls [`Net::send_report`], which
//! sends the report to every destination whose address is known.
//!
//! `listen on udp://ADDR:PORT`: datagrams `enable NAME...` or
//! `disable NAME...`. There is no authentication: anyone who can reach the
//! port can stop jobs, so pmtr warns when the address is not loopback.
//! Malformed datagrams are counted: one is logged in full, then at most one
//! line per 10 seconds sums up the rest, so a flood cannot flood the log.
//!
//! Host names: the configuration holds them as written. [`Net::configure`]
//! starts looking each one up (/etc/hosts, then DNS) without waiting for
//! the answer; until a name resolves, the destination or listener that
//! uses it is simply not in use, and the jobs never wait for it. A failure
//! is logged once and the name is tried again every 10 seconds, so reports
//! begin soon after a network that came up late; a resolved name is looked
//! up again on each load and every 5 minutes, and a listener whose address
//! changed is bound again.
//!
//! # Driving it from the event loop
//!
//! Everything Net registers in the loop's epoll set carries the data
//! `token_base | n`, with `n` below 2³²; the loop hands `n` back:
//!
//! - [`Net::configure`] when a configuration is loaded;
//! - [`Net::on_event`]`(n, now, command)` for each epoll event of that
//!   kind: a listening socket's datagrams become `command(verb, job_name)`
//!   calls, a resolver socket's replies move lookups on;
//! - [`Net::deadline`] folded into the epoll timeout, and [`Net::tick`]
//!   once per turn (it does nothing until something is due);
//! - [`Net::send_report`] every 10 seconds while [`Net::reporting`].
//!
//! Each call does a bounded amount of work: at most
//! [`DATAGRAMS_PER_WAKEUP`] datagrams per listening socket and
//! [`resolve::RECV_PER_WAKEUP`] replies per resolver socket; epoll is
//! level-triggered, so what is left brings the loop back. Nothing is
//! allocated in the steady state: only loading a configuration and
//! (re)resolving a name allocate.

pub mod dns;
pub mod resolve;
mod text;
pub mod wire;

pub use wire::{Control, ReportLine};

use crate::clock::Instant;
use crate::config::{Host, UdpUrl};
use crate::prelude::*;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::time::Duration;

use resolve::{LookupError, Resolver, Sockets, Sources};
use rustix::event::epoll;
use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketAddrAny, SocketFlags, SocketType};
use wire::{BadDatagram, DATAGRAM_MAX};

/// A name that did not resolve is looked up again this often: SPEC §8's
/// report period, so reports begin within 10 s of DNS answering.
pub const RETRY_EVERY: Duration = Duration::from_secs(10);
/// A name that resolved is looked up again this often, so that a
/// listener follows its address (a DHCP lease, an edited /etc/hosts).
pub const REFRESH_EVERY: Duration = Duration::from_secs(300);
/// Datagrams read from one listening socket per wakeup: a flood takes
/// this much of a turn, no more.
pub const DATAGRAMS_PER_WAKEUP: usize = 16;
/// At most one log line about bad datagrams this often.
pub const BAD_LOG_EVERY: Duration = Duration::from_secs(10);
/// Marks a resolver socket among Net's epoll tokens; listening socket `i`
/// is just `i`.
const RESOLVER_TOKEN: u32 = 1 << 31;

/// The report destinations, listening sockets and host names of the
/// current configuration.
pub struct Net {
    /// One per `listen on` line, in file order; listener `i` is
    /// registered as `token_base | i`.
    listen: Vec<Endpoint>,
    /// One per `report to` line.
    report: Vec<Endpoint>,
    /// The distinct host names of those lines.
    names: Vec<Name>,
    /// Owns a duplicate of the loop's epoll descriptor, made at the first
    /// load, through which it and Net register sockets later.
    resolver: Resolver<'static, Sockets>,
    token_base: u64,
    /// For a new name's lookup key.
    last_key: u32,
    bad: BadDatagrams,
}

struct Name {
    /// As written in the configuration.
    host: String,
    /// Its lookups' key with the resolver; unique among names.
    key: u32,
    resolving: bool,
    /// The address in use: the first the last successful lookup gave
    /// (IPv4 preferred).
    ip: Option<IpAddr>,
    /// When to look it up next, unless a lookup is under way.
    due: Option<Instant>,
    /// A failure has been logged since the last load or success.
    warned: bool,
}

/// A `listen on` or a `report to` line's socket. One type for both: one
/// copy of the vector and drop code (issue 18, bytes).
///
/// Of its URL only what is used after the load: the text, the port and
/// the interface. Not a copy of the whole URL, whose host name `names`
/// holds already and whose numeric address is in `addr` (issue 18, bytes).
struct Endpoint {
    /// The URL as written, for log messages.
    text: String,
    port: u16,
    /// `@IFACE` (destinations).
    iface: Option<String>,
    /// Its host's index in `Net::names`, for a name; `None` for a
    /// numeric address.
    name: Option<usize>,
    addr: Option<SocketAddr>,
    /// A listener's is open and registered, a destination's open; `None`
    /// until the address is known, or when it could not be opened
    /// (logged).
    fd: Option<OwnedFd>,
    /// A destination's last send failed (logged once, not every 10
    /// seconds). Always false for a listener.
    failing: bool,
}

impl Default for Net {
    fn default() -> Net {
        Net::with_sources(Sources::SYSTEM)
    }
}

impl Net {
    /// A Net that reads other hosts and resolv.conf files (tests).
    fn with_sources(sources: Sources<'static>) -> Net {
        Net {
            listen: Vec::new(),
            report: Vec::new(),
            names: Vec::new(),
            resolver: Resolver::new(Sockets::default(), sources),
            token_base: 0,
            last_key: 0,
            bad: BadDatagrams::default(),
        }
    }

    /// Takes a newly loaded configuration's `report to` and `listen on`
    /// lines. Numeric addresses are used at once; names keep the address
    /// they had (if any) and are looked up again, without waiting. A
    /// listening socket whose address is unchanged is kept (no datagram
    /// lost, no repeated warning); the others are closed. Failures are
    /// logged and never touch the jobs.
    // Out of line: its one caller, `Supervisor::apply`, is large already
    // (issue 18, bytes: -32 / -80 armv6 / x86_64); on aarch64 it stays
    // inlined (out of line +8 there).
    #[cfg_attr(not(target_arch = "aarch64"), inline(never))]
    pub fn configure(
        &mut self,
        epoll: BorrowedFd<'_>,
        token_base: u64,
        report: &[UdpUrl],
        listen: &[UdpUrl],
        now: Instant,
    ) {
        if self.resolver.io.epoll.is_none() {
            match rustix::io::fcntl_dupfd_cloexec(epoll, 0) {
                Ok(fd) => self.resolver.io.epoll = Some(fd),
                Err(e) => error!(
                    "can't duplicate the epoll descriptor: {}; host names in URLs will not resolve",
                    crate::sys::strerror(e)
                ),
            }
        }
        self.token_base = token_base;
        self.resolver.io.token = token_base | u64::from(RESOLVER_TOKEN);

        // The new names are interned straight into `names`, emptied
        // here: no list made aside and moved in over the empty one
        // (issue 18, bytes).
        let mut old_names = core::mem::take(&mut self.names);
        // Each listener is made and opened in one pass, then each
        // destination: no list of them built first (issue 18, bytes).
        // Names are interned in the same order as ever, listeners first.
        // Each list made with its exact capacity in place of the old:
        // no `reserve_exact` of its own (issue 18, bytes).
        let mut old = core::mem::replace(&mut self.listen, Vec::with_capacity(listen.len()));
        for (i, url) in listen.iter().enumerate() {
            let l = place(
                url,
                &mut self.listen,
                &mut self.names,
                &mut old_names,
                &mut self.last_key,
                now,
            );
            let token = epoll::EventData::new_u64(token_base | i as u64);
            // The kept socket taken out of its old endpoint, which stays
            // in `old` with no socket (so it is neither matched again nor
            // closed below): no endpoint moved out of the list (issue 18,
            // bytes).
            let kept = old
                .iter_mut()
                .find(|o| o.fd.is_some() && o.addr.is_some() && o.addr == l.addr)
                .and_then(|o| o.fd.take());
            // Put where place's None is, not assigned over it: no drop
            // code for that None (issue 18, bytes).
            let fd = match kept {
                Some(fd) => {
                    match epoll::modify(epoll, crate::sys::lend(&fd), token, epoll::EventFlags::IN)
                    {
                        Ok(()) => Some(fd),
                        Err(e) => {
                            error!(
                                "listen on {}: epoll_ctl: {}; not listening there",
                                l.text,
                                crate::sys::strerror(e)
                            );
                            None
                        }
                    }
                }
                None => open_listener(epoll, token, l),
            };
            crate::fill(&mut l.fd, fd);
        }
        // By reference, then dropped (closed) together: no `IntoIter` of
        // endpoints (issue 18, bytes).
        for o in &old {
            if let Some(fd) = &o.fd {
                let _ = epoll::delete(epoll, crate::sys::lend(fd));
                info!("no longer listening on {}", o.text);
            }
        }
        drop(old);
        let old_report = core::mem::replace(&mut self.report, Vec::with_capacity(report.len()));
        for url in report {
            let d = place(
                url,
                &mut self.report,
                &mut self.names,
                &mut old_names,
                &mut self.last_key,
                now,
            );
            // As a listener's (above).
            let fd = open_destination(d);
            crate::fill(&mut d.fd, fd);
        }
        drop(old_report);
        for gone in old_names.iter().filter(|n| n.resolving) {
            self.resolver.cancel(gone.key);
        }
        // Names in /etc/hosts resolve right here.
        self.start_due(now);
        self.take_results(now);
    }

    /// True when reports are due every 10 seconds: there are `report to`
    /// lines, resolved or not yet.
    pub fn reporting(&self) -> bool {
        !self.report.is_empty()
    }

    /// An epoll event for one of Net's sockets: `n` is the low 32 bits of
    /// its data. A listening socket's well-formed datagrams become one
    /// `command(verb, job_name)` call per name; a resolver socket's
    /// replies move lookups on.
    pub fn on_event(&mut self, n: u32, now: Instant, command: impl FnMut(Control, &str)) {
        if n & RESOLVER_TOKEN != 0 {
            self.resolver
                .on_readable((n & !RESOLVER_TOKEN) as usize, now);
            self.start_due(now);
            self.take_results(now);
        } else {
            self.receive(n as usize, now, command);
        }
    }

    /// When [`Net::tick`] has something to do: a lookup to resend or give
    /// up, a name to look up again, a summary of bad datagrams to log.
    pub fn deadline(&self) -> Option<Instant> {
        // A name due while every lookup slot is taken waits for a slot,
        // which a lookup's end (an event or the resolver's deadline) frees.
        let mut next = self.resolver.deadline();
        let mut earlier = |at: Option<Instant>| {
            if let Some(at) = at
                && next.is_none_or(|n| at < n)
            {
                next = Some(at);
            }
        };
        if self.resolver.has_room() {
            for name in &self.names {
                if !name.resolving {
                    earlier(name.due);
                }
            }
        }
        earlier(self.bad.deadline());
        next
    }

    /// Does what is due at `now`; cheap when nothing is.
    pub fn tick(&mut self, now: Instant) {
        if self.resolver.deadline().is_some_and(|at| at <= now) {
            self.resolver.tick(now);
        }
        self.start_due(now);
        self.take_results(now);
        self.bad.tick(now);
    }

    /// Starts the lookups that are due, as slots allow.
    fn start_due(&mut self, now: Instant) {
        for name in &mut self.names {
            if !self.resolver.has_room() {
                break;
            }
            if !name.resolving && name.due.is_some_and(|at| at <= now) {
                name.resolving = true;
                name.due = None;
                self.resolver.start(name.key, &name.host, now);
            }
        }
    }

    /// Puts the addresses of finished lookups to use.
    fn take_results(&mut self, now: Instant) {
        while let Some((key, result)) = self.resolver.finished() {
            // A result for no name (cancelled) dropped where every other
            // is, at the loop's end: one drop call (issue 18, bytes).
            if let Some(n) = self.names.iter().position(|n| n.resolving && n.key == key) {
                let name = &mut self.names[n];
                name.resolving = false;
                // The resolver gives no empty success; were it to, it is a
                // failure like any other.
                // The first address borrowed where the result has it: copied
                // once, into the name, when it is new (issue 18, bytes).
                let first = match &result {
                    Ok(ips) => ips.first().ok_or(LookupError::NotFound),
                    Err(e) => Err(*e),
                };
                match first {
                    Ok(ip) => {
                        name.due = Some(now + REFRESH_EVERY);
                        name.warned = false;
                        if name.ip.as_ref() != Some(ip) {
                            name.ip = Some(*ip);
                            self.readdress(n, ip);
                        }
                    }
                    Err(e) => {
                        name.due = Some(now + RETRY_EVERY);
                        if !name.warned {
                            name.warned = true;
                            self.log_unresolved(n, e);
                        }
                    }
                }
            }
        }
    }

    /// Once per load, or per failure after a success.
    fn log_unresolved(&self, n: usize, e: LookupError) {
        let Some(name) = self.names.get(n) else {
            return;
        };
        // "every 10 sec" written out, not formatted from RETRY_EVERY at
        // run time: one argument less per line (issue 18, bytes).
        const _: () = assert!(RETRY_EVERY.as_secs() == 10, "the text says 10 sec");
        // The address borrowed where the name holds it, not copied
        // (issue 18, bytes).
        if let Some(ip) = &name.ip {
            warn!(
                "can't resolve {} again: {}; still using {}, trying again every 10 sec",
                name.host,
                e,
                text::Ip(ip),
            );
            return;
        }
        // The listeners, then the destinations: two passes of one plain
        // loop, no chain of mapped iterators (issue 18, bytes).
        for pass in 0..2 {
            let (what, list) = if pass == 0 {
                ("listen on", &self.listen)
            } else {
                ("report to", &self.report)
            };
            for p in list {
                if p.name == Some(n) {
                    warn!(
                        "{} {}: can't resolve {}: {}; not in use until it resolves (trying again every 10 sec)",
                        what, p.text, name.host, e,
                    );
                }
            }
        }
    }

    /// Name `n` has a new address: bind its listeners again, point its
    /// destinations at it.
    /// `ip` is the name's new address, passed as its caller has it, not
    /// read back from the list (issue 18, bytes).
    fn readdress(&mut self, n: usize, ip: &IpAddr) {
        let Some(epoll) = &self.resolver.io.epoll else {
            return;
        };
        // Lent once: rustix's `-1` check on a `&OwnedFd` left out
        // (issue 18, bytes).
        let epoll = crate::sys::lend(epoll);
        // Only a name's endpoints are here: the new address and the
        // endpoint's port.
        for (i, l) in self.listen.iter_mut().enumerate() {
            if l.name != Some(n) {
                continue;
            }
            if let Some(fd) = l.fd.take() {
                let _ = epoll::delete(epoll, crate::sys::lend(&fd));
            }
            l.addr = at(Some(ip), l.port);
            let token = epoll::EventData::new_u64(self.token_base | i as u64);
            l.fd = open_listener(epoll, token, l);
        }
        for d in self.report.iter_mut().filter(|d| d.name == Some(n)) {
            d.addr = at(Some(ip), d.port);
            d.failing = false;
            d.fd = open_destination(d);
            if let (Some(_), Some(addr)) = (&d.fd, &d.addr) {
                info!("report to {}: sending to {}", d.text, text::Addr(addr));
            }
        }
    }

    /// Reads up to [`DATAGRAMS_PER_WAKEUP`] datagrams on listening socket
    /// `index`.
    fn receive(&mut self, index: usize, now: Instant, mut command: impl FnMut(Control, &str)) {
        let Some(Endpoint {
            fd: Some(fd), text, ..
        }) = self.listen.get(index)
        else {
            return;
        };
        // Not zeroed first: rustix hands back the part the kernel filled
        // (issue 18, bytes: a 1025-byte `rep stos` at every wakeup).
        let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); DATAGRAM_MAX + 1];
        for _ in 0..DATAGRAMS_PER_WAKEUP {
            // MSG_TRUNC: the length returned is the datagram's, so an
            // oversized one is seen as such and not parsed cut.
            let ((copied, _), len, from) =
                // Lent: no rustix `-1` check (issue 18, bytes).
                match rustix::net::recvfrom(crate::sys::lend(fd), &mut buf, RecvFlags::TRUNC | RecvFlags::DONTWAIT) {
                    Ok(got) => got,
                    Err(Errno::INTR) => continue,
                    Err(Errno::AGAIN) => break,
                    Err(e) => {
                        error!("listen on {}: recvfrom: {}", text, crate::sys::strerror(e));
                        break;
                    }
                };
            let from = Peer::of(from);
            let parsed = if len > DATAGRAM_MAX {
                Err(BadDatagram::Oversized(len))
            } else {
                wire::parse_control(copied)
            };
            match parsed {
                Ok((control, names)) => {
                    debug!(
                        "{} {} from {} on {}",
                        control.word(),
                        crate::trim(names),
                        from,
                        text,
                    );
                    for name in crate::Words(names) {
                        command(control, name);
                    }
                }
                Err(why) => self.bad.note(now, from, text, why),
            }
        }
    }

    /// Sends the report to every `report to` destination whose address is
    /// known, in as many datagrams as it takes (see
    /// [`wire::build_report`]).
    pub fn send_report<'a>(&mut self, hostname: &str, jobs: impl Iterator<Item = ReportLine<'a>>) {
        if self.report.iter().all(|d| d.fd.is_none()) {
            return;
        }
        let report = &mut self.report;
        wire::build_report(hostname, jobs, |dgram| send_all(report, dgram));
    }
}

/// The index in `names` of `host`: found there, carried over from the
/// previous configuration's `old` names (with its address and any lookup
/// under way), or new. Due for a lookup now either way.
fn intern(
    names: &mut Vec<Name>,
    old: &mut Vec<Name>,
    last_key: &mut u32,
    host: &str,
    now: Instant,
) -> usize {
    if let Some(i) = names.iter().position(|n| n.host == host) {
        return i;
    }
    // Moved from `old` straight into `names`, not through the stack.
    // An old name made due where it lies in `old`, a new one made due as
    // it is made: no look back at the name pushed (issue 18, bytes).
    match old.iter_mut().position(|n| n.host == host) {
        Some(i) => {
            if let Some(name) = old.get_mut(i) {
                name.warned = false;
                if !name.resolving {
                    name.due = Some(now);
                }
            }
            names.push(old.swap_remove(i));
        }
        None => {
            *last_key = last_key.wrapping_add(1);
            names.push(Name {
                host: host.to_string(),
                key: *last_key,
                resolving: false,
                ip: None,
                due: Some(now),
                warned: false,
            });
        }
    }
    names.len() - 1
}

/// A `report to` or `listen on` URL's endpoint, not open yet, added to
/// `list`: its name (interned into `names`) and the address it stands for
/// now. One body for both lists, the endpoint made here too (issue 18,
/// bytes). Pushed here and lent back, not returned: the caller opens it
/// where it lies, with no copy of it on its own stack to push (issue 18,
/// bytes).
#[inline(never)]
fn place<'a>(
    url: &UdpUrl,
    list: &'a mut Vec<Endpoint>,
    names: &mut Vec<Name>,
    old: &mut Vec<Name>,
    last_key: &mut u32,
    now: Instant,
) -> &'a mut Endpoint {
    // The socket address: the numeric host's, or the name's once known.
    let (name, ip) = match &url.host {
        Host::Ip(ip) => (None, Some(ip)),
        Host::Name(host) => {
            let n = intern(names, old, last_key, host, now);
            (Some(n), names.get(n).and_then(|name| name.ip.as_ref()))
        }
    };
    let i = list.len();
    list.push(Endpoint {
        text: url.text.clone(),
        port: url.port,
        iface: url.iface.clone(),
        name,
        addr: at(ip, url.port),
        fd: None,
        failing: false,
    });
    &mut list[i]
}

/// The socket address of `ip`, if known, and `port`: one copy of its
/// making for the loads and a name's new address (issue 18, bytes). The
/// address borrowed, not copied onto the stack for the call (issue 18,
/// bytes).
#[inline(never)]
fn at(ip: Option<&IpAddr>, port: u16) -> Option<SocketAddr> {
    // An IPv6 address copied as one 16-byte value, not its last 12 bytes
    // through a stack slot as `SocketAddr::new` had them (issue 18,
    // bytes).
    Some(match *ip? {
        IpAddr::V4(a) => SocketAddr::V4(core::net::SocketAddrV4::new(a, port)),
        IpAddr::V6(a) => {
            let a = core::net::Ipv6Addr::from_bits(a.to_bits());
            SocketAddr::V6(core::net::SocketAddrV6::new(a, port, 0, 0))
        }
    })
}

fn send_all(report: &mut [Endpoint], dgram: &[u8]) {
    for d in report {
        let (Some(fd), Some(addr)) = (&d.fd, &d.addr) else {
            continue;
        };
        let sent = loop {
            let to = sockaddr(addr);
            // Lent: no rustix `-1` check (issue 18, bytes).
            let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
            match rustix::net::sendto(crate::sys::lend(fd), dgram, flags, &to) {
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

/// Counts malformed control datagrams so that the log gets at most one
/// line about them per [`BAD_LOG_EVERY`]: the first in full, then a sum.
#[derive(Default)]
struct BadDatagrams {
    /// While set and not passed, bad datagrams are counted, not logged.
    quiet_until: Option<Instant>,
    count: u32,
    last_from: Peer,
}

impl BadDatagrams {
    fn note(&mut self, now: Instant, from: Peer, on: &str, why: BadDatagram<'_>) {
        self.last_from = from;
        match self.quiet_until {
            Some(until) if now < until => self.count = self.count.saturating_add(1),
            // The quiet time is over but its sum is not logged yet.
            Some(_) if self.count > 0 => {
                self.count = self.count.saturating_add(1);
                self.summarise(now);
            }
            _ => {
                // The sender as kept, not another copy (issue 18, bytes).
                warn!(
                    "ignored datagram from {} on {}: {}",
                    self.last_from, on, why
                );
                self.quiet_until = Some(now + BAD_LOG_EVERY);
            }
        }
    }

    fn tick(&mut self, now: Instant) {
        if self.deadline().is_some_and(|at| at <= now) {
            self.summarise(now);
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.quiet_until.filter(|_| self.count > 0)
    }

    fn summarise(&mut self, now: Instant) {
        // "10 sec" written out (issue 18, bytes).
        const _: () = assert!(BAD_LOG_EVERY.as_secs() == 10, "the text says 10 sec");
        warn!(
            "ignored {} more bad datagrams in the last 10 sec, the last from {}",
            self.count, self.last_from
        );
        self.count = 0;
        self.quiet_until = Some(now + BAD_LOG_EVERY);
    }
}

/// The sender of a datagram, for log lines.
#[derive(Clone, Copy, Default)]
struct Peer(Option<SocketAddr>);

impl Peer {
    /// The sender as `recvfrom` gives it. Out of line: inlined into the
    /// loop's `on_datagram`, the conversion's IPv6 parts went from stack
    /// slot to stack slot there (issue 18, bytes).
    #[inline(never)]
    fn of(from: Option<SocketAddrAny>) -> Peer {
        // An IPv6 address moved as one 128-bit value, as in [`at`]
        // (issue 18, bytes).
        Peer(match from.and_then(|a| SocketAddr::try_from(a).ok()) {
            Some(SocketAddr::V6(a)) => Some(SocketAddr::V6(core::net::SocketAddrV6::new(
                core::net::Ipv6Addr::from_bits(a.ip().to_bits()),
                a.port(),
                a.flowinfo(),
                a.scope_id(),
            ))),
            other => other,
        })
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(addr) => text::Addr(addr).fmt(f),
            None => f.write_str("an unknown address"),
        }
    }
}

impl crate::packed::Show for Peer {}

/// `addr` as the kernel takes it. rustix encodes a `SocketAddr` inline
/// at every call that takes one, each family with its own system call;
/// here it is encoded once for `bind`, `connect` and `sendto` (issue 18,
/// bytes).
#[inline(never)]
pub fn sockaddr(addr: &SocketAddr) -> SocketAddrAny {
    SocketAddrAny::from(*addr)
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
    // The same steps for both families; only the membership call differs.
    let multicast = is_multicast(addr);
    // A failed call leaves the block with its name and errno: one error
    // made, and the socket closed, at one place (issue 18, bytes).
    let failed = 'failed: {
        if multicast
            && let Err(e) = rustix::net::sockopt::set_socket_reuseaddr(crate::sys::lend(&fd), true)
        {
            break 'failed ("setsockopt SO_REUSEADDR", e);
        }
        if let Err(e) = rustix::net::bind(crate::sys::lend(&fd), &sockaddr(addr)) {
            break 'failed ("bind", e);
        }
        // The socket address's own kinds matched: no IpAddr made of it
        // (issue 18, bytes).
        let (call, joined) = match addr {
            SocketAddr::V4(group) if multicast => (
                "setsockopt IP_ADD_MEMBERSHIP",
                rustix::net::sockopt::set_ip_add_membership(
                    &fd,
                    group.ip(),
                    &Ipv4Addr::UNSPECIFIED,
                ),
            ),
            SocketAddr::V6(group) if multicast => (
                "setsockopt IPV6_ADD_MEMBERSHIP",
                rustix::net::sockopt::set_ipv6_add_membership(&fd, group.ip(), 0),
            ),
            _ => return Ok(fd),
        };
        match joined {
            Ok(()) => return Ok(fd),
            Err(e) => (call, e),
        }
    };
    Err(failed)
}

/// Whether `addr` is a multicast group's: each kind's address tested
/// where it is, no IpAddr made of it, and an IPv6 group by its first
/// byte (`ff00::/8`), core's test of the first segment without a call of
/// `Ipv6Addr::segments` (issue 18, bytes).
fn is_multicast(addr: &SocketAddr) -> bool {
    match addr {
        SocketAddr::V4(a) => a.ip().is_multicast(),
        SocketAddr::V6(a) => a.ip().octets()[0] == 0xff,
    }
}

fn open_listener(epoll: BorrowedFd<'_>, token: epoll::EventData, l: &Endpoint) -> Option<OwnedFd> {
    // The address borrowed, not copied for each use (issue 18, bytes).
    let addr = l.addr.as_ref()?;
    let open = || -> Result<OwnedFd, (&'static str, Errno)> {
        let fd = bind_udp(addr)?;
        epoll::add(epoll, crate::sys::lend(&fd), token, epoll::EventFlags::IN)
            .map_err(|e| ("epoll_ctl", e))?;
        Ok(fd)
    };
    // For a name, which address it stands for now.
    let resolved = Resolved(l, addr);
    match open() {
        Ok(fd) => {
            // The line picked, with its severity, and logged by one call
            // with its one value (issue 18, bytes).
            use crate::packed::Arg;
            // (Each text one `{}`, checked as the log macros check it.)
            let line = if addr.ip().is_loopback() {
                crate::packed::check_marks!("listening on {}", resolved);
                line_at!(Info, "listening on {}")
            } else {
                crate::packed::check_marks!(
                    "listening on {} without authentication: anyone who can send to it can enable and disable jobs",
                    resolved
                );
                line_at!(
                    Warning,
                    "listening on {} without authentication: anyone who can send to it can enable and disable jobs"
                )
            };
            crate::syslog::log_msg(line, &[Arg::new(&resolved)]);
            Some(fd)
        }
        Err((call, e)) => {
            error!(
                "listen on {}: {}: {}; not listening there",
                resolved,
                call,
                crate::sys::strerror(e),
            );
            None
        }
    }
}

/// An endpoint's URL as written, and the address it stands for if it
/// names a host: `udp://pi.lan:10000 (192.168.0.22:10000)`.
struct Resolved<'a>(&'a Endpoint, &'a SocketAddr);

impl fmt::Display for Resolved<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.text)?;
        match self.0.name {
            Some(_) => write!(f, " ({})", text::Addr(self.1)),
            None => Ok(()),
        }
    }
}

impl crate::packed::Show for Resolved<'_> {}

/// `ioctl(fd, SIOCGIFINDEX, &ifreq)`: the index of the interface `name`,
/// as rustix's `netdevice::name_to_index` (ENODEV for a name of 16 bytes
/// or more, or one with a NUL in it), through `rustix::ioctl` with one
/// byte loop that checks for the NUL and copies the name: shorter than
/// rustix's `contains` (a `memchr`) and `copy_from_slice` (issue 18,
/// bytes).
///
/// # References
///  - [Linux `netdevice`](https://man7.org/linux/man-pages/man7/netdevice.7.html)
#[allow(unsafe_code)]
fn interface_index(fd: &OwnedFd, name: &str) -> rustix::io::Result<u32> {
    /// `struct ifreq`: the name, then a union of which SIOCGIFINDEX uses
    /// the leading `int`; 24 bytes hold its largest member (`struct
    /// ifmap` on 64-bit targets), as the kernel copies the whole struct.
    #[repr(C)]
    struct IfReq {
        name: [u8; 16],
        index: i32,
        rest: [u8; 20],
    }
    let mut req = IfReq {
        name: [0; 16],
        index: 0,
        rest: [0; 20],
    };
    let name = name.as_bytes();
    if name.len() >= req.name.len() {
        return Err(Errno::NODEV);
    }
    for (to, &b) in req.name.iter_mut().zip(name) {
        if b == 0 {
            return Err(Errno::NODEV);
        }
        *to = b;
    }
    // SAFETY: SIOCGIFINDEX reads and writes a `struct ifreq`, which IfReq
    // lays out (C layout, as large as the kernel's), its name NUL-ended.
    unsafe {
        rustix::ioctl::ioctl(fd, rustix::ioctl::Updater::<0x8933, IfReq>::new(&mut req))?;
    }
    Ok(req.index as u32)
}

fn open_destination(d: &Endpoint) -> Option<OwnedFd> {
    // The address borrowed, not copied for each use (issue 18, bytes).
    let addr = d.addr.as_ref()?;
    // A failed call leaves the block with its name and errno: one log
    // line, and the socket closed, at one place (issue 18, bytes).
    let (call, e) = 'failed: {
        let fd = match udp_socket(addr.is_ipv6()) {
            Ok(fd) => fd,
            Err(e) => break 'failed ("socket", e),
        };
        let Some(iface) = &d.iface else {
            return Some(fd);
        };
        if !is_multicast(addr) {
            warn!(
                "report to {}: @{} applies only to multicast destinations; ignored",
                Resolved(d, addr),
                iface,
            );
            return Some(fd);
        }
        // The interface lookup's failure taken as the setting's: the
        // socket closed at one place for both (issue 18, bytes).
        let (call, set) = match (interface_index(&fd, iface), addr) {
            (Err(e), _) => ("interface lookup", Err(e)),
            (Ok(index), SocketAddr::V4(group)) => (
                "setsockopt IP_MULTICAST_IF",
                rustix::net::sockopt::set_ip_multicast_if_with_ifindex(
                    &fd,
                    group.ip(),
                    &Ipv4Addr::UNSPECIFIED,
                    index,
                ),
            ),
            (Ok(index), SocketAddr::V6(_)) => (
                "setsockopt IPV6_MULTICAST_IF",
                rustix::net::sockopt::set_ipv6_multicast_if(&fd, index),
            ),
        };
        match set {
            Ok(()) => return Some(fd),
            Err(e) => (call, e),
        }
    };
    error!(
        "report to {}: {}: {}; not reporting there",
        Resolved(d, addr),
        call,
        crate::sys::strerror(e),
    );
    None
}

#[cfg(test)]
mod tests;
