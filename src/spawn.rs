//! Starting a job (SPEC §3).
//!
//! Everything the child needs — argv, envp, paths, ids, limits — is built
//! into a [`Launch`] when the configuration is loaded, so a restart
//! allocates nothing. After `fork` the child makes only async-signal-safe
//! calls (raw syscalls through rustix and libc); if a step fails it writes
//! the step and errno into a record in the memory it shares with pmtr, and
//! exits 127. pmtr resumes only once the child has exec'd or exited, and
//! reads the record at once: no epoll round and no second wakeup. Only
//! where clone degrades to a plain fork (qemu-user) is the record not
//! shared; there the child also writes to a close-on-exec pipe, which the
//! event loop reads when it becomes readable (EOF means exec succeeded), so
//! starting 1000 jobs never blocks. The first start tells which case holds.

#![allow(unsafe_code)]

use crate::prelude::*;
use alloc::ffi::CString;
use alloc::rc::Rc;
use core::cell::Cell;
use core::ffi::{CStr, c_char};
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Pid, Resource as RlimitResource, Rlimit};
use rustix::thread::CpuSet;

use crate::config::{JobSpec, Output, ReadyHow, Resource};
use crate::sys;
use crate::users::{Ids, Users};

/// What the child does with one of stdin/stdout/stderr.
#[derive(Debug)]
enum Stream {
    Null,
    /// A file the child opens; boxed, as most jobs' streams are not
    /// files and a Launch lives as long as its job (issue 18).
    File(Box<FileStream>),
    /// A pipe to pmtr, which logs each line (`out syslog`).
    Syslog,
    /// A pipe the caller of [`spawn`] passes: a logger's, kept across runs
    /// (`out FILE max …`), or a logger's own input. `true`: the logger
    /// runs with the job's rights, because its user could redirect the
    /// log file or a rotated one (see [`Launch::logger_ids`]).
    Pipe(bool),
    /// Left as pmtr has it (a logger's stderr, for its fallback lines).
    Inherit,
}

/// A file a job's stream goes to or comes from.
#[derive(Debug)]
struct FileStream {
    path: CString,
    /// With the job's credentials, after it has taken them, because the
    /// job's user could redirect the path (see [`redirectable`]); else
    /// with pmtr's, before.
    as_job: bool,
}

/// Everything needed to start one job, built at load time.
pub struct Launch {
    /// Run pmtr's own binary (a logger), through [`SELF_EXE`], not
    /// `argv[0]`.
    exec_self: bool,
    /// `argv[0]` is the path to run.
    argv: CStrings,
    /// Shared by every job that adds no `env` line: a copy of pmtr's
    /// environment per job would be most of a job's memory.
    env: Rc<Env>,
    /// `dir`; `None` is `/`.
    dir: Option<CString>,
    stdin: Stream,
    stdout: Stream,
    stderr: Stream,
    /// `nice`, `cpu`, `ulimit`, `umask`: boxed, as most jobs set none and
    /// each Launch lives as long as its job (issue 18).
    limits: Option<Box<Limits>>,
    /// `user`, `group`, `groups`: boxed for the same reason. The child
    /// gives `groups` to the kernel as they are (see `child_main`): a
    /// second list of them as rustix's `Gid`s was a copy per job, and
    /// code to make and drop it (issue 18).
    creds: Option<Box<Ids>>,
    /// `ready fd N`: the write end of a pipe to pmtr is put at N (issue 16).
    ready_fd: Option<i32>,
    /// stderr goes to stdout's pipe (a `ready when` or `check` command,
    /// whose last line of either is what pmtr shows).
    merged: bool,
}

/// What a job changes of its process beyond its ids, when it sets any of
/// these options.
#[derive(Default)]
struct Limits {
    nice: Option<i32>,
    /// `cpu`: the CPUs of the machine it may run on (never empty).
    cpus: Option<CpuSet>,
    /// `ulimit`s as the kernel takes them, made at load.
    rlimits: Vec<(RlimitResource, Rlimit)>,
    /// `umask` (issue 15); `None` keeps pmtr's.
    umask: Option<Mode>,
}

/// Why a job cannot be prepared: it stays down, the reason is logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrepareError {
    User(crate::users::LookupError),
    /// A NUL byte in a line of the environment (HOME, USER or LOGNAME
    /// from /etc/passwd: no word of the configuration has one, see
    /// [`config_word`]).
    EnvNul,
}

impl fmt::Display for PrepareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrepareError::User(e) => e.fmt(f),
            // Its one text, no argument to format (issue 18, bytes).
            PrepareError::EnvNul => f.write_str("env contains a NUL byte"),
        }
    }
}

/// `text`, a word of the configuration, as a C string. Through
/// [`CStrings::push`], which the argument lists use: not `CString::new`'s
/// search and copy of its own (issue 18, bytes). No error: see
/// [`config_word`].
fn cstring(text: &str) -> CString {
    let mut bytes = Vec::new();
    if !config_word(CStrings::push(&mut bytes, text.as_bytes())) {
        bytes.push(0);
    }
    // SAFETY: `push` added the one NUL, at the end; or, had it refused a
    // NUL inside, `bytes` is that one NUL alone.
    unsafe { CString::from_vec_with_nul_unchecked(bytes) }
}

/// `pushed`, as [`CStrings::push`] said it for a word of the
/// configuration (`cmd`, `dir`, a stream's path, a probe's command, a
/// logger's arguments): always true, as the configuration's lexer
/// refuses control characters, NUL among them (`config::lex`), so no
/// launch fails for one and there is no error to make (issue 18, bytes:
/// the failed launch's drops and messages leave).
fn config_word(pushed: bool) -> bool {
    debug_assert!(pushed, "a NUL byte in a word of the configuration");
    pushed
}

/// NUL-terminated strings in one block, and the NULL-terminated array
/// of pointers into it that `execve` takes as argv or envp: two
/// allocations however many strings. (A `CString` each cost every job an
/// allocation per argument, and an environment of its own one per
/// variable: issue 18.)
pub struct CStrings {
    bytes: Box<[u8]>,
    ptrs: Box<[*const c_char]>,
}

impl CStrings {
    /// The strings of `words`; `None` if one contains a NUL byte. For the
    /// tests: pmtr itself builds its blocks with `push` and `point` in
    /// loops of their own (issue 18, bytes).
    #[cfg(test)]
    fn new<'a>(words: impl Iterator<Item = &'a [u8]>) -> Option<CStrings> {
        let mut bytes = Vec::new();
        for word in words {
            if !CStrings::push(&mut bytes, word) {
                return None;
            }
        }
        Some(CStrings::point(bytes))
    }

    /// Appends `word` and its NUL; false if it contains a NUL itself.
    #[inline(never)]
    fn push(bytes: &mut Vec<u8>, word: &[u8]) -> bool {
        if crate::has_byte(word, 0) {
            return false;
        }
        bytes.extend_from_slice(word);
        bytes.push(0);
        true
    }

    /// The block of NUL-terminated strings, with its pointer array.
    #[inline(never)]
    fn point(bytes: Vec<u8>) -> CStrings {
        let bytes = bytes.into_boxed_slice();
        let mut ptrs = Vec::new();
        // A string starts at the first byte and after each NUL but the
        // last, which ends the block. One pass, no count first and no
        // split iterator (issue 18, bytes).
        let mut starts = true;
        for (i, &b) in bytes.iter().enumerate() {
            if starts {
                ptrs.push(bytes.as_ptr().wrapping_add(i).cast::<c_char>());
            }
            starts = b == 0;
        }
        ptrs.push(core::ptr::null());
        // The pointers stay valid: moving the box does not move its bytes.
        let ptrs = ptrs.into_boxed_slice();
        CStrings { bytes, ptrs }
    }

    /// The strings of the configuration's `words` (no error: see
    /// [`config_word`]). One loop for the three kinds of word list
    /// (`cmd`, a probe's, a logger's), not one each, and told the kind by
    /// an enum, not a `dyn Iterator` (issue 18, bytes: no vtable and
    /// `next` per kind).
    fn from_text(words: Words<'_>) -> CStrings {
        let mut bytes = Vec::new();
        let mut i = 0;
        loop {
            let word = match words {
                Words::Boxed(w) => w.get(i).map(|w| &**w),
                Words::Owned(w) => w.get(i).map(String::as_str),
                Words::Borrowed(w) => w.get(i).copied(),
            };
            let Some(word) = word else {
                return CStrings::point(bytes);
            };
            config_word(CStrings::push(&mut bytes, word.as_bytes()));
            i += 1;
        }
    }

    /// Each string, without its NUL.
    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let body = self.bytes.split_last().map_or(&[][..], |(_, body)| body);
        body.split(|&b| b == 0).take(self.ptrs.len() - 1)
    }

    /// The first string (`argv[0]`, the path to run).
    #[cfg(test)]
    fn first(&self) -> Option<&CStr> {
        CStr::from_bytes_until_nul(&self.bytes).ok()
    }
}

