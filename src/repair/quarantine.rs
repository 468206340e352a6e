//! [`Quarantine`]: moving damaged or foreign files aside without deleting them, through the
//! store folder's handles (`quarantine/` itself is never used through a link).

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, ErrorKind, IoResultExt, Result};
use crate::format::names;
use crate::fs::folder::Folder;
use crate::fs::{dir_mode, sys};
use crate::raw::RawStore;

/// A folder of the store's `quarantine/` that files are moved into; from
/// [`RawStore::quarantine`].
#[derive(Debug)]
pub struct Quarantine<'a> {
    store: &'a RawStore,
    /// The store folder's handle; `None` when it could not be had (every move fails).
    folder: Option<Folder>,
    /// The session folder's name in `quarantine/`.
    session: String,
    dir: PathBuf,
}

impl<'a> Quarantine<'a> {
    pub(crate) fn new(store: &'a RawStore, folder: Option<Folder>, session: String) -> Self {
        let dir = store.path().join(names::QUARANTINE).join(&session);
        Quarantine {
            store,
            folder,
            session,
            dir,
        }
    }

    /// The folder files are moved into (it exists once something was moved).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves the file, folder or link at `path` (inside the store, but not one of its own
    /// files or folders: manifest, lock, `tmp/`, `quarantine/`, a shard folder) into the
    /// quarantine folder under the same relative path, and returns where it went. Only an
    /// item of the store's root or of one of its folders (one or two levels deep) can be
    /// moved.
    ///
    /// Runs under the store lock. An entry file in its right shard is checked again under
    /// the lock first: if it is intact now (a writer replaced it meanwhile) or gone, it is
    /// left alone and `Ok(None)` is returned. Nothing is ever overwritten or deleted, and
    /// nothing is moved through a link: a link at `quarantine` or in place of a shard
    /// folder is an error.
    ///
    /// # Errors
    ///
    /// [`ReadOnly`](ErrorKind::ReadOnly); [`InvalidInput`](ErrorKind::InvalidInput) for a
    /// path outside the store or part of its structure; [`AlreadyExists`](ErrorKind::AlreadyExists)
    /// when the destination is taken; [`Corrupt`](ErrorKind::Corrupt) when `quarantine`
    /// or the item's folder is not a real folder; [`Io`](ErrorKind::Io).
    pub fn move_in(&mut self, path: &Path) -> Result<Option<PathBuf>> {
        let e = self.store.engine();
        e.check_writable()?;
        let Some(folder) = &self.folder else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "this store has no folder to quarantine into",
            )
            .with_path(self.store.path()));
        };
        let refuse =
            |what: &'static str| Err(Error::new(ErrorKind::InvalidInput, what).with_path(path));
        let Ok(rel) = path.strip_prefix(folder.path()) else {
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
            [names::MANIFEST, names::LOCK, names::TMP, names::QUARANTINE].contains(&name)
                || names::parse_shard_name(name).is_some()
        };
        let (parent, name) = match parts.as_slice() {
            [] => return refuse("cannot quarantine the store itself"),
            _ if parts.contains(&"..") || parts.contains(&"\u{fffd}") => {
                return refuse("not a plain path inside the store");
            }
            [first, ..] if *first == names::QUARANTINE => {
                return refuse("already in the quarantine");
            }
            [one] if reserved(one) => return refuse("cannot quarantine a part of the store"),
            [one] => (None, *one),
            [dir, one] => (Some(*dir), *one),
            _ => return refuse("only items of the store's root or its folders can be quarantined"),
        };
        let shard = parent.and_then(names::parse_shard_name);
        // The item's shard's lock, or the store's for the root and `tmp/`.
        let guard = match shard {
            Some(shard) => (e.lock(shard)?, None),
            None => (None, e.storage().lock_store()?),
        };
        let in_place_entry = names::parse_entry_name(name).filter(|h| Some(h[0]) == shard);
        if in_place_entry.is_some() {
            match self.store.verify_file(path) {
                Ok(_) => return Ok(None),
                Err(err) if err.kind() == ErrorKind::Io => return Err(err),
                Err(_) => {}
            }
        }
        let source_dir: Option<OwnedFd> = match parent {
            Some(dir) => Some(
                sys::open_dir(folder.root(), dir).map_err(|err| folder.folder_error(err, dir))?,
            ),
            None => None,
        };
        let source = source_dir.as_ref().map_or(folder.root(), |fd| fd.as_fd());
        match sys::stat(source, name) {
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(Error::io("cannot examine file", path, err)),
        }
        let dest_dir = self.dest_dir(folder, parent)?;
        let dest = match parent {
            Some(dir) => self.dir.join(dir).join(name),
            None => self.dir.join(name),
        };
        match sys::stat(dest_dir.as_fd(), name) {
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
        sys::rename(source, name, dest_dir.as_fd(), name)
            .ctx("cannot move into quarantine", path)?;
        drop(guard);
        if let Some(shard) = shard {
            e.written(&[], &[shard])?;
        }
        Ok(Some(dest))
    }

    /// The folder of the quarantine that an item of the store's folder `parent` (or of the
    /// root) goes into, made as needed; never through a link.
    fn dest_dir(&self, folder: &Folder, parent: Option<&str>) -> Result<OwnedFd> {
        let mode = dir_mode(
            self.store
                .engine()
                .config()
                .file_mode_for(self.store.is_encrypted()),
        );
        let quarantine = open_or_make(folder, folder.root(), names::QUARANTINE, mode)?;
        let session = open_or_make(folder, quarantine.as_fd(), &self.session, mode)?;
        match parent {
            Some(dir) => open_or_make(folder, session.as_fd(), dir, mode),
            None => Ok(session),
        }
    }
}

/// Opens the folder `name` in `dir`, making it first when it is missing; a link or a file
/// in its place is `Corrupt`.
fn open_or_make(
    folder: &Folder,
    dir: std::os::fd::BorrowedFd<'_>,
    name: &str,
    mode: u32,
) -> Result<OwnedFd> {
    match sys::open_dir(dir, name) {
        Ok(fd) => return Ok(fd),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(folder.folder_error(err, name)),
    }
    match sys::mkdir(dir, name, mode) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
        Err(err) => {
            return Err(Error::io(
                "cannot create quarantine folder",
                &folder.path_of(name),
                err,
            ));
        }
    }
    sys::open_dir(dir, name).map_err(|err| folder.folder_error(err, name))
}
