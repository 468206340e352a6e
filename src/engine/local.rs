//! The local file system as [`Storage`]: a thin adapter over `fs/`.

use std::fs::{File, FileTimes};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::storage::{
    EntryStat, Fetched, Hash, Put, PutMode, ReadOpts, ShardList, StageOpts, Staged, Storage,
    Version,
};
use crate::error::{Error, ErrorKind, IoResultExt, Result};
use crate::format::manifest::Manifest;
use crate::format::names;
use crate::fs::folder::{Folder, OpenError};
use crate::fs::lock::LockGuard;
use crate::fs::shard_lock::ShardGuard;
use crate::fs::sweep::{self, Sweep, SweepOpts};
use crate::fs::sys::{self, FileId};
use crate::fs::writer::Writer;
use crate::fs::{read, root, walk, write};
use crate::parallel;

/// A store in a local folder.
#[derive(Debug)]
pub(crate) struct Local {
    folder: Folder,
    /// `None` for a read-only open: no lock, no marker.
    writer: Option<Writer>,
    file_mode: u32,
}

impl Local {
    pub(crate) fn new(folder: Folder, writer: Option<Writer>, file_mode: u32) -> Self {
        Local {
            folder,
            writer,
            file_mode,
        }
    }

    fn read_only(&self) -> Error {
        Error::new(ErrorKind::ReadOnly, "the store is open read-only").with_path(self.folder.path())
    }

    fn write_one(&self, hash: &Hash, bytes: &[u8], opts: StageOpts) -> Result<Staged> {
        let Some(writer) = &self.writer else {
            return Err(self.read_only());
        };
        if opts.durable {
            writer.marker_durable(&self.folder)?;
        }
        let w = write::WriteOpts {
            durable: opts.durable,
            mode: self.file_mode,
            stamp: opts.stamp,
            keep_open: opts.version,
        };
        Ok(Staged::File(write::write_temp(
            &self.folder,
            hash,
            writer.id(),
            bytes,
            w,
        )?))
    }
}

/// The error for a failed read of the entry at `path`.
fn read_error(err: std::io::Error, path: &Path) -> Error {
    if sys::is_not_a_file_error(&err) {
        Error::new(
            ErrorKind::Corrupt,
            "a link, folder, FIFO or socket is where an entry file should be",
        )
        .with_path(path)
        .with_source(err)
    } else {
        Error::io("cannot read entry", path, err)
    }
}

impl Storage for Local {
    fn path(&self) -> &Path {
        self.folder.path()
    }

    fn entry_path(&self, hash: &Hash) -> PathBuf {
        self.folder.entry_path(hash)
    }

    fn has_lock(&self) -> bool {
        true
    }

