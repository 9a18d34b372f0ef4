//! Noticing that the configuration (or a `depends` file) was saved, by any
//! method (SPEC §6): written in place, renamed over (vim, `sed -i`),
//! deleted and recreated, or reached through a symlink that is swapped
//! (Kubernetes ConfigMap style), and a file whose directory does not exist
//! yet.
//!
//! Watching the file's inode misses renames and recreation, so pmtr
//! watches directories: the file's own directory, every directory a
//! symlink on the way leads through, and, for a directory that does not
//! exist yet, its nearest existing ancestor. An event matters when it names
//! one of the path components pmtr cares about; the loop then re-reads the
//! file and compares its content, so a spurious event costs one read.

use crate::prelude::*;
use core::mem::MaybeUninit;

use rustix::fd::OwnedFd;
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::fs::{AtFlags, FileType};
use rustix::io::Errno;

use crate::files;

/// Symlinks followed per path before giving up (a loop, or absurd nesting).
const MAX_LINKS: usize = 8;

pub struct Watcher {
    fd: OwnedFd,
    /// Current watch descriptors and the directories they watch.
    wds: Vec<(i32, String)>,
    /// File names whose events matter.
    names: Vec<String>,
    /// IN_MODIFY watches on the files themselves, and whether each is the
    /// configuration (else a `depends` file): a write under way.
    file_wds: Vec<(i32, bool)>,
    /// Written to since the last completed save (see [`Changes`]), as
    /// [`Changes::in_flux`]'s bits (by `file_wds`' flag); kept across
    /// drains, since the loop drains before pmtr reads.
    in_flux: u8,
    buf: Box<[MaybeUninit<u8>]>,
}

type Wds = Vec<(i32, String)>;

/// The watches a new set needs, gathered path by path
/// ([`Watcher::add_path`]) before [`Watcher::watch`] puts them in place.
#[derive(Default)]
pub struct WatchSet {
    /// As [`Watcher`]'s fields of the same names.
    wds: Wds,
    names: Vec<String>,
    file_wds: Vec<(i32, bool)>,
}

/// A regular file that was just created is still empty or being written:
/// its IN_CLOSE_WRITE follows, and reading it now could apply half a file
/// (an empty configuration would stop every job). A created directory or
/// symlink is complete at once.
fn created_regular_file(wds: &Wds, wd: i32, name: &str) -> bool {
    wds.iter().find(|(w, _)| *w == wd).is_some_and(|(_, dir)| {
        file_type(&files::join(dir, name), false) == Some(FileType::RegularFile)
    })
}

/// The type of what `path` names; `follow`: of what a symlink leads to.
fn file_type(path: &str, follow: bool) -> Option<FileType> {
    let flags = if follow {
        AtFlags::empty()
    } else {
        AtFlags::SYMLINK_NOFOLLOW
    };
    let meta = files::statat(path, flags).ok()?;
    Some(FileType::from_raw_mode(meta.st_mode))
}

/// Inlined: one test over `file_type` (issue 18, bytes).
#[inline(always)]
fn is_dir(path: &str) -> bool {
    file_type(path, true) == Some(FileType::Directory)
}

fn dir_flags() -> WatchFlags {
    WatchFlags::CLOSE_WRITE
        | WatchFlags::MOVED_TO
        | WatchFlags::MOVED_FROM
        | WatchFlags::CREATE
        | WatchFlags::DELETE
        | WatchFlags::ATTRIB
        | WatchFlags::DELETE_SELF
        | WatchFlags::MOVE_SELF
        | WatchFlags::ONLYDIR
}

impl Watcher {
    pub fn new() -> Result<Watcher, Errno> {
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
        Ok(Watcher {
            fd,
            wds: Vec::new(),
            names: Vec::new(),
            file_wds: Vec::new(),
            in_flux: 0,
            // Allocated, not filled: no loop over its bytes (issue 18).
            buf: Box::new_uninit_slice(8192),
        })
    }

    /// By reference: the loop adds it to epoll with the
    /// `(BorrowedFd, &OwnedFd)` instance every such call uses (issue 18).
    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Adds what makes `path` observable to `set`; `config`: it is the
    /// configuration (else a `depends` or env file). The caller then puts
    /// `set` in place with [`Watcher::watch`]: one call per path, not an
    /// iterator chain over every path list (issue 18, bytes).
    pub fn add_path(&self, set: &mut WatchSet, path: &str, config: bool) {
        self.watch_path(path, 0, &mut set.wds, &mut set.names);
        // Follows symlinks: the file the path leads to now.
        if let Ok(wd) = files::add_watch(crate::sys::lend(&self.fd), path, WatchFlags::MODIFY)
            && !set.file_wds.iter().any(|(w, _)| *w == wd)
        {
            set.file_wds.push((wd, config));
        }
    }

