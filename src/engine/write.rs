//! Writing entries: building an entry's bytes, a single write, and the read-modify-writes
//! (`update`, `set_if_absent`, `compare_and_swap`) under the lock or, where the storage
//! has none, with conditional puts retried on a conflict.

use std::time::Duration;

use super::Engine;
use super::cache::{CachedValue, Fill};
use super::read::Found;
use super::storage::{Hash, Put, PutMode, StageOpts, Staged, Version};
use crate::error::{BoxError, Error, ErrorKind, Result};
use crate::format::entry;
use crate::fs::read::Need;
use crate::seal::Times;

/// Conditional puts retried this many times at most before a read-modify-write gives up
/// with [`ErrorKind::Locked`] (storage without a lock only).
pub(crate) const MAX_ATTEMPTS: usize = 64;

/// The longest pause between two tries of a read-modify-write that lost a race.
const MAX_BACK_OFF: Duration = Duration::from_millis(100);

/// After the `n`th lost race of a read-modify-write without a lock: a random pause of up to
/// 2^n ms (at most [`MAX_BACK_OFF`]), so that writers racing for one entry spread out
/// instead of colliding again.
fn back_off(n: u32) {
    use std::hash::{BuildHasher, Hasher};
    let cap = Duration::from_millis(1 << n.min(7)).min(MAX_BACK_OFF);
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let cap_us = u64::try_from(cap.as_micros()).unwrap_or(u64::MAX).max(1);
    std::thread::sleep(Duration::from_micros(random % cap_us));
}

/// When a new entry expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// After the store's default TTL, or never without one.
    Default,
    /// This long from now.
    After(Duration),
    /// At this time, ms since the epoch (0: never): an entry's expiry kept by a rewrite.
    At(u64),
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

/// A new entry, encoded, with what the cache keeps of it.
pub(crate) struct NewEntry {
    pub bytes: Vec<u8>,
    /// The value for the cache (trusted mode), when the caller has one.
    pub cached: Option<CachedValue>,
}

/// What a read-modify-write does once it has seen the current entry.
pub(crate) enum Step<R> {
    /// Nothing: return `R`.
    Keep(R),
    /// Write this entry, then return `R`.
    Put(NewEntry, R),
    /// Write the entry prepared before the read, then return `R`.
    Prepared(R),
    /// Remove the entry, then return `R`.
    Remove(R),
}

/// An entry staged before a read-modify-write reads (so that its fsync happens outside the
/// lock).
pub(crate) struct Prepared {
    staged: Staged,
    stored: Stored,
    cached: Option<CachedValue>,
}

impl Engine {
    /// The expiry field for a new entry written now.
    fn expires_ms(&self, now_ms: u64, expiry: Expiry) -> u64 {
        match expiry {
            Expiry::Default => self.config().expires_ms(now_ms, None),
            Expiry::After(ttl) => self.config().expires_ms(now_ms, Some(ttl)),
            Expiry::At(ms) => ms,
        }
    }

    /// Builds the bytes of an entry file: header, `key`, then what `encode_value` appends,
    /// compressed and encrypted as the store's settings say.
    ///
    /// # Errors
    ///
    /// `InvalidInput` past the key or value limit; `Encode` when the codec fails.
    pub(crate) fn encode_entry(
        &self,
        key: &[u8],
        hash: &Hash,
        created_ms: Option<u64>,
        expiry: Expiry,
        encode_value: impl FnOnce(&mut Vec<u8>) -> std::result::Result<(), BoxError>,
    ) -> Result<Vec<u8>> {
        let now = self.now_ms();
        let times = Times {
            created_ms: created_ms.unwrap_or(now),
            modified_ms: now,
            expires_ms: self.expires_ms(now, expiry),
        };
        if times.expires_ms != 0 && !self.config().read_only {
            self.storage().note_expiring(self.durable())?;
        }
        self.seal()
            .encode(key, times, &|| self.entry_path(hash), encode_value)
    }

    /// The creation time to keep for a new value of `key` when the options ask for it.
    /// An unreadable old entry starts afresh (the write must still be able to replace it).
    pub(crate) fn old_created(&self, key: &[u8], hash: &Hash) -> Option<u64> {
        if !self.config().preserve_created {
            return None;
        }
        self.read(key, hash, Need::Key, |found| {
            Ok(found.header.meta.created_ms)
        })
        .ok()
        .flatten()
    }

    /// Writes one entry (built by [`encode_entry`](Engine::encode_entry)) over whatever
    /// is there: staged outside the lock, committed under it.
    pub(crate) fn put(&self, key: &[u8], hash: &Hash, new: NewEntry) -> Result<()> {
        self.check_writable()?;
        if let Some(wb) = self.write_back() {
            if new.cached.is_some() {
                return self.wb_put(wb, key, hash, new);
            }
            // A write without the value RAM keeps (bytes through a typed store's raw
            // view): past RAM, which forgets the key.
            let _guard = self.lock(hash[0])?;
            wb.forget(key);
        }
        let stored = Stored::of(&new.bytes);
        let staged = self.storage().stage(hash, new.bytes, self.stage_one())?;
        let guard = self.lock(hash[0])?;
        let (_, version) = self
            .storage()
            .commit_versioned(staged, PutMode::Overwrite)?;
        self.cache_written(key, hash, stored, new.cached, version);
        drop(guard);
        self.written(&[*hash], &[])
    }