    fn read(
        &self,
        hash: &Hash,
        opts: ReadOpts,
        f: &mut dyn FnMut(Fetched<'_>) -> Result<()>,
    ) -> Result<bool> {
        let file = match self.folder.open_entry(hash, opts.noatime) {
            Ok(Some(file)) => file,
            Ok(None) => return Ok(false),
            Err(OpenError::Shard(e)) => return Err(e),
            Err(OpenError::Entry(e)) => return Err(read_error(e, &self.entry_path(hash))),
        };
        let version = if opts.version {
            let st = sys::fstat(&file).map_err(|e| read_error(e, &self.entry_path(hash)))?;
            // A file unlinked while it was read (link count 0) has no version to trust.
            (st.st_nlink > 0).then(|| Version::File(FileId::of(&st)))
        } else {
            None
        };
        read::read_entry(&file, opts.need, |bytes| {
            f(Fetched {
                bytes,
                file: Some(&file),
                version,
            })
        })
        .map_err(|e| read_error(e, &self.entry_path(hash)))??;
        Ok(true)
    }

    fn version(&self, hash: &Hash) -> Result<Option<Version>> {
        let st = self
            .folder
            .stat_entry(hash)
            .ctx("cannot examine entry", self.entry_path(hash))?;
        Ok(st.map(|st| Version::File(FileId::of(&st))))
    }

    fn stat(&self, hash: &Hash) -> Result<Option<EntryStat>> {
        let st = self
            .folder
            .stat_entry(hash)
            .ctx("cannot examine entry", self.entry_path(hash))?;
        Ok(st.map(|st| EntryStat {
            disk_bytes: sys::disk_usage(&st),
            len: u64::try_from(st.st_size).unwrap_or(0),
            modified: sys::modified(&st),
            accessed: Some(sys::accessed(&st)),
        }))
    }

    fn stage(&self, hash: &Hash, bytes: Vec<u8>, opts: StageOpts) -> Result<Staged> {
        self.write_one(hash, &bytes, opts)
    }

    fn stage_many(&self, items: Vec<(Hash, Vec<u8>)>, opts: StageOpts) -> Result<Vec<Staged>> {
        let threads = if opts.durable {
            parallel::SYNC_THREADS
        } else {
            1
        };
        parallel::concurrently(items, threads, |(hash, bytes)| {
            self.write_one(&hash, &bytes, opts)
        })
    }

    fn commit(&self, staged: Staged, mode: PutMode) -> Result<Put> {
        self.commit_versioned(staged, mode).map(|(put, _)| put)
    }

    fn commit_versioned(&self, staged: Staged, mode: PutMode) -> Result<(Put, Option<Version>)> {
        let Staged::File(temp) = staged else {
            return Err(Error::new(ErrorKind::InvalidInput, "not a staged file"));
        };
        // The engine holds the lock around every conditional commit, so the condition holds:
        // what it read under the lock is what is there.
        let _ = mode;
        let id = write::commit(&self.folder, temp)?;
        Ok((Put::Done, id.map(Version::File)))
    }

    fn versions_never_repeat(&self) -> bool {
        self.folder.stamps_observed_changes()
    }

    fn commit_many(
        &self,
        staged: Vec<Staged>,
        on_commit: &(dyn Fn(usize) + Sync),
    ) -> (Vec<usize>, Result<()>) {
        let Some(writer) = &self.writer else {
            return (Vec::new(), Err(self.read_only()));
        };
        commit_all(&self.folder, writer, staged, on_commit)
    }

    fn remove(&self, hash: &Hash) -> Result<bool> {
        if self.writer.is_none() {
            return Err(self.read_only());
        }
        write::remove(&self.folder, hash)
    }

    fn list(&self, shard: u8) -> Result<Option<ShardList>> {
        Ok(walk::shard_entries(&self.folder, shard)?.map(|e| Box::new(e) as ShardList))
    }

    fn count(&self, shard: u8) -> Result<Option<usize>> {
        match walk::shard_entries(&self.folder, shard)? {
            Some(entries) => entries.count_all().map(Some),
            None => Ok(None),
        }
    }

    fn clear_shard(&self, shard: u8) -> Result<usize> {
        if self.writer.is_none() {
            return Err(self.read_only());
        }
        // The shard as the store's path holds it now, never through a link.
        let dir = match self.folder.shard_now(shard) {
            Ok(dir) => dir,
            Err(e) if e.io_error_kind() == Some(std::io::ErrorKind::NotFound) => return Ok(0),
            Err(e) => return Err(e),
        };
        let path = self.folder.shard_path(shard);
        let mut removed = 0;
        for item in sys::list(dir.as_fd()).ctx("cannot list shard folder", &path)? {
            let (name, kind) = item.ctx("cannot list shard folder", &path)?;
            let is_file = kind == sys::FileType::RegularFile
                || (kind == sys::FileType::Unknown
                    && sys::stat(dir.as_fd(), &name)
                        .is_ok_and(|st| sys::file_type(&st) == sys::FileType::RegularFile));
            if !is_file || names::parse_entry_name(&name).is_none() {
                continue;
            }
            match sys::unlink(dir.as_fd(), &name) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("cannot remove entry", &path.join(&name), e)),
            }
        }
        Ok(removed)
    }

    fn sync_shards(&self, shards: &[u8]) -> Result<()> {
        parallel::concurrently(shards.to_vec(), parallel::SYNC_THREADS, |shard| {
            let dir = match self.folder.shard(shard) {
                Ok(dir) => dir,
                // A missing shard holds no change to make durable.
                Err(e) if e.io_error_kind() == Some(std::io::ErrorKind::NotFound) => return Ok(()),
                Err(e) => return Err(e),
            };
            sys::sync_dir(dir.fd()).ctx("cannot sync shard folder", self.folder.shard_path(shard))
        })?;
        Ok(())
    }

    fn sync_entries(&self, hashes: &[Hash]) -> Result<()> {
        parallel::concurrently(hashes.to_vec(), parallel::SYNC_THREADS, |hash| {
            match self.folder.open_entry(&hash, true) {
                Ok(Some(file)) => file
                    .sync_data()
                    .ctx("cannot sync entry", self.entry_path(&hash)),
                // Removed or replaced since: the replacement is synced on its own account.
                Ok(None) | Err(_) => Ok(()),
            }
        })?;
        Ok(())
    }

    fn lock(&self, shard: u8) -> Result<Option<ShardGuard<'_>>> {
        match &self.writer {
            Some(w) => w.lock(&self.folder, shard).map(Some),
            None => Err(self.read_only()),
        }
    }

    fn try_lock(&self, shard: u8) -> Result<Option<ShardGuard<'_>>> {
        match &self.writer {
            Some(w) => w.try_lock(&self.folder, shard),
            None => Ok(None),
        }
    }

    fn note_expiring(&self, durable: bool) -> Result<()> {
        match &self.writer {
            Some(w) => w.note_expiring(&self.folder, durable),
            None => Err(self.read_only()),
        }
    }

    fn may_hold_expiring(&self) -> bool {
        self.writer.as_ref().is_none_or(Writer::may_hold_expiring)
    }

    fn lock_store(&self) -> Result<Option<LockGuard<'_>>> {
        match &self.writer {
            Some(w) => w.lock_store().map(Some),
            None => Err(self.read_only()),
        }
    }

    fn sweep(
        &self,
        full: bool,
        stale_age: Duration,
        name_of: &dyn Fn(&File) -> Option<Hash>,
    ) -> Result<Sweep> {
        let Some(writer) = &self.writer else {
            return Err(self.read_only());
        };
        let opts = SweepOpts {
            own_id: writer.has_marker().then(|| writer.id()),
            stale_age,
            full,
            name_of,
        };
        sweep::sweep(&self.folder, writer.tmp(), &opts)
    }

    fn check_still_there(&self) -> Result<()> {
        root::check_still_there(&self.folder)
    }

    fn write_manifest(&self, manifest: &Manifest, durable: bool) -> Result<()> {
        root::write_manifest(&self.folder, manifest, self.file_mode)?;
        if durable {
            sys::sync_dir(self.folder.root())
                .ctx("cannot sync store folder", self.folder.path())?;
        }
        Ok(())
    }

    fn destroy(&self, id: &str) -> Result<()> {
        crate::fs::destroy::destroy(&self.folder, id)
    }

    fn writer_id(&self) -> Option<&str> {
        self.writer.as_ref().map(Writer::id)
    }

    fn touch(&self, file: &File, now: SystemTime) {
        // Setting times needs the file's owner (or `CAP_FOWNER`); a read never fails for it.
        let _ = file.set_times(FileTimes::new().set_accessed(now));
    }

    fn root_handle(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        Some(self.folder.root())
    }
}

