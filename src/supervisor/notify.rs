//! `ready notify`: the sd_notify protocol (issue 16).
//!
//! Each such job gets a unix datagram socket of its own, bound when the
//! job is loaded at `DIR/ID` in a directory pmtr owns (mode 0711, beside
//! the control socket: `/run/pmtr.notify/` for `/run/pmtr.sock`). The
//! socket file belongs to the job's user with mode 0600, so only that user
//! (and root) can send to it: a message on it is the job's word, and no
//! other user can make a job ready or keep its watchdog quiet. Its path
//! is in the job's environment as `NOTIFY_SOCKET`, set at load like the
//! rest of the environment, so every daemon built with systemd's notify
//! support and every sd_notify library work unchanged.
//!
//! What arrives is hostile input: a datagram is read into a fixed buffer
//! (a longer one is dropped, not cut), at most [`READS_PER_WAKEUP`] per
//! wakeup, and parsed in place without allocating. Descriptors passed
//! with a message (systemd-notify's barrier, `FDSTORE=1`) are closed by
//! the kernel, since pmtr reads no control data. Recognised: `READY=1`,
//! `STOPPING=1`, `WATCHDOG=1` and `STATUS=…`. `MAINPID=` is read and
//! ignored on purpose: pmtr stops a job by signalling the process group
//! of the process it started, and the end of that process ends the run,
//! so a job can't make pmtr signal or wait for a process of someone
//! else's (a PID it names may be any process, or reused). Anything else
//! is ignored, as systemd ignores what it does not know.

use crate::prelude::*;

use core::mem::MaybeUninit;
use rustix::fd::OwnedFd;
use rustix::fs::Mode;
use rustix::io::Errno;
use rustix::net::{self, AddressFamily, RecvFlags, SocketFlags, SocketType};

/// The largest datagram read: systemd's own limit for a notify message
/// (a pipe buffer's atomic size).
pub const DATAGRAM_MAX: usize = 4096;

/// Datagrams read from one job's socket per wakeup.
pub const READS_PER_WAKEUP: usize = 16;

/// The notify directory for control socket `socket`: `X.sock` gives
/// `X.notify`, anything else `SOCKET.notify`.
pub fn dir_for(socket: &str) -> String {
    // Pushed, not `format!`: no `fmt::Arguments` (issue 18, bytes).
    let mut dir = String::from(socket.strip_suffix(".sock").unwrap_or(socket));
    dir.push_str(".notify");
    dir
}

/// The socket path of job `id` in `dir`.
pub fn path_in(dir: &str, id: u32) -> String {
    // By `join` and `itoa`, no `fmt::Arguments` (issue 18, bytes): the
    // same `DIR/ID`, as `dir` is a `Dir::beside`'s, made by `dir_for`
    // before any job starts: never empty, never ending in `/`.
    crate::files::join(dir, &crate::logger::itoa(u64::from(id)))
}

/// Creates `dir` for the sockets, mode 0711 (anyone may reach a socket
/// whose name they know, no one else may list or add), or takes it over
/// from an earlier pmtr if it is a real directory owned by pmtr's user.
pub fn make_dir(dir: &str) -> Result<(), Errno> {
    match crate::files::mkdir(dir, 0o711) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => return Err(e),
    }
    let meta = crate::files::lstat(dir)?;
    let is_dir = rustix::fs::FileType::from_raw_mode(meta.st_mode).is_dir();
    if !is_dir || meta.st_uid != rustix::process::geteuid().as_raw() {
        // Someone else's, or a symlink: pmtr must not put sockets there.
        return Err(Errno::PERM);
    }
    crate::files::chmod(dir, 0o711)
}

/// A job's notify socket; its file is removed when this is dropped.
pub struct NotifySocket {
    fd: OwnedFd,
    path: String,
}

/// What one read from a notify socket gave.
pub enum Recv<'b> {
    /// A datagram: the bytes received, in the buffer.
    Datagram(&'b [u8]),
    /// A datagram longer than the buffer: dropped.
    Oversized(usize),
    /// Nothing (more) to read now.
    Empty,
}

impl NotifySocket {
    /// Binds a non-blocking datagram socket at `path`, replacing a file
    /// an earlier pmtr left there, and gives it to `owner` (uid, gid):
    /// mode 0600, so only that user and root can send to it.
    /// The path is handed back with the error, for its message: taken
    /// by value, it is not copied (issue 18, bytes).
    pub fn bind(path: String, owner: Option<(u32, u32)>) -> Result<NotifySocket, (Errno, String)> {
        match bind_at(&path, owner) {
            Ok(fd) => Ok(NotifySocket { fd, path }),
            Err(e) => Err((e, path)),
        }
    }
}

