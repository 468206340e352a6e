//! dirkv against the file system's floor: `cargo bench --bench perf` (quicker:
//! `cargo bench --bench perf -- --quick`). dirkv against other embedded stores (redb, sled)
//! is the bench of the workspace crate `bench/`: `cargo bench -p dirkv-bench`.
//!
//! Every line times dirkv and the raw recipe it cannot beat on the same files (the same
//! sha256-named paths, the same value sizes), interleaved round by round (alternating which
//! goes first), and prints the ratio of the medians with the spread of the per-round
//! ratios. Only ratios measured in one run mean anything; absolute times move with the
//! machine's load.
//!
//! Options (after `--`): `--quick` (fewer rounds), `--only WORD` (lines whose name has
//! WORD), `--syscalls get|set|durable-set|remove|trusted-hit|validated-hit` (run 1,000 of one
//! operation between two marker `stat`s of `/dirkv-syscalls-begin` and `-end`, for
//! `strace -f -o trace` to count; see `docs/performance.md`).
//!
//! Stores live in `target/tmp/dirkv-bench/` and are kept between runs (about 450 MB on
//! ext4, most of it the 100,000-key store of the open and `len` lines, made on the first
//! run): rewriting keys instead of deleting and recreating them keeps the disk's discard
//! work from one line out of the next. `rm -rf target/tmp/dirkv-bench` removes them.
//!
//! The measuring and the table are in `benches/measure/mod.rs`, shared with `dirkv-bench`.

use std::fs::{self, File, OpenOptions};
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use dirkv::{CacheMode, Codec, Durability, Exists, MsgPack, Raw, Store};

mod measure;
use measure::*;

// ---------------------------------------------------------------- the raw recipes

/// The floor of a write: a new file beside the target (O_EXCL, as tempfile does), write,
/// [fsync], close, rename over the target, [fsync the folder].
fn floor_write(path: &Path, bytes: &[u8], durable: bool, n: &mut u64) {
    let dir = path.parent().expect("entry paths have a folder");
    *n += 1;
    let tmp = dir.join(format!(".floor-{}-{n}", std::process::id()));
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .unwrap();
    f.write_all(bytes).unwrap();
    if durable {
        f.sync_all().unwrap();
    }
    drop(f);
    fs::rename(&tmp, path).unwrap();
    if durable {
        File::open(dir).unwrap().sync_all().unwrap();
    }
}

/// The batch recipe with one fsync after another: temps (each fsynced), renames, one
/// folder fsync per shard.
fn floor_batch_serial(paths: &[PathBuf], bytes: &[Vec<u8>], n: &mut u64) {
    let mut temps = Vec::new();
    for (path, bytes) in paths.iter().zip(bytes) {
        *n += 1;
        let tmp = path
            .parent()
            .unwrap()
            .join(format!(".floor-{}-{n}", std::process::id()));
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .unwrap();
        f.write_all(bytes).unwrap();
        f.sync_data().unwrap();
        temps.push((tmp, path));
    }
    let mut dirs: Vec<&Path> = paths.iter().map(|p| p.parent().unwrap()).collect();
    for (tmp, path) in &temps {
        fs::rename(tmp, path).unwrap();
    }
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        File::open(dir).unwrap().sync_all().unwrap();
    }
}

// ---------------------------------------------------------------- fixtures

/// A bench store, kept between runs: its keys are rewritten, never deleted, because
/// deleting thousands of files makes the next minutes of file creation slower on a disk
/// mounted with `discard`, which would blur the lines measured after it.
fn bench_store(name: &str, durability: Durability) -> Bytes {
    let path = bench_root().join(name);
    Store::options()
        .codec(Raw)
        .durability(durability)
        .open(path, Exists::OpenOrCreate)
        .unwrap()
}

fn paths_of(store: &Bytes, keys: &[String]) -> Vec<PathBuf> {
    keys.iter().map(|k| store.path_of(k.as_str())).collect()
}

