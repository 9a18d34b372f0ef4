//! Readiness, `after` and health checks against real processes (issue
//! 16): each `ready` form, with sd_notify clients nobody here wrote
//! (`systemd-notify` from Debian's systemd package, python's `sdnotify`
//! from PyPI) and a raw socket; a chain of three jobs; `after … restart`;
//! a check failing three times; a watchdog and a ready timeout running
//! out; what `pmtr status` says meanwhile. Times are short (100s of ms);
//! every wait is on a condition with a generous deadline.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::util::*;

const T: Duration = Duration::from_secs(15);

fn job(name: &str, body: &str) -> String {
    format!("job {{\n name {name}\n{body}\n}}\n")
}

/// Like [`Pmtr::start`], with `script` in `job.py` (mode 0644) before
/// pmtr starts: written after, a loaded machine let pmtr start python
/// first, which found no file, exited 2 and was started again only 10 s
/// later (a quick exit), so the test saw a second PID.
fn start_with_job_py(name: &str, config: &str, script: &str) -> Pmtr {
    let dir = TempDir::new(name);
    let py = dir.write("job.py", script);
    fs::set_permissions(&py, fs::Permissions::from_mode(0o644)).unwrap();
    let text = config.replace("{dir}", dir.path().to_str().unwrap());
    let conf = dir.write("pmtr.conf", &text);
    Pmtr::spawn_in(dir, conf, &[])
}

