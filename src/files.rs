//! Files and paths, the part of std's `fs` and `path` pmtr needs (see
//! `rt/start.rs` for why pmtr is `no_std`): whole-file reads and writes,
//! a content hash, paths as strings, and the system calls that take a
//! path (each through [`CPath`]).

use core::ffi::CStr;
use core::mem::MaybeUninit;

use rustix::fd::BorrowedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::prelude::*;

/// The longest path the kernel takes, its NUL included (`PATH_MAX`).
const PATH_MAX: usize = 4096;

/// A buffer for a path as the C string a system call takes. rustix
/// converts a `&str` path inside each of its functions that takes one, a
/// copy of that code per function (about 100 bytes each on armv7); pmtr
/// converts here, once, and hands rustix the `&CStr` (issue 18, bytes).
/// Every path the kernel takes fits on the stack, so none goes to the heap
/// (issue 18, bytes: no `CString` to make and drop in each call); a longer
/// one is `ENAMETOOLONG`, as the kernel answers it, and one with a NUL byte
/// inside is `EINVAL`, as in rustix.
///
/// The buffer is left uninitialised until a path is copied in: zeroing
/// 4 KB at every call was a `memset` at each of the thirteen wrappers
/// (issue 18, bytes), and the C string is the path and its NUL only.
pub struct CPath([MaybeUninit<u8>; PATH_MAX]);

impl Default for CPath {
    fn default() -> Self {
        Self([MaybeUninit::uninit(); PATH_MAX])
    }
}

impl CPath {
    /// `path`, NUL-terminated, in this buffer.
    ///
    /// Inlined at each wrapper over [`CPath::fill`], which does the work
    /// out of line and answers in a register: a `Result<&CStr, Errno>`
    /// came back through memory, read back at each of the thirteen
    /// wrappers (issue 18, bytes).
    #[inline(always)]
    #[allow(unsafe_code)]
    pub fn c_str(&mut self, path: &str) -> Result<&CStr, Errno> {
        self.fill(path)?;
        // SAFETY: `fill` wrote the path and its NUL, `path.len() + 1`
        // bytes, at the buffer's start, with no NUL but the last.
        unsafe {
            Ok(CStr::from_bytes_with_nul_unchecked(
                core::slice::from_raw_parts(self.0.as_ptr().cast::<u8>(), path.len() + 1),
            ))
        }
    }

