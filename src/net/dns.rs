//! DNS messages (RFC 1035 §4.1) as the resolver needs them: building a
//! query, recognising the reply to it, and reading the A and AAAA records
//! out of that reply.
//!
//! Pure functions over byte slices, no I/O and nothing from the rest of
//! the crate, so a fuzz target can include this file by path. A reply comes
//! from the network: every length and offset read from it is checked
//! (`get`, `checked_add`), and every loop over a count it gives consumes
//! bytes, so a reply of N bytes costs O(N) work whatever its counts say.

use core::mem::MaybeUninit;
use core::net::IpAddr;

/// The largest query: header, a 253-character name (255 bytes encoded),
/// type and class.
pub const QUERY_MAX: usize = 12 + 255 + 4;

/// Record types pmtr asks for.
pub const TYPE_A: u16 = 1;
pub const TYPE_AAAA: u16 = 28;

/// Reply codes that mean something to the resolver.
pub const RCODE_OK: u8 = 0;
pub const RCODE_NXDOMAIN: u8 = 3;

/// One question, ready to send: a standard query, recursion desired.
#[derive(Clone)]
pub struct Query {
    /// The query is `bytes[..len]`, all written by [`Query::push`]; the
    /// rest is not set (not zeroed: issue 18, bytes) and never read.
    bytes: [MaybeUninit<u8>; QUERY_MAX],
    len: usize,
}

impl Query {
    /// The query with id `id` for `name`'s records of type `qtype`;
    /// `None` if `name` (without a trailing dot) has an empty label, a
    /// label over 63 bytes, or is over 253 bytes. (The resolver uses
    /// [`Query::set`]; this is for tests.)
    #[cfg(test)]
    pub fn new(id: u16, name: &str, qtype: u16) -> Option<Query> {
        let mut q = Query::blank();
        q.set(id, name, None, qtype).then_some(q)
    }

