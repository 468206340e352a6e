//! The non-generic body of a store: byte-level reads and writes of entry files, the lock,
//! and the record of writes not yet made durable. [`Store`](crate::Store) is a thin typed
//! shim over this.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tempfile::{NamedTempFile, TempPath};

use crate::atomic;
use crate::cache::{self, Cache, CacheMode, CacheSettings, CachedValue, Fill};
use crate::compress;
use crate::crypto::Sealer;
use crate::entry::{self, Damage, Entry, Header, Meta};
use crate::error::{Error, ErrorKind, Result};
use crate::expiry::AutoState;
use crate::flush::{self, Flusher, Pending};
use crate::layout::{self, Manifest};
use crate::lock::{LockGuard, StoreLock};
use crate::options::Durability;
use crate::policy::Policy;
use crate::read::{self, Need};
use crate::sys;

/// Batches commit in chunks of this many entries (bounded memory and open temp files).
pub(crate) const BATCH: usize = 1024;
/// A batch writes out its encoded entries whenever they add up to this many bytes.
const BATCH_BYTES: usize = 16 << 20;
/// A batch chunk with at least this many entries renames them from several threads.
const PARALLEL_RENAMES: usize = 64;

/// One open store, without its types.
#[derive(Debug)]
pub(crate) struct Engine {
    pub(crate) root: PathBuf,
    pub(crate) manifest: Manifest,
    pub(crate) durability: Durability,
    pub(crate) read_only: bool,
    pub(crate) lock: Option<StoreLock>,
    /// Held (and flock-ed) for as long as the store is open; unlinked on drop.
    pub(crate) marker: Option<NamedTempFile>,
    pub(crate) writer_id: String,
    pub(crate) file_mode: u32,
    pub(crate) stale_temp_age: Duration,
    /// Clock, access times, expiry, eviction and compression settings.
    pub(crate) policy: Policy,
    /// The keys of an encrypted store.
    pub(crate) sealer: Option<Sealer>,
    /// Automatic eviction's running count of writes and estimate of the store's size.
    pub(crate) auto: Mutex<AutoState>,
    /// Fast-mode writes not yet durable.
    pending: Arc<Pending>,
    /// The background flush thread (`Options::sync_interval`); stopped on drop.
    flusher: Option<Flusher>,
    /// The value cache (`Options::cache`).
    cache: Option<Cache>,
    /// Whether the writer's marker has been made durable (durable mode; see `write_temp`).
    marker_synced: AtomicBool,
}

/// The parts of an entry a caller gets to see.
pub(crate) struct Found<'a> {
    pub path: &'a Path,
    /// The open entry file (for its metadata, or to record an access time).
    pub file: &'a File,
    pub header: Header,
    /// The key bytes (decrypted when the store is encrypted).
    pub key: &'a [u8],
    /// The value bytes as the codec wrote them (decrypted and decompressed). Empty when
    /// only the key was read.
    pub value: &'a [u8],
}

/// What a batch tells the cache about one entry: its key bytes and, in trusted mode, the
/// value.
pub(crate) type CacheNote = (Vec<u8>, Option<CachedValue>);

/// A change to one entry, ready to be made under the store lock.
pub(crate) enum Change {
    /// Put a complete temp file in place; `stored` and `cached` tell the cache about it.
    Put {
        temp: TempPath,
        stored: Stored,
        cached: Option<CachedValue>,
    },
    /// Remove the entry.
    Remove,
}

/// What the cache needs to know of an entry file just written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stored {
    len: usize,
    /// `None` when the header cannot be read back (never for bytes this store encoded).
    expires_ms: Option<u64>,
}

impl Stored {
    pub(crate) fn of(bytes: &[u8]) -> Stored {
        Stored {
            len: bytes.len(),
            expires_ms: entry::parse_header(bytes).ok().map(|h| h.meta.expires_ms),
        }
    }
}

/// Plain key and value bytes, borrowed from the file's bytes or decrypted/decompressed.
type KeyValue<'b> = (Cow<'b, [u8]>, Cow<'b, [u8]>);

/// What a read of one entry file found.
pub(crate) enum Lookup<R> {
    /// No file.
    Missing,
    /// An entry that expired (it is still on disk).
    Expired,
    /// A live entry, as the caller's function made it.
    Found(R),
}