/// A word list [`CStrings::from_text`] makes strings of: a job's `cmd`,
/// a probe's command, a logger's arguments.
#[derive(Clone, Copy)]
enum Words<'a> {
    Boxed(&'a [Box<str>]),
    Owned(&'a [String]),
    Borrowed(&'a [&'a str]),
}

impl Launch {
    /// Builds the launch data for `spec`. `environ` is pmtr's own
    /// environment; the lines of its `env file`s (`env_files`) override
    /// variables of the same name, and its `env` lines override both; an
    /// environment already in `envs` is shared, not copied. `cpu` numbers
    /// the machine does not have are ignored.
    pub fn prepare(
        spec: &JobSpec,
        users: &Users,
        environ: &Rc<Env>,
        env_files: &[String],
        envs: &mut Envs,
    ) -> Result<Launch, PrepareError> {
        let argv = CStrings::from_text(Words::Boxed(&spec.cmd));
        // Boxed where it stays (issue 18, bytes).
        let mut ids = None;
        users
            .ids(
                spec.user.as_deref(),
                spec.extra().group.as_deref(),
                &spec.extra().groups,
                &mut ids,
            )
            .map_err(PrepareError::User)?;
        let env = job_env(spec, environ, env_files, ids.as_deref(), Some(envs))
            .ok_or(PrepareError::EnvNul)?;
        let dir = spec.dir.as_deref().unwrap_or("/");
        let other_user = ids
            .as_deref()
            .filter(|ids| ids.uid != rustix::process::geteuid().as_raw());
        let file = |path: &str| -> Stream {
            let as_job =
                other_user.is_some_and(|ids| redirectable(&crate::files::join(dir, path), ids));
            Stream::File(Box::new(FileStream {
                path: cstring(path),
                as_job,
            }))
        };
        let stream = |out: &Output| -> Stream {
            match out {
                Output::Null => Stream::Null,
                Output::File(f) => file(f),
                Output::Syslog => Stream::Syslog,
                // FILE.1 is created anew at each rotation: a directory the
                // user may write makes it the user's even when sticky.
                Output::Log(log) => Stream::Pipe(other_user.is_some_and(|ids| {
                    // ".1" added to the one string, not moved into a new
                    // one: one drop (issue 18, bytes).
                    let mut path = crate::files::join(dir, &log.path);
                    redirectable(&path, ids) || {
                        path.push_str(".1");
                        redirectable(&path, ids)
                    }
                })),
            }
        };
        let extra = spec.extra();
        // Made in its box, only for a job that sets one of these: the CPU
        // set (128 bytes) read into its place there, not built on the
        // stack and copied into an `Option`, a `Limits` and the box
        // (issue 18, bytes).
        let limits = if extra.nice.is_some()
            || extra.cpu.is_some()
            || !extra.ulimits.is_empty()
            || extra.umask.is_some()
        {
            let mut limits = Box::new(Limits {
                nice: extra.nice,
                cpus: None,
                rlimits: Vec::new(),
                umask: extra.umask.map(Mode::from_raw_mode),
            });
            // A plain loop, not a `map` and `collect` of their own (issue
            // 18, bytes).
            for u in &extra.ulimits {
                let limit = Rlimit {
                    current: u.value,
                    maximum: u.value,
                };
                limits.rlimits.push((rlimit_resource(u.resource), limit));
            }
            if let Some(list) = &extra.cpu
                && let Ok(online) = rustix::thread::sched_getaffinity(None)
            {
                // The CPUs online that are not listed are taken out of
                // the set of those online, in its place: one set, not a
                // second one zeroed and filled (issue 18, bytes).
                let set = limits.cpus.insert(online);
                // Noted as they are kept: no count of the set's bits
                // after (issue 18, bytes).
                let mut any = false;
                for cpu in 0..CpuSet::MAX_CPU {
                    if set.is_set(cpu) {
                        if list.contains(&(cpu as u32)) {
                            any = true;
                        } else {
                            set.unset(cpu);
                        }
                    }
                }
                // Every listed CPU beyond the machine's: nothing to pin to.
                // (When `cpu` is all the job sets, its box is then empty:
                // the child changes nothing for it, as for no box.)
                if !any {
                    limits.cpus = None;
                }
            }
            Some(limits)
        } else {
            None
        };
        Ok(Launch {
            exec_self: false,
            argv,
            env,
            dir: spec.dir.as_deref().map(cstring),
            stdin: match &extra.input {
                Some(path) => file(path),
                None => Stream::Null,
            },
            stdout: stream(&spec.out),
            stderr: stream(&spec.err),
            limits,
            creds: ids,
            // `ready fd N`: a pipe to pmtr at N. Set here, not by a copy
            // of the whole launch made after (issue 18, bytes).
            ready_fd: match spec.readiness.as_deref().and_then(|r| r.how.as_ref()) {
                Some(ReadyHow::Fd(n)) => Some(*n as i32),
                _ => None,
            },
            merged: false,
        })
    }

    /// The ids the logger of the job's stdout (or `stderr`) runs with: the
    /// job's when its user could redirect the log (SPEC §10, the rule of
    /// [`redirectable`]), else none: pmtr's own, root's.
    /// Only the ids and groups: a logger, like a probe, needs no name or
    /// home (issue 18: one copy for both, not a whole `Ids` clone).
    pub fn logger_ids(&self, stderr: bool) -> Option<Box<Ids>> {
        let stream = if stderr { &self.stderr } else { &self.stdout };
        if matches!(stream, Stream::Pipe(true)) {
            self.child_creds()
        } else {
            None
        }
    }

    /// The credentials a child of this job's takes: its ids and groups.
    fn child_creds(&self) -> Option<Box<Ids>> {
        self.creds.as_ref().map(|c| {
            Box::new(Ids {
                uid: c.uid,
                gid: c.gid,
                groups: c.groups.clone(),
                name: String::new(),
                home: String::new(),
            })
        })
    }

    /// The launch of a logger: pmtr's own binary with `args` (`argv[0]`
    /// first), reading its stdin (the pipe passed to [`spawn`]), stderr
    /// left as pmtr's, run with `ids` (see [`Launch::logger_ids`]).
    /// It cannot fail (its arguments are words of the configuration, see
    /// [`config_word`]): its error type has no value, so its callers'
    /// error arms are known never to run and leave the binary (issue 18,
    /// bytes).
    pub fn logger(
        args: &[&str],
        ids: Option<Box<Ids>>,
        env: &Rc<Env>,
    ) -> Result<Launch, core::convert::Infallible> {
        Ok(Launch {
            exec_self: true,
            argv: CStrings::from_text(Words::Borrowed(args)),
            env: Rc::clone(env),
            dir: None,
            stdin: Stream::Pipe(false),
            stdout: Stream::Null,
            stderr: Stream::Inherit,
            limits: None,
            creds: ids,
            ready_fd: None,
            merged: false,
        })
    }

    /// Gives the job the environment its `env file`s now make (issue
    /// 15); returns whether that changed it. (It cannot fail: the lines
    /// have no NUL bytes, the configuration's and env files' parsers see
    /// to that.)
    pub fn replace_env(&mut self, spec: &JobSpec, environ: &Rc<Env>, env_files: &[String]) -> bool {
        let Some(env) = job_env(spec, environ, env_files, self.ids(), None) else {
            return false;
        };
        let changed = env.bytes != self.env.bytes;
        self.env = env;
        changed
    }

    // Issue 16.

    /// This job's `ready when` or `check` command `cmd`: as the job's
    /// user, in its dir, with its environment; stdin from /dev/null,
    /// stdout and stderr into one pipe to pmtr; no nice, cpu or ulimit.
    pub fn probe(&self, cmd: &[String]) -> Launch {
        Launch {
            exec_self: false,
            argv: CStrings::from_text(Words::Owned(cmd)),
            env: Rc::clone(&self.env),
            // Copied from its bytes by `From<&CStr>`, not by a clone of
            // the box inlined here (issue 18, bytes).
            dir: self.dir.as_deref().map(CString::from),
            stdin: Stream::Null,
            stdout: Stream::Syslog,
            stderr: Stream::Syslog,
            limits: self.limits.as_ref().and_then(|l| l.umask).map(|umask| {
                Box::new(Limits {
                    umask: Some(umask),
                    ..Limits::default()
                })
            }),
            // The child takes only the ids and groups.
            creds: self.child_creds(),
            ready_fd: None,
            merged: true,
        }
    }

    /// The uid and gid the job runs as, when a `user` is set.
    pub fn owner(&self) -> Option<(u32, u32)> {
        self.ids().map(|i| (i.uid, i.gid))
    }

    fn ids(&self) -> Option<&Ids> {
        self.creds.as_deref()
    }

    /// Its stdin, stdout and stderr, in the order of [`STDIO`].
    fn stdio(&self) -> [&Stream; 3] {
        [&self.stdin, &self.stdout, &self.stderr]
    }

    pub fn wants_stdout_pipe(&self) -> bool {
        matches!(self.stdout, Stream::Syslog)
    }

