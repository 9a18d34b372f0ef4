//! UDP report and control over 127.0.0.1 (SPEC §8, issue 4): report
//! datagrams, `listen on` with `pmtr-ctl`, `pmtr-rptserver`, and datagrams
//! that must change nothing.

use std::fs;
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::*;

const T: Duration = Duration::from_secs(15);

fn job(name: &str, cmd: &str) -> String {
    format!("job {{\n  name {name}\n  cmd {cmd}\n}}\n")
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One job line of a report: (name, e|d, seconds, pid, cmd).
type JobLine = (String, String, u64, u32, String);

/// A parsed report datagram: host, then its job lines.
fn parse_report(datagram: &[u8]) -> (String, Vec<JobLine>) {
    let text = std::str::from_utf8(datagram).expect("report is text");
    assert!(text.ends_with('\n'), "report ends with a newline: {text:?}");
    let mut lines = text.lines();
    let host = lines
        .next()
        .unwrap()
        .strip_prefix("report ")
        .expect("first line is 'report HOST'")
        .to_string();
    let jobs = lines
        .map(|l| {
            let f: Vec<&str> = l.splitn(5, ' ').collect();
            assert_eq!(f.len(), 5, "job line {l:?}");
            (
                f[0].to_string(),
                f[1].to_string(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].to_string(),
            )
        })
        .collect();
    (host, jobs)
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

fn ctl(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pmtr-ctl"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A running `pmtr-rptserver`, killed (by PID) when dropped.
struct RptServer(Child);

impl Drop for RptServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn report_datagrams_arrive_and_parse() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(T)).unwrap();
    let port = rx.local_addr().unwrap().port();
    let config = format!(
        "report to udp://127.0.0.1:{port}\n{}{}job {{\n  name off\n  cmd /bin/sleep 1002\n  disable\n}}\njob {{\n  name setup\n  cmd /bin/true\n  once\n}}\n",
        job("web", "/bin/sleep 1000"),
        job("db", "/bin/sleep 1001 1"),
    );
    let p = Pmtr::start("udp-report", &config);
    let web = p.wait_job("web", T);
    let db = p.wait_job("db", T);
    let mut buf = [0u8; 2048];
    // The first report may predate the jobs' start; take one that has them.
    let (host, jobs) = loop {
        let n = rx.recv(&mut buf).expect("a report datagram");
        let (host, jobs) = parse_report(&buf[..n]);
        if jobs.iter().any(|j| j.0 == "web" && j.3 == web)
            && jobs.iter().any(|j| j.0 == "db" && j.3 == db)
        {
            break (host, jobs);
        }
    };
    assert_eq!(host, hostname());
    let get = |name: &str| {
        jobs.iter()
            .find(|j| j.0 == name)
            .unwrap_or_else(|| panic!("no {name} in {jobs:?}"))
            .clone()
    };
    let w = get("web");
    assert_eq!(
        (w.1.as_str(), w.3, w.4.as_str()),
        ("e", web, "/bin/sleep 1000")
    );
    assert!(w.2 < 60);
    assert_eq!(get("db").4, "/bin/sleep 1001 1");
    let off = get("off");
    assert_eq!((off.1.as_str(), off.2, off.3), ("d", 0, 0));
    assert!(
        !jobs.iter().any(|j| j.0 == "setup"),
        "a once job is not restartable, so not reported"
    );
}

#[test]
fn rptserver_aggregates_two_pmtr_instances() {
    let port = free_port();
    let dir = TempDir::new("rptserver");
    let file = dir.join("status.txt");
    let server = RptServer(
        Command::new(env!("CARGO_BIN_EXE_pmtr-rptserver"))
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-f"])
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    expect_within(T, "the summary file", || file.exists());
    let report = format!("report to udp://127.0.0.1:{port}\n");
    let one = Pmtr::start(
        "rpt-one",
        &(report.clone() + &job("alpha", "/bin/sleep 1000")),
    );
    let two = Pmtr::start("rpt-two", &(report + &job("beta", "/bin/sleep 1001")));
    let alpha = one.wait_job("alpha", T);
    let beta = two.wait_job("beta", T);
    let host = hostname();
    let has_row = |text: &str, name: &str, pid: u32| {
        text.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 9
                && f[0] == host
                && f[1] == name
                && f[2] == "enabled"
                && f[4] == pid.to_string()
        })
    };
    // Reports go out every 10 s: the first ones may predate the jobs.
    expect_within(
        Duration::from_secs(25),
        "both instances in the summary",
        || {
            let text = fs::read_to_string(&file).unwrap_or_default();
            has_row(&text, "alpha", alpha) && has_row(&text, "beta", beta)
        },
    );
    let text = fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("# pmtr-rptserver: 2 jobs on 1 hosts\n"),
        "{text}"
    );
    assert!(!dir.join("status.txt.tmp").exists(), "written by rename");
    drop(server);
}

