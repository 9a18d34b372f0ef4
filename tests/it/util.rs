//! Helpers every test module uses. Nothing here sleeps for a fixed time
//! to let something happen: tests wait on a condition with a deadline.

#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The binary under test: the debug build cargo made for the tests, or
/// the one `PMTR_TEST_BIN` names (an absolute path), which `make it-min`
/// sets to the size-optimised static build the packages ship.
pub fn pmtr_bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("PMTR_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_pmtr").to_string())
    })
}

/// Polls `cond` every 10 ms until it holds or `limit` passes; returns
/// whether it held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Like [`wait_until`], but panics with `what` when the deadline passes.
pub fn expect_within(limit: Duration, what: &str, cond: impl FnMut() -> bool) {
    assert!(
        wait_until(limit, cond),
        "timed out after {limit:?} waiting for {what}"
    );
}

/// A directory under /tmp, removed when dropped.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("pmtr-test-{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `text` to `name` in this directory and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.join(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, text).unwrap();
        p
    }

    /// Replaces `name` atomically, the way vim or `sed -i` save.
    pub fn replace(&self, name: &str, text: &str) -> PathBuf {
        let p = self.join(name);
        let tmp = self.join(&format!(".{name}.tmp"));
        fs::write(&tmp, text).unwrap();
        fs::rename(&tmp, &p).unwrap();
        p
    }

    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.join(name)).unwrap_or_default()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Runs `pmtr ARGS` to completion.
