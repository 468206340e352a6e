//! The public API against its documentation, one TempDir per test.

use crate::common;

use std::collections::BTreeSet;
use std::fs;
use std::time::Duration;

use common::{Page, page, store_dir};
use dirkv::{Durability, ErrorKind, Exists, Raw, SerdeKey, Store};
use sha2::{Digest, Sha256};

type Pages = Store<String, Page>;

#[test]
fn store_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Store<String, Page>>();
    check::<Store<u64, Vec<u8>, Raw>>();
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<dirkv::Error>();
}

#[test]
fn map_operations_round_trip_and_survive_reopen() {
    let (_dir, path) = store_dir();
    let store: Pages = Store::open(&path, Exists::OpenOrCreate).unwrap();
    assert!(store.is_empty().unwrap());
    assert_eq!(store.get("a").unwrap(), None);
    assert!(!store.contains_key("a").unwrap());
    for n in 0..20 {
        store.set(&format!("k{n}"), &page(n)).unwrap();
    }
    store.set("k3", &page(33)).unwrap();
    assert_eq!(store.len().unwrap(), 20);
    assert!(!store.is_empty().unwrap());
    assert_eq!(store.get("k3").unwrap(), Some(page(33)));
    assert!(store.contains_key("k4").unwrap());
    assert!(store.remove("k4").unwrap());
    assert!(
        !store.remove("k4").unwrap(),
        "removing a missing key is Ok(false)"
    );
    assert_eq!(store.len().unwrap(), 19);
    drop(store);

    let store: Pages = Store::open(&path, Exists::Update).unwrap();
    assert_eq!(store.get("k3").unwrap(), Some(page(33)));
    assert_eq!(store.get("k4").unwrap(), None);
    let keys: BTreeSet<String> = store.keys().map(Result::unwrap).collect();
    let want: BTreeSet<String> = (0..20)
        .filter(|n| *n != 4)
        .map(|n| format!("k{n}"))
        .collect();
    assert_eq!(keys, want);
    let mut pairs: Vec<(String, Page)> = store.iter().map(Result::unwrap).collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(pairs.len(), 19);
    assert!(pairs.iter().all(|(k, v)| if k == "k3" {
        *v == page(33)
    } else {
        format!("k{}", v.words) == *k
    }));
    assert_eq!(store.values().count(), 19);
    store.clear().unwrap();
    assert_eq!(store.len().unwrap(), 0);
    assert_eq!(store.get("k3").unwrap(), None);
}

#[test]
fn string_store_takes_str_and_string_keys() {
    let (_dir, path) = store_dir();
    let store: Store<String, u32> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set("x", &1).unwrap();
    let owned = String::from("x");
    assert_eq!(store.get(&owned).unwrap(), Some(1));
    assert_eq!(store.get(owned.as_str()).unwrap(), Some(1));
}

#[test]
fn path_of_agrees_with_sha256sum_of_the_key_text() {
    let (_dir, path) = store_dir();
    let store: Store<String, u8> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set("hello", &1).unwrap();
    let hex = hex::encode(Sha256::digest(b"hello"));
    let expect = path.join(&hex[..2]).join(format!("{hex}.dkv"));
    assert_eq!(store.path_of("hello"), expect);
    assert!(expect.is_file());
    assert_eq!(store.path(), path.as_path());

    let (_dir2, path2) = store_dir();
    let ints: Store<u64, u8> = Store::open(&path2, Exists::OpenOrCreate).unwrap();
    ints.set(&42, &1).unwrap();
    let hex = hex::encode(Sha256::digest(b"42"));
    assert_eq!(
        ints.path_of(&42),
        path2.join(&hex[..2]).join(format!("{hex}.dkv"))
    );
    assert!(ints.path_of(&42).is_file());
    let keys: Vec<u64> = ints.keys().map(Result::unwrap).collect();
    assert_eq!(keys, [42]);

    let neg: Store<i64, u8> =
        Store::open(path2.with_extension("neg"), Exists::OpenOrCreate).unwrap();
    neg.set(&-7, &1).unwrap();
    let hex = hex::encode(Sha256::digest(b"-7"));
    assert!(
        neg.path_of(&-7)
            .ends_with(format!("{}/{hex}.dkv", &hex[..2]))
    );
}

