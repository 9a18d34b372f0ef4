//! Where configurations come from (SPEC §6): the file, watched for every
//! way it can be saved, read when a save settles, parsed, and handed to
//! the loop only when it parses and its content changed; and the jobs'
//! `depends` files, whose content changes restart their jobs (SPEC §4).
//!
//! A save is applied only once complete: a read that overlapped a write
//! is not trusted (its IN_CLOSE_WRITE brings pmtr back), and an empty file
//! is taken for the new content only after it has stayed empty for
//! [`EMPTY_SETTLE`] (an in-place save truncates first).

use crate::clock::Instant;
use crate::packed::{Arg, msg};
use crate::prelude::*;
use core::time::Duration;

use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

use super::watch::{Changes, WatchSet, Watcher};
use crate::config::{self, Config};

/// How soon a configuration file that exists but failed to read is read
/// again.
const REREAD_AFTER: Duration = Duration::from_secs(1);

/// How long a configuration (or `depends`) file that became empty must
/// stay empty before pmtr acts on it.
pub const EMPTY_SETTLE: Duration = Duration::from_millis(300);

/// A `depends` file larger than this counts as unreadable: the file is
/// read whole on every save, and one that another program keeps growing
/// (a log named by mistake) must not cost pmtr more each time.
pub const MAX_DEPENDS_BYTES: u64 = 1 << 20;
// The "over 1048576 bytes" of `depends_file_hash` says this number.
const _: () = assert!(MAX_DEPENDS_BYTES == 1_048_576);

/// What the content of a job's `depends` files was when last looked at.
struct Depends {
    job: u32,
    paths: Vec<String>,
    hash: u64,
    /// The hash of the last read, until the watcher says whether it
    /// counts (see [`ConfigSource::changed_files`]): a field, not a Vec of
    /// hashes made per check (issue 18, bytes).
    read: u64,
    /// When a file of it was first seen empty (see [`EMPTY_SETTLE`]).
    empty_since: Option<Instant>,
}

/// `repr(C)`: the fields that start as zero bits (false, None, 0) first
/// and together, so that `new` clears them in a few wide stores, not one
/// store per field between the others (issue 18, bytes).
#[repr(C)]
pub struct ConfigSource {
    /// A save completed while pmtr was reading: read again at once.
    pending: bool,
    /// A configuration has been applied since pmtr started.
    have_config: bool,
    /// Hash of the content last read, good or bad.
    hash: Option<u64>,
    /// Read again then: the file is there but could not be read (EMFILE,
    /// ENOMEM, EIO) and no inotify event will come for a save that
    /// already happened, or an empty file is settling.
    reread_at: Option<Instant>,
    /// When the file was first read empty while jobs run.
    empty_since: Option<Instant>,
    /// Reloads and failures, for the metrics.
    pub counts: super::metrics::Counts,
    path: String,
    last_error: Option<String>,
    /// The jobs' `depends` files, then their `env file`s (issue 15),
    /// watched alike: by `env` as an index, not a branch between two
    /// fields (issue 18, bytes).
    files: [Vec<Depends>; 2],
    watcher: Watcher,
}

/// [`ConfigSource`]'s `files` index of the `depends` files.
const DEPENDS: usize = 0;
/// Its index of the `env file`s: `usize::from(env)`.
const ENV_FILES: usize = 1;

