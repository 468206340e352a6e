//! Expiry, entry times and access tracking, driven by a `ManualClock` (no test sleeps).

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::store_dir;
use dirkv::{Clock, ErrorKind, Exists, ManualClock, Store};

type S = Store<String, u32>;

fn open(path: &std::path::Path, clock: &Arc<ManualClock>) -> S {
    Store::options()
        .clock(clock.clone())
        .open(path, Exists::OpenOrCreate)
        .unwrap()
}

const SEC: Duration = Duration::from_secs(1);

#[test]
fn ttl_entries_live_until_their_expiry_then_read_as_absent_and_go() {
    let (_d, path) = store_dir();
    let clock = Arc::new(ManualClock::new());
    let s = open(&path, &clock);
    s.set_with_ttl("a", &1, 10 * SEC).unwrap();
    s.set("forever", &2).unwrap();
    let meta = s.metadata("a").unwrap().unwrap();
    assert_eq!(meta.expires, Some(clock.now() + 10 * SEC));
    assert_eq!(s.metadata("forever").unwrap().unwrap().expires, None);

    clock.advance(10 * SEC - Duration::from_millis(1));
    assert_eq!(s.get("a").unwrap(), Some(1));
    assert!(s.contains_key("a").unwrap());

    clock.advance(Duration::from_millis(1));
    let file = s.path_of("a");
    assert!(
        file.exists(),
        "still on disk until something reads or purges it"
    );
    assert!(!s.contains_key("a").unwrap());
    assert!(!file.exists(), "contains_key removed the expired entry");
    assert_eq!(s.get("a").unwrap(), None);
    assert_eq!(s.metadata("a").unwrap(), None);
    assert_eq!(s.get("forever").unwrap(), Some(2));

    // Expired entries are not listed, not removable, and do not block set_if_absent.
    s.set_with_ttl("b", &3, SEC).unwrap();
    s.set_with_ttl("c", &4, SEC).unwrap();
    clock.advance(SEC);
    let keys: Vec<String> = s.keys().map(|k| k.unwrap()).collect();
    assert_eq!(keys, vec!["forever".to_string()]);
    assert_eq!(s.iter().count(), 1);
    assert_eq!(s.values().count(), 1);
    assert!(!s.remove("b").unwrap());
    assert!(s.set_if_absent("c", &5).unwrap());
    assert_eq!(s.get("c").unwrap(), Some(5));
    // update sees an expired value as absent.
    s.set_with_ttl("d", &6, SEC).unwrap();
    clock.advance(SEC);
    s.update("d", |old| {
        assert_eq!(old, None);
        Some(7)
    })
    .unwrap();
    assert_eq!(s.get("d").unwrap(), Some(7));
}

#[test]
fn zero_ttl_is_already_expired_and_max_ttl_never_expires() {
    let (_d, path) = store_dir();
    let clock = Arc::new(ManualClock::new());
    let s: S = Store::options()
        .clock(clock.clone())
        .default_ttl(Some(SEC))
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    s.set_with_ttl("zero", &1, Duration::ZERO).unwrap();
    assert_eq!(s.get("zero").unwrap(), None);
    s.set_with_ttl("max", &2, Duration::MAX).unwrap();
    clock.advance(Duration::from_secs(100 * 365 * 24 * 3600));
    assert_eq!(s.get("max").unwrap(), Some(2));
}

