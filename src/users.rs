//! Reading /etc/passwd and /etc/group ourselves: a static musl binary has
//! no NSS, and busybox images have only these files anyway (SPEC §3).

use crate::prelude::*;
use core::fmt;

/// Who a job runs as: uid, primary gid and supplementary groups, and the
/// name and home directory its environment gets (`USER`, `LOGNAME`,
/// `HOME`, as `su -` sets them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub name: String,
    pub home: String,
}

impl Ids {
    /// Whether these ids may write a file or directory with this owner,
    /// group and mode (ignoring ACLs, as root's view of the job's rights).
    pub fn may_write(&self, uid: u32, gid: u32, mode: u32) -> bool {
        uid == self.uid || (mode & 0o020 != 0 && self.groups.contains(&gid)) || mode & 0o002 != 0
    }
}

/// Why a `user` could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// The passwd file could not be read.
    Unreadable {
        file: &'static str,
        reason: rustix::io::Errno,
    },
    /// No such user in the passwd file.
    UnknownUser(String),
    /// `user UID` with no passwd entry, so no primary group, and no
    /// `group` to give one.
    NoGroupFor(String),
    /// `group`/`groups`: no such group in the group file, and not a number.
    UnknownGroup(String),
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Each text packed where it is written (issue 18, bytes).
        use crate::packed::{Arg, Filled, fill};
        // The three texts of one name: the text picked, then written
        // with its name by one call (issue 18, bytes).
        let (msg, name) = match self {
            LookupError::Unreadable { file, reason } => {
                return fill!("can't read {}: {}", file, crate::sys::strerror(*reason)).fmt(f);
            }
            LookupError::UnknownUser(name) => (
                fill!("unknown user '{}' (not in /etc/passwd)", name).msg,
                name,
            ),
            LookupError::NoGroupFor(uid) => (
                fill!(
                    "uid {} is not in /etc/passwd, so it has no primary group: add `group GID`",
                    uid
                )
                .msg,
                uid,
            ),
            LookupError::UnknownGroup(name) => (
                fill!(
                    "unknown group '{}' (not in /etc/group, and not a number)",
                    name
                )
                .msg,
                name,
            ),
        };
        Filled {
            msg,
            args: &[Arg::new(name)],
        }
        .fmt(f)
    }
}

/// A text file, with any bytes that are not UTF-8 replaced.
fn read_text(path: &str) -> Result<String, rustix::io::Errno> {
    let bytes = crate::files::read_file(path, 16 << 20)?;
    Ok(crate::utf8::lossy(&bytes))
}

/// The user database files, read once per configuration load.
pub struct Users {
    /// The text, or why it could not be read (strerror's words).
    passwd: Result<String, rustix::io::Errno>,
    group: String,
}

impl Users {
    /// Reads /etc/passwd and /etc/group.
    pub fn load() -> Users {
        Users::from_files("/etc/passwd", "/etc/group")
    }

    // The group file's Result matched by hand: see below.
    #[allow(clippy::manual_unwrap_or_default)]
    pub fn from_files(passwd: &str, group: &str) -> Users {
        Users {
            passwd: read_text(passwd),
            // A missing group file only means no supplementary groups.
            // Matched, not `unwrap_or_default`: no drop code called for
            // the Result (issue 18, bytes).
            group: match read_text(group) {
                Ok(text) => text,
                Err(_) => String::new(),
            },
        }
    }

    /// Resolves `name` (or a numeric uid) to its ids and groups: every group
    /// that lists the user as a member, plus its primary group.
    #[cfg(test)]
    pub fn lookup(&self, name: &str) -> Result<Ids, LookupError> {
        let mut ids = Ids::default();
        self.lookup_into(name, &mut ids)?;
        Ok(ids)
    }

