//! The CI-sized fuzzing: random bytes and mutations of valid entry files and manifests fed
//! to the entry decoder, the manifest parser and a store's reads. Never a panic; every
//! `Ok` decode re-encodes to the same thing. The open-ended fuzzing with libFuzzer is in
//! `fuzz/` (see the README there).

use crate::common::entry::{self, Damage, Meta};
use crate::common::layout::Manifest;
use dirkv::{ErrorKind, Exists, Raw, Store};
use proptest::prelude::*;

fn build(key: &[u8], value: &[u8], meta: &Meta) -> Vec<u8> {
    let mut out = Vec::new();
    entry::begin(&mut out, key);
    out.extend_from_slice(value);
    entry::finish(&mut out, key.len(), meta);
    out
}

fn meta() -> impl Strategy<Value = Meta> {
    (
        0u8..4,
        any::<u64>(),
        any::<u64>(),
        prop_oneof![Just(0u64), any::<u64>()],
    )
        .prop_map(|(flags, created_ms, modified_ms, expires_ms)| Meta {
            flags,
            created_ms,
            modified_ms,
            expires_ms,
        })
}

fn valid_entry() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::collection::vec(any::<u8>(), 0..300),
        meta(),
    )
        .prop_map(|(k, v, m)| build(&k, &v, &m))
}

/// One change to a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    Remove(usize),
    /// Writes a little-endian number over a length or time field.
    Field(usize, u64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let pos = any::<usize>();
    prop_oneof![
        (pos, 0u8..8).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (pos, any::<u8>()).prop_map(|(p, b)| Mutation::Set(p, b)),
        pos.prop_map(Mutation::Truncate),
        (pos, any::<u8>()).prop_map(|(p, b)| Mutation::Insert(p, b)),
        pos.prop_map(Mutation::Remove),
        (
            prop_oneof![Just(6usize), Just(8), Just(12), Just(16), Just(40)],
            prop_oneof![
                Just(0u64),
                Just(1),
                Just(47),
                Just(48),
                Just(u64::from(u32::MAX)),
                Just(u64::MAX),
                any::<u64>()
            ]
        )
            .prop_map(|(p, v)| Mutation::Field(p, v)),
    ]
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match *m {
        Mutation::Flip(p, b) if len > 0 => bytes[p % len] ^= 1 << b,
        Mutation::Set(p, v) if len > 0 => bytes[p % len] = v,
        Mutation::Truncate(p) => bytes.truncate(p % (len + 1)),
        Mutation::Insert(p, v) => bytes.insert(p % (len + 1), v),
        Mutation::Remove(p) if len > 0 => {
            bytes.remove(p % len);
        }
        Mutation::Field(p, v) => {
            for (i, b) in v.to_le_bytes().iter().enumerate() {
                if let Some(slot) = bytes.get_mut(p + i) {
                    *slot = *b;
                }
            }
        }
        _ => {}
    }
}

/// Feeds `bytes` to every entry decoding function; checks what an `Ok` promises.
fn check_entry(bytes: &[u8]) {
    let header = entry::parse_header(bytes);
    if let Err(d) = &header {
        let _ = d.to_string();
        let _ = d.is_newer_format();
    }
    let prefix = entry::key_of(bytes);
    match entry::decode(bytes) {
        Ok(e) => {
            // The header read alone agrees, and so does the key read from a prefix.
            assert_eq!(header, Ok(e.header));
            assert_eq!(prefix, Ok(Some((e.header, e.key))));
            assert_eq!(e.header.total_len(), bytes.len() as u64);
            // Re-encoding gives the same entry; byte for byte when the header has the
            // length this version writes (a longer header is allowed for extensions).
            let again = build(e.key, e.value, &e.header.meta);
            if e.header.header_len == entry::HEADER_LEN {
                assert_eq!(again, bytes);
            }
            let e2 = entry::decode(&again).expect("a re-encoded entry decodes");
            assert_eq!(
                (e2.key, e2.value, e2.header.meta),
                (e.key, e.value, e.header.meta)
            );
        }
        Err(d) => {
            let _ = d.to_string();
            if let Damage::Length { expected, actual } = d {
                assert_ne!(expected, actual);
            }
        }
    }
}

