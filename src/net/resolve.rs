//! Host name lookup without the C library and without blocking: numeric
//! literals, then /etc/hosts, then DNS over UDP, in the order and with the
//! options musl's getaddrinfo uses.
//!
//! Why not getaddrinfo: in a static musl binary it pulls in qsort,
//! res_msend and the RFC 3484 sorting code, about 20 KB of pmtr's 128 KB
//! budget; and it blocks, which pmtr's one event loop must never do (SPEC
//! §10: a silent nameserver once made every reload wait 9.5 s).
//!
//! [`Resolver`] is a state machine the caller drives: [`Resolver::start`]
//! a lookup, call [`Resolver::on_readable`] when one of its sockets has
//! input and [`Resolver::tick`] when [`Resolver::deadline`] has passed, and
//! take results from [`Resolver::finished`]. Sockets come from an [`Io`]:
//! pmtr's registers them in its epoll set ([`Sockets`] with an epoll fd),
//! tests fake them, and [`lookup`], the blocking wrapper `pmtr-ctl` uses,
//! polls them.
//!
//! Each nameserver gets one connected UDP socket per round of lookups
//! (opened when the first lookup starts, closed when the last ends): the
//! kernel then drops datagrams from anyone else, and an ICMP "port
//! unreachable" comes back as ECONNREFUSED, so a server that is down is
//! given up at once instead of after the timeout. A server whose socket
//! cannot even be opened or connected (an IPv6 server on a kernel without
//! IPv6, no route) is given up the same way; when none is left, the lookup
//! fails at once.
//!
//! What a reply can make pmtr do is bounded: it is read into 512 bytes
//! (no EDNS), at most [`RECV_PER_WAKEUP`] are read per socket per wakeup,
//! at most [`MAX_ADDRS`] addresses are kept, and an NXDOMAIN moves on to
//! the next of at most [`MAX_SEARCH`] + 1 candidate names.
//!
//! Where it differs from musl, on purpose: hosts names match in any case
//! (DNS names do); `_` is allowed in names (service-style hosts exist); if
//! only one of the A/AAAA questions is answered, its addresses are used
//! rather than failing the lookup; `timeout:0`/`attempts:0` count as 1; a
//! refused or unreachable server is given up for the rest of the lookup.
//! Not supported: IPv6 scope ids (`fe80::1%eth0`), inet_aton forms
//! (`127.1`), `options rotate`/`edns0`, TCP fallback (a truncated reply
//! yields the records that fit).

use crate::clock::Instant;
use crate::prelude::*;
use core::fmt;
use core::mem::MaybeUninit;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::time::Duration;

use rustix::event::epoll;
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags};

use super::dns::{self, Query};

/// Nameservers used from resolv.conf, as in musl (MAXNS).
pub const MAX_SERVERS: usize = 3;
/// Search domains used from resolv.conf, as in glibc before 2.26: each
/// one can cost a round trip per lookup.
pub const MAX_SEARCH: usize = 6;
/// Addresses kept per lookup; the rest of a long answer is ignored.
pub const MAX_ADDRS: usize = 8;
/// DNS lookups one [`Resolver`] runs at once; the caller waits for a free
/// slot before starting another ([`Resolver::has_room`]).
pub const MAX_LOOKUPS: usize = 4;
/// Replies read from one server's socket per wakeup; more stay queued and
/// epoll (level-triggered) reports the socket again.
pub const RECV_PER_WAKEUP: usize = 8;
/// How much of /etc/hosts is read (ad-blocking lists run to megabytes).
const HOSTS_MAX: usize = 16 << 20;
/// How much of resolv.conf is read; real ones are a few hundred bytes.
const RESOLV_CONF_MAX: usize = 64 << 10;
/// Longest hosts or resolv.conf line; longer ones are skipped whole (musl
/// reads 512-byte lines).
const LINE_MAX: usize = 4096;
/// A UDP DNS reply without EDNS (RFC 1035 §2.3.4).
const REPLY_MAX: usize = 512;

