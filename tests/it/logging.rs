//! pmtr's syslog writer against a real syslog daemon (SPEC §7, issue 4):
//! busybox syslogd from Debian, run by the test in a private mount
//! namespace whose /dev is a test directory, so its hard-wired /dev/log is
//! a socket the test owns and pmtr reaches through `PMTR_LOG_SOCKET`.

use std::fs;
use std::io::Read;
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::util::*;

const T: Duration = Duration::from_secs(15);

/// A busybox syslogd writing to `file`, listening on `dev/log`.
struct Syslogd {
    child: Child,
    file: PathBuf,
}

impl Syslogd {
    /// Starts syslogd with `dev` as its /dev (so its socket is `dev/log`)
    /// and waits until it is ready.
    fn start(dev: &Path, file: &Path) -> Syslogd {
        fs::create_dir_all(dev).unwrap();
        // busybox syslogd has no option for the socket path, hence the
        // bind mount; `unshare` and `sh` exec, so the child is syslogd.
        let script = format!(
            "mount --bind '{}' /dev && exec busybox syslogd -n -O '{}'",
            dev.display(),
            file.display()
        );
        let child = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("unshare (util-linux) and busybox are installed by tests/setup.sh");
        let d = Syslogd {
            child,
            file: file.to_path_buf(),
        };
        expect_within(T, "syslogd to start", || {
            d.text().contains("syslogd started")
        });
        d
    }

    fn text(&self) -> String {
        fs::read_to_string(&self.file).unwrap_or_default()
    }

    /// The records it wrote, as (facility.severity, tag[pid]:, text).
    fn records(&self) -> Vec<Record> {
        self.text().lines().filter_map(Record::parse).collect()
    }

    fn stop(&mut self) {
        signal(self.child.id(), libc::SIGTERM);
        let _ = self.child.wait();
    }
}

