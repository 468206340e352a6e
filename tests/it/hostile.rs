//! A hostile environment: sockets, FIFOs and links where entries should be, store paths
//! that are not stores, a full file system, and a store folder the user may not write.
//!
//! The full-file-system test mounts a small tmpfs and a small ext4 image (root only); the
//! read-only test runs a child as user `nobody` through `setpriv` when root, and drops
//! the write permission bits otherwise. Each says why when it skips.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use common::{LoopDev, Mounted, is_root, run, store_dir};
use dirkv::{ErrorKind, Exists, Store};

type Blobs = Store<String, Vec<u8>>;

/// Runs `f` on a thread and fails the test if it does not return within 5 s.
fn at_once<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| panic!("{what} did not return within 5 s (it blocks)"))
}

fn assert_corrupt_at(result: dirkv::Result<impl std::fmt::Debug>, path: &Path) {
    let err = result.expect_err("must be an error");
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert_eq!(err.path(), Some(path));
}

#[cfg(unix)]
#[test]
fn sockets_fifos_and_links_in_place_of_entries_fail_at_once() {
    let (dir, path) = store_dir();
    let store: Blobs = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set("real", &vec![1]).unwrap();

    // A socket that something listens on.
    let sock = store.path_of("socket");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let s = store.clone();
    assert_corrupt_at(at_once("get on a socket", move || s.get("socket")), &sock);
    let s = store.clone();
    assert_corrupt_at(
        at_once("contains_key on a socket", move || s.contains_key("socket")),
        &sock,
    );

    // A FIFO that a writer holds open without writing: a blocking read would wait forever.
    let fifo = store.path_of("fifo");
    run(Command::new("mkfifo").arg(&fifo)).expect("mkfifo");
    let _writer = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let s = store.clone();
    assert_corrupt_at(at_once("get on a FIFO", move || s.get("fifo")), &fifo);

    // A link to a valid entry of the same key in another store: never read through it.
    let other_path = dir.path().join("other");
    let other: Blobs = Store::open(&other_path, Exists::OpenOrCreate).unwrap();
    other.set("linked", &vec![6, 6, 6]).unwrap();
    let link = store.path_of("linked");
    std::os::unix::fs::symlink(other.path_of("linked"), &link).unwrap();
    let s = store.clone();
    assert_corrupt_at(at_once("get on a link", move || s.get("linked")), &link);
    // A link to the entry's own valid file, inside the store, is refused too.
    store.set("target", &vec![7]).unwrap();
    let self_link = store.path_of("self");
    std::os::unix::fs::symlink(store.path_of("target"), &self_link).unwrap();
    assert_corrupt_at(store.get("self"), &self_link);

    // None of them counts as an entry; the real ones are still fine.
    assert_eq!(store.len().unwrap(), 2);
    let mut keys: Vec<String> = store.keys().map(Result::unwrap).collect();
    keys.sort();
    assert_eq!(keys, ["real", "target"]);
    // Writing a key replaces the odd file with a real entry (rename over it), and never
    // writes into what the link points to.
    store.set("linked", &vec![1]).unwrap();
    assert_eq!(store.get("linked").unwrap(), Some(vec![1]));
    assert_eq!(other.get("linked").unwrap(), Some(vec![6, 6, 6]));
}

#[cfg(unix)]
#[test]
fn store_paths_that_are_not_stores_give_a_clear_error_and_are_left_alone() {
    let (dir, _) = store_dir();
    let d = dir.path();
    let file = d.join("file");
    fs::write(&file, b"data").unwrap();
    let dangling = d.join("dangling");
    std::os::unix::fs::symlink(d.join("nowhere"), &dangling).unwrap();
    let looped = d.join("loop");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    let link_to_file = d.join("link-to-file");
    std::os::unix::fs::symlink(&file, &link_to_file).unwrap();
    for (path, words) in [
        (&file, "a file"),
        (&dangling, "dangling"),
        (&link_to_file, "a file"),
    ] {
        for mode in [
            Exists::Error,
            Exists::Replace,
            Exists::Update,
            Exists::OpenOrCreate,
        ] {
            let err = Blobs::open(path, mode).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotAStore, "{mode:?} {path:?}: {err}");
            assert_eq!(err.path(), Some(path.as_path()));
            let text = err.to_string();
            assert!(
                text.contains(words) && text.contains("not a dirkv store"),
                "{text}"
            );
        }
    }
    // A link loop, and a path below a file: errors naming the path, nothing created.
    for path in [looped.clone(), file.join("store")] {
        let err = Blobs::open(&path, Exists::OpenOrCreate).unwrap_err();
        assert!(err.path().is_some(), "{err}");
    }
    assert_eq!(fs::read(&file).unwrap(), b"data");
    assert!(!d.join("nowhere").exists());
}

