//! `pmtr -t` on valid and invalid files (SPEC §1–2): the exact lines it
//! prints and its exit codes. The files live in tests/data/; each test
//! copies its file into a temp dir with mode 0644 first, so the root
//! trust rule does not depend on how the repository was checked out.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::util::{TempDir, run_pmtr};

/// Copies tests/data/NAME into a fresh temp dir, mode 0644.
fn data(name: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new("config");
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let dst = dir.join(name);
    fs::copy(&src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
    fs::set_permissions(&dst, fs::Permissions::from_mode(0o644)).unwrap();
    (dir, dst)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `pmtr -t -c FILE` accepts the file: one line on stdout, nothing on
/// stderr, exit 0.
fn accepts(out: &Output, file: &Path, jobs: &str) {
    assert_eq!(text(&out.stderr), "", "stderr");
    assert_eq!(
        text(&out.stdout),
        format!("{}: OK, {jobs}\n", file.display())
    );
    assert_eq!(out.status.code(), Some(0));
}

/// `pmtr -t` rejects the file with exactly these lines (`{file}` stands
/// for its path) on stderr, then the summary line the original pmtr's
/// scripts grep for (`parse failed`, issue 15), nothing on stdout, exit 1.
fn rejects(out: &Output, file: &Path, lines: &[&str]) {
    let mut want: String = lines
        .iter()
        .map(|l| l.replace("{file}", &file.display().to_string()) + "\n")
        .collect();
    let n = lines.len();
    let s = if n == 1 { "" } else { "s" };
    want += &format!("{}: parse failed: {n} error{s}\n", file.display());
    assert_eq!(text(&out.stderr), want);
    assert_eq!(text(&out.stdout), "", "stdout");
    assert_eq!(out.status.code(), Some(1));
}

fn check(file: &Path) -> Output {
    run_pmtr(&["-t", "-c", file.to_str().unwrap()])
}

#[test]
fn guide_examples_are_accepted_verbatim() {
    for (name, jobs) in [
        ("guide-example.conf", "1 job"),
        ("guide-syntax.conf", "1 job"),
        ("guide-tip-shell.conf", "1 job"),
        ("guide-report-listen.conf", "0 jobs"),
        ("guide-once.conf", "1 job"),
        ("later-guide-examples.conf", "4 jobs"),
        ("spec-all-options.conf", "1 job"),
        ("crlf-no-final-newline.conf", "1 job"),
    ] {
        let (_dir, file) = data(name);
        accepts(&check(&file), &file, jobs);
    }
}

#[test]
fn combined_flags_tc() {
    let (_dir, file) = data("guide-example.conf");
    accepts(&run_pmtr(&["-tc", file.to_str().unwrap()]), &file, "1 job");
    accepts(
        &run_pmtr(&[&format!("-tc{}", file.display())]),
        &file,
        "1 job",
    );
}

#[test]
fn typo_gets_a_suggestion() {
    let (_dir, file) = data("invalid-typo.conf");
    rejects(
        &check(&file),
        &file,
        &["{file}:4:3: unknown option 'cmdd' (did you mean 'cmd'?)"],
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let (_dir, file) = data("invalid-many.conf");
    rejects(
        &check(&file),
        &file,
        &[
            "{file}:2:11: bad URL 'udp://127.0.0.1': missing :PORT; expected udp://HOST:PORT",
            "{file}:5:7: 'cmd' must be an absolute path (starting with '/'), not 'node'",
            "{file}:6:7: 'dir' must be an absolute path (starting with '/'), not 'data'",
            "{file}:7:7: 'env' needs VAR=VALUE, got 'NODE_ENV' without '='",
            "{file}:8:8: nice 25 is out of range: expected -20 (highest priority) to 19 (lowest)",
            "{file}:9:7: bad cpu range '3-1': the first number must not exceed the second",
            "{file}:10:13: the open files limit (-n, RLIMIT_NOFILE) cannot be infinity (the kernel refuses it); give a number such as 65536",
            "{file}:11:10: unknown ulimit '-z': expected one of -c -d -e -f -i -l -m -n -q -r -s -t -u -v -x or an RLIMIT_ name",
            "{file}:12:16: bad time '5x': unknown unit; expected a whole number with an optional unit s, m, h or d (e.g. 90, 30s, 5m, 1d)",
            "{file}:13:9: bad number 'first': expected a whole number, negative allowed (lower starts first)",
            "{file}:17:8: duplicate job name 'web' (first used at line 4:8)",
            "{file}:20:3: 'once' given twice in this job (first at line 19:3)",
            "{file}:22:1: option 'name' outside a job: put it inside 'job { ... }'",
        ],
    );
}

#[test]
fn unclosed_brace_and_quote_are_reported_where_they_open() {
    let (_dir, file) = data("invalid-unclosed.conf");
    rejects(
        &check(&file),
        &file,
        &[
            "{file}:1:5: unclosed '{' of this job: no matching '}'",
            "{file}:3:18: unclosed quote: a quoted argument must end on the same line",
        ],
    );
}

#[test]
fn not_utf8_is_reported_at_the_first_bad_byte() {
    let (_dir, file) = data("invalid-latin1.conf");
    rejects(
        &check(&file),
        &file,
        &["{file}:2:11: not valid UTF-8 (byte 0xe9); save the file as UTF-8"],
    );
}

#[test]
fn file_over_one_mebibyte_is_refused() {
    let dir = TempDir::new("config-big");
    let file = dir.write("pmtr.conf", &"#".repeat((1 << 20) + 1));
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    rejects(
        &check(&file),
        &file,
        &["{file}: file is 1048577 bytes, over the 1 MiB limit"],
    );
}

#[test]
fn missing_file_and_directory_cannot_be_read() {
    let dir = TempDir::new("config-missing");
    let missing = dir.join("nope.conf");
    rejects(
        &check(&missing),
        &missing,
        &["{file}: can't read: No such file or directory"],
    );
    rejects(
        &check(dir.path()),
        dir.path(),
        &["{file}: can't read: Is a directory"],
    );
}

#[test]
fn fifo_in_place_of_the_file_does_not_hang() {
    let dir = TempDir::new("config-fifo");
    let fifo = dir.join("pmtr.conf");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    fs::set_permissions(&fifo, fs::Permissions::from_mode(0o644)).unwrap();
    rejects(
        &check(&fifo),
        &fifo,
        &["{file}: can't read: not a regular file"],
    );
}

#[test]
fn thousand_jobs_are_accepted() {
    let dir = TempDir::new("config-1000");
    let src: String = (0..1000)
        .map(|i| format!("job {{\n  name j{i}\n  cmd /bin/sleep {i}\n}}\n"))
        .collect();
    let file = dir.write("pmtr.conf", &src);
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    accepts(&check(&file), &file, "1000 jobs");
}

#[test]
fn unknown_flag_prints_usage_to_stderr_and_exits_2() {
    let out = run_pmtr(&["-Q"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "");
    let err = text(&out.stderr);
    assert!(
        err.starts_with("pmtr: unknown option '-Q'\nusage: pmtr "),
        "{err}"
    );
}

#[test]
fn help_and_version_print_to_stdout_and_exit_0() {
    for flag in ["-h", "--help"] {
        let out = run_pmtr(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(text(&out.stdout).starts_with("usage: pmtr "), "{flag}");
        assert_eq!(text(&out.stderr), "");
    }
    for flag in ["-V", "--version"] {
        let out = run_pmtr(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert_eq!(
            text(&out.stdout),
            format!("pmtr {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}

/// The trust rule holds only for root; as anyone else these tests have
/// nothing to check.
fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn root_refuses_config_writable_by_others() {
    if !is_root() {
        eprintln!("skipped: the trust rule applies to root only");
        return;
    }
    let (_dir, file) = data("guide-example.conf");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o666)).unwrap();
    rejects(
        &check(&file),
        &file,
        &[
            "{file}: writable by group and others (mode 0666): anyone who can edit it could run commands as root through pmtr; run `chmod go-w {file}`",
        ],
    );
    fs::set_permissions(&file, fs::Permissions::from_mode(0o664)).unwrap();
    rejects(
        &check(&file),
        &file,
        &[
            "{file}: writable by group (mode 0664): anyone who can edit it could run commands as root through pmtr; run `chmod go-w {file}`",
        ],
    );
}

#[test]
fn root_refuses_config_owned_by_another_user() {
    if !is_root() {
        eprintln!("skipped: the trust rule applies to root only");
        return;
    }
    let (_dir, file) = data("guide-example.conf");
    std::os::unix::fs::chown(&file, Some(65534), None).unwrap();
    rejects(
        &check(&file),
        &file,
        &[
            "{file}: owned by uid 65534, not root: whoever owns it could run commands as root through pmtr; run `chown root {file}`",
        ],
    );
}

#[test]
fn trust_follows_symlinks_to_the_file() {
    if !is_root() {
        eprintln!("skipped: the trust rule applies to root only");
        return;
    }
    let (dir, file) = data("guide-example.conf");
    let link = dir.join("link.conf");
    symlink(&file, &link).unwrap();
    // A symlink's own mode is 0777; what counts is the file it leads to.
    accepts(&check(&link), &link, "1 job");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o646)).unwrap();
    rejects(
        &check(&link),
        &link,
        &[
            "{file}: writable by others (mode 0646): anyone who can edit it could run commands as root through pmtr; run `chmod go-w {file}`",
        ],
    );
}

/// The original pmtr's own test suite greps `pmtr -t`'s output for
/// `parse failed` (issue 15): the summary ends the error list, and past
/// the cap of 100 it says there were more.
#[test]
fn parse_failed_summary_counts_the_errors() {
    let dir = TempDir::new("config-summary");
    let src: String = (0..150).map(|i| format!("bogus{i}\n")).collect();
    let file = dir.write("pmtr.conf", &src);
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let out = check(&file);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let last = err.lines().last().unwrap_or_default().to_string();
    assert_eq!(
        last,
        format!("{}: parse failed: over 100 errors", file.display())
    );
    assert_eq!(err.lines().count(), 102, "{err}");
}
