//! Memory: sparse entry files of gigabytes (attack 7) and compressed entries that inflate
//! to huge MessagePack values (attack 8), read in children under an address-space limit.

use super::*;

// ---------------------------------------------------------------------------------------
// 7. A sparse entry file whose header agrees with its huge length

/// The address-space limit of the memory-bound children: far below what reading the
/// largest entry dirkv accepts (1 GiB and a bit) would take, well above what the test
/// binary maps.
const LIMIT_KIB: u64 = 640 * 1024;

/// The sparse entries: key and file length. The first two are past any entry's length,
/// the third is the longest file an entry may be (1 GiB and a bit, more than the limit).
fn sparse_entries() -> [(&'static str, u64); 3] {
    [
        ("sparse-4g", 4 << 30),
        ("sparse-20g", 20 << 30),
        ("sparse-max", dirkv::format::entry::MAX_FILE_LEN),
    ]
}

/// Writes an entry file for `key` of `len` bytes, sparse: a header that agrees with that
/// length, the key, then a hole.
fn plant_sparse(path: &Path, key: &str, len: u64) {
    use dirkv::format::entry::{self, HEADER_LEN, Meta};
    let mut bytes = Vec::new();
    entry::begin(&mut bytes, key.as_bytes());
    entry::finish(&mut bytes, key.len(), &Meta::default());
    let value_len = len - (HEADER_LEN + key.len()) as u64;
    bytes[16..24].copy_from_slice(&value_len.to_le_bytes());
    common::fix_checksum(&mut bytes);
    let file = fs::File::create(path).unwrap();
    std::io::Write::write_all(&mut &file, &bytes).unwrap();
    file.set_len(len).unwrap();
}

/// Child side of `sparse_entries_of_gigabytes_are_errors_not_allocations`: every read path
/// over the sparse entries, under the address-space limit, each within a few seconds.
#[test]
#[ignore = "child process: run by its parent test"]
fn child_sparse_reads() {
    common::child_entry();
    let s = PathBuf::from(std::env::var("DIRKV_STORE").unwrap());
    let raw = RawStore::open(&s, Access::ReadOnly).unwrap();
    let store: Store<String, Vec<u8>> = Store::options()
        .read_only(true)
        .open(&s, Exists::Update)
        .unwrap();
    for (key, _) in sparse_entries() {
        timed(&format!("get {key}"), Duration::from_secs(10), &mut || {
            let err = raw.get(key.as_bytes()).unwrap_err();
            println!("{key}: {err}");
            assert!(
                matches!(err.kind(), ErrorKind::Corrupt | ErrorKind::Io),
                "{key}: {err}"
            );
            assert!(store.get(key).is_err());
            assert!(store.get_many([key]).is_err());
        });
        timed(
            &format!("contains/metadata {key}"),
            Duration::from_secs(10),
            &mut || {
                let _ = raw.contains_key(key.as_bytes());
                let _ = store.metadata(key);
            },
        );
        timed(
            &format!("verify_file {key}"),
            Duration::from_secs(10),
            &mut || {
                assert!(raw.verify_file(&raw.path_of(key.as_bytes())).is_err());
            },
        );
    }
    timed("iter", Duration::from_secs(10), &mut || {
        let items: Vec<_> = store.iter().collect();
        assert_eq!(items.len(), 4);
        assert_eq!(items.iter().filter(|i| i.is_err()).count(), 3);
        let values: Vec<_> = raw.entries().collect();
        assert_eq!(values.iter().filter(|i| i.is_ok()).count(), 1);
        let _ = store.keys().count();
        let _ = store.values().count();
        assert_eq!(store.len().unwrap(), 4);
    });
    // A good entry still reads under the limit.
    assert_eq!(store.get("good").unwrap(), Some(vec![1, 2, 3]));
    println!("CHILD-OK");
}

#[test]
fn sparse_entries_of_gigabytes_are_errors_not_allocations() {
    let arena = Arena::new(&[]);
    let s = arena.store();
    let store: Store<String, Vec<u8>> = Store::open(&s, Exists::OpenOrCreate).unwrap();
    store.set("good", &vec![1, 2, 3]).unwrap();
    for (key, len) in sparse_entries() {
        plant_sparse(&store.path_of(key), key, len);
    }
    drop(store);
    let before = arena.outside();
    let out = common::child_test!(child_sparse_reads)
        .under(
            "sh",
            [
                "-c",
                &format!("ulimit -v {LIMIT_KIB} && exec \"$0\" \"$@\""),
            ],
        )
        .env("DIRKV_STORE", &s)
        .stderr(Stdio::inherit())
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "reads of sparse entries under ulimit -v {LIMIT_KIB} ({}): {stdout}",
        out.status
    );
    for line in stdout.lines().filter(|l| l.contains(": ")) {
        eprintln!("under ulimit -v {LIMIT_KIB}: {line}");
    }
    #[cfg(feature = "cli")]
    {
        let p = s.to_str().unwrap();
        for (key, _) in sparse_entries() {
            let run = dirkv_limited(&["get", p, key], LIMIT_KIB, Duration::from_secs(20));
            assert_eq!(run.code(), Some(4), "get {key}: {run:?}");
            assert!(run.stdout.is_empty(), "{run:?}");
            eprintln!("dirkv get {key}: {:?}", run.took);
        }
        for args in [
            vec!["verify", p],
            vec!["ls", p],
            vec!["ls", "-l", p],
            vec!["export", p],
            vec!["stat", p],
        ] {
            let run = dirkv_limited(&args, LIMIT_KIB, Duration::from_secs(30));
            assert!(exited(&run), "{args:?} under ulimit -v: {run:?}");
            eprintln!("dirkv {args:?}: exit {:?} in {:?}", run.code(), run.took);
        }
        let verify = dirkv_limited(&["verify", p], LIMIT_KIB, Duration::from_secs(30));
        assert_eq!(verify.code(), Some(3), "{verify:?}");
        for (key, _) in sparse_entries() {
            let file = names::file_name(&names::hash(key.as_bytes()));
            assert!(verify.stdout.contains(&file), "{}", verify.stdout);
        }
    }
    arena
        .outside()
        .assert_same(&before, "reads of sparse entries");
}

