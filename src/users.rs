//! Reading /etc/passwd and /etc/group ourselves: a static musl binary has
//! no NSS, and busybox images have only these files anyway (SPEC §3).

use crate::prelude::*;
use core::fmt;

/// Who a job runs as: uid, primary gid and supplementary groups, and the
/// name and home directory its environment gets (`USER`, `LOGNAME`,
/// `HOME`, as `su -` sets them).
#[derive(Debug, Clone, PartialEq, Eq)]
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
    Unreadable { file: String, reason: String },
    /// No such user in the passwd file.
    UnknownUser(String),
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::Unreadable { file, reason } => write!(f, "can't read {file}: {reason}"),
            LookupError::UnknownUser(name) => {
                write!(f, "unknown user '{name}' (not in /etc/passwd)")
            }
        }
    }
}

/// A text file, with any bytes that are not UTF-8 replaced.
fn read_text(path: &str) -> Result<String, rustix::io::Errno> {
    let bytes = crate::files::read_file(path, 16 << 20)?;
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// The user database files, read once per configuration load.
pub struct Users {
    passwd: Result<String, String>,
    group: String,
}

impl Users {
    /// Reads /etc/passwd and /etc/group.
    pub fn load() -> Users {
        Users::from_files("/etc/passwd", "/etc/group")
    }

    pub fn from_files(passwd: &str, group: &str) -> Users {
        Users {
            passwd: read_text(passwd).map_err(|e| crate::sys::strerror(e).to_string()),
            // A missing group file only means no supplementary groups.
            group: read_text(group).unwrap_or_default(),
        }
    }

    /// Resolves `name` (or a numeric uid) to its ids and groups: every group
    /// that lists the user as a member, plus its primary group.
    pub fn lookup(&self, name: &str) -> Result<Ids, LookupError> {
        let passwd = self
            .passwd
            .as_ref()
            .map_err(|reason| LookupError::Unreadable {
                file: "/etc/passwd".into(),
                reason: reason.clone(),
            })?;
        let entry = passwd
            .lines()
            .map(|line| line.split(':').collect::<Vec<_>>())
            .filter(|fields| fields.len() >= 4)
            .find(|fields| fields[0] == name)
            .or_else(|| {
                // `user 1000` names a uid; it must still have an entry, for
                // its primary group.
                let uid: u32 = name.parse().ok()?;
                passwd
                    .lines()
                    .map(|line| line.split(':').collect::<Vec<_>>())
                    .filter(|fields| fields.len() >= 4)
                    .find(|fields| fields[2].parse() == Ok(uid))
            })
            .ok_or_else(|| LookupError::UnknownUser(name.to_string()))?;
        let (Ok(uid), Ok(gid)) = (entry[2].parse::<u32>(), entry[3].parse::<u32>()) else {
            return Err(LookupError::UnknownUser(name.to_string()));
        };
        let user = entry[0];
        let home = entry
            .get(5)
            .copied()
            .filter(|h| !h.is_empty())
            .unwrap_or("/");
        let mut groups = vec![gid];
        for line in self.group.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() < 4 {
                continue;
            }
            let Ok(group_id) = fields[2].parse::<u32>() else {
                continue;
            };
            if fields[3].split(',').any(|member| member.trim() == user)
                && !groups.contains(&group_id)
            {
                groups.push(group_id);
            }
        }
        Ok(Ids {
            uid,
            gid,
            groups,
            name: user.to_string(),
            home: home.to_string(),
        })
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

    #[test]
    fn unreadable_passwd() {
        let u = Users::from_files("/nonexistent/passwd", "/nonexistent/group");
        assert!(matches!(
            u.lookup("root"),
            Err(LookupError::Unreadable { .. })
        ));
    }
}
