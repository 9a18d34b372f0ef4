//! pmtr's end of the control socket: a listening unix stream socket in the
//! event loop's epoll set, and a small table of connected clients.
//!
//! Nothing here may stall the loop. Every socket is non-blocking; a client
//! gets at most [`MAX_REQUEST`] bytes of buffer and one answer, written as
//! far as the socket takes it; the rest (the metrics of many jobs can be
//! larger than a socket's buffer) is kept and sent when the socket has
//! room again (EPOLLOUT, asked for only then). A client that connects and
//! says nothing, or reads nothing, waits in the table without a timer: it
//! is closed when the table is full and a newer one needs its place. So
//! pmtr idle with the socket open still makes no system call.

use crate::prelude::*;
use core::fmt;
use core::mem::MaybeUninit;

use rustix::event::epoll;
use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::fs::FileType;
use rustix::io::Errno;
use rustix::net::{self, AddressFamily, RecvFlags, SendFlags, SocketFlags};

use super::protocol::{MAX_REQUEST, Request};
use crate::sys;

/// Clients connected but not yet answered. More at once than this are
/// served by closing the oldest (a client that stalls loses its place).
const MAX_CLIENTS: usize = 8;

/// The answer to a request that does not fit [`MAX_REQUEST`].
const TOO_LONG: &[u8] = b"error\trequest longer than 1024 bytes\n";

/// Why pmtr runs without its control socket.
#[derive(Debug)]
/// The path is borrowed from the caller, not copied (issue 18, bytes).
pub enum OpenError<'a> {
    /// Another process answers on the socket (another pmtr, most
    /// likely), or something that is not a socket is in the way (pmtr
    /// won't remove it): the message, packed where it is made, and the
    /// path that fills its `{}`. The text itself, not a kind matched to
    /// its text when it is written (issue 18, bytes: -8).
    Path(&'static [u8], &'a str),
    /// A system call failed.
    Call {
        call: &'static str,
        path: &'a str,
        errno: Errno,
    },
}

impl fmt::Display for OpenError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Path(msg, path) => crate::packed::Filled {
                msg,
                args: &[crate::packed::Arg::new(path)],
            }
            .fmt(f),
            OpenError::Call { call, path, errno } => crate::write_failed(
                f,
                &["can't create control socket ", path, ": ", call],
                *errno,
            ),
        }
    }
}

impl crate::packed::Show for OpenError<'_> {}

/// A connected client and what it has sent so far.
struct Client {
    fd: OwnedFd,
    /// The request so far: `buf[..len]`. Received into in place, with no
    /// buffer on the stack to copy from, and not zeroed first (issue 18,
    /// bytes): `len` grows only by what `recv` wrote, so nothing past
    /// it, which the client never sent, is ever read.
    buf: [MaybeUninit<u8>; MAX_REQUEST],
    len: usize,
    /// Accept order, to find the oldest.
    seq: u64,
    /// The peer's uid (SO_PEERCRED), for the log of what it asked.
    uid: u32,
    /// The part of the answer the socket has not taken yet.
    unsent: Vec<u8>,
}

/// What a client's readiness amounted to.
pub enum Readiness {
    /// Nothing complete yet (or the slot is empty): wait for more.
    Pending,
    /// A full request and the uid that sent it; answer it with
    /// [`Server::answer`].
    Request(Request, u32),
}

pub struct Server {
    listener: OwnedFd,
    path: String,
    /// The socket file pmtr created, so exit removes only that file and
    /// not one a later pmtr put in its place.
    inode: (u64, u64),
    /// Boxed while connected: the table stays a few pointers, not
    /// MAX_CLIENTS request buffers, in the supervisor (and its stack).
    clients: [Option<Box<Client>>; MAX_CLIENTS],
    next_seq: u64,
    euid: rustix::process::Uid,
    /// The epoll token of client slot 0 (see [`Server::accept`]).
    client_token: u64,
}

