//! Reading an open entry file with as few system calls as possible: one read, usually.
//!
//! The header says how long the file is, so a file that fits the first read needs no
//! `stat` and no second read to find its end (`std::fs::read` does both). Larger files
//! take one `fstat` to check the header's length against the file's before reading on,
//! and nothing is allocated beyond what the file holds or past [`entry::MAX_FILE_LEN`]; an
//! allocation that fails is an error, never an abort.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};

use crate::format::entry::{self, Damage};

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

/// Reads the open entry `file` and hands its bytes to `f`, or `f(Err(damage))` when its
/// length disagrees with its header or is beyond any entry's.
///
/// # Errors
///
/// Reading failed (a folder in place of the file gives `EISDIR` here), or memory for a
/// large entry could not be had.
pub(crate) fn read_entry<R>(
    file: &File,
    need: Need,
    f: impl FnOnce(Result<&[u8], Damage>) -> R,
) -> io::Result<R> {
    BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            let out = read_into(file, &mut buf, need).map(|r| f(r.map(|n| &buf[..n])));
            if buf.len() > KEEP_AT_MOST {
                *buf = Vec::new();
            }
            out
        }
        // Re-entered from inside `f` (a codec reading the store): use a fresh buffer.
        Err(_) => {
            let mut buf = Vec::new();
            read_into(file, &mut buf, need).map(|r| f(r.map(|n| &buf[..n])))
        }
    })
}

/// Grows `buf` to `len` bytes, reporting a failed allocation as an error.
fn grow(buf: &mut Vec<u8>, len: usize) -> io::Result<()> {
    if buf.len() < len {
        buf.try_reserve_exact(len - buf.len())
            .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e))?;
        buf.resize(len, 0);
    }
    Ok(())
}

/// Reads into `buf`, returning how many bytes are valid.
fn read_into(mut file: &File, buf: &mut Vec<u8>, need: Need) -> io::Result<Result<usize, Damage>> {
    grow(buf, FIRST_READ)?;
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
    if total > entry::MAX_FILE_LEN {
        return Ok(Err(Damage::TooLarge(total)));
    }
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
        return Ok(Err(Damage::TooLarge(total)));
    };
    grow(buf, wanted)?;
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
    use crate::format::entry::Meta;
    use std::path::Path;

    fn entry_bytes(key: &[u8], value_len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        entry::begin(&mut out, key);
        out.extend((0..value_len).map(|i| i as u8));
        entry::finish(&mut out, key.len(), &Meta::default());
        out
    }

    fn read_back(path: &Path, need: Need) -> Result<Vec<u8>, Damage> {
        let file = File::open(path).unwrap();
        read_entry(&file, need, |r| r.map(<[u8]>::to_vec)).unwrap()
    }

    #[test]
    fn reads_small_and_large_entries_whole() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0, 10, FIRST_READ - 100, FIRST_READ, 3 * FIRST_READ + 7] {
            let bytes = entry_bytes(b"key", len);
            let p = dir.path().join(format!("e{len}"));
            std::fs::write(&p, &bytes).unwrap();
            assert_eq!(read_back(&p, Need::Whole), Ok(bytes.clone()), "len {len}");
            let prefix = read_back(&p, Need::Key).unwrap();
            assert!(prefix.len() >= entry::HEADER_LEN + 3 && bytes.starts_with(&prefix));
        }
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
            Err(Damage::TooLarge(_))
        ));
        bytes[16..24].copy_from_slice(&(1u64 << 29).to_le_bytes());
        std::fs::write(&p, &bytes).unwrap();
        assert!(matches!(
            read_back(&p, Need::Whole),
            Err(Damage::Length { .. })
        ));
        let big = entry_bytes(b"key", 2 * FIRST_READ);
        std::fs::write(&p, &big[..FIRST_READ + 10]).unwrap();
        assert!(matches!(
            read_back(&p, Need::Whole),
            Err(Damage::Length { .. })
        ));
    }

    #[test]
    fn a_sparse_file_beyond_any_entry_is_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sparse");
        let mut bytes = entry_bytes(b"key", 0);
        let claimed = 20u64 << 30;
        bytes[16..24].copy_from_slice(&claimed.to_le_bytes());
        std::fs::write(&p, &bytes).unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.set_len(entry::HEADER_LEN as u64 + 3 + claimed).unwrap();
        assert!(matches!(
            read_back(&p, Need::Whole),
            Err(Damage::TooLarge(_))
        ));
    }
}
