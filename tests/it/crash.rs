//! Crash consistency: writers killed with SIGKILL at random moments, and crashes during
//! store creation and `Exists::Replace`.
//!
//! The CI run kills the writer 60 times; `DIRKV_LONG=1 cargo test --release --test it
//! crash::` kills it 1,000 times. `DIRKV_SEED=<n>` repeats a run (each test prints its seed).
//!
//! How the kill test knows what must be in the store: each child runs two writer threads,
//! each owning its own keys and doing a deterministic sequence of operations (set,
//! set_many, update, remove, compare_and_swap, set_if_absent) that the parent can replay
//! from the round's seed. After each operation returns `Ok` the thread prints `ACK <thread>
//! <n>` on a pipe. After the kill, each key must hold exactly what the acknowledged
//! operations left, or what the one operation in flight at the kill would have left;
//! every value must be whole (its own checksum) and belong to its key.

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Lines, Rng, Stamped, long_run, store_dir};
use dirkv::{Durability, ErrorKind, Exists, Store};

type Stamps = Store<String, Stamped>;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

const THREADS: u32 = 2;
const KEYS_PER_THREAD: u64 = 24;

/// One operation of a writer thread; `n` is its index in the thread's sequence.
#[derive(Debug, Clone)]
enum Op {
    Set(String),
    SetMany(Vec<String>),
    Update(String),
    Remove(String),
    Cas(String),
    SetIfAbsent(String),
}

fn key(thread: u32, i: u64) -> String {
    format!("t{thread}-k{i}")
}

/// The writer id stamped into values of `thread` in round `round`.
fn writer_id(round: u64, thread: u32) -> u32 {
    (round as u32) * THREADS + thread
}

/// The `n`th operation of `thread` in the round seeded with `seed`.
fn op_at(seed: u64, thread: u32, n: u64) -> Op {
    let mut rng = Rng::new(seed ^ (u64::from(thread) << 40) ^ n.wrapping_mul(0x9e37_79b9));
    rng.next();
    let k = key(thread, rng.below(KEYS_PER_THREAD));
    match rng.below(20) {
        0..=7 => Op::Set(k),
        8..=10 => {
            let mut keys = vec![k];
            for _ in 0..2 {
                keys.push(key(thread, rng.below(KEYS_PER_THREAD)));
            }
            keys.sort();
            keys.dedup();
            Op::SetMany(keys)
        }
        11..=13 => Op::Update(k),
        14..=15 => Op::Remove(k),
        16..=17 => Op::Cas(k),
        _ => Op::SetIfAbsent(k),
    }
}

/// What a key holds: `None` (absent) or the (writer, seq) of its value.
type Held = Option<(u32, u64)>;

/// Applies `op` (the `n`th of writer `w`) to a model of the keys.
fn apply(model: &mut HashMap<String, Held>, op: &Op, w: u32, n: u64) {
    match op {
        Op::Set(k) | Op::Update(k) | Op::Cas(k) => {
            model.insert(k.clone(), Some((w, n)));
        }
        Op::SetMany(keys) => {
            for k in keys {
                model.insert(k.clone(), Some((w, n)));
            }
        }
        Op::Remove(k) => {
            model.insert(k.clone(), None);
        }
        Op::SetIfAbsent(k) => {
            let slot = model.entry(k.clone()).or_insert(None);
            if slot.is_none() {
                *slot = Some((w, n));
            }
        }
    }
}

fn fail(msg: String) -> ! {
    // The parent sees the child exit on its own (not by its kill) and reports this line.
    println!("CHILD-ERROR {msg}");
    std::process::exit(3);
}

/// Child: two threads doing their deterministic operations until killed.
#[test]
#[ignore = "child process: run by its parent test"]
fn child_crash_writer() {
    common::child_entry();
    let durability = if env("DIRKV_DURABLE") == "1" {
        Durability::Durable
    } else {
        Durability::Fast
    };
    let seed: u64 = env("DIRKV_SEED_ROUND").parse().unwrap();
    let round: u64 = env("DIRKV_ROUND").parse().unwrap();
    let shared: Stamps = Store::options()
        .durability(durability)
        .open(env("DIRKV_STORE"), Exists::Update)
        .unwrap_or_else(|e| fail(format!("open: {e}")));
    println!("OPENED");
    std::thread::scope(|s| {
        for thread in 0..THREADS {
            // Thread 0 uses the shared handle, thread 1 a handle of its own (its own lock
            // file descriptor), so both lock paths run.
            let store = if thread == 0 {
                shared.clone()
            } else {
                Store::options()
                    .durability(durability)
                    .open(env("DIRKV_STORE"), Exists::Update)
                    .unwrap_or_else(|e| fail(format!("open: {e}")))
            };
            s.spawn(move || writer_thread(&store, seed, round, thread));
        }
    });
}

