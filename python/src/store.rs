//! `dirkv._dirkv.StoreBase`: an open store with its key type and codec. `dirkv.Store`
//! (in `dirkv/__init__.py`) subclasses it with `collections.abc.MutableMapping`, which
//! adds the mapping methods this class does not define (`update`, `keys`, `__eq__`, …).
//!
//! Every method that touches the disk converts its arguments to bytes first, releases the
//! GIL for the store call, and builds Python objects after it, so threads overlap their
//! reads and fsyncs. `modify` and `compare_and_swap` call back into Python from inside
//! the store's read-modify-write, re-attaching to the interpreter there; the key's lock is
//! only ever waited for with the GIL released, so two threads cannot deadlock on it.

use std::cell::RefCell;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock};
use std::time::UNIX_EPOCH;

use dirkv::RawStore;
use pyo3::exceptions::{PyKeyError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::clock::ManualClock;
use crate::codec::ValueCodec;
use crate::errors;
use crate::handle::ForkSafe;
use crate::iter::{EntryIter, Yield};
use crate::keys::KeyType;
use crate::options::{self, Args, RawOptions};

/// `dirkv.ABSENT`: "no value", for `modify` (return it to remove the key) and
/// `compare_and_swap` (the key is absent / remove it). It is false in a boolean context.
#[pyclass(module = "dirkv", name = "_Absent", frozen)]
pub struct Absent;

#[pymethods]
impl Absent {
    fn __repr__(&self) -> &'static str {
        "dirkv.ABSENT"
    }
    fn __bool__(&self) -> bool {
        false
    }
    fn __reduce__(&self) -> &'static str {
        "ABSENT"
    }
}

static ABSENT: PyOnceLock<Py<Absent>> = PyOnceLock::new();

/// The one `ABSENT` object.
pub fn absent(py: Python<'_>) -> PyResult<&Py<Absent>> {
    ABSENT.get_or_try_init(py, || Py::new(py, Absent))
}

fn is_absent(v: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(v.is(absent(v.py())?))
}

thread_local! {
    /// The stores whose `modify` function runs on this thread now: it holds their lock, so
    /// a write to them from inside the function would wait for itself forever.
    static MODIFYING: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
}

/// Marks the store at `path` as being modified on this thread until dropped.
struct Modifying;

impl Modifying {
    fn enter(path: &Path) -> Self {
        MODIFYING.with(|m| m.borrow_mut().push(path.to_path_buf()));
        Modifying
    }
}

impl Drop for Modifying {
    fn drop(&mut self) {
        MODIFYING.with(|m| m.borrow_mut().pop());
    }
}

/// A function's refusal inside a read-modify-write: nothing is written.
enum Decline {
    /// The Python function (or the codec) raised.
    Raised(PyErr),
    /// The condition did not hold (`compare_and_swap`, `pop`, `setdefault`).
    Skip,
}

/// Converts a `dirkv::Result` with the GIL.
trait OrRaise<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> OrRaise<T> for dirkv::Result<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| errors::to_py(py, e))
    }
}

/// The native base of `dirkv.Store`: see the Python class for the documentation.
#[pyclass(subclass, frozen, module = "dirkv._dirkv", name = "StoreBase")]
pub struct StoreBase {
    /// The open handle; `None` once closed.
    state: RwLock<Option<ForkSafe<RawStore>>>,
    /// To reopen the store in a forked child.
    options: RawOptions,
    path: PathBuf,
    key: KeyType,
    key_encoding: String,
    codec_name: String,
    codec: ValueCodec,
    read_only: bool,
    encrypted: bool,
}

impl StoreBase {
    /// The store handle: this process's, reopened after a fork.
    fn raw(&self) -> PyResult<RawStore> {
        {
            let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
            match &*state {
                None => return Err(closed()),
                Some(h) => {
                    if let Some(raw) = h.get() {
                        return Ok(raw.clone());
                    }
                }
            }
        }
        self.reopen()
    }