    pub fn wants_stderr_pipe(&self) -> bool {
        matches!(self.stderr, Stream::Syslog)
    }
}

/// An `O_PATH` descriptor of pmtr's own binary, opened at startup: loggers
/// are pmtr in another mode, and run the very file this pmtr was started
/// from even after an upgrade replaced it, or with /proc unmounted since.
/// -1 until [`open_self_exe`].
static SELF_EXE: core::sync::atomic::AtomicI32 = core::sync::atomic::AtomicI32::new(-1);

/// Finds pmtr's binary: `/proc/self/exe`, or without /proc (early boot, a
/// busybox image), `argv[0]` as given or looked up in `PATH`.
pub fn open_self_exe() -> Result<(), Errno> {
    let open = |p: &str| crate::files::open(p, OFlags::PATH | OFlags::CLOEXEC, Mode::empty());
    let argv0 = crate::rt::start::argv0().unwrap_or("pmtr");
    let fd = open("/proc/self/exe").or_else(|e| {
        if crate::has_byte(argv0.as_bytes(), b'/') {
            return open(argv0);
        }
        let path = crate::rt::start::var("PATH").unwrap_or("/usr/bin:/bin");
        crate::Split::new(path, b':')
            .find_map(|dir| open(&crate::files::join(dir, argv0)).ok())
            .ok_or(e)
    })?;
    SELF_EXE.store(rustix::fd::IntoRawFd::into_raw_fd(fd), Ordering::Relaxed);
    Ok(())
}

/// Whether the job's user could make `path` lead somewhere else: it can
/// change an entry the path passes through (symlinks followed) — one in a
/// directory it may write, unless that directory is sticky (`/tmp`) and
/// the entry exists and is not the user's — so it could put a symlink, a
/// FIFO or another file in the path's place. Then pmtr must open the path
/// with the job's rights, not root's (SPEC §10). A path only root can
/// change — `out /var/log/app.log` for `user app` — is opened by pmtr, on
/// the operator's behalf. Anything the walk cannot tell counts as
/// redirectable.
fn redirectable(path: &str, ids: &Ids) -> bool {
    const STICKY: u32 = 0o1000;
    let mut changeable = false;
    let walked = crate::config::trust::walk(path, &mut |_, entry, dir| {
        let writable = ids.may_write(dir.st_uid, dir.st_gid, dir.st_mode);
        let protected = dir.st_mode & STICKY != 0
            && dir.st_uid != ids.uid
            && entry.is_some_and(|e| e.st_uid != ids.uid);
        changeable |= writable && !protected;
        Ok(())
    });
    changeable || walked.is_err()
}

/// pmtr's environment; for a job that runs as another `user`, that
/// user's HOME, USER and LOGNAME from its passwd entry, as `su -` and
/// every supervisor give them; then the lines of the job's env files;
/// then its `env` lines: a later line replaces a variable of the same
/// name. (Two `env` lines of one name both reach the job, as they always
/// did.) `None`: a line has a NUL byte ([`PrepareError::EnvNul`], its one
/// error: an `Option` returns in a register, a `Result` with a
/// `PrepareError` through memory; issue 18, bytes).
fn job_env(
    spec: &JobSpec,
    environ: &Rc<Env>,
    env_files: &[String],
    ids: Option<&Ids>,
    // `None`: not shared (a reload's new environment; no `Envs` made
    // and dropped for it: issue 18, bytes).
    envs: Option<&mut Envs>,
) -> Option<Rc<Env>> {
    let mut lines: Vec<String> = Vec::new();
    if let (Some(ids), Some(_)) = (ids, &spec.user) {
        // The keys a constant list, the value picked by place: no list
        // of pairs built on the stack (issue 18, bytes).
        for (i, &key) in ["HOME=", "USER=", "LOGNAME="].iter().enumerate() {
            let mut line = String::from(key);
            line.push_str(if i == 0 { &ids.home } else { &ids.name });
            lines.push(line);
        }
    }
    // The count of lines that give way, tested here for none at all
    // too (issue 18, bytes).
    let base = lines.len() + env_files.len();
    if base == 0 && spec.env.is_empty() {
        return Some(Rc::clone(environ));
    }
    // Pushed one by one: `extend_from_slice` for `String`s was code only
    // this function used (issue 18, bytes). The env files' lines, then
    // the `env` lines, by one loop over both lists: one clone and push,
    // not one per list (issue 18, bytes).
    for list in [env_files, &spec.env[..]] {
        for line in list {
            lines.push(line.clone());
        }
    }
    // Boxed once, here, for both ways (issue 18, bytes).
    let env = Rc::new(environ.with(&lines, base)?);
    Some(match envs {
        Some(envs) => envs.share(env),
        None => env,
    })
}

/// The name of a `NAME=VALUE` line (all of it without a `=`): one
/// function for `job_env` and `Env::with` (issue 18, bytes).
fn name(kv: &[u8]) -> &[u8] {
    // By position, not the general `split` iterator (issue 18, bytes).
    let end = kv.iter().position(|&b| b == b'=').unwrap_or(kv.len());
    kv.get(..end).unwrap_or(kv)
}

/// Whether one of `lines` sets the variable named `key`: one loop for
/// both of `Env::with`'s tests (issue 18, bytes).
#[inline(never)]
fn sets(lines: &[String], key: &[u8]) -> bool {
    lines.iter().any(|l| name(l.as_bytes()) == key)
}

/// The environments made for the jobs of one configuration read: a job
/// whose environment is byte for byte one of these shares it, so the
/// jobs of one `user` (their HOME, USER and LOGNAME added to pmtr's
/// environment) keep one copy of it, not one each (issue 18).
#[derive(Default)]
pub struct Envs(Vec<Rc<Env>>);

impl Envs {
    /// The one of these that is `env` byte for byte, or `env`, kept.
    fn share(&mut self, env: Rc<Env>) -> Rc<Env> {
        if let Some(same) = self.0.iter().find(|e| e.bytes == env.bytes) {
            return Rc::clone(same);
        }
        self.0.push(Rc::clone(&env));
        env
    }
}

/// The kernel's resource for a `ulimit`'s: read from a table in the
/// order of the configuration's [`Resource`] (its discriminant), not a
/// `match`, which LLVM made a chain of fifteen compares (issue 18,
/// bytes).
fn rlimit_resource(r: Resource) -> RlimitResource {
    const KERNEL: [RlimitResource; 15] = [
        RlimitResource::Core,
        RlimitResource::Data,
        RlimitResource::Nice,
        RlimitResource::Fsize,
        RlimitResource::Sigpending,
        RlimitResource::Memlock,
        RlimitResource::Rss,
        RlimitResource::Nofile,
        RlimitResource::Msgqueue,
        RlimitResource::Rtprio,
        RlimitResource::Stack,
        RlimitResource::Cpu,
        RlimitResource::Nproc,
        RlimitResource::As,
        RlimitResource::Locks,
    ];
    // The table's order is the enum's, checked (each variant's place).
    const _: () = {
        let all = Resource::ALL;
        let mut i = 0;
        while i < all.len() {
            assert!(all[i] as usize == i);
            i += 1;
        }
    };
    KERNEL[r as usize]
}

/// The step of child setup that failed, sent back with the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Step {
    Chdir = 1,
    Stdin,
    Stdout,
    Stderr,
    Nice,
    Affinity,
    Rlimit,
    Groups,
    Gid,
    Uid,
    Exec,
}

impl Step {
    fn from_u8(b: u8) -> Option<Step> {
        use Step::*;
        // A match, not a search of an array of the steps (bytes).
        Some(match b {
            1 => Chdir,
            2 => Stdin,
            3 => Stdout,
            4 => Stderr,
            5 => Nice,
            6 => Affinity,
            7 => Rlimit,
            8 => Groups,
            9 => Gid,
            10 => Uid,
            11 => Exec,
            _ => return None,
        })
    }
}

/// A failed child setup, as read back from the exec pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartError {
    pub step: Step,
    pub errno: Errno,
    /// [`DETAIL_WRONG_TYPE`], [`DETAIL_AS_JOB`].
    pub detail: u8,
}

/// The file opened for a stream was not a regular file or a character
/// device (a FIFO, a socket, a directory): refused.
pub const DETAIL_WRONG_TYPE: u8 = 1;
/// The stream's file was opened with the job's rights.
pub const DETAIL_AS_JOB: u8 = 2;