    /// `Users::lookup` (tests only) into `ids`, made empty by the caller (no
    /// groups, no name or home) and left so on an error: the record
    /// filled in place, not moved out through a `Result` (issue 18,
    /// bytes). Out of line: `prepare`, which `ids` is inlined into, does
    /// not carry the passwd search (issue 18, min x86_64 -88; min armv6 +64,
    /// so not there).
    #[cfg_attr(target_arch = "x86_64", inline(never))]
    fn lookup_into(&self, name: &str, ids: &mut Ids) -> Result<(), LookupError> {
        let passwd = self
            .passwd
            .as_ref()
            .map_err(|&reason| LookupError::Unreadable {
                file: "/etc/passwd",
                reason,
            })?;
        // name:password:uid:gid[:gecos:home:...]; a line of fewer
        // fields is no entry. Fields cut into an array, not collected
        // into a Vec per line (issue 18, bytes).
        let wanted = crate::parse_unsigned::<u32>(name);
        let mut entry = None;
        // One array for every line of both files, filled once: a line
        // sets its first `n` fields, and only those are used (a passwd
        // entry's fields past its `n` are not read; a group line has all
        // four), so what an earlier line left past them is never seen
        // (issue 18, bytes).
        let mut f = [""; 6];
        // By name; else `user 1000` names a uid, which must still have an
        // entry, for its primary group. Two passes of one loop, no
        // closure (issue 18, bytes).
        // The passes by a range, not an array by value (issue 18, bytes).
        'search: for pass in 0..2 {
            let by_uid = pass == 1;
            if by_uid && wanted.is_none() {
                break;
            }
            for line in crate::Lines(passwd) {
                let (n, _) = crate::split_fields(line, b':', &mut f);
                // The uid read once, for the search by uid and for the
                // entry found (issue 18, bytes).
                let uid = crate::parse_unsigned::<u32>(f[2]);
                let found = if by_uid { uid == wanted } else { f[0] == name };
                if n >= 4 && found {
                    entry = Some((f, n, uid));
                    break 'search;
                }
            }
        }
        let entry = entry.and_then(|(entry, n, uid)| {
            let uid = uid?;
            let gid = crate::parse_unsigned::<u32>(entry[3])?;
            Some((entry, n, uid, gid))
        });
        // Not there, or with an id that is not a number: one error made
        // in one place (issue 18, bytes).
        let Some(([user, _, _, _, _, home], n, uid, gid)) = entry else {
            return Err(LookupError::UnknownUser(name.to_string()));
        };
        let home = if n < 6 || home.is_empty() { "/" } else { home };
        // Pushed, not `vec![gid]`: no boxed array of its own (issue 18,
        // bytes).
        let groups = &mut ids.groups;
        groups.push(gid);
        for line in crate::Lines(&self.group) {
            let fields = &mut f[..4];
            let (4, _) = crate::split_fields(line, b':', fields) else {
                continue;
            };
            let Some(group_id) = crate::parse_unsigned::<u32>(fields[2]) else {
                continue;
            };
            if crate::Split::new(fields[3], b',').any(|member| crate::trim(member) == user) {
                add_group(groups, group_id);
            }
        }
        ids.uid = uid;
        ids.gid = gid;
        ids.name.push_str(user);
        ids.home.push_str(home);
        Ok(())
    }
}