    /// Watches what `set` holds, replacing the previous set. Watching an
    /// inode twice returns its existing descriptor, so only watches no
    /// longer needed are removed (removal queues an IN_IGNORED event,
    /// which [`Watcher::drain`] skips).
    ///
    /// Returns whether a directory is watched now that was not before
    /// (one just created on the way to the file, a new symlink target):
    /// what happened in it before its watch existed sent no event, so the
    /// caller must look at the files once more.
    pub fn watch(&mut self, set: WatchSet) -> bool {
        let WatchSet {
            wds,
            names,
            file_wds,
        } = set;
        // An old watch (file, then directory) that neither new list
        // holds goes; one loop for both lists, counted over both, not a
        // chain of two mapped iterators (issue 18, bytes).
        let n = self.file_wds.len();
        for k in 0..n + self.wds.len() {
            let old = match k.checked_sub(n) {
                None => self.file_wds[k].0,
                Some(k) => self.wds[k].0,
            };
            if !file_wds.iter().any(|(wd, _)| *wd == old) && !wds.iter().any(|(wd, _)| *wd == old) {
                let _ = inotify::remove_watch(&self.fd, old);
            }
        }
        self.file_wds = file_wds;
        let added = wds
            .iter()
            .any(|(wd, _)| !self.wds.iter().any(|(old, _)| old == wd));
        self.wds = wds;
        self.names = names;
        added
    }

    fn add(&self, dir: &str, name: &str, wds: &mut Wds, names: &mut Vec<String>) {
        if let Ok(wd) = files::add_watch(crate::sys::lend(&self.fd), dir, dir_flags())
            && !wds.iter().any(|(w, _)| *w == wd)
        {
            wds.push((wd, dir.to_string()));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }

    fn watch_path(&self, path: &str, depth: usize, wds: &mut Wds, names: &mut Vec<String>) {
        let name = files::file_name(path);
        // "", "." or "..": at most two bytes, all dots; one loop, not a
        // comparison call per name (issue 18, bytes).
        if name.len() <= 2 && name.bytes().all(|b| b == b'.') {
            return;
        }
        let parent = files::parent(path);
        // The path's own directory watched for its name, or else the
        // nearest existing ancestor for the next component to appear (its
        // creation triggers a rescan and a new watch): one loop that
        // starts at the path, one call of `add` (issue 18, bytes). Not
        // the path's parent only when that is missing: then all is done.
        // (`parent` of a path with a name is never the path itself.)
        let mut missing = path;
        loop {
            let up = files::parent(missing);
            if up == missing {
                return;
            }
            if is_dir(up) {
                self.add(up, files::file_name(missing), wds, names);
                break;
            }
            missing = up;
        }
        // `missing` is `path` or, once the loop went up, a parent of it,
        // always shorter (`parent`'s `.` and `/` too: a path of one byte
        // that the loop went up from returned there): told apart by
        // length, no compare (issue 18, bytes).
        if missing.len() != path.len() {
            return;
        }
        if depth >= MAX_LINKS {
            return;
        }
        // A directory on the way that is a symlink (Kubernetes' `..data`)
        // is swapped by renaming in its own parent. The ancestors from the
        // parent up, then (`last`, past the root) the path itself, a link
        // resolved in its parent: one `readlink`, `join` and recursion for
        // both, in the order they had as two sequences (issue 18, bytes).
        let mut ancestor = parent;
        loop {
            let mut up = files::parent(ancestor);
            let mut link = ancestor;
            let last = up == ancestor;
            if last {
                (up, link) = (parent, path);
            } else if file_type(ancestor, false) == Some(FileType::Symlink) {
                self.add(up, files::file_name(ancestor), wds, names);
            } else {
                ancestor = up;
                continue;
            }
            // `readlink`'s `Result` as it is, no `Option` made of it by a
            // function of its own (issue 18, bytes).
            if let Ok(target) = files::readlink(link) {
                // Empty for the path itself.
                // `link` is `path` or one of its ancestors, a prefix of
                // it: cut by its length, no compare (issue 18, bytes).
                let rest = files::trim_leading(path.get(link.len()..).unwrap_or(""), b'/');
                // The rest appended in place, as `join` would (`rest`
                // starts with no `/`): no second String made and the
                // first dropped (issue 18, bytes).
                let mut resolved = files::join(up, &target);
                if !rest.is_empty() {
                    if matches!(resolved.as_bytes().last(), Some(&b) if b != b'/') {
                        resolved.push('/');
                    }
                    resolved.push_str(rest);
                }
                self.watch_path(&resolved, depth + 1, wds, names);
            }
            if last {
                break;
            }
            ancestor = up;
        }
    }

    /// Reads every pending event and sorts them.
    pub fn drain(&mut self) -> Changes {
        let mut changes = Changes::default();
        let mut in_flux = self.in_flux;
        // Written to since the last drain, even if the save completed
        // since: the caller read before this drain, maybe mid-write. As
        // `in_flux`, a bit by the flag of the file's watch: one `or`
        // each, no branch on the kind; bits, not two arrays of two
        // flags, which took four registers through the loop (issue 18,
        // bytes).
        let mut written = 0;
        let mut reader = inotify::Reader::new(&self.fd, &mut self.buf);
        loop {
            match reader.next() {
                Ok(event) => {
                    let flags = event.events();
                    let file = self.file_wds.iter().find(|(wd, _)| *wd == event.wd());
                    if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                        changes.settled = true;
                    } else if let (Some(&(_, is_config)), true) =
                        (file, flags.contains(ReadFlags::MODIFY))
                    {
                        // Changes::FILES or Changes::CONFIG, as the
                        // assertion below `Changes` pins them.
                        let bit = 1 + u8::from(is_config);
                        in_flux |= bit;
                        written |= bit;
                    } else if flags.contains(ReadFlags::IGNORED) {
                        // Ours when we removed the watch; a watched
                        // directory that vanished means rewatching.
                        changes.settled |= self.wds.iter().any(|(wd, _)| *wd == event.wd());
                    } else if file.is_none() {
                        match event.file_name() {
                            Some(name) => {
                                // Compared as bytes, the watched name
                                // then used as the text: no UTF-8 check
                                // of the event's (issue 18, bytes).
                                let name = name.to_bytes();
                                let watched = self.names.iter().find(|n| n.as_bytes() == name);
                                let settled = watched.is_some_and(|name| {
                                    !(flags == ReadFlags::CREATE
                                        && created_regular_file(&self.wds, event.wd(), name))
                                });
                                if settled {
                                    // A save completed; a write after it
                                    // sets these again.
                                    in_flux = 0;
                                }
                                changes.settled |= settled;
                            }
                            // DELETE_SELF / MOVE_SELF of a watched directory.
                            None => changes.settled = true,
                        }
                    }
                }
                Err(Errno::INTR) => continue,
                Err(_) => break,
            }
        }
        self.in_flux = in_flux;
        changes.in_flux = in_flux | written;
        changes
    }
}

