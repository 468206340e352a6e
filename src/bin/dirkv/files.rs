//! The few reads the tool makes of a store's files itself, where the library has no call
//! that fits (an entry's header without the store's key, the key left in a damaged file):
//! only the first bytes of a regular file, never following a link and never waiting on a
//! FIFO that someone put where an entry should be.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use dirkv::format::entry::{self, HEADER_LEN, MAX_KEY_LEN};
use dirkv::format::names;

/// Bytes of an entry file that hold its header and (plain) key.
pub(crate) const KEY_PREFIX_LEN: usize = HEADER_LEN + MAX_KEY_LEN;

/// An opened regular file: its first bytes and its metadata.
pub(crate) struct Prefix {
    pub(crate) bytes: Vec<u8>,
    pub(crate) meta: Metadata,
}

impl Prefix {
    /// The space the file takes on disk: allocated blocks × 512, as `du` counts (and as
    /// `evict_to` does).
    pub(crate) fn disk_bytes(&self) -> u64 {
        self.meta.blocks().saturating_mul(512)
    }
}

/// The space the file at `path` takes on disk (a link's own, not its target's); 0 when it
/// cannot be examined.
pub(crate) fn disk_bytes_at(path: &Path) -> u64 {
    std::fs::symlink_metadata(path).map_or(0, |m| m.blocks().saturating_mul(512))
}

/// The first `max` bytes of the file at `path` and its metadata; `None` when it is gone
/// or is not a regular file (a link is not followed, a FIFO is not waited on).
///
/// # Errors
///
/// The file cannot be opened or read.
pub(crate) fn read_prefix(path: &Path, max: usize) -> io::Result<Option<Prefix>> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) if e == rustix::io::Errno::NOENT || e == rustix::io::Errno::LOOP => {
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let file = File::from(fd);
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.take(max as u64).read_to_end(&mut bytes)?;
    Ok(Some(Prefix { bytes, meta }))
}

/// The key still held by the (damaged or misplaced) entry file at `path`: the key bytes
/// after its header, when they hash to the entry name `name`. `None` when they do not
/// (or the header is unreadable, or the entry is encrypted: its key is inside the
/// ciphertext).
pub(crate) fn key_held(path: &Path, name: &str) -> Option<Vec<u8>> {
    let want = names::parse_entry_name(name)?;
    let prefix = read_prefix(path, KEY_PREFIX_LEN).ok()??;
    let (header, key) = entry::key_of(&prefix.bytes).ok()??;
    let plain = header.meta.flags & entry::FLAG_ENCRYPTED == 0 && header.key_len > 0;
    (plain && names::hash(key) == want).then(|| key.to_vec())
}