impl Users {
    /// Who a job runs as, from its `user`, `group` and `groups` (issue 15):
    /// the user's ids and groups, with `group` as the primary group
    /// instead of the user's and `groups` added to its supplementary
    /// groups. `user` and `group` may be numbers, which busybox images
    /// often have no entry for (a uid without one needs `group`). Without
    /// `user`, pmtr's own uid. Put in `place`, which must be `None`, and
    /// left `None` when the job names none of them: made where it stays,
    /// not moved out through a `Result` and then boxed (issue 18, bytes).
    pub fn ids(
        &self,
        user: Option<&str>,
        group: Option<&str>,
        groups: &[String],
        place: &mut Option<Box<Ids>>,
    ) -> Result<(), LookupError> {
        debug_assert!(place.is_none());
        if user.is_none() && group.is_none() && groups.is_empty() {
            return Ok(());
        }
        let ids = place.insert(Box::new(Ids {
            uid: 0,
            gid: 0,
            groups: Vec::new(),
            name: String::new(),
            home: String::new(),
        }));
        match user {
            Some(name) => {
                if let Err(e) = self.lookup_into(name, ids) {
                    match number(name) {
                        Some(uid) if group.is_some() => {
                            // Pushed onto the empty texts the failed
                            // lookup left: no Strings made and the empty
                            // ones dropped (issue 18, bytes).
                            ids.uid = uid;
                            ids.name.push_str(name);
                            ids.home.push('/');
                        }
                        Some(_) => return Err(LookupError::NoGroupFor(name.to_string())),
                        None => return Err(e),
                    }
                }
            }
            // Only the groups change: the user, its name and home stay
            // pmtr's (the job's environment keeps pmtr's HOME and USER).
            None => {
                ids.uid = rustix::process::geteuid().as_raw();
                ids.gid = rustix::process::getegid().as_raw();
            }
        }
        if let Some(name) = group {
            let gid = self.group_id(name)?;
            ids.gid = gid;
            // The new primary group takes the old one's place, first,
            // and is not listed again: the list made anew by pushes, no
            // `remove`, `retain` and `insert` of its own (issue 18, bytes).
            let old = core::mem::take(&mut ids.groups);
            ids.groups.push(gid);
            // The old list after its first, as a slice: no Skip adapter
            // (issue 18, bytes).
            // The old list holds no id twice: only `gid` is skipped.
            for &g in old.get(1..).unwrap_or_default() {
                add_group(&mut ids.groups, g);
            }
        }
        for name in groups {
            add_group(&mut ids.groups, self.group_id(name)?);
        }
        Ok(())
    }

    /// A group's id by name in /etc/group, else as a number.
    fn group_id(&self, name: &str) -> Result<u32, LookupError> {
        // A plain loop, no find_map closure and Option chain (issue 18,
        // bytes): the first line of that name whose id reads.
        for line in crate::Lines(&self.group) {
            let mut fields = crate::Split::new(line, b':');
            if fields.next() == Some(name)
                && let Some(text) = fields.nth(1)
                && let Some(gid) = crate::parse_unsigned(text)
            {
                return Ok(gid);
            }
        }
        number(name).ok_or_else(|| LookupError::UnknownGroup(name.to_string()))
    }
}

/// `gid` added to `groups` unless already there: one copy for the three
/// places that add a group (issue 18, bytes).
#[inline(never)]
fn add_group(groups: &mut Vec<u32>, gid: u32) {
    if !groups.contains(&gid) {
        groups.push(gid);
    }
}

