//! The entry file format (format 1): a fixed header, the key bytes, the value bytes.
//!
//! ```text
//! offset size  field
//!      0    4  magic "DKVE"
//!      4    1  entry format version (1)
//!      5    1  flags (bit 0: value compressed, bit 1: encrypted; others must be 0)
//!      6    2  header length in bytes, u16 little-endian (48 in version 1)
//!      8    4  CRC-32 (IEEE, as zlib's crc32) of bytes 0..8 and 12..end of file
//!     12    4  key length, u32 LE
//!     16    8  value length, u64 LE
//!     24    8  created,  milliseconds since the Unix epoch, u64 LE
//!     32    8  modified, milliseconds since the Unix epoch, u64 LE
//!     40    8  expires,  milliseconds since the Unix epoch, u64 LE (0 = never)
//!     48       key bytes, then value bytes (codec output), then end of file
//! ```
//!
//! A compressed value (flag bit 0) is the uncompressed length (u32 LE) and one LZ4 block.
//! An encrypted entry (flag bit 1) has key length 0 and, as its value, a 24-byte nonce,
//! the XChaCha20-Poly1305 ciphertext of (key length u32 LE, key, value) and a 16-byte tag;
//! the header with its checksum zeroed is the associated data (see the encryption guide).
//!
//! Pure functions, no I/O: the store reads the bytes and calls [`decode`].
//!
//! Limits: a key is at most [`MAX_KEY_LEN`] bytes and a value (as the codec wrote it) at
//! most [`MAX_VALUE_LEN`]; a write past either is refused, and a file longer than any entry
//! could be ([`MAX_FILE_LEN`]) is reported as damage before anything is allocated for it.

use std::fmt;

/// The first four bytes of every entry file.
pub const MAGIC: [u8; 4] = *b"DKVE";
/// The entry format version this build writes.
pub const VERSION: u8 = 1;
/// The header length this build writes (and the least it accepts).
pub const HEADER_LEN: usize = 48;
/// Flag bit: the value bytes are compressed.
pub const FLAG_COMPRESSED: u8 = 0x01;
/// Flag bit: key and value are encrypted.
pub const FLAG_ENCRYPTED: u8 = 0x02;
/// The flag bits this build understands.
const KNOWN_FLAGS: u8 = FLAG_COMPRESSED | FLAG_ENCRYPTED;

/// Times and flags written into a header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// Flag bits (see `FLAG_*`).
    pub flags: u8,
    /// When the key was first written, ms since the epoch.
    pub created_ms: u64,
    /// When this value was written, ms since the epoch.
    pub modified_ms: u64,
    /// When the value expires, ms since the epoch; 0 = never.
    pub expires_ms: u64,
}

/// A parsed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Flags and times.
    pub meta: Meta,
    /// Header length (offset of the key bytes).
    pub header_len: usize,
    /// Key length.
    pub key_len: usize,
    /// Value length.
    pub value_len: u64,
    /// Stored checksum.
    pub checksum: u32,
}

impl Header {
    /// The length of the whole file this header describes.
    pub fn total_len(&self) -> u64 {
        (self.header_len as u64 + self.key_len as u64).saturating_add(self.value_len)
    }

    /// Whether the entry has expired at `now_ms`.
    pub fn expired_at(&self, now_ms: u64) -> bool {
        self.meta.expires_ms != 0 && now_ms >= self.meta.expires_ms
    }
}

/// A decoded entry borrowing from the file's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The header.
    pub header: Header,
    /// The key bytes.
    pub key: &'a [u8],
    /// The value bytes, as the codec (and compression/encryption) left them.
    pub value: &'a [u8],
}

/// Why bytes are not a valid entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Damage {
    /// Zero-length file.
    Empty,
    /// Shorter than a header.
    ShortHeader(usize),
    /// Wrong magic: not a dirkv entry.
    BadMagic,
    /// Written by a newer entry format.
    Version(u8),
    /// A header length below the minimum.
    HeaderLen(usize),
    /// Flag bits this build does not know.
    UnknownFlags(u8),
    /// The file's length disagrees with the header.
    Length {
        /// Length the header describes.
        expected: u64,
        /// Length found.
        actual: u64,
    },
    /// The header claims a file longer than any entry ([`MAX_FILE_LEN`]).
    TooLarge(u64),
    /// Checksum mismatch.
    Checksum {
        /// Stored in the header.
        stored: u32,
        /// Computed over the file.
        computed: u32,
    },
}