fn entry_bytes(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    paths.iter().map(|p| fs::read(p).unwrap()).collect()
}

// ---------------------------------------------------------------- the lines

fn gets(b: &mut Bench) {
    for (len, label) in [(100, "100 B"), (4096, "4 KiB")] {
        let name = format!("1. get {label}, uncached");
        if !b.wants(&name) {
            continue;
        }
        let store = bench_store(&format!("get-{len}"), Durability::Fast);
        let keys = keys("get", 1000);
        fill(&store, &keys, len);
        let paths = paths_of(&store, &keys);
        let rounds = b.rounds * 2;
        b.pair(
            &name,
            "std::fs::read",
            rounds,
            Target::AtMost(0.9),
            Unit::PerOp,
            || {
                per_op_n(paths.len(), 5, |i| {
                    drop(black_box(fs::read(&paths[i]).unwrap()))
                })
            },
            || {
                per_op_n(keys.len(), 5, |i| {
                    drop(black_box(store.get(&keys[i]).unwrap()))
                })
            },
        );
    }
}

fn sets(b: &mut Bench) {
    let mut n = 0u64;
    // 2. fast set, overwriting existing keys and creating new ones.
    if b.wants("2. set fast") {
        let store = bench_store("set-fast", Durability::Fast);
        let keys = keys("set", 500);
        fill(&store, &keys, 100);
        let paths = paths_of(&store, &keys);
        let bytes = entry_bytes(&paths);
        let v = value(100, 1);
        b.pair(
            "2. set fast (no fsync), 100 B, existing key",
            "temp+write+rename",
            b.rounds,
            Target::AtMost(1.1),
            Unit::PerOp,
            || {
                per_op(paths.len(), |i| {
                    floor_write(&paths[i], &bytes[i], false, &mut n)
                })
            },
            || per_op(keys.len(), |i| store.set(&keys[i], &v).unwrap()),
        );
        // New keys: unique to this run, in a store emptied at the end of the bench.
        let new_keys = bench_store("set-new", Durability::Fast);
        let run = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let mut round = 0;
        let mut floor_round = 0;
        let per_round = 300;
        let template = bytes[0].clone();
        b.pair(
            "2. set fast (no fsync), 100 B, new key",
            "temp+write+rename",
            b.rounds,
            Target::AtMost(1.1),
            Unit::PerOp,
            || {
                floor_round += 1;
                let ks = keys_for(&format!("new-{run}-floor-{floor_round}"), per_round);
                let ps = paths_of(&new_keys, &ks);
                per_op(ps.len(), |i| floor_write(&ps[i], &template, false, &mut n))
            },
            || {
                round += 1;
                let ks = keys_for(&format!("new-{run}-dirkv-{round}"), per_round);
                per_op(ks.len(), |i| new_keys.set(&ks[i], &v).unwrap())
            },
        );
    }
    // 2. remove: an existing entry of a store that never held an expiring one (a store
    // with TTLs reads the entry's header first, to tell expired from live).
    if b.wants("2. remove") {
        let store = bench_store("remove", Durability::Fast);
        let keys = keys("rm", 300);
        let paths = paths_of(&store, &keys);
        let v = value(100, 3);
        b.pair(
            "2. remove fast, 100 B, existing key",
            "unlink",
            b.rounds,
            Target::AtMost(1.1),
            Unit::PerOp,
            || {
                fill(&store, &keys, 100);
                per_op(paths.len(), |i| fs::remove_file(&paths[i]).unwrap())
            },
            || {
                for k in &keys {
                    store.set(k, &v).unwrap();
                }
                per_op(keys.len(), |i| assert!(store.remove(&keys[i]).unwrap()))
            },
        );
    }
    // 3. durable set.
    if b.wants("3. set durable") {
        let store = bench_store("set-durable", Durability::Durable);
        let keys = keys("set", 60);
        fill(&store, &keys, 100);
        let paths = paths_of(&store, &keys);
        let bytes = entry_bytes(&paths);
        let v = value(100, 1);
        b.pair(
            "3. set durable, 100 B, existing key",
            "temp+fsync+rename+fsync",
            b.rounds,
            Target::AtMost(1.0),
            Unit::PerOp,
            || {
                per_op(paths.len(), |i| {
                    floor_write(&paths[i], &bytes[i], true, &mut n)
                })
            },
            || per_op(keys.len(), |i| store.set(&keys[i], &v).unwrap()),
        );
    }
    // 4. durable set_many of 1,000 keys.
    if b.wants("4. set_many") {
        let store = bench_store("set-many", Durability::Durable);
        let keys = keys("many", 1000);
        fill(&store, &keys, 100);
        let paths = paths_of(&store, &keys);
        let bytes = entry_bytes(&paths);
        let values: Vec<Vec<u8>> = (0..keys.len()).map(|i| value(100, i + 1)).collect();
        let single = 60;
        let rounds = b.rounds.div_ceil(2).max(3);
        let set_many = || {
            let start = Instant::now();
            store
                .set_many(keys.iter().map(String::as_str).zip(values.iter()))
                .unwrap();
            start.elapsed().as_nanos() as f64 / keys.len() as f64
        };
        let mut n2 = 0u64;
        b.pair(
            "4. set_many durable, 1,000 × 100 B, per key",
            "durable set (3.), per key",
            rounds,
            Target::AtMost(0.35),
            Unit::PerOp,
            || per_op(single, |i| floor_write(&paths[i], &bytes[i], true, &mut n2)),
            set_many,
        );
        b.pair(
            "4. set_many durable, vs the batch with serial fsyncs",
            "same batch, 1 thread",
            rounds,
            Target::Info,
            Unit::PerOp,
            || {
                let start = Instant::now();
                floor_batch_serial(&paths, &bytes, &mut n2);
                start.elapsed().as_nanos() as f64 / paths.len() as f64
            },
            set_many,
        );
    }
}