#[test]
fn replace_never_deletes_a_folder_that_only_looks_like_a_store() {
    let (dir, path) = store_dir();
    // A real store's files, copied without the manifest (as a careless backup might be).
    let store: Blobs = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set("k", &vec![1, 2, 3]).unwrap();
    let entry = store.path_of("k");
    drop(store);
    let lookalike = dir.path().join("lookalike");
    run(Command::new("cp").arg("-a").arg(&path).arg(&lookalike)).unwrap();
    fs::remove_file(lookalike.join("DIRKV")).unwrap();
    let copied_entry = lookalike.join(entry.strip_prefix(&path).unwrap());
    // A folder whose manifest is a folder.
    let odd = dir.path().join("odd");
    fs::create_dir_all(odd.join("DIRKV")).unwrap();
    fs::write(odd.join("data.txt"), b"keep").unwrap();
    let err = Blobs::open(&lookalike, Exists::Replace).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotAStore, "{err}");
    // A manifest that is a folder: an error naming it (opened, then refused on read).
    let err = Blobs::open(&odd, Exists::Replace).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Corrupt | ErrorKind::Io),
        "{err}"
    );
    assert_eq!(err.path(), Some(odd.join("DIRKV").as_path()));
    assert!(
        copied_entry.is_file(),
        "Replace deleted an entry of a non-store"
    );
    assert_eq!(fs::read(odd.join("data.txt")).unwrap(), b"keep");
    assert!(odd.join("DIRKV").is_dir());
}

/// Fills the store on a small file system until a write fails, then checks that the
/// failure kept the old value and left no temp file.
fn fill_until_full(path: &Path, what: &str) {
    let store: Blobs = Store::open(path, Exists::OpenOrCreate)
        .unwrap_or_else(|e| panic!("{what}: cannot create the store: {e}"));
    store.set("keep", &vec![42; 1000]).unwrap();
    let chunk = vec![7u8; 64 * 1024];
    let mut written = 0;
    let err = loop {
        match store.set(&format!("fill-{written}"), &chunk) {
            Ok(()) => written += 1,
            Err(e) => break e,
        }
        assert!(written < 10_000, "{what}: never filled up");
    };
    assert_eq!(err.kind(), ErrorKind::Io, "{what}: {err}");
    assert_eq!(
        err.io_error_kind(),
        Some(std::io::ErrorKind::StorageFull),
        "{what}: {err:?}"
    );
    // The failed write left nothing; overwriting an existing key with a value that does
    // not fit fails the same way and keeps the old value.
    assert_eq!(common::temp_files(path), Vec::<PathBuf>::new(), "{what}");
    let err = store.set("keep", &vec![1u8; 1 << 20]).unwrap_err();
    assert_eq!(
        err.io_error_kind(),
        Some(std::io::ErrorKind::StorageFull),
        "{what}"
    );
    assert_eq!(store.get("keep").unwrap(), Some(vec![42; 1000]), "{what}");
    assert_eq!(common::temp_files(path), Vec::<PathBuf>::new(), "{what}");
    for n in 0..written {
        let v = store.get(&format!("fill-{n}")).unwrap();
        assert_eq!(v.as_ref(), Some(&chunk), "{what}: fill-{n}");
    }
    // Room made, writes work again.
    assert!(store.remove("fill-0").unwrap());
    assert!(store.remove("fill-1").unwrap());
    store.set("after", &vec![1; 1000]).unwrap();
    assert_eq!(store.get("after").unwrap(), Some(vec![1; 1000]));
    eprintln!("{what}: full after {written} values of 64 KiB");
}