/// Where lookups read from; `Sources::SYSTEM` is /etc/hosts,
/// /etc/resolv.conf, DNS port 53. Tests point these at temp files and a
/// fake server on an ephemeral port.
#[derive(Clone, Copy)]
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
/// messages like `can't resolve HOST: REASON`. The plain reasons in the
/// order of their words in `Display`'s list: a reason's place there is
/// its discriminant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupError {
    /// Not in the hosts file, and DNS says no such name (under any search
    /// domain) or a name without A/AAAA records.
    NotFound,
    /// Not something DNS can carry: letters, digits, `-`, `_`, `.` only,
    /// labels of 1 to 63 bytes, 253 bytes in all.
    BadName,
    /// No nameserver gave a usable reply before the timeout (all silent,
    /// or answering SERVFAIL/REFUSED).
    NoAnswer,
    /// Every nameserver was refused (ICMP) or could not be reached at all;
    /// the last error.
    Unreachable(Errno),
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The plain reasons by place in one word list, through one
        // `write_str`. Each place is the variant's discriminant, taken for
        // every variant: LLVM then reads it, not a chain of compares
        // (issue 18, bytes).
        let i = match self {
            LookupError::NotFound => 0,
            LookupError::BadName => 1,
            LookupError::NoAnswer => 2,
            LookupError::Unreachable(_) => 3,
        };
        if let LookupError::Unreachable(e) = self {
            return write!(f, "no DNS server reachable ({})", crate::sys::strerror(*e));
        }
        f.write_str(crate::config::nth_word(
            "name does not resolve\0bad host name\0no DNS server answered\0",
            i,
        ))
    }
}

impl crate::packed::Show for LookupError {}

/// What a lookup gives: its addresses, IPv4 ones first.
pub type LookupResult = Result<Vec<IpAddr>, LookupError>;

/// The sockets a [`Resolver`] uses, so that tests can fake them.
pub trait Io {
    type Socket;
    /// A non-blocking UDP socket connected to `server`, which the caller
    /// watches for input as the resolver's server number `index`.
    fn connect(&mut self, index: usize, server: SocketAddr) -> Result<Self::Socket, Errno>;
    fn send(&mut self, socket: &Self::Socket, query: &[u8]) -> Result<(), Errno>;
    /// One datagram into `buf` (cut to its length): the bytes written;
    /// EAGAIN when none. `buf` is not zeroed first (issue 18, bytes).
    fn recv<'b>(
        &mut self,
        socket: &Self::Socket,
        buf: &'b mut [MaybeUninit<u8>],
    ) -> Result<&'b [u8], Errno>;
}

/// Real sockets; with `epoll`, each is added to that epoll set with the
/// data `token | index`.
#[derive(Default)]
pub struct Sockets {
    pub epoll: Option<OwnedFd>,
    pub token: u64,
}

impl Io for Sockets {
    type Socket = OwnedFd;

    fn connect(&mut self, index: usize, server: SocketAddr) -> Result<OwnedFd, Errno> {
        let fd = super::udp_socket(server.is_ipv6())?;
        // A UDP connect only sets the peer: it never blocks.
        rustix::net::connect(crate::sys::lend(&fd), &super::sockaddr(&server))?;
        if let Some(epoll) = &self.epoll {
            let data = epoll::EventData::new_u64(self.token | index as u64);
            // Both lent: the instance the listeners use (issue 18, bytes).
            epoll::add(
                crate::sys::lend(epoll),
                crate::sys::lend(&fd),
                data,
                epoll::EventFlags::IN,
            )?;
        }
        Ok(fd)
    }

    fn send(&mut self, socket: &OwnedFd, query: &[u8]) -> Result<(), Errno> {
        let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
        rustix::net::send(crate::sys::lend(socket), query, flags).map(drop)
    }

    fn recv<'b>(
        &mut self,
        socket: &OwnedFd,
        buf: &'b mut [MaybeUninit<u8>],
    ) -> Result<&'b [u8], Errno> {
        rustix::net::recv(crate::sys::lend(socket), buf, RecvFlags::DONTWAIT)
            .map(|((got, _), _)| &*got)
    }
}

/// Looks names up without blocking; see the module documentation for how
/// to drive it.
pub struct Resolver<'a, I: Io> {
    pub io: I,
    sources: Sources<'a>,
    /// Servers and options, while lookups are in flight.
    round: Option<Round<I::Socket>>,
    lookups: Vec<Lookup>,
    finished: Vec<(u32, LookupResult)>,
}

