//! The one write recipe.
//!
//! A write is: create a temp file **in the entry's own shard folder**
//! (`.tmp-<writer>-<random>`, `O_CREAT | O_EXCL | O_NOFOLLOW`, relative to the shard's
//! handle), write the whole entry, `fdatasync` it (durable mode), rename it over the entry
//! file under the store lock (`renameat` within the one shard handle), then `fsync` the
//! shard folder (durable mode).
//!
//! What each [`Durability`](crate::Durability) guarantees:
//!
//! - `Durable`: when `set` returns `Ok`, the new value survives a power cut. The file's
//!   data reaches the disk before the rename (fdatasync), and the rename reaches the disk
//!   before the call returns (fsync of the folder). A power cut before that leaves the old
//!   value or the new one, never a mix.
//! - `Fast`: no fsync. A crash of the *process* (panic, `kill -9`) still leaves the old
//!   value or the new one. A power cut or kernel crash may lose recent writes, or on file
//!   systems without ordered data (ext4 `data=writeback`) leave an empty entry file, which
//!   reads as a `Corrupt` error, never as a wrong value. [`Store::sync`](crate::Store::sync)
//!   makes everything written so far durable.
//!
//! Why the temp file sits beside the entry instead of in `tmp/`: a rename inside one
//! folder needs one folder fsync to be durable; a rename across folders needs two (the
//! source folder too, or a power cut can leave the old temp name on disk as a second name
//! of the entry's inode, with a link count of one: ext4 without a journal does exactly
//! that). So `tmp/` holds only writer markers, which tell a crashed writer's temp files
//! from a live one's.
//!
//! If any step before the rename fails, the temp file is unlinked (its guard drops) and the
//! old entry is untouched.

use std::fs::{File, FileTimes};
use std::hash::BuildHasher;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use super::folder::{Folder, ShardFd};
use super::sys;
use crate::error::{Error, IoResultExt, Result};
use crate::format::names::{self, EntryName};

/// A complete temp file beside its entry; unlinked when dropped unless committed.
#[derive(Debug)]
pub(crate) struct Temp {
    shard: ShardFd,
    name: String,
    hash: [u8; 32],
    /// The file, kept open when the commit is to tell the identity of what it put in place.
    file: Option<File>,
    committed: bool,
}

impl Temp {
    /// The hash of the entry this temp file is for.
    pub(crate) fn hash(&self) -> &[u8; 32] {
        &self.hash
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: a temp left behind is swept once its writer is gone.
            let _ = sys::unlink(self.shard.fd(), &self.name);
        }
    }
}

/// A temp file name no other writer uses: `.tmp-<writer id>-<16 random hex digits>`.
fn temp_name(writer_id: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random = std::hash::RandomState::new().hash_one(n);
    format!("{}{writer_id}-{random:016x}", names::TEMP_PREFIX)
}

/// How a temp file is written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriteOpts {
    /// Sync the file's data before returning.
    pub durable: bool,
    /// Permission bits (less the umask).
    pub mode: u32,
    /// Set the file's times to this (a store with a clock of its own).
    pub stamp: Option<SystemTime>,
    /// Keep the file open until the commit, which then tells its identity.
    pub keep_open: bool,
}

/// Writes `bytes` to a new temp file beside the entry of `hash`, named for `writer_id`.
///
/// # Errors
///
/// `Corrupt` naming the shard when it is a link or not a folder; `Io` (naming the entry)
/// when the file cannot be written, with nothing left behind.
pub(crate) fn write_temp(
    folder: &Folder,
    hash: &[u8; 32],
    writer_id: &str,
    bytes: &[u8],
    opts: WriteOpts,
) -> Result<Temp> {
    let entry = || folder.entry_path(hash);
    let mut retried_gone = false;
    loop {
        let shard = folder.shard(hash[0])?;
        let name = temp_name(writer_id);
        let file = match sys::create_new(shard.fd(), &name, opts.mode) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            // The kept shard folder was removed: open what the path holds now, once.
            Err(e) if e.kind() == io::ErrorKind::NotFound && !retried_gone => {
                retried_gone = true;
                if folder.forget_if_gone(hash[0]) {
                    continue;
                }
                return Err(Error::io("cannot write entry", &entry(), e));
            }
            Err(e) => return Err(Error::io("cannot write entry", &entry(), e)),
        };
        let mut temp = Temp {
            shard,
            name,
            hash: *hash,
            file: None,
            committed: false,
        };
        fill(&file, bytes, opts).ctx("cannot write entry", entry())?;
        if opts.keep_open {
            temp.file = Some(file);
        }
        return Ok(temp);
    }
}

