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

/// MessagePack through `rmp-serde` (the default): structs as maps so field names survive.
///
/// A value that is itself a byte sequence (`Store<_, Vec<u8>>`, `Box<[u8]>`) is written as
/// one MessagePack `bin`, so a 4 KiB page is 4 KiB plus 3 bytes rather than an array of
/// 4,096 integers (+50% size, much slower to decode); other languages read it as bytes
/// (Python `bytes`) and `dirkv get` shows it as `{"$bytes":"…"}`. Both forms decode into a
/// `Vec<u8>`, so stores written before read as before. Byte sequences *inside* a struct or
/// a collection keep serde's default (an array of integers), as every other encoding is
/// unchanged; mark such a field `#[serde(with = "serde_bytes")]` to store it as `bin`.
///
/// For values that are only bytes, [`Raw`] stores them with no encoding at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgPack;

impl<V: Serialize + DeserializeOwned> Codec<V> for MsgPack {
    fn name(&self) -> &str {
        "msgpack"
    }

    fn encode(&self, value: &V, out: &mut Vec<u8>) -> Result<(), BoxError> {
        let mut se = rmp_serde::Serializer::new(out).with_struct_map();
        super::top_bytes::serialize(value, &mut se)?;
        Ok(())
    }

    fn decode(&self, bytes: &[u8]) -> Result<V, BoxError> {
        Ok(rmp_serde::from_slice(bytes)?)
    }
}

/// Raw bytes: a `Vec<u8>`, `Box<[u8]>` or `[u8; N]` value is stored as it is, with no
/// serialization at all. Useful for pages, blobs and values that are already encoded; the
/// codec of choice for a paged memory (`Store<u64, [u8; 4096], Raw>` or
/// `Store<u64, Vec<u8>, Raw>`). A `[u8; N]` store refuses to decode a value of another
/// length ([`Decode`](crate::ErrorKind::Decode)). [`Store::set_bytes`](crate::Store::set_bytes)
/// writes a `&[u8]` without making a value first.
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
        // Fallible: a value inflated from a small compressed file may not fit in memory.
        Ok(crate::engine::read::copy_bytes(bytes)?)
    }
}

impl Codec<Box<[u8]>> for Raw {
    fn name(&self) -> &str {
        "raw"
    }

    fn encode(&self, value: &Box<[u8]>, out: &mut Vec<u8>) -> Result<(), BoxError> {
        out.extend_from_slice(value);
        Ok(())
    }

    fn decode(&self, bytes: &[u8]) -> Result<Box<[u8]>, BoxError> {
        Ok(crate::engine::read::copy_bytes(bytes)?.into_boxed_slice())
    }
}

impl<const N: usize> Codec<[u8; N]> for Raw {
    fn name(&self) -> &str {
        "raw"
    }

    fn encode(&self, value: &[u8; N], out: &mut Vec<u8>) -> Result<(), BoxError> {
        out.extend_from_slice(value);
        Ok(())
    }

    fn decode(&self, bytes: &[u8]) -> Result<[u8; N], BoxError> {
        <[u8; N]>::try_from(bytes)
            .map_err(|_| format!("the value is {} bytes long, not {N}", bytes.len()).into())
    }
}

/// JSON through `serde_json` (feature `json`): compact, UTF-8, so `cat` shows the value.
/// Larger and slower than MessagePack; maps must have string keys.
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
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
        assert_eq!(
            <Raw as Codec<Vec<u8>>>::decode(&Raw, &out).unwrap(),
            vec![1, 2, 3]
        );
        let page: [u8; 3] = Raw.decode(&out).unwrap();
        assert_eq!(page, [1, 2, 3]);
        assert!(<Raw as Codec<[u8; 4]>>::decode(&Raw, &out).is_err());
        let boxed: Box<[u8]> = Raw.decode(&out).unwrap();
        assert_eq!(&*boxed, &[1, 2, 3]);
    }

    #[test]
    fn msgpack_writes_bytes_as_bin_and_reads_both_forms() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Page {
            id: u32,
            body: Vec<u8>,
        }
        let mut out = Vec::new();
        MsgPack.encode(&vec![7u8; 4096], &mut out).unwrap();
        assert_eq!(
            out.len(),
            4096 + 3,
            "bin 16: marker, 2 length bytes, the bytes"
        );
        assert_eq!(out[0], 0xc5);
        let back: Vec<u8> = MsgPack.decode(&out).unwrap();
        assert_eq!(back, vec![7u8; 4096]);
        // The integer-array form of older stores still reads.
        let old = rmp_serde::to_vec(&vec![1u8, 2, 3]).unwrap();
        assert_eq!(old[0], 0x93);
        let back: Vec<u8> = MsgPack.decode(&old).unwrap();
        assert_eq!(back, [1, 2, 3]);
        // Inside a struct too.
        let p = Page {
            id: 1,
            body: vec![9; 10],
        };
        // Inside a struct, serde's default is kept: the encoding rmp_serde gives.
        let mut out = Vec::new();
        MsgPack.encode(&p, &mut out).unwrap();
        assert_eq!(out, rmp_serde::to_vec_named(&p).unwrap());
        assert_eq!(MsgPack.decode(&out).ok(), Some(p));
        // Boxed slices, and empty ones.
        let mut out = Vec::new();
        MsgPack
            .encode(&Box::<[u8]>::from(&b"ab"[..]), &mut out)
            .unwrap();
        assert_eq!(out, [0xc4, 2, b'a', b'b']);
        let mut out = Vec::new();
        MsgPack.encode(&Vec::<u8>::new(), &mut out).unwrap();
        assert_eq!(out, [0x90], "an empty one stays an empty array");
        // Other small integers stay integers.
        let mut out = Vec::new();
        MsgPack.encode(&vec![1u16, 2], &mut out).unwrap();
        assert_eq!(out, [0x92, 1, 2]);
    }
}