#[test]
fn the_default_ttl_applies_to_every_write_without_its_own() {
    let (_d, path) = store_dir();
    let clock = Arc::new(ManualClock::new());
    let s: S = Store::options()
        .clock(clock.clone())
        .default_ttl(Some(60 * SEC))
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    s.set("set", &1).unwrap();
    s.set_many([("many", &2)]).unwrap();
    s.update("update", |_| Some(3)).unwrap();
    assert!(s.set_if_absent("absent", &4).unwrap());
    assert!(s.compare_and_swap("cas", None, Some(&5)).unwrap());
    s.set_with_ttl("long", &6, 3600 * SEC).unwrap();
    clock.advance(59 * SEC);
    assert_eq!(s.len().unwrap(), 6);
    assert_eq!(s.iter().count(), 6);
    clock.advance(SEC);
    let left: Vec<String> = s.keys().map(|k| k.unwrap()).collect();
    assert_eq!(left, vec!["long".to_string()]);
    assert_eq!(s.len().unwrap(), 6, "len counts files, expired or not");
    assert_eq!(s.purge_expired().unwrap(), 5);
    assert_eq!(s.len().unwrap(), 1);
    assert_eq!(s.purge_expired().unwrap(), 0);
}

#[test]
fn update_and_compare_and_swap_keep_the_ttl_and_update_with_ttl_sets_a_new_one() {
    let (_d, path) = store_dir();
    let clock = Arc::new(ManualClock::new());
    let expires = |s: &S, k: &str| s.metadata(k).unwrap().unwrap().expires;
    for write_back in [false, true] {
        let dir = path.with_extension(if write_back { "wb" } else { "plain" });
        let mut o = Store::options().clock(clock.clone());
        if write_back {
            o = o.write_back(100, 1 << 20);
        }
        let s: S = o.open(&dir, Exists::OpenOrCreate).unwrap();
        s.set_with_ttl("u", &1, 10 * SEC).unwrap();
        s.set_with_ttl("c", &1, 10 * SEC).unwrap();
        let first = expires(&s, "u");
        assert!(first.is_some());
        clock.advance(4 * SEC);
        s.update("u", |v| v.map(|v| v + 1)).unwrap();
        assert!(s.compare_and_swap("c", Some(&1), Some(&2)).unwrap());
        assert_eq!(expires(&s, "u"), first, "update keeps the expiry");
        assert_eq!(expires(&s, "c"), first, "compare_and_swap keeps the expiry");
        // ...so the entry still goes when it would have.
        clock.advance(7 * SEC);
        assert_eq!(s.get("u").unwrap(), None);
        assert_eq!(s.get("c").unwrap(), None);
        // update_with_ttl sets a new expiry, `ttl` from now, in the same step.
        s.set_with_ttl("n", &1, 10 * SEC).unwrap();
        clock.advance(4 * SEC);
        s.update_with_ttl("n", 60 * SEC, |v| v.map(|v| v + 1))
            .unwrap();
        assert_eq!(expires(&s, "n"), Some(clock.now() + 60 * SEC));
        clock.advance(30 * SEC);
        assert_eq!(s.get("n").unwrap(), Some(2));
    }
}

#[test]
fn purge_expired_removes_exactly_the_expired_entries_and_reports_the_count() {
    let (_d, path) = store_dir();
    let clock = Arc::new(ManualClock::new());
    let s = open(&path, &clock);
    for i in 0..300u32 {
        // Every third key lives 10 s, every third 20 s, the rest forever.
        match i % 3 {
            0 => s.set_with_ttl(&i.to_string(), &i, 10 * SEC).unwrap(),
            1 => s.set_with_ttl(&i.to_string(), &i, 20 * SEC).unwrap(),
            _ => s.set(&i.to_string(), &i).unwrap(),
        }
    }
    assert_eq!(s.purge_expired().unwrap(), 0);
    clock.advance(15 * SEC);
    assert_eq!(s.purge_expired().unwrap(), 100);
    assert_eq!(s.len().unwrap(), 200);
    clock.advance(5 * SEC);
    assert_eq!(s.purge_expired().unwrap(), 100);
    assert_eq!(s.len().unwrap(), 100);
    for i in 0..300u32 {
        assert_eq!(s.get(&i.to_string()).unwrap().is_some(), i % 3 == 2);
    }
    // Damaged entries are left for get and iter to report.
    std::fs::write(s.path_of("2"), b"garbage").unwrap();
    assert_eq!(s.purge_expired().unwrap(), 0);
    assert_eq!(s.get("2").unwrap_err().kind(), ErrorKind::Corrupt);

    let ro: S = Store::options()
        .read_only(true)
        .open(&path, Exists::Update)
        .unwrap();
    assert_eq!(ro.purge_expired().unwrap_err().kind(), ErrorKind::ReadOnly);
}

