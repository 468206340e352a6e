//! Fast-mode writes not yet durable, [`Pending::sync`] that makes them durable, and the
//! optional background thread that does so every few milliseconds
//! ([`Options::sync_interval`](crate::Options::sync_interval)).
//!
//! The thread exists only when the option is set on a writable fast-mode (or write-back)
//! store. It never keeps a store open: it holds the record of pending writes (or, in
//! write-back mode, a weak handle), so dropping the last handle (the last `Store` clone or
//! iterator) stops it, waits for it, and a final sync is made before it ends. A
//! background sync that fails keeps its writes pending: they are retried on the next tick
//! and by [`Store::sync`](crate::Store::sync), which returns the error if it persists.

use std::collections::HashSet;
use std::io;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::storage::{Hash, Storage};
use crate::error::Result;

/// Fast-mode writes remembered for `sync`; past this many files, `sync` syncs every entry.
const DIRTY_FILES_MAX: usize = 1 << 16;

/// Writes not yet durable.
#[derive(Debug, Default)]
struct Dirty {
    files: HashSet<[u8; 32]>,
    shards: HashSet<u8>,
    overflow: bool,
}

impl Dirty {
    fn is_empty(&self) -> bool {
        self.files.is_empty() && self.shards.is_empty() && !self.overflow
    }

    fn merge(&mut self, other: Dirty) {
        self.shards.extend(other.shards);
        self.overflow |= other.overflow;
        if self.overflow {
            self.files = HashSet::new();
        } else {
            self.files.extend(other.files);
            self.check_overflow();
        }
    }

    fn check_overflow(&mut self) {
        if self.files.len() > DIRTY_FILES_MAX {
            self.overflow = true;
            self.files = HashSet::new();
        }
    }
}

/// The record of a store's fast-mode writes not yet made durable.
#[derive(Debug)]
pub(crate) struct Pending {
    storage: Arc<dyn Storage>,
    dirty: Mutex<Dirty>,
    /// Held for a whole [`Pending::sync`], so that a `sync` never returns while another
    /// (the flush thread's) is still making the writes it took durable, or is about to
    /// put them back after an error. Writers record without waiting for it.
    syncing: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Pending {
    pub(crate) fn new(storage: Arc<dyn Storage>) -> Self {
        Pending {
            storage,
            dirty: Mutex::new(Dirty::default()),
            syncing: Mutex::new(()),
        }
    }

    /// Remembers entry files written and shard folders changed.
    pub(crate) fn record(&self, files: &[[u8; 32]], shards: &[u8]) {
        let mut dirty = lock(&self.dirty);
        dirty.shards.extend(shards.iter().copied());
        if !dirty.overflow {
            dirty.files.extend(files.iter().copied());
            dirty.check_overflow();
        }
    }

    /// Makes every recorded write durable: the entry files (from several threads at once),
    /// then each shard folder once. On error the writes stay recorded, to be retried. One
    /// sync at a time: a call waits for one in progress, then syncs what is left.
    pub(crate) fn sync(&self) -> Result<()> {
        let _one = lock(&self.syncing);
        let dirty = std::mem::take(&mut *lock(&self.dirty));
        if dirty.is_empty() {
            return Ok(());
        }
        let result = self.sync_now(&dirty);
        if result.is_err() {
            lock(&self.dirty).merge(dirty);
        }
        result
    }

    fn sync_now(&self, dirty: &Dirty) -> Result<()> {
        let mut shards: Vec<u8> = dirty.shards.iter().copied().collect();
        if dirty.overflow {
            // Too many to remember: every entry of every shard.
            let mut files: Vec<Hash> = Vec::new();
            for shard in 0..=255u8 {
                if let Some(list) = self.storage.list(shard)? {
                    for hash in list {
                        files.push(hash?);
                    }
                }
                self.storage.sync_entries(&files)?;
                files.clear();
            }
            shards = (0..=255).collect();
        } else {
            let files: Vec<Hash> = dirty.files.iter().copied().collect();
            self.storage.sync_entries(&files)?;
        }
        shards.sort_unstable();
        self.storage.sync_shards(&shards)
    }
}

/// The background flush thread of a store; dropping it stops the thread after a last run
/// of its task.
#[derive(Debug)]
pub(crate) struct Flusher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

/// What the flush thread does every tick, and once more when it stops.
pub(crate) type Task = Box<dyn Fn() + Send>;

impl Flusher {
    /// Starts a thread that runs `task` every `interval`.
    pub(crate) fn start(task: Task, interval: Duration) -> io::Result<Self> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("dirkv-flush".into())
            .spawn(move || {
                let (flag, wake) = &*signal;
                loop {
                    let stopped = {
                        let guard = lock(flag);
                        let (guard, _) = wake
                            .wait_timeout_while(guard, interval, |stopped| !*stopped)
                            .unwrap_or_else(PoisonError::into_inner);
                        *guard
                    };
                    // On error the writes stay pending: the next tick or `sync` retries them.
                    task();
                    if stopped {
                        return;
                    }
                }
            })?;
        Ok(Flusher {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        let (flag, wake) = &*self.stop;
        *lock(flag) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            // The thread itself may drop the store (its weak handle was the last one):
            // it ends on its own after this.
            if thread.thread().id() != std::thread::current().id() {
                // A panic in the thread has nothing left to report to.
                let _ = thread.join();
            }
        }
    }
}
