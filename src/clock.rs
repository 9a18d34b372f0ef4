//! The monotonic clock pmtr measures deadlines and uptimes on (std's
//! `Instant`, which a `no_std` pmtr does not have).

use core::num::NonZeroU64;
use core::time::Duration;

/// A point on the monotonic clock (`CLOCK_MONOTONIC`): what job deadlines
/// and uptimes are measured on, unaffected by changes to the wall clock.
/// Nanoseconds since the clock's start (boot) in a `u64`, good for 584
/// years: half the bytes of a `Duration`, and a job's record holds about
/// a dozen of them (issue 18). Never zero (the clock has run since boot;
/// arithmetic stops at 1 ns), so an `Option<Instant>` is 8 bytes too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(NonZeroU64);

/// The instant `nanos` after boot; 0 becomes 1 ns.
fn at(nanos: u64) -> Instant {
    Instant(NonZeroU64::new(nanos).unwrap_or(NonZeroU64::MIN))
}

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// `secs` seconds and `nanos` nanoseconds in nanoseconds, saturating.
fn total_nanos(secs: u64, nanos: u32) -> u64 {
    secs.saturating_mul(NANOS_PER_SEC)
        .saturating_add(u64::from(nanos))
}

/// `d` in nanoseconds, saturating (a `Duration` can hold far more).
fn nanos(d: Duration) -> u64 {
    total_nanos(d.as_secs(), d.subsec_nanos())
}

impl Instant {
    /// `clock_gettime(CLOCK_MONOTONIC)` (through the vDSO: no system call).
    pub fn now() -> Instant {
        let (secs, nanos) = crate::sys::clock_now(crate::sys::Clock::Monotonic);
        // Seconds since boot fit in 64 bits of nanoseconds for 584 years:
        // no saturating multiply, which on 32-bit ARM is a long one, on
        // every read (issue 18, bytes).
        at((secs as u64)
            .wrapping_mul(NANOS_PER_SEC)
            .wrapping_add(u64::from(nanos)))
    }

    /// How long after `earlier` this is; zero if it is not later. Out of
    /// line, as `+` is: 64-bit saturating arithmetic is long on 32-bit ARM,
    /// and the two were inlined at 27 places (issue 18: -1584 bytes on
    /// min armv7).
    #[inline(never)]
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.get().saturating_sub(earlier.0.get()))
    }

    /// How many nanoseconds after `earlier` this is; zero if it is not
    /// later. No `Duration` made: its seconds are a 64-bit division
    /// (issue 18, bytes).
    pub fn nanos_since(self, earlier: Instant) -> u64 {
        self.0.get().saturating_sub(earlier.0.get())
    }

    /// Whole seconds after `earlier`; zero if it is not later. On 32-bit
    /// targets one call of the 64-bit division, out of line, with no
    /// `Duration` made and taken apart; on 64-bit ones the seconds of
    /// `saturating_duration_since`, whose division is there anyway (a
    /// second one of its own was +8 bytes on min x86_64; issue 18, bytes:
    /// min armv6 -32).
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub fn secs_since(self, earlier: Instant) -> u64 {
        if cfg!(target_pointer_width = "32") {
            self.nanos_since(earlier) / NANOS_PER_SEC
        } else {
            self.saturating_duration_since(earlier).as_secs()
        }
    }

    /// How long after `earlier` this is; zero if it is not later.
    pub fn duration_since(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

/// The wall clock (`CLOCK_REALTIME`): seconds since the epoch and
/// nanoseconds, for timestamps (no system call either).
pub fn wall() -> (i64, u32) {
    crate::sys::clock_now(crate::sys::Clock::Realtime)
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    #[inline(never)]
    fn add(self, d: Duration) -> Instant {
        at(self.0.get().saturating_add(nanos(d)))
    }
}

impl core::ops::Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        at(self.0.get().saturating_sub(nanos(d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both clocks read through `sys::clock_now` give today's time; on
    /// i686 musl (`make unit-i686`) this is the 64-bit `time_t` call.
    #[test]
    fn clocks_read_the_real_time() {
        let (secs, nanos) = wall();
        // 2024-01-01 and 2100-01-01: a truncated or garbled time_t is
        // far outside.
        assert!((1_704_067_200..4_102_444_800).contains(&secs), "{secs}");
        assert!(nanos < 1_000_000_000);
        let a = Instant::now();
        let b = Instant::now();
        // Monotonic: never backwards, and not jumping either.
        assert!(a.0 <= b.0);
        assert!(b.duration_since(a) < Duration::from_secs(1));
    }

    #[test]
    fn instant_arithmetic_saturates() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(3);
        assert_eq!(t1.saturating_duration_since(t0), Duration::from_secs(3));
        assert_eq!(t0.saturating_duration_since(t1), Duration::ZERO);
        assert!(t1 > t0);
        // A wait of "forever" stays at the end of time, not wrapped.
        let end = t0 + Duration::MAX;
        assert!(end > t1);
        assert_eq!(end + Duration::from_secs(1), end);
        assert_eq!(
            (t1 + Duration::from_nanos(1_500_000_001)).saturating_duration_since(t1),
            Duration::new(1, 500_000_001)
        );
        // Whole seconds, rounded down; zero backwards; 24 days and the
        // end of time in range.
        assert_eq!(t1.secs_since(t0), 3);
        assert_eq!(t0.secs_since(t1), 0);
        assert_eq!(t0.secs_since(t0), 0);
        assert_eq!((t1 + Duration::from_nanos(999_999_999)).secs_since(t1), 0);
        assert_eq!(
            (t1 + Duration::from_secs(24 * 86400)).secs_since(t1),
            24 * 86400
        );
        assert_eq!(
            at(u64::MAX).secs_since(at(1)),
            (u64::MAX - 1) / NANOS_PER_SEC
        );
        // Before boot is the first nanosecond, and still an instant.
        assert_eq!(t0 - Duration::MAX, at(1));
        assert_eq!(size_of::<Option<Instant>>(), 8);
    }
}
