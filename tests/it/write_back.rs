//! Write-back mode (`Options::write_back`): values served from RAM, written to their files
//! when evicted, on `sync`, on a background interval and on drop; the store owned while
//! open; what a kill of the owner loses.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{self, Lines, Rng, store_dir};
use dirkv::{Durability, ErrorKind, Exists, ManualClock, Raw, RawStore, Store};

type Pages = Store<u64, Vec<u8>, Raw>;

fn owner(path: &std::path::Path, entries: usize) -> Pages {
    Store::options()
        .codec(Raw)
        .write_back(entries, 64 << 20)
        .durability(Durability::Fast)
        .open(path, Exists::OpenOrCreate)
        .unwrap()
}

fn files(path: &std::path::Path) -> usize {
    common::all_files(path)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dkv"))
        .count()
}

#[test]
fn sets_and_gets_stay_in_ram_until_sync_writes_them() {
    let (_d, path) = store_dir();
    let s = owner(&path, 1000);
    for i in 0..100u64 {
        s.set(&i, &vec![i as u8; 4096]).unwrap();
    }
    assert_eq!(files(&path), 0, "nothing written before a flush");
    assert_eq!(s.get(&7).unwrap(), Some(vec![7; 4096]));
    assert_eq!(s.get(&1000).unwrap(), None);
    assert!(s.contains_key(&9).unwrap() && !s.contains_key(&1001).unwrap());
    assert!(s.remove(&3).unwrap());
    assert!(!s.remove(&3).unwrap());
    assert_eq!(s.get(&3).unwrap(), None);
    s.sync().unwrap();
    assert_eq!(files(&path), 99);
    assert!(!s.path_of(&3).exists());
    let stats = s.cache_stats().unwrap();
    assert!(stats.hits >= 3, "{stats:?}");
    drop(s);
    // What the files hold is what RAM held.
    let s: Pages = Store::options()
        .codec(Raw)
        .open(&path, Exists::Update)
        .unwrap();
    assert_eq!(s.get(&7).unwrap(), Some(vec![7; 4096]));
    assert_eq!(s.get(&3).unwrap(), None);
    assert_eq!(s.len().unwrap(), 99);
}

#[test]
fn set_bytes_stays_in_ram_too() {
    let (_d, path) = store_dir();
    let s = owner(&path, 1000);
    let page = [5u8; 4096];
    s.set_bytes(&1, &page).unwrap();
    s.set_bytes(&2, &page[..100]).unwrap();
    assert_eq!(files(&path), 0, "set_bytes is served from RAM like set");
    assert_eq!(s.get(&1).unwrap(), Some(page.to_vec()));
    assert_eq!(s.get(&2).unwrap(), Some(vec![5; 100]));
    s.sync().unwrap();
    assert_eq!(files(&path), 2);
    // A `[u8; N]` store keeps bytes of another length out of RAM and writes them as they
    // are, as it does without write-back; `get` reports them.
    let (_d2, path2) = store_dir();
    let fixed: Store<u64, [u8; 4], Raw> = Store::options()
        .codec(Raw)
        .write_back(10, 1 << 20)
        .open(&path2, Exists::OpenOrCreate)
        .unwrap();
    fixed.set_bytes(&1, &[1, 2, 3, 4]).unwrap();
    fixed.set_bytes(&2, &[1, 2, 3]).unwrap();
    assert_eq!(fixed.get(&1).unwrap(), Some([1, 2, 3, 4]));
    assert_eq!(fixed.get(&2).unwrap_err().kind(), ErrorKind::Decode);
}

#[test]
fn ram_stays_bounded_and_evicted_entries_are_written_in_batches() {
    let (_d, path) = store_dir();
    let s = owner(&path, 100);
    for i in 0..1000u64 {
        s.set(&i, &vec![1; 100]).unwrap();
        let stats = s.cache_stats().unwrap();
        // The table's bound, plus at most one batch waiting to be written.
        assert!(stats.entries <= 100 + 64, "{i}: {stats:?}");
    }
    let written = files(&path);
    assert!(
        written >= 1000 - 100 - 64,
        "evicted entries were written: {written}"
    );
    // Every value reads back, from RAM or from its file.
    for i in 0..1000u64 {
        assert_eq!(s.get(&i).unwrap(), Some(vec![1; 100]), "{i}");
    }
    drop(s);
    assert_eq!(files(&path), 1000, "the rest was written on drop");
}