#[test]
fn expired_entries_are_judged_by_each_handles_clock_and_fresh_writes_are_never_purged() {
    // Two handles on one store whose clocks disagree: the late one sees the entry as
    // expired; after the early one rewrites it with a fresh expiry, neither a get nor a
    // purge through the late handle removes the fresh value, because removal re-reads the
    // header under the lock.
    let (_d, path) = store_dir();
    let early = Arc::new(ManualClock::new());
    let late = Arc::new(ManualClock::new());
    late.advance(100 * SEC);
    let a = open(&path, &early);
    let b = open(&path, &late);
    a.set_with_ttl("k", &1, 10 * SEC).unwrap();
    assert_eq!(b.get("k").unwrap(), None, "expired by b's clock");
    assert!(!a.path_of("k").exists(), "and removed by b's get");
    a.set_with_ttl("k", &2, 1000 * SEC).unwrap();
    assert_eq!(b.get("k").unwrap(), Some(2));
    assert_eq!(b.purge_expired().unwrap(), 0);
    assert_eq!(a.get("k").unwrap(), Some(2));
}

#[test]
fn concurrent_purges_never_remove_fresh_values() {
    let (_d, path) = store_dir();
    let clock = Arc::new(ManualClock::new());
    let s = open(&path, &clock);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for round in 0..30u32 {
                for i in 0..20u32 {
                    s.set_with_ttl(&format!("old{i}"), &round, SEC).unwrap();
                }
                let fresh: Vec<String> = (0..20u32).map(|i| format!("new{i}")).collect();
                s.set_many(fresh.iter().map(|k| (k.as_str(), &round)))
                    .unwrap();
            }
        });
        scope.spawn(|| {
            for _ in 0..30 {
                clock.advance(2 * SEC);
                s.purge_expired().unwrap();
            }
        });
    });
    for i in 0..20u32 {
        assert_eq!(s.get(&format!("new{i}")).unwrap(), Some(29));
    }
}