fn keys_for(prefix: &str, n: usize) -> Vec<String> {
    keys(prefix, n)
}

fn caches(b: &mut Bench) {
    for (len, label) in [(100, "100 B"), (4096, "4 KiB")] {
        for (mode, target, word) in [
            (CacheMode::Validated, 0.35, "validated"),
            (CacheMode::Trusted, 0.05, "trusted"),
        ] {
            let name = format!("5. cache hit, {word}, {label}");
            if !b.wants(&name) {
                continue;
            }
            let path = bench_root().join(format!("cache-{word}-{len}"));
            let store: Bytes = Store::options()
                .codec(Raw)
                .durability(Durability::Fast)
                .cache(10_000, 64 << 20)
                .cache_mode(mode)
                .open(&path, Exists::OpenOrCreate)
                .unwrap();
            let keys = keys("hit", 1000);
            fill(&store, &keys, len);
            // Let the files settle (validated mode caches only files older than 50 ms).
            std::thread::sleep(Duration::from_millis(150));
            for k in &keys {
                store.get(k.as_str()).unwrap();
            }
            let before = store.cache_stats().unwrap();
            let paths = paths_of(&store, &keys);
            let rounds = b.rounds * 2;
            b.pair(
                &name,
                "std::fs::read",
                rounds,
                Target::AtMost(target),
                Unit::PerOp,
                || {
                    per_op_n(paths.len(), 5, |i| {
                        drop(black_box(fs::read(&paths[i]).unwrap()))
                    })
                },
                || {
                    per_op_n(keys.len(), 20, |i| {
                        drop(black_box(store.get(&keys[i]).unwrap()))
                    })
                },
            );
            let after = store.cache_stats().unwrap();
            assert_eq!(after.misses, before.misses, "every get was a hit");
        }
    }
}

