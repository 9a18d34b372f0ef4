//! `pmtr status|stop|start|restart` against a real pmtr over its control
//! socket (issue 9): what status shows for each state, the JSON, who may
//! ask, that control acts, and the socket's life cycle.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::util::*;

const T: Duration = Duration::from_secs(15);

fn job(name: &str, cmd: &str) -> String {
    format!("job {{\n  name {name}\n  cmd {cmd}\n}}\n")
}

/// `pmtr ARGS -s SOCKET`.
fn ctl_at(socket: &Path, args: &[&str]) -> Output {
    Command::new(pmtr_bin())
        .args(args)
        .arg("-s")
        .arg(socket)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ctl(p: &Pmtr, args: &[&str]) -> Output {
    ctl_at(&p.socket(), args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The status table's line for job `name`, whitespace collapsed.
fn status_line(p: &Pmtr, name: &str) -> String {
    let out = ctl(p, &["status"]);
    stdout(&out)
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Waits until job `name`'s status line contains `text`.
fn expect_status(p: &Pmtr, name: &str, text: &str) -> String {
    let mut line = String::new();
    if !wait_until(T, || {
        line = status_line(p, name);
        line.contains(text)
    }) {
        panic!(
            "job {name}'s status never showed {text:?}; last: {line:?}\nlog:\n{}",
            p.log()
        );
    }
    line
}

fn wait_socket(p: &Pmtr) {
    expect_within(T, "the control socket", || {
        ctl(p, &["status"]).status.code() != Some(1)
    });
}

#[test]
fn status_shows_each_state() {
    let config = [
        job("up", "/bin/sleep 1000"),
        job("quick", "/bin/sh -c \"exit 1\""),
        job("e33", "/bin/sh -c \"exit 33\""),
        "job {\n name one\n cmd /bin/true\n once\n}\n".to_string(),
        "job {\n name off\n cmd /bin/sleep 1000\n disable\n}\n".to_string(),
        "job {\n name nobody\n cmd /bin/sleep 1000\n user no-such-user-here\n}\n".to_string(),
    ]
    .concat();
    let p = Pmtr::start("status-states", &config);
    let pid = p.wait_job("up", T);
    let line = expect_status(&p, "up", "running");
    assert!(line.starts_with(&format!("up running {pid} ")), "{line}");
    let line = expect_status(&p, "quick", "waiting to restart in");
    assert!(line.contains("exit status 1,"), "{line}");
    let line = expect_status(&p, "e33", "stopped by exit 33");
    assert!(line.contains("exit status 33,"), "{line}");
    let line = expect_status(&p, "one", "done (once)");
    assert!(line.contains("exit status 0,"), "{line}");
    assert_eq!(expect_status(&p, "off", "disabled"), "off disabled - - 0 -");
    expect_status(&p, "nobody", "not startable");

    let all = ctl(&p, &["status"]);
    let text = stdout(&all);
    assert!(text.starts_with("NAME "), "{text}");
    assert!(
        text.contains("nobody: can't start:") && text.contains("no-such-user-here"),
        "{text}"
    );
    // Columns line up: every row has its state where the header has STATE.
    let col = text.lines().next().unwrap().find("STATE").unwrap();
    for l in text.lines().skip(1).take(6) {
        assert_eq!(&l[col - 2..col], "  ", "{text}");
        assert_ne!(l.as_bytes()[col], b' ', "{text}");
    }
    // Waiting, exit 33 and not startable are not running: LSB 3.
    assert_eq!(all.status.code(), Some(3), "{text}");
    // Running, and a `once` job that has run, are fine.
    assert_eq!(ctl(&p, &["status", "up", "one"]).status.code(), Some(0));
    assert_eq!(ctl(&p, &["status", "up", "quick"]).status.code(), Some(3));
    // Named, a disabled job is not running.
    assert_eq!(ctl(&p, &["status", "off"]).status.code(), Some(3));
}

#[test]
fn status_shows_stopping_until_the_job_is_gone() {
    // The job ignores SIGTERM (ignored signals survive exec), so its stop
    // lasts until the SIGKILL 5 s later.
    let p = Pmtr::start(
        "status-stopping",
        "job {\n name stubborn\n cmd /bin/sh -c \"trap '' TERM; exec /bin/sleep 1000\"\n kill after 5s\n}\n",
    );
    let pid = p.wait_job("stubborn", T);
    // The trap is set once the shell has exec'd sleep.
    expect_within(T, "exec of sleep", || {
        cmdline(pid) == ["/bin/sleep", "1000"]
    });
    expect_status(&p, "stubborn", "running");
    assert!(ctl(&p, &["stop", "stubborn"]).status.success());
    let line = status_line(&p, "stubborn");
    assert!(
        line.starts_with(&format!("stubborn stopping {pid} ")),
        "{line}"
    );
    expect_status(&p, "stubborn", "disabled until the config changes");
    assert!(!alive(pid));
    p.expect_log("sending SIGKILL to job stubborn", T);
}

#[test]
fn status_json_parses() {
    let config = [
        job("up", "/bin/sleep 1000"),
        job("quick", "/bin/sh -c \"exit 1\""),
        "job {\n name one\n cmd /bin/true\n once\n}\n".to_string(),
    ]
    .concat();
    let p = Pmtr::start("status-json", &config);
    let pid = p.wait_job("up", T);
    expect_status(&p, "quick", "waiting");
    expect_status(&p, "one", "done");
    let out = ctl(&p, &["status", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    // Checked by a real JSON parser, field by field.
    let check = format!(
        r#"
import json, sys
d = json.load(sys.stdin)
assert d["pid"] == {pmtr}, d
jobs = {{j["name"]: j for j in d["jobs"]}}
assert list(jobs) == ["up", "quick", "one"], d
up = jobs["up"]
assert up["state"] == "running" and up["pid"] == {pid} and up["ok"] is True, up
assert isinstance(up["uptime_secs"], int) and up["last_exit"] is None, up
q = jobs["quick"]
assert q["state"] == "waiting" and q["ok"] is False and q["pid"] is None, q
assert 0 < q["restart_in_secs"] <= 10 and q["last_exit"]["status"] == 1, q
assert jobs["one"]["state"] == "done" and jobs["one"]["ok"] is True
"#,
        pmtr = p.pid()
    );
    let mut py = Command::new("python3")
        .arg("-c")
        .arg(check)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    py.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    let res = py.wait_with_output().unwrap();
    assert!(
        res.status.success(),
        "{}\n{}",
        stdout(&out),
        String::from_utf8_lossy(&res.stderr)
    );
}

/// A copy of the binary that any uid may run, wherever the build tree is.
fn world_runnable_pmtr(dir: &TempDir) -> String {
    let bin = dir.join("pmtr-bin");
    fs::copy(pmtr_bin(), &bin).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    bin.to_str().unwrap().to_string()
}

fn as_nobody(bin: &str, args: &[&str]) -> Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", bin])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn other_uid_is_refused() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root to switch to uid 65534");
        return;
    }
    let mut p = Pmtr::start("status-perm", &job("up", "/bin/sleep 1000"));
    let pid = p.wait_job("up", T);
    wait_socket(&p);
    let sock = p.socket();
    let sock_s = sock.to_str().unwrap();
    let mode = fs::metadata(&sock).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    fs::set_permissions(p.dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let bin = world_runnable_pmtr(&p.dir);

    // First layer: the socket's mode.
    let out = as_nobody(&bin, &["status", "-s", sock_s]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(sock_s) && stderr(&out).contains("Permission denied"),
        "{}",
        stderr(&out)
    );

    // Second layer: with the mode opened, pmtr checks the peer's uid.
    fs::set_permissions(&sock, fs::Permissions::from_mode(0o666)).unwrap();
    for args in [&["status"][..], &["stop", "up"][..]] {
        let mut args = args.to_vec();
        args.extend(["-s", sock_s]);
        let out = as_nobody(&bin, &args);
        assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("permission denied: uid 65534 may not query or control pmtr"),
            "{}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty());
    }
    p.expect_log("refused a request from uid 65534", T);
    assert!(alive(pid), "a refused stop must not stop the job");
    // Root still may.
    assert_eq!(ctl(&p, &["status"]).status.code(), Some(0));
    assert_eq!(p.stop(), Some(0));
}

#[test]
fn stop_start_restart_take_effect() {
    let p = Pmtr::start("status-control", &job("up", "/bin/sleep 1000"));
    let first = p.wait_job("up", T);
    wait_socket(&p);

    let out = ctl(&p, &["stop", "up"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "up: stopping\n");
    // The SIGTERM went out before the answer.
    assert!(p.log().contains("sending SIGTERM to job up"), "{}", p.log());
    expect_within(T, "the job to exit", || !alive(first));
    expect_status(&p, "up", "disabled until the config changes");
    assert_eq!(ctl(&p, &["status", "up"]).status.code(), Some(3));

    let out = ctl(&p, &["start", "up"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Started before the answer: no waiting for the loop's next turn.
    assert_eq!(p.log_count("started job up ["), 2, "{}", p.log());
    let second = p.wait_job("up", T);
    assert_ne!(first, second);
    assert_eq!(ctl(&p, &["status", "up"]).status.code(), Some(0));
    assert_eq!(stdout(&ctl(&p, &["start", "up"])), "up: already running\n");

    let out = ctl(&p, &["restart", "up"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "up: restarting\n");
    expect_within(T, "the restart", || p.log_count("started job up [") == 3);
    let third = p.wait_job("up", T);
    assert!(!alive(second));
    assert_ne!(second, third);
}

#[test]
fn restart_skips_the_anti_spin_wait() {
    let p = Pmtr::start("status-restart-now", &job("quick", "/bin/sh -c \"exit 1\""));
    p.expect_log("restarting it in 10 sec", T);
    wait_socket(&p);
    assert_eq!(p.log_count("started job quick ["), 1);
    let out = ctl(&p, &["restart", "quick"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "quick: started\n");
    // Spawned while answering, well inside the 10 s wait.
    assert_eq!(p.log_count("started job quick ["), 2, "{}", p.log());
}

#[test]
fn stop_lasts_until_the_config_changes() {
    let base = job("up", "/bin/sleep 1000");
    let p = Pmtr::start("status-stop-config", &base);
    let first = p.wait_job("up", T);
    wait_socket(&p);
    assert!(ctl(&p, &["stop", "up"]).status.success());
    expect_within(T, "the job to exit", || !alive(first));
    // An edit that leaves `up` unchanged still ends the stop (like a UDP
    // disable).
    p.write_config(&(base + &job("other", "/bin/sleep 1001")));
    p.wait_job("other", T);
    let second = p.wait_job("up", T);
    assert_ne!(first, second);
    expect_status(&p, "up", "running");
}

#[test]
fn unknown_names_are_an_error_naming_them() {
    let p = Pmtr::start("status-unknown", &job("up", "/bin/sleep 1000"));
    let pid = p.wait_job("up", T);
    wait_socket(&p);
    for verb in ["stop", "status"] {
        let out = ctl(&p, &[verb, "up", "nope", "zilch"]);
        assert_eq!(out.status.code(), Some(1), "{verb}");
        let err = stderr(&out);
        assert!(
            err.contains("no job named 'nope', 'zilch'") && err.contains("nothing done"),
            "{err}"
        );
    }
    // All or nothing: the known name was not stopped either.
    assert!(alive(pid));
    assert!(!p.log().contains("sending SIGTERM"), "{}", p.log());
}

#[test]
fn usage_errors_exit_2() {
    for args in [&["stop"][..], &["status", "-x"][..], &["restart", "-s"][..]] {
        let out = run_pmtr(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("usage: pmtr status"), "{args:?}");
    }
    let help = run_pmtr(&["status", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("--json"));
}

#[test]
fn unreachable_pmtr_exits_1_naming_the_socket() {
    let dir = TempDir::new("status-unreachable");
    let sock = dir.join("nobody-here.sock");
    let out = ctl_at(&sock, &["status"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(sock.to_str().unwrap()) && err.contains("No such file or directory"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn stale_socket_is_replaced() {
    let dir = TempDir::new("status-stale");
    let sock = dir.join("pmtr.sock");
    // What a crashed pmtr leaves: a socket file nobody listens on.
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    assert!(fs::symlink_metadata(&sock).is_ok());
    let conf = dir.write("pmtr.conf", &job("up", "/bin/sleep 1000"));
    let mut p = Pmtr::spawn_in(dir, conf, &[]);
    p.wait_job("up", T);
    p.expect_log("replacing stale control socket", T);
    expect_status(&p, "up", "running");
    assert_eq!(p.stop(), Some(0));
    assert!(
        fs::symlink_metadata(&sock).is_err(),
        "the socket is removed at exit"
    );
}

#[test]
fn live_socket_of_another_pmtr_is_left_alone() {
    let mut a = Pmtr::start("status-two-a", &job("a", "/bin/sleep 1000"));
    a.wait_job("a", T);
    wait_socket(&a);
    let sock = a.socket();
    let sock_s = sock.to_str().unwrap();
    let mut b = Pmtr::start_with(
        "status-two-b",
        &job("b", "/bin/sleep 1000"),
        &["-s", sock_s],
    );
    b.wait_job("b", T);
    b.expect_log("is in use by another process", T);
    // Still the first pmtr's socket, also after the second one exits.
    assert_eq!(b.stop(), Some(0));
    let out = ctl_at(&sock, &["status", "--json"]);
    assert!(
        stdout(&out).starts_with(&format!("{{\"pid\":{},", a.pid())),
        "{}",
        stdout(&out)
    );
    assert_eq!(a.stop(), Some(0));
    assert!(fs::symlink_metadata(&sock).is_err());
}

#[test]
fn stalled_clients_do_not_block_pmtr() {
    let p = Pmtr::start("status-stalled", &job("up", "/bin/sleep 1000"));
    p.wait_job("up", T);
    wait_socket(&p);
    // Connections that never say anything, more than pmtr keeps: the
    // oldest are closed to make room, and requests are still answered.
    let silent: Vec<_> = (0..20)
        .map(|_| std::os::unix::net::UnixStream::connect(p.socket()).unwrap())
        .collect();
    expect_status(&p, "up", "running");
    // A request longer than pmtr accepts gets an error, not a hang.
    let long = format!("status {}\n", "x".repeat(2000));
    let mut s = std::os::unix::net::UnixStream::connect(p.socket()).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    use std::io::{Read, Write};
    let _ = s.write_all(long.as_bytes());
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(
        answer.starts_with("error\trequest longer than"),
        "{answer:?}"
    );
    drop(silent);
    expect_status(&p, "up", "running");
}

#[test]
fn idle_pmtr_makes_no_syscalls_with_the_socket_open() {
    let p = Pmtr::start("status-idle", &job("up", "/bin/sleep 1000"));
    p.wait_job("up", T);
    wait_socket(&p);
    // Used once, so the listener and a closed client have been through
    // the loop.
    expect_status(&p, "up", "running");
    p.expect_log("configuration loaded", T);
    // The observation window: pmtr is idle, so nothing may happen in it.
    // strace shows the epoll_wait pmtr was blocked in as unfinished, then
    // detached; a call that completed would end in "= RESULT".
    let text = strace_window(p.pid(), "idle-strace", Duration::from_secs(3));
    let completed = completed_calls(&text);
    assert!(completed.is_empty(), "idle pmtr made system calls:\n{text}");
    assert!(text.contains("epoll_"), "{text}");
}
