//! [`Store`]: the typed map. It is a [`RawStore`] (the byte-level handle on the engine)
//! plus a key type and a value codec: each method turns its key into bytes, encodes or
//! decodes the value, and calls the one non-generic body.

mod iter;
mod rmw;
mod top_bytes;

pub(crate) mod codec;
pub(crate) mod key;
pub(crate) mod options;

use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use iter::{Iter, Keys, Values};

use crate::engine::Engine;
use crate::engine::cache::{CacheStats, CachedValue, ValueFns};
use crate::engine::read::Found;
use crate::engine::write::{Expiry, NewEntry};
use crate::engine::write_back::Known;
use crate::error::{Error, ErrorKind, Result};
use crate::format::names;
use crate::fs::read::Need;
use crate::raw::{EntryMeta, RawStore};
use codec::{Codec, MsgPack};
use key::{Key, OwnedKey};
use options::{Exists, Options};

/// What every handle of one open store shares.
pub(crate) struct Shared<C> {
    pub(crate) raw: RawStore,
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
/// takes `&str` keys. [`raw`](Store::raw) gives the same store as key and value bytes.
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
        let raw = &self.shared.raw;
        f.debug_struct("Store")
            .field("path", &raw.path())
            .field("key", &raw.key_encoding())
            .field("codec", &raw.codec())
            .field("durability", &raw.engine().durability())
            .field("read_only", &raw.engine().config().read_only)
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
        self.shared.raw.cache_stats()
    }

    /// The same store as key bytes and value bytes (the codec's output): what tools and
    /// other languages see.
    pub fn raw(&self) -> &RawStore {
        &self.shared.raw
    }

    pub(crate) fn engine(&self) -> &Engine {
        self.shared.raw.engine()
    }
}

/// The codecs whose stored form of a value is its bytes as they are ([`Raw`](crate::Raw)),
/// for [`Store::set_bytes`].
pub trait RawBytes: sealed::Sealed {}

impl RawBytes for codec::Raw {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::codec::Raw {}
}

/// Decodes a value read from the entry `found`.
pub(crate) fn decode_value<V, C: Codec<V>>(codec: &C, found: &Found<'_>) -> Result<V> {
    codec.decode(found.value).map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            format!(
                "cannot decode the value of key {}",
                names::show_key(found.key)
            ),
        )
        .with_path(found.path())
        .with_source(e)
    })
}

impl<K: OwnedKey, V, C: Codec<V>> Store<K, V, C> {
    pub(crate) fn from_options(
        path: &Path,
        mode: Exists,
        options: Options<K, V, C>,
    ) -> Result<Self> {
        let (config, codec, values) = options.into_parts();
        let names = (K::ENCODING, codec.name());
        let raw = RawStore::open_with(path, mode, Some(names), config)?;
        Ok(Store {
            shared: Arc::new(Shared { raw, codec }),
            values,
            types: PhantomData,
        })
    }

    /// Builds the bytes of an entry file.
    fn encode(
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
    fn new_entry(
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
    fn for_cache(&self, value: &V) -> Option<CachedValue> {
        match &self.values {
            Some(fns) if self.keeps_written() => Some((fns.wrap_ref)(value)),
            _ => None,
        }
    }

    /// Whether RAM keeps the values this store writes (write-back, or a cache that takes
    /// own writes).
    fn keeps_written(&self) -> bool {
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
    /// [`ReadOnly`](ErrorKind::ReadOnly), [`Encode`](ErrorKind::Encode), or
    /// [`Io`](ErrorKind::Io) (disk full, file too large, permissions; see
    /// [`Error::io_error_kind`]). On any error the old value is intact and no temp file is
    /// left behind.
    pub fn set<Q>(&self, key: &Q, value: &V) -> Result<()>
    where
        K: Borrow<Q>,
        Q: Key + ?Sized,
    {
        self.write_one(&key.key_bytes(), value, Expiry::Default)
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
        if let (Some(wb), Some(fns)) = (e.write_back(), self.values) {
            let known =
                e.wb_lookup(wb, key, |found| Ok((fns.wrap)(decode_value(codec, found)?)))?;
            return Ok(match known {
                Known::Value { value, .. } => (fns.unwrap)(&value),
                Known::Absent => None,
            });
        }
        if let Some(fns) = self.values {
            let value = e.read_cached(
                key,
                |found| Ok((fns.wrap)(decode_value(codec, found)?)),
                fns.unwrap,
            )?;
            return Ok(value.flatten());
        }
        let hash = e.key_hash(key);
        e.lookup(key, &hash, Need::Whole, false, |found| {
            decode_value(codec, &found)
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
        self.shared.raw.metadata(&key.key_bytes())
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
        self.shared.raw.contains_key(&key.key_bytes())
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
        self.shared.raw.remove(&key.key_bytes())
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
    /// threads at once (see the [performance guide](crate::guide::performance)), and one per shard folder
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
        e.put_many(items.into_iter().map(|(key, value)| {
            let key = key.key_bytes();
            let hash = e.key_hash(&key);
            let created = e.old_created(&key, &hash);
            let value = value.borrow();
            let bytes = self.encode(&key, &hash, value, created, Expiry::Default)?;
            let note = (e.cache().is_some() || e.write_back().is_some())
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
        self.shared.raw.remove_many(keys.iter().map(Vec::as_slice))
    }

    /// The number of entries: a listing of the shard folders, no entry is opened.
    ///
    /// Counts entry files, so an expired entry not yet removed is counted.
    ///
    /// # Errors
    ///
    /// A shard folder cannot be listed.
    pub fn len(&self) -> Result<usize> {
        self.shared.raw.len()
    }

    /// Whether the store has no entries (stops at the first one found).
    ///
    /// # Errors
    ///
    /// A shard folder cannot be listed.
    pub fn is_empty(&self) -> Result<bool> {
        self.shared.raw.is_empty()
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

    /// The path of the file that holds (or would hold) `key`:
    /// `<store>/<first two hex digits>/<sha256 hex of the key bytes>.dkv` (with encryption,
    /// an HMAC-SHA256 of the key bytes keyed from the store key instead of the SHA-256).
    pub fn path_of<Q>(&self, key: &Q) -> PathBuf
    where
        K: Borrow<Q>,
        Q: Key + ?Sized,
    {
        self.shared.raw.path_of(&key.key_bytes())
    }

    /// The store's folder (absolute).
    pub fn path(&self) -> &Path {
        self.shared.raw.path()
    }
}

impl<K: OwnedKey, V, C: Codec<V>> IntoIterator for &Store<K, V, C> {
    type Item = Result<(K, V)>;
    type IntoIter = Iter<K, V, C>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
