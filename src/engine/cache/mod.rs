//! The value cache: decoded values of recently used keys, bounded by a count of entries and
//! a count of bytes. Off by default; see [`Options::cache`](crate::Options::cache).
//!
//! # What is cached
//!
//! Decoded values, type-erased as `Arc<dyn Any + Send + Sync>`: a hit costs no system call
//! (trusted mode) or one `stat` (validated mode), and no decoding, only a clone of the value.
//! A cache of the encoded bytes would still pay the codec on every hit, which for
//! MessagePack is most of the cost of a small get. The store keeps the typed functions that
//! put a `V` in and take a clone out (`ValueFns`), made where `V: Clone` is known, so the
//! plain `get` needs no extra bound.
//!
//! # Validated mode: why one `stat` is enough
//!
//! Each cached value remembers the identity of the file it was read from: device, inode,
//! size, modification and change times in nanoseconds, taken with `fstat` on the very
//! descriptor the bytes were read from, right after reading (and after the access time is
//! recorded, when the store tracks access, since that changes the ctime). A hit `stat`s the
//! entry's path and trusts the value only when all of them still match.
//!
//! - dirkv never changes an entry file in place: every write renames a new file over it,
//!   which gives the path a new inode and sets its change time (ctime) to the time of the
//!   rename. Tools that change a file in place (`echo >`, an editor, `touch -d`) update the
//!   ctime too, and no program can set a ctime back.
//! - Inode numbers are reused after a file is freed, and file systems take times from a
//!   clock that ticks in steps (a jiffy, 1 to 10 ms, on ext4; a second or two on some
//!   others), so a rewrite within one tick, of the same size, that happened to reuse the
//!   inode number, would look unchanged. That is why a value is only cached once its file's
//!   ctime is more than the settle window old (50 ms on file systems with sub-second times,
//!   3 s on the others): any later change is stamped at least one tick later, so its
//!   ctime differs. A file changed more recently is read from disk on every get until it
//!   has settled (the "racy git" rule).
//! - A file unlinked while it was being read (link count 0) is not cached.
//! - **Where the file system stamps every observed change anew** (Linux 6.13 and later
//!   on ext4, XFS, Btrfs and tmpfs: multigrain timestamps), the window is not needed:
//!   once anyone has `stat`ed a file, its next change gets a fine-grained change time
//!   later than the one seen, and every time stamped after that is later still (the
//!   kernel's floor for coarse times). dirkv's own `fstat` is such a look, so neither a
//!   change in place nor a new file that takes the freed inode number can show the
//!   identity that was seen. There a value is cached the moment it is read, and a value
//!   this store writes is cached too: the commit `fstat`s its own temp file's descriptor
//!   right after the rename (one call, made only with a validated cache), so the cache
//!   holds the identity of exactly the file it wrote, and a hot entry this process just
//!   wrote is a hit. Tested by `tests/it/cache.rs` (300 rounds of an own write followed
//!   by two same-size replacements that reuse its inode, and by in-place rewrites).
//!   Elsewhere own writes are not cached (they would not settle before the next read).
//!
//! Residual risks: another program rewriting the file *in place* (same inode) in the few
//! microseconds between dirkv's read and its `fstat` (dirkv itself never writes in place);
//! the system clock stepped backwards by more than the window between the caching and a
//! rewrite that also reuses the inode, the size and the very same nanosecond times;
//! network file systems whose `stat` answers from an attribute cache (NFS sees
//! another machine's write only after `acregmax`, 60 s by default); platforms without inode
//! numbers (off Unix, validated mode never caches).
//!
//! # Trusted mode
//!
//! No `stat`: the caller promises that only this process writes the store. Writes through
//! this store update the cache; writes by other processes are not seen until the value is
//! evicted.
//!
//! # Expiry, access times, eviction
//!
//! A cached value keeps its entry's expiry time and is never returned once the store's
//! clock passes it. A hit does not touch the file, so with `track_access` the entry's
//! access time records only the reads that missed the cache. Eviction and
//! `purge_expired` remove files by name, not by key, so they empty the cache.
//!
//! # Concurrency and eviction
//!
//! The cache is split into up to 16 shards, each behind its own `RwLock`: a hit takes a
//! read lock, so readers never wait for each other, and clones the value under it. A key
//! is hashed once, with std's SipHash under a per-cache random key (so keys chosen by an
//! attacker cannot pile up in one bucket); that hash picks the shard and is the key of the
//! shard's table, whose entries keep their key bytes to compare. Two keys with the same
//! 64-bit hash cannot both be cached: the later one replaces the earlier. Eviction is CLOCK (second chance): a hit
//! sets a flag, eviction sweeps a hand over the shard's entries and removes the first one
//! whose flag is clear, clearing flags as it goes. Each shard has its share of both bounds,
//! so the totals hold.
//!
//! Each shard counts its writes (an epoch). A get that misses notes the epoch before it
//! reads the file and only caches what it read if no write touched the shard meanwhile, so
//! a slow reader can never put back a value that a write has just replaced.

