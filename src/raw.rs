//! [`RawStore`]: untyped, byte-level access to any store, for tools (the `dirkv` command)
//! that do not know the Rust types a store was made with.
//!
//! A `RawStore` opens a store with the manifest it has, whatever its key encoding and codec,
//! and works with *key bytes* (the canonical bytes that are hashed to the file name, see
//! [`Key`](crate::Key)) and *value bytes* (what the codec wrote). Writes go through the same
//! atomic, locked path as [`Store`](crate::Store): temp file, lock, rename, folder fsync.
//!
//! It also looks at a store the way a repair tool must (with the types of `inspect.rs`):
//! [`RawStore::scan`] classifies every file and folder in it, [`RawStore::verify_file`]
//! checks one entry file completely, and [`RawStore::quarantine`] moves damaged or foreign
//! files aside without deleting them.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::engine::{Engine, Expect};
use crate::entry::Header;
use crate::error::{Error, ErrorKind, Result};
use crate::inspect::{Quarantine, STALE_TEMP_AGE, Scan};
use crate::iter::EntryPaths;
use crate::key::OwnedKey;
use crate::layout::{self, Manifest};
use crate::open::{self, Settings};
use crate::options::{Durability, Exists};
use crate::policy::Policy;
use crate::read::Need;
use crate::sys;

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
#[derive(Debug)]
pub struct RawStore {
    pub(crate) engine: Engine,
}

/// Times, flags and size of an entry, from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryInfo {
    /// The entry file's length in bytes (header, key and value), as its header states it.
    pub file_len: u64,
    /// When the key was first written, milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// When this value was written, milliseconds since the Unix epoch.
    pub modified_ms: u64,
    /// When the value expires, milliseconds since the Unix epoch; `None` for never.
    pub expires_ms: Option<u64>,
    /// The header's flag bits (bit 0: compressed, bit 1: encrypted; see the entry format).
    pub flags: u8,
}

impl EntryInfo {
    fn new(header: &Header) -> Self {
        EntryInfo {
            file_len: header.total_len(),
            created_ms: header.meta.created_ms,
            modified_ms: header.meta.modified_ms,
            expires_ms: (header.meta.expires_ms != 0).then_some(header.meta.expires_ms),
            flags: header.meta.flags,
        }
    }
}

/// One entry of a store, as [`RawStore`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RawEntry {
    /// The entry file.
    pub path: PathBuf,
    /// The key bytes.
    pub key: Vec<u8>,
    /// The value bytes as the codec wrote them; `None` from [`RawStore::keys`], which reads
    /// only headers and keys.
    pub value: Option<Vec<u8>>,
    /// Header fields.
    pub info: EntryInfo,
}

impl RawStore {
    fn open_settings(access: Access) -> Settings {
        Self::settings_with(access, Policy::default())
    }

    fn settings_with(access: Access, policy: Policy) -> Settings {
        Settings {
            durability: Durability::Durable,
            read_only: access == Access::ReadOnly,
            lock_timeout: None,
            stale_temp_age: STALE_TEMP_AGE,
            file_mode: sys::DEFAULT_FILE_MODE,
            policy,
        }
    }

