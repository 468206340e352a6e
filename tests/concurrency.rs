//! Several processes and threads on one store: exact counters, single claims, and readers
//! that never see a torn or foreign value.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{KillOnDrop, is_child, spawn_child, store_dir};
use dirkv::{Durability, Exists, Store};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
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
