//! Value codecs: how a value becomes the bytes stored after an entry's key.
//!
//! The codec's [`name`](Codec::name) is recorded in the store's manifest, and opening a
//! store with another codec is an [`IncompatibleFormat`](crate::ErrorKind::IncompatibleFormat)
//! error rather than a stream of decode failures.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::BoxError;

/// Turns values of type `V` into bytes and back. Implement it to plug in your own format.
///
/// ```
/// use dirkv::{BoxError, Codec};
///
/// /// Stores `u64` values as 8 little-endian bytes.
/// struct U64Le;
/// impl Codec<u64> for U64Le {
///     fn name(&self) -> &str { "u64le" }
///     fn encode(&self, v: &u64, out: &mut Vec<u8>) -> Result<(), BoxError> {
///         out.extend_from_slice(&v.to_le_bytes());
///         Ok(())
///     }
///     fn decode(&self, bytes: &[u8]) -> Result<u64, BoxError> {
///         Ok(u64::from_le_bytes(bytes.try_into()?))
///     }
/// }
/// ```
pub trait Codec<V>: Send + Sync + 'static {
    /// The name written into the manifest (`codec = …`). Use letters, digits, `-` and `_`.
    fn name(&self) -> &str;

    /// Appends the encoding of `value` to `out` (which may already hold other bytes).
    ///
    /// # Errors
    ///
    /// The value cannot be encoded; the store reports [`ErrorKind::Encode`](crate::ErrorKind::Encode).
    fn encode(&self, value: &V, out: &mut Vec<u8>) -> Result<(), BoxError>;

    /// Decodes a value from exactly the bytes `encode` produced.
    ///
    /// # Errors
    ///
    /// The bytes are not a `V`; the store reports [`ErrorKind::Decode`](crate::ErrorKind::Decode)
    /// with the entry's path.
    fn decode(&self, bytes: &[u8]) -> Result<V, BoxError>;
}

/// MessagePack through `rmp-serde`, structs as maps so field names survive (the default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgPack;

impl<V: Serialize + DeserializeOwned> Codec<V> for MsgPack {
    fn name(&self) -> &str {
        "msgpack"
    }

    fn encode(&self, value: &V, out: &mut Vec<u8>) -> Result<(), BoxError> {
        rmp_serde::encode::write_named(out, value)?;
        Ok(())
    }

    fn decode(&self, bytes: &[u8]) -> Result<V, BoxError> {
        Ok(rmp_serde::from_slice(bytes)?)
    }
}

/// Raw bytes: a `Vec<u8>` value is stored as it is, with no serialization at all.
/// Useful for pages, blobs and values that are already encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Raw;

impl Codec<Vec<u8>> for Raw {
    fn name(&self) -> &str {
        "raw"
    }

    fn encode(&self, value: &Vec<u8>, out: &mut Vec<u8>) -> Result<(), BoxError> {
        out.extend_from_slice(value);
        Ok(())
    }

    fn decode(&self, bytes: &[u8]) -> Result<Vec<u8>, BoxError> {
        Ok(bytes.to_vec())
    }
}

/// JSON through `serde_json` (feature `json`): compact, UTF-8, so `cat` shows the value.
/// Larger and slower than MessagePack; maps must have string keys.
#[cfg(feature = "json")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Json;

#[cfg(feature = "json")]
impl<V: Serialize + DeserializeOwned> Codec<V> for Json {
    fn name(&self) -> &str {
        "json"
    }

    fn encode(&self, value: &V, out: &mut Vec<u8>) -> Result<(), BoxError> {
        serde_json::to_writer(out, value)?;
        Ok(())
    }

    fn decode(&self, bytes: &[u8]) -> Result<V, BoxError> {
        Ok(serde_json::from_slice(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Page {
        id: u32,
        name: String,
    }

    #[test]
    fn msgpack_keeps_field_names_and_round_trips() {
        let mut out = vec![9u8];
        let p = Page {
            id: 1,
            name: "a".into(),
        };
        MsgPack.encode(&p, &mut out).unwrap();
        assert_eq!(out[0], 9, "encode appends");
        assert_eq!(out[1], 0x82, "a map of two fields");
        assert!(out.windows(4).any(|w| w == b"name"));
        let back: Page = MsgPack.decode(&out[1..]).unwrap();
        assert_eq!(back, p);
        assert!(<MsgPack as Codec<Page>>::decode(&MsgPack, &[0xc1]).is_err());
        assert!(<MsgPack as Codec<Page>>::decode(&MsgPack, &out[1..4]).is_err());
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_is_readable_text() {
        let mut out = Vec::new();
        let p = Page {
            id: 1,
            name: "a".into(),
        };
        Json.encode(&p, &mut out).unwrap();
        assert_eq!(out, br#"{"id":1,"name":"a"}"#);
        assert_eq!(Json.decode(&out).ok(), Some(p));
        assert!(<Json as Codec<Page>>::decode(&Json, b"{").is_err());
    }

    #[test]
    fn raw_is_identity() {
        let mut out = Vec::new();
        Raw.encode(&vec![1, 2, 3], &mut out).unwrap();
        assert_eq!(out, [1, 2, 3]);
        assert_eq!(Raw.decode(&out).unwrap(), vec![1, 2, 3]);
    }
}
