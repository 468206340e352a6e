//! The non-generic body of a store: entries as bytes over a [`Storage`], with the
//! settings, the value cache, expiry and eviction, and the record of writes not yet
//! durable. [`RawStore`](crate::RawStore) is a thin handle on it and
//! [`Store`](crate::Store) adds the key and value types on top.
//!
//! - [`config`]: the settings, open modes, durability.
//! - [`storage`]: the seam to where the bytes live; [`local`] is the local file system.
//! - [`open`]: opening and creating a store (the `Exists` table), `Replace`.
//! - [`read`], [`write`], [`batch`]: reading and writing entries.
//! - [`walk`]: the one listing loop over the shards.
//! - [`flush`], [`expiry`], [`cache`]: durability later, expiry and eviction, the cache.

pub(crate) mod batch;
pub(crate) mod cache;
pub(crate) mod config;
pub(crate) mod expiry;
pub(crate) mod flush;
pub(crate) mod local;
pub(crate) mod open;
pub(crate) mod prefetch;
pub(crate) mod read;
#[cfg(feature = "object-store")]
pub(crate) mod remote;
#[cfg(feature = "object-store")]
pub(crate) mod remote_open;
pub(crate) mod storage;
pub(crate) mod walk;
pub(crate) mod write;
pub(crate) mod write_back;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use cache::{Cache, CacheStats};
use config::{Config, Durability};
use expiry::AutoState;
use flush::{Flusher, Pending};
use storage::{Hash, StageOpts, Storage};
use write_back::WriteBack;

use crate::error::{Error, ErrorKind, Result};
use crate::format::manifest::Manifest;
use crate::fs::shard_lock::ShardGuard;
use crate::seal::Seal;

/// One open store, without its types.
#[derive(Debug)]
pub(crate) struct Engine {
    storage: Arc<dyn Storage>,
    manifest: Manifest,
    config: Config,
    seal: Seal,
    /// Whether writes are durable (a [`RawStore`](crate::RawStore) may change it).
    durable: AtomicBool,
    /// Fast-mode writes not yet durable.
    pending: Arc<Pending>,
    /// The background flush thread (`Options::sync_interval`); stopped on drop.
    _flusher: Option<Flusher>,
    /// The value cache (`Options::cache`).
    cache: Option<Cache>,
    /// The write-back table (`Options::write_back`).
    write_back: Option<Arc<WriteBack>>,
    /// Automatic eviction's running count of writes and estimate of the store's size.
    auto: Mutex<AutoState>,
    /// Set by `destroy`: every later call through any handle fails.
    destroyed: AtomicBool,
}

impl Engine {
    /// An open store over `storage`, with its manifest, settings and value transforms;
    /// starts the background flush thread when the settings ask for it.
    ///
    /// # Errors
    ///
    /// `Io` when the flush thread cannot be started.
    pub(crate) fn new(
        storage: Arc<dyn Storage>,
        manifest: Manifest,
        config: Config,
        seal: Seal,
    ) -> Result<Arc<Self>> {
        let mut config = config;
        // Only the derived keys (in `seal`) are kept.
        config.encryption = None;
        let pending = Arc::new(Pending::new(Arc::clone(&storage)));
        let write_back = config
            .write_back
            .filter(|_| !config.read_only)
            .map(WriteBack::new);
        let mut started = Ok(());
        let engine = Arc::new_cyclic(|weak: &std::sync::Weak<Engine>| {
            let flusher = match config.sync_interval {
                Some(interval)
                    if !config.read_only && (write_back.is_some() || !config.durable()) =>
                {
                    let task: flush::Task = if write_back.is_some() {
                        // A weak handle: the thread never keeps the store open.
                        let weak = weak.clone();
                        Box::new(move || {
                            if let Some(engine) = weak.upgrade() {
                                let _ = engine.flush_write_back();
                                let _ = engine.pending.sync();
                            }
                        })
                    } else {
                        let pending = Arc::clone(&pending);
                        Box::new(move || {
                            let _ = pending.sync();
                        })
                    };
                    match Flusher::start(task, interval) {
                        Ok(f) => Some(f),
                        Err(e) => {
                            started = Err(Error::io(
                                "cannot start the background flush thread",
                                storage.path(),
                                e,
                            ));
                            None
                        }
                    }
                }
                _ => None,
            };
            let never_repeat = storage.versions_never_repeat();
            let cache = config.cache.map(|c| Cache::new(c, never_repeat));
            Engine {
                durable: AtomicBool::new(config.durable()),
                storage,
                manifest,
                config,
                seal,
                pending,
                _flusher: flusher,
                cache,
                write_back: write_back.map(Arc::new),
                auto: Mutex::new(AutoState::default()),
                destroyed: AtomicBool::new(false),
            }
        });
        started.map(|()| engine)
    }

