//! The supervisor core against real processes (SPEC §3–6, issue 3): jobs
//! start, restart by the rules, stop completely, and edits apply live.

use std::fs;
use std::os::unix::fs::symlink;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

const T: Duration = Duration::from_secs(15);

fn job(name: &str, cmd: &str) -> String {
    format!("job {{\n  name {name}\n  cmd {cmd}\n}}\n")
}

fn proc_status_field(pid: u32, field: &str) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)
                .map(|v| v.trim_start_matches(':').trim().to_string())
        })
        .unwrap_or_default()
}

#[test]
fn starts_every_job() {
    let p = Pmtr::start(
        "starts",
        &(job("a", "/bin/sleep 1000") + &job("b", "/bin/sleep 1001")),
    );
    let a = p.wait_job("a", T);
    let b = p.wait_job("b", T);
    assert_eq!(cmdline(a), ["/bin/sleep", "1000"]);
    assert_eq!(cmdline(b), ["/bin/sleep", "1001"]);
    assert!(children(p.pid()).contains(&a));
}

#[test]
fn disabled_job_is_not_started() {
    let p = Pmtr::start(
        "disable",
        &format!(
            "{}job {{\n name off\n cmd /bin/sleep 1000\n disable\n}}\n",
            job("on", "/bin/sleep 1000")
        ),
    );
    p.wait_job("on", T);
    p.expect_log("configuration loaded", T);
    assert!(!p.log().contains("started job off"), "{}", p.log());
}

#[test]
fn job_killed_after_ten_seconds_is_restarted_at_once() {
    let p = Pmtr::start("respawn", &job("s", "/bin/sleep 1000"));
    let first = p.wait_job("s", T);
    // Let it pass the 10 s anti-spin window.
    expect_within(Duration::from_secs(20), "job to run 10 s", || {
        fs::metadata(format!("/proc/{first}")).is_ok() && p.log_count("started job s [") == 1 && {
            let stat = fs::read_to_string(format!("/proc/{first}/stat")).unwrap_or_default();
            let start_ticks: u64 = stat
                .rsplit(')')
                .next()
                .unwrap()
                .split_whitespace()
                .nth(19)
                .unwrap()
                .parse()
                .unwrap();
            let uptime: f64 = fs::read_to_string("/proc/uptime")
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap();
            uptime - start_ticks as f64 / 100.0 > 10.5
        }
    });
    signal(first, libc::SIGKILL);
    // Far less than the 10 s a quick exit would wait.
    expect_within(Duration::from_secs(5), "restart", || {
        p.job_pid("s").is_some_and(|pid| pid != first)
    });
    p.expect_log(&format!("job s [{first}] exited after 1"), T);
    p.expect_log("signal 9", T);
}

#[test]
fn quick_exit_waits_ten_seconds() {
    let p = Pmtr::start("antispin", &job("q", "/bin/sleep 1000"));
    let first = p.wait_job("q", T);
    let killed = Instant::now();
    signal(first, libc::SIGKILL);
    p.expect_log("restarting it in 10 sec", T);
    expect_within(Duration::from_secs(25), "restart", || {
        p.job_pid("q").is_some_and(|pid| pid != first)
    });
    let waited = killed.elapsed();
    assert!(
        waited >= Duration::from_millis(9500),
        "restarted after {waited:?}, before the 10 s anti-spin wait"
    );
}

#[test]
fn exit_33_and_once_are_not_restarted() {
    // `tick` exits at once with status 1, so it is restarted 10 s later:
    // by its second start, a restart of the others would have happened.
    let p = Pmtr::start(
        "exit33",
        &format!(
            "{}{}job {{\n name one\n cmd /bin/true\n once\n}}\n",
            job("tick", "/bin/sh -c \"exit 1\""),
            job("no", "/bin/sh -c \"exit 33\""),
        ),
    );
    expect_within(Duration::from_secs(30), "tick's second start", || {
        p.log_count("started job tick [") >= 2
    });
    assert_eq!(p.log_count("started job no ["), 1, "{}", p.log());
    assert_eq!(p.log_count("started job one ["), 1, "{}", p.log());
    assert!(p.log().contains("exit status 33"));
}