    /// Checks that the names for a new store's manifest are plain words.
    fn check_names(key_encoding: &str, codec: &str) -> Result<()> {
        for (what, name) in [("key encoding", key_encoding), ("codec", codec)] {
            let plain = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !plain {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("{what} name `{name}` is not a plain word"),
                ));
            }
        }
        Ok(())
    }

    /// Opens the existing store at `path` with the key encoding and codec its manifest
    /// names. Writes are [`Durability::Durable`] unless changed with
    /// [`with_durability`](RawStore::with_durability).
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
        let engine = open::open_as_found(path.as_ref(), &Self::open_settings(access))?;
        Ok(RawStore { engine })
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
        let policy = Policy {
            encryption: Some(key),
            ..Policy::default()
        };
        let engine = open::open_as_found(path.as_ref(), &Self::settings_with(access, policy))?;
        Ok(RawStore { engine })
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
        Self::check_names(key_encoding, codec)?;
        let policy = Policy {
            encryption: Some(key),
            ..Policy::default()
        };
        let engine = open::open(
            path.as_ref(),
            Exists::Error,
            Manifest::new(key_encoding, codec),
            &Self::settings_with(Access::ReadWrite, policy),
        )?;
        Ok(RawStore { engine })
    }

    /// Whether the store is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.engine.sealer.is_some()
    }

    /// Creates a new, empty store at `path` (a missing path or an empty folder, as
    /// [`Exists::Error`]) whose manifest names `key_encoding` (such as `utf8`, `u64`,
    /// `bytes`, `msgpack`; see [`Key`](crate::Key)) and `codec` (such as `msgpack`, `raw`).
    /// Open it later with a `Store` of matching types.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](ErrorKind::InvalidInput) when a name is not a plain word;
    /// otherwise as [`Store::open`](crate::Store::open) with [`Exists::Error`]
    /// (`AlreadyExists`, `NotAStore`, `Io`).
    pub fn create(path: impl AsRef<Path>, key_encoding: &str, codec: &str) -> Result<Self> {
        Self::check_names(key_encoding, codec)?;
        let wanted = Manifest::new(key_encoding, codec);
        let engine = open::open(
            path.as_ref(),
            Exists::Error,
            wanted,
            &Self::open_settings(Access::ReadWrite),
        )?;
        Ok(RawStore { engine })
    }

    /// Sets how hard later writes work to survive a power cut (see [`Durability`]).
    #[must_use]
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.engine.durability = durability;
        self
    }

    /// The store's folder (absolute).
    pub fn path(&self) -> &Path {
        &self.engine.root
    }

    /// The key encoding named in the manifest (`key = …`).
    pub fn key_encoding(&self) -> &str {
        &self.engine.manifest.key
    }

    /// The codec named in the manifest (`codec = …`).
    pub fn codec(&self) -> &str {
        &self.engine.manifest.codec
    }

    /// The store format version from the manifest.
    pub fn format(&self) -> u32 {
        self.engine.manifest.format
    }

    /// The manifest's shard depth.
    pub fn shard_depth(&self) -> u32 {
        self.engine.manifest.shard_depth
    }

    /// Further manifest settings (`name = value` lines other than the ones above).
    pub fn settings(&self) -> &BTreeMap<String, String> {
        &self.engine.manifest.extra
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
        key_problem(self.key_encoding(), key)
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
        value_problem(self.codec(), value)
            .map_or(Ok(()), |m| Err(Error::new(ErrorKind::InvalidInput, m)))
    }

    /// The entry of `key`, value included; `None` when there is none or it has expired.
    /// Takes no lock.
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
            Ok(RawEntry {
                path: found.path.to_owned(),
                key: key.to_vec(),
                value: Some(found.value.to_vec()),
                info: EntryInfo::new(&found.header),
            })
        })
    }

    /// Writes `value` (codec bytes) under `key` (key bytes), replacing any old value
    /// atomically, exactly as [`Store::set`](crate::Store::set) does: a reader or a crash
    /// sees the old value or the new one, and no temp file is left behind on error.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](ErrorKind::ReadOnly); [`InvalidInput`](ErrorKind::InvalidInput) when
    /// [`check_key`](RawStore::check_key) or [`check_value`](RawStore::check_value) fails;
    /// [`Io`](ErrorKind::Io).
    pub fn set(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.set_many(std::iter::once((key, value)))
    }

    /// Writes several entries, each atomic on its own, committing them in chunks of 1,024
    /// under one lock per chunk (one folder fsync per shard and chunk in durable mode).
    /// When a key appears twice, the later value wins.
    ///
    /// # Errors
    ///
    /// As [`set`](RawStore::set). Entries of earlier chunks may have been written when an
    /// error is returned; entries of the failing chunk were not.
    pub fn set_many<'a, I>(&self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
    {
        self.put(items, None)
    }

    /// Writes `value` under `key` as [`set`](RawStore::set) does, expiring `ttl` from now
    /// (see [`Store::set_with_ttl`](crate::Store::set_with_ttl)).
    ///
    /// # Errors
    ///
    /// As [`set`](RawStore::set).
    pub fn set_with_ttl(&self, key: &[u8], value: &[u8], ttl: Duration) -> Result<()> {
        self.put(std::iter::once((key, value)), Some(ttl))
    }

    fn put<'a, I>(&self, items: I, ttl: Option<Duration>) -> Result<()>
    where
        I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
    {
        let e = &self.engine;
        e.put_many(items.into_iter().map(|(key, value)| {
            self.check_key(key)?;
            self.check_value(value)?;
            let hash = e.key_hash(key);
            let bytes = e.encode_entry(key, &hash, None, ttl, |out| {
                out.extend_from_slice(value);
                Ok(())
            })?;
            Ok((hash, bytes))
        }))
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

    /// Removes the entry of `key`. Returns whether it had a value (a damaged entry is
    /// removed too and counts as a value; an expired one does not).
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](ErrorKind::ReadOnly), [`Io`](ErrorKind::Io).
    pub fn remove(&self, key: &[u8]) -> Result<bool> {
        Ok(self.engine.remove_keys([key])? == 1)
    }

    /// The live entries with their values, streamed shard by shard in file-name order
    /// (memory stays flat). Expired entries are skipped. A damaged entry yields an `Err`
    /// naming its path and the walk goes on. Takes no lock.
    pub fn entries(&self) -> RawEntries<'_> {
        RawEntries::new(self, Need::Whole)
    }

    /// As [`entries`](RawStore::entries), reading only each file's header and key (the
    /// `value` fields are `None`); cheaper for large values.
    pub fn keys(&self) -> RawEntries<'_> {
        RawEntries::new(self, Need::Key)
    }

    /// Checks the entry file at `path` completely: header, length, checksum, that its key
    /// is the one its file name stands for, that the key is valid for the key encoding
    /// ([`check_key`](RawStore::check_key)) and the value for the codec
    /// ([`check_value`](RawStore::check_value)). Expired entries are checked too.
    /// `Ok(None)` when the file is gone.
    ///
    /// # Errors
    ///
    /// [`Corrupt`](ErrorKind::Corrupt) for damage (and for a name that is not an entry
    /// name); [`Decode`](ErrorKind::Decode) for an intact file whose key or value does not
    /// decode; [`IncompatibleFormat`](ErrorKind::IncompatibleFormat) for an entry this build
    /// cannot read; [`Io`](ErrorKind::Io).
    pub fn verify_file(&self, path: &Path) -> Result<Option<RawEntry>> {
        let Some(hash) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(layout::parse_entry_name)
        else {
            return Err(Error::corrupt("not an entry file name", path));
        };
        let Some(entry) = self.read_entry(path, &hash, Need::Whole, None)? else {
            return Ok(None);
        };
        let decode = |m: String| Err(Error::new(ErrorKind::Decode, m).with_path(path));
        if let Some(m) = key_problem(self.key_encoding(), &entry.key) {
            return decode(m);
        }
        if let Some(m) = entry
            .value
            .as_deref()
            .and_then(|v| value_problem(self.codec(), v))
        {
            return decode(m);
        }
        Ok(Some(entry))
    }

    /// Every file and folder of the store, classified (see [`ItemKind`](crate::ItemKind)): the root first,
    /// then `tmp/`, then the shard folders `00`..`ff` one at a time (streamed). Does not
    /// look inside `quarantine/` or inside foreign folders, and opens no entry file (use
    /// [`verify_file`](RawStore::verify_file) for that). A folder that cannot be listed
    /// yields one `Err` and the scan goes on.
    pub fn scan(&self) -> Scan {
        let own_id = self
            .engine
            .marker
            .as_ref()
            .map(|_| self.engine.writer_id.clone());
        Scan::new(&self.engine.root, own_id, self.engine.stale_temp_age)
    }

    /// Removes temp files left by writers that crashed (any age), temp files whose writer
    /// is unknown once older than an hour, and crashed writers' markers, scanning every
    /// shard. Temp files of live writers are never touched. Returns how many were removed.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](ErrorKind::ReadOnly); a folder cannot be listed.
    pub fn sweep_temps(&self) -> Result<usize> {
        self.engine.check_writable()?;
        Ok(self.engine.sweep(true)?.removed)
    }

    /// Makes the store's structure whole again: creates missing shard folders and a missing
    /// `tmp/`. Returns the folders made.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](ErrorKind::ReadOnly); [`Io`](ErrorKind::Io) when a folder cannot be made
    /// (for instance a file has its name).
    pub fn restore_folders(&self) -> Result<Vec<PathBuf>> {
        let e = &self.engine;
        e.check_writable()?;
        let mut made = Vec::new();
        let names = std::iter::once(layout::TMP.to_owned())
            .chain((0..=255u8).map(layout::shard_name))
            .collect::<Vec<_>>();
        for name in names {
            let dir = e.root.join(name);
            match fs::symlink_metadata(&dir) {
                Ok(_) => continue,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(Error::io("cannot examine store folder", &dir, err)),
            }
            match fs::create_dir(&dir) {
                Ok(()) => made.push(dir),
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(Error::io("cannot create store folder", &dir, err)),
            }
        }
        if !made.is_empty() && e.durability == Durability::Durable {
            // Each new folder first (its inode and `.`/`..` block), then the name in the
            // root: without a journal, syncing the root alone can leave a name that e2fsck
            // removes after a power cut.
            for dir in &made {
                sys::sync_dir(dir)
                    .map_err(|err| Error::io("cannot sync store folder", dir, err))?;
            }
            sys::sync_dir(&e.root)
                .map_err(|err| Error::io("cannot sync store folder", &e.root, err))?;
        }
        Ok(made)
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

    /// A quarantine for this store: a new folder `quarantine/<UTC time>-<id>/` (made on
    /// first use) that damaged entries and foreign files are moved into, keeping their
    /// path relative to the store. Nothing moved there is ever read or deleted by dirkv.
    pub fn quarantine(&self) -> Quarantine<'_> {
        let stamp = utc_text(self.engine.now_ms()).replace(':', "-");
        let stamp = stamp.split('.').next().unwrap_or(&stamp).to_owned();
        let dir = self
            .engine
            .root
            .join(layout::QUARANTINE)
            .join(format!("{stamp}Z-{}", self.engine.writer_id));
        Quarantine::new(self, dir)
    }
}

