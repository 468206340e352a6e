//! One open writer of a store: its id, the store's write lock, and its marker in `tmp/`.
//!
//! Each writable open makes a marker `tmp/w-<id>.lock` and holds an exclusive flock on it
//! for as long as the store is open; temp files carry the writer's id in their names. A
//! marker that can be locked belongs to a writer that died without closing, so the next
//! open can sweep exactly that writer's temp files (see [`sweep`](super::sweep)).

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::folder::Folder;
use super::lock::{LockGuard, StoreLock};
use super::shard_lock::{ShardGuard, ShardLocks};
use super::sys;
use crate::error::{Error, IoResultExt, Result};
use crate::format::names;

/// An open writer: id, lock and marker in one.
#[derive(Debug)]
pub(crate) struct Writer {
    id: String,
    lock: StoreLock,
    shards: ShardLocks,
    /// `tmp/`'s handle and the marker in it; `None` when `tmp/` is unusable (a read-only
    /// folder, or a link or file in its place): the store still opens, writes still work,
    /// and this writer's temp files are swept by age only.
    marker: Option<Marker>,
    /// Whether the marker has been made durable (see [`Writer::marker_durable`]).
    synced: AtomicBool,
    /// Whether `tmp/expiring` is known to exist (see [`Writer::note_expiring`]).
    expiring: AtomicBool,
}

#[derive(Debug)]
struct Marker {
    tmp: OwnedFd,
    name: String,
    file: File,
}

impl Drop for Marker {
    fn drop(&mut self) {
        // Unlinked while still locked, so no sweeper can take this writer for a dead one
        // before the name is gone.
        let _ = sys::unlink(self.tmp.as_fd(), &self.name);
        let _ = self.file.unlock();
    }
}

impl Writer {
    /// Opens the store's lock file (making it when it was deleted by hand) and makes this
    /// writer's marker.
    ///
    /// # Errors
    ///
    /// `Corrupt` when `lock` is not a regular file (a FIFO, a link, a folder); `Io` when it
    /// cannot be opened or made.
    pub(crate) fn open(folder: &Folder, lock_timeout: Option<Duration>, mode: u32) -> Result<Self> {
        let lock = open_lock(folder, lock_timeout, mode)?;
        let (id, marker) = make_marker(folder, mode);
        Ok(Writer {
            id,
            lock,
            shards: ShardLocks::new(lock_timeout),
            marker,
            synced: AtomicBool::new(false),
            expiring: AtomicBool::new(false),
        })
    }

    /// This writer's id (in its temp file names).
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Whether this writer has a marker (and so an id that sweeps can tell alive).
    pub(crate) fn has_marker(&self) -> bool {
        self.marker.is_some()
    }

    /// The handle of `tmp/`, when this writer could open it.
    pub(crate) fn tmp(&self) -> Option<BorrowedFd<'_>> {
        self.marker.as_ref().map(|m| m.tmp.as_fd())
    }

    /// Takes the store-wide lock (the `lock` file), waiting at most the lock timeout: for
    /// changes to the store as a whole (its manifest).
    ///
    /// # Errors
    ///
    /// `Locked` when the timeout passes; `Io` when locking fails.
    pub(crate) fn lock_store(&self) -> Result<LockGuard<'_>> {
        self.lock.lock()
    }

    /// Takes every shard's write lock for as long as this writer lives (write-back mode).
    ///
    /// # Errors
    ///
    /// `Locked` when another writer holds one past the lock timeout.
    pub(crate) fn own_all(&self, folder: &Folder) -> Result<()> {
        self.shards.own_all(folder)
    }

    /// Takes shard `shard`'s write lock, waiting at most the lock timeout.
    ///
    /// # Errors
    ///
    /// `Locked` when the timeout passes; `Io` when locking fails.
    pub(crate) fn lock(&self, folder: &Folder, shard: u8) -> Result<ShardGuard<'_>> {
        self.shards.lock(folder, &self.lock, shard)
    }

    /// Takes shard `shard`'s write lock only if nobody holds it.
    ///
    /// # Errors
    ///
    /// `Io` when locking fails.
    pub(crate) fn try_lock(&self, folder: &Folder, shard: u8) -> Result<Option<ShardGuard<'_>>> {
        self.shards.try_lock(folder, &self.lock, shard)
    }

    /// Records that the store holds (or held) an entry that expires, before that entry is
    /// written: `tmp/expiring` is made once, and synced with `tmp/` when `durable`.
    ///
    /// # Errors
    ///
    /// `Io` when it cannot be made.
    pub(crate) fn note_expiring(&self, folder: &Folder, durable: bool) -> Result<()> {
        if self.expiring.load(Ordering::Relaxed) {
            return Ok(());
        }
        let Some(tmp) = self.tmp() else {
            // Without a usable `tmp/` nothing is recorded, and removals always read.
            return Ok(());
        };
        let path = folder.path_of(names::TMP).join(names::EXPIRING);
        sys::open_regular(tmp, names::EXPIRING, true, 0o644)
            .ctx("cannot write to folder", &path)?;
        if durable {
            sys::sync_dir(tmp).ctx("cannot sync folder", folder.path_of(names::TMP))?;
        }
        self.expiring.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Whether the store may hold an entry that expires: `tmp/expiring` exists (or cannot
    /// be looked for: the safe answer is yes).
    pub(crate) fn may_hold_expiring(&self) -> bool {
        if self.expiring.load(Ordering::Relaxed) {
            return true;
        }
        let Some(tmp) = self.tmp() else {
            return true;
        };
        match sys::stat(tmp, names::EXPIRING) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            _ => {
                self.expiring.store(true, Ordering::Relaxed);
                true
            }
        }
    }

    /// In durable mode, makes this writer's marker durable (file, then `tmp/`) before its
    /// first temp file can exist, so that after a power cut every temp file left in a
    /// shard has a marker the next open finds unlocked. Done once, by the first durable
    /// write rather than by the open, so that opening a store to read it costs no fsync.
    ///
    /// # Errors
    ///
    /// `Io` when an fsync fails.
    pub(crate) fn marker_durable(&self, folder: &Folder) -> Result<()> {
        if self.synced.load(Ordering::Acquire) {
            return Ok(());
        }
        if let Some(m) = &self.marker {
            let tmp_path = folder.path_of(names::TMP);
            m.file
                .sync_all()
                .ctx("cannot sync the writer's marker", tmp_path.join(&m.name))?;
            sys::sync_dir(m.tmp.as_fd()).ctx("cannot sync folder", &tmp_path)?;
        }
        // Two threads may both get here first; syncing twice is harmless.
        self.synced.store(true, Ordering::Release);
        Ok(())
    }
}