/// What resolv.conf said when the round began, and a socket per server
/// (`None` once the server is given up).
struct Round<S> {
    servers: heapless::Vec<Option<S>, MAX_SERVERS>,
    /// Why the last server was given up, for the message when none is left.
    last_error: Errno,
    conf: Conf,
}

/// One name being looked up in DNS.
struct Lookup {
    key: u32,
    /// Without its trailing dot.
    name: String,
    /// The next candidate: a search domain (an index into the round's
    /// list), the bare name (the list's length), or none left.
    next: Option<usize>,
    /// The current candidate's question, as the A or the AAAA one
    /// ([`Lookup::question`]); the A one has id `id`, the AAAA one `id + 1`.
    query: Query,
    id: u16,
    answered: [bool; 2],
    /// The current candidate does not exist.
    nxdomain: bool,
    ips: Vec<IpAddr>,
    deadline: Instant,
    resend_at: Instant,
}

/// How a lookup ends, once it does.
enum Outcome {
    Pending,
    Done(LookupResult),
}

impl<'a, I: Io> Resolver<'a, I> {
    pub fn new(io: I, sources: Sources<'a>) -> Self {
        Resolver {
            io,
            sources,
            round: None,
            lookups: Vec::new(),
            finished: Vec::new(),
        }
    }

    /// Whether another DNS lookup may start ([`MAX_LOOKUPS`]).
    pub fn has_room(&self) -> bool {
        self.lookups.len() < MAX_LOOKUPS
    }

    /// Starts looking `host` up; its result comes out of
    /// [`Resolver::finished`] with `key`, at once for a numeric address, a
    /// hosts file entry, a bad name or when no server can be reached.
    /// Reads /etc/hosts and, when a round begins, resolv.conf: both root's
    /// files, read with `O_NONBLOCK` and a size cap.
    // Out of line: `Net::start_due`'s loop keeps its registers for
    // itself on x86_64 (issue 18, bytes; 0 on 32-bit ARM).
    #[inline(never)]
    // A numeric address's list pushed, not `vec!`: see below.
    #[allow(clippy::vec_init_then_push)]
    pub fn start(&mut self, key: u32, host: &str, now: Instant) {
        // The results known at once pushed at one place (issue 18, bytes).
        let result = if let Some(ip) = crate::config::parse_ip(host) {
            // Pushed, not `vec![ip]`: the list's out-of-line push, no
            // allocation of its own here (issue 18, bytes).
            let mut ips = Vec::new();
            ips.push(ip);
            Ok(ips)
        } else if !crate::config::is_host_name(host) {
            Err(LookupError::BadName)
        } else {
            // The name without its dot made where it is used, not kept
            // across the tests above (issue 18, bytes).
            let name = crate::strip_last(host, b'.');
            let ips = from_hosts(self.sources.hosts, name);
            if ips.is_empty() {
                // Empty, so never allocated: nothing to free, and no drop
                // code (issue 18, bytes).
                core::mem::forget(ips);
                self.start_dns(key, host, name, now);
                return;
            }
            Ok(ips)
        };
        self.finished.push((key, result));
    }

    /// [`Resolver::start`] for a name the hosts file does not have.
    // Out of line: inlined through `start` into `Net::start_due`, the
    // ~600-byte `Lookup` it builds, its round and the advance weighed on
    // that function's registers and stack (issue 18, bytes).
    #[inline(never)]
    fn start_dns(&mut self, key: u32, host: &str, name: &str, now: Instant) {
        let io = &mut self.io;
        let sources = &self.sources;
        let round = match &mut self.round {
            Some(round) => round,
            None => Round::open(&mut self.round, io, sources),
        };
        // Copied before the search is weighed: one copy for both of its
        // outcomes (issue 18, bytes).
        let owned = name.to_string();
        let dots = name.bytes().filter(|&b| b == b'.').count();
        // An absolute name (`host.`) had its dot cut above: no search.
        let search = name.len() == host.len() && dots < round.conf.ndots;
        let mut lookup = Lookup {
            key,
            name: owned,
            next: Some(if search { 0 } else { round.conf.search.len() }),
            query: Query::blank(),
            id: 0,
            answered: [false; 2],
            nxdomain: false,
            ips: Vec::new(),
            deadline: now,
            resend_at: now,
        };
        if round.advance(io, &mut lookup, now) {
            self.lookups.push(lookup);
        } else {
            // Every candidate too long for DNS. Dropped here, before
            // `settle`: one call of it for both arms (issue 18, bytes).
            drop(lookup);
            self.finished.push((key, Err(LookupError::BadName)));
        }
        self.settle(now);
    }

