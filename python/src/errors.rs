//! `dirkv::Error` as Python exceptions. The classes are defined in Python
//! (`dirkv/_errors.py`, so that they pickle, print and document like ordinary exceptions);
//! this module picks the class for each `ErrorKind` and fills in `path`, `kind` and `errno`.
//!
//! | `ErrorKind` | Python |
//! | --- | --- |
//! | `Corrupt` | `CorruptError` |
//! | `WrongKey` | `WrongKeyError` |
//! | `IncompatibleFormat` | `IncompatibleFormatError` |
//! | `Locked` | `LockedError` (also a `TimeoutError`) |
//! | `ReadOnly` | `ReadOnlyError` |
//! | `NotAStore` | `NotAStoreError` |
//! | `NotFound` | `StoreNotFoundError` (also a `FileNotFoundError`) |
//! | `AlreadyExists` | `StoreExistsError` (also a `FileExistsError`) |
//! | `Decode` | `DecodeError` |
//! | `Io` and kinds added later | `Error`, with `errno` when the OS gave one |
//! | `InvalidInput` | `ValueError` |
//! | `Encode` | `TypeError` |
//!
//! `Error` is a subclass of `OSError`: every error of this kind is about a store's files.

use std::error::Error as _;
use std::path::Path;

use dirkv::ErrorKind;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The Python exception for `err`.
pub fn to_py(py: Python<'_>, err: dirkv::Error) -> PyErr {
    let mut message = err.to_string();
    // Display keeps the cause in `source()` (but for Encode and Decode); Python users see
    // one message, so it is appended here.
    if !matches!(err.kind(), ErrorKind::Encode | ErrorKind::Decode)
        && let Some(source) = err.source()
    {
        message.push_str(&format!(" ({source})"));
    }
    let (class, kind) = match err.kind() {
        ErrorKind::InvalidInput => return PyValueError::new_err(message),
        ErrorKind::Encode => return PyTypeError::new_err(message),
        ErrorKind::Corrupt => ("CorruptError", "corrupt"),
        ErrorKind::WrongKey => ("WrongKeyError", "wrong_key"),
        ErrorKind::IncompatibleFormat => ("IncompatibleFormatError", "incompatible_format"),
        ErrorKind::Locked => ("LockedError", "locked"),
        ErrorKind::ReadOnly => ("ReadOnlyError", "read_only"),
        ErrorKind::NotAStore => ("NotAStoreError", "not_a_store"),
        ErrorKind::NotFound => ("StoreNotFoundError", "not_found"),
        ErrorKind::AlreadyExists => ("StoreExistsError", "already_exists"),
        ErrorKind::Decode => ("DecodeError", "decode"),
        ErrorKind::Io => ("Error", "io"),
        _ => ("Error", "other"),
    };
    let errno = err.io_error().and_then(std::io::Error::raw_os_error);
    new_error(py, class, kind, message, err.path(), errno)
}

/// A `dirkv` exception of class `class` (a name in `dirkv._errors`).
pub fn new_error(
    py: Python<'_>,
    class: &str,
    kind: &str,
    message: String,
    path: Option<&Path>,
    errno: Option<i32>,
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let cls = py.import("dirkv._errors")?.getattr(class)?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("path", path.map(|p| p.to_string_lossy().into_owned()))?;
        kwargs.set_item("kind", kind)?;
        kwargs.set_item("errno", errno)?;
        Ok(PyErr::from_value(
            cls.call((message.clone(),), Some(&kwargs))?,
        ))
    };
    // The classes are part of the package; should the import fail, say so, with the
    // message.
    build().unwrap_or_else(|e| {
        let err = PyRuntimeError::new_err(format!("{message} (dirkv._errors is missing)"));
        err.set_cause(py, Some(e));
        err
    })
}

/// A `DecodeError` for the value of the file at `path`, with the codec's own error as its
/// cause when it raised one.
pub fn decode_error(
    py: Python<'_>,
    what: &str,
    path: &Path,
    failure: crate::codec::DecodeFailure,
) -> PyErr {
    match failure {
        crate::codec::DecodeFailure::Bad(m) => new_error(
            py,
            "DecodeError",
            "decode",
            format!("cannot decode {what} ({m}): {}", path.display()),
            Some(path),
            None,
        ),
        crate::codec::DecodeFailure::Python(cause) => {
            let err = new_error(
                py,
                "DecodeError",
                "decode",
                format!("cannot decode {what} ({cause}): {}", path.display()),
                Some(path),
                None,
            );
            err.set_cause(py, Some(cause));
            err
        }
    }
}