fn writer_thread(store: &Stamps, seed: u64, round: u64, thread: u32) {
    use std::io::Write;
    let w = writer_id(round, thread);
    for n in 0.. {
        let op = op_at(seed, thread, n);
        let value = |k: &str| Stamped::new(k, w, n);
        let check = |k: &str, v: &Option<Stamped>| {
            if let Some(v) = v
                && let Err(e) = v.check(k)
            {
                fail(e);
            }
        };
        let result = match &op {
            Op::Set(k) => store.set(k, &value(k)),
            Op::SetMany(keys) => {
                let values: Vec<Stamped> = keys.iter().map(|k| value(k)).collect();
                store.set_many(keys.iter().map(String::as_str).zip(values.iter()))
            }
            Op::Update(k) => store
                .update(k, |old| {
                    check(k, &old);
                    Some(value(k))
                })
                .map(drop),
            Op::Remove(k) => store.remove(k).map(drop),
            Op::Cas(k) => store.get(k).and_then(|current| {
                check(k, &current);
                match store.compare_and_swap(k, current.as_ref(), Some(&value(k))) {
                    Ok(true) => Ok(()),
                    Ok(false) => fail(format!("{k}: compare_and_swap lost to nobody")),
                    Err(e) => Err(e),
                }
            }),
            Op::SetIfAbsent(k) => store.set_if_absent(k, &value(k)).map(drop),
        };
        if let Err(e) = result {
            fail(format!("op {n} {op:?}: {e}"));
        }
        // Acknowledged: the operation returned Ok.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ACK {thread} {n}");
        let _ = out.flush();
    }
}

/// Reads what the keys of all threads hold now, checking every value is whole.
fn read_state(store: &Stamps) -> HashMap<String, Held> {
    let mut out = HashMap::new();
    for t in 0..THREADS {
        for i in 0..KEYS_PER_THREAD {
            let k = key(t, i);
            let v = store
                .get(&k)
                .unwrap_or_else(|e| panic!("{k} unreadable after a kill: {e}"));
            if let Some(v) = &v {
                v.check(&k).unwrap();
            }
            out.insert(k, v.map(|v| (v.writer, v.seq)));
        }
    }
    out
}

/// The kill test's totals, printed at the end.
#[derive(Default, Debug)]
struct Tally {
    kills: u64,
    acked_ops: u64,
    keys_checked: u64,
    kills_with_op_in_flight_landed: u64,
    kills_leaving_temps: u64,
}