    /// Stops the lookup for `key`, if one is in flight. Out of line on
    /// x86_64: inlined into `Net::configure`'s loop over the names gone,
    /// it was larger there (issue 18, bytes: -16 min x86_64; not measured
    /// elsewhere, so left to the compiler there).
    #[cfg_attr(target_arch = "x86_64", inline(never))]
    pub fn cancel(&mut self, key: u32) {
        // Found and removed, as `settle` does, not `retain`ed (issue 18,
        // bytes): the lookups' order means nothing.
        while let Some(i) = self.lookups.iter().position(|l| l.key == key) {
            remove_lookup(&mut self.lookups, i);
        }
        // Found and removed, not `retain`ed: no retain of its own
        // (issue 18, bytes); the others keep their order.
        while let Some(i) = self.finished.iter().position(|(k, _)| *k == key) {
            let _ = self.finished.remove(i);
        }
        if self.lookups.is_empty() {
            self.round = None;
        }
    }

    /// Reads what server `index`'s socket has (at most
    /// [`RECV_PER_WAKEUP`] datagrams) and acts on the replies.
    // Out of line: inlined into `Supervisor::on_datagram` (through
    // `Net::on_event`) it weighed on that large function (issue 18,
    // bytes).
    #[inline(never)]
    pub fn on_readable(&mut self, index: usize, now: Instant) {
        let Some(round) = &mut self.round else { return };
        let mut buf = [MaybeUninit::uninit(); REPLY_MAX];
        for _ in 0..RECV_PER_WAKEUP {
            let Some(Some(socket)) = round.servers.get(index) else {
                break;
            };
            let reply = match self.io.recv(socket, &mut buf) {
                Ok(reply) => reply,
                Err(Errno::AGAIN) => break,
                Err(Errno::INTR) => continue,
                // ECONNREFUSED (an ICMP error for an earlier query) or
                // worse: this server is no use for this round.
                Err(e) => {
                    round.give_up(index, e);
                    break;
                }
            };
            for lookup in &mut self.lookups {
                if lookup.take_reply(reply) {
                    // No such name: on to the next candidate, if any.
                    if lookup.nxdomain && lookup.ips.is_empty() && lookup.next.is_some() {
                        round.advance(&mut self.io, lookup, now);
                    }
                    break;
                }
            }
        }
        self.settle(now);
    }

    /// Resends unanswered questions and ends lookups whose time is up.
    // Out of line (issue 18, bytes: 0 on 32-bit ARM, -8 on x86_64).
    #[inline(never)]
    pub fn tick(&mut self, now: Instant) {
        if let Some(round) = &mut self.round {
            for lookup in &mut self.lookups {
                if lookup.resend_at <= now && lookup.deadline > now {
                    round.send(&mut self.io, lookup);
                    lookup.resend_at = now + round.conf.retry;
                }
            }
        }
        self.settle(now);
    }

    /// When [`Resolver::tick`] has something to do.
    pub fn deadline(&self) -> Option<Instant> {
        // One running minimum, no `map` and `min` (issue 18, bytes).
        let mut next: Option<Instant> = None;
        for l in &self.lookups {
            let at = l.resend_at.min(l.deadline);
            if next.is_none_or(|n| at < n) {
                next = Some(at);
            }
        }
        next
    }

    /// A result, with the key its lookup was started with.
    pub fn finished(&mut self) -> Option<(u32, LookupResult)> {
        self.finished.pop()
    }

    /// The sockets of the round in progress, by server number.
    pub fn sockets(&self) -> impl Iterator<Item = (usize, &I::Socket)> {
        let servers = self.round.as_ref().map(|r| &r.servers[..]).unwrap_or(&[]);
        servers
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
    }

