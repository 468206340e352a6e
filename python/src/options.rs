//! The keyword options of `dirkv.Store(...)`, turned into the Rust `Options` builder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dirkv::{CacheMode, Durability, EncryptionKey, ErrorKind, Exists, RawStore};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::clock::ManualClock;
use crate::keys::KeyType;

/// The options builder of a `RawStore`.
pub type RawOptions = dirkv::Options<Vec<u8>, Vec<u8>, dirkv::Raw>;

/// The key type and codec a new store gets when the caller names neither.
pub const DEFAULT_KEY: &str = "utf8";
/// See [`DEFAULT_KEY`].
pub const DEFAULT_CODEC: &str = "msgpack";

/// Seconds (an `int` or `float`) or a `datetime.timedelta`, as a `Duration`.
///
/// # Errors
///
/// `TypeError` for other types, `ValueError` for negative or non-finite times.
pub fn duration(what: &str, v: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let seconds: f64 = if v.hasattr("total_seconds")? {
        v.call_method0("total_seconds")?.extract()?
    } else {
        v.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "{what} is seconds (int or float) or a datetime.timedelta, not '{}'",
                crate::msgpack::type_name(v)
            ))
        })?
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        PyValueError::new_err(format!(
            "{what} must be a finite, non-negative time, not {seconds}"
        ))
    })
}

fn optional_duration(what: &str, v: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    v.filter(|v| !v.is_none())
        .map(|v| duration(what, v))
        .transpose()
}

/// What `Store(...)` was asked to open.
pub struct Request {
    /// The store path as given.
    pub path: PathBuf,
    /// The open mode.
    pub mode: Exists,
    /// The key encoding asked for (a manifest name), if any.
    pub key: Option<String>,
    /// The codec asked for (a manifest name), if any.
    pub codec: Option<String>,
    /// Every other option.
    pub options: RawOptions,
}

/// The keyword arguments of `Store(...)`, as PyO3 extracted them.
pub struct Args<'a, 'py> {
    pub mode: &'a str,
    pub key: Option<&'a str>,
    pub codec: Option<&'a str>,
    pub durability: &'a str,
    pub read_only: bool,
    pub cache: Option<(usize, usize)>,
    pub cache_mode: &'a str,
    pub ttl: Option<&'a Bound<'py, PyAny>>,
    pub track_access: bool,
    pub compression: Option<usize>,
    pub encryption_key: Option<&'a Bound<'py, PyAny>>,
    pub passphrase: Option<&'a Bound<'py, PyAny>>,
    pub lock_timeout: Option<&'a Bound<'py, PyAny>>,
    pub clock: Option<&'a Bound<'py, ManualClock>>,
    pub file_mode: Option<u32>,
    pub preserve_created: bool,
    pub sync_interval: Option<&'a Bound<'py, PyAny>>,
    pub auto_evict: Option<(usize, u64, u64)>,
}

impl Args<'_, '_> {
    /// The request these arguments make for `path`.
    ///
    /// # Errors
    ///
    /// `ValueError` or `TypeError` naming the argument that is wrong.
    pub fn request(&self, path: PathBuf) -> PyResult<Request> {
        let mode = match self.mode {
            "create_or_open" => Exists::OpenOrCreate,
            "error" => Exists::Error,
            "replace" => Exists::Replace,
            "update" => Exists::Update,
            other => {
                return Err(PyValueError::new_err(format!(
                    "mode is 'create_or_open', 'error', 'replace' or 'update', not {other:?}"
                )));
            }
        };
        let key = self
            .key
            .map(|k| {
                KeyType::manifest_name(k).map(str::to_owned).ok_or_else(|| {
                    PyValueError::new_err(format!(
                        "key is 'str', 'bytes', 'int', 'msgpack' or a Rust integer type \
                         ('u64', 'i32', ...), not {k:?}"
                    ))
                })
            })
            .transpose()?;
        let codec = self
            .codec
            .map(|c| match c {
                "msgpack" | "json" | "raw" | "pickle" => Ok(c.to_owned()),
                other => Err(PyValueError::new_err(format!(
                    "codec is 'msgpack', 'json', 'raw' or 'pickle', not {other:?}"
                ))),
            })
            .transpose()?;
        let mut o = RawStore::options()
            .durability(match self.durability {
                "durable" => Durability::Durable,
                "fast" => Durability::Fast,
                other => {
                    return Err(PyValueError::new_err(format!(
                        "durability is 'durable' or 'fast', not {other:?}"
                    )));
                }
            })
            .read_only(self.read_only)
            .track_access(self.track_access)
            .preserve_created(self.preserve_created)
            .default_ttl(optional_duration("ttl", self.ttl)?)
            .lock_timeout(optional_duration("lock_timeout", self.lock_timeout)?)
            .sync_interval(optional_duration("sync_interval", self.sync_interval)?)
            .compression(self.compression)
            .cache_mode(match self.cache_mode {
                "validated" => CacheMode::Validated,
                "trusted" => CacheMode::Trusted,
                other => {
                    return Err(PyValueError::new_err(format!(
                        "cache_mode is 'validated' or 'trusted', not {other:?}"
                    )));
                }
            });
        if let Some((entries, bytes)) = self.cache {
            o = o.cache(entries, bytes);
        }
        if let Some(mode) = self.file_mode {
            o = o.file_mode(mode);
        }
        if let Some((entries, bytes, every)) = self.auto_evict {
            o = o.auto_evict(entries, bytes, every);
        }
        if let Some(clock) = self.clock {
            o = o.clock(clock.get().shared());
        }
        if let Some(key) = self.encryption()? {
            o = o.encryption(key);
        }
        Ok(Request {
            path,
            mode,
            key,
            codec,
            options: o,
        })
    }

