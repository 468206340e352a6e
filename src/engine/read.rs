//! Reading entries: the one place entry bytes are checked (checksum, decryption, the key
//! they hold, expiry), lookups with lazy expiry and access times, and reads through the
//! value cache.

use std::fs::File;
use std::path::PathBuf;
use std::time::SystemTime;

use super::Engine;
use super::cache::{self, CacheMode, CachedValue, Fill};
use super::storage::{Hash, ReadOpts, Version};
use crate::error::{Error, ErrorKind, Result};
use crate::format::entry::{self, Damage, Header};
use crate::fs::read::Need;

/// The parts of an entry a caller gets to see.
pub(crate) struct Found<'a> {
    pub hash: &'a Hash,
    /// The open entry file (local storage), for its metadata or to record an access time.
    pub file: Option<&'a File>,
    pub header: Header,
    /// The key bytes (decrypted when the store is encrypted).
    pub key: &'a [u8],
    /// The value bytes as the codec wrote them (decrypted and decompressed). Empty when
    /// only the key was read.
    pub value: &'a [u8],
    /// The version read, when asked for.
    pub version: Option<Version>,
    engine: &'a Engine,
}

impl Found<'_> {
    /// The entry's file (or object URL), for messages.
    pub(crate) fn path(&self) -> PathBuf {
        self.engine.entry_path(self.hash)
    }

    /// A copy of the value bytes, or an error naming the entry when memory for it cannot
    /// be had (a value inflated from a small compressed file may be large), never an abort.
    pub(crate) fn value_vec(&self) -> Result<Vec<u8>> {
        copy_bytes(self.value)
            .map_err(|e| Error::io("not enough memory for the value", &self.path(), e))
    }
}

/// `bytes` copied into a new vector whose memory is reserved fallibly.
pub(crate) fn copy_bytes(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    out.try_reserve_exact(bytes.len())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::OutOfMemory))?;
    out.extend_from_slice(bytes);
    Ok(out)
}

/// What a read of one entry found.
pub(crate) enum Lookup<R> {
    /// No entry.
    Missing,
    /// An entry that expired (it is still stored).
    Expired,
    /// A live entry, as the caller's function made it.
    Found(R),
}

/// What an entry must hold to belong where it was found.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Expect<'a> {
    /// Exactly this key (a lookup by key).
    Key(&'a [u8]),
    /// A key whose hash is this entry's name (a listing).
    Hash,
}

/// The error for damage found in the entry at `path`.
pub(crate) fn damage_error(damage: &Damage, path: PathBuf) -> Error {
    let kind = if damage.is_newer_format() {
        ErrorKind::IncompatibleFormat
    } else {
        ErrorKind::Corrupt
    };
    Error::new(kind, damage.to_string()).with_path(path)
}

/// Decodes header and key from `bytes` (a whole file, or a prefix holding at least the
/// key), checking the checksum whenever the whole file is there.
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

/// The version of an open entry file; `None` when it was unlinked meanwhile (link count
/// 0: nothing to validate against).
fn file_version(file: &File) -> Option<Version> {
    let st = crate::fs::sys::fstat(file).ok()?;
    (st.st_nlink > 0).then(|| Version::File(crate::fs::sys::FileId::of(&st)))
}

/// When expiry is judged.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Now {
    /// At this time (ms since the epoch).
    At(u64),
    /// The store's clock, read only for an entry that can expire.
    Clock,
    /// Never: expired entries are returned too (verification).
    Never,
}

