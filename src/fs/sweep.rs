//! The sweep of temp files that crashed writers left behind, through the store folder's
//! handles, bounded in time and open descriptors.
//!
//! Each open writer holds an exclusive lock on its marker `tmp/w-<id>.lock`. A marker that
//! can be locked belongs to a writer that died without closing; its temp files are swept
//! from every shard and then the marker is removed. Temp files whose marker is missing, and
//! other files in `tmp/`, are swept once they are older than the stale age. Temp files of
//! live writers are never touched. Shards are scanned only when a dead writer was found or
//! the sweep is `full`, so opening a healthy store scans nothing but `tmp/`.
//!
//! Bounds: an ordinary sweep (the one every writable open runs) looks at no more than
//! [`TMP_ITEMS`] names in `tmp/` and takes at most [`DEAD_AT_ONCE`] dead writers (each
//! holds its marker's descriptor until its temp files are gone); what is left is swept by
//! later opens. A `full` sweep ([`Store::sweep_temps`](crate::Store::sweep_temps)) goes on
//! in rounds of [`DEAD_AT_ONCE`] until `tmp/` is done.

use std::collections::HashSet;
use std::fs::{File, TryLockError};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, SystemTime};

use super::folder::Folder;
use super::sys::{self, FileType};
use crate::error::{IoResultExt, Result};
use crate::format::names;

/// Names of `tmp/` an ordinary sweep looks at.
pub(crate) const TMP_ITEMS: usize = 4096;
/// Dead writers taken at once (their markers stay open and locked meanwhile).
pub(crate) const DEAD_AT_ONCE: usize = 64;
/// Temp files of one shard looked at by one round of a sweep (the rest wait for the next).
const TEMPS_AT_ONCE: usize = 4096;

/// What a sweep did.
#[derive(Debug, Default)]
pub(crate) struct Sweep {
    /// Temp files (and stale files in `tmp/`) removed.
    pub removed: usize,
    /// Temp files left alone because they are a second name of a live entry (a power cut on
    /// a file system without a journal); unlinking them could free the entry's inode.
    pub aliases: usize,
}

/// How to sweep.
pub(crate) struct SweepOpts<'a> {
    /// This writer's id (its temp files are never swept).
    pub own_id: Option<&'a str>,
    /// Age after which a file of an unknown writer is stale.
    pub stale_age: Duration,
    /// Scan every shard, and all of `tmp/`.
    pub full: bool,
    /// The entry hash the (temp) file holds, under the store's naming.
    pub name_of: &'a dyn Fn(&File) -> Option<[u8; 32]>,
}

/// A dead writer's marker, locked by this sweep.
struct Dead {
    id: String,
    name: String,
    _file: File,
}

/// Sweeps temp files whose writer is gone; `tmp` is `tmp/`'s handle (when usable).
///
/// # Errors
///
/// `Io` when a folder cannot be listed.
pub(crate) fn sweep(
    folder: &Folder,
    tmp: Option<BorrowedFd<'_>>,
    opts: &SweepOpts<'_>,
) -> Result<Sweep> {
    let mut out = Sweep::default();
    let opened;
    let tmp = match tmp {
        Some(fd) => Some(fd),
        None => {
            opened = sys::open_dir(folder.root(), names::TMP).ok();
            opened.as_ref().map(OwnedFd::as_fd)
        }
    };
    let Some(tmp) = tmp else {
        // No usable `tmp/` (missing, a link, a file): nothing is known alive or dead, so
        // only a full sweep looks at the shards, removing by age.
        if opts.full {
            sweep_shards(folder, opts, &HashSet::new(), &HashSet::new(), &mut out)?;
        }
        return Ok(out);
    };
    let mut alive: HashSet<String> = opts.own_id.into_iter().map(str::to_owned).collect();
    let tmp_path = folder.path_of(names::TMP);
    let mut listing = sys::list(tmp).ctx("cannot list folder", &tmp_path)?;
    let mut looked = 0;
    loop {
        let mut dead: Vec<Dead> = Vec::new();
        let mut more = false;
        for item in listing.by_ref() {
            let (name, kind) = item.ctx("cannot list folder", &tmp_path)?;
            looked += 1;
            if let Some(id) = names::marker_id(&name) {
                if !alive.contains(id) {
                    match try_dead(tmp, &name) {
                        Some(file) => dead.push(Dead {
                            id: id.to_owned(),
                            name: name.clone(),
                            _file: file,
                        }),
                        None => {
                            alive.insert(id.to_owned());
                        }
                    }
                }
            } else if name != names::EXPIRING
                && is_plain_file(tmp, &name, kind)
                && is_older(tmp, &name, opts.stale_age)
            {
                remove(tmp, &name, &mut out.removed);
            }
            if dead.len() >= DEAD_AT_ONCE || (!opts.full && looked >= TMP_ITEMS) {
                more = true;
                break;
            }
        }
        if !dead.is_empty() || opts.full {
            let dead_ids: HashSet<String> = dead.iter().map(|d| d.id.clone()).collect();
            sweep_shards(folder, opts, &alive, &dead_ids, &mut out)?;
        }
        for d in dead {
            // Unlinked while still locked by us, so no other sweeper can take it as alive.
            let _ = sys::unlink(tmp, &d.name);
        }
        if !(more && opts.full) {
            return Ok(out);
        }
    }
}

/// The marker `name` locked, when its writer is gone; `None` while it is alive, or when it
/// cannot be told (the safe side).
fn try_dead(tmp: BorrowedFd<'_>, name: &str) -> Option<File> {
    let file = sys::open_regular(tmp, name, false, 0).ok()?;
    match file.try_lock() {
        Ok(()) => Some(file),
        Err(TryLockError::WouldBlock | TryLockError::Error(_)) => None,
    }
}

