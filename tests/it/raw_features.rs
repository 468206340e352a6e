//! The untyped `RawStore` (what the `dirkv` command uses) on stores with expiry,
//! compression and encryption: values come back as the codec's plain bytes.

use crate::common;

use std::time::Duration;

use common::{Page, page, store_dir};
use dirkv::{Access, ErrorKind, RawStore};

fn msgpack(p: &Page) -> Vec<u8> {
    rmp_serde::to_vec_named(p).unwrap()
}

#[test]
fn ttl_purge_and_eviction_through_the_raw_api() {
    let (_d, path) = store_dir();
    let raw = RawStore::create(&path, "utf8", "msgpack").unwrap();
    raw.set_with_ttl(b"short", &msgpack(&page(1)), Duration::ZERO)
        .unwrap();
    raw.set(b"long", &msgpack(&page(2))).unwrap();
    assert!(raw.get(b"short").unwrap().is_none());
    let info = raw.get(b"long").unwrap().unwrap().info;
    assert_eq!(info.expires_ms, None);
    assert_eq!(raw.purge_expired().unwrap(), 1);
    assert_eq!(raw.evict_to(0, u64::MAX).unwrap().removed, 1);
    assert!(!raw.is_encrypted());
    let ro = RawStore::open(&path, Access::ReadOnly).unwrap();
    assert_eq!(ro.purge_expired().unwrap_err().kind(), ErrorKind::ReadOnly);
}

#[cfg(feature = "compression")]
#[test]
fn the_raw_api_reads_compressed_entries_as_plain_codec_bytes() {
    use dirkv::{Exists, Store};
    let (_d, path) = store_dir();
    let big = Page {
        title: "compressible ".repeat(200),
        words: 1,
        body: vec![7; 3000],
    };
    let s: Store<String, Page> = Store::options()
        .compression(Some(64))
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    s.set("big", &big).unwrap();
    assert!(s.metadata("big").unwrap().unwrap().compressed);
    let raw = RawStore::open(&path, Access::ReadOnly).unwrap();
    let entry = raw.get(b"big").unwrap().unwrap();
    assert_eq!(entry.value.as_deref(), Some(&msgpack(&big)[..]));
    assert_eq!(entry.info.flags, 0x01);
    let all: Vec<_> = raw.entries().map(|e| e.unwrap()).collect();
    assert_eq!(all[0].value.as_deref(), Some(&msgpack(&big)[..]));
    assert!(raw.verify_file(&entry.path).unwrap().is_some());
}

#[cfg(feature = "encryption")]
#[test]
fn the_raw_api_opens_encrypted_stores_only_with_their_key() {
    use dirkv::{EncryptionKey, Exists, Store};
    let (_d, path) = store_dir();
    let key = || EncryptionKey::from_bytes([9; 32]);
    let s: Store<String, Page> = Store::options()
        .encryption(key())
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    s.set("a", &page(1)).unwrap();

    let err = RawStore::open(&path, Access::ReadOnly).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WrongKey, "{err}");
    let err = RawStore::open_encrypted(&path, Access::ReadOnly, EncryptionKey::from_bytes([1; 32]))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WrongKey, "{err}");

    let raw = RawStore::open_encrypted(&path, Access::ReadWrite, key()).unwrap();
    assert!(raw.is_encrypted());
    assert_eq!(raw.path_of(b"a"), s.path_of("a"));
    let entry = raw.get(b"a").unwrap().unwrap();
    assert_eq!(entry.key, b"a");
    assert_eq!(entry.value.as_deref(), Some(&msgpack(&page(1))[..]));
    let keys: Vec<Vec<u8>> = raw.keys().map(|e| e.unwrap().key).collect();
    assert_eq!(keys, vec![b"a".to_vec()]);
    assert!(raw.verify_file(&entry.path).unwrap().is_some());
    raw.set(b"b", &msgpack(&page(2))).unwrap();
    assert_eq!(s.get("b").unwrap(), Some(page(2)));
    assert!(raw.remove(b"a").unwrap());
    assert_eq!(s.get("a").unwrap(), None);

    // A new encrypted store made through the raw API opens with the typed one.
    let (_d2, path2) = store_dir();
    let made = RawStore::create_encrypted(&path2, "utf8", "msgpack", key()).unwrap();
    made.set(b"x", &msgpack(&page(3))).unwrap();
    let typed: Store<String, Page> = Store::options()
        .encryption(key())
        .open(&path2, Exists::Update)
        .unwrap();
    assert_eq!(typed.get("x").unwrap(), Some(page(3)));
}

#[cfg(all(feature = "cli", feature = "compression"))]
#[test]
fn the_dirkv_command_reads_compressed_stores_and_names_encrypted_ones() {
    use dirkv::{Exists, Store};
    use std::process::Command;
    let exe = env!("CARGO_BIN_EXE_dirkv");
    let (_d, path) = store_dir();
    let s: Store<String, Page> = Store::options()
        .compression(Some(16))
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    let big = Page {
        title: "compressible ".repeat(50),
        words: 5,
        body: vec![1; 10],
    };
    s.set("big", &big).unwrap();
    assert!(s.metadata("big").unwrap().unwrap().compressed);
    let out = Command::new(exe)
        .arg("get")
        .arg(&path)
        .arg("big")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let shown: Page = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown, big);
    let out = Command::new(exe).arg("verify").arg(&path).output().unwrap();
    assert!(out.status.success(), "{out:?}");

    #[cfg(feature = "encryption")]
    {
        let (_d2, enc) = store_dir();
        let s: Store<String, Page> = Store::options()
            .encryption(dirkv::EncryptionKey::from_bytes([3; 32]))
            .open(&enc, Exists::OpenOrCreate)
            .unwrap();
        s.set("k", &page(1)).unwrap();
        let out = Command::new(exe)
            .arg("get")
            .arg(&enc)
            .arg("k")
            .env_remove("DIRKV_KEY")
            .env_remove("DIRKV_PASSPHRASE")
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("encrypted"), "{err}");
    }
}
