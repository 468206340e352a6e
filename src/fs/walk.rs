//! The one shard walker: the entry files of one shard folder, listed through its handle.
//!
//! Listing takes no lock. An entry written during the walk may or may not be seen; an
//! entry removed during the walk is skipped. Foreign files, folders, links, temp files and
//! entry names in the wrong shard are skipped (the library never looks an entry up there).

use std::io;

use super::folder::{Folder, ShardFd};
use super::sys::{self, FileType, Listing};
use crate::error::{IoResultExt, Result};
use crate::format::names;

/// The entry files of one shard, from [`shard_entries`].
#[derive(Debug)]
pub(crate) struct ShardEntries {
    shard: u8,
    dir: ShardFd,
    listing: Listing,
    path: std::path::PathBuf,
}

/// The entries of shard `shard`; `Ok(None)` when the folder is missing.
///
/// # Errors
///
/// `Corrupt` naming the shard when it is a link or not a folder; `Io`.
pub(crate) fn shard_entries(folder: &Folder, shard: u8) -> Result<Option<ShardEntries>> {
    let dir = match folder.shard(shard) {
        Ok(dir) => dir,
        Err(e) if e.io_error_kind() == Some(io::ErrorKind::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let path = folder.shard_path(shard);
    let listing = sys::list(dir.fd()).ctx("cannot list shard folder", &path)?;
    Ok(Some(ShardEntries {
        shard,
        dir,
        listing,
        path,
    }))
}

impl ShardEntries {
    /// The next entry file's name (an entry name of this shard, a regular file).
    fn next_name(&mut self) -> Option<Result<String>> {
        loop {
            let (name, kind) = match self.listing.next()? {
                Ok(item) => item,
                Err(e) => {
                    return Some(Err(crate::Error::io(
                        "cannot list shard folder",
                        &self.path,
                        e,
                    )));
                }
            };
            if !names::is_entry_name_in(name.as_bytes(), self.shard) {
                continue;
            }
            let is_file = match kind {
                FileType::RegularFile => true,
                FileType::Unknown => match sys::stat(self.dir.fd(), &name) {
                    Ok(st) => sys::file_type(&st) == FileType::RegularFile,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                    Err(e) => {
                        return Some(Err(crate::Error::io(
                            "cannot list shard folder",
                            &self.path,
                            e,
                        )));
                    }
                },
                _ => false,
            };
            if is_file {
                return Some(Ok(name));
            }
        }
    }

    /// Counts the entries left, without decoding their names.
    ///
    /// # Errors
    ///
    /// The folder cannot be listed.
    pub(crate) fn count_all(mut self) -> Result<usize> {
        let mut n = 0;
        while let Some(item) = self.next_name() {
            item?;
            n += 1;
        }
        Ok(n)
    }
}

impl Iterator for ShardEntries {
    type Item = Result<[u8; 32]>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_name()? {
                // Always `Some` for a name `next_name` accepted.
                Ok(name) => {
                    if let Some(hash) = names::parse_entry_name(&name) {
                        return Some(Ok(hash));
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
