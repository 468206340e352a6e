//! Several processes and threads on one store: exact counters, single claims, and readers
//! that never see a torn or foreign value.

use crate::common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{KillOnDrop, is_child, store_dir};
use dirkv::{Durability, Exists, Store};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

#[test]
#[ignore = "child process: run by its parent test"]
fn child_counter() {
    common::child_entry();
    let store: Store<String, u64> = Store::open(env("DIRKV_STORE"), Exists::Update).unwrap();
    let n: u64 = env("DIRKV_N").parse().unwrap();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..n {
                    store
                        .update("counter", |v| Some(v.unwrap_or(0) + 1))
                        .unwrap();
                }
            });
        }
    });
}

#[test]
fn counters_from_many_processes_end_at_the_exact_total() {
    let (_dir, path) = store_dir();
    let store: Store<String, u64> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    let n = 40u64;
    let children: Vec<KillOnDrop> = (0..4)
        .map(|_| {
            common::child_test!(child_counter)
                .envs([
                    ("DIRKV_STORE", path.display().to_string()),
                    ("DIRKV_N", n.to_string()),
                ])
                .stdout(Stdio::null())
                .spawn()
        })
        .collect();
    for mut c in children {
        assert!(c.0.wait().unwrap().success());
    }
    assert_eq!(store.get("counter").unwrap(), Some(4 * 2 * n));
}

#[test]
#[ignore = "child process: run by its parent test"]
fn child_claimer() {
    common::child_entry();
    let store: Store<u32, String> = Store::options()
        .durability(Durability::Fast)
        .open(env("DIRKV_STORE"), Exists::Update)
        .unwrap();
    let me = env("DIRKV_ID");
    let won = (0..200u32)
        .filter(|k| store.set_if_absent(k, &me).unwrap())
        .count();
    println!("WON {won}");
}

#[test]
fn set_if_absent_from_many_processes_creates_each_key_once() {
    let (_dir, path) = store_dir();
    let store: Store<u32, String> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    let children: Vec<KillOnDrop> = (0..4)
        .map(|i| {
            common::child_test!(child_claimer)
                .envs([
                    ("DIRKV_STORE", path.display().to_string()),
                    ("DIRKV_ID", format!("p{i}")),
                ])
                .stdout(Stdio::piped())
                .spawn()
        })
        .collect();
    let mut total = 0;
    for mut c in children {
        let out = c.0.stdout.take().unwrap();
        for line in BufReader::new(out).lines() {
            // The test harness may print "test child_claimer ... " on the same line.
            let line = line.unwrap();
            if let Some(n) = line.split("WON ").nth(1) {
                total += n.parse::<usize>().unwrap();
            }
        }
        assert!(c.0.wait().unwrap().success());
    }
    assert_eq!(total, 200, "every key claimed exactly once");
    assert_eq!(store.len().unwrap(), 200);
}

const SHARED_KEYS: u64 = 12;
const WRITER_PROCS: u32 = 3;
const OPS_PER_THREAD: u64 = 120;

fn shared_key(i: u64) -> String {
    format!("shared-{i}")
}

fn child_fail(msg: String) -> ! {
    println!("CHILD-ERROR {msg}");
    std::process::exit(3);
}

/// Reads random keys (and now and then the whole store) until `stop`, checking that
/// every value is whole and belongs to its key. Returns how many values it read.
fn read_until(store: &Store<String, common::Stamped>, seed: u64, stop: &AtomicBool) -> u64 {
    let mut rng = common::Rng::new(seed);
    let mut reads = 0;
    while !stop.load(Ordering::Relaxed) {
        if rng.below(50) == 0 {
            for item in store.iter() {
                match item {
                    Ok((k, v)) => {
                        if let Err(e) = v.check(&k) {
                            return fail_read(e);
                        }
                    }
                    Err(e) => return fail_read(format!("listing: {e}")),
                }
                reads += 1;
            }
            continue;
        }
        let k = shared_key(rng.below(SHARED_KEYS));
        match store.get(&k) {
            Ok(Some(v)) => {
                if let Err(e) = v.check(&k) {
                    return fail_read(e);
                }
            }
            Ok(None) => {}
            Err(e) => return fail_read(format!("{k}: {e}")),
        }
        reads += 1;
    }
    reads
}

fn fail_read(msg: String) -> u64 {
    if is_child() {
        child_fail(msg)
    }
    panic!("a reader saw a bad value: {msg}")
}

