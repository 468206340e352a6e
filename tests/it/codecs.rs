//! Value codecs: MessagePack (default), raw bytes, JSON (feature `json`), a user codec; the
//! codec is recorded in the manifest and a store opened with another one is refused.

use crate::common;

use common::{Page, page, store_dir};
use dirkv::{BoxError, Codec, ErrorKind, Exists, MsgPack, Raw, Store};

/// A user codec: `u64` as 8 little-endian bytes.
struct U64Le;

impl Codec<u64> for U64Le {
    fn name(&self) -> &str {
        "u64le"
    }
    fn encode(&self, v: &u64, out: &mut Vec<u8>) -> Result<(), BoxError> {
        out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn decode(&self, bytes: &[u8]) -> Result<u64, BoxError> {
        Ok(u64::from_le_bytes(bytes.try_into()?))
    }
}

fn manifest_codec(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path.join("DIRKV")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("codec = "))
        .unwrap()
        .to_owned()
}

fn assert_codec_mismatch(err: dirkv::Error, found: &str, wanted: &str) {
    assert_eq!(err.kind(), ErrorKind::IncompatibleFormat, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("`{found}`")) && text.contains(&format!("`{wanted}`")),
        "{text}"
    );
    assert!(err.path().is_some_and(|p| p.ends_with("DIRKV")));
}

#[test]
fn each_codec_round_trips_through_reopen_and_is_named_in_the_manifest() {
    let (_d, path) = store_dir();
    std::fs::create_dir(&path).unwrap();
    {
        let s: Store<String, Page> = Store::open(path.join("m"), Exists::OpenOrCreate).unwrap();
        s.set("a", &page(3)).unwrap();
    }
    let s: Store<String, Page> = Store::open(path.join("m"), Exists::Update).unwrap();
    assert_eq!(s.get("a").unwrap(), Some(page(3)));
    assert_eq!(manifest_codec(&path.join("m")), "msgpack");

    {
        let s: Store<String, Vec<u8>, Raw> = Store::options()
            .codec(Raw)
            .open(path.join("r"), Exists::OpenOrCreate)
            .unwrap();
        s.set("a", &b"raw bytes".to_vec()).unwrap();
        // Raw values are the file's last bytes, as they are.
        assert!(
            std::fs::read(s.path_of("a"))
                .unwrap()
                .ends_with(b"raw bytes")
        );
    }
    let s: Store<String, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .open(path.join("r"), Exists::Update)
        .unwrap();
    assert_eq!(s.get("a").unwrap(), Some(b"raw bytes".to_vec()));
    assert_eq!(manifest_codec(&path.join("r")), "raw");

    {
        let s: Store<String, u64, U64Le> = Store::options()
            .codec(U64Le)
            .open(path.join("u"), Exists::OpenOrCreate)
            .unwrap();
        s.set("a", &0x0102).unwrap();
        assert!(
            std::fs::read(s.path_of("a"))
                .unwrap()
                .ends_with(&[2, 1, 0, 0, 0, 0, 0, 0])
        );
    }
    let s: Store<String, u64, U64Le> = Store::options()
        .codec(U64Le)
        .open(path.join("u"), Exists::Update)
        .unwrap();
    assert_eq!(s.get("a").unwrap(), Some(0x0102));
    assert_eq!(manifest_codec(&path.join("u")), "u64le");
}

#[test]
fn opening_with_another_codec_is_a_clear_error_and_changes_nothing() {
    let (_d, path) = store_dir();
    let s: Store<String, Vec<u8>> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    s.set("k", &vec![1, 2, 3]).unwrap();
    drop(s);
    let before = std::fs::read(path.join("DIRKV")).unwrap();

    let err = Store::<String, Vec<u8>>::options()
        .codec(Raw)
        .open(&path, Exists::Update)
        .unwrap_err();
    assert_codec_mismatch(err, "msgpack", "raw");
    let err = Store::<String, u64>::options()
        .codec(U64Le)
        .open(&path, Exists::OpenOrCreate)
        .unwrap_err();
    assert_codec_mismatch(err, "msgpack", "u64le");
    // Read-only opens are checked too.
    let err = Store::<String, Vec<u8>>::options()
        .codec(Raw)
        .read_only(true)
        .open(&path, Exists::Update)
        .unwrap_err();
    assert_codec_mismatch(err, "msgpack", "raw");

    // The other way round.
    let (_d2, raw_path) = store_dir();
    Store::<String, Vec<u8>>::options()
        .codec(Raw)
        .open(&raw_path, Exists::OpenOrCreate)
        .unwrap();
    let err = Store::<String, Vec<u8>>::open(&raw_path, Exists::Update).unwrap_err();
    assert_codec_mismatch(err, "raw", "msgpack");

    assert_eq!(std::fs::read(path.join("DIRKV")).unwrap(), before);
    let s: Store<String, Vec<u8>, MsgPack> = Store::open(&path, Exists::Update).unwrap();
    assert_eq!(s.get("k").unwrap(), Some(vec![1, 2, 3]));
    // Replace may change the codec: the store starts empty with the new one.
    let s: Store<String, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .open(&path, Exists::Replace)
        .unwrap();
    assert!(s.is_empty().unwrap());
    assert_eq!(manifest_codec(&path), "raw");
}

#[cfg(feature = "json")]
#[test]
fn json_values_are_readable_with_cat_and_round_trip() {
    use dirkv::Json;
    let (_d, path) = store_dir();
    {
        let s: Store<String, Page, Json> = Store::options()
            .codec(Json)
            .open(&path, Exists::OpenOrCreate)
            .unwrap();
        s.set("home", &page(2)).unwrap();
        let bytes = std::fs::read(s.path_of("home")).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.ends_with(r#"home{"title":"page 2","words":2,"body":[2,2]}"#),
            "{text}"
        );
    }
    let s: Store<String, Page, Json> = Store::options()
        .codec(Json)
        .open(&path, Exists::Update)
        .unwrap();
    assert_eq!(s.get("home").unwrap(), Some(page(2)));
    assert_eq!(manifest_codec(&path), "json");
    drop(s);
    let err = Store::<String, Page>::open(&path, Exists::Update).unwrap_err();
    assert_codec_mismatch(err, "json", "msgpack");
    let (_d2, mp) = store_dir();
    Store::<String, Page>::open(&mp, Exists::OpenOrCreate).unwrap();
    let err = Store::<String, Page>::options()
        .codec(Json)
        .open(&mp, Exists::Update)
        .unwrap_err();
    assert_codec_mismatch(err, "msgpack", "json");
    // A JSON file damaged by hand (checksum fixed) is a Decode error, not a panic.
    let (_d3, p3) = store_dir();
    let s: Store<String, Page, Json> = Store::options()
        .codec(Json)
        .open(&p3, Exists::OpenOrCreate)
        .unwrap();
    s.set("x", &page(1)).unwrap();
    let file = s.path_of("x");
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] = b'!';
    common::fix_checksum(&mut bytes);
    std::fs::write(&file, &bytes).unwrap();
    assert_eq!(s.get("x").unwrap_err().kind(), ErrorKind::Decode);
}
