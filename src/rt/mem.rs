//! The C library's memory functions (`memcpy`, `memmove`, `memset`,
//! `memcmp`, `bcmp`, `strlen`) as byte loops, in the min builds only
//! (`--cfg pmtr_small_rt`, set by `cross/lib.sh`; issue 18, bytes).
//!
//! Why: the versions a toolchain brings are written for speed (word
//! copies, alignment fix-ups, unrolled loops): about 1 KB on armv7, 0.7 KB
//! on the other targets. pmtr copies at most a few KB at a time (a log
//! record, a read buffer, a path) and a restart's own work is microseconds
//! against fork and exec, so a copy that takes a byte a turn costs nothing
//! an operator can measure.
//!
//! These definitions are strong symbols: the linker takes them over
//! compiler-builtins' (weak) and the C library's ones (archive members it
//! then need not pull), for pmtr's code and musl's alike.
//!
//! The unit tests call them as plain Rust functions (no exported names:
//! the test binary keeps its C library's).
//!
//! Every access is volatile: without that, LLVM recognises each loop as
//! the function it implements and compiles it into a call to that same
//! function, which would call itself for ever. Volatile accesses are never
//! merged, widened or removed, so the loops stay byte loops.
//!
//! # Safety
//!
//! Each function keeps its C contract (ISO C 7.24.2 and 7.24.4, POSIX for
//! `bcmp`): the caller passes pointers valid for the `n` bytes the
//! function reads or writes (`memcpy`: not overlapping), and `strlen` a
//! NUL-terminated string. The functions read and write nothing else.

#![allow(unsafe_code)]

use core::ffi::{c_char, c_int};

/// `memcpy(dst, src, n)`—copies `n` bytes from `src` to `dst`, which do
/// not overlap; returns `dst`.
///
/// # Safety
///
/// `src` readable and `dst` writable for `n` bytes, not overlapping.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller's contract, as memmove's (a forward copy).
    unsafe { memmove(dst, src, n) }
}

/// `memmove(dst, src, n)`—copies `n` bytes from `src` to `dst`, which may
/// overlap; returns `dst`.
///
/// # Safety
///
/// `src` readable and `dst` writable for `n` bytes.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // Forward when the destination starts first (or at the same place),
    // backward otherwise: either way each byte is read before the copy
    // overwrites it.
    if (dst as usize) <= (src as usize) {
        let mut i = 0;
        while i < n {
            // SAFETY: i < n, within both ranges (the caller's contract).
            unsafe { dst.add(i).write_volatile(src.add(i).read_volatile()) };
            i += 1;
        }
    } else {
        let mut i = n;
        while i > 0 {
            i -= 1;
            // SAFETY: as above.
            unsafe { dst.add(i).write_volatile(src.add(i).read_volatile()) };
        }
    }
    dst
}

/// `memset(s, c, n)`—sets `n` bytes at `s` to `c` (as an unsigned char);
/// returns `s`.
///
/// # Safety
///
/// `s` writable for `n` bytes.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn memset(s: *mut u8, c: c_int, n: usize) -> *mut u8 {
    let mut i = 0;
    while i < n {
        // SAFETY: i < n, within the range (the caller's contract).
        unsafe { s.add(i).write_volatile(c as u8) };
        i += 1;
    }
    s
}

/// `memcmp(a, b, n)`—compares `n` bytes as unsigned chars: less than,
/// equal to or greater than 0 as `a`'s first differing byte is below,
/// absent or above `b`'s.
///
/// # Safety
///
/// `a` and `b` readable for `n` bytes.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> c_int {
    let mut i = 0;
    while i < n {
        // SAFETY: i < n, within both ranges (the caller's contract).
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
        if x != y {
            return c_int::from(x) - c_int::from(y);
        }
        i += 1;
    }
    0
}

/// `bcmp(a, b, n)`—0 when the `n` bytes are equal, not 0 otherwise (what
/// LLVM calls for `==` on byte slices).
///
/// # Safety
///
/// `a` and `b` readable for `n` bytes.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> c_int {
    // SAFETY: the caller's contract, as memcmp's.
    unsafe { memcmp(a, b, n) }
}

/// `strlen(s)`—the number of bytes before `s`'s NUL.
///
/// # Safety
///
/// `s` a NUL-terminated string.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn strlen(s: *const c_char) -> usize {
    let mut n = 0;
    // SAFETY: every byte up to and including the NUL is readable (the
    // caller's contract); the loop stops at the NUL.
    while unsafe { s.add(n).read_volatile() } != 0 {
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every copy of 0 to 8 bytes between every two places of a 16-byte
    /// buffer, overlapping or not, against `copy_within`.
    #[test]
    fn memmove_matches_copy_within() {
        let start: [u8; 16] = core::array::from_fn(|i| i as u8 + 1);
        for n in 0..=8 {
            for from in 0..=16 - n {
                for to in 0..=16 - n {
                    let mut want = start;
                    want.copy_within(from..from + n, to);
                    let mut got = start;
                    let p = got.as_mut_ptr();
                    // SAFETY: both ranges lie within `got`.
                    let r = unsafe { memmove(p.add(to), p.add(from), n) };
                    assert_eq!(r, p.wrapping_add(to));
                    assert_eq!(got, want, "n {n} from {from} to {to}");
                }
            }
        }
    }

    #[test]
    fn memcpy_copies_and_returns_dst() {
        let src = *b"abcdefgh";
        let mut dst = [0u8; 10];
        // SAFETY: 8 bytes readable at src, writable at dst + 1.
        let r = unsafe { memcpy(dst.as_mut_ptr().add(1), src.as_ptr(), 8) };
        assert_eq!(r, dst.as_mut_ptr().wrapping_add(1));
        assert_eq!(&dst, b"\0abcdefgh\0");
    }

    #[test]
    fn memset_takes_the_low_byte() {
        let mut buf = [7u8; 6];
        // SAFETY: 4 bytes writable at buf + 1.
        let r = unsafe { memset(buf.as_mut_ptr().add(1), 0x1ff, 4) };
        assert_eq!(r, buf.as_mut_ptr().wrapping_add(1));
        assert_eq!(buf, [7, 0xff, 0xff, 0xff, 0xff, 7]);
    }

    /// The sign of the first differing byte, compared unsigned.
    #[test]
    fn memcmp_and_bcmp_compare_unsigned_bytes() {
        let cases: [(&[u8], &[u8], core::cmp::Ordering); 5] = [
            (b"", b"", core::cmp::Ordering::Equal),
            (b"abc", b"abc", core::cmp::Ordering::Equal),
            (b"abc", b"abd", core::cmp::Ordering::Less),
            (b"b\x00", b"a\xff", core::cmp::Ordering::Greater),
            (b"\x80", b"\x7f", core::cmp::Ordering::Greater),
        ];
        for (a, b, want) in cases {
            // SAFETY: both are `a.len()` bytes long.
            let (c, e) = unsafe {
                (
                    memcmp(a.as_ptr(), b.as_ptr(), a.len()),
                    bcmp(a.as_ptr(), b.as_ptr(), a.len()),
                )
            };
            assert_eq!(c.cmp(&0), want, "{a:?} {b:?}");
            assert_eq!(e == 0, want.is_eq(), "{a:?} {b:?}");
        }
    }

    #[test]
    fn strlen_counts_to_the_nul() {
        for s in [c"", c"a", c"/etc/pmtr.conf"] {
            // SAFETY: a C string literal is NUL-terminated.
            assert_eq!(unsafe { strlen(s.as_ptr()) }, s.to_bytes().len());
        }
    }
}
