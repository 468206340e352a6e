//! The untyped settings a store is opened with (what [`Options`](crate::Options) wraps),
//! and the open modes and durability levels.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::cache::{CacheMode, CacheSettings};
use super::write_back::WriteBackSettings;
use crate::clock::{self, Clock};
use crate::error::{Error, ErrorKind, Result};
use crate::seal::EncryptionKey;

/// What [`Store::open`](crate::Store::open) does with what is already at the path.
///
/// | at the path | `Error` | `Replace` | `Update` | `OpenOrCreate` |
/// | --- | --- | --- | --- | --- |
/// | nothing | create | create | `NotFound` | create |
/// | an empty folder | create | create | `NotAStore` | create |
/// | a dirkv store | `AlreadyExists` | empty it | open | open |
/// | anything else | `NotAStore` | `NotAStore` | `NotAStore` | `NotAStore` |
///
/// "Anything else" (a file, a dangling link, a folder with other files) is never adopted
/// and never deleted. Creating makes only the store's own folder: its parent must exist
/// (else `NotFound` naming the parent), so a typo in a mount path fails instead of making a
/// store somewhere unexpected.
///
/// On object storage (feature `object-store`, `Options::open_url`) the same table holds
/// for a prefix: no object under it is "nothing", a manifest is a store, and objects
/// without a manifest are "anything else".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exists {
    /// Create a new store; fail if the path is anything but missing or an empty folder.
    Error,
    /// Start empty: a store at the path is emptied (its entries and crashed writers' temp
    /// files are removed; foreign files are left alone), a missing path or empty folder
    /// becomes a new store. Anything else is refused and left untouched.
    ///
    /// Against other processes' writes, `Replace` promises only this: entries written
    /// before it began are gone when it returns. Writes that race with it may survive or
    /// not, and two `Replace` opens racing each other may remove what the other's caller
    /// wrote after its own `Replace` returned. To start afresh while other writers run,
    /// let one process open with `Replace` and the others with [`Exists::Update`], use
    /// [`Store::clear`](crate::Store::clear) from one process, or use a new store path
    /// (see the [guide](crate::guide::opening)).
    Replace,
    /// The path must already be a dirkv store.
    Update,
    /// Open the store at the path, or create one at a missing path or empty folder.
    OpenOrCreate,
}

/// How hard a write works to survive a power cut. Both levels are atomic: a reader, a
/// crash or a `kill -9` sees the old value or the new one, never a mix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Durability {
    /// The default: when a write returns `Ok`, it survives a power cut (fdatasync of the
    /// file, rename, fsync of its folder). About 1 ms per write on a typical SSD; batches
    /// share the folder fsyncs.
    #[default]
    Durable,
    /// No fsync: atomic against crashes of the process, not against power loss or kernel
    /// crashes. About 20 times faster. Call [`Store::sync`](crate::Store::sync) to make the
    /// writes so far durable.
    ///
    /// On object storage both levels are the same: every write is one PUT, durable when it
    /// returns, and `sync` has nothing to do.
    Fast,
}

/// Bounds for automatic eviction ([`Options::auto_evict`](crate::Options::auto_evict)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AutoEvict {
    pub max_entries: usize,
    pub max_bytes: u64,
    pub every_n_writes: u64,
}

/// Default permission bits of new entry files (before the umask).
pub(crate) const DEFAULT_FILE_MODE: u32 = 0o666;
/// Default permission bits of an encrypted store's files: private to the owner.
pub(crate) const ENCRYPTED_FILE_MODE: u32 = 0o600;
/// Age after which a temp file whose writer is unknown counts as stale.
pub(crate) const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// Everything a store is opened with, untyped.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub durability: Durability,
    pub read_only: bool,
    pub lock_timeout: Option<Duration>,
    pub stale_temp_age: Duration,
    /// `None`: [`DEFAULT_FILE_MODE`], or [`ENCRYPTED_FILE_MODE`] for an encrypted store.
    pub file_mode: Option<u32>,
    /// `None`: the system clock.
    pub clock: Option<Arc<dyn Clock>>,
    pub track_access: bool,
    pub default_ttl: Option<Duration>,
    pub preserve_created: bool,
    pub auto_evict: Option<AutoEvict>,
    /// Compress values at least this long (feature `compression`).
    pub compress_min: Option<usize>,
    /// The key or passphrase (feature `encryption`); only the derived keys are kept once
    /// the store is open.
    pub encryption: Option<EncryptionKey>,
    pub cache: Option<CacheSettings>,
    pub cache_mode: CacheMode,
    pub sync_interval: Option<Duration>,
    pub write_back: Option<WriteBackSettings>,
    /// Opened by a typed [`Store`](crate::Store): values in memory (cache, write-back) are
    /// its decoded `V`s, not value bytes.
    pub typed: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            durability: Durability::Durable,
            read_only: false,
            lock_timeout: None,
            stale_temp_age: STALE_TEMP_AGE,
            file_mode: None,
            clock: None,
            track_access: false,
            default_ttl: None,
            preserve_created: false,
            auto_evict: None,
            compress_min: None,
            encryption: None,
            cache: None,
            cache_mode: CacheMode::Validated,
            sync_interval: None,
            write_back: None,
            typed: false,
        }
    }
}

impl Config {
    /// Checks the settings that `open` refuses.
    ///
    /// # Errors
    ///
    /// `InvalidInput` saying which.
    pub(crate) fn check(&self) -> Result<()> {
        if self.auto_evict.is_some_and(|a| a.every_n_writes == 0) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "auto_evict: every_n_writes must be at least 1",
            ));
        }
        if self.sync_interval == Some(Duration::ZERO) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "the sync interval must be longer than zero",
            ));
        }
        Ok(())
    }

    /// Whether writes are durable.
    pub(crate) fn durable(&self) -> bool {
        self.durability == Durability::Durable
    }

    /// The file mode for a store, encrypted or not.
    pub(crate) fn file_mode_for(&self, encrypted: bool) -> u32 {
        self.file_mode.unwrap_or(if encrypted {
            ENCRYPTED_FILE_MODE
        } else {
            DEFAULT_FILE_MODE
        })
    }

    /// The current time by the store's clock.
    pub(crate) fn now(&self) -> SystemTime {
        match &self.clock {
            Some(c) => c.now(),
            None => SystemTime::now(),
        }
    }

    /// The current time by the store's clock, in milliseconds since the Unix epoch.
    pub(crate) fn now_ms(&self) -> u64 {
        clock::to_ms(self.now())
    }

    /// The expiry field for an entry written at `now_ms` with `ttl` (or the default TTL):
    /// 0 for never, otherwise at least 1.
    pub(crate) fn expires_ms(&self, now_ms: u64, ttl: Option<Duration>) -> u64 {
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
        let mut p = Config::default();
        assert_eq!(p.expires_ms(1000, None), 0);
        assert_eq!(p.expires_ms(1000, Some(Duration::from_millis(5))), 1005);
        assert_eq!(p.expires_ms(0, Some(Duration::ZERO)), 1);
        assert_eq!(p.expires_ms(5, Some(Duration::MAX)), u64::MAX);
        p.default_ttl = Some(Duration::from_secs(1));
        assert_eq!(p.expires_ms(1000, None), 2000);
        assert_eq!(p.expires_ms(1000, Some(Duration::from_secs(2))), 3000);
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(Config::default().check().is_ok());
        let c = Config {
            sync_interval: Some(Duration::ZERO),
            ..Config::default()
        };
        assert_eq!(c.check().unwrap_err().kind(), ErrorKind::InvalidInput);
    }
}
