//! Encryption (feature `encryption`): round trips through reopen, keyed file names, wrong
//! keys and passphrases refused at open, tampering of every kind detected.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{Page, all_files, page, store_dir};
use dirkv::{EncryptionKey, ErrorKind, Exists, Store};

type S = Store<String, Page>;

const KEY: [u8; 32] = [0x42; 32];

fn key() -> EncryptionKey {
    EncryptionKey::from_bytes(KEY)
}

/// A cheap passphrase (64 KiB, 1 pass) so the tests stay fast.
fn phrase(p: &str) -> EncryptionKey {
    EncryptionKey::passphrase_with_cost(p, 64, 1)
}

fn open(path: &Path, k: EncryptionKey) -> dirkv::Result<S> {
    Store::options()
        .encryption(k)
        .open(path, Exists::OpenOrCreate)
}

fn manifest(path: &Path) -> String {
    fs::read_to_string(path.join("DIRKV")).unwrap()
}

/// The bytes of every entry file in the store.
fn entry_files(path: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    all_files(path)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dkv"))
        .map(|p| {
            let full = path.join(&p);
            let bytes = fs::read(&full).unwrap();
            (full, bytes)
        })
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn round_trip_through_reopen_with_keys_and_values_unreadable_on_disk() {
    let (_d, path) = store_dir();
    {
        let s = open(&path, key()).unwrap();
        s.set("secret-key-name", &page(7)).unwrap();
        s.set_many([("alpha", &page(1)), ("beta", &page(2))])
            .unwrap();
        s.update("alpha", |p| p.map(|p| Page { words: 99, ..p }))
            .unwrap();
    }
    let s = open(&path, key()).unwrap();
    assert_eq!(s.get("secret-key-name").unwrap(), Some(page(7)));
    assert_eq!(s.get("alpha").unwrap().map(|p| p.words), Some(99));
    assert!(s.contains_key("beta").unwrap() && !s.contains_key("gamma").unwrap());
    let mut keys: Vec<String> = s.keys().map(|k| k.unwrap()).collect();
    keys.sort();
    assert_eq!(keys, ["alpha", "beta", "secret-key-name"]);
    assert_eq!(s.iter().count(), 3);
    assert_eq!(s.values().count(), 3);
    assert!(s.metadata("beta").unwrap().unwrap().encrypted);

    // Names are not SHA-256 of the key, and neither keys nor values are on disk in clear.
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(b"secret-key-name"))
    };
    let file = s.path_of("secret-key-name");
    assert!(file.exists());
    assert!(!file.to_string_lossy().contains(&sha));
    for (p, bytes) in entry_files(&path) {
        assert_eq!(bytes[5], 0x02, "encrypted flag: {}", p.display());
        assert_eq!(&bytes[12..16], &[0, 0, 0, 0], "no key length in clear");
        for needle in [&b"secret-key-name"[..], b"alpha", b"page 7", b"title"] {
            assert!(
                !contains(&bytes, needle),
                "{} shows {needle:?}",
                p.display()
            );
        }
    }
    // The manifest names the cipher and holds a salt and a key check, never the key.
    let m = manifest(&path);
    assert!(m.contains("encryption = xchacha20poly1305"), "{m}");
    assert!(m.contains("encryption_kdf = none"), "{m}");
    assert!(m.contains("encryption_salt = ") && m.contains("encryption_check = "));
    assert!(!m.contains(&hex::encode(KEY)));
    assert!(m.contains("HMAC-SHA256"), "{m}");

    // Remove, CAS and set_if_absent work on encrypted entries.
    assert!(s.remove("beta").unwrap());
    assert!(!s.remove("beta").unwrap());
    assert!(!s.set_if_absent("alpha", &page(0)).unwrap());
    assert!(
        s.compare_and_swap("secret-key-name", Some(&page(7)), None)
            .unwrap()
    );
    assert_eq!(s.len().unwrap(), 1);

    // Read-only opens take the key too.
    let ro: S = Store::options()
        .encryption(key())
        .read_only(true)
        .open(&path, Exists::Update)
        .unwrap();
    assert_eq!(ro.get("alpha").unwrap().map(|p| p.words), Some(99));
}

