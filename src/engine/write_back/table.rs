//! The RAM table of write-back mode (see [`super`]): CLOCK eviction per shard, the
//! evicted dirty entries waiting for a batched flush ([`FLUSH_BATCH`]).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::engine::cache::{CacheStats, CachedValue};
use crate::engine::storage::Hash;

/// Evicted dirty entries written in one batch.
pub(crate) const FLUSH_BATCH: usize = 64;
/// Bytes charged per entry on top of its key, value and entry bytes.
const OVERHEAD: usize = 160;
/// Shards of the table (fewer for small bounds).
const MAX_SHARDS: usize = 16;

/// The bounds of write-back mode, as given to the options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WriteBackSettings {
    pub max_entries: usize,
    pub max_bytes: usize,
}

/// What RAM knows of a key.
#[derive(Clone)]
pub(crate) enum Known {
    /// A value (its decoded form, and the header times of its entry).
    Value {
        value: CachedValue,
        created_ms: u64,
        expires_ms: u64,
    },
    /// No value (never written, removed, or absent on disk).
    Absent,
}

/// A change not yet written to its file.
#[derive(Clone)]
pub(crate) enum Dirty {
    /// Write this entry file.
    Put(Arc<Vec<u8>>),
    /// Remove the entry file.
    Remove,
}

struct Slot {
    key: Box<[u8]>,
    hash: Hash,
    known: Known,
    dirty: Option<Dirty>,
    /// Bumped by every change, so a flush marks clean only what it wrote.
    generation: u64,
    cost: usize,
    referenced: AtomicBool,
}

struct Evicted {
    hash: Hash,
    known: Known,
    dirty: Dirty,
    generation: u64,
}

#[derive(Default)]
struct Shard {
    map: HashMap<Box<[u8]>, usize>,
    slots: Vec<Slot>,
    evicted: HashMap<Box<[u8]>, Evicted>,
    hand: usize,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
}

/// One change to write: the key, the entry's hash, what to do, and the generation seen.
pub(crate) struct Flush {
    pub key: Box<[u8]>,
    pub hash: Hash,
    pub dirty: Dirty,
    generation: u64,
    from_evicted: bool,
}

/// The RAM table of a write-back store.
pub(crate) struct WriteBack {
    hasher: RandomState,
    shards: Box<[RwLock<Shard>]>,
    generation: AtomicU64,
    evicted: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    /// One flush at a time, so two versions of a key are written in order.
    pub(crate) flushing: Mutex<()>,
}

impl std::fmt::Debug for WriteBack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteBack")
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

fn cost(key: &[u8], stored_len: usize, dirty: Option<&Dirty>) -> usize {
    let entry = match dirty {
        Some(Dirty::Put(bytes)) => bytes.len(),
        _ => 0,
    };
    key.len() + stored_len + entry + OVERHEAD
}

impl WriteBack {
    pub(crate) fn new(settings: WriteBackSettings) -> Self {
        let n = (settings.max_entries / 256)
            .clamp(1, MAX_SHARDS)
            .next_power_of_two()
            .min(MAX_SHARDS);
        let share = |total: usize, i: usize| total / n + usize::from(i < total % n);
        let shards = (0..n)
            .map(|i| {
                RwLock::new(Shard {
                    max_entries: share(settings.max_entries, i),
                    max_bytes: share(settings.max_bytes, i),
                    ..Shard::default()
                })
            })
            .collect();
        WriteBack {
            hasher: RandomState::new(),
            shards,
            generation: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            flushing: Mutex::new(()),
        }
    }

    fn shard(&self, key: &[u8]) -> &RwLock<Shard> {
        let i = (self.hasher.hash_one(key) >> 48) as usize & (self.shards.len() - 1);
        &self.shards[i]
    }