    /// Moves ended lookups to `finished`; closes the round after the last.
    fn settle(&mut self, now: Instant) {
        let Some(round) = &self.round else { return };
        // A plain loop, no `any` (issue 18, bytes).
        let mut reachable = false;
        for server in &round.servers {
            reachable |= server.is_some();
        }
        let last_error = round.last_error;
        let mut i = 0;
        while i < self.lookups.len() {
            match self.lookups[i].outcome(now, reachable, last_error) {
                Outcome::Pending => i += 1,
                Outcome::Done(result) => {
                    // The key read where the lookup is, then the lookup
                    // dropped as it leaves: not moved out first (issue
                    // 18, bytes).
                    self.finished.push((self.lookups[i].key, result));
                    remove_lookup(&mut self.lookups, i);
                }
            }
        }
        if self.lookups.is_empty() {
            // Closing the sockets also takes them out of the epoll set.
            self.round = None;
        }
    }
}

/// Drops lookup `i`, the last one moved into its place: one call for
/// `cancel` and `settle`, and the lookup (hundreds of bytes) moved out
/// and dropped in this frame, not in theirs (issue 18, bytes).
#[inline(never)]
fn remove_lookup(lookups: &mut Vec<Lookup>, i: usize) {
    drop(lookups.swap_remove(i));
}

impl<S> Round<S> {
    /// Reads resolv.conf and connects a socket to each server (127.0.0.1
    /// when none is listed, as in musl).
    /// Made in `slot`, its resolv.conf read into its place there: no copy
    /// of the round or of its configuration (issue 18, bytes).
    fn open<'r, I: Io<Socket = S>>(
        slot: &'r mut Option<Round<S>>,
        io: &mut I,
        sources: &Sources,
    ) -> &'r mut Round<S> {
        // The slot is empty (no round is open): filled, not assigned, so
        // no drop code for a round it held (issue 18, bytes).
        let round = slot.get_or_insert_with(|| Round {
            servers: heapless::Vec::new(),
            last_error: Errno::NETUNREACH,
            conf: Conf::default(),
        });
        read_conf(&mut round.conf, sources.resolv_conf);
        let localhost = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
        let ips = if round.conf.servers.is_empty() {
            &localhost[..]
        } else {
            &round.conf.servers[..]
        };
        for (index, ip) in ips.iter().enumerate() {
            // The address made by `net::at`, as a listener's and a
            // destination's: no inlined copy of its making (issue 18,
            // bytes). It is always `Some` for an address.
            let Some(server) = super::at(Some(ip), sources.dns_port) else {
                continue;
            };
            let socket = match io.connect(index, server) {
                Ok(socket) => Some(socket),
                Err(e) => {
                    round.last_error = e;
                    None
                }
            };
            let _ = round.servers.push(socket);
        }
        round
    }

    fn give_up(&mut self, index: usize, e: Errno) {
        if let Some(server) = self.servers.get_mut(index) {
            *server = None;
            self.last_error = e;
        }
    }

    /// Sends `lookup`'s unanswered questions to every server still in use.
    fn send<I: Io<Socket = S>>(&mut self, io: &mut I, lookup: &mut Lookup) {
        for index in 0..self.servers.len() {
            for q in 0..2 {
                if lookup.answered[q] {
                    continue;
                }
                let Some(socket) = &self.servers[index] else {
                    break;
                };
                match io.send(socket, lookup.question(q).as_bytes()) {
                    // A full socket buffer: the resend will do.
                    Ok(()) | Err(Errno::AGAIN | Errno::NOBUFS | Errno::INTR) => {}
                    Err(e) => self.give_up(index, e),
                }
            }
        }
    }

    /// Moves `lookup` on to its next candidate name and asks for it; false
    /// when none is left.
    fn advance<I: Io<Socket = S>>(
        &mut self,
        io: &mut I,
        lookup: &mut Lookup,
        now: Instant,
    ) -> bool {
        while let Some(i) = lookup.next {
            let search = &self.conf.search;
            lookup.next = (i < search.len()).then_some(i + 1);
            // The name, then the domain if any: `Query::set` encodes
            // their labels as those of `name.domain` (issue 18, bytes).
            let domain = search.get(i).map(String::as_str);
            let id = query_id();
            // Made in place, as the A question (`question` makes the AAAA
            // one of it). When it cannot be (too long with this domain)
            // it is left blank, which no reply matches; a
            // lookup left without a candidate is not sent again (a new
            // one is not kept, one after NXDOMAIN has both answered).
            if !lookup.query.set(id, &lookup.name, domain, dns::TYPE_A) {
                continue;
            }
            lookup.id = id;
            lookup.answered = [false; 2];
            lookup.nxdomain = false;
            lookup.ips.clear();
            lookup.deadline = now + self.conf.timeout;
            lookup.resend_at = now + self.conf.retry;
            self.send(io, lookup);
            return true;
        }
        false
    }
}

