//! [`RawStore`]: untyped, byte-level access to any store, for tools (the `dirkv` command,
//! other languages) that do not know the Rust types a store was made with. It is the
//! engine's public handle: [`Store`](crate::Store) is `RawStore` plus key and value
//! encoding.
//!
//! A `RawStore` works with *key bytes* (the canonical bytes that are hashed to the file
//! name, see [`Key`](crate::Key)) and *value bytes* (what the codec wrote). Writes go
//! through the same atomic, locked path as `Store`: temp file, lock, rename, folder fsync.

mod entries;
mod meta;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use entries::{RawEntries, RawEntry};
pub use meta::{EntryInfo, EntryMeta};

use crate::engine::Engine;
use crate::engine::cache::CacheStats;
use crate::engine::config::{Config, Durability, Exists};
use crate::engine::open::{self, Wanted};
use crate::engine::write::{Expiry, NewEntry, Step};
use crate::error::{Error, ErrorKind, Result};
use crate::format::keys;
use crate::format::manifest::Manifest;
use crate::fs::read::Need;

/// How a [`RawStore`] is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Reads only: no lock file is touched, no writer marker is made, no temp file is swept.
    /// Safe while applications write the store.
    ReadOnly,
    /// Reads and writes (writes take the store lock around each rename, as `Store` does).
    ReadWrite,
}

/// A store opened without its types: key bytes in, value bytes out.
///
/// Cheap to clone (the clones share one open store) and `Send + Sync`.
///
/// ```
/// use dirkv::{Access, Exists, RawStore, Store};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("pages");
/// let typed: Store<u64, String> = Store::open(&path, Exists::OpenOrCreate)?;
/// typed.set(&42, &"hello".to_string())?;
///
/// let raw = RawStore::open(&path, Access::ReadOnly)?;
/// assert_eq!((raw.key_encoding(), raw.codec()), ("u64", "msgpack"));
/// let entry = raw.get(b"42")?.expect("present");
/// assert_eq!(entry.value.as_deref(), Some(&b"\xa5hello"[..])); // MessagePack "hello"
/// assert_eq!(raw.path_of(b"42"), typed.path_of(&42));
/// # Ok::<(), dirkv::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RawStore {
    engine: Arc<Engine>,
}