impl StartError {
    /// `can't exec /bin/nodee: No such file or directory`, naming the
    /// object of the failed step.
    pub fn describe<'a>(&'a self, spec: &'a JobSpec) -> impl crate::packed::Show + 'a {
        struct D<'a>(&'a StartError, &'a JobSpec);
        impl crate::packed::Show for D<'_> {}
        impl fmt::Display for D<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let (e, spec) = (self.0, self.1);
                // What failed and on what: one `write!` for every
                // step, not one per step (issue 18, bytes).
                // A stream that is not a file of the job's is /dev/null,
                // or a pipe (which only a dup could fail for: no name).
                fn file(o: &Output) -> &str {
                    match o {
                        Output::File(p) => p,
                        Output::Null => "/dev/null",
                        _ => "",
                    }
                }
                // `nice`'s number written by `itoa`, so that every step
                // is the one `write!` below (issue 18, bytes); a negative
                // one takes the list's last place, "set nice -".
                let digits;
                let mut place = e.step as usize - 1;
                let object = match e.step {
                    Step::Stdin => spec.extra().input.as_deref().unwrap_or("/dev/null"),
                    Step::Stdout => file(&spec.out),
                    Step::Stderr => file(&spec.err),
                    Step::Chdir => spec.dir.as_deref().unwrap_or("/"),
                    Step::Nice => {
                        let nice = spec.extra().nice.unwrap_or(0);
                        if nice < 0 {
                            place = 11;
                        }
                        digits = crate::logger::itoa(u64::from(nice.unsigned_abs()));
                        &digits
                    }
                    Step::Exec => spec.cmd.first().map_or("", |a| a),
                    Step::Affinity | Step::Rlimit | Step::Groups | Step::Gid | Step::Uid => "",
                };
                // What failed from one list, by the step's place in it
                // (issue 18, bytes).
                // Packed, and unpacked to the step's word (issue 18,
                // bytes).
                const STEPS: &str = "change directory to \0open input \0open output \0\
                     open error output \0set nice \0set cpu affinity\0set ulimit\0\
                     set supplementary groups\0set group id\0set user id\0exec \0\
                     set nice -\0";
                const PACKED: crate::packed::Packed = crate::packed::packed!(STEPS);
                // Not zeroed first (issue 18, bytes).
                let mut buf = crate::packed::room::<{ STEPS.len() }>();
                let what = PACKED.word(&mut buf, place);
                // One packed text picked, with or without why root could
                // not have opened it either, and written with its values
                // by one call (issue 18, bytes); the errno's text by
                // strerror's own Display.
                use crate::packed::{Arg, Filled, msg};
                let errno;
                let reason = if e.detail & DETAIL_WRONG_TYPE != 0 {
                    Arg::new(&"not a regular file or a character device")
                } else {
                    errno = sys::strerror(e.errno);
                    Arg::new(&errno)
                };
                let user = spec.user.as_deref().unwrap_or("?");
                let msg = if matches!(e.step, Step::Stdin | Step::Stdout | Step::Stderr)
                    && e.detail & DETAIL_AS_JOB != 0
                {
                    msg!(
                        0,
                        "can't {}{}: {} (opened with the rights of user {}, who can write a directory on its path)"
                    )
                } else {
                    msg!(0, "can't {}{}: {}")
                };
                Filled {
                    msg,
                    args: &[Arg::new(&what), Arg::new(&object), reason, Arg::new(&user)],
                }
                .fmt(f)
            }
        }
        D(self, spec)
    }
}

/// A started child: its pid, the read end of its exec-status pipe, and the
/// read ends of its output pipes when output goes to syslog.
pub struct Started {
    pub pid: Pid,
    /// Whether the child's exec went through.
    pub exec: Exec,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// The read end of the `ready fd` pipe, non-blocking.
    pub ready: Option<OwnedFd>,
}

impl Started {
    /// Its pid, exec status and stdout pipe, for a launch whose stderr
    /// goes where its stdout does and that has no ready fd (a probe's
    /// `Launch::probe`, a helper's `Launch::logger`): spawn made no pipe
    /// for either, so their two `None`s are left, not dropped (no close
    /// code for them; issue 18, bytes).
    #[inline]
    pub fn merged(self) -> (Pid, Exec, Option<OwnedFd>) {
        let Started {
            pid,
            exec,
            stdout,
            stderr,
            ready,
        } = self;
        debug_assert!(stderr.is_none() && ready.is_none());
        core::mem::forget((stderr, ready));
        (pid, exec, stdout)
    }
}

/// Why [`spawn`] could not start a child: the call that failed and its
/// errno. Both are passing conditions (EMFILE, EAGAIN), so the loop
/// retries, but the message must name the real call: "fork failed" for a
/// full descriptor table sends an operator after the process limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnError {
    /// `pipe2` for the exec-status pipe or an `out syslog` pipe.
    Pipe(Errno),
    /// `clone(CLONE_VM|CLONE_VFORK)`: a vfork, reported as "fork failed",
    /// the words operators search for (EAGAIN: the process limit).
    Fork(Errno),
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Pipe(e) => crate::write_failed(f, &["can't create a pipe"], *e),
            SpawnError::Fork(e) => crate::write_failed(f, &["fork failed"], *e),
        }
    }
}

impl crate::packed::Show for SpawnError {}