/// Line "5. trusted hit, ... MsgPack struct": what a cache of encoded bytes would still pay
/// on every hit, the codec.
fn decode_cost(b: &mut Bench) {
    #[derive(serde::Serialize, serde::Deserialize, Clone)]
    struct Page {
        title: String,
        words: u32,
        links: Vec<String>,
    }
    let page = Page {
        title: "a page title".into(),
        words: 1234,
        links: (0..5).map(|i| format!("link {i}")).collect(),
    };
    let mut encoded = Vec::new();
    MsgPack.encode(&page, &mut encoded).unwrap();
    let name = format!(
        "5. trusted hit, {} B MsgPack struct, vs decode only",
        encoded.len()
    );
    if !b.wants(&name) {
        return;
    }
    let keys = keys("hit", 1000);
    let rounds = b.rounds * 2;
    let typed: Store<String, Page> = Store::options()
        .durability(Durability::Fast)
        .cache(10_000, 64 << 20)
        .cache_mode(CacheMode::Trusted)
        .open(bench_root().join("cache-typed"), Exists::OpenOrCreate)
        .unwrap();
    for k in &keys {
        typed.set(k.as_str(), &page).unwrap();
    }
    b.pair(
        &name,
        "MsgPack decode",
        rounds,
        Target::Info,
        Unit::PerOp,
        || {
            per_op_n(keys.len(), 10, |_| {
                let p: Page = MsgPack.decode(black_box(&encoded)).unwrap();
                drop(black_box(p));
            })
        },
        || {
            per_op_n(keys.len(), 10, |i| {
                drop(black_box(typed.get(&keys[i]).unwrap()))
            })
        },
    );
}

/// Operations per second of `threads` threads each running `per_thread(t)` (which returns
/// how many operations it did), started together.
fn throughput(threads: usize, per_thread: &(dyn Fn(usize) -> usize + Sync)) -> f64 {
    let barrier = Barrier::new(threads + 1);
    let (ops, elapsed) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    per_thread(t)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let ops: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        (ops, start.elapsed())
    });
    ops as f64 / elapsed.as_secs_f64()
}

/// Records a scaling line: the speedup of 2 threads over 1 for dirkv and for the floor,
/// measured in interleaved rounds.
fn speedups(
    b: &mut Bench,
    name: &str,
    rounds: usize,
    target: Target,
    dirkv: &(dyn Fn(usize) -> usize + Sync),
    floor: &(dyn Fn(usize) -> usize + Sync),
) {
    let (mut floor_speedups, mut dirkv_speedups) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let (f, d) = if round % 2 == 0 {
            let f = throughput(2, floor) / throughput(1, floor);
            (f, throughput(2, dirkv) / throughput(1, dirkv))
        } else {
            let d = throughput(2, dirkv) / throughput(1, dirkv);
            (throughput(2, floor) / throughput(1, floor), d)
        };
        floor_speedups.push(f);
        dirkv_speedups.push(d);
    }
    let ratios: Vec<f64> = dirkv_speedups
        .iter()
        .zip(&floor_speedups)
        .map(|(d, f)| d / f)
        .collect();
    let (d, f) = (median(&dirkv_speedups), median(&floor_speedups));
    b.push(Line {
        name: name.to_owned(),
        dirkv: d,
        floor: Some(f),
        floor_name: "raw recipe's speedup",
        ratio: Some(d / f),
        spread: Some((
            ratios.iter().copied().fold(f64::INFINITY, f64::min),
            ratios.iter().copied().fold(0.0, f64::max),
        )),
        target,
        unit: Unit::Speedup,
    });
}

