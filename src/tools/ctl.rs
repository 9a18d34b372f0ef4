//! `pmtr-ctl`: sends one `enable NAME...` or
//! `disable NAME...` datagram to a pmtr that has `listen on udp://...`
//! (SPEC §8). There is no reply: the pmtr log says what happened.

use crate::prelude::*;

use crate::net::wire::{self, BadControl, Control, DATAGRAM_MAX};
use rustix::net::{AddressFamily, SendFlags, SocketFlags, SocketType};

pub const USAGE: &str = "\
usage: pmtr-ctl -s HOST -p PORT enable|disable NAME...

Sends one UDP datagram asking the pmtr listening on HOST:PORT (its
`listen on udp://ADDR:PORT`) to enable or disable the named jobs until its
configuration changes or it restarts. The datagram is not authenticated:
anyone who can reach that port can do the same.

  -s HOST   host name or address of the pmtr
  -p PORT   its UDP port
  -h        this text

Exit status: 0 sent, 1 could not send, 2 usage error.
";

/// A command line `pmtr-ctl` cannot follow.
#[derive(Debug, PartialEq, Eq)]
enum UsageError {
    UnknownFlag(String),
    MissingArgument(char),
    Missing(&'static str),
    BadPort(String),
    BadVerb(String),
    BadName(String),
    TooLong(usize),
}

impl core::fmt::Display for UsageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            UsageError::UnknownFlag(flag) => write!(f, "unknown option '{flag}'"),
            UsageError::MissingArgument(flag) => write!(f, "option '-{flag}' needs an argument"),
            UsageError::Missing(what) => write!(f, "missing {what}"),
            UsageError::BadPort(port) => write!(f, "'{port}' is not a port number (1-65535)"),
            UsageError::BadVerb(verb) => write!(f, "'{verb}' is not enable or disable"),
            UsageError::BadName(name) => write!(f, "'{}' is not a job name", name.escape_debug()),
            UsageError::TooLong(n) => write!(
                f,
                "the datagram would be {n} bytes, more than pmtr accepts ({DATAGRAM_MAX})"
            ),
        }
    }
}

/// What to send where.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    host: String,
    port: u16,
    datagram: String,
}

enum Parsed {
    Help,
    Send(Request),
}

pub fn main(args: Vec<String>) -> u8 {
    let request = match parse(&args) {
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return 0;
        }
        Ok(Parsed::Send(request)) => request,
        Err(e) => {
            eprint!("pmtr-ctl: {e}\n{USAGE}");
            return 2;
        }
    };
    match send(&request) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("pmtr-ctl: {e}");
            1
        }
    }
}

fn parse(args: &[String]) -> Result<Parsed, UsageError> {
    let mut host = None;
    let mut port = None;
    let mut rest: Vec<String> = Vec::new();
    let mut args = args.iter().cloned();
    while let Some(arg) = args.next() {
        if !rest.is_empty() || !arg.starts_with('-') || arg == "-" {
            rest.push(arg);
            continue;
        }
        if arg == "--" {
            rest.extend(args.by_ref());
            break;
        }
        if arg == "-h" || arg == "--help" {
            return Ok(Parsed::Help);
        }
        let flag = arg[1..].chars().next().unwrap_or('-');
        let inline = &arg[1 + flag.len_utf8()..];
        let value = match flag {
            's' | 'p' if !inline.is_empty() => inline.to_string(),
            's' | 'p' => args.next().ok_or(UsageError::MissingArgument(flag))?,
            _ => return Err(UsageError::UnknownFlag(arg)),
        };
        if flag == 's' {
            host = Some(value);
        } else {
            port = Some(
                value
                    .parse::<u16>()
                    .ok()
                    .filter(|&p| p != 0)
                    .ok_or(UsageError::BadPort(value))?,
            );
        }
    }
    let host = host.ok_or(UsageError::Missing("-s HOST"))?;
    let port = port.ok_or(UsageError::Missing("-p PORT"))?;
    let mut words = rest.iter();
    let verb = words
        .next()
        .ok_or(UsageError::Missing("enable or disable"))?;
    let control = Control::from_word(verb).ok_or_else(|| UsageError::BadVerb(verb.clone()))?;
    let datagram =
        wire::control_datagram(control, words.map(String::as_str)).map_err(|e| match e {
            BadControl::NoJobNames => UsageError::Missing("job name"),
            BadControl::BadName(name) => UsageError::BadName(name.to_string()),
            BadControl::TooLong(n) => UsageError::TooLong(n),
        })?;
    Ok(Parsed::Send(Request {
        host,
        port,
        datagram,
    }))
}