impl Damage {
    /// Whether this is a newer format rather than damage.
    pub fn is_newer_format(&self) -> bool {
        matches!(self, Damage::Version(_) | Damage::UnknownFlags(_))
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::Empty => write!(f, "entry file is empty"),
            Damage::ShortHeader(n) => write!(
                f,
                "entry file is truncated ({n} bytes, shorter than its header)"
            ),
            Damage::BadMagic => write!(f, "not a dirkv entry file (bad magic)"),
            Damage::Version(v) => write!(
                f,
                "entry format version {v} is newer than this dirkv supports ({VERSION})"
            ),
            Damage::HeaderLen(n) => write!(f, "entry header length {n} is invalid"),
            Damage::UnknownFlags(x) => write!(f, "entry has unknown flags {x:#04x}"),
            Damage::Length { expected, actual } if actual < expected => {
                write!(f, "entry file is truncated ({actual} of {expected} bytes)")
            }
            Damage::Length { expected, actual } => {
                write!(f, "entry file has {} trailing bytes", actual - expected)
            }
            Damage::TooLarge(n) => write!(
                f,
                "entry header claims {n} bytes, more than any entry can hold ({MAX_FILE_LEN})"
            ),
            Damage::Checksum { stored, computed } => {
                write!(
                    f,
                    "entry checksum mismatch (stored {stored:08x}, computed {computed:08x})"
                )
            }
        }
    }
}

/// Starts an entry in `out` (cleared first): header space, then `key`. Append the value
/// bytes, then call [`finish`].
pub fn begin(out: &mut Vec<u8>, key: &[u8]) {
    out.clear();
    out.resize(HEADER_LEN, 0);
    out.extend_from_slice(key);
}

/// Fills in the header of an entry built with [`begin`] + value bytes.
///
/// # Panics
///
/// If `out` is shorter than `HEADER_LEN + key_len` (a caller bug, never input-dependent)
/// or the key is longer than `u32::MAX` bytes (the store checks [`MAX_KEY_LEN`] first).
pub fn finish(out: &mut [u8], key_len: usize, meta: &Meta) {
    write_header(out, key_len, meta);
    write_checksum(out);
}

/// Writes every header field but the checksum into `out` (a whole entry file: header, key
/// bytes, value bytes); the value length is what follows the key.
///
/// # Panics
///
/// As [`finish`].
pub fn write_header(out: &mut [u8], key_len: usize, meta: &Meta) {
    let value_len = (out.len() - HEADER_LEN - key_len) as u64;
    let key_len = u32::try_from(key_len).expect("key length checked by the caller");
    out[0..4].copy_from_slice(&MAGIC);
    out[4] = VERSION;
    out[5] = meta.flags;
    out[6..8].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
    out[12..16].copy_from_slice(&key_len.to_le_bytes());
    out[16..24].copy_from_slice(&value_len.to_le_bytes());
    out[24..32].copy_from_slice(&meta.created_ms.to_le_bytes());
    out[32..40].copy_from_slice(&meta.modified_ms.to_le_bytes());
    out[40..48].copy_from_slice(&meta.expires_ms.to_le_bytes());
}

/// Computes the checksum of a whole entry file and writes it into its header.
///
/// # Panics
///
/// If `out` is shorter than a header (a caller bug).
pub fn write_checksum(out: &mut [u8]) {
    let sum = checksum(out);
    out[8..12].copy_from_slice(&sum.to_le_bytes());
}

/// The longest key a store accepts, in key bytes: 64 KiB. Keys are hashed to file names,
/// so their length costs nothing on disk but their bytes in each entry; a longer key is an
/// [`InvalidInput`](crate::ErrorKind::InvalidInput) error.
pub const MAX_KEY_LEN: usize = 64 * 1024;

