//! Looking at a store folder the way a repair tool must: [`Scan`] classifies every file and
//! folder of a store ([`ItemKind`]), [`Quarantine`] moves damaged or foreign ones aside
//! without deleting them, and [`RawStore::verify_file`] checks one entry completely. A
//! [`StoreFolder`] gives the manifest and a scan without opening the store (so without an
//! encrypted store's key). All of it works through the store folder's handle.

mod quarantine;
mod scan;

use std::collections::BTreeMap;
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

pub use quarantine::Quarantine;
pub use scan::{FileType, ItemKind, Scan, ScanItem};

use crate::engine::config::STALE_TEMP_AGE;
use crate::engine::read::Lookup;
use crate::error::{Error, ErrorKind, IoResultExt, Result};
use crate::format::keys;
use crate::format::manifest::Manifest;
use crate::format::names;
use crate::fs::folder::Folder;
use crate::fs::{dir_mode, root, sys};
use crate::raw::{RawEntry, RawStore};

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
        let (root, manifest) = crate::engine::open::read_as_found(path.as_ref())?;
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
        crate::seal::crypto::is_encrypted(&self.manifest)
    }

    /// Every file and folder of the store, classified, as [`RawStore::scan`] gives them
    /// (this view is no writer, so no marker is its own). A store that is no longer at the
    /// path scans as one error.
    pub fn scan(&self) -> Scan {
        match root::probe(&self.root) {
            Ok((_, Some(fd))) => {
                Scan::new(Folder::new(self.root.clone(), fd), None, STALE_TEMP_AGE)
            }
            Ok((state, None)) => Scan::broken(crate::engine::open::no_store(&self.root, state)),
            Err(err) => Scan::broken(err),
        }
    }
}

