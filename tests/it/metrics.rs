//! Prometheus metrics (issue 17) with the real thing: Debian's
//! `prometheus-node-exporter` reads `metrics to` through its textfile
//! collector, the test scrapes it over HTTP on 127.0.0.1, and the official
//! parser (`prometheus_client.parser`, PyPI, in the repository's .venv;
//! tests/setup.sh installs both) reads what came back. The values are
//! checked against what the test did. `pmtr status --prometheus` gives the
//! same text.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::*;

const T: Duration = Duration::from_secs(15);

/// The samples of pmtr's families: `TYPE NAME{k=v,…}` → value, as the
/// official parser reads `text` (it fails the test on text it refuses).
fn parse(text: &str) -> BTreeMap<String, f64> {
    let dir = TempDir::new("prom-parse");
    let file = dir.write("scrape.txt", text);
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python3");
    let script = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in family.samples:
        if s.name.startswith("pmtr_"):
            labels = ",".join(k + "=" + v for k, v in sorted(s.labels.items()))
            print(family.type, s.name + "{" + labels + "}", s.value)
"#;
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{} (tests/setup.sh installs it): {e}", python.display()));
    assert!(
        out.status.success(),
        "the Prometheus parser refused the text:\n{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (key, value) = l.rsplit_once(' ').unwrap();
            (key.to_string(), value.parse().unwrap())
        })
        .collect()
}

/// node_exporter on a free loopback port, reading only `textfiles`;
/// killed (by its PID) when dropped.
struct NodeExporter {
    child: Child,
    port: u16,
}

impl NodeExporter {
    fn start(textfiles: &Path, log: &Path) -> NodeExporter {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("prometheus-node-exporter")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--collector.disable-defaults")
            .arg("--collector.textfile")
            .arg(format!(
                "--collector.textfile.directory={}",
                textfiles.display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(log).unwrap())
            .spawn()
            .expect("prometheus-node-exporter (tests/setup.sh installs it)");
        NodeExporter { child, port }
    }

    /// GET /metrics; the body, or None while it does not answer.
    fn scrape(&self) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .ok()?;
        let mut response = String::new();
        s.read_to_string(&mut response).ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.0 200")
            .then(|| body.to_string())
            .or_else(|| head.starts_with("HTTP/1.1 200").then(|| body.to_string()))
    }

    /// Scrapes until `cond` holds for the parsed pmtr samples.
    fn expect(
        &self,
        what: &str,
        cond: impl Fn(&BTreeMap<String, f64>) -> bool,
    ) -> BTreeMap<String, f64> {
        let mut last = BTreeMap::new();
        let mut body = String::new();
        let held = wait_until(T, || {
            let Some(b) = self.scrape() else { return false };
            assert!(
                b.contains("node_textfile_scrape_error 0"),
                "node_exporter could not read the file:\n{b}"
            );
            last = parse(&b);
            body = b;
            cond(&last)
        });
        assert!(
            held,
            "scraped metrics never showed {what}; last scrape:\n{body}"
        );
        last
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        signal(self.child.id(), libc::SIGTERM);
        let _ = self.child.wait();
    }
}

const CONFIG: &str = "metrics to {dir}/textfile/pmtr.prom\n\
job {\n name web\n cmd /bin/sleep 1000\n}\n\
job {\n name flaky\n cmd /bin/sh -c \"exit 3\"\n}\n\
job {\n name checked\n cmd /bin/sleep 1002\n check every 1s /bin/test -e {dir}/healthy\n check fails 100\n}\n";

fn pmtr_with_metrics(name: &str) -> (Pmtr, PathBuf) {
    let dir = TempDir::new(name);
    let textfiles = dir.join("textfile");
    fs::create_dir_all(&textfiles).unwrap();
    let text = CONFIG.replace("{dir}", dir.path().to_str().unwrap());
    dir.write("healthy", "");
    let conf = dir.write("pmtr.conf", &text);
    (Pmtr::spawn_in(dir, conf, &[]), textfiles)
}

