//! The integration tests, in one test binary (one link instead of one per file). Each
//! module was a file of its own under `tests/`; `common` and `cli_support` hold the
//! helpers they share.
//!
//! Run one module with a filter: `cargo test --test it crash::`. Tests that need a feature
//! are compiled only with it: the `dirkv` command's tests with `cli`, the others by their
//! own `#[cfg]`s (the object-storage tests with `object-store`, against moto; see
//! `common::moto`). `cargo test --all-features` runs them all.
//!
//! Some tests run child processes: this binary itself, running one child entry (a test named
//! `child_*`, marked `#[ignore]`) through `common::ChildTest`. A normal run lists the child
//! entries as ignored; their parent tests run them, and fail when they fail.

mod common;

#[cfg(feature = "cli")]
mod cli_support;

mod api;
mod attacks;
mod bad_input;
mod cache;
#[cfg(feature = "cli")]
mod cli;
#[cfg(feature = "cli")]
mod cli_encryption;
#[cfg(feature = "cli")]
mod cli_memory;
#[cfg(all(feature = "cli", feature = "object-store"))]
mod cli_object_store;
mod cli_raw_api;
#[cfg(feature = "cli")]
mod cli_readme;
#[cfg(feature = "cli")]
mod cli_verify;
mod codecs;
mod compression;
mod concurrency;
mod crash;
mod durability;
#[cfg(feature = "encryption")]
mod encryption;
#[cfg(not(feature = "encryption"))]
mod encryption_absent;
mod eviction;
mod expiry;
mod flush;
mod fuzz_props;
mod hostile;
mod model;
#[cfg(feature = "object-store")]
mod object_store;
#[cfg(feature = "object-store")]
mod object_store_remote;
mod raw_features;
mod readme_recipes;
mod write_back;
