//! One shard of the value cache: a table of slots with CLOCK (second chance) eviction,
//! bounded by entries and bytes.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};

use super::{CachedValue, Fill};
use crate::engine::storage::{Hash, Version};

/// Bytes charged per entry on top of its key and value: the slot, the map entry and the
/// allocations' headers, roughly.
const SLOT_OVERHEAD: usize = 160;

pub(super) struct Slot {
    hash: u64,
    key: Box<[u8]>,
    pub(super) value: CachedValue,
    pub(super) check: Option<(Hash, Version)>,
    pub(super) expires_ms: u64,
    cost: usize,
    pub(super) referenced: AtomicBool,
}

/// Hashes a `u64` that is already a SipHash: as it is.
#[derive(Default)]
pub(super) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in, to stay correct.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub(super) struct Shard {
    /// Key hash -> index in `slots`.
    pub(super) map: HashMap<u64, usize, BuildHasherDefault<Prehashed>>,
    pub(super) slots: Vec<Slot>,
    pub(super) hand: usize,
    pub(super) bytes: usize,
    pub(super) epoch: u64,
    pub(super) max_entries: usize,
    pub(super) max_bytes: usize,
}

impl Shard {
    pub(super) fn new(max_entries: usize, max_bytes: usize) -> Self {
        Shard {
            map: HashMap::default(),
            slots: Vec::new(),
            hand: 0,
            bytes: 0,
            epoch: 0,
            max_entries,
            max_bytes,
        }
    }

    /// The slot of `key` (whose hash is `hash`).
    pub(super) fn find(&self, hash: u64, key: &[u8]) -> Option<&Slot> {
        let slot = &self.slots[*self.map.get(&hash)?];
        (*slot.key == *key).then_some(slot)
    }

    /// Puts a value in, replacing whatever had the same hash.
    pub(super) fn put(&mut self, hash: u64, fill: Fill<'_>) {
        let cost = fill
            .stored_len
            .saturating_add(fill.key.len())
            .saturating_add(SLOT_OVERHEAD);
        self.remove(hash);
        if cost > self.max_bytes || self.max_entries == 0 {
            return;
        }
        while !self.slots.is_empty()
            && (self.slots.len() >= self.max_entries || self.bytes + cost > self.max_bytes)
        {
            self.evict_one();
        }
        self.map.insert(hash, self.slots.len());
        self.slots.push(Slot {
            hash,
            key: fill.key.into(),
            value: fill.value,
            check: fill.check,
            expires_ms: fill.expires_ms,
            cost,
            referenced: AtomicBool::new(false),
        });
        self.bytes += cost;
    }

    /// CLOCK: removes the first entry at or after the hand not used since the hand last
    /// passed it.
    fn evict_one(&mut self) {
        loop {
            if self.hand >= self.slots.len() {
                self.hand = 0;
            }
            let slot = &self.slots[self.hand];
            if slot.referenced.swap(false, Ordering::Relaxed) {
                self.hand += 1;
                continue;
            }
            self.remove_at(self.hand);
            return;
        }
    }

    /// Removes the entry with this hash (the key's, or a colliding one's).
    pub(super) fn remove(&mut self, hash: u64) {
        if let Some(&i) = self.map.get(&hash) {
            self.remove_at(i);
        }
    }

    fn remove_at(&mut self, i: usize) {
        let slot = self.slots.swap_remove(i);
        self.map.remove(&slot.hash);
        self.bytes -= slot.cost;
        if let Some(index) = self
            .slots
            .get(i)
            .and_then(|moved| self.map.get_mut(&moved.hash))
        {
            *index = i;
        }
    }
}
