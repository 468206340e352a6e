//! Write-back mode's operations on the engine: gets and changes through the RAM table
//! ([`table`]), and flushes of its dirty entries through the one write recipe.
//!
//! Write-back ([`Options::write_back`](crate::Options::write_back)): a store that one
//! process owns keeps up to N entries / B bytes in RAM, answers gets and sets from there,
//! and writes dirty entries to their files later: when they are evicted (in batches that
//! share their fsyncs), on `sync()`, every `sync_interval` when one is set, and when the
//! last handle is dropped. Absent keys are remembered too.
//!
//! Ownership: a write-back store holds every shard's write lock (an exclusive `flock` on
//! each shard folder) from open to drop, so another process's writer waits for the lock
//! (or fails with [`Locked`](crate::ErrorKind::Locked) after its `lock_timeout`) and can
//! never be silently overwritten. Other processes' reads see the files: the state of the
//! last flush.
//!
//! What a crash loses: exactly the entries that were dirty (written or removed in RAM
//! since their last flush). Every flushed entry went through the atomic write recipe, so
//! a file is always the old value or a new one, and with `Durability::Durable` a flush is
//! durable when it returns.
//!
//! Eviction is CLOCK (second chance), per shard of the table. A dirty entry that is
//! evicted moves to the shard's `evicted` list, still visible to gets, until a flush of
//! [`FLUSH_BATCH`](table::FLUSH_BATCH) of them writes them together.

pub(crate) mod table;

use std::sync::{Arc, PoisonError};

pub(crate) use table::{Dirty, Flush, Known, WriteBack, WriteBackSettings};

use super::Engine;
use super::cache::CachedValue;
use super::read::Found;
use super::storage::Hash;
use super::write::{NewEntry, Step};
use crate::error::{Error, ErrorKind, Result};
use crate::format::entry;
use crate::fs::read::Need;

/// What a read-modify-write sees of the current value in write-back mode.
pub(crate) struct Current<'a> {
    pub value: &'a CachedValue,
    pub created_ms: u64,
    pub expires_ms: u64,
}

impl Engine {
    /// The write-back table, when the store is in write-back mode.
    pub(crate) fn write_back(&self) -> Option<&WriteBack> {
        self.write_back.as_deref()
    }

    /// What write-back RAM knows of `key`, reading it from its file (with `decode`) when RAM
    /// does not know it. `Ok(None)` when absent.
    pub(crate) fn wb_lookup(
        &self,
        wb: &WriteBack,
        key: &[u8],
        decode: impl FnOnce(&Found<'_>) -> Result<CachedValue>,
    ) -> Result<Known> {
        let (known, full) = self.wb_known(wb, key, decode)?;
        if full {
            self.flush_evicted(wb)?;
        }
        Ok(known)
    }

    /// As [`wb_lookup`](Engine::wb_lookup), without flushing: also says whether a flush of
    /// evicted entries is due (callers holding a shard lock flush after releasing it).
    fn wb_known(
        &self,
        wb: &WriteBack,
        key: &[u8],
        decode: impl FnOnce(&Found<'_>) -> Result<CachedValue>,
    ) -> Result<(Known, bool)> {
        self.check_alive()?;
        if let Some(known) = wb.get(key, || self.now_ms()) {
            return Ok((known, false));
        }
        let hash = self.key_hash(key);
        let read = self.read(key, &hash, Need::Whole, |found| {
            let stored_len = usize::try_from(found.header.total_len()).unwrap_or(usize::MAX);
            Ok((
                Known::Value {
                    value: decode(&found)?,
                    created_ms: found.header.meta.created_ms,
                    expires_ms: found.header.meta.expires_ms,
                },
                stored_len,
            ))
        })?;
        let (known, stored_len) = read.unwrap_or((Known::Absent, 0));
        let full = wb.fill(key, &hash, known.clone(), stored_len);
        Ok((known, full))
    }

    /// A change of `key` in write-back RAM: `new` written, or (`None`) removed. The caller
    /// holds the key's shard lock.
    fn wb_change(
        &self,
        wb: &WriteBack,
        key: &[u8],
        hash: &Hash,
        new: Option<NewEntry>,
    ) -> Result<bool> {
        let (known, dirty, len) = match new {
            None => (Known::Absent, Dirty::Remove, 0),
            Some(new) => {
                let header = entry::parse_header(&new.bytes).map_err(|d| {
                    Error::new(ErrorKind::Encode, d.to_string()).with_path(self.entry_path(hash))
                })?;
                let Some(value) = new.cached else {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        "a write-back store keeps every value it writes",
                    ));
                };
                let known = Known::Value {
                    value,
                    created_ms: header.meta.created_ms,
                    expires_ms: header.meta.expires_ms,
                };
                let len = new.bytes.len();
                (known, Dirty::Put(Arc::new(new.bytes)), len)
            }
        };
        Ok(wb.change(key, hash, known, dirty, len))
    }