/// Feeds `bytes` to the manifest parser; an `Ok` must render and parse back to itself.
fn check_manifest(bytes: &[u8]) {
    match Manifest::parse(bytes) {
        Ok(m) => {
            let text = m.render();
            assert_eq!(Manifest::parse(text.as_bytes()), Ok(m.clone()), "{text}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fn manifest_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("format = 1".to_owned()),
        Just("format = 2".to_owned()),
        Just("key = utf8".to_owned()),
        Just("codec = msgpack".to_owned()),
        Just("shard_depth = 1".to_owned()),
        Just("# comment".to_owned()),
        Just(String::new()),
        "[a-z_-]{1,8} ?= ?[ -~]{0,12}",
        "[ -~]{0,20}",
    ];
    proptest::collection::vec(line, 0..8).prop_map(|l| l.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_the_entry_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        check_entry(&bytes);
        // With a valid magic and version in front, the parser gets further.
        let mut framed = b"DKVE\x01\x00\x30\x00".to_vec();
        framed.extend_from_slice(&bytes);
        check_entry(&framed);
    }

    #[test]
    fn mutated_entries_never_panic_and_ok_means_consistent(
        bytes in valid_entry(),
        mutations in proptest::collection::vec(mutation(), 0..4),
    ) {
        let mut b = bytes.clone();
        for m in &mutations {
            mutate(&mut b, m);
        }
        check_entry(&b);
        if b != bytes {
            // A changed file is never accepted as the original entry with another content.
            if let (Ok(orig), Ok(now)) = (entry::decode(&bytes), entry::decode(&b)) {
                prop_assert!(orig.value != now.value || orig.key != now.key || orig.header != now.header);
            }
        }
    }

    #[test]
    fn random_and_mutated_manifests_never_panic_the_parser(
        text in manifest_text(),
        raw in proptest::collection::vec(any::<u8>(), 0..120),
        mutations in proptest::collection::vec(mutation(), 0..3),
    ) {
        check_manifest(text.as_bytes());
        check_manifest(&raw);
        let mut valid = Manifest::new("utf8", "msgpack").render().into_bytes();
        for m in &mutations {
            mutate(&mut valid, m);
        }
        check_manifest(&valid);
    }
}

/// The same through a store: a damaged file under a key's name is `Corrupt` (or
/// `IncompatibleFormat` for a newer version or flag), never a wrong value. One store for
/// all cases (creating a store per case would cost more than the checks).
#[test]
fn damaged_entry_files_read_as_errors_never_as_wrong_values() {
    use proptest::test_runner::{Config, TestRunner};
    let dir = tempfile::tempdir().unwrap();
    let store: Store<String, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .durability(dirkv::Durability::Fast)
        .open(dir.path().join("s"), Exists::OpenOrCreate)
        .unwrap();
    let path = store.path_of("k");
    let mut runner = TestRunner::new(Config {
        cases: 600,
        ..Config::default()
    });
    let strategy = (
        proptest::collection::vec(any::<u8>(), 0..100),
        proptest::collection::vec(mutation(), 1..4),
        proptest::collection::vec(any::<u8>(), 0..100),
    );
    runner
        .run(&strategy, |(value, mutations, raw)| {
            store.set("k", &value).unwrap();
            let good = std::fs::read(&path).unwrap();
            let mut bad = good.clone();
            for m in &mutations {
                mutate(&mut bad, m);
            }
            for bytes in [&bad, &raw] {
                std::fs::write(&path, bytes).unwrap();
                let decoded = entry::decode(bytes).ok().filter(|e| e.key == b"k");
                match store.get("k") {
                    Ok(Some(v)) => {
                        let e = decoded.expect("a value only comes from a valid entry of this key");
                        prop_assert_eq!(v.as_slice(), e.value);
                    }
                    Ok(None) => {
                        prop_assert!(decoded.is_some_and(|e| e.header.meta.expires_ms != 0))
                    }
                    Err(err) => {
                        prop_assert!(
                            matches!(
                                err.kind(),
                                ErrorKind::Corrupt | ErrorKind::IncompatibleFormat
                            ),
                            "{}",
                            err
                        );
                        prop_assert_eq!(err.path(), Some(path.as_path()));
                    }
                }
                let _ = store.contains_key("k");
                if value.len() % 4 == 0 {
                    // A listing reads all 256 shard folders: one case in four.
                    for item in store.iter() {
                        let _ = item;
                    }
                }
            }
            Ok(())
        })
        .unwrap();
}
