//! The second pass: write a checked value as JSON through a `serde_json` formatter, in one
//! pass with an explicit stack; and `{"$bytes":…}` for values that are bytes.

use std::io::{self, Write};

use rmp::Marker;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

use super::{Cursor, Item, Plan};

/// Bytes of hex written at a time for `$bytes` and `$ext`.
const HEX_CHUNK: usize = 8 * 1024;

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
    /// a value nested [`MAX_DEPTH`](super::MAX_DEPTH) deep takes a few KiB of heap, not the stack).
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
