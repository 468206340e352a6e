//! The seed's workload, "W2": a paged memory of 20,000 pages of 4 KiB (u64 page keys, Raw
//! codec), then 100,000 operations, 90% get / 10% set, pages drawn zipfian(0.99). Every
//! store runs the same operation sequence on its own copy; each line is its time per
//! operation (and of its gets, its sets) against the raw file floor on the same pages:
//! `fs::read` of the page's file for a get, a temp file written and renamed over it (no
//! fsync) for a set.
//!
//! Included by `peers.rs` as its module `paged`.

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use dirkv::{Durability, Exists, Raw, Store};

use crate::measure::{Bench, Line, Target, Unit, bench_root, median};

const PAGES: u64 = 20_000;
const PAGE: usize = 4096;
const OPS: usize = 100_000;

type Pages = Store<u64, Vec<u8>, Raw>;

/// One operation of the workload.
#[derive(Clone, Copy)]
enum Op {
    Get(u64),
    Set(u64, u8),
}

/// The workload's operations: zipfian(0.99) over the pages (by inverse CDF), 90% gets.
fn workload(seed: u64) -> Vec<Op> {
    let weights: Vec<f64> = (1..=PAGES).map(|k| 1.0 / (k as f64).powf(0.99)).collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(weights.len());
    let mut acc = 0.0;
    for w in weights {
        acc += w / total;
        cdf.push(acc);
    }
    let mut x = seed | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..OPS)
        .map(|_| {
            let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
            // Hot pages are spread over the key space, as a program's hot pages are.
            let rank = cdf.partition_point(|&c| c < u) as u64;
            let page = rank.wrapping_mul(7919) % PAGES;
            if next() % 10 == 0 {
                Op::Set(page, next() as u8)
            } else {
                Op::Get(page)
            }
        })
        .collect()
}

/// Times of one run: all operations, the gets, the sets, the gets answered from RAM
/// (ns per op), and the share of gets that were.
#[derive(Clone, Copy, Default)]
struct Times {
    all: f64,
    gets: f64,
    sets: f64,
    hits: f64,
    hit_rate: f64,
}

/// Runs `ops`; `hits` counts the gets answered from RAM so far (read outside the timing).
/// Picks one time out of a run's [`Times`].
type Pick = fn(&Times) -> f64;

fn run(
    ops: &[Op],
    mut get: impl FnMut(u64),
    mut set: impl FnMut(u64, &[u8]),
    mut hits: impl FnMut() -> u64,
) -> Times {
    let mut page = vec![0u8; PAGE];
    let (mut g, mut s, mut h) = (0u128, 0u128, 0u128);
    let (mut gn, mut sn, mut hn) = (0u32, 0u32, 0u32);
    for op in ops {
        match *op {
            Op::Get(k) => {
                let before = hits();
                let t = Instant::now();
                get(k);
                let took = t.elapsed().as_nanos();
                g += took;
                gn += 1;
                if hits() > before {
                    h += took;
                    hn += 1;
                }
            }
            Op::Set(k, b) => {
                page[0] = b;
                let t = Instant::now();
                set(k, &page);
                s += t.elapsed().as_nanos();
                sn += 1;
            }
        }
    }
    Times {
        all: (g + s) as f64 / ops.len() as f64,
        gets: g as f64 / f64::from(gn.max(1)),
        sets: s as f64 / f64::from(sn.max(1)),
        hits: h as f64 / f64::from(hn.max(1)),
        hit_rate: f64::from(hn) / f64::from(gn.max(1)),
    }
}

/// The floor's files: the pages as plain files in their own folder, named as dirkv names
/// them (`xx/<sha256>.dkv`), so both walk the same directory shapes.
fn floor_files(store: &Pages, base: &Path, dir: &Path, pages: &[Vec<u8>]) -> Vec<PathBuf> {
    (0..PAGES)
        .map(|k| {
            let rel = store.path_of(&k);
            let rel = rel.strip_prefix(base).unwrap();
            let p = dir.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, &pages[k as usize]).unwrap();
            p
        })
        .collect()
}

/// The floor: a get reads the page's file, a set writes a temp file and renames it over.
fn floor(paths: &[PathBuf], ops: &[Op]) -> Times {
    run(
        ops,
        |k| drop(black_box(fs::read(&paths[k as usize]).unwrap())),
        |k, page| {
            let p = &paths[k as usize];
            let tmp = p.with_extension("floor-tmp");
            fs::write(&tmp, page).unwrap();
            fs::rename(&tmp, p).unwrap();
        },
        || 0,
    )
}

fn open(path: &Path, how: &str) -> Pages {
    let o = Store::options().codec(Raw).durability(Durability::Fast);
    let o = match how {
        "cache" => o.cache(5000, 64 << 20),
        "write-back" => o.write_back(5000, 64 << 20),
        "write-back-all" => o.write_back(PAGES as usize, 128 << 20),
        _ => o,
    };
    o.open(path, Exists::OpenOrCreate).unwrap()
}

fn dirkv(store: &Pages, ops: &[Op]) -> Times {
    run(
        ops,
        |k| drop(black_box(store.get(&k).unwrap())),
        |k, page| store.set_bytes(&k, page).unwrap(),
        || store.cache_stats().map_or(0, |s| s.hits),
    )
}

