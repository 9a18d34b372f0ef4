//! Hostile readiness input (issue 16): a job flooding its notify socket
//! or its ready fd, oversized and garbage datagrams, another user sending
//! to a job's socket, a check that never exits or prints megabytes. pmtr
//! keeps answering `pmtr status` (see `ANSWER_LIMIT`), its memory stays
//! bounded, and nothing but the job's own word makes it ready.

use std::fs;
use std::process::Command;
use std::time::Duration;

use super::stays_responsive;
use crate::util::*;

const T: Duration = Duration::from_secs(15);

/// The state word of job `name` in `pmtr status`.
fn state_of(p: &Pmtr, name: &str) -> String {
    let out = Command::new(pmtr_bin())
        .args(["status", "-s"])
        .arg(p.socket())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1).map(String::from))
        .unwrap_or_default()
}

fn job(name: &str, body: &str) -> String {
    format!("job {{\n name {name}\n{body}\n}}\n")
}

/// Runs `script` with the system python as job `name` (ready notify).
fn python_job(name: &str, script: &str) -> Pmtr {
    let p = Pmtr::start(
        &format!("hr-{name}"),
        &job(
            name,
            &format!(" cmd /usr/bin/python3 {{dir}}/{name}.py\n ready notify"),
        ),
    );
    p.dir.write(&format!("{name}.py"), script);
    p
}

/// A job sends datagrams as fast as it can (never READY=1): bounded reads
/// per wakeup keep the control socket served; memory does not grow.
#[test]
fn notify_flood_leaves_pmtr_responsive_and_bounded() {
    let script = "import os, socket\n\
                  s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
                  a = os.environ['NOTIFY_SOCKET']\n\
                  m = [b'STATUS=' + b'x' * 100, b'WATCHDOG=1', b'X' * 4000, b'MAINPID=1']\n\
                  i = 0\n\
                  while True:\n    s.sendto(m[i % 4], a); i += 1\n";
    let p = python_job("flood", script);
    p.wait_job("flood", T);
    std::thread::sleep(Duration::from_millis(500));
    let before = anon_kb(p.pid());
    stays_responsive(&p, Duration::from_secs(3));
    assert_eq!(state_of(&p, "flood"), "starting");
    let after = anon_kb(p.pid());
    assert!(
        after <= before + 256,
        "anonymous memory grew from {before} to {after} kB"
    );
    // MAINPID=1 (PID 1's group is outside a container's pid namespace,
    // which once aborted pmtr) is ignored.
    let out = Command::new(pmtr_bin())
        .args(["status", "--json", "-s"])
        .arg(p.socket())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"status_text\":\"xxxx"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("main_pid"));
}

/// Oversized datagrams, binary garbage, READY=0, READY=1 inside another
/// key's value: none makes the job ready; a real READY=1 afterwards does.
#[test]
fn oversized_and_garbage_datagrams_change_nothing() {
    let script = "import os, socket, time\n\
                  s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
                  s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 300000)\n\
                  a = os.environ['NOTIFY_SOCKET']\n\
                  s.sendto(b'READY=1' + b'\\n' * 70000, a)\n\
                  s.sendto(bytes(range(256)) * 8, a)\n\
                  s.sendto(b'READY=0\\nSTATUS=READY=1\\nREADY =1\\n\\x00READY=1', a)\n\
                  s.sendto(b'', a)\n\
                  while not os.path.exists(os.path.dirname(__file__) + '/go'): time.sleep(0.05)\n\
                  s.sendto(b'READY=1', a)\n\
                  time.sleep(1000)\n";
    let p = python_job("garbage", script);
    p.wait_job("garbage", T);
    stays_responsive(&p, Duration::from_secs(1));
    assert_eq!(state_of(&p, "garbage"), "starting", "{}", p.log());
    p.dir.write("go", "");
    p.expect_log("job garbage is ready", T);
}

