//! Restart policy, backoff, crash-loop budget, stop and reload signals,
//! env files, groups and umask against real processes (issue 15). Delays
//! are short (1–8 s) so the suite stays fast; every wait is on a
//! condition with a deadline.

use std::fs;
use std::net::UdpSocket;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

const T: Duration = Duration::from_secs(15);

/// `pmtr ARGS -s SOCKET` against `p`.
fn ctl(p: &Pmtr, args: &[&str]) -> Output {
    Command::new(pmtr_bin())
        .args(args)
        .arg("-s")
        .arg(p.socket())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `pmtr status --json NAME`, once the socket answers.
fn json(p: &Pmtr, name: &str) -> String {
    let mut text = String::new();
    expect_within(T, "a status answer", || {
        text = stdout(&ctl(p, &["status", "--json", name]));
        text.starts_with('{')
    });
    text
}

/// A field of /proc/PID/status, like `Umask` or `Gid`.
fn proc_status(pid: u32, field: &str) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

/// The waits pmtr logged for job `name`, in order
/// (`... restarting it in N sec`).
fn logged_waits(p: &Pmtr, name: &str) -> Vec<u64> {
    let prefix = format!("job {name} ran less than ");
    p.log()
        .lines()
        .filter_map(|l| l.split_once(&prefix).map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once("restarting it in ").map(|(_, w)| w))
        .filter_map(|w| w.strip_suffix(" sec")?.parse().ok())
        .collect()
}

#[test]
fn crash_loop_backs_off_1_2_4_8_and_resets_after_a_long_run() {
    // Four quick exits, then a run of 9 s (longer than the max of 8 s,
    // so not quick), then quick exits again.
    let dir = TempDir::new("backoff");
    let script = dir.write(
        "crash.sh",
        "n=$(cat \"$0.count\" 2>/dev/null || echo 0)\nn=$((n + 1))\necho $n > \"$0.count\"\n\
         if [ $n -eq 5 ]; then sleep 9; fi\nexit 1\n",
    );
    let conf = dir.write(
        "pmtr.conf",
        &format!(
            "job {{\n name crash\n cmd /bin/sh {}\n restart delay 1 max 8\n}}\n",
            script.display()
        ),
    );
    let p = Pmtr::spawn_in(dir, conf, &[]);
    // When each start appeared in the log, polled every 10 ms.
    let mut starts: Vec<Instant> = Vec::new();
    let mut saw_delay_4 = false;
    expect_within(Duration::from_secs(60), "the seventh start", || {
        let n = p.log_count("started job crash [");
        while starts.len() < n {
            starts.push(Instant::now());
        }
        // While it waits out the third quick exit: the delay in status.
        if !saw_delay_4 && logged_waits(&p, "crash").len() == 3 {
            let text = json(&p, "crash");
            if text.contains("\"state\":\"waiting\"") {
                assert!(text.contains("\"delay_secs\":4"), "{text}");
                saw_delay_4 = true;
            }
        }
        n >= 7
    });
    assert!(saw_delay_4, "status never showed the delay\n{}", p.log());
    let waits = logged_waits(&p, "crash");
    assert_eq!(&waits[..5], [1, 2, 4, 8, 1], "{}", p.log());
    let gap = |k: usize| starts[k + 1].duration_since(starts[k]);
    let slack = Duration::from_millis(150);
    for (k, secs) in [(0, 1), (1, 2), (2, 4), (3, 8)] {
        let wait = Duration::from_secs(secs);
        assert!(gap(k) + slack >= wait, "start {k}: {:?} < {wait:?}", gap(k));
        assert!(
            gap(k) < wait + Duration::from_secs(3),
            "start {k}: {:?}",
            gap(k)
        );
    }
    // The 9 s run is restarted at once (not after 8 s more), and the
    // quick exit after it waits the first delay again.
    assert!(gap(4) + slack >= Duration::from_secs(9), "{:?}", gap(4));
    assert!(gap(4) < Duration::from_secs(12), "{:?}", gap(4));
    assert!(gap(5) < Duration::from_secs(4), "{:?}", gap(5));
}

#[test]
fn give_up_reaches_failed_until_pmtr_start() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let port = udp.local_addr().unwrap().port();
    let p = Pmtr::start(
        "give-up",
        &format!(
            "report to udp://127.0.0.1:{port}\n\
             job {{\n name quitter\n cmd /bin/sh -c \"exit 3\"\n restart delay 1\n give up after 3 in 1m\n}}\n\
             job {{\n name steady\n cmd /bin/sleep 1000\n}}\n"
        ),
    );
    p.expect_log(
        "job quitter failed: 3 quick exits within 60 sec, the last with exit status 3",
        T,
    );
    assert_eq!(p.log_count("started job quitter ["), 3, "{}", p.log());
    let status = ctl(&p, &["status", "quitter"]);
    assert_eq!(status.status.code(), Some(1), "a failed job is dead: LSB 1");
    assert!(
        stdout(&status).contains("failed: gave up after 3 quick exits"),
        "{}",
        stdout(&status)
    );
    let text = json(&p, "quitter");
    assert!(
        text.contains("\"state\":\"failed\"")
            && text.contains("\"quick_exits\":3")
            && text.contains("\"give_up_after\":3")
            && text.contains("\"last_exit\":{\"status\":3,"),
        "{text}"
    );
    // The other job runs on; pmtr status without names says 1 too.
    p.wait_job("steady", T);
    assert_eq!(ctl(&p, &["status"]).status.code(), Some(1));
    // The UDP report says f for it.
    let mut buf = [0u8; 2048];
    expect_within(Duration::from_secs(25), "a report with 'quitter f'", || {
        udp.recv(&mut buf)
            .is_ok_and(|n| String::from_utf8_lossy(&buf[..n]).contains("\nquitter f 0 0 "))
    });
    // Said once, and not restarted; pmtr start runs it again, with a
    // fresh window, until it gives up again.
    assert_eq!(p.log_count("job quitter failed:"), 1);
    assert_eq!(p.log_count("started job quitter ["), 3);
    let out = ctl(&p, &["start", "quitter"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    expect_within(T, "the second give-up", || {
        p.log_count("job quitter failed:") == 2
    });
    assert_eq!(p.log_count("started job quitter ["), 6, "{}", p.log());
}

#[test]
fn then_exit_makes_pmtr_exit_1_as_pid_1() {
    if !is_root() {
        eprintln!("skipped: unshare --pid needs root");
        return;
    }
    let dir = TempDir::new("then-exit");
    let marker = dir.join("web.stopped");
    let conf = dir.write(
        "pmtr.conf",
        &format!(
            "job {{\n name web\n cmd /bin/sh -c \"trap 'echo $$ > {m}; exit 0' TERM; while :; do sleep 0.1; done\"\n}}\n\
             job {{\n name broken\n cmd /bin/false\n restart delay 1\n give up after 2 in 1m then exit\n}}\n",
            m = marker.display()
        ),
    );
    let log = fs::File::create(dir.join("pmtr.log")).unwrap();
    let mut child = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(pmtr_bin())
        .arg("-c")
        .arg(&conf)
        .arg("-s")
        .arg(dir.join("pmtr.sock"))
        .env("PMTR_LOG_SOCKET", dir.join("no-syslog"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut status = None;
    let exited = wait_until(Duration::from_secs(30), || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
    }
    let log = fs::read_to_string(dir.join("pmtr.log")).unwrap_or_default();
    assert!(exited, "pmtr did not exit\n{log}");
    assert_eq!(status.unwrap().code(), Some(1), "{log}");
    assert!(log.contains("starting (pid 1)"), "not PID 1?\n{log}");
    assert!(
        log.contains(
            "job broken failed and says 'then exit': stopping all jobs; exiting with status 1"
        ),
        "{log}"
    );
    // The other job was stopped, not left behind.
    assert!(
        fs::read_to_string(&marker).is_ok_and(|t| !t.trim().is_empty()),
        "{log}"
    );
}

#[test]
fn stop_signal_int_is_what_a_trapping_job_sees_at_shutdown_too() {
    let dir = TempDir::new("stop-signal");
    let seen = dir.join("seen");
    let script = dir.write(
        "trap.sh",
        &format!(
            "trap 'echo INT >> {s}; exit 0' INT\ntrap 'echo TERM >> {s}; exit 0' TERM\n\
             echo up >> {s}\nwhile :; do sleep 0.1; done\n",
            s = seen.display()
        ),
    );
    let conf = dir.write(
        "pmtr.conf",
        &format!(
            "job {{\n name web\n cmd /bin/sh {}\n stop signal INT\n}}\n",
            script.display()
        ),
    );
    let mut p = Pmtr::spawn_in(dir, conf, &[]);
    let seen_is = |text: &str| fs::read_to_string(&seen).unwrap_or_default() == text;
    let first = p.wait_job("web", T);
    // Its traps are set once it says so.
    expect_within(T, "the traps", || seen_is("up\n"));
    assert!(ctl(&p, &["stop", "web"]).status.success());
    expect_within(T, "the job to stop", || !alive(first));
    assert!(seen_is("up\nINT\n"));
    p.expect_log(&format!("sending SIGINT to job web [{first}]"), T);
    // Started again, then pmtr itself is stopped: INT again.
    assert!(ctl(&p, &["start", "web"]).status.success());
    let second = p.wait_job("web", T);
    assert_ne!(first, second);
    expect_within(T, "the traps", || seen_is("up\nINT\nup\n"));
    assert_eq!(p.stop(), Some(0));
    assert!(seen_is("up\nINT\nup\nINT\n"));
    assert!(!p.log().contains("sending SIGTERM"), "{}", p.log());
}

#[test]
fn pmtr_signal_and_reload_reach_every_process_of_the_group() {
    let dir = TempDir::new("signal");
    let got = dir.join("got");
    // A shell with a child shell in its group; each notes what it got.
    let script = dir.write(
        "web.sh",
        &format!(
            "trap 'echo parent-$1 >> {g}' USR1\ntrap 'echo parent-reload >> {g}' USR2\n\
             /bin/sh -c \"trap 'echo child >> {g}' USR1; trap 'echo child-reload >> {g}' USR2; \
             echo child-up >> {g}; while :; do sleep 0.1; done\" &\n\
             while :; do sleep 0.1; done\n",
            g = got.display()
        ),
    );
    let conf = dir.write(
        "pmtr.conf",
        &format!(
            "job {{\n name web\n cmd /bin/sh {} x\n reload signal USR2\n}}\n\
             job {{\n name off\n cmd /bin/sleep 1000\n disable\n}}\n",
            script.display()
        ),
    );
    let p = Pmtr::spawn_in(dir, conf, &[]);
    let pid = p.wait_job("web", T);
    // The parent's traps are set before it starts the child, whose own
    // are set once it says so.
    expect_within(T, "the child shell's traps", || {
        fs::read_to_string(&got).is_ok_and(|t| t.contains("child-up"))
    });
    let out = ctl(&p, &["signal", "web", "USR1"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "web: sent SIGUSR1\n");
    expect_within(T, "USR1 in both shells", || {
        let text = fs::read_to_string(&got).unwrap_or_default();
        text.contains("parent-x") && text.contains("child\n")
    });
    let out = ctl(&p, &["reload", "web"]);
    assert_eq!(stdout(&out), "web: sent SIGUSR2\n");
    expect_within(T, "USR2 in both shells", || {
        let text = fs::read_to_string(&got).unwrap_or_default();
        text.contains("parent-reload") && text.contains("child-reload")
    });
    // The log says who asked; the job is the same process.
    p.expect_log("control socket: signal job web with SIGUSR1 (uid ", T);
    p.expect_log("control socket: reload job web with SIGUSR2 (uid ", T);
    assert_eq!(p.job_pid("web"), Some(pid));
    // A job without a process gets nothing: exit 1. Unknown signals are
    // refused before anything is sent: exit 2.
    let out = ctl(&p, &["signal", "off", "USR1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not running; no signal sent"));
    for bad in ["BOGUS", "0", "65"] {
        assert_eq!(
            ctl(&p, &["signal", "web", bad]).status.code(),
            Some(2),
            "{bad}"
        );
    }
    assert_eq!(ctl(&p, &["signal", "web"]).status.code(), Some(2));
}

#[test]
fn env_file_change_restarts_only_its_job() {
    let dir = TempDir::new("env-file");
    dir.write(
        "a.env",
        "# greeting for a\nGREETING=hello\nSECRET='hunter2'\n",
    );
    dir.write("b.env", "export GREETING=\"hi there\"\n");
    let job = |name: &str, extra: &str| {
        format!(
            "job {{\n name {name}\n cmd /bin/sh -c \"echo $GREETING $SECRET > {d}/{name}.out; exec /bin/sleep 1000\"\n\
             env file {d}/{name}.env\n{extra}}}\n",
            d = dir.path().display()
        )
    };
    let conf = dir.write(
        "pmtr.conf",
        &[
            job("a", ""),
            job("b", " env GREETING=overridden\n"),
            job("c", ""),
            format!(
                "job {{\n name d\n cmd /bin/sleep 1000\n env file -{}/absent.env\n}}\n",
                dir.path().display()
            ),
        ]
        .concat(),
    );
    let p = Pmtr::spawn_in(dir, conf, &[]);
    let read = |name: &str| p.dir.read(&format!("{name}.out"));
    let a = p.wait_job("a", T);
    let b = p.wait_job("b", T);
    p.wait_job("d", T);
    expect_within(T, "a's output", || read("a") == "hello hunter2\n");
    // An `env` line wins over the env file.
    expect_within(T, "b's output", || read("b") == "overridden\n");
    // c's file is missing: c alone does not start; creating it starts it.
    let text = stdout(&ctl(&p, &["status", "c"]));
    assert!(
        text.contains("not startable") && text.contains("c.env"),
        "{text}"
    );
    p.dir.write("c.env", "GREETING=late\n");
    p.wait_job("c", T);
    expect_within(T, "c's output", || read("c") == "late\n");

    // Saved by rename, as editors do: a restarts with the new value, b
    // is left alone.
    p.dir.replace("a.env", "GREETING=bye\nSECRET=hunter2\n");
    expect_within(T, "a's restart", || {
        p.job_pid("a").is_some_and(|pid| pid != a)
    });
    expect_within(T, "a's new output", || read("a") == "bye hunter2\n");
    p.expect_log("job a: environment changed; restarting it", T);
    assert_eq!(p.job_pid("b"), Some(b));
    // A comment, in place: the environment is the same, nothing restarts.
    let a2 = p.job_pid("a").unwrap();
    p.dir
        .write("b.env", "# still hi\nexport GREETING=\"hi there\"\n");
    p.expect_log("job b: env file saved; environment unchanged", T);
    // A bad line changes nothing either, and its text is not logged.
    p.dir.write("a.env", "GREETING=bye\nhunter3 oops\n");
    p.expect_log("a.env:2:1: expected KEY=VALUE", T);
    p.expect_log("job a: bad env file; keeping its environment as it was", T);
    assert_eq!(p.job_pid("a"), Some(a2));
    assert_eq!(p.job_pid("b"), Some(b));
    let log = p.log();
    assert!(!log.contains("hunter") && !log.contains("hello"), "{log}");
}

#[test]
fn untrusted_env_file_keeps_its_job_from_starting() {
    if !is_root() {
        eprintln!("skipped: the trust rule applies to root only");
        return;
    }
    let dir = TempDir::new("env-trust");
    let env = dir.write("web.env", "A=1\n");
    fs::set_permissions(&env, fs::Permissions::from_mode(0o666)).unwrap();
    let conf = dir.write(
        "pmtr.conf",
        &format!(
            "job {{\n name web\n cmd /bin/sleep 1000\n env file {}\n}}\n\
             job {{\n name other\n cmd /bin/sleep 1001\n}}\n",
            env.display()
        ),
    );
    let p = Pmtr::spawn_in(dir, conf, &[]);
    p.wait_job("other", T);
    p.expect_log("web.env: writable by group and others (mode 0666)", T);
    let text = stdout(&ctl(&p, &["status", "web"]));
    assert!(text.contains("not startable"), "{text}");
    // Fixed: the job starts.
    fs::set_permissions(&env, fs::Permissions::from_mode(0o644)).unwrap();
    p.wait_job("web", T);
}

#[test]
fn group_groups_numeric_ids_and_umask_show_in_proc_status() {
    if !is_root() {
        eprintln!("skipped: changing ids needs root");
        return;
    }
    // 4242 has no passwd entry; nobody has one, with its own group.
    let p = Pmtr::start(
        "ids",
        "job {\n name numeric\n cmd /bin/sleep 1000\n user 4242\n group 4343\n groups 4444,4545\n umask 027\n}\n\
         job {\n name named\n cmd /bin/sleep 1001\n user nobody\n group 4343\n}\n\
         job {\n name nogroup\n cmd /bin/sleep 1002\n user 4242\n}\n",
    );
    let pid = p.wait_job("numeric", T);
    assert_eq!(proc_status(pid, "Uid"), "4242\t4242\t4242\t4242");
    assert_eq!(proc_status(pid, "Gid"), "4343\t4343\t4343\t4343");
    let mut groups: Vec<String> = proc_status(pid, "Groups")
        .split_whitespace()
        .map(String::from)
        .collect();
    groups.sort();
    assert_eq!(groups, ["4343", "4444", "4545"]);
    assert_eq!(proc_status(pid, "Umask"), "0027");
    let pid = p.wait_job("named", T);
    assert_eq!(proc_status(pid, "Uid"), "65534\t65534\t65534\t65534");
    assert_eq!(proc_status(pid, "Gid"), "4343\t4343\t4343\t4343");
    // pmtr's own umask when none is given.
    assert_eq!(proc_status(pid, "Umask"), proc_status(p.pid(), "Umask"));
    // A uid without an entry and without a group: not started, and why.
    let text = stdout(&ctl(&p, &["status", "nogroup"]));
    assert!(
        text.contains("uid 4242 is not in /etc/passwd") && text.contains("add `group GID`"),
        "{text}"
    );
}

#[test]
fn on_failure_restarts_failures_only() {
    let p = Pmtr::start(
        "on-failure",
        "job {\n name ok\n cmd /bin/true\n restart on-failure\n}\n\
         job {\n name bad\n cmd /bin/false\n restart on-failure\n restart delay 1\n}\n\
         job {\n name e33\n cmd /bin/sh -c \"exit 33\"\n restart on-failure\n restart delay 1\n}\n",
    );
    expect_within(T, "bad's third start", || {
        p.log_count("started job bad [") >= 3
    });
    let text = stdout(&ctl(&p, &["status", "ok"]));
    assert!(
        text.contains("done (exited 0; restart on-failure)"),
        "{text}"
    );
    assert_eq!(ctl(&p, &["status", "ok"]).status.code(), Some(0));
    assert_eq!(p.log_count("started job ok ["), 1);
    // Exit 33 keeps its meaning under every policy.
    assert!(stdout(&ctl(&p, &["status", "e33"])).contains("stopped by exit 33"));
    assert_eq!(p.log_count("started job e33 ["), 1);
}

#[test]
fn new_options_pass_pmtr_t_and_the_example_parses() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/restart.conf");
    let dir = TempDir::new("example");
    let copy = dir.join("restart.conf");
    fs::copy(&example, &copy).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o644)).unwrap();
    let out = run_pmtr(&["-t", "-c", copy.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = dir.write(
        "bad.conf",
        "job {\n name x\n cmd /bin/true\n stop signal NOPE\n give up after 0 in 1m\n}\n",
    );
    let out = run_pmtr(&["-t", "-c", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("bad.conf:4:14: unknown signal 'NOPE'"),
        "{err}"
    );
    assert!(err.contains("bad.conf:5:16: bad number '0'"), "{err}");
    assert!(err.ends_with("bad.conf: parse failed: 2 errors\n"), "{err}");
}

/// SPEC §10: a FIFO in an env file's place must not hang pmtr (it is
/// opened non-blocking and refused as not a regular file), and only its
/// job stays down.
#[test]
fn env_file_fifo_does_not_hang_pmtr() {
    let dir = TempDir::new("env-fifo");
    let fifo = dir.join("web.env");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let conf = dir.write(
        "pmtr.conf",
        &format!(
            "job {{\n name web\n cmd /bin/sleep 1000\n env file {}\n}}\n\
             job {{\n name other\n cmd /bin/sleep 1001\n}}\n",
            fifo.display()
        ),
    );
    let p = Pmtr::spawn_in(dir, conf, &[]);
    p.wait_job("other", T);
    p.expect_log("web.env: can't read: not a regular file", T);
    let out = ctl(&p, &["status", "web"]);
    assert!(stdout(&out).contains("not startable"), "{}", stdout(&out));
}