#[test]
fn wait_holds_later_jobs_until_it_exits() {
    let p = Pmtr::start(
        "wait",
        "job {\n name first\n cmd /bin/sh -c \"sleep 1; touch {dir}/first-done\"\n wait\n once\n}\n\
         job {\n name second\n cmd /bin/sh -c \"test -e {dir}/first-done && exec sleep 1000; echo early > {dir}/early\"\n}\n",
    );
    p.wait_job("second", T);
    let log = p.log();
    let exited = log.find("job first [").unwrap();
    let started = log.find("started job second").unwrap();
    assert!(exited < started, "{log}");
    assert!(!p.dir.join("early").exists());
}

#[test]
fn order_sets_start_order() {
    let p = Pmtr::start(
        "order",
        "job {\n name c\n cmd /bin/sleep 1000\n order 2\n}\n\
         job {\n name a\n cmd /bin/sleep 1000\n order -5\n}\n\
         job {\n name b1\n cmd /bin/sleep 1000\n}\n\
         job {\n name b2\n cmd /bin/sleep 1000\n}\n",
    );
    p.wait_job("c", T);
    let log = p.log();
    let at = |n: &str| log.find(&format!("started job {n} [")).unwrap();
    assert!(
        at("a") < at("b1") && at("b1") < at("b2") && at("b2") < at("c"),
        "{log}"
    );
}

#[test]
fn dir_env_and_stdio() {
    let d = TempDir::new("stdio-work");
    fs::write(d.join("input.txt"), "from stdin\n").unwrap();
    let conf = format!(
        "job {{\n name io\n dir {}\n in input.txt\n out out.txt\n err err.txt\n env GREETING=hello\n env PMTR_SECOND=2\n \
         cmd /bin/sh -c \"pwd; echo $GREETING $PMTR_SECOND; cat; echo oops >&2; ls /proc/self/fd; exec sleep 1000\"\n}}\n",
        d.path().display()
    );
    let p = Pmtr::start("stdio", &conf);
    let pid = p.wait_job("io", T);

    // The script execs sleep last, once everything is written.
    expect_within(T, "output", || cmdline(pid) == ["sleep", "1000"]);
    let out = d.read("out.txt");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], d.path().to_str().unwrap());
    assert_eq!(lines[1], "hello 2");
    assert_eq!(lines[2], "from stdin");
    // Only 0, 1, 2 and the one `ls` opened for reading /proc/self/fd.
    let fds: Vec<&str> = lines[3..].to_vec();
    assert!(fds.len() <= 4, "job inherited descriptors: {fds:?}");
    assert_eq!(&fds[..3], ["0", "1", "2"]);
    // Appended, not truncated: a restart adds to the file.
    assert_eq!(d.read("err.txt"), "oops\n");
}

#[test]
fn job_environment_includes_pmtrs_own() {
    let p = Pmtr::start(
        "envbase",
        "job {\n name e\n cmd /bin/sh -c \"echo $PMTR_LOG_SOCKET > {dir}/env.txt; exec sleep 1000\"\n}\n",
    );
    p.wait_job("e", T);
    expect_within(T, "env file", || {
        p.dir.read("env.txt").contains("no-syslog")
    });
}

#[test]
fn jobs_get_default_signal_dispositions_whatever_pmtr_inherited() {
    // As under nohup or a shell that ignores signals: pmtr inherits them
    // ignored (and ignores SIGPIPE itself); its jobs must not.
    let p = Pmtr::start_after_shell(
        "sigdfl",
        &job("s", "/bin/sleep 1000"),
        "trap '' HUP USR1 TERM",
    );
    let pid = p.wait_job("s", T);
    assert_ne!(
        proc_status_field(p.pid(), "SigIgn"),
        "0000000000000000",
        "the test did not make pmtr inherit ignored signals"
    );
    assert_eq!(proc_status_field(pid, "SigIgn"), "0000000000000000");
    assert_eq!(proc_status_field(pid, "SigBlk"), "0000000000000000");
}

