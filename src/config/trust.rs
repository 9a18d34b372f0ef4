//! Whom pmtr, running as root, trusts with what it reads (SPEC §10):
//! whoever can change the configuration, a `depends` file or an env file
//! chooses what pmtr runs as root, so pmtr trusts such a file no more than
//! sshd trusts `authorized_keys` with StrictModes: the file must be owned
//! by root and writable by no one else, and so must every directory on the
//! way to it — including the directories that hold each symlink on the
//! way, since whoever can write one of those can swap the file for
//! another. A directory with the sticky bit (`/tmp`) may be writable by
//! all: there only an entry's owner can rename or remove it.
//!
//! Not running as root, every file passes: pmtr runs with no more rights
//! than whoever can edit its files.

use crate::files::Stat;
use rustix::fs::FileType;
use rustix::io::Errno;

use super::error::{Error, ErrorKind, Msg};
use super::parse::{Text, said};

/// Who may write, as the `%b` of a writable file's error (`LISTS[8]`).
pub(super) const WHO: &str = "group and others\0group\0others\0";

const STICKY: u32 = 0o1000;

/// [`check_trust`] for a file already opened: `meta` is its `fstat`, so
/// the file checked is the one read even if the name is swapped meanwhile.
/// Then every directory `path` passes through (symlinks followed, each
/// link's own directory included: see [`crate::files::walk_path`]).
///
/// What is wrong is a message and its values, the `Error` made once at
/// the end: no `Result` of a whole `Error` passed up from each check
/// (issue 18, bytes).
pub fn check_opened(path: &str, meta: &Stat) -> Result<(), Error> {
    if rustix::process::geteuid().as_raw() != 0 {
        return Ok(());
    }
    // The messages name the file, or the directory, twice: in what is
    // wrong and in the command that fixes it. The file's refusal and a
    // directory's put in one place by one call (issue 18, bytes); the
    // walk stops at the first directory refused.
    let mut refused = None;
    let walked = if refuse(false, meta, path, &mut refused) {
        Ok(())
    } else {
        walk(path, &mut |entry, meta, _| match meta {
            Some(meta)
                if FileType::from_raw_mode(meta.st_mode) == FileType::Directory
                    && refuse(true, meta, entry, &mut refused) =>
            {
                Err(Errno::PERM)
            }
            _ => Ok(()),
        })
    };
    // A failed walk's errno put where a refusal goes, then the one
    // `ErrorKind` moved once, into its `Error` (issue 18, bytes).
    if let (None, Err(e)) = (&refused, walked) {
        let failed = ErrorKind::plain(Msg::Io).num(e.raw_os_error() as u64);
        crate::fill(&mut refused, Some(failed));
    }
    match refused {
        Some(kind) => Err(Error::whole(path, kind)),
        None => Ok(()),
    }
}

/// The [`verdict`] on `meta`, the file's (or a directory's, `dir`) named
/// `name`: true, and the error put in `refused` (still empty: nothing
/// to drop, issue 18, bytes), if only root may not change it.
#[inline(never)]
fn refuse(dir: bool, meta: &Stat, name: &str, refused: &mut Option<ErrorKind>) -> bool {
    let Some((said, n)) = verdict(dir, meta.st_uid, meta.st_mode) else {
        return false;
    };
    crate::fill(refused, Some(ErrorKind::new(said, Some(name)).num(n)));
    true
}

/// When pmtr runs as root, refuses `path` (the configuration, a `depends`
/// or env file) if a user other than root could change it: the file owned
/// by someone else or writable by group or others, or likewise a directory
/// on its path.
pub fn check_trust(path: &str) -> Result<(), Error> {
    // The `Stat` read where the call put it, not copied out of its
    // `Result` (issue 18, bytes).
    match &crate::files::stat(path) {
        Ok(meta) => check_opened(path, meta),
        Err(e) => Err(Error::from_io(path, *e)),
    }
}

/// The verdict on a file, or a directory of its path (`dir`), with this
/// owner and mode, for root: None if only root can change it, or else the
/// message with its fixed texts (as [`ErrorKind::new`] takes them) and the
/// number it shows.
fn verdict(dir: bool, uid: u32, mode: u32) -> Option<(u32, u64)> {
    // The message, who may write (`%b`) and the number it shows: one
    // `ErrorKind` made for the four messages (issue 18, bytes).
    let (msg, who, n) = if uid != 0 {
        let msg = if dir {
            Msg::DirNotOwnedByRoot
        } else {
            Msg::NotOwnedByRoot
        };
        (msg, Text::NONE, uid)
    } else {
        let is_dir = FileType::from_raw_mode(mode) == FileType::Directory;
        if mode & 0o022 == 0 || (is_dir && mode & STICKY != 0) {
            return None;
        }
        let group = mode & 0o020 != 0;
        let others = mode & 0o002 != 0;
        // By place in WHO: group and others (0), group (1), others (2);
        // not a text per branch (issue 18, bytes).
        let who = Text::of(8, usize::from(!group) * 2 + usize::from(group && !others));
        let msg = if dir {
            Msg::DirWritableByOthers
        } else {
            Msg::WritableByOthers
        };
        (msg, who, mode)
    };
    Some((said(msg, Text::NONE, who), u64::from(n)))
}

/// What a visit of [`walk`] is given: the entry's path, its `lstat`
/// (`None` if it does not exist) and its directory's.
pub type Visit<'a> = dyn FnMut(&str, Option<&Stat>, &Stat) -> Result<(), Errno> + 'a;