fn send(request: &Request) -> Result<(), String> {
    let addrs = crate::net::resolve::lookup(&request.host, request.port)
        .map_err(|e| format!("can't resolve {}: {e}", request.host))?;
    let mut last_error = format!("can't resolve {}: no address", request.host);
    // The first address that takes the datagram; UDP says nothing more.
    for addr in addrs {
        let family = if addr.is_ipv4() {
            AddressFamily::INET
        } else {
            AddressFamily::INET6
        };
        let sent = rustix::net::socket_with(family, SocketType::DGRAM, SocketFlags::CLOEXEC, None)
            .and_then(|sock| {
                rustix::net::sendto(
                    &sock,
                    request.datagram.as_bytes(),
                    SendFlags::empty(),
                    &addr,
                )
            });
        match sent {
            Ok(_) => return Ok(()),
            Err(e) => last_error = format!("can't send to {addr}: {}", crate::sys::strerror(e)),
        }
    }
    Err(last_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| a.to_string()).collect()
    }

    fn request(list: &[&str]) -> Result<Request, UsageError> {
        match parse(&args(list))? {
            Parsed::Send(r) => Ok(r),
            Parsed::Help => panic!("help"),
        }
    }

    #[test]
    fn flags_and_names_make_one_datagram() {
        let r = request(&["-s", "127.0.0.1", "-p10000", "disable", "web", "db"]).unwrap();
        assert_eq!(
            r,
            Request {
                host: "127.0.0.1".into(),
                port: 10000,
                datagram: "disable web db\n".into()
            }
        );
        let r = request(&["enable", "web", "-s", "h", "-p", "1"]);
        assert_eq!(
            r.unwrap_err(),
            UsageError::Missing("-s HOST"),
            "flags come before the verb"
        );
    }

    #[test]
    fn usage_errors() {
        assert_eq!(
            request(&["-p", "1", "enable", "x"]).unwrap_err(),
            UsageError::Missing("-s HOST")
        );
        assert_eq!(
            request(&["-s", "h", "enable", "x"]).unwrap_err(),
            UsageError::Missing("-p PORT")
        );
        assert_eq!(
            request(&["-s", "h", "-p", "0", "enable", "x"]).unwrap_err(),
            UsageError::BadPort("0".into())
        );
        assert_eq!(
            request(&["-s", "h", "-p", "1", "start", "x"]).unwrap_err(),
            UsageError::BadVerb("start".into())
        );
        assert_eq!(
            request(&["-s", "h", "-p", "1", "enable"]).unwrap_err(),
            UsageError::Missing("job name")
        );
        assert_eq!(
            request(&["-s", "h", "-p", "1", "enable", "a b"]).unwrap_err(),
            UsageError::BadName("a b".into())
        );
        assert_eq!(
            request(&["-x"]).unwrap_err(),
            UsageError::UnknownFlag("-x".into())
        );
        assert_eq!(
            request(&["-s"]).unwrap_err(),
            UsageError::MissingArgument('s')
        );
        let long = "n".repeat(DATAGRAM_MAX);
        assert!(matches!(
            request(&["-s", "h", "-p", "1", "enable", &long]),
            Err(UsageError::TooLong(_))
        ));
        assert!(matches!(parse(&args(&["-h"])), Ok(Parsed::Help)));
    }
}
