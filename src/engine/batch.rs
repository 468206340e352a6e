//! Batches: many writes sharing their fsyncs and lock takings, many removals under one
//! lock.

use super::Engine;
use super::cache::CachedValue;
use super::storage::Hash;
use super::write::Stored;
use crate::error::Result;
use crate::fs::read::Need;

/// Batches commit in chunks of this many entries (bounded memory and open temp files).
pub(crate) const BATCH: usize = 1024;
/// A batch stages its encoded entries whenever they add up to this many bytes.
const BATCH_BYTES: usize = 16 << 20;

/// One entry of a batch: its hash, its bytes (from [`Engine::encode_entry`]) and, when the
/// store has a cache, its key and what the cache keeps of it.
pub(crate) type BatchItem = (Hash, Vec<u8>, Option<(Vec<u8>, Option<CachedValue>)>);

impl Engine {
    /// Writes entries in chunks of [`BATCH`]: the chunk's entries are staged first (in
    /// durable mode from several threads at once, each fsynced; staged whenever their
    /// bytes add up to [`BATCH_BYTES`], so memory stays bounded), then committed under one
    /// lock. At the end each touched shard is synced once for the whole call (durable
    /// mode), also when an error stopped it after earlier chunks were committed. Items are
    /// produced lazily, so a failing item stops the batch before its chunk is committed.
    pub(crate) fn put_many(
        &self,
        items: impl IntoIterator<Item = Result<BatchItem>>,
    ) -> Result<()> {
        self.check_writable()?;
        if let Some(wb) = self.write_back() {
            // In RAM: each one as a `put` (they are written together when evicted).
            for item in items {
                let (hash, bytes, note) = item?;
                let Some((key, cached)) = note else {
                    return Err(crate::Error::new(
                        crate::ErrorKind::InvalidInput,
                        "a write-back store keeps every value it writes",
                    ));
                };
                self.wb_put(wb, &key, &hash, super::write::NewEntry { bytes, cached })?;
            }
            return Ok(());
        }
        let mut items = items.into_iter().peekable();
        let mut committed: Vec<Hash> = Vec::new();
        let mut result = Ok(());
        while items.peek().is_some() && result.is_ok() {
            result = self.put_chunk(items.by_ref().take(BATCH), &mut committed);
        }
        let written = self.written(&committed, &[]);
        result.and(written)
    }

    fn put_chunk(
        &self,
        items: impl Iterator<Item = Result<BatchItem>>,
        committed: &mut Vec<Hash>,
    ) -> Result<()> {
        let mut staged = Vec::new();
        let mut notes = Vec::new();
        let mut encoded: Vec<(Hash, Vec<u8>)> = Vec::new();
        let mut encoded_bytes = 0;
        let mut items = items.peekable();
        let opts = self.stage_opts();
        while let Some(item) = items.next() {
            let (hash, bytes, note) = item?;
            notes.push(note.map(|(key, value)| (key, Stored::of(&bytes), value)));
            encoded_bytes += bytes.len();
            encoded.push((hash, bytes));
            if encoded_bytes >= BATCH_BYTES || items.peek().is_none() {
                staged.extend(
                    self.storage()
                        .stage_many(std::mem::take(&mut encoded), opts)?,
                );
                encoded_bytes = 0;
            }
        }
        let hashes: Vec<Hash> = staged.iter().map(|s| *s.hash()).collect();
        self.check_writable()?;
        // The cache is told of each write under its shard's lock, so it follows their order.
        let notes: Vec<std::sync::Mutex<Option<_>>> =
            notes.into_iter().map(std::sync::Mutex::new).collect();
        let on_commit = |i: usize| {
            let note = notes[i]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            if let Some((key, stored, value)) = note {
                self.cache_written(&key, &hashes[i], stored, value, None);
            }
        };
        let (done, result) = self.storage().commit_many(staged, &on_commit);
        committed.extend(done.iter().map(|&i| hashes[i]));
        result
    }

    /// Removes the entries of `keys` under one lock; returns how many had a live value
    /// (a damaged entry is removed and counts; an expired one is removed and does not).
    pub(crate) fn remove_keys<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k [u8]>,
    ) -> Result<usize> {
        self.check_writable()?;
        if let Some(wb) = self.write_back() {
            let mut removed = 0;
            for key in keys {
                removed += usize::from(self.wb_remove(wb, key)?);
            }
            return Ok(removed);
        }
        // One key after another on a local disk; on object storage several at once (its
        // `parallelism`), as each removal is two requests.
        let keys: Vec<&[u8]> = keys.into_iter().collect();
        let threads = self.storage().parallelism();
        let outcomes = crate::parallel::concurrently(keys, threads, |key| {
            let hash = self.key_hash(key);
            let _guard = self.lock(hash[0])?;
            // An entry is live unless it expired: only a store that may hold expiring
            // entries needs to look.
            let live = !self.storage().may_hold_expiring()
                || !matches!(self.read(key, &hash, Need::Key, |_| Ok(())), Ok(None));
            let unlinked = self.storage().remove(&hash);
            self.cache_forget(key);
            Ok::<_, crate::Error>(unlinked?.then_some((hash[0], live)))
        })?;
        let mut removed = 0;
        let mut shards = Vec::new();
        for (shard, live) in outcomes.into_iter().flatten() {
            shards.push(shard);
            removed += usize::from(live);
        }
        self.written(&[], &shards)?;
        Ok(removed)
    }
}