impl ConfigSource {
    /// With its watcher made by the caller: no `Result` of a whole
    /// `ConfigSource` to move it through (issue 18, bytes).
    pub fn new(path: &str, watcher: Watcher) -> ConfigSource {
        ConfigSource {
            path: path.to_string(),
            watcher,
            pending: false,
            hash: None,
            last_error: None,
            have_config: false,
            reread_at: None,
            empty_since: None,
            files: [Vec::new(), Vec::new()],
            counts: Default::default(),
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Reads the pending inotify events; a completed save makes a read due.
    /// Only passes the call on: inlined (see `Supervisor::dispatch`).
    pub fn on_inotify(&mut self) {
        drain(&mut self.watcher, &mut self.pending);
    }

    /// When the file must be read next, if a read is due at all.
    pub fn deadline(&self, now: Instant) -> Option<Instant> {
        if self.pending {
            Some(now)
        } else {
            self.reread_at
        }
    }

    /// Whether a read is due now (and takes it: the caller reads).
    pub fn take_due(&mut self, now: Instant) -> bool {
        let due = self.pending || self.reread_at.is_some_and(|at| at <= now);
        if due {
            self.pending = false;
            self.reread_at = None;
        }
        due
    }

    /// Reads the file; returns the configuration to apply (`Ok`) when it
    /// parsed and its content changed (or always, when `force`d by SIGHUP
    /// or at startup). Errors are logged, and the running jobs go on: an
    /// `Err` is nothing to apply, its list (empty but for a parse's
    /// errors, already logged) only dropped. `parse_bytes`' own `Result`
    /// returned as it is, not its `Config` moved into an `Option` (issue
    /// 18, bytes). `jobs_active`: an empty file then settles before it
    /// counts.
    ///
    /// Out of line: inlined into `Supervisor::rescan`, the `Config` was
    /// built in one place and copied to another (72 bytes of armv7, 160
    /// of min x86_64).
    #[inline(never)]
    pub fn read(
        &mut self,
        force: bool,
        jobs_active: bool,
        now: Instant,
    ) -> Result<Config, Vec<config::Error>> {
        let read = config::read(&self.path);
        // A write that began before or during the read makes it suspect
        // (an in-place save truncates, then writes): its IN_CLOSE_WRITE
        // brings pmtr back for the finished file.
        let changes = drain(&mut self.watcher, &mut self.pending);
        if changes.in_flux & Changes::CONFIG != 0 {
            if force {
                // By `log_one`'s one call: no argument list built here
                // (issue 18, bytes).
                super::log_one(
                    &self.path,
                    line_at!(Info, "{} is being written; reading it once it is closed"),
                );
            }
            return Err(Vec::new());
        }
        let bytes = match read {
            Ok(bytes) => bytes,
            // By reference where it lies: bound by value, the error was
            // copied out of the `Result` first (issue 18, bytes).
            Err(ref e) => {
                self.read_failed(e, now);
                return Err(Vec::new());
            }
        };
        self.reread_at = None;
        self.last_error = None;
        // A save in place (open with O_TRUNC, then write) leaves the file
        // empty for a moment; a read then would stop every job. An empty
        // file is applied only once it has stayed empty for EMPTY_SETTLE;
        // the writer's close brings the real content before that.
        if bytes.is_empty() && jobs_active {
            let settled = *self.empty_since.get_or_insert(now) + EMPTY_SETTLE;
            if now < settled {
                self.reread_at = Some(settled);
                return Err(Vec::new());
            }
        } else {
            self.empty_since = None;
        }
        let hash = crate::files::content_hash(&bytes);
        if !force && self.hash == Some(hash) {
            return Err(Vec::new());
        }
        self.hash = Some(hash);
        super::log_one(&self.path, line_at!(Info, "rescanning configuration {}"));
        self.counts.reloads += 1;
        // Each arm hands its part back as it is: the whole `Result` kept
        // for a `match` by reference was built in this frame and copied
        // out at the return (issue 18, bytes: min x86_64 -24, this -35).
        match config::parse_bytes(&self.path, &bytes) {
            Ok(cfg) => {
                self.counts.last_good = Some(super::metrics::wall_now());
                log_each(crate::syslog::Severity::Warning, &cfg.warnings);
                self.have_config = true;
                Ok(cfg)
            }
            Err(errors) => {
                self.counts.failures += 1;
                log_each(crate::syslog::Severity::Err, &errors);
                let n = errors.len();
                let s = if n == 1 { "" } else { "s" };
                // One line, the whole text chosen and said by one call
                // (issue 18, bytes).
                let text = if self.have_config {
                    line_at!(
                        Err,
                        "{}: {} error{}; keeping the running configuration until the next good save"
                    )
                } else {
                    line_at!(Err, "{}: {} error{}; no job runs until the file is fixed")
                };
                crate::syslog::log_msg(text, &[Arg::new(&self.path), Arg::new(&n), Arg::new(&s)]);
                Err(errors)
            }
        }
    }

    /// `e` by reference: the caller's, not moved here first (issue 18,
    /// bytes).
    fn read_failed(&mut self, e: &config::Error, now: Instant) {
        let text = error_text(e);
        if self.last_error.as_deref() != Some(&text) {
            self.counts.reloads += 1;
            self.counts.failures += 1;
            // The whole line chosen, said by `log_one`'s one call
            // (issue 18, bytes).
            let line = if self.have_config {
                line_at!(Err, "{}; the running jobs go on as configured")
            } else {
                line_at!(Err, "{}; waiting for a valid configuration")
            };
            super::log_one(&text, line);
            self.last_error = Some(text);
        }
        // The next successful read must be applied.
        self.hash = None;
        // A regular file pmtr may read that still failed (out of
        // descriptors or memory, an I/O error) is read again in a second:
        // its save already happened, no event will follow.
        let transient = crate::files::file_size(&self.path)
            .is_some_and(|len| len <= config::MAX_FILE_BYTES)
            && config::check_trust(&self.path).is_ok();
        self.reread_at = transient.then(|| now + REREAD_AFTER);
    }

    /// Takes the `depends` files and `env file`s of the jobs now
    /// configured (a slice, not a generic iterator: issue 18, bytes); a job already tracked keeps the content
    /// last seen, so a change made while the configuration was reloading
    /// still counts. One pass for both lists (issue 18, bytes); out of
    /// line, as inlined into `Supervisor::rescan` it made min x86_64 112
    /// bytes larger.
    #[inline(never)]
    pub fn track(&mut self, jobs: &[super::jobs::Job]) {
        let mut old = core::mem::take(&mut self.files);
        for j in jobs {
            let (job, extra) = (j.id, j.spec.extra());
            if !extra.depends.is_empty() {
                track(
                    &mut self.files[DEPENDS],
                    &mut old[DEPENDS],
                    job,
                    &extra.depends,
                    &[],
                );
            }
            if !extra.env_files.is_empty() {
                let files = &extra.env_files;
                track(
                    &mut self.files[ENV_FILES],
                    &mut old[ENV_FILES],
                    job,
                    &[],
                    files,
                );
            }
        }
    }

    /// The jobs whose `depends` files, or (`env`) `env file`s, changed
    /// content since last looked at (by id). A changed `env file`'s job
    /// has it read again by the loop, and restarts if its environment
    /// changed. Saves settle as for the configuration.
    pub fn changed_files(&mut self, env: bool, now: Instant) -> Vec<u32> {
        let files = &mut self.files[usize::from(env)];
        for d in files.iter_mut() {
            d.read = files_hash(&d.paths, !env);
        }
        // As for the configuration: a write under way makes what was read
        // suspect (an empty file mid-save is no change to act on).
        let changes = drain(&mut self.watcher, &mut self.pending);
        if changes.in_flux & Changes::FILES != 0 {
            return Vec::new();
        }
        changed(files, now, &mut self.reread_at)
    }

    /// Watches the configuration and every tracked `depends` file. A
    /// directory created on the way to a file (`mkdir -p` then a write)
    /// may have had the file written before its watch was added: then the
    /// files are read once more, with the watch in place.
    pub fn rewatch(&mut self) {
        let mut set = WatchSet::default();
        self.watcher.add_path(&mut set, &self.path, true);
        // Both lists by a slice of the two, not a chain of their iterators
        // (issue 18, bytes).
        for list in &self.files {
            for d in list.iter() {
                for path in &d.paths {
                    self.watcher.add_path(&mut set, path, false);
                }
            }
        }
        if self.watcher.watch(set) {
            self.pending = true;
        }
    }

    /// Watches nothing more: pmtr is exiting. The kernel frees removed
    /// watches after an SRCU grace period (5 to 20 ms here), in a worker
    /// of its own; closing a descriptor that still has watches waits for
    /// that grace period in the close, which was most of pmtr's shutdown
    /// with 100 quick jobs. Removed now, they are freed while the jobs
    /// stop, and the close at exit has nothing left to wait for.
    pub fn unwatch(&mut self) {
        self.watcher.watch(WatchSet::default());
    }
}

/// Logs each of `errors` at `severity`: one format site for a read
/// configuration's warnings and its errors (issue 18, bytes).
fn log_each(severity: crate::syslog::Severity, errors: &[config::Error]) {
    for e in errors {
        // The error itself, not its reference: no `&Error` Display
        // forwarder (issue 18, bytes).
        crate::syslog::log(severity, format_args!("{}", *e));
    }
}

/// Reads the pending inotify events; a completed save makes a read due
/// (`pending`). One body for its three callers (issue 18, bytes).
#[inline(never)]
fn drain(watcher: &mut Watcher, pending: &mut bool) -> Changes {
    let changes = watcher.drain();
    *pending |= changes.settled;
    changes
}

/// Adds job `job`'s entry to `list`: the one in `old` (taken out of it)
/// if the job was tracked, else a new one of its paths, hashed now. One
/// body for `depends` (the paths in `depends`, warned about as
/// [`files_hash`] says) and `env file`s (in `env_files`); the paths are
/// copied only for a new entry, in plain loops (issue 18, bytes).
fn track(
    list: &mut Vec<Depends>,
    old: &mut Vec<Depends>,
    job: u32,
    depends: &[String],
    env_files: &[config::EnvFile],
) {
    let entry = match old.iter().position(|d| d.job == job) {
        Some(i) => old.swap_remove(i),
        None => {
            let mut paths = Vec::new();
            for p in depends {
                paths.push(p.clone());
            }
            for f in env_files {
                paths.push(f.path.clone());
            }
            let hash = files_hash(&paths, env_files.is_empty());
            Depends {
                job,
                hash,
                read: hash,
                paths,
                empty_since: None,
            }
        }
    };
    list.push(entry);
}

/// The jobs of `files` whose hash just read differs from the last seen; an
/// empty file counts only once it has stayed empty for [`EMPTY_SETTLE`]
/// (then `reread_at` brings pmtr back).
fn changed(files: &mut [Depends], now: Instant, reread_at: &mut Option<Instant>) -> Vec<u32> {
    let mut changed = Vec::new();
    for d in files {
        let hash = d.read;
        if hash == d.hash {
            d.empty_since = None;
            continue;
        }
        // Saved in place, a file is empty between its truncate and
        // its write: that is its new content only once it stays so.
        let empty = d
            .paths
            .iter()
            .any(|p| crate::files::file_size(p) == Some(0));
        if empty {
            let settled = *d.empty_since.get_or_insert(now) + EMPTY_SETTLE;
            if now < settled {
                super::job::earliest(reread_at, Some(settled));
                continue;
            }
        }
        d.empty_since = None;
        d.hash = hash;
        changed.push(d.job);
    }
    changed
}

/// Hash of `depends` files' contents. A missing file hashes as missing, so
/// its appearance counts as a change; a file pmtr must not or cannot read
/// (not a regular file, over [`MAX_DEPENDS_BYTES`], not trusted) hashes as
/// such, with a warning when `warn` (not for env files, whose errors the
/// loop says when it reads them, never their content).
fn files_hash(paths: &[String], warn: bool) -> u64 {
    let mut h: u64 = 0;
    for p in paths {
        h = h.rotate_left(5) ^ depends_file_hash(p, warn);
    }
    h
}

/// The content hash of one `depends` file (with its low bit set), read
/// the way nothing a job's user controls can hang or bloat pmtr (SPEC
/// §10): opened non-blocking (a FIFO in its place cannot hang the open),
/// a regular file only (not a FIFO, not /dev/zero), at most
/// [`MAX_DEPENDS_BYTES`], trusted as the configuration is — checked on
/// every read, not only at load — and hashed as it streams through a
/// fixed buffer. 0: the file is not there; 2: pmtr must not or cannot
/// read it, said here when `warn` (no String made for the reason: issue
/// 18, bytes).
fn depends_file_hash(path: &str, warn: bool) -> u64 {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    // What is wrong as one message value, said by one call: the trust
    // check's error, a fixed reason, or a failed call and its errno
    // (issue 18, bytes).
    let (untrusted, failed, args, why);
    let text = 'said: {
        let (what, e) = 'failed: {
            let fd = match crate::files::open(path, flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT | Errno::NOTDIR) => return 0,
                Err(e) => break 'failed ("can't open", e),
            };
            let meta = match crate::files::fstat(rustix::fd::AsFd::as_fd(&fd)) {
                Ok(meta) => meta,
                Err(e) => break 'failed ("fstat", e),
            };
            if FileType::from_raw_mode(meta.st_mode) != FileType::RegularFile {
                break 'said Arg::new(&"not a regular file");
            }
            if let Err(e) = config::trust::check_opened(path, &meta) {
                untrusted = e;
                break 'said Arg::new(&untrusted);
            }
            match crate::files::hash_fd(rustix::fd::AsFd::as_fd(&fd), MAX_DEPENDS_BYTES) {
                Ok(hash) => return hash | 1,
                // MAX_DEPENDS_BYTES, as text written out: no `format!`.
                Err(Errno::FBIG) => break 'said Arg::new(&"over 1048576 bytes"),
                Err(e) => break 'failed ("can't read", e),
            }
        };
        // `WHAT: <strerror>`, as `fill!` makes it, its values in locals
        // that outlive this block.
        failed = (what, crate::sys::strerror(e));
        crate::packed::check_marks!("{}: {}", failed.0, failed.1);
        args = [Arg::new(&failed.0), Arg::new(&failed.1)];
        why = crate::packed::Filled {
            msg: msg!(0, "{}: {}"),
            args: &args,
        };
        Arg::new(&why)
    };
    if warn {
        // `warn!` made by hand, its value already an `Arg`.
        crate::packed::check_marks!("depends file {}: {}; treating it as unreadable", path, text);
        crate::syslog::log_msg(
            line_at!(Warning, "depends file {}: {}; treating it as unreadable"),
            &[Arg::new(&path), text],
        );
    }
    2
}

/// `e`'s text: one format of a configuration error for the three places
/// that keep one (issue 18, bytes).
#[inline(never)]
pub(super) fn error_text(e: &config::Error) -> String {
    crate::packed::text(format_args!("{}", *e))
}

/// `parts` and `e`'s text: one function, not one `format!` per call
/// (issue 18, bytes); also the notify socket's and directory's errors.
pub(super) fn failed(parts: &[&str], e: Errno) -> String {
    let mut why = String::new();
    for part in parts {
        why.push_str(part);
    }
    why.push_str(crate::sys::strerror(e).text(&mut crate::packed::room()));
    why
}
