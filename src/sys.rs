//! The few places where platforms differ: opening an entry for reading without following
//! links or blocking, and making a folder's entries durable.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Opens an entry file for reading. On Unix it does not follow a symbolic link
/// (`O_NOFOLLOW`) and does not block on a FIFO (`O_NONBLOCK`), so a hostile file in place
/// of an entry gives an error at once.
pub(crate) fn open_entry(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    o.open(path)
}

/// As [`open_entry`], and on Linux also without updating the file's access time
/// (`O_NOATIME`), for stores that record access times themselves. `O_NOATIME` is only
/// allowed to the file's owner: for anyone else the file is opened as `open_entry` does.
pub(crate) fn open_entry_noatime(path: &Path) -> io::Result<File> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut o = OpenOptions::new();
        o.read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOATIME);
        match o.open(path) {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => open_entry(path),
            other => other,
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        open_entry(path)
    }
}

/// Makes the entries of folder `dir` (names created, renamed, removed) durable. On
/// platforms without directory fsync (Windows) this is a no-op: renames there are made
/// durable by the file system's own metadata journal.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Whether an I/O error means "a link, folder, FIFO or socket is where a plain file
/// should be" rather than a failing device.
pub(crate) fn is_not_a_file_error(err: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(
            err.raw_os_error(),
            Some(libc::ELOOP | libc::EISDIR | libc::ENXIO | libc::EAGAIN | libc::ENOTDIR)
        )
    }
    #[cfg(not(unix))]
    {
        let _ = err;
        false
    }
}

/// Default mode bits of new entry files (before the umask); ignored off Unix.
pub(crate) const DEFAULT_FILE_MODE: u32 = 0o666;

/// Sets the mode of files created by a temp-file builder.
pub(crate) fn set_mode(builder: &mut tempfile::Builder<'_, '_>, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    {
        let _ = (builder, mode);
    }
}

/// Identity of a file: device and inode on Unix.
#[cfg(unix)]
pub(crate) fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Identity of a file: not available, so never the same.
#[cfg(not(unix))]
pub(crate) fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

/// The space a file takes on disk: allocated blocks × 512 on Unix (what `du` counts), the
/// file's length elsewhere.
pub(crate) fn disk_usage(meta: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.blocks().saturating_mul(512)
    }
    #[cfg(not(unix))]
    {
        meta.len()
    }
}