impl Drop for Syslogd {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// One line of busybox syslogd's file:
/// `Mmm dd hh:mm:ss HOST facility.severity TAG[PID]: text`.
#[derive(Debug, Clone)]
struct Record {
    stamp: String,
    level: String,
    tag: String,
    text: String,
}

impl Record {
    fn parse(line: &str) -> Option<Record> {
        let stamp = line.get(..15)?.to_string();
        let mut rest = line.get(16..)?.splitn(4, ' ');
        let _host = rest.next()?;
        let level = rest.next()?.to_string();
        let tag = rest.next()?.to_string();
        let text = rest.next().unwrap_or("").to_string();
        Some(Record {
            stamp,
            level,
            tag,
            text,
        })
    }
}

/// Starts `pmtr -F` on `config` with `env` (PMTR_LOG_SOCKET and the like).
fn start_pmtr(name: &str, config: &str, env: &[(&str, &Path)]) -> Pmtr {
    let dir = TempDir::new(name);
    let text = config.replace("{dir}", dir.path().to_str().unwrap());
    let conf = dir.write("pmtr.conf", &text);
    start_pmtr_in(dir, conf, env)
}

fn start_pmtr_in(dir: TempDir, config: PathBuf, env: &[(&str, &Path)]) -> Pmtr {
    let log = fs::File::create(dir.join("pmtr.log")).unwrap();
    let mut cmd = Command::new(pmtr_bin());
    cmd.arg("-F")
        .arg("-c")
        .arg(&config)
        .arg("-s")
        .arg(dir.join("pmtr.sock"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    Pmtr { child, dir, config }
}

fn job(name: &str, cmd: &str) -> String {
    format!("job {{\n  name {name}\n  cmd {cmd}\n}}\n")
}

fn syslog_job(name: &str, cmd: &str) -> String {
    format!("job {{\n  name {name}\n  cmd {cmd}\n  out syslog\n  err syslog\n}}\n")
}

/// Sends SIGHUP (pmtr logs a rescan) until `cond` holds: a way to make
/// pmtr log something now and again without a fixed sleep.
fn nudge_until(p: &Pmtr, what: &str, mut cond: impl FnMut() -> bool) {
    let mut turn = 0u32;
    expect_within(Duration::from_secs(20), what, || {
        turn += 1;
        if turn.is_multiple_of(20) {
            signal(p.pid(), libc::SIGHUP);
        }
        cond()
    });
}

/// `date` in the zone `tz`, at minute precision, in syslog's form.
fn date_minute(tz: &str) -> String {
    let out = Command::new("date")
        .env("TZ", tz)
        .arg("+%b %e %H:%M")
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim_end()
        .to_string()
}

#[test]
fn own_records_reach_syslogd_in_rfc3164_format() {
    let dir = TempDir::new("syslog-format");
    let d = Syslogd::start(&dir.join("dev"), &dir.join("messages"));
    let sock = dir.join("dev/log");
    let tz = "<+0530>-5:30";
    let before = date_minute(tz);
    let tz_path = PathBuf::from(tz);
    let p = start_pmtr(
        "syslog-format-pmtr",
        &job("web", "/bin/sleep 1000"),
        &[("PMTR_LOG_SOCKET", &sock), ("TZ", &tz_path)],
    );
    let job_pid = p.wait_job("web", T);
    let needle = format!("started job web [{job_pid}]");
    expect_within(T, "the record in syslogd's file", || {
        d.text().contains(&needle)
    });
    let after = date_minute(tz);
    let rec = d.records().into_iter().find(|r| r.text == needle).unwrap();
    assert_eq!(rec.level, "daemon.info");
    assert_eq!(rec.tag, format!("pmtr[{}]:", p.pid()));
    // busybox keeps the sender's timestamp only when it is well-formed
    // RFC 3164; ours is in the zone TZ names, not the system's.
    let minute = &rec.stamp[..12];
    assert!(
        minute == before || minute == after,
        "stamp {:?} is not {before:?} or {after:?}",
        rec.stamp
    );
    // The foreground echo.
    p.expect_log(&format!("pmtr: {needle}"), T);
}

#[test]
fn no_socket_lines_go_to_stderr_and_pmtr_keeps_working() {
    let dir = TempDir::new("syslog-none");
    let missing = dir.join("nothing-here/log");
    let p = start_pmtr(
        "syslog-none-pmtr",
        &syslog_job(
            "talk",
            "/bin/sh -c \"echo hello from talk; exec sleep 1000\"",
        ),
        &[("PMTR_LOG_SOCKET", &missing)],
    );
    let pid = p.wait_job("talk", T);
    p.expect_log(&format!("talk[{pid}]: hello from talk"), T);
    signal(p.pid(), libc::SIGHUP);
    p.expect_log("rescanning configuration", T);
    assert!(alive(p.pid()));
    // In the foreground the echo is the fallback's line: not written twice.
    assert_eq!(
        p.log_count(&format!("started job talk [{pid}]")),
        1,
        "{}",
        p.log()
    );
}

#[test]
fn socket_appearing_later_is_used() {
    let dir = TempDir::new("syslog-late");
    let dev = dir.join("dev");
    let p = start_pmtr(
        "syslog-late-pmtr",
        &job("web", "/bin/sleep 1000"),
        &[("PMTR_LOG_SOCKET", &dev.join("log"))],
    );
    p.wait_job("web", T);
    let d = Syslogd::start(&dev, &dir.join("messages"));
    let tag = format!("pmtr[{}]:", p.pid());
    nudge_until(&p, "a pmtr record once syslogd is there", || {
        d.records().iter().any(|r| r.tag == tag)
    });
    assert!(
        d.text().contains("rescanning configuration"),
        "{}",
        d.text()
    );
}

#[test]
fn syslogd_restart_is_survived() {
    let dir = TempDir::new("syslog-restart");
    let dev = dir.join("dev");
    let mut first = Syslogd::start(&dev, &dir.join("messages.1"));
    let p = start_pmtr(
        "syslog-restart-pmtr",
        &job("web", "/bin/sleep 1000"),
        &[("PMTR_LOG_SOCKET", &dev.join("log"))],
    );
    let web = p.wait_job("web", T);
    expect_within(T, "records in the first daemon's file", || {
        first.text().contains("started job web")
    });
    first.stop();
    // While it is gone: records go to stderr, nothing blocks.
    signal(p.pid(), libc::SIGHUP);
    expect_within(T, "a rescan with syslogd down", || {
        p.log_count("rescanning configuration") >= 2
    });
    let second = Syslogd::start(&dev, &dir.join("messages.2"));
    let tag = format!("pmtr[{}]:", p.pid());
    nudge_until(&p, "a pmtr record in the second daemon's file", || {
        second.records().iter().any(|r| r.tag == tag)
    });
    assert_eq!(p.job_pid("web"), Some(web), "the job was not disturbed");
}

#[test]
fn job_output_lines_are_tagged_with_job_name_and_pid() {
    let dir = TempDir::new("syslog-job");
    let d = Syslogd::start(&dir.join("dev"), &dir.join("messages"));
    let cmd = "/bin/sh -c \"echo out-line; printf 'part-one '; printf 'part-two\\n'; printf 'tab\\there\\033[1m\\n' >&2; exec sleep 1000\"";
    let p = start_pmtr(
        "syslog-job-pmtr",
        &syslog_job("chatty", cmd),
        &[("PMTR_LOG_SOCKET", &dir.join("dev/log"))],
    );
    let pid = p.wait_job("chatty", T);
    let tag = format!("chatty[{pid}]:");
    expect_within(T, "three job records", || {
        d.records().iter().filter(|r| r.tag == tag).count() >= 3
    });
    let recs: Vec<Record> = d.records().into_iter().filter(|r| r.tag == tag).collect();
    let find = |text: &str| {
        recs.iter()
            .find(|r| r.text == text)
            .unwrap_or_else(|| panic!("no record {text:?} in {recs:?}"))
    };
    assert_eq!(find("out-line").level, "daemon.info", "stdout at INFO");
    assert_eq!(
        find("part-one part-two").level,
        "daemon.info",
        "a line written in two pieces is one record"
    );
    assert_eq!(
        find("tab#011here#033[1m").level,
        "daemon.err",
        "stderr at ERR, control characters escaped"
    );
}

#[test]
fn long_job_line_is_split_and_marked() {
    let dir = TempDir::new("syslog-long");
    let d = Syslogd::start(&dir.join("dev"), &dir.join("messages"));
    // 1,2,3,...,900: 3400 characters on one line.
    let cmd = "/bin/sh -c \"seq -s , 1 900; exec sleep 1000\"";
    let p = start_pmtr(
        "syslog-long-pmtr",
        &syslog_job("long", cmd),
        &[("PMTR_LOG_SOCKET", &dir.join("dev/log"))],
    );
    let pid = p.wait_job("long", T);
    let tag = format!("long[{pid}]:");
    let expected = (1..=900)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    expect_within(T, "the whole line in pieces", || {
        let recs: Vec<Record> = d.records().into_iter().filter(|r| r.tag == tag).collect();
        recs.last()
            .is_some_and(|r| r.text.starts_with("...") && !r.text.ends_with("..."))
    });
    let recs: Vec<Record> = d.records().into_iter().filter(|r| r.tag == tag).collect();
    assert!(recs.len() >= 3, "{recs:?}");
    let mut joined = String::new();
    for (i, r) in recs.iter().enumerate() {
        let mut text = r.text.as_str();
        if i > 0 {
            text = text
                .strip_prefix("...")
                .expect("continuation starts with ...");
        }
        if i + 1 < recs.len() {
            text = text
                .strip_suffix("...")
                .expect("continued piece ends with ...");
        }
        joined.push_str(text);
    }
    assert_eq!(joined, expected, "nothing lost at the cuts");
}

#[test]
fn stream_socket_records_end_with_nul() {
    let dir = TempDir::new("syslog-stream");
    let path = dir.join("log");
    let listener = UnixListener::bind(&path).unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&got);
    std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        }
    });
    let p = start_pmtr(
        "syslog-stream-pmtr",
        &job("web", "/bin/sleep 1000"),
        &[("PMTR_LOG_SOCKET", &path)],
    );
    let pid = p.wait_job("web", T);
    let needle = format!("pmtr[{}]: started job web [{pid}]\0", p.pid());
    expect_within(T, "a NUL-terminated record on the stream", || {
        String::from_utf8_lossy(&got.lock().unwrap()).contains(&needle)
    });
    let bytes = got.lock().unwrap().clone();
    for record in bytes.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        assert!(
            record.starts_with(b"<30>") || record.starts_with(b"<29>"),
            "{}",
            String::from_utf8_lossy(record)
        );
    }
}