    /// Makes this the query `Query::new` (tests only) would make, in place (no
    /// 271-byte query moved, issue 18); false, and blank, when `new`
    /// would give `None`. With a `domain`, the name is `name.domain`,
    /// its labels those of `name`, then those of `domain`: what the
    /// joined name splits into, without joining it in a buffer first
    /// (issue 18, bytes).
    pub fn set(&mut self, id: u16, name: &str, domain: Option<&str>, qtype: u16) -> bool {
        self.len = 0;
        if name.len() + domain.map_or(0, |d| 1 + d.len()) > 253 {
            return false;
        }
        let [id_hi, id_lo] = id.to_be_bytes();
        // Flags: RD. Counts: one question, no records.
        self.push(&[id_hi, id_lo, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        let (mut part, mut then) = (Some(name), domain);
        while let Some(text) = part {
            for label in crate::Split::new(text, b'.') {
                if !(1..=63).contains(&label.len()) {
                    self.len = 0;
                    return false;
                }
                self.push(&[label.len() as u8]);
                self.push(label.as_bytes());
            }
            (part, then) = (then, None);
        }
        let [t_hi, t_lo] = qtype.to_be_bytes();
        // Root label, QTYPE, QCLASS IN.
        self.push(&[0, t_hi, t_lo, 0, 1]);
        true
    }

    /// This question with id `id` and type `qtype` instead: the A and
    /// AAAA questions differ in these four bytes only, so a lookup keeps
    /// one buffer and asks each before it is sent or a reply is matched
    /// (issue 18, 271 bytes a lookup). A blank stays blank.
    pub fn retarget(&mut self, id: u16, qtype: u16) {
        if self.len > 12 {
            let len = self.len;
            put(&mut self.bytes[..2], &id.to_be_bytes());
            put(&mut self.bytes[len - 4..len - 2], &qtype.to_be_bytes());
        }
    }

    /// A placeholder that no reply matches.
    pub fn blank() -> Query {
        Query {
            bytes: [MaybeUninit::uninit(); QUERY_MAX],
            len: 0,
        }
    }

    /// Only called with what `new` has measured to fit.
    fn push(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        put(&mut self.bytes[self.len..end], bytes);
        self.len = end;
    }

    pub fn as_bytes(&self) -> &[u8] {
        let query = &self.bytes[..self.len];
        // SAFETY: `bytes[..len]` was all written by `push` (`len` grows
        // only past what it wrote).
        #[allow(unsafe_code)]
        unsafe {
            crate::written(query)
        }
    }
}

/// `src` written into `dst`, which is as long: `write_copy_of_slice`,
/// which is newer than pmtr's MSRV (a loop of byte writes instead was 88
/// bytes more on x86_64 min, issue 18).
fn put(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    let dst = &mut dst[..src.len()];
    // SAFETY: `dst` is `src.len()` bytes (the slice above checks it), a
    // borrow apart from `src`; `u8` and `MaybeUninit<u8>` have one layout.
    #[allow(unsafe_code)]
    unsafe {
        core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast::<u8>(), src.len());
    }
}

/// Whether `reply` answers `query`: same id, QR set, and the same single
/// question (name case aside, for servers that randomise it).
pub fn is_reply_to(reply: &[u8], query: &Query) -> bool {
    let q = query.as_bytes();
    match (reply.get(..q.len()), reply.get(2)) {
        (Some(head), Some(flags)) if q.len() > 12 => {
            head[..2] == q[..2]
                && flags & 0x80 != 0
                && head[4..6] == q[4..6]
                && crate::utf8::eq_ignore_case(&head[12..], &q[12..])
        }
        _ => false,
    }
}

/// The reply code (RCODE) of a message; `None` if it has no header.
pub fn rcode(reply: &[u8]) -> Option<u8> {
    reply.get(3).map(|b| b & 15)
}

/// Calls `found` with each A and AAAA record (class IN) of the answer
/// section of `reply`, in order. Owner names are not checked, as in musl:
/// the answer to pmtr's one question is the CNAME chain and the target's
/// addresses. Returns false if the message ends before its counts say
/// (a truncated reply, or garbage); what came before is still given.
pub fn parse_answers(reply: &[u8], mut found: impl FnMut(IpAddr)) -> bool {
    let (Some(qdcount), Some(ancount)) = (be16(reply, 4), be16(reply, 6)) else {
        return false;
    };
    let mut pos = 12;
    for _ in 0..qdcount {
        // The name, then QTYPE and QCLASS.
        match skip_name(reply, pos).and_then(|p| p.checked_add(4)) {
            Some(p) if p <= reply.len() => pos = p,
            _ => return false,
        }
    }
    for _ in 0..ancount {
        let Some(head_at) = skip_name(reply, pos) else {
            return false;
        };
        // TYPE, CLASS, TTL, RDLENGTH; then RDATA.
        let Some(head) = head_at
            .checked_add(10)
            .and_then(|end| reply.get(head_at..end))
        else {
            return false;
        };
        let rdlen = usize::from(u16::from_be_bytes([head[8], head[9]]));
        let data_at = head_at + 10;
        let Some(data) = data_at
            .checked_add(rdlen)
            .and_then(|end| reply.get(data_at..end))
        else {
            return false;
        };
        // TYPE and CLASS read as one number: one compare for each kind,
        // not four of bytes (issue 18, bytes).
        match u32::from_be_bytes([head[0], head[1], head[2], head[3]]) {
            0x0001_0001 => {
                if let Ok(v4) = <[u8; 4]>::try_from(data) {
                    found(IpAddr::from(v4));
                }
            }
            0x001c_0001 => {
                if let Ok(v6) = <[u8; 16]>::try_from(data) {
                    found(IpAddr::from(v6));
                }
            }
            _ => {}
        }
        pos = data_at + rdlen;
    }
    true
}

/// The position just after the (possibly compressed) name that starts at
/// `pos` in `msg`; `None` if it runs past the end or uses a label type
/// other than a plain label or a pointer. A pointer ends a name, so
/// nothing is followed and no loop is possible: owner names are not used.
pub fn skip_name(msg: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *msg.get(pos)?;
        let next = match len {
            0 => pos.checked_add(1)?,
            // A pointer: two bytes, and the name ends.
            0xc0.. => pos.checked_add(2)?,
            // 0x40 and 0x80: extended and reserved label types.
            0x40..=0xbf => return None,
            _ => pos.checked_add(1 + usize::from(len))?,
        };
        if next > msg.len() {
            return None;
        }
        if len == 0 || len >= 0xc0 {
            return Some(next);
        }
        pos = next;
    }
}

