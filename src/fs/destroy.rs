//! Deleting a store folder through its handle: renamed aside first, then everything
//! beneath it, never following a link, retrying folders another handle fills again.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use super::folder::Folder;
use super::root::check_still_there;
use super::sys::{self, FileType};
use crate::error::{Error, ErrorKind, IoResultExt, Result};
use crate::format::names;

/// Deletes the store: renames its folder aside (`.<name>.dirkv-destroy-<id>` beside it, so
/// the store vanishes at once), deletes everything beneath the folder's handle, then the
/// folder, and a link at the store path. Refuses when the path no longer leads to the
/// store the handle opened.
///
/// # Errors
///
/// `NotFound` (see [`check_still_there`]); `Io`.
pub(crate) fn destroy(folder: &Folder, id: &str) -> Result<()> {
    check_still_there(folder)?;
    let link = folder.path();
    let real = std::fs::canonicalize(link).ctx("cannot find the store", link)?;
    let (Some(parent), Some(name)) = (real.parent(), real.file_name().and_then(|n| n.to_str()))
    else {
        return Err(
            Error::new(ErrorKind::InvalidInput, "cannot destroy a root folder").with_path(link),
        );
    };
    let parent_fd = sys::open_root(parent).ctx("cannot open folder", parent)?;
    let root = sys::fstat(folder.root()).ctx("cannot examine store folder", link)?;
    let is_store = |name: &str| {
        sys::stat(parent_fd.as_fd(), name)
            .is_ok_and(|st| st.st_dev == root.st_dev && st.st_ino == root.st_ino)
    };
    if !is_store(name) {
        return Err(
            Error::new(ErrorKind::NotFound, "the store moved while being destroyed")
                .with_path(link),
        );
    }
    let trash = format!(".{name}.dirkv-destroy-{id}");
    let doomed = match sys::rename_noreplace(parent_fd.as_fd(), name, &trash) {
        Ok(()) => trash,
        Err(_) => name.to_owned(),
    };
    // Another handle may still be writing (its temp files and renames land in folders
    // already emptied): empty again and retry, a bounded number of times.
    let shown = parent.join(&doomed);
    for attempt in 1..=RETRIES {
        remove_beneath(folder.root(), &shown, 0)?;
        if !is_store(&doomed) {
            break;
        }
        match sys::rmdir(parent_fd.as_fd(), &doomed) {
            Ok(()) => break,
            Err(e) if not_empty(&e) && attempt < RETRIES => {}
            Err(e) => return Err(Error::io("cannot delete the store", &shown, e)),
        }
    }
    if real != link {
        let is_link = std::fs::symlink_metadata(link).is_ok_and(|m| m.file_type().is_symlink());
        if is_link {
            std::fs::remove_file(link).ctx("cannot remove the link to the store", link)?;
        }
    }
    Ok(())
}

/// The deepest folder nesting `destroy` deletes (a store's own folders are two deep; the
/// quarantine keeps relative paths, a little deeper).
const MAX_DEPTH: usize = 32;

/// How often `destroy` empties a folder that another writer filled again meanwhile.
const RETRIES: usize = 8;

fn not_empty(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::NOTEMPTY.raw_os_error())
        || e.raw_os_error() == Some(rustix::io::Errno::EXIST.raw_os_error())
}

/// Deletes everything beneath the open folder `dir` (named `path` in messages), never
/// following a link: links are removed as names. At the top (`depth` 0) the manifest goes
/// last, so a deletion cut short leaves a store, not entries without a manifest.
fn remove_beneath(dir: BorrowedFd<'_>, path: &Path, depth: usize) -> Result<()> {
    let mut names: Vec<(String, FileType)> = sys::list(dir)
        .ctx("cannot list folder", path)?
        .collect::<io::Result<_>>()
        .ctx("cannot list folder", path)?;
    if depth == 0 {
        names.sort_by_key(|(name, _)| name == names::MANIFEST);
    }
    for (name, kind) in names {
        let child = path.join(&name);
        let kind = match kind {
            FileType::Unknown => sys::stat(dir, &name)
                .map(|st| sys::file_type(&st))
                .unwrap_or(FileType::Unknown),
            k => k,
        };
        if kind != FileType::Directory {
            match sys::unlink(dir, &name) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("cannot delete file", &child, e)),
            }
            continue;
        }
        if depth >= MAX_DEPTH {
            return Err(Error::new(
                ErrorKind::Io,
                "folders nested too deep to delete; left in place",
            )
            .with_path(&child));
        }
        for attempt in 1..=RETRIES {
            match sys::open_dir(dir, &name) {
                Ok(sub) => remove_beneath(sub.as_fd(), &child, depth + 1)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) => return Err(Error::io("cannot open folder", &child, e)),
            }
            match sys::rmdir(dir, &name) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) if not_empty(&e) && attempt < RETRIES => {}
                Err(e) => return Err(Error::io("cannot delete folder", &child, e)),
            }
        }
    }
    Ok(())
}