#[test]
fn user_nice_cpu_ulimit_apply() {
    let p = Pmtr::start(
        "creds",
        "job {\n name c\n cmd /bin/sleep 1000\n user nobody\n nice 7\n cpu 0\n ulimit -n 123\n ulimit { -c 0 }\n}\n",
    );
    let pid = p.wait_job("c", T);
    expect_within(T, "setuid", || {
        proc_status_field(pid, "Uid").starts_with("65534")
    });
    let passwd = fs::read_to_string("/etc/passwd").unwrap();
    let nobody_gid = passwd
        .lines()
        .find(|l| l.starts_with("nobody:"))
        .unwrap()
        .split(':')
        .nth(3)
        .unwrap()
        .to_string();
    assert!(proc_status_field(pid, "Gid").starts_with(&nobody_gid));
    let groups = proc_status_field(pid, "Groups");
    assert!(
        !groups.split_whitespace().any(|g| g == "0"),
        "root group kept: {groups}"
    );
    assert_eq!(proc_status_field(pid, "Cpus_allowed_list"), "0");
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let nice: i32 = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(16)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(nice, 7);
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let nofile = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        nofile.split_whitespace().collect::<Vec<_>>()[3..5],
        ["123", "123"]
    );
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert!(core.contains(" 0 "), "{core}");
}

#[test]
fn unknown_user_stops_only_that_job() {
    let p = Pmtr::start(
        "nouser",
        &format!(
            "{}job {{\n name bad\n cmd /bin/sleep 1000\n user no-such-user-here\n}}\n",
            job("good", "/bin/sleep 1000")
        ),
    );
    p.wait_job("good", T);
    p.expect_log("unknown user 'no-such-user-here'", T);
    assert!(!p.log().contains("started job bad"));
}

#[test]
fn bounce_restarts_a_running_job() {
    let p = Pmtr::start(
        "bounce",
        "job {\n name b\n cmd /bin/sleep 1000\n bounce every 2s\n}\n",
    );
    let first = p.wait_job("b", T);
    expect_within(T, "bounce", || {
        p.job_pid("b").is_some_and(|pid| pid != first)
    });
    p.expect_log(&format!("sending SIGTERM to job b [{first}]"), T);
}

/// A deadline further off than an `int` of milliseconds (24.8 days) made
/// the wait ask for `epoll_pwait2` with a nanosecond field past 1e9: the
/// kernel refused it and pmtr exited as soon as it went to sleep.
#[test]
fn a_deadline_weeks_away_keeps_the_loop_waiting() {
    let far = "job {\n name far\n cmd /bin/sleep 1000\n bounce every 30d\n}\n";
    let p = Pmtr::start("far-deadline", far);
    let first = p.wait_job("far", T);
    // The loop still answers: an edit is applied, and the far job is left
    // alone.
    p.write_config(&format!("{far}{}", job("next", "/bin/sleep 1001")));
    p.wait_job("next", T);
    assert!(alive(p.pid()), "{}", p.log());
    assert_eq!(p.job_pid("far"), Some(first));
    assert!(!p.log().contains("epoll_wait failed"), "{}", p.log());
}

#[test]
fn depends_content_change_restarts() {
    let d = TempDir::new("depends-files");
    let dep = d.write("app.conf", "v1\n");
    let p = Pmtr::start(
        "depends",
        &format!(
            "job {{\n name d\n cmd /bin/sleep 1000\n depends {{ {} }}\n}}\n",
            dep.display()
        ),
    );
    let first = p.wait_job("d", T);
    // Same content rewritten: no restart. Then a real change.
    fs::write(&dep, "v1\n").unwrap();
    fs::write(&dep, "v2\n").unwrap();
    expect_within(T, "restart on change", || {
        p.job_pid("d").is_some_and(|pid| pid != first)
    });
    assert_eq!(p.log_count("a depends file changed"), 1, "{}", p.log());
}

fn edit_applies(name: &str, save: impl FnOnce(&Pmtr, &str)) {
    let p = Pmtr::start(
        name,
        &(job("keep", "/bin/sleep 1000")
            + &job("gone", "/bin/sleep 1001")
            + &job("chg", "/bin/sleep 1002")),
    );
    let keep = p.wait_job("keep", T);
    let gone = p.wait_job("gone", T);
    let chg = p.wait_job("chg", T);
    let text = job("keep", "/bin/sleep 1000")
        + &job("chg", "/bin/sleep 1003")
        + &job("new", "/bin/sleep 1004");
    save(&p, &text);
    let new = p.wait_job("new", T);
    assert_eq!(cmdline(new), ["/bin/sleep", "1004"], "{}", p.log());
    expect_within(T, "removed job to stop", || !alive(gone));
    expect_within(T, "changed job to restart", || {
        p.job_pid("chg")
            .is_some_and(|pid| pid != chg && cmdline(pid) == ["/bin/sleep", "1003"])
    });
    assert!(!alive(chg));
    assert_eq!(
        p.job_pid("keep"),
        Some(keep),
        "unchanged job was touched:\n{}",
        p.log()
    );
}