fn fill(mut file: &File, bytes: &[u8], opts: WriteOpts) -> io::Result<()> {
    file.write_all(bytes)?;
    if let Some(now) = opts.stamp {
        // Best effort, as eviction only orders by these times.
        let _ = file.set_times(FileTimes::new().set_accessed(now).set_modified(now));
    }
    if opts.durable {
        file.sync_data()?;
    }
    Ok(())
}

/// Renames a temp file over its entry. On error the temp file is unlinked.
///
/// When the temp file was kept open ([`WriteOpts::keep_open`]), returns the identity of
/// the entry file it became, taken with `fstat` on its own descriptor after the rename
/// (the rename sets its change time), so it is this file's even if another writer has
/// replaced it since.
///
/// # Errors
///
/// `Io` naming the entry.
pub(crate) fn commit(folder: &Folder, mut temp: Temp) -> Result<Option<sys::FileId>> {
    let name = EntryName::of(&temp.hash);
    sys::rename(temp.shard.fd(), &temp.name, temp.shard.fd(), name.as_str()).ctx(
        "cannot rename temp file into place",
        folder.entry_path(&temp.hash),
    )?;
    temp.committed = true;
    let Some(file) = temp.file.take() else {
        return Ok(None);
    };
    // Renamed over since (link count 0): nothing to know. A failed fstat only costs the
    // cache a value.
    Ok(sys::fstat(&file)
        .ok()
        .filter(|st| st.st_nlink > 0)
        .map(|st| sys::FileId::of(&st)))
}

/// Removes the entry file of `hash`; `Ok(false)` when there was none.
///
/// # Errors
///
/// `Corrupt` naming the shard when it is a link or not a folder; `Io` naming the entry.
pub(crate) fn remove(folder: &Folder, hash: &[u8; 32]) -> Result<bool> {
    let name = EntryName::of(hash);
    let mut retried_gone = false;
    loop {
        let shard = match folder.shard(hash[0]) {
            Ok(shard) => shard,
            Err(e) if e.io_error_kind() == Some(io::ErrorKind::NotFound) => return Ok(false),
            Err(e) => return Err(e),
        };
        match sys::unlink(shard.fd(), name.as_str()) {
            Ok(()) => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // A kept shard folder that was removed says nothing of the path: look again.
                if !retried_gone && folder.forget_if_gone(hash[0]) {
                    retried_gone = true;
                    continue;
                }
                return Ok(false);
            }
            Err(e) => {
                return Err(Error::io(
                    "cannot remove entry",
                    &folder.entry_path(hash),
                    e,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(dir: &std::path::Path) -> Folder {
        for i in 0..=255u8 {
            std::fs::create_dir(dir.join(names::shard_name(i))).unwrap();
        }
        Folder::new(dir.to_owned(), sys::open_root(dir).unwrap())
    }

    const OPTS: WriteOpts = WriteOpts {
        durable: false,
        mode: 0o600,
        stamp: None,
        keep_open: false,
    };

    #[test]
    fn a_dropped_temp_is_unlinked_and_a_committed_one_is_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let f = folder(dir.path());
        let h = names::hash(b"k");
        let shard = dir.path().join(names::shard_name(h[0]));
        drop(write_temp(&f, &h, "w1", b"one", OPTS).unwrap());
        assert_eq!(std::fs::read_dir(&shard).unwrap().count(), 0);
        commit(&f, write_temp(&f, &h, "w1", b"two", OPTS).unwrap()).unwrap();
        assert_eq!(std::fs::read(f.entry_path(&h)).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&shard).unwrap().count(), 1);
        assert!(remove(&f, &h).unwrap());
        assert!(!remove(&f, &h).unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn a_shard_replaced_by_a_link_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("s");
        std::fs::create_dir(&root).unwrap();
        let f = folder(&root);
        let h = names::hash(b"k");
        let shard = root.join(names::shard_name(h[0]));
        std::fs::remove_dir(&shard).unwrap();
        std::os::unix::fs::symlink(dir.path(), &shard).unwrap();
        let err = write_temp(&f, &h, "w1", b"x", OPTS).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Corrupt, "{err}");
        assert_eq!(err.path(), Some(shard.as_path()));
        assert!(remove(&f, &h).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