impl Server {
    /// Creates the socket at `path` (mode 0600) and registers it in `epoll`
    /// with `token`. A socket file left by a crashed pmtr (nobody answers)
    /// is replaced; one that answers is left alone. The server is put in
    /// `place`, which must be `None`: filled in place, not moved out
    /// through a `Result`, and no drop of the `None` it replaces (issue
    /// 18, bytes).
    pub fn open<'a>(
        path: &'a str,
        epoll: BorrowedFd<'_>,
        token: u64,
        place: &mut Option<Server>,
    ) -> Result<(), OpenError<'a>> {
        debug_assert!(place.is_none());
        // A failed call leaves the block with its name and errno: one
        // place makes the error (issue 18, bytes).
        let (call, errno) = 'failed: {
            // Borrowed where the Result holds it, not moved out (issue
            // 18, bytes).
            let addr = crate::files::unix_addr(path);
            let addr = match &addr {
                Ok(addr) => addr,
                Err(e) => break 'failed ("socket address", *e),
            };
            match crate::files::lstat(path) {
                Err(Errno::NOENT) => {}
                Err(e) => break 'failed ("lstat", e),
                Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::Socket => {
                    return Err(OpenError::Path(
                        crate::packed::msg!(
                            0,
                            "control socket {}: a file that is not a socket is in the way"
                        ),
                        path,
                    ));
                }
                Ok(_) => {
                    // Non-blocking: a live pmtr with a full backlog must not
                    // hold this one up (EAGAIN).
                    let probe = match stream_socket(SocketFlags::CLOEXEC | SocketFlags::NONBLOCK) {
                        Ok(probe) => probe,
                        Err(e) => break 'failed ("socket", e),
                    };
                    match net::connect(crate::sys::lend(&probe), addr) {
                        Ok(()) | Err(Errno::AGAIN) => {
                            return Err(OpenError::Path(
                                crate::packed::msg!(
                                    0,
                                    "control socket {} is in use by another process (another pmtr?)"
                                ),
                                path,
                            ));
                        }
                        // Left by a pmtr that died without cleaning up.
                        Err(Errno::CONNREFUSED) => match crate::files::unlink(path) {
                            Ok(()) | Err(Errno::NOENT) => {
                                info!("replacing stale control socket {}", path)
                            }
                            Err(e) => break 'failed ("unlink stale socket", e),
                        },
                        Err(e) => break 'failed ("connect to existing socket", e),
                    }
                }
            }
            let listener = match stream_socket(SocketFlags::CLOEXEC | SocketFlags::NONBLOCK) {
                Ok(listener) => listener,
                Err(e) => break 'failed ("socket", e),
            };
            if let Err(e) = net::bind(crate::sys::lend(&listener), addr) {
                break 'failed ("bind", e);
            }
            // Before listen(): until then a connect is refused, so there is no
            // moment when the umask's mode lets anyone in.
            // Only the device and inode carried on, not the whole `Stat`
            // (issue 18, bytes).
            let inode = crate::files::chmod(path, 0o600)
                .and_then(|()| crate::files::lstat(path))
                .map(|st| (st.st_dev, st.st_ino))
                .and_then(|inode| net::listen(&listener, 16).map(|()| inode));
            // Then into epoll; a failure of either removes the socket
            // file at one place (issue 18, bytes).
            let (call, added) = match inode {
                Ok(inode) => (
                    "epoll_ctl",
                    epoll::add(
                        epoll,
                        crate::sys::lend(&listener),
                        epoll::EventData::new_u64(token),
                        epoll::EventFlags::IN,
                    )
                    .map(|()| inode),
                ),
                Err(e) => ("chmod/listen", Err(e)),
            };
            let inode = match added {
                Ok(inode) => inode,
                Err(e) => {
                    let _ = crate::files::unlink(path);
                    break 'failed (call, e);
                }
            };
            crate::fill(
                place,
                Some(Server {
                    listener,
                    path: path.to_string(),
                    inode,
                    clients: Default::default(),
                    next_seq: 0,
                    euid: rustix::process::geteuid(),
                    client_token: 0,
                }),
            );
            return Ok(());
        };
        Err(OpenError::Call { call, path, errno })
    }

    /// Accepts waiting connections, up to [`MAX_CLIENTS`] per call. A peer that is neither root nor
    /// pmtr's own user is told so and closed; the others get a table slot
    /// registered in `epoll` as `token_base | slot`. Out of line but on
    /// aarch64: measured smaller on the other targets than inlined into
    /// the loop's handler; on aarch64 min, inlined is 72 bytes less
    /// (issue 18).
    #[cfg_attr(not(target_arch = "aarch64"), inline(never))]
    pub fn accept(&mut self, epoll: BorrowedFd<'_>, token_base: u64) {
        self.client_token = token_base;
        // A bounded number per wakeup: the listener stays readable while
        // more wait, and the loop comes back after the other sources.
        for _ in 0..MAX_CLIENTS {
            // Lent, not borrowed as `&OwnedFd`: no test for -1 at each
            // accept (issue 18, bytes).
            let fd = match net::accept_with(
                sys::lend(&self.listener),
                SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            ) {
                Ok(fd) => fd,
                Err(Errno::INTR) => continue,
                // AGAIN: all taken. Others (a peer that hung up before the
                // accept, EMFILE): nothing to serve now; EMFILE clears when
                // jobs close descriptors, and the listener stays readable.
                Err(Errno::AGAIN) => return,
                Err(e) => {
                    warn!("control socket {}: accept: {}", self.path, sys::strerror(e));
                    return;
                }
            };
            // By uid alone: a peer outside pmtr's PID namespace has no pid
            // here, and its uid is what the rule is about.
            let uid = match sys::peer_uid(sys::lend(&fd)) {
                Ok(uid) if uid == 0 || uid == self.euid.as_raw() => uid,
                Ok(uid) => {
                    let text = crate::packed::text(format_args!(
                        "refused\tpermission denied: uid {} may not query or control pmtr (only root and uid {} may)\n",
                        crate::packed::Int(uid),
                        crate::packed::Int(self.euid.as_raw())
                    ));
                    notice!("control socket: refused a request from uid {}", uid);
                    send_all(sys::lend(&fd), text.as_bytes());
                    continue;
                }
                Err(e) => {
                    warn!("control socket: SO_PEERCRED: {}", sys::strerror(e));
                    continue;
                }
            };
            // The first free slot, else the oldest client's: one loop, a
            // free slot counted as older than any client (issue 18, bytes).
            let (mut slot, mut least) = (0, u64::MAX);
            for (i, client) in self.clients.iter().enumerate() {
                let key = client.as_ref().map_or(0, |c| c.seq + 1);
                if key < least {
                    (slot, least) = (i, key);
                }
            }
            // A place in the table already: `%` only tells the compiler
            // so, with no bounds check (issue 18, bytes).
            let slot = slot % MAX_CLIENTS;
            if least > 0 {
                debug!("control socket: closing a client that sent nothing");
            }
            // Dropping the old client closes it, which also takes it out of
            // the epoll set.
            self.clients[slot] = None;
            if epoll::add(
                epoll,
                crate::sys::lend(&fd),
                epoll::EventData::new_u64(token_base | slot as u64),
                epoll::EventFlags::IN | epoll::EventFlags::RDHUP,
            )
            .is_err()
            {
                continue;
            }
            // The slot was emptied above: filled, not assigned, so there is
            // no drop code for what it held (issue 18, bytes).
            let seq = self.next_seq;
            self.clients[slot].get_or_insert_with(|| {
                Box::new(Client {
                    fd,
                    buf: [MaybeUninit::uninit(); MAX_REQUEST],
                    len: 0,
                    seq,
                    uid,
                    unsent: Vec::new(),
                })
            });
            self.next_seq += 1;
        }
    }

    /// Reads what client `slot` has sent. Closes it on EOF before a full
    /// line, on error, or when its request is too long or malformed (after
    /// telling it why).
    pub fn read(&mut self, epoll: BorrowedFd<'_>, slot: usize) -> Readiness {
        let Some(client) = self.clients.get_mut(slot).and_then(Option::as_mut) else {
            return Readiness::Pending;
        };
        if !client.unsent.is_empty() {
            let rest = core::mem::take(&mut client.unsent);
            self.answer(epoll, slot, &rest);
            return Readiness::Pending;
        }
        loop {
            // SAFETY: `buf[..len]` is what `recv` wrote below (`len`
            // grows only by the bytes it hands back as received), so it is
            // initialised.
            #[allow(unsafe_code)]
            let got = unsafe { crate::written(&client.buf[..client.len]) };
            if let Some(end) = got.iter().position(|&b| b == b'\n') {
                let mut line = &got[..end];
                // By a slice pattern, not core's `strip_suffix` (issue 18,
                // bytes).
                if let [stripped @ .., b'\r'] = line {
                    line = stripped;
                }
                return match Request::parse(line) {
                    Ok(req) => Readiness::Request(req, client.uid),
                    Err(line) => {
                        self.answer(epoll, slot, line.as_bytes());
                        Readiness::Pending
                    }
                };
            }
            if client.len == MAX_REQUEST {
                // A fixed text, not format! (issue 18, bytes); a test
                // checks that it names MAX_REQUEST.
                self.answer(epoll, slot, TOO_LONG);
                return Readiness::Pending;
            }
            // At most the room left: the buffer bounds the request.
            let room = &mut client.buf[client.len..];
            match net::recv(crate::sys::lend(&client.fd), room, RecvFlags::DONTWAIT) {
                Ok((([], _), _)) => {
                    self.clients[slot] = None;
                    return Readiness::Pending;
                }
                // The bytes received, not the length the call returned:
                // only those are known to be written.
                Ok(((got, _), _)) => client.len += got.len(),
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => return Readiness::Pending,
                Err(_) => {
                    self.clients[slot] = None;
                    return Readiness::Pending;
                }
            }
        }
    }

    /// Writes `reply` to client `slot` as far as the socket takes it
    /// without waiting; closes it when all went (or it hung up), else keeps
    /// the rest and asks epoll for room.
    pub fn answer(&mut self, epoll: BorrowedFd<'_>, slot: usize, reply: &[u8]) {
        let token = self.client_token | slot as u64;
        let Some(client) = self.clients.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        match send_some(sys::lend(&client.fd), reply) {
            Some(n) if n < reply.len() => {
                if client.unsent.is_empty() {
                    let out = epoll::EventFlags::OUT | epoll::EventFlags::RDHUP;
                    let data = epoll::EventData::new_u64(token);
                    let _ = epoll::modify(epoll, crate::sys::lend(&client.fd), data, out);
                }
                // Empty here: `read` takes what was unsent before it
                // answers again, and reads no request while some is.
                // Extended, not replaced: no drop of the empty Vec nor a
                // move of a new one (issue 18, bytes).
                debug_assert!(client.unsent.is_empty());
                client.unsent.extend_from_slice(&reply[n..]);
            }
            _ => self.clients[slot] = None,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let ours =
            crate::files::lstat(&self.path).is_ok_and(|st| (st.st_dev, st.st_ino) == self.inode);
        if ours {
            let _ = crate::files::unlink(&self.path);
        }
    }
}

fn stream_socket(flags: SocketFlags) -> Result<OwnedFd, Errno> {
    net::socket_with(AddressFamily::UNIX, net::SocketType::STREAM, flags, None)
}

/// Sends as much of `data` as the socket takes now. MSG_NOSIGNAL: a client
/// that hung up must not kill pmtr with SIGPIPE. Returns whether all of it
/// went.
fn send_all(fd: BorrowedFd<'_>, data: &[u8]) -> bool {
    send_some(fd, data) == Some(data.len())
}

/// Sends what the socket takes now of `data`: how much, or None when the
/// client is gone.
fn send_some(fd: BorrowedFd<'_>, data: &[u8]) -> Option<usize> {
    let mut sent = 0;
    // `sent` stays within `data`: `get` only spares a bounds check.
    while let Some(rest) = data.get(sent..).filter(|rest| !rest.is_empty()) {
        match net::send(fd, rest, SendFlags::NOSIGNAL | SendFlags::DONTWAIT) {
            Ok(n) => sent += n,
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => break,
            Err(_) => return None,
        }
    }
    Some(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_long_names_the_limit() {
        assert_eq!(
            TOO_LONG,
            format!("error\trequest longer than {MAX_REQUEST} bytes\n").as_bytes()
        );
    }
}
