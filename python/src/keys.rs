//! Python keys to and from the canonical key bytes of the Rust key types (the table in
//! `dirkv::format::keys`): `str` is its UTF-8, `bytes` the bytes, `int` its decimal text,
//! and `msgpack` keys the MessagePack of the value. So a key hashes to the same file from
//! Python, from Rust and from `printf %s KEY | sha256sum`.

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyInt, PyMemoryView, PyString};

use crate::msgpack;

/// The key type of an open store, from its manifest's `key =`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// `utf8`: Python `str`.
    Str,
    /// `bytes`: Python `bytes` (also taken from `bytearray` and `memoryview`).
    Bytes,
    /// An integer encoding (`u64`, `i32`, …): Python `int` within the type's range.
    Int(IntRange),
    /// `msgpack`: any value the MessagePack mapping carries that Python can hash
    /// (`str`, `int`, `tuple`, …), as `SerdeKey<T>` in Rust.
    MsgPack,
}

/// The range of an integer key encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntRange {
    min: i128,
    max: u128,
}

impl KeyType {
    /// The key type of the manifest name `encoding`; `None` for names this binding does not
    /// know.
    pub fn from_manifest(encoding: &str) -> Option<KeyType> {
        let int = |min: i128, max: u128| Some(KeyType::Int(IntRange { min, max }));
        match encoding {
            "utf8" => Some(KeyType::Str),
            "bytes" => Some(KeyType::Bytes),
            "msgpack" => Some(KeyType::MsgPack),
            "u8" => int(0, u8::MAX.into()),
            "u16" => int(0, u16::MAX.into()),
            "u32" => int(0, u32::MAX.into()),
            "u64" | "usize" => int(0, u64::MAX.into()),
            "u128" => int(0, u128::MAX),
            "i8" => int(i8::MIN.into(), i8::MAX as u128),
            "i16" => int(i16::MIN.into(), i16::MAX as u128),
            "i32" => int(i32::MIN.into(), i32::MAX as u128),
            "i64" | "isize" => int(i64::MIN.into(), i64::MAX as u128),
            "i128" => int(i128::MIN, i128::MAX as u128),
            _ => None,
        }
    }

    /// The manifest name a new store gets for the Python `key=` option: `str`, `bytes`,
    /// `int` (`i64`) and `msgpack`, or a manifest name itself (`utf8`, `u64`, …).
    pub fn manifest_name(option: &str) -> Option<&str> {
        match option {
            "str" => Some("utf8"),
            "int" => Some("i64"),
            other => Self::from_manifest(other).map(|_| other),
        }
    }

    /// The Python name of this key type: `str`, `bytes`, `int` or `msgpack`.
    pub fn python_name(self) -> &'static str {
        match self {
            KeyType::Str => "str",
            KeyType::Bytes => "bytes",
            KeyType::Int(_) => "int",
            KeyType::MsgPack => "msgpack",
        }
    }

    /// The key bytes of the Python key `k`.
    ///
    /// # Errors
    ///
    /// `TypeError` for a key of another type; `OverflowError` for an `int` outside the
    /// store's integer type.
    pub fn to_bytes(self, k: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
        match self {
            KeyType::Str => match k.cast::<PyString>() {
                Ok(s) => Ok(s.to_cow()?.as_bytes().to_vec()),
                Err(_) => Err(self.wrong_type(k)),
            },
            KeyType::Bytes => {
                if let Ok(b) = k.cast::<PyBytes>() {
                    Ok(b.as_bytes().to_vec())
                } else if let Ok(b) = k.cast::<PyByteArray>() {
                    Ok(b.to_vec())
                } else if k.cast::<PyMemoryView>().is_ok() {
                    Ok(k.call_method0("tobytes")?
                        .cast::<PyBytes>()?
                        .as_bytes()
                        .to_vec())
                } else {
                    Err(self.wrong_type(k))
                }
            }
            KeyType::Int(range) => match k.cast::<PyInt>() {
                Ok(i) => range.decimal(i),
                Err(_) => Err(self.wrong_type(k)),
            },
            KeyType::MsgPack => {
                let mut out = Vec::new();
                msgpack::encode(k, &mut out)?;
                Ok(out)
            }
        }
    }

    fn wrong_type(self, k: &Bound<'_, PyAny>) -> PyErr {
        PyTypeError::new_err(format!(
            "keys of this store are {}, not '{}'",
            self.python_name(),
            msgpack::type_name(k)
        ))
    }

    /// The Python key of the key bytes `bytes`.
    ///
    /// # Errors
    ///
    /// A message when the bytes are not a key of this type (a file written by other means).
    pub fn key_of<'py>(
        self,
        py: Python<'py>,
        bytes: &[u8],
    ) -> Result<Bound<'py, PyAny>, KeyFailure> {
        match self {
            KeyType::Str => std::str::from_utf8(bytes)
                .map(|s| PyString::new(py, s).into_any())
                .map_err(|_| KeyFailure::Bad("the stored key is not UTF-8".to_owned())),
            KeyType::Bytes => Ok(PyBytes::new(py, bytes).into_any()),
            KeyType::Int(_) => {
                let text = std::str::from_utf8(bytes).map_err(|_| {
                    KeyFailure::Bad("the stored key is not decimal text".to_owned())
                })?;
                if let Ok(n) = text.parse::<i64>() {
                    Ok(msgpack::int(py, n))
                } else if let Ok(n) = text.parse::<i128>() {
                    Ok(msgpack::int(py, n))
                } else if let Ok(n) = text.parse::<u128>() {
                    Ok(msgpack::int(py, n))
                } else {
                    Err(KeyFailure::Bad(format!(
                        "the stored key {text:?} is not an integer"
                    )))
                }
            }
            KeyType::MsgPack => msgpack::decode(py, bytes, true).map_err(|e| match e {
                msgpack::DecodeFailure::Bad(m) => KeyFailure::Bad(format!("the stored key: {m}")),
                msgpack::DecodeFailure::Python(e) => KeyFailure::Python(e),
            }),
        }
    }
}

/// Why stored key bytes are not a Python key.
pub enum KeyFailure {
    /// Not a key of the store's type.
    Bad(String),
    /// Python refused.
    Python(PyErr),
}

impl IntRange {
    /// The canonical decimal text of `i`, when it is in range.
    fn decimal(self, i: &Bound<'_, PyInt>) -> PyResult<Vec<u8>> {
        // Most keys fit an i64: the fast conversion first.
        let in_range = if let Ok(n) = i.extract::<i64>() {
            let wide = i128::from(n);
            (wide >= self.min && (n < 0 || wide as u128 <= self.max)).then(|| n.to_string())
        } else if let Ok(n) = i.extract::<i128>() {
            (n >= self.min && (n < 0 || n as u128 <= self.max)).then(|| n.to_string())
        } else if let Ok(n) = i.extract::<u128>() {
            (n <= self.max).then(|| n.to_string())
        } else {
            None
        };
        in_range.map(String::into_bytes).ok_or_else(|| {
            PyOverflowError::new_err(format!(
                "key out of range for this store's integer keys ({} ..= {})",
                self.min, self.max
            ))
        })
    }
}
