//! Addresses in log lines, written as core writes them (RFC 5952 for
//! IPv6: lower-case hex, the longest run of two or more zero groups as
//! `::`, the first of equal runs; IPv4-mapped as `::ffff:a.b.c.d`), but
//! without core::net's `Display`, which formats into a buffer of its own
//! for padding that log lines never ask for (issue 18: about 1 KB on
//! armv7, 1.5 KB on x86_64 min, 3 KB on stable x86_64). Width and
//! precision are not honoured.

use core::fmt::{self, Write};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// An IP address as text: `192.0.2.1`, `2001:db8::1`.
pub struct Ip<'a>(pub &'a IpAddr);

/// A socket address as text: `192.0.2.1:10000`, `[2001:db8::1]:10000`,
/// `[fe80::1%2]:10000` (with the scope id when it is not 0).
pub struct Addr<'a>(pub &'a SocketAddr);

impl fmt::Display for Ip<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write_v4(f, *v4),
            IpAddr::V6(v6) => write_v6(f, v6),
        }
    }
}

impl crate::packed::Show for Ip<'_> {}

impl fmt::Display for Addr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Each kind's address written where it is: no IpAddr made and
        // copied for the call (issue 18, bytes).
        let (scope, port) = match self.0 {
            SocketAddr::V4(a) => {
                write_v4(f, *a.ip())?;
                (None, a.port())
            }
            SocketAddr::V6(a) => {
                f.write_char('[')?;
                write_v6(f, a.ip())?;
                (Some(a.scope_id()), a.port())
            }
        };
        if let Some(scope) = scope {
            if scope != 0 {
                f.write_char('%')?;
                write_decimal(f, scope)?;
            }
            f.write_char(']')?;
        }
        f.write_char(':')?;
        write_decimal(f, port.into())
    }
}

impl crate::packed::Show for Addr<'_> {}

fn write_v6(f: &mut fmt::Formatter<'_>, v6: &Ipv6Addr) -> fmt::Result {
    if let Some(v4) = v6.to_ipv4_mapped() {
        f.write_str("::ffff:")?;
        return write_v4(f, v4);
    }
    // Group `i` read from the address's bytes where they are: no array of
    // `segments` made (issue 18, bytes).
    let bytes = v6.octets();
    // `i` is below 8: the index masked to the 16 bytes, which the
    // compiler sees needs no bounds check (issue 18, bytes).
    let group = |i: usize| u16::from_be_bytes([bytes[(2 * i) & 15], bytes[(2 * i + 1) & 15]]);
    const GROUPS: usize = 8;
    // The longest run of zero groups: it starts at `zeros_at`, `zeros`
    // long; a later run must be longer to win.
    let (mut zeros_at, mut zeros, mut run) = (0, 0, 0);
    for i in 0..GROUPS {
        run = if group(i) == 0 { run + 1 } else { 0 };
        if run > zeros {
            zeros = run;
            zeros_at = i + 1 - run;
        }
    }
    // A single zero group stays `0` (RFC 5952 §4.2.2).
    if zeros < 2 {
        zeros_at = GROUPS;
    }
    // The run's end computed once; its first group writes `::` and
    // the rest of it nothing (issue 18, bytes).
    let end = zeros_at + zeros;
    for i in 0..GROUPS {
        if i == zeros_at {
            f.write_str("::")?;
            continue;
        }
        if i > zeros_at && i < end {
            continue;
        }
        if i != 0 && i != end {
            f.write_char(':')?;
        }
        write_hex(f, group(i))?;
    }
    Ok(())
}

fn write_v4(f: &mut fmt::Formatter<'_>, ip: Ipv4Addr) -> fmt::Result {
    // By reference: no array::IntoIter (issue 18, bytes).
    for (i, &octet) in ip.octets().iter().enumerate() {
        if i != 0 {
            f.write_char('.')?;
        }
        write_decimal(f, octet.into())?;
    }
    Ok(())
}