impl Engine {
    /// Reads the entry of `hash`, checks it (see [`check_entry`](Engine::check_entry)),
    /// and hands a live entry to `f`.
    pub(crate) fn read_entry<R>(
        &self,
        hash: &Hash,
        expect: Expect<'_>,
        need: Need,
        now: Now,
        version: bool,
        f: impl FnOnce(Found<'_>) -> Result<R>,
    ) -> Result<Lookup<R>> {
        self.check_alive()?;
        let opts = ReadOpts {
            need: self.read_need(need),
            // A store that records reads itself keeps its other reads from touching them.
            noatime: self.config().track_access,
            version,
        };
        let mut f = Some(f);
        let mut out: Option<Result<Lookup<R>>> = None;
        let path = || self.entry_path(hash);
        let found = self.storage().read(hash, opts, &mut |fetched| {
            out = Some(self.check_entry(hash, expect, need, now, fetched, &path, &mut f));
            Ok(())
        })?;
        match (found, out) {
            (true, Some(r)) => r,
            _ => Ok(Lookup::Missing),
        }
    }

    /// Reads and checks the open entry file `file` (at `path`, named for `hash`), wherever
    /// it is: what `verify_file` uses for a file it found itself.
    pub(crate) fn read_open_file<R>(
        &self,
        file: &File,
        hash: &Hash,
        path: &std::path::Path,
        f: impl FnOnce(Found<'_>) -> Result<R>,
    ) -> Result<Lookup<R>> {
        self.check_alive()?;
        let mut f = Some(f);
        let path = || path.to_owned();
        crate::fs::read::read_entry(file, Need::Whole, |bytes| {
            let fetched = super::storage::Fetched {
                bytes,
                file: Some(file),
                version: None,
            };
            self.check_entry(
                hash,
                Expect::Hash,
                Need::Whole,
                Now::Never,
                fetched,
                &path,
                &mut f,
            )
        })
        .map_err(|e| Error::io("cannot read entry", &path(), e))?
    }

    /// How much of a file a read needs: all of it when the store is encrypted (the key of
    /// an encrypted entry is inside the ciphertext, with the value).
    fn read_need(&self, need: Need) -> Need {
        if self.is_encrypted() {
            Need::Whole
        } else {
            need
        }
    }

    /// The one place entry bytes are checked: the header, the length, the checksum (when
    /// the whole file was read), decryption, the key they hold (the one asked for, or one
    /// whose hash is `hash`), and expiry at `now`. A live entry goes to `f`.
    #[allow(clippy::too_many_arguments)]
    fn check_entry<R, F: FnOnce(Found<'_>) -> Result<R>>(
        &self,
        hash: &Hash,
        expect: Expect<'_>,
        need: Need,
        now: Now,
        fetched: super::storage::Fetched<'_>,
        path: &dyn Fn() -> PathBuf,
        f: &mut Option<F>,
    ) -> Result<Lookup<R>> {
        let bytes = fetched.bytes.map_err(|d| damage_error(&d, path()))?;
        let (header, key, value) = match self.read_need(need) {
            Need::Whole => {
                let e = entry::decode(bytes).map_err(|d| damage_error(&d, path()))?;
                (e.header, e.key, e.value)
            }
            Need::Key => {
                let (header, key) = decode_prefix(bytes).map_err(|d| damage_error(&d, path()))?;
                (header, key, &[][..])
            }
        };
        let header_bytes = bytes.get(..header.header_len).unwrap_or_default();
        let (key, value) = self
            .seal()
            .open(header_bytes, &header, key, value, need, &path())?;
        let belongs = match expect {
            Expect::Key(wanted) => *key == *wanted,
            Expect::Hash => self.key_hash(&key) == *hash,
        };
        if !belongs {
            return Err(Error::corrupt(
                "entry file holds a key that does not belong under its name",
                &path(),
            ));
        }
        let expired = header.meta.expires_ms != 0
            && match now {
                Now::At(ms) => header.expired_at(ms),
                Now::Clock => header.expired_at(self.now_ms()),
                Now::Never => false,
            };
        if expired {
            return Ok(Lookup::Expired);
        }
        let Some(f) = f.take() else {
            return Ok(Lookup::Missing);
        };
        f(Found {
            hash,
            file: fetched.file,
            header,
            key: &key,
            value: &value,
            version: fetched.version,
            engine: self,
        })
        .map(Lookup::Found)
    }

    /// Reads the live entry of `key` (whose hash is `hash`) and hands it to `f`.
    /// `Ok(None)` when absent or expired; a damaged entry, or one holding another key, is
    /// a `Corrupt` error naming it. No side effects: safe under the lock.
    pub(crate) fn read<R>(
        &self,
        key: &[u8],
        hash: &Hash,
        need: Need,
        f: impl FnOnce(Found<'_>) -> Result<R>,
    ) -> Result<Option<R>> {
        match self.read_entry(
            hash,
            Expect::Key(key),
            need,
            Now::At(self.now_ms()),
            false,
            f,
        )? {
            Lookup::Found(r) => Ok(Some(r)),
            Lookup::Missing | Lookup::Expired => Ok(None),
        }
    }

    /// As [`read`](Engine::read), for the caller's own lookups (`get`, `contains_key`):
    /// a value read (`Need::Whole`) records its access time when the store tracks access,
    /// and an expired entry is removed (lazily; see [`remove_expired`](Engine::remove_expired)).
    /// Never call it with the lock held.
    pub(crate) fn lookup<R>(
        &self,
        key: &[u8],
        hash: &Hash,
        need: Need,
        version: bool,
        f: impl FnOnce(Found<'_>) -> Result<R>,
    ) -> Result<Option<R>> {
        let touch = self.config().track_access && need == Need::Whole;
        // The clock is read when the access is recorded, or when the entry can expire.
        let now = touch.then(|| self.config().now());
        let when = now.map_or(Now::Clock, |t| Now::At(crate::clock::to_ms(t)));
        let found = self.read_entry(hash, Expect::Key(key), need, when, version, |found| {
            if let (Some(now), Some(file)) = (now, found.file) {
                self.storage().touch(file, now);
            }
            f(found)
        })?;
        match found {
            Lookup::Found(r) => Ok(Some(r)),
            Lookup::Missing => Ok(None),
            Lookup::Expired => {
                if !self.config().read_only {
                    // Best effort: the entry reads as absent whether or not it goes now.
                    let _ = self.remove_expired(hash);
                }
                Ok(None)
            }
        }
    }

    /// The hash of the key held by the open entry (or temp) `file`, under this store's
    /// naming; `None` when it is not a readable entry.
    pub(crate) fn hash_of_file(&self, file: &File) -> Option<Hash> {
        let need = if self.is_encrypted() {
            Need::Whole
        } else {
            Need::Key
        };
        let out = crate::fs::read::read_entry(file, need, |bytes| {
            let bytes = bytes.ok()?;
            let header = entry::parse_header(bytes).ok()?;
            let (key, value) = match need {
                Need::Whole => {
                    let e = entry::decode(bytes).ok()?;
                    (e.key, e.value)
                }
                Need::Key => (entry::key_of(bytes).ok()??.1, &[][..]),
            };
            let header_bytes = bytes.get(..header.header_len)?;
            let (key, _) = self
                .seal()
                .open(
                    header_bytes,
                    &header,
                    key,
                    value,
                    Need::Key,
                    std::path::Path::new(""),
                )
                .ok()?;
            Some(self.key_hash(&key))
        });
        out.ok().flatten()
    }

    /// The value of `key` from the cache, or else read by `decode` and cached (when it may
    /// be), handed to `out`. `Ok(None)` when absent.
    pub(crate) fn read_cached<R>(
        &self,
        key: &[u8],
        decode: impl FnOnce(&Found<'_>) -> Result<CachedValue>,
        out: impl Fn(&CachedValue) -> R,
    ) -> Result<Option<R>> {
        let Some(cache) = self.cache() else {
            let hash = self.key_hash(key);
            return self.lookup(key, &hash, Need::Whole, false, |found| {
                Ok(out(&decode(&found)?))
            });
        };
        self.check_alive()?;
        // A hit hashes the key with the cache's SipHash only: no SHA-256, no path.
        let still = |hash: &Hash, seen: &Version| {
            self.storage().version(hash).ok().flatten().as_ref() == Some(seen)
        };
        let epoch = match cache.get(key, || self.now_ms(), still, &out) {
            cache::Lookup::Hit(value) => return Ok(Some(value)),
            cache::Lookup::Miss(epoch) => epoch,
        };
        let hash = self.key_hash(key);
        let validated = cache.mode() == CacheMode::Validated;
        // `lookup` records the access (when the store tracks access) before calling us, so
        // the version of a file is taken here, after that; an object's comes with the read.
        let from_read = validated && !self.storage().has_lock();
        let read = self.lookup(key, &hash, Need::Whole, from_read, |found| {
            let version = match found.file {
                Some(file) if validated => file_version(file),
                _ => found.version.clone(),
            };
            let check = version
                .filter(|v| cache.cacheable(v, SystemTime::now()))
                .map(|v| (hash, v));
            let stored_len = found.header.total_len();
            let expires_ms = found.header.meta.expires_ms;
            let value = decode(&found)?;
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
        let still = |hash: &Hash, seen: &Version| {
            self.storage().version(hash).ok().flatten().as_ref() == Some(seen)
        };
        self.cache().is_some_and(|c| {
            matches!(
                c.get(key, || self.now_ms(), still, |_| ()),
                cache::Lookup::Hit(())
            )
        })
    }
}
