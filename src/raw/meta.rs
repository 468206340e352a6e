//! The one metadata type of an entry, from its header (and its file).

use std::fs::File;
use std::time::SystemTime;

use crate::clock::from_ms;
use crate::format::entry::{self, Header};

/// The times, size and flags of one entry, from [`Store::metadata`](crate::Store::metadata)
/// and [`RawEntry::info`](crate::RawEntry::info).
///
/// The header's fields come twice: as [`SystemTime`]s (`created`, `modified`, `expires`)
/// for programs, and as the raw milliseconds since the Unix epoch (`created_ms`, …) that
/// tools print and compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryMeta {
    /// When the key was first written (see [`Options::preserve_created`](crate::Options::preserve_created)
    /// for what an overwrite does to it).
    pub created: SystemTime,
    /// When this value was written.
    pub modified: SystemTime,
    /// When the value expires; `None` for never.
    pub expires: Option<SystemTime>,
    /// The entry file's access time: the last `get` when the store
    /// [tracks access](crate::Options::track_access), otherwise whatever the file system
    /// recorded. `None` where it is not known (it was not asked for, or the storage keeps
    /// none).
    pub accessed: Option<SystemTime>,
    /// The entry file's length in bytes (header, key and stored value), as its header
    /// states it.
    pub file_len: u64,
    /// Whether the value is stored compressed.
    pub compressed: bool,
    /// Whether the entry is encrypted.
    pub encrypted: bool,
    /// When the key was first written, milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// When this value was written, milliseconds since the Unix epoch.
    pub modified_ms: u64,
    /// When the value expires, milliseconds since the Unix epoch; `None` for never.
    pub expires_ms: Option<u64>,
    /// The header's flag bits (bit 0: compressed, bit 1: encrypted; see the entry format).
    pub flags: u8,
}

/// The metadata of an entry, under the name the byte-level API first gave it.
pub type EntryInfo = EntryMeta;

impl EntryMeta {
    /// The metadata a header gives; the access time from `file` when given.
    pub(crate) fn new(header: &Header, file: Option<&File>) -> Self {
        let m = header.meta;
        let expires_ms = (m.expires_ms != 0).then_some(m.expires_ms);
        EntryMeta {
            created: from_ms(m.created_ms),
            modified: from_ms(m.modified_ms),
            expires: expires_ms.map(from_ms),
            accessed: file.and_then(|f| f.metadata().and_then(|m| m.accessed()).ok()),
            file_len: header.total_len(),
            compressed: m.flags & entry::FLAG_COMPRESSED != 0,
            encrypted: m.flags & entry::FLAG_ENCRYPTED != 0,
            created_ms: m.created_ms,
            modified_ms: m.modified_ms,
            expires_ms,
            flags: m.flags,
        }
    }
}
