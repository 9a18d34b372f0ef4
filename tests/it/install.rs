//! Installation and boot integration (SPEC §9, issue 6): `make install`
//! and `make uninstall` (init.d/install.sh) into temporary roots, the SysV
//! script run for real with Debian's start-stop-daemon, busybox's, and
//! none, the systemd unit, and lint of every shell script in the repo.
//!
//! Nothing here touches the real /etc, /usr or /run: installs go into a
//! DESTDIR or a temporary PREFIX/SYSCONFDIR, the init script gets its paths
//! from a defaults file in a temp dir, and update-rc.d/systemctl are
//! stand-ins that record how they were called.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::util::{TempDir, alive, pmtr_bin, ppid, read_pid, signal, wait_pid_file, wait_until};

/// The pmtr that `install.sh` installs here: the one cargo built for the
/// tests, beside its companions `pmtr-ctl` and `pmtr-rptserver`, whatever
/// binary the other tests run (`PMTR_TEST_BIN`, see `pmtr_bin`).
fn built_bin() -> &'static str {
    env!("CARGO_BIN_EXE_pmtr")
}
/// The repository's top directory.
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A PATH with the usual system directories.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The first of `candidates` that exists.
fn find(candidates: &[&str]) -> PathBuf {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("none of {candidates:?} exists; run tests/setup.sh"))
}

fn busybox() -> PathBuf {
    find(&["/usr/bin/busybox", "/bin/busybox"])
}

/// Debian's start-stop-daemon, from dpkg.
fn debian_ssd() -> PathBuf {
    find(&["/sbin/start-stop-daemon", "/usr/sbin/start-stop-daemon"])
}

/// Fills `dir` with a symlink to busybox for each of its applets, except
/// those in `skip`.
fn link_applets(dir: &Path, skip: &[&str]) {
    fs::create_dir_all(dir).unwrap();
    let bb = busybox();
    let list = Command::new(&bb).arg("--list").output().unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if !skip.contains(&applet) {
            std::os::unix::fs::symlink(&bb, dir.join(applet)).unwrap();
        }
    }
}

