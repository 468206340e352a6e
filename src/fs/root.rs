//! The store folder as a whole: what is at a path, creating a store, reading and writing
//! its manifest, and deleting it, all through the folder's handle once it is open.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use super::folder::Folder;
use super::lock::StoreLock;
use super::store_path::{self, Opened};
use super::sys::{self, FileType};
use crate::error::{Error, ErrorKind, IoResultExt, Result};
use crate::format::manifest::{MAX_MANIFEST_LEN, Manifest};
use crate::format::names;

/// What is at a store path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Missing,
    DanglingLink,
    /// A link owned by this user, who is neither the caller nor root (at the path or in a
    /// link's target; see [`store_path`]).
    UntrustedLink(u32),
    NotAFolder,
    Empty,
    /// Only the pieces a crashed creation leaves (lock, tmp/, empty shards), no manifest.
    HalfMade,
    Foreign,
    Store,
}

/// What is at `path`, and the folder's handle when it is a folder.
///
/// # Errors
///
/// `Io` when the path cannot be examined.
pub(crate) fn probe(path: &Path) -> Result<(State, Option<OwnedFd>)> {
    let root = match store_path::open(path).ctx("cannot open store folder", path)? {
        Opened::Missing => return Ok((State::Missing, None)),
        Opened::DanglingLink => return Ok((State::DanglingLink, None)),
        Opened::NotAFolder => return Ok((State::NotAFolder, None)),
        Opened::UntrustedLink(owner) => return Ok((State::UntrustedLink(owner), None)),
        Opened::Folder(fd) => fd,
    };
    let state = classify(root.as_fd(), path)?;
    Ok((state, Some(root)))
}

/// What the open folder `root` holds.
fn classify(root: BorrowedFd<'_>, path: &Path) -> Result<State> {
    match sys::stat(root, names::MANIFEST) {
        Ok(_) => return Ok(State::Store),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("cannot examine store path", path, e)),
    }
    let mut any = false;
    for item in sys::list(root).ctx("cannot list store path", path)? {
        let (name, kind) = item.ctx("cannot list store path", path)?;
        any = true;
        if !is_creation_leftover(root, &name, kind) {
            return Ok(State::Foreign);
        }
    }
    Ok(if any { State::HalfMade } else { State::Empty })
}

/// Whether a folder item is something an interrupted store creation leaves behind.
fn is_creation_leftover(root: BorrowedFd<'_>, name: &str, kind: FileType) -> bool {
    let kind = match kind {
        FileType::Unknown => match sys::stat(root, name) {
            Ok(st) => sys::file_type(&st),
            Err(_) => return false,
        },
        k => k,
    };
    let empty_dir = || {
        kind == FileType::Directory
            && sys::open_dir(root, name)
                .and_then(|d| sys::list(d.as_fd()))
                .is_ok_and(|mut l| l.next().is_none())
    };
    match name {
        names::LOCK => kind == FileType::RegularFile,
        names::TMP => empty_dir(),
        _ if name.starts_with(names::MANIFEST_TEMP_PREFIX) => kind == FileType::RegularFile,
        _ => names::parse_shard_name(name).is_some() && empty_dir(),
    }
}

/// How a new store is made.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CreateOpts {
    pub durable: bool,
    pub file_mode: u32,
    pub lock_timeout: Option<std::time::Duration>,
}

/// Creates a store at a missing path (only its last component: the parent must exist), an
/// empty folder or an unfinished store. Returns the new store's folder, or `None` when
/// another process finished creating one first.
///
/// # Errors
///
/// `NotFound` naming the parent folder when it does not exist; `NotAStore` when other
/// files appeared meanwhile; `Io`.
pub(crate) fn create(path: &Path, manifest: &Manifest, o: CreateOpts) -> Result<Option<Folder>> {
    let dir_mode = super::dir_mode(o.file_mode);
    let made_root = match std::fs::create_dir(path) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = path.parent().unwrap_or(path);
            return Err(Error::new(
                ErrorKind::NotFound,
                "the folder to create the store in does not exist (dirkv makes only the store's own folder)",
            )
            .with_path(parent)
            .with_source(e));
        }
        Err(e) => return Err(Error::io("cannot create store folder", path, e)),
    };
    let root = if made_root {
        // Made just now: never follow a link someone swapped in since.
        open_own(path)?
    } else {
        match store_path::open(path).ctx("cannot open store folder", path)? {
            Opened::Folder(fd) => fd,
            Opened::Missing | Opened::DanglingLink => {
                return Err(not_a_store(path, "a dangling symbolic link"));
            }
            Opened::NotAFolder => return Err(not_a_store(path, "a file")),
            Opened::UntrustedLink(owner) => return Err(untrusted_link(path, owner)),
        }
    };
    let folder = Folder::new(path.to_owned(), root);
    let lock_file = sys::open_regular(folder.root(), names::LOCK, true, o.file_mode)
        .ctx("cannot create lock file", folder.path_of(names::LOCK))?;
    let lock = StoreLock::new(lock_file, folder.path_of(names::LOCK), o.lock_timeout);
    let _guard = lock.lock()?;
    match classify(folder.root(), path)? {
        State::Store => return Ok(None),
        State::Empty | State::HalfMade => {}
        _ => return Err(not_a_store(path, "a folder that other files appeared in")),
    }
    remove_manifest_temps(&folder);
    let mut folders = vec![names::TMP.to_owned()];
    folders.extend((0..=255u8).map(names::shard_name));
    for name in &folders {
        match sys::mkdir(folder.root(), name, dir_mode) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(Error::io(
                    "cannot create store folder",
                    &folder.path_of(name),
                    e,
                ));
            }
        }
    }
    if o.durable {
        // The manifest is the commit point of a creation: once its name is on disk, the
        // folders it vouches for must be too. A new folder's own inode and its `.`/`..`
        // block are made durable by an fsync of that folder; without it a file system
        // without a journal (ext2, ext4 `^has_journal`) can lose a shard folder in a power
        // cut after `open` returned, and every later write to that shard would fail.
        for name in &folders {
            let dir =
                sys::open_dir(folder.root(), name).map_err(|e| folder.folder_error(e, name))?;
            sys::sync_dir(dir.as_fd()).ctx("cannot sync store folder", folder.path_of(name))?;
        }
    }
    write_manifest(&folder, manifest, o.file_mode)?;
    if o.durable {
        sys::sync_dir(folder.root()).ctx("cannot sync store folder", path)?;
        if let Some(parent) = path.parent().filter(|_| made_root) {
            let parent_fd = sys::open_root(parent).ctx("cannot open folder", parent)?;
            sys::sync_dir(parent_fd.as_fd()).ctx("cannot sync folder", parent)?;
        }
    }
    drop(_guard);
    Ok(Some(folder))
}