    /// Copies `path` and a NUL into the buffer: `EINVAL` for a NUL inside,
    /// `ENAMETOOLONG` if it does not fit.
    #[inline(never)]
    #[allow(unsafe_code)]
    fn fill(&mut self, path: &str) -> Result<(), Errno> {
        let bytes = path.as_bytes();
        if crate::has_byte(bytes, 0) {
            return Err(Errno::INVAL);
        }
        let len = bytes.len();
        if len >= PATH_MAX {
            return Err(Errno::NAMETOOLONG);
        }
        let buf = self.0.as_mut_ptr().cast::<u8>();
        // SAFETY: `len + 1 <= PATH_MAX` bytes are written into the
        // buffer, which `bytes` (a borrowed `&str`) cannot overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, len);
            buf.add(len).write(0);
        }
        Ok(())
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, 64 bits, continued over `bytes`.
fn fnv(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// FNV-1a, 64 bits: tells whether a file's content changed since it was
/// last read. Not for untrusted keys (no hash tables here).
pub fn content_hash(bytes: &[u8]) -> u64 {
    fnv(FNV_OFFSET, bytes)
}

/// [`content_hash`] of everything `fd` yields up to its end, read through
/// a fixed buffer: at most `limit` bytes, more is `EFBIG`.
pub fn hash_fd(fd: BorrowedFd<'_>, limit: u64) -> Result<u64, Errno> {
    let mut h = FNV_OFFSET;
    // Counted in usize: a limit past isize::MAX is isize::MAX, so the
    // count (at most the limit and a chunk) never wraps.
    let limit = usize::try_from(limit).map_or(isize::MAX as usize, |l| l.min(isize::MAX as usize));
    read_to_end(fd, limit, Sink::Hash(&mut h))?;
    Ok(h)
}

/// Where [`read_to_end`] puts what it reads.
enum Sink<'a> {
    /// Hashed into this FNV-1a state.
    Hash(&'a mut u64),
    /// Appended.
    Bytes(&'a mut Vec<u8>),
}

/// Reads `fd` to its end through a fixed buffer, at most `limit` bytes
/// (more is `EFBIG`), into `sink`: one read loop for [`hash_fd`] and
/// [`read_all`], not one each (issue 18, bytes).
#[inline(never)]
fn read_to_end(fd: BorrowedFd<'_>, limit: usize, mut sink: Sink<'_>) -> Result<(), Errno> {
    let mut len = 0usize;
    // Not zeroed first (a 4 KiB memset per read of a file): the read
    // hands back only the bytes it filled (issue 18, bytes).
    let mut chunk = [core::mem::MaybeUninit::<u8>::uninit(); 4096];
    loop {
        match rustix::io::read(fd, &mut chunk) {
            Ok(([], _)) => return Ok(()),
            Ok((got, _)) => {
                len += got.len();
                if len > limit {
                    return Err(Errno::FBIG);
                }
                match &mut sink {
                    Sink::Hash(h) => **h = fnv(**h, got),
                    Sink::Bytes(data) => data.extend_from_slice(got),
                }
            }
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(target_arch = "arm")]
pub use crate::sys::Stat;
#[cfg(target_arch = "arm")]
use crate::sys::statat as stat_call;
/// What the stat calls below give: rustix's `Stat`, but on 32-bit ARM
/// the kernel's `struct stat64` that `sys::statat` reads straight into
/// (issue 18, bytes: rustix's `statx` and its conversions leave).
#[cfg(not(target_arch = "arm"))]
pub use rustix::fs::Stat;
#[cfg(not(target_arch = "arm"))]
use rustix::fs::statat as stat_call;

/// `fstat(fd)`, as `fstatat(fd, "", AT_EMPTY_PATH)`: the same rustix
/// call as [`statat`], so that rustix's `fstat` and its fallback are not
/// in the binary too (issue 18, bytes). On 32-bit targets but ARM the
/// same `statx` call first; the fallback of a kernel without it is
/// `fstatat64` with `AT_EMPTY_PATH` (Linux 2.6.39) where `fstat`'s was
/// `fstat64`. On ARM `fstatat64` only (`sys::statat`).
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/stat.2.html)
pub fn fstat(fd: rustix::fd::BorrowedFd<'_>) -> Result<Stat, Errno> {
    stat_call(fd, c"", rustix::fs::AtFlags::EMPTY_PATH)
}

/// `stat(path)`, as `fstatat(AT_FDCWD, path, 0)`: one rustix call,
/// [`statat`], for both `stat` and `lstat` (issue 18, bytes: rustix's
/// `stat` and `lstat` are each a wrapper of their own).
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/stat.2.html)
pub fn stat(path: &str) -> Result<Stat, Errno> {
    statat(path, rustix::fs::AtFlags::empty())
}

/// `lstat(path)`, as `fstatat(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW)` (see
/// [`stat`]).
pub fn lstat(path: &str) -> Result<Stat, Errno> {
    statat(path, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
}

/// `fstatat(AT_FDCWD, path, flags)`.
pub fn statat(path: &str, flags: rustix::fs::AtFlags) -> Result<Stat, Errno> {
    stat_call(rustix::fs::CWD, CPath::default().c_str(path)?, flags)
}

/// `open(path, flags, mode)`.
pub fn open(path: &str, flags: OFlags, mode: Mode) -> Result<rustix::fd::OwnedFd, Errno> {
    rustix::fs::open(CPath::default().c_str(path)?, flags, mode)
}

/// `unlink(path)`.
pub fn unlink(path: &str) -> Result<(), Errno> {
    on_path(path, OnPath::Unlink, 0)
}

/// `chmod(path, mode)`.
pub fn chmod(path: &str, mode: u32) -> Result<(), Errno> {
    on_path(path, OnPath::Chmod, mode)
}

/// Whether `path` exists (`access(path, F_OK)`): `Err` only if it
/// does not or cannot be looked up.
pub fn exists(path: &str) -> Result<(), Errno> {
    on_path(path, OnPath::Exists, 0)
}

/// `rename(from, to)`.
pub fn rename(from: &str, to: &str) -> Result<(), Errno> {
    rustix::fs::rename(CPath::default().c_str(from)?, CPath::default().c_str(to)?)
}

/// `mkdir(path, mode)`.
pub fn mkdir(path: &str, mode: u32) -> Result<(), Errno> {
    on_path(path, OnPath::Mkdir, mode)
}

/// `rmdir(path)`.
pub fn rmdir(path: &str) -> Result<(), Errno> {
    on_path(path, OnPath::Rmdir, 0)
}

/// The calls on one path that answer only whether they went through.
#[derive(Clone, Copy)]
enum OnPath {
    Unlink,
    Chmod,
    Exists,
    Mkdir,
    Rmdir,
}

/// Makes `call` on `path` (with `mode` for `chmod` and `mkdir`): one
/// body for the five, the path's C string made at one place, not a 4 KB
/// frame and a [`CPath::fill`] call in each (issue 18, bytes).
#[inline(never)]
fn on_path(path: &str, call: OnPath, mode: u32) -> Result<(), Errno> {
    let mut buf = CPath::default();
    let path = buf.c_str(path)?;
    let mode = Mode::from_raw_mode(mode);
    match call {
        OnPath::Unlink => rustix::fs::unlink(path),
        OnPath::Chmod => rustix::fs::chmod(path, mode),
        OnPath::Exists => rustix::fs::access(path, rustix::fs::Access::EXISTS),
        OnPath::Mkdir => rustix::fs::mkdir(path, mode),
        OnPath::Rmdir => rustix::fs::rmdir(path),
    }
}

/// `chown(path, uid, gid)`.
pub fn chown(path: &str, uid: rustix::fs::Uid, gid: rustix::fs::Gid) -> Result<(), Errno> {
    rustix::fs::chown(CPath::default().c_str(path)?, Some(uid), Some(gid))
}

/// `inotify_add_watch(fd, path, flags)`.
pub fn add_watch(
    fd: BorrowedFd<'_>,
    path: &str,
    flags: rustix::fs::inotify::WatchFlags,
) -> Result<i32, Errno> {
    rustix::fs::inotify::add_watch(fd, CPath::default().c_str(path)?, flags)
}

/// A Unix socket address for `path`.
pub fn unix_addr(path: &str) -> Result<rustix::net::SocketAddrUnix, Errno> {
    rustix::net::SocketAddrUnix::new(CPath::default().c_str(path)?)
}

/// Whether `path` names a regular file, and its size (following symlinks).
pub fn file_size(path: &str) -> Option<u64> {
    // The `Stat` read where the call put it, not copied out of its
    // `Result` (issue 18, bytes).
    match &stat(path) {
        Ok(meta)
            if rustix::fs::FileType::from_raw_mode(meta.st_mode)
                == rustix::fs::FileType::RegularFile =>
        {
            Some(meta.st_size as u64)
        }
        _ => None,
    }
}

/// Reads a whole file of at most `limit` bytes; a longer one is `EFBIG`.
pub fn read_file(path: &str, limit: usize) -> Result<Vec<u8>, Errno> {
    let fd = open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    read_all(crate::sys::lend(&fd), limit)
}

/// Reads `fd` to its end, at most `limit` bytes; more is `EFBIG`.
pub fn read_all(fd: BorrowedFd<'_>, limit: usize) -> Result<Vec<u8>, Errno> {
    let mut data = Vec::new();
    read_to_end(fd, limit, Sink::Bytes(&mut data))?;
    Ok(data)
}

/// Creates (or truncates) `path` with `mode` and writes `data` to it.
pub fn write_file(path: &str, data: &[u8], mode: u32) -> Result<(), Errno> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC;
    let fd = open(path, flags, Mode::from_raw_mode(mode))?;
    write_all(crate::sys::lend(&fd), data)
}

/// Writes all of `data`, retrying after signals and short writes.
pub fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) -> Result<(), Errno> {
    while !data.is_empty() {
        match rustix::io::write(fd, data) {
            Ok(0) => return Err(Errno::IO),
            Ok(n) => data = &data[n..],
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Symlinks followed while walking a path, as the kernel's limit.
const MAX_LINKS: usize = 40;

/// `readlink(path)`: where a symbolic link points, if that is UTF-8 (a
/// target that is not is `EINVAL`).
///
/// Through `readlinkat(AT_FDCWD, ...)`, the same call, into a `PATH_MAX`
/// buffer on the stack: the kernel never makes a link's target longer
/// than `PATH_MAX - 1` bytes, so one call reads it whole, without
/// rustix's loop that grows a `Vec` and makes a `CString` (issue 18,
/// bytes). A target that fills the buffer could have been cut:
/// `ENAMETOOLONG`.
pub fn readlink(path: &str) -> Result<String, Errno> {
    let mut buf = [MaybeUninit::<u8>::uninit(); PATH_MAX];
    let (target, _) =
        rustix::fs::readlinkat_raw(rustix::fs::CWD, CPath::default().c_str(path)?, &mut buf[..])?;
    if target.len() >= PATH_MAX {
        return Err(Errno::NAMETOOLONG);
    }
    let target = crate::utf8::str(target).ok_or(Errno::INVAL)?;
    Ok(String::from(target))
}

/// Walks `path` as the kernel resolves it and calls `visit` for every
/// entry it passes: `/` first, then each component — directories, the
/// symlinks on the way (then followed, a symlink at the end too), and the
/// file at the end — with the entry's path, its `lstat` (`None` for a
/// component that does not exist: the walk ends there) and the `lstat` of
/// the directory that holds it. Stops at the first error `visit` returns.
/// A relative path is walked from `/` through the working directory, so
/// that `..` means what it means to the kernel. Allocates: for
/// configuration time, not for a job's restart.
pub fn walk_path<E>(
    path: &str,
    mut visit: impl FnMut(&str, Option<&Stat>, &Stat) -> Result<(), E>,
    io: impl Fn(Errno) -> E,
) -> Result<(), E> {
    use rustix::fs::FileType;
    // Pushes `p`'s components in reverse order, with a loop: no
    // collect and extend machinery (issue 18, bytes).
    let components = |todo: &mut Vec<String>, mut p: &str| {
        loop {
            let (rest, c) = rsplit_at(p, b'/').unwrap_or(("", p));
            if !c.is_empty() {
                todo.push(c.to_string());
            }
            if rest.is_empty() {
                break;
            }
            p = rest;
        }
    };
    // What is left to walk, components in reverse order.
    let mut todo = Vec::new();
    components(&mut todo, path);
    // The first byte, not `starts_with` with a char pattern: these were
    // the last callers of core's (issue 18, bytes).
    if path.as_bytes().first() != Some(&b'/') {
        let cwd = rustix::process::getcwd(Vec::new()).map_err(&io)?;
        // Checked by the crate's UTF-8 check, not core's `CStr::to_str`
        // (issue 18, bytes).
        let cwd = crate::utf8::str(cwd.as_bytes()).ok_or_else(|| io(Errno::INVAL))?;
        components(&mut todo, cwd);
    }
    // The `lstat`s, each `Result` filled by the call where it stays:
    // `/`'s, the entry's, and the directory reached so far (`cur`; an
    // `Err` while that is `/`). Not slots of an array chosen at run
    // time: a call's `Result` reached those through a copy, at each of
    // three calls; one copy is left, of an entry that is a directory
    // (issue 18, bytes).
    let root = stat("/");
    let root = match &root {
        Ok(root) => root,
        Err(e) => return Err(io(*e)),
    };
    visit("/", Some(root), root)?;
    let mut cur = Err(Errno::NOENT);
    // The path of the directory reached so far; `..` goes back by
    // stat'ing the parent again.
    let mut done = String::from("/");
    let mut links = 0;
    while let Some(name) = todo.pop() {
        match name.as_bytes() {
            [b'.'] => continue,
            [b'.', b'.'] => {
                // `done` is absolute, and the parent of an absolute path
                // is its start: cut in place, not copied into a new
                // `String` (issue 18, bytes).
                let keep = parent(&done).len();
                done.truncate(keep);
                cur = stat(done.as_str());
                if let Err(e) = cur {
                    return Err(io(e));
                }
                continue;
            }
            _ => {}
        }
        // The entry's path: `done`, a `/` as [`join`] puts it (`done`
        // ends in `/` only when it is `/`: names have none) and the
        // name, added in place, not a new `String` each (issue 18,
        // bytes); cut back to the directory where the walk does not go
        // into the entry.
        let at = done.len();
        if at > 1 {
            done.push('/');
        }
        done.push_str(&name);
        let entry = lstat(done.as_str());
        let in_dir = match &cur {
            Ok(dir) => dir,
            Err(_) => root,
        };
        let meta = match &entry {
            Ok(meta) => meta,
            Err(Errno::NOENT) => return visit(&done, None, in_dir),
            Err(e) => return Err(io(*e)),
        };
        visit(&done, Some(meta), in_dir)?;
        match FileType::from_raw_mode(meta.st_mode) {
            FileType::Symlink => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(io(Errno::LOOP));
                }
                let target = readlink(&done).map_err(&io)?;
                done.truncate(at);
                if target.as_bytes().first() == Some(&b'/') {
                    // Back to `/`, the absolute path's first byte: cut
                    // in place, as at `..` (issue 18, bytes).
                    done.truncate(1);
                    cur = Err(Errno::NOENT);
                }
                components(&mut todo, &target);
            }
            _ if todo.is_empty() => return Ok(()),
            FileType::Directory => cur = entry,
            _ => return Err(io(Errno::NOTDIR)),
        }
    }
    Ok(())
}

/// The directory part of a path (`/etc` for `/etc/pmtr.conf`, `.` for a
/// bare name, `/` for `/x`), like `dirname`.
pub fn parent(path: &str) -> &str {
    let trimmed = trim_slashes(path);
    match rsplit_at(trimmed, b'/') {
        // `is_empty`, not a match on `""`: that called `[u8]`'s `eq`
        // (issue 18, bytes).
        Some((dir, _)) => {
            if dir.is_empty() {
                "/"
            } else {
                trim_slashes(dir)
            }
        }
        None if path.as_bytes().first() == Some(&b'/') => "/",
        None => ".",
    }
}

/// The last component of a path (`pmtr.conf` for `/etc/pmtr.conf`).
pub fn file_name(path: &str) -> &str {
    let trimmed = trim_slashes(path);
    rsplit_at(trimmed, b'/').map_or(trimmed, |(_, name)| name)
}

/// `path` without the slashes at its end.
///
/// Paths here are searched as bytes, not with `str`'s char patterns
/// (`rsplit`, `rfind`, `trim_end_matches`): one small loop each instead
/// of core's reverse char searcher (issue 18, bytes). A `/` or `@` byte
/// is never inside a multi-byte char, so the cuts are char boundaries.
pub fn trim_slashes(path: &str) -> &str {
    let end = path
        .as_bytes()
        .iter()
        .rposition(|&b| b != b'/')
        .map_or(0, |i| i + 1);
    path.get(..end).unwrap_or("")
}

/// `text` without the `byte`s (an ASCII byte) it starts with: like
/// `trim_start_matches` with a char, as bytes (core's char searcher is
/// code of its own; issue 18, bytes).
pub fn trim_leading(text: &str, byte: u8) -> &str {
    let start = text
        .as_bytes()
        .iter()
        .position(|&b| b != byte)
        .unwrap_or(text.len());
    text.get(start..).unwrap_or("")
}

/// `text` cut at its last `byte` (an ASCII byte), which goes: like
/// `rsplit_once` with a char, as bytes (see [`trim_slashes`]).
///
/// Inlined, over a search out of line that answers in registers: the
/// two `&str`s came back through memory, read back at each of the five
/// callers (issue 18, bytes).
#[inline(always)]
pub fn rsplit_at(text: &str, byte: u8) -> Option<(&str, &str)> {
    crate::cut_at(text, byte, true)
}

/// `dir/name`; just `name` if it is absolute.
pub fn join(dir: &str, name: &str) -> String {
    // The first byte, not `starts_with` with a char pattern, a call
    // (issue 18, bytes).
    if name.as_bytes().first() == Some(&b'/') || dir.is_empty() {
        return name.to_string();
    }
    let mut out = String::with_capacity(dir.len() + 1 + name.len());
    out.push_str(dir);
    // The last byte, not `ends_with` with a char pattern (issue 18).
    if dir.as_bytes().last() != Some(&b'/') {
        out.push('/');
    }
    out.push_str(name);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_becomes_the_same_c_string_up_to_path_max() {
        for len in [0, 1, 255, 256, 257, PATH_MAX - 1] {
            let path = "a/".repeat(len).chars().take(len).collect::<String>();
            let mut buf = CPath::default();
            let c = buf.c_str(&path).unwrap();
            assert_eq!(c.to_bytes(), path.as_bytes(), "length {len}");
        }
    }

    #[test]
    fn a_path_with_a_nul_inside_is_einval_as_in_rustix() {
        for path in [
            "a\0b",
            "\0",
            &("x".repeat(300) + "\0"),
            &("x".repeat(5000) + "\0"),
        ] {
            assert_eq!(CPath::default().c_str(path).err(), Some(Errno::INVAL));
            assert_eq!(
                rustix::fs::access(path, rustix::fs::Access::EXISTS),
                Err(Errno::INVAL)
            );
        }
    }

    #[test]
    fn a_path_over_path_max_is_enametoolong_as_from_the_kernel() {
        for len in [PATH_MAX, PATH_MAX + 1, 3 * PATH_MAX] {
            let path = "a/".repeat(len).chars().take(len).collect::<String>();
            assert_eq!(
                CPath::default().c_str(&path).err(),
                Some(Errno::NAMETOOLONG)
            );
            assert_eq!(
                rustix::fs::access(path.as_str(), rustix::fs::Access::EXISTS),
                Err(Errno::NAMETOOLONG),
                "length {len}"
            );
        }
    }

    #[test]
    fn calls_through_a_c_path_reach_the_file() {
        let dir = std::env::temp_dir().join(format!("pmtr-cpath-{}", std::process::id()));
        let dir = dir.to_str().unwrap().to_string();
        // A long path too: a deep tree of short names, over 256 bytes.
        let deep = format!("{dir}/{}", ["d"; 150].join("/"));
        assert!(deep.len() > 256);
        let mut at = dir.clone();
        mkdir(&at, 0o700).unwrap();
        for _ in 0..150 {
            at.push_str("/d");
            mkdir(&at, 0o700).unwrap();
        }
        for base in [&dir, &deep] {
            let file = format!("{base}/f");
            write_file(&file, b"x", 0o600).unwrap();
            chmod(&file, 0o640).unwrap();
            assert_eq!(stat(&file).unwrap().st_mode & 0o777, 0o640);
            rename(&file, &format!("{base}/g")).unwrap();
            assert_eq!(exists(&file), Err(Errno::NOENT));
            assert_eq!(read_file(&format!("{base}/g"), 10).unwrap(), b"x");
            unlink(&format!("{base}/g")).unwrap();
        }
        while at != dir {
            rmdir(&at).unwrap();
            at.truncate(at.len() - 2);
        }
        rmdir(&dir).unwrap();
    }

    #[test]
    fn parent_and_file_name_split_like_dirname_and_basename() {
        assert_eq!(parent("/etc/pmtr.conf"), "/etc");
        assert_eq!(parent("/pmtr.conf"), "/");
        assert_eq!(parent("pmtr.conf"), ".");
        assert_eq!(parent("a/b/"), "a");
        assert_eq!(parent("a//b"), "a");
        assert_eq!(file_name("/etc/pmtr.conf"), "pmtr.conf");
        assert_eq!(file_name("pmtr.conf"), "pmtr.conf");
        assert_eq!(file_name("/etc/"), "etc");
        assert_eq!(trim_slashes("/a//"), "/a");
        assert_eq!(
            rsplit_at("udp://h:1@eth0", b'@'),
            Some(("udp://h:1", "eth0"))
        );
        assert_eq!(rsplit_at("é:x", b':'), Some(("é", "x")));
        assert_eq!(rsplit_at("x", b':'), None);
    }

    #[test]
    fn byte_searches_cut_like_the_char_patterns() {
        // The char-pattern versions these replaced (issue 18, bytes).
        fn old_parent(path: &str) -> &str {
            let trimmed = path.trim_end_matches('/');
            match trimmed.rfind('/') {
                Some(0) => "/",
                Some(i) => trimmed[..i].trim_end_matches('/'),
                None if path.starts_with('/') => "/",
                None => ".",
            }
        }
        fn old_file_name(path: &str) -> &str {
            let trimmed = path.trim_end_matches('/');
            trimmed.rsplit('/').next().unwrap_or(trimmed)
        }
        for p in [
            "",
            "/",
            "//",
            "///",
            "x",
            "/x",
            "//x",
            "x/",
            "/a//",
            "a///b///",
            "a/é/",
            "é",
            "/é/ü//x",
            "a//b",
            "./a",
            "../..",
            "0",
            "000",
            "00a0",
        ] {
            assert_eq!(parent(p), old_parent(p), "{p:?}");
            assert_eq!(file_name(p), old_file_name(p), "{p:?}");
            assert_eq!(trim_slashes(p), p.trim_end_matches('/'), "{p:?}");
            assert_eq!(trim_leading(p, b'/'), p.trim_start_matches('/'), "{p:?}");
            assert_eq!(trim_leading(p, b'0'), p.trim_start_matches('0'), "{p:?}");
            assert_eq!(rsplit_at(p, b'/'), p.rsplit_once('/'), "{p:?}");
        }
    }

    #[test]
    fn join_keeps_absolute_names() {
        assert_eq!(join("/etc", "pmtr.conf"), "/etc/pmtr.conf");
        assert_eq!(join("/etc/", "pmtr.conf"), "/etc/pmtr.conf");
        assert_eq!(join("/etc", "/run/x"), "/run/x");
    }

    #[test]
    fn readlink_gives_the_target_relative_or_absolute() {
        let dir = std::env::temp_dir().join(format!("pmtr-readlink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let long = "x/".repeat(200) + "end";
        for target in ["/etc/pmtr.conf", "a", long.as_str()] {
            let link = dir.join("l");
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(target, &link).unwrap();
            let got = readlink(link.to_str().unwrap()).unwrap();
            assert_eq!(got, target);
        }
        assert_eq!(readlink(dir.to_str().unwrap()), Err(Errno::INVAL));
        // A target that is not UTF-8: EINVAL, as walk_path said of it.
        let link = dir.join("l");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(
            <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"\xff"),
            &link,
        )
        .unwrap();
        assert_eq!(readlink(link.to_str().unwrap()), Err(Errno::INVAL));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn read_file_reads_whole_files_and_refuses_big_ones() {
        let dir = std::env::temp_dir().join(format!("pmtr-os-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let path = path.to_str().unwrap();
        let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        write_file(path, &data, 0o600).unwrap();
        assert_eq!(read_file(path, 5000).unwrap(), data);
        assert_eq!(read_file(path, 4999), Err(Errno::FBIG));
        assert_eq!(read_file("/nonexistent/x", 10), Err(Errno::NOENT));
        // The same bytes hashed as read: content_hash of the whole file.
        let hash = |limit| {
            let fd = open(path, OFlags::RDONLY, Mode::empty()).unwrap();
            hash_fd(crate::sys::lend(&fd), limit)
        };
        assert_eq!(hash(5000), Ok(content_hash(&data)));
        assert_eq!(hash(4999), Err(Errno::FBIG));
        assert_eq!(hash(u64::MAX), Ok(content_hash(&data)));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `..` goes back to the directory above, which is stat'ed again and
    /// is the next entry's directory; `.` is skipped.
    #[test]
    fn walk_path_goes_back_up_at_dot_dot() {
        let base = std::env::temp_dir().join(format!("pmtr-walk-{}", std::process::id()));
        std::fs::create_dir_all(base.join("a/b")).unwrap();
        let real = std::fs::canonicalize(&base).unwrap();
        let real = real.to_str().unwrap();
        let ino = |p: &str| stat(p).unwrap().st_ino;
        let mut seen = Vec::new();
        let walked = walk_path(
            &format!("{real}/a/b/../../a/./b"),
            |path, entry, dir| {
                assert!(entry.is_some(), "{path}");
                seen.push((path.to_string(), dir.st_ino));
                Ok::<(), Errno>(())
            },
            |e| e,
        );
        assert_eq!(walked, Ok(()));
        let (a, b) = (format!("{real}/a"), format!("{real}/a/b"));
        let tail = [
            (a.clone(), ino(real)),
            (b.clone(), ino(&a)),
            (a.clone(), ino(real)),
            (b.clone(), ino(&a)),
        ];
        assert_eq!(seen[seen.len() - 4..], tail);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
