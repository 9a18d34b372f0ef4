//! Job logs that cannot fill the card (issue 17): `out FILE max SIZE keep N
//! stamp` through a logger process. The cap on disk, whole lines in order
//! across the rotated files, pmtr answering throughout, the stamp, and the
//! logger's life: started again after it is killed, outliving the job's
//! restarts, gone when pmtr is.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::*;

const T: Duration = Duration::from_secs(15);

/// How long `pmtr status` took to answer, or None if it did not within
/// `limit` (then it is killed).
pub fn status_answer_time(socket: &Path, limit: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    let mut child = Command::new(pmtr_bin())
        .arg("status")
        .arg("-s")
        .arg(socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    if wait_until(limit, || matches!(child.try_wait(), Ok(Some(_)))) {
        return Some(t0.elapsed());
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// The PIDs of pmtr's children running `pmtr log` for job `job`.
pub fn loggers(p: &Pmtr, job: &str) -> Vec<u32> {
    children(p.pid())
        .into_iter()
        .filter(|&pid| {
            let argv = cmdline(pid);
            argv.get(1).map(String::as_str) == Some("log") && argv.iter().any(|a| a == job)
        })
        .collect()
}

/// Waits for job `job`'s one logger and returns its PID. A logger that
/// pmtr has just started may still be inside its `execve`, where
/// `/proc/PID/cmdline` reads empty, so [`loggers`] can miss it for a
/// moment after the job's start is logged.
fn wait_logger(p: &Pmtr, job: &str) -> Vec<u32> {
    let mut found = Vec::new();
    expect_within(T, &format!("job {job}'s logger"), || {
        found = loggers(p, job);
        !found.is_empty()
    });
    found
}

/// The last line of a file, without its newline.
fn last_line(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines().last().unwrap_or_default().to_string()
}

#[test]
fn fifty_megabytes_fast_stay_within_max_times_keep_plus_one() {
    // `seq` writes about 52 MB as fast as the logger takes it.
    const LAST: u32 = 6_500_000;
    let conf = format!(
        "job {{\n name flood\n dir {{dir}}\n out flood.log max 1M keep 3\n cmd /usr/bin/seq 1 {LAST}\n once\n}}\n"
    );
    let p = Pmtr::start("joblog-flood", &conf);
    let log = p.dir.join("flood.log");
    // Ask pmtr for its status all along; each answer must come within 5
    // seconds (a stuck loop never answers; 5 s, not less, as `make test`
    // runs many tests at once on two cores).
    let done = Arc::new(AtomicBool::new(false));
    let slowest = Arc::new(Mutex::new(Duration::ZERO));
    let prober = {
        let (done, slowest, socket) = (done.clone(), slowest.clone(), p.socket());
        std::thread::spawn(move || {
            let mut answers = 0;
            while !done.load(Ordering::Relaxed) {
                match status_answer_time(&socket, Duration::from_secs(5)) {
                    Some(took) => {
                        let mut s = slowest.lock().unwrap();
                        *s = (*s).max(took);
                        answers += 1;
                    }
                    None => panic!("pmtr status did not answer within 5 seconds"),
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            answers
        })
    };
    let finished = wait_until(Duration::from_secs(120), || {
        last_line(&log) == LAST.to_string()
    });
    done.store(true, Ordering::Relaxed);
    let answers = prober.join().expect("pmtr answered throughout");
    assert!(
        finished,
        "the last line never reached {}; log:\n{}",
        log.display(),
        p.log()
    );
    assert!(answers > 0);
    // At most FILE and 3 rotated files of at most 1 MiB each.
    let names = ["flood.log.3", "flood.log.2", "flood.log.1", "flood.log"];
    let mut total = 0;
    for name in names {
        let len = fs::metadata(p.dir.join(name)).unwrap().len();
        assert!(len <= 1 << 20, "{name} is {len} bytes");
        total += len;
    }
    assert!(total <= 4 << 20, "{total} bytes on disk");
    assert!(!p.dir.join("flood.log.4").exists());
    // Whole lines, in order from the oldest file to FILE: each file ends
    // with a newline and starts with the line after the previous one's
    // last.
    let mut next: Option<u32> = None;
    for name in names {
        let text = fs::read_to_string(p.dir.join(name)).unwrap();
        assert!(text.ends_with('\n'), "{name} ends mid-line");
        for line in text.lines() {
            let n: u32 = line
                .parse()
                .unwrap_or_else(|_| panic!("{name}: bad line {line:?}"));
            if let Some(want) = next {
                assert_eq!(n, want, "{name}: line {n} after {}", want - 1);
            }
            next = Some(n + 1);
        }
    }
    assert_eq!(next, Some(LAST + 1));
    eprintln!(
        "slowest pmtr status while flooding: {:?}",
        slowest.lock().unwrap()
    );
}

#[test]
fn stamp_is_iso8601_local_time() {
    let conf = "job {\n name hello\n dir {dir}\n out hello.log stamp\n cmd /bin/echo hello world\n once\n}\n";
    let p = Pmtr::start_after_shell("joblog-stamp", conf, "export TZ=CET-1CEST,M3.5.0,M10.5.0/3");
    let log = p.dir.join("hello.log");
    expect_within(T, "the stamped line", || {
        last_line(&log).ends_with(" hello world")
    });
    let line = last_line(&log);
    let (stamp, text) = line.split_once(' ').unwrap();
    assert_eq!(text, "hello world");
    // 2025-11-30T17:37:05.123+01:00
    let b = stamp.as_bytes();
    assert_eq!(b.len(), 29, "{stamp}");
    for (i, c) in b.iter().enumerate() {
        let want_digit = !matches!(i, 4 | 7 | 10 | 13 | 16 | 19 | 23 | 26);
        assert_eq!(c.is_ascii_digit(), want_digit, "{stamp} at {i}");
    }
    assert_eq!([b[4], b[7], b[10], b[13], b[16], b[19], b[26]], *b"--T::.:");
    assert!(
        stamp.ends_with("+01:00") || stamp.ends_with("+02:00"),
        "{stamp}"
    );
    // The same instant as now, by GNU date's reading of it.
    let out = Command::new("date")
        .args(["-d", stamp, "+%s"])
        .output()
        .unwrap();
    let then: i64 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - then).abs() < 60, "{stamp} is {then}, now is {now}");
}

/// A job that prints a numbered line five times a second, forever.
const TICKER: &str = "/bin/sh -c \"i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done\"";

#[test]
fn a_killed_logger_is_started_again_and_the_job_goes_on() {
    let conf = format!(
        "job {{\n name ticker\n dir {{dir}}\n out ticker.log max 64K keep 1\n cmd {TICKER}\n}}\n"
    );
    let p = Pmtr::start("joblog-kill", &conf);
    let job = p.wait_job("ticker", T);
    let log = p.dir.join("ticker.log");
    expect_within(T, "the first lines", || {
        last_line(&log).starts_with("tick ")
    });
    let first = loggers(&p, "ticker");
    assert_eq!(first.len(), 1, "{first:?}");
    signal(first[0], libc::SIGKILL);
    p.expect_log("the log writer of job ticker", T);
    p.expect_log("ended (signal 9); starting it again in 1 sec", T);
    let mut second = Vec::new();
    expect_within(T, "a new logger", || {
        second = loggers(&p, "ticker");
        second.len() == 1 && second != first
    });
    // Lines written while no logger ran waited in the pipe; new ones come.
    let seen = last_line(&log);
    expect_within(T, "new lines after the restart", || {
        let now = last_line(&log);
        now.starts_with("tick ") && now != seen
    });
    assert_eq!(p.job_pid("ticker"), Some(job), "the job was not restarted");
    // No line was lost: the numbers run on without a gap.
    let text = fs::read_to_string(&log).unwrap();
    let numbers: Vec<u32> = text.lines().map(|l| l[5..].parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
}

#[test]
fn the_logger_outlives_job_restarts_and_takes_stderr_too() {
    let conf = "job {\n name both\n dir {dir}\n out both.log max 64K\n err both.log max 64K\n\
        cmd /bin/sh -c \"echo out $$; echo err $$ >&2; exec sleep 1000\"\n}\n";
    let p = Pmtr::start("joblog-restart", conf);
    let first_job = p.wait_job("both", T);
    let log = p.dir.join("both.log");
    expect_within(T, "both streams", || {
        let text = fs::read_to_string(&log).unwrap_or_default();
        text.contains(&format!("out {first_job}\n")) && text.contains(&format!("err {first_job}\n"))
    });
    let logger = loggers(&p, "both");
    assert_eq!(logger.len(), 1, "one logger for both streams: {logger:?}");
    let out = Command::new(pmtr_bin())
        .args(["restart", "both", "-s"])
        .arg(p.socket())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut second_job = 0;
    expect_within(T, "the job's second run", || {
        second_job = p.job_pid("both").unwrap_or(first_job);
        second_job != first_job
    });
    expect_within(T, "the second run's lines", || {
        fs::read_to_string(&log)
            .unwrap_or_default()
            .contains(&format!("err {second_job}\n"))
    });
    assert_eq!(
        loggers(&p, "both"),
        logger,
        "the same logger serves the new run"
    );
}

#[test]
fn loggers_write_what_is_left_and_exit_with_pmtr() {
    let conf = format!(
        "job {{\n name ticker\n dir {{dir}}\n out ticker.log max 64K keep 1\n cmd {TICKER}\n}}\n"
    );
    let mut p = Pmtr::start("joblog-exit", &conf);
    p.wait_job("ticker", T);
    let logger = wait_logger(&p, "ticker");
    assert_eq!(logger.len(), 1);
    assert_eq!(p.stop(), Some(0), "log:\n{}", p.log());
    assert!(!alive(logger[0]), "the logger outlived pmtr");
}

/// A job taken out of the configuration takes its logger with it, and
/// only its own: the other job's logger goes on, and the removed job's
/// last lines are in its file.
#[test]
fn a_removed_job_takes_its_logger_and_only_its_own() {
    let job = |name: &str| {
        format!("job {{\n name {name}\n dir {{dir}}\n out {name}.log max 64K\n cmd {TICKER}\n}}\n")
    };
    let p = Pmtr::start("joblog-remove", &(job("kept") + &job("gone")));
    p.wait_job("kept", T);
    p.wait_job("gone", T);
    let (kept, gone) = (wait_logger(&p, "kept"), wait_logger(&p, "gone"));
    assert_eq!((kept.len(), gone.len()), (1, 1), "{kept:?} {gone:?}");
    let log = p.dir.join("gone.log");
    expect_within(T, "the job's first lines", || {
        last_line(&log).starts_with("tick ")
    });
    p.write_config(&job("kept"));
    expect_within(T, "the removed job's logger to exit", || !alive(gone[0]));
    assert_eq!(loggers(&p, "kept"), kept, "the kept job's logger goes on");
    assert!(last_line(&log).starts_with("tick "), "log:\n{}", p.log());
}

/// Without /proc (early boot, a bare busybox image) pmtr finds its own
/// binary for the logger by the name it was started with.
#[test]
fn the_logger_runs_without_proc() {
    let dir = TempDir::new("joblog-noproc");
    let conf = dir.write(
        "pmtr.conf",
        &format!(
            "job {{\n name hello\n dir {}\n out hello.log max 64K\n cmd /bin/echo hello\n once\n}}\n",
            dir.path().display()
        ),
    );
    let log = fs::File::create(dir.join("pmtr.log")).unwrap();
    // A mount namespace of its own, /proc unmounted, then exec pmtr.
    let mut child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "/bin/sh", "-c"])
        .arg("umount -l /proc && exec \"$0\" \"$@\"")
        .arg(pmtr_bin())
        .arg("-F")
        .arg("-c")
        .arg(&conf)
        .arg("-s")
        .arg(dir.join("pmtr.sock"))
        .env("PMTR_LOG_SOCKET", dir.join("no-syslog"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("unshare (util-linux; tests/setup.sh installs it)");
    let written = wait_until(T, || {
        fs::read_to_string(dir.join("hello.log")).is_ok_and(|t| t == "hello\n")
    });
    signal(child.id(), libc::SIGTERM);
    let _ = child.wait();
    let pmtr_log = fs::read_to_string(dir.join("pmtr.log")).unwrap_or_default();
    assert!(
        written,
        "no log line without /proc; pmtr's log:\n{pmtr_log}"
    );
    assert!(
        !pmtr_log.contains("can't find pmtr's own binary"),
        "{pmtr_log}"
    );
}