mod shard;
mod types;
mod validate;

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use shard::Shard;

use super::storage::{Hash, Version};

pub use types::{CacheMode, CacheStats};
pub(crate) use types::{CacheSettings, CachedValue, ValueFns};
pub(crate) use validate::cacheable;

/// Fewest entries per shard before the cache is split further.
const ENTRIES_PER_SHARD: usize = 256;

/// Most shards.
const MAX_SHARDS: usize = 16;

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
}

/// What a lookup found.
pub(crate) enum Lookup<R> {
    /// What was made of a value that may be returned.
    Hit(R),
    /// Read the file; cache what you read with this epoch.
    Miss(Epoch),
}

/// A shard's write count, noted before a read from disk.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Epoch(u64);

/// A new value for the cache.
pub(crate) struct Fill<'a> {
    pub key: &'a [u8],
    pub value: CachedValue,
    /// The entry and the version read (validated mode; required there).
    pub check: Option<(Hash, Version)>,
    pub expires_ms: u64,
    /// Length of the entry file, the bulk of what is charged.
    pub stored_len: usize,
}

/// The value cache of one open store.
pub(crate) struct Cache {
    mode: CacheMode,
    /// The storage's [`versions_never_repeat`](super::storage::Storage::versions_never_repeat).
    never_repeat: bool,
    hasher: RandomState,
    shards: Box<[(RwLock<Shard>, Counters)]>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("mode", &self.mode)
            .field("stats", &self.stats())
            .finish()
    }
}

fn read(shard: &RwLock<Shard>) -> RwLockReadGuard<'_, Shard> {
    shard.read().unwrap_or_else(PoisonError::into_inner)
}

fn write(shard: &RwLock<Shard>) -> RwLockWriteGuard<'_, Shard> {
    shard.write().unwrap_or_else(PoisonError::into_inner)
}

/// `total` split into `n` parts that add up to it.
fn share(total: usize, n: usize, i: usize) -> usize {
    total / n + usize::from(i < total % n)
}

impl Cache {
    pub(crate) fn new(settings: CacheSettings, never_repeat: bool) -> Self {
        let n = (settings.max_entries / ENTRIES_PER_SHARD)
            .clamp(1, MAX_SHARDS)
            .next_power_of_two()
            .min(MAX_SHARDS);
        let shards = (0..n)
            .map(|i| {
                let shard = Shard::new(
                    share(settings.max_entries, n, i),
                    share(settings.max_bytes, n, i),
                );
                (RwLock::new(shard), Counters::default())
            })
            .collect();
        Cache {
            mode: settings.mode,
            never_repeat,
            hasher: RandomState::new(),
            shards,
        }
    }

    pub(crate) fn mode(&self) -> CacheMode {
        self.mode
    }

    /// Whether own writes hand their values to the cache: always in trusted mode; in
    /// validated mode where each write can tell the version it made
    /// ([`needs_versions`](Cache::needs_versions)).
    pub(crate) fn caches_writes(&self) -> bool {
        self.mode == CacheMode::Trusted || self.needs_versions()
    }

    /// Whether writes should tell the cache the version they made (validated mode, on a
    /// storage whose versions never repeat): such a value can be checked like one read.
    pub(crate) fn needs_versions(&self) -> bool {
        self.mode == CacheMode::Validated && self.never_repeat
    }

    /// Whether a value read at `version` may be kept (validated mode).
    pub(crate) fn cacheable(&self, version: &Version, now: SystemTime) -> bool {
        cacheable(version, now, self.never_repeat)
    }

