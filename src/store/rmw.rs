//! The typed read-modify-writes and the whole-store operations of [`Store`].

use std::borrow::Borrow;
use std::time::Duration;

use super::codec::Codec;
use super::key::{Key, OwnedKey};
use super::{Store, decode_value};
use crate::engine::expiry::Eviction;
use crate::engine::write::{Expiry, Step};
use crate::error::Result;
use crate::fs::read::Need;
use crate::raw::kept_times;

impl<K: OwnedKey, V, C: Codec<V>> Store<K, V, C> {
    /// Atomically replaces the value of `key` with `f(old value)`, across threads and
    /// processes: the store lock is held from the read to the rename, so no other write
    /// can come between. `f` returning `None` removes the key. Returns what `f` returned.
    ///
    /// The entry keeps its creation time and its expiry: a value written with a TTL still
    /// expires when it would have (as Redis `INCR` keeps a key's TTL); use
    /// [`update_with_ttl`](Store::update_with_ttl) to set a new one in the same step. An
    /// absent key gets the [default TTL](crate::Options::default_ttl), if any.
    ///
    /// On a store without a lock (object storage) the write is conditional on the version
    /// read, and `f` runs again on a conflict: keep it free of side effects.
    ///
    /// `f` runs while the store lock is held: keep it short, and do not write to the same
    /// store from inside it (that would wait for the lock forever, or until the
    /// [`lock_timeout`](crate::Options::lock_timeout)).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let counters: dirkv::Store<String, u64> = dirkv::Store::open(dir.path().join("c"), dirkv::Exists::OpenOrCreate)?;
    /// counters.update("hits", |n| Some(n.unwrap_or(0) + 1))?;
    /// assert_eq!(counters.get("hits")?, Some(1));
    /// # Ok::<(), dirkv::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`get`](Store::get) for the old value (then `f` is not called) and as
    /// [`set`](Store::set) for the new one; [`Locked`](crate::ErrorKind::Locked) on lock timeout.
    pub fn update<Q, F>(&self, key: &Q, f: F) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Key + ?Sized,
        F: FnMut(Option<V>) -> Option<V>,
    {
        self.update_expiring(&key.key_bytes(), None, f)
    }

    /// As [`update`](Store::update), and the new value expires `ttl` from now (by the
    /// store's clock), in the same atomic step.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// use std::time::Duration;
    /// let limits: dirkv::Store<String, u32> =
    ///     dirkv::Store::open(dir.path().join("l"), dirkv::Exists::OpenOrCreate)?;
    /// limits.update_with_ttl("client-7", Duration::from_secs(60), |n| Some(n.unwrap_or(0) + 1))?;
    /// assert!(limits.metadata("client-7")?.and_then(|m| m.expires).is_some());
    /// # Ok::<(), dirkv::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`update`](Store::update).
    pub fn update_with_ttl<Q, F>(&self, key: &Q, ttl: Duration, f: F) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Key + ?Sized,
        F: FnMut(Option<V>) -> Option<V>,
    {
        self.update_expiring(&key.key_bytes(), Some(ttl), f)
    }

    fn update_expiring<F>(&self, key: &[u8], ttl: Option<Duration>, mut f: F) -> Result<Option<V>>
    where
        F: FnMut(Option<V>) -> Option<V>,
    {
        let e = self.engine();
        let codec = &self.shared.codec;
        let hash = e.key_hash(key);
        if let (Some(wb), Some(fns)) = (e.write_back(), self.values) {
            return e.wb_modify(
                wb,
                key,
                &hash,
                |found| Ok((fns.wrap)(decode_value(codec, found)?)),
                |current| {
                    let old = current.as_ref().and_then(|c| (fns.unwrap)(c.value));
                    let Some(new) = f(old) else {
                        return Ok(Step::Remove(None));
                    };
                    let (created, expiry) = match (&current, ttl) {
                        (_, Some(ttl)) => {
                            (current.as_ref().map(|c| c.created_ms), Expiry::After(ttl))
                        }
                        (Some(c), None) => (Some(c.created_ms), Expiry::At(c.expires_ms)),
                        (None, None) => (None, Expiry::Default),
                    };
                    let entry = self.new_entry(key, &hash, &new, created, expiry)?;
                    Ok(Step::Put(entry, Some(new)))
                },
            );
        }
        e.modify(key, &hash, Need::Whole, None, |found| {
            let old = found.map(|f| decode_value(codec, f)).transpose()?;
            let Some(new) = f(old) else {
                return Ok(Step::Remove(None));
            };
            let (created, expiry) = kept_times(found.map(|f| &f.header), ttl);
            let entry = self.new_entry(key, &hash, &new, created, expiry)?;
            Ok(Step::Put(entry, Some(new)))
        })
    }