/// What the pending inotify events say.
#[derive(Debug, Default, Clone, Copy)]
pub struct Changes {
    /// A save completed (close after write, rename, delete, create of a
    /// directory or symlink, chmod): read again.
    pub settled: bool,
    /// The configuration (bit [`Changes::CONFIG`]) was written to since
    /// the last drain, or is being written: what was read before this
    /// drain may be half a save. A save that completed since brings
    /// `settled`, so the caller reads again; else its IN_CLOSE_WRITE is
    /// still to come. Bit [`Changes::FILES`]: likewise for a `depends`
    /// or env file. Bits, as the watcher's own flags (issue 18, bytes).
    pub in_flux: u8,
}

impl Changes {
    /// [`Changes::in_flux`]'s bit for the `depends` and env files
    /// (`1 + u8::from(is_config)` of a file's watch).
    pub const FILES: u8 = 1;
    /// Its bit for the configuration.
    pub const CONFIG: u8 = 2;
}

// `Watcher::drain` makes a file's bit as `1 + u8::from(is_config)`.
const _: () = assert!(Changes::FILES == 1 && Changes::CONFIG == 2);

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A watcher on `file` (a `depends` file) in a directory of its own.
    fn watching(name: &str) -> (Watcher, String, String) {
        let dir = std::env::temp_dir().join(format!("pmtr-watch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("app.conf");
        std::fs::write(&file, "v1\n").unwrap();
        let (dir, file) = (
            dir.to_str().unwrap().to_string(),
            file.to_str().unwrap().to_string(),
        );
        let mut w = Watcher::new().unwrap();
        let mut set = WatchSet::default();
        w.add_path(&mut set, &file, false);
        w.watch(set);
        (w, dir, file)
    }

    #[test]
    fn a_save_completed_since_the_last_drain_still_makes_a_read_suspect() {
        // pmtr reads, then drains: if the whole save (truncate, write,
        // close) lands in between, the read may have seen the file empty
        // or half written even though the save is complete by the drain.
        let (mut w, dir, file) = watching("since");
        std::fs::write(&file, "v2\n").unwrap();
        let changes = w.drain();
        assert!(changes.settled, "the save completed: read again");
        assert!(
            changes.in_flux & Changes::FILES != 0,
            "but what was read before is suspect"
        );
        // Nothing since: a read now is of the finished file.
        let changes = w.drain();
        assert!(!changes.settled && changes.in_flux & Changes::FILES == 0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_write_under_way_stays_in_flux_until_its_close() {
        let (mut w, dir, file) = watching("open");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&file)
            .unwrap();
        f.write_all(b"v").unwrap();
        let changes = w.drain();
        assert!(changes.in_flux & Changes::FILES != 0 && !changes.settled);
        // No event since, but the file is still open for writing.
        assert!(w.drain().in_flux & Changes::FILES != 0);
        drop(f);
        let changes = w.drain();
        assert!(changes.settled && changes.in_flux & Changes::FILES == 0);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
