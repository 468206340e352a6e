//! The guide: how dirkv behaves and why, one page per topic. These modules hold no code;
//! each is a page of `docs/` in the repository, and its Rust examples are doctests.
//!
//! - [`opening`]: open modes, what `Exists::Replace` promises beside other writers, the
//!   parent folder, every option with its default.
//! - [`keys_and_values`]: key types and how they name files, value codecs, size limits,
//!   errors.
//! - [`expiry`]: entry times, TTLs, access tracking, eviction to size bounds.
//! - [`caching`]: the value cache, write-back mode, the background flush.
//! - [`compression`] and [`encryption`]: the two optional value transforms.
//! - [`object_storage`]: the same store on S3-compatible object storage (feature
//!   `object-store`): URLs, credentials, what each guarantee becomes, requests per operation.
//! - [`guarantees`]: atomicity, durability modes, crashes and power cuts, concurrency,
//!   damage, network file systems, object storage, and the test behind each promise.
//! - [`hostile`]: others who can write into the store folder: the threat model, handles
//!   not paths, trusted links, the bounds on what is read, and the attack behind each
//!   promise.
//! - [`format`](mod@format): the on-disk format (folders, manifest, entry files) and shell recipes
//!   that read it by hand.
//! - [`cli`]: the `dirkv` command (feature `cli`).
//! - [`shell`]: recipes for working on a live store with `find`, `cp`, `rsync`, `rm` and
//!   `dirkv`.
//! - [`performance`]: what each operation costs against the file system's floor, system
//!   calls per operation, disk space per entry.
//! - [`dependencies`]: what each dependency is for, and the MSRV.

#[doc = include_str!("../docs/opening.md")]
pub mod opening {}

#[doc = include_str!("../docs/keys_and_values.md")]
pub mod keys_and_values {}

#[doc = include_str!("../docs/expiry.md")]
pub mod expiry {}

#[doc = include_str!("../docs/caching.md")]
pub mod caching {}

#[doc = include_str!("../docs/compression.md")]
pub mod compression {}

#[doc = include_str!("../docs/encryption.md")]
pub mod encryption {}

#[doc = include_str!("../docs/object_storage.md")]
pub mod object_storage {}

#[doc = include_str!("../docs/guarantees.md")]
pub mod guarantees {}

#[doc = include_str!("../docs/hostile.md")]
pub mod hostile {}

#[doc = include_str!("../docs/format.md")]
pub mod format {}

#[doc = include_str!("../docs/cli.md")]
pub mod cli {}

#[doc = include_str!("../docs/shell.md")]
pub mod shell {}

#[doc = include_str!("../docs/performance.md")]
pub mod performance {}

#[doc = include_str!("../docs/dependencies.md")]
pub mod dependencies {}
