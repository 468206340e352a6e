//! Deleting a store folder through its handle: renamed aside first, then everything
//! beneath it, never following a link, in passes while another handle fills folders again.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::io::Errno;

use super::folder::Folder;
use super::root::check_still_there;
use super::store_path;
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
    let (Some(parent), Some(name)) = (real.parent(), real.file_name()) else {
        return Err(
            Error::new(ErrorKind::InvalidInput, "cannot destroy a root folder").with_path(link),
        );
    };
    let parent_fd = sys::open_root(parent).ctx("cannot open folder", parent)?;
    let root = sys::fstat(folder.root()).ctx("cannot examine store folder", link)?;
    let is_store = |name: &OsStr| {
        sys::stat(parent_fd.as_fd(), name)
            .is_ok_and(|st| st.st_dev == root.st_dev && st.st_ino == root.st_ino)
    };
    if !is_store(name) {
        return Err(
            Error::new(ErrorKind::NotFound, "the store moved while being destroyed")
                .with_path(link),
        );
    }
    let mut trash = OsString::from(".");
    trash.push(name);
    trash.push(format!(".dirkv-destroy-{id}"));
    let renamed = sys::rename_noreplace(parent_fd.as_fd(), name, trash.as_os_str());
    let doomed: &OsStr = if renamed.is_ok() { &trash } else { name };
    // Another handle may still be writing (its temp files and renames land in folders
    // already emptied): empty again and retry, a bounded number of whole passes.
    let shown = parent.join(doomed);
    for pass in 1..=PASSES {
        remove_beneath(folder.root(), &shown, 0)?;
        if !is_store(doomed) {
            break;
        }
        match sys::rmdir(parent_fd.as_fd(), doomed) {
            Ok(()) => break,
            Err(e) if not_empty(&e) && pass < PASSES => {}
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

/// How many times `destroy` empties the store when another writer fills folders again
/// meanwhile. Each pass walks the whole store once; a folder found not empty is left for
/// the next pass (so the work is bounded by passes times the store, never multiplied by
/// the nesting depth).
const PASSES: usize = 8;

fn not_empty(e: &io::Error) -> bool {
    [Errno::NOTEMPTY, Errno::EXIST]
        .iter()
        .any(|n| e.raw_os_error() == Some(n.raw_os_error()))
}

fn gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

/// Deletes everything beneath the open folder `dir` (named `path` in messages), never
/// following a link: links are removed as names. Names are taken as bytes, so a name that
/// is not UTF-8 goes too. A subfolder that another writer filled again is left (the next
/// pass of [`destroy`] takes it). At the top (`depth` 0) the manifest goes last, so a
/// deletion cut short leaves a store, not entries without a manifest.
fn remove_beneath(dir: BorrowedFd<'_>, path: &Path, depth: usize) -> Result<()> {
    let mut names: Vec<(CString, FileType)> = Vec::new();
    for item in sys::list_raw(dir).ctx("cannot list folder", path)? {
        names.push(item.ctx("cannot list folder", path)?);
    }
    if depth == 0 {
        names.sort_by_key(|(name, _)| name.as_bytes() == names::MANIFEST.as_bytes());
    }
    for (name, kind) in names {
        let child = path.join(OsStr::from_bytes(name.as_bytes()));
        let kind = match kind {
            FileType::Unknown => sys::stat(dir, name.as_c_str())
                .map(|st| sys::file_type(&st))
                .unwrap_or(FileType::Unknown),
            k => k,
        };
        if kind != FileType::Directory {
            match sys::unlink(dir, name.as_c_str()) {
                Err(e) if !gone(&e) => return Err(Error::io("cannot delete file", &child, e)),
                _ => {}
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
        match store_path::open_dir(dir, OsStr::from_bytes(name.as_bytes())) {
            Ok(sub) => remove_beneath(sub.as_fd(), &child, depth + 1)?,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(Error::io("cannot open folder", &child, e)),
        }
        match sys::rmdir(dir, name.as_c_str()) {
            Err(e) if !gone(&e) && !not_empty(&e) => {
                return Err(Error::io("cannot delete folder", &child, e));
            }
            _ => {}
        }
    }
    Ok(())
}