/// Forks and starts `launch`. Returns once the child has exec'd or failed;
/// only where clone degrades to a plain fork may that be unknown yet, and
/// the exec-status pipe then says (see [`Exec::Unknown`]).
/// `given` are the pipes for its [`Stream::Pipe`] streams, by fd number.
pub fn spawn(
    launch: &Launch,
    parent: Pid,
    given: [Option<BorrowedFd<'_>>; 3],
) -> Result<Started, SpawnError> {
    use rustix::pipe::{PipeFlags, pipe_with};
    // The exec-status pipe, then stdout's, stderr's, and the `ready fd`
    // pipe (the job writes a newline when it is ready; pmtr's end never
    // blocks). Until a child's record has shown that clone shares pmtr's
    // memory, the child reports through the exec-status pipe too (its
    // 8 bytes never fill it, so its write end may block). After that the
    // record is enough: no pipe (an inode and two files) to make and
    // free at each restart.
    let wanted = [
        !CLONE_SHARES_MEMORY.load(Ordering::Relaxed),
        launch.wants_stdout_pipe(),
        launch.wants_stderr_pipe() && !launch.merged,
        launch.ready_fd.is_some(),
    ];
    let mut pipes: [Option<(OwnedFd, OwnedFd)>; 4] = [None, None, None, None];
    // Made in one loop, their failures an `Errno` turned into the
    // `SpawnError` at one place: one way out, not one per pipe or call
    // with its own drops (issue 18, bytes).
    let made = (|| -> Result<(), Errno> {
        for (pipe, &wanted) in pipes.iter_mut().zip(&wanted) {
            if wanted {
                // O_NONBLOCK belongs to the open file description, so
                // pipe2's flag would make the job's stdout non-blocking
                // too: a job writing faster than pmtr logs would get
                // EAGAIN and lose its output (seq stopped at 64 KiB).
                // Only pmtr's read end is non-blocking; the job waits.
                let (r, w) = pipe_with(PipeFlags::CLOEXEC)?;
                rustix::fs::fcntl_setfl(crate::sys::lend(&r), OFlags::NONBLOCK)?;
                // Into a slot that is still empty (each is visited
                // once): no drop call for the `None` it held (issue 18,
                // bytes).
                crate::fill(pipe, Some((r, w)));
            }
        }
        // The child puts the ready pipe at its fd N just before exec: the
        // status pipe must not be there, or an exec failure would be
        // reported into the job's ready pipe.
        if let (Some(n), Some((_, w))) = (launch.ready_fd, &mut pipes[0])
            && rustix::fd::AsRawFd::as_raw_fd(w) == n
        {
            *w = rustix::io::fcntl_dupfd_cloexec(&*w, n + 1)?;
        }
        Ok(())
    })();
    made.map_err(SpawnError::Pipe)?;
    let [status_pipe, out_pipe, err_pipe, ready_pipe] = &pipes;
    let mut child = ChildArgs {
        launch,
        parent,
        status: status_pipe.as_ref().map(|(_, w)| crate::sys::lend(w)),
        record: Cell::new([0; 8]),
        pipes: [
            given[0],
            out_pipe
                .as_ref()
                .map(|(_, w)| crate::sys::lend(w))
                .or(given[1]),
            match (err_pipe, out_pipe) {
                (Some((_, w)), _) => Some(crate::sys::lend(w)),
                (None, Some((_, w))) if launch.merged => Some(crate::sys::lend(w)),
                _ => given[2],
            },
        ],
        ready_pipe: ready_pipe.as_ref().map(|(_, w)| crate::sys::lend(w)),
    };
    // SAFETY: pmtr is single-threaded; `child_entry` runs only
    // `child_main`, which makes async-signal-safe calls, writes nothing
    // pmtr reads but `child.record`, and ends in execve or _exit; `child`
    // outlives the call.
    let pid = unsafe { sys::spawn_shared(child_entry, (&raw mut child).cast()) }
        .map_err(SpawnError::Fork)?;
    // pmtr waited (CLONE_VFORK) until the child exec'd or exited, so the
    // record the child keeps in pmtr's memory says at once which. Not the
    // pipe: the kernel wakes pmtr as soon as exec has replaced the child's
    // memory, before it closes the close-on-exec descriptors, so a read
    // then often finds the pipe still open (EAGAIN) and the answer would
    // cost an epoll round and a second wakeup while the new job wants the
    // CPU. Only where clone degrades to a plain fork (qemu-user) does the
    // record stay empty; then the pipe says, now or once watched.
    let known = shared_result(child.record.get());
    // pmtr keeps the read ends; the write ends are the child's now,
    // closed by one loop, not by a copy of the close for each pipe
    // (issue 18, bytes), and before the exec-status pipe is read, for
    // its EOF.
    let mut reads: [Option<OwnedFd>; 4] = [None, None, None, None];
    for (read, pipe) in reads.iter_mut().zip(pipes.iter_mut()) {
        // Into a slot that is still empty, as each pipe was: no drop
        // call (issue 18, bytes).
        crate::fill(read, pipe.take().map(|(r, _)| r));
    }
    // Every pipe was taken: nothing left to drop.
    core::mem::forget(pipes);
    let [status_r, stdout, stderr, ready] = reads;
    // What the record or the pipe says, turned into an `Exec` at one
    // place, not in each arm (issue 18, bytes).
    let result = match (known, &status_r) {
        (Some(result), _) => {
            CLONE_SHARES_MEMORY.store(true, Ordering::Relaxed);
            result
        }
        (None, Some(pipe)) => read_start_result(pipe),
        // No pipe only once the record was seen to be shared, and clone
        // does not change how it works: not reached.
        (None, None) => StartResult::Running,
    };
    let exec = match (result, status_r) {
        (StartResult::Failed(e), _) => Exec::Failed(e),
        // Only the pipe says `Pending` (the record never does).
        (StartResult::Pending, Some(pipe)) => {
            // The child makes itself a group leader too, but pmtr may
            // signal the group before a forked child has run that far:
            // both sides call setpgid, as shells do.
            let _ = rustix::process::setpgid(Some(pid), Some(pid));
            Exec::Unknown(pipe)
        }
        _ => Exec::Running,
    };
    Ok(Started {
        pid,
        exec,
        stdout,
        stderr,
        ready,
    })
}

/// What `child_entry` needs, passed through clone's argument pointer.
struct ChildArgs<'a> {
    launch: &'a Launch,
    parent: Pid,
    /// The exec-status pipe's write end, while one is made.
    status: Option<BorrowedFd<'a>>,
    /// The child's report, in pmtr's memory when clone shares it: see
    /// [`Report`].
    record: Cell<[u8; 8]>,
    /// What stdin, stdout and stderr get when they are pipes.
    pipes: [Option<BorrowedFd<'a>>; 3],
    ready_pipe: Option<BorrowedFd<'a>>,
}

/// The child's entry point from `sys::spawn_shared`.
extern "C" fn child_entry(arg: *mut core::ffi::c_void) -> core::ffi::c_int {
    #[allow(unsafe_code)]
    // SAFETY: `arg` is the `ChildArgs` that `spawn` passed, alive until the
    // child has exec'd or exited (pmtr waits for that).
    let a = unsafe { &*arg.cast::<ChildArgs<'_>>() };
    let report = Report {
        pipe: a.status,
        record: &a.record,
    };
    // Seen by pmtr only if clone shared its memory: it then trusts the
    // record, and the pipe is not needed.
    report.record.set(RECORD_SHARED);
    child_main(a.launch, a.parent, report, a.pipes, a.ready_pipe)
}

/// Where the child reports a failed step, as 8 bytes: the step, a detail,
/// [`RECORD_SHARED`]'s mark, 1 for a failure, the errno. Both to the
/// exec-status pipe and into `record`, which is pmtr's own memory when
/// clone shares it (CLONE_VM) and the child's copy after a plain fork.
#[derive(Clone, Copy)]
struct Report<'a> {
    pipe: Option<BorrowedFd<'a>>,
    record: &'a Cell<[u8; 8]>,
}

/// Set once a child's record was seen in pmtr's memory: clone shares it
/// here (a real kernel, not qemu-user), and [`spawn`] makes no more
/// exec-status pipes. pmtr is single-threaded; the atomic is only a
/// static's way to change.
static CLONE_SHARES_MEMORY: AtomicBool = AtomicBool::new(false);

/// What the child writes into its record first: "this memory is shared".
const RECORD_SHARED: [u8; 8] = [0, 0, 1, 0, 0, 0, 0, 0];

/// What the child's record says once clone has returned: `None` if the
/// child never wrote it (a plain fork: ask the pipe), else whether the
/// child exec'd or failed.
fn shared_result(record: [u8; 8]) -> Option<StartResult> {
    match record {
        [_, _, 0, ..] => None,
        [_, _, _, 1, ..] => Some(record_result(record)),
        _ => Some(StartResult::Running),
    }
}

/// A failure record as the child writes it.
fn record_result(buf: [u8; 8]) -> StartResult {
    let errno = Errno::from_raw_os_error(i32::from_ne_bytes([buf[4], buf[5], buf[6], buf[7]]));
    match Step::from_u8(buf[0]) {
        Some(step) => StartResult::Failed(StartError {
            step,
            errno,
            detail: buf[1],
        }),
        None => StartResult::Running,
    }
}

/// Whether a child's exec went through, as [`spawn`] knows it on return.
pub enum Exec {
    /// The child runs its program.
    Running,
    /// The child reported a failed step and exits 127.
    Failed(StartError),
    /// Not known yet (the child still runs, as after a plain fork): the
    /// exec-status pipe says, once readable.
    Unknown(OwnedFd),
}

impl Exec {
    /// What is known now; [`StartResult::Pending`] while unknown.
    pub fn result(&self) -> StartResult {
        match self {
            Exec::Running => StartResult::Running,
            Exec::Failed(e) => StartResult::Failed(*e),
            Exec::Unknown(pipe) => read_start_result(pipe),
        }
    }
}

/// What the exec-status pipe says, once readable.
pub enum StartResult {
    /// EOF: the pipe closed on exec, the job is running its program.
    Running,
    /// The child reported a failed step and exits 127.
    Failed(StartError),
    /// Nothing to read yet.
    Pending,
}

pub fn read_start_result(pipe: &OwnedFd) -> StartResult {
    let mut buf = [0u8; 8];
    match rustix::io::read(crate::sys::lend(pipe), &mut buf) {
        Ok(0) => StartResult::Running,
        Ok(8) => record_result(buf),
        Ok(_) => StartResult::Running,
        Err(Errno::AGAIN) | Err(Errno::INTR) => StartResult::Pending,
        Err(_) => StartResult::Running,
    }
}

/// Reports `step` failing with `errno` to the parent and exits 127, as a
/// shell does for a command it cannot run. Inlined: it only passes the
/// call on (issue 18, bytes).
#[inline(always)]
fn fail(status: Report<'_>, step: Step, errno: Errno) -> ! {
    fail_with(status, step, errno, 0)
}

fn fail_with(status: Report<'_>, step: Step, errno: Errno, detail: u8) -> ! {
    let code = errno.raw_os_error().to_ne_bytes();
    let record = [step as u8, detail, 1, 1, code[0], code[1], code[2], code[3]];
    status.record.set(record);
    if let Some(pipe) = status.pipe {
        let _ = rustix::io::write(pipe, &record);
    }
    sys::exit_now(127)
}

/// Opens `path` for stream `target` (0, 1 or 2) in a way nothing at the
/// path can make wait, while pmtr waits for this child (SPEC §10):
/// non-blocking (a FIFO without a writer or reader, a serial line without
/// carrier), without becoming the controlling terminal; then checks what
/// was opened — a regular file or a character device, or, opened with
/// pmtr's rights on a path only root controls, a FIFO the operator put
/// there — and clears O_NONBLOCK, which the job expects off.
fn open_onto(
    path: &CStr,
    flags: OFlags,
    target: i32,
    as_job: bool,
    status: Report<'_>,
    step: Step,
) {
    use rustix::fs::FileType;
    let detail = if as_job { DETAIL_AS_JOB } else { 0 };
    let flags = flags | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
    // Every failure reported by one call at the end (issue 18, bytes).
    // The descriptor is held without a drop on the way there, as before
    // when each failure exited at once: the exit closes it.
    let (e, detail) = 'failed: {
        let fd = match rustix::fs::open(path, flags, Mode::from_raw_mode(0o644)) {
            Ok(fd) => core::mem::ManuallyDrop::new(fd),
            Err(e) => break 'failed (e, detail),
        };
        let kind = match crate::files::fstat(crate::sys::lend(&fd)) {
            Ok(meta) => FileType::from_raw_mode(meta.st_mode),
            Err(e) => break 'failed (e, detail),
        };
        let allowed = match kind {
            FileType::RegularFile | FileType::CharacterDevice => true,
            FileType::Fifo => !as_job,
            _ => false,
        };
        if !allowed {
            break 'failed (Errno::INVAL, detail | DETAIL_WRONG_TYPE);
        }
        // The flags it was opened with, but O_NONBLOCK: F_SETFL changes
        // only the status flags among them (here O_APPEND, if given) and
        // ignores the access mode and creation flags, so no F_GETFL first
        // (issue 18, bytes; one system call less).
        if let Err(e) = rustix::fs::fcntl_setfl(crate::sys::lend(&fd), flags - OFlags::NONBLOCK) {
            break 'failed (e, detail);
        }
        dup_onto(crate::sys::lend(&fd), target, status, step);
        drop(core::mem::ManuallyDrop::into_inner(fd));
        return;
    };
    fail_with(status, step, e, detail)
}