/// A plain decimal id (no sign, no spaces).
fn number(text: &str) -> Option<u32> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        crate::parse_unsigned(text)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Users {
        Users {
            passwd: Ok("root:x:0:0:root:/root:/bin/sh\n\
                        app:x:1001:1001::/home/app:/bin/sh\n\
                        broken line\n"
                .into()),
            group: "root:x:0:\napp:x:1001:\ndialout:x:20:pi,app\nvideo:x:44:app\nother:x:50:pi\n"
                .into(),
        }
    }

    #[test]
    fn user_with_supplementary_groups() {
        assert_eq!(
            users().lookup("app"),
            Ok(Ids {
                uid: 1001,
                gid: 1001,
                groups: vec![1001, 20, 44],
                name: "app".into(),
                home: "/home/app".into(),
            })
        );
    }

    #[test]
    fn short_lines_see_no_fields_of_longer_ones_before_them() {
        // One fields array serves every line: what a longer line left in
        // it must not count for a shorter one.
        let users = Users {
            passwd: Ok("root:x:0:0:root:/root:/bin/sh\nshort:x:7\nbob:x:8:8\n".into()),
            group: "wheel:x:10:bob\nstaff:x:20\n".into(),
        };
        assert_eq!(
            users.lookup("bob"),
            Ok(Ids {
                uid: 8,
                gid: 8,
                groups: vec![8, 10],
                name: "bob".into(),
                home: "/".into(),
            })
        );
        assert_eq!(
            users.lookup("short"),
            Err(LookupError::UnknownUser("short".into()))
        );
        assert_eq!(users.lookup("7"), Err(LookupError::UnknownUser("7".into())));
    }

    #[test]
    fn numeric_uid() {
        assert_eq!(users().lookup("0").map(|i| i.uid), Ok(0));
    }

    #[test]
    fn unknown_user() {
        assert_eq!(
            users().lookup("nobody2"),
            Err(LookupError::UnknownUser("nobody2".into()))
        );
    }

    impl Users {
        /// `ids` as a value, for the tests.
        fn ids_of(
            &self,
            user: Option<&str>,
            group: Option<&str>,
            groups: &[String],
        ) -> Result<Option<Ids>, LookupError> {
            let mut place = None;
            self.ids(user, group, groups, &mut place)?;
            Ok(place.map(|ids| *ids))
        }
    }

    #[test]
    fn group_replaces_the_primary_group_and_groups_add() {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(users().ids_of(None, None, &[]), Ok(None));
        assert_eq!(
            users().ids_of(
                Some("app"),
                Some("video"),
                &strings(&["other", "20", "900"])
            ),
            Ok(Some(Ids {
                uid: 1001,
                gid: 44,
                groups: vec![44, 20, 50, 900],
                name: "app".into(),
                home: "/home/app".into(),
            }))
        );
        // Numbers need no entry, but a uid without one needs a group.
        assert_eq!(
            users().ids_of(Some("4242"), Some("4343"), &[]),
            Ok(Some(Ids {
                uid: 4242,
                gid: 4343,
                groups: vec![4343],
                name: "4242".into(),
                home: "/".into(),
            }))
        );
        assert_eq!(
            users().ids_of(Some("4242"), None, &[]),
            Err(LookupError::NoGroupFor("4242".into()))
        );
        assert_eq!(
            users().ids_of(Some("app"), Some("nogroup"), &[]),
            Err(LookupError::UnknownGroup("nogroup".into()))
        );
        assert_eq!(
            users().ids_of(Some("app"), None, &strings(&["x1"])),
            Err(LookupError::UnknownGroup("x1".into()))
        );
        // Without `user`: pmtr's own uid, with the group given.
        let own = users().ids_of(None, Some("dialout"), &[]).unwrap().unwrap();
        assert_eq!(own.uid, rustix::process::geteuid().as_raw());
        assert_eq!((own.gid, own.groups), (20, vec![20]));
    }

    #[test]
    fn unreadable_passwd() {
        let u = Users::from_files("/nonexistent/passwd", "/nonexistent/group");
        assert!(matches!(
            u.lookup("root"),
            Err(LookupError::Unreadable { .. })
        ));
    }

    /// Each error's text, word for word: what the operator reads.
    #[test]
    fn errors_read_as_written() {
        let texts = [
            (
                LookupError::Unreadable {
                    file: "/etc/passwd",
                    reason: rustix::io::Errno::ACCESS,
                },
                "can't read /etc/passwd: Permission denied",
            ),
            (
                LookupError::UnknownUser("bob".to_string()),
                "unknown user 'bob' (not in /etc/passwd)",
            ),
            (
                LookupError::NoGroupFor("1234".to_string()),
                "uid 1234 is not in /etc/passwd, so it has no primary group: add `group GID`",
            ),
            (
                LookupError::UnknownGroup("wheel".to_string()),
                "unknown group 'wheel' (not in /etc/group, and not a number)",
            ),
        ];
        for (e, text) in texts {
            assert_eq!(e.to_string(), text);
        }
    }
}
