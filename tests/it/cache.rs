//! The value cache: bounds, validation against other processes' writes, trusted mode,
//! invalidation by this store's own writes and removals.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::store_dir;
use dirkv::{CacheMode, CacheStats, Durability, Exists, Raw, Store};

/// Longer than the validated cache's settle window (50 ms on ext4, tmpfs, xfs, btrfs).
const SETTLE: Duration = Duration::from_millis(120);

fn stats<K, V, C>(store: &Store<K, V, C>) -> CacheStats {
    store.cache_stats().expect("the store has a cache")
}

fn open_cached(path: &std::path::Path, mode: CacheMode) -> Store<String, Vec<u8>, Raw> {
    Store::options()
        .codec(Raw)
        .durability(Durability::Fast)
        .cache(1000, 1 << 20)
        .cache_mode(mode)
        .open(path, Exists::OpenOrCreate)
        .unwrap()
}

/// Child process: writes `DIRKV_VALUES` (comma-separated) to key `k`, one after the other.
#[test]
#[ignore = "child process: run by its parent test"]
fn child_writer() {
    common::child_entry();
    let path = std::env::var("DIRKV_STORE").unwrap();
    let store: Store<String, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .durability(Durability::Fast)
        .open(path, Exists::Update)
        .unwrap();
    for value in std::env::var("DIRKV_VALUES").unwrap().split(',') {
        store.set("k", &value.as_bytes().to_vec()).unwrap();
    }
}

fn write_from_another_process(path: &std::path::Path, values: &[&str]) {
    let mut child = common::child_test!(child_writer)
        .envs([
            ("DIRKV_STORE", path.display().to_string()),
            ("DIRKV_VALUES", values.join(",")),
        ])
        .stdout(Stdio::null())
        .spawn();
    assert!(child.0.wait().unwrap().success());
}

#[test]
fn no_cache_by_default() {
    let (_dir, path) = store_dir();
    let store: Store<String, u32> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    assert_eq!(store.cache_stats(), None);
}

#[test]
fn bounds_on_entries_and_bytes_hold() {
    let (_dir, path) = store_dir();
    for (entries, bytes) in [(10, 1 << 20), (1000, 6000), (300, 1 << 20)] {
        let store: Store<u32, Vec<u8>, Raw> = Store::options()
            .codec(Raw)
            .durability(Durability::Fast)
            .cache(entries, bytes)
            .cache_mode(CacheMode::Trusted)
            .open(&path, Exists::Replace)
            .unwrap();
        for i in 0..400u32 {
            store.set(&i, &vec![i as u8; (i % 200) as usize]).unwrap();
            let s = stats(&store);
            assert!(s.entries <= entries && s.bytes <= bytes, "{s:?}");
        }
        for i in 0..400u32 {
            assert_eq!(
                store.get(&i).unwrap(),
                Some(vec![i as u8; (i % 200) as usize])
            );
            let s = stats(&store);
            assert!(s.entries <= entries && s.bytes <= bytes, "{s:?}");
        }
        assert!(stats(&store).entries > 0);
    }
}

#[test]
fn validated_mode_sees_another_processes_writes() {
    let (_dir, path) = store_dir();
    let store = open_cached(&path, CacheMode::Validated);
    store.set("k", &b"one".to_vec()).unwrap();
    std::thread::sleep(SETTLE);
    assert_eq!(store.get("k").unwrap(), Some(b"one".to_vec()));
    let before = stats(&store);
    assert_eq!(before.entries, 1, "a settled file is cached");
    assert_eq!(store.get("k").unwrap(), Some(b"one".to_vec()));
    assert_eq!(
        stats(&store).hits,
        before.hits + 1,
        "the second get is a hit"
    );

    // Same size, twice in a row (the second write may reuse the first one's inode).
    write_from_another_process(&path, &["two", "six"]);
    assert_eq!(store.get("k").unwrap(), Some(b"six".to_vec()));
    assert_eq!(store.get("k").unwrap(), Some(b"six".to_vec()));

    // A removal by another tool is seen too.
    std::thread::sleep(SETTLE);
    assert_eq!(store.get("k").unwrap(), Some(b"six".to_vec()));
    std::fs::remove_file(store.path_of("k")).unwrap();
    assert_eq!(store.get("k").unwrap(), None);
    assert!(!store.contains_key("k").unwrap());
}

#[test]
fn validated_mode_sees_an_in_place_rewrite() {
    let (_dir, path) = store_dir();
    let store = open_cached(&path, CacheMode::Validated);
    store.set("k", &b"one".to_vec()).unwrap();
    store.set("x", &b"two".to_vec()).unwrap();
    std::thread::sleep(SETTLE);
    assert_eq!(store.get("k").unwrap(), Some(b"one".to_vec()));
    assert_eq!(store.get("k").unwrap(), Some(b"one".to_vec()));
    // Someone copies another entry's bytes over this one in place (same inode, same
    // size): a damaged entry, which must be reported, not hidden by the cache.
    let other = std::fs::read(store.path_of("x")).unwrap();
    std::fs::write(store.path_of("k"), other).unwrap();
    let err = store.get("k").unwrap_err();
    assert_eq!(err.kind(), dirkv::ErrorKind::Corrupt);
}

