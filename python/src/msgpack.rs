//! Python values to and from MessagePack, with the mapping `rmp_serde` uses for Rust types:
//! so a struct a Rust program wrote reads as a `dict`, and a `dict` written here reads into
//! the matching Rust struct.
//!
//! | Python | MessagePack | Rust (`rmp_serde`) |
//! | --- | --- | --- |
//! | `None` | nil | `None`, `()` |
//! | `bool` | bool | `bool` |
//! | `int` (−2⁶³ … 2⁶⁴−1) | int, smallest form | integers |
//! | `float` | float 64 (float 32 reads as `float`) | `f64`, `f32` |
//! | `str` | str | `String`, unit enum variants |
//! | `bytes`, `bytearray`, `memoryview` | bin (reads as `bytes`) | `serde_bytes`, and `Vec<u8>` where it reads bin |
//! | `list`, `tuple` | array (reads as `list`) | `Vec<T>`, tuples, tuple structs |
//! | `dict` | map | structs (string keys), maps |
//!
//! Encoding writes straight into the output buffer; decoding parses the slice into Python
//! objects with no intermediate tree. Both are bounded in depth, and decoding never
//! allocates more than the input can justify.

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PyMemoryView,
    PyString, PyTuple,
};

/// How deep values may nest (containers inside containers), both ways. Deeper values are
/// refused: a list that contains itself would otherwise recurse until the stack overflows.
pub const MAX_DEPTH: usize = 512;

/// Appends the MessagePack encoding of `value` to `out`.
///
/// # Errors
///
/// `TypeError` naming the type of a value MessagePack cannot carry (a set, a custom
/// object); `OverflowError` for an `int` outside −2⁶³ … 2⁶⁴−1; `ValueError` for values
/// nested deeper than [`MAX_DEPTH`].
pub fn encode(value: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
    write(value, out, 0)
}

fn write(v: &Bound<'_, PyAny>, out: &mut Vec<u8>, depth: usize) -> PyResult<()> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "value nested more than {MAX_DEPTH} levels deep (does a container contain itself?)"
        )));
    }
    if v.is_none() {
        out.push(0xc0);
    } else if let Ok(s) = v.cast::<PyString>() {
        write_str(out, &s.to_cow()?);
    } else if let Ok(b) = v.cast::<PyBool>() {
        out.push(if b.is_true() { 0xc3 } else { 0xc2 });
    } else if let Ok(i) = v.cast::<PyInt>() {
        write_int(i, out)?;
    } else if let Ok(f) = v.cast::<PyFloat>() {
        out.push(0xcb);
        out.extend_from_slice(&f.value().to_be_bytes());
    } else if let Ok(d) = v.cast::<PyDict>() {
        write_len(out, d.len(), [0x80, 0xde, 0xdf], 16)?;
        for (k, item) in d.iter() {
            write(&k, out, depth + 1)?;
            write(&item, out, depth + 1)?;
        }
    } else if let Ok(l) = v.cast::<PyList>() {
        write_len(out, l.len(), [0x90, 0xdc, 0xdd], 16)?;
        for item in l.iter() {
            write(&item, out, depth + 1)?;
        }
    } else if let Ok(t) = v.cast::<PyTuple>() {
        write_len(out, t.len(), [0x90, 0xdc, 0xdd], 16)?;
        for item in t.iter() {
            write(&item, out, depth + 1)?;
        }
    } else if let Ok(b) = v.cast::<PyBytes>() {
        write_bin(out, b.as_bytes())?;
    } else if let Ok(b) = v.cast::<PyByteArray>() {
        write_bin(out, &b.to_vec())?;
    } else if v.cast::<PyMemoryView>().is_ok() {
        let bytes = v.call_method0("tobytes")?;
        write_bin(out, bytes.cast::<PyBytes>()?.as_bytes())?;
    } else {
        return Err(cannot_encode(v, "MessagePack"));
    }
    Ok(())
}

/// The `TypeError` for a value of a type `codec` cannot carry.
pub fn cannot_encode(v: &Bound<'_, PyAny>, codec: &str) -> PyErr {
    let hint = if v.cast::<PyFrozenSet>().is_ok() || v.is_instance_of::<pyo3::types::PySet>() {
        " (store a list instead)"
    } else {
        ""
    };
    PyTypeError::new_err(format!(
        "cannot encode a value of type '{}' as {codec}{hint}",
        type_name(v)
    ))
}

/// The name of `v`'s type, for messages.
pub fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

fn write_int(i: &Bound<'_, PyInt>, out: &mut Vec<u8>) -> PyResult<()> {
    if let Ok(n) = i.extract::<i64>() {
        match u64::try_from(n) {
            Ok(u) => write_uint(out, u),
            Err(_) => write_sint(out, n),
        }
        return Ok(());
    }
    match i.extract::<u64>() {
        Ok(u) => {
            write_uint(out, u);
            Ok(())
        }
        Err(_) => Err(PyOverflowError::new_err(
            "int too large for MessagePack (it holds -2**63 .. 2**64-1)",
        )),
    }
}