    /// What RAM knows of `key`, as of `now_ms` (an expired value is absent); `None` when
    /// RAM does not know it.
    pub(crate) fn get(&self, key: &[u8], now_ms: impl Fn() -> u64) -> Option<Known> {
        let shard = read(self.shard(key));
        let known = match shard.map.get(key) {
            Some(&i) => {
                let slot = &shard.slots[i];
                if !slot.referenced.load(Ordering::Relaxed) {
                    slot.referenced.store(true, Ordering::Relaxed);
                }
                Some(slot.known.clone())
            }
            None => shard.evicted.get(key).map(|e| e.known.clone()),
        };
        let counter = if known.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        known.map(|k| match k {
            Known::Value { expires_ms, .. } if expires_ms != 0 && now_ms() >= expires_ms => {
                Known::Absent
            }
            k => k,
        })
    }

    /// Records what a read from disk found (a clean entry), unless RAM learnt of the key
    /// meanwhile. Returns whether enough evicted dirty entries wait to be flushed.
    pub(crate) fn fill(&self, key: &[u8], hash: &Hash, known: Known, stored_len: usize) -> bool {
        let mut shard = write(self.shard(key));
        if shard.map.contains_key(key) || shard.evicted.contains_key(key) {
            return false;
        }
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        self.insert(&mut shard, key, hash, known, None, generation, stored_len)
    }

