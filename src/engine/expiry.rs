//! Entry lifetimes: lazy and bulk removal of expired entries, access times, and eviction to
//! size bounds (by hand or automatically every so many writes).
//!
//! Eviction walks the shard folders with one `stat` per entry file (no entry is opened) and
//! orders entries by a file time: the access time when the store tracks access (which
//! dirkv sets itself on each `get`, whatever the mount's `atime` options), the modification
//! time otherwise. It keeps only the oldest candidates in memory (at most [`CANDIDATES`]
//! at a time, about 60 bytes each), so a store of millions of entries is evicted in bounded
//! memory; an eviction that must remove more than that walks again.
//!
//! Sizes are the space entry files take on disk (allocated blocks × 512, as `du` counts:
//! 4 KiB for a small entry on ext4), not the lengths of the values.

use std::collections::BinaryHeap;
use std::time::SystemTime;

use super::Engine;
use super::storage::{EntryStat, Hash, ReadOpts};
use crate::error::Result;
use crate::format::entry;
use crate::fs::read::Need;

/// The most eviction candidates kept in memory by one walk.
pub(crate) const CANDIDATES: usize = 32 * 1024;
/// Victims looked at between checks of the bounds.
const REMOVE_CHUNK: usize = 256;

/// What [`Store::evict_to`](crate::Store::evict_to) did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Eviction {
    /// Entries removed.
    pub removed: usize,
    /// Disk space of the entries removed, in bytes.
    pub removed_bytes: u64,
    /// Entries left (as counted by the walk, less those removed).
    pub entries: usize,
    /// Disk space of the entries left, in bytes.
    pub bytes: u64,
}

/// Automatic eviction's state in one open store.
#[derive(Debug, Default)]
pub(crate) struct AutoState {
    /// Writes since the last eviction walk.
    writes: u64,
    /// Entries and bytes: the last walk's count plus what this handle wrote since
    /// (overwrites counted as new entries, so it errs high). `None` until the first walk.
    estimate: Option<(usize, u64)>,
    /// An eviction is running in this process.
    running: bool,
}

/// 90% of a bound: where automatic eviction stops, so that it does not run on every write.
fn low_mark(bound: u64) -> u64 {
    bound - bound / 10
}

/// The time an entry is ordered by for eviction.
fn eviction_time(stat: &EntryStat, by_access: bool) -> SystemTime {
    match stat.accessed {
        Some(accessed) if by_access => accessed.max(stat.modified),
        _ => stat.modified,
    }
}

/// An entry that may be evicted; ordered oldest first, ties by hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    time: SystemTime,
    hash: Hash,
    size: u64,
}

/// Bounds on entries and bytes.
#[derive(Clone, Copy, Debug)]
struct Bounds {
    entries: u64,
    bytes: u64,
}

impl Bounds {
    fn exceeded_by(&self, entries: u64, bytes: u64) -> bool {
        entries > self.entries || bytes > self.bytes
    }
}

impl Engine {
    /// Whether the entry of `hash` has a readable header saying it expired at `now`.
    fn header_expired(&self, hash: &Hash, now: u64) -> bool {
        let opts = ReadOpts {
            need: Need::Key,
            noatime: self.config().track_access,
            version: false,
        };
        let mut expired = false;
        let _ = self.storage().read(hash, opts, &mut |fetched| {
            expired = fetched
                .bytes
                .ok()
                .and_then(|b| entry::parse_header(b).ok())
                .is_some_and(|h| h.expired_at(now));
            Ok(())
        });
        expired
    }

    /// Removes the entry of `hash` if it is (still) expired: under the lock, re-reading its
    /// header, so that a fresh value written meanwhile is never removed. Does not wait for
    /// the lock: when it is busy, the entry stays for a later read or
    /// [`purge_expired`](Engine::purge_expired). Not made durable: an expired entry that
    /// reappears after a power cut is still expired.
    pub(crate) fn remove_expired(&self, hash: &Hash) -> Result<bool> {
        let now = self.now_ms();
        // Without a lock (object storage) the re-check could not be made safe: leave it.
        let Some(_guard) = self.storage().try_lock(hash[0])? else {
            return Ok(false);
        };
        if self.header_expired(hash, now) {
            self.storage().remove(hash)
        } else {
            Ok(false)
        }
    }

