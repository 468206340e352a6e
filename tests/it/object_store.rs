//! The shared behaviour suite, run against every backend from one set of tests: a local
//! folder, `object_store`'s in-memory store, and S3 over HTTP on 127.0.0.1 (moto in
//! server mode, through the real `object_store` S3 client). Each behaviour is written once
//! as a function of its [`Backend`]; `suite!` makes one `#[test]` per backend of it
//! (`local::…`, `memory::…`, `s3::…`). Without moto the `s3::` tests print why and pass
//! (in CI they fail instead).
//!
//! Tests that only make sense on object storage (several processes on one bucket, a
//! server killed mid-batch, a local store copied into a bucket and back, faults, calls
//! from inside a tokio runtime) are in `object_store_remote.rs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::common::layout;
use crate::common::moto::{BUCKET, Moto, block, unique_prefix};
use dirkv::object_store::memory::InMemory;
use dirkv::object_store::path::Path as ObjectPath;
use dirkv::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use dirkv::{Codec, ErrorKind, Exists, ManualClock, MsgPack, Options, OwnedKey, RawStore, Store};

/// Where a test's store lives.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Local,
    Memory,
    S3,
}

/// One test's place for a store: a folder path that does not exist yet, or an empty
/// prefix of an object store.
pub struct Place {
    _dir: Option<tempfile::TempDir>,
    kind: Kind,
}

enum Kind {
    Local(PathBuf),
    Remote {
        os: Arc<dyn ObjectStore>,
        prefix: String,
        url: String,
    },
}

impl Backend {
    /// A fresh place, or `None` when this backend cannot run here (printed).
    pub fn place(self, name: &str) -> Option<Place> {
        let prefix = unique_prefix(name);
        let kind = match self {
            Backend::Local => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("store");
                return Some(Place {
                    _dir: Some(dir),
                    kind: Kind::Local(path),
                });
            }
            Backend::Memory => Kind::Remote {
                os: Arc::new(InMemory::new()),
                url: format!("memory://test/{prefix}"),
                prefix,
            },
            Backend::S3 => {
                let moto = Moto::shared()?;
                Kind::Remote {
                    os: moto.client(BUCKET),
                    url: format!("s3://{BUCKET}/{prefix}"),
                    prefix,
                }
            }
        };
        Some(Place { _dir: None, kind })
    }
}

impl Place {
    pub fn is_local(&self) -> bool {
        matches!(self.kind, Kind::Local(_))
    }

    /// Opens a typed store here.
    pub fn open<K: OwnedKey, V, C: Codec<V>>(
        &self,
        options: Options<K, V, C>,
        mode: Exists,
    ) -> dirkv::Result<Store<K, V, C>> {
        match &self.kind {
            Kind::Local(path) => options.open(path, mode),
            Kind::Remote { os, prefix, url } => options
                .object_store(Arc::clone(os), prefix)
                .named(url)
                .open_remote(mode),
        }
    }

    /// Opens a `Store<String, u64>` with default options.
    pub fn counters(&self, mode: Exists) -> dirkv::Result<Store<String, u64>> {
        self.open(Store::options(), mode)
    }

    /// Opens the store here as a raw store, as found.
    pub fn raw(&self) -> dirkv::Result<RawStore> {
        match &self.kind {
            Kind::Local(path) => RawStore::options().open_raw_as_found(path),
            Kind::Remote { os, prefix, url } => RawStore::options()
                .object_store(Arc::clone(os), prefix)
                .named(url)
                .open_raw_remote_as_found(),
        }
    }

    /// The URL or path of the store, as errors name it.
    pub fn shown(&self) -> PathBuf {
        match &self.kind {
            Kind::Local(path) => path.clone(),
            Kind::Remote { url, .. } => PathBuf::from(url),
        }
    }

    fn location(prefix: &str, rel: &str) -> ObjectPath {
        ObjectPath::from(format!("{prefix}/{rel}"))
    }

    /// Writes a file (or object) at `rel`, relative to the store, as another program
    /// would.
    pub fn put_file(&self, rel: &str, bytes: &[u8]) {
        match &self.kind {
            Kind::Local(path) => {
                let file = path.join(rel);
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(file, bytes).unwrap();
            }
            Kind::Remote { os, prefix, .. } => {
                let payload = PutPayload::from(bytes.to_vec());
                block(os.put(&Self::location(prefix, rel), payload)).unwrap();
            }
        }
    }

