//! The only code that touches the local file system. Everything goes through the store
//! folder's open handle ([`folder::Folder`]): entries, temp files, the lock, markers and
//! listings are reached with `openat`-style calls relative to it, never by a path looked up
//! again between a check and its use.
//!
//! - [`sys`]: the platform calls (`rustix`), relative to a folder handle.
//! - [`folder`]: the open store folder and its shard handles.
//! - [`read`]: reading an entry file in one read, bounded by its size.
//! - [`write`]: the one write recipe (temp file beside the entry, rename, fsync).
//! - [`lock`], [`writer`]: the store lock, a writer's id and marker.
//! - [`walk`]: the one shard walker.
//! - [`stamps`]: whether the file system gives every observed change a new ctime.
//! - [`sweep`]: removing crashed writers' temp files.
//! - [`store_path`]: opening the folder a store path names, following only trusted links.
//! - [`root`]: probing, creating and reading the manifest of a store folder.
//! - [`destroy`]: deleting a store folder through its handle.

#[cfg(not(unix))]
compile_error!(
    "dirkv works through folder handles (openat and friends) and needs a Unix system: Linux, macOS or a BSD"
);

pub(crate) mod destroy;
pub(crate) mod folder;
pub(crate) mod lock;
pub(crate) mod read;
pub(crate) mod root;
pub(crate) mod shard_lock;
pub(crate) mod stamps;
pub(crate) mod store_path;
pub(crate) mod sweep;
pub(crate) mod sys;
pub(crate) mod walk;
pub(crate) mod write;
pub(crate) mod writer;

/// The mode of a store's folders for a file mode: each read bit brings its search bit
/// (`0o644` files, `0o755` folders; `0o600` files, `0o700` folders).
pub(crate) fn dir_mode(file_mode: u32) -> u32 {
    (file_mode | ((file_mode & 0o444) >> 2)) & 0o7777
}

#[cfg(test)]
mod tests {
    #[test]
    fn folder_modes_follow_file_modes() {
        assert_eq!(super::dir_mode(0o644), 0o755);
        assert_eq!(super::dir_mode(0o666), 0o777);
        assert_eq!(super::dir_mode(0o600), 0o700);
        assert_eq!(super::dir_mode(0o660), 0o770);
    }
}
