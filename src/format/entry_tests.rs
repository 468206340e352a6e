//! Tests of the entry format.

use super::*;

fn build(key: &[u8], value: &[u8], meta: Meta) -> Vec<u8> {
    let mut out = Vec::new();
    begin(&mut out, key);
    out.extend_from_slice(value);
    finish(&mut out, key.len(), &meta);
    out
}

#[test]
fn round_trip() {
    let meta = Meta {
        flags: 0,
        created_ms: 1,
        modified_ms: 2,
        expires_ms: 3,
    };
    let f = build(b"key", b"value", meta);
    assert_eq!(&f[0..4], b"DKVE");
    assert_eq!(f.len(), HEADER_LEN + 8);
    let e = decode(&f).unwrap();
    assert_eq!(e.key, b"key");
    assert_eq!(e.value, b"value");
    assert_eq!(e.header.meta, meta);
    assert!(e.header.expired_at(3) && !e.header.expired_at(2));
    let (h, k) = key_of(&f[..HEADER_LEN + 3]).unwrap().unwrap();
    assert_eq!((h, k), (e.header, &b"key"[..]));
    assert_eq!(key_of(&f[..HEADER_LEN + 2]).unwrap(), None);
}

#[test]
fn checksum_is_standard_crc32_of_the_file_without_its_field() {
    let f = build(b"k", b"v", Meta::default());
    let mut rest = f[0..8].to_vec();
    rest.extend_from_slice(&f[12..]);
    assert_eq!(u32_at(&f, 8), crc32fast::hash(&rest));
}

#[test]
fn every_truncation_and_every_bit_flip_is_detected() {
    let f = build(
        b"some key",
        b"some value bytes",
        Meta {
            modified_ms: 77,
            ..Meta::default()
        },
    );
    for n in 0..f.len() {
        assert!(decode(&f[..n]).is_err(), "truncated to {n}");
    }
    for i in 0..f.len() {
        for bit in 0..8 {
            let mut g = f.clone();
            g[i] ^= 1 << bit;
            assert!(decode(&g).is_err(), "flip byte {i} bit {bit}");
        }
    }
    let mut longer = f.clone();
    longer.push(0);
    assert!(matches!(decode(&longer), Err(Damage::Length { .. })));
}

#[test]
fn newer_versions_and_flags_are_reported_as_such() {
    let mut f = build(b"k", b"v", Meta::default());
    f[4] = 2;
    assert_eq!(decode(&f), Err(Damage::Version(2)));
    assert!(Damage::Version(2).is_newer_format());
    let mut f = build(b"k", b"v", Meta::default());
    f[5] = 0x80;
    assert_eq!(decode(&f), Err(Damage::UnknownFlags(0x80)));
    assert_eq!(
        decode(b"PK\x03\x04 zip file, not ours..........................................."),
        Err(Damage::BadMagic)
    );
    assert_eq!(decode(b""), Err(Damage::Empty));
    assert_eq!(decode(b"DKV"), Err(Damage::ShortHeader(3)));
    // Five to seven bytes that start with the magic are a short file, not a foreign one.
    for n in 5..8 {
        assert_eq!(decode(&f[..n]), Err(Damage::ShortHeader(n)), "{n} bytes");
    }
    assert_eq!(decode(b"DKVX1"), Err(Damage::BadMagic));
}

#[test]
fn absurd_lengths_do_not_panic() {
    let mut f = build(b"k", b"v", Meta::default());
    f[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    f[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(decode(&f).is_err());
    assert!(key_of(&f).is_err() || key_of(&f).unwrap().is_none());
}
