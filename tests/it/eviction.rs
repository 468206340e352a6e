//! Eviction to size bounds: by hand and automatic, oldest-written or least-recently-used.

use crate::common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::store_dir;
use dirkv::{Durability, ErrorKind, Exists, ManualClock, Raw, Store};

const SEC: Duration = Duration::from_secs(1);

/// Disk usage of the entry files (what `du` counts for them) and their number.
fn entries_on_disk(root: &Path) -> (usize, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut n = 0;
    let mut bytes = 0;
    for shard in std::fs::read_dir(root).unwrap() {
        let shard = shard.unwrap();
        if !shard.file_type().unwrap().is_dir() || shard.file_name().len() != 2 {
            continue;
        }
        for f in std::fs::read_dir(shard.path()).unwrap() {
            let f = f.unwrap();
            if f.file_name().to_string_lossy().ends_with(".dkv") {
                n += 1;
                bytes += f.metadata().unwrap().blocks() * 512;
            }
        }
    }
    (n, bytes)
}

fn clocked(path: &Path, clock: &Arc<ManualClock>, track: bool) -> Store<u32, u32> {
    Store::options()
        .clock(clock.clone())
        .track_access(track)
        .durability(Durability::Fast)
        .open(path, Exists::OpenOrCreate)
        .unwrap()
}

fn live_keys(s: &Store<u32, u32>) -> Vec<u32> {
    let mut keys: Vec<u32> = s.keys().map(|k| k.unwrap()).collect();
    keys.sort_unstable();
    keys
}

#[test]
fn evict_to_an_entry_count_removes_the_oldest_written() {
    let (_d, path) = store_dir();
    let clock = Arc::new(ManualClock::new());
    let s = clocked(&path, &clock, false);
    for i in 0..10 {
        s.set(&i, &i).unwrap();
        clock.advance(SEC);
    }
    // Rewriting makes an entry young again; reading does not (access is not tracked).
    s.set(&0, &100).unwrap();
    assert_eq!(s.get(&1).unwrap(), Some(1));
    let e = s.evict_to(4, u64::MAX).unwrap();
    assert_eq!((e.removed, e.entries), (6, 4));
    assert_eq!(live_keys(&s), vec![0, 7, 8, 9]);
    // Within bounds: nothing to do.
    let e = s.evict_to(4, u64::MAX).unwrap();
    assert_eq!((e.removed, e.entries), (0, 4));
    assert_eq!(s.evict_to(0, u64::MAX).unwrap().removed, 4);
    assert!(s.is_empty().unwrap());
}

#[test]
fn with_access_tracking_the_least_recently_used_go_first() {
    let (_d, path) = store_dir();
    let clock = Arc::new(ManualClock::new());
    let s = clocked(&path, &clock, true);
    for i in 0..10 {
        s.set(&i, &i).unwrap();
        clock.advance(SEC);
    }
    // Read the two oldest: they become the most recently used.
    assert_eq!(s.get(&1).unwrap(), Some(1));
    clock.advance(SEC);
    assert_eq!(s.get(&0).unwrap(), Some(0));
    // Listing, contains_key and metadata are not uses.
    assert_eq!(s.iter().count(), 10);
    assert!(s.contains_key(&2).unwrap());
    s.evict_to(4, u64::MAX).unwrap();
    assert_eq!(live_keys(&s), vec![0, 1, 8, 9]);
    s.evict_to(1, u64::MAX).unwrap();
    assert_eq!(live_keys(&s), vec![0]);
}

#[test]
fn evict_to_a_byte_bound_counts_disk_usage() {
    let (_d, path) = store_dir();
    let clock = Arc::new(ManualClock::new());
    let s: Store<u32, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .clock(clock.clone())
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    for i in 0..20u32 {
        s.set(&i, &vec![i as u8; 10_000]).unwrap();
        clock.advance(SEC);
    }
    let (n, before) = entries_on_disk(&path);
    assert_eq!(n, 20);
    let per_entry = before / 20;
    assert!(per_entry >= 10_000, "{per_entry}");
    let bound = before / 2;
    let e = s.evict_to(usize::MAX, bound).unwrap();
    let (n, after) = entries_on_disk(&path);
    assert!(after <= bound, "{after} > {bound}");
    assert_eq!((e.entries, e.bytes), (n, after));
    assert_eq!(e.removed_bytes, before - after);
    assert_eq!(n, 10, "entries are the same size, so exactly half go");
    assert!(s.get(&19).unwrap().is_some() && s.get(&9).unwrap().is_none());
    // Both bounds hold at once.
    let e = s.evict_to(3, u64::MAX / 2).unwrap();
    assert_eq!((e.entries, s.len().unwrap()), (3, 3));
}