/// [`crate::files::walk_path`] with a visit behind a reference and
/// errors as errnos: the one copy of the walk for its two users, the
/// checks here and `spawn::redirectable` (issue 18).
#[inline(never)]
pub fn walk(path: &str, visit: &mut Visit<'_>) -> Result<(), Errno> {
    crate::files::walk_path(path, visit, core::convert::identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error [`check_opened`] makes of the verdict on `file`, or on
    /// its directory `dir`, for a process whose effective uid is `euid`.
    fn verdict_of(
        file: &str,
        dir: Option<&str>,
        uid: u32,
        mode: u32,
        euid: u32,
    ) -> Result<(), Error> {
        match verdict(dir.is_some(), uid, mode) {
            Some((said, n)) if euid == 0 => {
                let kind = ErrorKind::new(said, Some(dir.unwrap_or(file))).num(n);
                Err(Error::whole(file, kind))
            }
            _ => Ok(()),
        }
    }

    fn file(uid: u32, mode: u32, euid: u32) -> Result<(), String> {
        verdict_of("/etc/pmtr.conf", None, uid, mode, euid).map_err(|e| e.to_string())
    }

    #[test]
    fn root_accepts_root_owned_file_not_writable_by_others() {
        assert_eq!(file(0, 0o100644, 0), Ok(()));
        assert_eq!(file(0, 0o100600, 0), Ok(()));
        assert_eq!(file(0, 0o100755, 0), Ok(()));
    }

    #[test]
    fn root_refuses_file_owned_by_another_user() {
        let e = file(1000, 0o100644, 0).unwrap_err();
        assert_eq!(
            e,
            "/etc/pmtr.conf: owned by uid 1000, not root: whoever owns it could run commands as root \
             through pmtr; run `chown root /etc/pmtr.conf`"
        );
    }

    #[test]
    fn root_refuses_group_or_world_writable_file() {
        let e = file(0, 0o100664, 0).unwrap_err();
        assert!(
            e.starts_with("/etc/pmtr.conf: writable by group (mode 0664)"),
            "{e}"
        );
        assert!(e.ends_with("run `chmod go-w /etc/pmtr.conf`"), "{e}");
        let e = file(0, 0o100646, 0).unwrap_err();
        assert!(e.contains("writable by others (mode 0646)"), "{e}");
        let e = file(0, 0o100666, 0).unwrap_err();
        assert!(
            e.contains("writable by group and others (mode 0666)"),
            "{e}"
        );
        // The sticky bit protects the entries of a directory, not a file.
        assert!(file(0, 0o101666, 0).is_err());
    }

    #[test]
    fn root_refuses_a_directory_on_the_path_another_user_could_change() {
        let v = |uid, mode| {
            verdict_of("/srv/cfg/pmtr.conf", Some("/srv/cfg"), uid, mode, 0)
                .map_err(|e| e.to_string())
        };
        assert_eq!(v(0, 0o040755), Ok(()));
        let e = v(1000, 0o040755).unwrap_err();
        assert_eq!(
            e,
            "/srv/cfg/pmtr.conf: its directory /srv/cfg is owned by uid 1000, not root: whoever \
             owns it could swap the file and run commands as root through pmtr; run \
             `chown root /srv/cfg`"
        );
        let e = v(0, 0o040775).unwrap_err();
        assert!(
            e.starts_with(
                "/srv/cfg/pmtr.conf: its directory /srv/cfg is writable by group (mode 0775)"
            ),
            "{e}"
        );
        assert!(e.ends_with("run `chmod go-w /srv/cfg`"), "{e}");
        // /tmp: writable by all, but only an entry's owner may swap it.
        assert_eq!(v(0, 0o041777), Ok(()));
    }

    #[test]
    fn other_users_trust_every_file() {
        assert_eq!(file(1000, 0o100666, 1000), Ok(()));
        assert_eq!(file(0, 0o100666, 1000), Ok(()));
    }

    /// As root (the test suite's user in CI), walks real directories.
    #[test]
    fn walk_checks_each_directory_and_each_symlinks_directory() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        if rustix::process::geteuid().as_raw() != 0 {
            return;
        }
        let base = std::env::temp_dir().join(format!("pmtr-trust-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let safe = base.join("safe");
        let open = base.join("open");
        std::fs::create_dir_all(&safe).unwrap();
        std::fs::create_dir_all(&open).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&safe, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let conf = safe.join("pmtr.conf");
        std::fs::write(&conf, "").unwrap();
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).unwrap();
        let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
        assert_eq!(check_trust(&s(&conf)).map_err(|e| e.to_string()), Ok(()));
        // A file in a world-writable directory (no sticky bit).
        let bad = open.join("pmtr.conf");
        std::fs::write(&bad, "").unwrap();
        std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = check_trust(&s(&bad)).unwrap_err().to_string();
        assert!(
            e.contains(&format!("its directory {} is writable", s(&open))),
            "{e}"
        );
        // A symlink in the open directory to the safe file: whoever can
        // write the open directory can point it elsewhere.
        let link = open.join("link.conf");
        symlink(&conf, &link).unwrap();
        assert!(check_trust(&s(&link)).is_err());
        // A symlink in the safe directory into the open one.
        let inward = safe.join("inward.conf");
        symlink(&bad, &inward).unwrap();
        assert!(check_trust(&s(&inward)).is_err());
        // A safe symlink to a safe file, and `..` on the way.
        let fine = safe.join("fine.conf");
        symlink("../safe/pmtr.conf", &fine).unwrap();
        assert_eq!(check_trust(&s(&fine)).map_err(|e| e.to_string()), Ok(()));
        std::fs::remove_dir_all(&base).unwrap();
    }
}