    /// The file (or object) at `rel`, when there is one.
    pub fn read_file(&self, rel: &str) -> Option<Vec<u8>> {
        match &self.kind {
            Kind::Local(path) => std::fs::read(path.join(rel)).ok(),
            Kind::Remote { os, prefix, .. } => block(async {
                let got = os.get(&Self::location(prefix, rel)).await.ok()?;
                got.bytes().await.ok().map(|b| b.to_vec())
            }),
        }
    }
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod local { $( #[test] fn $name() { super::$name(super::Backend::Local) } )* }
        mod memory { $( #[test] fn $name() { super::$name(super::Backend::Memory) } )* }
        mod s3 { $( #[test] fn $name() { super::$name(super::Backend::S3) } )* }
    };
}

suite!(
    set_get_remove_and_listing,
    exists_table,
    foreign_contents_are_never_adopted,
    replace_empties_and_keeps_foreign_files,
    update_from_threads_is_exact,
    set_if_absent_claims_once,
    compare_and_swap_swaps_only_from_current,
    batches_write_read_and_remove,
    expiry_and_purge,
    cache_sees_other_handles_writes,
    damaged_entry_is_corrupt_with_its_path,
    clear_leaves_foreign_files,
    destroy_then_reopen_is_not_found,
    settings_are_checked_on_open,
    read_only_refuses_writes,
    raw_store_reads_and_writes,
    codecs_compression_and_encryption,
    entry_layout_is_the_same,
);

fn set_get_remove_and_listing(b: Backend) {
    let Some(place) = b.place("basics") else {
        return;
    };
    let store = place.counters(Exists::OpenOrCreate).unwrap();
    assert!(store.is_empty().unwrap());
    assert_eq!(store.get("a").unwrap(), None);
    store.set("a", &1).unwrap();
    store.set("b", &2).unwrap();
    store.set("a", &3).unwrap();
    assert_eq!(store.get("a").unwrap(), Some(3));
    assert!(store.contains_key("b").unwrap());
    assert_eq!(store.len().unwrap(), 2);
    let mut keys: Vec<String> = store.keys().map(|k| k.unwrap()).collect();
    keys.sort();
    assert_eq!(keys, ["a", "b"]);
    let mut all: Vec<(String, u64)> = store.iter().map(|e| e.unwrap()).collect();
    all.sort();
    assert_eq!(all, [("a".to_string(), 3), ("b".to_string(), 2)]);
    assert!(store.remove("a").unwrap());
    assert!(!store.remove("a").unwrap());
    assert_eq!(store.get("a").unwrap(), None);
    assert_eq!(store.len().unwrap(), 1);
    assert!(store.metadata("b").unwrap().is_some());
    // A second handle sees the same data.
    let again = place.counters(Exists::Update).unwrap();
    assert_eq!(again.get("b").unwrap(), Some(2));
}

fn exists_table(b: Backend) {
    let Some(place) = b.place("exists") else {
        return;
    };
    assert_eq!(
        place.counters(Exists::Update).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let store = place.counters(Exists::Error).unwrap();
    store.set("k", &1).unwrap();
    assert_eq!(
        place.counters(Exists::Error).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        place
            .counters(Exists::OpenOrCreate)
            .unwrap()
            .get("k")
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        place.counters(Exists::Update).unwrap().get("k").unwrap(),
        Some(1)
    );
    let replaced = place.counters(Exists::Replace).unwrap();
    assert_eq!(replaced.get("k").unwrap(), None);
    assert!(replaced.is_empty().unwrap());
    // A fresh place: Replace and OpenOrCreate create.
    let Some(other) = b.place("exists-new") else {
        return;
    };
    other
        .counters(Exists::Replace)
        .unwrap()
        .set("x", &9)
        .unwrap();
    assert_eq!(
        other
            .counters(Exists::OpenOrCreate)
            .unwrap()
            .get("x")
            .unwrap(),
        Some(9)
    );
}

fn foreign_contents_are_never_adopted(b: Backend) {
    let Some(place) = b.place("foreign") else {
        return;
    };
    place.put_file("notes.txt", b"mine");
    for mode in [
        Exists::Error,
        Exists::Replace,
        Exists::Update,
        Exists::OpenOrCreate,
    ] {
        let err = place.counters(mode).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotAStore, "{mode:?}");
    }
    assert_eq!(place.read_file("notes.txt").as_deref(), Some(&b"mine"[..]));
    // Entries without a manifest (a half-copied store) are foreign too.
    let Some(half) = b.place("half") else { return };
    half.put_file(&layout::entry_rel_path(&[7; 32]), b"x");
    assert_eq!(
        half.counters(Exists::Replace).unwrap_err().kind(),
        ErrorKind::NotAStore
    );
}

fn replace_empties_and_keeps_foreign_files(b: Backend) {
    let Some(place) = b.place("replace") else {
        return;
    };
    let store = place.counters(Exists::OpenOrCreate).unwrap();
    for i in 0..20u64 {
        store.set(&format!("k{i}"), &i).unwrap();
    }
    place.put_file("notes.txt", b"keep");
    place.put_file("ab/readme", b"keep too");
    let replaced: Store<String, Vec<u8>, _> = place
        .open(Store::options().codec(dirkv::Raw), Exists::Replace)
        .unwrap();
    assert_eq!(replaced.len().unwrap(), 0);
    replaced.set("new", &b"v".to_vec()).unwrap();
    assert_eq!(place.read_file("notes.txt").as_deref(), Some(&b"keep"[..]));
    assert_eq!(
        place.read_file("ab/readme").as_deref(),
        Some(&b"keep too"[..])
    );
    // The manifest now names the new codec settings: the old type no longer opens.
    assert_eq!(
        place.counters(Exists::Update).unwrap_err().kind(),
        ErrorKind::IncompatibleFormat
    );
}

fn update_from_threads_is_exact(b: Backend) {
    let Some(place) = b.place("update") else {
        return;
    };
    let store = place.counters(Exists::OpenOrCreate).unwrap();
    let n = 15u64;
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..n {
                    store.update("c", |v| Some(v.unwrap_or(0) + 1)).unwrap();
                }
            });
        }
    });
    assert_eq!(store.get("c").unwrap(), Some(4 * n));
    // Returning None removes the key.
    assert_eq!(store.update("c", |_| None).unwrap(), None);
    assert_eq!(store.get("c").unwrap(), None);
}