#[test]
fn ctl_disables_and_reenables_a_running_job() {
    let port = free_port();
    let p = Pmtr::start(
        "udp-ctl",
        &format!(
            "listen on udp://127.0.0.1:{port}\n{}",
            job("web", "/bin/sleep 1000")
        ),
    );
    let first = p.wait_job("web", T);
    p.expect_log(&format!("listening on udp://127.0.0.1:{port}"), T);
    let out = ctl(&["-s", "127.0.0.1", "-p", &port.to_string(), "disable", "web"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    expect_within(T, "the job to stop", || !alive(first));
    p.expect_log("disabling job web", T);
    assert_eq!(p.job_pid("web"), None);
    let out = ctl(&["-s", "127.0.0.1", "-p", &port.to_string(), "enable", "web"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second = p.wait_job("web", T);
    assert_ne!(first, second);
}

#[test]
fn garbage_and_oversized_datagrams_change_nothing() {
    let port = free_port();
    let p = Pmtr::start(
        "udp-garbage",
        &format!(
            "listen on udp://127.0.0.1:{port}\n{}",
            job("web", "/bin/sleep 1000")
        ),
    );
    let web = p.wait_job("web", T);
    p.expect_log("listening on", T);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = ("127.0.0.1", port);
    let oversized = format!("disable {}", "web ".repeat(600));
    let datagrams: [&[u8]; 7] = [
        b"garbage",
        b"",
        b"disable",
        b"DISABLE web",
        b"disable web\x00",
        b"disable \xffweb",
        oversized.as_bytes(),
    ];
    for d in datagrams {
        tx.send_to(d, to).unwrap();
    }
    tx.send_to(b"disable nosuchjob\n", to).unwrap();
    p.expect_log("no job named 'nosuchjob'", T);
    // The first bad one in full; the rest summed up 10 s later, in one line.
    assert_eq!(
        p.log_count("ignored datagram from 127.0.0.1:"),
        1,
        "{}",
        p.log()
    );
    p.expect_log("ignored 6 more bad datagrams in the last 10 sec", T);
    assert!(alive(web));
    assert_eq!(p.job_pid("web"), Some(web));
    assert!(!p.log().contains("disabling job web"), "{}", p.log());
    // And the socket still takes a good one.
    tx.send_to(b"disable web\n", to).unwrap();
    expect_within(T, "the job to stop", || !alive(web));
}

#[test]
fn listen_bind_failure_is_logged_and_jobs_run() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let p = Pmtr::start(
        "udp-bind",
        &format!(
            "listen on udp://127.0.0.1:{port}\n{}",
            job("web", "/bin/sleep 1000")
        ),
    );
    p.wait_job("web", T);
    p.expect_log(&format!("listen on udp://127.0.0.1:{port}: bind: "), T);
    assert!(alive(p.pid()));
}

#[test]
fn ctl_usage_errors_exit_2() {
    for args in [
        &[][..],
        &["-s", "127.0.0.1", "enable", "x"],
        &["-s", "h", "-p", "1", "start", "x"],
        &["-q"],
    ] {
        let out = ctl(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage: pmtr-ctl"));
    }
    let help = ctl(&["-h"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("not authenticated"));
    let out = Command::new(env!("CARGO_BIN_EXE_pmtr-rptserver"))
        .args(["-p", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "rptserver without -f");
}

#[test]
fn multicast_report_leaves_by_the_named_interface() {
    // Multicast over `lo` only: the group is joined on 127.0.0.1, and pmtr
    // must pick `lo` as the egress interface because of `@lo` (without it
    // the kernel would use the default route's interface, if any).
    let group = std::net::Ipv4Addr::new(239, 255, 77, 1);
    let rx = UdpSocket::bind((group, 0)).unwrap();
    let port = rx.local_addr().unwrap().port();
    rx.join_multicast_v4(&group, &std::net::Ipv4Addr::LOCALHOST)
        .unwrap();
    rx.set_read_timeout(Some(T)).unwrap();
    let p = Pmtr::start(
        "udp-mcast",
        &format!(
            "report to udp://{group}:{port}@lo\n{}",
            job("web", "/bin/sleep 1000")
        ),
    );
    let web = p.wait_job("web", T);
    let mut buf = [0u8; 2048];
    loop {
        let n = rx.recv(&mut buf).expect("a multicast report");
        let (host, jobs) = parse_report(&buf[..n]);
        assert_eq!(host, hostname());
        if jobs.iter().any(|j| j.0 == "web" && j.3 == web) {
            break;
        }
    }
    assert!(
        !p.log().contains("report to"),
        "no error or warning about the destination: {}",
        p.log()
    );
}

/// Lines of `log` that end in `text`: a port is matched whole, not as
/// the start of a longer one.
fn lines_ending(log: &str, text: &str) -> Vec<usize> {
    log.lines()
        .enumerate()
        .filter(|(_, line)| line.ends_with(text))
        .map(|(n, _)| n)
        .collect()
}

#[test]
fn reload_keeps_an_unchanged_listener_and_closes_the_others_in_order() {
    let [kept, a, c, d] = [(); 4].map(|()| free_port());
    let url = |port: u16| format!("udp://127.0.0.1:{port}");
    let p = Pmtr::start(
        "udp-relisten",
        &format!(
            "listen on {}\nlisten on {}\nlisten on {}\n{}",
            url(kept),
            url(a),
            url(c),
            job("web", "/bin/sleep 1000")
        ),
    );
    let web = p.wait_job("web", T);
    p.expect_log(&format!("listening on {}\n", url(c)), T);

    p.write_config(&format!(
        "listen on {}\nlisten on {}\n{}",
        url(d),
        url(kept),
        job("web", "/bin/sleep 1000")
    ));
    p.expect_log(&format!("listening on {}\n", url(d)), T);
    p.expect_log(&format!("no longer listening on {}\n", url(c)), T);
    let log = p.log();
    // The kept socket is neither closed nor announced again.
    assert_eq!(
        lines_ending(&log, &format!("listening on {}", url(kept))).len(),
        1,
        "{log}"
    );
    assert!(lines_ending(&log, &format!("no longer listening on {}", url(kept))).is_empty());
    // The dropped ones are logged in the old file's order.
    let gone_a = lines_ending(&log, &format!("no longer listening on {}", url(a)));
    let gone_c = lines_ending(&log, &format!("no longer listening on {}", url(c)));
    assert_eq!((gone_a.len(), gone_c.len()), (1, 1), "{log}");
    assert!(gone_a[0] < gone_c[0], "{log}");
    // Their ports are free again: the sockets are closed, not leaked.
    UdpSocket::bind(("127.0.0.1", a)).unwrap();
    UdpSocket::bind(("127.0.0.1", c)).unwrap();
    // The kept socket still takes commands.
    assert_eq!(p.job_pid("web"), Some(web));
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.send_to(b"disable web\n", ("127.0.0.1", kept)).unwrap();
    expect_within(T, "the job to stop", || !alive(web));
}
