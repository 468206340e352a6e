//! dirkv against other embedded stores: `cargo bench -p dirkv-bench` (from the workspace
//! root; `cargo bench -p dirkv-bench -- --quick` for fewer rounds, `--only WORD` for the
//! lines whose name has WORD). dirkv against the file system's floor is the other bench,
//! `cargo bench --bench perf` in dirkv itself.
//!
//! Lines 5 time a trusted cache hit of dirkv and the other store's cached get of the same
//! keys; lines 6 the paged-memory workload "W2" (see `paged.rs`) in every store against
//! the raw file floor. Rounds are interleaved, and each line prints the ratio of the medians (as
//! `benches/perf.rs` does, with the same measuring code: `benches/measure/mod.rs`). The
//! stores live in `target/tmp/dirkv-bench/`.

use std::fs;
use std::hint::black_box;
use std::time::Instant;

use dirkv::{CacheMode, Durability, Exists, Raw, Store};

#[path = "../../benches/measure/mod.rs"]
mod measure;
use measure::*;

mod paged;

/// Lines "5. trusted hit vs": a trusted cache hit against the cached get of redb and of
/// sled, on the same 1,000 keys of 100 B.
fn embedded(b: &mut Bench) {
    if !b.wants("5. trusted hit vs") {
        return;
    }
    let path = bench_root().join("cache-vs");
    let store: Bytes = Store::options()
        .codec(Raw)
        .durability(Durability::Fast)
        .cache(10_000, 64 << 20)
        .cache_mode(CacheMode::Trusted)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    let keys = keys("hit", 1000);
    fill(&store, &keys, 100);
    let dirkv_get = || {
        per_op_n(keys.len(), 20, |i| {
            drop(black_box(store.get(&keys[i]).unwrap()))
        })
    };
    let rounds = b.rounds * 2;

    // redb: one read transaction per get, as a program answering single lookups does;
    // its page cache holds the whole table.
    const TABLE: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("t");
    let redb_path = bench_root().join("redb.db");
    let _ = fs::remove_file(&redb_path);
    let db = redb::Database::create(&redb_path).unwrap();
    let w = db.begin_write().unwrap();
    {
        let mut t = w.open_table(TABLE).unwrap();
        for (i, k) in keys.iter().enumerate() {
            t.insert(k.as_str(), value(100, i).as_slice()).unwrap();
        }
    }
    w.commit().unwrap();
    let redb_get = |k: &str| -> Option<Vec<u8>> {
        use redb::ReadableDatabase;
        let r = db.begin_read().unwrap();
        let t = r.open_table(TABLE).unwrap();
        t.get(k).unwrap().map(|g| g.value().to_vec())
    };
    assert_eq!(redb_get(&keys[3]), store.get(&keys[3]).unwrap());
    b.pair(
        "5. trusted hit vs redb 3 get (read txn + get), 100 B",
        "redb get",
        rounds,
        Target::AtMost(1.0),
        Unit::PerOp,
        || per_op_n(keys.len(), 5, |i| drop(black_box(redb_get(&keys[i])))),
        dirkv_get,
    );

    // sled: `get` gives its own shared buffer (no copy); dirkv's gives a `Vec` (a copy).
    let sled_path = bench_root().join("sled.db");
    let _ = fs::remove_dir_all(&sled_path);
    let sled = sled::Config::new().path(&sled_path).open().unwrap();
    for (i, k) in keys.iter().enumerate() {
        sled.insert(k.as_bytes(), value(100, i)).unwrap();
    }
    assert_eq!(
        sled.get(keys[3].as_bytes()).unwrap().map(|v| v.to_vec()),
        store.get(&keys[3]).unwrap()
    );
    b.pair(
        "5. trusted hit vs sled 0.34 get, 100 B",
        "sled get",
        rounds,
        Target::AtMost(1.0),
        Unit::PerOp,
        || {
            per_op_n(keys.len(), 10, |i| {
                drop(black_box(sled.get(keys[i].as_bytes()).unwrap()))
            })
        },
        dirkv_get,
    );
    drop(sled);
    let _ = fs::remove_dir_all(&sled_path);
    drop(db);
    let _ = fs::remove_file(&redb_path);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    fs::create_dir_all(bench_root()).unwrap();
    let quick = args.iter().any(|a| a == "--quick");
    let mut b = Bench {
        rounds: if quick { 3 } else { 11 },
        only: arg("--only"),
        lines: Vec::new(),
    };
    let start = Instant::now();
    print_header();
    embedded(&mut b);
    paged::paged_memory(&mut b);
    print_summary(&b, start);
}
