//! The monotonic clock pmtr measures deadlines and uptimes on (std's
//! `Instant`, which a `no_std` pmtr does not have).

use core::time::Duration;

/// A point on the monotonic clock (`CLOCK_MONOTONIC`): what job deadlines
/// and uptimes are measured on, unaffected by changes to the wall clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// `clock_gettime(CLOCK_MONOTONIC)` (through the vDSO: no system call).
    pub fn now() -> Instant {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        Instant(Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
    }

    /// How long after `earlier` this is; zero if it is not later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// How long after `earlier` this is; zero if it is not later.
    pub fn duration_since(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d))
    }
}

impl core::ops::Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instant_arithmetic_saturates() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(3);
        assert_eq!(t1.saturating_duration_since(t0), Duration::from_secs(3));
        assert_eq!(t0.saturating_duration_since(t1), Duration::ZERO);
        assert!(t1 > t0);
    }
}