    /// The store's folder (absolute) or URL.
    pub(crate) fn path(&self) -> &Path {
        self.storage.path()
    }

    /// The store's manifest.
    pub(crate) fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The settings the store was opened with.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn storage(&self) -> &dyn Storage {
        &*self.storage
    }

    /// The hashes of the store's entries, shard by shard (as the files hold them: in
    /// write-back mode, call [`before_walk`](Engine::before_walk) first).
    pub(crate) fn entries(&self) -> walk::Entries {
        walk::Entries::new(Arc::clone(&self.storage))
    }

    /// Before a walk of the files (a listing, a count, a purge): write-back RAM's changes
    /// are written first, so the walk sees them.
    pub(crate) fn before_walk(&self) -> Result<()> {
        self.check_alive()?;
        self.flush_write_back()
    }

    /// Whether entries are encrypted.
    pub(crate) fn is_encrypted(&self) -> bool {
        self.seal.is_encrypted()
    }

    /// How writes are made durable from now on.
    pub(crate) fn set_durability(&self, durability: Durability) {
        self.durable
            .store(durability == Durability::Durable, Ordering::Relaxed);
    }

    pub(crate) fn durability(&self) -> Durability {
        if self.durable() {
            Durability::Durable
        } else {
            Durability::Fast
        }
    }

    pub(crate) fn durable(&self) -> bool {
        self.durable.load(Ordering::Relaxed)
    }

    /// How writes are staged now.
    pub(crate) fn stage_opts(&self) -> StageOpts {
        StageOpts {
            durable: self.durable(),
            // With a clock of its own, the store's file times follow that clock too, as
            // eviction orders entries by them.
            stamp: self.config.clock.as_ref().map(|c| c.now()),
            version: false,
        }
    }

    /// The current time by the store's clock, in milliseconds since the Unix epoch.
    pub(crate) fn now_ms(&self) -> u64 {
        self.config.now_ms()
    }

    /// The entry path (or URL) of a hash.
    pub(crate) fn entry_path(&self, hash: &Hash) -> PathBuf {
        self.storage.entry_path(hash)
    }

    /// The hash that names the entry of `key` (SHA-256, or a keyed HMAC when encrypted).
    pub(crate) fn key_hash(&self, key: &[u8]) -> Hash {
        self.seal.name_hash(key)
    }

    pub(crate) fn seal(&self) -> &Seal {
        &self.seal
    }

    /// Fails with `ReadOnly` on a read-only store, `NotFound` once it was destroyed.
    pub(crate) fn check_writable(&self) -> Result<()> {
        self.check_alive()?;
        if self.config.read_only {
            return Err(
                Error::new(ErrorKind::ReadOnly, "the store is open read-only")
                    .with_path(self.path()),
            );
        }
        Ok(())
    }

    /// Fails with `NotFound` once the store was destroyed.
    pub(crate) fn check_alive(&self) -> Result<()> {
        if self.destroyed.load(Ordering::Relaxed) {
            return Err(Error::new(
                ErrorKind::NotFound,
                "the store was destroyed; open or create it again",
            )
            .with_path(self.path()));
        }
        Ok(())
    }