fn sweep_shards(
    folder: &Folder,
    opts: &SweepOpts<'_>,
    alive: &HashSet<String>,
    dead: &HashSet<String>,
    out: &mut Sweep,
) -> Result<()> {
    for shard in 0..=255u8 {
        let name = names::ShardName::of(shard);
        // Never through a shard folder replaced by a link: it opens as an error.
        let Ok(dir) = sys::open_dir(folder.root(), name.as_str()) else {
            continue;
        };
        let path = folder.shard_path(shard);
        let mut listing = sys::list_owned(dir).ctx("cannot list shard folder", &path)?;
        // Temp files are few; gather at most this many a round, then act on them.
        let mut temps = Vec::new();
        for item in listing.by_ref() {
            let (name, kind) = item.ctx("cannot list shard folder", &path)?;
            match names::temp_writer_id(&name) {
                Some(id) if !alive.contains(id) => temps.push((name, kind)),
                _ => {}
            }
            if temps.len() >= TEMPS_AT_ONCE {
                break;
            }
        }
        let dir = listing.fd().ctx("cannot list shard folder", &path)?;
        for (name, kind) in temps {
            let Some(id) = names::temp_writer_id(&name) else {
                continue;
            };
            if !is_plain_file(dir, &name, kind) {
                continue;
            }
            if !dead.contains(id) && !is_older(dir, &name, opts.stale_age) {
                continue;
            }
            if is_alias_of_entry(dir, &name, opts) {
                out.aliases += 1;
            } else {
                remove(dir, &name, &mut out.removed);
            }
        }
    }
    Ok(())
}

fn is_plain_file(dir: BorrowedFd<'_>, name: &str, kind: FileType) -> bool {
    match kind {
        FileType::RegularFile => true,
        FileType::Unknown => {
            sys::stat(dir, name).is_ok_and(|st| sys::file_type(&st) == FileType::RegularFile)
        }
        _ => false,
    }
}

fn remove(dir: BorrowedFd<'_>, name: &str, count: &mut usize) {
    // Another sweeper may have removed it first; either way it is gone.
    if sys::unlink(dir, name).is_ok() {
        *count += 1;
    }
}

fn is_older(dir: BorrowedFd<'_>, name: &str, age: Duration) -> bool {
    match sys::stat(dir, name).map(|st| SystemTime::now().duration_since(sys::modified(&st))) {
        Ok(Ok(elapsed)) => elapsed >= age,
        // In the future, or unknown: not provably stale.
        _ => false,
    }
}

/// Whether the temp file `name` in shard `dir` is the same inode as the entry its key
/// names.
fn is_alias_of_entry(dir: BorrowedFd<'_>, name: &str, opts: &SweepOpts<'_>) -> bool {
    let Ok(file) = sys::open_read(dir, name, true) else {
        return false;
    };
    let (Ok(temp), Some(hash)) = (sys::fstat(&file), (opts.name_of)(&file)) else {
        return false;
    };
    let entry = names::EntryName::of(&hash);
    match sys::stat(dir, entry.as_str()) {
        Ok(st) => st.st_dev == temp.st_dev && st.st_ino == temp.st_ino,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::write::{self, WriteOpts};

    fn no_names(_: &File) -> Option<[u8; 32]> {
        None
    }

    const W: WriteOpts = WriteOpts {
        durable: false,
        mode: 0o600,
        stamp: None,
        keep_open: false,
    };

    #[test]
    fn sweep_removes_dead_writers_temps_and_keeps_live_ones() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("tmp")).unwrap();
        for i in 0..=255u8 {
            std::fs::create_dir(root.join(names::shard_name(i))).unwrap();
        }
        let folder = Folder::new(root.to_owned(), sys::open_root(root).unwrap());
        // A live writer: marker locked.
        let live_marker = File::create(root.join("tmp").join(names::marker_name("live"))).unwrap();
        live_marker.lock().unwrap();
        // A dead writer: marker present, unlocked.
        File::create(root.join("tmp").join(names::marker_name("dead"))).unwrap();
        let keep = |t: write::Temp| std::mem::forget(t);
        let h = |b: u8| [b; 32];
        keep(write::write_temp(&folder, &h(0xab), "live", b"x", W).unwrap());
        keep(write::write_temp(&folder, &h(0xcd), "dead", b"x", W).unwrap());
        keep(write::write_temp(&folder, &h(0xef), "gone", b"x", W).unwrap());
        std::fs::write(root.join("ab").join("foreign.txt"), b"mine").unwrap();
        let count = |shard: &str| std::fs::read_dir(root.join(shard)).unwrap().count();

        let opts = SweepOpts {
            own_id: None,
            stale_age: Duration::from_secs(3600),
            full: false,
            name_of: &no_names,
        };
        let report = sweep(&folder, None, &opts).unwrap();
        assert_eq!(report.removed, 1);
        assert_eq!((count("ab"), count("cd"), count("ef")), (2, 0, 1));
        assert!(!root.join("tmp").join(names::marker_name("dead")).exists());

        // With no dead writer there is no shard scan; a full sweep ages out the orphan.
        let opts = SweepOpts {
            stale_age: Duration::ZERO,
            full: true,
            ..opts
        };
        let report = sweep(&folder, None, &opts).unwrap();
        assert_eq!(report.removed, 1);
        assert_eq!((count("ab"), count("ef")), (2, 0));
    }
}
