//! Long texts packed when pmtr is compiled and unpacked when they are
//! shown (issue 18, bytes): the config error templates, `pmtr -h` and
//! `pmtr VERB -h`, the metrics families' names and help. They are read
//! rarely (an error, a help request, a metrics page at most once a
//! second) and make about 7 KB of the binary, which this cuts to about 4.
//!
//! The texts stay where they are written, as string literals beside the
//! code that uses them; [`packed!`] packs one with a `const fn` while the
//! crate compiles, so what reads the source reads the text, and the
//! binary holds only the packed bytes.
//!
//! The form is LZ77 for ASCII text, two kinds of byte:
//! - below 0x80: that byte of text;
//! - 0x80 and above: with the next byte, a copy of 3 to 34 bytes from 1 to
//!   1024 bytes back: bits 2–6 of the first byte are the length less 3,
//!   bits 0–1 and the second byte are the distance less 1.
//!
//! [`encode`] chooses the copies with the fewest bytes in all (a shortest
//! path over the text, not the first long match), given the longest match
//! at each position (found through hash chains; see [`MAX_TRIES`]). A
//! text with a byte of 0x80 or above (not ASCII), or longer than
//! [`MAX_TEXT`], does not compile.

/// The fewest bytes a copy replaces: a copy takes two.
const MIN_COPY: usize = 3;
/// The most: five bits of length.
const MAX_COPY: usize = MIN_COPY + 31;
/// The farthest back a copy reaches: ten bits of distance.
const WINDOW: usize = 1024;
/// The longest text [`encode`] takes; [`Packed::unpack`]'s buffer.
pub const MAX_TEXT: usize = 4096;

/// A text packed by [`packed!`]: its bytes, and its length unpacked.
pub struct Packed {
    bytes: &'static [u8],
    len: usize,
}

impl Packed {
    /// Wraps `bytes` made by [`encode`] from a text of `len` bytes (which
    /// [`encode`] has checked is at most [`MAX_TEXT`]); use [`packed!`].
    pub const fn new(bytes: &'static [u8], len: usize) -> Packed {
        Packed { bytes, len }
    }

    /// The text, unpacked into `buf`.
    pub fn unpack<'b>(&self, buf: &'b mut [u8; MAX_TEXT]) -> &'b str {
        let mut n = 0;
        let mut i = 0;
        while i < self.bytes.len() {
            let b = self.bytes[i];
            i += 1;
            if b < 0x80 {
                buf[n] = b;
                n += 1;
                continue;
            }
            let len = usize::from(b >> 2 & 31) + MIN_COPY;
            let back = (usize::from(b & 3) << 8 | usize::from(self.bytes[i])) + 1;
            i += 1;
            // Byte by byte: a copy may overlap what it writes (`abababab`
            // is `ab` and a copy of 6 from 2 back).
            for _ in 0..len {
                buf[n] = buf[n - back];
                n += 1;
            }
        }
        debug_assert_eq!(n, self.len);
        let text = &buf[..n];
        // SAFETY: every byte written above is a literal below 0x80 or a
        // copy of one written before it: ASCII, whatever `bytes` holds,
        // so valid UTF-8 (not checked again: issue 18, bytes).
        #[allow(unsafe_code)]
        unsafe {
            core::str::from_utf8_unchecked(text)
        }
    }
}

/// A [`Packed`] text from a constant string expression, packed while the
/// crate compiles.
macro_rules! packed {
    ($text:expr) => {{
        const TEXT: &str = $text;
        const ENCODED: $crate::packed::Encoded = $crate::packed::encode(TEXT);
        const BYTES: [u8; ENCODED.1] = $crate::packed::prefix(&ENCODED);
        $crate::packed::Packed::new(&BYTES, TEXT.len())
    }};
}
pub(crate) use packed;

/// What [`encode`] makes of a text: room for the packed bytes, and how
/// many there are. A constant of this type is evaluated once; [`packed!`]
/// then sizes the packed array from it and copies the bytes out.
pub type Encoded = ([u8; MAX_TEXT], usize);

/// The first `N` bytes of `encoded`: the packed text, when `N` is its
/// length.
pub const fn prefix<const N: usize>(encoded: &Encoded) -> [u8; N] {
    assert!(N == encoded.1, "prefix::<N>: N is not the packed length");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = encoded.0[i];
        i += 1;
    }
    out
}

/// The bits of the hash chains' hash of three bytes.
const HASH_BITS: u32 = 12;
/// No earlier position (in the hash chains).
const NONE: u16 = u16::MAX;
/// The most earlier positions [`longest_match`] tries: it bounds the
/// compiler's work on a text with very many repeats, at the cost of a
/// byte here and there on such a text.
const MAX_TRIES: usize = 256;