    fn encryption(&self) -> PyResult<Option<EncryptionKey>> {
        match (self.encryption_key, self.passphrase) {
            (Some(_), Some(_)) => Err(PyValueError::new_err(
                "give encryption_key or passphrase, not both",
            )),
            (Some(k), None) => {
                let bytes = k.cast::<PyBytes>().map_err(|_| {
                    PyTypeError::new_err("encryption_key is 32 bytes (a bytes object)")
                })?;
                EncryptionKey::from_slice(bytes.as_bytes())
                    .map(Some)
                    .map_err(|e| PyValueError::new_err(e.to_string()))
            }
            (None, Some(p)) => {
                let phrase = if let Ok(s) = p.cast::<PyString>() {
                    s.to_cow()?.as_bytes().to_vec()
                } else if let Ok(b) = p.cast::<PyBytes>() {
                    b.as_bytes().to_vec()
                } else {
                    return Err(PyTypeError::new_err("passphrase is a str or bytes"));
                };
                Ok(Some(EncryptionKey::passphrase(phrase)))
            }
            (None, None) => Ok(None),
        }
    }
}

impl Request {
    /// Opens the store: a key type or codec not asked for is the existing store's, or the
    /// default for a new one. Runs without the GIL (it reads the manifest, and a passphrase
    /// takes tens of milliseconds to stretch).
    ///
    /// # Errors
    ///
    /// As `Options::open_raw` and `open_raw_as_found`; `IncompatibleFormat` when an
    /// existing store has another key type or codec than the one asked for.
    pub fn open(&self) -> dirkv::Result<RawStore> {
        let o = self.options.clone();
        let key = self.key.as_deref();
        let codec = self.codec.as_deref();
        let named = |o: RawOptions, mode| {
            o.open_raw(
                &self.path,
                mode,
                key.unwrap_or(DEFAULT_KEY),
                codec.unwrap_or(DEFAULT_CODEC),
            )
        };
        let raw = match self.mode {
            Exists::Update => o.open_raw_as_found(&self.path)?,
            Exists::OpenOrCreate if key.is_none() || codec.is_none() => {
                match o.clone().open_raw_as_found(&self.path) {
                    Ok(raw) => raw,
                    // Nothing there (or an empty folder, or an unfinished store): create.
                    Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotAStore) => {
                        named(o, Exists::OpenOrCreate)?
                    }
                    Err(e) => return Err(e),
                }
            }
            mode => named(o, mode)?,
        };
        check_names(&raw, key, codec)?;
        Ok(raw)
    }
}

/// Checks that the store has the key type and codec asked for.
fn check_names(raw: &RawStore, key: Option<&str>, codec: Option<&str>) -> dirkv::Result<()> {
    let mismatch = |what: &str, found: &str, wanted: &str| {
        Err(dirkv::Error::new(
            ErrorKind::IncompatibleFormat,
            format!("the store's {what} is `{found}`, but it was opened with `{wanted}`"),
        )
        .with_path(manifest_path(raw.path())))
    };
    if let Some(k) = key
        && k != raw.key_encoding()
    {
        return mismatch("key type", raw.key_encoding(), k);
    }
    if let Some(c) = codec
        && c != raw.codec()
    {
        return mismatch("codec", raw.codec(), c);
    }
    Ok(())
}

/// The manifest file of the store at `root`.
pub fn manifest_path(root: &Path) -> PathBuf {
    root.join(dirkv::format::names::MANIFEST)
}
