//! [`Scan`]: every file and folder of a store, classified, listed through the store
//! folder's handle (links are reported, never followed).

use std::collections::{HashSet, VecDeque};
use std::fs::TryLockError;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::error::{Error, IoResultExt, Result};
use crate::format::names;
use crate::fs::folder::Folder;
use crate::fs::sys::{self, Listing};

/// What a file or folder found by [`RawStore::scan`](crate::RawStore::scan) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ItemKind {
    /// The manifest, `DIRKV`.
    Manifest,
    /// The lock file, `lock`.
    Lock,
    /// The folder of writer markers, `tmp/`.
    TempFolder,
    /// The quarantine folder (its contents are not scanned).
    Quarantine,
    /// A shard folder `00`..`ff`.
    Shard,
    /// An entry file in its shard (its contents are not checked by the scan).
    Entry,
    /// A write in progress (`.tmp-<writer>-<random>` in a shard), or another file in
    /// `tmp/`. `stale` when its writer is gone (its marker is unlocked) or, for an unknown
    /// writer, when it is older than an hour: [`RawStore::sweep_temps`](crate::RawStore::sweep_temps)
    /// removes those.
    Temp {
        /// Left behind by a writer that is gone.
        stale: bool,
    },
    /// A note the store keeps about itself in `tmp/` (`tmp/expiring`: it has held an
    /// entry that expires).
    Note,
    /// A writer's marker in `tmp/`; `alive` while that writer holds its lock.
    Marker {
        /// The writer still has the store open.
        alive: bool,
    },
    /// An entry file name in the wrong shard folder: the library never looks there.
    Misplaced,
    /// Anything the store did not make: a file, folder or link (inside a shard, at the
    /// root, or in `tmp/`).
    Foreign,
    /// A shard folder that is missing (the item's path is where it should be).
    MissingShard,
    /// A shard folder name holding something else than a folder (a file, or a link, which
    /// dirkv refuses to follow).
    ShardNotAFolder,
}

impl ItemKind {
    /// Whether this item is something wrong with the store, as `dirkv verify` counts it:
    /// misplaced, foreign, a missing or bad shard. Stale temp files and crashed writers'
    /// markers are not: they are leftovers that writable opens and
    /// [`RawStore::sweep_temps`](crate::RawStore::sweep_temps) remove.
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            ItemKind::Misplaced
                | ItemKind::Foreign
                | ItemKind::MissingShard
                | ItemKind::ShardNotAFolder
        )
    }
}

/// The type of a scanned item on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileType {
    /// A regular file.
    File,
    /// A folder.
    Folder,
    /// A symbolic link (not followed).
    Link,
    /// A FIFO, socket or device.
    Other,
    /// Nothing is there ([`ItemKind::MissingShard`]).
    Missing,
}

/// A file or folder found by [`RawStore::scan`](crate::RawStore::scan).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanItem {
    /// Where it is.
    pub path: PathBuf,
    /// What it is to the store.
    pub kind: ItemKind,
    /// What it is on disk.
    pub file_type: FileType,
    /// Its length in bytes (from its metadata, links not followed).
    pub len: u64,
    /// Its modification time, when known.
    pub modified: Option<SystemTime>,
}

/// Every file and folder of a store, from [`RawStore::scan`](crate::RawStore::scan) or
/// [`StoreFolder::scan`](crate::StoreFolder::scan).
#[derive(Debug)]
pub struct Scan {
    /// `None` for a scan that could not start (it yields its one error).
    folder: Option<Folder>,
    own_id: Option<String>,
    stale_age: Duration,
    started: bool,
    pending: VecDeque<Result<ScanItem>>,
    alive: HashSet<String>,
    dead: HashSet<String>,
    bad_shards: HashSet<u8>,
    next_shard: usize,
    current: Option<(u8, OwnedFd, Listing)>,
}

fn file_type_of(st: &sys::Stat) -> FileType {
    match sys::file_type(st) {
        sys::FileType::Symlink => FileType::Link,
        sys::FileType::Directory => FileType::Folder,
        sys::FileType::RegularFile => FileType::File,
        _ => FileType::Other,
    }
}

impl Scan {
    pub(crate) fn new(folder: Folder, own_id: Option<String>, stale_age: Duration) -> Self {
        Scan {
            folder: Some(folder),
            own_id,
            stale_age,
            started: false,
            pending: VecDeque::new(),
            alive: HashSet::new(),
            dead: HashSet::new(),
            bad_shards: HashSet::new(),
            next_shard: 0,
            current: None,
        }
    }

