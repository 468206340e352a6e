//! Per-entry compression. With the `compression` feature: round trips, mixed stores,
//! thresholds. Without it: a compressed entry is a clear error, never garbage.

use crate::common;

use common::store_dir;
use dirkv::{ErrorKind, Exists, Raw, Store};

#[cfg(feature = "compression")]
mod with_feature {
    use super::*;

    /// A few KB of realistic JSON text.
    fn json_text(n: usize) -> Vec<u8> {
        let mut s = String::from("[");
        for i in 0..n {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!(
                r#"{{"id":{i},"user":"user{}","email":"user{}@example.com","active":{},"tags":["alpha","beta"],"note":"The quick brown fox jumps over the lazy dog."}}"#,
                i % 17,
                i % 17,
                i % 2 == 0
            ));
        }
        s.push(']');
        s.into_bytes()
    }

    type S = Store<String, Vec<u8>, Raw>;

    fn open(path: &std::path::Path, min: Option<usize>) -> S {
        Store::options()
            .codec(Raw)
            .compression(min)
            .open(path, Exists::OpenOrCreate)
            .unwrap()
    }

    #[test]
    fn large_values_are_compressed_small_ones_not_and_both_round_trip_through_reopen() {
        let (_d, path) = store_dir();
        let text = json_text(30);
        {
            let s = open(&path, Some(512));
            s.set("big", &text).unwrap();
            s.set("small", &b"tiny value, stays plain".to_vec())
                .unwrap();
            let big = s.metadata("big").unwrap().unwrap();
            assert!(big.compressed);
            assert!(
                big.file_len < text.len() as u64 / 2,
                "{} of {}",
                big.file_len,
                text.len()
            );
            assert!(!s.metadata("small").unwrap().unwrap().compressed);
            // The flag is bit 0 of the header's flags byte.
            assert_eq!(std::fs::read(s.path_of("big")).unwrap()[5], 0x01);
            assert_eq!(std::fs::read(s.path_of("small")).unwrap()[5], 0x00);
        }
        let s = open(&path, Some(512));
        assert_eq!(s.get("big").unwrap(), Some(text.clone()));
        assert_eq!(
            s.get("small").unwrap(),
            Some(b"tiny value, stays plain".to_vec())
        );
        let mut all: Vec<(String, Vec<u8>)> = s.iter().map(|kv| kv.unwrap()).collect();
        all.sort();
        assert_eq!(all[0], ("big".to_string(), text));
        assert_eq!(s.keys().count(), 2);
    }

    #[test]
    fn stores_mix_compressed_and_plain_entries_whatever_the_option_says() {
        let (_d, path) = store_dir();
        let text = json_text(20);
        open(&path, None).set("plain", &text).unwrap();
        open(&path, Some(0)).set("packed", &text).unwrap();
        // Reading never depends on the option.
        for min in [None, Some(0), Some(1 << 20)] {
            let s = open(&path, min);
            assert_eq!(s.get("plain").unwrap().as_ref(), Some(&text));
            assert_eq!(s.get("packed").unwrap().as_ref(), Some(&text));
            assert!(!s.metadata("plain").unwrap().unwrap().compressed);
            assert!(s.metadata("packed").unwrap().unwrap().compressed);
        }
        // update keeps working across the two kinds.
        let s = open(&path, Some(64));
        s.update("plain", |v| {
            v.map(|mut v| {
                v.extend_from_slice(b" ");
                v
            })
        })
        .unwrap();
        assert!(s.metadata("plain").unwrap().unwrap().compressed);
        assert_eq!(
            s.get("plain").unwrap().map(|v| v.len()),
            Some(text.len() + 1)
        );
    }

    #[test]
    fn values_that_do_not_shrink_are_stored_plain() {
        let (_d, path) = store_dir();
        let s = open(&path, Some(16));
        let noise = common::noise(0x1234_5678_9abc_def0, 4096);
        s.set("noise", &noise).unwrap();
        assert!(!s.metadata("noise").unwrap().unwrap().compressed);
        assert_eq!(s.get("noise").unwrap(), Some(noise));
    }

    #[test]
    fn a_damaged_compressed_value_with_a_valid_checksum_is_corrupt() {
        let (_d, path) = store_dir();
        let s = open(&path, Some(0));
        let text = json_text(10);
        s.set("k", &text).unwrap();
        let file = s.path_of("k");
        let good = std::fs::read(&file).unwrap();
        // Damage the LZ4 block and the length prefix, fixing the checksum each time.
        let value_at = 48 + 1;
        for (at, byte) in [
            (value_at, 0xff),
            (value_at + 3, 0x7f),
            (good.len() - 1, 0xee),
        ] {
            let mut bad = good.clone();
            bad[at] ^= byte;
            common::fix_checksum(&mut bad);
            std::fs::write(&file, &bad).unwrap();
            match s.get("k") {
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
                    assert_eq!(e.path(), Some(file.as_path()));
                }
                // A change inside a literal run still decompresses: to other bytes.
                Ok(v) => assert_ne!(v, Some(text.clone()), "byte {at}"),
            }
        }
    }
}

#[cfg(not(feature = "compression"))]
#[test]
fn a_build_without_the_feature_refuses_compressed_entries_clearly() {
    use crate::common::entry;
    let (_d, path) = store_dir();
    let s: Store<String, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    s.set("k", &b"placeholder".to_vec()).unwrap();
    // Write by hand what a build with the feature writes: the LZ4 block of an
    // incompressible-looking literal run ("hello"), after its length, with flag bit 0.
    let mut value = 5u32.to_le_bytes().to_vec();
    value.extend_from_slice(&[0x50, b'h', b'e', b'l', b'l', b'o']);
    let mut bytes = Vec::new();
    entry::begin(&mut bytes, b"k");
    bytes.extend_from_slice(&value);
    entry::finish(
        &mut bytes,
        1,
        &entry::Meta {
            flags: entry::FLAG_COMPRESSED,
            ..entry::Meta::default()
        },
    );
    let file = s.path_of("k");
    std::fs::write(&file, &bytes).unwrap();
    let err = s.get("k").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IncompatibleFormat, "{err}");
    assert_eq!(err.path(), Some(file.as_path()));
    assert!(err.to_string().contains("compress"), "{err}");
    // Listing keys still works (the key is not compressed); values report the error.
    assert_eq!(s.keys().map(|k| k.unwrap()).collect::<Vec<_>>(), vec!["k"]);
    assert!(s.iter().next().unwrap().is_err());
    assert!(s.contains_key("k").unwrap());
    // It can be overwritten or removed.
    assert!(s.remove("k").unwrap());
}
