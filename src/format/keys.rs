//! The one table of key encodings: how each key type of the crate turns into the bytes that
//! are hashed to a file name, under which manifest name, and how to tell whether bytes are
//! a valid key of an encoding. Pure functions, no I/O.
//!
//! | manifest `key =` | key types | key bytes |
//! | --- | --- | --- |
//! | `utf8` | `str`, `String` | the UTF-8 bytes |
//! | `bytes` | `[u8]`, `Vec<u8>` | the bytes |
//! | `u8` .. `u128`, `i8` .. `i128`, `usize`, `isize` | that integer type | decimal text, e.g. `-42` |
//! | `msgpack` | `SerdeKey<T>` | MessagePack of `T`, structs as maps |
//!
//! So `printf %s KEY | sha256sum` names the file of a string or integer key.

use std::fmt::Display;
use std::str::FromStr;

/// The integer key encodings, named as their Rust types.
pub const INTEGER_ENCODINGS: [&str; 12] = [
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
];

/// Parses the canonical decimal text of an integer key: `7`, never `07`, `+7` or ` 7`.
///
/// # Errors
///
/// A message saying why the bytes are not such a key.
pub fn parse_decimal<T: FromStr + Display>(bytes: &[u8]) -> Result<T, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "key is not decimal text".to_owned())?;
    let n: T = text
        .parse()
        .map_err(|_| format!("key {text:?} is not a decimal number in range"))?;
    if n.to_string() != text {
        return Err(format!("key {text:?} is not in canonical decimal form"));
    }
    Ok(n)
}

/// What is wrong with `key` as a key of `encoding`, if anything: UTF-8 for `utf8`,
/// canonical decimal in range for the integer encodings, one complete MessagePack value for
/// `msgpack`. Any bytes pass for `bytes` and for encodings this build does not know.
pub fn key_problem(encoding: &str, key: &[u8]) -> Option<String> {
    macro_rules! ints {
        ($($t:ident)*) => {
            match encoding {
                "utf8" => std::str::from_utf8(key).err().map(|_| "key is not UTF-8 text".to_owned()),
                "msgpack" => msgpack_problem(key).map(|m| format!("key {m}")),
                $(stringify!($t) => parse_decimal::<$t>(key).err().map(|m| format!("{m} for {}", stringify!($t))),)*
                _ => None,
            }
        };
    }
    ints!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize)
}

/// What is wrong with `value` for `codec`, if anything: one complete MessagePack value for
/// `msgpack`, JSON text for `json`; any bytes for `raw` and codecs this build does not know.
pub fn value_problem(codec: &str, value: &[u8]) -> Option<String> {
    match codec {
        "msgpack" => msgpack_problem(value).map(|m| format!("value {m}")),
        "json" if std::str::from_utf8(value).is_err() => {
            Some("value is not UTF-8 JSON text".to_owned())
        }
        _ => None,
    }
}

/// How deep arrays and maps may nest in a value that is checked (rmp-serde's own limit when
/// it decodes).
const MAX_DEPTH: usize = 1024;

/// Whether `bytes` is exactly one complete MessagePack value (nested at most
/// [`MAX_DEPTH`] deep). Walks the markers with a counter per open array or map, never
/// recursing, so a crafted value nested a million deep costs a bounded stack.
fn msgpack_problem(bytes: &[u8]) -> Option<String> {
    match skip_msgpack(bytes) {
        Err(why) => Some(format!("is not valid MessagePack ({why})")),
        Ok(end) if end != bytes.len() => Some(format!(
            "is not one MessagePack value ({} bytes follow it)",
            bytes.len() - end
        )),
        Ok(_) => None,
    }
}