#[test]
fn passphrase_stores_round_trip_and_record_their_argon2id_cost() {
    let (_d, path) = store_dir();
    open(&path, phrase("correct horse battery staple"))
        .unwrap()
        .set("k", &page(1))
        .unwrap();
    let m = manifest(&path);
    assert!(m.contains("encryption_kdf = argon2id"), "{m}");
    assert!(m.contains("encryption_kdf_memory_kib = 64"), "{m}");
    assert!(m.contains("encryption_kdf_iterations = 1"), "{m}");
    // The cost recorded at creation is used, whatever cost the opener asks for.
    let s = open(
        &path,
        EncryptionKey::passphrase_with_cost("correct horse battery staple", 1024, 3),
    )
    .unwrap();
    assert_eq!(s.get("k").unwrap(), Some(page(1)));
    let err = open(&path, phrase("correct horse battery stapler")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WrongKey, "{err}");
    assert!(err.path().is_some_and(|p| p.ends_with("DIRKV")));
}

#[test]
fn the_default_passphrase_cost_works() {
    let (_d, path) = store_dir();
    let s = open(&path, EncryptionKey::passphrase("pass phrase")).unwrap();
    s.set("k", &page(1)).unwrap();
    drop(s);
    assert!(manifest(&path).contains("encryption_kdf_memory_kib = 19456"));
    let s = open(&path, EncryptionKey::passphrase("pass phrase")).unwrap();
    assert_eq!(s.get("k").unwrap(), Some(page(1)));
}

#[test]
fn wrong_missing_or_unexpected_keys_are_clear_errors_at_open() {
    let (_d, path) = store_dir();
    open(&path, key()).unwrap().set("k", &page(1)).unwrap();

    let mut other = KEY;
    other[31] ^= 1;
    let err = open(&path, EncryptionKey::from_bytes(other)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WrongKey);
    assert!(err.to_string().contains("wrong"), "{err}");

    let err = S::open(&path, Exists::Update).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WrongKey);
    assert!(err.to_string().contains("encrypted"), "{err}");

    let err = open(&path, phrase("a passphrase")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WrongKey);
    assert!(err.to_string().contains("passphrase"), "{err}");

    // A plain store opened with a key.
    let (_d2, plain) = store_dir();
    S::open(&plain, Exists::OpenOrCreate).unwrap();
    let err = open(&plain, key()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IncompatibleFormat);
    assert!(err.to_string().contains("not encrypted"), "{err}");

    // Bad key material from callers.
    assert_eq!(
        EncryptionKey::from_slice(&[1; 31]).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert!(EncryptionKey::from_slice(&[1; 32]).is_ok());
    let (_d3, p3) = store_dir();
    assert_eq!(
        open(&p3, phrase("")).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    for (memory, passes) in [(4, 1), (64, 0), (64, 1000)] {
        let (_d4, p4) = store_dir();
        let k = EncryptionKey::passphrase_with_cost("p", memory, passes);
        assert_eq!(open(&p4, k).unwrap_err().kind(), ErrorKind::InvalidInput);
        assert!(!p4.join("DIRKV").exists(), "nothing is created");
    }
    // Keys never show in Debug output.
    assert!(!format!("{:?}", phrase("hunter2")).contains("hunter2"));
    assert!(!format!("{:?}", key()).contains("66"));

    // Nothing was changed by the failed opens.
    assert_eq!(open(&path, key()).unwrap().get("k").unwrap(), Some(page(1)));
}

#[test]
fn a_damaged_encryption_manifest_is_corrupt_not_a_crash() {
    let (_d, path) = store_dir();
    open(&path, phrase("p")).unwrap();
    let good = manifest(&path);
    for (from, to) in [
        (
            "encryption_kdf_memory_kib = 64",
            "encryption_kdf_memory_kib = lots",
        ),
        (
            "encryption_kdf_iterations = 1",
            "encryption_kdf_iterations = 0",
        ),
        (
            "encryption_kdf_memory_kib = 64",
            "encryption_kdf_memory_kib = 99999999",
        ),
    ] {
        fs::write(path.join("DIRKV"), good.replace(from, to)).unwrap();
        let err = open(&path, phrase("p")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{to}: {err}");
    }
    let salt_line = good
        .lines()
        .find(|l| l.starts_with("encryption_salt"))
        .unwrap();
    fs::write(
        path.join("DIRKV"),
        good.replace(salt_line, "encryption_salt = zz"),
    )
    .unwrap();
    assert_eq!(
        open(&path, phrase("p")).unwrap_err().kind(),
        ErrorKind::Corrupt
    );
    fs::write(
        path.join("DIRKV"),
        good.replace("encryption = xchacha20poly1305", "encryption = rot13"),
    )
    .unwrap();
    assert_eq!(
        open(&path, phrase("p")).unwrap_err().kind(),
        ErrorKind::IncompatibleFormat
    );
    fs::write(path.join("DIRKV"), &good).unwrap();
    assert!(open(&path, phrase("p")).is_ok());
}

/// A store with two entries, and their files' bytes.
fn two_entries() -> (tempfile::TempDir, PathBuf, S, Vec<u8>, Vec<u8>) {
    let (d, path) = store_dir();
    let s = open(&path, key()).unwrap();
    s.set("a", &page(1)).unwrap();
    s.set("b", &page(2)).unwrap();
    let a = fs::read(s.path_of("a")).unwrap();
    let b = fs::read(s.path_of("b")).unwrap();
    (d, path, s, a, b)
}

fn assert_corrupt(s: &S, key: &str) {
    let err = s.get(key).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert_eq!(err.path(), Some(s.path_of(key).as_path()));
}

#[test]
fn every_changed_byte_is_detected_even_with_a_recomputed_checksum() {
    let (_d, _path, s, a, _) = two_entries();
    let file = s.path_of("a");
    for i in (0..a.len()).filter(|i| !(8..12).contains(i)) {
        let mut bad = a.clone();
        bad[i] ^= 0x10;
        common::fix_checksum(&mut bad);
        fs::write(&file, &bad).unwrap();
        let err = s.get("a").unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::Corrupt | ErrorKind::IncompatibleFormat
            ),
            "byte {i}: {err}"
        );
    }
    // And without a fixed checksum, the checksum catches it first.
    let mut bad = a.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    fs::write(&file, &bad).unwrap();
    assert_corrupt(&s, "a");
    fs::write(&file, &a).unwrap();
    assert_eq!(s.get("a").unwrap(), Some(page(1)));
}

