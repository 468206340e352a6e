//! [`Store`]: the typed map. It is a [`RawStore`] (the byte-level handle on the engine)
//! plus a key type and a value codec: each method turns its key into bytes, encodes or
//! decodes the value, and calls the one non-generic body.

mod batch;
mod iter;
mod rmw;
mod top_bytes;
mod write;

pub(crate) mod codec;
pub(crate) mod key;
pub(crate) mod options;
#[cfg(feature = "object-store")]
pub(crate) mod remote;

use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use iter::{Iter, Keys, Values};

use crate::engine::Engine;
use crate::engine::cache::{CacheStats, ValueFns};
use crate::engine::read::Found;
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
    pub(super) fn get_bytes(&self, key: &[u8]) -> Result<Option<V>> {
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
