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
mod read;
mod write;

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
use crate::engine::write::Expiry;
use crate::error::{Error, ErrorKind, Result};
use crate::format::keys;
use crate::format::manifest::Manifest;

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
            engine: open::open(path, mode, wanted, config)?,
        })
    }

    /// The handle on an engine opened elsewhere (a store on object storage).
    #[cfg(feature = "object-store")]
    pub(crate) fn from_engine(engine: Arc<Engine>) -> Self {
        RawStore { engine }
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// How this handle's values sit in memory: as value bytes (a raw store with a cache
    /// or in write-back mode), or as a typed store's decoded values, which byte-level
    /// calls must go around (write-back RAM is written out and the key forgotten first).
    fn ram(&self) -> Ram<'_> {
        let e = &self.engine;
        match (e.write_back(), e.config().typed) {
            (Some(wb), false) => Ram::Bytes(wb),
            (Some(_), true) => Ram::Typed,
            (None, true) if e.cache().is_some() => Ram::Typed,
            (None, _) => Ram::None,
        }
    }

    /// Before a byte-level call on `key` of a typed store's raw view: write-back RAM is
    /// written out and `key` forgotten by it and by the cache.
    fn go_around_typed_ram(&self, key: &[u8]) -> Result<()> {
        if let Ram::Typed = self.ram() {
            self.engine.flush_write_back()?;
            if let Some(wb) = self.engine.write_back() {
                wb.forget(key);
            }
            self.engine.cache_forget(key);
        }
        Ok(())
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
    #[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
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
    #[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
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

/// Where a handle's values are kept in memory (see [`RawStore::ram`]).
enum Ram<'a> {
    /// Nowhere, or in the value cache as value bytes.
    None,
    /// In write-back RAM, as value bytes.
    Bytes(&'a crate::engine::write_back::WriteBack),
    /// As a typed store's values.
    Typed,
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