#[test]
fn the_owner_holds_the_store_and_other_writers_wait_or_fail_loudly() {
    let (_d, path) = store_dir();
    let s = owner(&path, 1000);
    s.set(&1, &vec![1]).unwrap();
    // Another handle (its own descriptors, as another process would have).
    let other: Pages = Store::options()
        .codec(Raw)
        .lock_timeout(Some(Duration::from_millis(50)))
        .open(&path, Exists::Update)
        .unwrap();
    let err = other.set(&1, &vec![2]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Locked, "{err}");
    let err = Store::<u64, Vec<u8>>::options()
        .codec(Raw)
        .write_back(10, 1 << 20)
        .lock_timeout(Some(Duration::from_millis(50)))
        .open(&path, Exists::Update)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Locked, "a second owner: {err}");
    // Readers see the files (nothing flushed yet).
    let reader = RawStore::open(&path, dirkv::Access::ReadOnly).unwrap();
    assert!(reader.get(b"1").unwrap().is_none());
    drop(s);
    other.set(&1, &vec![3]).unwrap();
    assert_eq!(other.get(&1).unwrap(), Some(vec![3]));
}

#[test]
fn read_modify_writes_in_ram_keep_ttls_and_are_atomic_across_threads() {
    let (_d, path) = store_dir();
    let clock = Arc::new(ManualClock::new());
    let s: Store<String, u64> = Store::options()
        .write_back(100, 1 << 20)
        .clock(clock.clone())
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..250 {
                    s.update("count", |n| Some(n.unwrap_or(0) + 1)).unwrap();
                }
            });
        }
    });
    assert_eq!(s.get("count").unwrap(), Some(1000));
    s.set_with_ttl("tok", &1, Duration::from_secs(5)).unwrap();
    s.update("tok", |n| n.map(|n| n + 1)).unwrap();
    assert!(s.set_if_absent("new", &1).unwrap());
    assert!(!s.set_if_absent("new", &2).unwrap());
    assert!(s.compare_and_swap("new", Some(&1), Some(&3)).unwrap());
    assert!(!s.compare_and_swap("new", Some(&1), None).unwrap());
    clock.advance(Duration::from_secs(5));
    assert_eq!(s.get("tok").unwrap(), None, "update kept the TTL");
    s.sync().unwrap();
    let mut keys: Vec<String> = s.keys().map(Result::unwrap).collect();
    keys.sort();
    assert_eq!(keys, ["count", "new"], "listings skip the expired entry");
    assert!(
        s.path_of("tok").exists(),
        "which was written with its expiry"
    );
    assert_eq!(s.get("new").unwrap(), Some(3));
}

#[test]
fn listings_and_batches_see_what_ram_holds() {
    let (_d, path) = store_dir();
    let s: Store<String, String> = Store::options()
        .write_back(100, 1 << 20)
        .durability(Durability::Fast)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    s.set_many([("a", "1".to_string()), ("b", "2".to_string())])
        .unwrap();
    s.set("c", &"3".to_string()).unwrap();
    assert_eq!(s.len().unwrap(), 3);
    assert_eq!(s.remove_many(["a", "zz"]).unwrap(), 1);
    let mut got: Vec<(String, String)> = s.iter().map(Result::unwrap).collect();
    got.sort();
    assert_eq!(got, [("b".into(), "2".into()), ("c".into(), "3".into())]);
    assert_eq!(
        s.get_many(["a", "b"]).unwrap(),
        vec![None, Some("2".to_string())]
    );
    // The byte-level view of a typed write-back store goes around RAM, consistently.
    s.raw().set(b"d", &rmp_serde::to_vec("4").unwrap()).unwrap();
    assert_eq!(s.get("d").unwrap(), Some("4".to_string()));
    assert_eq!(
        s.raw().get_value(b"b").unwrap(),
        Some(rmp_serde::to_vec("2").unwrap())
    );
    s.clear().unwrap();
    assert_eq!(s.len().unwrap(), 0);
    assert_eq!(s.get("b").unwrap(), None);
}

