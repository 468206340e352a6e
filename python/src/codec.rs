//! Value codecs: how a Python value becomes the bytes after an entry's key, by the codec the
//! store's manifest names.
//!
//! | manifest `codec =` | Python values | read by |
//! | --- | --- | --- |
//! | `msgpack` (default) | see [`msgpack`](crate::msgpack) | Rust `MsgPack`, `dirkv get` |
//! | `json` | what `json.dumps` takes (compact, UTF-8, no NaN) | Rust `Json`, `dirkv get`, `cat` |
//! | `raw` | `bytes` (and `bytearray`, `memoryview`) | Rust `Raw` (`Vec<u8>`) |
//! | `pickle` | anything `pickle` takes (protocol 5) | Python only; Rust and `dirkv` refuse the codec |

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyMemoryView, PyString};

use crate::msgpack;

/// The pickle protocol written: 5 is read by every Python the package supports (3.8+).
const PICKLE_PROTOCOL: u8 = 5;

/// The codec of an open store, with the Python functions it calls.
pub enum ValueCodec {
    /// MessagePack, in Rust.
    MsgPack,
    /// JSON through Python's `json` module: `encode` is a compact `JSONEncoder.encode`,
    /// `decode` is `json.loads`.
    Json {
        encode: Py<PyAny>,
        decode: Py<PyAny>,
    },
    /// Bytes as they are.
    Raw,
    /// `pickle.dumps` / `pickle.loads`.
    Pickle { dumps: Py<PyAny>, loads: Py<PyAny> },
}

/// Why stored bytes did not decode.
pub enum DecodeFailure {
    /// The bytes are not a value of this codec; the message says why.
    Bad(String),
    /// The codec's Python function raised (the error is the cause).
    Python(PyErr),
}

impl ValueCodec {
    /// The codec of the manifest name `codec`; `None` for names this binding does not
    /// know.
    ///
    /// # Errors
    ///
    /// The `json` or `pickle` module cannot be imported.
    pub fn from_manifest(py: Python<'_>, codec: &str) -> PyResult<Option<ValueCodec>> {
        Ok(Some(match codec {
            "msgpack" => ValueCodec::MsgPack,
            "raw" => ValueCodec::Raw,
            "json" => {
                let json = py.import("json")?;
                let kwargs = PyDict::new(py);
                kwargs.set_item("ensure_ascii", false)?;
                kwargs.set_item("separators", (",", ":"))?;
                kwargs.set_item("allow_nan", false)?;
                let encoder = json.getattr("JSONEncoder")?.call((), Some(&kwargs))?;
                ValueCodec::Json {
                    encode: encoder.getattr("encode")?.unbind(),
                    decode: json.getattr("loads")?.unbind(),
                }
            }
            "pickle" => {
                let pickle = py.import("pickle")?;
                ValueCodec::Pickle {
                    dumps: pickle.getattr("dumps")?.unbind(),
                    loads: pickle.getattr("loads")?.unbind(),
                }
            }
            _ => return Ok(None),
        }))
    }

    /// The bytes of `value`.
    ///
    /// # Errors
    ///
    /// `TypeError` naming the type of a value the codec cannot carry; `OverflowError` and
    /// `ValueError` for values of the right type it still cannot carry (an `int` beyond 64
    /// bits in MessagePack, NaN in JSON).
    pub fn encode(&self, value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
        match self {
            ValueCodec::MsgPack => {
                let mut out = Vec::new();
                msgpack::encode(value, &mut out)?;
                Ok(out)
            }
            ValueCodec::Raw => {
                if let Ok(b) = value.cast::<PyBytes>() {
                    Ok(b.as_bytes().to_vec())
                } else if let Ok(b) = value.cast::<PyByteArray>() {
                    Ok(b.to_vec())
                } else if value.cast::<PyMemoryView>().is_ok() {
                    Ok(value
                        .call_method0("tobytes")?
                        .cast::<PyBytes>()?
                        .as_bytes()
                        .to_vec())
                } else {
                    Err(PyTypeError::new_err(format!(
                        "values of a raw store are bytes, not '{}'",
                        msgpack::type_name(value)
                    )))
                }
            }
            ValueCodec::Json { encode, .. } => {
                let text = encode.bind(value.py()).call1((value,))?;
                Ok(text.cast::<PyString>()?.to_cow()?.as_bytes().to_vec())
            }
            ValueCodec::Pickle { dumps, .. } => {
                let py = value.py();
                match dumps.bind(py).call1((value, PICKLE_PROTOCOL)) {
                    Ok(b) => Ok(b.cast::<PyBytes>()?.as_bytes().to_vec()),
                    Err(e) => {
                        let err = msgpack::cannot_encode(value, "a pickle");
                        err.set_cause(py, Some(e));
                        Err(err)
                    }
                }
            }
        }
    }

    /// The Python value of stored `bytes`.
    ///
    /// # Errors
    ///
    /// The bytes are not a value of this codec, or its Python function raised.
    pub fn decode<'py>(
        &self,
        py: Python<'py>,
        bytes: &[u8],
    ) -> Result<Bound<'py, PyAny>, DecodeFailure> {
        match self {
            ValueCodec::MsgPack => msgpack::decode(py, bytes, false).map_err(|e| match e {
                msgpack::DecodeFailure::Bad(m) => DecodeFailure::Bad(m),
                msgpack::DecodeFailure::Python(e) => DecodeFailure::Python(e),
            }),
            ValueCodec::Raw => Ok(PyBytes::new(py, bytes).into_any()),
            ValueCodec::Json { decode, .. } | ValueCodec::Pickle { loads: decode, .. } => decode
                .bind(py)
                .call1((PyBytes::new(py, bytes),))
                .map_err(DecodeFailure::Python),
        }
    }
}
