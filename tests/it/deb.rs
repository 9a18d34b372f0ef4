//! The Debian package (issue 17): `pkg/deb/build.sh` run on the stable
//! x86_64 musl build, the .deb checked with lintian and installed with
//! `dpkg --root` into a throwaway root made of Debian's static busybox.
//! dpkg chroots into that root to run the maintainer scripts, so they, the
//! init script and pmtr all run for real there: install starts pmtr, an
//! edit of /etc/pmtr.conf starts a job, an upgrade keeps the edited
//! conffile, remove stops pmtr, purge deletes the configuration.
//!
//! Nothing here touches the host's dpkg database, /etc or services. Each
//! dpkg call runs in a mount namespace of its own (`unshare --mount`) that
//! mounts /proc inside the root, so no mount outlives the test. The test
//! stops only the processes it saw start, by PID.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::util::{TempDir, alive, ppid, read_pid, signal, wait_pid_file, wait_until};

/// Generous: dpkg, the init script and pmtr start in well under a second,
/// but the machine may be busy with other builds.
const T: Duration = Duration::from_secs(30);

/// The version in Cargo.toml: the package `make deb` builds.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the upgrade installs: a higher version of the same build.
const UPGRADE: &str = concat!(env!("CARGO_PKG_VERSION"), "+test1");

const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"))
}

/// dpkg --root and chroot need root; as anyone else there is nothing to
/// check.
fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run_ok(cmd: &mut Command) -> String {
    // ETXTBSY: a script this test just wrote can still be open for
    // writing in a child another test thread forked and has not exec'd
    // yet; that passes in moments.
    let mut tries = 0;
    let out = loop {
        match cmd.stdin(Stdio::null()).output() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => break other.unwrap_or_else(|e| panic!("{cmd:?}: {e}; run tests/setup.sh")),
        }
    };
    assert!(out.status.success(), "{cmd:?} failed:\n{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The directory of the static x86_64 build of all three programs, built
/// once per run (a no-op after `make unit`, which builds it first). The
/// host build (`CARGO_BIN_EXE_pmtr`) links glibc dynamically and would not
/// run in a root that holds only busybox.
fn musl_bins() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        run_ok(
            Command::new(cargo)
                .args(["build", "--release", "--bins"])
                .args(["--target", "x86_64-unknown-linux-musl"])
                .current_dir(repo())
                // As in cross/lib.sh: RUSTFLAGS would replace the static
                // linking flags of .cargo/config.toml.
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_ENCODED_RUSTFLAGS"),
        );
        target_dir().join("x86_64-unknown-linux-musl/release")
    })
}

/// Builds the amd64 package into `out` with `pkg/deb/build.sh`, at
/// Cargo.toml's version or at `version`, and returns its path.
fn build_deb(out: &Path, version: Option<&str>) -> PathBuf {
    let mut cmd = Command::new("sh");
    cmd.arg(repo().join("pkg/deb/build.sh"))
        .arg("amd64")
        .arg(musl_bins())
        .arg(out);
    if let Some(v) = version {
        cmd.env("PMTR_DEB_VERSION", v);
    }
    run_ok(&mut cmd);
    let deb = out.join(format!("pmtr_{}_amd64.deb", version.unwrap_or(VERSION)));
    assert!(deb.is_file(), "{} not built", deb.display());
    deb
}

/// Debian's static busybox, unpacked by tests/setup.sh (the busybox-static
/// package conflicts with the busybox the other tests use, so it is not
/// installed).
fn static_busybox() -> PathBuf {
    let path = target_dir().join("test-tools/busybox-static");
    assert!(
        path.is_file(),
        "{} missing; run tests/setup.sh",
        path.display()
    );
    path
}

// ---------------------------------------------------------------------------
// A throwaway root

/// A root directory that dpkg can install into and chroot to: busybox with
/// every applet linked under /bin (so /bin/sh, start-stop-daemon, sleep…),
/// /dev/null and /proc (mounted per dpkg call), /run, /tmp and an empty
/// dpkg database. `pids` are the processes seen running in it, killed on
/// drop if a test failed before it stopped them.
struct Root {
    dir: TempDir,
    pids: Vec<u32>,
}