#[test]
fn a_background_interval_writes_changes_without_sync() {
    let (_d, path) = store_dir();
    let s: Pages = Store::options()
        .codec(Raw)
        .write_back(100, 1 << 20)
        .sync_interval(Some(Duration::from_millis(20)))
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    s.set(&1, &vec![1]).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !s.path_of(&1).exists() {
        assert!(std::time::Instant::now() < deadline, "never written");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Child: an owner that writes `seq` to random keys, syncing every 10 writes and saying
/// so (`SYNCED <seq>`), until killed.
#[test]
#[ignore = "child process: run by its parent test"]
fn child_write_back_owner() {
    common::child_entry();
    let path = std::env::var("DIRKV_STORE").unwrap();
    let s: Store<u64, u64> = Store::options()
        .write_back(50, 1 << 20)
        .open(&path, Exists::Update)
        .unwrap();
    let mut rng = Rng::new(std::env::var("DIRKV_SEED").unwrap().parse().unwrap());
    let base: u64 = std::env::var("DIRKV_BASE").unwrap().parse().unwrap();
    println!("START");
    for seq in 1.. {
        s.set(&rng.below(200), &(base + seq)).unwrap();
        if seq % 10 == 0 {
            s.sync().unwrap();
            println!("SYNCED {seq}");
        }
    }
}

#[test]
fn a_killed_owner_loses_only_what_was_dirty() {
    let (_d, path) = store_dir();
    drop(Store::<u64, u64>::open(&path, Exists::OpenOrCreate).unwrap());
    let mut rng = Rng::new(Rng::seed_from_env());
    for round in 0..5u64 {
        let seed = rng.next();
        let mut child = common::child_test!(child_write_back_owner)
            .env("DIRKV_STORE", &path)
            .env("DIRKV_SEED", seed.to_string())
            .env("DIRKV_BASE", (round * 1_000_000_000).to_string())
            .stdout(Stdio::piped())
            .spawn();
        let lines = Lines::collect(&mut child.0);
        // The kill comes at a random moment after the owner's first sync (counted from
        // there, so that a slow start on a loaded machine still leaves it time to write).
        let started = std::time::Instant::now();
        while !lines.snapshot().iter().any(|l| l.starts_with("SYNCED"))
            && started.elapsed() < Duration::from_secs(60)
            && child.0.try_wait().unwrap().is_none()
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(rng.below(200)));
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        let lines = lines.finish();
        let synced: u64 = lines
            .iter()
            .filter_map(|l| common::tagged(l, "SYNCED "))
            .filter_map(|n| n.trim().parse().ok())
            .max()
            .unwrap_or(0);
        // Replay the child's writes: for each key, the last value written up to the last
        // sync must be on disk, or a later one (flushed by an eviction before the kill).
        let base = round * 1_000_000_000;
        let mut replay = Rng::new(seed);
        let mut at_sync: BTreeMap<u64, u64> = BTreeMap::new();
        let mut all: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for seq in 1..=synced + 100_000 {
            let k = replay.below(200);
            if seq <= synced {
                at_sync.insert(k, base + seq);
            }
            all.entry(k).or_default().push(base + seq);
        }
        let s: Store<u64, u64> = Store::open(&path, Exists::Update).unwrap();
        for (k, want) in &at_sync {
            let got = s.get(k).unwrap();
            let ok = got.is_some_and(|v| v >= *want && all[k].contains(&v));
            assert!(ok, "round {round}: key {k} holds {got:?}, synced {want}");
        }
        assert!(
            synced > 0,
            "round {round}: the owner synced before the kill"
        );
        eprintln!("write-back kill round {round}: {synced} writes synced before the kill");
    }
}
