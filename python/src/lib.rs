//! The native module `dirkv._dirkv` of the Python package `dirkv`: a store folder shared
//! with the Rust crate and the `dirkv` command, opened through the crate's public
//! byte-level API (`RawStore`). The Python-facing classes and their documentation live in
//! `python/dirkv/__init__.py`, which subclasses [`store::StoreBase`] as `dirkv.Store`.
//!
//! ```text
//! lib.rs      the module
//! store.rs    StoreBase: open, get/set/…, modify, compare_and_swap, the GIL released per call
//! iter.rs     streaming iterators over keys, values, items
//! options.rs  Store(...)'s keyword options -> dirkv::Options, and how a store is opened
//! keys.rs     Python keys <-> canonical key bytes (str, bytes, int, msgpack)
//! codec.rs    values <-> bytes per the manifest's codec (msgpack, json, raw, pickle)
//! msgpack.rs  Python <-> MessagePack, as rmp_serde maps Rust types
//! errors.rs   dirkv::Error -> the exception classes of dirkv/_errors.py
//! clock.rs    ManualClock for tests of expiry
//! handle.rs   store handles across fork()
//! ```

#![forbid(unsafe_code)]

mod clock;
mod codec;
mod errors;
mod handle;
mod iter;
mod keys;
mod msgpack;
mod options;
mod store;

use pyo3::prelude::*;

#[pymodule]
fn _dirkv(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<store::StoreBase>()?;
    m.add_class::<iter::EntryIter>()?;
    m.add_class::<clock::ManualClock>()?;
    m.add("ABSENT", store::absent(m.py())?.clone_ref(m.py()))?;
    m.add_function(wrap_pyfunction!(handle::after_fork_in_child, m)?)?;
    m.add("MAX_DEPTH", msgpack::MAX_DEPTH)?;
    Ok(())
}