impl RawStore {
    /// A second handle on this store's folder (for a scan or a quarantine).
    fn own_folder(&self) -> Result<Folder> {
        let storage = self.engine().storage();
        let path = storage.path().to_owned();
        let fd = storage
            .root_handle()
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidInput,
                    "only a local store has a folder to scan",
                )
                .with_path(&path)
            })?
            .try_clone_to_owned()
            .ctx("cannot open store folder", &path)?;
        Ok(Folder::new(path, fd))
    }

    /// Checks the entry file at `path` completely: header, length, checksum, that its key
    /// is the one its file name stands for, that the key is valid for the key encoding
    /// ([`check_key`](RawStore::check_key)) and the value for the codec
    /// ([`check_value`](RawStore::check_value)). Expired entries are checked too.
    /// `Ok(None)` when the file is gone.
    ///
    /// # Errors
    ///
    /// [`Corrupt`](ErrorKind::Corrupt) for damage (and for a name that is not an entry
    /// name in its shard); [`Decode`](ErrorKind::Decode) for an intact file whose key or
    /// value does not decode; [`IncompatibleFormat`](ErrorKind::IncompatibleFormat) for an
    /// entry this build cannot read; [`Io`](ErrorKind::Io).
    pub fn verify_file(&self, path: &Path) -> Result<Option<RawEntry>> {
        let not_entry = || Error::corrupt("not an entry file name", path);
        let hash = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(names::parse_entry_name)
            .ok_or_else(not_entry)?;
        let folder = self.own_folder()?;
        let dir = path
            .parent()
            .and_then(|p| p.strip_prefix(folder.path()).ok())
            .and_then(|p| p.to_str())
            .filter(|d| names::parse_shard_name(d).is_some())
            .ok_or_else(not_entry)?;
        // Through the store's handle and the shard's, never following a link.
        let shard = sys::open_dir(folder.root(), dir).map_err(|e| folder.folder_error(e, dir))?;
        let name = names::EntryName::of(&hash);
        let file = match sys::open_read(shard.as_fd(), name.as_str(), true) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if sys::is_not_a_file_error(&e) => {
                return Err(Error::corrupt(
                    "a link, folder, FIFO or socket is where an entry file should be",
                    path,
                )
                .with_source(e));
            }
            Err(e) => return Err(Error::io("cannot read entry", path, e)),
        };
        let read = self.engine().read_open_file(&file, &hash, path, |found| {
            let mut entry = RawEntry::from_found(&found, crate::fs::read::Need::Whole)?;
            entry.path = path.to_owned();
            Ok(entry)
        })?;
        let Lookup::Found(entry) = read else {
            return Ok(None);
        };
        let decode = |m: String| Err(Error::new(ErrorKind::Decode, m).with_path(path));
        if let Some(m) = keys::key_problem(self.key_encoding(), &entry.key) {
            return decode(m);
        }
        if let Some(m) = entry
            .value
            .as_deref()
            .and_then(|v| keys::value_problem(self.codec(), v))
        {
            return decode(m);
        }
        Ok(Some(entry))
    }

    /// Every file and folder of the store, classified (see [`ItemKind`]): the root first,
    /// then `tmp/`, then the shard folders `00`..`ff` one at a time (streamed). Does not
    /// look inside `quarantine/` or inside foreign folders, never follows a link, and
    /// opens no entry file (use [`verify_file`](RawStore::verify_file) for that). A folder
    /// that cannot be listed yields one `Err` and the scan goes on.
    pub fn scan(&self) -> Scan {
        let own_id = self.engine().storage().writer_id().map(str::to_owned);
        let stale = self.engine().config().stale_temp_age;
        match self.own_folder() {
            Ok(folder) => Scan::new(folder, own_id, stale),
            Err(err) => Scan::broken(err),
        }
    }

    /// Makes the store's structure whole again: creates missing shard folders and a missing
    /// `tmp/`. Returns the folders made.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](ErrorKind::ReadOnly); [`Io`](ErrorKind::Io) when a folder cannot be made
    /// (for instance a file has its name).
    pub fn restore_folders(&self) -> Result<Vec<PathBuf>> {
        let e = self.engine();
        e.check_writable()?;
        let folder = self.own_folder()?;
        let mode = dir_mode(e.config().file_mode_for(e.is_encrypted()));
        let mut made = Vec::new();
        let names =
            std::iter::once(names::TMP.to_owned()).chain((0..=255u8).map(names::shard_name));
        for name in names {
            let dir = folder.path_of(&name);
            match sys::stat(folder.root(), &name) {
                Ok(_) => continue,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(Error::io("cannot examine store folder", &dir, err)),
            }
            match sys::mkdir(folder.root(), &name, mode) {
                Ok(()) => made.push(name),
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(Error::io("cannot create store folder", &dir, err)),
            }
        }
        if !made.is_empty() && e.durable() {
            // Each new folder first (its inode and `.`/`..` block), then the name in the
            // root: without a journal, syncing the root alone can leave a name that e2fsck
            // removes after a power cut.
            for name in &made {
                let dir = sys::open_dir(folder.root(), name)
                    .map_err(|err| folder.folder_error(err, name))?;
                sys::sync_dir(dir.as_fd()).ctx("cannot sync store folder", folder.path_of(name))?;
            }
            sys::sync_dir(folder.root()).ctx("cannot sync store folder", folder.path())?;
        }
        Ok(made.iter().map(|name| folder.path_of(name)).collect())
    }

    /// A quarantine for this store: a new folder `quarantine/<UTC time>-<id>/` (made on
    /// first use) that damaged entries and foreign files are moved into, keeping their
    /// path relative to the store. Nothing moved there is ever read or deleted by dirkv.
    pub fn quarantine(&self) -> Quarantine<'_> {
        let stamp = crate::format::time::utc_text(self.engine().now_ms()).replace(':', "-");
        let stamp = stamp.split('.').next().unwrap_or(&stamp).to_owned();
        let id = self
            .engine()
            .storage()
            .writer_id()
            .unwrap_or("reader")
            .to_owned();
        Quarantine::new(self, self.own_folder().ok(), format!("{stamp}Z-{id}"))
    }
}
