//! Looking at a store folder the way a repair tool must: [`Scan`] classifies every file and
//! folder of a store ([`ItemKind`]), and [`Quarantine`] moves damaged or foreign ones aside
//! without deleting them. Both come from a [`RawStore`]; a [`StoreFolder`] gives the
//! manifest and a scan without opening the store (so without an encrypted store's key).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs::{self, File, ReadDir, TryLockError};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, ErrorKind, Result};
use crate::layout::{self, Manifest};
use crate::raw::RawStore;

/// Age after which a temp file whose writer is unknown counts as stale (as `Options`).
pub(crate) const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// A store folder looked at from outside, without opening the store: what its manifest says
/// and a [`Scan`] of its files. Reading it touches no lock, makes no writer marker, opens no
/// entry and needs no key, so it also describes an encrypted store whose key is not at hand
/// (`dirkv stat` uses it).
///
/// ```
/// use dirkv::{Exists, Store, StoreFolder};
///
/// let dir = tempfile::tempdir()?;
/// let store: Store<u64, String> = Store::open(dir.path().join("s"), Exists::OpenOrCreate)?;
/// store.set(&1, &"one".to_string())?;
/// let folder = StoreFolder::read(dir.path().join("s"))?;
/// assert_eq!((folder.key_encoding(), folder.codec()), ("u64", "msgpack"));
/// assert!(!folder.is_encrypted());
/// let entries = folder.scan().filter(|i| matches!(i, Ok(i) if i.kind == dirkv::ItemKind::Entry));
/// assert_eq!(entries.count(), 1);
/// # Ok::<(), dirkv::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct StoreFolder {
    root: PathBuf,
    manifest: Manifest,
}

impl StoreFolder {
    /// Reads the manifest of the existing store at `path`.
    ///
    /// # Errors
    ///
    /// As [`RawStore::open`], except that an encrypted store is read like any other (never
    /// [`WrongKey`](ErrorKind::WrongKey)): `NotFound`, `NotAStore`, `IncompatibleFormat`
    /// (a newer format), `Corrupt` (a damaged manifest), `Io`. Never creates anything.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let (root, manifest) = crate::open::read_as_found(path.as_ref())?;
        Ok(StoreFolder { root, manifest })
    }

    /// The store's folder (absolute).
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The key encoding named in the manifest (`key = …`).
    pub fn key_encoding(&self) -> &str {
        &self.manifest.key
    }

    /// The codec named in the manifest (`codec = …`).
    pub fn codec(&self) -> &str {
        &self.manifest.codec
    }

    /// The store format version from the manifest.
    pub fn format(&self) -> u32 {
        self.manifest.format
    }

    /// The manifest's shard depth.
    pub fn shard_depth(&self) -> u32 {
        self.manifest.shard_depth
    }

    /// Further manifest settings (`name = value` lines other than the ones above), such as
    /// an encrypted store's `encryption`, `encryption_kdf` and Argon2id costs.
    pub fn settings(&self) -> &BTreeMap<String, String> {
        &self.manifest.extra
    }

    /// Whether the manifest says the store is encrypted (it has an `encryption = …` line),
    /// whether or not this build can open it.
    pub fn is_encrypted(&self) -> bool {
        crate::crypto::is_encrypted(&self.manifest)
    }

    /// Every file and folder of the store, classified, as [`RawStore::scan`] gives them
    /// (this view is no writer, so no marker is its own).
    pub fn scan(&self) -> Scan {
        Scan::new(&self.root, None, STALE_TEMP_AGE)
    }
}

/// A folder of the store's `quarantine/` that files are moved into; from
/// [`RawStore::quarantine`].
#[derive(Debug)]
pub struct Quarantine<'a> {
    store: &'a RawStore,
    dir: PathBuf,
}

impl<'a> Quarantine<'a> {
    pub(crate) fn new(store: &'a RawStore, dir: PathBuf) -> Self {
        Quarantine { store, dir }
    }

