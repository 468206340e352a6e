//! Reading an entry file with as few system calls as possible: open, one read, close.
//!
//! The header says how long the file is, so a file that fits the first read needs no
//! `stat` and no second read to find its end (`std::fs::read` does both). Larger files
//! take one `fstat` to check the header's length against the file's before reading on.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::entry::{self, Damage};
use crate::sys;

/// Size of the first read (and of the per-thread buffer kept between reads).
const FIRST_READ: usize = 16 * 1024;
/// A per-thread buffer larger than this is released after use.
const KEEP_AT_MOST: usize = 1024 * 1024;

thread_local! {
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// How much of the file the caller needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Need {
    /// The whole file, for a checksum and the value.
    Whole,
    /// Header and key only (the whole file when it fits the first read anyway).
    Key,
}

/// Reads the entry file at `path` and hands its bytes to `f`: `Ok(None)` when there is no
/// file, `f(Err(damage))` when its length disagrees with its header.
///
/// # Errors
///
/// Opening or reading failed (a link, folder, FIFO or socket in place of the file gives
/// an error from `open` or `read`, never a hang).
pub(crate) fn with_entry<R>(
    path: &Path,
    need: Need,
    f: impl FnOnce(Result<&[u8], Damage>) -> R,
) -> io::Result<Option<R>> {
    with_entry_file(path, need, false, |_, bytes| f(bytes))
}

/// As [`with_entry`], also handing `f` the open file (opened read-only; with `noatime`,
/// without updating its access time where the platform allows).
pub(crate) fn with_entry_file<R>(
    path: &Path,
    need: Need,
    noatime: bool,
    f: impl FnOnce(&File, Result<&[u8], Damage>) -> R,
) -> io::Result<Option<R>> {
    let opened = if noatime {
        sys::open_entry_noatime(path)
    } else {
        sys::open_entry(path)
    };
    let file = match opened {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            let out = read_into(&file, &mut buf, need).map(|r| f(&file, r.map(|n| &buf[..n])));
            if buf.len() > KEEP_AT_MOST {
                *buf = Vec::new();
            }
            out.map(Some)
        }
        // Re-entered from inside `f` (a codec reading the store): use a fresh buffer.
        Err(_) => {
            let mut buf = Vec::new();
            read_into(&file, &mut buf, need).map(|r| Some(f(&file, r.map(|n| &buf[..n]))))
        }
    })
}

/// Reads into `buf`, returning how many bytes are valid.
fn read_into(mut file: &File, buf: &mut Vec<u8>, need: Need) -> io::Result<Result<usize, Damage>> {
    if buf.len() < FIRST_READ {
        buf.resize(FIRST_READ, 0);
    }
    let mut n = read_once(&mut file, buf)?;
    // A short first read means the file ended there (regular files).
    let ended = n < buf.len();
    if n == 0 {
        return Ok(Ok(0));
    }
    if n < entry::HEADER_LEN {
        n = fill(&mut file, buf, n, entry::HEADER_LEN)?;
    }
    let header = match entry::parse_header(&buf[..n]) {
        Ok(h) => h,
        // Let the caller's decode report what is wrong with these bytes.
        Err(_) => return Ok(Ok(n)),
    };
    let total = header.total_len();
    let wanted = match need {
        Need::Whole => total,
        Need::Key => (header.header_len as u64 + header.key_len as u64).min(total),
    };
    // Enough bytes, unless the file ended before its header says it should: a truncated
    // file is damage even when the caller only needs the key.
    if (n as u64) >= wanted && !(ended && (n as u64) < total) {
        return Ok(Ok(n));
    }
    // More to read, or an early end: check the real length first, so a damaged header
    // cannot make us allocate gigabytes or wait for bytes that are not there.
    let actual = file.metadata()?.len();
    if actual != total {
        return Ok(Err(Damage::Length {
            expected: total,
            actual,
        }));
    }
    if (n as u64) >= wanted {
        return Ok(Ok(n));
    }
    let Ok(wanted) = usize::try_from(wanted) else {
        return Ok(Err(Damage::Length {
            expected: total,
            actual,
        }));
    };
    if buf.len() < wanted {
        buf.resize(wanted, 0);
    }
    let got = fill(&mut file, buf, n, wanted)?;
    if got < wanted {
        return Ok(Err(Damage::Length {
            expected: total,
            actual: got as u64,
        }));
    }
    Ok(Ok(got))
}

fn read_once(file: &mut &File, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Reads until `upto` bytes are in `buf` or the file ends; returns the count.
fn fill(file: &mut &File, buf: &mut [u8], mut n: usize, upto: usize) -> io::Result<usize> {
    while n < upto {
        match read_once(file, &mut buf[n..upto])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Meta;

    fn entry_bytes(key: &[u8], value_len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        entry::begin(&mut out, key);
        out.extend((0..value_len).map(|i| i as u8));
        entry::finish(&mut out, key.len(), &Meta::default());
        out
    }

    fn read_back(path: &Path, need: Need) -> Option<Result<Vec<u8>, Damage>> {
        with_entry(path, need, |r| r.map(<[u8]>::to_vec)).unwrap()
    }

    #[test]
    fn reads_small_and_large_entries_whole() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0, 10, FIRST_READ - 100, FIRST_READ, 3 * FIRST_READ + 7] {
            let bytes = entry_bytes(b"key", len);
            let p = dir.path().join(format!("e{len}"));
            std::fs::write(&p, &bytes).unwrap();
            assert_eq!(
                read_back(&p, Need::Whole),
                Some(Ok(bytes.clone())),
                "len {len}"
            );
            let prefix = read_back(&p, Need::Key).unwrap().unwrap();
            assert!(prefix.len() >= entry::HEADER_LEN + 3 && bytes.starts_with(&prefix));
        }
        assert_eq!(read_back(&dir.path().join("missing"), Need::Whole), None);
    }

    #[test]
    fn a_lying_header_is_damage_not_a_huge_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = entry_bytes(b"key", 10);
        bytes[16..24].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
        let p = dir.path().join("e");
        std::fs::write(&p, &bytes).unwrap();
        assert!(matches!(
            read_back(&p, Need::Whole),
            Some(Err(Damage::Length { .. }))
        ));
        let big = entry_bytes(b"key", 2 * FIRST_READ);
        std::fs::write(&p, &big[..FIRST_READ + 10]).unwrap();
        assert!(matches!(
            read_back(&p, Need::Whole),
            Some(Err(Damage::Length { .. }))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn links_fifos_and_folders_fail_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, entry_bytes(b"k", 1)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(with_entry(&link, Need::Whole, |_| ()).is_err());
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        assert!(with_entry(&sub, Need::Whole, |_| ()).is_err());
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status();
        if status.map(|s| s.success()).unwrap_or(false) {
            // Must not block: either an error or an empty read.
            let r = with_entry(&fifo, Need::Whole, |r| r.map(<[u8]>::len));
            assert!(matches!(r, Err(_) | Ok(Some(Ok(0)))), "{r:?}");
        }
    }
}