impl RawStore {
    /// Opens `path` with the settings in `config`: `names` are the key encoding and codec
    /// a new store gets and an existing one must have; `None` takes the store as found.
    pub(crate) fn open_with(
        path: &Path,
        mode: Exists,
        names: Option<(&str, &str)>,
        config: Config,
    ) -> Result<Self> {
        let wanted = match names {
            Some((key, codec)) => Wanted::Names(Manifest::new(key, codec)),
            None => Wanted::AsFound,
        };
        Ok(RawStore {
            engine: Arc::new(open::open(path, mode, wanted, config)?),
        })
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    fn access_config(access: Access) -> Config {
        Config {
            read_only: access == Access::ReadOnly,
            ..Config::default()
        }
    }

    /// Opens the existing store at `path` with the key encoding and codec its manifest
    /// names. Writes are [`Durability::Durable`] unless changed with
    /// [`with_durability`](RawStore::with_durability). For every other setting, open it
    /// with [`RawStore::options`].
    ///
    /// # Errors
    ///
    /// As [`Store::open`](crate::Store::open) with [`Exists::Update`]: `NotFound`,
    /// `NotAStore`, `IncompatibleFormat` (a newer format), `Corrupt` (a damaged manifest),
    /// `Io`. Never creates anything. An encrypted store is a
    /// [`WrongKey`](ErrorKind::WrongKey) error: open it with
    /// `RawStore::open_encrypted` (feature `encryption`), or read its manifest without the
    /// key with [`StoreFolder::read`](crate::StoreFolder::read).
    pub fn open(path: impl AsRef<Path>, access: Access) -> Result<Self> {
        Self::open_with(
            path.as_ref(),
            Exists::Update,
            None,
            Self::access_config(access),
        )
    }

    /// Opens the existing encrypted store at `path` with its key or passphrase (feature
    /// `encryption`), as [`open`](RawStore::open) does otherwise. Keys and values are
    /// decrypted on read and encrypted on write; paths are the store's keyed names.
    ///
    /// A tool must take the key from an environment variable, a file or a prompt, never
    /// from its command line.
    ///
    /// # Errors
    ///
    /// As [`open`](RawStore::open); [`WrongKey`](ErrorKind::WrongKey) for a wrong key or
    /// passphrase; [`IncompatibleFormat`](ErrorKind::IncompatibleFormat) when the store is
    /// not encrypted.
    #[cfg(feature = "encryption")]
    pub fn open_encrypted(
        path: impl AsRef<Path>,
        access: Access,
        key: crate::EncryptionKey,
    ) -> Result<Self> {
        let config = Config {
            encryption: Some(key),
            ..Self::access_config(access)
        };
        Self::open_with(path.as_ref(), Exists::Update, None, config)
    }

    /// Creates a new, empty encrypted store (feature `encryption`), as
    /// [`create`](RawStore::create) does otherwise.
    ///
    /// # Errors
    ///
    /// As [`create`](RawStore::create); [`InvalidInput`](ErrorKind::InvalidInput) for an
    /// empty passphrase.
    #[cfg(feature = "encryption")]
    pub fn create_encrypted(
        path: impl AsRef<Path>,
        key_encoding: &str,
        codec: &str,
        key: crate::EncryptionKey,
    ) -> Result<Self> {
        let config = Config {
            encryption: Some(key),
            ..Config::default()
        };
        Self::open_with(
            path.as_ref(),
            Exists::Error,
            Some((key_encoding, codec)),
            config,
        )
    }

    /// Creates a new, empty store at `path` (a missing path or an empty folder, as
    /// [`Exists::Error`]) whose manifest names `key_encoding` (such as `utf8`, `u64`,
    /// `bytes`, `msgpack`; see [`Key`](crate::Key)) and `codec` (such as `msgpack`, `raw`).
    /// Open it later with a `Store` of matching types.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](ErrorKind::InvalidInput) when a name is not a plain word (1 to 64
    /// letters, digits, `-`, `_`, `.`); otherwise as [`Store::open`](crate::Store::open)
    /// with [`Exists::Error`] (`AlreadyExists`, `NotAStore`, `Io`).
    pub fn create(path: impl AsRef<Path>, key_encoding: &str, codec: &str) -> Result<Self> {
        Self::open_with(
            path.as_ref(),
            Exists::Error,
            Some((key_encoding, codec)),
            Config::default(),
        )
    }

    /// Whether the store is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.engine.is_encrypted()
    }

    /// Sets how hard later writes (through this handle and its clones) work to survive a
    /// power cut (see [`Durability`]).
    #[must_use]
    pub fn with_durability(self, durability: Durability) -> Self {
        self.engine.set_durability(durability);
        self
    }

    /// The store's folder (absolute).
    pub fn path(&self) -> &Path {
        self.engine.path()
    }

    /// The key encoding named in the manifest (`key = …`).
    pub fn key_encoding(&self) -> &str {
        &self.engine.manifest().key
    }

    /// The codec named in the manifest (`codec = …`).
    pub fn codec(&self) -> &str {
        &self.engine.manifest().codec
    }

    /// The store format version from the manifest.
    pub fn format(&self) -> u32 {
        self.engine.manifest().format
    }

    /// The manifest's shard depth.
    pub fn shard_depth(&self) -> u32 {
        self.engine.manifest().shard_depth
    }

    /// Further manifest settings (`name = value` lines other than the ones above).
    pub fn settings(&self) -> &BTreeMap<String, String> {
        &self.engine.manifest().extra
    }

    /// The file that holds (or would hold) the entry of `key`:
    /// `<store>/<first two hex digits>/<sha256 hex of the key bytes>.dkv`.
    pub fn path_of(&self, key: &[u8]) -> PathBuf {
        self.engine.entry_path(&self.engine.key_hash(key))
    }

    /// Checks that `key` is a valid key of this store's key encoding: UTF-8 for `utf8`,
    /// canonical decimal in range for integer types (`7`, not `07`), one complete
    /// MessagePack value for `msgpack`. Any bytes pass for `bytes` and for encodings this
    /// build does not know.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](ErrorKind::InvalidInput) saying what is wrong.
    pub fn check_key(&self, key: &[u8]) -> Result<()> {
        keys::key_problem(self.key_encoding(), key)
            .map_or(Ok(()), |m| Err(Error::new(ErrorKind::InvalidInput, m)))
    }

    /// Checks that `value` is something this store's codec can decode: one complete
    /// MessagePack value for `msgpack`; any bytes for `raw` and codecs this build does not
    /// know.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](ErrorKind::InvalidInput) saying what is wrong.
    pub fn check_value(&self, value: &[u8]) -> Result<()> {
        keys::value_problem(self.codec(), value)
            .map_or(Ok(()), |m| Err(Error::new(ErrorKind::InvalidInput, m)))
    }