    /// A scan that yields `err` and ends.
    pub(crate) fn broken(err: Error) -> Self {
        let mut scan = Scan {
            folder: None,
            own_id: None,
            stale_age: Duration::ZERO,
            started: true,
            pending: VecDeque::new(),
            alive: HashSet::new(),
            dead: HashSet::new(),
            bad_shards: HashSet::new(),
            next_shard: names::SHARDS,
            current: None,
        };
        scan.pending.push_back(Err(err));
        scan
    }

    fn is_older(&self, modified: Option<SystemTime>) -> bool {
        modified
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age >= self.stale_age)
    }

    /// Classifies the item `name` of the open folder `dir` (whose path is `dir_path`);
    /// `None` when it vanished.
    fn item(
        &self,
        dir: BorrowedFd<'_>,
        dir_path: PathBuf,
        name: &str,
        classify: impl FnOnce(FileType, Option<SystemTime>) -> ItemKind,
    ) -> Option<Result<ScanItem>> {
        let path = dir_path.join(name);
        let st = match sys::stat(dir, name) {
            Ok(st) => st,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
            Err(err) => return Some(Err(Error::io("cannot examine file", &path, err))),
        };
        let file_type = file_type_of(&st);
        let modified = Some(sys::modified(&st));
        Some(Ok(ScanItem {
            kind: classify(file_type, modified),
            path,
            file_type,
            len: u64::try_from(st.st_size).unwrap_or(0),
            modified,
        }))
    }

    /// Lists the root and `tmp/` into `pending`.
    fn start(&mut self) {
        self.started = true;
        let Some(folder) = self.folder.take() else {
            return;
        };
        self.start_in(&folder);
        self.folder = Some(folder);
    }

    fn start_in(&mut self, folder: &Folder) {
        let root = folder.path().to_owned();
        let names = match sorted_names(folder.root(), &root) {
            Ok(names) => names,
            Err(err) => {
                self.pending.push_back(Err(err));
                self.next_shard = names::SHARDS;
                return;
            }
        };
        let mut shards_seen = HashSet::new();
        let mut has_tmp = false;
        for name in &names {
            let shard = names::parse_shard_name(name);
            let item = self.item(folder.root(), root.clone(), name, |t, _| {
                match (name.as_str(), t) {
                    (names::MANIFEST, FileType::File) => ItemKind::Manifest,
                    (names::LOCK, FileType::File) => ItemKind::Lock,
                    (names::TMP, FileType::Folder) => ItemKind::TempFolder,
                    (names::QUARANTINE, FileType::Folder) => ItemKind::Quarantine,
                    (_, FileType::Folder) if shard.is_some() => ItemKind::Shard,
                    _ if shard.is_some() => ItemKind::ShardNotAFolder,
                    _ => ItemKind::Foreign,
                }
            });
            if let Some(Ok(found)) = &item {
                match (found.kind, shard) {
                    (ItemKind::Shard, Some(s)) => {
                        shards_seen.insert(s);
                    }
                    (ItemKind::ShardNotAFolder, Some(s)) => {
                        shards_seen.insert(s);
                        self.bad_shards.insert(s);
                    }
                    (ItemKind::TempFolder, _) => has_tmp = true,
                    _ => {}
                }
            }
            self.pending.extend(item);
        }
        for s in 0..=255u8 {
            if !shards_seen.contains(&s) {
                self.bad_shards.insert(s);
                self.pending.push_back(Ok(ScanItem {
                    path: root.join(names::shard_name(s)),
                    kind: ItemKind::MissingShard,
                    file_type: FileType::Missing,
                    len: 0,
                    modified: None,
                }));
            }
        }
        if has_tmp {
            self.start_tmp(folder);
        }
    }

    /// Lists `tmp/`: markers (is their writer alive?) and other files.
    fn start_tmp(&mut self, folder: &Folder) {
        let tmp_path = folder.path_of(names::TMP);
        let tmp = match sys::open_dir(folder.root(), names::TMP) {
            Ok(fd) => fd,
            Err(err) => {
                self.pending
                    .push_back(Err(Error::io("cannot open folder", &tmp_path, err)));
                return;
            }
        };
        let names = match sorted_names(tmp.as_fd(), &tmp_path) {
            Ok(names) => names,
            Err(err) => {
                self.pending.push_back(Err(err));
                return;
            }
        };
        for name in names {
            let marker = names::marker_id(&name).map(str::to_owned);
            let alive = marker.as_ref().map(|id| {
                self.own_id.as_deref() == Some(id.as_str()) || marker_is_locked(tmp.as_fd(), &name)
            });
            let note = name == names::EXPIRING;
            let item = self.item(tmp.as_fd(), tmp_path.clone(), &name, |t, modified| {
                match (t, alive) {
                    (FileType::File, _) if note => ItemKind::Note,
                    (FileType::File, Some(alive)) => ItemKind::Marker { alive },
                    (FileType::File, None) => ItemKind::Temp {
                        stale: self.is_older(modified),
                    },
                    _ => ItemKind::Foreign,
                }
            });
            if let (Some(Ok(found)), Some(id)) = (&item, marker) {
                match found.kind {
                    ItemKind::Marker { alive: true } => self.alive.insert(id),
                    ItemKind::Marker { alive: false } => self.dead.insert(id),
                    _ => false,
                };
            }
            self.pending.extend(item);
        }
    }

    fn shard_item(
        &self,
        shard: u8,
        dir: BorrowedFd<'_>,
        dir_path: PathBuf,
        name: &str,
    ) -> Option<Result<ScanItem>> {
        let entry = names::parse_entry_name(name);
        let writer = names::temp_writer_id(name);
        self.item(dir, dir_path, name, |t, modified| {
            match (t, entry, writer) {
                (FileType::File, Some(h), _) if h[0] == shard => ItemKind::Entry,
                (FileType::File, Some(_), _) => ItemKind::Misplaced,
                (FileType::File, None, Some(id)) => ItemKind::Temp {
                    stale: !self.alive.contains(id)
                        && self.own_id.as_deref() != Some(id)
                        && (self.dead.contains(id) || self.is_older(modified)),
                },
                _ => ItemKind::Foreign,
            }
        })
    }
}

