//! The platform calls, all relative to an open folder handle (`openat`-style, through
//! `rustix`): nothing here looks a path up by name from the root of the file system, so
//! nothing can be sent elsewhere by a link swapped in between a check and its use.
//!
//! Every name passed here is one path component (no `/`), looked up in the folder whose
//! handle is given; the one exception is [`open_read_beneath`], which resolves
//! `<shard>/<entry>` with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` (Linux 5.6+),
//! or component by component with `O_NOFOLLOW` where the kernel lacks it.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags};

pub(crate) use rustix::fs::{FileType, Stat};

/// Opens the store folder at `path` (a path the caller gave: links in it are followed, as
/// for any path a user names).
pub(crate) fn open_root(path: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Opens the folder `name` inside `dir`, refusing a link (`ELOOP`/`ENOTDIR`) or anything
/// but a folder.
pub(crate) fn open_dir(dir: BorrowedFd<'_>, name: &str) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

fn read_flags(noatime: bool) -> OFlags {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if noatime {
        return flags | OFlags::NOATIME;
    }
    let _ = noatime;
    flags
}

/// Retries an open without `O_NOATIME` when it was refused for it (only the file's owner
/// may use it).
fn open_noatime_or_not(
    noatime: bool,
    open: impl Fn(OFlags) -> rustix::io::Result<OwnedFd>,
) -> io::Result<File> {
    match open(read_flags(noatime)) {
        Err(rustix::io::Errno::PERM) if noatime => Ok(File::from(open(read_flags(false))?)),
        other => Ok(File::from(other?)),
    }
}

/// Opens the file `name` inside `dir` for reading: never through a link (`O_NOFOLLOW`),
/// never blocking on a FIFO (`O_NONBLOCK`); with `noatime`, without updating its access
/// time where the platform allows.
pub(crate) fn open_read(dir: BorrowedFd<'_>, name: &str, noatime: bool) -> io::Result<File> {
    open_noatime_or_not(noatime, |flags| {
        rustix::fs::openat(dir, name, flags, Mode::empty())
    })
}

/// Opens `<folder>/<name>` beneath `root` for reading, following no link on the way
/// (`openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` on Linux; component by component
/// with `O_NOFOLLOW` elsewhere or on older kernels). Three syscalls at most, one on Linux.
pub(crate) fn open_read_beneath(
    root: BorrowedFd<'_>,
    folder: &str,
    name: &str,
    noatime: bool,
) -> io::Result<File> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::ResolveFlags;
        use rustix::io::Errno;
        use std::sync::atomic::{AtomicBool, Ordering};
        /// Set once `openat2` was refused as unknown (old kernel) or forbidden (seccomp).
        static NO_OPENAT2: AtomicBool = AtomicBool::new(false);
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            let mut path = [0u8; 128];
            let rel = join(&mut path, folder, name);
            let resolve =
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
            let opened = open_noatime_or_not(noatime, |flags| {
                rustix::fs::openat2(root, rel, flags, Mode::empty(), resolve)
            });
            let refused = |e: &io::Error| {
                [Errno::NOSYS, Errno::PERM]
                    .iter()
                    .any(|n| e.raw_os_error() == Some(n.raw_os_error()))
            };
            match opened {
                Err(e) if refused(&e) => NO_OPENAT2.store(true, Ordering::Relaxed),
                other => return other,
            }
        }
    }
    let dir = open_dir(root, folder)?;
    open_read(dir.as_fd(), name, noatime)
}

/// `folder/name` in `buf` (both are short ASCII names made by this crate).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn join<'b>(buf: &'b mut [u8; 128], folder: &str, name: &str) -> &'b str {
    let (f, n) = (folder.as_bytes(), name.as_bytes());
    if f.len() + 1 + n.len() > buf.len() {
        return "";
    }
    buf[..f.len()].copy_from_slice(f);
    buf[f.len()] = b'/';
    buf[f.len() + 1..f.len() + 1 + n.len()].copy_from_slice(n);
    std::str::from_utf8(&buf[..f.len() + 1 + n.len()]).unwrap_or("")
}

