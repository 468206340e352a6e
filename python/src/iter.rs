//! Iterators over a store: its keys, values or items, streamed shard by shard (memory stays
//! flat however large the store). Entries are read in small batches with the GIL released.

use std::collections::VecDeque;
// A Mutex only to make the walk `Sync` (PyO3 requires it); `__next__` has `&mut self`, so
// it is never locked.
use std::sync::{Mutex, PoisonError};

use dirkv::{RawEntries, RawEntry};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors;
use crate::handle::ForkSafe;
use crate::keys::KeyFailure;
use crate::store::StoreBase;

/// Entries read per release of the GIL.
const BATCH_ENTRIES: usize = 64;
/// Value bytes read per release of the GIL at most (after the first entry).
const BATCH_BYTES: usize = 1 << 20;

/// What an iterator yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Yield {
    /// Keys (reads each file's header and key only).
    Keys,
    /// Values.
    Values,
    /// `(key, value)` tuples.
    Items,
}

/// An iterator over a store's keys, values or items. A damaged entry raises its error
/// (``CorruptError``, with the path) when it is reached; calling ``next()`` again goes on
/// with the entries after it. Entries written or removed during the walk may or may not be
/// seen.
#[pyclass(module = "dirkv._dirkv", name = "StoreIterator")]
pub struct EntryIter {
    store: Py<StoreBase>,
    entries: Option<ForkSafe<Mutex<RawEntries>>>,
    batch: VecDeque<dirkv::Result<RawEntry>>,
    what: Yield,
}

impl EntryIter {
    pub fn new(store: &Bound<'_, StoreBase>, what: Yield) -> PyResult<Self> {
        let raw = store.get().handle()?;
        let entries = if what == Yield::Keys {
            raw.keys()
        } else {
            raw.entries()
        };
        Ok(EntryIter {
            store: store.clone().unbind(),
            entries: Some(ForkSafe::new(Mutex::new(entries))),
            batch: VecDeque::new(),
            what,
        })
    }

    /// Reads the next batch of entries without the GIL; `false` at the end.
    fn refill(&mut self, py: Python<'_>) -> PyResult<bool> {
        let Some(held) = self.entries.as_mut() else {
            return Ok(false);
        };
        let Some(entries) = held
            .get_mut()
            .map(|m| m.get_mut().unwrap_or_else(PoisonError::into_inner))
        else {
            return Err(PyRuntimeError::new_err(
                "this iterator was started before the process forked; start a new one",
            ));
        };
        let batch = py.detach(|| {
            let mut batch = VecDeque::new();
            let mut bytes = 0;
            while batch.len() < BATCH_ENTRIES && bytes < BATCH_BYTES {
                match entries.next() {
                    Some(entry) => {
                        if let Ok(e) = &entry {
                            bytes += e.value.as_ref().map_or(0, Vec::len);
                        }
                        batch.push_back(entry);
                    }
                    None => break,
                }
            }
            batch
        });
        if batch.is_empty() {
            self.entries = None;
            return Ok(false);
        }
        self.batch = batch;
        Ok(true)
    }
}

#[pymethods]
impl EntryIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if self.batch.is_empty() && !self.refill(py)? {
            return Ok(None);
        }
        let Some(next) = self.batch.pop_front() else {
            return Ok(None);
        };
        let entry = next.map_err(|e| errors::to_py(py, e))?;
        let store = self.store.get();
        let key = || {
            store
                .key_type()
                .key_of(py, &entry.key)
                .map_err(|f| match f {
                    KeyFailure::Bad(m) => errors::new_error(
                        py,
                        "DecodeError",
                        "decode",
                        format!("cannot decode the key ({m}): {}", entry.path.display()),
                        Some(&entry.path),
                        None,
                    ),
                    KeyFailure::Python(e) => e,
                })
        };
        let value = || {
            store
                .codec()
                .decode(py, entry.value.as_deref().unwrap_or_default())
                .map_err(|f| errors::decode_error(py, "the value", &entry.path, f))
        };
        Ok(Some(match self.what {
            Yield::Keys => key()?,
            Yield::Values => value()?,
            Yield::Items => PyTuple::new(py, [key()?, value()?])?.into_any(),
        }))
    }
}