// ---------------------------------------------------------------------------------------
// 8. A compressed entry that inflates to a huge MessagePack array of nils

/// One LZ4 block (with its 4-byte length prefix, as dirkv stores a compressed value) that
/// inflates to a MessagePack array of nils of about `255 * block_len` bytes, built by hand
/// (one literal run, one long match of the nil before it, the 5 literals a block ends
/// with). Returns the stored bytes and the inflated length.
#[cfg(feature = "compression")]
fn nil_bomb(block_len: usize) -> (Vec<u8>, usize) {
    let ext = block_len.saturating_sub(20).max(1);
    // Match length: 4 (minimum) + 15 (in the token) + 255 per extension byte + the last.
    let (full, last) = (ext - 1, 17u8);
    let match_len = 4 + 15 + 255 * full + usize::from(last);
    let total = 6 + match_len + 5;
    let items = u32::try_from(total - 5).unwrap();
    let mut block = vec![0x6f, 0xdd];
    block.extend_from_slice(&items.to_be_bytes());
    block.push(0xc0);
    block.extend_from_slice(&[1, 0]);
    block.extend(std::iter::repeat_n(255u8, full));
    block.push(last);
    block.push(0x50);
    block.extend_from_slice(&[0xc0; 5]);
    let mut stored = u32::try_from(total).unwrap().to_le_bytes().to_vec();
    stored.extend_from_slice(&block);
    (stored, total)
}

/// Writes a compressed entry for `key` whose stored value is `stored` (checksum right, as a
/// co-writer with the codec would write it).
#[cfg(feature = "compression")]
fn plant_compressed(path: &Path, key: &str, stored: &[u8]) {
    use dirkv::format::entry::{self, FLAG_COMPRESSED, Meta};
    let mut file = Vec::new();
    entry::begin(&mut file, key.as_bytes());
    file.extend_from_slice(stored);
    let meta = Meta {
        flags: FLAG_COMPRESSED,
        created_ms: 1,
        modified_ms: 1,
        expires_ms: 0,
    };
    entry::finish(&mut file, key.len(), &meta);
    fs::write(path, &file).unwrap();
}

/// Bytes stored for the bombs: 196 KB (inflates to about 50 MB), 1 MB (about 255 MB),
/// and 20 KB (about 5 MB, for the reads that decode every item: a debug build takes
/// about 3 s per 10 million).
#[cfg(feature = "compression")]
const BOMBS: [(&str, usize); 3] = [
    ("bomb-196k", 196_000),
    ("bomb-1m", 1_000_000),
    ("bomb-20k", 20_000),
];

/// Address-space limit of the bomb children: room for the test binary, the 50 MB value
/// and a few copies; room for the 255 MB one once, not three times.
#[cfg(feature = "compression")]
const BOMB_LIMIT_KIB: u64 = 400 * 1024;