#[test]
fn byte_keys_and_raw_values() {
    let (_dir, path) = store_dir();
    let store: Store<Vec<u8>, Vec<u8>, Raw> = Store::<Vec<u8>, Vec<u8>>::options()
        .codec(Raw)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    store.set(&[0u8, 255, 10][..], &vec![1, 2, 3]).unwrap();
    assert_eq!(store.get(&[0u8, 255, 10][..]).unwrap(), Some(vec![1, 2, 3]));
    let file = fs::read(store.path_of(&[0u8, 255, 10][..])).unwrap();
    assert!(
        file.ends_with(&[0, 255, 10, 1, 2, 3]),
        "raw value stored as is, after the key"
    );
    assert_eq!(store.keys().next().unwrap().unwrap(), vec![0, 255, 10]);
}

#[test]
fn serde_keys_round_trip() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Clone)]
    struct Coord {
        x: i32,
        y: i32,
    }
    let (_dir, path) = store_dir();
    let store: Store<SerdeKey<Coord>, String> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    let k = SerdeKey::new(Coord { x: -1, y: 9 }).unwrap();
    store.set(&k, &"here".to_string()).unwrap();
    assert_eq!(
        store
            .get(&SerdeKey::new(Coord { x: -1, y: 9 }).unwrap())
            .unwrap(),
        Some("here".into())
    );
    assert_eq!(
        store.keys().next().unwrap().unwrap().into_inner(),
        Coord { x: -1, y: 9 }
    );
}

#[test]
fn update_is_read_modify_write_and_none_removes() {
    let (_dir, path) = store_dir();
    let store: Store<String, u64> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    assert_eq!(
        store
            .update("n", |old| Some(old.unwrap_or(10) + 1))
            .unwrap(),
        Some(11)
    );
    assert_eq!(
        store.update("n", |old| old.map(|v| v * 2)).unwrap(),
        Some(22)
    );
    assert_eq!(store.get("n").unwrap(), Some(22));
    assert_eq!(store.update("n", |_| None).unwrap(), None);
    assert!(!store.contains_key("n").unwrap());
    // An FnOnce closure that moves a captured value compiles.
    let owned = 5u64;
    let moved = move |_: Option<u64>| Some(owned);
    store.update("m", moved).unwrap();
    assert_eq!(store.get("m").unwrap(), Some(5));
}

#[test]
fn update_keeps_created_time_and_advances_modified() {
    let (_dir, path) = store_dir();
    let store: Store<String, u64> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set("t", &1).unwrap();
    let header = |s: &Store<String, u64>| {
        let b = fs::read(s.path_of("t")).unwrap();
        let created = u64::from_le_bytes(b[24..32].try_into().unwrap());
        let modified = u64::from_le_bytes(b[32..40].try_into().unwrap());
        (created, modified)
    };
    let (c1, m1) = header(&store);
    std::thread::sleep(Duration::from_millis(5));
    store.update("t", |v| v.map(|v| v + 1)).unwrap();
    let (c2, m2) = header(&store);
    assert_eq!(c1, c2);
    assert!(m2 > m1);
}

#[test]
fn set_if_absent_and_compare_and_swap() {
    let (_dir, path) = store_dir();
    let store: Store<String, String> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    assert!(store.set_if_absent("k", &"first".into()).unwrap());
    assert!(!store.set_if_absent("k", &"second".into()).unwrap());
    assert_eq!(store.get("k").unwrap().as_deref(), Some("first"));

    assert!(
        !store
            .compare_and_swap("k", Some(&"nope".into()), Some(&"x".into()))
            .unwrap()
    );
    assert!(
        store
            .compare_and_swap("k", Some(&"first".into()), Some(&"x".into()))
            .unwrap()
    );
    assert_eq!(store.get("k").unwrap().as_deref(), Some("x"));
    assert!(
        store
            .compare_and_swap("k", Some(&"x".into()), None)
            .unwrap()
    );
    assert_eq!(store.get("k").unwrap(), None);
    assert!(
        !store
            .compare_and_swap("k", Some(&"x".into()), None)
            .unwrap()
    );
    assert!(
        store
            .compare_and_swap("k", None, Some(&"y".into()))
            .unwrap()
    );
    assert_eq!(store.get("k").unwrap().as_deref(), Some("y"));
    assert!(
        common::temp_files(&path).is_empty(),
        "refused swaps leave no temp file"
    );
}