/// Opens the streams whose files are opened with the rights the child
/// has now: pmtr's (`as_job` false) before it takes the job's, the job's
/// (`as_job` true) after.
fn open_streams(launch: &Launch, as_job: bool, status: Report<'_>) {
    for (stream, &(target, step)) in launch.stdio().iter().zip(&STDIO) {
        if let Stream::File(file) = stream
            && file.as_job == as_job
        {
            let flags = match target {
                0 => OFlags::RDONLY,
                _ => OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE,
            };
            open_onto(&file.path, flags, target, as_job, status, step);
        }
    }
}

/// Stdin, stdout and stderr (see [`Launch::stdio`]): the descriptor each
/// goes to, and the step that fails if it cannot. Walked by reference
/// beside the streams: arrays of tuples walked by value were code of
/// their own, one for each loop (issue 18, bytes).
const STDIO: [(i32, Step); 3] = [(0, Step::Stdin), (1, Step::Stdout), (2, Step::Stderr)];

fn dup_onto(fd: BorrowedFd<'_>, target: i32, status: Report<'_>, step: Step) {
    if let Err(e) = sys::dup_onto(fd, target) {
        fail(status, step, e);
    }
}

/// The child between fork and exec. Only async-signal-safe calls: no
/// allocation, no locks, no logging.
fn child_main(
    launch: &Launch,
    parent: Pid,
    status: Report<'_>,
    pipes: [Option<BorrowedFd<'_>>; 3],
    ready_pipe: Option<BorrowedFd<'_>>,
) -> ! {
    // Own process group, so stopping the job reaches a shell script's
    // children too (SPEC §3, guide tip 2).
    let _ = rustix::process::setpgid(None, None);
    sys::reset_signal_dispositions();
    let _ = sys::set_signal_mask(&sys::SigSet::empty());
    // Before `out`/`err` are created: they get the job's umask too.
    let limits = launch.limits.as_deref();
    if let Some(mask) = limits.and_then(|l| l.umask) {
        rustix::process::umask(mask);
    }

    if let Err(e) = rustix::process::chdir(launch.dir.as_deref().unwrap_or(c"/")) {
        fail(status, Step::Chdir, e);
    }
    // Relative `in`/`out`/`err` paths resolve against `dir`, now the cwd.
    // /dev/null, opened once for every stream that gets it: a character
    // device only root controls, so no checks (a restart is one open,
    // not three opens with their checks).
    let mut null: Option<OwnedFd> = None;
    let stdio = launch.stdio();
    for ((stream, &pipe), &(target, step)) in stdio.iter().zip(&pipes).zip(&STDIO) {
        match (*stream, pipe) {
            (Stream::Syslog | Stream::Pipe(_), Some(p)) => dup_onto(p, target, status, step),
            (Stream::File(_) | Stream::Inherit, _) => {}
            _ => {
                if null.is_none() {
                    let flags = OFlags::RDWR | OFlags::CLOEXEC | OFlags::NOCTTY;
                    match rustix::fs::open(c"/dev/null", flags, Mode::empty()) {
                        Ok(fd) => null = Some(fd),
                        Err(e) => fail(status, step, e),
                    }
                }
                if let Some(fd) = &null {
                    dup_onto(crate::sys::lend(fd), target, status, step);
                }
            }
        }
    }
    drop(null);
    open_streams(launch, false, status);
    if let Some(nice) = limits.and_then(|l| l.nice)
        && let Err(e) = rustix::process::setpriority_process(None, nice)
    {
        fail(status, Step::Nice, e);
    }
    if let Some(cpus) = limits.and_then(|l| l.cpus.as_ref())
        && let Err(e) = rustix::thread::sched_setaffinity(None, cpus)
    {
        fail(status, Step::Affinity, e);
    }
    // The descriptor limit pmtr was given, not the one it raised for
    // itself (see [`raise_fd_limit`]); a job's own `ulimit -n` follows.
    let soft = JOB_NOFILE_SOFT.load(Ordering::Relaxed);
    if soft != NOT_RAISED {
        let hard = JOB_NOFILE_HARD.load(Ordering::Relaxed);
        // Both finite: `raise_fd_limit` stores them only then, each as
        // it read it (a `usize` widens back to the same `u64`).
        let (soft, hard) = (soft as u64, hard as u64);
        let _ = rustix::process::setrlimit(
            RlimitResource::Nofile,
            Rlimit {
                current: Some(soft),
                maximum: Some(hard),
            },
        );
    }
    for (resource, limit) in limits.map_or(&[][..], |l| &l.rlimits) {
        if let Err(e) = rustix::process::setrlimit(*resource, *limit) {
            fail(status, Step::Rlimit, e);
        }
    }
    // Groups, then gid, then uid: once the uid is dropped the others can no
    // longer be changed. These rustix calls are per-thread; in the forked
    // child the one thread is the whole process.
    if let Some(ids) = launch.creds.as_deref() {
        // SAFETY: rustix's `Gid` is `#[repr(transparent)]` over the
        // kernel's `gid_t`, a u32: a slice of u32 is a slice of `Gid`s.
        let gids = unsafe {
            core::slice::from_raw_parts(
                ids.groups.as_ptr().cast::<rustix::process::Gid>(),
                ids.groups.len(),
            )
        };
        if let Err(e) = rustix::thread::set_thread_groups(gids) {
            fail(status, Step::Groups, e);
        }
        if let Err(e) = rustix::thread::set_thread_res_gid(
            rustix::process::Gid::from_raw(ids.gid),
            rustix::process::Gid::from_raw(ids.gid),
            rustix::process::Gid::from_raw(ids.gid),
        ) {
            fail(status, Step::Gid, e);
        }
        let uid = rustix::process::Uid::from_raw(ids.uid);
        if let Err(e) = rustix::thread::set_thread_res_uid(uid, uid, uid) {
            fail(status, Step::Uid, e);
        }
    }
    // What the job's user could redirect, opened with its rights only.
    open_streams(launch, true, status);
    // A job must not outlive a pmtr killed with SIGKILL: a restarted pmtr
    // would otherwise run a second copy. Set after the uid change, which
    // clears it; then close the race with a parent that already died.
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM));
    if rustix::process::getppid() != Some(parent) {
        sys::exit_now(127);
    }
    // Only fds 0–2 reach the job; the status pipe closes on exec.
    sys::cloexec_from_3();
    // ...and `ready fd N`, put there after, so it stays open (dup2 gives
    // a descriptor without close-on-exec).
    if let (Some(w), Some(n)) = (ready_pipe, launch.ready_fd) {
        let result = if rustix::fd::AsRawFd::as_raw_fd(&w) == n {
            rustix::io::fcntl_setfd(w, rustix::io::FdFlags::empty())
        } else {
            sys::dup_onto(w, n)
        };
        if let Err(e) = result {
            fail(status, Step::Exec, e);
        }
    }
    let errno = if launch.exec_self {
        sys::execveat_empty(
            SELF_EXE.load(Ordering::Relaxed),
            &launch.argv.ptrs,
            &launch.env.ptrs,
        )
    } else {
        // `argv[0]` is the path: its pointer as it is, not a C string
        // found again in the block (issue 18, bytes). The parser never
        // gives an empty `cmd`; no panic in the child.
        match launch.argv.ptrs.first() {
            // SAFETY: a non-null first pointer is the start of `argv[0]`,
            // a C string in the launch's block, alive for the call.
            Some(&path) if !path.is_null() => unsafe {
                sys::execve(path, &launch.argv.ptrs, &launch.env.ptrs)
            },
            _ => rustix::io::Errno::NOEXEC,
        }
    };
    fail(status, Step::Exec, errno)
}

/// Marks [`JOB_NOFILE_SOFT`] as unset.
const NOT_RAISED: usize = usize::MAX;
/// The RLIMIT_NOFILE pmtr started with, given back to every job. In
/// `usize`s, not `u64`s: a descriptor limit is at most the kernel's
/// `fs.nr_open` (under 2^31), and on 32-bit ARM a 64-bit atomic is an
/// `ldrexd`/`strexd` loop at each store and load (issue 18, bytes).
static JOB_NOFILE_SOFT: AtomicUsize = AtomicUsize::new(NOT_RAISED);
static JOB_NOFILE_HARD: AtomicUsize = AtomicUsize::new(NOT_RAISED);

