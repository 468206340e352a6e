//! The streaming transcoder against the tree path it replaced (`rmpv` then `serde_json`):
//! the same JSON for every kind of value, the same refusals, the same nesting limit, and no
//! memory per item.

use super::*;
use crate::convert::decode_msgpack;
use rmpv::Value as Mp;

/// The JSON the tree path (`rmpv` then `serde_json`) gives, compact and pretty.
fn by_tree(bytes: &[u8]) -> Result<(String, String), String> {
    let json = decode_msgpack(bytes)?;
    Ok((
        serde_json::to_string(&json).unwrap(),
        serde_json::to_string_pretty(&json).unwrap(),
    ))
}

fn streamed(bytes: &[u8]) -> Result<(String, String), String> {
    let plan = check(bytes)?;
    let mut compact = Vec::new();
    plan.write(&mut compact, false).unwrap();
    let mut pretty = Vec::new();
    plan.write(&mut pretty, true).unwrap();
    Ok((
        String::from_utf8(compact).unwrap(),
        String::from_utf8(pretty).unwrap(),
    ))
}

fn encode(v: &Mp) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, v).unwrap();
    out
}

fn same(bytes: &[u8]) {
    assert_eq!(streamed(bytes), by_tree(bytes), "{bytes:02x?}");
}

#[test]
fn writes_what_the_tree_wrote() {
    let s = |t: &str| Mp::from(t);
    let values = vec![
        Mp::Nil,
        Mp::Boolean(true),
        Mp::from(0),
        Mp::from(-1),
        Mp::from(u64::MAX),
        Mp::from(i64::MIN),
        Mp::F32(0.1),
        Mp::F32(f32::NAN),
        Mp::F64(f64::INFINITY),
        Mp::F64(f64::NEG_INFINITY),
        Mp::F64(-0.0),
        Mp::F64(1e300),
        s("größe \u{1f600} \"quoted\"\n\t\u{1}"),
        Mp::Binary(vec![]),
        Mp::Binary((0..=255).collect()),
        Mp::Ext(-3, vec![1, 2, 3]),
        Mp::Ext(5, vec![9; 16]),
        Mp::Ext(7, vec![9; 300]),
        Mp::Array(vec![]),
        Mp::Map(vec![]),
        Mp::Array(vec![Mp::Array(vec![]), Mp::Map(vec![]), Mp::Nil]),
        Mp::Map(vec![
            (s("z"), Mp::from(1)),
            (s("a"), Mp::Array(vec![s("x")])),
        ]),
        // Duplicate keys, non-string keys, a lone `$` key, `$` among others.
        Mp::Map(vec![(s("a"), Mp::from(1)), (s("a"), Mp::from(2))]),
        Mp::Map(vec![(Mp::from(1), s("one")), (Mp::from(2), s("two"))]),
        Mp::Map(vec![(s("a"), Mp::from(1)), (Mp::Nil, Mp::from(2))]),
        Mp::Map(vec![(s("$bytes"), s("not bytes"))]),
        Mp::Map(vec![(s("$a"), Mp::Nil), (s("b"), Mp::Nil)]),
        Mp::Map(vec![(Mp::Map(vec![(s("k"), Mp::Nil)]), Mp::Map(vec![]))]),
        Mp::Array(vec![Mp::Map(vec![(
            s("$x"),
            Mp::Map(vec![(s("$y"), Mp::Nil)]),
        )])]),
    ];
    for v in &values {
        same(&encode(v));
    }
    // Every width of integer marker, as rmp-serde or other writers may use them.
    let mut wide = Vec::new();
    rmp::encode::write_array_len(&mut wide, 8).unwrap();
    rmp::encode::write_u8(&mut wide, 200).unwrap();
    rmp::encode::write_u16(&mut wide, 1).unwrap();
    rmp::encode::write_u32(&mut wide, 70_000).unwrap();
    rmp::encode::write_u64(&mut wide, 5).unwrap();
    rmp::encode::write_i8(&mut wide, 5).unwrap();
    rmp::encode::write_i16(&mut wide, -300).unwrap();
    rmp::encode::write_i32(&mut wide, -1).unwrap();
    rmp::encode::write_i64(&mut wide, i64::MIN + 1).unwrap();
    same(&wide);
    // Str8/16/32 and Map16/Array16 forms.
    let long = "x".repeat(70_000);
    same(&encode(&Mp::Array(vec![s(&long); 20])));
    let pairs: Vec<(Mp, Mp)> = (0..300)
        .map(|i| (s(&format!("k{i}")), Mp::from(i)))
        .collect();
    same(&encode(&Mp::Map(pairs)));
}