/// What an entry file must hold to belong where it was found.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Expect<'a> {
    /// Exactly this key (a lookup by key).
    Key(&'a [u8]),
    /// A key whose hash is this file's name (a listing).
    Hash(&'a [u8; 32]),
}

/// The error for damage found in the file at `path`.
pub(crate) fn damage_error(damage: &Damage, path: &Path) -> Error {
    let kind = if damage.is_newer_format() {
        ErrorKind::IncompatibleFormat
    } else {
        ErrorKind::Corrupt
    };
    Error::new(kind, damage.to_string()).with_path(path)
}

/// Whether `err` says that a file or folder does not exist.
fn is_missing(err: &Error) -> bool {
    err.kind() == ErrorKind::Io && err.io_error_kind() == Some(io::ErrorKind::NotFound)
}

/// The error for a failed read of the entry at `path`.
pub(crate) fn read_error(err: io::Error, path: &Path) -> Error {
    if sys::is_not_a_file_error(&err) {
        Error::new(
            ErrorKind::Corrupt,
            "a link, folder, FIFO or socket is where an entry file should be",
        )
        .with_path(path)
        .with_source(err)
    } else {
        Error::io("cannot read entry", path, err)
    }
}

/// Decodes header and key from `bytes` (a whole file, or a prefix holding at least the key),
/// checking the checksum whenever the whole file is there.
pub(crate) fn decode_prefix(bytes: &[u8]) -> std::result::Result<(Header, &[u8]), Damage> {
    let header = entry::parse_header(bytes)?;
    if bytes.len() as u64 >= header.total_len() {
        let e = entry::decode(bytes)?;
        return Ok((e.header, e.key));
    }
    match entry::key_of(bytes)? {
        Some(found) => Ok(found),
        None => Err(Damage::Length {
            expected: header.total_len(),
            actual: bytes.len() as u64,
        }),
    }
}

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        root: PathBuf,
        manifest: Manifest,
        durability: Durability,
        read_only: bool,
        lock: Option<StoreLock>,
        marker: Option<NamedTempFile>,
        writer_id: String,
        file_mode: u32,
        stale_temp_age: Duration,
    ) -> Self {
        let pending = Arc::new(Pending::new(&root));
        Engine {
            root,
            manifest,
            durability,
            read_only,
            lock,
            marker,
            writer_id,
            file_mode,
            stale_temp_age,
            pending,
            flusher: None,
            cache: None,
            marker_synced: AtomicBool::new(false),
            policy: Policy::default(),
            sealer: None,
            auto: Mutex::new(AutoState::default()),
        }
    }

    /// The current time by the store's clock, in milliseconds since the Unix epoch.
    pub(crate) fn now_ms(&self) -> u64 {
        self.policy.now_ms()
    }

    /// Turns the value cache on.
    pub(crate) fn enable_cache(&mut self, settings: CacheSettings) {
        self.cache = Some(Cache::new(settings));
    }

    /// Starts the background flush thread, for a writable fast-mode store.
    pub(crate) fn start_flusher(&mut self, interval: Duration) -> Result<()> {
        if self.read_only || self.durable() || self.flusher.is_some() {
            return Ok(());
        }
        let flusher = Flusher::start(Arc::clone(&self.pending), interval)
            .map_err(|e| Error::io("cannot start the background flush thread", &self.root, e))?;
        self.flusher = Some(flusher);
        Ok(())
    }

    fn durable(&self) -> bool {
        self.durability == Durability::Durable
    }

    /// The entry path of a hash.
    pub(crate) fn entry_path(&self, hash: &[u8; 32]) -> PathBuf {
        layout::entry_path(&self.root, hash)
    }

    fn shard_dir(&self, shard: u8) -> PathBuf {
        self.root.join(layout::shard_name(shard))
    }

    /// The shard folder of `shard`, checked to be a real folder: a write, removal or clear
    /// never goes through a shard folder that has been replaced by a link (or a file).
    fn real_shard_dir(&self, shard: u8) -> Result<PathBuf> {
        let dir = self.shard_dir(shard);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => Ok(dir),
            Ok(_) => Err(Error::corrupt(
                "shard folder is not a folder (a link or a file?)",
                &dir,
            )),
            Err(e) => Err(Error::io("cannot use shard folder", &dir, e)),
        }
    }

    /// Fails with `ReadOnly` on a read-only store.
    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(
                Error::new(ErrorKind::ReadOnly, "the store is open read-only")
                    .with_path(&self.root),
            );
        }
        Ok(())
    }

    /// Takes the write lock.
    pub(crate) fn lock(&self) -> Result<LockGuard<'_>> {
        match &self.lock {
            Some(lock) => lock.lock(),
            None => Err(
                Error::new(ErrorKind::ReadOnly, "the store is open read-only")
                    .with_path(&self.root),
            ),
        }
    }

    /// The hash that names the entry file of `key`: SHA-256 of the key bytes, or with
    /// encryption HMAC-SHA256 keyed by a key derived from the store key.
    pub(crate) fn key_hash(&self, key: &[u8]) -> [u8; 32] {
        match &self.sealer {
            Some(sealer) => sealer.name_hash(key),
            None => layout::hash(key),
        }
    }

    /// Builds the bytes of an entry file: header, `key`, then what `encode_value` appends,
    /// compressed and encrypted as the store's settings say. The entry expires `ttl` from
    /// now, or after the store's default TTL when `ttl` is `None`.
    pub(crate) fn encode_entry(
        &self,
        key: &[u8],
        hash: &[u8; 32],
        created_ms: Option<u64>,
        ttl: Option<Duration>,
        encode_value: impl FnOnce(&mut Vec<u8>) -> std::result::Result<(), crate::BoxError>,
    ) -> Result<Vec<u8>> {
        let path = || self.entry_path(hash);
        if key.len() > entry::MAX_KEY_LEN {
            return Err(
                Error::new(ErrorKind::InvalidInput, "key is longer than 4 GiB").with_path(path()),
            );
        }
        let mut buf = Vec::with_capacity(entry::HEADER_LEN + key.len() + 128);
        let value_start = match &self.sealer {
            Some(sealer) => sealer.begin(&mut buf, key),
            None => {
                entry::begin(&mut buf, key);
                buf.len()
            }
        };
        encode_value(&mut buf).map_err(|e| {
            Error::new(ErrorKind::Encode, "cannot encode value")
                .with_path(path())
                .with_source(e)
        })?;
        if buf.len() < value_start {
            return Err(Error::new(
                ErrorKind::Encode,
                "the codec removed bytes it did not write",
            )
            .with_path(path()));
        }
        let mut flags = 0;
        if let Some(min) = self.policy.compress_min
            && buf.len() - value_start >= min
            && let Some(packed) = compress::compress(&buf[value_start..])
        {
            buf.truncate(value_start);
            buf.extend_from_slice(&packed);
            flags |= entry::FLAG_COMPRESSED;
        }
        let now = self.now_ms();
        let meta = Meta {
            flags,
            created_ms: created_ms.unwrap_or(now),
            modified_ms: now,
            expires_ms: self.policy.expires_ms(now, ttl),
        };
        match &self.sealer {
            Some(sealer) => sealer
                .finish(&mut buf, &meta)
                .map_err(|e| e.with_path(path()))?,
            None => entry::finish(&mut buf, key.len(), &meta),
        }
        Ok(buf)
    }

    /// Turns the stored key and value of an entry into the plain ones: decrypts (the
    /// entry's own header bytes `header_bytes` are the associated data) and, when `need`
    /// is `Whole`, decompresses. With `Need::Key` the value returned is empty.
    fn unseal<'b>(
        &self,
        header_bytes: &[u8],
        header: &Header,
        key: &'b [u8],
        value: &'b [u8],
        need: Need,
        path: &Path,
    ) -> Result<KeyValue<'b>> {
        let encrypted = header.meta.flags & entry::FLAG_ENCRYPTED != 0;
        let (key, value): KeyValue<'b> = match (&self.sealer, encrypted) {
            (None, false) => (Cow::Borrowed(key), Cow::Borrowed(value)),
            (Some(sealer), true) => {
                let (k, v) = sealer.open(header_bytes, value, path)?;
                (Cow::Owned(k), Cow::Owned(v))
            }
            (None, true) => {
                return Err(Error::corrupt(
                    "entry is encrypted, but the store is not",
                    path,
                ));
            }
            (Some(_), false) => {
                return Err(Error::corrupt(
                    "entry is not encrypted, but the store is",
                    path,
                ));
            }
        };
        if need == Need::Key {
            return Ok((key, Cow::Borrowed(&[])));
        }
        if header.meta.flags & entry::FLAG_COMPRESSED != 0 {
            return Ok((key, Cow::Owned(compress::decompress(&value, path)?)));
        }
        Ok((key, value))
    }

    /// Reads the live entry of `key` (whose hash is `hash`) and hands it to `f`.
    /// `Ok(None)` when absent or expired; a damaged file, or one holding another key, is
    /// a `Corrupt` error naming it. No side effects: safe under the lock.
    pub(crate) fn read<R>(
        &self,
        key: &[u8],
        hash: &[u8; 32],
        need: Need,
        f: impl FnOnce(Found<'_>) -> Result<R>,
    ) -> Result<Option<R>> {
        self.read_file(
            &self.entry_path(hash),
            Expect::Key(key),
            need,
            self.now_ms(),
            f,
        )
    }

    /// As [`read`](Engine::read), for the caller's own lookups (`get`, `contains_key`):
    /// a value read (`Need::Whole`) records its access time when the store tracks access,
    /// and an expired entry is removed (lazily; see [`remove_expired`](Engine::remove_expired)).
    /// Never call it with the lock held.
    pub(crate) fn lookup<R>(
        &self,
        key: &[u8],
        hash: &[u8; 32],
        need: Need,
        f: impl FnOnce(Found<'_>) -> Result<R>,
    ) -> Result<Option<R>> {
        let path = self.entry_path(hash);
        let touch = self.policy.track_access && need == Need::Whole;
        // The clock is read when the access is recorded, or when the entry can expire.
        let now = touch.then(|| self.policy.now());
        let found = self.read_entry(
            &path,
            Expect::Key(key),
            need,
            now.map(crate::clock::to_ms),
            |found| {
                if let Some(now) = now {
                    crate::expiry::touch(found.file, now);
                }
                f(found)
            },
        )?;
        match found {
            Lookup::Found(r) => Ok(Some(r)),
            Lookup::Missing => Ok(None),
            Lookup::Expired => {
                if self.lock.is_some() {
                    // Best effort: the entry reads as absent whether or not it goes now.
                    let _ = self.remove_expired(hash);
                }
                Ok(None)
            }
        }
    }

    /// Reads the entry file at `path`, checks it holds the expected key, and hands it to
    /// `f`. `Ok(None)` when the file is missing or the entry expired at `now`.
    pub(crate) fn read_file<R>(
        &self,
        path: &Path,
        expect: Expect<'_>,
        need: Need,
        now: u64,
        f: impl FnOnce(Found<'_>) -> Result<R>,
    ) -> Result<Option<R>> {
        Ok(match self.read_entry(path, expect, need, Some(now), f)? {
            Lookup::Found(r) => Some(r),
            Lookup::Missing | Lookup::Expired => None,
        })
    }

    /// The one place entry files are read: reads the file at `path`, checks it (checksum,
    /// decryption, the key it holds), and hands a live entry to `f`. Expiry is judged at
    /// `now`; `None` reads the store's clock, and only for an entry that can expire.
    pub(crate) fn read_entry<R>(
        &self,
        path: &Path,
        expect: Expect<'_>,
        need: Need,
        now: Option<u64>,
        f: impl FnOnce(Found<'_>) -> Result<R>,
    ) -> Result<Lookup<R>> {
        // The key of an encrypted entry is inside the ciphertext, with the value.
        let read_need = if self.sealer.is_some() {
            Need::Whole
        } else {
            need
        };
        // A store that records reads itself keeps its other reads from touching them.
        let noatime = self.policy.track_access;
        let out = read::with_entry_file(path, read_need, noatime, |file, bytes| {
            let bytes = bytes.map_err(|d| damage_error(&d, path))?;
            let (header, key, value) = match read_need {
                Need::Whole => {
                    let Entry { header, key, value } =
                        entry::decode(bytes).map_err(|d| damage_error(&d, path))?;
                    (header, key, value)
                }
                Need::Key => {
                    let (header, key) = decode_prefix(bytes).map_err(|d| damage_error(&d, path))?;
                    (header, key, &[][..])
                }
            };
            let header_bytes = bytes.get(..header.header_len).unwrap_or_default();
            let (key, value) = self.unseal(header_bytes, &header, key, value, need, path)?;
            let belongs = match expect {
                Expect::Key(wanted) => *key == *wanted,
                Expect::Hash(hash) => self.key_hash(&key) == *hash,
            };
            if !belongs {
                return Err(Error::corrupt(
                    "entry file holds a key that does not belong under its name",
                    path,
                ));
            }
            if header.meta.expires_ms != 0
                && header.expired_at(now.unwrap_or_else(|| self.now_ms()))
            {
                return Ok(Lookup::Expired);
            }
            f(Found {
                path,
                file,
                header,
                key: &key,
                value: &value,
            })
            .map(Lookup::Found)
        });
        match out {
            Ok(Some(r)) => r,
            Ok(None) => Ok(Lookup::Missing),
            Err(e) => Err(read_error(e, path)),
        }
    }

    /// The hash of the key held by the entry (or temp) file at `path`, under this store's
    /// naming; `None` when it is not a readable entry.
    pub(crate) fn hash_of_file(&self, path: &Path) -> Option<[u8; 32]> {
        let read_need = if self.sealer.is_some() {
            Need::Whole
        } else {
            Need::Key
        };
        let out = read::with_entry(path, read_need, |bytes| {
            let bytes = bytes.ok()?;
            let header = entry::parse_header(bytes).ok()?;
            let (key, value) = match read_need {
                Need::Whole => {
                    let e = entry::decode(bytes).ok()?;
                    (e.key, e.value)
                }
                Need::Key => (entry::key_of(bytes).ok()??.1, &[][..]),
            };
            let header_bytes = bytes.get(..header.header_len)?;
            let (key, _) = self
                .unseal(header_bytes, &header, key, value, Need::Key, path)
                .ok()?;
            Some(self.key_hash(&key))
        });
        out.ok().flatten().flatten()
    }

    /// The value of `key` from the cache, or else read from its file by `decode` and cached
    /// (when the file may be), handed to `out`. `Ok(None)` when absent.
    pub(crate) fn read_cached<R>(
        &self,
        key: &[u8],
        decode: impl FnOnce(Found<'_>) -> Result<CachedValue>,
        out: impl Fn(&CachedValue) -> R,
    ) -> Result<Option<R>> {
        let Some(cache) = &self.cache else {
            let hash = self.key_hash(key);
            return self.lookup(key, &hash, Need::Whole, |found| Ok(out(&decode(found)?)));
        };
        // A hit hashes the key with the cache's SipHash only: no SHA-256, no path.
        let epoch = match cache.get(key, || self.now_ms(), &out) {
            cache::Lookup::Hit(value) => return Ok(Some(value)),
            cache::Lookup::Miss(epoch) => epoch,
        };
        let hash = self.key_hash(key);
        let validated = cache.mode() == CacheMode::Validated;
        // `lookup` records the access (when the store tracks access) before calling us, so
        // the identity taken here is the file's after that.
        let read = self.lookup(key, &hash, Need::Whole, |found| {
            let check = if validated {
                found
                    .file
                    .metadata()
                    .ok()
                    .and_then(|meta| cache::identity_to_cache(&meta, SystemTime::now()))
                    .map(|id| (found.path, id))
            } else {
                None
            };
            let stored_len = found.header.total_len();
            let expires_ms = found.header.meta.expires_ms;
            let value = decode(found)?;
            let result = out(&value);
            cache.fill(
                Fill {
                    key,
                    value,
                    check,
                    expires_ms,
                    stored_len: usize::try_from(stored_len).unwrap_or(usize::MAX),
                },
                epoch,
            );
            Ok(result)
        })?;
        if read.is_none() {
            // Absent (or expired): an older cached value must not come back.
            cache.discard(key);
        }
        Ok(read)
    }

    /// Whether the cache holds a live value for `key` (a hit, counted as one).
    pub(crate) fn cached(&self, key: &[u8]) -> bool {
        self.cache
            .as_ref()
            .is_some_and(|c| matches!(c.get(key, || self.now_ms(), |_| ()), cache::Lookup::Hit(())))
    }

    /// Whether own writes should hand their values to the cache (trusted mode).
    pub(crate) fn caches_writes(&self) -> bool {
        self.cache
            .as_ref()
            .is_some_and(|c| c.mode() == CacheMode::Trusted)
    }

    /// After this store wrote an entry of `key`: the cache keeps `value` (trusted mode,
    /// when given) or forgets the key. The caller holds the store lock, so the cache
    /// follows the order of the writes.
    pub(crate) fn cache_written(&self, key: &[u8], stored: Stored, value: Option<CachedValue>) {
        let Some(cache) = &self.cache else { return };
        let (Some(value), Some(expires_ms)) = (value, stored.expires_ms) else {
            cache.forget(key);
            return;
        };
        cache.written(Fill {
            key,
            value,
            check: None,
            expires_ms,
            stored_len: stored.len,
        });
    }

    /// Makes `change` to the entry of `key` while `guard` holds the store lock, keeps the
    /// cache in step, releases the lock, then makes the change durable (durable mode) or
    /// records it for `sync` (fast mode): the tail of every single-key write.
    pub(crate) fn settle(
        &self,
        guard: LockGuard<'_>,
        key: &[u8],
        hash: &[u8; 32],
        change: Change,
    ) -> Result<()> {
        match change {
            Change::Put {
                temp,
                stored,
                cached,
            } => {
                self.commit(temp, hash)?;
                self.cache_written(key, stored, cached);
                drop(guard);
                self.written(&[*hash], &[])
            }
            Change::Remove => {
                let removed = self.unlink(hash)?;
                self.cache_forget(key);
                drop(guard);
                if removed {
                    self.written(&[], &[hash[0]])
                } else {
                    Ok(())
                }
            }
        }
    }

    /// After this store removed `key` (or replaced it with a value the cache does not get).
    pub(crate) fn cache_forget(&self, key: &[u8]) {
        if let Some(cache) = &self.cache {
            cache.forget(key);
        }
    }

    /// Empties the value cache (after removals known only by file name: eviction, purge).
    pub(crate) fn cache_clear(&self) {
        if let Some(cache) = &self.cache {
            cache.clear();
        }
    }

    /// What the value cache holds; `None` without a cache.
    pub(crate) fn cache_stats(&self) -> Option<cache::CacheStats> {
        self.cache.as_ref().map(Cache::stats)
    }

    /// Writes complete entry files to temp files beside their final places, in order. In
    /// durable mode the files are written and fsynced from several threads at once. On
    /// error every temp file written is removed.
    pub(crate) fn write_temps(&self, items: &[([u8; 32], Vec<u8>)]) -> Result<Vec<TempPath>> {
        let threads = if self.durable() {
            atomic::SYNC_THREADS
        } else {
            1
        };
        atomic::concurrently(items.iter().collect(), threads, |item| {
            self.write_temp(&item.0, &item.1)
        })
    }

    /// Writes a complete entry file to a temp file beside its final place.
    pub(crate) fn write_temp(&self, hash: &[u8; 32], bytes: &[u8]) -> Result<TempPath> {
        self.marker_durable()?;
        let dir = self.real_shard_dir(hash[0])?;
        let temp = atomic::write_temp(&dir, &self.writer_id, bytes, self.durable(), self.file_mode)
            .map_err(|e| Error::io("cannot write entry", &self.entry_path(hash), e))?;
        if self.policy.clock.is_some() {
            // With a clock of its own, the store's file times follow that clock too, as
            // eviction orders entries by them.
            crate::expiry::stamp(&temp, self.policy.now());
        }
        Ok(temp)
    }

    /// In durable mode, makes this writer's marker in `tmp/` durable (file, then folder)
    /// before its first temp file can exist, so that after a power cut every temp file
    /// left in a shard has a marker the next open finds unlocked. Done once, by the first
    /// write rather than by the open, so that opening a store to read it costs no fsync.
    fn marker_durable(&self) -> Result<()> {
        if !self.durable() || self.marker_synced.load(Ordering::Acquire) {
            return Ok(());
        }
        if let Some(marker) = &self.marker {
            let path = marker.path();
            marker
                .as_file()
                .sync_all()
                .map_err(|e| Error::io("cannot sync the writer's marker", path, e))?;
            let tmp = self.root.join(layout::TMP);
            sys::sync_dir(&tmp).map_err(|e| Error::io("cannot sync folder", &tmp, e))?;
        }
        // Two threads may both get here first; syncing twice is harmless.
        self.marker_synced.store(true, Ordering::Release);
        Ok(())
    }

    /// Renames a temp file over the entry. The caller holds the lock.
    pub(crate) fn commit(&self, temp: TempPath, hash: &[u8; 32]) -> Result<()> {
        let path = self.entry_path(hash);
        atomic::commit(temp, &path)
            .map_err(|e| Error::io("cannot rename temp file into place", &path, e))
    }

    /// Removes the entry file of `hash`; `Ok(false)` when there was none. The caller holds
    /// the lock.
    pub(crate) fn unlink(&self, hash: &[u8; 32]) -> Result<bool> {
        match self.real_shard_dir(hash[0]) {
            Ok(_) => {}
            Err(e) if is_missing(&e) => return Ok(false),
            Err(e) => return Err(e),
        }
        let path = self.entry_path(hash);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("cannot remove entry", &path, e)),
        }
    }

    /// After entries were written (`files`) or removed (`shards` only): in durable mode
    /// fsync each touched shard folder once; in fast mode remember them for `sync`. Then
    /// runs automatic eviction when it is due. Call it without the lock held.
    pub(crate) fn written(&self, files: &[[u8; 32]], removed_in: &[u8]) -> Result<()> {
        self.make_durable(files, removed_in)?;
        if !files.is_empty() && self.policy.auto_evict.is_some() {
            self.after_writes(files);
        }
        Ok(())
    }

    fn make_durable(&self, files: &[[u8; 32]], removed_in: &[u8]) -> Result<()> {
        let mut shards: Vec<u8> = files
            .iter()
            .map(|h| h[0])
            .chain(removed_in.iter().copied())
            .collect();
        shards.sort_unstable();
        shards.dedup();
        if self.durable() {
            return flush::sync_shards(&self.root, &shards);
        }
        self.pending.record(files, &shards);
        Ok(())
    }

    /// Writes entries given as `(hash, entry bytes)` (each built by [`encode_entry`]); see
    /// [`put_many_noted`](Engine::put_many_noted).
    ///
    /// [`encode_entry`]: Engine::encode_entry
    pub(crate) fn put_many(
        &self,
        items: impl IntoIterator<Item = Result<([u8; 32], Vec<u8>)>>,
    ) -> Result<()> {
        self.put_many_noted(
            items
                .into_iter()
                .map(|item| item.map(|(hash, bytes)| (hash, bytes, None))),
        )
    }

    /// Writes entries given as `(hash, entry bytes, what the cache keeps)`, in chunks of
    /// [`BATCH`]: the chunk's temp files are written first (in durable mode from several
    /// threads at once, each fsynced; written out whenever their bytes add up to
    /// [`BATCH_BYTES`], so memory stays bounded), then renamed under one lock. At the end
    /// each touched shard folder is synced once for the whole call (durable mode), also
    /// when an error stopped it after earlier chunks were committed. Items are produced
    /// lazily, so a failing item stops the batch before its chunk is committed.
    ///
    /// The note is the key and, in trusted mode, the value for the cache (the key alone
    /// makes the cache forget it); `None` when the store has no cache.
    pub(crate) fn put_many_noted(
        &self,
        items: impl IntoIterator<Item = Result<([u8; 32], Vec<u8>, Option<CacheNote>)>>,
    ) -> Result<()> {
        self.check_writable()?;
        let mut items = items.into_iter().peekable();
        let mut committed: Vec<[u8; 32]> = Vec::new();
        let mut result = Ok(());
        while items.peek().is_some() && result.is_ok() {
            result = self.put_chunk(items.by_ref().take(BATCH), &mut committed);
        }
        let written = self.written(&committed, &[]);
        result.and(written)
    }

    fn put_chunk(
        &self,
        items: impl Iterator<Item = Result<([u8; 32], Vec<u8>, Option<CacheNote>)>>,
        committed: &mut Vec<[u8; 32]>,
    ) -> Result<()> {
        let mut temps = Vec::new();
        let mut notes = Vec::new();
        let mut encoded: Vec<([u8; 32], Vec<u8>)> = Vec::new();
        let mut encoded_bytes = 0;
        let mut items = items.peekable();
        while let Some(item) = items.next() {
            let (hash, bytes, note) = item?;
            notes.push(note.map(|(key, value)| (key, Stored::of(&bytes), value)));
            encoded_bytes += bytes.len();
            encoded.push((hash, bytes));
            if encoded_bytes >= BATCH_BYTES || items.peek().is_none() {
                let written = self.write_temps(&encoded)?;
                temps.extend(encoded.drain(..).map(|(hash, _)| hash).zip(written));
                encoded_bytes = 0;
            }
        }
        let hashes: Vec<[u8; 32]> = temps.iter().map(|(hash, _)| *hash).collect();
        let _guard = self.lock()?;
        let (done, result) = self.commit_all(temps);
        for i in done {
            committed.push(hashes[i]);
            if let Some((key, stored, value)) = notes[i].take() {
                self.cache_written(&key, stored, value);
            }
        }
        result
    }

    /// Renames temp files over their entries; the caller holds the lock. Returns the
    /// indices of those renamed (in order) and the first error. A batch of at least
    /// [`PARALLEL_RENAMES`] renames from several threads, each shard's in their order (so
    /// the later of two writes of a key still wins): renaming over an existing entry frees
    /// its old file, which costs tens of microseconds on a disk that discards freed blocks,
    /// and renames in different folders do not wait for each other.
    fn commit_all(&self, temps: Vec<([u8; 32], TempPath)>) -> (Vec<usize>, Result<()>) {
        let commit_group = |group: Vec<(usize, [u8; 32], TempPath)>| {
            let mut done = Vec::with_capacity(group.len());
            for (i, hash, temp) in group {
                if let Err(e) = self.commit(temp, &hash) {
                    return (done, Err(e));
                }
                done.push(i);
            }
            (done, Ok(()))
        };
        let numbered = temps.into_iter().enumerate().map(|(i, (h, t))| (i, h, t));
        if numbered.len() < PARALLEL_RENAMES {
            return commit_group(numbered.collect());
        }
        let mut groups: Vec<Vec<(usize, [u8; 32], TempPath)>> =
            (0..layout::SHARDS).map(|_| Vec::new()).collect();
        for item in numbered {
            groups[usize::from(item.1[0])].push(item);
        }
        groups.retain(|g| !g.is_empty());
        let outcomes = atomic::concurrently(groups, atomic::SYNC_THREADS, |group| {
            Ok::<_, std::convert::Infallible>(commit_group(group))
        });
        let mut done = Vec::new();
        let mut result = Ok(());
        for (group_done, group_result) in outcomes.unwrap_or_default() {
            done.extend(group_done);
            if result.is_ok() {
                result = group_result;
            }
        }
        done.sort_unstable();
        (done, result)
    }

    /// Removes the entries of `keys` under one lock; returns how many had a live value
    /// (a damaged entry is removed and counts; an expired one is removed and does not).
    pub(crate) fn remove_keys<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k [u8]>,
    ) -> Result<usize> {
        self.check_writable()?;
        let mut removed = 0;
        let mut shards = Vec::new();
        {
            let _guard = self.lock()?;
            for key in keys {
                let hash = self.key_hash(key);
                let live = !matches!(self.read(key, &hash, Need::Key, |_| Ok(())), Ok(None));
                let unlinked = self.unlink(&hash);
                self.cache_forget(key);
                if unlinked? {
                    shards.push(hash[0]);
                    removed += usize::from(live);
                }
            }
        }
        self.written(&[], &shards)?;
        Ok(removed)
    }

    /// Makes every write made through this store so far durable.
    pub(crate) fn sync(&self) -> Result<()> {
        self.pending.sync()
    }

    /// Sweeps crashed writers' temp files (all shards when `full`).
    pub(crate) fn sweep(&self, full: bool) -> Result<atomic::Sweep> {
        let own = self.marker.as_ref().map(|_| self.writer_id.as_str());
        let name_of = |path: &Path| self.hash_of_file(path);
        atomic::sweep(&self.root, own, self.stale_temp_age, full, &name_of)
            .map_err(|e| Error::io("cannot sweep temp files", &self.root, e))
    }

    /// Removes every entry file, shard by shard (each under the lock).
    pub(crate) fn clear(&self) -> Result<()> {
        self.check_writable()?;
        let result = self.clear_files();
        // After the files (also when some are left): a value read before its file was
        // removed is refused by the epoch check.
        if let Some(cache) = &self.cache {
            cache.clear();
        }
        result
    }

    fn clear_files(&self) -> Result<()> {
        for shard in 0..=255u8 {
            let dir = self.shard_dir(shard);
            let guard = self.lock()?;
            match self.real_shard_dir(shard) {
                Ok(_) => {}
                Err(e) if is_missing(&e) => continue,
                Err(e) => return Err(e),
            }
            let items = match fs::read_dir(&dir) {
                Ok(items) => items,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io("cannot list shard folder", &dir, e)),
            };
            for item in items {
                let item = item.map_err(|e| Error::io("cannot list shard folder", &dir, e))?;
                let name = item.file_name();
                let is_file = item.file_type().map(|t| t.is_file()).unwrap_or(false);
                if !is_file || name.to_str().and_then(layout::parse_entry_name).is_none() {
                    continue;
                }
                match fs::remove_file(item.path()) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io("cannot remove entry", &item.path(), e)),
                }
            }
            drop(guard);
            self.written(&[], &[shard])?;
        }
        Ok(())
    }
}