/// `text` packed, in the form the module describes.
///
/// Shortest path: `cost[i]` is the fewest bytes that pack `text[i..]`,
/// filled from the end, each position either one literal byte or a copy
/// of any length its longest match allows; then the path is walked from
/// the start. Matches are found through hash chains: each position links
/// to the last one before it whose three bytes hash the same.
pub const fn encode(text: &str) -> Encoded {
    let text = text.as_bytes();
    let n = text.len();
    assert!(n <= MAX_TEXT, "text longer than packed::MAX_TEXT");
    let mut prev = [NONE; MAX_TEXT];
    let mut head = [NONE; 1 << HASH_BITS];
    let mut i = 0;
    while i + MIN_COPY <= n {
        let h = hash(text, i);
        prev[i] = head[h];
        head[h] = i as u16;
        i += 1;
    }
    // Per position: the fewest bytes from here, and the copy that starts
    // the best path (length 0 for a literal) with its distance.
    let mut cost = [0u32; MAX_TEXT + 1];
    let mut step = [0u8; MAX_TEXT];
    let mut back = [0u16; MAX_TEXT];
    let mut i = n;
    while i > 0 {
        i -= 1;
        assert!(text[i] < 0x80, "packed! takes ASCII text only");
        cost[i] = cost[i + 1] + 1;
        let (len, from) = longest_match(text, &prev, i);
        let mut l = MIN_COPY;
        while l <= len {
            if cost[i + l] + 2 < cost[i] {
                cost[i] = cost[i + l] + 2;
                step[i] = l as u8;
                back[i] = (i - from) as u16;
            }
            l += 1;
        }
    }
    let mut out = [0u8; MAX_TEXT];
    let mut o = 0;
    let mut i = 0;
    while i < n {
        let l = step[i] as usize;
        if l == 0 {
            out[o] = text[i];
            o += 1;
            i += 1;
        } else {
            let d = back[i] as usize - 1;
            out[o] = 0x80 | ((l - MIN_COPY) << 2) as u8 | (d >> 8) as u8;
            out[o + 1] = d as u8;
            o += 2;
            i += l;
        }
    }
    (out, o)
}

/// The hash of `text[i..i + 3]`, [`HASH_BITS`] bits.
const fn hash(text: &[u8], i: usize) -> usize {
    let key = (text[i] as u32) << 14 | (text[i + 1] as u32) << 7 | text[i + 2] as u32;
    (key.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
}

/// The longest earlier copy of `text[i..]` within [`WINDOW`], at most
/// [`MAX_COPY`] bytes: its length and where it starts (the nearest of
/// equal ones). A match may run into `i` itself, as the unpacker copies
/// byte by byte.
const fn longest_match(text: &[u8], prev: &[u16; MAX_TEXT], i: usize) -> (usize, usize) {
    let n = text.len();
    let mut best = 0;
    let mut from = 0;
    let mut j = prev[i];
    let mut tries = 0;
    while j != NONE && i - (j as usize) <= WINDOW && tries < MAX_TRIES {
        let at = j as usize;
        let mut k = 0;
        while k < MAX_COPY && i + k < n && text[at + k] == text[i + k] {
            k += 1;
        }
        if k > best {
            best = k;
            from = at;
            if k == MAX_COPY {
                break;
            }
        }
        j = prev[at];
        tries += 1;
    }
    (best, from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> usize {
        let (all, n) = encode(text);
        let bytes = all[..n].to_vec();
        let p = Packed {
            bytes: Box::leak(bytes.into_boxed_slice()),
            len: text.len(),
        };
        let mut buf = [0; MAX_TEXT];
        assert_eq!(p.unpack(&mut buf), text);
        n
    }

    #[test]
    fn empty_and_short_texts_stay_literal() {
        assert_eq!(roundtrip(""), 0);
        assert_eq!(roundtrip("ab"), 2);
        assert_eq!(roundtrip("abc"), 3);
    }

    #[test]
    fn repeats_become_copies_even_overlapping_ones() {
        // "ab" then one copy of 30 from 2 back.
        assert_eq!(roundtrip(&"ab".repeat(16)), 4);
        // More than MAX_COPY bytes: several copies.
        assert_eq!(roundtrip(&"x".repeat(100)), 1 + 2 * 3);
    }

    #[test]
    fn copies_reach_exactly_the_window() {
        // The only earlier "WXYZ" is 1024 bytes back: one copy, distance
        // 1024 (stored as 1023). One byte further and it is out of reach.
        let filler: String = (0..1020u32)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        let near = format!("WXYZ{filler}WXYZ");
        let far = format!("WXYZ{filler}-WXYZ");
        for (text, tail) in [(&near, &[0x87, 0xff][..]), (&far, &b"WXYZ"[..])] {
            let (bytes, len) = encode(text);
            assert!(bytes[..len].ends_with(tail), "{:?}", &bytes[len - 4..len]);
            roundtrip(text);
        }
    }

    #[test]
    fn random_ascii_roundtrips() {
        // A little generator, no crate: texts from a small alphabet so
        // that there is much to copy, of every length up to 4096.
        let mut seed = 0x2545_f491_u32;
        for round in 0..40 {
            let len = if round == 0 {
                MAX_TEXT
            } else {
                (seed as usize) % MAX_TEXT
            };
            let text: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    char::from(b" ab\ncd%e"[(seed % 8) as usize])
                })
                .collect();
            assert!(roundtrip(&text) <= text.len());
        }
    }

    #[test]
    fn the_macro_packs_at_compile_time() {
        let p = packed!(concat!("the ", "theme ", "of the ", "theme"));
        let mut buf = [0; MAX_TEXT];
        assert_eq!(p.unpack(&mut buf), "the theme of the theme");
        assert!(p.bytes.len() < "the theme of the theme".len());
    }
}
