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

use std::io::{self, Write};

use rmp::Marker;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

/// How deep arrays and maps may nest. `rmpv`'s limit of 1024 counted two steps per level,
/// so every value shown before (at most 511 levels) is shown now.
pub(crate) const MAX_DEPTH: usize = 512;

/// Bytes of hex written at a time for `$bytes` and `$ext`.
const HEX_CHUNK: usize = 8 * 1024;

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

/// The content of the string whose marker is at `pos` (checked by [`check`] before).
fn str_at(bytes: &[u8], pos: usize) -> &[u8] {
    let mut c = Cursor { bytes, pos };
    match c.item() {
        Ok((_, Item::Str { len })) => c.take(len).unwrap_or_default(),
        _ => &[],
    }
}

/// A map being checked.
struct OpenMap {
    /// Its number among the value's maps, in the order they start.
    ordinal: usize,
    pairs: u64,
    /// Where its keys' markers are, while all of them are strings.
    keys: Option<Vec<u32>>,
}

/// A container being checked: items still to come, and the map it is.
struct Open {
    left: u64,
    map: Option<OpenMap>,
}

/// A checked value and how each of its maps is written.
pub(crate) struct Plan<'a> {
    bytes: &'a [u8],
    /// Bit `i`: the `i`-th map is written as a plain JSON object.
    plain_maps: Vec<u64>,
}

/// Checks that `bytes` is exactly one MessagePack value that JSON can show, and plans how
/// its maps are written.
///
/// # Errors
///
/// What is wrong, for the message `get` and `export` give: not MessagePack, a string that
/// is not UTF-8, nesting deeper than [`MAX_DEPTH`], bytes after the value.
pub(crate) fn check(bytes: &[u8]) -> Result<Plan<'_>, String> {
    if u32::try_from(bytes.len()).is_err() {
        return Err("a value longer than 4 GiB".into());
    }
    let mut c = Cursor { bytes, pos: 0 };
    let mut plain_maps: Vec<u64> = Vec::new();
    let mut maps = 0usize;
    let mut stack: Vec<Open> = Vec::new();
    loop {
        // A map's items alternate key, value: note where each key is while all are strings.
        let start = c.pos;
        if let Some(Open {
            left,
            map: Some(map),
        }) = stack.last_mut()
            && left.is_multiple_of(2)
            && let Some(keys) = &mut map.keys
        {
            if matches!(
                bytes.get(start).map(|&b| Marker::from_u8(b)),
                Some(Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32)
            ) {
                keys.push(start as u32);
            } else {
                map.keys = None;
            }
        }
        let (_, item) = c.item()?;
        let container = match item {
            Item::Scalar { len } => {
                c.take(len)?;
                None
            }
            Item::Str { len } => {
                if std::str::from_utf8(c.take(len)?).is_err() {
                    return Err("a MessagePack string that is not UTF-8 (use --raw)".into());
                }
                None
            }
            Item::Ext { len } => {
                c.take(len.saturating_add(1))?;
                None
            }
            Item::Array { n } => Some(Open { left: n, map: None }),
            Item::Map { n } => {
                let ordinal = maps;
                maps += 1;
                if ordinal.is_multiple_of(64) {
                    plain_maps.push(0);
                }
                Some(Open {
                    left: n * 2,
                    map: Some(OpenMap {
                        ordinal,
                        pairs: n,
                        keys: Some(Vec::new()),
                    }),
                })
            }
        };
        if let Some(open) = container {
            // Every item takes a byte at least: a count beyond the bytes left is damage,
            // found before any memory is spent on it.
            if open.left > (bytes.len() - c.pos) as u64 {
                return Err(format!(
                    "not MessagePack (a container at byte {start} claims {} items in {} bytes)",
                    open.left,
                    bytes.len() - c.pos
                ));
            }
            if stack.len() >= MAX_DEPTH {
                return Err(format!("nested deeper than {MAX_DEPTH} levels"));
            }
            if open.left > 0 {
                stack.push(open);
                continue;
            }
            close(bytes, open, &mut plain_maps);
        }
        // The item is complete, and so is every container whose last item it was.
        loop {
            let Some(top) = stack.last_mut() else {
                // The value itself is complete.
                if c.pos != bytes.len() {
                    return Err(format!(
                        "not one MessagePack value ({} bytes follow it)",
                        bytes.len() - c.pos
                    ));
                }
                return Ok(Plan { bytes, plain_maps });
            };
            top.left -= 1;
            if top.left > 0 {
                break;
            }
            if let Some(done) = stack.pop() {
                close(bytes, done, &mut plain_maps);
            }
        }
    }
}

