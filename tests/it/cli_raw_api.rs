//! The untyped `RawStore` API that the `dirkv` command is built on, against stores made by
//! the typed API. Needs no feature.

use std::fs;
use std::path::Path;

use dirkv::{Access, Durability, ErrorKind, Exists, FileType, ItemKind, Raw, RawStore, Store};

fn store_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    (dir, path)
}

#[test]
fn raw_store_is_send_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<RawStore>();
}

#[test]
fn opens_any_store_as_found_and_reads_what_the_typed_api_wrote() {
    let (_dir, path) = store_dir();
    let typed: Store<u16, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    typed.set(&7, &vec![1, 2, 3]).unwrap();
    let raw = RawStore::open(&path, Access::ReadOnly).unwrap();
    assert_eq!(
        (
            raw.key_encoding(),
            raw.codec(),
            raw.format(),
            raw.shard_depth()
        ),
        ("u16", "raw", 1, 1)
    );
    assert!(raw.settings().is_empty());
    assert_eq!(raw.path(), typed.path());
    let e = raw.get(b"7").unwrap().unwrap();
    assert_eq!(
        (e.key.as_slice(), e.value.as_deref()),
        (&b"7"[..], Some(&[1u8, 2, 3][..]))
    );
    assert_eq!(e.path, typed.path_of(&7));
    assert_eq!(e.info.file_len, fs::metadata(&e.path).unwrap().len());
    assert_eq!(e.info.expires_ms, None);
    assert!(e.info.modified_ms > 0 && e.info.flags == 0);
    assert_eq!(raw.get(b"8").unwrap(), None);
    // Read-only refuses writes.
    assert_eq!(raw.set(b"8", b"x").unwrap_err().kind(), ErrorKind::ReadOnly);
    assert_eq!(raw.remove(b"7").unwrap_err().kind(), ErrorKind::ReadOnly);
    assert_eq!(raw.sweep_temps().unwrap_err().kind(), ErrorKind::ReadOnly);
}

#[test]
fn open_errors_match_exists_update() {
    let (dir, path) = store_dir();
    let err = RawStore::open(&path, Access::ReadOnly).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(!path.exists(), "nothing is created");
    fs::create_dir(&path).unwrap();
    let err = RawStore::open(&path, Access::ReadWrite).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotAStore);
    let file = dir.path().join("file");
    fs::write(&file, b"x").unwrap();
    assert_eq!(
        RawStore::open(&file, Access::ReadOnly).unwrap_err().kind(),
        ErrorKind::NotAStore
    );
}

