//! The store folder as an open handle: the root's descriptor, and the shard folders'
//! descriptors opened from it (each with `O_NOFOLLOW`, so a shard replaced by a link is
//! refused, never followed) and kept for reuse.
//!
//! Every entry, temp file and listing is reached through these handles: a get is one
//! `openat` relative to its shard's handle, a write creates, renames and syncs relative to
//! it. Someone who can write into the store folder may swap names around; what dirkv then
//! touches is still only the folders it opened as the store's own.
//!
//! Kept handles are bounded per process: all stores together keep at most a quarter of the
//! open-file limit (and at most 16,384); past that a shard is opened for the one call and
//! closed again (`openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` for a read, one call on
//! Linux).

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use super::sys;
use crate::error::{Error, Result};
use crate::format::names::{self, EntryName, ShardName};

/// Handles all stores of this process may keep open, shared out first come, first served.
fn budget() -> &'static AtomicI64 {
    static BUDGET: OnceLock<AtomicI64> = OnceLock::new();
    BUDGET.get_or_init(|| {
        let limit = sys::open_file_limit() / 4;
        AtomicI64::new(i64::try_from(limit.min(16_384)).unwrap_or(256))
    })
}

/// An open store folder.
#[derive(Debug)]
pub(crate) struct Folder {
    path: PathBuf,
    root: OwnedFd,
    /// The kept shard handles: set once, read without a lock or a reference count (a get
    /// only loads the pointer, so threads reading in parallel share no written cache line).
    shards: Box<[OnceLock<Arc<OwnedFd>>]>,
    /// Set when a kept shard folder was found removed: its handle is not used again.
    gone: Box<[AtomicBool]>,
    kept: AtomicUsize,
    /// See [`super::stamps::stamps_observed_changes`].
    stamps_observed_changes: bool,
}

/// A shard folder's handle: kept by the folder, or opened for one call.
#[derive(Debug)]
pub(crate) enum ShardFd {
    Kept(Arc<OwnedFd>),
    Once(OwnedFd),
}

impl ShardFd {
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        match self {
            ShardFd::Kept(fd) => fd.as_fd(),
            ShardFd::Once(fd) => fd.as_fd(),
        }
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let kept = self.kept.load(Ordering::Relaxed) as i64;
        budget().fetch_add(kept, Ordering::Relaxed);
    }
}

impl Folder {
    /// A folder from its open root handle; `path` is how errors and `path_of` name it.
    pub(crate) fn new(path: PathBuf, root: OwnedFd) -> Self {
        let stamps_observed_changes = super::stamps::stamps_observed_changes(root.as_fd());
        Folder {
            stamps_observed_changes,
            path,
            root,
            shards: (0..names::SHARDS).map(|_| OnceLock::new()).collect(),
            gone: (0..names::SHARDS).map(|_| AtomicBool::new(false)).collect(),
            kept: AtomicUsize::new(0),
        }
    }

    /// Whether every change of a file dirkv has `fstat`ed gets a new change time here
    /// (see [`super::stamps::stamps_observed_changes`]).
    pub(crate) fn stamps_observed_changes(&self) -> bool {
        self.stamps_observed_changes
    }