#[test]
fn a_read_of_an_expired_entry_does_not_wait_for_the_lock() {
    let (_d, path) = store_dir();
    let clock = Arc::new(ManualClock::new());
    let s = open(&path, &clock);
    s.set_with_ttl("gone", &1, SEC).unwrap();
    clock.advance(SEC);
    let (tx, rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    // A key of the same shard: writers lock per shard.
    let other = (0..)
        .map(|i| format!("other-{i}"))
        .find(|k| s.path_of(k).parent() == s.path_of("gone").parent())
        .unwrap();
    std::thread::scope(|scope| {
        let s = &s;
        let other = &other;
        scope.spawn(move || {
            // Holds the lock of the shard of "gone" until the reader is done.
            s.update(other, |_| {
                tx.send(()).unwrap();
                done_rx.recv().unwrap();
                Some(2)
            })
            .unwrap();
        });
        rx.recv().unwrap();
        assert_eq!(s.get("gone").unwrap(), None);
        done_tx.send(()).unwrap();
    });
    assert!(
        s.path_of("gone").exists(),
        "left for later: the lock was busy"
    );
    assert_eq!(s.purge_expired().unwrap(), 1);
}

#[test]
fn created_and_modified_times() {
    let (_d, path) = store_dir();
    let clock = Arc::new(ManualClock::new());
    let t0 = clock.now();
    let s = open(&path, &clock);
    s.set("k", &1).unwrap();
    let m = s.metadata("k").unwrap().unwrap();
    assert_eq!((m.created, m.modified), (t0, t0));

    // update keeps the creation time.
    clock.advance(SEC);
    s.update("k", |v| v.map(|v| v + 1)).unwrap();
    let m = s.metadata("k").unwrap().unwrap();
    assert_eq!((m.created, m.modified), (t0, t0 + SEC));

    // set starts afresh by default...
    clock.advance(SEC);
    s.set("k", &3).unwrap();
    let m = s.metadata("k").unwrap().unwrap();
    assert_eq!((m.created, m.modified), (t0 + 2 * SEC, t0 + 2 * SEC));
    drop(s);

    // ...and keeps it with preserve_created, for set, set_many and compare_and_swap.
    let s: S = Store::options()
        .clock(clock.clone())
        .preserve_created(true)
        .open(&path, Exists::Update)
        .unwrap();
    clock.advance(SEC);
    s.set("k", &4).unwrap();
    s.set_many([("k", &5)]).unwrap();
    assert!(s.compare_and_swap("k", Some(&5), Some(&6)).unwrap());
    let m = s.metadata("k").unwrap().unwrap();
    assert_eq!((m.created, m.modified), (t0 + 2 * SEC, t0 + 3 * SEC));
    // An expired or damaged old entry is not kept.
    s.set_with_ttl("e", &1, SEC).unwrap();
    clock.advance(SEC);
    s.set("e", &2).unwrap();
    assert_eq!(s.metadata("e").unwrap().unwrap().created, t0 + 4 * SEC);
    std::fs::write(s.path_of("e"), b"junk").unwrap();
    s.set("e", &3).unwrap();
    assert_eq!(s.get("e").unwrap(), Some(3));
}

#[test]
fn track_access_records_gets_in_the_files_access_time_without_rewriting_them() {
    let (_d, path) = store_dir();
    let clock = Arc::new(ManualClock::new());
    let t0 = clock.now();
    let s: S = Store::options()
        .clock(clock.clone())
        .track_access(true)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    s.set("k", &1).unwrap();
    let file = s.path_of("k");
    let before = std::fs::metadata(&file).unwrap();
    assert_eq!(before.accessed().unwrap(), t0);
    assert_eq!(
        before.modified().unwrap(),
        t0,
        "written files carry the store clock's time"
    );

    clock.advance(5 * SEC);
    assert_eq!(s.get("k").unwrap(), Some(1));
    let after = std::fs::metadata(&file).unwrap();
    assert_eq!(after.accessed().unwrap(), t0 + 5 * SEC);
    assert_eq!(after.modified().unwrap(), t0, "the file was not rewritten");
    assert_eq!(
        s.metadata("k").unwrap().unwrap().accessed,
        Some(t0 + 5 * SEC)
    );

    // contains_key, metadata and iteration are not accesses.
    clock.advance(5 * SEC);
    assert!(s.contains_key("k").unwrap());
    assert_eq!(s.iter().count(), 1);
    assert_eq!(
        s.metadata("k").unwrap().unwrap().accessed,
        Some(t0 + 5 * SEC)
    );

    // Without tracking, a get leaves the time alone.
    let plain: S = Store::options()
        .clock(clock.clone())
        .open(&path, Exists::Update)
        .unwrap();
    clock.advance(5 * SEC);
    assert_eq!(plain.get("k").unwrap(), Some(1));
    assert_ne!(
        std::fs::metadata(&file).unwrap().accessed().unwrap(),
        t0 + 15 * SEC
    );
}

#[cfg(unix)]
#[test]
fn a_read_only_file_in_a_tracked_store_still_reads() {
    use std::os::unix::fs::PermissionsExt;
    let (_d, path) = store_dir();
    let clock = Arc::new(ManualClock::new());
    let s: S = Store::options()
        .clock(clock.clone())
        .track_access(true)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    s.set("k", &1).unwrap();
    let file = s.path_of("k");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).unwrap();
    clock.advance(SEC);
    assert_eq!(s.get("k").unwrap(), Some(1));
}