/// [`NotifySocket::bind`]'s socket: a file it made is removed again when
/// it fails after the bind. Out of line on x86_64: the chown's path
/// buffer in its own frame, not in `Health::new`'s, which then needs no
/// stack probe (issue 18, bytes: min x86_64 -8; not measured elsewhere).
#[cfg_attr(target_arch = "x86_64", inline(never))]
fn bind_at(path: &str, owner: Option<(u32, u32)>) -> Result<OwnedFd, Errno> {
    let fd = net::socket_with(
        AddressFamily::UNIX,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )?;
    // Borrowed where the Result holds it, not moved out (issue 18,
    // bytes, as `Server::open`).
    let addr = crate::files::unix_addr(path);
    let addr = addr.as_ref().map_err(|&e| e)?;
    match crate::files::unlink(path) {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(e) => return Err(e),
    }
    // The file is created 0600 (umask), so no other user can send to
    // it in the moment before it is given to the job's user.
    let old = rustix::process::umask(Mode::from_raw_mode(0o177));
    let bound = net::bind(crate::sys::lend(&fd), addr);
    rustix::process::umask(old);
    bound?;
    if let Some((uid, gid)) = owner {
        let (uid, gid) = (
            rustix::process::Uid::from_raw(uid),
            rustix::process::Gid::from_raw(gid),
        );
        if let Err(e) = crate::files::chown(path, uid, gid) {
            let _ = crate::files::unlink(path);
            return Err(e);
        }
    }
    Ok(fd)
}

impl NotifySocket {
    /// By reference, as `Watcher::fd` (one `epoll::add` instance).
    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Reads one datagram into `buf` without waiting. `buf` is not
    /// zeroed first (issue 18, bytes): a datagram is only the bytes the
    /// kernel wrote.
    pub fn recv<'b>(
        &self,
        buf: &'b mut [MaybeUninit<u8>; DATAGRAM_MAX],
    ) -> Result<Recv<'b>, Errno> {
        // MSG_TRUNC: the length returned is the datagram's, so one too
        // long is seen as such rather than parsed cut.
        match net::recv(
            crate::sys::lend(&self.fd),
            &mut buf[..],
            RecvFlags::DONTWAIT | RecvFlags::TRUNC,
        ) {
            Ok((_, len)) if len > DATAGRAM_MAX => Ok(Recv::Oversized(len)),
            Ok(((got, _), _)) => Ok(Recv::Datagram(got)),
            Err(Errno::AGAIN | Errno::INTR) => Ok(Recv::Empty),
            Err(e) => Err(e),
        }
    }

    /// Drops what an earlier run left queued (a READY=1 sent just before
    /// it died must not make the next run ready), at most a wakeup's worth.
    pub fn drain(&self) {
        let mut byte = [MaybeUninit::uninit(); 1];
        for _ in 0..READS_PER_WAKEUP * 4 {
            if net::recv(
                crate::sys::lend(&self.fd),
                &mut byte[..],
                RecvFlags::DONTWAIT | RecvFlags::TRUNC,
            )
            .is_err()
            {
                break;
            }
        }
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        let _ = crate::files::unlink(&self.path);
    }
}

/// One thing a job said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice<'a> {
    /// `READY=1`
    Ready,
    /// `STOPPING=1`
    Stopping,
    /// `WATCHDOG=1`
    Watchdog,
    /// `STATUS=…`: free text for `pmtr status --json`.
    Status(&'a [u8]),
}

/// The notices in one datagram: `KEY=VALUE` lines; lines pmtr does not
/// know, or that are malformed, are skipped.
pub fn notices(datagram: &[u8]) -> impl Iterator<Item = Notice<'_>> {
    // Whole lines compared: no key has a `=`, so `READY=1` is the key
    // READY with the value 1, and `STATUS=` starts the key STATUS (issue
    // 18: no search for the `=`, no key and value cut apart).
    // The three flags by place in one word list, through the
    // configuration's search: three compares of their own were most of
    // on_notify's code (issue 18, bytes). A line that is not UTF-8 is
    // none of them.
    datagram.split(|&b| b == b'\n').filter_map(|line| {
        if let Some(text) = line.strip_prefix(b"STATUS=") {
            return Some(Notice::Status(text));
        }
        let word = crate::utf8::str(line)?;
        Some(
            match crate::config::word_index("READY=1\0STOPPING=1\0WATCHDOG=1\0", word)? {
                0 => Notice::Ready,
                1 => Notice::Stopping,
                _ => Notice::Watchdog,
            },
        )
    })
}