    /// `put` in write-back mode: the entry goes to RAM.
    pub(crate) fn wb_put(
        &self,
        wb: &WriteBack,
        key: &[u8],
        hash: &Hash,
        new: NewEntry,
    ) -> Result<()> {
        self.check_writable()?;
        let guard = self.lock(hash[0])?;
        let full = self.wb_change(wb, key, hash, Some(new))?;
        drop(guard);
        if full {
            self.flush_evicted(wb)?;
        }
        Ok(())
    }

    /// A removal in write-back mode; returns whether the key had a value.
    pub(crate) fn wb_remove(&self, wb: &WriteBack, key: &[u8]) -> Result<bool> {
        self.check_writable()?;
        let hash = self.key_hash(key);
        let guard = self.lock(hash[0])?;
        let had = match wb.get(key, || self.now_ms()) {
            Some(Known::Value { .. }) => true,
            Some(Known::Absent) => false,
            // Damaged entries count as values, as on disk.
            None => !matches!(self.read(key, &hash, Need::Key, |_| Ok(())), Ok(None)),
        };
        let full = self.wb_change(wb, key, &hash, None)?;
        drop(guard);
        if full {
            self.flush_evicted(wb)?;
        }
        Ok(had)
    }

    /// A read-modify-write in write-back mode, under the key's shard lock: `decide` sees the
    /// current value (from RAM, or read from the file with `decode`).
    pub(crate) fn wb_modify<R>(
        &self,
        wb: &WriteBack,
        key: &[u8],
        hash: &Hash,
        decode: impl FnOnce(&Found<'_>) -> Result<CachedValue>,
        decide: impl FnOnce(Option<Current<'_>>) -> Result<Step<R>>,
    ) -> Result<R> {
        self.check_writable()?;
        let guard = self.lock(hash[0])?;
        let (known, filled_full) = self.wb_known(wb, key, decode)?;
        let current = match &known {
            Known::Value {
                value,
                created_ms,
                expires_ms,
            } => Some(Current {
                value,
                created_ms: *created_ms,
                expires_ms: *expires_ms,
            }),
            Known::Absent => None,
        };
        let (r, changed_full) = match decide(current)? {
            Step::Keep(r) => (r, false),
            Step::Remove(r) => (r, self.wb_change(wb, key, hash, None)?),
            Step::Put(new, r) => (r, self.wb_change(wb, key, hash, Some(new))?),
            Step::Prepared(_) => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    "write-back mode stages nothing",
                ));
            }
        };
        drop(guard);
        if filled_full || changed_full {
            self.flush_evicted(wb)?;
        }
        Ok(r)
    }

    /// Writes the evicted dirty entries once enough of them wait (one flush at a time;
    /// the others wait for it, so RAM stays within its bounds).
    fn flush_evicted(&self, wb: &WriteBack) -> Result<()> {
        let _flushing = wb.flushing.lock().unwrap_or_else(PoisonError::into_inner);
        let items = wb.to_flush(false);
        if items.len() < table::FLUSH_BATCH {
            return Ok(());
        }
        self.write_changes(wb, &items)
    }

    /// Writes every dirty entry of write-back RAM to its file (what `sync` does first).
    pub(crate) fn flush_write_back(&self) -> Result<()> {
        let Some(wb) = self.write_back() else {
            return Ok(());
        };
        let _flushing = wb.flushing.lock().unwrap_or_else(PoisonError::into_inner);
        let items = wb.to_flush(true);
        if items.is_empty() {
            return Ok(());
        }
        self.write_changes(wb, &items)
    }

    /// Writes `items` (puts staged together, fsynced from several threads in durable mode,
    /// renamed shard by shard; removals under their shard's lock), then tells the table
    /// which were written and makes them durable as the store's durability says.
    fn write_changes(&self, wb: &WriteBack, items: &[Flush]) -> Result<()> {
        let mut puts = Vec::new();
        let mut put_index = Vec::new();
        let mut removes = Vec::new();
        for (i, f) in items.iter().enumerate() {
            match &f.dirty {
                Dirty::Put(bytes) => {
                    puts.push((f.hash, bytes.to_vec()));
                    put_index.push(i);
                }
                Dirty::Remove => removes.push(i),
            }
        }
        let mut done: Vec<usize> = Vec::new();
        let mut files = Vec::new();
        let mut result = Ok(());
        if !puts.is_empty() {
            match self.storage().stage_many(puts, self.stage_opts()) {
                Ok(staged) => {
                    let (committed, r) = self.storage().commit_many(staged, &|_| {});
                    for i in committed {
                        done.push(put_index[i]);
                        files.push(items[put_index[i]].hash);
                    }
                    result = r;
                }
                Err(e) => result = Err(e),
            }
        }
        let mut removed_in = Vec::new();
        for i in removes {
            if result.is_err() {
                break;
            }
            let hash = &items[i].hash;
            let outcome = self
                .lock(hash[0])
                .and_then(|_guard| self.storage().remove(hash));
            match outcome {
                Ok(removed) => {
                    if removed {
                        removed_in.push(hash[0]);
                    }
                    done.push(i);
                }
                Err(e) => result = Err(e),
            }
        }
        let durable = self.written(&files, &removed_in);
        // Only what is durable as promised counts as written.
        if durable.is_ok() {
            wb.written(done.iter().map(|&i| &items[i]));
        }
        result.and(durable)
    }
}