/// A job that writes to its ready fd without end, never a newline: read
/// in bounded pieces, given up after 64 KiB (the pipe is closed).
#[test]
fn ready_fd_flood_is_bounded() {
    let p = Pmtr::start(
        "hr-fdflood",
        &job(
            "fdflood",
            " cmd /bin/sh -c \"cat /dev/zero >&3\"\n ready fd 3",
        ),
    );
    p.expect_log("started job fdflood", T);
    let before = anon_kb(p.pid());
    stays_responsive(&p, Duration::from_secs(2));
    // cat is killed by SIGPIPE once pmtr closes its end (sh exits 141).
    p.expect_log("exited after 0 sec: exit status 141", T);
    assert!(anon_kb(p.pid()) <= before + 256);
    assert!(!p.log().contains("job fdflood is ready"), "{}", p.log());
}

/// The socket of a job running as nobody is nobody's, mode 0600: another
/// user (daemon) can't send to it, so can't make the job ready.
#[test]
fn another_user_cannot_send_to_a_jobs_notify_socket() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root to switch users");
        return;
    }
    let p = Pmtr::start(
        "hr-other",
        &job(
            "victim",
            " cmd /bin/sleep 1000\n ready notify\n user nobody",
        ),
    );
    p.wait_job("victim", T);
    let dir = p.dir.join("pmtr.notify");
    expect_within(T, "the notify socket", || {
        fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some())
    });
    let sock = fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    let attack = format!(
        "import socket, sys\n\
         s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
         try:\n    s.sendto(b'READY=1', '{}')\nexcept PermissionError:\n    sys.exit(3)\n",
        sock.display()
    );
    // uid 1 (daemon), not the job's user.
    let out = Command::new("setpriv")
        .args([
            "--reuid=1",
            "--regid=1",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
        ])
        .arg(&attack)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(state_of(&p, "victim"), "starting");
    // The job's own user can.
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
        ])
        .arg(&attack)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    p.expect_log("job victim is ready", T);
}

/// How many processes run exactly `argv`.
fn count_running(argv: &[&str]) -> usize {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| alive(pid) && cmdline(pid) == argv)
        .count()
}

/// A check that never exits is killed at its timeout (its whole group),
/// counts as failed, and no check process is left behind.
#[test]
fn a_check_that_never_exits_is_killed_at_its_timeout() {
    let p = Pmtr::start(
        "hr-hang",
        &job(
            "hang",
            " cmd /bin/sleep 1000\n check every 200ms /bin/sh -c \"/bin/sleep 997 & exec /bin/sleep 998\"\n \
             check timeout 300ms\n check fails 2",
        ),
    );
    let pid = p.wait_job("hang", T);
    p.expect_log("job hang: check failed (1 of 2): timed out after 300 ms", T);
    stays_responsive(&p, Duration::from_millis(500));
    p.expect_log("job hang: 2 checks failed in a row", T);
    p.expect_log(&format!("job hang [{pid}] exited"), T);
    expect_within(T, "no check process left", || {
        count_running(&["/bin/sleep", "997"]) + count_running(&["/bin/sleep", "998"]) <= 1
    });
}

/// A check that prints megabytes: pmtr reads a bounded amount, keeps
/// answering, and its memory does not grow with the output.
#[test]
fn a_check_that_prints_megabytes_is_bounded() {
    let p = Pmtr::start(
        "hr-chatty",
        &job(
            "chatty",
            " cmd /bin/sleep 1000\n check every 300ms /bin/sh -c \"head -c 20000000 /dev/zero | tr '\\\\0' x; echo; echo last words\"\n \
             check timeout 2s",
        ),
    );
    p.wait_job("chatty", T);
    std::thread::sleep(Duration::from_millis(300));
    let before = anon_kb(p.pid());
    stays_responsive(&p, Duration::from_secs(3));
    assert!(anon_kb(p.pid()) <= before + 256, "anonymous memory grew");
    // Cut off after 64 KiB, the check fails (EPIPE) rather than hang pmtr.
    p.expect_log("job chatty: check failed (1 of 3)", T);
    let line = p
        .log()
        .lines()
        .find(|l| l.contains("job chatty: check failed"))
        .unwrap()
        .to_string();
    assert!(line.len() < 400, "{line}");
}
