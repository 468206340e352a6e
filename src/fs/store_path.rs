//! Opening the folder a store path names, without letting someone else's link choose it.
//!
//! The caller names the store path; whoever can write into the folder that holds it can
//! put a symbolic link there (or swap one in at the moment of an open). A link at the
//! store path is followed only when its owner is trusted: the caller (effective user) or
//! root. (Not the owner of the folder holding it, as the kernel's `fs.protected_symlinks`
//! would: that owner may be the attacker who made a team folder.) Any other link is
//! reported as [`Opened::UntrustedLink`]. The name is opened with `O_NOFOLLOW` and a link
//! is read through its own handle, so what is checked is what is followed. Each folder of
//! a link's target is opened the same way, and the same rule applies to each link of a
//! chain, up to [`MAX_LINKS`] at each step.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use super::sys::{self, FileType};

/// The most links followed from a store path to its folder.
pub(crate) const MAX_LINKS: usize = 8;

/// What a store path leads to.
#[derive(Debug)]
pub(crate) enum Opened {
    /// Nothing at the path.
    Missing,
    /// A (trusted) link to nothing.
    DanglingLink,
    /// Something that is not a folder.
    NotAFolder,
    /// A link whose owner (this user id) is not trusted; not followed.
    UntrustedLink(u32),
    /// The folder, opened.
    Folder(OwnedFd),
}

/// Opens the folder at `path` (see the module docs for the rule on links).
///
/// # Errors
///
/// `ELOOP` past [`MAX_LINKS`]; other I/O errors as the system reports them.
pub(crate) fn open(path: &Path) -> io::Result<Opened> {
    open_in(None, path, 0)
}

fn open_in(base: Option<BorrowedFd<'_>>, path: &Path, links: usize) -> io::Result<Opened> {
    let (parent, name) = match split(path) {
        Some(split) => split,
        // `x/..` inside a link's target: `x` is checked as any folder of a target is.
        None if base.is_some() && path.ends_with("..") => {
            return match path.parent().filter(|p| !p.as_os_str().is_empty()) {
                Some(up) => match open_in(base, up, links)? {
                    Opened::Folder(fd) => opened(open_followed(Some(fd.as_fd()), Path::new(".."))),
                    other => Ok(other),
                },
                None => opened(open_followed(base, path)),
            };
        }
        // `/`, `..` and the like: no last component a co-writer could replace.
        None => return opened(open_followed(base, path)),
    };
    let parent_fd = match parent {
        // The folders of a link's target are in the folder holding the link, which a
        // co-writer may write into: each is checked as the link was.
        Some(parent) if base.is_some() => match open_in(base, parent, links)? {
            Opened::Folder(fd) => fd,
            Opened::Missing | Opened::DanglingLink => return Ok(Opened::Missing),
            other => return Ok(other),
        },
        Some(parent) => match open_followed(base, parent) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Opened::Missing),
            Err(e) => return Err(e),
        },
        None => match base {
            Some(base) => rustix::io::dup(base)?,
            None => sys::open_root(Path::new("."))?,
        },
    };
    let dir = parent_fd.as_fd();
    // A few tries: each sees a folder or a link, and a swap in between shows as a type
    // that changed; a co-writer swapping forever gets an error, never the wrong folder.
    for _ in 0..4 {
        let st = match rustix::fs::statat(dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(rustix::io::Errno::NOENT) => return Ok(Opened::Missing),
            Err(e) => return Err(e.into()),
        };
        match sys::file_type(&st) {
            FileType::Directory => match open_dir(dir, name) {
                Ok(fd) => return Ok(Opened::Folder(fd)),
                Err(e) if swapped(&e) => continue,
                Err(e) => return Err(e),
            },
            FileType::Symlink => {
                if links >= MAX_LINKS {
                    return Err(io::Error::from_raw_os_error(
                        rustix::io::Errno::LOOP.raw_os_error(),
                    ));
                }
                let target = match read_trusted_link(dir, name)? {
                    Link::Gone => continue,
                    Link::Untrusted(owner) => return Ok(Opened::UntrustedLink(owner)),
                    Link::Trusted(target) => target,
                };
                return match open_in(Some(dir), &target, links + 1) {
                    Ok(Opened::Missing) => Ok(Opened::DanglingLink),
                    other => other,
                };
            }
            _ => return Ok(Opened::NotAFolder),
        }
    }
    Err(io::Error::other(
        "the store path kept changing between a folder and a link while being opened",
    ))
}

/// Opens the folder `name` in `dir`, refusing a link (the name may be any bytes, unlike
/// the store's own names that [`sys::open_dir`] takes).
pub(crate) fn open_dir(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(rustix::fs::openat(dir, name, flags, Mode::empty())?)
}

/// Whether an `O_NOFOLLOW` open failed because the name turned into a link or a file.
fn swapped(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(rustix::io::Errno::from_raw_os_error),
        Some(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR | rustix::io::Errno::NOENT)
    )
}

/// A link found at a store path.
enum Link {
    /// No longer a link.
    Gone,
    /// Owned by this user, who is not trusted.
    Untrusted(u32),
    /// Its target.
    Trusted(PathBuf),
}

