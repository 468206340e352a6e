//! # dirkv: a directory-backed key-value store, one file per key
//!
//! A [`Store<K, V>`](Store) behaves like a `HashMap<K, V>` that lives in a folder: each key
//! is hashed (SHA-256) to a file name, each value is a serde type stored as MessagePack,
//! and each write is a temp file renamed into place, so a reader or a crash sees the old
//! value or the new one, never a mix. The folder can be inspected, backed up and repaired
//! with `ls`, `cat`, `grep`, `rm` and `rsync`, and the `dirkv` tool (feature `cli`) shows
//! any value as JSON.
//!
//! Use it when:
//! - a program needs a persistent map without running a database;
//! - values are large or many and must not all sit in RAM (only what you read does);
//! - several threads or processes share the data, or people must inspect it by hand.
//!
//! Prefer an embedded database (redb, SQLite) when you need multi-key transactions or
//! millions of tiny values where a 4 KiB block per key is too much space.
//!
//! ```
//! use dirkv::{Exists, Store};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct Page { title: String, words: u32 }
//!
//! let dir = tempfile::tempdir()?;
//! let store: Store<String, Page> = Store::open(dir.path().join("pages"), Exists::OpenOrCreate)?;
//! store.set("home", &Page { title: "Home".into(), words: 120 })?;
//! assert_eq!(store.get("home")?.map(|p| p.words), Some(120));
//! assert!(store.path_of("home").exists());
//! # Ok::<(), dirkv::Error>(())
//! ```
//!
//! Main types: [`Store`] (the map), [`Exists`] (open modes), [`Options`] (the builder:
//! [`Durability`], read-only, codec, lock timeout, expiry, eviction, access tracking, a
//! [`Clock`], a value cache with its [`CacheMode`], a background sync interval),
//! [`Error`] with [`ErrorKind`], the [`Key`]/[`OwnedKey`] traits with
//! [`SerdeKey`] for any serde key, and [`Codec`] with [`MsgPack`], [`Raw`] and (feature
//! `json`) `Json`. [`RawStore`] is the same store without its types (key bytes in, value
//! bytes out), for tools such as the `dirkv` command and other languages; its
//! [`RawStore::scan`] and [`RawStore::quarantine`] look at and repair a store folder, and
//! [`StoreFolder`] reads a store's manifest and scans it without opening it (no lock, no
//! key). [`format`](mod@format) is the on-disk format as pure functions.
//!
//! The [`guide`] explains the rest, one page per topic: [open modes and
//! options](guide::opening), [keys, values and limits](guide::keys_and_values),
//! [expiry and eviction](guide::expiry), [caching and write-back](guide::caching),
//! [compression](guide::compression), [encryption](guide::encryption), [stores on
//! object storage](guide::object_storage), [guarantees and their
//! tests](guide::guarantees), the [on-disk format](guide::format), the
//! [`dirkv` command](guide::cli), [shell recipes](guide::shell),
//! [performance](guide::performance) and [dependencies](guide::dependencies).
//!
//! Cargo features, all off by default so the default build stays small:
//!
//! - `json`: the `Json` codec (`serde_json`), so `cat` shows values.
//! - `compression`: per-entry LZ4 compression above a size threshold
//!   (`Options::compression`; `lz4_flex`, pure Rust).
//! - `encryption`: XChaCha20-Poly1305 encryption of keys and values with keyed file names
//!   (`Options::encryption` with an `EncryptionKey`; RustCrypto crates, Argon2id for
//!   passphrases).
//! - `object-store`: the same store on S3-compatible object storage, one object per key
//!   (`Options::open_url("s3://bucket/prefix", …)`, `Options::object_store(…)`, and
//!   `memory://` stores for tests), through Apache Arrow's `object_store` client, which
//!   is re-exported as `dirkv::object_store`; `object-store-gcp` and
//!   `object-store-azure` add `gs://` and `az://` URLs.
//! - `cli`: the `dirkv` command (with `compression` and `encryption`; with
//!   `object-store` it also takes store URLs).
//!
//! # Architecture
//!
//! The crate is built in layers; each uses only the layers above it in this list, and no
//! module imports one that imports it back.
//!
//! ```text
//! lib.rs, error.rs, clock.rs, parallel.rs   crate docs and re-exports; the one Error
//!                                           (with its IoResultExt context helper);
//!                                           time; running a batch's steps in threads
//! format/   pure, no I/O: the entry header and checksum, the manifest and the one check
//!           of names written into it, the names of a store's files (hash -> shard/file),
//!           the one table of key encodings, times as text
//! fs/       the only code that touches the local file system, all through the store
//!           folder's open handle: platform calls (rustix), the folder and its shard
//!           handles, bounded reads, the one write recipe, the lock and a writer's marker,
//!           the one shard walker, the temp sweep, probing/creating/destroying a folder
//! object/   beside fs/ (feature `object-store`): the only code that talks to an object
//!           store, as blocking calls: a tokio runtime per store on threads of its own
//!           (answers over a channel), GET/HEAD/PUT (plain or conditional), streamed LIST,
//!           batched DELETE, many requests at once; store URLs
//! seal/     value transforms between codec bytes and an entry: compression, encryption,
//!           the name hash
//! engine/   the non-generic store over a storage trait: the local file system
//!           (local.rs, over fs/) or object storage (remote/, over object/), each with
//!           its opening (open.rs, remote_open.rs: one Exists table); settings, reads,
//!           writes and read-modify-writes (locked, or conditional puts retried), batches,
//!           the one listing loop, background flush, expiry and eviction, the value cache
//! raw/      RawStore: the byte-level API, a thin handle on the engine; the one metadata
//!           type
//! store/    Store<K, V, C>: a RawStore plus key and value encoding; Options (and
//!           RemoteOptions, for object storage), iterators, keys, codecs
//! repair/   scan, quarantine, verify, restore (StoreFolder), through the folder's handle
//! bin/dirkv/  the command-line tool (feature `cli`), on the public API only
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
mod engine;
mod error;
pub mod format;
mod fs;
pub mod guide;
#[cfg(feature = "object-store")]
mod object;
mod parallel;
mod raw;
mod repair;
mod seal;
mod store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use engine::cache::{CacheMode, CacheStats};
pub use engine::expiry::Eviction;
pub use error::{BoxError, Error, ErrorKind, Result};
pub use raw::{Access, EntryInfo, EntryMeta, RawEntries, RawEntry, RawStore};
pub use repair::{FileType, ItemKind, Quarantine, Scan, ScanItem, StoreFolder};
#[cfg(feature = "encryption")]
#[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
pub use seal::crypto::EncryptionKey;
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub use store::codec::Json;
pub use store::codec::{Codec, MsgPack, Raw};
pub use store::key::{Key, OwnedKey, SerdeKey};
pub use store::options::{Durability, Exists, Options};
#[cfg(feature = "object-store")]
#[cfg_attr(docsrs, doc(cfg(feature = "object-store")))]
pub use store::remote::RemoteOptions;
pub use store::{Iter, Keys, RawBytes, Store, Values};

/// The `object_store` crate this build uses (feature `object-store`), so that an object
/// store given to [`Options::object_store`] is of the same version.
#[cfg(feature = "object-store")]
#[cfg_attr(docsrs, doc(cfg(feature = "object-store")))]
pub use object_store;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