/// The longest value a store accepts, in bytes as the codec wrote them: 1 GiB. A value is
/// read into memory whole, so this bounds what one read can allocate; a longer value is an
/// [`InvalidInput`](crate::ErrorKind::InvalidInput) error.
pub const MAX_VALUE_LEN: usize = 1 << 30;

/// Bytes that compression and encryption may add to a value (length prefix, LZ4's worst
/// case on incompressible data is not kept, nonce, tag, key length and key).
const MAX_OVERHEAD: usize = 4 + 24 + 16 + 4 + MAX_KEY_LEN;

/// The longest entry file any store writes. A file whose header claims more is damage,
/// found before anything is read or allocated for it.
pub const MAX_FILE_LEN: u64 = (HEADER_LEN + MAX_KEY_LEN + MAX_VALUE_LEN + MAX_OVERHEAD) as u64;

fn checksum(file: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&file[0..8]);
    h.update(&file[12..]);
    h.finalize()
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

/// Parses the header from the start of a file (`prefix` may be the whole file or its
/// first bytes).
///
/// # Errors
///
/// The prefix is too short, or the header is not one this build reads.
pub fn parse_header(prefix: &[u8]) -> Result<Header, Damage> {
    if prefix.is_empty() {
        return Err(Damage::Empty);
    }
    if prefix.len() < 8 {
        let n = prefix.len().min(4);
        return Err(if prefix[..n] == MAGIC[..n] {
            Damage::ShortHeader(prefix.len())
        } else {
            Damage::BadMagic
        });
    }
    if prefix[0..4] != MAGIC {
        return Err(Damage::BadMagic);
    }
    if prefix[4] != VERSION {
        return Err(if prefix[4] > VERSION {
            Damage::Version(prefix[4])
        } else {
            Damage::BadMagic
        });
    }
    let header_len = usize::from(u16::from_le_bytes([prefix[6], prefix[7]]));
    if header_len < HEADER_LEN {
        return Err(Damage::HeaderLen(header_len));
    }
    if prefix.len() < HEADER_LEN {
        return Err(Damage::ShortHeader(prefix.len()));
    }
    let flags = prefix[5];
    if flags & !KNOWN_FLAGS != 0 {
        return Err(Damage::UnknownFlags(flags));
    }
    Ok(Header {
        meta: Meta {
            flags,
            created_ms: u64_at(prefix, 24),
            modified_ms: u64_at(prefix, 32),
            expires_ms: u64_at(prefix, 40),
        },
        header_len,
        key_len: u32_at(prefix, 12) as usize,
        value_len: u64_at(prefix, 16),
        checksum: u32_at(prefix, 8),
    })
}

/// Decodes a whole entry file: header, exact length, checksum.
///
/// # Errors
///
/// Any [`Damage`].
pub fn decode(file: &[u8]) -> Result<Entry<'_>, Damage> {
    let header = parse_header(file)?;
    let actual = file.len() as u64;
    if header.total_len() != actual {
        return Err(Damage::Length {
            expected: header.total_len(),
            actual,
        });
    }
    let computed = checksum(file);
    if computed != header.checksum {
        return Err(Damage::Checksum {
            stored: header.checksum,
            computed,
        });
    }
    let key_end = header.header_len + header.key_len;
    Ok(Entry {
        header,
        key: &file[header.header_len..key_end],
        value: &file[key_end..],
    })
}

/// Reads the header and key from the first bytes of a file, without checking the value or
/// the checksum (which needs the whole file). Returns `None` when `prefix` is too short to
/// hold the key.
///
/// # Errors
///
/// The header is damaged.
pub fn key_of(prefix: &[u8]) -> Result<Option<(Header, &[u8])>, Damage> {
    let header = parse_header(prefix)?;
    let key_end = header.header_len as u64 + header.key_len as u64;
    if key_end > header.total_len() {
        return Err(Damage::HeaderLen(header.header_len));
    }
    if (prefix.len() as u64) < key_end {
        return Ok(None);
    }
    Ok(Some((header, &prefix[header.header_len..key_end as usize])))
}

#[cfg(test)]
#[path = "entry_tests.rs"]
mod tests;