/// Creates the new file `name` in `dir` (`O_CREAT | O_EXCL`: never an existing file or a
/// link), open for reading and writing, with `mode` (less the umask).
pub(crate) fn create_new(dir: BorrowedFd<'_>, name: &str, mode: u32) -> io::Result<File> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_bits_truncate(mode),
    )?;
    Ok(File::from(fd))
}

/// Opens the regular file `name` in `dir` read-only, creating it (with `mode`) when
/// `create` and it is missing; never through a link, never blocking (a FIFO opens at once
/// and is then refused), and only a regular file is accepted.
pub(crate) fn open_regular(
    dir: BorrowedFd<'_>,
    name: &str,
    create: bool,
    mode: u32,
) -> io::Result<File> {
    let mut flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    if create {
        flags |= OFlags::CREATE;
    }
    let fd = rustix::fs::openat(dir, name, flags, Mode::from_bits_truncate(mode))?;
    if FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode) != FileType::RegularFile {
        return Err(not_a_regular_file());
    }
    Ok(File::from(fd))
}

/// The error for "something other than a regular file is where one must be".
pub(crate) fn not_a_regular_file() -> io::Error {
    io::Error::from_raw_os_error(rustix::io::Errno::NXIO.raw_os_error())
}

/// Renames `from` in `from_dir` to `to` in `to_dir`, replacing what is there.
pub(crate) fn rename(
    from_dir: BorrowedFd<'_>,
    from: &str,
    to_dir: BorrowedFd<'_>,
    to: &str,
) -> io::Result<()> {
    Ok(rustix::fs::renameat(from_dir, from, to_dir, to)?)
}

/// Renames `from` to `to` in `dir` unless `to` exists (`AlreadyExists` then). Where the
/// platform cannot rename without replacing, it links and unlinks instead.
pub(crate) fn rename_noreplace<F, T>(dir: BorrowedFd<'_>, from: F, to: T) -> io::Result<()>
where
    F: rustix::path::Arg + Copy,
    T: rustix::path::Arg + Copy,
{
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::RenameFlags;
        match rustix::fs::renameat_with(dir, from, dir, to, RenameFlags::NOREPLACE) {
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {}
            other => return Ok(other?),
        }
    }
    rustix::fs::linkat(dir, from, dir, to, AtFlags::empty())?;
    Ok(rustix::fs::unlinkat(dir, from, AtFlags::empty())?)
}

/// Removes the file (or link) `name` from `dir` (any name: `&str`, `&OsStr`, `&CStr`).
pub(crate) fn unlink(dir: BorrowedFd<'_>, name: impl rustix::path::Arg) -> io::Result<()> {
    Ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())?)
}

/// Removes the empty folder `name` from `dir`.
pub(crate) fn rmdir(dir: BorrowedFd<'_>, name: impl rustix::path::Arg) -> io::Result<()> {
    Ok(rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?)
}

/// Makes the folder `name` in `dir` with `mode` (less the umask).
pub(crate) fn mkdir(dir: BorrowedFd<'_>, name: &str, mode: u32) -> io::Result<()> {
    Ok(rustix::fs::mkdirat(
        dir,
        name,
        Mode::from_bits_truncate(mode),
    )?)
}

/// The metadata of `name` in `dir`, links not followed.
pub(crate) fn stat(dir: BorrowedFd<'_>, name: impl rustix::path::Arg) -> io::Result<Stat> {
    Ok(rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?)
}

/// The metadata of an open file or folder.
pub(crate) fn fstat(fd: impl AsFd) -> io::Result<Stat> {
    Ok(rustix::fs::fstat(fd)?)
}