/// Whether a writer marker is locked by a live writer (errors count as alive: the safe
/// side, as the sweep does).
fn marker_is_locked(tmp: BorrowedFd<'_>, name: &str) -> bool {
    match sys::open_regular(tmp, name, false, 0).map(|f| f.try_lock()) {
        Ok(Ok(())) => false,
        Ok(Err(TryLockError::WouldBlock)) => true,
        Ok(Err(TryLockError::Error(_))) | Err(_) => true,
    }
}

/// The names in an open folder, sorted.
fn sorted_names(dir: BorrowedFd<'_>, path: &std::path::Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for item in sys::list(dir).ctx("cannot list folder", path)? {
        names.push(item.ctx("cannot list folder", path)?.0);
    }
    names.sort();
    Ok(names)
}

impl Iterator for Scan {
    type Item = Result<ScanItem>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.started {
            self.start();
        }
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if let Some((shard, dir, mut items)) = self.current.take() {
                match items.next() {
                    Some(Ok((name, _))) => {
                        let found =
                            self.shard_item(shard, dir.as_fd(), self.shard_path(shard), &name);
                        self.current = Some((shard, dir, items));
                        match found {
                            Some(found) => return Some(found),
                            None => continue,
                        }
                    }
                    Some(Err(err)) => {
                        let path = self.shard_path(shard);
                        return Some(Err(Error::io("cannot list shard folder", &path, err)));
                    }
                    None => continue,
                }
            }
            if self.next_shard >= names::SHARDS {
                return None;
            }
            let shard = self.next_shard as u8;
            self.next_shard += 1;
            if self.bad_shards.contains(&shard) {
                continue;
            }
            let Some(folder) = &self.folder else {
                return None;
            };
            let name = names::shard_name(shard);
            let opened = sys::open_dir(folder.root(), &name).and_then(|fd| {
                let listing = sys::list(fd.as_fd())?;
                Ok((fd, listing))
            });
            match opened {
                Ok((fd, listing)) => self.current = Some((shard, fd, listing)),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => {
                    let path = self.shard_path(shard);
                    return Some(Err(Error::io("cannot list shard folder", &path, err)));
                }
            }
        }
    }
}

impl Scan {
    fn shard_path(&self, shard: u8) -> PathBuf {
        self.folder
            .as_ref()
            .map(|f| f.shard_path(shard))
            .unwrap_or_default()
    }
}

impl std::iter::FusedIterator for Scan {}
