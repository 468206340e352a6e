//! MessagePack to JSON without building a tree, so showing a value takes memory in
//! proportion to the value, whatever it holds.
//!
//! A tree (`rmpv::Value`, then `serde_json::Value`) costs 32 bytes or more per item twice
//! over, and one MessagePack item can be a single byte: a 200 MB `Vec<u8>` (an array of
//! small integers) took 22 GB that way, and a compressed entry holding an array of a
//! billion nils asked for a 10 GiB allocation. Here a value is read twice, straight from
//! its bytes, with [`rmp`]'s markers:
//!
//! 1. [`check`] walks it once, with an explicit stack (no recursion, nesting at most
//!    [`MAX_DEPTH`] deep): every length must fit in the bytes, every string must be UTF-8,
//!    nothing may follow the value. For each map it decides whether it is written as a
//!    JSON object or in the `{"$map":…}` form, which needs all its keys (distinct strings,
//!    not a lone `$` key) before its first byte of output. It keeps one bit per map and,
//!    while a map is open, 4 bytes per key.
//! 2. [`Plan::write`] writes the JSON in one pass through a `serde_json` formatter (compact,
//!    or pretty as `--pretty` prints), with scalars formatted by `serde_json` itself, so the
//!    text is the one the tree gave: `$bytes` hex, `$ext`, `$float`, `$map`, key order.
//!
//! So a value that cannot be shown fails before anything is written, as before, and the
//! memory used is the value's bytes plus an eighth of a byte per map plus the keys of the
//! open maps.
//!
//! Here: the reading both passes share ([`Cursor`], [`Item`]) and the [`Plan`] that passes
//! from one to the other; the passes are `check.rs` and `write.rs`.

use rmp::Marker;

mod check;
#[cfg(test)]
mod tests;
mod write;

pub(crate) use check::check;
pub(crate) use write::write_bytes;

/// How deep arrays and maps may nest. `rmpv`'s limit of 1024 counted two steps per level,
/// so every value shown before (at most 511 levels) is shown now.
pub(crate) const MAX_DEPTH: usize = 512;

/// What a marker says about the item it starts.
enum Item {
    /// A scalar of `len` bytes after the marker (and its length field).
    Scalar { len: usize },
    /// A string of `len` bytes after its header.
    Str { len: usize },
    /// An extension: type byte and `len` data bytes after its header.
    Ext { len: usize },
    /// An array of `n` items.
    Array { n: u64 },
    /// A map of `n` pairs.
    Map { n: u64 },
}

/// Reads big-endian fields of a value's bytes, with every read checked.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| {
                format!(
                    "not MessagePack (an item at byte {} runs past the end, {} bytes)",
                    self.pos,
                    self.bytes.len()
                )
            })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn uint(&mut self, n: usize) -> Result<u64, String> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// The marker at the cursor and what it starts; the cursor is left after its length
    /// field.
    fn item(&mut self) -> Result<(Marker, Item), String> {
        let at = self.pos;
        let marker = Marker::from_u8(self.take(1)?[0]);
        let len = |c: &mut Self, n: usize| c.uint(n).map(|l| l as usize);
        let item = match marker {
            Marker::Null | Marker::True | Marker::False | Marker::FixPos(_) | Marker::FixNeg(_) => {
                Item::Scalar { len: 0 }
            }
            Marker::U8 | Marker::I8 => Item::Scalar { len: 1 },
            Marker::U16 | Marker::I16 => Item::Scalar { len: 2 },
            Marker::U32 | Marker::I32 | Marker::F32 => Item::Scalar { len: 4 },
            Marker::U64 | Marker::I64 | Marker::F64 => Item::Scalar { len: 8 },
            Marker::Bin8 => Item::Scalar { len: len(self, 1)? },
            Marker::Bin16 => Item::Scalar { len: len(self, 2)? },
            Marker::Bin32 => Item::Scalar { len: len(self, 4)? },
            Marker::FixStr(n) => Item::Str { len: n as usize },
            Marker::Str8 => Item::Str { len: len(self, 1)? },
            Marker::Str16 => Item::Str { len: len(self, 2)? },
            Marker::Str32 => Item::Str { len: len(self, 4)? },
            Marker::FixExt1 => Item::Ext { len: 1 },
            Marker::FixExt2 => Item::Ext { len: 2 },
            Marker::FixExt4 => Item::Ext { len: 4 },
            Marker::FixExt8 => Item::Ext { len: 8 },
            Marker::FixExt16 => Item::Ext { len: 16 },
            Marker::Ext8 => Item::Ext { len: len(self, 1)? },
            Marker::Ext16 => Item::Ext { len: len(self, 2)? },
            Marker::Ext32 => Item::Ext { len: len(self, 4)? },
            Marker::FixArray(n) => Item::Array { n: u64::from(n) },
            Marker::Array16 => Item::Array { n: self.uint(2)? },
            Marker::Array32 => Item::Array { n: self.uint(4)? },
            Marker::FixMap(n) => Item::Map { n: u64::from(n) },
            Marker::Map16 => Item::Map { n: self.uint(2)? },
            Marker::Map32 => Item::Map { n: self.uint(4)? },
            Marker::Reserved => {
                return Err(format!(
                    "not MessagePack (the reserved byte 0xc1 at byte {at})"
                ));
            }
        };
        Ok((marker, item))
    }
}

/// A checked value and how each of its maps is written.
pub(crate) struct Plan<'a> {
    bytes: &'a [u8],
    /// Bit `i`: the `i`-th map is written as a plain JSON object.
    plain_maps: Vec<u64>,
}