    /// Writes `value` only if `key` has no value; atomic across threads and processes.
    /// Returns whether it was written.
    ///
    /// # Errors
    ///
    /// As [`set`](Store::set); [`Corrupt`](crate::ErrorKind::Corrupt) when the existing entry is
    /// damaged (nothing is written).
    pub fn set_if_absent<Q>(&self, key: &Q, value: &V) -> Result<bool>
    where
        K: Borrow<Q>,
        Q: Key + ?Sized,
    {
        let e = self.engine();
        e.check_writable()?;
        let key = key.key_bytes();
        let hash = e.key_hash(&key);
        let new = self.new_entry(&key, &hash, value, None, Expiry::Default)?;
        if let (Some(wb), Some(fns)) = (e.write_back(), self.values) {
            let codec = &self.shared.codec;
            return e.wb_modify(
                wb,
                &key,
                &hash,
                |found| Ok((fns.wrap)(decode_value(codec, found)?)),
                |current| {
                    Ok(match current {
                        Some(_) => Step::Keep(false),
                        None => Step::Put(new, true),
                    })
                },
            );
        }
        let prepared = e.prepare(&hash, new)?;
        e.modify(&key, &hash, Need::Key, Some(prepared), |current| {
            Ok(match current {
                Some(_) => Step::Keep(false),
                None => Step::Prepared(true),
            })
        })
    }

    /// Replaces the value of `key` with `new` only if it currently equals `current`
    /// (`None` meaning absent; `new` of `None` removes the key). Atomic across threads and
    /// processes. Returns whether the swap happened. The entry keeps its expiry (see
    /// [`update`](Store::update)).
    ///
    /// # Errors
    ///
    /// As [`get`](Store::get) for the current value and [`set`](Store::set) for the new one.
    pub fn compare_and_swap<Q>(&self, key: &Q, current: Option<&V>, new: Option<&V>) -> Result<bool>
    where
        K: Borrow<Q>,
        Q: Key + ?Sized,
        V: PartialEq,
    {
        let e = self.engine();
        let codec = &self.shared.codec;
        let key = key.key_bytes();
        let hash = e.key_hash(&key);
        let preserve = e.config().preserve_created;
        if let (Some(wb), Some(fns)) = (e.write_back(), self.values) {
            return e.wb_modify(
                wb,
                &key,
                &hash,
                |found| Ok((fns.wrap)(decode_value(codec, found)?)),
                |now| {
                    let value_now = now.as_ref().and_then(|c| (fns.unwrap)(c.value));
                    if value_now.as_ref() != current {
                        return Ok(Step::Keep(false));
                    }
                    let Some(value) = new else {
                        return Ok(Step::Remove(true));
                    };
                    let (created, expiry) = match &now {
                        Some(c) => (
                            Some(c.created_ms).filter(|_| preserve),
                            Expiry::At(c.expires_ms),
                        ),
                        None => (None, Expiry::Default),
                    };
                    let entry = self.new_entry(&key, &hash, value, created, expiry)?;
                    Ok(Step::Put(entry, true))
                },
            );
        }
        e.modify(&key, &hash, Need::Whole, None, |found| {
            let now = found.map(|f| decode_value(codec, f)).transpose()?;
            if now.as_ref() != current {
                return Ok(Step::Keep(false));
            }
            let Some(value) = new else {
                return Ok(Step::Remove(true));
            };
            let (created, expiry) = kept_times(found.map(|f| &f.header), None);
            let entry = self.new_entry(&key, &hash, value, created.filter(|_| preserve), expiry)?;
            Ok(Step::Put(entry, true))
        })
    }

