//! The untrusted job: one that runs as `user nobody` and controls its own
//! directory, prints without pause, or whose `depends` file is swapped
//! (issue 13, items 1–4, 6, 8 and 9). Tests run as root, as pmtr does.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{answers_promptly, stays_responsive};
use crate::util::*;

const T: Duration = Duration::from_secs(10);

const NOBODY: u32 = 65534;

/// A directory the job's user owns, as its home or work dir would be.
fn nobody_dir(p: &TempDir, name: &str) -> std::path::PathBuf {
    let dir = p.join(name);
    fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
    dir
}

/// A file only root may read or write, outside the job's reach.
fn root_only(dir: &TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.write(name, text);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// SIGTERM stops pmtr within its jobs' `kill after` time (plus slack).
fn stops_promptly(p: &mut Pmtr) {
    signal(p.pid(), libc::SIGTERM);
    assert!(
        wait_until(Duration::from_secs(15), || matches!(
            p.child.try_wait(),
            Ok(Some(_))
        )),
        "pmtr did not stop after SIGTERM; log:\n{}",
        p.log()
    );
}

/// Item 1: the job's user replaces its `out` file with a symlink to a
/// root-only file. Before the fix pmtr opened it as root and the job's
/// output was appended to the root file.
#[test]
fn symlinked_out_cannot_write_a_root_file() {
    let dir = TempDir::new("hostile-out");
    let secret = root_only(&dir, "secret", "root only\n");
    let work = nobody_dir(&dir, "work");
    symlink(&secret, work.join("app.log")).unwrap();
    let conf = format!(
        "job {{\n name app\n user nobody\n dir {}\n out app.log\n cmd /bin/echo pwned\n once\n}}\n",
        work.display()
    );
    let p = start_in(dir, &conf);
    p.expect_log("can't open output app.log: Permission denied", T);
    assert!(p.log().contains("rights of user nobody"), "{}", p.log());
    assert_eq!(fs::read_to_string(&secret).unwrap(), "root only\n");
}

/// Item 1, reading: `in` made a symlink to a root-only file.
#[test]
fn symlinked_in_cannot_read_a_root_file() {
    let dir = TempDir::new("hostile-in");
    let secret = root_only(&dir, "secret", "the root password\n");
    let work = nobody_dir(&dir, "work");
    symlink(&secret, work.join("input.txt")).unwrap();
    let conf = format!(
        "job {{\n name app\n user nobody\n dir {}\n in input.txt\n out copy.txt\n cmd /bin/cat\n once\n}}\n",
        work.display()
    );
    let p = start_in(dir, &conf);
    p.expect_log("can't open input input.txt: Permission denied", T);
    let copy = fs::read_to_string(work.join("copy.txt")).unwrap_or_default();
    assert!(!copy.contains("root password"), "{copy}");
}

/// Item 1, what must keep working: root keeps a `user` job's log in a
/// place only root controls; pmtr opens it on the operator's behalf.
#[test]
fn root_owned_log_of_a_user_job_still_works() {
    let dir = TempDir::new("hostile-rootlog");
    let logs = dir.join("var-log");
    fs::create_dir_all(&logs).unwrap();
    fs::set_permissions(&logs, fs::Permissions::from_mode(0o755)).unwrap();
    let conf = format!(
        "job {{\n name app\n user nobody\n out {}/app.log\n cmd /bin/echo hello from nobody\n once\n}}\n",
        logs.display()
    );
    let p = start_in(dir, &conf);
    p.expect_log("exited after", T);
    let log = logs.join("app.log");
    expect_within(T, "the job's line in the root-owned log", || {
        fs::read_to_string(&log).unwrap_or_default() == "hello from nobody\n"
    });
    assert_eq!(fs::metadata(&log).unwrap().uid(), 0);
    drop(p);
}

/// Item 2: the job's user swaps its `out` file for a FIFO nobody reads.
/// Before the fix the spawn child blocked in open(2), and pmtr (waiting
/// for it, vfork-style) with it: status timed out, SIGTERM did nothing.
#[test]
fn fifo_in_place_of_out_never_freezes_pmtr() {
    let dir = TempDir::new("hostile-fifo");
    let work = nobody_dir(&dir, "work");
    mkfifo(&work.join("app.log"));
    let conf = format!(
        "job {{\n name app\n user nobody\n dir {}\n out app.log\n cmd /bin/sleep 1000\n}}\n{}",
        work.display(),
        "job {\n name other\n cmd /bin/sleep 1001\n}\n"
    );
    let mut p = start_in(dir, &conf);
    p.wait_job("other", T);
    p.expect_log("can't open output app.log", T);
    stays_responsive(&p, Duration::from_secs(2));
    stops_promptly(&mut p);
}

/// Item 2, with a reader on the FIFO: the open succeeds, and the FIFO is
/// refused for what it is.
#[test]
fn fifo_with_a_reader_is_refused_as_not_a_file() {
    let dir = TempDir::new("hostile-fifo-read");
    let work = nobody_dir(&dir, "work");
    let fifo = work.join("app.log");
    mkfifo(&fifo);
    // The job's user made it.
    std::os::unix::fs::chown(&fifo, Some(NOBODY), Some(NOBODY)).unwrap();
    // Holds a reader (O_RDWR never blocks on a FIFO).
    let _reader = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let conf = format!(
        "job {{\n name app\n user nobody\n dir {}\n out app.log\n cmd /bin/sleep 1000\n}}\n",
        work.display()
    );
    let p = start_in(dir, &conf);
    p.expect_log(
        "can't open output app.log: not a regular file or a character device",
        T,
    );
    answers_promptly(&p);
}

/// Item 2's non-blocking open is pmtr's guard, not what the job gets: its
/// `out` file reaches it blocking, write-only and appending. The spawn
/// child clears O_NONBLOCK after its checks by setting the open's own
/// flags less that one (no F_GETFL); without that step the job's stdout
/// would stay non-blocking.
#[test]
fn out_file_reaches_the_job_blocking_and_appending() {
    let conf = "job {\n name flags\n dir {dir}\n out flags.txt\n cmd /bin/grep ^flags: /proc/self/fdinfo/1\n once\n}\n";
    let p = Pmtr::start("hostile-out-flags", conf);
    let out = p.dir.join("flags.txt");
    let mut line = String::new();
    expect_within(T, "the job's line with its stdout's flags", || {
        line = fs::read_to_string(&out).unwrap_or_default();
        line.starts_with("flags:") && line.ends_with('\n')
    });
    let flags = u32::from_str_radix(line["flags:".len()..].trim(), 8).unwrap();
    assert_eq!(flags & libc::O_NONBLOCK as u32, 0, "{line}");
    assert_ne!(flags & libc::O_APPEND as u32, 0, "{line}");
    assert_eq!(
        flags & libc::O_ACCMODE as u32,
        libc::O_WRONLY as u32,
        "{line}"
    );
}

/// Item 3: `yes` into syslog. Before the fix the loop read its pipe until
/// EAGAIN, forever: status timed out, other jobs went unreaped.
#[test]
fn chatty_syslog_job_never_starves_the_loop() {
    let conf = "job {\n name chatty\n out syslog\n cmd /usr/bin/yes\n}\n\
                job {\n name blink\n cmd /bin/sh -c \"exit 3\"\n}\n";
    let mut p = Pmtr::start("hostile-chatty", conf);
    p.wait_job("chatty", T);
    stays_responsive(&p, Duration::from_secs(3));
    // Another job's exit is reaped and logged meanwhile.
    p.expect_log("job blink [", T);
    p.expect_log("exit status 3", T);
    p.expect_log("lines of output dropped", T);
    assert!(
        anon_kb(p.pid()) < 16 * 1024,
        "anonymous memory {} kB",
        anon_kb(p.pid())
    );
    stops_promptly(&mut p);
}

/// Item 4: a `depends` file swapped for a FIFO, then for /dev/zero. Before
/// the fix the first hung pmtr in open(2) and the second grew its memory
/// until it aborted.
#[test]
fn depends_fifo_or_dev_zero_cannot_hang_or_bloat_pmtr() {
    let dir = TempDir::new("hostile-depends");
    let dep = dir.write("dep.conf", "v1\n");
    let conf = format!(
        "job {{\n name app\n cmd /bin/sleep 1000\n depends {{ {} }}\n}}\n",
        dep.display()
    );
    let mut p = start_in(dir, &conf);
    p.wait_job("app", T);
    let swap = |make: &dyn Fn(&Path)| {
        let tmp = dep.with_extension("new");
        let _ = fs::remove_file(&tmp);
        make(&tmp);
        fs::rename(&tmp, &dep).unwrap();
    };
    swap(&|path| mkfifo(path));
    p.expect_log("not a regular file", T);
    stays_responsive(&p, Duration::from_secs(1));
    swap(&|path| symlink("/dev/zero", path).unwrap());
    expect_within(T, "the /dev/zero swap noticed", || {
        p.log_count("not a regular file") >= 2
    });
    stays_responsive(&p, Duration::from_secs(1));
    assert!(
        anon_kb(p.pid()) < 16 * 1024,
        "anonymous memory {} kB",
        anon_kb(p.pid())
    );
    stops_promptly(&mut p);
}

/// Item 4, trust checked on every read: a `depends` file that becomes
/// writable by others is not read as trusted.
#[test]
fn depends_file_made_world_writable_is_not_trusted() {
    let dir = TempDir::new("hostile-depends-trust");
    let dep = dir.write("dep.conf", "v1\n");
    fs::set_permissions(&dep, fs::Permissions::from_mode(0o644)).unwrap();
    let conf = format!(
        "job {{\n name app\n cmd /bin/sleep 1000\n depends {{ {} }}\n}}\n",
        dep.display()
    );
    let p = start_in(dir, &conf);
    p.wait_job("app", T);
    fs::set_permissions(&dep, fs::Permissions::from_mode(0o666)).unwrap();
    fs::write(&dep, "v2\n").unwrap();
    p.expect_log("writable by group and others", T);
}

/// Item 8: a configuration in a directory another user can write is
/// refused: that user could swap it for an empty file and stop every job.
#[test]
fn config_in_a_directory_another_user_owns_is_refused() {
    let dir = TempDir::new("hostile-confdir");
    let theirs = nobody_dir(&dir, "etc");
    let conf = theirs.join("pmtr.conf");
    fs::write(&conf, "job {\n name app\n cmd /bin/sleep 1000\n}\n").unwrap();
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o644)).unwrap();
    let out = run_pmtr(&["-t", "-c", conf.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "its directory {} is owned by uid {NOBODY}",
            theirs.display()
        )),
        "{err}"
    );
    // The daemon waits for a trustworthy file instead of running it.
    let p = Pmtr::spawn_in(dir, conf, &[]);
    p.expect_log("waiting for a valid configuration", T);
    assert!(!p.log().contains("started job app"));
}