fn threads(b: &mut Bench) {
    if b.wants("6. 2 threads × get") {
        let store = bench_store("threads-get", Durability::Fast);
        let keys = keys("t", 2000);
        fill(&store, &keys, 100);
        let paths = paths_of(&store, &keys);
        let passes = 15;
        let work = |t: usize| {
            for _ in 0..passes {
                for k in &keys[t * 1000..(t + 1) * 1000] {
                    drop(black_box(store.get(k.as_str()).unwrap()));
                }
            }
            passes * 1000
        };
        let floor_work = |t: usize| {
            for _ in 0..passes {
                for p in &paths[t * 1000..(t + 1) * 1000] {
                    drop(black_box(fs::read(p).unwrap()));
                }
            }
            passes * 1000
        };
        speedups(
            b,
            "6. 2 threads × get 100 B uncached, speedup over 1",
            b.rounds,
            Target::ValueAtLeast(1.8),
            &work,
            &floor_work,
        );
    }
    if b.wants("6. 2 threads × set durable") {
        let store = bench_store("threads-set", Durability::Durable);
        let keys = keys("t", 120);
        fill(&store, &keys, 100);
        let v = value(100, 3);
        let paths = paths_of(&store, &keys);
        let bytes = entry_bytes(&paths);
        let work = |t: usize| {
            for k in &keys[t * 60..(t + 1) * 60] {
                store.set(k.as_str(), &v).unwrap();
            }
            60
        };
        let floor_work = |t: usize| {
            let mut n = 1_000_000 * (t as u64 + 1);
            for i in t * 60..(t + 1) * 60 {
                floor_write(&paths[i], &bytes[i], true, &mut n);
            }
            60
        };
        speedups(
            b,
            "6. 2 threads × set durable, other keys, speedup",
            b.rounds,
            Target::AtLeast(0.9),
            &work,
            &floor_work,
        );
    }
}

fn big_store(b: &mut Bench) {
    if !b.wants("7.") {
        return;
    }
    const N: usize = 100_000;
    let path = bench_root().join("keys-100k");
    let ready = path.join("bench-ready");
    if !ready.exists() {
        eprintln!("(creating the {N}-key store once; it is kept for later runs)");
        let store: Bytes = Store::options()
            .codec(Raw)
            .durability(Durability::Fast)
            .open(&path, Exists::Replace)
            .unwrap();
        let keys = keys("big", N);
        for chunk in keys.chunks(10_000) {
            fill(&store, chunk, 100);
        }
        store.sync().unwrap();
        fs::write(&ready, b"").unwrap();
    }
    // Open: the median of 21 opens; each handle is dropped outside the timing.
    let mut opens = Vec::new();
    for _ in 0..21 {
        let start = Instant::now();
        let store: Bytes = Store::options()
            .codec(Raw)
            .open(&path, Exists::Update)
            .unwrap();
        opens.push(start.elapsed().as_nanos() as f64);
        drop(store);
    }
    let open_ns = median(&opens);
    b.push(Line {
        name: format!(
            "7. Store::open, {}k keys (max {})",
            N / 1000,
            show(opens.iter().copied().fold(0.0, f64::max), Unit::PerOp)
        ),
        dirkv: open_ns,
        floor: None,
        floor_name: "-",
        ratio: None,
        spread: None,
        target: Target::TimeAtMost(1e6),
        unit: Unit::PerOp,
    });

    let store: Bytes = Store::options()
        .codec(Raw)
        .open(&path, Exists::Update)
        .unwrap();
    let bare_walk = || {
        let start = Instant::now();
        let mut n = 0usize;
        for shard in 0..=255u8 {
            for item in fs::read_dir(path.join(format!("{shard:02x}"))).unwrap() {
                black_box(item.unwrap());
                n += 1;
            }
        }
        assert!(n >= N);
        start.elapsed().as_nanos() as f64
    };
    let len = || {
        let start = Instant::now();
        assert_eq!(black_box(store.len().unwrap()), N);
        start.elapsed().as_nanos() as f64
    };
    b.pair(
        &format!("7. len(), {}k keys", N / 1000),
        "readdir of 256 shards",
        b.rounds,
        Target::AtMost(1.2),
        Unit::PerOp,
        bare_walk,
        len,
    );
}

