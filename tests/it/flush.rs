//! The background flush thread (`Options::sync_interval`): started only when asked, stopped
//! and joined when the last handle goes, writes intact. The test runs in a child process of
//! its own, because it counts the process's threads.

use crate::common;

use std::time::Duration;

use common::store_dir;
use dirkv::{Durability, ErrorKind, Exists, Store};

/// Threads of this process named `dirkv-flush`.
fn flush_threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "dirkv-flush")
        .count()
}

/// The new thread names itself once it runs: wait for that.
fn wait_for_flush_thread() -> usize {
    for _ in 0..200 {
        if flush_threads() > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    flush_threads()
}

#[test]
fn flush_thread_lives_exactly_as_long_as_the_store() {
    if !std::path::Path::new("/proc/self/task").exists() {
        return;
    }
    let out = common::child_test!(child_flush_thread).output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "child failed ({}): {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Child side of `flush_thread_lives_exactly_as_long_as_the_store`: alone in its process,
/// so that the only flush threads it counts are its stores'.
#[test]
#[ignore = "child process: run by its parent test"]
fn child_flush_thread() {
    common::child_entry();
    if !std::path::Path::new("/proc/self/task").exists() {
        return;
    }
    let (_dir, path) = store_dir();
    let open = |durability, interval| {
        Store::<String, u64>::options()
            .durability(durability)
            .sync_interval(interval)
            .open(&path, Exists::OpenOrCreate)
            .unwrap()
    };

    // Off by default, and pointless (so absent) in durable mode.
    let plain = open(Durability::Fast, None);
    let durable = open(Durability::Durable, Some(Duration::from_millis(5)));
    assert_eq!(flush_threads(), 0);
    drop((plain, durable));

    let store = open(Durability::Fast, Some(Duration::from_millis(5)));
    assert_eq!(wait_for_flush_thread(), 1);
    for i in 0..200u64 {
        store.set(&format!("k{i}"), &i).unwrap();
    }
    std::thread::sleep(Duration::from_millis(30));
    store.sync().unwrap();

    // Clones and iterators share the thread; the last one to go stops it.
    let clone = store.clone();
    let keys = store.keys();
    drop(store);
    drop(clone);
    assert_eq!(flush_threads(), 1, "the iterator still holds the store");
    assert_eq!(keys.count(), 200);
    assert_eq!(flush_threads(), 0, "joined when the last handle went");

    let reopened = open(Durability::Fast, None);
    for i in 0..200u64 {
        assert_eq!(reopened.get(&format!("k{i}")).unwrap(), Some(i));
    }
    drop(reopened);

    let zero = Store::<String, u64>::options()
        .durability(Durability::Fast)
        .sync_interval(Some(Duration::ZERO))
        .open(&path, Exists::OpenOrCreate);
    assert_eq!(zero.unwrap_err().kind(), ErrorKind::InvalidInput);
    let read_only = Store::<String, u64>::options()
        .durability(Durability::Fast)
        .read_only(true)
        .sync_interval(Some(Duration::from_millis(5)))
        .open(&path, Exists::Update)
        .unwrap();
    assert_eq!(flush_threads(), 0, "no thread for a read-only store");
    drop(read_only);
    println!("CHILD-OK");
}