/// The smallest form, as `rmp::encode::write_uint` (and so `rmp_serde`) writes it.
fn write_uint(out: &mut Vec<u8>, u: u64) {
    if u < 128 {
        out.push(u as u8);
    } else if let Ok(b) = u8::try_from(u) {
        out.extend_from_slice(&[0xcc, b]);
    } else if let Ok(s) = u16::try_from(u) {
        out.push(0xcd);
        out.extend_from_slice(&s.to_be_bytes());
    } else if let Ok(w) = u32::try_from(u) {
        out.push(0xce);
        out.extend_from_slice(&w.to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&u.to_be_bytes());
    }
}

/// A negative integer in its smallest form, as `rmp::encode::write_sint` writes it.
fn write_sint(out: &mut Vec<u8>, n: i64) {
    if n >= -32 {
        out.push(n as u8);
    } else if let Ok(b) = i8::try_from(n) {
        out.push(0xd0);
        out.extend_from_slice(&b.to_be_bytes());
    } else if let Ok(s) = i16::try_from(n) {
        out.push(0xd1);
        out.extend_from_slice(&s.to_be_bytes());
    } else if let Ok(w) = i32::try_from(n) {
        out.push(0xd2);
        out.extend_from_slice(&w.to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // A Python str is far below 4 GiB in any real program; `rmp` refuses longer ones too.
    let _ = rmp::encode::write_str(out, s);
}

fn write_bin(out: &mut Vec<u8>, b: &[u8]) -> PyResult<()> {
    rmp::encode::write_bin(out, b)
        .map_err(|_| PyValueError::new_err("bytes too long for MessagePack (4 GiB at most)"))
}

/// A container header: `fix` is the fix-form marker (its length in the low bits, below
/// `1 << fix_bits`), then the 16-bit and 32-bit forms.
fn write_len(out: &mut Vec<u8>, len: usize, markers: [u8; 3], fix_bits: usize) -> PyResult<()> {
    let [fix, m16, m32] = markers;
    if len < fix_bits {
        out.push(fix | len as u8);
    } else if let Ok(l) = u16::try_from(len) {
        out.push(m16);
        out.extend_from_slice(&l.to_be_bytes());
    } else if let Ok(l) = u32::try_from(len) {
        out.push(m32);
        out.extend_from_slice(&l.to_be_bytes());
    } else {
        return Err(PyValueError::new_err(
            "container too long for MessagePack (2**32-1 items at most)",
        ));
    }
    Ok(())
}

/// Decodes exactly one MessagePack value from `bytes`. `as_key` makes arrays tuples (so
/// that they can be dict keys and keys of a `msgpack`-keyed store).
///
/// # Errors
///
/// A message saying why the bytes are not one value this mapping reads (truncated, an
/// unused marker, an ext type, invalid UTF-8 in a str, trailing bytes, too deep).
pub fn decode<'py>(
    py: Python<'py>,
    bytes: &[u8],
    as_key: bool,
) -> Result<Bound<'py, PyAny>, DecodeFailure> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let v = r.value(py, 0, as_key)?;
    if r.pos != bytes.len() {
        return Err(DecodeFailure::Bad(format!(
            "{} bytes follow the MessagePack value",
            bytes.len() - r.pos
        )));
    }
    Ok(v)
}

/// Why bytes did not decode.
#[derive(Debug)]
pub enum DecodeFailure {
    /// The bytes are not a value of this mapping.
    Bad(String),
    /// Python refused (a map key it cannot hash, out of memory).
    Python(PyErr),
}

impl From<PyErr> for DecodeFailure {
    fn from(e: PyErr) -> Self {
        DecodeFailure::Python(e)
    }
}

/// A Python `int` (the conversion of a Rust integer cannot fail).
pub fn int<'py, T>(py: Python<'py>, n: T) -> Bound<'py, PyAny>
where
    T: IntoPyObject<
            'py,
            Target = PyInt,
            Output = Bound<'py, PyInt>,
            Error = std::convert::Infallible,
        >,
{
    let Ok(i) = n.into_pyobject(py);
    i.into_any()
}

struct Reader<'b> {
    buf: &'b [u8],
    pos: usize,
}