fn write_exec(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// ---------------------------------------------------------------------------
// install.sh

/// A scratch area for install.sh: `root` is the DESTDIR (or the base of a
/// temporary PREFIX), `bin/` holds stand-ins for the host tools install.sh
/// may call (systemctl, update-rc.d, service), each appending its argv to
/// `calls`.
struct Installer {
    dir: TempDir,
    /// Runs under busybox ash with only busybox applets on PATH (no
    /// update-rc.d, no systemctl): a busybox image.
    busybox: bool,
}

impl Installer {
    fn new(name: &str) -> Installer {
        let dir = TempDir::new(name);
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::create_dir_all(dir.join("root")).unwrap();
        for tool in ["systemctl", "update-rc.d", "service"] {
            let script = format!(
                "#!/bin/sh\necho \"{tool} $*\" >>'{}'\n",
                dir.join("calls").display()
            );
            write_exec(&dir.join("bin").join(tool), &script);
        }
        Installer {
            dir,
            busybox: false,
        }
    }

    /// An installer on a busybox image: every tool is a busybox applet.
    fn busybox(name: &str) -> Installer {
        let dir = TempDir::new(name);
        fs::create_dir_all(dir.join("root")).unwrap();
        link_applets(&dir.join("bin"), &[]);
        Installer { dir, busybox: true }
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    /// The host tools install.sh called, one line each.
    fn calls(&self) -> Vec<String> {
        self.dir.read("calls").lines().map(str::to_owned).collect()
    }

    /// Runs `sh init.d/install.sh ACTION` with a clean environment plus
    /// `env`; DESTDIR defaults to `root`.
    fn run(&self, action: &str, env: &[(&str, &str)]) -> Output {
        let root = self.root();
        let (mut cmd, path) = if self.busybox {
            let mut c = Command::new(busybox());
            c.arg("sh");
            (c, self.dir.join("bin").display().to_string())
        } else {
            let path = format!("{}:{SYSTEM_PATH}", self.dir.join("bin").display());
            (Command::new("/bin/sh"), path)
        };
        cmd.arg(repo().join("init.d/install.sh"))
            .arg(action)
            .env_clear()
            .env("PATH", path)
            .env("PMTR_BIN", built_bin())
            .env("DESTDIR", &root)
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn ok(&self, action: &str, env: &[(&str, &str)]) -> String {
        let out = self.run(action, env);
        assert!(
            out.status.success(),
            "install.sh {action} {env:?} failed:\n{}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// What a tree holds: every file and symlink under `root` (relative path)
/// with its kind and mode, or its link target.
fn tree(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap();
                out.insert(rel, format!("-> {}", target.display()));
            } else if meta.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(rel, format!("{:o}", meta.mode() & 0o7777));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn expected(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(p, m)| (p.to_string(), m.to_string()))
        .collect()
}

const BIN_FILES: [(&str, &str); 3] = [
    ("usr/bin/pmtr", "755"),
    ("usr/bin/pmtr-ctl", "755"),
    ("usr/bin/pmtr-rptserver", "755"),
];

#[test]
fn install_sysv_into_destdir_lays_out_binary_companions_config_and_script() {
    let inst = Installer::new("inst-sysv");
    inst.ok("install", &[("INIT", "sysv")]);
    let root = inst.root();

    let mut want = expected(&BIN_FILES);
    want.extend(expected(&[
        ("etc/pmtr.conf", "644"),
        ("etc/init.d/pmtr", "755"),
    ]));
    assert_eq!(tree(&root), want);

    assert_eq!(
        fs::read(root.join("usr/bin/pmtr")).unwrap(),
        fs::read(built_bin()).unwrap()
    );
    assert_eq!(
        fs::read_to_string(root.join("etc/pmtr.conf")).unwrap(),
        fs::read_to_string(repo().join("examples/pmtr.conf")).unwrap()
    );
    // The default paths stay the standard ones with the default PREFIX.
    let script = fs::read_to_string(root.join("etc/init.d/pmtr")).unwrap();
    assert!(script.contains("PMTR=${PMTR:-/usr/bin/pmtr}"), "{script}");
    assert!(
        script.contains("PMTR_CONF=${PMTR_CONF:-/etc/pmtr.conf}"),
        "{script}"
    );
    // The companion programs are installed and run.
    for tool in ["pmtr-ctl", "pmtr-rptserver"] {
        let out = Command::new(root.join("usr/bin").join(tool))
            .output()
            .unwrap();
        let usage = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{tool}: {}", text(&out));
        assert!(
            usage.contains(&format!("{tool}: missing")),
            "{tool}: {usage}"
        );
    }
    // Into a DESTDIR nothing on the host is registered or started.
    assert_eq!(inst.calls(), Vec::<String>::new());
}

#[test]
fn install_systemd_into_destdir_lays_out_the_unit_instead_of_the_script() {
    let inst = Installer::new("inst-systemd");
    inst.ok("install", &[("INIT", "systemd")]);
    let root = inst.root();

    let mut want = expected(&BIN_FILES);
    want.extend(expected(&[
        ("etc/pmtr.conf", "644"),
        ("etc/systemd/system/pmtr.service", "644"),
    ]));
    assert_eq!(tree(&root), want);

    let unit = fs::read_to_string(root.join("etc/systemd/system/pmtr.service")).unwrap();
    assert!(
        unit.contains("\nExecStart=/usr/bin/pmtr -F -c /etc/pmtr.conf $PMTR_OPTS\n"),
        "{unit}"
    );
    assert_eq!(inst.calls(), Vec::<String>::new());
}

#[test]
fn install_with_init_none_adds_no_boot_integration() {
    let inst = Installer::new("inst-none");
    inst.ok("install", &[("INIT", "none")]);
    let mut want = expected(&BIN_FILES);
    want.extend(expected(&[("etc/pmtr.conf", "644")]));
    assert_eq!(tree(&inst.root()), want);
}

#[test]
fn install_picks_systemd_only_where_systemd_runs() {
    let inst = Installer::new("inst-auto");
    inst.ok("install", &[]);
    let files = tree(&inst.root());
    if Path::new("/run/systemd/system").is_dir() {
        assert!(
            files.contains_key("etc/systemd/system/pmtr.service"),
            "{files:?}"
        );
        assert!(!files.contains_key("etc/init.d/pmtr"), "{files:?}");
    } else {
        assert!(files.contains_key("etc/init.d/pmtr"), "{files:?}");
        assert!(
            !files.contains_key("etc/systemd/system/pmtr.service"),
            "{files:?}"
        );
    }
}

#[test]
fn install_rejects_an_unknown_init_flavour() {
    let inst = Installer::new("inst-badinit");
    let out = inst.run("install", &[("INIT", "upstart")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("upstart"),
        "{}",
        text(&out)
    );
    assert_eq!(tree(&inst.root()), BTreeMap::new());
}

#[test]
fn install_honours_prefix_sysconfdir_and_unit_dir_in_files_and_their_paths() {
    let inst = Installer::new("inst-prefix");
    let env = [
        ("PREFIX", "/opt/pmtr"),
        ("SYSCONFDIR", "/opt/pmtr/etc"),
        ("SYSTEMDUNITDIR", "/opt/pmtr/units"),
    ];
    inst.ok("install", &[env[0], env[1], env[2], ("INIT", "sysv")]);
    inst.ok("install", &[env[0], env[1], env[2], ("INIT", "systemd")]);
    let root = inst.root();
    assert_eq!(
        tree(&root),
        expected(&[
            ("opt/pmtr/bin/pmtr", "755"),
            ("opt/pmtr/bin/pmtr-ctl", "755"),
            ("opt/pmtr/bin/pmtr-rptserver", "755"),
            ("opt/pmtr/etc/pmtr.conf", "644"),
            ("opt/pmtr/etc/init.d/pmtr", "755"),
            ("opt/pmtr/units/pmtr.service", "644"),
        ])
    );
    let script = fs::read_to_string(root.join("opt/pmtr/etc/init.d/pmtr")).unwrap();
    assert!(
        script.contains("PMTR=${PMTR:-/opt/pmtr/bin/pmtr}"),
        "{script}"
    );
    assert!(
        script.contains("PMTR_CONF=${PMTR_CONF:-/opt/pmtr/etc/pmtr.conf}"),
        "{script}"
    );
    assert!(
        script.contains("PMTR_DEFAULTS=${PMTR_DEFAULTS:-/opt/pmtr/etc/default/pmtr}"),
        "{script}"
    );
    let unit = fs::read_to_string(root.join("opt/pmtr/units/pmtr.service")).unwrap();
    assert!(
        unit.contains("\nExecStart=/opt/pmtr/bin/pmtr -F -c /opt/pmtr/etc/pmtr.conf $PMTR_OPTS\n"),
        "{unit}"
    );
    assert!(
        unit.contains("\nEnvironmentFile=-/opt/pmtr/etc/default/pmtr\n"),
        "{unit}"
    );
    assert!(!unit.contains("/usr/bin/pmtr") && !script.contains("/usr/bin/pmtr"));
}

#[test]
fn install_never_overwrites_an_existing_config() {
    for flavour in ["sysv", "systemd"] {
        let inst = Installer::new("inst-keep");
        let root = inst.root();
        fs::create_dir_all(root.join("etc")).unwrap();
        let mine = "job {\n  name mine\n  cmd /bin/sleep 5\n}\n";
        fs::write(root.join("etc/pmtr.conf"), mine).unwrap();
        fs::set_permissions(
            root.join("etc/pmtr.conf"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();

        let said = inst.ok("install", &[("INIT", flavour)]);
        assert!(said.contains("kept the existing"), "{said}");
        // A second install (an upgrade) keeps it too.
        inst.ok("install", &[("INIT", flavour)]);
        assert_eq!(
            fs::read_to_string(root.join("etc/pmtr.conf")).unwrap(),
            mine
        );
        let mode = fs::metadata(root.join("etc/pmtr.conf")).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o600, "{flavour}: mode changed");
    }

    // A config reached through a symlink (ConfigMap style) stays a
    // symlink, even one that dangles right now.
    let inst = Installer::new("inst-keep-link");
    let root = inst.root();
    fs::create_dir_all(root.join("etc")).unwrap();
    std::os::unix::fs::symlink("../data/pmtr.conf", root.join("etc/pmtr.conf")).unwrap();
    inst.ok("install", &[("INIT", "sysv")]);
    assert_eq!(
        fs::read_link(root.join("etc/pmtr.conf")).unwrap(),
        Path::new("../data/pmtr.conf")
    );
    assert!(!root.join("data").exists());
}

#[test]
fn uninstall_removes_what_install_added_and_keeps_the_config() {
    for flavour in ["sysv", "systemd"] {
        let inst = Installer::new("inst-uninstall");
        let root = inst.root();
        // Someone else's file beside ours.
        fs::create_dir_all(root.join("usr/bin")).unwrap();
        fs::write(root.join("usr/bin/other"), "x").unwrap();
        fs::set_permissions(
            root.join("usr/bin/other"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();

        inst.ok("install", &[("INIT", flavour)]);
        assert!(tree(&root).len() > 2, "{flavour}: nothing installed");
        let said = inst.ok("uninstall", &[("INIT", flavour)]);
        assert!(said.contains("left"), "{said}");

        assert_eq!(
            tree(&root),
            expected(&[("etc/pmtr.conf", "644"), ("usr/bin/other", "755")]),
            "{flavour}"
        );
        assert_eq!(inst.calls(), Vec::<String>::new(), "{flavour}");
        // Uninstalling twice is harmless.
        inst.ok("uninstall", &[("INIT", flavour)]);
    }
}

#[test]
fn uninstall_removes_either_flavour_whatever_init_says_now() {
    let inst = Installer::new("inst-switch");
    inst.ok("install", &[("INIT", "sysv")]);
    inst.ok("install", &[("INIT", "systemd")]);
    inst.ok("uninstall", &[("INIT", "none")]);
    assert_eq!(tree(&inst.root()), expected(&[("etc/pmtr.conf", "644")]));
}

#[test]
fn install_on_a_systemd_host_enables_and_restarts_the_unit() {
    let inst = Installer::new("inst-live-systemd");
    let base = inst.dir.path().to_str().unwrap().to_owned();
    let env = [
        ("DESTDIR", ""),
        ("PREFIX", &*format!("{base}/usr")),
        ("SYSCONFDIR", &*format!("{base}/etc")),
        ("SYSTEMDUNITDIR", &*format!("{base}/units")),
        ("INIT", "systemd"),
    ];
    inst.ok("install", &env);
    assert!(inst.dir.join("units/pmtr.service").is_file());
    assert_eq!(
        inst.calls(),
        [
            "systemctl daemon-reload",
            "systemctl enable pmtr.service",
            "systemctl restart pmtr.service"
        ]
    );
    inst.ok("uninstall", &env);
    assert!(!inst.dir.join("units/pmtr.service").exists());
    assert_eq!(
        inst.calls()[3..],
        [
            "systemctl disable --now pmtr.service",
            "systemctl daemon-reload"
        ]
    );
}

/// The whole `sudo make install` path on a SysV host, against temporary
/// PREFIX and SYSCONFDIR: the script is registered with update-rc.d, pmtr
/// is started from the installed binary and runs the operator's jobs;
/// uninstall stops it (jobs included) and unregisters it.
#[test]
fn install_on_a_sysv_host_registers_and_starts_pmtr_and_uninstall_stops_it() {
    let inst = Installer::new("inst-live-sysv");
    let base = inst.dir.path().to_str().unwrap().to_owned();
    let conf = format!(
        "job {{\n  name sleeper\n  cmd /bin/sh -c \"echo $$ > {base}/sleeper.pid; exec /bin/sleep 1000\"\n}}\n"
    );
    let conf_path = inst.dir.write("etc/pmtr.conf", &conf);
    fs::set_permissions(&conf_path, fs::Permissions::from_mode(0o644)).unwrap();
    let pidfile = format!("{base}/pmtr.pid");
    let env = [
        ("DESTDIR", ""),
        ("PREFIX", &*format!("{base}/usr")),
        ("SYSCONFDIR", &*format!("{base}/etc")),
        ("INIT", "sysv"),
        // Read by the installed init script, which install.sh runs.
        ("PIDFILE", &*pidfile),
        ("PMTR_LOG_SOCKET", &*format!("{base}/no-syslog")),
        ("PMTR_OPTS", &*format!("-s {base}/ctl.sock")),
    ];
    let guard = Cleanup::new(&[&pidfile, &format!("{base}/sleeper.pid")]);

    let said = inst.ok("install", &env);
    assert!(said.contains("registered with update-rc.d"), "{said}");
    assert_eq!(inst.calls(), ["update-rc.d pmtr defaults"]);
    assert_eq!(
        inst.dir.read("etc/pmtr.conf"),
        conf,
        "operator's config replaced"
    );

    let pid = read_pid(Path::new(&pidfile)).expect("no pidfile after install");
    assert!(alive(pid));
    assert_eq!(
        fs::read_link(format!("/proc/{pid}/exe")).unwrap(),
        inst.dir.join("usr/bin/pmtr"),
        "pmtr runs from somewhere else"
    );
    let job = wait_pid_file(&inst.dir.join("sleeper.pid"), Duration::from_secs(15));
    assert_eq!(ppid(job), Some(pid));

    let said = inst.ok("uninstall", &env);
    assert!(
        !said.contains("SIGKILL"),
        "pmtr did not exit on SIGTERM:\n{said}"
    );
    assert!(!alive(pid), "pmtr still running after uninstall");
    assert!(!alive(job), "job still running after uninstall");
    assert_eq!(inst.calls()[1..], ["update-rc.d -f pmtr remove"]);
    assert!(!inst.dir.join("etc/init.d/pmtr").exists());
    assert!(!inst.dir.join("usr/bin/pmtr").exists());
    assert_eq!(inst.dir.read("etc/pmtr.conf"), conf);
    drop(guard);
}

/// `make install` on a busybox image, run by busybox ash with only
/// applets on PATH: no update-rc.d, so install prints the inittab line,
/// and still starts pmtr through the installed script (busybox's
/// start-stop-daemon); uninstall stops it.
#[test]
fn install_on_a_busybox_image_prints_the_inittab_line_and_starts_pmtr() {
    let inst = Installer::busybox("inst-busybox");
    let base = inst.dir.path().to_str().unwrap().to_owned();
    let conf = format!(
        "job {{\n  name sleeper\n  cmd /bin/sh -c \"echo $$ > {base}/sleeper.pid; exec /bin/sleep 1000\"\n}}\n"
    );
    let conf_path = inst.dir.write("etc/pmtr.conf", &conf);
    fs::set_permissions(&conf_path, fs::Permissions::from_mode(0o644)).unwrap();
    let pidfile = format!("{base}/pmtr.pid");
    let env = [
        ("DESTDIR", ""),
        ("PREFIX", &*format!("{base}/usr")),
        ("SYSCONFDIR", &*format!("{base}/etc")),
        // A busybox image has no /run/systemd/system; this host might.
        ("INIT", "sysv"),
        ("PIDFILE", &*pidfile),
        ("PMTR_LOG_SOCKET", &*format!("{base}/no-syslog")),
        ("PMTR_OPTS", &*format!("-s {base}/ctl.sock")),
    ];
    let guard = Cleanup::new(&[&pidfile, &format!("{base}/sleeper.pid")]);

    let said = inst.ok("install", &env);
    assert!(
        said.contains(&format!("::respawn:{base}/usr/bin/pmtr -F")),
        "no inittab line:\n{said}"
    );
    let pid = read_pid(Path::new(&pidfile)).expect("no pidfile after install");
    assert!(alive(pid));
    let job = wait_pid_file(&inst.dir.join("sleeper.pid"), Duration::from_secs(15));
    assert_eq!(ppid(job), Some(pid));

    let said = inst.ok("uninstall", &env);
    assert!(
        !said.contains("SIGKILL"),
        "pmtr did not exit on SIGTERM:\n{said}"
    );
    assert!(
        !alive(pid) && !alive(job),
        "pmtr or its job survived uninstall"
    );
    assert_eq!(
        tree(&inst.root()),
        BTreeMap::new(),
        "DESTDIR was empty: nothing may land in root/"
    );
    assert!(!inst.dir.join("usr/bin/pmtr").exists());
    assert!(!inst.dir.join("etc/init.d/pmtr").exists());
    assert_eq!(inst.dir.read("etc/pmtr.conf"), conf);
    drop(guard);
}

// ---------------------------------------------------------------------------
// The SysV init script, run for real

/// Kills, when a test ends (passing or not), the processes whose PIDs the
/// listed files hold: a failed test leaves no daemon behind.
struct Cleanup {
    files: Vec<PathBuf>,
}

impl Cleanup {
    fn new(files: &[&str]) -> Cleanup {
        Cleanup {
            files: files.iter().map(PathBuf::from).collect(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for f in &self.files {
            if let Some(pid) = read_pid(f).filter(|&p| p > 1 && alive(p)) {
                signal(pid, libc::SIGKILL);
            }
        }
    }
}

/// A stand-in for /dev/log that the daemonized pmtr logs to (through
/// PMTR_LOG_SOCKET), drained by a thread so that pmtr's non-blocking sends
/// never find the queue full.
struct LogSink {
    text: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
}

impl LogSink {
    fn bind(path: &Path) -> LogSink {
        let sock = UnixDatagram::bind(path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let text = Arc::new(Mutex::new(String::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (text, stop) = (text.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(n) = sock.recv(&mut buf) {
                        let mut t = text.lock().unwrap();
                        t.push_str(&String::from_utf8_lossy(&buf[..n]));
                        t.push('\n');
                    }
                }
            })
        };
        LogSink {
            text,
            stop,
            reader: Some(reader),
        }
    }

    fn text(&self) -> String {
        self.text.lock().unwrap().clone()
    }

    /// Waits for a record containing `needle`, counting only records after
    /// the first `from` bytes of the log.
    fn expect_after(&self, from: usize, needle: &str, limit: Duration) {
        if !wait_until(limit, || {
            self.text().get(from..).is_some_and(|t| t.contains(needle))
        }) {
            panic!(
                "no log record with {needle:?} within {limit:?}; log:\n{}",
                self.text()
            );
        }
    }
}

impl Drop for LogSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// Which start-stop-daemon the init script finds on its PATH.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ssd {
    /// dash as /bin/sh, Debian's start-stop-daemon.
    Debian,
    /// busybox ash, busybox's start-stop-daemon applet, only applets on PATH.
    Busybox,
    /// busybox ash and applets, no start-stop-daemon at all: plain kill.
    Missing,
}

/// The init script set up in a temp dir: a defaults file pointing it at
/// the binary under test, a config, a pidfile, all in `dir`; `bin/` is the
/// PATH for busybox flavours. Every start-stop-daemon call goes through a
/// wrapper that records it in `ssd-calls`.
struct InitScript {
    dir: TempDir,
    ssd: Ssd,
    script: PathBuf,
}

impl InitScript {
    fn new(name: &str, ssd: Ssd, pmtr: &Path, config: &str) -> InitScript {
        let dir = TempDir::new(name);
        let base = dir.path().to_str().unwrap().to_owned();
        let conf = dir.write("pmtr.conf", &config.replace("{dir}", &base));
        // As root pmtr trusts only a file no other user can change,
        // whatever the umask the tests run under.
        fs::set_permissions(&conf, fs::Permissions::from_mode(0o644)).unwrap();
        dir.write(
            "default",
            // Each pmtr gets its own control socket, not the host's
            // /run/pmtr.sock: this also proves PMTR_OPTS reaches pmtr.
            &format!(
                "PMTR={}\nPMTR_CONF={base}/pmtr.conf\nPIDFILE={base}/pmtr.pid\nPMTR_OPTS=\"-s {base}/ctl.sock\"\n",
                pmtr.display()
            ),
        );
        let bin = dir.join("bin");
        fs::create_dir_all(&bin).unwrap();
        let calls = dir.join("ssd-calls");
        match ssd {
            Ssd::Debian => write_exec(
                &bin.join("start-stop-daemon"),
                &format!(
                    "#!/bin/sh\necho \"$*\" >>'{}'\nexec {} \"$@\"\n",
                    calls.display(),
                    debian_ssd().display()
                ),
            ),
            Ssd::Busybox | Ssd::Missing => {
                let bb = busybox();
                link_applets(&bin, &["start-stop-daemon"]);
                if ssd == Ssd::Busybox {
                    write_exec(
                        &bin.join("start-stop-daemon"),
                        &format!(
                            "#!{bb} sh\necho \"$*\" >>'{}'\nexec {bb} start-stop-daemon \"$@\"\n",
                            calls.display(),
                            bb = bb.display()
                        ),
                    );
                }
            }
        }
        InitScript {
            dir,
            ssd,
            script: repo().join("init.d/pmtr"),
        }
    }

    /// Runs `init.d/pmtr ACTION` the way this flavour's system would.
    fn run(&self, action: &str) -> (Option<i32>, String) {
        let mut cmd = match self.ssd {
            Ssd::Debian => {
                let mut c = Command::new("/bin/sh");
                c.env(
                    "PATH",
                    format!("{}:{SYSTEM_PATH}", self.dir.join("bin").display()),
                );
                c
            }
            Ssd::Busybox | Ssd::Missing => {
                let mut c = Command::new(busybox());
                c.arg("sh").env("PATH", self.dir.join("bin"));
                c
            }
        };
        let out = cmd
            .arg(&self.script)
            .arg(action)
            .env("PMTR_DEFAULTS", self.dir.join("default"))
            .env("PMTR_LOG_SOCKET", self.dir.join("log.sock"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (out.status.code(), text(&out))
    }

    fn expect(&self, action: &str, code: i32) -> String {
        let (got, out) = self.run(action);
        assert_eq!(
            got,
            Some(code),
            "{:?}: init.d/pmtr {action}:\n{out}",
            self.ssd
        );
        out
    }

    fn pidfile(&self) -> PathBuf {
        self.dir.join("pmtr.pid")
    }

    fn ssd_calls(&self) -> String {
        self.dir.read("ssd-calls")
    }

    fn cleanup(&self, names: &[&str]) -> Cleanup {
        let mut files = vec![self.pidfile()];
        files.extend(names.iter().map(|n| self.dir.join(n)));
        Cleanup { files }
    }
}

const ONE_JOB: &str = "\
job {
  name sleeper
  cmd /bin/sh -c \"echo $$ > {dir}/sleeper.pid; exec /bin/sleep 1000\"
}
";

const TWO_JOBS: &str = "\
job {
  name sleeper
  cmd /bin/sh -c \"echo $$ > {dir}/sleeper.pid; exec /bin/sleep 1000\"
}

job {
  name napper
  cmd /bin/sh -c \"echo $$ > {dir}/napper.pid; exec /bin/sleep 1000\"
}
";

/// start, status, reload, restart, stop, status: the life of pmtr under
/// the init script, checked against the real processes.
fn init_script_lifecycle(ssd: Ssd) {
    let init = InitScript::new("initd", ssd, Path::new(pmtr_bin()), ONE_JOB);
    let _cleanup = init.cleanup(&["sleeper.pid", "napper.pid"]);
    let log = LogSink::bind(&init.dir.join("log.sock"));
    let job_file = init.dir.join("sleeper.pid");

    init.expect("status", 3);
    init.expect("start", 0);
    // "start" returns once the pidfile names the running daemon.
    let pid = read_pid(&init.pidfile()).expect("no pidfile right after start");
    assert!(alive(pid), "pmtr [{pid}] not running right after start");
    let status = init.expect("status", 0);
    assert!(status.contains(&format!("running (pid {pid})")), "{status}");
    let again = init.expect("start", 0);
    assert!(again.contains("already running"), "{again}");
    assert_eq!(read_pid(&init.pidfile()), Some(pid));

    let job = wait_pid_file(&job_file, Duration::from_secs(15));
    assert_eq!(ppid(job), Some(pid), "the job is not pmtr's child");
    assert!(
        init.dir.join("ctl.sock").exists(),
        "PMTR_OPTS did not reach pmtr"
    );

    // reload reaches pmtr as SIGHUP: it rescans, and the job goes on.
    // (Records arrive in order: once the job's start is in, the startup
    // rescan is behind us.)
    log.expect_after(0, "started job sleeper", Duration::from_secs(10));
    let seen = log.text().len();
    init.expect("reload", 0);
    log.expect_after(seen, "rescanning configuration", Duration::from_secs(10));
    assert!(alive(pid) && alive(job), "reload stopped pmtr or its job");

    // An edit plus force-reload: the new job starts, the unchanged one
    // and pmtr stay.
    init.dir.write(
        "pmtr.conf",
        &TWO_JOBS.replace("{dir}", init.dir.path().to_str().unwrap()),
    );
    init.expect("force-reload", 0);
    let napper = wait_pid_file(&init.dir.join("napper.pid"), Duration::from_secs(15));
    assert_eq!(ppid(napper), Some(pid));
    assert!(
        alive(pid) && alive(job),
        "force-reload stopped pmtr or the unchanged job"
    );

    // restart: a new pmtr, the old one and its jobs gone.
    fs::remove_file(&job_file).unwrap();
    let out = init.expect("restart", 0);
    assert!(
        !out.contains("SIGKILL"),
        "pmtr did not exit on SIGTERM:\n{out}"
    );
    assert!(!alive(pid), "old pmtr [{pid}] still running after restart");
    assert!(
        !alive(job) && !alive(napper),
        "old jobs still running after restart"
    );
    let pid2 = read_pid(&init.pidfile()).expect("no pidfile after restart");
    assert_ne!(pid2, pid);
    let job2 = wait_pid_file(&job_file, Duration::from_secs(15));
    let napper2 = wait_pid_file(&init.dir.join("napper.pid"), Duration::from_secs(15));
    assert_eq!(ppid(job2), Some(pid2));

    // stop returns only when pmtr and its jobs are gone, pmtr having
    // stopped them itself (not the script's SIGKILL fallback).
    let out = init.expect("stop", 0);
    assert!(
        !out.contains("SIGKILL"),
        "pmtr did not exit on SIGTERM:\n{out}"
    );
    assert!(!alive(pid2), "pmtr [{pid2}] still running after stop");
    assert!(
        !alive(job2) && !alive(napper2),
        "a job is still running after stop"
    );
    assert!(!init.pidfile().exists(), "pmtr left its pidfile");
    init.expect("status", 3);
    init.expect("stop", 0);
    init.expect("reload", 7);

    let calls = init.ssd_calls();
    match ssd {
        Ssd::Debian | Ssd::Busybox => {
            assert!(
                calls.lines().any(|l| l.starts_with("-S ")),
                "{ssd:?} never started via s-s-d:\n{calls}"
            );
            assert!(
                calls.contains("-K -q -o -s TERM"),
                "{ssd:?} never stopped via s-s-d:\n{calls}"
            );
            assert!(
                calls.contains("-K -q -s HUP"),
                "{ssd:?} never reloaded via s-s-d:\n{calls}"
            );
        }
        Ssd::Missing => assert_eq!(calls, ""),
    }
}

#[test]
fn init_script_runs_pmtr_with_debian_start_stop_daemon() {
    init_script_lifecycle(Ssd::Debian);
}

#[test]
fn init_script_runs_pmtr_with_busybox_start_stop_daemon_and_ash() {
    init_script_lifecycle(Ssd::Busybox);
}

#[test]
fn init_script_runs_pmtr_with_plain_kill_without_start_stop_daemon() {
    init_script_lifecycle(Ssd::Missing);
}

#[test]
fn init_script_status_is_1_for_a_stale_pidfile_and_start_replaces_it() {
    let init = InitScript::new("initd-stale", Ssd::Debian, Path::new(pmtr_bin()), ONE_JOB);
    let _cleanup = init.cleanup(&["sleeper.pid"]);
    // A PID that surely is no pmtr: a process that has come and gone.
    let mut gone = Command::new("/bin/true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    fs::write(init.pidfile(), format!("{dead}\n")).unwrap();
    let out = init.expect("status", 1);
    assert!(out.contains("remains"), "{out}");
    // Our own PID is alive, but it is not pmtr: still not running.
    fs::write(init.pidfile(), format!("{}\n", std::process::id())).unwrap();
    init.expect("status", 1);

    init.expect("start", 0);
    let pid = read_pid(&init.pidfile()).unwrap();
    assert_ne!(pid, std::process::id());
    init.expect("status", 0);
    init.expect("stop", 0);
    assert!(!alive(pid));
    init.expect("status", 3);
}

/// The fallback for a pmtr that does not exit: after PMTR_STOP_TIMEOUT
/// the script SIGKILLs it and the process groups of its jobs. A stand-in
/// named pmtr (the script matches by name) that ignores SIGTERM, with a
/// job that ignores it too and has a child of its own.
#[test]
fn init_script_stop_kills_a_stuck_pmtr_and_its_jobs_after_the_timeout() {
    for ssd in [Ssd::Debian, Ssd::Busybox] {
        let fake_dir = TempDir::new("initd-stuck-bin");
        let fake = fake_dir.join("pmtr");
        write_exec(
            &fake,
            "#!/bin/sh
conf=; pidf=; fg=0; test=0
while [ $# -gt 0 ]; do
    case $1 in -c) conf=$2; shift ;; -p) pidf=$2; shift ;; -F) fg=1 ;; -t) test=1 ;; esac
    shift
done
[ $test = 1 ] && exit 0
if [ $fg = 0 ]; then
    setsid \"$0\" -F -c \"$conf\" -p \"$pidf\" </dev/null >/dev/null 2>&1 &
    while [ ! -s \"$pidf\" ]; do sleep 0.05; done
    exit 0
fi
trap '' TERM
dir=${conf%/*}
setsid /bin/sh -c 'trap \"\" TERM; echo $$ > \"$1/job.pid\"; /bin/sleep 1000 & echo $! > \"$1/grandchild.pid\"; wait' sh \"$dir\" &
echo $$ > \"$pidf.tmp\" && mv \"$pidf.tmp\" \"$pidf\"
while :; do sleep 1; done
",
        );
        let init = InitScript::new("initd-stuck", ssd, &fake, "");
        let _cleanup = init.cleanup(&["job.pid", "grandchild.pid"]);
        fs::write(
            init.dir.join("default"),
            format!("{}PMTR_STOP_TIMEOUT=1\n", init.dir.read("default")),
        )
        .unwrap();

        init.expect("start", 0);
        let pid = read_pid(&init.pidfile()).unwrap();
        let job = wait_pid_file(&init.dir.join("job.pid"), Duration::from_secs(10));
        let grandchild = wait_pid_file(&init.dir.join("grandchild.pid"), Duration::from_secs(10));
        init.expect("status", 0);

        let out = init.expect("stop", 0);
        assert!(out.contains("SIGKILL"), "{out}");
        assert!(!alive(pid), "{ssd:?}: stuck pmtr survived stop");
        assert!(
            wait_until(Duration::from_secs(5), || !alive(job) && !alive(grandchild)),
            "{ssd:?}: the stuck pmtr's job group survived stop"
        );
        init.expect("status", 3);
    }
}

/// pmtr starts on a broken configuration and waits for a good save
/// (SPEC §6); the script shows the operator the errors when it starts it,
/// and refuses to signal a reload of a broken file.
#[test]
fn init_script_shows_config_errors_on_start_and_reload() {
    let init = InitScript::new(
        "initd-broken",
        Ssd::Debian,
        Path::new(pmtr_bin()),
        "job {\n  name nocmd\n}\n",
    );
    let _cleanup = init.cleanup(&[]);
    let out = init.expect("start", 0);
    assert!(
        out.contains("pmtr.conf:"),
        "no FILE:LINE error shown:\n{out}"
    );
    assert!(out.contains("has errors"), "{out}");
    let pid = read_pid(&init.pidfile()).expect("pmtr did not start on a broken file");
    init.expect("status", 0);
    let out = init.expect("reload", 1);
    assert!(out.contains("has errors"), "{out}");
    assert!(alive(pid));
    init.expect("stop", 0);
    assert!(!alive(pid));
}

#[test]
fn init_script_rejects_unknown_actions_with_usage() {
    let init = InitScript::new("initd-usage", Ssd::Debian, Path::new(pmtr_bin()), ONE_JOB);
    let out = init.expect("frobnicate", 2);
    assert!(out.contains("usage:"), "{out}");
}

#[test]
fn init_script_start_fails_with_5_when_pmtr_is_not_installed() {
    let init = InitScript::new(
        "initd-missing",
        Ssd::Debian,
        Path::new("/nonexistent/pmtr"),
        ONE_JOB,
    );
    let out = init.expect("start", 5);
    assert!(out.contains("not installed"), "{out}");
}

#[test]
fn init_script_has_lsb_headers() {
    let script = fs::read_to_string(repo().join("init.d/pmtr")).unwrap();
    let header = script
        .split("### BEGIN INIT INFO\n")
        .nth(1)
        .and_then(|rest| rest.split("### END INIT INFO").next())
        .expect("no LSB header block");
    for key in [
        "Provides:          pmtr",
        "Required-Start:",
        "Required-Stop:",
        "Default-Start:     2 3 4 5",
        "Default-Stop:      0 1 6",
        "Short-Description:",
    ] {
        assert!(
            header.contains(&format!("# {key}")),
            "LSB header lacks {key}:\n{header}"
        );
    }
    assert!(script.starts_with("#!/bin/sh\n"));
}

/// Debian's update-rc.d (without insserv, as on Raspberry Pi OS) reads the
/// LSB header to make the rc links; DPKG_ROOT points it at a temp root.
#[test]
fn init_script_header_gives_debian_update_rc_d_the_runlevels() {
    let Some(update_rc_d) = ["/usr/sbin/update-rc.d", "/sbin/update-rc.d"]
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
    else {
        eprintln!(
            "update-rc.d not installed: LSB header checked by init_script_has_lsb_headers only"
        );
        return;
    };
    let root = TempDir::new("update-rc-d");
    fs::create_dir_all(root.join("etc/init.d")).unwrap();
    fs::copy(repo().join("init.d/pmtr"), root.join("etc/init.d/pmtr")).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(update_rc_d)
            .args(args)
            .env("DPKG_ROOT", root.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "update-rc.d {args:?}:\n{}",
            text(&out)
        );
    };
    let links = || -> Vec<String> {
        let mut v: Vec<String> = tree(root.path())
            .into_iter()
            .filter(|(p, _)| p.starts_with("etc/rc"))
            .map(|(p, target)| format!("{p} {target}"))
            .collect();
        v.sort();
        v
    };

    run(&["pmtr", "defaults"]);
    let want: Vec<String> = ["0K", "1K", "2S", "3S", "4S", "5S", "6K"]
        .iter()
        .map(|lk| {
            let (level, kind) = lk.split_at(1);
            format!("etc/rc{level}.d/{kind}01pmtr -> ../init.d/pmtr")
        })
        .collect();
    assert_eq!(links(), want);

    run(&["-f", "pmtr", "remove"]);
    assert_eq!(links(), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// systemd unit and busybox inittab

/// The unit's settings as KEY=VALUE lines, comments dropped.
fn unit_settings() -> Vec<String> {
    fs::read_to_string(repo().join("init.d/pmtr.service"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(str::to_owned)
        .collect()
}

#[test]
fn systemd_unit_runs_pmtr_in_the_foreground_and_lets_it_stop_its_jobs() {
    let settings = unit_settings();
    for want in [
        "Type=simple",
        "ExecStart=/usr/bin/pmtr -F -c /etc/pmtr.conf $PMTR_OPTS",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "KillMode=mixed",
        "KillSignal=SIGTERM",
        "Restart=always",
        "WantedBy=multi-user.target",
    ] {
        assert!(
            settings.iter().any(|s| s == want),
            "unit lacks {want}: {settings:?}"
        );
    }
    // Long enough for pmtr's 10 s TERM-to-KILL per job, with room to spare.
    let stop: u64 = settings
        .iter()
        .find_map(|s| s.strip_prefix("TimeoutStopSec="))
        .expect("no TimeoutStopSec")
        .parse()
        .unwrap();
    assert!(stop >= 30, "TimeoutStopSec={stop}");
}

#[test]
fn systemd_unit_passes_systemd_analyze_verify() {
    let Some(analyze) = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
    else {
        eprintln!("systemd-analyze not installed: unit checked by the other tests only");
        return;
    };
    // verify insists that ExecStart exists: point it at the binary under
    // test, as install.sh points it at the installed one.
    let dir = TempDir::new("unit-verify");
    let unit = fs::read_to_string(repo().join("init.d/pmtr.service"))
        .unwrap()
        .replace("/usr/bin/pmtr", pmtr_bin());
    let path = dir.write("pmtr.service", &unit);
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&path)
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Warnings about the unit itself name its file; other noise (no
    // running systemd in a container) does not concern the unit.
    let about_unit: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("pmtr.service"))
        .collect();
    assert!(
        out.status.success() && about_unit.is_empty(),
        "systemd-analyze verify:\n{}",
        text(&out)
    );
}

#[test]
fn busybox_inittab_example_respawns_pmtr_in_the_foreground() {
    let tab = fs::read_to_string(repo().join("init.d/inittab")).unwrap();
    let active: Vec<&str> = tab
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(active, ["::respawn:/usr/bin/pmtr -F"]);
}

// ---------------------------------------------------------------------------
// Shell-script lint

/// Every shell script in the repo's script directories: files with a sh,
/// ash or bash shebang.
fn shell_scripts() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "out" | "target" | ".venv" | "node_modules") {
                    walk(&path, out);
                }
                continue;
            }
            let Ok(text) = fs::read(&path) else { continue };
            let first = text.split(|&b| b == b'\n').next().unwrap_or_default();
            let first = String::from_utf8_lossy(first);
            let Some(interp) = first.strip_prefix("#!") else {
                continue;
            };
            let interp = interp.trim();
            let shell = ["bash", "ash", "dash", "sh"].into_iter().find(|s| {
                interp
                    .split_whitespace()
                    .any(|w| w.rsplit('/').next() == Some(*s))
            });
            if let Some(shell) = shell {
                out.push((path, shell.to_owned()));
            }
        }
    }
    let mut out = Vec::new();
    for dir in ["init.d", "pkg", "cross", "tests", "bench"] {
        walk(&repo().join(dir), &mut out);
    }
    out.sort();
    out
}

#[test]
fn shell_scripts_pass_sh_n_and_shellcheck() {
    let scripts = shell_scripts();
    let names: Vec<String> = scripts
        .iter()
        .map(|(p, _)| p.strip_prefix(repo()).unwrap().display().to_string())
        .collect();
    for must in [
        "init.d/pmtr",
        "init.d/install.sh",
        "tests/setup.sh",
        "pkg/deb/build.sh",
        "pkg/deb/postinst",
        "pkg/deb/prerm",
        "pkg/deb/postrm",
    ] {
        assert!(
            names.iter().any(|n| n == must),
            "{must} not found among {names:?}"
        );
    }
    let mut failures = Vec::new();
    for (path, shell) in &scripts {
        let rel = path.strip_prefix(repo()).unwrap().display().to_string();
        let mut parsers = vec![if shell == "bash" { "bash" } else { "sh" }.to_owned()];
        // The init scripts, and the package's maintainer scripts (dpkg on
        // a busybox image runs them with busybox sh), must run under
        // busybox ash as well.
        if (rel.starts_with("init.d/") || rel.starts_with("pkg/")) && shell != "bash" {
            parsers.push(format!("{} sh", busybox().display()));
        }
        for parser in &parsers {
            let mut words = parser.split_whitespace();
            let out = Command::new(words.next().unwrap())
                .args(words)
                .arg("-n")
                .arg(path)
                .output()
                .unwrap();
            if !out.status.success() {
                failures.push(format!("{parser} -n {rel}:\n{}", text(&out)));
            }
        }
        // Ours are held to every shellcheck level; other scripts fail on
        // errors only.
        let severity = if rel.starts_with("init.d/") || rel.starts_with("pkg/") {
            "style"
        } else {
            "error"
        };
        let out = Command::new("shellcheck")
            .args(["--severity", severity, "--format", "gcc"])
            .arg(path)
            .current_dir(repo())
            .output()
            .expect("shellcheck not installed; run tests/setup.sh");
        if !out.status.success() {
            failures.push(format!("shellcheck {rel}:\n{}", text(&out)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