/// Whether the test folder's file system gives every observed change a new change time
/// (Linux 6.13+ multigrain timestamps on ext4, XFS, Btrfs, tmpfs): then the validated
/// cache keeps own writes at once.
fn stamps_observed_changes(path: &std::path::Path) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().ok());
    let recent = matches!(
        (parts.next().flatten(), parts.next().flatten()),
        (Some(a), Some(b)) if (a, b) >= (6, 13)
    );
    let kind = std::process::Command::new("stat")
        .args(["-f", "-c", "%t"])
        .arg(path)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    recent && ["ef53", "58465342", "9123683e", "1021994"].contains(&kind.as_str())
}

#[test]
fn validated_mode_keeps_own_writes_and_sees_replacements_at_once() {
    let (_dir, path) = store_dir();
    let store = open_cached(&path, CacheMode::Validated);
    // Another writer with no cache: a second open, as another process would have.
    let other: Store<String, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .durability(Durability::Fast)
        .open(&path, Exists::Update)
        .unwrap();
    let at_once = stamps_observed_changes(&path);
    for i in 0..300u32 {
        let mine = format!("mine-{i:05}").into_bytes();
        store.set("k", &mine).unwrap();
        let before = stats(&store);
        assert_eq!(store.get("k").unwrap(), Some(mine.clone()), "round {i}");
        if at_once {
            assert_eq!(
                stats(&store).hits,
                before.hits + 1,
                "round {i}: own write is a hit"
            );
        }
        // Two replacements of the same size right away: the second one usually gets the
        // inode number the first one freed, within the same tick of the clock.
        for n in ["othr", "also"] {
            other.set("k", &format!("{n}-{i:05}").into_bytes()).unwrap();
        }
        assert_eq!(
            store.get("k").unwrap(),
            Some(format!("also-{i:05}").into_bytes()),
            "round {i}: a replacement is seen at once"
        );
        // And an in-place rewrite of this store's own fresh write, same size.
        store.set("k", &mine).unwrap();
        assert_eq!(store.get("k").unwrap(), Some(mine.clone()));
        let bytes = std::fs::read(other.path_of("k")).unwrap();
        other
            .set("x", &format!("xxxx-{i:05}").into_bytes())
            .unwrap();
        let foreign = std::fs::read(other.path_of("x")).unwrap();
        assert_eq!(bytes.len(), foreign.len());
        std::fs::write(store.path_of("k"), &foreign).unwrap();
        assert!(
            store.get("k").is_err(),
            "round {i}: another key's bytes written in place are not hidden by the cache"
        );
        store.remove("k").unwrap();
    }
    if !at_once {
        eprintln!("note: this file system does not stamp every change; own writes not kept");
    }
}

#[test]
fn trusted_mode_does_not_see_other_processes_by_design() {
    let (_dir, path) = store_dir();
    let store = open_cached(&path, CacheMode::Trusted);
    store.set("k", &b"one".to_vec()).unwrap();
    let before = stats(&store);
    assert_eq!(store.get("k").unwrap(), Some(b"one".to_vec()));
    assert_eq!(
        stats(&store).hits,
        before.hits + 1,
        "own write is cached at once"
    );
    write_from_another_process(&path, &["two"]);
    // The documented trade: the caller promised to be the only writer.
    assert_eq!(store.get("k").unwrap(), Some(b"one".to_vec()));
    // A store without the promise sees the truth.
    let plain: Store<String, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .open(&path, Exists::Update)
        .unwrap();
    assert_eq!(plain.get("k").unwrap(), Some(b"two".to_vec()));
}