    /// Records a change made in RAM (the caller holds the key's shard write lock, so
    /// changes of one key are in order). Returns whether enough evicted dirty entries wait
    /// to be flushed.
    pub(crate) fn change(
        &self,
        key: &[u8],
        hash: &Hash,
        known: Known,
        dirty: Dirty,
        stored_len: usize,
    ) -> bool {
        let mut shard = write(self.shard(key));
        shard.evicted.remove(key);
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        self.insert(
            &mut shard,
            key,
            hash,
            known,
            Some(dirty),
            generation,
            stored_len,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn insert(
        &self,
        shard: &mut Shard,
        key: &[u8],
        hash: &Hash,
        known: Known,
        dirty: Option<Dirty>,
        generation: u64,
        stored_len: usize,
    ) -> bool {
        let cost = cost(key, stored_len, dirty.as_ref());
        if let Some(&i) = shard.map.get(key) {
            let slot = &mut shard.slots[i];
            let old = slot.cost;
            slot.known = known;
            // A clean fill never replaces a change not yet written.
            if dirty.is_some() {
                slot.dirty = dirty;
            }
            slot.generation = generation;
            slot.cost = cost;
            shard.bytes = shard.bytes + cost - old;
        } else {
            let slot = Slot {
                key: key.into(),
                hash: *hash,
                known,
                dirty,
                generation,
                cost,
                referenced: AtomicBool::new(false),
            };
            shard.map.insert(key.into(), shard.slots.len());
            shard.slots.push(slot);
            shard.bytes += cost;
        }
        while shard.slots.len() > 1
            && (shard.slots.len() > shard.max_entries || shard.bytes > shard.max_bytes)
        {
            self.evict_one(shard, key);
        }
        self.evicted.load(Ordering::Relaxed) >= FLUSH_BATCH as u64
    }

    /// CLOCK: removes the first slot at or after the hand not used since the hand last
    /// passed it (never the one just inserted); a dirty one moves to `evicted`.
    fn evict_one(&self, shard: &mut Shard, keep: &[u8]) {
        loop {
            if shard.hand >= shard.slots.len() {
                shard.hand = 0;
            }
            let slot = &shard.slots[shard.hand];
            if slot.referenced.swap(false, Ordering::Relaxed) || &*slot.key == keep {
                shard.hand += 1;
                continue;
            }
            let slot = shard.slots.swap_remove(shard.hand);
            shard.map.remove(&slot.key);
            shard.bytes -= slot.cost;
            if let Some(moved) = shard.slots.get(shard.hand) {
                let key = moved.key.clone();
                shard.map.insert(key, shard.hand);
            }
            if let Some(dirty) = slot.dirty {
                self.evicted.fetch_add(1, Ordering::Relaxed);
                shard.evicted.insert(
                    slot.key,
                    Evicted {
                        hash: slot.hash,
                        known: slot.known,
                        dirty,
                        generation: slot.generation,
                    },
                );
            }
            return;
        }
    }

    /// The changes to write: every evicted one, and (when `all`) every dirty slot too. They
    /// stay visible until [`written`](WriteBack::written) is told they were written.
    pub(crate) fn to_flush(&self, all: bool) -> Vec<Flush> {
        let mut out = Vec::new();
        for lock in self.shards.iter() {
            let shard = read(lock);
            out.extend(shard.evicted.iter().map(|(key, e)| Flush {
                key: key.clone(),
                hash: e.hash,
                dirty: e.dirty.clone(),
                generation: e.generation,
                from_evicted: true,
            }));
            if all {
                out.extend(shard.slots.iter().filter_map(|s| {
                    s.dirty.as_ref().map(|d| Flush {
                        key: s.key.clone(),
                        hash: s.hash,
                        dirty: d.clone(),
                        generation: s.generation,
                        from_evicted: false,
                    })
                }));
            }
        }
        out
    }

    /// After `done` were written: each is clean now unless it changed since.
    pub(crate) fn written<'f>(&self, done: impl IntoIterator<Item = &'f Flush>) {
        for f in done {
            let mut shard = write(self.shard(&f.key));
            if f.from_evicted {
                if shard
                    .evicted
                    .get(&f.key)
                    .is_some_and(|e| e.generation == f.generation)
                {
                    shard.evicted.remove(&f.key);
                    self.evicted.fetch_sub(1, Ordering::Relaxed);
                }
            } else if let Some(&i) = shard.map.get(&f.key) {
                let slot = &mut shard.slots[i];
                if slot.generation == f.generation {
                    slot.dirty = None;
                }
            }
        }
    }

    /// Forgets `key` (written or not: the caller has written it, or is about to write it,
    /// past RAM).
    pub(crate) fn forget(&self, key: &[u8]) {
        let mut shard = write(self.shard(key));
        if shard.evicted.remove(key).is_some() {
            self.evicted.fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(i) = shard.map.remove(key) {
            let slot = shard.slots.swap_remove(i);
            shard.bytes -= slot.cost;
            if let Some(moved) = shard.slots.get(i) {
                let key = moved.key.clone();
                shard.map.insert(key, i);
            }
        }
    }

    /// Forgets every clean entry (after removals known only by file name).
    pub(crate) fn forget_clean(&self) {
        for lock in self.shards.iter() {
            let mut shard = write(lock);
            let Shard {
                slots,
                map,
                bytes,
                hand,
                ..
            } = &mut *shard;
            slots.retain(|s| s.dirty.is_some());
            map.clear();
            for (i, s) in slots.iter().enumerate() {
                map.insert(s.key.clone(), i);
            }
            *bytes = slots.iter().map(|s| s.cost).sum();
            *hand = 0;
        }
    }

    /// Forgets everything, written or not (the store was cleared or destroyed).
    pub(crate) fn forget_all(&self) {
        for lock in self.shards.iter() {
            let mut shard = write(lock);
            let dropped = shard.evicted.len() as u64;
            *shard = Shard {
                max_entries: shard.max_entries,
                max_bytes: shard.max_bytes,
                ..Shard::default()
            };
            self.evicted.fetch_sub(dropped, Ordering::Relaxed);
        }
    }

    /// Entries and bytes held, hits and misses so far.
    pub(crate) fn stats(&self) -> CacheStats {
        let mut s = CacheStats::default();
        for lock in self.shards.iter() {
            let shard = read(lock);
            s.entries += shard.slots.len() + shard.evicted.len();
            s.bytes += shard.bytes;
        }
        s.hits = self.hits.load(Ordering::Relaxed);
        s.misses = self.misses.load(Ordering::Relaxed);
        s
    }

    /// How many changes are not written yet.
    #[cfg(test)]
    pub(crate) fn dirty_count(&self) -> usize {
        self.shards
            .iter()
            .map(|lock| {
                let shard = read(lock);
                shard.evicted.len() + shard.slots.iter().filter(|s| s.dirty.is_some()).count()
            })
            .sum()
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
