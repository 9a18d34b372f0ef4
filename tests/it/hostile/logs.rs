//! The job's user against its rotated logs (`out FILE max SIZE keep N`,
//! issue 17): it swaps FILE or FILE.1 for a symlink to a root-only file,
//! or for a FIFO. The logger runs with that user's rights because the user
//! can write the log's directory, so nothing outside those rights is
//! touched; the logger never waits on a FIFO, and pmtr, which never
//! writes these files, keeps answering.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::joblog::{loggers, status_answer_time};
use crate::util::*;

const T: Duration = Duration::from_secs(15);

const NOBODY: u32 = 65534;

/// A job of `user nobody` in a directory nobody owns, printing a numbered
/// 100-byte line 50 times a second, its log rotated at 4K.
fn setup(name: &str) -> (TempDir, PathBuf, PathBuf) {
    let dir = TempDir::new(name);
    let secret = dir.write("secret", "root only\n");
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let work = dir.join("work");
    fs::create_dir_all(&work).unwrap();
    std::os::unix::fs::chown(&work, Some(NOBODY), Some(NOBODY)).unwrap();
    (dir, work, secret)
}

fn conf(work: &Path) -> String {
    format!(
        "job {{\n name app\n user nobody\n dir {}\n out app.log max 4K keep 2\n\
         cmd /bin/sh -c \"i=0; while true; do i=$((i+1)); printf '%099d\\n' $i; sleep 0.02; done\"\n}}\n\
         job {{\n name other\n cmd /bin/sleep 1001\n}}\n",
        work.display()
    )
}

fn start(dir: TempDir, conf: &str) -> Pmtr {
    let path = dir.write("pmtr.conf", conf);
    Pmtr::spawn_in(dir, path, &[])
}

/// pmtr answers `pmtr status` within [`super::ANSWER_LIMIT`], for `how_long`.
fn stays_responsive(p: &Pmtr, how_long: Duration) {
    let end = std::time::Instant::now() + how_long;
    while std::time::Instant::now() < end {
        assert!(
            status_answer_time(&p.socket(), super::ANSWER_LIMIT).is_some(),
            "pmtr status did not answer within {:?}; log:\n{}",
            super::ANSWER_LIMIT,
            p.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn uid_of(pid: u32) -> u32 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string; mkfifo has no other memory effects.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0);
}

fn untouched(secret: &Path) {
    assert_eq!(fs::read_to_string(secret).unwrap(), "root only\n");
    let meta = fs::metadata(secret).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o7777), (0, 0o600));
}

/// FILE is a symlink to a root-only file when the logger starts: the
/// logger, running as nobody, can't open it; it drops and counts the
/// lines, and writes again once the link is gone.
#[test]
fn symlinked_log_file_cannot_reach_a_root_file() {
    let (dir, work, secret) = setup("hostile-log-link");
    symlink(&secret, work.join("app.log")).unwrap();
    let p = start(dir, &conf(&work));
    p.wait_job("other", T);
    p.expect_log("/work/app.log: Permission denied; dropping its lines", T);
    let logger = loggers(&p, "app");
    assert_eq!(logger.len(), 1, "{logger:?}");
    assert_eq!(
        uid_of(logger[0]),
        NOBODY,
        "the logger runs with the job's rights"
    );
    stays_responsive(&p, Duration::from_secs(1));
    untouched(&secret);
    // The user removes its link: the logger writes again, and says how
    // many lines it dropped meanwhile.
    fs::remove_file(work.join("app.log")).unwrap();
    p.expect_log("/work/app.log again;", T);
    expect_within(T, "lines in a new app.log", || {
        fs::read_to_string(work.join("app.log")).is_ok_and(|t| t.ends_with('\n'))
    });
    untouched(&secret);
}

/// FILE.1 is made a symlink to a root-only file while the logger rotates
/// through it: rotation moves the link (and drops it in turn), never
/// writes through it.
#[test]
fn symlinked_rotated_file_is_moved_not_followed() {
    let (dir, work, secret) = setup("hostile-log-link1");
    let p = start(dir, &conf(&work));
    p.wait_job("app", T);
    let rotated = work.join("app.log.1");
    expect_within(T, "a first rotation", || rotated.exists());
    // Swapped in (by rename, as the user would), over and over while the
    // logger rotates every couple of seconds.
    let end = std::time::Instant::now() + Duration::from_secs(4);
    let mut swaps = 0;
    while std::time::Instant::now() < end {
        let tmp = work.join(".swap");
        let _ = fs::remove_file(&tmp);
        symlink(&secret, &tmp).unwrap();
        fs::rename(&tmp, &rotated).unwrap();
        swaps += 1;
        untouched(&secret);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(swaps > 10);
    stays_responsive(&p, Duration::from_secs(1));
    untouched(&secret);
    // Still logging, within its cap (a link is a few bytes).
    let len = |name: &str| fs::symlink_metadata(work.join(name)).map_or(0, |m| m.len());
    expect_within(T, "the logger to go on", || len("app.log") > 0);
    for name in ["app.log", "app.log.1", "app.log.2"] {
        assert!(len(name) <= 4096, "{name}: {}", len(name));
    }
}

/// FILE is a FIFO nobody reads: the logger's open does not wait (and a
/// FIFO with a reader is refused as not a regular file); pmtr never
/// notices.
#[test]
fn fifo_in_place_of_the_log_never_blocks() {
    let (dir, work, secret) = setup("hostile-log-fifo");
    let fifo = work.join("app.log");
    mkfifo(&fifo);
    std::os::unix::fs::chown(&fifo, Some(NOBODY), Some(NOBODY)).unwrap();
    let p = start(dir, &conf(&work));
    p.wait_job("other", T);
    p.expect_log(
        "/work/app.log: No such device or address; dropping its lines",
        T,
    );
    stays_responsive(&p, Duration::from_secs(2));
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    untouched(&secret);
    // With a reader the open succeeds, and the FIFO is refused for what
    // it is (retried each second, so the error is logged once).
    let mut reader = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    stays_responsive(&p, Duration::from_secs(2));
    assert_eq!(p.log_count("job app: can't open"), 1, "{}", p.log());
    let mut buf = [0u8; 64];
    let read = std::io::Read::read(&mut reader, &mut buf);
    assert!(
        read.as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "the logger wrote into the FIFO: {read:?}"
    );
}

/// The log's directory is root's: the job's user can't redirect it, so
/// the logger runs as root and the files are root's.
#[test]
fn a_log_only_root_controls_is_written_as_root() {
    let (dir, work, _secret) = setup("hostile-log-root");
    let logs = dir.join("var-log");
    fs::create_dir_all(&logs).unwrap();
    fs::set_permissions(&logs, fs::Permissions::from_mode(0o755)).unwrap();
    let conf = conf(&work).replace(" out app.log", &format!(" out {}/app.log", logs.display()));
    let p = start(dir, &conf);
    p.wait_job("app", T);
    expect_within(T, "the log", || logs.join("app.log").exists());
    let logger = loggers(&p, "app");
    assert_eq!(uid_of(logger[0]), 0);
    assert_eq!(fs::metadata(logs.join("app.log")).unwrap().uid(), 0);
}