/// Opens a folder this process just made, refusing a link in its place.
fn open_own(path: &Path) -> Result<OwnedFd> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return sys::open_root(path).ctx("cannot open store folder", path);
    };
    let parent_fd = sys::open_root(parent).ctx("cannot open folder", parent)?;
    store_path::open_dir(parent_fd.as_fd(), name).ctx("cannot open store folder", path)
}

/// Manifest temp files of an interrupted creation. Best effort: one left behind is
/// harmless (never read), and `dirkv verify` reports it.
fn remove_manifest_temps(folder: &Folder) {
    let Ok(listing) = sys::list(folder.root()) else {
        return;
    };
    for (name, kind) in listing.flatten() {
        if name.starts_with(names::MANIFEST_TEMP_PREFIX) && kind != FileType::Directory {
            let _ = sys::unlink(folder.root(), &name);
        }
    }
}

/// Writes the manifest atomically (temp file, fsync, rename) through the folder's handle.
///
/// # Errors
///
/// `Io` naming the manifest.
pub(crate) fn write_manifest(folder: &Folder, manifest: &Manifest, mode: u32) -> Result<()> {
    let path = folder.path_of(names::MANIFEST);
    let temp = format!("{}{}", names::MANIFEST_TEMP_PREFIX, std::process::id());
    let _ = sys::unlink(folder.root(), &temp);
    let mut file =
        sys::create_new(folder.root(), &temp, mode).ctx("cannot write manifest", &path)?;
    let written = file
        .write_all(manifest.render().as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| sys::rename(folder.root(), &temp, folder.root(), names::MANIFEST));
    if let Err(e) = written {
        let _ = sys::unlink(folder.root(), &temp);
        return Err(Error::io("cannot write manifest", &path, e));
    }
    Ok(())
}

/// Reads and parses the manifest through the folder's handle.
///
/// # Errors
///
/// `Corrupt` when it is not a regular file or is damaged; `IncompatibleFormat` for a newer
/// format; `Io`.
pub(crate) fn read_manifest(folder: &Folder) -> Result<Manifest> {
    let path = folder.path_of(names::MANIFEST);
    let file = sys::open_regular(folder.root(), names::MANIFEST, false, 0).map_err(|e| {
        if sys::is_not_a_file_error(&e) {
            Error::corrupt("the manifest is not a plain file", &path).with_source(e)
        } else {
            Error::io("cannot read manifest", &path, e)
        }
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .ctx("cannot read manifest", &path)?;
    Manifest::parse(&bytes).map_err(|e| {
        let kind = if e.newer {
            ErrorKind::IncompatibleFormat
        } else {
            ErrorKind::Corrupt
        };
        Error::new(kind, e.message).with_path(&path)
    })
}

/// The error for a store path that is a link dirkv does not follow.
pub(crate) fn untrusted_link(path: &Path, owner: u32) -> Error {
    not_a_store(
        path,
        &format!(
            "a symbolic link (at the path or in a link's target) owned by user {owner}, who is \
             neither you nor root (dirkv does not follow it: name the store's real folder)"
        ),
    )
}

/// The error for a path that is not a store.
pub(crate) fn not_a_store(path: &Path, what: &str) -> Error {
    Error::new(
        ErrorKind::NotAStore,
        format!("{what}, not a dirkv store; left untouched"),
    )
    .with_path(path)
}

/// Checks that the store's path still leads to the folder `folder` has open (device and
/// inode), so that what is done next through the handle is done to the store the caller
/// named.
///
/// # Errors
///
/// `NotFound` when the path leads elsewhere or nowhere.
pub(crate) fn check_still_there(folder: &Folder) -> Result<()> {
    let gone = || {
        Error::new(
            ErrorKind::NotFound,
            "the store this handle opened is no longer at its path (moved, replaced or destroyed); nothing was changed",
        )
        .with_path(folder.path())
    };
    let root = sys::fstat(folder.root()).ctx("cannot examine store folder", folder.path())?;
    if root.st_nlink == 0 {
        return Err(gone());
    }
    match std::fs::metadata(folder.path()) {
        Ok(m) if same(&m, &root) => Ok(()),
        _ => Err(gone()),
    }
}

#[allow(clippy::unnecessary_cast)]
fn same(meta: &std::fs::Metadata, st: &sys::Stat) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.dev() == st.st_dev as u64 && meta.ino() == st.st_ino as u64
}