    /// The entry of `key`, value included; `None` when there is none or it has expired.
    /// Takes no lock and changes nothing (an expired entry stays until a `get_value`, a
    /// [`purge_expired`](RawStore::purge_expired) or a write removes it; no access time is
    /// recorded, no cache consulted): what a tool wants to look with.
    ///
    /// # Errors
    ///
    /// [`Corrupt`](ErrorKind::Corrupt) naming the file when it is damaged or holds another
    /// key; [`IncompatibleFormat`](ErrorKind::IncompatibleFormat) for an entry this build
    /// cannot read (a newer format, or a compressed value in a build without the
    /// `compression` feature); [`Io`](ErrorKind::Io).
    pub fn get(&self, key: &[u8]) -> Result<Option<RawEntry>> {
        let hash = self.engine.key_hash(key);
        self.engine.read(key, &hash, Need::Whole, |found| {
            Ok(RawEntry::from_found(&found, Need::Whole))
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
        self.engine.read_cached(
            key,
            |found| Ok(Arc::new(found.value.to_vec())),
            |cached| {
                cached
                    .downcast_ref::<Vec<u8>>()
                    .cloned()
                    .unwrap_or_default()
            },
        )
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
        keys.into_iter().map(|k| self.get_value(k)).collect()
    }

    /// Whether `key` has a (live) value; reads the header and key only.
    ///
    /// # Errors
    ///
    /// As [`get`](RawStore::get).
    pub fn contains_key(&self, key: &[u8]) -> Result<bool> {
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
        let hash = self.engine.key_hash(key);
        self.engine.lookup(key, &hash, Need::Key, false, |found| {
            Ok(EntryMeta::new(&found.header, found.file))
        })
    }

    /// Writes `value` (codec bytes) under `key` (key bytes), replacing any old value
    /// atomically, exactly as [`Store::set`](crate::Store::set) does: a reader or a crash
    /// sees the old value or the new one, and no temp file is left behind on error.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](ErrorKind::ReadOnly); [`InvalidInput`](ErrorKind::InvalidInput) when
    /// [`check_key`](RawStore::check_key) or [`check_value`](RawStore::check_value) fails
    /// or a length limit is passed; [`Io`](ErrorKind::Io).
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
        let hash = self.engine.key_hash(key);
        let bytes = self.encode(
            key,
            &hash,
            value,
            Some(created_ms),
            Expiry::At(expires_ms.unwrap_or(0)),
        )?;
        self.engine.put(
            key,
            &hash,
            NewEntry {
                bytes,
                cached: None,
            },
        )
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
        let hash = self.engine.key_hash(key);
        let created = self.engine.old_created(key, &hash);
        let bytes = self.encode(key, &hash, value, created, expiry)?;
        self.engine.put(
            key,
            &hash,
            NewEntry {
                bytes,
                cached: None,
            },
        )
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
            let hash = e.key_hash(key);
            let created = e.old_created(key, &hash);
            let bytes = self.encode(key, &hash, value, created, Expiry::Default)?;
            let note = e.cache().is_some().then(|| (key.to_vec(), None));
            Ok((hash, bytes, note))
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
            let hash = e.key_hash(key);
            let expiry = Expiry::At(expires.unwrap_or(0));
            let bytes = self.encode(key, &hash, value, Some(created), expiry)?;
            let note = e.cache().is_some().then(|| (key.to_vec(), None));
            Ok((hash, bytes, note))
        }))
    }

    /// Atomically replaces the value of `key` with `f(old value)` (see
    /// [`Store::update`](crate::Store::update)); `f` returning `None` removes the key. The
    /// entry keeps its creation time and its expiry. Returns what `f` returned.
    ///
    /// # Errors
    ///
    /// As [`get`](RawStore::get) for the old value and [`set`](RawStore::set) for the new.
    pub fn update<F>(&self, key: &[u8], f: F) -> Result<Option<Vec<u8>>>
    where
        F: FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
    {
        self.update_expiring(key, None, f)
    }

    /// As [`update`](RawStore::update), giving the new value a new TTL from now.
    ///
    /// # Errors
    ///
    /// As [`update`](RawStore::update).
    pub fn update_with_ttl<F>(&self, key: &[u8], ttl: Duration, f: F) -> Result<Option<Vec<u8>>>
    where
        F: FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
    {
        self.update_expiring(key, Some(ttl), f)
    }

    fn update_expiring<F>(
        &self,
        key: &[u8],
        ttl: Option<Duration>,
        mut f: F,
    ) -> Result<Option<Vec<u8>>>
    where
        F: FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
    {
        self.check_key(key)?;
        let hash = self.engine.key_hash(key);
        self.engine
            .modify(key, &hash, Need::Whole, None, |current| {
                let new = f(current.map(|c| c.value));
                let Some(value) = new else {
                    return Ok(Step::Remove(None));
                };
                self.check_value(&value)?;
                let (created, expiry) = kept_times(current.map(|c| &c.header), ttl);
                let bytes = self.encode(key, &hash, &value, created, expiry)?;
                Ok(Step::Put(
                    NewEntry {
                        bytes,
                        cached: None,
                    },
                    Some(value),
                ))
            })
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
        let prepared = self.engine.prepare(
            &hash,
            NewEntry {
                bytes,
                cached: None,
            },
        )?;
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
        self.engine.modify(key, &hash, Need::Whole, None, |found| {
            if found.map(|f| f.value) != current {
                return Ok(Step::Keep(false));
            }
            let Some(value) = new else {
                return Ok(Step::Remove(true));
            };
            let (created, expiry) = kept_times(found.map(|f| &f.header), None);
            let created = created.filter(|_| preserve);
            let bytes = self.encode(key, &hash, value, created, expiry)?;
            Ok(Step::Put(
                NewEntry {
                    bytes,
                    cached: None,
                },
                true,
            ))
        })
    }

    /// Removes the entry of `key`. Returns whether it had a value (a damaged entry is
    /// removed too and counts as a value; an expired one does not).
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](ErrorKind::ReadOnly), [`Io`](ErrorKind::Io).
    pub fn remove(&self, key: &[u8]) -> Result<bool> {
        Ok(self.engine.remove_keys([key])? == 1)
    }

    /// Removes several keys under one lock; returns how many had a value.
    ///
    /// # Errors
    ///
    /// As [`remove`](RawStore::remove).
    pub fn remove_many<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> Result<usize> {
        self.engine.remove_keys(keys)
    }

    /// The number of entries: a listing of the shard folders, no entry is opened (so an
    /// expired entry not yet removed is counted).
    ///
    /// # Errors
    ///
    /// A shard folder cannot be listed, or is missing.
    pub fn len(&self) -> Result<usize> {
        self.engine.check_alive()?;
        crate::engine::walk::count(self.engine.storage())
    }

    /// Whether the store has no entries (stops at the first one found).
    ///
    /// # Errors
    ///
    /// A shard folder cannot be listed.
    pub fn is_empty(&self) -> Result<bool> {
        self.engine.check_alive()?;
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

    /// Removes temp files left by writers that crashed (any age), temp files whose writer
    /// is unknown once older than an hour, and crashed writers' markers, scanning every
    /// shard. Temp files of live writers are never touched. Returns how many were removed.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](ErrorKind::ReadOnly); a folder cannot be listed.
    pub fn sweep_temps(&self) -> Result<usize> {
        self.engine.sweep(true)
    }

    /// Makes every write made through this handle durable (see
    /// [`Store::sync`](crate::Store::sync)); a no-op in durable mode.
    ///
    /// # Errors
    ///
    /// An fsync failed.
    pub fn sync(&self) -> Result<()> {
        self.engine.sync()
    }

    /// What the value cache holds; `None` without a cache.
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.engine.cache_stats()
    }

    /// Deletes the whole store (see [`Store::destroy`](crate::Store::destroy)).
    ///
    /// # Errors
    ///
    /// As [`Store::destroy`](crate::Store::destroy).
    pub fn destroy(self) -> Result<()> {
        self.engine.destroy()
    }
}

/// The creation time and expiry a rewrite of an entry keeps: its creation time, and its
/// expiry unless a new TTL is given (an absent entry starts afresh, with the default TTL).
pub(crate) fn kept_times(
    header: Option<&crate::format::entry::Header>,
    ttl: Option<Duration>,
) -> (Option<u64>, Expiry) {
    let created = header.map(|h| h.meta.created_ms);
    let expiry = match (ttl, header) {
        (Some(ttl), _) => Expiry::After(ttl),
        (None, Some(h)) => Expiry::At(h.meta.expires_ms),
        (None, None) => Expiry::Default,
    };
    (created, expiry)
}