#[test]
fn edit_in_place_applies() {
    edit_applies("save-inplace", |p, text| p.write_config(text));
}

#[test]
fn edit_by_rename_applies() {
    edit_applies("save-rename", |p, text| {
        p.dir.replace("pmtr.conf", text);
    });
}

#[test]
fn edit_by_delete_and_recreate_applies() {
    edit_applies("save-recreate", |p, text| {
        fs::remove_file(&p.config).unwrap();
        p.expect_log("can't read", T);
        fs::write(&p.config, text).unwrap();
    });
}

#[test]
fn symlink_swap_applies() {
    // Kubernetes ConfigMap layout: pmtr.conf -> ..data/pmtr.conf,
    // ..data -> ..v1, swapped by renaming a new ..data over it.
    let dir = TempDir::new("symlink-swap");
    fs::create_dir(dir.join("..v1")).unwrap();
    fs::write(dir.join("..v1/pmtr.conf"), job("a", "/bin/sleep 1000")).unwrap();
    symlink("..v1", dir.join("..data")).unwrap();
    symlink("..data/pmtr.conf", dir.join("pmtr.conf")).unwrap();
    let conf = dir.join("pmtr.conf");
    let p = Pmtr::spawn_in(dir, conf, &[]);
    let a = p.wait_job("a", T);
    fs::create_dir(p.dir.join("..v2")).unwrap();
    fs::write(
        p.dir.join("..v2/pmtr.conf"),
        job("a", "/bin/sleep 1000") + &job("b", "/bin/sleep 1001"),
    )
    .unwrap();
    symlink("..v2", p.dir.join("..data_tmp")).unwrap();
    fs::rename(p.dir.join("..data_tmp"), p.dir.join("..data")).unwrap();
    p.wait_job("b", T);
    assert_eq!(p.job_pid("a"), Some(a));
}

#[test]
fn config_dir_created_after_start() {
    let dir = TempDir::new("late-dir");
    let conf = dir.join("etc/pmtr/pmtr.conf");
    let p = Pmtr::spawn_in(dir, conf.clone(), &[]);
    p.expect_log("waiting for a valid configuration", T);
    fs::create_dir_all(conf.parent().unwrap()).unwrap();
    fs::write(&conf, job("late", "/bin/sleep 1000")).unwrap();
    p.wait_job("late", T);
}

#[test]
fn broken_config_keeps_jobs_running() {
    let p = Pmtr::start("broken", &job("a", "/bin/sleep 1000"));
    let a = p.wait_job("a", T);
    p.write_config("job {\n  name a\n  cmdd /bin/sleep 5\n");
    p.expect_log("pmtr.conf:3:3:", T);
    p.expect_log("keeping the running configuration", T);
    assert_eq!(p.job_pid("a"), Some(a));
    // The next good save applies.
    p.write_config(&(job("a", "/bin/sleep 1000") + &job("b", "/bin/sleep 1000")));
    p.wait_job("b", T);
    assert_eq!(p.job_pid("a"), Some(a));
}

#[test]
fn broken_config_at_startup_waits_for_a_good_one() {
    let p = Pmtr::start("broken-start", "job {\n name a\n}\n");
    p.expect_log("no job runs until the file is fixed", T);
    assert!(alive(p.pid()));
    p.write_config(&job("a", "/bin/sleep 1000"));
    p.wait_job("a", T);
}

#[test]
fn sighup_forces_a_rescan() {
    let p = Pmtr::start("sighup", &job("a", "/bin/sleep 1000"));
    let a = p.wait_job("a", T);
    p.expect_log("configuration loaded", T);
    signal(p.pid(), libc::SIGHUP);
    p.expect_log("rescanning configuration (SIGHUP)", T);
    expect_within(T, "second load", || {
        p.log_count("configuration loaded") >= 2
    });
    assert_eq!(p.job_pid("a"), Some(a));
}