    /// Takes shard `shard`'s write lock (`None` where the storage has none).
    pub(crate) fn lock(&self, shard: u8) -> Result<Option<ShardGuard<'_>>> {
        self.check_writable()?;
        self.storage.lock(shard)
    }

    /// After entries were written (`files`) or removed (`shards` only): in durable mode
    /// sync each touched shard once; in fast mode remember them for `sync`. Then runs
    /// automatic eviction when it is due. Call it without the lock held.
    pub(crate) fn written(&self, files: &[Hash], removed_in: &[u8]) -> Result<()> {
        let mut shards: Vec<u8> = files
            .iter()
            .map(|h| h[0])
            .chain(removed_in.iter().copied())
            .collect();
        shards.sort_unstable();
        shards.dedup();
        if self.durable() {
            self.storage.sync_shards(&shards)?;
        } else {
            self.pending.record(files, &shards);
        }
        // Automatic eviction walks the files; write-back mode bounds RAM instead.
        if !files.is_empty() && self.config.auto_evict.is_some() && self.write_back.is_none() {
            self.after_writes(files);
        }
        Ok(())
    }

    /// Makes every write made through this store so far durable: write-back RAM's dirty
    /// entries are written first.
    pub(crate) fn sync(&self) -> Result<()> {
        self.check_alive()?;
        self.flush_write_back()?;
        self.pending.sync()
    }

    /// The value cache, when the store has one.
    pub(crate) fn cache(&self) -> Option<&Cache> {
        self.cache.as_ref()
    }

    /// What the value cache (or write-back RAM) holds; `None` without either.
    pub(crate) fn cache_stats(&self) -> Option<CacheStats> {
        match (&self.cache, self.write_back()) {
            (Some(cache), _) => Some(cache.stats()),
            (None, Some(wb)) => Some(wb.stats()),
            (None, None) => None,
        }
    }

    /// After this store removed `key` (or replaced it with a value the cache does not get).
    pub(crate) fn cache_forget(&self, key: &[u8]) {
        if let Some(cache) = &self.cache {
            cache.forget(key);
        }
    }

    /// Empties the value cache (after removals known only by file name: eviction, purge),
    /// and write-back RAM's clean entries.
    pub(crate) fn cache_clear(&self) {
        if let Some(cache) = &self.cache {
            cache.clear();
        }
        if let Some(wb) = self.write_back() {
            wb.forget_clean();
        }
    }

    /// Sweeps crashed writers' temp files (all shards when `full`); returns how many went.
    pub(crate) fn sweep(&self, full: bool) -> Result<usize> {
        self.check_writable()?;
        let name_of = |file: &std::fs::File| self.hash_of_file(file);
        let swept = self
            .storage
            .sweep(full, self.config.stale_temp_age, &name_of)?;
        Ok(swept.removed)
    }

    /// Removes every entry, shard by shard (each under the lock), through the handle of
    /// the store this engine opened, after checking that its path still leads there.
    pub(crate) fn clear(&self) -> Result<()> {
        self.check_writable()?;
        self.storage.check_still_there()?;
        if let Some(wb) = self.write_back() {
            let _flushing = wb
                .flushing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            wb.forget_all();
        }
        let result = self.clear_shards();
        // After the files (also when some are left): a value read before its file was
        // removed is refused by the epoch check.
        self.cache_clear();
        result
    }

    fn clear_shards(&self) -> Result<()> {
        for shard in 0..=255u8 {
            let guard = self.lock(shard)?;
            self.storage.clear_shard(shard)?;
            drop(guard);
            self.written(&[], &[shard])?;
        }
        Ok(())
    }

    /// Deletes the whole store; every handle to it fails from then on.
    pub(crate) fn destroy(&self) -> Result<()> {
        self.check_writable()?;
        let id = self.storage.writer_id().unwrap_or("0").to_owned();
        self.storage.destroy(&id)?;
        self.destroyed.store(true, Ordering::Relaxed);
        if let Some(wb) = self.write_back() {
            wb.forget_all();
        }
        self.cache_clear();
        Ok(())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if self.destroyed.load(Ordering::Relaxed) {
            return;
        }
        // Best effort (a drop has nobody to tell): call `sync` to see these errors.
        if self.write_back.is_some() {
            let _ = self.flush_write_back();
        }
        if self.config.sync_interval.is_some() && !self.config.read_only {
            let _ = self.pending.sync();
        }
    }
}