fn ctl(p: &Pmtr, args: &[&str]) -> Output {
    Command::new(pmtr_bin())
        .args(args)
        .arg("-s")
        .arg(p.socket())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Job `name`'s row of the status table, whitespace collapsed.
fn status_line(p: &Pmtr, name: &str) -> String {
    let out = ctl(p, &["status"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Waits until job `name`'s status row contains `text`; returns the row.
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

/// `pmtr status --json NAME`'s document, as python sees it: `expr` is a
/// python expression over `j` (the job's object) that must be true.
fn json_holds(p: &Pmtr, name: &str, expr: &str) -> bool {
    let out = ctl(p, &["status", "--json", name]);
    let check = format!(
        "import json,sys\nj=json.load(sys.stdin)['jobs'][0]\nsys.exit(0 if ({expr}) else 1)"
    );
    let mut py = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(check)
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    let _ = py.stdin.take().unwrap().write_all(&out.stdout);
    py.wait().unwrap().success()
}

fn expect_json(p: &Pmtr, name: &str, expr: &str) {
    if !wait_until(T, || json_holds(p, name, expr)) {
        let out = ctl(p, &["status", "--json", name]);
        panic!(
            "never true: {expr}\njson: {}\nlog:\n{}",
            String::from_utf8_lossy(&out.stdout),
            p.log()
        );
    }
}

/// Where a line first appears in the log (for the order of events).
fn log_pos(p: &Pmtr, text: &str) -> usize {
    p.expect_log(text, T);
    p.log().find(text).unwrap()
}

/// python's `sdnotify` from PyPI, installed by tests/setup.sh for the
/// system python (`/usr/bin/python3`), which the jobs run.
fn sdnotify_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let py = target.join("test-tools/py");
    assert!(
        py.join("sdnotify/__init__.py").is_file(),
        "{} has no sdnotify; run tests/setup.sh",
        py.display()
    );
    py
}

#[test]
fn ready_notify_with_systemd_notify() {
    assert!(
        Command::new("systemd-notify")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "systemd-notify missing; run tests/setup.sh"
    );
    let p = Pmtr::start(
        "rdy-sdn",
        &job(
            "db",
            " cmd /bin/sh -c \"while [ ! -e {dir}/go ]; do sleep 0.05; done; \
             systemd-notify --ready '--status=accepting connections'; exec sleep 1000\"\n \
             ready notify",
        ),
    );
    p.wait_job("db", T);
    // Not ready yet: `starting`, and not fine for the exit status.
    let line = expect_status(&p, "db", "starting");
    assert!(line.starts_with("db starting "), "{line}");
    assert_eq!(ctl(&p, &["status", "db"]).status.code(), Some(3));
    p.dir.write("go", "");
    p.expect_log("job db is ready", T);
    expect_status(&p, "db", "running");
    assert_eq!(ctl(&p, &["status", "db"]).status.code(), Some(0));
    expect_json(
        &p,
        "db",
        "j['state'] == 'running' and j['status_text'] == 'accepting connections' and j['ok']",
    );
}

#[test]
fn ready_notify_with_python_sdnotify_and_watchdog_usec() {
    let py = sdnotify_path();
    let script = "import os, sdnotify, time\n\
                  n = sdnotify.SystemdNotifier()\n\
                  n.notify('STATUS=usec ' + os.environ['WATCHDOG_USEC'])\n\
                  n.notify('READY=1')\n\
                  while True:\n    n.notify('WATCHDOG=1'); time.sleep(0.1)\n";
    let p = start_with_job_py(
        "rdy-py",
        &job(
            "py",
            &format!(
                " cmd /usr/bin/python3 {{dir}}/job.py\n env PYTHONPATH={}\n ready notify\n watchdog 2s",
                py.display()
            ),
        ),
        script,
    );
    p.expect_log("job py is ready", T);
    expect_json(
        &p,
        "py",
        "j['state'] == 'running' and j['status_text'] == 'usec 2000000'",
    );
    // Kept alive by its WATCHDOG=1 well past the 2 s.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(p.log_count("started job py"), 1, "{}", p.log());
}

#[test]
fn ready_notify_raw_socket_and_its_rights() {
    // A raw client: NOTIFY_SOCKET from the environment, one datagram of
    // several lines, as the protocol allows.
    let script = "import os, socket\n\
                  s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
                  s.sendto(b'STATUS=raw\\nMAINPID=%d\\nREADY=1' % os.getpid(), os.environ['NOTIFY_SOCKET'])\n\
                  os.execv('/bin/sleep', ['sleep', '1000'])\n";
    let p = start_with_job_py(
        "rdy-raw",
        &job(
            "raw",
            " cmd /usr/bin/python3 {dir}/job.py\n ready notify\n user nobody",
        ),
        script,
    );
    let pid = p.wait_job("raw", T);
    p.expect_log("job raw is ready", T);
    // MAINPID is read and ignored: pmtr keeps to the process it started.
    expect_json(
        &p,
        "raw",
        &format!("j['pid'] == {pid} and 'main_pid' not in j and j['status_text'] == 'raw'"),
    );
    // The socket: in a directory beside the control socket, the job's
    // user's, 0600.
    let sock = fs::read_dir(p.dir.join("pmtr.notify"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let meta = fs::metadata(&sock).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (65534, 0o600));
    let dir_mode = fs::metadata(p.dir.join("pmtr.notify")).unwrap().mode();
    assert_eq!(dir_mode & 0o777, 0o711);
}

#[test]
fn ready_fd_newline() {
    let p = Pmtr::start(
        "rdy-fd",
        &job(
            "s6",
            " cmd /bin/sh -c \"while [ ! -e {dir}/go ]; do sleep 0.05; done; echo >&3; exec sleep 1000\"\n \
             ready fd 3",
        ),
    );
    p.wait_job("s6", T);
    expect_status(&p, "s6", "starting");
    p.dir.write("go", "");
    p.expect_log("job s6 is ready", T);
    expect_status(&p, "s6", "running");
}

#[test]
fn ready_when_command_runs_as_the_job_in_its_dir() {
    let p = Pmtr::start(
        "rdy-when",
        &job(
            "web",
            " cmd /bin/sleep 1000\n dir {dir}\n ready when /bin/sh -c \"test -e go && id -u > who\"\n \
             ready every 100ms",
        ),
    );
    p.wait_job("web", T);
    expect_status(&p, "web", "starting");
    p.dir.write("go", "");
    p.expect_log("job web is ready", T);
    expect_status(&p, "web", "running");
    assert_eq!(p.dir.read("who").trim(), "0");
}

#[test]
fn ready_timeout_stops_the_job_as_a_quick_exit() {
    let p = Pmtr::start(
        "rdy-timeout",
        &job(
            "slow",
            " cmd /bin/sleep 1000\n ready notify\n ready timeout 400ms",
        ),
    );
    let pid = p.wait_job("slow", T);
    p.expect_log("job slow not ready after 400 ms; stopping it", T);
    p.expect_log(
        &format!("job slow [{pid}] exited after 0 sec: signal 15"),
        T,
    );
    p.expect_log("restarting it in 10 sec", T);
    expect_status(&p, "slow", "waiting to restart");
}

#[test]
fn watchdog_silence_restarts_the_job() {
    let script = "import os, socket, time\n\
                  s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
                  a = os.environ['NOTIFY_SOCKET']\n\
                  s.sendto(b'READY=1', a)\n\
                  for _ in range(5):\n    time.sleep(0.1); s.sendto(b'WATCHDOG=1', a)\n\
                  time.sleep(1000)\n";
    let p = start_with_job_py(
        "rdy-wd",
        &job(
            "wd",
            " cmd /usr/bin/python3 {dir}/job.py\n ready notify\n watchdog 600ms",
        ),
        script,
    );
    let pid = p.wait_job("wd", T);
    p.expect_log("job wd is ready", T);
    p.expect_log("job wd: no WATCHDOG=1 for 600 ms; restarting it", T);
    p.expect_log(&format!("job wd [{pid}] exited after"), T);
    // Restarted at once (the watchdog is not a quick exit's wait).
    expect_within(T, "a new run of wd", || p.log_count("started job wd") == 2);
    // The whole run lasted the pings (0.5 s) plus the 600 ms, not less.
    let ran = p
        .log()
        .contains(&format!("job wd [{pid}] exited after 1 sec"))
        || p.log()
            .contains(&format!("job wd [{pid}] exited after 2 sec"));
    assert!(ran, "{}", p.log());
}

#[test]
fn three_failed_checks_restart_the_job_with_the_last_line_logged() {
    let p = Pmtr::start(
        "rdy-check",
        &job(
            "api",
            " cmd /bin/sleep 1000\n \
             check every 200ms /bin/sh -c \"echo probing; test ! -e {dir}/bad || { echo 'down: 503' >&2; exit 1; }\"\n \
             check timeout 1s",
        ),
    );
    let pid = p.wait_job("api", T);
    expect_json(
        &p,
        "api",
        "j.get('check') == 'ok' and j['check_text'] == 'probing'",
    );
    assert_eq!(ctl(&p, &["status", "api"]).status.code(), Some(0));
    p.dir.write("bad", "");
    p.expect_log(
        "job api: check failed (1 of 3): exit status 1: down: 503",
        T,
    );
    p.expect_log("job api: check failed (2 of 3)", T);
    // Unhealthy between the first failure and the restart: not fine.
    expect_json(
        &p,
        "api",
        "j['state'] in ('unhealthy', 'stopping', 'running')",
    );
    p.expect_log(
        "job api: 3 checks failed in a row (last: exit status 1: down: 503); restarting it",
        T,
    );
    p.expect_log(&format!("job api [{pid}] exited after"), T);
    expect_within(T, "api restarted", || p.log_count("started job api") == 2);
    // It recovers once the check passes again.
    fs::remove_file(p.dir.join("bad")).unwrap();
    expect_json(&p, "api", "j['state'] == 'running' and j['check'] == 'ok'");
}

#[test]
fn unhealthy_shows_in_status_and_recovers() {
    let p = Pmtr::start(
        "rdy-unh",
        &job(
            "api",
            " cmd /bin/sleep 1000\n check every 150ms /bin/sh -c \"test ! -e {dir}/bad\"\n check fails 1000",
        ),
    );
    p.wait_job("api", T);
    expect_status(&p, "api", "running");
    p.dir.write("bad", "");
    let line = expect_status(&p, "api", "unhealthy");
    assert!(line.starts_with("api unhealthy "), "{line}");
    assert_eq!(ctl(&p, &["status", "api"]).status.code(), Some(3));
    expect_json(
        &p,
        "api",
        "j['state'] == 'unhealthy' and j['fails'] >= 1 and not j['ok']",
    );
    fs::remove_file(p.dir.join("bad")).unwrap();
    p.expect_log("job api: check passed; healthy again", T);
    expect_status(&p, "api", "running");
}

#[test]
fn a_chain_of_three_starts_in_order_and_others_start_at_once() {
    let notify = " cmd /bin/sh -c \"while [ ! -e {dir}/go ]; do sleep 0.05; done; \
                  systemd-notify --ready; exec sleep 1000\"\n ready notify";
    let config = [
        job("web", " cmd /bin/sleep 1000\n after app"),
        job(
            "app",
            " cmd /bin/sh -c \"sleep 0.2; echo >&3; exec sleep 1000\"\n ready fd 3\n after db",
        ),
        job("db", notify),
        job("cron", " cmd /bin/sleep 1000"),
    ]
    .concat();
    let p = Pmtr::start("rdy-chain", &config);
    // Unrelated jobs do not wait (unlike `wait`).
    p.wait_job("cron", T);
    p.wait_job("db", T);
    expect_status(&p, "app", "waiting for db");
    expect_status(&p, "web", "waiting for app");
    assert!(!p.log().contains("started job app"), "{}", p.log());
    p.dir.write("go", "");
    let db_ready = log_pos(&p, "job db is ready");
    let app_started = log_pos(&p, "started job app");
    let app_ready = log_pos(&p, "job app is ready");
    let web_started = log_pos(&p, "started job web");
    assert!(
        db_ready < app_started && app_ready < web_started,
        "{}",
        p.log()
    );
    expect_status(&p, "web", "running");
}

#[test]
fn after_restart_stops_dependents_first_and_starts_them_after() {
    let config = [
        job("db", " cmd /bin/sleep 1000"),
        job("web", " cmd /bin/sleep 1000\n after db restart"),
        job("cron", " cmd /bin/sleep 1000\n after db"),
    ]
    .concat();
    let p = Pmtr::start("rdy-restart", &config);
    let db = p.wait_job("db", T);
    let web = p.wait_job("web", T);
    let cron = p.wait_job("cron", T);
    assert!(ctl(&p, &["restart", "db"]).status.success());
    let web_stopping = log_pos(&p, "job web restarts with db: stopping it");
    let web_gone = log_pos(&p, &format!("job web [{web}] exited"));
    let db_term = log_pos(&p, &format!("sending SIGTERM to job db [{db}]"));
    assert!(web_stopping < web_gone && web_gone < db_term, "{}", p.log());
    expect_within(T, "db and web started again", || {
        p.log_count("started job db") == 2 && p.log_count("started job web") == 2
    });
    assert!(
        log_pos(&p, &format!("job db [{db}] exited")) < p.log().rfind("started job web").unwrap()
    );
    // Without `restart`, cron runs on through db's restart.
    assert!(alive(cron));
    assert_eq!(p.log_count("started job cron"), 1);
}

#[test]
fn a_once_job_is_ready_when_it_exited_0() {
    let config = [
        job("setup", " cmd /bin/sh -c \"sleep 0.3\"\n once"),
        job("app", " cmd /bin/sleep 1000\n after setup"),
        job("broken", " cmd /bin/sh -c \"exit 2\"\n once"),
        job("never", " cmd /bin/sleep 1000\n after broken"),
    ]
    .concat();
    let p = Pmtr::start("rdy-once", &config);
    let done = log_pos(&p, "job setup [");
    let started = log_pos(&p, "started job app");
    assert!(done < started, "{}", p.log());
    expect_status(&p, "never", "waiting for broken");
}

#[test]
fn cycles_and_unknown_names_are_config_errors() {
    let dir = TempDir::new("rdy-cycle");
    let conf = dir.write(
        "pmtr.conf",
        &[
            job("web", " cmd /bin/true\n after db"),
            job("db", " cmd /bin/true\n after web cache"),
        ]
        .concat(),
    );
    let out = run_pmtr(&["-t", "-c", conf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let file = conf.display();
    assert!(
        err.contains(&format!(
            "{file}:9:8: 'after' makes a cycle: web -> db -> web"
        )) && err.contains(&format!(
            "{file}:9:12: 'after cache': no job is named 'cache'"
        )),
        "{err}"
    );
}

#[test]
fn the_example_is_valid() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/ready.conf");
    let out = run_pmtr(&["-t", "-c", example]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_check_that_cant_run_fails_with_the_reason() {
    let p = Pmtr::start(
        "rdy-nocheck",
        &job(
            "lost",
            " cmd /bin/sleep 1000\n check every 200ms /no/such/check --now",
        ),
    );
    p.wait_job("lost", T);
    p.expect_log(
        "job lost: check failed (1 of 3): can't run /no/such/check: No such file or directory",
        T,
    );
}

/// Once its jobs are ready, pmtr sleeps: `ready`, `after` and a ready
/// notify socket add no timer or wakeup (only checks and the watchdog are
/// timers, and a job without them has none).
#[test]
fn ready_jobs_leave_pmtr_idle_with_no_system_calls() {
    let config = [
        job(
            "db",
            " cmd /bin/sh -c \"systemd-notify --ready; exec sleep 1000\"\n ready notify",
        ),
        job(
            "app",
            " cmd /bin/sh -c \"echo >&3; exec sleep 1000\"\n ready fd 3\n after db restart",
        ),
        job(
            "web",
            " cmd /bin/sleep 1000\n ready when /bin/true\n ready every 100ms\n after app",
        ),
    ]
    .concat();
    let p = Pmtr::start("rdy-idle", &config);
    p.expect_log("job web is ready", T);
    expect_status(&p, "web", "running");
    // The readiness probe's next run, due when the job became ready,
    // leaves one wakeup (see wait_idle); after it pmtr must sleep.
    wait_idle(p.pid(), T);
    let text = strace_window(p.pid(), "rdy-idle-strace", Duration::from_secs(2));
    let completed = completed_calls(&text);
    assert!(completed.is_empty(), "idle pmtr made system calls:\n{text}");
}

/// The UDP report carries `starting` and `unhealthy` after a tab, where
/// the original C pmtr-rptserver (first three words) does not look, and
/// pmtr-rptserver shows them.
#[test]
fn report_and_rptserver_carry_starting_and_unhealthy() {
    use std::net::UdpSocket;
    let free = || {
        UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let (raw, rpt, ctl_port) = (rx.local_addr().unwrap().port(), free(), free());
    let dir = TempDir::new("rdy-rpt");
    let file = dir.join("status.txt");
    let mut server = Command::new(env!("CARGO_BIN_EXE_pmtr-rptserver"))
        .args(["-a", "127.0.0.1", "-p", &rpt.to_string(), "-f"])
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    expect_within(T, "the summary file", || file.exists());
    let config = format!(
        "report to udp://127.0.0.1:{raw}\nreport to udp://127.0.0.1:{rpt}\nlisten on udp://127.0.0.1:{ctl_port}\n{}{}{}",
        job("slow", " cmd /bin/sleep 1000\n ready notify"),
        job(
            "sick",
            " cmd /bin/sleep 1001\n check every 150ms /bin/false\n check fails 1000"
        ),
        job("fine", " cmd /bin/sleep 1002"),
    );
    let p = Pmtr::start("rdy-report", &config);
    p.wait_job("slow", T);
    p.expect_log("job sick: check failed (1 of 1000)", T);
    // An enable sends a report at once (rather than within 10 s).
    let mut lines = Vec::new();
    expect_within(T, "a report with both states", || {
        let _ = Command::new(env!("CARGO_BIN_EXE_pmtr-ctl"))
            .args([
                "-s",
                "127.0.0.1",
                "-p",
                &ctl_port.to_string(),
                "enable",
                "fine",
            ])
            .output();
        let mut buf = [0u8; 2048];
        while let Ok(n) = rx.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if text.contains("\tunhealthy ") && text.contains("\tstarting ") {
                lines = text.lines().map(String::from).collect();
                return true;
            }
        }
        false
    });
    let line = |name: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap()
            .clone()
    };
    assert!(
        line("slow").contains(" /bin/sleep 1000\tstarting "),
        "{lines:?}"
    );
    assert!(
        line("sick").contains(" /bin/sleep 1001\tunhealthy "),
        "{lines:?}"
    );
    // A ready, healthy job's line is as it always was.
    assert!(line("fine").ends_with(" /bin/sleep 1002"), "{lines:?}");
    // What the original reader takes: name, e|d, seconds.
    let sick = line("sick");
    let words: Vec<&str> = sick.split_whitespace().take(3).collect();
    assert_eq!(words[..2], ["sick", "e"]);
    assert!(words[2].parse::<u64>().is_ok());
    expect_within(T, "the states in pmtr-rptserver's summary", || {
        let text = fs::read_to_string(&file).unwrap_or_default();
        let state = |name: &str| {
            text.lines()
                .find(|l| l.split_whitespace().nth(1) == Some(name))
                .and_then(|l| l.split_whitespace().nth(2).map(String::from))
        };
        state("slow").as_deref() == Some("starting")
            && state("sick").as_deref() == Some("unhealthy")
    });
    let _ = server.kill();
    let _ = server.wait();
}

/// A job stopped for not getting ready counts as a quick exit: its
/// `restart delay` applies and `give up` counts it (issue 15's rules).
#[test]
fn ready_timeouts_count_towards_give_up() {
    let p = Pmtr::start(
        "rdy-giveup",
        &job(
            "never",
            " cmd /bin/sleep 1000\n ready notify\n ready timeout 200ms\n restart delay 1s\n \
             give up after 2 in 1m",
        ),
    );
    p.expect_log("job never not ready after 200 ms; stopping it", T);
    p.expect_log("job never failed: 2 quick exits within 60 sec", T);
    assert_eq!(p.log_count("started job never"), 2, "{}", p.log());
    let line = status_line(&p, "never");
    assert!(line.starts_with("never failed"), "{line}");
}