/// Records how a container whose items were all checked is written.
fn close(bytes: &[u8], done: Open, plain_maps: &mut [u64]) {
    if let Some(map) = done.map
        && plain(bytes, map.pairs, map.keys)
    {
        plain_maps[map.ordinal / 64] |= 1 << (map.ordinal % 64);
    }
}

/// Whether a map is written as a JSON object: its keys (`None` when one is not a string)
/// are distinct strings, and not a single key starting with `$` (which would read back as
/// one of the `$` forms).
fn plain(bytes: &[u8], pairs: u64, keys: Option<Vec<u32>>) -> bool {
    let Some(mut keys) = keys else {
        return false;
    };
    if pairs == 1 {
        return keys
            .first()
            .is_some_and(|&k| !str_at(bytes, k as usize).starts_with(b"$"));
    }
    keys.sort_unstable_by(|&a, &b| str_at(bytes, a as usize).cmp(str_at(bytes, b as usize)));
    keys.windows(2)
        .all(|w| str_at(bytes, w[0] as usize) != str_at(bytes, w[1] as usize))
}

impl Plan<'_> {
    /// Writes the value as compact JSON (`pretty`: indented as `--pretty` shows it).
    ///
    /// # Errors
    ///
    /// Errors of writing to `out`.
    pub(crate) fn write<W: Write>(&self, out: &mut W, pretty: bool) -> io::Result<()> {
        if pretty {
            self.write_with(out, PrettyFormatter::new())
        } else {
            self.write_with(out, CompactFormatter)
        }
    }

    fn write_with<W: Write, F: Formatter>(&self, out: &mut W, fmt: F) -> io::Result<()> {
        let mut w = JsonOut {
            c: Cursor {
                bytes: self.bytes,
                pos: 0,
            },
            plan: self,
            next_map: 0,
            out,
            fmt,
        };
        w.value()
    }

    fn plain_map(&self, ordinal: usize) -> bool {
        self.plain_maps
            .get(ordinal / 64)
            .is_some_and(|bits| bits & (1 << (ordinal % 64)) != 0)
    }
}

/// What an open container is written as.
#[derive(Clone, Copy)]
enum Kind {
    Array,
    /// A map written as a JSON object.
    Object,
    /// A map written as `{"$map":[[key, value], …]}`.
    Pairs,
}

/// An open container of the second pass.
struct Frame {
    kind: Kind,
    /// Items (arrays) or pairs (maps) not yet begun (arrays) or finished (maps).
    left: u64,
    first: bool,
    /// Inside a map: the key of the current pair is written, its value is next.
    at_value: bool,
}

impl Frame {
    fn new(kind: Kind, left: u64) -> Frame {
        Frame {
            kind,
            left,
            first: true,
            at_value: false,
        }
    }
}

/// The second pass: the checked value's bytes to JSON.
struct JsonOut<'p, 'a, W, F> {
    c: Cursor<'a>,
    plan: &'p Plan<'a>,
    next_map: usize,
    out: &'p mut W,
    fmt: F,
}

/// A checked value did not read as it did when checked: a bug, not a bad value.
fn unchecked(m: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("internal error: {m}"))
}

impl<W: Write, F: Formatter> JsonOut<'_, '_, W, F> {
    fn uint(&mut self, n: usize) -> io::Result<u64> {
        self.c.uint(n).map_err(unchecked)
    }

