//! Keys: the canonical bytes a key is hashed from, and the way back. The encodings are
//! the ones of [the table in `format::keys`](crate::format::keys).

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{BoxError, Error, ErrorKind, Result};

/// A type whose values can be looked up in a store: it gives the canonical key bytes.
///
/// As with `HashMap` and `Borrow`, a lookup type `Q` used with a `Store<K, _>` (where
/// `K: Borrow<Q>`) must give the same bytes as `K` for equal keys; all impls in this crate
/// do (`String`/`str`, `Vec<u8>`/`[u8]`).
pub trait Key {
    /// The canonical bytes of this key. The entry's file name is their SHA-256.
    fn key_bytes(&self) -> Cow<'_, [u8]>;
}

/// A key type a store can be declared with (`Store<K, V>`): it can also be rebuilt from its
/// bytes, so that [`Store::keys`](crate::Store::keys) can give keys back.
pub trait OwnedKey: Key + Sized {
    /// The key encoding's name, recorded in the store's manifest and checked on open.
    const ENCODING: &'static str;

    /// Rebuilds a key from the bytes [`Key::key_bytes`] gave.
    ///
    /// # Errors
    ///
    /// The bytes are not a key of this type (an error of kind [`ErrorKind::Decode`]).
    fn from_key_bytes(bytes: &[u8]) -> Result<Self>;
}

impl<T: Key + ?Sized> Key for &T {
    fn key_bytes(&self) -> Cow<'_, [u8]> {
        (**self).key_bytes()
    }
}

impl Key for str {
    fn key_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.as_bytes())
    }
}

impl Key for String {
    fn key_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.as_bytes())
    }
}

impl OwnedKey for String {
    const ENCODING: &'static str = "utf8";
    fn from_key_bytes(bytes: &[u8]) -> Result<Self> {
        String::from_utf8(bytes.to_vec()).map_err(|e| decode_error("key is not UTF-8", e))
    }
}

impl Key for [u8] {
    fn key_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self)
    }
}

impl Key for Vec<u8> {
    fn key_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self)
    }
}

impl OwnedKey for Vec<u8> {
    const ENCODING: &'static str = "bytes";
    fn from_key_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(bytes.to_vec())
    }
}

macro_rules! int_keys {
    ($($t:ident)*) => {$(
        impl Key for $t {
            fn key_bytes(&self) -> Cow<'_, [u8]> {
                Cow::Owned(self.to_string().into_bytes())
            }
        }
        impl OwnedKey for $t {
            const ENCODING: &'static str = stringify!($t);
            fn from_key_bytes(bytes: &[u8]) -> Result<Self> {
                // Only the canonical text ("7", not "07" or "+7") is a key of this type.
                crate::format::keys::parse_decimal::<$t>(bytes).map_err(|m| {
                    Error::new(ErrorKind::Decode, format!("{m} for {}", stringify!($t)))
                })
            }
        }
    )*};
}
int_keys!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize);

fn decode_error(what: &'static str, cause: impl Into<BoxError>) -> Error {
    Error::new(ErrorKind::Decode, what).with_source(cause)
}

/// Any serde type as a key, through a canonical MessagePack encoding.
///
/// The key bytes are `rmp_serde`'s encoding with structs as maps (field names kept),
/// enums by variant name, and integers in their smallest form. That encoding is fixed here
/// and does not follow the value codec's settings, so a key always hashes to the same file.
/// Types whose serialization is not deterministic (a `HashMap` field, floats that are
/// `NaN`) do not make good keys: two equal keys could give different bytes. Prefer
/// `BTreeMap` in keys.
///
/// The bytes are computed once, by [`SerdeKey::new`], which is why it can fail.
///
/// ```
/// use dirkv::{Exists, SerdeKey, Store};
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// struct Point { x: i32, y: i32 }
///
/// let dir = tempfile::tempdir()?;
/// let store: Store<SerdeKey<Point>, String> = Store::open(dir.path().join("s"), Exists::OpenOrCreate)?;
/// let k = SerdeKey::new(Point { x: 1, y: 2 })?;
/// store.set(&k, &"one-two".to_string())?;
/// assert_eq!(store.get(&k)?, Some("one-two".to_string()));
/// let first = store.keys().next().unwrap()?;
/// assert_eq!(first.get(), &Point { x: 1, y: 2 });
/// # Ok::<(), dirkv::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SerdeKey<T> {
    value: T,
    bytes: Vec<u8>,
}

impl<T: Serialize> SerdeKey<T> {
    /// Wraps `value`, computing its canonical bytes.
    ///
    /// # Errors
    ///
    /// `value`'s `Serialize` impl failed ([`ErrorKind::Encode`]).
    pub fn new(value: T) -> Result<Self> {
        let bytes = rmp_serde::to_vec_named(&value)
            .map_err(|e| Error::new(ErrorKind::Encode, "cannot encode key").with_source(e))?;
        Ok(SerdeKey { value, bytes })
    }
}

impl<T> SerdeKey<T> {
    /// The wrapped value.
    pub fn get(&self) -> &T {
        &self.value
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The canonical key bytes (MessagePack).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl<T: fmt::Debug> fmt::Debug for SerdeKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SerdeKey").field(&self.value).finish()
    }
}

impl<T> Key for SerdeKey<T> {
    fn key_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
}

impl<T: Serialize + DeserializeOwned> OwnedKey for SerdeKey<T> {
    const ENCODING: &'static str = "msgpack";
    fn from_key_bytes(bytes: &[u8]) -> Result<Self> {
        let value: T =
            rmp_serde::from_slice(bytes).map_err(|e| decode_error("cannot decode key", e))?;
        Ok(SerdeKey {
            value,
            bytes: bytes.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_bytes_are_their_own_bytes() {
        assert_eq!(&*"héllo".key_bytes(), "héllo".as_bytes());
        assert_eq!(&*String::from("a b").key_bytes(), b"a b");
        assert_eq!(&*vec![0u8, 255].key_bytes(), &[0u8, 255]);
        assert_eq!(String::from_key_bytes(b"abc").unwrap(), "abc");
        assert_eq!(
            String::from_key_bytes(&[0xff]).unwrap_err().kind(),
            ErrorKind::Decode
        );
    }

    #[test]
    fn integers_are_decimal_text_and_round_trip() {
        assert_eq!(&*42u64.key_bytes(), b"42");
        assert_eq!(&*(-7i32).key_bytes(), b"-7");
        assert_eq!(&*u128::MAX.key_bytes(), u128::MAX.to_string().as_bytes());
        assert_eq!(u64::from_key_bytes(b"42").unwrap(), 42);
        assert_eq!(i8::from_key_bytes(b"-128").unwrap(), -128);
        for bad in [&b"042"[..], b"+1", b"", b"1.0", b"256", b" 1"] {
            assert!(u8::from_key_bytes(bad).is_err(), "{bad:?}");
        }
        assert_eq!(<u64 as OwnedKey>::ENCODING, "u64");
    }

    #[test]
    fn serde_keys_are_named_msgpack_and_round_trip() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct P {
            x: i32,
        }
        let k = SerdeKey::new(P { x: 1 }).unwrap();
        // fixmap(1) "x" 1
        assert_eq!(k.as_bytes(), &[0x81, 0xa1, b'x', 0x01]);
        let back = SerdeKey::<P>::from_key_bytes(k.as_bytes()).unwrap();
        assert_eq!(back.get(), &P { x: 1 });
        assert!(SerdeKey::<P>::from_key_bytes(&[0xc1]).is_err());
    }
}
