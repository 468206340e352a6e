//! Writing through a [`RawStore`]: value bytes in, atomically, one by one or in batches,
//! and the read-modify-writes.

use std::sync::Arc;
use std::time::Duration;

use super::{Ram, RawStore};
use crate::engine::batch::BatchItem;
use crate::engine::cache::CachedValue;
use crate::engine::write::{Expiry, NewEntry, Step};
use crate::error::Result;
use crate::fs::read::Need;

/// The current value of a read-modify-write, as bytes, with its header times.
struct Current<'a> {
    value: &'a [u8],
    created_ms: u64,
    expires_ms: u64,
}

impl Current<'_> {
    /// The creation time and expiry a rewrite keeps: the creation time, and the expiry
    /// unless a new TTL is given.
    fn kept(&self, ttl: Option<Duration>) -> (Option<u64>, Expiry) {
        let expiry = match ttl {
            Some(ttl) => Expiry::After(ttl),
            None => Expiry::At(self.expires_ms),
        };
        (Some(self.created_ms), expiry)
    }
}

impl RawStore {
    /// Writes `value` (codec bytes) under `key` (key bytes), replacing any old value
    /// atomically, exactly as [`Store::set`](crate::Store::set) does: a reader or a crash
    /// sees the old value or the new one, and no temp file is left behind on error.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](crate::ErrorKind::ReadOnly); [`InvalidInput`](crate::ErrorKind::InvalidInput) when
    /// [`check_key`](RawStore::check_key) or [`check_value`](RawStore::check_value) fails
    /// or a length limit is passed; [`Io`](crate::ErrorKind::Io).
    pub fn set(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.write(key, value, Expiry::Default)
    }

    /// Writes `value` under `key` as [`set`](RawStore::set) does, expiring `ttl` from now
    /// (see [`Store::set_with_ttl`](crate::Store::set_with_ttl)).
    ///
    /// # Errors
    ///
    /// As [`set`](RawStore::set).
    pub fn set_with_ttl(&self, key: &[u8], value: &[u8], ttl: Duration) -> Result<()> {
        self.write(key, value, Expiry::After(ttl))
    }

    /// Writes `value` under `key` with the header times given (milliseconds since the
    /// Unix epoch; `expires_ms` `None` for never): what `dirkv import` uses to restore an
    /// export's entries as they were.
    ///
    /// # Errors
    ///
    /// As [`set`](RawStore::set).
    pub fn set_with_times(
        &self,
        key: &[u8],
        value: &[u8],
        created_ms: u64,
        expires_ms: Option<u64>,
    ) -> Result<()> {
        self.check_key(key)?;
        self.check_value(value)?;
        self.go_around_typed_ram(key)?;
        let hash = self.engine.key_hash(key);
        let bytes = self.encode(
            key,
            &hash,
            value,
            Some(created_ms),
            Expiry::At(expires_ms.unwrap_or(0)),
        )?;
        self.engine.put(key, &hash, self.new_entry(bytes, value))
    }

    /// A new entry of `value`, with the value bytes RAM keeps of it when it keeps any.
    fn new_entry(&self, bytes: Vec<u8>, value: &[u8]) -> NewEntry {
        let cached = match self.ram() {
            Ram::Bytes(_) => Some(Arc::new(value.to_vec()) as CachedValue),
            Ram::None | Ram::Typed => None,
        };
        NewEntry { bytes, cached }
    }

    fn encode(
        &self,
        key: &[u8],
        hash: &[u8; 32],
        value: &[u8],
        created: Option<u64>,
        expiry: Expiry,
    ) -> Result<Vec<u8>> {
        self.engine.encode_entry(key, hash, created, expiry, |out| {
            out.extend_from_slice(value);
            Ok(())
        })
    }

