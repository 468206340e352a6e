//! The writing methods of [`Store`]: `set` and its variants, and how a value becomes an
//! entry (and what RAM keeps of it).

use std::borrow::Borrow;
use std::time::Duration;

use super::RawBytes;
use super::Store;
use super::codec::Codec;
use super::key::{Key, OwnedKey};
use crate::engine::cache::CachedValue;
use crate::engine::write::{Expiry, NewEntry};
use crate::error::Result;

impl<K: OwnedKey, V, C: Codec<V>> Store<K, V, C> {
    /// Builds the bytes of an entry file.
    pub(super) fn encode(
        &self,
        key: &[u8],
        hash: &[u8; 32],
        value: &V,
        created_ms: Option<u64>,
        expiry: Expiry,
    ) -> Result<Vec<u8>> {
        self.engine()
            .encode_entry(key, hash, created_ms, expiry, |out| {
                self.shared.codec.encode(value, out)
            })
    }

    /// The new entry for `value`, with what the cache keeps of it.
    pub(super) fn new_entry(
        &self,
        key: &[u8],
        hash: &[u8; 32],
        value: &V,
        created_ms: Option<u64>,
        expiry: Expiry,
    ) -> Result<NewEntry> {
        Ok(NewEntry {
            bytes: self.encode(key, hash, value, created_ms, expiry)?,
            cached: self.for_cache(value),
        })
    }

    /// What the cache should keep of a value this store just wrote: a clone in trusted
    /// mode, nothing otherwise.
    pub(super) fn for_cache(&self, value: &V) -> Option<CachedValue> {
        match &self.values {
            Some(fns) if self.keeps_written() => Some((fns.wrap_ref)(value)),
            _ => None,
        }
    }

    /// Whether RAM keeps the values this store writes (write-back, or a cache that takes
    /// own writes).
    pub(super) fn keeps_written(&self) -> bool {
        let e = self.engine();
        e.write_back().is_some() || e.cache().is_some_and(|c| c.caches_writes())
    }

    /// Writes `value` under `key`, replacing any old value atomically.
    ///
    /// With [`Durability::Durable`](crate::Durability::Durable) (the default) the value
    /// survives a power cut once this returns `Ok`.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](crate::ErrorKind::ReadOnly), [`Encode`](crate::ErrorKind::Encode), or
    /// [`Io`](crate::ErrorKind::Io) (disk full, file too large, permissions; see
    /// [`Error::io_error_kind`](crate::Error::io_error_kind)). On any error the old value is intact and no temp file is
    /// left behind.
    pub fn set<Q>(&self, key: &Q, value: &V) -> Result<()>
    where
        K: Borrow<Q>,
        Q: Key + ?Sized,
    {
        self.write_one(&key.key_bytes(), value, Expiry::Default)
    }

    /// Writes `value` under `key` as [`set`](Store::set) does, expiring `ttl` from now (by
    /// the store's [clock](crate::Options::clock)): from then on it reads as absent, and the
    /// next `get` or [`purge_expired`](Store::purge_expired) removes it. A `ttl` of zero
    /// writes an entry that has already expired; `Duration::MAX` one that never expires,
    /// whatever the [default TTL](crate::Options::default_ttl).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// use std::time::Duration;
    /// let sessions: dirkv::Store<String, String> =
    ///     dirkv::Store::open(dir.path().join("s"), dirkv::Exists::OpenOrCreate)?;
    /// sessions.set_with_ttl("abc", &"alice".to_string(), Duration::from_secs(3600))?;
    /// assert!(sessions.metadata("abc")?.and_then(|m| m.expires).is_some());
    /// # Ok::<(), dirkv::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`set`](Store::set).
    pub fn set_with_ttl<Q>(&self, key: &Q, value: &V, ttl: Duration) -> Result<()>
    where
        K: Borrow<Q>,
        Q: Key + ?Sized,
    {
        self.write_one(&key.key_bytes(), value, Expiry::After(ttl))
    }

    /// Writes `value`'s bytes under `key` as [`set`](Store::set) does, for a store whose
    /// codec is [`Raw`](crate::Raw): no value of type `V` is made first (a page in a
    /// simulator's memory is written straight from its slice).
    ///
    /// # Errors
    ///
    /// As [`set`](Store::set).
    pub fn set_bytes<Q>(&self, key: &Q, value: &[u8]) -> Result<()>
    where
        K: Borrow<Q>,
        Q: Key + ?Sized,
        C: RawBytes,
    {
        let key = key.key_bytes();
        let e = self.engine();
        e.check_writable()?;
        let hash = e.key_hash(&key);
        let created = e.old_created(&key, &hash);
        let bytes = e.encode_entry(&key, &hash, created, Expiry::Default, |out| {
            out.extend_from_slice(value);
            Ok(())
        })?;
        // RAM that keeps written values (write-back, a cache that takes own writes) gets
        // the value as a `get` would decode it: for `Raw`, a copy of the bytes. Bytes that
        // are no `V` (a `[u8; N]` of another length) are written all the same, as without
        // RAM, and left for `get` to report.
        let cached = match self.values {
            Some(fns) if self.keeps_written() => self.shared.codec.decode(value).ok().map(fns.wrap),
            _ => None,
        };
        e.put(&key, &hash, NewEntry { bytes, cached })
    }

    fn write_one(&self, key: &[u8], value: &V, expiry: Expiry) -> Result<()> {
        let e = self.engine();
        e.check_writable()?;
        let hash = e.key_hash(key);
        let created = e.old_created(key, &hash);
        let new = self.new_entry(key, &hash, value, created, expiry)?;
        e.put(key, &hash, new)
    }
}
