//! Several processes on one store, and writers killed with SIGKILL.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{KillOnDrop, is_child, spawn_child, store_dir};
use dirkv::{Durability, Exists, Store};
use serde::{Deserialize, Serialize};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// A value that can tell whether it is whole: the payload is derived from (key, seq).
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Stamped {
    seq: u64,
    sum: u64,
    payload: Vec<u8>,
}

fn stamped(key: &str, seq: u64) -> Stamped {
    let len = 100 + (seq as usize * 37) % 3000;
    let payload: Vec<u8> = (0..len)
        .map(|i| (i as u64 ^ seq ^ key.len() as u64) as u8)
        .collect();
    let sum = payload.iter().map(|b| u64::from(*b)).sum::<u64>()
        ^ seq.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    Stamped { seq, sum, payload }
}

fn is_whole(key: &str, v: &Stamped) -> bool {
    *v == stamped(key, v.seq)
}

#[test]
fn child_counter() {
    if !is_child() || env("DIRKV_ROLE") != "counter" {
        return;
    }
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
    if is_child() {
        return;
    }
    let (_dir, path) = store_dir();
    let store: Store<String, u64> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    let n = 40u64;
    let children: Vec<KillOnDrop> = (0..4)
        .map(|_| {
            KillOnDrop(spawn_child(
                "child_counter",
                &[
                    ("DIRKV_ROLE", "counter".into()),
                    ("DIRKV_STORE", path.display().to_string()),
                    ("DIRKV_N", n.to_string()),
                ],
                Stdio::null(),
            ))
        })
        .collect();
    for mut c in children {
        assert!(c.0.wait().unwrap().success());
    }
    assert_eq!(store.get("counter").unwrap(), Some(4 * 2 * n));
}

#[test]
fn child_claimer() {
    if !is_child() || env("DIRKV_ROLE") != "claim" {
        return;
    }
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
    if is_child() {
        return;
    }
    let (_dir, path) = store_dir();
    let store: Store<u32, String> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    let children: Vec<KillOnDrop> = (0..4)
        .map(|i| {
            KillOnDrop(spawn_child(
                "child_claimer",
                &[
                    ("DIRKV_ROLE", "claim".into()),
                    ("DIRKV_STORE", path.display().to_string()),
                    ("DIRKV_ID", format!("p{i}")),
                ],
                Stdio::piped(),
            ))
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

#[test]
fn child_writer() {
    if !is_child() || env("DIRKV_ROLE") != "writer" {
        return;
    }
    let durability = if env("DIRKV_DURABLE") == "1" {
        Durability::Durable
    } else {
        Durability::Fast
    };
    let store: Store<String, Stamped> = Store::options()
        .durability(durability)
        .open(env("DIRKV_STORE"), Exists::Update)
        .unwrap();
    let start: u64 = env("DIRKV_SEQ").parse().unwrap();
    let mut out = std::io::stdout().lock();
    for seq in start.. {
        let key = format!("k{}", seq % 40);
        if seq % 3 == 0 {
            store
                .set_many([(key.as_str(), &stamped(&key, seq))])
                .unwrap();
        } else {
            store.set(&key, &stamped(&key, seq)).unwrap();
        }
        use std::io::Write;
        // Acknowledged: the write returned Ok.
        let _ = writeln!(out, "ACK {key} {seq}");
        let _ = out.flush();
    }
}

#[test]
fn killed_writers_never_leave_a_torn_or_lost_value() {
    if is_child() {
        return;
    }
    let (_dir, path) = store_dir();
    let store: Store<String, Stamped> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    let mut acked: HashMap<String, u64> = HashMap::new();
    let mut seq = 0u64;
    let mut rng = 0x9e37_79b9u64;
    let kills = 20;
    for round in 0..kills {
        let child = spawn_child(
            "child_writer",
            &[
                ("DIRKV_ROLE", "writer".into()),
                ("DIRKV_STORE", path.display().to_string()),
                ("DIRKV_SEQ", seq.to_string()),
                (
                    "DIRKV_DURABLE",
                    if round % 4 == 0 { "1" } else { "0" }.into(),
                ),
            ],
            Stdio::piped(),
        );
        let mut child = KillOnDrop(child);
        let out = child.0.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let Some(ack) = line.split("ACK ").nth(1) else {
                    continue;
                };
                let mut parts = ack.split(' ');
                if let (Some(k), Some(s)) = (parts.next(), parts.next()) {
                    acks.push((k.to_owned(), s.parse::<u64>().unwrap()));
                }
            }
            acks
        });
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(30 + rng % 70));
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        for (k, s) in reader.join().unwrap() {
            let e = acked.entry(k).or_default();
            *e = (*e).max(s);
            seq = seq.max(s + 1);
        }
        seq += 1000; // unacknowledged writes may have landed: keep sequence numbers unique
    }
    assert!(!acked.is_empty(), "the writer made progress");
    // Every entry is whole and no acknowledged write was lost.
    let reopened: Store<String, Stamped> = Store::open(&path, Exists::Update).unwrap();
    for item in reopened.iter() {
        let (k, v) = item.expect("every entry decodes");
        assert!(is_whole(&k, &v), "{k} holds a torn value");
    }
    for (k, s) in &acked {
        let v = reopened.get(k).unwrap().expect("acknowledged key present");
        assert!(
            v.seq >= *s,
            "{k}: acknowledged seq {s} lost (found {})",
            v.seq
        );
    }
    drop(store);
    drop(reopened);
    // The killed writers' temp files are swept by the next open.
    let started = Instant::now();
    let _: Store<String, Stamped> = Store::open(&path, Exists::Update).unwrap();
    assert!(
        common::temp_files(&path).is_empty(),
        "stale temps left: {:?}",
        common::temp_files(&path)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(std::fs::read_dir(path.join("tmp")).unwrap().count() <= 1);
}