#[test]
fn changed_header_fields_are_detected() {
    let (_d, _path, s, a, _) = two_entries();
    let file = s.path_of("a");
    // Expiry set (to the past), created and modified moved, flags changed.
    for (at, value) in [
        (40usize, 1u64.to_le_bytes()),
        (24, 5u64.to_le_bytes()),
        (32, 5u64.to_le_bytes()),
    ] {
        let mut bad = a.clone();
        bad[at..at + 8].copy_from_slice(&value);
        common::fix_checksum(&mut bad);
        fs::write(&file, &bad).unwrap();
        assert_corrupt(&s, "a");
        assert!(s.keys().any(|k| k.is_err()), "listing reports it too");
    }
    let mut bad = a.clone();
    bad[5] = 0x03; // claims compressed as well
    common::fix_checksum(&mut bad);
    fs::write(&file, &bad).unwrap();
    assert_corrupt(&s, "a");
}

#[test]
fn swapped_and_copied_files_are_detected() {
    let (_d, path, s, a, b) = two_entries();
    // Swap the two files' contents.
    fs::write(s.path_of("a"), &b).unwrap();
    fs::write(s.path_of("b"), &a).unwrap();
    assert_corrupt(&s, "a");
    assert_corrupt(&s, "b");
    fs::write(s.path_of("a"), &a).unwrap();
    fs::write(s.path_of("b"), &b).unwrap();
    assert_eq!(s.get("b").unwrap(), Some(page(2)));

    // An entry from another store under the same key does not decrypt (per-store keys).
    let (_d2, other_path) = store_dir();
    let other = open(&other_path, key()).unwrap();
    other.set("a", &page(100)).unwrap();
    assert_ne!(other.path_of("a").file_name(), s.path_of("a").file_name());
    fs::copy(other.path_of("a"), s.path_of("a")).unwrap();
    assert_corrupt(&s, "a");

    // A plain entry planted under an encrypted store's name is refused.
    let (_d3, plain_path) = store_dir();
    let plain = S::open(&plain_path, Exists::OpenOrCreate).unwrap();
    plain.set("a", &page(5)).unwrap();
    fs::copy(plain.path_of("a"), s.path_of("a")).unwrap();
    assert_corrupt(&s, "a");
    // ...and an encrypted entry planted in a plain store is refused there.
    fs::write(plain.path_of("a"), &a).unwrap();
    let err = plain.get("a").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    drop(path);
}