    /// The folder files are moved into (it exists once something was moved).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves the file, folder or link at `path` (inside the store, but not one of its own
    /// files or folders: manifest, lock, `tmp/`, `quarantine/`, a shard folder) into the
    /// quarantine folder under the same relative path, and returns where it went.
    ///
    /// Runs under the store lock. An entry file in its right shard is checked again under
    /// the lock first: if it is intact now (a writer replaced it meanwhile) or gone, it is
    /// left alone and `Ok(None)` is returned. Nothing is ever overwritten or deleted.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](ErrorKind::ReadOnly); [`InvalidInput`](ErrorKind::InvalidInput) for a
    /// path outside the store or part of its structure; [`AlreadyExists`](ErrorKind::AlreadyExists)
    /// when the destination is taken; [`Io`](ErrorKind::Io).
    pub fn move_in(&mut self, path: &Path) -> Result<Option<PathBuf>> {
        let e = &self.store.engine;
        e.check_writable()?;
        let refuse =
            |what: &'static str| Err(Error::new(ErrorKind::InvalidInput, what).with_path(path));
        let Ok(rel) = path.strip_prefix(&e.root) else {
            return refuse("cannot quarantine a path outside the store");
        };
        let parts: Vec<&str> = rel
            .components()
            .map(|c| match c {
                Component::Normal(s) => s.to_str().unwrap_or("\u{fffd}"),
                _ => "..",
            })
            .collect();
        let reserved = |name: &str| {
            [
                layout::MANIFEST,
                layout::LOCK,
                layout::TMP,
                layout::QUARANTINE,
            ]
            .contains(&name)
                || layout::parse_shard_name(name).is_some()
        };
        match parts.as_slice() {
            [] => return refuse("cannot quarantine the store itself"),
            [one] if reserved(one) => return refuse("cannot quarantine a part of the store"),
            [first, ..] if *first == layout::QUARANTINE => {
                return refuse("already in the quarantine");
            }
            _ if parts.contains(&"..") => return refuse("not a plain path inside the store"),
            _ => {}
        }
        let shard = match parts.as_slice() {
            [s, _] => layout::parse_shard_name(s),
            _ => None,
        };
        let guard = e.lock()?;
        let in_place_entry = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(layout::parse_entry_name)
            .filter(|h| Some(h[0]) == shard);
        if in_place_entry.is_some() {
            match self.store.verify_file(path) {
                Ok(_) => return Ok(None),
                Err(err) if err.kind() == ErrorKind::Io => return Err(err),
                Err(_) => {}
            }
        }
        match fs::symlink_metadata(path) {
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(Error::io("cannot examine file", path, err)),
        }
        let dest = self.dir.join(rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)
                .map_err(|err| Error::io("cannot create quarantine folder", parent, err))?;
        }
        match fs::symlink_metadata(&dest) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    "the quarantine already holds a file of this name",
                )
                .with_path(&dest));
            }
            Err(err) => return Err(Error::io("cannot examine quarantine", &dest, err)),
        }
        fs::rename(path, &dest)
            .map_err(|err| Error::io("cannot move into quarantine", path, err))?;
        drop(guard);
        if let Some(shard) = shard {
            e.written(&[], &[shard])?;
        }
        Ok(Some(dest))
    }
}

/// What a file or folder found by [`RawStore::scan`] is.
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
    /// writer, when it is older than an hour: [`RawStore::sweep_temps`] removes those.
    Temp {
        /// Left behind by a writer that is gone.
        stale: bool,
    },
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
    /// writes refuse to follow).
    ShardNotAFolder,
}

impl ItemKind {
    /// Whether this item is something wrong with the store, as `dirkv verify` counts it:
    /// misplaced, foreign, a missing or bad shard. Stale temp files and crashed writers'
    /// markers are not: they are leftovers that writable opens and
    /// [`RawStore::sweep_temps`] remove.
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

/// A file or folder found by [`RawStore::scan`].
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

/// Every file and folder of a store, from [`RawStore::scan`] or [`StoreFolder::scan`].
#[derive(Debug)]
pub struct Scan {
    root: PathBuf,
    own_id: Option<String>,
    stale_age: Duration,
    started: bool,
    pending: VecDeque<Result<ScanItem>>,
    alive: HashSet<String>,
    dead: HashSet<String>,
    bad_shards: HashSet<u8>,
    next_shard: usize,
    current: Option<(u8, PathBuf, ReadDir)>,
}

fn file_type_of(meta: &fs::Metadata) -> FileType {
    let t = meta.file_type();
    if t.is_symlink() {
        FileType::Link
    } else if t.is_dir() {
        FileType::Folder
    } else if t.is_file() {
        FileType::File
    } else {
        FileType::Other
    }
}

impl Scan {
    pub(crate) fn new(root: &Path, own_id: Option<String>, stale_age: Duration) -> Self {
        Scan {
            root: root.to_owned(),
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

    fn is_older(&self, modified: Option<SystemTime>) -> bool {
        modified
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age >= self.stale_age)
    }

    /// Classifies one listed item; `None` when it vanished.
    fn item(
        &self,
        path: PathBuf,
        classify: impl FnOnce(FileType, Option<SystemTime>) -> ItemKind,
    ) -> Option<Result<ScanItem>> {
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return None,
            Err(err) => return Some(Err(Error::io("cannot examine file", &path, err))),
        };
        let file_type = file_type_of(&meta);
        let modified = meta.modified().ok();
        Some(Ok(ScanItem {
            kind: classify(file_type, modified),
            path,
            file_type,
            len: meta.len(),
            modified,
        }))
    }