/// The type of the file a [`Stat`] describes.
pub(crate) fn file_type(st: &Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

/// Makes the names in the open folder `dir` durable (fsync of the folder).
pub(crate) fn sync_dir(dir: BorrowedFd<'_>) -> io::Result<()> {
    Ok(rustix::fs::fsync(dir)?)
}

/// The names in the open folder `dir` with their types (`FileType::Unknown` where the
/// file system does not say; ask [`stat`] then), `.` and `..` left out.
pub(crate) fn list(dir: BorrowedFd<'_>) -> io::Result<Listing> {
    // A handle of its own (`.` of the folder), so the listing's offset is not shared.
    let fd = rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    list_owned(fd)
}

/// As [`list`], taking over the folder's handle `dir` (one open less).
pub(crate) fn list_owned(dir: OwnedFd) -> io::Result<Listing> {
    Ok(Listing(rustix::fs::Dir::new(dir)?))
}

/// As [`list`], with each name as its bytes, a name that is not UTF-8 included (for
/// deleting whatever a folder holds).
pub(crate) fn list_raw(
    dir: BorrowedFd<'_>,
) -> io::Result<impl Iterator<Item = io::Result<(CString, FileType)>>> {
    let Listing(listing) = list(dir)?;
    Ok(listing.filter_map(|item| match item {
        Ok(item) if [c".", c".."].contains(&item.file_name()) => None,
        Ok(item) => Some(Ok((item.file_name().to_owned(), item.file_type()))),
        Err(e) => Some(Err(e.into())),
    }))
}

/// A folder being listed, from [`list`].
pub(crate) struct Listing(rustix::fs::Dir);

impl std::fmt::Debug for Listing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listing")
    }
}

impl Listing {
    /// The listed folder's handle, for calls relative to it (not for reading it).
    pub(crate) fn fd(&self) -> io::Result<BorrowedFd<'_>> {
        Ok(self.0.fd()?)
    }
}

impl Iterator for Listing {
    /// A name (lossy UTF-8: a name that is not UTF-8 is never one of the store's) and its
    /// type.
    type Item = io::Result<(String, FileType)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let item = match self.0.next()? {
                Ok(item) => item,
                Err(e) => return Some(Err(e.into())),
            };
            let name = item.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            return Some(Ok((
                String::from_utf8_lossy(name).into_owned(),
                item.file_type(),
            )));
        }
    }
}

/// The identity of a file for the value cache: device, inode, size, modification and
/// change times (nanoseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl FileId {
    /// The identity of the file `st` describes.
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    pub(crate) fn of(st: &Stat) -> FileId {
        FileId {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            size: st.st_size as u64,
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as i64),
        }
    }
}

/// The space a file takes on disk: allocated blocks × 512 (what `du` counts).
#[allow(clippy::unnecessary_cast)]
pub(crate) fn disk_usage(st: &Stat) -> u64 {
    (st.st_blocks as u64).saturating_mul(512)
}

/// A file's modification time.
#[allow(clippy::unnecessary_cast)]
pub(crate) fn modified(st: &Stat) -> std::time::SystemTime {
    time_of(st.st_mtime as i64, st.st_mtime_nsec as i64)
}

/// A file's access time.
#[allow(clippy::unnecessary_cast)]
pub(crate) fn accessed(st: &Stat) -> std::time::SystemTime {
    time_of(st.st_atime as i64, st.st_atime_nsec as i64)
}

fn time_of(secs: i64, nanos: i64) -> std::time::SystemTime {
    let base = std::time::UNIX_EPOCH;
    let nanos = u32::try_from(nanos).unwrap_or(0);
    match u64::try_from(secs) {
        Ok(s) => base + std::time::Duration::new(s, nanos),
        Err(_) => base,
    }
}

/// Whether an I/O error means "a link, folder, FIFO or socket is where a plain file
/// should be" rather than a failing device.
pub(crate) fn is_not_a_file_error(err: &io::Error) -> bool {
    use rustix::io::Errno;
    let Some(code) = err.raw_os_error() else {
        return false;
    };
    [
        Errno::LOOP,
        Errno::ISDIR,
        Errno::NXIO,
        Errno::AGAIN,
        Errno::NOTDIR,
    ]
    .iter()
    .any(|e| e.raw_os_error() == code)
}

/// The limit on open descriptors of this process (the soft limit).
pub(crate) fn open_file_limit() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(1024)
}