    /// The key's hash and its shard.
    fn shard(&self, key: &[u8]) -> (u64, &(RwLock<Shard>, Counters)) {
        let hash = self.hasher.hash_one(key);
        // The shard count is a power of two; the table uses the low bits, the shard the high.
        let i = (hash >> 48) as usize & (self.shards.len() - 1);
        (hash, &self.shards[i])
    }

    /// Looks `key` up and hands a found value to `out` (under the shard's read lock); in
    /// validated mode `still` first checks that the entry is still at the version the
    /// value was read from.
    pub(crate) fn get<R>(
        &self,
        key: &[u8],
        now_ms: impl Fn() -> u64,
        still: impl Fn(&Hash, &Version) -> bool,
        out: impl FnOnce(&CachedValue) -> R,
    ) -> Lookup<R> {
        let (hash, (lock, counters)) = self.shard(key);
        let shard = read(lock);
        let hit = shard.find(hash, key).and_then(|slot| {
            if slot.expires_ms != 0 && now_ms() >= slot.expires_ms {
                return None;
            }
            if let Some((hash, version)) = &slot.check {
                if !still(hash, version) {
                    return None;
                }
            } else if self.mode == CacheMode::Validated {
                return None;
            }
            if !slot.referenced.load(Ordering::Relaxed) {
                slot.referenced.store(true, Ordering::Relaxed);
            }
            Some(slot)
        });
        match hit {
            Some(slot) => {
                counters.hits.fetch_add(1, Ordering::Relaxed);
                Lookup::Hit(out(&slot.value))
            }
            None => {
                counters.misses.fetch_add(1, Ordering::Relaxed);
                Lookup::Miss(Epoch(shard.epoch))
            }
        }
    }

    /// Caches a value read from disk, unless a write touched its shard since `epoch` was
    /// noted (then what was read may already be old).
    pub(crate) fn fill(&self, fill: Fill<'_>, epoch: Epoch) {
        let (hash, (lock, _)) = self.shard(fill.key);
        let mut shard = write(lock);
        if shard.epoch != epoch.0 {
            return;
        }
        if self.mode == CacheMode::Validated && fill.check.is_none() {
            // Not cacheable yet (changed too recently): drop what an older read left.
            shard.remove(hash);
            return;
        }
        shard.put(hash, fill);
    }

    /// After this store wrote `key`: remember `value` (trusted mode, or validated with the
    /// version of the file written) or forget the key. Called under the key's lock, so the
    /// cache follows the order of the writes.
    pub(crate) fn written(&self, fill: Fill<'_>) {
        let (hash, (lock, _)) = self.shard(fill.key);
        let mut shard = write(lock);
        shard.epoch += 1;
        if self.mode == CacheMode::Trusted || fill.check.is_some() {
            shard.put(hash, fill);
        } else {
            shard.remove(hash);
        }
    }

    /// Forgets `key` (removed, or its new value is not known).
    pub(crate) fn forget(&self, key: &[u8]) {
        let (hash, (lock, _)) = self.shard(key);
        let mut shard = write(lock);
        shard.epoch += 1;
        shard.remove(hash);
    }

    /// Drops `key`'s value if there is one, without counting a write: its file was found
    /// missing, so the value is old, and reads in flight may still cache theirs (a
    /// validated one is checked anyway).
    pub(crate) fn discard(&self, key: &[u8]) {
        let (hash, (lock, _)) = self.shard(key);
        if read(lock).map.contains_key(&hash) {
            write(lock).remove(hash);
        }
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        for (lock, _) in self.shards.iter() {
            let mut shard = write(lock);
            shard.epoch += 1;
            shard.map.clear();
            shard.slots.clear();
            shard.hand = 0;
            shard.bytes = 0;
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let mut stats = CacheStats::default();
        for (lock, counters) in self.shards.iter() {
            let shard = read(lock);
            stats.entries += shard.slots.len();
            stats.bytes += shard.bytes;
            stats.hits += counters.hits.load(Ordering::Relaxed);
            stats.misses += counters.misses.load(Ordering::Relaxed);
        }
        stats
    }
}

#[cfg(test)]
mod tests;