/// `n` in decimal, without core's integer `Display` and its padding.
fn write_decimal(f: &mut fmt::Formatter<'_>, n: u32) -> fmt::Result {
    write_digits(f, n, 10)
}

/// `n` in lower-case hex, no leading zeros.
fn write_hex(f: &mut fmt::Formatter<'_>, n: u16) -> fmt::Result {
    write_digits(f, n.into(), 16)
}

fn write_digits(f: &mut fmt::Formatter<'_>, mut n: u32, radix: u32) -> fmt::Result {
    // u32::MAX has 10 decimal digits. Written from the end, then as one
    // str: no second loop of `write_char` (issue 18, bytes).
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b"0123456789abcdef"[(n % radix) as usize];
        n /= radix;
        if n == 0 {
            break;
        }
    }
    let digits = digits.get(at..).unwrap_or_default();
    #[allow(unsafe_code)]
    // SAFETY: every byte is an ASCII digit, written just above.
    f.write_str(unsafe { core::str::from_utf8_unchecked(digits) })
}

#[cfg(test)]
mod tests {
    use super::{Addr, Ip};
    use crate::prelude::*;
    use core::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};

    /// Every address with groups drawn from a few values (zero, small,
    /// large) at every position, so that every placement of zero runs of
    /// every length is covered, ties included.
    fn v6_addresses() -> Vec<Ipv6Addr> {
        let values = [0u16, 1, 0xffff, 0xab0];
        let mut all = Vec::new();
        for n in 0..values.len().pow(8) {
            let mut g = [0u16; 8];
            let mut k = n;
            for slot in &mut g {
                *slot = values[k % values.len()];
                k /= values.len();
            }
            all.push(Ipv6Addr::from(g));
        }
        all
    }

    #[test]
    fn ipv6_as_core_writes_it() {
        for ip in v6_addresses() {
            assert_eq!(Ip(&IpAddr::V6(ip)).to_string(), ip.to_string());
        }
    }

    #[test]
    fn ipv6_special_forms_as_core_writes_them() {
        for text in [
            "::",
            "::1",
            "1::",
            "::ffff:192.0.2.1",
            "::ffff:0.0.0.0",
            "::192.0.2.1",
            "64:ff9b::192.0.2.1",
            "fe80::1",
            "2001:db8:0:0:1:0:0:1",
            "2001:0:0:1:0:0:0:1",
            "1:0:1:0:1:0:1:0",
            "ff02::1:ff00:1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "::fffe:1.2.3.4",
            "0:0:0:0:0:ffff:0:1",
        ] {
            let ip: Ipv6Addr = text.parse().unwrap();
            assert_eq!(Ip(&IpAddr::V6(ip)).to_string(), ip.to_string(), "{text}");
        }
    }

    #[test]
    fn ipv4_as_core_writes_it() {
        for n in (0..=u32::MAX)
            .step_by(65_537)
            .chain([0, 1, 0x7f00_0001, u32::MAX])
        {
            let ip = IpAddr::from(n.to_be_bytes());
            assert_eq!(Ip(&ip).to_string(), ip.to_string());
        }
    }

    #[test]
    fn socket_addresses_as_core_writes_them() {
        let ips: Vec<IpAddr> = [
            "0.0.0.0",
            "127.0.0.1",
            "255.255.255.255",
            "::",
            "2001:db8::1",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        for ip in ips {
            for port in [0, 1, 80, 10000, 65535] {
                let addr = SocketAddr::new(ip, port);
                assert_eq!(Addr(&addr).to_string(), addr.to_string());
            }
        }
        for scope in [0, 1, 2, 4_294_967_295] {
            let addr = SocketAddr::V6(SocketAddrV6::new(
                "fe80::1".parse().unwrap(),
                10000,
                7,
                scope,
            ));
            assert_eq!(Addr(&addr).to_string(), addr.to_string());
        }
    }
}
