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

use std::ffi::{OsStr, OsString};
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::io::Errno;

/// Symlinks followed per path before giving up (a loop, or absurd nesting).
const MAX_LINKS: usize = 8;

pub struct Watcher {
    fd: OwnedFd,
    /// Current watch descriptors.
    wds: Vec<i32>,
    /// File names whose events matter.
    names: Vec<OsString>,
    buf: Vec<MaybeUninit<u8>>,
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
            buf: vec![MaybeUninit::uninit(); 8192],
        })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Watches what makes each of `paths` observable, replacing the
    /// previous set. Watching an inode twice returns its existing
    /// descriptor, so only watches no longer needed are removed (removal
    /// queues an IN_IGNORED event, which [`Watcher::drain`] skips).
    pub fn watch<'a>(&mut self, paths: impl IntoIterator<Item = &'a Path>) {
        let mut wds = Vec::new();
        let mut names = Vec::new();
        for path in paths {
            self.watch_path(path, 0, &mut wds, &mut names);
        }
        for &old in &self.wds {
            if !wds.contains(&old) {
                let _ = inotify::remove_watch(&self.fd, old);
            }
        }
        self.wds = wds;
        self.names = names;
    }

    fn add(&self, dir: &Path, name: &OsStr, wds: &mut Vec<i32>, names: &mut Vec<OsString>) {
        if let Ok(wd) = inotify::add_watch(&self.fd, dir, dir_flags())
            && !wds.contains(&wd)
        {
            wds.push(wd);
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_os_string());
        }
    }

    fn watch_path(&self, path: &Path, depth: usize, wds: &mut Vec<i32>, names: &mut Vec<OsString>) {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return;
        };
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if parent.is_dir() {
            self.add(parent, name, wds, names);
        } else {
            // Watch the nearest existing ancestor for the next component
            // to appear; its creation triggers a rescan and a new watch.
            let mut missing = parent;
            while let Some(up) = missing.parent() {
                if up.as_os_str().is_empty() || up.is_dir() {
                    let up = if up.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        up
                    };
                    if let Some(component) = missing.file_name() {
                        self.add(up, component, wds, names);
                    }
                    break;
                }
                missing = up;
            }
            return;
        }
        if depth >= MAX_LINKS {
            return;
        }
        // A directory on the way that is a symlink (Kubernetes' `..data`)
        // is swapped by renaming in its own parent.
        for ancestor in parent.ancestors() {
            let is_link = ancestor
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink());
            if let (true, Some(up), Some(component)) =
                (is_link, ancestor.parent(), ancestor.file_name())
            {
                self.add(up, component, wds, names);
                if let Ok(target) = std::fs::read_link(ancestor) {
                    let resolved = up
                        .join(target)
                        .join(path.strip_prefix(ancestor).unwrap_or(Path::new("")));
                    self.watch_path(&resolved, depth + 1, wds, names);
                }
            }
        }
        if let Ok(target) = std::fs::read_link(path) {
            let resolved: PathBuf = parent.join(target);
            self.watch_path(&resolved, depth + 1, wds, names);
        }
    }

    /// Reads every pending event; true if any of them may concern a
    /// watched path.
    pub fn drain(&mut self) -> bool {
        let mut relevant = false;
        let mut reader = inotify::Reader::new(&self.fd, &mut self.buf);
        loop {
            match reader.next() {
                Ok(event) => {
                    let flags = event.events();
                    if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                        relevant = true;
                    } else if flags.contains(ReadFlags::IGNORED) {
                        // Ours when we removed the watch; a watched
                        // directory that vanished means rewatching.
                        relevant |= self.wds.contains(&event.wd());
                    } else {
                        match event.file_name() {
                            Some(name) => {
                                let name = OsStr::from_bytes(name.to_bytes());
                                relevant |= self.names.iter().any(|n| n == name);
                            }
                            // DELETE_SELF / MOVE_SELF of a watched directory.
                            None => relevant = true,
                        }
                    }
                }
                Err(Errno::INTR) => continue,
                Err(_) => break,
            }
        }
        relevant
    }
}
