//! Where a store gets the time: [`Clock`], the [`SystemClock`] it uses by default, and a
//! [`ManualClock`] that tests move by hand (no sleeping tests).
//!
//! The clock decides every time a store records or compares: the created, modified and
//! expiry times in entry headers, "has this entry expired?", and the access times written
//! when [`track_access`](crate::Options::track_access) is on. The age of crashed writers'
//! temp files is judged by the file system's own clock, never by this one.

use std::fmt;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time for a store ([`Options::clock`](crate::Options::clock)).
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock ([`SystemTime::now`]); what a store uses unless told
/// otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until it is moved: for tests of expiry and eviction without
/// sleeping.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use dirkv::{Exists, ManualClock, Store};
///
/// let dir = tempfile::tempdir()?;
/// let clock = Arc::new(ManualClock::new());
/// let store: Store<String, u32> = Store::options()
///     .clock(clock.clone())
///     .open(dir.path().join("s"), Exists::OpenOrCreate)?;
/// store.set_with_ttl("token", &7, Duration::from_secs(60))?;
/// clock.advance(Duration::from_secs(59));
/// assert_eq!(store.get("token")?, Some(7));
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(store.get("token")?, None);
/// # Ok::<(), dirkv::Error>(())
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock standing at 2001-09-09 01:46:40 UTC (1,000,000,000 s after the Unix epoch):
    /// a fixed, recognisable time well after the epoch.
    pub fn new() -> Self {
        Self::at(UNIX_EPOCH + Duration::from_secs(1_000_000_000))
    }

    /// A clock standing at `time`.
    pub fn at(time: SystemTime) -> Self {
        ManualClock {
            now: Mutex::new(time),
        }
    }

    /// Moves the clock to `time` (backwards too).
    pub fn set(&self, time: SystemTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = time;
    }

    /// Moves the clock forward by `by` (saturating at the largest time the platform has).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(later) = now.checked_add(by) {
            *now = later;
        }
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Milliseconds since the Unix epoch of `time`; 0 before the epoch, `u64::MAX` far after.
pub(crate) fn to_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The time `ms` milliseconds after the Unix epoch (saturating).
pub(crate) fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_millis(ms))
        .unwrap_or(UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new();
        let t0 = c.now();
        assert_eq!(to_ms(t0), 1_000_000_000_000);
        c.advance(Duration::from_millis(1500));
        assert_eq!(to_ms(c.now()), 1_000_000_001_500);
        c.set(UNIX_EPOCH);
        assert_eq!(to_ms(c.now()), 0);
        assert_eq!(from_ms(1500), UNIX_EPOCH + Duration::from_millis(1500));
        assert_eq!(to_ms(from_ms(123_456)), 123_456);
    }
}