#[test]
fn killed_writers_never_leave_a_torn_or_lost_value() {
    let kills = if long_run() { 1000 } else { 60 };
    let seed = Rng::seed_from_env();
    eprintln!("crash test: {kills} kills, DIRKV_SEED={seed}");
    let mut rng = Rng::new(seed);
    let (_dir, path) = store_dir();
    let store: Stamps = Store::open(&path, Exists::OpenOrCreate).unwrap();
    let mut state = read_state(&store);
    let mut tally = Tally::default();
    let started = Instant::now();
    for round in 0..kills {
        let round_seed = rng.next();
        let durable = round % 3 == 0;
        let mut child = common::child_test!(child_crash_writer)
            .envs([
                ("DIRKV_STORE", path.display().to_string()),
                ("DIRKV_SEED_ROUND", round_seed.to_string()),
                ("DIRKV_ROUND", round.to_string()),
                ("DIRKV_DURABLE", if durable { "1" } else { "0" }.into()),
            ])
            .stdout(Stdio::piped())
            .spawn();
        let lines = Lines::collect(&mut child.0);
        // Kill at a random moment: sometimes while it opens the store (and sweeps the last
        // writer's temps), mostly while it writes. The moment is counted from the child's
        // start in one round of four, from its open (`OPENED`) in the others, so that a
        // slow start on a loaded machine does not leave the writers no time to write.
        if round % 4 != 0 {
            let started = Instant::now();
            while !lines.snapshot().iter().any(|l| l.contains("OPENED"))
                && started.elapsed() < Duration::from_secs(30)
                && child.0.try_wait().unwrap().is_none()
            {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        std::thread::sleep(Duration::from_micros(2_000 + rng.below(40_000)));
        if let Some(status) = child.0.try_wait().unwrap() {
            panic!(
                "round {round}: the writer exited by itself ({status}): {:?}",
                lines.finish()
            );
        }
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        let lines = lines.finish();
        if let Some(err) = lines.iter().find_map(|l| common::tagged(l, "CHILD-ERROR ")) {
            panic!("round {round}: the writer saw a bad value: {err}");
        }
        tally.kills += 1;
        if !common::temp_files(&path).is_empty() {
            tally.kills_leaving_temps += 1;
        }
        let mut last_ack: BTreeMap<u32, u64> = BTreeMap::new();
        for line in &lines {
            if let Some(ack) = common::tagged(line, "ACK ") {
                let mut parts = ack.split(' ');
                if let (Some(t), Some(n)) = (parts.next(), parts.next())
                    && let (Ok(t), Ok(n)) = (t.parse::<u32>(), n.parse::<u64>())
                {
                    let e = last_ack.entry(t).or_insert(n);
                    *e = (*e).max(n);
                    tally.acked_ops += 1;
                }
            }
        }
        // Replay each thread's acknowledged operations, then the one in flight.
        let after = read_state(&store);
        let mut landed = false;
        for thread in 0..THREADS {
            let w = writer_id(round, thread);
            let mut acked = state.clone();
            let next = match last_ack.get(&thread) {
                Some(&last) => {
                    for n in 0..=last {
                        apply(&mut acked, &op_at(round_seed, thread, n), w, n);
                    }
                    last + 1
                }
                None => 0,
            };
            let mut in_flight = acked.clone();
            apply(&mut in_flight, &op_at(round_seed, thread, next), w, next);
            for i in 0..KEYS_PER_THREAD {
                let k = key(thread, i);
                let (found, a, b) = (after[&k], acked[&k], in_flight[&k]);
                assert!(
                    found == a || found == b,
                    "round {round} (DIRKV_SEED={seed}): {k} holds {found:?}; acknowledged \
                     operations left {a:?}, the one in flight ({:?}) would leave {b:?}",
                    op_at(round_seed, thread, next)
                );
                landed |= found != a;
                tally.keys_checked += 1;
            }
        }
        tally.kills_with_op_in_flight_landed += u64::from(landed);
        state = after;
    }
    drop(store);
    // Every entry in the store is whole, and the next open sweeps the killed writers'
    // temp files (their markers in tmp/ are no longer locked).
    let reopened: Stamps = Store::open(&path, Exists::Update).unwrap();
    let mut entries = 0;
    for item in reopened.iter() {
        let (k, v) = item.expect("every entry decodes");
        v.check(&k).unwrap();
        entries += 1;
    }
    assert_eq!(
        common::temp_files(&path),
        Vec::<PathBuf>::new(),
        "killed writers' temp files are swept by the next open"
    );
    let markers: Vec<_> = fs::read_dir(path.join("tmp")).unwrap().collect();
    assert_eq!(markers.len(), 1, "only the open store's own marker is left");
    eprintln!(
        "crash test: {tally:?}, {entries} entries whole at the end, {:.1?}",
        started.elapsed()
    );
    assert!(tally.acked_ops > kills, "the writers made progress");
    assert!(
        tally.kills_leaving_temps > 0 || kills < 20,
        "some kills landed in the middle of a write"
    );
}

/// Child: prints START, then opens (creating or replacing) the store, then prints DONE.
#[test]
#[ignore = "child process: run by its parent test"]
fn child_open() {
    common::child_entry();
    let path = env("DIRKV_STORE");
    println!("START");
    let mode = if env("DIRKV_MODE") == "replace" {
        Exists::Replace
    } else {
        Exists::OpenOrCreate
    };
    let durability = if env("DIRKV_DURABLE") == "1" {
        Durability::Durable
    } else {
        Durability::Fast
    };
    if env("DIRKV_KEYS") == "u64" {
        Store::<u64, Stamped>::options()
            .durability(durability)
            .open(&path, mode)
            .unwrap();
    } else {
        Store::<String, Stamped>::options()
            .durability(durability)
            .open(&path, mode)
            .unwrap();
    }
    println!("DONE");
}

/// Spawns `child_open` and kills it `delay` after it printed START (or lets it finish).
/// Returns whether it finished before the kill.
fn open_and_kill(env: &[(&str, String)], delay: Duration) -> bool {
    let mut child = common::child_test!(child_open)
        .envs(env.iter().cloned())
        .stdout(Stdio::piped())
        .spawn();
    let lines = Lines::collect(&mut child.0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !lines.snapshot().iter().any(|l| l.contains("START")) {
        assert!(Instant::now() < deadline, "the child never started");
        if child.0.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    std::thread::sleep(delay);
    let exited = child.0.try_wait().unwrap();
    let _ = child.0.kill();
    let status = child.0.wait().unwrap();
    let lines = lines.finish();
    let done = lines.iter().any(|l| l.contains("DONE"));
    // The child may finish between `try_wait` and `kill`: then it exited on its own.
    if exited.is_some() || (status.success() && done) {
        assert!(
            status.success() && done,
            "the child failed on its own ({status}): {lines:?}"
        );
    } else {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "killed: {lines:?}");
    }
    done
}

/// Names in the store's root folder that dirkv did not put there on purpose.
fn stray_root_files(path: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for item in fs::read_dir(path).unwrap() {
        let name = item.unwrap().file_name().to_string_lossy().into_owned();
        let known = name == "DIRKV"
            || name == "lock"
            || name == "tmp"
            || common::layout::parse_shard_name(&name).is_some();
        if !known {
            out.push(name);
        }
    }
    out
}

#[test]
fn a_crash_during_creation_is_finished_by_the_next_open() {
    let seed = Rng::seed_from_env();
    let mut rng = Rng::new(seed);
    let rounds = if long_run() { 100 } else { 12 };
    let mut interrupted = 0;
    for round in 0..rounds {
        let (_dir, path) = store_dir();
        let delay = Duration::from_micros(rng.below(80_000));
        let finished = open_and_kill(
            &[
                ("DIRKV_STORE", path.display().to_string()),
                ("DIRKV_DURABLE", (round % 2).to_string()),
            ],
            delay,
        );
        interrupted += u64::from(!finished);
        // Whatever the kill left is either nothing, an unfinished store that `Update`
        // refuses and `OpenOrCreate` finishes, or a complete store. Never damage.
        if path.exists() && !path.join("DIRKV").exists() {
            let err = Stamps::open(&path, Exists::Update).unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::NotAStore),
                "round {round} (DIRKV_SEED={seed}): {err}"
            );
        }
        let store = Stamps::open(&path, Exists::OpenOrCreate)
            .unwrap_or_else(|e| panic!("round {round} (DIRKV_SEED={seed}): {e}"));
        for shard in 0..=255u8 {
            assert!(path.join(common::layout::shard_name(shard)).is_dir());
        }
        store.set("k", &Stamped::new("k", 0, 1)).unwrap();
        assert_eq!(store.len().unwrap(), 1);
        assert_eq!(
            stray_root_files(&path),
            Vec::<String>::new(),
            "round {round}: creation leftovers"
        );
    }
    eprintln!("creation crash test: {rounds} rounds, {interrupted} interrupted, DIRKV_SEED={seed}");
}

#[test]
fn a_crash_during_replace_leaves_the_old_store_partly_emptied_or_the_new_one() {
    let seed = Rng::seed_from_env();
    let mut rng = Rng::new(seed);
    let rounds = if long_run() { 60 } else { 6 };
    let (_dir, path) = store_dir();
    let originals: Vec<(String, Stamped)> = (0..400)
        .map(|i| {
            let k = format!("old-{i}");
            let v = Stamped::new(&k, 9, i);
            (k, v)
        })
        .collect();
    let mut outcomes = BTreeMap::new();
    for round in 0..rounds {
        // Fill the store (fast: one folder fsync per shard at most).
        let fill = Store::<String, Stamped>::options()
            .durability(Durability::Fast)
            .open(&path, Exists::Replace)
            .unwrap();
        fill.set_many(originals.iter().map(|(k, v)| (k.as_str(), v)))
            .unwrap();
        fill.sync().unwrap();
        drop(fill);
        // Replace it: half of the rounds with another key type, so the manifest changes.
        let change = round % 2 == 1;
        let delay = Duration::from_micros(rng.below(300_000));
        let finished = open_and_kill(
            &[
                ("DIRKV_STORE", path.display().to_string()),
                ("DIRKV_MODE", "replace".into()),
                ("DIRKV_KEYS", if change { "u64" } else { "utf8" }.into()),
                ("DIRKV_DURABLE", (round % 3 % 2).to_string()),
            ],
            delay,
        );
        let manifest = common::layout::Manifest::parse(&fs::read(path.join("DIRKV")).unwrap())
            .expect("the manifest is whole after a crash during Replace");
        let outcome = if manifest.key == "u64" {
            // The new manifest is written last: the entries are all gone by then.
            let new = Store::<u64, Stamped>::open(&path, Exists::Update).unwrap();
            assert!(
                new.is_empty().unwrap(),
                "round {round}: old entries under a new manifest"
            );
            "new manifest, empty"
        } else {
            let old = Stamps::open(&path, Exists::Update).unwrap();
            let mut left = 0;
            for item in old.iter() {
                let (k, v) = item.expect("every remaining entry is whole");
                let i: u64 = k.strip_prefix("old-").unwrap().parse().unwrap();
                assert_eq!(v, originals[i as usize].1);
                left += 1;
            }
            match (left, finished) {
                (0, _) => "old manifest, empty",
                (400, _) => "old manifest, untouched",
                _ => "old manifest, partly emptied",
            }
        };
        *outcomes.entry(outcome).or_insert(0) += 1;
        // Replace again finishes the job.
        let again = Stamps::open(&path, Exists::Replace).unwrap();
        assert!(again.is_empty().unwrap());
        drop(again);
        assert_eq!(common::temp_files(&path), Vec::<PathBuf>::new());
    }
    eprintln!("replace crash test: {outcomes:?}, DIRKV_SEED={seed}");
}

/// Child: holds the store open (a live writer) until killed.
#[test]
#[ignore = "child process: run by its parent test"]
fn child_idle_writer() {
    common::child_entry();
    let _store: Stamps = Store::open(env("DIRKV_STORE"), Exists::Update).unwrap();
    println!("OPEN");
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn stale_temps_are_swept_by_age_and_live_writers_temps_never() {
    let (_dir, path) = store_dir();
    let store: Stamps = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set("k", &Stamped::new("k", 0, 0)).unwrap();
    let shard = store.path_of("k").parent().unwrap().to_owned();
    drop(store);
    // A live writer in another process.
    let mut child = common::child_test!(child_idle_writer)
        .envs([("DIRKV_STORE", path.display().to_string())])
        .stdout(Stdio::piped())
        .spawn();
    let lines = Lines::collect(&mut child.0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !lines.snapshot().iter().any(|l| l.contains("OPEN")) {
        assert!(
            Instant::now() < deadline,
            "the child never opened the store"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let live_id = fs::read_dir(path.join("tmp"))
        .unwrap()
        .find_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            common::layout::marker_id(&name).map(str::to_owned)
        })
        .expect("the live writer's marker");
    let two_hours = Duration::from_secs(7200);
    let temp = |name: &str, age: Option<Duration>| {
        let p = shard.join(name);
        fs::write(&p, b"half a value").unwrap();
        if let Some(age) = age {
            common::backdate(&p, age);
        }
        p
    };
    let live_old = temp(&format!(".tmp-{live_id}-aaaaaaaa"), Some(two_hours));
    let unknown_old = temp(".tmp-0123456789ab-bbbbbbbb", Some(two_hours));
    let unknown_new = temp(".tmp-ba9876543210-cccccccc", None);
    // An open finds no dead writer, so it does not scan the shards.
    let store: Stamps = Store::open(&path, Exists::Update).unwrap();
    assert!(live_old.exists() && unknown_old.exists() && unknown_new.exists());
    // A full sweep removes the unknown writer's old temp only.
    assert_eq!(store.sweep_temps().unwrap(), 1);
    assert!(live_old.exists() && !unknown_old.exists() && unknown_new.exists());
    // With an age of zero, the unknown writer's new temp goes too; the live one's never.
    let eager: Stamps = Store::options()
        .stale_temp_age(Duration::ZERO)
        .open(&path, Exists::Update)
        .unwrap();
    assert_eq!(eager.sweep_temps().unwrap(), 1);
    assert!(live_old.exists() && !unknown_new.exists());
    // Once the writer is dead (killed), the next open removes its temps whatever their age.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    drop(lines);
    let fresh = temp(&format!(".tmp-{live_id}-dddddddd"), None);
    let _after: Stamps = Store::open(&path, Exists::Update).unwrap();
    assert!(!live_old.exists() && !fresh.exists());
    assert_eq!(common::temp_files(&path), Vec::<PathBuf>::new());
    assert_eq!(
        _after.get("k").unwrap(),
        Some(Stamped::new("k", 0, 0)),
        "entries are never swept"
    );
}