#[test]
fn batches() {
    let (_dir, path) = store_dir();
    let store: Store<String, u32> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    let keys: Vec<String> = (0..2500).map(|n| format!("key-{n}")).collect();
    let values: Vec<u32> = (0..2500).collect();
    store
        .set_many(keys.iter().map(String::as_str).zip(values.iter()))
        .unwrap();
    assert_eq!(store.len().unwrap(), 2500);
    // Duplicate key in one batch: the later value wins.
    store.set_many([("dup", &1), ("dup", &2)]).unwrap();
    assert_eq!(store.get("dup").unwrap(), Some(2));
    let got = store.get_many(["key-0", "key-2499", "missing"]).unwrap();
    assert_eq!(got, vec![Some(0), Some(2499), None]);
    let removed = store
        .remove_many(keys[..100].iter().map(String::as_str).chain(["missing"]))
        .unwrap();
    assert_eq!(removed, 100);
    assert_eq!(store.len().unwrap(), 2401);
    assert!(common::temp_files(&path).is_empty());

    // Batch methods take any iterable of keys: references to arrays, owned pairs, ...
    store
        .set_many(vec![("o1".to_string(), 1), ("o2".to_string(), 2)])
        .unwrap();
    store.set_many([("r1", 3)]).unwrap();
    assert_eq!(
        store.get_many(&["o1", "o2"]).unwrap(),
        vec![Some(1), Some(2)]
    );
    let owned = vec!["o1".to_string(), "o2".to_string()];
    assert_eq!(store.get_many(&owned).unwrap(), vec![Some(1), Some(2)]);
    assert_eq!(store.remove_many(&owned).unwrap(), 2);
    assert_eq!(store.remove_many(["o1"]).unwrap(), 0);
}

#[test]
fn fast_mode_is_atomic_and_sync_works() {
    let (_dir, path) = store_dir();
    let store: Store<u32, String> = Store::options()
        .durability(Durability::Fast)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    for n in 0..300u32 {
        store.set(&n, &n.to_string()).unwrap();
    }
    store.remove(&7).unwrap();
    store.sync().unwrap();
    assert_eq!(store.get(&299).unwrap().as_deref(), Some("299"));
    assert_eq!(store.len().unwrap(), 299);
}

#[test]
fn read_only_store_reads_and_refuses_writes() {
    let (_dir, path) = store_dir();
    {
        let store: Pages = Store::open(&path, Exists::OpenOrCreate).unwrap();
        store.set("a", &page(1)).unwrap();
    }
    let ro = Store::<String, Page>::options()
        .read_only(true)
        .open(&path, Exists::Update)
        .unwrap();
    assert_eq!(ro.get("a").unwrap(), Some(page(1)));
    for err in [
        ro.set("b", &page(2)).unwrap_err(),
        ro.remove("a").unwrap_err(),
        ro.update("a", |v| v).unwrap_err(),
        ro.clear().unwrap_err(),
        ro.set_if_absent("c", &page(3)).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::ReadOnly);
    }
    assert_eq!(ro.len().unwrap(), 1);
    // Read-only never creates.
    let (_d2, missing) = store_dir();
    let err = Store::<String, Page>::options()
        .read_only(true)
        .open(&missing, Exists::OpenOrCreate)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReadOnly);
    assert!(!missing.exists());
}

#[test]
fn threads_share_one_store() {
    let (_dir, path) = store_dir();
    let store: Store<String, u64> = Store::options()
        .durability(Durability::Fast)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let store = store.clone();
            s.spawn(move || {
                for i in 0..50 {
                    store.set(&format!("{t}-{i}"), &i).unwrap();
                    store.update("total", |v| Some(v.unwrap_or(0) + 1)).unwrap();
                }
            });
        }
    });
    assert_eq!(store.get("total").unwrap(), Some(200));
    assert_eq!(store.len().unwrap(), 201);
}

#[test]
fn destroy_removes_the_store() {
    let (dir, path) = store_dir();
    let store: Pages = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set("a", &page(1)).unwrap();
    store.destroy().unwrap();
    assert!(!path.exists());
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no trash left beside it"
    );
}