    /// The store folder's path (absolute, as opened).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The root folder's handle.
    pub(crate) fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// The path of `name` in the root, for messages.
    pub(crate) fn path_of(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The path of shard `shard`, for messages.
    pub(crate) fn shard_path(&self, shard: u8) -> PathBuf {
        self.path.join(ShardName::of(shard).as_str())
    }

    /// The path of the entry file of `hash`, for messages and `path_of`.
    pub(crate) fn entry_path(&self, hash: &[u8; 32]) -> PathBuf {
        let name = EntryName::of(hash);
        let mut p = PathBuf::with_capacity(self.path.as_os_str().len() + 72);
        p.push(&self.path);
        p.push(&name.as_str()[..2]);
        p.push(name.as_str());
        p
    }

    /// The handle of shard `shard`, kept when the budget allows.
    ///
    /// # Errors
    ///
    /// `Io` with kind `NotFound` when the shard folder is missing; `Corrupt` naming it when
    /// it is a link or not a folder; `Io` otherwise.
    pub(crate) fn shard(&self, shard: u8) -> Result<ShardFd> {
        match self.keep(shard)? {
            Some(kept) => Ok(ShardFd::Kept(Arc::clone(kept))),
            None => Ok(ShardFd::Once(self.open_shard(shard)?)),
        }
    }

    /// The kept handle of `shard`, opening and keeping it when the budget allows;
    /// `Ok(None)` when it is not kept and the budget is spent, or its folder was removed.
    fn keep(&self, shard: u8) -> Result<Option<&Arc<OwnedFd>>> {
        let i = usize::from(shard);
        if self.gone[i].load(Ordering::Relaxed) {
            return Ok(None);
        }
        if let Some(fd) = self.shards[i].get() {
            return Ok(Some(fd));
        }
        if budget().fetch_sub(1, Ordering::Relaxed) <= 0 {
            budget().fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        }
        let fd = match self.open_shard(shard) {
            Ok(fd) => fd,
            Err(e) => {
                budget().fetch_add(1, Ordering::Relaxed);
                return Err(e);
            }
        };
        match self.shards[i].set(Arc::new(fd)) {
            Ok(()) => {
                self.kept.fetch_add(1, Ordering::Relaxed);
            }
            // Another thread kept one first: ours closes.
            Err(_) => {
                budget().fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(self.shards[i].get())
    }

    /// Opens and keeps every shard's handle, whatever the budget (a store that owns all its
    /// shards' locks needs them all).
    ///
    /// # Errors
    ///
    /// As [`shard`](Folder::shard).
    pub(crate) fn keep_all(&self) -> Result<Vec<Arc<OwnedFd>>> {
        let mut out = Vec::with_capacity(names::SHARDS);
        for shard in 0..=255u8 {
            let i = usize::from(shard);
            if self.shards[i].get().is_none() {
                let fd = self.open_shard(shard)?;
                if self.shards[i].set(Arc::new(fd)).is_ok() {
                    self.kept.fetch_add(1, Ordering::Relaxed);
                    budget().fetch_sub(1, Ordering::Relaxed);
                }
            }
            if let Some(fd) = self.shards[i].get() {
                out.push(Arc::clone(fd));
            }
        }
        Ok(out)
    }

    /// The handle of shard `shard` opened afresh by name (not the kept one): for `clear`
    /// and the checks that must see what the store's path holds now.
    pub(crate) fn shard_now(&self, shard: u8) -> Result<OwnedFd> {
        self.open_shard(shard)
    }

    /// Stops using the kept handle of `shard` when its folder was removed (its link count
    /// is 0), so that the next call opens what the path holds now. Returns whether it did.
    pub(crate) fn forget_if_gone(&self, shard: u8) -> bool {
        let i = usize::from(shard);
        let gone = self.shards[i]
            .get()
            .is_some_and(|fd| sys::fstat(&**fd).is_ok_and(|st| st.st_nlink == 0));
        if gone {
            self.gone[i].store(true, Ordering::Relaxed);
        }
        gone
    }

    fn open_shard(&self, shard: u8) -> Result<OwnedFd> {
        let name = ShardName::of(shard);
        sys::open_dir(self.root(), name.as_str()).map_err(|e| self.folder_error(e, name.as_str()))
    }

    /// The error for a failed open of the store's own folder `name` (a shard, `tmp`,
    /// `quarantine`): a link or a file there is damage (`Corrupt`), the rest is `Io`.
    pub(crate) fn folder_error(&self, e: io::Error, name: &str) -> Error {
        let path = self.path_of(name);
        if e.kind() != io::ErrorKind::NotFound && sys::is_not_a_file_error(&e) {
            Error::corrupt("a store folder is not a folder (a link or a file?)", &path)
                .with_source(e)
        } else {
            Error::io("cannot open store folder", &path, e)
        }
    }

    /// Opens the entry file of `hash` for reading (see [`sys::open_read`]); `Ok(None)`
    /// when it (or its shard folder) does not exist.
    ///
    /// # Errors
    ///
    /// `Corrupt` naming the shard when it is a link; `Io` with the raw error otherwise
    /// (the caller maps "not a file" errors to `Corrupt`).
    pub(crate) fn open_entry(
        &self,
        hash: &[u8; 32],
        noatime: bool,
    ) -> std::result::Result<Option<File>, OpenError> {
        let name = EntryName::of(hash);
        let opened = match self.keep(hash[0]) {
            Ok(Some(shard)) => sys::open_read(shard.as_fd(), name.as_str(), noatime),
            Ok(None) => {
                let shard = ShardName::of(hash[0]);
                sys::open_read_beneath(self.root(), shard.as_str(), name.as_str(), noatime)
            }
            Err(e) if e.io_error_kind() == Some(io::ErrorKind::NotFound) => return Ok(None),
            Err(e) => return Err(OpenError::Shard(e)),
        };
        match opened {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(OpenError::Entry(e)),
        }
    }

    /// The metadata of the entry file of `hash` (links not followed); `Ok(None)` when it
    /// is missing.
    pub(crate) fn stat_entry(&self, hash: &[u8; 32]) -> io::Result<Option<sys::Stat>> {
        let name = EntryName::of(hash);
        let stat = match self.keep(hash[0]) {
            Ok(Some(kept)) => sys::stat(kept.as_fd(), name.as_str()),
            Ok(None) => match self.open_shard(hash[0]) {
                Ok(fd) => sys::stat(fd.as_fd(), name.as_str()),
                Err(_) => return Ok(None),
            },
            // A missing shard, or one that is not a folder, holds no entry.
            Err(_) => return Ok(None),
        };
        match stat {
            Ok(st) => Ok(Some(st)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Why an entry could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// Its shard folder is unusable (a link, a file, an I/O error).
    Shard(Error),
    /// The entry's own open failed.
    Entry(io::Error),
}