    /// Opens the store again in a forked child (the inherited handle is leaked, never
    /// used: see `handle`).
    #[cold]
    fn reopen(&self) -> PyResult<RawStore> {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        match &*state {
            None => return Err(closed()),
            Some(h) => {
                if let Some(raw) = h.get() {
                    return Ok(raw.clone());
                }
            }
        }
        let raw = self.options.clone().open_raw_as_found(&self.path);
        Python::attach(|py| {
            let raw = raw.or_raise(py)?;
            *state = Some(ForkSafe::new(raw.clone()));
            Ok(raw)
        })
    }

    /// The handle for a write: refused from inside this store's own `modify` function.
    fn writer(&self) -> PyResult<RawStore> {
        let inside = MODIFYING.with(|m| m.borrow().iter().any(|p| p == &self.path));
        if inside {
            return Err(PyRuntimeError::new_err(
                "cannot write to a store from inside its own modify() or compare_and_swap() \
                 (the call holds the key's lock); return the new value instead",
            ));
        }
        self.raw()
    }

    fn key_bytes(&self, key: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
        self.key.to_bytes(key)
    }

    fn encode(&self, value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
        self.codec.encode(value)
    }

    /// The Python value of the value bytes of `key`.
    fn decode<'py>(
        &self,
        py: Python<'py>,
        raw: &RawStore,
        key: &[u8],
        bytes: &[u8],
    ) -> PyResult<Bound<'py, PyAny>> {
        self.codec
            .decode(py, bytes)
            .map_err(|f| errors::decode_error(py, "the value", &raw.path_of(key), f))
    }

    /// The value of `key`, `None` when absent.
    fn lookup<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let raw = self.raw()?;
        let k = self.key_bytes(key)?;
        let found = py.detach(|| raw.get_value(&k)).or_raise(py)?;
        found.map(|v| self.decode(py, &raw, &k, &v)).transpose()
    }

    pub fn codec(&self) -> &ValueCodec {
        &self.codec
    }

    pub fn key_type(&self) -> KeyType {
        self.key
    }

    /// The handle for an iterator.
    pub fn handle(&self) -> PyResult<RawStore> {
        self.raw()
    }
}

fn closed() -> PyErr {
    PyValueError::new_err("I/O operation on a closed store")
}

fn key_error(key: &Bound<'_, PyAny>) -> PyErr {
    PyKeyError::new_err(key.clone().unbind())
}

/// `(key bytes, value bytes)` pairs of a mapping or an iterable of pairs.
fn pairs(store: &StoreBase, items: &Bound<'_, PyAny>) -> PyResult<Vec<(Vec<u8>, Vec<u8>)>> {
    let iterable = if items.hasattr("keys")? && items.hasattr("items")? {
        items.call_method0("items")?
    } else {
        items.clone()
    };
    let mut out = Vec::new();
    for pair in iterable.try_iter()? {
        let pair = pair?;
        let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair.extract().map_err(|_| {
            PyTypeError::new_err("set_many takes a mapping or an iterable of (key, value) pairs")
        })?;
        out.push((store.key_bytes(&k)?, store.encode(&v)?));
    }
    Ok(out)
}