/// The link `name` in `dir`, and its target when its owner is trusted.
fn read_trusted_link(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Link> {
    let Some((owner, target)) = read_link(dir, name)? else {
        return Ok(Link::Gone);
    };
    let euid = rustix::process::geteuid().as_raw();
    Ok(if owner == euid || owner == 0 {
        Link::Trusted(target)
    } else {
        Link::Untrusted(owner)
    })
}

/// The owner and target of the link `name`, read through one handle on the link itself so
/// that the owner checked and the target read belong to the same link.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn read_link(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Option<(u32, PathBuf)>> {
    let fd = match rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let st = sys::fstat(&fd)?;
    if sys::file_type(&st) != FileType::Symlink {
        return Ok(None);
    }
    let target = rustix::fs::readlinkat(&fd, "", Vec::new())?;
    Ok(Some((
        st.st_uid,
        PathBuf::from(OsStr::from_bytes(target.as_bytes())),
    )))
}

/// The owner and target of the link `name`: read between two looks at the link, which
/// must be the same link, unchanged (a link's target cannot change in place).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn read_link(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Option<(u32, PathBuf)>> {
    let look = || rustix::fs::statat(dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW);
    let Ok(before) = look() else { return Ok(None) };
    if sys::file_type(&before) != FileType::Symlink {
        return Ok(None);
    }
    let target = rustix::fs::readlinkat(dir, name, Vec::new())?;
    match look() {
        Ok(after)
            if after.st_ino == before.st_ino
                && after.st_dev == before.st_dev
                && after.st_ctime == before.st_ctime
                && after.st_ctime_nsec == before.st_ctime_nsec =>
        {
            Ok(Some((
                before.st_uid,
                PathBuf::from(OsStr::from_bytes(target.as_bytes())),
            )))
        }
        _ => Ok(None),
    }
}

/// Splits `path` into its folder (none for a bare name) and a last component that names
/// an entry in it; `None` when the last component is `/`, `.` or `..`.
fn split(path: &Path) -> Option<(Option<&Path>, &OsStr)> {
    match path.components().next_back()? {
        Component::Normal(name) => {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            Some((parent, name))
        }
        _ => None,
    }
}

/// Opens the folder `path` (relative to `base` when given), following links as the system
/// does: used for the folders above the last component, which the caller chose.
fn open_followed(base: Option<BorrowedFd<'_>>, path: &Path) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    Ok(match base {
        Some(base) => rustix::fs::openat(base, path, flags, Mode::empty())?,
        None => rustix::fs::open(path, flags, Mode::empty())?,
    })
}

fn opened(result: io::Result<OwnedFd>) -> io::Result<Opened> {
    match result {
        Ok(fd) => Ok(Opened::Folder(fd)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Opened::Missing),
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOTDIR.raw_os_error()) => {
            Ok(Opened::NotAFolder)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{lchown, symlink};

    fn folder(o: Opened) -> bool {
        matches!(o, Opened::Folder(_))
    }

    #[test]
    fn folders_own_links_and_chains_are_opened() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        symlink("real", dir.path().join("rel")).unwrap();
        symlink(&real, dir.path().join("abs")).unwrap();
        symlink("rel", dir.path().join("chain")).unwrap();
        symlink("nowhere", dir.path().join("dangling")).unwrap();
        std::fs::write(dir.path().join("file"), b"").unwrap();
        for name in ["real", "rel", "abs", "chain"] {
            assert!(folder(open(&dir.path().join(name)).unwrap()), "{name}");
        }
        assert!(matches!(
            open(&dir.path().join("dangling")).unwrap(),
            Opened::DanglingLink
        ));
        assert!(matches!(
            open(&dir.path().join("file")).unwrap(),
            Opened::NotAFolder
        ));
        assert!(matches!(
            open(&dir.path().join("none")).unwrap(),
            Opened::Missing
        ));
        assert!(matches!(
            open(&dir.path().join("none/x")).unwrap(),
            Opened::Missing
        ));
        symlink("loop", dir.path().join("loop")).unwrap();
        assert!(open(&dir.path().join("loop")).is_err());
    }

    #[test]
    fn a_link_of_another_user_is_not_followed_unless_the_folder_is_theirs() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: needs root to give a link to another user");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let team = dir.path().join("team");
        std::fs::create_dir(&team).unwrap();
        std::fs::create_dir(dir.path().join("private")).unwrap();
        let link = team.join("S");
        symlink(dir.path().join("private"), &link).unwrap();
        lchown(&link, Some(65534), Some(65534)).unwrap();
        assert!(matches!(open(&link).unwrap(), Opened::UntrustedLink(65534)));
        // Through a trusted link to the untrusted one: still refused.
        symlink(&link, dir.path().join("mine")).unwrap();
        assert!(matches!(
            open(&dir.path().join("mine")).unwrap(),
            Opened::UntrustedLink(65534)
        ));
        // Nor when the folder is theirs (they may be the attacker who made it).
        std::os::unix::fs::chown(&team, Some(65534), None).unwrap();
        assert!(matches!(open(&link).unwrap(), Opened::UntrustedLink(65534)));
        // A trusted link whose target's folder is someone else's link: refused too.
        std::os::unix::fs::chown(&team, Some(0), None).unwrap();
        std::fs::remove_file(&link).unwrap();
        symlink(dir.path().join("private"), team.join("sub")).unwrap();
        lchown(team.join("sub"), Some(65534), Some(65534)).unwrap();
        for target in ["sub/.", "sub/.."] {
            let mine = team.join("mine");
            let _ = std::fs::remove_file(&mine);
            symlink(target, &mine).unwrap();
            assert!(!folder(open(&mine).unwrap()), "{target}");
        }
    }
}