/// `setrlimit(RLIMIT_NOFILE, hard, hard)`—Raises pmtr's soft descriptor
/// limit to its hard limit. Every running job with `out syslog` holds a
/// pipe in pmtr and every job being started an exec-status pipe, so 1000
/// jobs do not fit in the usual soft limit of 1024. Jobs get the limit
/// pmtr was given back (some programs still use `select`, which breaks on
/// descriptors over 1023). Returns the (old, new) soft limit when raised,
/// as the `usize`s it stored (no 64-bit values to return and format on
/// 32-bit ARM; issue 18, bytes).
pub fn raise_fd_limit() -> Result<Option<(usize, usize)>, Errno> {
    let limit = rustix::process::getrlimit(RlimitResource::Nofile);
    let (Some(soft), Some(hard)) = (limit.current, limit.maximum) else {
        return Ok(None);
    };
    // A limit a `usize` cannot hold (none: see JOB_NOFILE_SOFT) is left
    // as it is, as an infinite one is.
    let (Ok(soft_n), Ok(hard_n)) = (usize::try_from(soft), usize::try_from(hard)) else {
        return Ok(None);
    };
    if soft >= hard {
        return Ok(None);
    }
    rustix::process::setrlimit(
        RlimitResource::Nofile,
        Rlimit {
            current: Some(hard),
            maximum: Some(hard),
        },
    )?;
    JOB_NOFILE_HARD.store(hard_n, Ordering::Relaxed);
    JOB_NOFILE_SOFT.store(soft_n, Ordering::Relaxed);
    Ok(Some((soft_n, hard_n)))
}

/// An environment ready for `execve`: `VAR=VALUE` strings.
pub type Env = CStrings;

impl Env {
    /// pmtr's environment, captured once at startup, as the base of every
    /// job's environment.
    pub fn inherited() -> Rc<Env> {
        // Pushed in a loop of its own, not through `CStrings::new` and an
        // empty fallback: strings from C have no NUL inside, so `push` is
        // always true (issue 18, bytes).
        let mut bytes = Vec::new();
        for kv in crate::rt::start::environ().map(CStr::to_bytes) {
            if kv.iter().skip(1).any(|&b| b == b'=') {
                CStrings::push(&mut bytes, kv);
            }
        }
        Rc::new(CStrings::point(bytes))
    }