    fn write(&self, key: &[u8], value: &[u8], expiry: Expiry) -> Result<()> {
        self.check_key(key)?;
        self.check_value(value)?;
        self.go_around_typed_ram(key)?;
        let hash = self.engine.key_hash(key);
        let created = self.engine.old_created(key, &hash);
        let bytes = self.encode(key, &hash, value, created, expiry)?;
        self.engine.put(key, &hash, self.new_entry(bytes, value))
    }

    /// Writes several entries, each atomic on its own, committing them in chunks of 1,024
    /// under one lock per chunk; in durable mode each touched shard folder is synced once
    /// for the whole call. When a key appears twice, the later value wins.
    ///
    /// # Errors
    ///
    /// As [`set`](RawStore::set). Entries of earlier chunks may have been written when an
    /// error is returned; entries of the failing chunk were not.
    pub fn set_many<'a, I>(&self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
    {
        let e = &self.engine;
        e.put_many(items.into_iter().map(|(key, value)| {
            self.check_key(key)?;
            self.check_value(value)?;
            self.go_around_typed_ram(key)?;
            let hash = e.key_hash(key);
            let created = e.old_created(key, &hash);
            let bytes = self.encode(key, &hash, value, created, Expiry::Default)?;
            Ok(self.batch_item(key, hash, bytes, value))
        }))
    }

    /// Writes several entries as [`set_many`](RawStore::set_many) does, each with the
    /// header times given, as [`set_with_times`](RawStore::set_with_times) does: items are
    /// `(key, value, created_ms, expires_ms)`. What `dirkv import` uses to restore an
    /// export's entries in batches.
    ///
    /// # Errors
    ///
    /// As [`set_many`](RawStore::set_many).
    pub fn set_many_with_times<'a, I>(&self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = (&'a [u8], &'a [u8], u64, Option<u64>)>,
    {
        let e = &self.engine;
        e.put_many(items.into_iter().map(|(key, value, created, expires)| {
            self.check_key(key)?;
            self.check_value(value)?;
            self.go_around_typed_ram(key)?;
            let hash = e.key_hash(key);
            let expiry = Expiry::At(expires.unwrap_or(0));
            let bytes = self.encode(key, &hash, value, Some(created), expiry)?;
            Ok(self.batch_item(key, hash, bytes, value))
        }))
    }

    /// One item of a batch: the entry, and what the cache or write-back RAM keeps of it.
    fn batch_item(&self, key: &[u8], hash: [u8; 32], bytes: Vec<u8>, value: &[u8]) -> BatchItem {
        let new = self.new_entry(bytes, value);
        let keeps = self.engine.cache().is_some() || matches!(self.ram(), Ram::Bytes(_));
        let note = keeps.then(|| (key.to_vec(), new.cached));
        (hash, new.bytes, note)
    }

    /// Atomically replaces the value of `key` with `f(old value)` (see
    /// [`Store::update`](crate::Store::update)); `f` returning `None` removes the key. The
    /// entry keeps its creation time and its expiry. Returns what `f` returned.
    ///
    /// # Errors
    ///
    /// As [`get`](RawStore::get) for the old value and [`set`](RawStore::set) for the new.
    pub fn update<F>(&self, key: &[u8], mut f: F) -> Result<Option<Vec<u8>>>
    where
        F: FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
    {
        infallible(self.update_expiring(key, None, |old| Ok(f(old))))
    }

    /// As [`update`](RawStore::update), giving the new value a new TTL from now.
    ///
    /// # Errors
    ///
    /// As [`update`](RawStore::update).
    pub fn update_with_ttl<F>(&self, key: &[u8], ttl: Duration, mut f: F) -> Result<Option<Vec<u8>>>
    where
        F: FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
    {
        infallible(self.update_expiring(key, Some(ttl), |old| Ok(f(old))))
    }