/// A store with the bombs, a liar (a length its block cannot hold) and arrays of one
/// nested a million deep (`0x91` repeated, 1 MB inflated from a few KB).
#[cfg(feature = "compression")]
fn bomb_store(s: &Path) {
    let raw = RawStore::create(s, "utf8", "msgpack").unwrap();
    for (key, len) in BOMBS {
        let (stored, total) = nil_bomb(len);
        assert!(stored.len() <= len + 8);
        plant_compressed(&raw.path_of(key.as_bytes()), key, &stored);
        eprintln!("{key}: {} bytes stored, {total} inflated", stored.len());
    }
    let mut liar = nil_bomb(1000).0;
    liar[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    plant_compressed(&raw.path_of(b"liar"), "liar", &liar);
    let nested = lz4_flex::block::compress_prepend_size(&vec![0x91; 1 << 20]);
    plant_compressed(&raw.path_of(b"nested"), "nested", &nested);
}

/// Runs the child entry `child` on the bomb store `s` under the bomb limit, doing `op`.
#[cfg(feature = "compression")]
fn bomb_child(child: common::ChildTest, s: &Path, op: &str) -> (std::process::ExitStatus, String) {
    let out = child
        .under(
            "sh",
            [
                "-c",
                &format!("ulimit -v {BOMB_LIMIT_KIB} && exec \"$0\" \"$@\""),
            ],
        )
        .env("DIRKV_STORE", s)
        .env("DIRKV_OP", op)
        .stderr(Stdio::inherit())
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in stdout.lines().filter(|l| l.contains(": ")) {
        eprintln!("under ulimit -v {BOMB_LIMIT_KIB}: {line}");
    }
    (out.status, stdout)
}

/// Child side of `compressed_nil_bombs_are_bounded_by_their_inflated_length`.
#[cfg(feature = "compression")]
#[test]
#[ignore = "child process: run by its parent test"]
fn child_nil_bombs() {
    common::child_entry();
    let s = PathBuf::from(std::env::var("DIRKV_STORE").unwrap());
    let raw = RawStore::open(&s, Access::ReadOnly).unwrap();
    let limit = Duration::from_secs(20);
    let (big, small) = (BOMBS[0].0, BOMBS[2].0);
    let (big_len, small_len) = (nil_bomb(BOMBS[0].1).1, nil_bomb(BOMBS[2].1).1);
    timed("raw get_value of the 196 KB bomb", limit, &mut || {
        let v = raw.get_value(big.as_bytes()).unwrap().unwrap();
        assert_eq!(v.len(), big_len);
    });
    timed("raw get of the 196 KB bomb", limit, &mut || {
        let e = raw.get(big.as_bytes()).unwrap().unwrap();
        assert_eq!(e.value.map(|v| v.len()), Some(big_len));
    });
    timed(
        "typed get and verify_file of the 20 KB bomb",
        limit,
        &mut || {
            // A value type that holds nothing per nil: memory is the inflated bytes only.
            let units: Store<String, Vec<()>> = Store::options()
                .read_only(true)
                .open(&s, Exists::Update)
                .unwrap();
            assert_eq!(
                units.get(small).unwrap().map(|v| v.len()),
                Some(small_len - 5)
            );
            raw.verify_file(&raw.path_of(small.as_bytes())).unwrap();
        },
    );
    timed("the liar", limit, &mut || {
        let err = raw.get_value(b"liar").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
        assert!(raw.verify_file(&raw.path_of(b"liar")).is_err());
    });
    timed("get of the nested arrays", limit, &mut || {
        let v = raw.get_value(b"nested").unwrap().unwrap();
        assert_eq!(v.len(), 1 << 20);
    });
    println!("CHILD-OK");
}

#[cfg(feature = "compression")]
#[test]
fn compressed_nil_bombs_are_bounded_by_their_inflated_length() {
    let arena = Arena::new(&[]);
    let s = arena.store();
    bomb_store(&s);
    let before = arena.outside();
    let (status, stdout) = bomb_child(common::child_test!(child_nil_bombs), &s, "");
    assert!(
        status.success() && stdout.contains("CHILD-OK"),
        "bombs under ulimit -v {BOMB_LIMIT_KIB} ({status}): {stdout}"
    );
    #[cfg(feature = "cli")]
    {
        // The CLI on the nested arrays and the liar (the arrays of nils are cli_memory's).
        let p = s.to_str().unwrap();
        for key in ["nested", "liar"] {
            let run = dirkv_limited(&["get", p, key], BOMB_LIMIT_KIB, Duration::from_secs(30));
            assert_eq!(run.code(), Some(4), "get {key}: {run:?}");
        }
    }
    arena
        .outside()
        .assert_same(&before, "reads of compression bombs");
}

/// Child side of `a_value_inflating_past_the_memory_limit_is_an_error_not_an_abort`: one
/// read of the 1 MB bomb (`DIRKV_OP`); the value or an error are both fine.
#[cfg(feature = "compression")]
#[test]
#[ignore = "child process: run by its parent test"]
fn child_big_bomb_read() {
    common::child_entry();
    let s = PathBuf::from(std::env::var("DIRKV_STORE").unwrap());
    let op = std::env::var("DIRKV_OP").unwrap();
    let raw = RawStore::open(&s, Access::ReadOnly).unwrap();
    let key = BOMBS[1].0.as_bytes();
    let path = raw.path_of(key);
    let len = |r: dirkv::Result<Option<Vec<u8>>>| r.map(|v| v.map(|v| v.len()));
    timed(&op, Duration::from_secs(20), &mut || {
        let outcome = match op.as_str() {
            "get_value" => format!("{:?}", len(raw.get_value(key))),
            "get" => format!("{:?}", len(raw.get(key).map(|e| e.and_then(|e| e.value)))),
            "verify_file" => format!("{:?}", raw.verify_file(&path).map(|_| ())),
            "entries" => format!("{:?}", raw.entries().filter(Result::is_err).count()),
            other => panic!("unknown op {other}"),
        };
        println!("{op} -> {outcome}");
    });
    println!("CHILD-OK");
}

/// A 1 MB compressed entry inflates to 255 MB: under a memory limit with room for that
/// once, each read must give the value or an error, never abort the process.
#[cfg(feature = "compression")]
#[test]
fn a_value_inflating_past_the_memory_limit_is_an_error_not_an_abort() {
    let arena = Arena::new(&[]);
    let s = arena.store();
    bomb_store(&s);
    let mut aborted = Vec::new();
    for op in ["get_value", "get", "verify_file", "entries"] {
        let (status, stdout) = bomb_child(common::child_test!(child_big_bomb_read), &s, op);
        if !(status.success() && stdout.contains("CHILD-OK")) {
            aborted.push(format!("{op}: {status}"));
        }
    }
    #[cfg(feature = "cli")]
    {
        let p = s.to_str().unwrap();
        let run = dirkv_limited(&["verify", p], BOMB_LIMIT_KIB, Duration::from_secs(60));
        eprintln!(
            "dirkv verify: {:?} in {:?}: {}",
            run.status, run.took, run.stderr
        );
        if !exited(&run) {
            aborted.push(format!("dirkv verify: {}", run.status));
        }
    }
    assert!(
        aborted.is_empty(),
        "reads of the 1 MB bomb that did not return: {aborted:?}"
    );
}

/// Child side of `arrays_nested_a_million_deep_are_damage_not_a_stack_overflow`: checks
/// them on a thread with std's default stack (2 MiB), as a program's thread would.
#[test]
#[ignore = "child process: run by its parent test"]
fn child_nested_arrays() {
    common::child_entry();
    let s = PathBuf::from(std::env::var("DIRKV_STORE").unwrap());
    let raw = RawStore::open(&s, Access::ReadOnly).unwrap();
    let checked = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let path = raw.path_of(b"nested");
            raw.verify_file(&path).map(|_| ())
        })
        .unwrap()
        .join()
        .unwrap();
    let err = checked.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    println!("nested: {err}");
    println!("CHILD-OK");
}