impl Root {
    fn new(name: &str) -> Root {
        let dir = TempDir::new(name);
        let root = dir.path();
        fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
        for d in [
            "bin",
            "dev",
            "proc",
            "run",
            "etc",
            "var/log",
            "var/lib/dpkg/info",
            "var/lib/dpkg/updates",
        ] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        fs::create_dir_all(root.join("tmp")).unwrap();
        fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
        fs::write(root.join("var/lib/dpkg/status"), "").unwrap();

        let bb = root.join("bin/busybox");
        fs::copy(static_busybox(), &bb).unwrap();
        fs::set_permissions(&bb, fs::Permissions::from_mode(0o755)).unwrap();
        let list = run_ok(Command::new(&bb).arg("--list"));
        for applet in list.lines().filter(|a| *a != "busybox") {
            std::os::unix::fs::symlink("/bin/busybox", root.join("bin").join(applet)).unwrap();
        }
        // The mount point for the host's /dev/null (see `dpkg`).
        fs::write(root.join("dev/null"), "").unwrap();
        Root {
            dir,
            pids: Vec::new(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn join(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Runs `dpkg --root=ROOT ARGS` in a mount namespace of its own with
    /// /proc mounted in the root (the init script reads /proc/PID/stat)
    /// and the host's /dev/null bound onto the root's (a device node made
    /// under /tmp would not open where /tmp is mounted nodev). The mounts
    /// go away with the last process of the namespace, pmtr's included.
    /// dpkg logs into the root, not to the host's /var/log/dpkg.log.
    fn dpkg(&self, args: &[&str]) -> Output {
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--"])
            .args(["/bin/sh", "-c"])
            .arg(concat!(
                r#"mount -t proc proc "$0/proc" && mount --bind /dev/null "$0/dev/null" && "#,
                r#"exec dpkg --root="$0" --log="$0/var/log/dpkg.log" "$@""#
            ))
            .arg(self.path())
            .args(args)
            .env_clear()
            .env("PATH", SYSTEM_PATH)
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .output()
            .expect("unshare not installed; run tests/setup.sh")
    }

    fn dpkg_ok(&self, args: &[&str]) -> String {
        let out = self.dpkg(args);
        assert!(
            out.status.success(),
            "dpkg {args:?} failed:\n{}",
            text(&out)
        );
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// `${Status} ${Version}` of pmtr in the root's dpkg database, or
    /// "unknown" once dpkg has forgotten it.
    fn status(&self) -> String {
        let out = Command::new("dpkg-query")
            .arg(format!("--root={}", self.path().display()))
            .args(["-W", "-f=${Status} ${Version}", "pmtr"])
            .output()
            .unwrap();
        if out.status.success() {
            String::from_utf8_lossy(&out.stdout).into_owned()
        } else {
            "unknown".to_owned()
        }
    }

    /// Waits for the root's /run/pmtr.pid to name a live pmtr running in
    /// this root, from this root's binary, and returns its PID.
    fn wait_pmtr(&mut self) -> u32 {
        let pid = wait_pid_file(&self.join("run/pmtr.pid"), T);
        self.pids.push(pid);
        assert_eq!(
            fs::read_link(format!("/proc/{pid}/root")).unwrap(),
            self.path(),
            "pmtr {pid} is not chrooted into the root"
        );
        assert_eq!(
            fs::read_link(format!("/proc/{pid}/exe")).unwrap(),
            self.join("usr/bin/pmtr"),
            "pmtr {pid} runs another binary"
        );
        pid
    }

    /// Waits for the job of [`JOB`] to write its PID and returns it.
    fn wait_job(&mut self) -> u32 {
        let pid = wait_pid_file(&self.join("tmp/job.pid"), T);
        self.pids.push(pid);
        pid
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        // A pmtr the test did not get to see, if its pidfile names one
        // chrooted here.
        if let Some(pid) = read_pid(&self.join("run/pmtr.pid"))
            && fs::read_link(format!("/proc/{pid}/root")).is_ok_and(|r| r == self.path())
        {
            self.pids.push(pid);
        }
        // pmtr stops its jobs on SIGTERM; anything left gets SIGKILL.
        let live: Vec<u32> = self.pids.iter().copied().filter(|&p| alive(p)).collect();
        for &pid in &live {
            signal(pid, libc::SIGTERM);
        }
        if !wait_until(Duration::from_secs(15), || live.iter().all(|&p| !alive(p))) {
            for &pid in &live {
                if alive(pid) {
                    signal(pid, libc::SIGKILL);
                }
            }
        }
    }
}

/// A job appended to the packaged /etc/pmtr.conf, as an operator would.
const JOB: &str = "
job {
  name sleeper
  cmd /bin/sh -c \"echo $$ > /tmp/job.pid; exec /bin/sleep 1000\"
}
";

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

// ---------------------------------------------------------------------------
// Tests

/// The package is lintian-clean: no error or warning but the one tag the
/// package overrides with its reason (statically-linked-binary, see README
/// "Debian packages"), and that override is still needed (lintian reports
/// an unneeded one as unused-override, at info level).
#[test]
fn deb_package_is_lintian_clean() {
    let out_dir = TempDir::new("deb-lintian");
    let deb = build_deb(out_dir.path(), None);
    let out = Command::new("lintian")
        .args(["--fail-on", "error,warning", "--display-info"])
        .arg(&deb)
        .stdin(Stdio::null())
        .output()
        .expect("lintian not installed; run tests/setup.sh");
    let report = String::from_utf8_lossy(&out.stdout);
    let problems: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("E:") || l.starts_with("W:") || l.contains("-override"))
        .collect();
    assert!(
        out.status.success() && problems.is_empty(),
        "lintian: {problems:?}\n{}",
        text(&out)
    );
}

/// What the package holds and declares: the three programs, both boot
/// integrations unchanged from init.d/, three conffiles, docs; no
/// dependencies (the binaries are static, the scripts fall back to plain
/// sh).
#[test]
fn deb_package_holds_programs_init_files_conffiles_and_docs() {
    let out_dir = TempDir::new("deb-contents");
    let deb = build_deb(out_dir.path(), None);
    let field = |name: &str| run_ok(Command::new("dpkg-deb").arg("-f").arg(&deb).arg(name));
    assert_eq!(field("Package"), "pmtr\n");
    assert_eq!(field("Version"), format!("{VERSION}\n"));
    assert_eq!(field("Architecture"), "amd64\n");
    for relation in ["Depends", "Pre-Depends", "Recommends"] {
        assert_eq!(field(relation).trim(), "", "{relation}");
    }

    let tree = TempDir::new("deb-contents-x");
    run_ok(
        Command::new("dpkg-deb")
            .arg("-R")
            .arg(&deb)
            .arg(tree.path()),
    );
    let want = [
        ("usr/bin/pmtr", 0o755),
        ("usr/bin/pmtr-ctl", 0o755),
        ("usr/bin/pmtr-rptserver", 0o755),
        ("etc/init.d/pmtr", 0o755),
        ("lib/systemd/system/pmtr.service", 0o644),
        ("etc/pmtr.conf", 0o644),
        ("etc/default/pmtr", 0o644),
        ("usr/share/doc/pmtr/copyright", 0o644),
        ("usr/share/doc/pmtr/changelog.gz", 0o644),
        ("usr/share/doc/pmtr/README.md.gz", 0o644),
        ("usr/share/doc/pmtr/examples/pmtr.conf", 0o644),
        ("usr/share/man/man8/pmtr.8.gz", 0o644),
        ("usr/share/man/man1/pmtr-ctl.1.gz", 0o644),
        ("usr/share/man/man1/pmtr-rptserver.1.gz", 0o644),
        ("DEBIAN/postinst", 0o755),
        ("DEBIAN/prerm", 0o755),
        ("DEBIAN/postrm", 0o755),
    ];
    for (rel, want_mode) in want {
        let path = tree.join(rel);
        assert!(path.is_file(), "{rel} missing from the package");
        assert_eq!(mode(&path), want_mode, "{rel}: mode {:o}", mode(&path));
    }
    for prog in ["pmtr", "pmtr-ctl", "pmtr-rptserver"] {
        assert_eq!(
            fs::read(tree.join("usr/bin").join(prog)).unwrap(),
            fs::read(musl_bins().join(prog)).unwrap(),
            "{prog} is not the build it was made from"
        );
    }
    for (rel, source) in [
        ("etc/init.d/pmtr", "init.d/pmtr"),
        ("lib/systemd/system/pmtr.service", "init.d/pmtr.service"),
    ] {
        assert_eq!(
            fs::read(tree.join(rel)).unwrap(),
            fs::read(repo().join(source)).unwrap(),
            "{rel} differs from {source}"
        );
    }
    assert_eq!(
        tree.read("DEBIAN/conffiles"),
        "/etc/default/pmtr\n/etc/init.d/pmtr\n/etc/pmtr.conf\n"
    );
    // The packaged configuration is valid and runs nothing until edited.
    let check = run_ok(
        Command::new(musl_bins().join("pmtr"))
            .args(["-t", "-c"])
            .arg(tree.join("etc/pmtr.conf")),
    );
    assert!(check.contains("OK, 0 jobs"), "{check}");
}

/// install → pmtr runs → an edit of /etc/pmtr.conf starts a job → upgrade
/// keeps the edit and runs it under the restarted pmtr → remove stops pmtr
/// and its job and keeps the configuration → purge deletes it. The root has
/// no init-system-helpers (a busybox image), so the scripts take their
/// fallbacks: the init script itself, with busybox's start-stop-daemon.
#[test]
fn deb_install_edit_upgrade_remove_purge_in_a_busybox_root() {
    if !is_root() {
        eprintln!("skipped: dpkg --root and its chroot need root");
        return;
    }
    let debs = TempDir::new("deb-life-debs");
    let first = build_deb(debs.path(), None);
    let second = build_deb(debs.path(), Some(UPGRADE));
    let mut root = Root::new("deb-life");

    // Install: pmtr starts, chrooted, on the packaged configuration.
    let said = root.dpkg_ok(&["-i", first.to_str().unwrap()]);
    assert!(said.contains("Starting pmtr"), "{said}");
    assert_eq!(root.status(), format!("install ok installed {VERSION}"));
    let pmtr = root.wait_pmtr();
    for rel in [
        "usr/bin/pmtr-ctl",
        "usr/bin/pmtr-rptserver",
        "etc/default/pmtr",
    ] {
        assert!(root.join(rel).is_file(), "{rel} not installed");
    }

    // The operator adds a job and saves: pmtr starts it.
    let conf = root.join("etc/pmtr.conf");
    let edited = format!("{}{JOB}", fs::read_to_string(&conf).unwrap());
    fs::write(&conf, &edited).unwrap();
    let job = root.wait_job();
    assert_eq!(ppid(job), Some(pmtr), "the job is not pmtr's child");
    // The packaged pmtr answers on its socket in the root.
    let status = run_ok(Command::new("chroot").arg(root.path()).args([
        "/usr/bin/pmtr",
        "status",
        "sleeper",
    ]));
    assert!(status.contains("running"), "{status}");

    // Upgrade: the edited conffile stays as it is (no prompt: stdin is
    // /dev/null and no --force-conf* is given), pmtr restarts on the new
    // binary and runs the operator's job again.
    fs::remove_file(root.join("tmp/job.pid")).unwrap();
    let said = root.dpkg_ok(&["-i", second.to_str().unwrap()]);
    assert_eq!(root.status(), format!("install ok installed {UPGRADE}"));
    assert_eq!(
        fs::read_to_string(&conf).unwrap(),
        edited,
        "upgrade lost the edit:\n{said}"
    );
    for leftover in [
        "etc/pmtr.conf.dpkg-dist",
        "etc/pmtr.conf.dpkg-new",
        "etc/pmtr.conf.dpkg-old",
    ] {
        assert!(
            !root.join(leftover).exists(),
            "{leftover} after upgrade:\n{said}"
        );
    }
    // The init script's restart returns once the old pmtr has stopped its
    // job and exited.
    assert!(!alive(pmtr), "the old pmtr survived the upgrade:\n{said}");
    assert!(!alive(job), "the old pmtr's job survived the upgrade");
    let old = pmtr;
    let pmtr = root.wait_pmtr();
    assert_ne!(pmtr, old);
    let job = root.wait_job();
    assert_eq!(ppid(job), Some(pmtr));
    let changelog = run_ok(Command::new("zcat").arg(root.join("usr/share/doc/pmtr/changelog.gz")));
    assert!(
        changelog.starts_with(&format!("pmtr ({UPGRADE})")),
        "{changelog}"
    );

    // Remove: pmtr stops (and with it the job) before its files go; the
    // conffiles stay.
    let said = root.dpkg_ok(&["-r", "pmtr"]);
    assert!(said.contains("Stopping pmtr"), "{said}");
    assert!(
        !alive(pmtr),
        "pmtr {pmtr} still running after remove:\n{said}"
    );
    assert!(!alive(job), "the job survived remove");
    assert!(
        !root.join("run/pmtr.pid").exists(),
        "pidfile left after remove"
    );
    assert_eq!(
        root.status(),
        format!("deinstall ok config-files {UPGRADE}")
    );
    assert!(!root.join("usr/bin/pmtr").exists());
    assert_eq!(fs::read_to_string(&conf).unwrap(), edited);

    // Purge: the configuration goes too.
    root.dpkg_ok(&["-P", "pmtr"]);
    for rel in ["etc/pmtr.conf", "etc/default/pmtr", "etc/init.d/pmtr"] {
        assert!(!root.join(rel).exists(), "{rel} left after purge");
    }
    assert_eq!(root.status(), "unknown");
}

/// Where Debian's init-system-helpers exist (every Debian and Raspberry Pi
/// OS system: the package is Essential there), the scripts go through
/// them as debhelper's snippets do: deb-systemd-helper and update-rc.d
/// register the service on both init systems, and the running one starts,
/// restarts and stops it: deb-systemd-invoke under systemd, invoke-rc.d
/// (which honours policy-rc.d) under SysV init. Stand-ins in the root
/// record each call; none starts anything.
#[test]
fn deb_scripts_use_debians_init_tools_where_present() {
    if !is_root() {
        eprintln!("skipped: dpkg --root and its chroot need root");
        return;
    }
    let debs = TempDir::new("deb-tools-debs");
    let first = build_deb(debs.path(), None);
    let second = build_deb(debs.path(), Some(UPGRADE));
    let enable = [
        "deb-systemd-helper unmask pmtr.service",
        "deb-systemd-helper --quiet was-enabled pmtr.service",
        "deb-systemd-helper enable pmtr.service",
        "update-rc.d pmtr defaults",
    ];
    for systemd in [false, true] {
        let root = Root::new("deb-tools");
        for tool in [
            "usr/sbin/update-rc.d",
            "usr/sbin/invoke-rc.d",
            "usr/bin/deb-systemd-helper",
            "usr/bin/deb-systemd-invoke",
            "usr/bin/systemctl",
        ] {
            let path = root.join(tool);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            let name = tool.rsplit('/').next().unwrap();
            fs::write(
                &path,
                format!("#!/bin/sh\necho \"{name} $*\" >>/tmp/calls\n"),
            )
            .unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
        if systemd {
            fs::create_dir_all(root.join("run/systemd/system")).unwrap();
        }
        // The calls of each dpkg run, one per line.
        let mut seen = 0;
        let mut run = |args: &[&str]| -> Vec<String> {
            root.dpkg_ok(args);
            let calls: Vec<String> = fs::read_to_string(root.join("tmp/calls"))
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect();
            let new = calls[seen..].to_vec();
            seen = calls.len();
            new
        };
        let (start, restart, stop, stopped) = if systemd {
            (
                vec![
                    "systemctl --system daemon-reload",
                    "deb-systemd-invoke start pmtr.service",
                ],
                vec![
                    "systemctl --system daemon-reload",
                    "deb-systemd-invoke restart pmtr.service",
                ],
                vec!["deb-systemd-invoke stop pmtr.service"],
                vec![
                    "deb-systemd-helper mask pmtr.service",
                    "systemctl --system daemon-reload",
                ],
            )
        } else {
            (
                vec!["invoke-rc.d pmtr start"],
                vec!["invoke-rc.d pmtr restart"],
                vec!["invoke-rc.d pmtr stop"],
                vec!["deb-systemd-helper mask pmtr.service"],
            )
        };
        let what = if systemd { "systemd" } else { "sysv" };
        assert_eq!(
            run(&["-i", first.to_str().unwrap()]),
            [&enable[..], &start].concat(),
            "{what}: install"
        );
        assert_eq!(
            run(&["-i", second.to_str().unwrap()]),
            [&enable[..], &restart].concat(),
            "{what}: upgrade"
        );
        assert_eq!(
            run(&["-r", "pmtr"]),
            [&stop[..], &stopped].concat(),
            "{what}: remove"
        );
        assert_eq!(
            run(&["-P", "pmtr"]),
            [
                "update-rc.d pmtr remove",
                "deb-systemd-helper purge pmtr.service",
                "deb-systemd-helper unmask pmtr.service",
            ],
            "{what}: purge"
        );
        // The stand-ins started nothing, and the scripts did not go around
        // them.
        assert!(
            !root.join("run/pmtr.pid").exists(),
            "{what}: pmtr was started directly"
        );
    }
}