fn set_if_absent_claims_once(b: Backend) {
    let Some(place) = b.place("claim") else {
        return;
    };
    let store = place.counters(Exists::OpenOrCreate).unwrap();
    let wins = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (store, wins) = (&store, &wins);
            s.spawn(move || {
                for k in 0..10 {
                    if store.set_if_absent(&format!("job{k}"), &t).unwrap() {
                        wins.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(wins.into_inner(), 10);
    assert!(!store.set_if_absent("job0", &99).unwrap());
    assert_ne!(store.get("job0").unwrap(), Some(99));
}

fn compare_and_swap_swaps_only_from_current(b: Backend) {
    let Some(place) = b.place("cas") else { return };
    let store = place.counters(Exists::OpenOrCreate).unwrap();
    assert!(store.compare_and_swap("k", None, Some(&1)).unwrap());
    assert!(!store.compare_and_swap("k", None, Some(&2)).unwrap());
    assert!(!store.compare_and_swap("k", Some(&5), Some(&2)).unwrap());
    assert!(store.compare_and_swap("k", Some(&1), Some(&2)).unwrap());
    assert_eq!(store.get("k").unwrap(), Some(2));
    assert!(store.compare_and_swap("k", Some(&2), None).unwrap());
    assert_eq!(store.get("k").unwrap(), None);
}

fn batches_write_read_and_remove(b: Backend) {
    let Some(place) = b.place("batch") else {
        return;
    };
    let store = place.counters(Exists::OpenOrCreate).unwrap();
    let items: Vec<(String, u64)> = (0..300u64).map(|i| (format!("k{i}"), i)).collect();
    store
        .set_many(
            items
                .iter()
                .map(|(k, v)| (k.as_str(), v))
                .chain([("k7", &700)]),
        )
        .unwrap();
    assert_eq!(store.len().unwrap(), 300);
    let keys: Vec<String> = (0..310u64).map(|i| format!("k{i}")).collect();
    let got = store.get_many(keys.iter().map(String::as_str)).unwrap();
    for (i, v) in got.iter().enumerate() {
        let want = match i {
            7 => Some(700),
            i if i < 300 => Some(i as u64),
            _ => None,
        };
        assert_eq!(*v, want, "k{i}");
    }
    let gone = store
        .remove_many(keys.iter().take(150).map(String::as_str).chain(["nope"]))
        .unwrap();
    assert_eq!(gone, 150);
    assert_eq!(store.len().unwrap(), 150);
    assert_eq!(store.get("k0").unwrap(), None);
    assert_eq!(store.get("k299").unwrap(), Some(299));
}

fn expiry_and_purge(b: Backend) {
    let Some(place) = b.place("expiry") else {
        return;
    };
    let clock = Arc::new(ManualClock::new());
    let store: Store<String, u64> = place
        .open(Store::options().clock(clock.clone()), Exists::OpenOrCreate)
        .unwrap();
    store
        .set_with_ttl("short", &1, Duration::from_secs(10))
        .unwrap();
    store.set("forever", &2).unwrap();
    assert_eq!(store.get("short").unwrap(), Some(1));
    clock.advance(Duration::from_secs(11));
    assert_eq!(store.get("short").unwrap(), None);
    assert!(!store.contains_key("short").unwrap());
    // Expired entries still stored are counted by `len` until purged (at most one: a
    // local read removed it already).
    assert!(store.purge_expired().unwrap() <= 1);
    assert_eq!(store.len().unwrap(), 1);
    assert_eq!(store.get("forever").unwrap(), Some(2));
    // An update of an expired entry starts afresh.
    assert_eq!(
        store
            .update("short", |v| Some(v.unwrap_or(40) + 2))
            .unwrap(),
        Some(42)
    );
}

fn cache_sees_other_handles_writes(b: Backend) {
    let Some(place) = b.place("cache") else {
        return;
    };
    let cached: Store<String, u64> = place
        .open(Store::options().cache(100, 1 << 20), Exists::OpenOrCreate)
        .unwrap();
    let other = place.counters(Exists::Update).unwrap();
    cached.set("k", &1).unwrap();
    // A local file less than a moment old is not cached by identity (its id could be
    // reused within the file system's time granularity).
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(cached.get("k").unwrap(), Some(1));
    assert_eq!(cached.get("k").unwrap(), Some(1));
    let hits = cached.cache_stats().unwrap().hits;
    assert!(hits >= 1, "{hits}");
    // Another writer: a validated hit notices (a stat locally, a HEAD remotely).
    other.set("k", &2).unwrap();
    assert_eq!(cached.get("k").unwrap(), Some(2));
    other.remove("k").unwrap();
    assert_eq!(cached.get("k").unwrap(), None);
}

fn damaged_entry_is_corrupt_with_its_path(b: Backend) {
    let Some(place) = b.place("damage") else {
        return;
    };
    let store = place.counters(Exists::OpenOrCreate).unwrap();
    store.set("k", &1).unwrap();
    store.set("fine", &2).unwrap();
    let rel = {
        let p = store.path_of("k");
        let shown = place.shown();
        p.strip_prefix(&shown).unwrap().to_str().unwrap().to_owned()
    };
    let mut bytes = place.read_file(&rel).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    place.put_file(&rel, &bytes);
    let err = store.get("k").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert_eq!(err.path(), Some(store.path_of("k").as_path()));
    assert!(err.path().unwrap().starts_with(place.shown()));
    // Iteration yields the error and goes on.
    let items: Vec<_> = store.iter().collect();
    assert_eq!(items.iter().filter(|i| i.is_err()).count(), 1);
    assert_eq!(items.iter().filter(|i| i.is_ok()).count(), 1);
    // Garbage and an empty object are damage too, never a value.
    place.put_file(&rel, b"");
    assert_eq!(store.get("k").unwrap_err().kind(), ErrorKind::Corrupt);
    place.put_file(&rel, b"not an entry at all, just some bytes of text");
    assert_eq!(store.get("k").unwrap_err().kind(), ErrorKind::Corrupt);
}

fn clear_leaves_foreign_files(b: Backend) {
    let Some(place) = b.place("clear") else {
        return;
    };
    let store = place.counters(Exists::OpenOrCreate).unwrap();
    for i in 0..50u64 {
        store.set(&format!("k{i}"), &i).unwrap();
    }
    place.put_file("notes.txt", b"keep");
    place.put_file("00/readme", b"keep");
    store.clear().unwrap();
    assert_eq!(store.len().unwrap(), 0);
    assert_eq!(store.get("k1").unwrap(), None);
    assert_eq!(place.read_file("notes.txt").as_deref(), Some(&b"keep"[..]));
    assert_eq!(place.read_file("00/readme").as_deref(), Some(&b"keep"[..]));
    store.set("after", &1).unwrap();
    assert_eq!(store.len().unwrap(), 1);
}

fn destroy_then_reopen_is_not_found(b: Backend) {
    let Some(place) = b.place("destroy") else {
        return;
    };
    let store = place.counters(Exists::OpenOrCreate).unwrap();
    store.set("k", &1).unwrap();
    let other = place.counters(Exists::Update).unwrap();
    store.destroy().unwrap();
    assert_eq!(other.get("k").unwrap(), None);
    assert_eq!(
        place.counters(Exists::Update).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    place.counters(Exists::Error).unwrap();
}

fn settings_are_checked_on_open(b: Backend) {
    let Some(place) = b.place("settings") else {
        return;
    };
    place.counters(Exists::OpenOrCreate).unwrap();
    let err = place
        .open::<String, Vec<u8>, _>(Store::options().codec(dirkv::Raw), Exists::Update)
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::IncompatibleFormat);
    let err = place
        .open::<u64, u64, _>(Store::options(), Exists::OpenOrCreate)
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::IncompatibleFormat);
    let raw = place.raw().unwrap();
    assert_eq!((raw.key_encoding(), raw.codec()), ("utf8", "msgpack"));
}

fn read_only_refuses_writes(b: Backend) {
    let Some(place) = b.place("read-only") else {
        return;
    };
    place
        .counters(Exists::OpenOrCreate)
        .unwrap()
        .set("k", &1)
        .unwrap();
    let ro: Store<String, u64> = place
        .open(Store::options().read_only(true), Exists::Update)
        .unwrap();
    assert_eq!(ro.get("k").unwrap(), Some(1));
    assert_eq!(ro.set("k", &2).unwrap_err().kind(), ErrorKind::ReadOnly);
    assert_eq!(ro.remove("k").unwrap_err().kind(), ErrorKind::ReadOnly);
    assert_eq!(
        ro.update("k", |v| v.map(|v| v + 1)).unwrap_err().kind(),
        ErrorKind::ReadOnly
    );
    let Some(empty) = b.place("read-only-new") else {
        return;
    };
    let err = empty
        .open::<String, u64, _>(Store::options().read_only(true), Exists::OpenOrCreate)
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::ReadOnly);
}

fn raw_store_reads_and_writes(b: Backend) {
    let Some(place) = b.place("raw") else { return };
    let typed = place.counters(Exists::OpenOrCreate).unwrap();
    typed.set("seven", &7).unwrap();
    let raw = place.raw().unwrap();
    let entry = raw.get(b"seven").unwrap().unwrap();
    assert_eq!(entry.value.as_deref(), Some(&[7u8][..]));
    assert_eq!(entry.path, typed.path_of("seven"));
    raw.set(b"eight", &[8]).unwrap();
    assert_eq!(typed.get("eight").unwrap(), Some(8));
    assert_eq!(
        raw.get_many([&b"seven"[..], b"nine"]).unwrap(),
        [Some(vec![7]), None]
    );
    assert_eq!(raw.keys().count(), 2);
    assert!(raw.set(b"x", b"\xc1").is_err());
}

fn codecs_compression_and_encryption(b: Backend) {
    let Some(place) = b.place("seal") else { return };
    #[allow(unused_mut)]
    let mut options = Store::<String, Vec<u8>>::options().codec(MsgPack);
    #[cfg(feature = "compression")]
    {
        options = options.compression(Some(64));
    }
    #[cfg(feature = "encryption")]
    {
        options = options.encryption(dirkv::EncryptionKey::from_bytes([9; 32]));
    }
    let store = place.open(options.clone(), Exists::OpenOrCreate).unwrap();
    let big = vec![5u8; 10_000];
    store.set("big", &big).unwrap();
    assert_eq!(store.get("big").unwrap(), Some(big.clone()));
    let again = place.open(options, Exists::Update).unwrap();
    assert_eq!(again.get("big").unwrap(), Some(big));
    #[cfg(feature = "encryption")]
    {
        let err = place
            .open::<String, Vec<u8>, _>(
                Store::options().encryption(dirkv::EncryptionKey::from_bytes([1; 32])),
                Exists::Update,
            )
            .err()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::WrongKey);
    }
}

fn entry_layout_is_the_same(b: Backend) {
    let Some(place) = b.place("layout") else {
        return;
    };
    let store = place.counters(Exists::OpenOrCreate).unwrap();
    store.set("home", &1).unwrap();
    let manifest = place.read_file("DIRKV").unwrap();
    assert!(String::from_utf8(manifest).unwrap().contains("msgpack"));
    let hash = layout::hash(b"home");
    let rel = layout::entry_rel_path(&hash);
    assert!(place.read_file(&rel).is_some(), "{rel}");
    assert_eq!(store.path_of("home"), place.shown().join(&rel));
    assert!(place.is_local() || !place.shown().join(&rel).exists());
}