#[cfg(unix)]
#[test]
fn a_full_file_system_fails_the_write_keeps_the_old_value_and_leaves_no_temp() {
    if !is_root() {
        eprintln!("SKIPPED full file system: mounting a small one needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // tmpfs: the write() itself fails with ENOSPC.
    match Mounted::mount_with("tmpfs", "tmpfs", &dir.path().join("tmpfs"), Some("size=2m")) {
        Ok(m) => fill_until_full(&m.0.join("store"), "tmpfs of 2 MiB"),
        Err(e) => eprintln!("SKIPPED full tmpfs: {e}"),
    }
    // ext4 (no journal): delayed allocation, so the failure may also come at fdatasync.
    let image = dir.path().join("small.img");
    fs::File::create(&image)
        .and_then(|f| f.set_len(8 << 20))
        .unwrap();
    let made = run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-O", "^has_journal", "-m", "0"])
        .arg(&image));
    let dev = made.and_then(|_| LoopDev::attach(&image));
    match dev {
        Ok(dev) => {
            let m = Mounted::mount("ext4", &dev.0, &dir.path().join("ext4")).unwrap();
            fill_until_full(&m.0.join("store"), "ext4 of 8 MiB");
            drop(m);
            drop(dev);
        }
        Err(e) => eprintln!("SKIPPED full ext4: {e}"),
    }
}

/// Child side of `a_store_folder_the_user_may_not_write_still_reads`: runs as a user who
/// may read the store but not write to it.
#[test]
#[ignore = "child process: run by its parent test"]
fn child_read_only_user() {
    common::child_entry();
    let path = std::env::var("DIRKV_STORE").unwrap();
    check_unwritable_store(Path::new(&path));
    println!("CHILD-OK");
}

fn check_unwritable_store(path: &Path) {
    // A plain open works (no marker can be made), and so does a read-only one.
    let store: Blobs = Store::open(path, Exists::Update).unwrap();
    let ro: Blobs = Store::options()
        .read_only(true)
        .open(path, Exists::Update)
        .unwrap();
    for s in [&store, &ro] {
        assert_eq!(s.get("a").unwrap(), Some(vec![1, 2, 3]));
        assert_eq!(s.len().unwrap(), 1);
        assert_eq!(s.keys().map(Result::unwrap).collect::<Vec<_>>(), ["a"]);
    }
    let errors = [
        store.set("a", &vec![9]).unwrap_err(),
        store.set("b", &vec![9]).unwrap_err(),
        store.set_many([("c", &vec![9])]).unwrap_err(),
        store.update("a", |_| Some(vec![9])).unwrap_err(),
        store.remove("a").unwrap_err(),
    ];
    for err in errors {
        assert_eq!(err.kind(), ErrorKind::Io, "{err}");
        assert_eq!(
            err.io_error_kind(),
            Some(std::io::ErrorKind::PermissionDenied),
            "{err:?}"
        );
    }
    assert_eq!(
        ro.set("a", &vec![9]).unwrap_err().kind(),
        ErrorKind::ReadOnly
    );
    assert_eq!(store.get("a").unwrap(), Some(vec![1, 2, 3]));
    assert_eq!(common::temp_files(path), Vec::<PathBuf>::new());
}

#[cfg(unix)]
#[test]
fn a_store_folder_the_user_may_not_write_still_reads() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("store");
    let store: Blobs = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set("a", &vec![1, 2, 3]).unwrap();
    drop(store);
    if !is_root() {
        // Not root: take the write bits away; this user can no longer write there.
        let chmod = |mode: &str| {
            run(Command::new("chmod").args(["-R", mode]).arg(&path)).unwrap();
        };
        chmod("a-w");
        let result = std::panic::catch_unwind(|| check_unwritable_store(&path));
        chmod("u+w");
        result.unwrap();
        return;
    }
    // Root may write anywhere: run the checks as `nobody`, who can read the store (0755
    // folders, 0644 files made by root) but not write to it.
    if !common::has_command("setpriv") {
        eprintln!("SKIPPED read-only store as an unprivileged user: setpriv is not installed");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = common::child_test!(child_read_only_user)
        .under(
            "setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", "--"],
        )
        .env("DIRKV_STORE", &path)
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("Permission denied") && !stdout.contains("running")
    {
        eprintln!(
            "SKIPPED read-only store as an unprivileged user: user nobody cannot run the test \
             binary {} ({stderr})",
            exe.display()
        );
        return;
    }
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "child as nobody failed: {stdout}{stderr}"
    );
}