/// The notify directory of this pmtr: made when the first `ready
/// notify` job is loaded, removed (once empty) when dropped.
#[derive(Default)]
pub struct Dir {
    path: String,
    made: bool,
}

impl Dir {
    /// The directory beside control socket `socket`.
    pub fn beside(socket: &str) -> Dir {
        Dir {
            path: dir_for(socket),
            made: false,
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Makes it, the first time.
    pub fn make(&mut self) -> Result<(), Errno> {
        if !self.made {
            make_dir(&self.path)?;
            self.made = true;
        }
        Ok(())
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        if self.made {
            let _ = crate::files::rmdir(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_notices_and_nothing_else() {
        let got: Vec<Notice<'_>> = notices(
            b"READY=1\nSTATUS=listening on :80\nWATCHDOG=1\nSTOPPING=1\nMAINPID=42\n\
              RELOADING=1\nREADY=0\nBARRIER=1\nnoequals\n=1\nMAINPID=x\nMAINPID=0",
        )
        .collect();
        assert_eq!(
            got,
            [
                Notice::Ready,
                Notice::Status(b"listening on :80"),
                Notice::Watchdog,
                Notice::Stopping,
            ]
        );
    }

    #[test]
    fn a_notice_is_a_whole_line() {
        // The value is all after the first `=`: `READY=1=1` is not
        // READY=1, and a STATUS= text may hold `=`.
        let got: Vec<Notice<'_>> =
            notices(b"READY=1=1\nREADY=11\nXREADY=1\nREADY =1\nSTATUS=a=b\nSTATUS\nSTATUS=")
                .collect();
        assert_eq!(got, [Notice::Status(b"a=b"), Notice::Status(b"")]);
        // The flags are found by place in a NUL-ended word list: a NUL or
        // a byte that is not UTF-8 makes a line none of them.
        let got: Vec<Notice<'_>> =
            notices(b"READY=1\0\nREADY=1\0STOPPING=1\n\0\nREADY=1\xff\nWATCHDOG=1\n").collect();
        assert_eq!(got, [Notice::Watchdog]);
    }

    #[test]
    fn garbage_yields_nothing() {
        assert_eq!(notices(b"").count(), 0);
        assert_eq!(notices(&[0xff; 64]).count(), 0);
        assert_eq!(notices(b"\n\n\n===\n").count(), 0);
        // A status with odd bytes is passed on as bytes; made safe when shown.
        assert_eq!(
            notices(b"STATUS=\x1b[31mred\xff").next(),
            Some(Notice::Status(b"\x1b[31mred\xff"))
        );
    }

    #[test]
    fn dir_beside_the_control_socket() {
        assert_eq!(dir_for("/run/pmtr.sock"), "/run/pmtr.notify");
        assert_eq!(dir_for("/tmp/ctl"), "/tmp/ctl.notify");
        assert_eq!(path_in("/run/pmtr.notify", 7), "/run/pmtr.notify/7");
        // DIR/ID for every directory `dir_for` makes, odd sockets too.
        for socket in ["/run/pmtr.sock", "ctl", "/", "a/", ".sock", "", "a/.sock"] {
            let dir = dir_for(socket);
            for id in [0, 1, 42, u32::MAX] {
                assert_eq!(path_in(&dir, id), format!("{dir}/{id}"));
            }
        }
    }

    #[test]
    fn a_socket_is_0600_and_reads_one_datagram_at_a_time() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pmtr-notify-unit-{}", std::process::id()));
        let dir = dir.to_str().unwrap().to_string();
        make_dir(&dir).unwrap();
        let path = path_in(&dir, 1);
        let sock = NotifySocket::bind(path.clone(), None).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let client = std::os::unix::net::UnixDatagram::unbound().unwrap();
        client.send_to(b"READY=1", &path).unwrap();
        client.send_to(&[b'x'; DATAGRAM_MAX + 1], &path).unwrap();
        let mut buf = [MaybeUninit::uninit(); DATAGRAM_MAX];
        assert!(matches!(
            sock.recv(&mut buf),
            Ok(Recv::Datagram(b"READY=1"))
        ));
        assert!(matches!(sock.recv(&mut buf), Ok(Recv::Oversized(n)) if n == DATAGRAM_MAX + 1));
        assert!(matches!(sock.recv(&mut buf), Ok(Recv::Empty)));
        client.send_to(b"READY=1", &path).unwrap();
        sock.drain();
        assert!(matches!(sock.recv(&mut buf), Ok(Recv::Empty)));
        drop(sock);
        assert!(!std::path::Path::new(&path).exists());
        let _ = std::fs::remove_dir(&dir);
    }
}