impl Lookup {
    /// Question `q` of the current candidate, 0 for A (id `id`) and 1
    /// for AAAA (id `id + 1`), made in the one buffer: what is sent and
    /// what a reply must match exactly, as when each had its own.
    fn question(&mut self, q: usize) -> &Query {
        let qtype = if q == 0 { dns::TYPE_A } else { dns::TYPE_AAAA };
        self.query.retarget(self.id.wrapping_add(q as u16), qtype);
        &self.query
    }

    /// Takes `reply` if it answers one of this lookup's open questions;
    /// an NXDOMAIN marks both answered, with no address.
    fn take_reply(&mut self, reply: &[u8]) -> bool {
        // The A question, then the AAAA one: the first still open that
        // `reply` answers. A plain loop, not `find` and a closure (issue
        // 18, bytes).
        let mut q = 0;
        while self.answered[q] || !dns::is_reply_to(reply, self.question(q)) {
            if q == 1 {
                return false;
            }
            q = 1;
        }
        match dns::rcode(reply) {
            Some(dns::RCODE_OK) => {
                self.answered[q] = true;
                let ips = &mut self.ips;
                dns::parse_answers(reply, |ip| {
                    if ips.len() < MAX_ADDRS && !ips.contains(&ip) {
                        ips.push(ip);
                    }
                });
            }
            // No such name, for any record type: stop waiting. If the
            // other question already brought addresses, they stand.
            Some(dns::RCODE_NXDOMAIN) => {
                self.answered = [true; 2];
                self.nxdomain = true;
            }
            // SERVFAIL, REFUSED: another server, or a resend, may answer.
            _ => return true,
        }
        true
    }

    fn outcome(&mut self, now: Instant, reachable: bool, last_error: Errno) -> Outcome {
        let both = self.answered == [true; 2];
        if !both && now < self.deadline && reachable {
            return Outcome::Pending;
        }
        if !self.ips.is_empty() {
            ipv4_first(&mut self.ips);
            return Outcome::Done(Ok(core::mem::take(&mut self.ips)));
        }
        Outcome::Done(Err(if both {
            // Name exists without addresses, or the last candidate was
            // NXDOMAIN: either way the search is over.
            LookupError::NotFound
        } else if !reachable {
            LookupError::Unreachable(last_error)
        } else {
            LookupError::NoAnswer
        }))
    }
}

/// A query id hard to guess from outside: sub-microsecond clock bits, as
/// in musl; the kernel's random source port of each round's sockets adds
/// the rest.
fn query_id() -> u16 {
    let ns = u64::from(crate::clock::wall().1);
    (ns ^ (ns >> 16)) as u16
}

/// The addresses the hosts file gives `name` (an address's first name or
/// an alias, any case), in file order, IPv4 first. A missing or
/// unreadable file counts as empty, as in musl.
fn from_hosts(path: &str, name: &str) -> Vec<IpAddr> {
    let mut ips = Vec::new();
    for_each_line(path, HOSTS_MAX, &mut Each::Hosts(name, &mut ips));
    ipv4_first(&mut ips);
    ips
}

/// A hosts file's line: its address when `name` is among its names.
fn hosts_line(line: &str, name: &str, ips: &mut Vec<IpAddr>) {
    let mut words = crate::Words(line);
    // Two lets, no and_then instance of their own (issue 18, bytes).
    let Some(word) = words.next() else {
        return;
    };
    // The address read once the name is found among the line's names:
    // pushed as it is made, not kept aside across the search (issue 18,
    // bytes).
    if ips.len() < MAX_ADDRS
        && words.any(|word| crate::utf8::eq_ignore_case(word.as_bytes(), name.as_bytes()))
        && let Some(ip) = crate::config::parse_ip(word)
    {
        ips.push(ip);
    }
}

/// What [`for_each_line`] does with each line: an enum, not a `dyn
/// FnMut` (issue 18, bytes: no closures behind vtables).
enum Each<'a> {
    /// The name looked up, and its addresses so far.
    Hosts(&'a str, &'a mut Vec<IpAddr>),
    /// resolv.conf, and its `timeout` and `attempts` so far.
    Conf(&'a mut Conf, &'a mut u32, &'a mut u32),
}