#[test]
fn node_exporter_serves_pmtr_metrics_that_follow_what_happens() {
    let (p, textfiles) = pmtr_with_metrics("metrics-node");
    p.wait_job("web", T);
    let ne = NodeExporter::start(&textfiles, &p.dir.join("node_exporter.log"));
    let m = ne.expect("web running and flaky's exit", |m| {
        m.get("gauge pmtr_job_up{job=web}") == Some(&1.0)
            && m.get("gauge pmtr_job_last_exit_status{job=flaky}") == Some(&3.0)
    });
    let v = |key: &str| m.get(key).copied();
    assert_eq!(v("counter pmtr_job_starts_total{job=web}"), Some(1.0));
    assert_eq!(v("gauge pmtr_job_state{job=web,state=running}"), Some(1.0));
    assert_eq!(v("gauge pmtr_job_state{job=web,state=waiting}"), Some(0.0));
    assert_eq!(
        v("gauge pmtr_job_state{job=flaky,state=waiting}"),
        Some(1.0)
    );
    assert_eq!(v("gauge pmtr_job_up{job=flaky}"), Some(0.0));
    assert_eq!(v("gauge pmtr_job_last_exit_signal{job=flaky}"), Some(0.0));
    assert_eq!(v("gauge pmtr_jobs_configured{}"), Some(3.0));
    assert_eq!(v("counter pmtr_job_quick_exits_total{job=web}"), Some(0.0));
    assert!(v("counter pmtr_job_quick_exits_total{job=flaky}") >= Some(1.0));
    assert_eq!(v("gauge pmtr_job_ready{job=web}"), Some(1.0));
    assert_eq!(v("gauge pmtr_job_ready{job=flaky}"), Some(0.0));
    assert_eq!(
        v("gauge pmtr_job_healthy{job=web}"),
        None,
        "web has no check"
    );
    assert_eq!(v("counter pmtr_config_reloads_total{}"), Some(1.0));
    assert_eq!(v("counter pmtr_config_reload_failures_total{}"), Some(0.0));
    assert_eq!(
        v(&format!(
            "gauge pmtr_build_info{{version={}}}",
            env!("CARGO_PKG_VERSION")
        )),
        Some(1.0)
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = v("gauge pmtr_job_start_time_seconds{job=web}").unwrap();
    assert!(
        (now - started).abs() < 60.0,
        "start time {started}, now {now}"
    );
    let reloaded = v("gauge pmtr_config_last_reload_success_timestamp_seconds{}").unwrap();
    assert!(
        (now - reloaded).abs() < 60.0,
        "reload time {reloaded}, now {now}"
    );

    // A failing check makes the job unhealthy, still ready.
    ne.expect("checked healthy", |m| {
        m.get("gauge pmtr_job_healthy{job=checked}") == Some(&1.0)
    });
    fs::remove_file(p.dir.join("healthy")).unwrap();
    let m = ne.expect("checked unhealthy", |m| {
        m.get("gauge pmtr_job_healthy{job=checked}") == Some(&0.0)
    });
    assert_eq!(m.get("gauge pmtr_job_ready{job=checked}"), Some(&1.0));
    assert_eq!(
        m.get("gauge pmtr_job_state{job=checked,state=unhealthy}"),
        Some(&1.0)
    );

    // A restart is a start more.
    let out = Command::new(pmtr_bin())
        .args(["restart", "web", "-s"])
        .arg(p.socket())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    ne.expect("web's second start", |m| {
        m.get("counter pmtr_job_starts_total{job=web}") == Some(&2.0)
            && m.get("gauge pmtr_job_up{job=web}") == Some(&1.0)
            && m.get("gauge pmtr_job_last_exit_signal{job=web}") == Some(&15.0)
    });

    // A broken save is a failed reload, and changes nothing else.
    p.write_config(&format!("{}job {{\n name broken\n}}\n", CONFIG));
    let m = ne.expect("a failed reload", |m| {
        m.get("counter pmtr_config_reload_failures_total{}") == Some(&1.0)
    });
    assert_eq!(m.get("counter pmtr_config_reloads_total{}"), Some(&2.0));
    assert_eq!(m.get("gauge pmtr_jobs_configured{}"), Some(&3.0));
    // A good one applies.
    p.write_config(&format!(
        "{}job {{\n name third\n cmd /bin/sleep 1001\n}}\n",
        CONFIG
    ));
    ne.expect("the good reload", |m| {
        m.get("counter pmtr_config_reloads_total{}") == Some(&3.0)
            && m.get("gauge pmtr_jobs_configured{}") == Some(&4.0)
            && m.get("gauge pmtr_job_up{job=third}") == Some(&1.0)
    });
}

#[test]
fn status_prometheus_prints_the_same_metrics() {
    let (p, textfiles) = pmtr_with_metrics("metrics-status");
    p.wait_job("web", T);
    let file = textfiles.join("pmtr.prom");
    expect_within(T, "the metrics file to show flaky's exit", || {
        fs::read_to_string(&file)
            .unwrap_or_default()
            .contains("pmtr_job_last_exit_status{job=\"flaky\"} 3")
    });
    let out = Command::new(pmtr_bin())
        .args(["status", "--prometheus", "-s"])
        .arg(p.socket())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let from_status = parse(&text);
    let from_file = parse(&fs::read_to_string(&file).unwrap());
    // The same series; values may differ only in what moves with time.
    assert_eq!(
        from_status.keys().collect::<Vec<_>>(),
        from_file.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        from_status.get("counter pmtr_job_starts_total{job=web}"),
        Some(&1.0)
    );
    // Names pick jobs; pmtr's own series stay.
    let out = Command::new(pmtr_bin())
        .args(["status", "--prometheus", "web", "-s"])
        .arg(p.socket())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("pmtr_job_up{job=\"web\"} 1"), "{text}");
    assert!(!text.contains("flaky"), "{text}");
    assert!(text.contains("pmtr_jobs_configured 3"), "{text}");
    let out = Command::new(pmtr_bin())
        .args(["status", "--prometheus", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Hundreds of jobs make an answer larger than the socket's buffer; it
/// arrives whole, in parts.
#[test]
fn a_large_metrics_answer_arrives_whole() {
    let mut conf = String::new();
    for i in 0..600 {
        conf.push_str(&format!(
            "job {{\n name job-with-a-long-name-{i:04}\n cmd /bin/true\n disable\n}}\n"
        ));
    }
    let p = Pmtr::start("metrics-large", &conf);
    p.expect_log("configuration loaded: 600 jobs", T);
    let out = Command::new(pmtr_bin())
        .args(["status", "--prometheus", "-s"])
        .arg(p.socket())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.len() > 300_000, "{} bytes", text.len());
    let m = parse(&text);
    assert_eq!(
        m.get("gauge pmtr_job_state{job=job-with-a-long-name-0599,state=disabled}"),
        Some(&1.0)
    );
}

/// Idle with metrics and a logger configured, pmtr still makes no system
/// call, and the file is not rewritten.
#[test]
fn idle_pmtr_with_metrics_and_a_logger_makes_no_syscalls() {
    let conf = "metrics to {dir}/pmtr.prom\n\
        job {\n name up\n cmd /bin/sleep 1000\n out {dir}/up.log max 1M keep 1 stamp\n}\n";
    let p = Pmtr::start("metrics-idle", conf);
    p.wait_job("up", T);
    let file = p.dir.join("pmtr.prom");
    expect_within(T, "the metrics file", || {
        fs::read_to_string(&file)
            .unwrap_or_default()
            .contains("pmtr_job_up{job=\"up\"} 1")
    });
    let written = fs::metadata(&file).unwrap().modified().unwrap();
    // The writer's temporary file and rename in the config's directory
    // queue inotify events pmtr reads once (see wait_idle).
    wait_idle(p.pid(), T);
    // The observation window: nothing is due, so nothing may happen.
    let text = strace_window(p.pid(), "metrics-idle-strace", Duration::from_secs(3));
    let completed = completed_calls(&text);
    assert!(completed.is_empty(), "idle pmtr made system calls:\n{text}");
    assert_eq!(fs::metadata(&file).unwrap().modified().unwrap(), written);
}

/// When pmtr exits, the file's last snapshot shows its jobs stopped.
#[test]
fn the_last_snapshot_shows_the_jobs_stopped() {
    let (mut p, textfiles) = pmtr_with_metrics("metrics-exit");
    p.wait_job("web", T);
    let file = textfiles.join("pmtr.prom");
    expect_within(T, "web up in the file", || {
        fs::read_to_string(&file)
            .unwrap_or_default()
            .contains("pmtr_job_up{job=\"web\"} 1")
    });
    assert_eq!(p.stop(), Some(0));
    let m = parse(&fs::read_to_string(&file).unwrap());
    assert_eq!(m.get("gauge pmtr_job_up{job=web}"), Some(&0.0));
    assert_eq!(
        m.get("gauge pmtr_job_last_exit_signal{job=web}"),
        Some(&15.0)
    );
}