/// Item 9: a `user` job gets HOME, USER and LOGNAME from the passwd entry,
/// not pmtr's.
#[test]
fn user_job_gets_its_users_home_and_names() {
    let conf = "job {\n name app\n user nobody\n cmd /bin/sleep 1000\n}\n";
    let p = Pmtr::start("hostile-env", conf);
    let pid = p.wait_job("app", T);
    let environ = fs::read(format!("/proc/{pid}/environ")).unwrap();
    let vars: Vec<String> = environ
        .split(|&b| b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    for want in ["HOME=/nonexistent", "USER=nobody", "LOGNAME=nobody"] {
        assert!(vars.iter().any(|v| v == want), "{want} missing: {vars:?}");
    }
}

/// Item 9: without close_range's CLOEXEC flag (kernels before 5.11), a
/// descriptor pmtr inherited above 1024 must not reach a job. strace
/// makes close_range fail here as an old kernel would.
#[test]
fn inherited_fd_above_1024_never_reaches_a_job_without_close_range() {
    use std::os::unix::process::CommandExt;
    let dir = TempDir::new("hostile-fds");
    let conf = dir.write("pmtr.conf", "job {\n name app\n cmd /bin/sleep 1000\n}\n");
    let leak = dir.write("leak", "");
    let log = fs::File::create(dir.join("pmtr.log")).unwrap();
    let held = fs::File::open(&leak).unwrap();
    let raw = std::os::fd::AsRawFd::as_raw_fd(&held);
    let mut cmd = Command::new("strace");
    cmd.args([
        "-f",
        "-qq",
        "-o",
        "/dev/null",
        "-e",
        "trace=close_range",
        "-e",
        "inject=close_range:error=ENOSYS",
    ])
    .arg(pmtr_bin())
    .arg("-F")
    .arg("-c")
    .arg(&conf)
    .arg("-s")
    .arg(dir.join("pmtr.sock"))
    .env("PMTR_LOG_SOCKET", dir.join("no-syslog"))
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(log);
    // SAFETY: between fork and exec: only setrlimit and dup2, which are
    // async-signal-safe; the descriptor stays open in this process.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: 4096,
                rlim_max: 4096,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            if libc::dup2(raw, 1500) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut tracer = cmd.spawn().unwrap();
    let log_path = dir.join("pmtr.log");
    let mut job = 0;
    let started = wait_until(T, || {
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        job = text
            .rsplit("started job app [")
            .next()
            .filter(|_| text.contains("started job app ["))
            .and_then(|r| r.split(']').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        job != 0 && !cmdline(job).is_empty() && cmdline(job)[0] == "/bin/sleep"
    });
    let leaked = Path::new(&format!("/proc/{job}/fd/1500")).exists();
    let pmtr = children(tracer.id()).first().copied().unwrap_or(0);
    if pmtr != 0 {
        signal(pmtr, libc::SIGTERM);
    }
    if !wait_until(T, || matches!(tracer.try_wait(), Ok(Some(_)))) {
        let _ = tracer.kill();
        let _ = tracer.wait();
        if job != 0 && alive(job) {
            signal(job, libc::SIGKILL);
        }
    }
    assert!(started, "the job did not start under strace");
    assert!(!leaked, "fd 1500 reached the job");
}

/// Item 9: `pmtr status` from outside pmtr's PID namespace (a host-side
/// client on a container's bind-mounted socket): the peer's pid reads 0
/// there, which used to be refused with "SO_PEERCRED: Success".
#[test]
fn status_from_outside_pmtrs_pid_namespace_is_answered() {
    let dir = TempDir::new("hostile-pidns");
    let conf = dir.write("pmtr.conf", "job {\n name app\n cmd /bin/sleep 1000\n}\n");
    let sock = dir.join("pmtr.sock");
    let mut init = Command::new("unshare")
        .args(["--pid", "--fork", "--kill-child"])
        .arg(pmtr_bin())
        .arg("-c")
        .arg(&conf)
        .arg("-s")
        .arg(&sock)
        .env("PMTR_LOG_SOCKET", dir.join("no-syslog"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = None;
    let answered = wait_until(T, || {
        let o = run_pmtr(&["status", "-s", sock.to_str().unwrap()]);
        let ok = o.status.code() == Some(0);
        out = Some(o);
        ok
    });
    let pmtr = children(init.id()).first().copied().unwrap_or(0);
    if pmtr != 0 {
        signal(pmtr, libc::SIGTERM);
    }
    if !wait_until(T, || matches!(init.try_wait(), Ok(Some(_)))) {
        let _ = init.kill();
        let _ = init.wait();
    }
    let out = out.unwrap();
    assert!(
        answered,
        "status: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Item 6: UDP `enable` of a finished job re-ran it at once, every time.
/// Now it runs again no sooner than the anti-spin rule allows (10 s
/// after its last start), however many datagrams arrive.
#[test]
fn udp_enable_reruns_a_finished_job_no_sooner_than_anti_spin() {
    let port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let conf = format!(
        "listen on udp://127.0.0.1:{port}\njob {{\n name setup\n cmd /bin/true\n once\n}}\n\
         job {{\n name marker\n cmd /bin/sleep 1000\n disable\n}}\n"
    );
    let p = Pmtr::start("hostile-enable", &conf);
    p.expect_log("job setup [", T);
    p.expect_log("exited after", T);
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..20 {
        sock.send_to(b"enable setup", ("127.0.0.1", port)).unwrap();
    }
    // Datagrams from one socket on loopback arrive in order: once the
    // marker runs, the 20 enables before it have been read.
    sock.send_to(b"enable marker", ("127.0.0.1", port)).unwrap();
    p.wait_job("marker", T);
    assert_eq!(p.log_count("started job setup"), 1, "{}", p.log());
    expect_within(Duration::from_secs(15), "one re-run after the wait", || {
        p.log_count("started job setup") == 2
    });
    answers_promptly(&p);
    assert_eq!(p.log_count("started job setup"), 2, "{}", p.log());
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string; mkfifo has no other memory effects.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0);
}

/// Starts pmtr in `dir` on `conf`, written there as pmtr.conf.
fn start_in(dir: TempDir, conf: &str) -> Pmtr {
    let path = dir.write("pmtr.conf", conf);
    Pmtr::spawn_in(dir, path, &[])
}