    /// How one entry is staged: as [`stage_opts`](Engine::stage_opts) says, and asking
    /// the commit for the version it makes when the validated cache can keep it.
    fn stage_one(&self) -> StageOpts {
        StageOpts {
            version: self.cache().is_some_and(|c| c.needs_versions()),
            ..self.stage_opts()
        }
    }

    /// Stages an entry for [`modify`](Engine::modify) before it reads.
    pub(crate) fn prepare(&self, hash: &Hash, new: NewEntry) -> Result<Prepared> {
        self.check_writable()?;
        let stored = Stored::of(&new.bytes);
        let staged = self.storage().stage(hash, new.bytes, self.stage_one())?;
        Ok(Prepared {
            staged,
            stored,
            cached: new.cached,
        })
    }

    /// After this store wrote an entry of `key`: the cache keeps `value` (when given, in
    /// trusted mode, or in validated mode with the `version` the commit made) or forgets
    /// the key. The caller holds the key's lock (when there is one), so the cache follows
    /// the order of the writes.
    pub(crate) fn cache_written(
        &self,
        key: &[u8],
        hash: &Hash,
        stored: Stored,
        value: Option<CachedValue>,
        version: Option<Version>,
    ) {
        let Some(cache) = self.cache() else { return };
        let (Some(value), Some(expires_ms)) = (value, stored.expires_ms) else {
            cache.forget(key);
            return;
        };
        cache.written(Fill {
            key,
            value,
            check: version.map(|v| (*hash, v)),
            expires_ms,
            stored_len: stored.len,
        });
    }

    /// A read-modify-write of the entry of `key`: reads it (`need` of it; absent and
    /// expired entries are `None`), asks `decide` what to do, and does it, atomically
    /// against every other writer. With a lock, all of it happens under the lock and
    /// `decide` is called once. Without one (object storage), the write is conditional on
    /// the version read and the whole is retried on a conflict, calling `decide` again
    /// (at most [`MAX_ATTEMPTS`] times, then `Locked`).
    pub(crate) fn modify<R>(
        &self,
        key: &[u8],
        hash: &Hash,
        need: Need,
        mut prepared: Option<Prepared>,
        mut decide: impl FnMut(Option<&Found<'_>>) -> Result<Step<R>>,
    ) -> Result<R> {
        self.check_writable()?;
        let guard = self.lock(hash[0])?;
        let locked = guard.is_some();
        // Without a lock, `lock_timeout` bounds how long lost races are retried.
        let started = std::time::Instant::now();
        let out_of_time = || {
            self.config()
                .lock_timeout
                .is_some_and(|t| started.elapsed() >= t)
        };
        for attempt in 0..MAX_ATTEMPTS as u32 {
            if attempt > 0 {
                if out_of_time() {
                    break;
                }
                back_off(attempt);
            }
            let mut version = None;
            let read = self.read_entry(
                hash,
                super::read::Expect::Key(key),
                need,
                super::read::Now::Never,
                !locked,
                |found| {
                    version = found.version.clone();
                    let now = self.now_ms();
                    let live = !found.header.expired_at(now);
                    if live {
                        decide(Some(&found)).map(Some)
                    } else {
                        Ok(None)
                    }
                },
            )?;
            let present = matches!(read, super::read::Lookup::Found(_));
            let step = match read {
                super::read::Lookup::Found(Some(step)) => step,
                _ => decide(None)?,
            };
            let mode = match (&version, locked) {
                (_, true) => PutMode::Overwrite,
                (Some(v), false) => PutMode::Replace(v.clone()),
                (None, false) if present => PutMode::Overwrite,
                (None, false) => PutMode::Create,
            };
            match step {
                Step::Keep(r) => return Ok(r),
                Step::Remove(r) => {
                    let removed = self.storage().remove(hash)?;
                    self.cache_forget(key);
                    drop(guard);
                    if removed {
                        self.written(&[], &[hash[0]])?;
                    }
                    return Ok(r);
                }
                Step::Put(new, r) => {
                    let stored = Stored::of(&new.bytes);
                    let staged = self.storage().stage(hash, new.bytes, self.stage_one())?;
                    let (Put::Done, version) = self.storage().commit_versioned(staged, mode)?
                    else {
                        continue;
                    };
                    self.cache_written(key, hash, stored, new.cached, version);
                    drop(guard);
                    self.written(&[*hash], &[])?;
                    return Ok(r);
                }
                Step::Prepared(r) => {
                    let Some(p) = prepared.take() else {
                        return Err(Error::new(ErrorKind::InvalidInput, "nothing was prepared"));
                    };
                    let version = match self.storage().commit_versioned(p.staged, mode)? {
                        (Put::Done, version) => version,
                        (Put::Conflict(staged), _) => {
                            prepared = Some(Prepared { staged, ..p });
                            continue;
                        }
                    };
                    self.cache_written(key, hash, p.stored, p.cached, version);
                    drop(guard);
                    self.written(&[*hash], &[])?;
                    return Ok(r);
                }
            }
        }
        Err(Error::new(
            ErrorKind::Locked,
            "the entry kept changing under a read-modify-write; gave up after many tries",
        )
        .with_path(self.entry_path(hash)))
    }
}