#[test]
fn full_socket_drops_records_and_counts_them() {
    let dir = TempDir::new("syslog-full");
    let path = dir.join("log");
    // A datagram socket nobody reads: it fills after a few records.
    let sock = UnixDatagram::bind(&path).unwrap();
    let cmd = "/bin/sh -c \"i=0; while [ $i -lt 300 ]; do echo line$i; i=$((i+1)); done; exec sleep 1000\"";
    let p = start_pmtr(
        "syslog-full-pmtr",
        &syslog_job("flood", cmd),
        &[("PMTR_LOG_SOCKET", &path)],
    );
    p.wait_job("flood", T);
    p.expect_log("]: line299", T);
    // pmtr kept going; now read what got through.
    sock.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 2048];
    let mut delivered = 0;
    while let Ok(n) = sock.recv(&mut buf) {
        delivered += usize::from(String::from_utf8_lossy(&buf[..n]).contains("]: line"));
    }
    assert!(delivered < 300, "the socket never filled");
    sock.set_nonblocking(false).unwrap();
    sock.set_read_timeout(Some(T)).unwrap();
    signal(p.pid(), libc::SIGHUP);
    let n = sock
        .recv(&mut buf)
        .expect("a record after the socket drained");
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    let lost: usize = text
        .split("]: ")
        .nth(1)
        .and_then(|t| t.strip_suffix(" messages lost"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            panic!("first record after the drain is not 'N messages lost': {text:?}")
        });
    assert!(
        delivered + lost >= 300,
        "delivered {delivered} + lost {lost} < 300 lines"
    );
    let n = sock.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("rescanning configuration"));
}