/// Child: two writer threads (on overlapping keys) and one reader thread.
#[test]
#[ignore = "child process: run by its parent test"]
fn child_mixed() {
    common::child_entry();
    use common::{Rng, Stamped};
    let proc_id: u32 = env("DIRKV_PROC").parse().unwrap();
    let durability = if proc_id == 0 {
        Durability::Durable
    } else {
        Durability::Fast
    };
    let open = || {
        Store::<String, Stamped>::options()
            .durability(durability)
            .open(env("DIRKV_STORE"), Exists::Update)
            .unwrap_or_else(|e| child_fail(format!("open: {e}")))
    };
    let shared = open();
    let stop = AtomicBool::new(false);
    let lasts = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        let reader = s.spawn(|| read_until(&shared, u64::from(proc_id) + 99, &stop));
        let writers: Vec<_> = (0..2u32)
            .map(|t| {
                // Thread 0 shares the process's handle; thread 1 has its own.
                let store = if t == 0 { shared.clone() } else { open() };
                let lasts = &lasts;
                s.spawn(move || {
                    let w = proc_id * 2 + t;
                    let mut rng = Rng::new(u64::from(w) * 7919 + 1);
                    let mut last: std::collections::BTreeMap<String, u64> = Default::default();
                    for n in 0..OPS_PER_THREAD {
                        let k = shared_key(rng.below(SHARED_KEYS));
                        let v = |k: &str| Stamped::new(k, w, n);
                        let written: Vec<String> = match rng.below(20) {
                            0..=9 => {
                                store
                                    .set(&k, &v(&k))
                                    .unwrap_or_else(|e| child_fail(e.to_string()));
                                vec![k]
                            }
                            10..=12 => {
                                let mut keys = vec![k, shared_key(rng.below(SHARED_KEYS))];
                                keys.sort();
                                keys.dedup();
                                let values: Vec<Stamped> = keys.iter().map(|k| v(k)).collect();
                                store
                                    .set_many(keys.iter().map(String::as_str).zip(values.iter()))
                                    .unwrap_or_else(|e| child_fail(e.to_string()));
                                keys
                            }
                            13..=16 => {
                                store
                                    .update(&k, |old| {
                                        if let Some(old) = &old
                                            && let Err(e) = old.check(&k)
                                        {
                                            child_fail(format!("update read: {e}"));
                                        }
                                        Some(v(&k))
                                    })
                                    .unwrap_or_else(|e| child_fail(e.to_string()));
                                vec![k]
                            }
                            _ => {
                                let current =
                                    store.get(&k).unwrap_or_else(|e| child_fail(e.to_string()));
                                let swapped = store
                                    .compare_and_swap(&k, current.as_ref(), Some(&v(&k)))
                                    .unwrap_or_else(|e| child_fail(e.to_string()));
                                if swapped { vec![k] } else { vec![] }
                            }
                        };
                        for k in written {
                            last.insert(k, n);
                        }
                    }
                    lasts
                        .lock()
                        .unwrap()
                        .extend(last.into_iter().map(|(k, n)| (w, k, n)));
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        println!("READS {}", reader.join().unwrap());
    });
    for (w, k, n) in lasts.into_inner().unwrap() {
        println!("LAST {w} {k} {n}");
    }
    println!("CHILD-OK");
}

/// Sets its flag when dropped, even by a panic.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn readers_never_see_torn_values_and_each_key_ends_with_some_writers_last_value() {
    let (_dir, path) = store_dir();
    let store: Store<String, common::Stamped> = Store::options()
        .durability(Durability::Fast)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    let mut children: Vec<(KillOnDrop, common::Lines)> = (0..WRITER_PROCS)
        .map(|p| {
            let mut c = common::child_test!(child_mixed)
                .envs([
                    ("DIRKV_STORE", path.display().to_string()),
                    ("DIRKV_PROC", p.to_string()),
                ])
                .stdout(Stdio::piped())
                .spawn();
            let lines = common::Lines::collect(&mut c.0);
            (c, lines)
        })
        .collect();
    // Readers in this process too, on their own handle and on a clone.
    let stop = AtomicBool::new(false);
    let other: Store<String, common::Stamped> = Store::open(&path, Exists::Update).unwrap();
    let (mut lasts, parent_reads) = std::thread::scope(|s| {
        // Stops the readers also when a check below panics: the scope waits for them.
        let _stop_readers = StopOnDrop(&stop);
        let r1 = s.spawn(|| read_until(&store, 1, &stop));
        let r2 = s.spawn(|| read_until(&other, 2, &stop));
        let mut lasts: HashMap<String, Vec<(u32, u64)>> = HashMap::new();
        let mut child_reads = 0u64;
        let mut failed = Vec::new();
        for (mut child, lines) in children.drain(..) {
            let status = common::wait_or_kill(&mut child.0, Duration::from_secs(120));
            let lines = lines.finish();
            if !(status.success() && lines.iter().any(|l| l.contains("CHILD-OK"))) {
                failed.push(format!(
                    "writer process failed ({status}): {:?}",
                    lines
                        .iter()
                        .filter(|l| l.contains("CHILD-ERROR"))
                        .collect::<Vec<_>>()
                ));
            }
            for line in &lines {
                if let Some(rest) = common::tagged(line, "LAST ") {
                    let parts: Vec<&str> = rest.split(' ').collect();
                    lasts
                        .entry(parts[1].to_owned())
                        .or_default()
                        .push((parts[0].parse().unwrap(), parts[2].parse().unwrap()));
                }
                if let Some(n) = common::tagged(line, "READS ") {
                    child_reads += n.trim().parse::<u64>().unwrap();
                }
            }
        }
        // Stop the readers before any assertion, so that a failure does not hang the test.
        stop.store(true, Ordering::Relaxed);
        let parent_reads = r1.join().unwrap() + r2.join().unwrap();
        assert!(failed.is_empty(), "{failed:#?}");
        eprintln!("reads checked: {child_reads} in the writer processes, {parent_reads} here");
        (lasts, parent_reads)
    });
    assert!(parent_reads > 0);
    for i in 0..SHARED_KEYS {
        let k = shared_key(i);
        let Some(candidates) = lasts.remove(&k) else {
            assert_eq!(store.get(&k).unwrap(), None);
            continue;
        };
        let v = store.get(&k).unwrap().expect("a written key has a value");
        v.check(&k).unwrap();
        assert!(
            candidates.contains(&(v.writer, v.seq)),
            "{k} holds writer {} seq {}, which is no writer's last value: {candidates:?}",
            v.writer,
            v.seq
        );
    }
}