#[test]
fn a_cache_bounded_at_10_mb_stays_under_it_across_100_mb_of_writes() {
    let (_d, path) = store_dir();
    const BOUND: u64 = 10 * 1000 * 1000;
    let cache: Store<u32, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .durability(Durability::Fast)
        .auto_evict(usize::MAX, BOUND, 1000)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    // 1,000 values of 100 KB of incompressible bytes: 100 MB written.
    let mut max_seen = 0;
    for i in 0..1000u32 {
        let value = common::noise(0x2545_f491_4f6c_dd1d + u64::from(i), 100_000);
        cache.set(&i, &value).unwrap();
        let (_, bytes) = entries_on_disk(&path);
        max_seen = max_seen.max(bytes);
        assert!(bytes <= BOUND, "after write {i}: {bytes} bytes on disk");
        // The value just written is always there.
        assert_eq!(cache.get(&i).unwrap().as_deref(), Some(&value[..]));
    }
    let (n, bytes) = entries_on_disk(&path);
    assert!(
        n >= 80,
        "most of the bound is used: {n} entries, {bytes} bytes"
    );
    assert!(max_seen > BOUND * 9 / 10);
    // The survivors are the newest entries (file times have the file system's coarse
    // granularity, so entries written within one tick may go in either order).
    let mut keys: Vec<u32> = cache.keys().map(|k| k.unwrap()).collect();
    keys.sort_unstable();
    let oldest_kept = 1000 - n as u32;
    assert!(keys.iter().all(|&k| k + 10 >= oldest_kept), "{keys:?}");
    assert!(
        (oldest_kept + 10..1000).all(|k| keys.contains(&k)),
        "{keys:?}"
    );
}

#[test]
fn auto_evict_by_entry_count_and_every_n_writes() {
    let (_d, path) = store_dir();
    let s: Store<u32, u32> = Store::options()
        .durability(Durability::Fast)
        .auto_evict(50, u64::MAX, 7)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    for i in 0..300 {
        s.set(&i, &i).unwrap();
        assert!(s.len().unwrap() <= 50, "after write {i}");
    }
    // set_many is counted too.
    let items: Vec<(u32, u32)> = (1000..1200).map(|i| (i, i)).collect();
    s.set_many(items.iter().map(|(k, v)| (k, v))).unwrap();
    assert!(s.len().unwrap() <= 50);

    // Another process's writes (here: another handle without auto eviction) are caught
    // by the every-N-writes walk.
    let other: Store<u32, u32> = Store::open(&path, Exists::Update).unwrap();
    for i in 5000..5100 {
        other.set(&i, &i).unwrap();
    }
    assert!(s.len().unwrap() > 50);
    for i in 0..7 {
        s.set(&(9000 + i), &i).unwrap();
    }
    assert!(s.len().unwrap() <= 50);
}

#[test]
fn eviction_needing_more_than_one_walk_removes_the_oldest_across_walks() {
    // More entries must go than one walk keeps as candidates (32,768): the eviction walks
    // again until the bound holds. Entries are written quickly, so their file times may
    // tie; only the count and the youngest survivor are checked.
    let (_d, path) = store_dir();
    let clock = Arc::new(ManualClock::new());
    let s: Store<u32, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .clock(clock.clone())
        .durability(Durability::Fast)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    let n = 40_000u32;
    let items: Vec<(u32, Vec<u8>)> = (0..n).map(|i| (i, Vec::new())).collect();
    s.set_many(items.iter().map(|(k, v)| (k, v))).unwrap();
    clock.advance(SEC);
    s.set(&n, &Vec::new()).unwrap();
    let e = s.evict_to(10, u64::MAX).unwrap();
    assert_eq!((e.removed, e.entries), (n as usize - 9, 10));
    assert_eq!(s.len().unwrap(), 10);
    assert!(s.contains_key(&n).unwrap(), "the youngest entry stays");
}

#[test]
fn bad_auto_evict_settings_and_read_only_stores() {
    let (_d, path) = store_dir();
    let err = Store::<u32, u32>::options()
        .auto_evict(1, 1, 0)
        .open(&path, Exists::OpenOrCreate)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let s: Store<u32, u32> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    s.set(&1, &1).unwrap();
    let ro: Store<u32, u32> = Store::options()
        .read_only(true)
        .open(&path, Exists::Update)
        .unwrap();
    assert_eq!(ro.evict_to(0, 0).unwrap_err().kind(), ErrorKind::ReadOnly);
    assert_eq!(ro.get(&1).unwrap(), Some(1));
}

#[test]
fn a_full_4_kib_page_takes_two_blocks_and_eviction_counts_blocks() {
    let (_d, path) = store_dir();
    let s: Store<u64, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    // Key `7` is one byte (its decimal text): a page of 4,096 - 48 - 1 bytes fills one
    // 4 KiB block exactly; a 4,096-byte page spills into a second.
    s.set(&7, &vec![1; 4096 - 48 - 1]).unwrap();
    s.set(&8, &vec![1; 4096]).unwrap();
    let blocks = |k: u64| {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(s.path_of(&k)).unwrap();
        (m.len(), m.blocks() * 512)
    };
    let (fits_len, fits_disk) = blocks(7);
    let (spills_len, spills_disk) = blocks(8);
    assert_eq!((fits_len, spills_len), (4096, 4096 + 48 + 1));
    if fits_disk == 4096 {
        // A file system with 4 KiB blocks (ext4, tmpfs): twice the data on disk.
        assert_eq!(spills_disk, 8192);
    } else {
        eprintln!("not 4 KiB blocks here: {fits_disk} and {spills_disk} bytes on disk");
    }
    // Eviction bounds what `du` counts for the entry files: allocated blocks.
    let e = s.evict_to(usize::MAX, u64::MAX).unwrap();
    assert_eq!((e.removed, e.entries), (0, 2));
    assert_eq!(e.bytes, fits_disk + spills_disk);
    assert_eq!(entries_on_disk(&path), (2, e.bytes));
    let e = s.evict_to(usize::MAX, e.bytes - 1).unwrap();
    assert_eq!(e.removed, 1);
}
