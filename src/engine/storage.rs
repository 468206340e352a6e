//! The storage seam: what the engine needs from the place where entry bytes live. The local
//! file system ([`super::local`]) is the first implementation; object storage the second.
//!
//! The engine never touches files or objects itself: it builds entry bytes, decides what
//! to write, and asks the storage to read, stage, commit, remove, list and make durable.
//! Two ways of excluding other writers meet here: a local store has a file lock (held by
//! the engine around each commit and read-modify-write, so commits need no condition), an
//! object store has none and makes the same guarantees with conditional puts
//! ([`PutMode::Create`], [`PutMode::Replace`]) that the engine retries on a conflict.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::Result;
use crate::format::entry::Damage;
use crate::format::manifest::Manifest;
use crate::fs::lock::LockGuard;
use crate::fs::read::Need;
use crate::fs::shard_lock::ShardGuard;
use crate::fs::sweep::Sweep;
use crate::fs::sys::FileId;

/// The hash that names an entry.
pub(crate) type Hash = [u8; 32];

/// Which version of an entry a read saw: the identity of its file, or an object's ETag and
/// version id. Equal versions mean the same bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(dead_code)] // `Object` is made by the object-storage backend.
pub(crate) enum Version {
    File(FileId),
    Object {
        e_tag: Option<String>,
        version: Option<String>,
    },
}

/// What a read found: the entry's bytes (or why they are not an entry), and what else the
/// storage can tell.
pub(crate) struct Fetched<'a> {
    pub bytes: std::result::Result<&'a [u8], Damage>,
    /// The open file (local storage): for an access time, or its metadata.
    pub file: Option<&'a File>,
    /// The version read, when asked for (or free, as an object's ETag).
    pub version: Option<Version>,
}

/// How to read an entry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadOpts {
    pub need: Need,
    /// Leave the file's access time alone (the store records accesses itself).
    pub noatime: bool,
    /// Report the version read in [`Fetched::version`].
    pub version: bool,
}

/// An entry's metadata without its bytes (eviction, `stat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EntryStat {
    /// Space taken on disk (allocated blocks), or the object's size.
    pub disk_bytes: u64,
    /// Length in bytes.
    pub len: u64,
    pub modified: SystemTime,
    pub accessed: Option<SystemTime>,
}

/// A complete entry written where it cannot be seen yet (a temp file), or held to be sent
/// (an object's bytes), ready to be committed.
#[derive(Debug)]
pub(crate) enum Staged {
    File(crate::fs::write::Temp),
    #[allow(dead_code)]
    Bytes {
        hash: Hash,
        bytes: Vec<u8>,
    },
}

impl Staged {
    /// The hash of the entry it is for.
    pub(crate) fn hash(&self) -> &Hash {
        match self {
            Staged::File(temp) => temp.hash(),
            Staged::Bytes { hash, .. } => hash,
        }
    }
}

/// How a commit may replace what is there.
#[derive(Clone, Debug)]
#[allow(dead_code)] // Conditions are read by the object-storage backend.
pub(crate) enum PutMode {
    /// Whatever is there (the engine holds the lock, or does not care).
    Overwrite,
    /// Only if nothing is there.
    Create,
    /// Only if the entry is still at this version.
    Replace(Version),
}

/// What a commit did.
#[derive(Debug)]
#[allow(dead_code)] // `Conflict` is made by the object-storage backend.
pub(crate) enum Put {
    Done,
    /// The condition did not hold: the entry changed meanwhile. The staged entry is given
    /// back for another try.
    Conflict(Staged),
}

/// The entries of one shard, streamed.
pub(crate) type ShardList = Box<dyn Iterator<Item = Result<Hash>> + Send>;

/// How a write is staged.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StageOpts {
    pub durable: bool,
    /// Set the file's times to this (a store with a clock of its own).
    pub stamp: Option<SystemTime>,
    /// The commit is to tell the version it puts in place
    /// ([`Storage::commit_versioned`]).
    pub version: bool,
}

/// Where a store's bytes live. See the module docs.
pub(crate) trait Storage: Send + Sync + fmt::Debug {
    /// The store's folder or URL, for messages.
    fn path(&self) -> &Path;

    /// The file (or object URL) of an entry.
    fn entry_path(&self, hash: &Hash) -> PathBuf;

    /// Whether this storage has a lock ([`Storage::lock`] gives guards); without one, the
    /// engine makes read-modify-writes with conditional puts.
    fn has_lock(&self) -> bool;