/// The resident set of this process, bytes.
fn rss() -> u64 {
    fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// Lines "6. W2": dirkv without a cache, with the validated cache, in write-back mode,
/// redb and sled, each against the floor, on the same operations.
pub fn paged_memory(b: &mut Bench) {
    if !b.wants("6. W2") {
        return;
    }
    let root = bench_root().join("paged");
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    let ops = workload(0x9e37_79b9_7f4a_7c15);
    let pages: Vec<Vec<u8>> = (0..PAGES).map(|k| vec![k as u8; PAGE]).collect();
    let base = root.join("dirkv");
    {
        let s = open(&base, "plain");
        s.set_many((0..PAGES).map(|k| (k, &pages[k as usize])))
            .unwrap();
        s.sync().unwrap();
    }
    let floor_paths = {
        let s = open(&base, "plain");
        floor_files(&s, s.path(), &root.join("floor"), &pages)
    };
    let rounds = b.rounds.clamp(3, 5);

    // redb: one write transaction per set (no fsync: Durability::None), one read
    // transaction per get.
    const TABLE: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("pages");
    let db = redb::Database::create(root.join("redb.db")).unwrap();
    {
        let w = db.begin_write().unwrap();
        {
            let mut t = w.open_table(TABLE).unwrap();
            for k in 0..PAGES {
                t.insert(k, pages[k as usize].as_slice()).unwrap();
            }
        }
        w.commit().unwrap();
    }
    let sled = sled::Config::new()
        .path(root.join("sled.db"))
        .open()
        .unwrap();
    for k in 0..PAGES {
        sled.insert(k.to_be_bytes(), pages[k as usize].as_slice())
            .unwrap();
    }
    sled.flush().unwrap();

    let mut results: Vec<(&str, Vec<Times>, Vec<Times>)> = Vec::new();
    let mut rss_note = String::new();
    for how in [
        "no cache",
        "cache(5000, 64 MiB) validated",
        "write_back(5000, 64 MiB)",
        "write_back(20000, 128 MiB): all pages fit, as in sled's 1 GB cache",
        "redb 3 (1 txn per op)",
        "sled 0.34",
    ] {
        let (mut d, mut f) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let mut one = || -> Times {
                match how {
                    "no cache" => dirkv(&open(&base, "plain"), &ops),
                    "cache(5000, 64 MiB) validated" => dirkv(&open(&base, "cache"), &ops),
                    "write_back(5000, 64 MiB)" => {
                        let before = rss();
                        let s = open(&base, "write-back");
                        let t = dirkv(&s, &ops);
                        let grown = rss().saturating_sub(before);
                        rss_note = format!("resident set grew {} MiB during the run", grown >> 20);
                        s.sync().unwrap();
                        t
                    }
                    "write_back(20000, 128 MiB): all pages fit, as in sled's 1 GB cache" => {
                        let s = open(&base, "write-back-all");
                        let t = dirkv(&s, &ops);
                        s.sync().unwrap();
                        t
                    }
                    "redb 3 (1 txn per op)" => run(
                        &ops,
                        |k| {
                            use redb::ReadableDatabase;
                            let r = db.begin_read().unwrap();
                            let t = r.open_table(TABLE).unwrap();
                            drop(black_box(t.get(k).unwrap().map(|g| g.value().to_vec())));
                        },
                        |k, page| {
                            let mut w = db.begin_write().unwrap();
                            w.set_durability(redb::Durability::None).unwrap();
                            {
                                let mut t = w.open_table(TABLE).unwrap();
                                t.insert(k, page).unwrap();
                            }
                            w.commit().unwrap();
                        },
                        || 0,
                    ),
                    _ => run(
                        &ops,
                        |k| drop(black_box(sled.get(k.to_be_bytes()).unwrap())),
                        |k, page| drop(sled.insert(k.to_be_bytes(), page).unwrap()),
                        || 0,
                    ),
                }
            };
            if round % 2 == 0 {
                f.push(floor(&floor_paths, &ops));
                d.push(one());
            } else {
                d.push(one());
                f.push(floor(&floor_paths, &ops));
            }
        }
        results.push((how, d, f));
    }
    for (how, d, f) in results {
        let cached = how.starts_with("cache") || how.starts_with("write_back");
        let targets = match how {
            "write_back(5000, 64 MiB)" => [
                Target::AtMost(0.15),
                Target::AtMost(0.1),
                Target::Info,
                Target::Info,
            ],
            "cache(5000, 64 MiB) validated" => [
                Target::AtMost(0.6),
                Target::AtMost(0.45),
                Target::Info,
                Target::AtMost(0.35),
            ],
            _ => [Target::Info; 4],
        };
        let parts: [(&str, Pick); 4] = [
            ("mix", |t| t.all),
            ("gets", |t| t.gets),
            ("sets", |t| t.sets),
            // A hit against the floor's get.
            ("hits", |t| t.hits),
        ];
        for (i, (part, pick)) in parts.into_iter().enumerate() {
            if part == "hits" && !cached {
                continue;
            }
            let floor_pick: Pick = if part == "hits" { |t| t.gets } else { pick };
            let dv: Vec<f64> = d.iter().map(pick).collect();
            let fv: Vec<f64> = f.iter().map(floor_pick).collect();
            let ratios: Vec<f64> = dv.iter().zip(&fv).map(|(a, b)| a / b).collect();
            let (dm, fm) = (median(&dv), median(&fv));
            let name = if part == "hits" {
                let rate = median(&d.iter().map(|t| t.hit_rate).collect::<Vec<_>>());
                format!("6. W2 hits ({:.0}% of gets): {how}", rate * 100.0)
            } else {
                format!("6. W2 {part}: {how}")
            };
            b.push(Line {
                name,
                dirkv: dm,
                floor: Some(fm),
                floor_name: "raw files",
                ratio: Some(dm / fm),
                spread: Some((
                    ratios.iter().copied().fold(f64::INFINITY, f64::min),
                    ratios.iter().copied().fold(0.0, f64::max),
                )),
                target: targets[i],
                unit: Unit::PerOp,
            });
        }
    }
    println!("write-back: {rss_note} (bound: 5000 values, 64 MiB)");
    drop(sled);
    drop(db);
    let _ = fs::remove_dir_all(&root);
}