#[test]
fn lock_timeout_gives_locked() {
    let (_dir, path) = store_dir();
    let a: Store<String, u32> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    let b: Store<String, u32> = Store::options()
        .lock_timeout(Some(Duration::from_millis(50)))
        .open(&path, Exists::Update)
        .unwrap();
    let err = a
        .update("k", |_| {
            // b has its own descriptor, so the file lock excludes it.
            Some(b.set("k", &2).unwrap_err().kind() as u32)
        })
        .unwrap();
    assert_eq!(err, Some(ErrorKind::Locked as u32));
}

#[test]
fn open_modes() {
    let (dir, path) = store_dir();
    // Update on a missing path: NotFound.
    assert_eq!(
        Pages::open(&path, Exists::Update).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // Error creates, then refuses an existing store.
    Pages::open(&path, Exists::Error)
        .unwrap()
        .set("a", &page(1))
        .unwrap();
    assert_eq!(
        Pages::open(&path, Exists::Error).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    // OpenOrCreate and Update open it.
    assert_eq!(
        Pages::open(&path, Exists::OpenOrCreate)
            .unwrap()
            .len()
            .unwrap(),
        1
    );
    assert_eq!(
        Pages::open(&path, Exists::Update).unwrap().len().unwrap(),
        1
    );
    // Replace empties it.
    let replaced = Pages::open(&path, Exists::Replace).unwrap();
    assert_eq!(replaced.len().unwrap(), 0);
    drop(replaced);

    // Empty folder: Error, Replace and OpenOrCreate create; Update refuses.
    for mode in [Exists::Error, Exists::Replace, Exists::OpenOrCreate] {
        let empty = dir.path().join(format!("empty-{mode:?}"));
        fs::create_dir(&empty).unwrap();
        Pages::open(&empty, mode)
            .unwrap()
            .set("x", &page(2))
            .unwrap();
    }
    let empty = dir.path().join("empty-update");
    fs::create_dir(&empty).unwrap();
    assert_eq!(
        Pages::open(&empty, Exists::Update).unwrap_err().kind(),
        ErrorKind::NotAStore
    );

    // Missing path with missing parents: refused, naming the missing parent, and nothing
    // is created (a typo in a mount path must not make a store somewhere unexpected).
    let deep = dir.path().join("a/b/c");
    for mode in [Exists::OpenOrCreate, Exists::Error, Exists::Replace] {
        let err = Pages::open(&deep, mode).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert_eq!(err.path(), Some(dir.path().join("a/b").as_path()), "{err}");
        assert!(!dir.path().join("a").exists());
    }
    fs::create_dir_all(dir.path().join("a/b")).unwrap();
    Pages::open(&deep, Exists::OpenOrCreate).unwrap();
    assert!(deep.join("DIRKV").is_file());
}

#[test]
fn foreign_paths_are_never_adopted_or_deleted() {
    let (dir, _) = store_dir();
    let folder = dir.path().join("photos");
    fs::create_dir(&folder).unwrap();
    fs::write(folder.join("cat.jpg"), b"meow").unwrap();
    let file = dir.path().join("notes.txt");
    fs::write(&file, b"hello").unwrap();
    for mode in [
        Exists::Error,
        Exists::Replace,
        Exists::Update,
        Exists::OpenOrCreate,
    ] {
        for path in [&folder, &file] {
            let err = Pages::open(path, mode).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotAStore, "{mode:?} {path:?}");
            assert_eq!(err.path(), Some(path.as_path()));
        }
    }
    assert_eq!(fs::read(folder.join("cat.jpg")).unwrap(), b"meow");
    assert_eq!(fs::read_dir(&folder).unwrap().count(), 1);
    assert_eq!(fs::read(&file).unwrap(), b"hello");
}

#[cfg(unix)]
#[test]
fn dangling_link_is_not_a_store_and_a_link_to_a_store_works() {
    let (dir, path) = store_dir();
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    for mode in [
        Exists::Error,
        Exists::Replace,
        Exists::Update,
        Exists::OpenOrCreate,
    ] {
        assert_eq!(
            Pages::open(&dangling, mode).unwrap_err().kind(),
            ErrorKind::NotAStore
        );
    }
    assert!(!dir.path().join("nowhere").exists());
    Pages::open(&path, Exists::OpenOrCreate)
        .unwrap()
        .set("a", &page(1))
        .unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    assert_eq!(
        Pages::open(&link, Exists::Update)
            .unwrap()
            .get("a")
            .unwrap(),
        Some(page(1))
    );
}

#[test]
fn replace_leaves_foreign_files_and_changes_settings() {
    let (_dir, path) = store_dir();
    let s: Store<String, u32> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    s.set("a", &1).unwrap();
    fs::write(path.join("ab").join("README.txt"), b"operator notes").unwrap();
    drop(s);
    // Replace with another key type: a new, empty store of u64 keys.
    let s: Store<u64, u32> = Store::open(&path, Exists::Replace).unwrap();
    assert!(s.is_empty().unwrap());
    s.set(&1, &1).unwrap();
    assert_eq!(
        fs::read(path.join("ab").join("README.txt")).unwrap(),
        b"operator notes"
    );
    assert_eq!(
        Store::<String, u32>::open(&path, Exists::Update)
            .unwrap_err()
            .kind(),
        ErrorKind::IncompatibleFormat
    );
}

#[test]
fn manifest_mismatch_is_a_clear_error() {
    let (_dir, path) = store_dir();
    Store::<String, u32>::open(&path, Exists::OpenOrCreate).unwrap();
    let err = Store::<u64, u32>::open(&path, Exists::Update).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IncompatibleFormat);
    assert!(err.to_string().contains("key type"), "{err}");
    let err = Store::<String, Vec<u8>>::options()
        .codec(Raw)
        .open(&path, Exists::OpenOrCreate)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IncompatibleFormat);
    assert!(err.to_string().contains("codec"), "{err}");

    let manifest = path.join("DIRKV");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(&manifest, text.replace("format = 1", "format = 9")).unwrap();
    let err = Store::<String, u32>::open(&path, Exists::Update).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IncompatibleFormat);
    // Replace refuses a store it cannot read, and deletes nothing.
    assert_eq!(
        Store::<String, u32>::open(&path, Exists::Replace)
            .unwrap_err()
            .kind(),
        ErrorKind::IncompatibleFormat
    );
    fs::write(&manifest, b"garbage").unwrap();
    let err = Store::<String, u32>::open(&path, Exists::OpenOrCreate).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert_eq!(err.path(), Some(manifest.as_path()));
    assert_eq!(fs::read(&manifest).unwrap(), b"garbage");
}