    /// As [`update`](RawStore::update), but `f` may decline: when it returns `Err(e)`,
    /// nothing is written (the entry, its times and the cache stay as they were) and
    /// `try_update` returns `Ok(Err(e))`. `ttl` of `None` keeps the entry's expiry, as
    /// `update` does; `Some(ttl)` gives the new value a new TTL from now, as
    /// [`update_with_ttl`](RawStore::update_with_ttl). For callers whose function can fail
    /// (a binding calling back into another language) or decides by a comparison of its
    /// own whether to write at all.
    ///
    /// ```
    /// use dirkv::{Exists, RawStore};
    /// # let dir = tempfile::tempdir()?;
    /// let raw = RawStore::options().open_raw(dir.path().join("s"), Exists::OpenOrCreate, "utf8", "raw")?;
    /// raw.set(b"k", b"old")?;
    /// let declined = raw.try_update(b"k", None, |_| Err("no"))?;
    /// assert_eq!((declined, raw.get_value(b"k")?), (Err("no"), Some(b"old".to_vec())));
    /// # Ok::<(), dirkv::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`update`](RawStore::update).
    pub fn try_update<F, E>(
        &self,
        key: &[u8],
        ttl: Option<Duration>,
        f: F,
    ) -> Result<std::result::Result<Option<Vec<u8>>, E>>
    where
        F: FnMut(Option<&[u8]>) -> std::result::Result<Option<Vec<u8>>, E>,
    {
        self.update_expiring(key, ttl, f)
    }

    fn update_expiring<F, E>(
        &self,
        key: &[u8],
        ttl: Option<Duration>,
        mut f: F,
    ) -> Result<std::result::Result<Option<Vec<u8>>, E>>
    where
        F: FnMut(Option<&[u8]>) -> std::result::Result<Option<Vec<u8>>, E>,
    {
        self.check_key(key)?;
        self.modify_bytes(key, |current| {
            let new = match f(current.as_ref().map(|c| c.value)) {
                Ok(new) => new,
                Err(declined) => return Ok(Step::Keep(Err(declined))),
            };
            let Some(value) = new else {
                return Ok(Step::Remove(Ok(None)));
            };
            self.check_value(&value)?;
            let (created, expiry) = current
                .as_ref()
                .map_or((None, Expiry::Default), |c| c.kept(ttl));
            let bytes = self.encode(key, &self.engine.key_hash(key), &value, created, expiry)?;
            let new = self.new_entry(bytes, &value);
            Ok(Step::Put(new, Ok(Some(value))))
        })
    }