    /// Removes every expired entry; returns how many. Each shard's expired entries are
    /// re-checked and removed under one taking of the lock.
    pub(crate) fn purge_expired(&self) -> Result<usize> {
        self.check_writable()?;
        self.before_walk()?;
        let now = self.now_ms();
        let mut removed = 0;
        let mut shards = Vec::new();
        let mut pending: Vec<Hash> = Vec::new();
        let mut flush = |pending: &mut Vec<Hash>| -> Result<()> {
            let Some(shard) = pending.first().map(|h| h[0]) else {
                return Ok(());
            };
            let _guard = self.lock(shard)?;
            for hash in pending.drain(..) {
                if self.header_expired(&hash, now) && self.storage().remove(&hash)? {
                    removed += 1;
                    shards.push(hash[0]);
                }
            }
            Ok(())
        };
        for item in self.entries() {
            let hash = item?;
            if pending.first().is_some_and(|p| p[0] != hash[0]) {
                flush(&mut pending)?;
            }
            if self.header_expired(&hash, now) {
                pending.push(hash);
            }
        }
        flush(&mut pending)?;
        if removed > 0 {
            // The value cache knows keys, not file names: start it afresh.
            self.cache_clear();
        }
        shards.dedup();
        self.written(&[], &shards)?;
        Ok(removed)
    }

    /// Walks the entries: their count and disk usage, and the oldest (at most
    /// [`CANDIDATES`]) in eviction order.
    fn eviction_walk(&self) -> Result<(u64, u64, Vec<Candidate>, bool)> {
        let by_access = self.config().track_access;
        let mut heap: BinaryHeap<Candidate> = BinaryHeap::new();
        let mut capped = false;
        let (mut entries, mut bytes) = (0u64, 0u64);
        for item in self.entries() {
            let hash = item?;
            let Some(meta) = self.storage().stat(&hash)? else {
                continue;
            };
            let size = meta.disk_bytes;
            entries += 1;
            bytes = bytes.saturating_add(size);
            heap.push(Candidate {
                time: eviction_time(&meta, by_access),
                hash,
                size,
            });
            if heap.len() > CANDIDATES {
                heap.pop();
                capped = true;
            }
        }
        Ok((entries, bytes, heap.into_sorted_vec(), capped))
    }

    /// Evicts oldest entries: when the store is over `high`, until it is within `low`.
    fn evict(&self, high: Bounds, low: Bounds) -> Result<Eviction> {
        self.check_writable()?;
        self.before_walk()?;
        let by_access = self.config().track_access;
        let mut out = Eviction::default();
        let mut first = true;
        loop {
            let (mut entries, mut bytes, victims, capped) = self.eviction_walk()?;
            let done = |entries, bytes, out: Eviction| Eviction {
                entries: usize::try_from(entries).unwrap_or(usize::MAX),
                bytes,
                ..out
            };
            if (first && !high.exceeded_by(entries, bytes)) || !low.exceeded_by(entries, bytes) {
                return Ok(done(entries, bytes, out));
            }
            first = false;
            let mut progressed = false;
            let mut shards = Vec::new();
            for chunk in victims.chunks(REMOVE_CHUNK) {
                if !low.exceeded_by(entries, bytes) {
                    break;
                }
                for victim in chunk {
                    if !low.exceeded_by(entries, bytes) {
                        break;
                    }
                    let _guard = self.lock(victim.hash[0])?;
                    // Skip an entry written or read since the walk: it is no longer old.
                    let unchanged = self.storage().stat(&victim.hash)?.is_some_and(|m| {
                        eviction_time(&m, by_access) == victim.time && m.disk_bytes == victim.size
                    });
                    if unchanged && self.storage().remove(&victim.hash)? {
                        entries -= 1;
                        bytes = bytes.saturating_sub(victim.size);
                        out.removed += 1;
                        out.removed_bytes += victim.size;
                        shards.push(victim.hash[0]);
                        progressed = true;
                    }
                }
            }
            if progressed {
                // The value cache knows keys, not file names: start it afresh.
                self.cache_clear();
            }
            shards.sort_unstable();
            shards.dedup();
            self.written(&[], &shards)?;
            if !low.exceeded_by(entries, bytes) || !progressed || !capped {
                return Ok(done(entries, bytes, out));
            }
        }
    }