    /// Writes the value, with an explicit stack of the open arrays and maps (no recursion:
    /// a value nested [`MAX_DEPTH`] deep takes a few KiB of heap, not the stack).
    fn value(&mut self) -> io::Result<()> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            if let Some(top) = stack.last_mut() {
                if top.left == 0 && !top.at_value {
                    let done = stack.pop();
                    match done.map(|f| f.kind) {
                        Some(Kind::Array) => self.fmt.end_array(self.out)?,
                        Some(Kind::Object) => self.fmt.end_object(self.out)?,
                        Some(Kind::Pairs) => {
                            self.fmt.end_array(self.out)?;
                            self.end_special()?;
                        }
                        None => {}
                    }
                    match stack.last_mut() {
                        Some(parent) => self.after_item(parent)?,
                        None => return Ok(()),
                    }
                    continue;
                }
                self.before_item(top)?;
            }
            let (marker, item) = self.c.item().map_err(unchecked)?;
            let frame = match item {
                Item::Scalar { len } => {
                    self.scalar(marker, len)?;
                    None
                }
                Item::Str { len } => {
                    let bytes = self.c.take(len).map_err(unchecked)?;
                    let text = std::str::from_utf8(bytes)
                        .map_err(|e| unchecked(format!("a string that is not UTF-8: {e}")))?;
                    self.string(text)?;
                    None
                }
                Item::Ext { len } => {
                    let ty = self.c.take(1).map_err(unchecked)?[0] as i8;
                    let data = self.c.take(len).map_err(unchecked)?;
                    self.begin_special("$ext")?;
                    self.fmt.begin_array(self.out)?;
                    self.fmt.begin_array_value(self.out, true)?;
                    self.fmt.write_i64(self.out, i64::from(ty))?;
                    self.fmt.end_array_value(self.out)?;
                    self.fmt.begin_array_value(self.out, false)?;
                    self.hex(data)?;
                    self.fmt.end_array_value(self.out)?;
                    self.fmt.end_array(self.out)?;
                    self.end_special()?;
                    None
                }
                Item::Array { n } => {
                    self.fmt.begin_array(self.out)?;
                    Some(Frame::new(Kind::Array, n))
                }
                Item::Map { n } => {
                    let ordinal = self.next_map;
                    self.next_map += 1;
                    if self.plan.plain_map(ordinal) {
                        self.fmt.begin_object(self.out)?;
                        Some(Frame::new(Kind::Object, n))
                    } else {
                        self.begin_special("$map")?;
                        self.fmt.begin_array(self.out)?;
                        Some(Frame::new(Kind::Pairs, n))
                    }
                }
            };
            match (frame, stack.last_mut()) {
                (Some(frame), _) => stack.push(frame),
                (None, Some(parent)) => self.after_item(parent)?,
                (None, None) => return Ok(()),
            }
        }
    }

    /// What goes before the next item of an open array or map.
    fn before_item(&mut self, top: &mut Frame) -> io::Result<()> {
        let first = top.first;
        match (top.kind, top.at_value) {
            (Kind::Array, _) => {
                top.first = false;
                top.left -= 1;
                self.fmt.begin_array_value(self.out, first)
            }
            (Kind::Object, false) => {
                top.first = false;
                self.fmt.begin_object_key(self.out, first)
            }
            (Kind::Object, true) => self.fmt.begin_object_value(self.out),
            (Kind::Pairs, false) => {
                top.first = false;
                self.fmt.begin_array_value(self.out, first)?;
                self.fmt.begin_array(self.out)?;
                self.fmt.begin_array_value(self.out, true)
            }
            (Kind::Pairs, true) => self.fmt.begin_array_value(self.out, false),
        }
    }

    /// What goes after an item of an open array or map.
    fn after_item(&mut self, top: &mut Frame) -> io::Result<()> {
        match (top.kind, top.at_value) {
            (Kind::Array, _) => self.fmt.end_array_value(self.out),
            (Kind::Object, false) => {
                top.at_value = true;
                self.fmt.end_object_key(self.out)
            }
            (Kind::Object, true) => {
                top.at_value = false;
                top.left -= 1;
                self.fmt.end_object_value(self.out)
            }
            (Kind::Pairs, false) => {
                top.at_value = true;
                self.fmt.end_array_value(self.out)
            }
            (Kind::Pairs, true) => {
                top.at_value = false;
                top.left -= 1;
                self.fmt.end_array_value(self.out)?;
                self.fmt.end_array(self.out)?;
                self.fmt.end_array_value(self.out)
            }
        }
    }

    fn scalar(&mut self, marker: Marker, len: usize) -> io::Result<()> {
        match marker {
            Marker::Null => self.fmt.write_null(self.out),
            Marker::True => self.fmt.write_bool(self.out, true),
            Marker::False => self.fmt.write_bool(self.out, false),
            Marker::FixPos(n) => self.fmt.write_u64(self.out, u64::from(n)),
            Marker::FixNeg(n) => self.fmt.write_i64(self.out, i64::from(n)),
            Marker::U8 | Marker::U16 | Marker::U32 | Marker::U64 => {
                let n = self.uint(len)?;
                self.fmt.write_u64(self.out, n)
            }
            Marker::I8 | Marker::I16 | Marker::I32 | Marker::I64 => {
                // Sign-extend the big-endian field.
                let raw = self.uint(len)?;
                let shift = 64 - 8 * len as u32;
                let n = ((raw << shift) as i64) >> shift;
                if n >= 0 {
                    self.fmt.write_u64(self.out, n as u64)
                } else {
                    self.fmt.write_i64(self.out, n)
                }
            }
            Marker::F32 => {
                let x = f32::from_bits(self.uint(4)? as u32);
                // Through its shortest text, so 0.1f32 shows as 0.1, not 0.10000000149011612.
                self.float(x.to_string().parse().unwrap_or(f64::from(x)))
            }
            Marker::F64 => {
                let x = f64::from_bits(self.uint(8)?);
                self.float(x)
            }
            // Binary: `{"$bytes":"<hex>"}`.
            _ => {
                let data = self.c.take(len).map_err(unchecked)?;
                self.begin_special("$bytes")?;
                self.hex(data)?;
                self.end_special()
            }
        }
    }

    fn float(&mut self, x: f64) -> io::Result<()> {
        if x.is_finite() {
            return self.fmt.write_f64(self.out, x);
        }
        let name = if x.is_nan() {
            "NaN"
        } else if x > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        };
        self.begin_special("$float")?;
        self.string(name)?;
        self.end_special()
    }

    fn string(&mut self, text: &str) -> io::Result<()> {
        serde_json::to_writer(&mut *self.out, text).map_err(io::Error::from)
    }

    /// Lowercase hex in a JSON string, written a chunk at a time.
    fn hex(&mut self, data: &[u8]) -> io::Result<()> {
        let mut buf = [0u8; 2 * HEX_CHUNK];
        self.out.write_all(b"\"")?;
        for chunk in data.chunks(HEX_CHUNK) {
            let text = &mut buf[..2 * chunk.len()];
            hex::encode_to_slice(chunk, text).map_err(|e| unchecked(e.to_string()))?;
            self.out.write_all(text)?;
        }
        self.out.write_all(b"\"")
    }

    /// `{"$name":` of a one-key object.
    fn begin_special(&mut self, name: &str) -> io::Result<()> {
        self.fmt.begin_object(self.out)?;
        self.fmt.begin_object_key(self.out, true)?;
        self.string(name)?;
        self.fmt.end_object_key(self.out)?;
        self.fmt.begin_object_value(self.out)
    }

    fn end_special(&mut self) -> io::Result<()> {
        self.fmt.end_object_value(self.out)?;
        self.fmt.end_object(self.out)
    }
}