fn open_lock(folder: &Folder, timeout: Option<Duration>, mode: u32) -> Result<StoreLock> {
    let path = folder.path_of(names::LOCK);
    let opened = match sys::open_regular(folder.root(), names::LOCK, false, mode) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // Deleted by hand: make a new one (every process opening later locks it).
            sys::open_regular(folder.root(), names::LOCK, true, mode)
        }
        other => other,
    };
    match opened {
        Ok(file) => Ok(StoreLock::new(file, path, timeout)),
        Err(e) if sys::is_not_a_file_error(&e) => Err(Error::corrupt(
            "the lock file is not a regular file (a link, FIFO or folder?)",
            &path,
        )
        .with_source(e)),
        Err(e) => Err(Error::io("cannot open the lock file", &path, e)),
    }
}

/// Picks this writer's id and creates and locks its marker `tmp/w-<id>.lock`; the marker
/// is `None` when that is not possible. `tmp/` is made when it is missing, and never used
/// through a link.
///
/// A sweeper may find a new marker before it is locked, take it for a dead writer's, and
/// sweep every temp file of that id: then that id is given up (the sweeper holds its
/// marker) and another one is tried, so no temp file of this writer ever carries an id a
/// sweeper thinks dead. After a few tries the writer goes without a marker under a fresh
/// id (its temp files are then swept by age only).
fn make_marker(folder: &Folder, mode: u32) -> (String, Option<Marker>) {
    let tmp = match sys::open_dir(folder.root(), names::TMP) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let _ = sys::mkdir(folder.root(), names::TMP, super::dir_mode(mode));
            sys::open_dir(folder.root(), names::TMP)
        }
        other => other,
    };
    let Ok(tmp) = tmp else {
        return (new_writer_id(), None);
    };
    for _ in 0..8 {
        let id = new_writer_id();
        let name = names::marker_name(&id);
        let Ok(file) = sys::create_new(tmp.as_fd(), &name, mode) else {
            return (new_writer_id(), None);
        };
        let Ok(tmp) = tmp.try_clone() else {
            let _ = sys::unlink(tmp.as_fd(), &name);
            return (new_writer_id(), None);
        };
        let marker = Marker { tmp, name, file };
        if marker.file.try_lock().is_ok() {
            return (id, Some(marker));
        }
        // Taken by a sweeper: dropping the marker unlinks its name; this id is burnt.
    }
    (new_writer_id(), None)
}

/// A random-enough writer id: 12 hex digits of SHA-256 over pid, time and a counter.
fn new_writer_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let seed = format!(
        "{}-{nanos}-{}-{:?}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::thread::current().id()
    );
    hex::encode(&names::hash(seed.as_bytes())[..6])
}