/// The length of the one MessagePack value at the start of `bytes`.
fn skip_msgpack(bytes: &[u8]) -> Result<usize, String> {
    let mut at = 0usize;
    // Values still to read in each open array or map, innermost last.
    let mut open: Vec<u64> = Vec::new();
    let mut pending: u64 = 1;
    let take = |at: &mut usize, n: usize| -> Result<u64, String> {
        let end = at.checked_add(n).filter(|&e| e <= bytes.len());
        let Some(end) = end else {
            return Err("unexpected end of the value".into());
        };
        let v = bytes[*at..end]
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        *at = end;
        Ok(v)
    };
    loop {
        while pending == 0 {
            match open.pop() {
                Some(rest) => pending = rest,
                None => return Ok(at),
            }
        }
        pending -= 1;
        let marker = take(&mut at, 1)? as u8;
        // (bytes of payload to skip, values it holds)
        let (skip, holds) = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (0, 2 * u64::from(marker & 0x0f)),
            0x90..=0x9f => (0, u64::from(marker & 0x0f)),
            0xa0..=0xbf => (u64::from(marker & 0x1f), 0),
            0xc4 | 0xd9 => (take(&mut at, 1)?, 0),
            0xc5 | 0xda => (take(&mut at, 2)?, 0),
            0xc6 | 0xdb => (take(&mut at, 4)?, 0),
            0xc7 => (take(&mut at, 1)? + 1, 0),
            0xc8 => (take(&mut at, 2)? + 1, 0),
            0xc9 => (take(&mut at, 4)? + 1, 0),
            0xca => (4, 0),
            0xcb => (8, 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xce | 0xd2 => (4, 0),
            0xcf | 0xd3 => (8, 0),
            0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xd6 => (5, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xdc => (0, take(&mut at, 2)?),
            0xdd => (0, take(&mut at, 4)?),
            0xde => (0, 2 * take(&mut at, 2)?),
            0xdf => (0, 2 * take(&mut at, 4)?),
            0xc1 => return Err("the reserved marker 0xc1".into()),
        };
        let skip = usize::try_from(skip).map_err(|_| "a length past memory".to_string())?;
        take_skip(bytes, &mut at, skip)?;
        if holds > 0 {
            if open.len() >= MAX_DEPTH {
                return Err(format!("nested deeper than {MAX_DEPTH}"));
            }
            open.push(pending);
            pending = holds;
        }
    }
}

/// Moves `at` past `n` bytes of `bytes`.
fn take_skip(bytes: &[u8], at: &mut usize, n: usize) -> Result<(), String> {
    match at.checked_add(n).filter(|&e| e <= bytes.len()) {
        Some(end) => {
            *at = end;
            Ok(())
        }
        None => Err("unexpected end of the value".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What rmp-serde itself says of `bytes`: one complete value, or not.
    fn rmp_accepts(bytes: &[u8]) -> bool {
        use serde::Deserialize;
        let mut de = rmp_serde::Deserializer::new(std::io::Cursor::new(bytes));
        serde::de::IgnoredAny::deserialize(&mut de).is_ok() && de.position() == bytes.len() as u64
    }

    #[test]
    fn the_msgpack_check_agrees_with_rmp_serde() {
        #[derive(serde::Serialize)]
        struct S {
            a: Vec<Option<u32>>,
            b: std::collections::BTreeMap<String, (i64, f64, bool)>,
            c: String,
        }
        let value = S {
            a: vec![Some(1), None, Some(u32::MAX)],
            b: [("x".to_string(), (-5_000_000_000, 1.5, true))].into(),
            c: "é".repeat(150),
        };
        let good = rmp_serde::to_vec_named(&value).unwrap();
        assert!(rmp_accepts(&good) && msgpack_problem(&good).is_none());
        // Every cut of it, every byte flipped: both checks say the same.
        for cut in 0..good.len() {
            assert_eq!(
                msgpack_problem(&good[..cut]).is_none(),
                rmp_accepts(&good[..cut]),
                "cut {cut}"
            );
        }
        for i in 0..good.len() {
            for flip in [0x01u8, 0x10, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] ^= flip;
                assert_eq!(
                    msgpack_problem(&bad).is_none(),
                    rmp_accepts(&bad),
                    "byte {i} ^ {flip:#x}"
                );
            }
        }
        for other in [
            &[0xc4, 3, 1, 2, 3][..],
            &[0xc5, 0, 1, 7],
            &[0xd4, 1, 9],
            &[0xc7, 2, 5, 1, 2],
            &[
                0xd8, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
            ],
            &[0xa2, 0xff, 0xfe],
            &[0xc1],
            &[0x82, 0x01, 0xc0],
        ] {
            assert_eq!(
                msgpack_problem(other).is_none(),
                rmp_accepts(other),
                "{other:x?}"
            );
        }
        let mut more = good.clone();
        more.push(0xc0);
        assert!(msgpack_problem(&more).unwrap().contains("1 bytes follow"));
        // Nesting: deep is fine up to the limit, a million deep is an error, not a crash.
        let deep = |n: usize| [vec![0x91u8; n], vec![0xc0]].concat();
        assert!(msgpack_problem(&deep(1000)).is_none());
        assert!(msgpack_problem(&vec![0x91u8; 1 << 20]).is_some());
        assert!(msgpack_problem(&deep(1 << 20)).unwrap().contains("deeper"));
    }

    #[test]
    fn keys_are_checked_per_encoding() {
        assert_eq!(key_problem("utf8", "héllo".as_bytes()), None);
        assert!(key_problem("utf8", &[0xff]).is_some());
        assert_eq!(key_problem("u8", b"255"), None);
        assert!(key_problem("u8", b"256").is_some());
        assert!(key_problem("u64", b"007").is_some());
        assert_eq!(key_problem("i64", b"-7"), None);
        assert_eq!(key_problem("bytes", &[0xff, 0]), None);
        assert_eq!(key_problem("msgpack", &[0x81, 0xa1, b'x', 0x01]), None);
        assert!(key_problem("msgpack", &[0x81, 0xa1, b'x']).is_some());
        assert!(key_problem("msgpack", &[0x01, 0x02]).is_some());
        assert_eq!(key_problem("some-future-encoding", &[0xff]), None);
        for name in INTEGER_ENCODINGS {
            assert_eq!(key_problem(name, b"1"), None, "{name}");
            assert!(key_problem(name, b"01").is_some(), "{name}");
        }
    }

    #[test]
    fn decimal_keys_are_canonical() {
        assert_eq!(parse_decimal::<u64>(b"42"), Ok(42));
        assert_eq!(parse_decimal::<i8>(b"-128"), Ok(-128));
        for bad in [&b"042"[..], b"+1", b"", b"1.0", b"256", b" 1", b"\xff"] {
            assert!(parse_decimal::<u8>(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn values_are_checked_per_codec() {
        assert_eq!(value_problem("msgpack", &[0xa1, b'a']), None);
        assert!(value_problem("msgpack", &[]).is_some());
        assert!(value_problem("msgpack", &[0xc1]).is_some());
        assert!(value_problem("msgpack", &[0xdb, 0xff, 0xff, 0xff, 0xff]).is_some());
        assert_eq!(value_problem("raw", &[0xc1]), None);
        assert!(value_problem("json", &[0xff]).is_some());
    }
}