#[test]
fn create_then_typed_open_and_checked_writes() {
    let (_dir, path) = store_dir();
    let raw = RawStore::create(&path, "u64", "msgpack")
        .unwrap()
        .with_durability(Durability::Fast);
    assert_eq!(
        RawStore::create(&path, "u64", "msgpack")
            .unwrap_err()
            .kind(),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        RawStore::create(path.with_extension("x"), "u 64", "msgpack")
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    // Key and value bytes are checked against the manifest.
    let hello = rmp_serde::to_vec(&"hello").unwrap();
    raw.set(b"99999", &hello).unwrap();
    for bad_key in [&b"042"[..], b"-1", b"x", b""] {
        let err = raw.set(bad_key, &hello).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad_key:?}");
    }
    let err = raw.set(b"1", &[0xa5, b'h']).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let two = [
        rmp_serde::to_vec(&1u8).unwrap(),
        rmp_serde::to_vec(&2u8).unwrap(),
    ]
    .concat();
    assert_eq!(
        raw.set(b"1", &two).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    let items: Vec<(Vec<u8>, Vec<u8>)> = (0..1100u32)
        .map(|n| {
            (
                n.to_string().into_bytes(),
                rmp_serde::to_vec(&format!("v{n}")).unwrap(),
            )
        })
        .collect();
    raw.set_many(items.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
        .unwrap();
    drop(raw);

    let typed: Store<u64, String> = Store::open(&path, Exists::Update).unwrap();
    assert_eq!(typed.get(&99999).unwrap().as_deref(), Some("hello"));
    assert_eq!(typed.get(&1099).unwrap().as_deref(), Some("v1099"));
    assert_eq!(typed.len().unwrap(), 1101);
    let raw = RawStore::open(&path, Access::ReadWrite).unwrap();
    assert!(raw.remove(b"99999").unwrap());
    assert!(!raw.remove(b"99999").unwrap());
    assert_eq!(typed.get(&99999).unwrap(), None);
    assert_eq!(raw.keys().count(), 1100);
    assert!(raw.keys().all(|e| e.unwrap().value.is_none()));
    assert!(raw.entries().all(|e| e.unwrap().value.is_some()));
}

#[test]
fn scan_classifies_everything_and_verify_file_checks_entries() {
    let (_dir, path) = store_dir();
    let typed: Store<String, u32> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    typed.set("a", &1).unwrap();
    typed.set("b", &2).unwrap();
    let a = typed.path_of("a");
    fs::write(path.join("README"), b"mine").unwrap();
    let name = a.file_name().unwrap().to_str().unwrap().to_owned();
    let wrong = if name.starts_with("00") { "01" } else { "00" };
    fs::copy(&a, path.join(wrong).join(&name)).unwrap();
    fs::remove_dir(path.join("fe")).unwrap();
    fs::write(path.join("fe"), b"not a folder").unwrap();
    fs::remove_dir(path.join("fd")).unwrap();

    let raw = RawStore::open(&path, Access::ReadOnly).unwrap();
    let items: Vec<_> = raw.scan().map(Result::unwrap).collect();
    let kind_of = |p: &Path| items.iter().find(|i| i.path == p).map(|i| i.kind);
    assert_eq!(kind_of(&path.join("DIRKV")), Some(ItemKind::Manifest));
    assert_eq!(kind_of(&path.join("lock")), Some(ItemKind::Lock));
    assert_eq!(kind_of(&path.join("tmp")), Some(ItemKind::TempFolder));
    assert_eq!(kind_of(&path.join("README")), Some(ItemKind::Foreign));
    assert_eq!(kind_of(&a), Some(ItemKind::Entry));
    assert_eq!(
        kind_of(&path.join(wrong).join(&name)),
        Some(ItemKind::Misplaced)
    );
    assert_eq!(kind_of(&path.join("fe")), Some(ItemKind::ShardNotAFolder));
    assert_eq!(kind_of(&path.join("fd")), Some(ItemKind::MissingShard));
    let marker = items
        .iter()
        .find(|i| matches!(i.kind, ItemKind::Marker { .. }))
        .unwrap();
    assert_eq!(
        marker.kind,
        ItemKind::Marker { alive: true },
        "typed is open"
    );
    assert_eq!(
        items.iter().filter(|i| i.kind == ItemKind::Entry).count(),
        2
    );
    assert!(items.iter().filter(|i| i.kind.is_problem()).count() == 4);
    assert_eq!(
        kind_of(&path.join("fd")).map(|k| k.is_problem()),
        Some(true)
    );
    assert_eq!(
        items
            .iter()
            .find(|i| i.path == path.join("fd"))
            .unwrap()
            .file_type,
        FileType::Missing
    );

    assert_eq!(raw.verify_file(&a).unwrap().unwrap().key, b"a");
    let mut bytes = fs::read(&a).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&a, &bytes).unwrap();
    assert_eq!(raw.verify_file(&a).unwrap_err().kind(), ErrorKind::Corrupt);
    assert_eq!(
        raw.verify_file(&path.join("README")).unwrap_err().kind(),
        ErrorKind::Corrupt
    );
    // The misplaced copy is intact: verify_file checks content, scan judges the place.
    let copy = path.join(wrong).join(&name);
    assert_eq!(raw.verify_file(&copy).unwrap().unwrap().key, b"a");
    assert_eq!(
        raw.verify_file(&path.join("gone.dkv")).unwrap_err().kind(),
        ErrorKind::Corrupt
    );
    let missing = path.join("00").join(format!("{}.dkv", "0".repeat(64)));
    assert_eq!(raw.verify_file(&missing).unwrap(), None);
}

#[test]
fn quarantine_moves_but_never_overwrites_or_touches_structure() {
    let (dir, path) = store_dir();
    let typed: Store<String, u32> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    typed.set("a", &1).unwrap();
    typed.set("b", &2).unwrap();
    let raw = RawStore::open(&path, Access::ReadWrite).unwrap();
    let mut q = raw.quarantine();
    assert!(q.dir().starts_with(path.join("quarantine")));
    assert!(!q.dir().exists(), "made on first use");
    // Structure and outside paths are refused.
    for p in [
        path.join("DIRKV"),
        path.join("lock"),
        path.join("tmp"),
        path.join("ab"),
        path.clone(),
        dir.path().join("elsewhere"),
        path.join("quarantine").join("x"),
    ] {
        assert_eq!(
            q.move_in(&p).unwrap_err().kind(),
            ErrorKind::InvalidInput,
            "{}",
            p.display()
        );
    }
    // An intact entry is left in place.
    assert_eq!(q.move_in(&typed.path_of("a")).unwrap(), None);
    assert_eq!(typed.get("a").unwrap(), Some(1));
    // A damaged one moves, keeping its relative path; gone files are Ok(None).
    let b = typed.path_of("b");
    fs::write(&b, b"DKVE broken").unwrap();
    let dest = q.move_in(&b).unwrap().unwrap();
    assert!(dest.starts_with(q.dir()));
    assert!(dest.ends_with(b.strip_prefix(&path).unwrap()));
    assert_eq!(fs::read(&dest).unwrap(), b"DKVE broken");
    assert_eq!(q.move_in(&b).unwrap(), None);
    // Never overwrites: a second file of the same name is refused.
    fs::write(&b, b"DKVE broken again").unwrap();
    assert_eq!(q.move_in(&b).unwrap_err().kind(), ErrorKind::AlreadyExists);
    assert_eq!(fs::read(&dest).unwrap(), b"DKVE broken");
    // The library ignores the quarantine.
    fs::remove_file(&b).unwrap();
    assert_eq!(typed.len().unwrap(), 1);
    assert!(typed.iter().all(|r| r.is_ok()));
}

#[test]
fn restore_folders_and_sweep() {
    let (_dir, path) = store_dir();
    let typed: Store<String, u32> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    typed.set("a", &1).unwrap();
    drop(typed);
    fs::remove_dir(path.join("42")).unwrap();
    let raw = RawStore::open(&path, Access::ReadWrite).unwrap();
    assert_eq!(raw.restore_folders().unwrap(), vec![path.join("42")]);
    assert!(raw.restore_folders().unwrap().is_empty());
    assert_eq!(raw.sweep_temps().unwrap(), 0);
}

#[test]
fn set_many_with_times_writes_the_times_given() {
    let (_dir, path) = store_dir();
    let raw = RawStore::create(&path, "utf8", "raw").unwrap();
    let far = 4_102_444_800_000; // 2100-01-01
    let items = [
        (&b"a"[..], &b"1"[..], 1_000, Some(far)),
        (b"b", b"2", 2_000, None),
        (b"old", b"3", 3_000, Some(5_000)),
    ];
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    raw.set_many_with_times(items).unwrap();
    let a = raw.metadata(b"a").unwrap().unwrap();
    assert_eq!((a.created_ms, a.expires_ms), (1_000, Some(far)));
    assert!(a.modified_ms >= before, "modified is the time of the write");
    let b = raw.metadata(b"b").unwrap().unwrap();
    assert_eq!((b.created_ms, b.expires_ms), (2_000, None));
    assert_eq!(raw.get(b"old").unwrap(), None, "expired in 1970");
    // Keys are checked as set_many checks them.
    let err = raw
        .set_many_with_times([(&b"\xff"[..], &b""[..], 0, None)])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