    /// This environment with `lines` (`VAR=VALUE`) added; a line replaces
    /// a variable of the same name. Each of the first `base` lines (the
    /// user's variables, the env files') also gives way to any later line
    /// of its name; the lines after them (`env`) all stay. `None`: a
    /// line has a NUL byte (see [`job_env`]).
    fn with(&self, lines: &[String], base: usize) -> Option<Env> {
        // Two loops, not `CStrings::new` over a chain of both: its own
        // copy of the loop for that iterator type (issue 18, bytes).
        let mut bytes = Vec::new();
        // Each string up to its NUL, walked here, not by a split iterator
        // of its own (issue 18, bytes).
        let mut rest: &[u8] = &self.bytes;
        while let Some(end) = rest.iter().position(|&b| b == 0) {
            let Some((kv, after)) = rest.split_at_checked(end) else {
                break;
            };
            rest = after.get(1..).unwrap_or_default();
            let key = name(kv);
            // Strings from C have no NUL inside: `push` is always true.
            if !sets(lines, key) {
                CStrings::push(&mut bytes, kv);
            }
        }
        // A line that gives way is skipped as the lines are pushed, not
        // removed from the list first (issue 18, bytes: no `remove`).
        let mut rest = lines;
        let mut i = 0;
        while let Some((line, later)) = rest.split_first() {
            rest = later;
            let key = name(line.as_bytes());
            let replaced = i < base && sets(later, key);
            i += 1;
            if !replaced && !CStrings::push(&mut bytes, line.as_bytes()) {
                return None;
            }
        }
        Some(CStrings::point(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(env: &Env) -> Vec<&str> {
        env.iter()
            .map(|s| core::str::from_utf8(s).unwrap())
            .collect()
    }

    #[test]
    fn each_ulimit_resource_is_the_kernels_of_its_name() {
        for r in Resource::ALL {
            assert_eq!(format!("{:?}", rlimit_resource(r)), format!("{r:?}"));
        }
    }

    /// The launch of a job `t` with the option lines `lines`, no users and
    /// `PATH=/bin` as the environment pmtr inherited.
    fn launch_of(lines: &str) -> Launch {
        let text = format!("job {{\n name t\n {lines}\n}}\n");
        let spec = crate::config::parse_bytes("t", text.as_bytes())
            .unwrap()
            .jobs
            .remove(0);
        let users = Users::from_files("/nonexistent", "/nonexistent");
        let base = Rc::new(env(&["PATH=/bin"]));
        Launch::prepare(&spec, &users, &base, &[], &mut Envs::default()).unwrap()
    }

    fn env(vars: &[&str]) -> Env {
        CStrings::new(vars.iter().map(|v| v.as_bytes())).unwrap()
    }

    #[test]
    fn a_failed_step_is_described_as_before() {
        let text = "job {\n name t\n cmd /bin/nodee a\n dir /x\n out /o\n err /e\n in /i\n nice 3\n user u\n}\n";
        let spec = crate::config::parse_bytes("t.conf", text.as_bytes())
            .unwrap()
            .jobs
            .remove(0);
        let why = sys::strerror(Errno::NOENT);
        for (step, detail, said) in [
            (Step::Chdir, 0, "can't change directory to /x"),
            (Step::Stdin, 0, "can't open input /i"),
            (Step::Stdout, 0, "can't open output /o"),
            (Step::Stderr, DETAIL_AS_JOB, "can't open error output /e"),
            (Step::Nice, 0, "can't set nice 3"),
            (Step::Affinity, 0, "can't set cpu affinity"),
            (Step::Rlimit, 0, "can't set ulimit"),
            (Step::Groups, 0, "can't set supplementary groups"),
            (Step::Gid, 0, "can't set group id"),
            (Step::Uid, 0, "can't set user id"),
            (Step::Exec, 0, "can't exec /bin/nodee"),
        ] {
            let e = StartError {
                step,
                errno: Errno::NOENT,
                detail,
            };
            let rights = if detail == DETAIL_AS_JOB {
                " (opened with the rights of user u, who can write a directory on its path)"
            } else {
                ""
            };
            assert_eq!(
                e.describe(&spec).to_string(),
                format!("{said}: {why}{rights}")
            );
        }
        // A file of the wrong type: a fixed text, not the errno's.
        for (detail, rights) in [
            (DETAIL_WRONG_TYPE, ""),
            (
                DETAIL_WRONG_TYPE | DETAIL_AS_JOB,
                " (opened with the rights of user u, who can write a directory on its path)",
            ),
        ] {
            let e = StartError {
                step: Step::Stdout,
                errno: Errno::INVAL,
                detail,
            };
            assert_eq!(
                e.describe(&spec).to_string(),
                format!("can't open output /o: not a regular file or a character device{rights}")
            );
        }
        for (nice, said) in [("-5", "can't set nice -5"), ("0", "can't set nice 0")] {
            let text = format!("job {{\n name t\n cmd /bin/true\n nice {nice}\n}}\n");
            let spec = crate::config::parse_bytes("t.conf", text.as_bytes())
                .unwrap()
                .jobs
                .remove(0);
            let e = StartError {
                step: Step::Nice,
                errno: Errno::ACCESS,
                detail: 0,
            };
            let why = sys::strerror(Errno::ACCESS);
            assert_eq!(e.describe(&spec).to_string(), format!("{said}: {why}"));
        }
    }

    #[test]
    fn job_env_lines_replace_inherited_variables() {
        let base = env(&["PATH=/bin", "LANG=C"]);
        let env = base
            .with(&["LANG=C.UTF-8".to_string(), "NEW=1".to_string()], 0)
            .unwrap();
        assert_eq!(strings(&env), ["PATH=/bin", "LANG=C.UTF-8", "NEW=1"]);
        assert_eq!(env.ptrs.len(), 4);
        assert!(env.ptrs[3].is_null());
    }

    #[test]
    fn env_file_lines_yield_to_later_ones_and_to_env_lines() {
        let base = Rc::new(env(&["PATH=/bin", "A=0"]));
        let text = "job {\n name t\n cmd /bin/true\n env B=env\n}\n";
        let spec = crate::config::parse_bytes("t", text.as_bytes())
            .unwrap()
            .jobs
            .remove(0);
        let files: Vec<String> = ["A=1", "B=file", "C=1", "C=2"].map(String::from).into();
        let env = job_env(&spec, &base, &files, None, None).unwrap();
        assert_eq!(strings(&env), ["PATH=/bin", "A=1", "C=2", "B=env"]);
        // Nothing to add: pmtr's own environment, shared.
        let plain = crate::config::parse_bytes("t", b"job {\n name t\n cmd /x\n}\n")
            .unwrap()
            .jobs
            .remove(0);
        assert!(Rc::ptr_eq(
            &job_env(&plain, &base, &[], None, None).unwrap(),
            &base
        ));
    }

    /// The one block holds each string once, NUL-terminated, and each
    /// pointer is the start of its string: what `execve` reads.
    #[test]
    fn cstrings_point_at_each_string_in_one_block() {
        let words: [&[u8]; 4] = [b"/bin/echo", b"", b"two words", b"x"];
        let c = CStrings::new(words.into_iter()).unwrap();
        assert_eq!(&*c.bytes, b"/bin/echo\0\0two words\0x\0");
        assert_eq!(c.ptrs.len(), 5);
        for (i, word) in words.iter().enumerate() {
            // SAFETY: each pointer is the start of a NUL-terminated string
            // inside `c.bytes`, which lives to the end of the test.
            let s = unsafe { CStr::from_ptr(c.ptrs[i]) };
            assert_eq!(s.to_bytes(), *word);
        }
        assert!(c.ptrs[4].is_null());
        assert_eq!(c.iter().collect::<Vec<_>>(), words);
        assert_eq!(c.first(), Some(c"/bin/echo"));
        // Moved, the pointers still hold: the bytes stay where they are.
        let moved = Box::new(c);
        // SAFETY: as above.
        assert_eq!(unsafe { CStr::from_ptr(moved.ptrs[2]) }, c"two words");

        let none = CStrings::new(core::iter::empty()).unwrap();
        assert_eq!((none.ptrs.len(), none.iter().count()), (1, 0));
        assert_eq!(none.first(), None);
        assert!(CStrings::new([&b"a\0b"[..]].into_iter()).is_none());
    }

    /// A log in a sticky directory the job's user may write (as /tmp
    /// is), whose file belongs to another: the user cannot replace the
    /// file, but can plant FILE.1 before a rotation, so the logger runs
    /// with the job's rights. With FILE.1 there and another's too, it
    /// stays pmtr's (SPEC section 10: nothing opened with root's rights
    /// on the user's behalf).
    #[test]
    fn a_log_whose_rotated_file_the_user_can_plant_is_written_as_the_user() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pmtr-sticky-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let log = dir.join("job.log");
        std::fs::write(&log, b"").unwrap();
        // Not the user the test runs as, so the job runs as another.
        let nobody = if rustix::process::geteuid().as_raw() == 65534 {
            65533
        } else {
            65534
        };
        let line = format!(
            "cmd /bin/true\n user {nobody}\n group {nobody}\n out {} max 1M",
            log.display()
        );
        let as_user = |launch: &Launch| launch.logger_ids(false).is_some();
        // Only FILE.1 is the user's to make: written as the user.
        assert!(as_user(&launch_of(&line)));
        // FILE.1 there too, another's: written as pmtr.
        std::fs::write(dir.join("job.log.1"), b"").unwrap();
        assert!(!as_user(&launch_of(&line)));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// No launch fails for a NUL byte in a word of the configuration
    /// (see `config_word`): its lexer refuses one in every word, bare or
    /// quoted, of every option a launch is made of.
    #[test]
    fn the_configuration_has_no_nul_for_a_launch() {
        for line in [
            "cmd /bin/echo a\0b",
            "cmd /bin/echo \"a\0b\"",
            "dir /tmp/a\0b",
            "in /tmp/a\0b",
            "out /tmp/a\0b",
            "err \"/tmp/a\0b\"",
            "out /tmp/a\0b max 1M",
            "ready when /bin/test a\0b",
            "check every 5 s /bin/test a\0b",
            "env A=a\0b",
            "user a\0b",
        ] {
            let text = format!("job {{\n name t\n cmd /bin/true\n {line}\n}}\n");
            let errors = crate::config::parse_bytes("t", text.as_bytes()).err();
            let said = errors.map(|e| e.iter().map(|e| e.to_string()).collect::<Vec<_>>());
            assert!(
                said.as_ref()
                    .is_some_and(|e| e.iter().any(|e| e.contains("control character U+0"))),
                "{line:?}: {said:?}"
            );
        }
    }

    /// Jobs of one `user` share one environment (their HOME, USER and
    /// LOGNAME added to pmtr's), not a copy each; a job with its own
    /// `env` line has its own.
    #[test]
    fn jobs_of_one_user_share_their_environment() {
        let base = Rc::new(env(&["PATH=/bin"]));
        let spec = |body: &str| {
            let text = format!("job {{\n name t\n cmd /x\n user pi\n{body}}}\n");
            crate::config::parse_bytes("t", text.as_bytes())
                .unwrap()
                .jobs
                .remove(0)
        };
        let pi = Ids {
            uid: 1000,
            gid: 1000,
            groups: Vec::new(),
            name: "pi".into(),
            home: "/home/pi".into(),
        };
        let mut envs = Envs::default();
        let mut made =
            |body: &str| job_env(&spec(body), &base, &[], Some(&pi), Some(&mut envs)).unwrap();
        let (a, b, own) = (made(""), made(""), made(" env A=1\n"));
        assert_eq!(
            strings(&a),
            ["PATH=/bin", "HOME=/home/pi", "USER=pi", "LOGNAME=pi"]
        );
        assert!(Rc::ptr_eq(&a, &b));
        assert!(!Rc::ptr_eq(&a, &own));
        assert_eq!(strings(&own).last(), Some(&"A=1"));
    }

    /// A `cpu` list keeps the CPUs it lists that are online, taken out of
    /// the online set in place; one of only CPUs the machine does not
    /// have leaves no set (and a box that changes nothing).
    #[test]
    fn a_cpu_list_keeps_the_listed_cpus_that_are_online() {
        let online = rustix::thread::sched_getaffinity(None).unwrap();
        let cpus = |list: &str| {
            let launch = launch_of(&format!("cmd /bin/true\n cpu {list}"));
            let limits = launch.limits.expect("a box for a job with cpu");
            limits.cpus.map(|set| {
                (0..CpuSet::MAX_CPU)
                    .filter(|&c| set.is_set(c))
                    .collect::<Vec<_>>()
            })
        };
        let all: Vec<usize> = (0..CpuSet::MAX_CPU).filter(|&c| online.is_set(c)).collect();
        assert_eq!(cpus("0-1023"), Some(all.clone()));
        let first = all[0];
        match (0..CpuSet::MAX_CPU).find(|&c| !online.is_set(c)) {
            Some(off) => {
                assert_eq!(cpus(&format!("{first},{off}")), Some(vec![first]));
                assert_eq!(cpus(&off.to_string()), None);
            }
            None => assert_eq!(cpus(&first.to_string()), Some(vec![first])),
        }
    }

    /// Where clone shares pmtr's memory (any real kernel), `spawn` knows
    /// on return whether the child exec'd or which step failed: nothing is
    /// left for the event loop to watch. The test process has other
    /// threads, but they neither spawn nor touch the child's stack.
    #[test]
    fn spawn_knows_at_once_whether_the_child_execd() {
        let launch = |cmd: &str| launch_of(&format!("cmd {cmd}"));
        let me = rustix::process::getpid();
        let reap = |pid| {
            let status = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
            status.unwrap().unwrap().1
        };
        // The exec-status pipe alone often still looks open on return (see
        // `spawn`): of 20 starts, some would come back unknown.
        let true_ = launch("/bin/true");
        for _ in 0..20 {
            let ran = spawn(&true_, me, [None; 3]).unwrap();
            assert!(matches!(ran.exec, Exec::Running));
            assert_eq!(reap(ran.pid).exit_status(), Some(0));
        }
        // From now on without the pipe: the failure below comes through
        // the record alone.
        assert!(CLONE_SHARES_MEMORY.load(Ordering::Relaxed));
        let failed = spawn(&launch("/nonexistent/job"), me, [None; 3]).unwrap();
        match failed.exec {
            Exec::Failed(e) => assert_eq!((e.step, e.errno), (Step::Exec, Errno::NOENT)),
            _ => panic!("a failed exec not reported on return"),
        }
        assert_eq!(reap(failed.pid).exit_status(), Some(127));
    }

    /// The record's three readings: never written (a plain fork, so the
    /// pipe must say), written at the child's start only, a failed step.
    #[test]
    fn the_childs_record_reads_as_unknown_running_or_failed() {
        assert!(shared_result([0; 8]).is_none());
        assert!(matches!(
            shared_result(RECORD_SHARED),
            Some(StartResult::Running)
        ));
        let code = Errno::ACCESS.raw_os_error().to_ne_bytes();
        let failed = [
            Step::Chdir as u8,
            0,
            1,
            1,
            code[0],
            code[1],
            code[2],
            code[3],
        ];
        match shared_result(failed) {
            Some(StartResult::Failed(e)) => {
                assert_eq!((e.step, e.errno), (Step::Chdir, Errno::ACCESS))
            }
            _ => panic!("a failure record not read as one"),
        }
    }

    #[test]
    fn a_name_that_is_a_prefix_is_not_replaced() {
        let base = env(&["PATHX=1"]);
        let env = base.with(&["PATH=/bin".to_string()], 0).unwrap();
        assert_eq!(strings(&env), ["PATHX=1", "PATH=/bin"]);
    }
}