#[test]
fn pidfile_written_and_removed() {
    let dir = TempDir::new("pidfile");
    let conf = dir.write("pmtr.conf", &job("a", "/bin/sleep 1000"));
    let pidfile = dir.join("pmtr.pid");
    let mut p = Pmtr::spawn_in(dir, conf, &["-p", pidfile.to_str().unwrap()]);
    expect_within(T, "pidfile", || {
        fs::read_to_string(&pidfile).is_ok_and(|s| s.trim() == p.pid().to_string())
    });
    assert_eq!(p.stop(), Some(0));
    assert!(!pidfile.exists());
}

/// pmtr run under an open-files limit of `n` (soft and hard): its exit
/// status, or None if it got past start-up (said `starting`; then it is
/// stopped), and its stderr (`pmtr.log`). In the foreground with `-F`;
/// else detached, the status being the parent's.
fn run_with_files(dir: &TempDir, n: u64, foreground: bool) -> (Option<i32>, String) {
    use std::os::unix::process::CommandExt;
    let log = fs::File::create(dir.join("pmtr.log")).unwrap();
    let mut cmd = Command::new(pmtr_bin());
    if foreground {
        cmd.arg("-F");
    }
    cmd.arg("-c")
        .arg(dir.join("pmtr.conf"))
        .arg("-s")
        .arg(dir.join("pmtr.sock"))
        .arg("-p")
        .arg(dir.join("pmtr.pid"))
        .env("PMTR_LOG_SOCKET", dir.join("no-syslog"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // SAFETY: between fork and exec only setrlimit, async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let mut status = None;
    let settled = wait_until(T, || {
        status = child.try_wait().unwrap();
        status.is_some() || dir.read("pmtr.log").contains("pmtr: starting")
    });
    assert!(settled, "limit {n}: pmtr neither exited nor started");
    let code = match status {
        Some(s) => s.code(),
        None => {
            // Stopped as an operator would, so that it stops its job.
            signal(child.id(), libc::SIGTERM);
            if !wait_until(T, || child.try_wait().unwrap().is_some()) {
                let _ = child.kill();
            }
            let _ = child.wait();
            None
        }
    };
    // A detached pmtr that got past its start-up: stopped by its PID.
    if let Some(pid) = read_pid(&dir.join("pmtr.pid"))
        && code.is_some()
        && alive(pid)
    {
        signal(pid, libc::SIGTERM);
        wait_until(T, || !alive(pid));
    }
    (code, dir.read("pmtr.log"))
}

/// A failure of the supervisor's own descriptors at start-up (epoll,
/// signalfd, inotify: here out of open files, after the pidfile was
/// written) is said in one line ending `; exiting`, pmtr exits 1, the
/// pidfile goes, and a detached pmtr's parent exits 1 too (it heard no
/// "running"). No job is started.
#[test]
fn a_start_up_failure_is_said_once_removes_the_pidfile_and_exits_one() {
    let dir = TempDir::new("startfail");
    dir.write("pmtr.conf", &job("a", "/bin/sleep 1000"));
    let pidfile = dir.join("pmtr.pid");
    let mut seen_after_pidfile = 0;
    // The limits around pmtr's own descriptors: the lowest fail before
    // the pidfile is written, the highest get past start-up.
    for n in 4..=8 {
        let (code, log) = run_with_files(&dir, n, true);
        let fatal = log.lines().filter(|l| l.ends_with("; exiting")).count();
        if code == Some(1) {
            assert_eq!(fatal, 1, "limit {n}: {log}");
            assert!(!pidfile.exists(), "limit {n}: pidfile left: {log}");
            assert!(!log.contains("started job"), "limit {n}: {log}");
            if !log.contains("can't write pidfile")
                && ["epoll", "signalfd", "inotify"]
                    .iter()
                    .any(|w| log.contains(&format!("can't create {w}: ")))
            {
                seen_after_pidfile += 1;
            }
        } else {
            assert_eq!(fatal, 0, "limit {n}: {log}");
        }
        let _ = fs::remove_file(&pidfile);
    }
    assert!(
        seen_after_pidfile > 0,
        "no limit made the supervisor's own descriptors fail"
    );
    // Detached: the parent exits 1 when the daemon fails to start after
    // detaching (it then says nothing on the parent's stderr).
    for n in 4..=8 {
        let (code, log) = run_with_files(&dir, n, false);
        if code == Some(1) && !log.contains("; exiting") && !log.contains("detach") {
            assert!(
                !pidfile.exists(),
                "limit {n}, detached: pidfile left: {log}"
            );
            return;
        }
        let _ = fs::remove_file(&pidfile);
    }
    panic!("no limit made a detached pmtr fail after detaching");
}

#[test]
fn sigterm_stops_all_jobs_and_exits_zero() {
    let mut p = Pmtr::start(
        "sigterm",
        &(job("a", "/bin/sleep 1000") + &job("b", "/bin/sleep 1000")),
    );
    let a = p.wait_job("a", T);
    let b = p.wait_job("b", T);
    assert_eq!(p.stop(), Some(0));
    assert!(!alive(a) && !alive(b));
    assert!(p.log().contains("exiting"));
}

#[test]
fn term_ignoring_job_gets_sigkill() {
    let mut p = Pmtr::start(
        "sigkill",
        "job {\n name stubborn\n cmd /bin/sh -c \"trap '' TERM; touch {dir}/trapped; while :; do sleep 1; done\"\n kill after 2s\n}\n",
    );
    let pid = p.wait_job("stubborn", T);
    expect_within(T, "trap set", || p.dir.join("trapped").exists());
    assert_eq!(p.stop(), Some(0));
    assert!(!alive(pid));
    assert!(
        p.log()
            .contains(&format!("sending SIGKILL to job stubborn [{pid}]")),
        "{}",
        p.log()
    );
}

/// The `inotify wd:` lines of every descriptor pmtr holds: one a watch.
fn inotify_watches(pid: u32) -> usize {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return 0;
    };
    fds.flatten()
        .map(|e| fs::read_to_string(e.path()).unwrap_or_default())
        .map(|info| {
            info.lines()
                .filter(|l| l.starts_with("inotify wd:"))
                .count()
        })
        .sum()
}

/// Shutdown removes the watches at once, while the jobs stop: a close of
/// an inotify descriptor that still has watches waits out an SRCU grace
/// period (most of a 100-job shutdown's time). Seen here while a job that
/// ignores SIGTERM holds pmtr in its shutdown.
#[test]
fn shutdown_drops_the_file_watches_while_jobs_stop() {
    let mut p = Pmtr::start(
        "unwatch",
        "job {\n name stubborn\n cmd /bin/sh -c \"trap '' TERM; touch {dir}/trapped; while :; do sleep 1; done\"\n kill after 60s\n}\n",
    );
    let pid = p.wait_job("stubborn", T);
    expect_within(T, "trap set", || p.dir.join("trapped").exists());
    expect_within(T, "the configuration watched", || {
        inotify_watches(p.pid()) > 0
    });
    signal(p.pid(), libc::SIGTERM);
    p.expect_log("stopping all jobs", T);
    expect_within(T, "no watch left", || inotify_watches(p.pid()) == 0);
    // A SIGHUP while exiting rereads the configuration but puts no watch
    // back.
    signal(p.pid(), libc::SIGHUP);
    p.expect_log("rescanning configuration (SIGHUP)", T);
    assert_eq!(inotify_watches(p.pid()), 0);
    assert!(alive(pid) && alive(p.pid()), "the job still holds pmtr");
    // A second SIGTERM sends SIGKILL: the test ends at once.
    assert_eq!(p.stop(), Some(0));
    assert!(!alive(pid));
}

#[test]
fn default_kill_timeout_is_ten_seconds() {
    let mut p = Pmtr::start(
        "sigkill-default",
        "job {\n name stubborn\n cmd /bin/sh -c \"trap '' TERM; touch {dir}/trapped; while :; do sleep 1; done\"\n}\n",
    );
    let pid = p.wait_job("stubborn", T);
    expect_within(T, "trap set", || p.dir.join("trapped").exists());
    let t0 = Instant::now();
    assert_eq!(p.stop(), Some(0));
    assert!(
        t0.elapsed() >= Duration::from_millis(9500),
        "SIGKILL came after {:?}",
        t0.elapsed()
    );
    assert!(!alive(pid));
}

#[test]
fn shell_script_grandchildren_are_stopped() {
    let p = Pmtr::start(
        "grandchildren",
        "job {\n name tree\n cmd /bin/sh -c \"sleep 1001 & sleep 1002 & echo ready > {dir}/ready; wait\"\n}\n",
    );
    let sh = p.wait_job("tree", T);
    expect_within(T, "grandchildren", || children(sh).len() == 2);
    let kids = children(sh);
    // Removing the job from the config stops its whole process group.
    p.write_config("# no jobs\n");
    expect_within(T, "tree gone", || {
        !alive(sh) && kids.iter().all(|&k| !alive(k))
    });
}

#[test]
fn exec_failure_is_logged_and_retried() {
    let p = Pmtr::start(
        "execfail",
        &(job("bad", "/bin/nonexistent-pmtr-test arg") + &job("good", "/bin/sleep 1000")),
    );
    p.wait_job("good", T);
    p.expect_log(
        "job bad: can't exec /bin/nonexistent-pmtr-test: No such file or directory",
        T,
    );
    p.expect_log("restarting it in 10 sec", T);
    assert!(alive(p.pid()));
}

#[test]
fn bad_dir_is_logged() {
    let p = Pmtr::start(
        "baddir",
        "job {\n name d\n cmd /bin/sleep 1000\n dir /nonexistent-dir-pmtr\n}\n",
    );
    p.expect_log(
        "job d: can't change directory to /nonexistent-dir-pmtr: No such file or directory",
        T,
    );
}

#[test]
fn detaches_without_foreground() {
    let dir = TempDir::new("daemon");
    let conf = dir.write("pmtr.conf", &job("d", "/bin/sleep 1000"));
    let pidfile = dir.join("pmtr.pid");
    let status = Command::new(pmtr_bin())
        .args([
            "-c",
            conf.to_str().unwrap(),
            "-p",
            pidfile.to_str().unwrap(),
            "-s",
            dir.join("pmtr.sock").to_str().unwrap(),
        ])
        .env("PMTR_LOG_SOCKET", dir.join("no-syslog"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mut daemon = 0;
    expect_within(T, "pidfile", || {
        daemon = fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        daemon != 0
    });
    assert!(alive(daemon));
    expect_within(T, "job under the daemon", || {
        children(daemon)
            .iter()
            .any(|&c| cmdline(c) == ["/bin/sleep", "1000"])
    });
    let job = children(daemon)[0];
    signal(daemon, libc::SIGTERM);
    expect_within(T, "daemon exit", || !alive(daemon) && !alive(job));
    assert!(!pidfile.exists());
}

#[test]
fn reaps_orphans_as_pid_1() {
    // pmtr as PID 1 of a new PID namespace; the job leaves an orphan that
    // pmtr must reap.
    let dir = TempDir::new("pid1");
    let conf = dir.write(
        "pmtr.conf",
        &job("o", "/bin/sh -c \"(sleep 0.3 &); exec sleep 1000\""),
    );
    let log = fs::File::create(dir.join("pmtr.log")).unwrap();
    let mut unshare = Command::new("unshare")
        .args([
            "--pid",
            "--fork",
            "--kill-child",
            pmtr_bin(),
            "-c",
            conf.to_str().unwrap(),
            "-s",
            dir.join("pmtr.sock").to_str().unwrap(),
        ])
        .env("PMTR_LOG_SOCKET", dir.join("no-syslog"))
        .stdin(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut pmtr = 0;
    expect_within(T, "pmtr in namespace", || {
        pmtr = children(unshare.id()).first().copied().unwrap_or(0);
        pmtr != 0 && children(pmtr).len() == 1 && cmdline(children(pmtr)[0]) == ["sleep", "1000"]
    });
    let zombies = |pid: u32| children(pid).into_iter().filter(|&c| !alive(c)).count();
    expect_within(T, "orphan reaped", || {
        children(pmtr).len() == 1 && zombies(pmtr) == 0
    });
    signal(pmtr, libc::SIGTERM);
    expect_within(T, "pmtr exit", || matches!(unshare.try_wait(), Ok(Some(_))));
    let log = fs::read_to_string(dir.join("pmtr.log")).unwrap();
    assert!(log.contains("exiting"), "{log}");
}

#[test]
fn depends_file_may_appear_later() {
    let d = TempDir::new("depends-later");
    let dep = d.join("later.conf");
    let p = Pmtr::start(
        "depends-later",
        &format!(
            "job {{\n name d\n cmd /bin/sleep 1000\n depends {{ {} }}\n}}\n",
            dep.display()
        ),
    );
    let first = p.wait_job("d", T);
    fs::write(&dep, "now here\n").unwrap();
    expect_within(T, "restart when the file appears", || {
        p.job_pid("d").is_some_and(|pid| pid != first)
    });
}