#[test]
fn detached_pmtr_logs_with_the_daemon_pid() {
    let dir = TempDir::new("syslog-detach");
    let d = Syslogd::start(&dir.join("dev"), &dir.join("messages"));
    let conf = dir.write("pmtr.conf", &job("web", "/bin/sleep 1000"));
    let pidfile = dir.join("pmtr.pid");
    // Without -F pmtr detaches: the record tags must carry the PID of the
    // process that stays, not of the one that exited.
    let out = Command::new(pmtr_bin())
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(&pidfile)
        .arg("-s")
        .arg(dir.join("pmtr.sock"))
        .env("PMTR_LOG_SOCKET", dir.join("dev/log"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut daemon = 0u32;
    expect_within(T, "the pidfile", || {
        daemon = fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        daemon != 0
    });
    let tag = format!("pmtr[{daemon}]:");
    expect_within(T, "a started-job record from the daemon", || {
        d.records()
            .iter()
            .any(|r| r.tag == tag && r.text.starts_with("started job web ["))
    });
    let rec = d
        .records()
        .into_iter()
        .find(|r| r.text.starts_with("started job web ["))
        .unwrap();
    let job_pid: u32 = rec
        .text
        .trim_start_matches("started job web [")
        .trim_end_matches(']')
        .parse()
        .unwrap();
    signal(daemon, libc::SIGTERM);
    if !wait_until(T, || !alive(daemon)) {
        signal(daemon, libc::SIGKILL);
    }
    if alive(job_pid) {
        signal(job_pid, libc::SIGKILL);
    }
}

#[test]
fn fast_job_output_is_not_cut_off() {
    // 100000 lines as fast as `seq` writes them: the job must never fail
    // with EAGAIN on its pipe, and every line is either logged or counted
    // in a "lines of output dropped" record (the per-job rate limit,
    // issue 13).
    let dir = TempDir::new("syslog-fast");
    let missing = dir.join("no-syslog");
    let config = "job {\n  name fast\n  cmd /usr/bin/seq 1 100000\n  out syslog\n  once\n}\n";
    let p = start_pmtr("syslog-fast-pmtr", config, &[("PMTR_LOG_SOCKET", &missing)]);
    p.expect_log("job fast [", T);
    p.expect_log("exited after", Duration::from_secs(30));
    let log = p.log();
    assert!(
        log.contains("exit status 0"),
        "seq failed: {}",
        log.lines()
            .filter(|l| l.contains("exited"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let (logged, dropped) = job_lines_logged_and_dropped(&log, "fast");
    assert_eq!(
        logged + dropped,
        100000,
        "logged {logged}, dropped {dropped}"
    );
    assert!(log.contains("]: 1\n"), "the first line arrived");
}

#[test]
fn pid1_without_stderr_or_syslog_logs_to_kmsg() {
    use std::io::{Seek, SeekFrom};
    use std::os::unix::fs::OpenOptionsExt;
    let null = fs::metadata("/dev/null").unwrap();
    assert!(
        std::os::unix::fs::FileTypeExt::is_char_device(&null.file_type()),
        "/dev/null is not a device on this machine"
    );
    let dir = TempDir::new("syslog-kmsg");
    let conf = dir.write("pmtr.conf", &job("web", "/bin/sleep 1000"));
    // Only new records: /dev/kmsg seeks to its end.
    let mut kmsg = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")
        .unwrap();
    kmsg.seek(SeekFrom::End(0)).unwrap();
    // PID 1 in a new PID namespace, stderr on /dev/null: pmtr's only
    // way to be heard is the kernel log.
    let mut init = Command::new("unshare")
        .args(["--pid", "--fork", "--kill-child"])
        .arg(pmtr_bin())
        .arg("-c")
        .arg(&conf)
        .arg("-s")
        .arg(dir.join("pmtr.sock"))
        .env("PMTR_LOG_SOCKET", dir.join("no-syslog"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut pmtr = 0;
    expect_within(T, "pmtr in its namespace", || {
        pmtr = children(init.id()).first().copied().unwrap_or(0);
        pmtr != 0
    });
    let mut seen = String::new();
    let found = wait_until(T, || {
        let mut record = [0u8; 8192];
        // One record per read; EAGAIN when there is no more.
        while let Ok(n) = kmsg.read(&mut record) {
            seen.push_str(&String::from_utf8_lossy(&record[..n]));
        }
        seen.contains("pmtr[1]: started job web [")
    });
    // unshare ignores SIGTERM while it waits; pmtr (PID 1 inside) does not.
    signal(pmtr, libc::SIGTERM);
    if !wait_until(T, || matches!(init.try_wait(), Ok(Some(_)))) {
        signal(pmtr, libc::SIGKILL);
        let _ = init.wait();
    }
    assert!(found, "no pmtr record in /dev/kmsg; saw:\n{seen}");
    let line = seen
        .lines()
        .find(|l| l.contains("pmtr[1]: started job web ["))
        .unwrap();
    assert!(
        line.starts_with("30,"),
        "facility daemon, severity info: {line}"
    );
}