impl RawStore {
    /// Reads the entry file at `path`, whose name stands for `hash`. Expired entries are
    /// `Ok(None)` unless `now` is `None`.
    fn read_entry(
        &self,
        path: &Path,
        hash: &[u8; 32],
        need: Need,
        now: Option<u64>,
    ) -> Result<Option<RawEntry>> {
        let now = now.unwrap_or(0);
        self.engine
            .read_file(path, Expect::Hash(hash), need, now, |found| {
                let value = match need {
                    Need::Whole => Some(found.value.to_vec()),
                    Need::Key => None,
                };
                Ok(RawEntry {
                    path: path.to_owned(),
                    key: found.key.to_vec(),
                    value,
                    info: EntryInfo::new(&found.header),
                })
            })
    }
}

/// What is wrong with `key` as a key of `encoding`, if anything.
fn key_problem(encoding: &str, key: &[u8]) -> Option<String> {
    macro_rules! ints {
        ($($t:ident)*) => {
            match encoding {
                "utf8" => String::from_key_bytes(key).err(),
                "msgpack" => return msgpack_problem(key).map(|m| format!("key {m}")),
                $(stringify!($t) => <$t as OwnedKey>::from_key_bytes(key).err(),)*
                _ => None,
            }
        };
    }
    let err = ints!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize)?;
    Some(match encoding {
        "utf8" => "key is not UTF-8 text".to_owned(),
        _ => format!("key is not a {encoding} in canonical decimal form ({err})"),
    })
}