fn truncated() -> DecodeFailure {
    DecodeFailure::Bad("the MessagePack value is truncated".to_owned())
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Result<&'b [u8], DecodeFailure> {
        let end = self.pos.checked_add(n).ok_or_else(truncated)?;
        let s = self.buf.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeFailure> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, DecodeFailure> {
        Ok(self.array::<1>()?[0])
    }

    fn len(&mut self, width: usize) -> Result<usize, DecodeFailure> {
        Ok(match width {
            1 => usize::from(self.u8()?),
            2 => usize::from(u16::from_be_bytes(self.array()?)),
            _ => u32::from_be_bytes(self.array()?) as usize,
        })
    }

    fn value<'py>(
        &mut self,
        py: Python<'py>,
        depth: usize,
        as_key: bool,
    ) -> Result<Bound<'py, PyAny>, DecodeFailure> {
        if depth > MAX_DEPTH {
            return Err(DecodeFailure::Bad(format!(
                "the MessagePack value nests more than {MAX_DEPTH} levels deep"
            )));
        }
        let m = self.u8()?;
        Ok(match m {
            0x00..=0x7f => int(py, i64::from(m)),
            0xe0..=0xff => int(py, i64::from(m as i8)),
            0xc0 => py.None().into_bound(py),
            0xc2 => PyBool::new(py, false).to_owned().into_any(),
            0xc3 => PyBool::new(py, true).to_owned().into_any(),
            0xcc => int(py, u64::from(self.u8()?)),
            0xcd => int(py, u64::from(u16::from_be_bytes(self.array()?))),
            0xce => int(py, u64::from(u32::from_be_bytes(self.array()?))),
            0xcf => int(py, u64::from_be_bytes(self.array()?)),
            0xd0 => int(py, i64::from(i8::from_be_bytes(self.array()?))),
            0xd1 => int(py, i64::from(i16::from_be_bytes(self.array()?))),
            0xd2 => int(py, i64::from(i32::from_be_bytes(self.array()?))),
            0xd3 => int(py, i64::from_be_bytes(self.array()?)),
            0xca => PyFloat::new(py, f64::from(f32::from_be_bytes(self.array()?))).into_any(),
            0xcb => PyFloat::new(py, f64::from_be_bytes(self.array()?)).into_any(),
            0xa0..=0xbf => self.str(py, usize::from(m & 0x1f))?,
            0xd9 => {
                let n = self.len(1)?;
                self.str(py, n)?
            }
            0xda => {
                let n = self.len(2)?;
                self.str(py, n)?
            }
            0xdb => {
                let n = self.len(4)?;
                self.str(py, n)?
            }
            0xc4..=0xc6 => {
                let n = self.len(1 << (m - 0xc4))?;
                PyBytes::new(py, self.take(n)?).into_any()
            }
            0x90..=0x9f => self.seq(py, usize::from(m & 0x0f), depth, as_key)?,
            0xdc => {
                let n = self.len(2)?;
                self.seq(py, n, depth, as_key)?
            }
            0xdd => {
                let n = self.len(4)?;
                self.seq(py, n, depth, as_key)?
            }
            0x80..=0x8f => self.map(py, usize::from(m & 0x0f), depth, as_key)?,
            0xde => {
                let n = self.len(2)?;
                self.map(py, n, depth, as_key)?
            }
            0xdf => {
                let n = self.len(4)?;
                self.map(py, n, depth, as_key)?
            }
            0xd4..=0xd8 | 0xc7..=0xc9 => {
                return Err(DecodeFailure::Bad(
                    "MessagePack ext types are not supported".to_owned(),
                ));
            }
            0xc1 => {
                return Err(DecodeFailure::Bad(
                    "0xc1 is not a MessagePack marker".to_owned(),
                ));
            }
        })
    }

    fn str<'py>(&mut self, py: Python<'py>, n: usize) -> Result<Bound<'py, PyAny>, DecodeFailure> {
        let bytes = self.take(n)?;
        let s = std::str::from_utf8(bytes)
            .map_err(|_| DecodeFailure::Bad("a MessagePack str is not UTF-8".to_owned()))?;
        Ok(PyString::new(py, s).into_any())
    }

    /// The items of an array of `n` items (never reserving more than the bytes left: each
    /// item takes at least one).
    fn items<'py>(
        &mut self,
        py: Python<'py>,
        n: usize,
        depth: usize,
        as_key: bool,
    ) -> Result<Vec<Bound<'py, PyAny>>, DecodeFailure> {
        let mut items = Vec::with_capacity(n.min(self.buf.len() - self.pos));
        for _ in 0..n {
            items.push(self.value(py, depth + 1, as_key)?);
        }
        Ok(items)
    }

    fn seq<'py>(
        &mut self,
        py: Python<'py>,
        n: usize,
        depth: usize,
        as_key: bool,
    ) -> Result<Bound<'py, PyAny>, DecodeFailure> {
        let items = self.items(py, n, depth, as_key)?;
        Ok(if as_key {
            PyTuple::new(py, items)?.into_any()
        } else {
            PyList::new(py, items)?.into_any()
        })
    }

    fn map<'py>(
        &mut self,
        py: Python<'py>,
        n: usize,
        depth: usize,
        as_key: bool,
    ) -> Result<Bound<'py, PyAny>, DecodeFailure> {
        let d = PyDict::new(py);
        for _ in 0..n {
            // Map keys must be hashable: arrays in key position become tuples.
            let k = self.value(py, depth + 1, true)?;
            let v = self.value(py, depth + 1, as_key)?;
            d.set_item(k, v)?;
        }
        Ok(d.into_any())
    }
}