    /// Lists the root and `tmp/` into `pending`.
    fn start(&mut self) {
        self.started = true;
        let root = self.root.clone();
        let names = match list(&root) {
            Ok(names) => names,
            Err(err) => {
                self.pending.push_back(Err(err));
                self.next_shard = layout::SHARDS;
                return;
            }
        };
        let mut shards_seen = HashSet::new();
        let mut has_tmp = false;
        for name in &names {
            let path = root.join(name);
            let shard = layout::parse_shard_name(name);
            let item = self.item(path, |t, _| match (name.as_str(), t) {
                (layout::MANIFEST, FileType::File) => ItemKind::Manifest,
                (layout::LOCK, FileType::File) => ItemKind::Lock,
                (layout::TMP, FileType::Folder) => ItemKind::TempFolder,
                (layout::QUARANTINE, FileType::Folder) => ItemKind::Quarantine,
                (_, FileType::Folder) if shard.is_some() => ItemKind::Shard,
                _ if shard.is_some() => ItemKind::ShardNotAFolder,
                _ => ItemKind::Foreign,
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
                    path: root.join(layout::shard_name(s)),
                    kind: ItemKind::MissingShard,
                    file_type: FileType::Missing,
                    len: 0,
                    modified: None,
                }));
            }
        }
        if has_tmp {
            self.start_tmp();
        }
    }

    /// Lists `tmp/`: markers (is their writer alive?) and other files.
    fn start_tmp(&mut self) {
        let tmp = self.root.join(layout::TMP);
        let names = match list(&tmp) {
            Ok(names) => names,
            Err(err) => {
                self.pending.push_back(Err(err));
                return;
            }
        };
        for name in names {
            let path = tmp.join(&name);
            let marker = layout::marker_id(&name).map(str::to_owned);
            let alive = marker
                .as_ref()
                .map(|id| self.own_id.as_deref() == Some(id.as_str()) || marker_is_locked(&path));
            let item = self.item(path, |t, modified| match (t, alive) {
                (FileType::File, Some(alive)) => ItemKind::Marker { alive },
                (FileType::File, None) => ItemKind::Temp {
                    stale: self.is_older(modified),
                },
                _ => ItemKind::Foreign,
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

    fn shard_item(&self, shard: u8, path: PathBuf, name: &str) -> Option<Result<ScanItem>> {
        let entry = layout::parse_entry_name(name);
        let writer = layout::temp_writer_id(name);
        self.item(path, |t, modified| match (t, entry, writer) {
            (FileType::File, Some(h), _) if h[0] == shard => ItemKind::Entry,
            (FileType::File, Some(_), _) => ItemKind::Misplaced,
            (FileType::File, None, Some(id)) => ItemKind::Temp {
                stale: !self.alive.contains(id)
                    && self.own_id.as_deref() != Some(id)
                    && (self.dead.contains(id) || self.is_older(modified)),
            },
            _ => ItemKind::Foreign,
        })
    }
}

/// Whether a writer marker is locked by a live writer (errors count as alive: the safe
/// side, as the sweep does).
fn marker_is_locked(path: &Path) -> bool {
    match File::open(path).map(|f| f.try_lock()) {
        Ok(Ok(())) => false,
        Ok(Err(TryLockError::WouldBlock)) => true,
        Ok(Err(TryLockError::Error(_))) | Err(_) => true,
    }
}

/// The names in a folder, sorted (names that are not UTF-8 are kept lossily).
fn list(dir: &Path) -> Result<Vec<String>> {
    let err = |e| Error::io("cannot list folder", dir, e);
    let mut names = Vec::new();
    for item in fs::read_dir(dir).map_err(err)? {
        names.push(
            item.map_err(err)?
                .file_name()
                .to_string_lossy()
                .into_owned(),
        );
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
            if let Some((shard, dir, items)) = &mut self.current {
                let (shard, dir) = (*shard, dir.clone());
                match items.next() {
                    Some(Ok(item)) => {
                        let name = item.file_name();
                        let name = name.to_string_lossy();
                        match self.shard_item(shard, item.path(), &name) {
                            Some(found) => return Some(found),
                            None => continue,
                        }
                    }
                    Some(Err(err)) => {
                        self.current = None;
                        return Some(Err(Error::io("cannot list shard folder", &dir, err)));
                    }
                    None => {
                        self.current = None;
                        continue;
                    }
                }
            }
            if self.next_shard >= layout::SHARDS {
                return None;
            }
            let shard = self.next_shard as u8;
            self.next_shard += 1;
            if self.bad_shards.contains(&shard) {
                continue;
            }
            let dir = self.root.join(layout::shard_name(shard));
            match fs::read_dir(&dir) {
                Ok(items) => self.current = Some((shard, dir, items)),
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Some(Err(Error::io("cannot list shard folder", &dir, err))),
            }
        }
    }
}