/// What is wrong with `value` for `codec`, if anything.
fn value_problem(codec: &str, value: &[u8]) -> Option<String> {
    match codec {
        "msgpack" => msgpack_problem(value).map(|m| format!("value {m}")),
        _ => None,
    }
}

/// Whether `bytes` is exactly one complete MessagePack value.
fn msgpack_problem(bytes: &[u8]) -> Option<String> {
    use serde::Deserialize;
    let mut de = rmp_serde::Deserializer::new(io::Cursor::new(bytes));
    match serde::de::IgnoredAny::deserialize(&mut de) {
        Err(err) => Some(format!("is not valid MessagePack ({err})")),
        Ok(_) if de.position() != bytes.len() as u64 => Some(format!(
            "is not one MessagePack value ({} bytes follow it)",
            bytes.len() as u64 - de.position()
        )),
        Ok(_) => None,
    }
}

/// A UTC time as `YYYY-MM-DDTHH:MM:SS.mmm` (no zone letter).
pub(crate) fn utc_text(ms: u64) -> String {
    let days = i64::try_from(ms / 86_400_000).unwrap_or(i64::MAX / 2);
    let rest = ms % 86_400_000;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

/// The entries of a store, from [`RawStore::entries`] and [`RawStore::keys`].
#[derive(Debug)]
pub struct RawEntries<'a> {
    store: &'a RawStore,
    paths: EntryPaths,
    need: Need,
    now: u64,
}