    /// Removes every expired entry and returns how many. Each candidate is re-checked under
    /// the store lock (one taking per shard), so a fresh value written meanwhile is never
    /// removed. Opens every entry file's header: a walk of the whole store. Damaged
    /// entries are left alone (`get` and `iter` report them).
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](crate::ErrorKind::ReadOnly); [`Locked`](crate::ErrorKind::Locked) on lock timeout;
    /// [`Io`](crate::ErrorKind::Io) when a folder cannot be listed or an entry removed.
    pub fn purge_expired(&self) -> Result<usize> {
        self.raw().purge_expired()
    }

    /// Removes entries until at most `max_entries` are left and they take at most
    /// `max_bytes` bytes on disk (pass `usize::MAX` / `u64::MAX` for no bound). Victims
    /// are the least recently used entries when the store
    /// [tracks access](crate::Options::track_access), otherwise the least recently written.
    ///
    /// Sizes are disk usage as `du` counts it (allocated blocks, so at least 4 KiB per
    /// entry on ext4), not value lengths. The walk only `stat`s entry files and keeps at
    /// most 32,768 candidates in memory, walking again if more must go. An entry written
    /// or read between the walk and its removal is skipped. Writers in other threads and
    /// processes may add entries meanwhile, so the bound holds as of the walk.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let cache: dirkv::Store<u32, Vec<u8>> =
    ///     dirkv::Store::open(dir.path().join("c"), dirkv::Exists::OpenOrCreate)?;
    /// for i in 0..10 { cache.set(&i, &vec![0; 100])?; }
    /// let e = cache.evict_to(4, u64::MAX)?;
    /// assert_eq!((e.removed, e.entries, cache.len()?), (6, 4, 4));
    /// # Ok::<(), dirkv::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](crate::ErrorKind::ReadOnly); [`Locked`](crate::ErrorKind::Locked) on lock timeout;
    /// [`Io`](crate::ErrorKind::Io) when a folder cannot be listed or an entry examined or
    /// removed. Entries removed before an error stay removed.
    pub fn evict_to(&self, max_entries: usize, max_bytes: u64) -> Result<Eviction> {
        self.raw().evict_to(max_entries, max_bytes)
    }

    /// Removes every entry (foreign files in the store are left alone). Shard by shard,
    /// each under the lock: concurrent writers may add entries meanwhile.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](crate::ErrorKind::ReadOnly), [`Io`](crate::ErrorKind::Io).
    pub fn clear(&self) -> Result<()> {
        self.raw().clear()
    }

    /// Makes every write made through this store (and its clones) durable: the fsyncs that
    /// [`Durability::Fast`](crate::Durability::Fast) skipped. A no-op in durable mode.
    ///
    /// # Errors
    ///
    /// An fsync failed; the writes may not be durable.
    pub fn sync(&self) -> Result<()> {
        self.raw().sync()
    }

    /// Removes temp files left by writers that crashed, scanning every shard folder.
    /// Opening a store already does this when it finds a crashed writer's marker; this is
    /// for the rest (temp files whose writer is unknown and older than
    /// [`stale_temp_age`](crate::Options::stale_temp_age)). Returns how many were removed.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](crate::ErrorKind::ReadOnly); a folder cannot be listed.
    pub fn sweep_temps(&self) -> Result<usize> {
        self.raw().sweep_temps()
    }

    /// Deletes the whole store: its folder and everything in it. The folder is first
    /// renamed aside (to `.<name>.dirkv-destroy-<id>` beside it), so the store vanishes at
    /// once even if the deletion is interrupted; a link at the store path is removed too.
    /// Everything is reached through the handle this store opened: when the path no longer
    /// leads to that store (it was moved, or replaced by a link), nothing is deleted and
    /// the call fails with [`NotFound`](crate::ErrorKind::NotFound). Every other handle of
    /// the store fails from then on; it never writes into whatever is at the path later.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](crate::ErrorKind::ReadOnly), [`Io`](crate::ErrorKind::Io).
    pub fn destroy(self) -> Result<()> {
        self.engine().destroy()
    }
}