/// A batch of at least this many renames runs from several threads.
const PARALLEL_RENAMES: usize = 64;

/// Renames temp files over their entries, each shard's under that shard's lock, calling
/// `on_commit` for each rename while the lock is held. Returns the indices of those renamed
/// (in order) and the first error. A batch of at least [`PARALLEL_RENAMES`] renames from
/// several threads, each shard's in their order (so the later of two writes of a key
/// still wins): renaming over an existing entry frees its old file, which costs tens of
/// microseconds on a disk that discards freed blocks, and renames in different folders do
/// not wait for each other.
fn commit_all(
    folder: &Folder,
    writer: &Writer,
    staged: Vec<Staged>,
    on_commit: &(dyn Fn(usize) + Sync),
) -> (Vec<usize>, Result<()>) {
    let commit_group = |group: Vec<(usize, Staged)>| {
        let mut done = Vec::with_capacity(group.len());
        let Some(shard) = group.first().map(|(_, s)| s.hash()[0]) else {
            return (done, Ok(()));
        };
        let _guard = match writer.lock(folder, shard) {
            Ok(guard) => guard,
            Err(e) => return (done, Err(e)),
        };
        for (i, staged) in group {
            let result = match staged {
                Staged::File(temp) => write::commit(folder, temp).map(drop),
                Staged::Bytes { .. } => {
                    Err(Error::new(ErrorKind::InvalidInput, "not a staged file"))
                }
            };
            if let Err(e) = result {
                return (done, Err(e));
            }
            on_commit(i);
            done.push(i);
        }
        (done, Ok(()))
    };
    let mut groups: Vec<Vec<(usize, Staged)>> = (0..names::SHARDS).map(|_| Vec::new()).collect();
    let count = staged.len();
    for (i, s) in staged.into_iter().enumerate() {
        groups[usize::from(s.hash()[0])].push((i, s));
    }
    groups.retain(|g| !g.is_empty());
    let threads = if count < PARALLEL_RENAMES {
        1
    } else {
        parallel::SYNC_THREADS
    };
    let outcomes = parallel::concurrently(groups, threads, |group| {
        Ok::<_, std::convert::Infallible>(commit_group(group))
    });
    let mut done = Vec::new();
    let mut result = Ok(());
    for (group_done, group_result) in outcomes.unwrap_or_default() {
        done.extend(group_done);
        if result.is_ok() {
            result = group_result;
        }
    }
    done.sort_unstable();
    (done, result)
}
