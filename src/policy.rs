//! The untyped per-entry settings a store is opened with: clock, access times, expiry,
//! eviction, compression and encryption. Set through [`Options`](crate::Options), kept by
//! the engine.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::clock::{self, Clock};

/// Bounds for automatic eviction ([`Options::auto_evict`](crate::Options::auto_evict)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AutoEvict {
    pub max_entries: usize,
    pub max_bytes: u64,
    pub every_n_writes: u64,
}

/// Per-entry settings (see the module docs).
#[derive(Clone, Debug, Default)]
pub(crate) struct Policy {
    /// `None`: the system clock.
    pub clock: Option<Arc<dyn Clock>>,
    pub track_access: bool,
    pub default_ttl: Option<Duration>,
    pub preserve_created: bool,
    pub auto_evict: Option<AutoEvict>,
    /// Compress values at least this long (feature `compression`).
    pub compress_min: Option<usize>,
    /// The key or passphrase (feature `encryption`); taken out when the store is opened.
    #[cfg(feature = "encryption")]
    pub encryption: Option<crate::crypto::EncryptionKey>,
}

impl Policy {
    /// The current time by the store's clock.
    pub fn now(&self) -> SystemTime {
        match &self.clock {
            Some(c) => c.now(),
            None => SystemTime::now(),
        }
    }

    /// The current time by the store's clock, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        clock::to_ms(self.now())
    }

    /// The expiry field for an entry written at `now_ms` with `ttl` (or the default TTL):
    /// 0 for never, otherwise at least 1.
    pub fn expires_ms(&self, now_ms: u64, ttl: Option<Duration>) -> u64 {
        match ttl.or(self.default_ttl) {
            None => 0,
            Some(ttl) => {
                let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
                now_ms.saturating_add(ttl).max(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_field() {
        let mut p = Policy::default();
        assert_eq!(p.expires_ms(1000, None), 0);
        assert_eq!(p.expires_ms(1000, Some(Duration::from_millis(5))), 1005);
        assert_eq!(p.expires_ms(0, Some(Duration::ZERO)), 1);
        assert_eq!(p.expires_ms(5, Some(Duration::MAX)), u64::MAX);
        p.default_ttl = Some(Duration::from_secs(1));
        assert_eq!(p.expires_ms(1000, None), 2000);
        assert_eq!(p.expires_ms(1000, Some(Duration::from_secs(2))), 3000);
    }
}
