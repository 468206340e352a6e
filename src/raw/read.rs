//! Reading through a [`RawStore`]: entries, value bytes, metadata, listings.

use std::sync::Arc;

use super::{EntryMeta, Ram, RawEntries, RawEntry, RawStore};
use crate::engine::Engine;
use crate::engine::cache::CachedValue;
use crate::engine::read::{Found, copy_bytes};
use crate::engine::write_back::Known;
use crate::error::{Error, Result};
use crate::fs::read::Need;

impl RawStore {
    /// The entry of `key`, value included; `None` when there is none or it has expired.
    /// Takes no lock and changes nothing (an expired entry stays until a `get_value`, a
    /// [`purge_expired`](RawStore::purge_expired) or a write removes it; no access time is
    /// recorded, no cache consulted): what a tool wants to look with.
    ///
    /// # Errors
    ///
    /// [`Corrupt`](crate::ErrorKind::Corrupt) naming the file when it is damaged or holds another
    /// key; [`IncompatibleFormat`](crate::ErrorKind::IncompatibleFormat) for an entry this build
    /// cannot read (a newer format, or a compressed value in a build without the
    /// `compression` feature); [`Io`](crate::ErrorKind::Io).
    pub fn get(&self, key: &[u8]) -> Result<Option<RawEntry>> {
        if self.engine.write_back().is_some() {
            // The entry as its file holds it: write-back RAM is written first.
            self.engine.flush_write_back()?;
        }
        let hash = self.engine.key_hash(key);
        self.engine.read(key, &hash, Need::Whole, |found| {
            RawEntry::from_found(&found, Need::Whole)
        })
    }

    /// The value bytes of `key`; `None` when there is none or it has expired. This is
    /// [`Store::get`](crate::Store::get) for bytes: it answers from the
    /// [cache](crate::Options::cache) when the store has one, records the access time when
    /// the store [tracks access](crate::Options::track_access), and removes an expired
    /// entry it finds (when the lock is free).
    ///
    /// # Errors
    ///
    /// As [`get`](RawStore::get).
    pub fn get_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let bytes = |found: &Found<'_>| -> Result<CachedValue> { Ok(Arc::new(found.value_vec()?)) };
        // A value held in RAM is copied out, fallibly.
        let out = |cached: &CachedValue| match cached.downcast_ref::<Vec<u8>>() {
            Some(v) => copy_bytes(v)
                .map_err(|e| Error::io("not enough memory for the value", &self.path_of(key), e)),
            None => Ok(Vec::new()),
        };
        let direct = |engine: &Engine| {
            let hash = engine.key_hash(key);
            engine.lookup(key, &hash, Need::Whole, false, |found| found.value_vec())
        };
        match self.ram() {
            Ram::Bytes(wb) => {
                return match self.engine.wb_lookup(wb, key, bytes)? {
                    Known::Value { value, .. } => out(&value).map(Some),
                    Known::Absent => Ok(None),
                };
            }
            Ram::Typed => {
                self.go_around_typed_ram(key)?;
                return direct(&self.engine);
            }
            Ram::None => {}
        }
        if self.engine.cache().is_none() {
            // No cache: the value read is the one returned, copied once.
            return direct(&self.engine);
        }
        self.engine.read_cached(key, bytes, out)?.transpose()
    }

    /// The value bytes of several keys, in order (see [`get_value`](RawStore::get_value)).
    ///
    /// # Errors
    ///
    /// The first error a get meets.
    pub fn get_many<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k [u8]>,
    ) -> Result<Vec<Option<Vec<u8>>>> {
        let keys: Vec<&[u8]> = keys.into_iter().collect();
        self.engine.read_ahead(&keys, |key| self.get_value(key))
    }

    /// Whether `key` has a (live) value; reads the header and key only.
    ///
    /// # Errors
    ///
    /// As [`get`](RawStore::get).
    pub fn contains_key(&self, key: &[u8]) -> Result<bool> {
        if let Some(wb) = self.engine.write_back()
            && let Some(known) = wb.get(key, || self.engine.now_ms())
        {
            return Ok(matches!(known, Known::Value { .. }));
        }
        if self.engine.cached(key) {
            return Ok(true);
        }
        let hash = self.engine.key_hash(key);
        Ok(self
            .engine
            .lookup(key, &hash, Need::Key, false, |_| Ok(()))?
            .is_some())
    }

    /// The metadata of `key`'s entry; `None` when there is none or it has expired.
    ///
    /// # Errors
    ///
    /// As [`contains_key`](RawStore::contains_key).
    pub fn metadata(&self, key: &[u8]) -> Result<Option<EntryMeta>> {
        if self.engine.write_back().is_some() {
            // The entry's header as its file holds it: write-back RAM is written first.
            self.engine.flush_write_back()?;
        }
        let hash = self.engine.key_hash(key);
        self.engine.lookup(key, &hash, Need::Key, false, |found| {
            Ok(EntryMeta::new(&found.header, found.file))
        })
    }

    /// The number of entries: a listing of the shard folders, no entry is opened (so an
    /// expired entry not yet removed is counted).
    ///
    /// # Errors
    ///
    /// A shard folder cannot be listed, or is missing.
    pub fn len(&self) -> Result<usize> {
        self.engine.before_walk()?;
        crate::engine::walk::count(self.engine.storage())
    }

    /// Whether the store has no entries (stops at the first one found).
    ///
    /// # Errors
    ///
    /// A shard folder cannot be listed.
    pub fn is_empty(&self) -> Result<bool> {
        self.engine.before_walk()?;
        match self.engine.entries().next() {
            None => Ok(true),
            Some(Ok(_)) => Ok(false),
            Some(Err(e)) => Err(e),
        }
    }

    /// The live entries with their values, streamed shard by shard in file-name order
    /// (memory stays flat). Expired entries are skipped. A damaged entry yields an `Err`
    /// naming its path and the walk goes on. Takes no lock.
    pub fn entries(&self) -> RawEntries {
        RawEntries::new(Arc::clone(&self.engine), Need::Whole)
    }

    /// As [`entries`](RawStore::entries), reading only each file's header and key (the
    /// `value` fields are `None`); cheaper for large values.
    pub fn keys(&self) -> RawEntries {
        RawEntries::new(Arc::clone(&self.engine), Need::Key)
    }
}