#[test]
fn expiry_eviction_and_temp_sweeps_work_on_encrypted_stores() {
    use std::sync::Arc;
    use std::time::Duration;
    let (_d, path) = store_dir();
    let clock = Arc::new(dirkv::ManualClock::new());
    let s: S = Store::options()
        .encryption(key())
        .clock(clock.clone())
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    s.set_with_ttl("short", &page(1), Duration::from_secs(1))
        .unwrap();
    s.set("long", &page(2)).unwrap();
    clock.advance(Duration::from_secs(1));
    assert_eq!(s.get("short").unwrap(), None);
    s.set_with_ttl("short2", &page(1), Duration::from_secs(1))
        .unwrap();
    clock.advance(Duration::from_secs(1));
    assert_eq!(s.purge_expired().unwrap(), 1);
    assert_eq!(s.evict_to(0, u64::MAX).unwrap().removed, 1);
    assert!(s.is_empty().unwrap());

    // A temp file that is a second name of a live entry (what a power cut can leave on a
    // file system without a journal) is recognised under keyed names, and kept.
    s.set("k", &page(3)).unwrap();
    let entry = s.path_of("k");
    let alias = entry.parent().unwrap().join(".tmp-0123456789ab-XXXXXXXX");
    fs::hard_link(&entry, &alias).unwrap();
    let orphan = entry.parent().unwrap().join(".tmp-0123456789ab-YYYYYYYY");
    fs::write(&orphan, b"half a write").unwrap();
    let sweeper: S = Store::options()
        .encryption(key())
        .stale_temp_age(Duration::ZERO)
        .open(&path, Exists::Update)
        .unwrap();
    assert_eq!(sweeper.sweep_temps().unwrap(), 1);
    assert!(alias.exists() && !orphan.exists());
    assert_eq!(sweeper.get("k").unwrap(), Some(page(3)));
}

#[test]
fn replace_starts_afresh_with_a_new_key_or_none() {
    let (_d, path) = store_dir();
    open(&path, key()).unwrap().set("k", &page(1)).unwrap();
    let salt = |m: String| {
        m.lines()
            .find(|l| l.starts_with("encryption_salt"))
            .map(str::to_owned)
    };
    let old_salt = salt(manifest(&path));
    let s: S = Store::options()
        .encryption(phrase("new"))
        .open(&path, Exists::Replace)
        .unwrap();
    assert!(s.is_empty().unwrap());
    s.set("k", &page(2)).unwrap();
    assert_ne!(salt(manifest(&path)), old_salt);
    drop(s);
    assert_eq!(open(&path, key()).unwrap_err().kind(), ErrorKind::WrongKey);
    assert_eq!(
        open(&path, phrase("new")).unwrap().get("k").unwrap(),
        Some(page(2))
    );
    let s = S::open(&path, Exists::Replace).unwrap();
    assert!(s.is_empty().unwrap());
    assert!(!manifest(&path).contains("encryption"));
}

#[cfg(feature = "compression")]
#[test]
fn compression_and_encryption_together() {
    let (_d, path) = store_dir();
    let text = "a fairly repetitive sentence about dirkv. ".repeat(100);
    let big = Page {
        title: text.clone(),
        words: 1,
        body: Vec::new(),
    };
    {
        let s: S = Store::options()
            .encryption(key())
            .compression(Some(256))
            .open(&path, Exists::OpenOrCreate)
            .unwrap();
        s.set("big", &big).unwrap();
        let m = s.metadata("big").unwrap().unwrap();
        assert!(m.compressed && m.encrypted);
        assert!(m.file_len < text.len() as u64 / 4);
        assert_eq!(fs::read(s.path_of("big")).unwrap()[5], 0x03);
    }
    let s = open(&path, key()).unwrap();
    assert_eq!(s.get("big").unwrap(), Some(big));
}

#[test]
fn a_store_folder_describes_an_encrypted_store_without_its_key() {
    use dirkv::{ItemKind, StoreFolder};
    let (_d, path) = store_dir();
    let s = open(&path, phrase("folder")).unwrap();
    s.set("a", &page(1)).unwrap();
    s.set("b", &page(2)).unwrap();
    drop(s);
    let folder = StoreFolder::read(&path).unwrap();
    assert!(folder.is_encrypted());
    assert_eq!((folder.key_encoding(), folder.codec()), ("utf8", "msgpack"));
    let setting = |name: &str| folder.settings().get(name).map(String::as_str);
    assert_eq!(setting("encryption"), Some("xchacha20poly1305"));
    assert_eq!(setting("encryption_kdf"), Some("argon2id"));
    assert_eq!(setting("encryption_kdf_memory_kib"), Some("64"));
    let entries = folder
        .scan()
        .filter(|item| item.as_ref().unwrap().kind == ItemKind::Entry)
        .count();
    assert_eq!(entries, 2);
    // Not a store: the errors of opening one.
    let err = StoreFolder::read(path.join("missing")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = StoreFolder::read(path.join("00")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotAStore);
}