/// Moves IPv4 addresses before IPv6 ones, each kept in order: pmtr
/// prefers IPv4, and without RFC 3484's tables musl would too. (No sort:
/// a stable sort brings in a merge sort for at most 8 items.)
fn ipv4_first(ips: &mut [IpAddr]) {
    let mut v4 = 0;
    for i in 0..ips.len() {
        if ips[i].is_ipv4() {
            ips[v4..=i].rotate_right(1);
            v4 += 1;
        }
    }
}

/// Calls `each` with every line of the file at `path`, `#` comments cut
/// off, reading at most `max` bytes through a fixed buffer. A line that is
/// not UTF-8 reads as empty; one longer than [`LINE_MAX`] is skipped. The
/// file is opened non-blocking, so a FIFO put there reads as empty instead
/// of stopping pmtr.
fn for_each_line(path: &str, max: usize, each: &mut Each<'_>) {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let Ok(fd) = crate::files::open(path, flags, Mode::empty()) else {
        return;
    };
    let mut give = |line: &[u8]| {
        let line = line.split(|&b| b == b'#').next().unwrap_or_default();
        let line = crate::utf8::str(line).unwrap_or_default();
        match each {
            Each::Hosts(name, ips) => hosts_line(line, name, ips),
            Each::Conf(conf, timeout, attempts) => conf_line(line, conf, timeout, attempts),
        }
    };
    let mut buf = [0u8; LINE_MAX];
    // Counted in a usize: it stops within a read of `max` (at most 16
    // MiB), no 64-bit count on 32-bit targets (issue 18, bytes).
    let (mut len, mut total, mut skipping) = (0, 0usize, false);
    while total < max {
        let n = match rustix::io::read(crate::sys::lend(&fd), &mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(_) => break,
        };
        total += n;
        len += n;
        let mut start = 0;
        while let Some(end) = buf[start..len].iter().position(|&b| b == b'\n') {
            if !skipping {
                give(&buf[start..start + end]);
            }
            skipping = false;
            start += end + 1;
        }
        buf.copy_within(start..len, 0);
        len -= start;
        if len == buf.len() {
            skipping = true;
            len = 0;
        }
    }
    if !skipping && len > 0 && total < max {
        give(&buf[..len]);
    }
}

/// What resolv.conf says, with musl's defaults for what it leaves out.
struct Conf {
    servers: heapless::Vec<IpAddr, MAX_SERVERS>,
    /// The domains of the last `search` or `domain` line, at most
    /// [`MAX_SEARCH`], without trailing dots.
    search: Vec<String>,
    ndots: usize,
    /// For a whole query, retransmissions included (musl's meaning, not
    /// glibc's per-attempt one).
    timeout: Duration,
    /// Between retransmissions: `timeout / attempts`.
    retry: Duration,
}

impl Default for Conf {
    fn default() -> Self {
        Conf {
            servers: heapless::Vec::new(),
            search: Vec::new(),
            ndots: 1,
            timeout: Duration::ZERO,
            retry: Duration::ZERO,
        }
    }
}

/// Reads resolv.conf at `path` into `conf`, a [`Conf::default`].
fn read_conf(conf: &mut Conf, path: &str) {
    let (mut timeout, mut attempts) = (5, 2);
    for_each_line(
        path,
        RESOLV_CONF_MAX,
        &mut Each::Conf(conf, &mut timeout, &mut attempts),
    );
    conf.timeout = Duration::from_secs(timeout.into());
    // What `timeout / attempts` gives, without Duration's division and
    // its panic path (issue 18, bytes).
    // `attempts` is 1 to 5; max(1) tells the compiler, which then drops
    // the division's zero check and its panic. Whole seconds, then the
    // rest's nanoseconds, in u32 (the rest is below 5e9): the same value
    // with one 64-bit division less on 32-bit targets (issue 18, bytes).
    let attempts: u32 = attempts.max(1);
    let timeout: u32 = timeout;
    // The whole seconds and the nanoseconds as two Durations added: no
    // 64-bit multiplication (issue 18, bytes). The nanoseconds are below
    // 1e9 (the rest is below `attempts`); `min` tells the compiler so,
    // and it drops `from_nanos`' split into seconds (a division call on
    // Thumb-1) and the addition's carry: the same value.
    conf.retry = Duration::from_secs(u64::from(timeout / attempts))
        + Duration::from_nanos(u64::from(
            (timeout % attempts * 1_000_000_000 / attempts).min(999_999_999),
        ));
}