/// The big-endian 16-bit number at `at`, if the message reaches that far.
fn be16(msg: &[u8], at: usize) -> Option<u16> {
    let bytes = msg.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn answers(reply: &[u8]) -> (Vec<IpAddr>, bool) {
        let mut ips = Vec::new();
        let whole = parse_answers(reply, |ip| ips.push(ip));
        (ips, whole)
    }

    /// `query` answered with `records` (already encoded), `count` of them.
    fn reply(query: &Query, rcode: u8, count: u16, records: &[u8]) -> Vec<u8> {
        let mut r = query.as_bytes().to_vec();
        r[2] = 0x81; // QR, RD
        r[3] = 0x80 | rcode; // RA
        r[6..8].copy_from_slice(&count.to_be_bytes());
        r.extend_from_slice(records);
        r
    }

    fn record(owner: &[u8], rtype: u16, data: &[u8]) -> Vec<u8> {
        let mut r = owner.to_vec();
        r.extend_from_slice(&rtype.to_be_bytes());
        r.extend_from_slice(&[0, 1, 0, 0, 1, 0]); // IN, TTL 256
        r.extend_from_slice(&(data.len() as u16).to_be_bytes());
        r.extend_from_slice(data);
        r
    }

    #[test]
    fn query_encodes_labels_type_and_class() {
        let q = Query::new(0x1234, "www.Example.org", TYPE_AAAA).unwrap();
        let mut want = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(b"\x03www\x07Example\x03org\x00\x00\x1c\x00\x01");
        assert_eq!(q.as_bytes(), &want[..]);
        let longest = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61),
        ]
        .join(".");
        assert_eq!(longest.len(), 253);
        assert_eq!(
            Query::new(1, &longest, TYPE_A).unwrap().as_bytes().len(),
            QUERY_MAX
        );
        for bad in [
            "",
            "a..b",
            ".a",
            "a.",
            &"x".repeat(64),
            &(longest.clone() + "e"),
        ] {
            assert!(Query::new(1, bad, TYPE_A).is_none(), "{bad:?}");
            // In place, a failure leaves a blank that no reply matches.
            let mut q = Query::new(1, "ok", TYPE_A).unwrap();
            assert!(!q.set(1, bad, None, TYPE_A), "{bad:?}");
            assert!(q.as_bytes().is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn a_name_and_a_domain_make_the_joined_name() {
        let joined = |name: &str, domain: &str| {
            let mut q = Query::blank();
            let made = q.set(3, name, Some(domain), TYPE_AAAA);
            let whole = Query::new(3, &format!("{name}.{domain}"), TYPE_AAAA);
            assert_eq!(made, whole.is_some(), "{name} {domain}");
            if let Some(whole) = whole {
                assert_eq!(q.as_bytes(), whole.as_bytes(), "{name} {domain}");
            } else {
                assert!(q.as_bytes().is_empty(), "{name} {domain}");
            }
        };
        joined("host", "corp.example");
        joined("a.b", "c");
        for bad in ["", ".c", "c.", "c..d", &"x".repeat(64)] {
            joined("host", bad);
        }
        // 253 bytes in all, and one more.
        let name = ["a".repeat(63), "b".repeat(63), "c".repeat(63)].join(".");
        joined(&name, &"d".repeat(61));
        joined(&name, &"d".repeat(62));
        joined(&name, &"d".repeat(63));
    }

    #[test]
    fn retarget_makes_the_other_question() {
        let mut q = Query::new(0x1234, "www.Example.org", TYPE_A).unwrap();
        q.retarget(0x1235, TYPE_AAAA);
        let aaaa = Query::new(0x1235, "www.Example.org", TYPE_AAAA).unwrap();
        assert_eq!(q.as_bytes(), aaaa.as_bytes());
        q.retarget(0x1234, TYPE_A);
        let a = Query::new(0x1234, "www.Example.org", TYPE_A).unwrap();
        assert_eq!(q.as_bytes(), a.as_bytes());
        let mut blank = Query::blank();
        blank.retarget(1, TYPE_AAAA);
        assert!(blank.as_bytes().is_empty());
    }

    #[test]
    fn reply_must_match_id_flag_and_question() {
        let q = Query::new(7, "one.test", TYPE_A).unwrap();
        let good = reply(&q, 0, 0, &[]);
        assert!(is_reply_to(&good, &q));
        let mut upper = good.clone();
        upper[13] = b'O';
        assert!(is_reply_to(&upper, &q), "0x20 case randomisation");
        let mut not_reply = good.clone();
        not_reply[2] = 0x01;
        assert!(!is_reply_to(&not_reply, &q));
        let mut other_id = good.clone();
        other_id[1] ^= 1;
        assert!(!is_reply_to(&other_id, &q));
        let mut other_type = good.clone();
        let at = q.as_bytes().len() - 3;
        other_type[at] = 28;
        assert!(!is_reply_to(&other_type, &q));
        assert!(!is_reply_to(&good[..good.len() - 1], &q));
        assert!(!is_reply_to(&[], &q));
    }

    #[test]
    fn answers_follow_a_compressed_cname() {
        let q = Query::new(9, "www.test", TYPE_A).unwrap();
        // www.test CNAME web.test ("test" compressed to offset 16), then
        // web.test's address, its owner compressed to the CNAME target.
        let mut records = record(&[0xc0, 12], 5, &[3, b'w', b'e', b'b', 0xc0, 16]);
        records.extend(record(&[0xc0, 38], TYPE_A, &[192, 0, 2, 80]));
        records.extend(record(
            &[0xc0, 38],
            TYPE_AAAA,
            &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        ));
        // Wrong class (CH) and wrong length are skipped, not taken.
        let mut chaos = record(&[0xc0, 38], TYPE_A, &[10, 0, 0, 1]);
        chaos[5] = 3;
        records.extend(chaos);
        records.extend(record(&[0xc0, 38], TYPE_A, &[10, 0, 0]));
        let full = reply(&q, 0, 5, &records);
        let (ips, whole) = answers(&full);
        assert!(whole);
        assert_eq!(
            ips,
            [
                IpAddr::from([192, 0, 2, 80]),
                "2001:db8::1".parse::<IpAddr>().unwrap()
            ]
        );
        assert_eq!(rcode(&full), Some(0));
    }

    #[test]
    fn truncated_and_garbage_replies_stay_in_bounds() {
        let q = Query::new(9, "www.test", TYPE_A).unwrap();
        let full = reply(&q, 0, 1, &record(&[0xc0, 12], TYPE_A, &[192, 0, 2, 80]));
        for len in 0..full.len() {
            let (ips, whole) = answers(&full[..len]);
            assert!(ips.is_empty() && !whole, "{len}");
        }
        // Counts far beyond the message.
        let mut junk = full.clone();
        junk[4..8].copy_from_slice(&[0xff; 4]);
        assert!(!answers(&junk).1);
        // An RDLENGTH past the end.
        let mut long = full.clone();
        let at = long.len() - 6;
        long[at..at + 2].copy_from_slice(&[0xff, 0xff]);
        assert_eq!(answers(&long), (vec![], false));
        // Reserved label types and a pointer cut in half.
        assert_eq!(skip_name(&[0x40, 0], 0), None);
        assert_eq!(skip_name(&[0x80, 0], 0), None);
        assert_eq!(skip_name(&[1, b'a', 0xc0], 0), None);
        assert_eq!(skip_name(&[1, b'a', 0xc0, 0], 0), Some(4));
        assert_eq!(skip_name(&[1, b'a', 0], 0), Some(3));
        assert_eq!(skip_name(&[5, b'a', 0], 0), None);
        assert_eq!(skip_name(&[0], usize::MAX), None);
        assert_eq!(skip_name(&[], 0), None);
    }

    #[test]
    fn a_huge_count_costs_only_the_bytes_there_are() {
        // 65535 answers claimed, a 64 KiB message of zero-length names:
        // each record must still fit, so parsing stops at the end.
        let q = Query::new(1, "a", TYPE_A).unwrap();
        let mut r = reply(&q, 0, 0xffff, &[]);
        r.resize(65535, 0);
        let (ips, whole) = answers(&r);
        assert!(!whole);
        assert!(ips.is_empty());
    }
}