#[test]
fn random_values_match_the_tree() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    fn arbitrary(next: &mut dyn FnMut() -> u64, depth: u32) -> Mp {
        let keys = ["a", "b", "$c", "", "dé"];
        match next() % if depth > 4 { 6 } else { 9 } {
            0 => Mp::Nil,
            1 => Mp::from(next() as i64 >> (next() % 64)),
            2 => Mp::F64(f64::from_bits(next())),
            3 => Mp::from(keys[(next() % 5) as usize]),
            4 => Mp::Binary(vec![next() as u8; (next() % 4) as usize]),
            5 => Mp::F32(f32::from_bits(next() as u32)),
            6 => Mp::Array(
                (0..next() % 4)
                    .map(|_| arbitrary(next, depth + 1))
                    .collect(),
            ),
            _ => Mp::Map(
                (0..next() % 4)
                    .map(|_| {
                        let k = if next().is_multiple_of(4) {
                            arbitrary(next, depth + 1)
                        } else {
                            Mp::from(keys[(next() % 5) as usize])
                        };
                        (k, arbitrary(next, depth + 1))
                    })
                    .collect(),
            ),
        }
    }
    for _ in 0..2000 {
        let v = arbitrary(&mut next, 0);
        same(&encode(&v));
    }
}

#[test]
fn bad_values_fail_before_anything_is_written() {
    for bad in [
        &[][..],
        &[0xc1],
        &[0x01, 0x02],
        &[0x92, 0x01],
        &[0xa3, b'a'],
        &[0xa2, 0xff, 0xfe],
        &[0x81, 0xa1, 0xff, 0xc0],
        &[0xdd, 0xff, 0xff, 0xff, 0xff],
        &[0xdf, 0x7f, 0xff, 0xff, 0xff, 0xc0],
        &[0xc6, 0xff, 0xff, 0xff, 0xff, 0x00],
        &[0xc9, 0x00, 0x00, 0x00, 0x05, 0x01],
    ] {
        assert!(check(bad).is_err(), "{bad:02x?}");
        // (rmpv read the reserved byte 0xc1 as nil; the library's check refuses it.)
        assert!(by_tree(bad).is_err() || bad == [0xc1], "{bad:02x?}");
    }
    let err = check(&[0xa2, 0xff, 0xfe]).err().unwrap();
    assert!(err.contains("not UTF-8"), "{err}");
    assert!(
        check(&[0x01, 0x02])
            .err()
            .unwrap()
            .contains("1 bytes follow")
    );
}

#[test]
fn nesting_is_limited_as_before() {
    let nested = |depth: usize| {
        let mut v = vec![0x91u8; depth];
        v.push(0xc0);
        v
    };
    // The tree path recurses: give it room (the streaming path does not).
    let deep = nested(511);
    let tree = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || by_tree(&nested(511)))
        .unwrap()
        .join()
        .unwrap();
    assert!(tree.is_ok());
    assert_eq!(streamed(&deep), tree);
    assert!(check(&nested(MAX_DEPTH)).is_ok());
    assert!(check(&nested(MAX_DEPTH + 1)).is_err());
    assert!(
        check(&nested(100_000))
            .err()
            .unwrap()
            .contains("deeper than")
    );
}

#[test]
fn a_bomb_of_nils_takes_no_tree() {
    // 2^22 nils: a tree takes well over 100 MB; the plan takes no memory per item.
    let n = 1u32 << 22;
    let mut bytes = vec![0xdd];
    bytes.extend_from_slice(&n.to_be_bytes());
    bytes.resize(5 + n as usize, 0xc0);
    let plan = check(&bytes).unwrap();
    assert!(plan.plain_maps.is_empty());
    let mut out = Vec::new();
    plan.write(&mut out, false).unwrap();
    assert_eq!(out.len(), 2 + 5 * n as usize - 1);
}
