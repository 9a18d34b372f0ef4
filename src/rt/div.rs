//! 64-bit division on 32-bit ARM (`__udivmoddi4`, `__divmoddi4`) by
//! shift and subtract, in the min builds only (`--cfg pmtr_small_rt`, set
//! by `cross/lib.sh`; issue 18, bytes).
//!
//! Why: 32-bit ARM has no instruction that divides 64-bit numbers, so
//! LLVM calls `__aeabi_uldivmod` and `__aeabi_ldivmod`, which call these
//! two. compiler_builtins' are written for speed (596 bytes on armv7 with
//! the algorithm they share); these two are 228, one loop and the signs
//! around it. pmtr
//! divides 64-bit numbers to turn times into dates for its log lines (a
//! few divisions a line) and milliseconds into durations: a division of a
//! 31-bit number, as a time in seconds is, takes 31 turns of the loop.
//!
//! Strong symbols, as in [`super::mem`]: the linker takes them over
//! compiler_builtins' and leaves its members out; its `__aeabi_*` entry
//! points, which only move registers, call these.
//!
//! # Safety
//!
//! `rem`, when not null, must be writable: C's contract for these
//! functions (libgcc's, which compiler-rt and compiler_builtins keep).

#![allow(unsafe_code)]

/// `__udivmoddi4(n, d, rem)`—`n / d`, and `n % d` into `*rem` unless
/// `rem` is null. A divisor of 0 is the caller's to refuse (Rust checks
/// before it divides); here it gives `u64::MAX` and `n`.
///
/// A bit at a time (restoring division): no division of its own (that
/// would call back here), and no shift by a variable count (on 32-bit
/// ARM, more code than the loop). `n`'s bits leave it at the top, one a
/// turn, into the remainder; the quotient's bits come in at the bottom,
/// so that after the last turn `n` is the quotient.
///
/// # Safety
///
/// `rem` null or writable.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn __udivmoddi4(mut n: u64, d: u64, rem: *mut u64) -> u64 {
    let mut r: u64 = 0;
    let mut turns = u64::BITS;
    // Leading zeros of `n` are leading zeros of the quotient: skipped.
    while turns > 0 && n >> 63 == 0 {
        n <<= 1;
        turns -= 1;
    }
    while turns > 0 {
        turns -= 1;
        // `r` is below `d`: doubled, it may pass 2^64 only when `d` is
        // above 2^63, and then it is above `d` too.
        let carry = r >> 63;
        r = r << 1 | n >> 63;
        n <<= 1;
        if carry != 0 || r >= d {
            r = r.wrapping_sub(d);
            n |= 1;
        }
    }
    if !rem.is_null() {
        // SAFETY: not null, so writable (the caller's contract).
        unsafe { rem.write(r) };
    }
    n
}

/// `__divmoddi4(a, b, rem)`—`a / b` rounded toward zero, and the
/// remainder (with `a`'s sign) into `*rem` unless `rem` is null: the
/// magnitudes divided by [`__udivmoddi4`], the signs put back.
///
/// # Safety
///
/// `rem` null or writable.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn __divmoddi4(a: i64, b: i64, rem: *mut i64) -> i64 {
    // -1 for a negative number, else 0: `x ^ s - s` is then |x|, and
    // negates a magnitude back. Two's complement and wrapping: i64::MIN's
    // magnitude and i64::MIN / -1 come out as C's (and Rust's wrapping)
    // division gives them.
    let sa = a >> 63;
    let sb = b >> 63;
    let mut r = 0;
    // SAFETY: `r` is writable.
    let q = unsafe {
        __udivmoddi4(
            (a ^ sa).wrapping_sub(sa) as u64,
            (b ^ sb).wrapping_sub(sb) as u64,
            &mut r,
        )
    };
    if !rem.is_null() {
        // SAFETY: not null, so writable (the caller's contract).
        unsafe { rem.write((r as i64 ^ sa).wrapping_sub(sa)) };
    }
    (q as i64 ^ (sa ^ sb)).wrapping_sub(sa ^ sb)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NUMBERS: [u64; 14] = [
        0,
        1,
        2,
        7,
        999,
        1000,
        86_400,
        146_097,
        1_733_097_600,
        u32::MAX as u64,
        1 << 32,
        315_360_000_000,
        (1 << 63) + 5,
        u64::MAX,
    ];

    #[test]
    fn unsigned_matches_rust() {
        for n in NUMBERS {
            for d in NUMBERS.into_iter().filter(|&d| d != 0) {
                let mut r = 0;
                // SAFETY: `r` is writable.
                let q = unsafe { __udivmoddi4(n, d, &mut r) };
                assert_eq!((q, r), (n / d, n % d), "{n} / {d}");
                // SAFETY: a null `rem` is allowed.
                assert_eq!(unsafe { __udivmoddi4(n, d, core::ptr::null_mut()) }, n / d);
            }
        }
    }

    /// Rounded toward zero, the remainder with the dividend's sign, as
    /// Rust's `/` and `%` (wrapping for i64::MIN / -1).
    #[test]
    fn signed_matches_rust() {
        let mut numbers = vec![i64::MIN, i64::MAX];
        for n in NUMBERS {
            numbers.push(n as i64);
            numbers.push((n as i64).wrapping_neg());
        }
        for &a in &numbers {
            for &b in numbers.iter().filter(|&&b| b != 0) {
                let mut r = 0;
                // SAFETY: `r` is writable.
                let q = unsafe { __divmoddi4(a, b, &mut r) };
                assert_eq!((q, r), (a.wrapping_div(b), a.wrapping_rem(b)), "{a} / {b}");
            }
        }
    }
}