impl<'a> RawEntries<'a> {
    fn new(store: &'a RawStore, need: Need) -> Self {
        RawEntries {
            store,
            paths: EntryPaths::new(&store.engine.root),
            need,
            now: store.engine.now_ms(),
        }
    }
}

impl Iterator for RawEntries<'_> {
    type Item = Result<RawEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (path, hash) = match self.paths.next()? {
                Ok(found) => found,
                Err(err) => return Some(Err(err)),
            };
            match self
                .store
                .read_entry(&path, &hash, self.need, Some(self.now))
            {
                Ok(Some(entry)) => return Some(Ok(entry)),
                Ok(None) => continue,
                Err(err) => return Some(Err(err)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_is_rfc3339_like() {
        assert_eq!(utc_text(0), "1970-01-01T00:00:00.000");
        assert_eq!(utc_text(951_782_400_123), "2000-02-29T00:00:00.123");
        assert_eq!(utc_text(1_735_787_045_000), "2025-01-02T03:04:05.000");
    }

    #[test]
    fn keys_are_checked_per_encoding() {
        assert_eq!(key_problem("utf8", "héllo".as_bytes()), None);
        assert!(key_problem("utf8", &[0xff]).is_some());
        assert_eq!(key_problem("u8", b"255"), None);
        assert!(key_problem("u8", b"256").is_some());
        assert!(key_problem("u64", b"007").is_some());
        assert_eq!(key_problem("i64", b"-7"), None);
        assert_eq!(key_problem("bytes", &[0xff, 0]), None);
        assert_eq!(key_problem("msgpack", &[0x81, 0xa1, b'x', 0x01]), None);
        assert!(key_problem("msgpack", &[0x81, 0xa1, b'x']).is_some());
        assert!(key_problem("msgpack", &[0x01, 0x02]).is_some());
        assert_eq!(key_problem("some-future-encoding", &[0xff]), None);
    }

    #[test]
    fn values_are_checked_per_codec() {
        assert_eq!(value_problem("msgpack", &[0xa1, b'a']), None);
        assert!(value_problem("msgpack", &[]).is_some());
        assert!(value_problem("msgpack", &[0xc1]).is_some());
        assert!(value_problem("msgpack", &[0xdb, 0xff, 0xff, 0xff, 0xff]).is_some());
        assert_eq!(value_problem("raw", &[0xc1]), None);
    }
}