/// Writes `{"$bytes":"<hex>"}` for `data` (values of `raw` stores and unknown codecs),
/// the hex a chunk at a time.
///
/// # Errors
///
/// Errors of writing to `out`.
pub(crate) fn write_bytes<W: Write>(out: &mut W, data: &[u8], pretty: bool) -> io::Result<()> {
    let plan = Plan {
        bytes: &[],
        plain_maps: Vec::new(),
    };
    if pretty {
        bytes_with(out, data, &plan, PrettyFormatter::new())
    } else {
        bytes_with(out, data, &plan, CompactFormatter)
    }
}

fn bytes_with<W: Write, F: Formatter>(
    out: &mut W,
    data: &[u8],
    plan: &Plan<'_>,
    fmt: F,
) -> io::Result<()> {
    let mut w = JsonOut {
        c: Cursor { bytes: &[], pos: 0 },
        plan,
        next_map: 0,
        out,
        fmt,
    };
    w.begin_special("$bytes")?;
    w.hex(data)?;
    w.end_special()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::decode_msgpack;
    use rmpv::Value as Mp;

    /// The JSON the tree path (`rmpv` then `serde_json`) gives, compact and pretty.
    fn by_tree(bytes: &[u8]) -> Result<(String, String), String> {
        let json = decode_msgpack(bytes)?;
        Ok((
            serde_json::to_string(&json).unwrap(),
            serde_json::to_string_pretty(&json).unwrap(),
        ))
    }

    fn streamed(bytes: &[u8]) -> Result<(String, String), String> {
        let plan = check(bytes)?;
        let mut compact = Vec::new();
        plan.write(&mut compact, false).unwrap();
        let mut pretty = Vec::new();
        plan.write(&mut pretty, true).unwrap();
        Ok((
            String::from_utf8(compact).unwrap(),
            String::from_utf8(pretty).unwrap(),
        ))
    }

    fn encode(v: &Mp) -> Vec<u8> {
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, v).unwrap();
        out
    }

    fn same(bytes: &[u8]) {
        assert_eq!(streamed(bytes), by_tree(bytes), "{bytes:02x?}");
    }

    #[test]
    fn writes_what_the_tree_wrote() {
        let s = |t: &str| Mp::from(t);
        let values = vec![
            Mp::Nil,
            Mp::Boolean(true),
            Mp::from(0),
            Mp::from(-1),
            Mp::from(u64::MAX),
            Mp::from(i64::MIN),
            Mp::F32(0.1),
            Mp::F32(f32::NAN),
            Mp::F64(f64::INFINITY),
            Mp::F64(f64::NEG_INFINITY),
            Mp::F64(-0.0),
            Mp::F64(1e300),
            s("größe \u{1f600} \"quoted\"\n\t\u{1}"),
            Mp::Binary(vec![]),
            Mp::Binary((0..=255).collect()),
            Mp::Ext(-3, vec![1, 2, 3]),
            Mp::Ext(5, vec![9; 16]),
            Mp::Ext(7, vec![9; 300]),
            Mp::Array(vec![]),
            Mp::Map(vec![]),
            Mp::Array(vec![Mp::Array(vec![]), Mp::Map(vec![]), Mp::Nil]),
            Mp::Map(vec![
                (s("z"), Mp::from(1)),
                (s("a"), Mp::Array(vec![s("x")])),
            ]),
            // Duplicate keys, non-string keys, a lone `$` key, `$` among others.
            Mp::Map(vec![(s("a"), Mp::from(1)), (s("a"), Mp::from(2))]),
            Mp::Map(vec![(Mp::from(1), s("one")), (Mp::from(2), s("two"))]),
            Mp::Map(vec![(s("a"), Mp::from(1)), (Mp::Nil, Mp::from(2))]),
            Mp::Map(vec![(s("$bytes"), s("not bytes"))]),
            Mp::Map(vec![(s("$a"), Mp::Nil), (s("b"), Mp::Nil)]),
            Mp::Map(vec![(Mp::Map(vec![(s("k"), Mp::Nil)]), Mp::Map(vec![]))]),
            Mp::Array(vec![Mp::Map(vec![(
                s("$x"),
                Mp::Map(vec![(s("$y"), Mp::Nil)]),
            )])]),
        ];
        for v in &values {
            same(&encode(v));
        }
        // Every width of integer marker, as rmp-serde or other writers may use them.
        let mut wide = Vec::new();
        rmp::encode::write_array_len(&mut wide, 8).unwrap();
        rmp::encode::write_u8(&mut wide, 200).unwrap();
        rmp::encode::write_u16(&mut wide, 1).unwrap();
        rmp::encode::write_u32(&mut wide, 70_000).unwrap();
        rmp::encode::write_u64(&mut wide, 5).unwrap();
        rmp::encode::write_i8(&mut wide, 5).unwrap();
        rmp::encode::write_i16(&mut wide, -300).unwrap();
        rmp::encode::write_i32(&mut wide, -1).unwrap();
        rmp::encode::write_i64(&mut wide, i64::MIN + 1).unwrap();
        same(&wide);
        // Str8/16/32 and Map16/Array16 forms.
        let long = "x".repeat(70_000);
        same(&encode(&Mp::Array(vec![s(&long); 20])));
        let pairs: Vec<(Mp, Mp)> = (0..300)
            .map(|i| (s(&format!("k{i}")), Mp::from(i)))
            .collect();
        same(&encode(&Mp::Map(pairs)));
    }

    #[test]
    fn random_values_match_the_tree() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        fn arbitrary(next: &mut dyn FnMut() -> u64, depth: u32) -> Mp {
            let keys = ["a", "b", "$c", "", "dé"];
            match next() % if depth > 4 { 6 } else { 9 } {
                0 => Mp::Nil,
                1 => Mp::from(next() as i64 >> (next() % 64)),
                2 => Mp::F64(f64::from_bits(next())),
                3 => Mp::from(keys[(next() % 5) as usize]),
                4 => Mp::Binary(vec![next() as u8; (next() % 4) as usize]),
                5 => Mp::F32(f32::from_bits(next() as u32)),
                6 => Mp::Array(
                    (0..next() % 4)
                        .map(|_| arbitrary(next, depth + 1))
                        .collect(),
                ),
                _ => Mp::Map(
                    (0..next() % 4)
                        .map(|_| {
                            let k = if next().is_multiple_of(4) {
                                arbitrary(next, depth + 1)
                            } else {
                                Mp::from(keys[(next() % 5) as usize])
                            };
                            (k, arbitrary(next, depth + 1))
                        })
                        .collect(),
                ),
            }
        }
        for _ in 0..2000 {
            let v = arbitrary(&mut next, 0);
            same(&encode(&v));
        }
    }

    #[test]
    fn bad_values_fail_before_anything_is_written() {
        for bad in [
            &[][..],
            &[0xc1],
            &[0x01, 0x02],
            &[0x92, 0x01],
            &[0xa3, b'a'],
            &[0xa2, 0xff, 0xfe],
            &[0x81, 0xa1, 0xff, 0xc0],
            &[0xdd, 0xff, 0xff, 0xff, 0xff],
            &[0xdf, 0x7f, 0xff, 0xff, 0xff, 0xc0],
            &[0xc6, 0xff, 0xff, 0xff, 0xff, 0x00],
            &[0xc9, 0x00, 0x00, 0x00, 0x05, 0x01],
        ] {
            assert!(check(bad).is_err(), "{bad:02x?}");
            // (rmpv read the reserved byte 0xc1 as nil; the library's check refuses it.)
            assert!(by_tree(bad).is_err() || bad == [0xc1], "{bad:02x?}");
        }
        let err = check(&[0xa2, 0xff, 0xfe]).err().unwrap();
        assert!(err.contains("not UTF-8"), "{err}");
        assert!(
            check(&[0x01, 0x02])
                .err()
                .unwrap()
                .contains("1 bytes follow")
        );
    }

    #[test]
    fn nesting_is_limited_as_before() {
        let nested = |depth: usize| {
            let mut v = vec![0x91u8; depth];
            v.push(0xc0);
            v
        };
        // The tree path recurses: give it room (the streaming path does not).
        let deep = nested(511);
        let tree = std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(move || by_tree(&nested(511)))
            .unwrap()
            .join()
            .unwrap();
        assert!(tree.is_ok());
        assert_eq!(streamed(&deep), tree);
        assert!(check(&nested(MAX_DEPTH)).is_ok());
        assert!(check(&nested(MAX_DEPTH + 1)).is_err());
        assert!(
            check(&nested(100_000))
                .err()
                .unwrap()
                .contains("deeper than")
        );
    }

    #[test]
    fn a_bomb_of_nils_takes_no_tree() {
        // 2^22 nils: a tree takes well over 100 MB; the plan takes no memory per item.
        let n = 1u32 << 22;
        let mut bytes = vec![0xdd];
        bytes.extend_from_slice(&n.to_be_bytes());
        bytes.resize(5 + n as usize, 0xc0);
        let plan = check(&bytes).unwrap();
        assert!(plan.plain_maps.is_empty());
        let mut out = Vec::new();
        plan.write(&mut out, false).unwrap();
        assert_eq!(out.len(), 2 + 5 * n as usize - 1);
    }
}