#[test]
fn own_writes_update_and_removals_invalidate() {
    for mode in [CacheMode::Validated, CacheMode::Trusted] {
        let (_dir, path) = store_dir();
        let store = open_cached(&path, mode);
        let v = |s: &str| s.as_bytes().to_vec();
        let warm = |store: &Store<String, Vec<u8>, Raw>, key: &str| {
            std::thread::sleep(SETTLE);
            store.get(key).unwrap()
        };

        store.set("a", &v("1")).unwrap();
        assert_eq!(warm(&store, "a"), Some(v("1")));
        store.set("a", &v("2")).unwrap();
        assert_eq!(store.get("a").unwrap(), Some(v("2")), "{mode:?}: set");

        assert_eq!(warm(&store, "a"), Some(v("2")));
        assert!(store.remove("a").unwrap());
        assert_eq!(store.get("a").unwrap(), None, "{mode:?}: remove");
        assert!(!store.contains_key("a").unwrap());

        store.set_many([("b", &v("1")), ("c", &v("1"))]).unwrap();
        assert_eq!(warm(&store, "b"), Some(v("1")));
        store.set_many([("b", &v("2")), ("b", &v("3"))]).unwrap();
        assert_eq!(store.get("b").unwrap(), Some(v("3")), "{mode:?}: set_many");
        assert_eq!(store.remove_many(["b", "c"]).unwrap(), 2);
        assert_eq!(store.get("b").unwrap(), None, "{mode:?}: remove_many");

        store.set("d", &v("1")).unwrap();
        assert_eq!(warm(&store, "d"), Some(v("1")));
        store.update("d", |_| Some(v("2"))).unwrap();
        assert_eq!(store.get("d").unwrap(), Some(v("2")), "{mode:?}: update");
        store.update("d", |_| None).unwrap();
        assert_eq!(store.get("d").unwrap(), None, "{mode:?}: update to None");

        store.set("e", &v("1")).unwrap();
        assert_eq!(warm(&store, "e"), Some(v("1")));
        assert!(
            store
                .compare_and_swap("e", Some(&v("1")), Some(&v("2")))
                .unwrap()
        );
        assert_eq!(store.get("e").unwrap(), Some(v("2")), "{mode:?}: cas");
        assert!(store.compare_and_swap("e", Some(&v("2")), None).unwrap());
        assert_eq!(store.get("e").unwrap(), None, "{mode:?}: cas to None");

        assert!(store.set_if_absent("f", &v("1")).unwrap());
        assert_eq!(
            store.get("f").unwrap(),
            Some(v("1")),
            "{mode:?}: set_if_absent"
        );
        assert_eq!(warm(&store, "f"), Some(v("1")));
        store.clear().unwrap();
        assert_eq!(store.get("f").unwrap(), None, "{mode:?}: clear");
        assert_eq!(stats(&store).entries, 0);

        // Clones share the cache.
        let clone = store.clone();
        store.set("g", &v("1")).unwrap();
        assert_eq!(warm(&clone, "g"), Some(v("1")));
        clone.remove("g").unwrap();
        assert_eq!(store.get("g").unwrap(), None, "{mode:?}: clone");
    }
}

#[test]
fn typed_values_come_back_as_clones() {
    #[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
    struct Page {
        title: String,
        words: Vec<u32>,
    }
    let (_dir, path) = store_dir();
    let store: Store<u64, Page> = Store::options()
        .cache(10, 1 << 20)
        .cache_mode(CacheMode::Trusted)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    let page = Page {
        title: "home".into(),
        words: vec![1, 2, 3],
    };
    store.set(&1, &page).unwrap();
    let mut got = store.get(&1).unwrap().unwrap();
    got.words.push(4);
    assert_eq!(
        store.get(&1).unwrap(),
        Some(page),
        "a caller's change stays its own"
    );
    assert!(store.contains_key(&1).unwrap());
    assert!(!store.contains_key(&2).unwrap());
}

#[test]
fn threads_share_the_cache() {
    let (_dir, path) = store_dir();
    let store: Store<u32, u32> = Store::options()
        .durability(Durability::Fast)
        .cache(100, 1 << 20)
        .cache_mode(CacheMode::Trusted)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let store = &store;
            s.spawn(move || {
                for round in 0..50u32 {
                    for k in 0..20u32 {
                        let key = t * 100 + k;
                        store.set(&key, &(round * 1000 + key)).unwrap();
                        assert_eq!(store.get(&key).unwrap(), Some(round * 1000 + key));
                    }
                }
            });
        }
    });
    let s = stats(&store);
    assert!(s.entries <= 100 && s.hits > 0, "{s:?}");
}

#[test]
fn expired_values_are_never_served_from_the_cache() {
    let (_dir, path) = store_dir();
    let clock = std::sync::Arc::new(dirkv::ManualClock::new());
    for mode in [CacheMode::Trusted, CacheMode::Validated] {
        let store: Store<String, u32> = Store::options()
            .durability(Durability::Fast)
            .clock(clock.clone())
            .cache(100, 1 << 20)
            .cache_mode(mode)
            .open(&path, Exists::Replace)
            .unwrap();
        store
            .set_with_ttl("k", &1, Duration::from_secs(10))
            .unwrap();
        std::thread::sleep(SETTLE);
        assert_eq!(store.get("k").unwrap(), Some(1));
        assert_eq!(store.get("k").unwrap(), Some(1));
        assert!(stats(&store).hits > 0, "{mode:?}");
        clock.advance(Duration::from_secs(11));
        assert_eq!(store.get("k").unwrap(), None, "{mode:?}");
        assert!(!store.contains_key("k").unwrap());
    }
}

#[test]
fn eviction_and_purge_empty_the_cache() {
    let (_dir, path) = store_dir();
    let store: Store<u32, u32> = Store::options()
        .durability(Durability::Fast)
        .cache(100, 1 << 20)
        .cache_mode(CacheMode::Trusted)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    for i in 0..10 {
        store.set(&i, &i).unwrap();
    }
    assert_eq!(stats(&store).entries, 10);
    let evicted = store.evict_to(3, u64::MAX).unwrap();
    assert_eq!(evicted.removed, 7);
    assert_eq!(stats(&store).entries, 0);
    let left = (0..10).filter(|i| store.get(i).unwrap().is_some()).count();
    assert_eq!(left, 3, "evicted values are not served from memory");
}