pub fn run_pmtr(args: &[&str]) -> Output {
    Command::new(pmtr_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Sends `sig` to one process we started.
pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) has no memory effects; the pid is one this test started.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// True while /proc/PID exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .map(|rest| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// The PIDs of the direct children of `parent`.
pub fn children(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{parent}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let p = task.path().join("children");
        if let Ok(text) = fs::read_to_string(p) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|s| s.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// `argv` of a process, split on NUL.
pub fn cmdline(pid: u32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A pmtr running in the foreground on a config in a temp dir; its stderr
/// (the log echo) goes to `pmtr.log` there. Dropping it stops pmtr and
/// SIGKILLs it if it has not exited within 20 s.
pub struct Pmtr {
    pub child: Child,
    pub dir: TempDir,
    pub config: PathBuf,
}

impl Pmtr {
    /// Writes `config` to `pmtr.conf` in a fresh temp dir and starts
    /// `pmtr -F -c pmtr.conf` there. `{dir}` in the text is replaced by
    /// the temp dir's path.
    pub fn start(name: &str, config: &str) -> Pmtr {
        Self::start_with(name, config, &[])
    }

    /// Like [`Pmtr::start`], with extra flags.
    pub fn start_with(name: &str, config: &str, extra: &[&str]) -> Pmtr {
        let dir = TempDir::new(name);
        let text = config.replace("{dir}", dir.path().to_str().unwrap());
        let conf = dir.write("pmtr.conf", &text);
        Self::spawn_in(dir, conf, extra)
    }

    /// Starts pmtr on `config` (which may not exist yet) in `dir`. Its
    /// control socket is `pmtr.sock` there (see [`Pmtr::socket`]) unless
    /// `extra` has another `-s`, so tests never share /run/pmtr.sock.
    pub fn spawn_in(dir: TempDir, config: PathBuf, extra: &[&str]) -> Pmtr {
        Self::spawn_after(dir, config, extra, None)
    }

    /// Like [`Pmtr::start`], with `shell` (e.g. `trap '' HUP`) run by
    /// /bin/sh first, which then execs pmtr: pmtr keeps the shell's PID and
    /// inherits what the shell set up.
    pub fn start_after_shell(name: &str, config: &str, shell: &str) -> Pmtr {
        let dir = TempDir::new(name);
        let text = config.replace("{dir}", dir.path().to_str().unwrap());
        let conf = dir.write("pmtr.conf", &text);
        Self::spawn_after(dir, conf, &[], Some(shell))
    }

    fn spawn_after(dir: TempDir, config: PathBuf, extra: &[&str], shell: Option<&str>) -> Pmtr {
        let log = fs::File::create(dir.join("pmtr.log")).unwrap();
        let mut command = match shell {
            Some(script) => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c")
                    .arg(format!("{script}; exec \"$0\" \"$@\""))
                    .arg(pmtr_bin());
                c
            }
            None => Command::new(pmtr_bin()),
        };
        let child = command
            .arg("-F")
            .arg("-c")
            .arg(&config)
            .arg("-s")
            .arg(dir.join("pmtr.sock"))
            .args(extra)
            // No syslog daemon in tests unless a test starts one.
            .env("PMTR_LOG_SOCKET", dir.join("no-syslog"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Pmtr { child, dir, config }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The default control socket of this pmtr (`-s` in [`Pmtr::spawn_in`]).
    pub fn socket(&self) -> PathBuf {
        self.dir.join("pmtr.sock")
    }

    /// Everything pmtr has logged so far.
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = fs::File::open(self.dir.join("pmtr.log")) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Waits until the log contains `text`; panics with the log otherwise.
    pub fn expect_log(&self, text: &str, limit: Duration) {
        if !wait_until(limit, || self.log().contains(text)) {
            panic!(
                "timed out after {limit:?} waiting for log line {text:?}; log:\n{}",
                self.log()
            );
        }
    }

    /// Counts occurrences of `text` in the log.
    pub fn log_count(&self, text: &str) -> usize {
        self.log().matches(text).count()
    }

    /// The PID of the running job `name`, from pmtr's children whose
    /// `started job NAME [PID]` line is the latest for that name and which
    /// is still alive.
    pub fn job_pid(&self, name: &str) -> Option<u32> {
        let needle = format!("started job {name} [");
        let log = self.log();
        let pos = log.rfind(&needle)?;
        let rest = &log[pos + needle.len()..];
        let pid: u32 = rest[..rest.find(']')?].parse().ok()?;
        // Between fork and exec the child is still a copy of pmtr; and in
        // the middle of execve the new image is there (exe) before its
        // arguments are (cmdline reads empty).
        let execed = fs::read_link(format!("/proc/{pid}/exe"))
            .is_ok_and(|exe| exe != Path::new(pmtr_bin()))
            && !cmdline(pid).is_empty();
        (alive(pid) && execed).then_some(pid)
    }

    /// Waits for job `name` to be running and returns its PID.
    pub fn wait_job(&self, name: &str, limit: Duration) -> u32 {
        let mut pid = None;
        if !wait_until(limit, || {
            pid = self.job_pid(name);
            pid.is_some()
        }) {
            panic!(
                "job {name} not running after {limit:?}; log:\n{}",
                self.log()
            );
        }
        pid.unwrap()
    }

    /// Rewrites the config in place (same inode).
    pub fn write_config(&self, text: &str) {
        let text = text.replace("{dir}", self.dir.path().to_str().unwrap());
        fs::write(&self.config, text).unwrap();
    }

    /// Sends SIGTERM and waits for pmtr to exit; returns its exit code.
    pub fn stop(&mut self) -> Option<i32> {
        signal(self.pid(), libc::SIGTERM);
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Pmtr {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            signal(self.pid(), libc::SIGTERM);
            if !wait_until(Duration::from_secs(20), || {
                matches!(self.child.try_wait(), Ok(Some(_)))
            }) {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// How many lines of job `tag`'s output a log holds (`tag[PID]: ...`),
/// and how many pmtr reported dropped by the per-job rate limit
/// (`job TAG [PID]: N lines of output dropped ...`).
pub fn job_lines_logged_and_dropped(log: &str, tag: &str) -> (usize, usize) {
    let logged = log
        .lines()
        .filter(|l| l.starts_with(&format!("{tag}[")))
        .count();
    let dropped = log
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("pmtr: job {tag} [")))
        .filter_map(|rest| rest.split_once("]: ").map(|(_, r)| r))
        .filter_map(|r| r.strip_suffix(" lines of output dropped (more than 100 a second)"))
        .map(|n| n.parse::<usize>().unwrap())
        .sum();
    (logged, dropped)
}

/// The PID a pidfile names, if it holds one.
pub fn read_pid(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Waits for `path` to name a live process and returns its PID.
pub fn wait_pid_file(path: &Path, limit: Duration) -> u32 {
    let mut pid = 0;
    expect_within(
        limit,
        &format!("{} to name a live process", path.display()),
        || {
            pid = read_pid(path).unwrap_or(0);
            pid != 0 && alive(pid)
        },
    );
    pid
}

/// The parent PID of `pid`, from /proc.
/// pmtr's anonymous memory in kB (`RssAnon`: heap, stack, the clone
/// child's stack): what a hostile job or peer could make grow. Not
/// `VmRSS`: pmtr gives back its own file pages when its loop goes to sleep
/// after a configuration read (`src/rt/trim.rs`) and faults back the
/// code it runs next, so its total RSS rises by up to the binary's size
/// whatever a job does.
pub fn anon_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

/// What `pid` does for `window` once `strace -p` has attached: the
/// trace's text. The trace goes to a directory of its own (`dir_name`),
/// outside pmtr's config directory, which pmtr watches. strace shows the
/// call pmtr was blocked in when it attached as unfinished; a call that
/// completed in the window ends in `) = RESULT` (see [`completed_calls`]).
pub fn strace_window(pid: u32, dir_name: &str, window: Duration) -> String {
    let out_dir = TempDir::new(dir_name);
    let trace = out_dir.join("strace.out");
    let errors = out_dir.join("strace.err");
    let mut strace = Command::new("strace")
        .arg("-p")
        .arg(pid.to_string())
        .arg("-o")
        .arg(&trace)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&errors).unwrap())
        .spawn()
        .expect("strace (tests/setup.sh installs it)");
    expect_within(Duration::from_secs(15), "strace to attach", || {
        fs::read_to_string(&errors)
            .unwrap_or_default()
            .contains("attached")
    });
    std::thread::sleep(window);
    signal(strace.id(), libc::SIGINT);
    strace.wait().unwrap();
    fs::read_to_string(&trace).unwrap()
}

/// Waits until `pid` sleeps in `epoll_pwait` (or `epoll_wait`) with no
/// timeout, as `/proc/PID/syscall` shows it (x86_64 numbers), and is not
/// woken (`S` in `/proc/PID/stat`: an event already queued makes it
/// runnable). A deadline that went away leaves pmtr one wakeup that finds
/// nothing due (`jobs_due` in src/supervisor/event_loop.rs), and an
/// inotify event from a file pmtr's helpers wrote is read after the file
/// is there: a window of system calls taken before either has passed
/// would count it.
pub fn wait_idle(pid: u32, limit: Duration) {
    expect_within(limit, "pmtr to sleep with no timeout", || {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let sleeping = stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('S'));
        let text = fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
        let f: Vec<&str> = text.split_whitespace().collect();
        let forever = |t: &str| t == "0xffffffff" || t == "0xffffffffffffffff";
        sleeping
            && match (f.first(), f.get(4)) {
                (Some(&("232" | "281")), Some(&t)) => forever(t),
                // epoll_pwait2: a NULL timespec.
                (Some(&"441"), Some(&t)) => t == "0x0",
                _ => false,
            }
    });
}

/// The lines of an strace text for calls that completed.
pub fn completed_calls(trace: &str) -> Vec<&str> {
    trace.lines().filter(|l| l.contains(") = ")).collect()
}

pub fn ppid(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(") ")
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
