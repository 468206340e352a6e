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
//! `json`) `Json`. [`RawStore`] opens any store without its types (key bytes in, value
//! bytes out), for tools such as the `dirkv` command; its [`RawStore::scan`] and
//! [`RawStore::quarantine`] look at and repair a store folder, and [`StoreFolder`] reads a
//! store's manifest and scans it without opening it (no lock, no key).
//!
//! Cargo features, all off by default so the default build stays small:
//!
//! - `json`: the `Json` codec (`serde_json`), so `cat` shows values.
//! - `compression`: per-entry LZ4 compression above a size threshold
//!   (`Options::compression`; `lz4_flex`, pure Rust).
//! - `encryption`: XChaCha20-Poly1305 encryption of keys and values with keyed file names
//!   (`Options::encryption` with an `EncryptionKey`; RustCrypto crates, Argon2id for
//!   passphrases).
//! - `cli`: the `dirkv` command (with `compression` and `encryption`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod atomic;
mod cache;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
mod clock;
mod codec;
mod compress;
mod crypto;
mod engine;
#[doc(hidden)]
pub mod entry;
mod error;
mod expiry;
mod flush;
mod inspect;
mod iter;
mod key;
#[doc(hidden)]
pub mod layout;
mod lock;
mod open;
mod options;
mod policy;
mod raw;
mod read;
mod store;
mod sys;

pub use cache::{CacheMode, CacheStats};
pub use clock::{Clock, ManualClock, SystemClock};
#[cfg(feature = "json")]
pub use codec::Json;
pub use codec::{Codec, MsgPack, Raw};
#[cfg(feature = "encryption")]
pub use crypto::EncryptionKey;
pub use error::{BoxError, Error, ErrorKind, Result};
pub use expiry::{EntryMeta, Eviction};
pub use inspect::{FileType, ItemKind, Quarantine, Scan, ScanItem, StoreFolder};
pub use iter::{Iter, Keys, Values};
pub use key::{Key, OwnedKey, SerdeKey};
pub use options::{Durability, Exists, Options};
pub use raw::{Access, EntryInfo, RawEntries, RawEntry, RawStore};
pub use store::Store;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