    /// Reads the entry of `hash` and hands it to `f`; `Ok(false)` when there is none.
    fn read(
        &self,
        hash: &Hash,
        opts: ReadOpts,
        f: &mut dyn FnMut(Fetched<'_>) -> Result<()>,
    ) -> Result<bool>;

    /// The entry's current version, without reading it (a validated cache hit).
    fn version(&self, hash: &Hash) -> Result<Option<Version>>;

    /// The entry's metadata, without reading it.
    fn stat(&self, hash: &Hash) -> Result<Option<EntryStat>>;

    /// Writes a complete entry where it cannot be seen yet.
    fn stage(&self, hash: &Hash, bytes: Vec<u8>, opts: StageOpts) -> Result<Staged>;

    /// Stages several entries (a batch; local storage fsyncs them from several threads).
    fn stage_many(&self, items: Vec<(Hash, Vec<u8>)>, opts: StageOpts) -> Result<Vec<Staged>>;

    /// Makes a staged entry the entry of its hash, as `mode` allows.
    fn commit(&self, staged: Staged, mode: PutMode) -> Result<Put>;

    /// Commits like [`commit`](Storage::commit) and tells the version it put in place,
    /// when the entry was staged with [`StageOpts::version`] and the storage can tell.
    fn commit_versioned(&self, staged: Staged, mode: PutMode) -> Result<(Put, Option<Version>)> {
        Ok((self.commit(staged, mode)?, None))
    }

    /// Whether a version, once this process has seen it, can never be seen again after the
    /// entry changes: every change gets a new change time ([`crate::fs::stamps::stamps_observed_changes`])
    /// or a new ETag. Then the validated cache may keep a value the moment it is read or
    /// written; otherwise only once its file has settled.
    fn versions_never_repeat(&self) -> bool {
        false
    }

    /// Commits several staged entries (overwriting), each under its shard's lock (where
    /// there is one), calling `on_commit(i)` for each one committed while that lock is
    /// held; returns the indices committed, in order, and the first error.
    fn commit_many(
        &self,
        staged: Vec<Staged>,
        on_commit: &(dyn Fn(usize) + Sync),
    ) -> (Vec<usize>, Result<()>);

    /// Removes the entry of `hash`; `Ok(false)` when there was none.
    fn remove(&self, hash: &Hash) -> Result<bool>;

    /// The entries of shard `shard`; `Ok(None)` when the shard folder is missing.
    fn list(&self, shard: u8) -> Result<Option<ShardList>>;

    /// How many entries shard `shard` holds; `Ok(None)` when its folder is missing.
    fn count(&self, shard: u8) -> Result<Option<usize>>;

    /// Removes every entry of shard `shard` (foreign files stay); returns how many. Reaches
    /// only what is beneath the store it opened.
    fn clear_shard(&self, shard: u8) -> Result<usize>;

    /// Makes the changes to these shards' names durable.
    fn sync_shards(&self, shards: &[u8]) -> Result<()>;

    /// Makes these entries' bytes durable (after fast writes).
    fn sync_entries(&self, hashes: &[Hash]) -> Result<()>;

    /// Records, before an entry that expires is written, that the store holds one.
    fn note_expiring(&self, durable: bool) -> Result<()>;

    /// Whether the store may hold an entry that expires (when it surely does not, a removal
    /// need not read the entry to tell an expired value from a live one).
    fn may_hold_expiring(&self) -> bool;

    /// Takes shard `shard`'s write lock (`None`: this storage has no lock).
    fn lock(&self, shard: u8) -> Result<Option<ShardGuard<'_>>>;

    /// Takes shard `shard`'s write lock only if it is free: `Ok(None)` when it is busy or
    /// there is no lock.
    fn try_lock(&self, shard: u8) -> Result<Option<ShardGuard<'_>>>;

    /// Takes the store-wide lock, for changes to the store as a whole (`None`: no lock).
    fn lock_store(&self) -> Result<Option<LockGuard<'_>>>;

    /// Sweeps crashed writers' temp files (all shards when `full`).
    fn sweep(
        &self,
        full: bool,
        stale_age: Duration,
        name_of: &dyn Fn(&File) -> Option<Hash>,
    ) -> Result<Sweep>;

    /// Checks that the store's path still leads to what this storage opened.
    fn check_still_there(&self) -> Result<()>;

    /// Replaces the manifest (for `Exists::Replace` with other settings).
    fn write_manifest(&self, manifest: &Manifest, durable: bool) -> Result<()>;

    /// Deletes the whole store.
    fn destroy(&self, id: &str) -> Result<()>;

    /// This writer's id, when it is one.
    fn writer_id(&self) -> Option<&str>;

    /// Records a read of the open entry `file` at `now` (its access time). Best effort.
    fn touch(&self, file: &File, now: SystemTime);

    /// The store folder's handle, for a local store (repair tools scan through it).
    fn root_handle(&self) -> Option<std::os::fd::BorrowedFd<'_>>;

    /// How many independent requests of a batch (reads, removals) are worth running at
    /// once: 1 for a local disk (the calls are microseconds), more for object storage,
    /// where latency is hidden by parallelism.
    fn parallelism(&self) -> usize {
        1
    }

    /// Reads these entries ahead, all at once, for reads of them that follow on this
    /// thread (a batch `get_many`): each read of a prefetched hash takes its bytes
    /// instead of asking the storage again. A no-op where reads are cheap.
    fn prefetch(&self, hashes: &[Hash]) {
        let _ = hashes;
    }

    /// Drops what [`prefetch`](Storage::prefetch) fetched and no read took.
    fn end_prefetch(&self) {}
}