/// One line of resolv.conf into `conf`, `timeout` and `attempts`.
fn conf_line(line: &str, conf: &mut Conf, timeout: &mut u32, attempts: &mut u32) {
    let mut words = crate::Words(line);
    // Keywords by place in one word list: one search, not a string
    // comparison per keyword (issue 18, bytes).
    let keyword = words
        .next()
        .and_then(|w| crate::config::word_index("nameserver\0search\0domain\0options\0", w));
    match keyword {
        Some(0) => {
            if let Some(word) = words.next()
                && let Some(ip) = crate::config::parse_ip(word)
            {
                let _ = conf.servers.push(ip);
            }
        }
        Some(1 | 2) => {
            conf.search.clear();
            for d in words.filter(|d| crate::config::is_host_name(d)) {
                if conf.search.len() == MAX_SEARCH {
                    break;
                }
                conf.search.push(crate::strip_last(d, b'.').to_string());
            }
        }
        Some(_) => {
            for (key, value) in words.filter_map(|word| crate::split_once(word, b':')) {
                let Some(n) = crate::parse_unsigned::<u32>(value) else {
                    continue;
                };
                match crate::config::word_index("ndots\0timeout\0attempts\0", key) {
                    Some(0) => conf.ndots = n.min(15) as usize,
                    // Zero would mean never waiting: clamp to 1. One
                    // clamp for both, its bound and its place picked
                    // (issue 18, bytes).
                    Some(k) => {
                        let (to, max) = if k == 1 {
                            (&mut *timeout, 30)
                        } else {
                            (&mut *attempts, 5)
                        };
                        *to = n.clamp(1, max);
                    }
                    None => {}
                }
            }
        }
        _ => {}
    }
}

/// Addresses for `host:port`, IPv4 first, waiting as long as the lookup
/// takes (resolv.conf's timeout per candidate name at most). For
/// `pmtr-ctl`: a command may block; pmtr itself drives a [`Resolver`] from
/// its event loop instead.
pub fn lookup(host: &str, port: u16) -> Result<Vec<SocketAddr>, LookupError> {
    lookup_in(host, port, Sources::SYSTEM)
}

/// [`lookup`] with other files and DNS port, for tests.
pub fn lookup_in(host: &str, port: u16, sources: Sources) -> Result<Vec<SocketAddr>, LookupError> {
    use rustix::event::{PollFd, PollFlags};
    let mut resolver = Resolver::new(Sockets::default(), sources);
    resolver.start(0, host, Instant::now());
    loop {
        if let Some((_, result)) = resolver.finished() {
            let ips = result?;
            return Ok(ips
                .into_iter()
                .map(|ip| SocketAddr::new(ip, port))
                .collect());
        }
        let Some(due) = resolver.deadline() else {
            return Err(LookupError::NoAnswer); // can't happen: no lookup, no result
        };
        let wait = due.saturating_duration_since(Instant::now());
        let mut ready = [usize::MAX; MAX_SERVERS];
        {
            let (indices, mut fds): (Vec<usize>, Vec<PollFd>) = resolver
                .sockets()
                .map(|(i, s)| (i, PollFd::new(s, PollFlags::IN)))
                .unzip();
            // ppoll counts nanoseconds: nothing to round (a rounding up
            // made the field 1e9 or more, which the kernel refuses).
            let timeout = rustix::time::Timespec {
                tv_sec: wait.as_secs() as _,
                tv_nsec: wait.subsec_nanos() as _,
            };
            // EINTR just ends the wait early: the clock is read again.
            let _ = rustix::event::poll(&mut fds, Some(&timeout));
            for (k, fd) in fds.iter().enumerate() {
                if !fd.revents().is_empty() {
                    ready[k] = indices[k];
                }
            }
        }
        let now = Instant::now();
        for index in ready.into_iter().filter(|&i| i != usize::MAX) {
            resolver.on_readable(index, now);
        }
        resolver.tick(now);
    }
}

#[cfg(test)]
mod tests;