/// A value of MessagePack arrays of one, nested a million deep (1 MB of `0x91`): checking
/// it (`RawStore::verify_file`, `dirkv verify`) is an error, never a stack overflow.
#[test]
fn arrays_nested_a_million_deep_are_damage_not_a_stack_overflow() {
    use dirkv::format::entry::{self, Meta};
    let arena = Arena::new(&[]);
    let s = arena.store();
    let raw = RawStore::create(&s, "utf8", "msgpack").unwrap();
    let mut file = Vec::new();
    entry::begin(&mut file, b"nested");
    file.extend(std::iter::repeat_n(0x91u8, 1 << 20));
    entry::finish(&mut file, 6, &Meta::default());
    fs::write(raw.path_of(b"nested"), &file).unwrap();
    let before = arena.outside();
    let out = common::child_test!(child_nested_arrays)
        .env("DIRKV_STORE", &s)
        .stderr(Stdio::inherit())
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "checking nested arrays on a 2 MiB stack ({}): {stdout}",
        out.status
    );
    #[cfg(feature = "cli")]
    {
        let p = s.to_str().unwrap();
        let run = dirkv_within(&["verify", p], &[], Duration::from_secs(30));
        assert_eq!(run.code(), Some(3), "{run:?}");
        let run = dirkv_within(&["get", p, "nested"], &[], Duration::from_secs(30));
        assert_eq!(run.code(), Some(4), "{run:?}");
    }
    arena
        .outside()
        .assert_same(&before, "checks of nested arrays");
}