fn flush(b: &mut Bench) {
    if !b.wants("8.") {
        return;
    }
    let keys = keys("flush", 500);
    let v = value(100, 5);
    let plain = bench_store("flush-plain", Durability::Fast);
    fill(&plain, &keys, 100);
    let flushed: Bytes = Store::options()
        .codec(Raw)
        .durability(Durability::Fast)
        .sync_interval(Some(Duration::from_millis(100)))
        .open(bench_root().join("flush-bg"), Exists::OpenOrCreate)
        .unwrap();
    fill(&flushed, &keys, 100);
    flushed.sync().unwrap();
    b.pair(
        "8. set fast with sync_interval(100 ms)",
        "set fast, no thread",
        b.rounds,
        Target::Info,
        Unit::PerOp,
        || per_op(keys.len(), |i| plain.set(&keys[i], &v).unwrap()),
        || per_op(keys.len(), |i| flushed.set(&keys[i], &v).unwrap()),
    );
    let durable = bench_store("flush-durable", Durability::Durable);
    let few = &keys[..60];
    fill(&durable, few, 100);
    b.pair(
        "8. 500 fast sets + sync(), per key",
        "durable set, per key",
        b.rounds.div_ceil(2).max(3),
        Target::Info,
        Unit::PerOp,
        || per_op(few.len(), |i| durable.set(&few[i], &v).unwrap()),
        || {
            let start = Instant::now();
            for k in &keys {
                plain.set(k.as_str(), &v).unwrap();
            }
            plain.sync().unwrap();
            start.elapsed().as_nanos() as f64 / keys.len() as f64
        },
    );
}

// ---------------------------------------------------------------- syscalls

fn marker(which: &str) {
    let _ = fs::symlink_metadata(format!("/dirkv-syscalls-{which}"));
}

fn syscalls(what: &str) {
    let (durability, cache) = match what {
        "get" | "set" | "remove" => (Durability::Fast, None),
        "durable-set" => (Durability::Durable, None),
        "trusted-hit" => (Durability::Fast, Some(CacheMode::Trusted)),
        "validated-hit" => (Durability::Fast, Some(CacheMode::Validated)),
        other => panic!("unknown --syscalls {other}"),
    };
    let mut options = Store::<String, Vec<u8>>::options()
        .codec(Raw)
        .durability(durability);
    if let Some(mode) = cache {
        options = options.cache(10_000, 64 << 20).cache_mode(mode);
    }
    let store = options
        .open(bench_root().join("syscalls"), Exists::OpenOrCreate)
        .unwrap();
    let keys = keys("s", 1000);
    fill(&store, &keys, 100);
    std::thread::sleep(Duration::from_millis(150));
    for k in &keys {
        store.get(k.as_str()).unwrap();
    }
    let v = value(100, 9);
    marker("begin");
    for k in &keys {
        if what.ends_with("set") {
            store.set(k.as_str(), &v).unwrap();
        } else if what == "remove" {
            assert!(store.remove(k.as_str()).unwrap());
        } else {
            black_box(store.get(k.as_str()).unwrap());
        }
    }
    marker("end");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    fs::create_dir_all(bench_root()).unwrap();
    if let Some(what) = arg("--syscalls") {
        syscalls(&what);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let mut b = Bench {
        rounds: if quick { 3 } else { 11 },
        only: arg("--only"),
        lines: Vec::new(),
    };
    let start = Instant::now();
    print_header();
    gets(&mut b);
    sets(&mut b);
    caches(&mut b);
    decode_cost(&mut b);
    threads(&mut b);
    big_store(&mut b);
    flush(&mut b);
    // After every line: the new keys of line 2 go (see `bench_store`).
    if let Ok(store) = Store::<String, Vec<u8>>::options()
        .codec(Raw)
        .open(bench_root().join("set-new"), Exists::Update)
    {
        store.clear().unwrap();
    }
    print_summary(&b, start);
}
