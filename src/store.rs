//! [`Store`]: the typed map API. Each method turns its key into bytes and calls the
//! non-generic [`Engine`].

use std::borrow::Borrow;
use std::fmt;
use std::fs;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::cache::{CacheStats, CachedValue, ValueFns};
use crate::codec::{Codec, MsgPack};
use crate::engine::{Change, Engine, Stored};
use crate::error::{Error, ErrorKind, Result};
use crate::expiry::{EntryMeta, Eviction};
use crate::iter::{self, EntryPaths, Iter, Keys, Values};
use crate::key::{Key, OwnedKey};
use crate::layout::{self, Manifest};
use crate::open::{self, Settings};
use crate::options::{Exists, Options};
use crate::read::Need;

/// What every handle of one open store shares.
pub(crate) struct Shared<C> {
    pub(crate) engine: Engine,
    pub(crate) codec: C,
}

/// A directory-backed map from `K` to `V`, one file per key, values encoded by codec `C`
/// (MessagePack by default).
///
/// Cheap to clone (the clones share one open store) and `Send + Sync`: share it between
/// threads. Several processes may open the same store at once. Every write is atomic
/// (old value or new, never a mix, even after `kill -9`), durable by default (see
/// [`Durability`](crate::Durability)), and takes the store lock only around the rename, or
/// around the whole read-modify-write for [`update`](Store::update),
/// [`set_if_absent`](Store::set_if_absent) and [`compare_and_swap`](Store::compare_and_swap).
/// Reads take no lock.
///
/// Lookups take any `&Q` where `K: Borrow<Q>`, as `HashMap` does: a `Store<String, _>`
/// takes `&str` keys.
pub struct Store<K, V, C = MsgPack> {
    shared: Arc<Shared<C>>,
    /// How values go in and out of the cache; `Some` exactly when the cache is on.
    values: Option<ValueFns<V>>,
    types: PhantomData<fn(K) -> V>,
}

impl<K, V, C> Clone for Store<K, V, C> {
    fn clone(&self) -> Self {
        Store {
            shared: Arc::clone(&self.shared),
            values: self.values,
            types: PhantomData,
        }
    }
}

impl<K, V, C> fmt::Debug for Store<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.shared.engine;
        f.debug_struct("Store")
            .field("path", &e.root)
            .field("key", &e.manifest.key)
            .field("codec", &e.manifest.codec)
            .field("durability", &e.durability)
            .field("read_only", &e.read_only)
            .finish()
    }
}

impl<K, V> Store<K, V, MsgPack> {
    /// The options builder, with the defaults documented on [`Options`]. Use
    /// [`Options::codec`] for another codec.
    pub fn options() -> Options<K, V, MsgPack> {
        Options::default()
    }

    /// Opens or creates the store at `path` with default options; `mode` says what may be
    /// at the path (see [`Exists`]).
    ///
    /// Opening reads the manifest and checks it against `K`'s key encoding and the codec;
    /// it does not scan the entries. A writable open also sweeps the temp files of writers
    /// that crashed (see [`Options::stale_temp_age`]).
    ///
    /// # Errors
    ///
    /// - [`NotFound`](ErrorKind::NotFound): `Update` and nothing at the path.
    /// - [`AlreadyExists`](ErrorKind::AlreadyExists): `Error` and a store is there.
    /// - [`NotAStore`](ErrorKind::NotAStore): a file, dangling link or non-empty folder that
    ///   is not a store (with any mode; nothing is deleted).
    /// - [`IncompatibleFormat`](ErrorKind::IncompatibleFormat): a newer format, or another
    ///   key type or codec.
    /// - [`Corrupt`](ErrorKind::Corrupt): a damaged manifest.
    /// - [`Io`](ErrorKind::Io): the file system refused.
    pub fn open(path: impl AsRef<Path>, mode: Exists) -> Result<Self>
    where
        K: OwnedKey,
        MsgPack: Codec<V>,
    {
        Self::options().open(path, mode)
    }
}

