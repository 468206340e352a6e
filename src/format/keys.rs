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

/// Whether `bytes` is exactly one complete MessagePack value.
fn msgpack_problem(bytes: &[u8]) -> Option<String> {
    use serde::Deserialize;
    let mut de = rmp_serde::Deserializer::new(std::io::Cursor::new(bytes));
    match serde::de::IgnoredAny::deserialize(&mut de) {
        Err(err) => Some(format!("is not valid MessagePack ({err})")),
        Ok(_) if de.position() != bytes.len() as u64 => Some(format!(
            "is not one MessagePack value ({} bytes follow it)",
            bytes.len() as u64 - de.position()
        )),
        Ok(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
