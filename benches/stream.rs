//! Memory of `keys()` over a large store: `cargo bench --bench stream`, opt-in because the
//! store takes minutes and gigabytes to make (1,000,000 entries of 100 B take 1,000,000
//! blocks of 4 KiB on ext4).
//!
//! ```sh
//! DIRKV_BENCH_STREAM_KEYS=1000000 cargo bench --bench stream
//! ```
//!
//! The store is made once in `target/tmp/dirkv-stream-<N>` (by a child process, so its
//! memory does not count) and kept. The measuring process then walks `keys()` and prints
//! its peak resident memory (`VmHWM` in `/proc/self/status`) before the walk, after a
//! tenth of it, and at the end: a streaming walk ends where the tenth left it.

use std::path::PathBuf;
use std::time::Instant;

use dirkv::{Durability, Exists, Raw, Store};

type Bytes = Store<String, Vec<u8>, Raw>;

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn make(path: &std::path::Path, n: usize) {
    let store: Bytes = Store::options()
        .codec(Raw)
        .durability(Durability::Fast)
        .open(path, Exists::Replace)
        .unwrap();
    let value = vec![7u8; 100];
    let start = Instant::now();
    let mut done = 0;
    while done < n {
        let end = (done + 10_000).min(n);
        let keys: Vec<String> = (done..end).map(|i| format!("stream-{i:08}")).collect();
        store
            .set_many(keys.iter().map(|k| (k.as_str(), &value)))
            .unwrap();
        done = end;
        if done % 100_000 == 0 {
            eprintln!("  {done} entries, {:.0} s", start.elapsed().as_secs_f64());
        }
    }
}

fn main() {
    let Some(n) = std::env::var("DIRKV_BENCH_STREAM_KEYS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    else {
        println!("stream: skipped (set DIRKV_BENCH_STREAM_KEYS=1000000 to run it)");
        return;
    };
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("dirkv-stream-{n}"));
    let ready = path.join("bench-ready");
    if std::env::var_os("DIRKV_BENCH_STREAM_MAKE").is_some() {
        make(&path, n);
        std::fs::write(&ready, b"").unwrap();
        return;
    }
    if !ready.exists() {
        eprintln!(
            "stream: making a store of {n} entries in {}",
            path.display()
        );
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .env("DIRKV_BENCH_STREAM_MAKE", "1")
            .status()
            .unwrap();
        assert!(status.success());
    }
    let store: Bytes = Store::options()
        .codec(Raw)
        .open(&path, Exists::Update)
        .unwrap();
    let before = vm_hwm_kib();
    let start = Instant::now();
    let mut count = 0usize;
    let mut at_tenth = 0;
    let mut bytes = 0usize;
    for key in store.keys() {
        bytes += key.unwrap().len();
        count += 1;
        if count == n / 10 {
            at_tenth = vm_hwm_kib();
        }
    }
    let walk = start.elapsed();
    let after = vm_hwm_kib();
    assert_eq!(count, n);
    let start = Instant::now();
    let len = store.len().unwrap();
    let len_time = start.elapsed();
    println!(
        "stream: keys() over {count} entries ({bytes} key bytes) in {:.1} s; peak RSS (VmHWM) {before} KiB before, {at_tenth} KiB after {} keys, {after} KiB after all; len() = {len} in {:.2} s",
        walk.as_secs_f64(),
        n / 10,
        len_time.as_secs_f64()
    );
}