impl<K, V, C> Store<K, V, C> {
    /// What the value cache holds and its hits and misses so far; `None` when the store
    /// has no cache (see [`Options::cache`]).
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.shared.engine.cache_stats()
    }
}

impl<K: OwnedKey, V, C: Codec<V>> Store<K, V, C> {
    pub(crate) fn open_with(path: &Path, mode: Exists, options: Options<K, V, C>) -> Result<Self> {
        let codec_name = options.codec.name();
        if !layout::is_valid_value(codec_name) || codec_name.contains(' ') {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("codec name `{codec_name}` is not a plain word"),
            ));
        }
        if options
            .policy
            .auto_evict
            .is_some_and(|a| a.every_n_writes == 0)
        {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "auto_evict: every_n_writes must be at least 1",
            ));
        }
        let wanted = Manifest::new(K::ENCODING, codec_name);
        let settings = Settings {
            durability: options.durability,
            read_only: options.read_only,
            lock_timeout: options.lock_timeout,
            stale_temp_age: options.stale_temp_age,
            file_mode: options.file_mode,
            policy: options.policy,
        };
        if options.sync_interval == Some(std::time::Duration::ZERO) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "the sync interval must be longer than zero",
            ));
        }
        let mut engine = open::open(path, mode, wanted, &settings)?;
        if let (Some(cache), Some(_)) = (options.cache, options.values) {
            engine.enable_cache(cache);
        }
        if let Some(interval) = options.sync_interval {
            engine.start_flusher(interval)?;
        }
        Ok(Store {
            shared: Arc::new(Shared {
                engine,
                codec: options.codec,
            }),
            values: options.values.filter(|_| options.cache.is_some()),
            types: PhantomData,
        })
    }

    fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    /// Builds the bytes of an entry file; `ttl` `None` means the store's default TTL.
    fn encode(
        &self,
        key: &[u8],
        hash: &[u8; 32],
        value: &V,
        created_ms: Option<u64>,
        ttl: Option<Duration>,
    ) -> Result<Vec<u8>> {
        self.engine()
            .encode_entry(key, hash, created_ms, ttl, |out| {
                self.shared.codec.encode(value, out)
            })
    }

    /// The creation time to keep for a new value of `key` when the options ask for it.
    /// An unreadable old entry starts afresh (the write must still be able to replace it).
    fn old_created(&self, key: &[u8], hash: &[u8; 32]) -> Option<u64> {
        let e = self.engine();
        if !e.policy.preserve_created {
            return None;
        }
        e.read(key, hash, Need::Key, |found| {
            Ok(found.header.meta.created_ms)
        })
        .ok()
        .flatten()
    }

    /// What the cache should keep of a value this store just wrote: a clone in trusted
    /// mode, nothing otherwise.
    fn for_cache(&self, value: &V) -> Option<CachedValue> {
        match &self.values {
            Some(fns) if self.engine().caches_writes() => Some((fns.wrap_ref)(value)),
            _ => None,
        }
    }

    /// Reads and decodes the value of `key` (bytes) with its creation time.
    fn read_value(&self, key: &[u8], hash: &[u8; 32]) -> Result<Option<(V, u64)>> {
        let codec = &self.shared.codec;
        self.engine().read(key, hash, Need::Whole, |found| {
            Ok((
                iter::decode_value(codec, found.value, found.path)?,
                found.header.meta.created_ms,
            ))
        })
    }

    /// Writes `value` under `key`, replacing any old value atomically.
    ///
    /// With [`Durability::Durable`](crate::Durability::Durable) (the default) the value
    /// survives a power cut once this returns `Ok`.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](ErrorKind::ReadOnly), [`Encode`](ErrorKind::Encode), or
    /// [`Io`](ErrorKind::Io) (disk full, file too large, permissions; see
    /// [`Error::io_error_kind`]). On any error the old value is intact and no temp file is
    /// left behind.
    pub fn set<Q>(&self, key: &Q, value: &V) -> Result<()>
    where
        K: Borrow<Q>,
        Q: Key + ?Sized,
    {
        self.write_one(&key.key_bytes(), value, None)
    }

    /// Writes `value` under `key` as [`set`](Store::set) does, expiring `ttl` from now (by
    /// the store's [clock](Options::clock)): from then on it reads as absent, and the
    /// next `get` or [`purge_expired`](Store::purge_expired) removes it. A `ttl` of zero
    /// writes an entry that has already expired; `Duration::MAX` one that never expires,
    /// whatever the [default TTL](Options::default_ttl).
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
        self.write_one(&key.key_bytes(), value, Some(ttl))
    }

    fn write_one(&self, key: &[u8], value: &V, ttl: Option<Duration>) -> Result<()> {
        let e = self.engine();
        e.check_writable()?;
        let hash = e.key_hash(key);
        let created = self.old_created(key, &hash);
        let bytes = self.encode(key, &hash, value, created, ttl)?;
        let temp = e.write_temp(&hash, &bytes)?;
        let change = Change::Put {
            temp,
            stored: Stored::of(&bytes),
            cached: self.for_cache(value),
        };
        e.settle(e.lock()?, key, &hash, change)
    }

    /// The value of `key`, or `None` when there is none (or it has expired).
    ///
    /// Costs one open, one read and one close for values up to 16 KiB. The entry's
    /// checksum and key are checked (and with encryption, authenticated) before the value
    /// is decoded. An expired entry found here is removed when the store lock is free (a
    /// read never waits for it). With [`track_access`](Options::track_access) the file's
    /// access time is set. With a [cache](Options::cache), a hit costs one `stat`
    /// (validated mode) or no system call (trusted mode) and a clone of the value; a hit
    /// does not set the access time.
    ///
    /// # Errors
    ///
    /// [`Corrupt`](ErrorKind::Corrupt) naming the file when it is damaged, holds another
    /// key, fails authentication, or is a link, folder, FIFO or socket;
    /// [`Decode`](ErrorKind::Decode) when the bytes are intact but not a `V`;
    /// [`IncompatibleFormat`](ErrorKind::IncompatibleFormat) for a compressed value in a
    /// build without the `compression` feature; [`Io`](ErrorKind::Io).
    pub fn get<Q>(&self, key: &Q) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Key + ?Sized,
    {
        self.get_bytes(&key.key_bytes())
    }

    /// `get` of key bytes: from the cache when there is one, else through the engine's
    /// lookup (access time, lazy expiry).
    fn get_bytes(&self, key: &[u8]) -> Result<Option<V>> {
        let e = self.engine();
        let codec = &self.shared.codec;
        if let Some(fns) = self.values {
            let value = e.read_cached(
                key,
                |found| {
                    Ok((fns.wrap)(iter::decode_value(
                        codec,
                        found.value,
                        found.path,
                    )?))
                },
                fns.unwrap,
            )?;
            return Ok(value.flatten());
        }
        let hash = e.key_hash(key);
        e.lookup(key, &hash, Need::Whole, |found| {
            iter::decode_value(codec, found.value, found.path)
        })
    }

    /// The times and size of `key`'s entry, or `None` when there is none (or it has
    /// expired). Reads the header and key, not the value (unless the store is encrypted,
    /// where the key is authenticated with the value); does not count as an access.
    ///
    /// # Errors
    ///
    /// As [`contains_key`](Store::contains_key).
    pub fn metadata<Q>(&self, key: &Q) -> Result<Option<EntryMeta>>
    where
        K: Borrow<Q>,
        Q: Key + ?Sized,
    {
        let e = self.engine();
        let key = key.key_bytes();
        let hash = e.key_hash(&key);
        e.lookup(&key, &hash, Need::Key, |found| {
            Ok(EntryMeta::new(&found.header, found.file))
        })
    }

    /// Whether `key` has a (live) value. Reads the entry's header and key, not the value.
    ///
    /// # Errors
    ///
    /// As [`get`](Store::get), except `Decode`.
    pub fn contains_key<Q>(&self, key: &Q) -> Result<bool>
    where
        K: Borrow<Q>,
        Q: Key + ?Sized,
    {
        let e = self.engine();
        let key = key.key_bytes();
        if e.cached(&key) {
            return Ok(true);
        }
        let hash = e.key_hash(&key);
        Ok(e.lookup(&key, &hash, Need::Key, |_| Ok(()))?.is_some())
    }

    /// Removes `key`. Returns whether it had a value; removing a missing key is `Ok(false)`.
    /// A damaged entry is removed too (and counts as a value).
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](ErrorKind::ReadOnly), [`Io`](ErrorKind::Io).
    pub fn remove<Q>(&self, key: &Q) -> Result<bool>
    where
        K: Borrow<Q>,
        Q: Key + ?Sized,
    {
        Ok(self.remove_many(std::iter::once(key))? == 1)
    }

    /// Atomically replaces the value of `key` with `f(old value)`, across threads and
    /// processes: the store lock is held from the read to the rename, so no other write
    /// can come between. `f` returning `None` removes the key. Returns what `f` returned.
    ///
    /// `f` runs while the store lock is held: keep it short, and do not write to the same
    /// store from inside it (that would wait for the lock forever, or until the
    /// [`lock_timeout`](Options::lock_timeout)).
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
    /// [`set`](Store::set) for the new one; [`Locked`](ErrorKind::Locked) on lock timeout.
    pub fn update<Q, F>(&self, key: &Q, f: F) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: Key + ?Sized,
        F: FnOnce(Option<V>) -> Option<V>,
    {
        let e = self.engine();
        e.check_writable()?;
        let key = key.key_bytes();
        let hash = e.key_hash(&key);
        let guard = e.lock()?;
        let old = self.read_value(&key, &hash)?;
        let created = old.as_ref().map(|(_, created)| *created);
        let new = f(old.map(|(v, _)| v));
        let change = match &new {
            Some(value) => {
                let bytes = self.encode(&key, &hash, value, created, None)?;
                let temp = e.write_temp(&hash, &bytes)?;
                Change::Put {
                    temp,
                    stored: Stored::of(&bytes),
                    cached: self.for_cache(value),
                }
            }
            None => Change::Remove,
        };
        e.settle(guard, &key, &hash, change)?;
        Ok(new)
    }

    /// Writes `value` only if `key` has no value; atomic across threads and processes.
    /// Returns whether it was written.
    ///
    /// # Errors
    ///
    /// As [`set`](Store::set); [`Corrupt`](ErrorKind::Corrupt) when the existing entry is
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
        let bytes = self.encode(&key, &hash, value, None, None)?;
        let temp = e.write_temp(&hash, &bytes)?;
        let change = Change::Put {
            temp,
            stored: Stored::of(&bytes),
            cached: self.for_cache(value),
        };
        let guard = e.lock()?;
        if e.read(&key, &hash, Need::Key, |_| Ok(()))?.is_some() {
            return Ok(false);
        }
        e.settle(guard, &key, &hash, change)?;
        Ok(true)
    }

    /// Replaces the value of `key` with `new` only if it currently equals `current`
    /// (`None` meaning absent; `new` of `None` removes the key). Atomic across threads and
    /// processes. Returns whether the swap happened.
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
        e.check_writable()?;
        let key = key.key_bytes();
        let hash = e.key_hash(&key);
        let change = match new {
            Some(v) => {
                let created = self.old_created(&key, &hash);
                let bytes = self.encode(&key, &hash, v, created, None)?;
                let temp = e.write_temp(&hash, &bytes)?;
                Change::Put {
                    temp,
                    stored: Stored::of(&bytes),
                    cached: self.for_cache(v),
                }
            }
            None => Change::Remove,
        };
        let guard = e.lock()?;
        let now = self.read_value(&key, &hash)?.map(|(v, _)| v);
        if now.as_ref() != current {
            return Ok(false);
        }
        e.settle(guard, &key, &hash, change)?;
        Ok(true)
    }

    /// The values of several keys, in order.
    ///
    /// Like the other batch methods, it takes any iterable of [`Key`]s: an array of
    /// `&str`, a `&[String]`, a `Vec<u64>`, an iterator of `&String`…
    ///
    /// # Errors
    ///
    /// The first error [`get`](Store::get) meets.
    pub fn get_many<I>(&self, keys: I) -> Result<Vec<Option<V>>>
    where
        I: IntoIterator,
        I::Item: Key,
    {
        keys.into_iter()
            .map(|k| self.get_bytes(&k.key_bytes()))
            .collect()
    }

    /// Writes several entries. Each entry is atomic on its own (the batch as a whole is
    /// not); in durable mode the batch pays one fsync per entry file, issued from several
    /// threads at once (see the README's performance notes), and one per shard folder
    /// touched, not one folder fsync per key. When a key appears twice, the later value
    /// wins.
    ///
    /// # Errors
    ///
    /// As [`set`](Store::set). Entries of earlier chunks (of 1,024) may have been written
    /// when an error is returned (and in durable mode were made durable). When encoding or
    /// writing a temp file fails, no entry of its chunk is written; when a rename fails,
    /// entries of the chunk in other shard folders may have been.
    pub fn set_many<I, Q, B>(&self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = (Q, B)>,
        Q: Key,
        B: Borrow<V>,
    {
        let e = self.engine();
        e.put_many_noted(items.into_iter().map(|(key, value)| {
            let key = key.key_bytes();
            let hash = e.key_hash(&key);
            let created = self.old_created(&key, &hash);
            let value = value.borrow();
            let bytes = self.encode(&key, &hash, value, created, None)?;
            let note = self
                .values
                .is_some()
                .then(|| (key.into_owned(), self.for_cache(value)));
            Ok((hash, bytes, note))
        }))
    }

    /// Removes several keys under one lock; returns how many had a value.
    ///
    /// # Errors
    ///
    /// As [`remove`](Store::remove).
    pub fn remove_many<I>(&self, keys: I) -> Result<usize>
    where
        I: IntoIterator,
        I::Item: Key,
    {
        let keys: Vec<Vec<u8>> = keys
            .into_iter()
            .map(|k| k.key_bytes().into_owned())
            .collect();
        self.engine().remove_keys(keys.iter().map(Vec::as_slice))
    }

    /// The number of entries: a listing of the shard folders, no entry is opened.
    ///
    /// Counts entry files, so an expired entry not yet removed is counted.
    ///
    /// # Errors
    ///
    /// A shard folder cannot be listed.
    pub fn len(&self) -> Result<usize> {
        EntryPaths::new(&self.engine().root).count_entries()
    }

    /// Whether the store has no entries (stops at the first one found).
    ///
    /// # Errors
    ///
    /// A shard folder cannot be listed.
    pub fn is_empty(&self) -> Result<bool> {
        match EntryPaths::new(&self.engine().root).next() {
            None => Ok(true),
            Some(Ok(_)) => Ok(false),
            Some(Err(e)) => Err(e),
        }
    }

    /// The keys, as `Result<K>` items, streamed shard by shard (memory stays flat however
    /// large the store). A damaged entry yields an `Err` and the iteration goes on. The
    /// order is that of the files' hashes, not of the keys.
    pub fn keys(&self) -> Keys<K, V, C> {
        Keys::new(Arc::clone(&self.shared))
    }

    /// The entries, as `Result<(K, V)>` items; see [`keys`](Store::keys).
    pub fn iter(&self) -> Iter<K, V, C> {
        Iter::new(Arc::clone(&self.shared))
    }

    /// The values, as `Result<V>` items; see [`keys`](Store::keys).
    pub fn values(&self) -> Values<K, V, C> {
        Values::new(Arc::clone(&self.shared))
    }

    /// Removes every expired entry and returns how many. Each candidate is re-checked under
    /// the store lock (one taking per shard), so a fresh value written meanwhile is never
    /// removed. Opens every entry file's header: a walk of the whole store. Damaged
    /// entries are left alone (`get` and `iter` report them).
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](ErrorKind::ReadOnly); [`Locked`](ErrorKind::Locked) on lock timeout;
    /// [`Io`](ErrorKind::Io) when a folder cannot be listed or an entry removed.
    pub fn purge_expired(&self) -> Result<usize> {
        self.engine().purge_expired()
    }

    /// Removes entries until at most `max_entries` are left and they take at most
    /// `max_bytes` bytes on disk (pass `usize::MAX` / `u64::MAX` for no bound). Victims
    /// are the least recently used entries when the store
    /// [tracks access](Options::track_access), otherwise the least recently written.
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
    /// [`ReadOnly`](ErrorKind::ReadOnly); [`Locked`](ErrorKind::Locked) on lock timeout;
    /// [`Io`](ErrorKind::Io) when a folder cannot be listed or an entry examined or
    /// removed. Entries removed before an error stay removed.
    pub fn evict_to(&self, max_entries: usize, max_bytes: u64) -> Result<Eviction> {
        self.engine().evict_to(max_entries, max_bytes)
    }

    /// Removes every entry (foreign files in the store are left alone). Shard by shard,
    /// each under the lock: concurrent writers may add entries meanwhile.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](ErrorKind::ReadOnly), [`Io`](ErrorKind::Io).
    pub fn clear(&self) -> Result<()> {
        self.engine().clear()
    }

    /// Makes every write made through this store (and its clones) durable: the fsyncs that
    /// [`Durability::Fast`](crate::Durability::Fast) skipped. A no-op in durable mode.
    ///
    /// # Errors
    ///
    /// An fsync failed; the writes may not be durable.
    pub fn sync(&self) -> Result<()> {
        self.engine().sync()
    }

    /// Removes temp files left by writers that crashed, scanning every shard folder.
    /// Opening a store already does this when it finds a crashed writer's marker; this is
    /// for the rest (temp files whose writer is unknown and older than
    /// [`stale_temp_age`](Options::stale_temp_age)). Returns how many were removed.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](ErrorKind::ReadOnly); a folder cannot be listed.
    pub fn sweep_temps(&self) -> Result<usize> {
        self.engine().check_writable()?;
        Ok(self.engine().sweep(true)?.removed)
    }

    /// The path of the file that holds (or would hold) `key`:
    /// `<store>/<first two hex digits>/<sha256 hex of the key bytes>.dkv` (with encryption,
    /// an HMAC-SHA256 of the key bytes keyed from the store key instead of the SHA-256).
    pub fn path_of<Q>(&self, key: &Q) -> PathBuf
    where
        K: Borrow<Q>,
        Q: Key + ?Sized,
    {
        let e = self.engine();
        e.entry_path(&e.key_hash(&key.key_bytes()))
    }

    /// The store's folder (absolute).
    pub fn path(&self) -> &Path {
        &self.engine().root
    }

    /// Deletes the whole store: its folder and everything in it. The folder is first
    /// renamed aside (to `.<name>.dirkv-destroy-<id>` beside it), so the store vanishes at
    /// once even if the deletion is interrupted; a link at the store path is removed too.
    /// Other handles to the store are left pointing at nothing.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](ErrorKind::ReadOnly), [`Io`](ErrorKind::Io).
    pub fn destroy(self) -> Result<()> {
        let e = self.engine();
        e.check_writable()?;
        let link = &e.root;
        let real =
            fs::canonicalize(link).map_err(|err| Error::io("cannot find the store", link, err))?;
        let trash = match (real.parent(), real.file_name()) {
            (Some(parent), Some(name)) => Some(parent.join(format!(
                ".{}.dirkv-destroy-{}",
                name.to_string_lossy(),
                e.writer_id
            ))),
            _ => None,
        };
        let doomed = match trash {
            Some(trash) if fs::rename(&real, &trash).is_ok() => trash,
            _ => real.clone(),
        };
        fs::remove_dir_all(&doomed)
            .map_err(|err| Error::io("cannot delete the store", &doomed, err))?;
        if real != *link {
            fs::remove_file(link)
                .map_err(|err| Error::io("cannot remove the link to the store", link, err))?;
        }
        Ok(())
    }
}