    /// A read-modify-write of `key`'s value bytes: `decide` sees the current value (from
    /// write-back RAM, or from the file under the lock) and says what to do.
    fn modify_bytes<R>(
        &self,
        key: &[u8],
        mut decide: impl FnMut(Option<Current<'_>>) -> Result<Step<R>>,
    ) -> Result<R> {
        self.go_around_typed_ram(key)?;
        let hash = self.engine.key_hash(key);
        match self.ram() {
            Ram::Bytes(wb) => self.engine.wb_modify(
                wb,
                key,
                &hash,
                |found| Ok(Arc::new(found.value.to_vec())),
                |current| {
                    let bytes = current
                        .as_ref()
                        .and_then(|c| c.value.downcast_ref::<Vec<u8>>());
                    decide(current.as_ref().zip(bytes).map(|(c, v)| Current {
                        value: v,
                        created_ms: c.created_ms,
                        expires_ms: c.expires_ms,
                    }))
                },
            ),
            Ram::None | Ram::Typed => self.engine.modify(key, &hash, Need::Whole, None, |found| {
                decide(found.map(|f| Current {
                    value: f.value,
                    created_ms: f.header.meta.created_ms,
                    expires_ms: f.header.meta.expires_ms,
                }))
            }),
        }
    }

    /// Writes `value` only if `key` has no (live) value; atomic across threads and
    /// processes. Returns whether it was written.
    ///
    /// # Errors
    ///
    /// As [`set`](RawStore::set); `Corrupt` when the existing entry is damaged.
    pub fn set_if_absent(&self, key: &[u8], value: &[u8]) -> Result<bool> {
        self.check_key(key)?;
        self.check_value(value)?;
        let hash = self.engine.key_hash(key);
        let bytes = self.encode(key, &hash, value, None, Expiry::Default)?;
        let new = self.new_entry(bytes, value);
        if let Ram::Bytes(_) = self.ram() {
            let mut new = Some(new);
            return self.modify_bytes(key, |current| {
                Ok(match (current, new.take()) {
                    (None, Some(new)) => Step::Put(new, true),
                    _ => Step::Keep(false),
                })
            });
        }
        self.go_around_typed_ram(key)?;
        // Staged before the lock is taken, so its fsync happens outside it.
        let prepared = self.engine.prepare(&hash, new)?;
        self.engine
            .modify(key, &hash, Need::Key, Some(prepared), |current| {
                Ok(match current {
                    Some(_) => Step::Keep(false),
                    None => Step::Prepared(true),
                })
            })
    }

    /// Replaces the value of `key` with `new` only if its value bytes are now `current`
    /// (`None` meaning absent; `new` of `None` removes the key); atomic across threads and
    /// processes. The entry keeps its expiry. Returns whether the swap happened.
    ///
    /// # Errors
    ///
    /// As [`get`](RawStore::get) and [`set`](RawStore::set).
    pub fn compare_and_swap(
        &self,
        key: &[u8],
        current: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool> {
        self.check_key(key)?;
        if let Some(v) = new {
            self.check_value(v)?;
        }
        let hash = self.engine.key_hash(key);
        let preserve = self.engine.config().preserve_created;
        self.modify_bytes(key, |now| {
            if now.as_ref().map(|c| c.value) != current {
                return Ok(Step::Keep(false));
            }
            let Some(value) = new else {
                return Ok(Step::Remove(true));
            };
            let (created, expiry) = now
                .as_ref()
                .map_or((None, Expiry::Default), |c| c.kept(None));
            let bytes = self.encode(key, &hash, value, created.filter(|_| preserve), expiry)?;
            Ok(Step::Put(self.new_entry(bytes, value), true))
        })
    }

    /// Removes the entry of `key`. Returns whether it had a value (a damaged entry is
    /// removed too and counts as a value; an expired one does not).
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](crate::ErrorKind::ReadOnly), [`Io`](crate::ErrorKind::Io).
    pub fn remove(&self, key: &[u8]) -> Result<bool> {
        Ok(self.engine.remove_keys([key])? == 1)
    }

    /// Removes several keys under one lock; returns how many had a value. On object
    /// storage (no lock) 32 keys are removed at a time, each a GET and a DELETE.
    ///
    /// # Errors
    ///
    /// As [`remove`](RawStore::remove).
    pub fn remove_many<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> Result<usize> {
        self.engine.remove_keys(keys)
    }

    /// Removes every expired entry; returns how many (see
    /// [`Store::purge_expired`](crate::Store::purge_expired)).
    ///
    /// # Errors
    ///
    /// As [`Store::purge_expired`](crate::Store::purge_expired).
    pub fn purge_expired(&self) -> Result<usize> {
        self.engine.purge_expired()
    }

    /// Removes the oldest-written entries until at most `max_entries` entries taking at
    /// most `max_bytes` bytes on disk are left (see
    /// [`Store::evict_to`](crate::Store::evict_to)).
    ///
    /// # Errors
    ///
    /// As [`Store::evict_to`](crate::Store::evict_to).
    pub fn evict_to(&self, max_entries: usize, max_bytes: u64) -> Result<crate::Eviction> {
        self.engine.evict_to(max_entries, max_bytes)
    }

    /// Removes every entry (see [`Store::clear`](crate::Store::clear)).
    ///
    /// # Errors
    ///
    /// As [`Store::clear`](crate::Store::clear).
    pub fn clear(&self) -> Result<()> {
        self.engine.clear()
    }
}

/// The value of an update whose function cannot decline.
fn infallible<T>(r: Result<std::result::Result<T, std::convert::Infallible>>) -> Result<T> {
    r.map(|inner| match inner {
        Ok(v) => v,
        Err(never) => match never {},
    })
}