#[test]
fn interrupted_creation_is_finished_by_the_next_open() {
    let (_dir, path) = store_dir();
    fs::create_dir_all(path.join("tmp")).unwrap();
    fs::create_dir_all(path.join("00")).unwrap();
    fs::write(path.join("lock"), b"").unwrap();
    fs::write(path.join(".DIRKV-crashed"), b"format = 1\n").unwrap();
    assert_eq!(
        Pages::open(&path, Exists::Update).unwrap_err().kind(),
        ErrorKind::NotAStore
    );
    Pages::open(&path, Exists::OpenOrCreate)
        .unwrap()
        .set("a", &page(1))
        .unwrap();
    assert!(path.join("ff").is_dir());
    assert!(
        !path.join(".DIRKV-crashed").exists(),
        "a crashed creation's manifest temp is removed"
    );
}

#[test]
fn entry_files_have_the_documented_mode() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, path) = store_dir();
        let s: Store<String, u32> = Store::options()
            .file_mode(0o600)
            .open(&path, Exists::OpenOrCreate)
            .unwrap();
        s.set("a", &1).unwrap();
        assert_eq!(
            fs::metadata(s.path_of("a")).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn errors_carry_kind_path_and_source() {
    let (_dir, path) = store_dir();
    let s: Store<String, u32> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    s.set("a", &1).unwrap();
    fs::write(s.path_of("a"), b"not an entry").unwrap();
    let err = s.get("a").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert_eq!(err.path(), Some(s.path_of("a").as_path()));
    assert!(
        err.to_string()
            .contains(&s.path_of("a").display().to_string())
    );
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::InvalidData);
}
