//! Per-entry value compression (feature `compression`): LZ4 block format through the
//! pure-Rust `lz4_flex`, with no `unsafe` code paths.
//!
//! A compressed value (entry flag bit 0) is stored as the uncompressed length (u32
//! little-endian) followed by one LZ4 block: the layout of `lz4_flex`'s
//! `compress_prepend_size` and of Python's `lz4.block.compress(data)` (whose default
//! `store_size=True` prepends the same length), so `lz4.block.decompress(value_bytes)` reads
//! it. A value is stored compressed only when it is at least the configured threshold long
//! and compressing makes it smaller.
//!
//! A build without the feature still recognises the flag and refuses such an entry with an
//! [`IncompatibleFormat`](crate::ErrorKind::IncompatibleFormat) error naming its file, never
//! handing out compressed bytes as a value.

use std::path::Path;

use crate::error::{Error, Result};
use crate::format::entry::MAX_VALUE_LEN;

/// Bytes before the LZ4 block: the uncompressed length.
pub(crate) const SIZE_PREFIX: usize = 4;

/// LZ4 cannot expand data more than this many times (255 bytes of output per input byte at
/// best), so a claimed length beyond it is damage rather than a value.
const MAX_RATIO: usize = 255;

/// Compresses `value` (with its length prefix) when that makes it shorter. `None` when it
/// does not, or when the value is too long for the 32-bit length prefix.
#[cfg(feature = "compression")]
pub(crate) fn compress(value: &[u8]) -> Option<Vec<u8>> {
    let len = u32::try_from(value.len()).ok()?;
    let mut out = vec![0u8; SIZE_PREFIX + lz4_flex::block::get_maximum_output_size(value.len())];
    out[..SIZE_PREFIX].copy_from_slice(&len.to_le_bytes());
    let n = lz4_flex::block::compress_into(value, &mut out[SIZE_PREFIX..]).ok()?;
    out.truncate(SIZE_PREFIX + n);
    (out.len() < value.len()).then_some(out)
}

/// Without the feature nothing is compressed.
#[cfg(not(feature = "compression"))]
pub(crate) fn compress(_value: &[u8]) -> Option<Vec<u8>> {
    None
}

/// The uncompressed bytes of a compressed value read from the entry at `path`.
///
/// # Errors
///
/// `Corrupt` when the bytes are not a valid compressed value (the entry's checksum passed,
/// so this is deliberate damage or a bug); `IncompatibleFormat` in a build without the
/// `compression` feature.
pub(crate) fn decompress(stored: &[u8], path: &Path) -> Result<Vec<u8>> {
    let (prefix, block) = stored.split_at_checked(SIZE_PREFIX).ok_or_else(|| {
        Error::corrupt("compressed value is shorter than its length prefix", path)
    })?;
    let mut len = [0u8; SIZE_PREFIX];
    len.copy_from_slice(prefix);
    let len = u32::from_le_bytes(len) as usize;
    // Bounded by what the block can hold (the checksum does not protect against a crafted
    // file) and by the longest value a store takes, before anything is allocated.
    if len > block.len().saturating_mul(MAX_RATIO).saturating_add(16) || len > MAX_VALUE_LEN {
        return Err(Error::corrupt(
            "compressed value claims an impossible uncompressed length",
            path,
        ));
    }
    inflate(block, len, path)
}

#[cfg(feature = "compression")]
fn inflate(block: &[u8], len: usize, path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    out.try_reserve_exact(len).map_err(|e| {
        Error::new(
            crate::ErrorKind::Io,
            "not enough memory to decompress the value",
        )
        .with_path(path)
        .with_source(e)
    })?;
    out.resize(len, 0);
    match lz4_flex::block::decompress_into(block, &mut out) {
        Ok(n) if n == len => Ok(out),
        Ok(_) => Err(Error::corrupt(
            "compressed value is shorter than its length prefix says",
            path,
        )),
        Err(e) => Err(Error::corrupt("compressed value does not decompress", path).with_source(e)),
    }
}

#[cfg(not(feature = "compression"))]
fn inflate(_block: &[u8], _len: usize, path: &Path) -> Result<Vec<u8>> {
    Err(Error::new(
        crate::ErrorKind::IncompatibleFormat,
        "entry value is compressed, and this dirkv was built without the `compression` feature",
    )
    .with_path(path))
}

#[cfg(all(test, feature = "compression"))]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn round_trip_and_layout_matches_lz4_flex_prepend_size() {
        let text = "the quick brown fox jumps over the lazy dog. ".repeat(40);
        let packed = compress(text.as_bytes()).unwrap();
        assert!(packed.len() < text.len() / 4);
        assert_eq!(
            lz4_flex::block::decompress_size_prepended(&packed).unwrap(),
            text.as_bytes()
        );
        let p = Path::new("x");
        assert_eq!(decompress(&packed, p).unwrap(), text.as_bytes());
        // Incompressible data is left alone.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..1000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        assert!(compress(&noise).is_none());
    }

    #[test]
    fn damaged_compressed_values_are_corrupt_not_panics() {
        let p = Path::new("x");
        let text = "abcdefgh".repeat(100);
        let packed = compress(text.as_bytes()).unwrap();
        for n in 0..packed.len() {
            let _ = decompress(&packed[..n], p);
        }
        let mut huge = packed.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decompress(&huge, p).unwrap_err().kind(), ErrorKind::Corrupt);
        let mut wrong = packed.clone();
        wrong[..4].copy_from_slice(&10u32.to_le_bytes());
        assert_eq!(
            decompress(&wrong, p).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        for i in SIZE_PREFIX..packed.len() {
            let mut g = packed.clone();
            g[i] ^= 0x55;
            let _ = decompress(&g, p);
        }
    }
}