    /// Removes oldest entries until at most `max_entries` entries taking at most
    /// `max_bytes` on disk are left.
    pub(crate) fn evict_to(&self, max_entries: usize, max_bytes: u64) -> Result<Eviction> {
        let bounds = Bounds {
            entries: u64::try_from(max_entries).unwrap_or(u64::MAX),
            bytes: max_bytes,
        };
        self.evict(bounds, bounds)
    }

    /// Automatic eviction after this handle wrote `files`: due every N writes, and whenever
    /// the running estimate of the store's size is over a bound. Best effort: errors are
    /// left for an explicit [`evict_to`](Engine::evict_to) to report.
    pub(crate) fn after_writes(&self, files: &[Hash]) {
        let Some(cfg) = self.config().auto_evict else {
            return;
        };
        let high = Bounds {
            entries: u64::try_from(cfg.max_entries).unwrap_or(u64::MAX),
            bytes: cfg.max_bytes,
        };
        let added: u64 = if cfg.max_bytes == u64::MAX {
            0
        } else {
            files
                .iter()
                .filter_map(|h| self.storage().stat(h).ok().flatten())
                .map(|m| m.disk_bytes)
                .sum()
        };
        let due = {
            let mut st = self
                .auto
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            st.writes = st.writes.saturating_add(files.len() as u64);
            if let Some((entries, bytes)) = &mut st.estimate {
                *entries = entries.saturating_add(files.len());
                *bytes = bytes.saturating_add(added);
            }
            let over = match st.estimate {
                None => true,
                Some((entries, bytes)) => high.exceeded_by(entries as u64, bytes),
            };
            let due = !st.running && (over || st.writes >= cfg.every_n_writes);
            if due {
                st.running = true;
                st.writes = 0;
            }
            due
        };
        if !due {
            return;
        }
        let low = Bounds {
            entries: low_mark(high.entries),
            bytes: low_mark(high.bytes),
        };
        let result = self.evict(high, low);
        let mut st = self
            .auto
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.running = false;
        st.estimate = match result {
            Ok(e) => Some((e.entries, e.bytes)),
            // Unknown size: fall back on the every-N-writes schedule.
            Err(_) => Some((0, 0)),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_mark_and_bounds() {
        assert_eq!(low_mark(100), 90);
        assert_eq!(low_mark(0), 0);
        assert!(low_mark(u64::MAX) > u64::MAX / 2);
        let b = Bounds {
            entries: 10,
            bytes: 100,
        };
        assert!(!b.exceeded_by(10, 100));
        assert!(b.exceeded_by(11, 0));
        assert!(b.exceeded_by(0, 101));
    }

    #[test]
    fn candidates_order_oldest_first_then_by_hash() {
        let t = SystemTime::UNIX_EPOCH;
        let later = t + std::time::Duration::from_secs(1);
        let a = Candidate {
            time: later,
            hash: [0; 32],
            size: 1,
        };
        let b = Candidate {
            time: t,
            hash: [9; 32],
            size: 1,
        };
        let c = Candidate {
            time: t,
            hash: [1; 32],
            size: 1,
        };
        let mut v = vec![a, b, c];
        v.sort();
        assert_eq!(v, vec![c, b, a]);
    }
}
