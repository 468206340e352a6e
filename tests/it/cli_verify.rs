//! `dirkv verify` and `--repair` against damaged stores made by the library.

use crate::cli_support;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use cli_support::{Page, dirkv, page, store_dir};
use dirkv::{ErrorKind, Exists, Store};

type Pages = Store<String, Page>;

fn big_page(n: u32) -> Page {
    Page {
        title: format!("page {n}"),
        words: n,
        body: vec![n as u8; 300],
    }
}

/// Files under `dir`, recursively, relative to it.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
        for item in fs::read_dir(dir).unwrap() {
            let item = item.unwrap();
            if item.file_type().unwrap().is_dir() {
                walk(&item.path(), root, out);
            } else {
                out.push(item.path().strip_prefix(root).unwrap().to_owned());
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

#[test]
fn a_healthy_store_verifies_clean() {
    let (_dir, path) = store_dir();
    let store: Pages = Store::open(&path, Exists::OpenOrCreate).unwrap();
    for n in 0..20 {
        store.set(&format!("k{n}"), &page(n)).unwrap();
    }
    let run = dirkv(["verify", path.to_str().unwrap()]);
    assert_eq!(run.ok(), "checked 20 entries: no problems\n");
    assert_eq!(run.stderr, "");
}

#[test]
fn verify_finds_truncation_flipped_byte_and_stray_file_and_repair_quarantines_them() {
    let (_dir, path) = store_dir();
    let store: Pages = Store::open(&path, Exists::OpenOrCreate).unwrap();
    for n in 0..10 {
        store.set(&format!("k{n}"), &big_page(n)).unwrap();
    }
    let truncated = store.path_of("k1");
    let flipped = store.path_of("k2");
    let len = fs::metadata(&truncated).unwrap().len();
    File::options()
        .write(true)
        .open(&truncated)
        .unwrap()
        .set_len(len - 100)
        .unwrap();
    let mut bytes = fs::read(&flipped).unwrap();
    bytes[200] ^= 0x10;
    fs::write(&flipped, &bytes).unwrap();
    let stray = path.join("7f").join("notes.txt");
    fs::write(&stray, b"someone's notes").unwrap();
    let damaged: Vec<(PathBuf, Vec<u8>)> = [&truncated, &flipped, &stray]
        .iter()
        .map(|p| ((*p).clone(), fs::read(p).unwrap()))
        .collect();

    let p = path.to_str().unwrap();
    let run = dirkv(["verify", p]);
    assert_eq!(run.code, 3, "{run:?}");
    let report = run.out();
    assert!(report.contains("truncated ("), "{report}");
    assert!(report.contains("checksum mismatch"), "{report}");
    assert!(report.contains("foreign file"), "{report}");
    for (file, _) in &damaged {
        assert!(report.contains(file.to_str().unwrap()), "{report}");
    }
    assert!(
        report.ends_with("checked 10 entries: 3 problems\n"),
        "{report}"
    );
    assert!(
        !path.join("quarantine").exists(),
        "verify alone changes nothing"
    );

    // Everything found was repaired: status 0, and the keys the damaged files still hold.
    let run = dirkv(["verify", "--repair", p]);
    assert_eq!(run.code, 0, "nothing is left to repair: {run:?}");
    let report = run.out();
    assert_eq!(report.matches("  moved to ").count(), 3, "{report}");
    assert!(
        report.ends_with("checked 10 entries: 3 problems, all repaired\n"),
        "{report}"
    );
    // The flipped byte is in the value, so that file still holds its key; the truncated
    // file too (its header and key are intact); the stray file is no entry.
    assert!(report.contains("  it held the key k1\n"), "{report}");
    assert!(report.contains("  it held the key k2\n"), "{report}");
    assert_eq!(report.matches("it held the key").count(), 2, "{report}");
    // Moved, never deleted: same bytes, same relative path, under quarantine/<time>-<id>/.
    let quarantined = files_under(&path.join("quarantine"));
    assert_eq!(quarantined.len(), 3, "{quarantined:?}");
    for (file, content) in &damaged {
        assert!(!file.exists());
        let rel = file.strip_prefix(&path).unwrap();
        let q = quarantined.iter().find(|q| q.ends_with(rel)).unwrap();
        assert_eq!(&fs::read(path.join("quarantine").join(q)).unwrap(), content);
    }

    // Clean now; the library ignores the quarantine.
    assert_eq!(
        dirkv(["verify", p]).ok(),
        "checked 8 entries: no problems\n"
    );
    drop(store);
    let store: Pages = Store::open(&path, Exists::Update).unwrap();
    assert_eq!(store.len().unwrap(), 8);
    assert!(store.iter().all(|r| r.is_ok()));
    assert_eq!(store.get("k1").unwrap(), None);
    assert_eq!(store.get("k3").unwrap(), Some(big_page(3)));
    drop(store);
    // Without its manifest, a folder holding quarantine/ is not a half-made store.
    fs::remove_file(path.join("DIRKV")).unwrap();
    let err = Pages::open(&path, Exists::OpenOrCreate).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotAStore);
}

#[test]
fn verify_reports_misplaced_links_folders_keys_and_leftovers() {
    let (_dir, path) = store_dir();
    let store: Store<u64, String> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set(&1, &"one".into()).unwrap();
    store.set(&2, &"two".into()).unwrap();
    let one = store.path_of(&1);
    // An entry copied into the wrong shard.
    let name = one.file_name().unwrap();
    let wrong_shard = if name.to_str().unwrap().starts_with("00") {
        "01"
    } else {
        "00"
    };
    let misplaced = path.join(wrong_shard).join(name);
    fs::copy(&one, &misplaced).unwrap();
    // A link and a folder inside shards.
    let link = path.join("10").join("link");
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
    fs::create_dir(path.join("11").join("folder")).unwrap();
    // An entry whose key is not a canonical u64 (intact file, written by hand).
    let raw = dirkv::RawStore::open(&path, dirkv::Access::ReadOnly).unwrap();
    let good = fs::read(&one).unwrap();
    drop(raw);
    let odd_key = b"007";
    let mut odd = good[..48].to_vec();
    odd[12..16].copy_from_slice(&3u32.to_le_bytes());
    odd.extend_from_slice(odd_key);
    odd.extend_from_slice(&good[48 + 1..]);
    let crc = {
        let mut all = odd[..8].to_vec();
        all.extend_from_slice(&odd[12..]);
        crc32(&all)
    };
    odd[8..12].copy_from_slice(&crc.to_le_bytes());
    let odd_path = dirkv::RawStore::open(&path, dirkv::Access::ReadOnly)
        .unwrap()
        .path_of(odd_key);
    fs::write(&odd_path, &odd).unwrap();
    // A temp file of a writer that is gone, and old enough to be stale.
    let temp = path.join("22").join(".tmp-deadbeef0000-abcdefgh");
    fs::write(&temp, b"half a write").unwrap();
    let old = SystemTime::now() - Duration::from_secs(7200);
    File::options()
        .write(true)
        .open(&temp)
        .unwrap()
        .set_modified(old)
        .unwrap();

    let p = path.to_str().unwrap();
    let run = dirkv(["verify", p]);
    assert_eq!(run.code, 3, "{run:?}");
    let report = run.out();
    assert!(report.contains("wrong shard"), "{report}");
    #[cfg(unix)]
    assert!(report.contains("foreign link"), "{report}");
    assert!(report.contains("foreign folder"), "{report}");
    assert!(report.contains("canonical decimal"), "{report}");
    assert!(report.contains("note: stale temp file"), "{report}");
    assert!(report.contains(temp.to_str().unwrap()), "{report}");

    let run = dirkv(["verify", "--repair", p]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.out().contains("removed 1 stale temp file or marker\n"),
        "{}",
        run.out()
    );
    // The misplaced copy and the non-canonical key are named; links and folders are not.
    assert!(run.out().contains("  it held the key 1\n"), "{}", run.out());
    assert!(
        run.out().contains("  it held the key 007\n"),
        "{}",
        run.out()
    );
    assert!(
        run.out().ends_with("4 problems, all repaired (1 note)\n"),
        "{}",
        run.out()
    );
    assert!(!temp.exists() && !misplaced.exists() && !odd_path.exists());
    assert!(fs::symlink_metadata(&link).is_err());
    let report = dirkv(["verify", p]).ok();
    assert_eq!(report, "checked 2 entries: no problems\n");
    assert_eq!(store.get(&1).unwrap().as_deref(), Some("one"));
}

#[test]
fn repair_recreates_a_missing_shard_folder() {
    let (_dir, path) = store_dir();
    let store: Pages = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set("a", &page(1)).unwrap();
    fs::remove_dir(path.join("c3")).unwrap();
    let p = path.to_str().unwrap();
    let run = dirkv(["verify", p]);
    assert_eq!(run.code, 3);
    assert!(
        run.out().contains("shard folder is missing"),
        "{}",
        run.out()
    );
    let run = dirkv(["verify", "--repair", p]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.out()
            .ends_with("recreated 1 folder\nchecked 1 entry: 1 problem, all repaired\n"),
        "{}",
        run.out()
    );
    assert!(path.join("c3").is_dir());
    assert_eq!(dirkv(["verify", p]).code, 0);
}

#[test]
fn repair_that_leaves_something_exits_3_and_says_what_is_left() {
    let (_dir, path) = store_dir();
    let store: Pages = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set("a", &page(1)).unwrap();
    store.set("b", &page(2)).unwrap();
    // One entry damaged (repairable), one shard folder name holding a file (not).
    let file = store.path_of("a");
    let mut bytes = fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&file, &bytes).unwrap();
    let shard = if file.parent().unwrap().ends_with("e0") {
        "e1"
    } else {
        "e0"
    };
    let holder = path.join(shard);
    assert!(
        fs::read_dir(&holder).unwrap().next().is_none(),
        "an empty shard"
    );
    fs::remove_dir(&holder).unwrap();
    fs::write(&holder, b"not a folder").unwrap();
    let p = path.to_str().unwrap();
    let run = dirkv(["verify", "--repair", p]);
    assert_eq!(run.code, 3, "{run:?}");
    let report = run.out();
    assert!(report.contains("  it held the key a\n"), "{report}");
    assert!(
        report.ends_with(": 2 problems, 1 repaired, 1 left\n"),
        "{report}"
    );
    let run = dirkv(["verify", p]);
    assert_eq!(run.code, 3);
    assert!(run.out().ends_with(": 1 problem\n"), "{}", run.out());
}

#[test]
fn verify_takes_no_lock_and_leaves_live_writers_alone() {
    let (_dir, path) = store_dir();
    let store: Pages = Store::options()
        .lock_timeout(Some(Duration::from_secs(5)))
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    store.set("a", &page(1)).unwrap();
    // A young temp file of a live writer (this test's store holds its marker).
    let marker = fs::read_dir(path.join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("w-"))
        .unwrap();
    let id = marker.trim_start_matches("w-").trim_end_matches(".lock");
    let temp = path.join("33").join(format!(".tmp-{id}-inflight"));
    fs::write(&temp, b"writing").unwrap();
    let lock = File::open(path.join("lock")).unwrap();
    lock.lock().unwrap();
    let run = dirkv(["verify", "--repair", path.to_str().unwrap()]);
    assert_eq!(run.ok(), "checked 1 entry: no problems\n");
    assert!(temp.exists());
    let run = dirkv(["verify", path.to_str().unwrap()]);
    assert_eq!(run.code, 0);
    lock.unlock().unwrap();
}

/// CRC-32 (IEEE), as the entry format uses.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