fn seconds(t: std::time::SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[pymethods]
impl StoreBase {
    #[new]
    #[pyo3(signature = (
        path, mode = "create_or_open", *, key = None, codec = None, durability = "durable",
        read_only = false, cache = None, cache_mode = "validated", ttl = None,
        track_access = false, compression = None, encryption_key = None, passphrase = None,
        lock_timeout = None, clock = None, file_mode = None, preserve_created = false,
        sync_interval = None, auto_evict = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        mode: &str,
        key: Option<&str>,
        codec: Option<&str>,
        durability: &str,
        read_only: bool,
        cache: Option<(usize, usize)>,
        cache_mode: &str,
        ttl: Option<&Bound<'_, PyAny>>,
        track_access: bool,
        compression: Option<usize>,
        encryption_key: Option<&Bound<'_, PyAny>>,
        passphrase: Option<&Bound<'_, PyAny>>,
        lock_timeout: Option<&Bound<'_, PyAny>>,
        clock: Option<&Bound<'_, ManualClock>>,
        file_mode: Option<u32>,
        preserve_created: bool,
        sync_interval: Option<&Bound<'_, PyAny>>,
        auto_evict: Option<(usize, u64, u64)>,
    ) -> PyResult<Self> {
        let request = Args {
            mode,
            key,
            codec,
            durability,
            read_only,
            cache,
            cache_mode,
            ttl,
            track_access,
            compression,
            encryption_key,
            passphrase,
            lock_timeout,
            clock,
            file_mode,
            preserve_created,
            sync_interval,
            auto_evict,
        }
        .request(path)?;
        let raw = py.detach(|| request.open()).or_raise(py)?;
        let manifest = options::manifest_path(raw.path());
        let incompatible = |message: String| {
            errors::new_error(
                py,
                "IncompatibleFormatError",
                "incompatible_format",
                message,
                Some(&manifest),
                None,
            )
        };
        let key_type = KeyType::from_manifest(raw.key_encoding()).ok_or_else(|| {
            incompatible(format!(
                "the store's key type `{}` is not one the Python package knows (str, bytes, \
                 integers, msgpack): {}",
                raw.key_encoding(),
                manifest.display()
            ))
        })?;
        if raw.codec() == "pickle" && request.codec.is_none() {
            return Err(incompatible(format!(
                "the store's values are pickles: open it with codec=\"pickle\" to read them, \
                 and only if you trust everyone who can write to it (unpickling runs code): {}",
                manifest.display()
            )));
        }
        let codec = ValueCodec::from_manifest(py, raw.codec())?.ok_or_else(|| {
            incompatible(format!(
                "the store's codec `{}` is not one the Python package knows (msgpack, json, \
                 raw, pickle): {}",
                raw.codec(),
                manifest.display()
            ))
        })?;
        Ok(StoreBase {
            path: raw.path().to_path_buf(),
            key: key_type,
            key_encoding: raw.key_encoding().to_owned(),
            codec_name: raw.codec().to_owned(),
            codec,
            read_only,
            encrypted: raw.is_encrypted(),
            state: RwLock::new(Some(ForkSafe::new(raw))),
            options: request.options,
        })
    }

    /// The store's folder (absolute).
    #[getter]
    fn path(&self) -> OsString {
        self.path.clone().into_os_string()
    }

    /// The key type: ``"str"``, ``"bytes"``, ``"int"`` or ``"msgpack"``.
    #[getter(key_type)]
    fn key_type_name(&self) -> &'static str {
        self.key.python_name()
    }

    /// The key encoding named in the manifest (``utf8``, ``bytes``, ``i64``, ``u64``, …).
    #[getter]
    fn key_encoding(&self) -> &str {
        &self.key_encoding
    }

    /// The value codec named in the manifest: ``msgpack``, ``json``, ``raw`` or ``pickle``.
    #[getter(codec)]
    fn codec_name(&self) -> &str {
        &self.codec_name
    }

    /// Whether the store was opened read-only.
    #[getter]
    fn read_only(&self) -> bool {
        self.read_only
    }

    /// Whether the store is encrypted.
    #[getter]
    fn encrypted(&self) -> bool {
        self.encrypted
    }

    /// Whether :meth:`close` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.lookup(py, key)?.ok_or_else(|| key_error(key))
    }

    /// The value of ``key``, or ``default`` when it has none (or it expired).
    #[pyo3(signature = (key, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self.lookup(py, key)? {
            Some(v) => v,
            None => default.unwrap_or_else(|| py.None().into_bound(py)),
        })
    }

    fn __setitem__(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.set(py, key, value, None)
    }

    /// Writes ``value`` under ``key``, atomically (a reader or a crash sees the old value or
    /// the new one), durable on return in durable mode. ``ttl``: seconds or a
    /// ``timedelta`` after which the value expires (default: the store's ``ttl``).
    #[pyo3(signature = (key, value, *, ttl = None))]
    fn set(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ttl: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let raw = self.writer()?;
        let k = self.key_bytes(key)?;
        let v = self.encode(value)?;
        match ttl.filter(|t| !t.is_none()) {
            None => py.detach(|| raw.set(&k, &v)),
            Some(t) => {
                let ttl = options::duration("ttl", t)?;
                py.detach(|| raw.set_with_ttl(&k, &v, ttl))
            }
        }
        .or_raise(py)
    }

    fn __delitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.delete(py, key)? {
            Ok(())
        } else {
            Err(key_error(key))
        }
    }

    /// Removes ``key``; returns whether it had a value (an expired value does not count).
    fn delete(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let raw = self.writer()?;
        let k = self.key_bytes(key)?;
        py.detach(|| raw.remove(&k)).or_raise(py)
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let raw = self.raw()?;
        let k = self.key_bytes(key)?;
        py.detach(|| raw.contains_key(&k)).or_raise(py)
    }

    /// The number of entry files (a listing of the shard folders; an expired entry not
    /// yet removed is counted).
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        let raw = self.raw()?;
        py.detach(|| raw.len()).or_raise(py)
    }

    fn __bool__(&self, py: Python<'_>) -> PyResult<bool> {
        let raw = self.raw()?;
        py.detach(|| raw.is_empty()).map(|e| !e).or_raise(py)
    }

    fn __iter__(slf: &Bound<'_, Self>) -> PyResult<EntryIter> {
        EntryIter::new(slf, Yield::Keys)
    }

    fn _iter_items(slf: &Bound<'_, Self>) -> PyResult<EntryIter> {
        EntryIter::new(slf, Yield::Items)
    }

    fn _iter_values(slf: &Bound<'_, Self>) -> PyResult<EntryIter> {
        EntryIter::new(slf, Yield::Values)
    }

    /// The values of ``keys`` in order, ``default`` for those without one; one call into
    /// the store for all of them.
    #[pyo3(signature = (keys, default = None))]
    fn get_many<'py>(
        &self,
        py: Python<'py>,
        keys: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let raw = self.raw()?;
        let ks = keys
            .try_iter()?
            .map(|k| self.key_bytes(&k?))
            .collect::<PyResult<Vec<_>>>()?;
        let found = py
            .detach(|| raw.get_many(ks.iter().map(Vec::as_slice)))
            .or_raise(py)?;
        let default = default.unwrap_or_else(|| py.None().into_bound(py));
        let values = found
            .iter()
            .zip(&ks)
            .map(|(v, k)| match v {
                Some(v) => self.decode(py, &raw, k, v),
                None => Ok(default.clone()),
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, values)
    }

    /// Writes every ``(key, value)`` of ``items`` (a mapping or an iterable of pairs), each
    /// atomic on its own, in one batch: in durable mode each touched shard folder is
    /// synced once for the whole call. Every value is encoded before anything is written.
    fn set_many(&self, py: Python<'_>, items: &Bound<'_, PyAny>) -> PyResult<()> {
        let raw = self.writer()?;
        let pairs = pairs(self, items)?;
        py.detach(|| raw.set_many(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))))
            .or_raise(py)
    }

    /// Removes ``keys`` under one lock; returns how many had a value.
    fn delete_many(&self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<usize> {
        let raw = self.writer()?;
        let ks = keys
            .try_iter()?
            .map(|k| self.key_bytes(&k?))
            .collect::<PyResult<Vec<_>>>()?;
        py.detach(|| raw.remove_many(ks.iter().map(Vec::as_slice)))
            .or_raise(py)
    }

    /// Atomically replaces the value of ``key`` with ``func(old)``, across threads and
    /// processes; returns what ``func`` returned.
    ///
    /// ``old`` is the current value, or ``default`` when the key has none. Return
    /// :data:`dirkv.ABSENT` to remove the key. When ``func`` raises, nothing is written and
    /// the exception propagates. The entry keeps its creation time and its expiry unless
    /// ``ttl`` gives a new one. ``func`` runs while the key's lock is held: keep it short,
    /// and do not write to the same store from inside it (that raises ``RuntimeError``).
    #[pyo3(signature = (key, func, *, default = None, ttl = None))]
    fn modify(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        func: &Bound<'_, PyAny>,
        default: Option<&Bound<'_, PyAny>>,
        ttl: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let raw = self.writer()?;
        let k = self.key_bytes(key)?;
        let ttl = ttl
            .filter(|t| !t.is_none())
            .map(|t| options::duration("ttl", t))
            .transpose()?;
        let func = func.clone().unbind();
        let default = default.map_or_else(|| py.None(), |d| d.clone().unbind());
        let entry_path = raw.path_of(&k);
        let codec = &self.codec;
        let mut returned: Option<Py<PyAny>> = None;
        let _inside = Modifying::enter(&self.path);
        let outcome = py.detach(|| {
            raw.try_update(&k, ttl, |old| {
                Python::attach(|py| {
                    let old = match old {
                        Some(bytes) => codec
                            .decode(py, bytes)
                            .map_err(|f| errors::decode_error(py, "the value", &entry_path, f))?,
                        None => default.bind(py).clone(),
                    };
                    let new = func.bind(py).call1((old,))?;
                    let bytes = if is_absent(&new)? {
                        None
                    } else {
                        Some(codec.encode(&new)?)
                    };
                    returned = Some(new.unbind());
                    Ok(bytes)
                })
            })
        });
        match outcome.or_raise(py)? {
            Ok(_) => Ok(returned.unwrap_or_else(|| py.None())),
            Err(raised) => Err(raised),
        }
    }

    /// Writes ``value`` only if ``key`` has no value; atomic across threads and processes.
    /// Returns whether it was written.
    fn set_if_absent(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let raw = self.writer()?;
        let k = self.key_bytes(key)?;
        let v = self.encode(value)?;
        py.detach(|| raw.set_if_absent(&k, &v)).or_raise(py)
    }

    /// Replaces the value of ``key`` with ``new`` only if it now equals ``old`` (Python
    /// ``==`` on the decoded value); atomic across threads and processes. ``old`` of
    /// :data:`dirkv.ABSENT` means "has no value"; ``new`` of ``ABSENT`` removes the key.
    /// Returns whether the swap happened. The entry keeps its expiry.
    fn compare_and_swap(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        old: &Bound<'_, PyAny>,
        new: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let raw = self.writer()?;
        let k = self.key_bytes(key)?;
        let new_bytes = if is_absent(new)? {
            None
        } else {
            Some(self.encode(new)?)
        };
        let old_absent = is_absent(old)?;
        let old = old.clone().unbind();
        let entry_path = raw.path_of(&k);
        let codec = &self.codec;
        let _inside = Modifying::enter(&self.path);
        let outcome = py.detach(|| {
            raw.try_update(&k, None, |current| {
                let equal = match current {
                    None => old_absent,
                    Some(_) if old_absent => false,
                    Some(bytes) => Python::attach(|py| {
                        codec
                            .decode(py, bytes)
                            .map_err(|f| errors::decode_error(py, "the value", &entry_path, f))?
                            .eq(old.bind(py))
                    })
                    .map_err(Decline::Raised)?,
                };
                if equal {
                    Ok(new_bytes.clone())
                } else {
                    Err(Decline::Skip)
                }
            })
        });
        match outcome.or_raise(py)? {
            Ok(_) => Ok(true),
            Err(Decline::Skip) => Ok(false),
            Err(Decline::Raised(e)) => Err(e),
        }
    }

    /// Removes ``key`` and returns its value, atomically; ``default`` when it has none, or
    /// ``KeyError`` without a default.
    #[pyo3(signature = (key, *default))]
    fn pop<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if default.len() > 1 {
            return Err(PyTypeError::new_err(format!(
                "pop expected at most 2 arguments, got {}",
                default.len() + 1
            )));
        }
        let raw = self.writer()?;
        let k = self.key_bytes(key)?;
        let mut old = None;
        let outcome = py
            .detach(|| {
                raw.try_update(&k, None, |current| match current {
                    Some(bytes) => {
                        old = Some(bytes.to_vec());
                        Ok(None)
                    }
                    None => Err(()),
                })
            })
            .or_raise(py)?;
        match (outcome, old) {
            (Ok(_), Some(bytes)) => self.decode(py, &raw, &k, &bytes),
            _ => match default.get_item(0) {
                Ok(d) => Ok(d),
                Err(_) => Err(key_error(key)),
            },
        }
    }

    /// The value of ``key``; when it has none, writes ``default`` and returns it (atomic).
    #[pyo3(signature = (key, default = None))]
    fn setdefault<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let default = default.unwrap_or_else(|| py.None().into_bound(py));
        let raw = self.writer()?;
        let k = self.key_bytes(key)?;
        let v = self.encode(&default)?;
        let mut old = None;
        let outcome = py
            .detach(|| {
                raw.try_update(&k, None, |current| match current {
                    Some(bytes) => {
                        old = Some(bytes.to_vec());
                        Err(())
                    }
                    None => Ok(Some(v.clone())),
                })
            })
            .or_raise(py)?;
        match (outcome, old) {
            (Err(()), Some(bytes)) => self.decode(py, &raw, &k, &bytes),
            _ => Ok(default),
        }
    }

    /// Removes every entry (shard by shard, each under the lock; files that are not
    /// dirkv's are left alone).
    fn clear(&self, py: Python<'_>) -> PyResult<()> {
        let raw = self.writer()?;
        py.detach(|| raw.clear()).or_raise(py)
    }

    /// Removes every expired entry; returns how many.
    fn purge_expired(&self, py: Python<'_>) -> PyResult<usize> {
        let raw = self.writer()?;
        py.detach(|| raw.purge_expired()).or_raise(py)
    }

    /// `(removed, removed_bytes, entries, bytes)`; `dirkv.Store.evict_to` names them.
    fn _evict_to(
        &self,
        py: Python<'_>,
        max_entries: usize,
        max_bytes: u64,
    ) -> PyResult<(usize, u64, usize, u64)> {
        let raw = self.writer()?;
        let e = py
            .detach(|| raw.evict_to(max_entries, max_bytes))
            .or_raise(py)?;
        Ok((e.removed, e.removed_bytes, e.entries, e.bytes))
    }

    /// `(created, modified, expires, accessed, file_len, compressed, encrypted)` or `None`;
    /// `dirkv.Store.metadata` names them.
    #[allow(clippy::type_complexity)]
    fn _metadata(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
    ) -> PyResult<Option<(f64, f64, Option<f64>, Option<f64>, u64, bool, bool)>> {
        let raw = self.raw()?;
        let k = self.key_bytes(key)?;
        let meta = py.detach(|| raw.metadata(&k)).or_raise(py)?;
        Ok(meta.map(|m| {
            (
                seconds(m.created),
                seconds(m.modified),
                m.expires.map(seconds),
                m.accessed.map(seconds),
                m.file_len,
                m.compressed,
                m.encrypted,
            )
        }))
    }

    /// The file that holds (or would hold) the entry of ``key``:
    /// ``<store>/<2 hex>/<sha256 hex of the key bytes>.dkv``.
    fn path_of(&self, key: &Bound<'_, PyAny>) -> PyResult<OsString> {
        let raw = self.raw()?;
        let k = self.key_bytes(key)?;
        Ok(raw.path_of(&k).into_os_string())
    }

    /// Makes every write made through this store durable (the fsyncs that
    /// ``durability="fast"`` skipped); a no-op in durable mode.
    fn sync(&self, py: Python<'_>) -> PyResult<()> {
        let raw = self.raw()?;
        py.detach(|| raw.sync()).or_raise(py)
    }

    /// Removes temp files left by writers that crashed; returns how many.
    fn sweep_temps(&self, py: Python<'_>) -> PyResult<usize> {
        let raw = self.writer()?;
        py.detach(|| raw.sweep_temps()).or_raise(py)
    }

    /// What the value cache holds: a dict of ``entries``, ``bytes``, ``hits``, ``misses``;
    /// ``None`` without a cache.
    fn cache_stats<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let raw = self.raw()?;
        raw.cache_stats()
            .map(|s| {
                let d = PyDict::new(py);
                d.set_item("entries", s.entries)?;
                d.set_item("bytes", s.bytes)?;
                d.set_item("hits", s.hits)?;
                d.set_item("misses", s.misses)?;
                Ok(d)
            })
            .transpose()
    }

    /// Closes the store: later calls raise ``ValueError``. Iterators already started keep
    /// the store open until they end. Does not sync: in fast mode call :meth:`sync` first
    /// for durability against power loss.
    fn close(&self, py: Python<'_>) {
        let handle = self
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Dropping the last handle may stop a sync thread (a final sync): without the GIL.
        py.detach(move || drop(handle));
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> bool {
        self.close(py);
        false
    }
}
