//! Tests of the value cache.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::*;
use crate::fs::sys::FileId;

fn fill(key: &[u8], v: u32, len: usize) -> Fill<'_> {
    Fill {
        key,
        value: Arc::new(v),
        check: None,
        expires_ms: 0,
        stored_len: len,
    }
}

fn trusted(entries: usize, bytes: usize) -> Cache {
    Cache::new(
        CacheSettings {
            max_entries: entries,
            max_bytes: bytes,
            mode: CacheMode::Trusted,
        },
        false,
    )
}

fn value_at(c: &Cache, key: &[u8], now: u64) -> Option<u32> {
    match c.get(
        key,
        || now,
        |_, _| true,
        |v| v.downcast_ref::<u32>().copied(),
    ) {
        Lookup::Hit(v) => v,
        Lookup::Miss(_) => None,
    }
}

fn value(c: &Cache, key: &[u8]) -> Option<u32> {
    value_at(c, key, 0)
}

fn miss(c: &Cache, key: &[u8]) -> Epoch {
    match c.get(key, || 0, |_, _| true, |_| ()) {
        Lookup::Hit(()) => panic!("hit"),
        Lookup::Miss(epoch) => epoch,
    }
}

#[test]
fn bounds_hold_for_entries_and_bytes() {
    for (entries, bytes) in [(1, 1 << 20), (7, 1 << 20), (5000, 1 << 20), (1000, 5000)] {
        let c = trusted(entries, bytes);
        for i in 0..20_000u32 {
            let key = i.to_le_bytes();
            c.written(fill(&key, i, 10 + (i as usize % 300)));
            if i % 3 == 0 {
                let _ = value(&c, &key);
            }
            let s = c.stats();
            assert!(
                s.entries <= entries && s.bytes <= bytes,
                "{s:?} {entries} {bytes}"
            );
        }
        assert!(c.stats().entries > 0);
    }
}

#[test]
fn clock_keeps_what_is_used() {
    let c = trusted(4, 1 << 20);
    for k in 0..4u8 {
        c.written(fill(&[k], u32::from(k), 1));
    }
    assert_eq!(value(&c, &[0]), Some(0));
    c.written(fill(&[9], 9, 1));
    assert_eq!(value(&c, &[0]), Some(0), "the used entry survives");
    assert_eq!(value(&c, &[9]), Some(9));
    assert_eq!(c.stats().entries, 4);
}

#[test]
fn too_big_values_are_not_kept_and_replace_removes_the_old() {
    let c = trusted(10, 1000);
    c.written(fill(b"k", 1, 10));
    assert_eq!(value(&c, b"k"), Some(1));
    c.written(fill(b"k", 2, 5000));
    assert_eq!(value(&c, b"k"), None);
    assert_eq!(c.stats().bytes, 0);
}

#[test]
fn a_fill_after_a_write_is_dropped() {
    let c = trusted(10, 1 << 20);
    let epoch = miss(&c, b"k");
    // A write lands between the miss and the fill: the slow read may be old.
    c.written(fill(b"k", 2, 1));
    c.fill(fill(b"k", 1, 1), epoch);
    assert_eq!(value(&c, b"k"), Some(2));
    c.forget(b"k");
    assert_eq!(value(&c, b"k"), None);
}

#[test]
fn expired_values_miss() {
    let c = trusted(10, 1 << 20);
    let mut f = fill(b"k", 1, 1);
    f.expires_ms = 100;
    c.written(f);
    assert_eq!(value_at(&c, b"k", 99), Some(1));
    assert_eq!(value_at(&c, b"k", 100), None);
}

#[test]
fn validated_mode_needs_a_version_and_checks_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, b"one").unwrap();
    let c = Cache::new(
        CacheSettings {
            max_entries: 10,
            max_bytes: 1 << 20,
            mode: CacheMode::Validated,
        },
        false,
    );
    let epoch = miss(&c, b"k");
    c.fill(fill(b"k", 1, 3), epoch);
    assert_eq!(value(&c, b"k"), None, "no version, not cached");
    let id = |p: &std::path::Path| {
        let f = std::fs::File::open(p).unwrap();
        Version::File(FileId::of(&crate::fs::sys::fstat(&f).unwrap()))
    };
    let v1 = id(&path);
    assert!(cacheable(
        &v1,
        SystemTime::now() + Duration::from_secs(10),
        false
    ));
    assert!(!cacheable(
        &v1,
        SystemTime::now() - Duration::from_secs(10),
        false
    ));
    assert!(cacheable(
        &v1,
        SystemTime::now() - Duration::from_secs(10),
        true
    ));
    let mut f = fill(b"k", 1, 3);
    f.check = Some(([1; 32], v1.clone()));
    c.fill(f, epoch);
    let current = |v: &Version| match c.get(
        b"k",
        || 0,
        |_, seen| seen == v,
        |x| x.downcast_ref::<u32>().copied(),
    ) {
        Lookup::Hit(x) => x,
        Lookup::Miss(_) => None,
    };
    assert_eq!(current(&v1), Some(1));
    // Replaced by rename: a new inode, another version.
    let other = dir.path().join("g");
    std::fs::write(&other, b"two").unwrap();
    std::fs::rename(&other, &path).unwrap();
    assert_eq!(current(&id(&path)), None);
}

#[test]
fn validated_writes_are_kept_only_with_their_version() {
    let c = Cache::new(
        CacheSettings {
            max_entries: 10,
            max_bytes: 1 << 20,
            mode: CacheMode::Validated,
        },
        true,
    );
    assert!(c.caches_writes() && c.needs_versions());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, b"one").unwrap();
    let f = std::fs::File::open(&path).unwrap();
    let v = Version::File(FileId::of(&crate::fs::sys::fstat(&f).unwrap()));
    let mut with = fill(b"k", 1, 3);
    with.check = Some(([1; 32], v.clone()));
    c.written(with);
    let got = |c: &Cache| match c.get(
        b"k",
        || 0,
        |_, seen| seen == &v,
        |x| x.downcast_ref::<u32>().copied(),
    ) {
        Lookup::Hit(x) => x,
        Lookup::Miss(_) => None,
    };
    assert_eq!(got(&c), Some(1));
    // A write that could not tell its version forgets the key.
    c.written(fill(b"k", 2, 3));
    assert_eq!(got(&c), None);
    let coarse = Cache::new(
        CacheSettings {
            max_entries: 10,
            max_bytes: 1 << 20,
            mode: CacheMode::Validated,
        },
        false,
    );
    assert!(!coarse.caches_writes() && !coarse.needs_versions());
}
