//! A serializer that writes a value which is a byte sequence (`Vec<u8>`, `&[u8]`,
//! `Box<[u8]>`, `VecDeque<u8>`…) as one MessagePack `bin`, and everything else exactly as
//! `rmp_serde` does: byte sequences inside structs, maps and sequences keep serde's default
//! (an array of integers), so the encoding of every other value is unchanged.
//!
//! Serde gives a `Vec<u8>` no way to say it is bytes (without `serde_bytes`), and
//! `rmp_serde`'s global `BytesMode` would change nested fields too; so only the top-level
//! `collect_seq` is intercepted here, and every other call is passed on.

use serde::ser::{self, Serialize, Serializer};

/// Serializes `value` into `se`, a top-level byte sequence as `bin`.
pub(crate) fn serialize<S: Serializer, V: Serialize + ?Sized>(
    value: &V,
    se: S,
) -> Result<S::Ok, S::Error> {
    value.serialize(TopBytes(se))
}

struct TopBytes<S>(S);

/// Whether an item serializes as a `u8` (and which).
struct AsU8;

#[derive(Debug)]
struct NotU8;

impl std::fmt::Display for NotU8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a u8")
    }
}

impl std::error::Error for NotU8 {}

impl ser::Error for NotU8 {
    fn custom<T: std::fmt::Display>(_msg: T) -> Self {
        NotU8
    }
}

macro_rules! not_u8 {
    ($($name:ident($($arg:ty),*) -> $ret:ty;)*) => {$(
        fn $name(self, $(_: $arg),*) -> Result<$ret, NotU8> { Err(NotU8) }
    )*};
}

impl Serializer for AsU8 {
    type Ok = u8;
    type Error = NotU8;
    type SerializeSeq = ser::Impossible<u8, NotU8>;
    type SerializeTuple = ser::Impossible<u8, NotU8>;
    type SerializeTupleStruct = ser::Impossible<u8, NotU8>;
    type SerializeTupleVariant = ser::Impossible<u8, NotU8>;
    type SerializeMap = ser::Impossible<u8, NotU8>;
    type SerializeStruct = ser::Impossible<u8, NotU8>;
    type SerializeStructVariant = ser::Impossible<u8, NotU8>;

    fn serialize_u8(self, v: u8) -> Result<u8, NotU8> {
        Ok(v)
    }

    not_u8! {
        serialize_bool(bool) -> u8;
        serialize_i8(i8) -> u8;
        serialize_i16(i16) -> u8;
        serialize_i32(i32) -> u8;
        serialize_i64(i64) -> u8;
        serialize_u16(u16) -> u8;
        serialize_u32(u32) -> u8;
        serialize_u64(u64) -> u8;
        serialize_f32(f32) -> u8;
        serialize_f64(f64) -> u8;
        serialize_char(char) -> u8;
        serialize_str(&str) -> u8;
        serialize_bytes(&[u8]) -> u8;
        serialize_none() -> u8;
        serialize_unit() -> u8;
        serialize_unit_struct(&'static str) -> u8;
        serialize_unit_variant(&'static str, u32, &'static str) -> u8;
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<u8, NotU8> {
        Err(NotU8)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<u8, NotU8> {
        Err(NotU8)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<u8, NotU8> {
        Err(NotU8)
    }
}

macro_rules! pass {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {$(
        fn $name(self, $($arg: $ty),*) -> Result<$ret, S::Error> { self.0.$name($($arg),*) }
    )*};
}

impl<S: Serializer> Serializer for TopBytes<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = S::SerializeSeq;
    type SerializeTuple = S::SerializeTuple;
    type SerializeTupleStruct = S::SerializeTupleStruct;
    type SerializeTupleVariant = S::SerializeTupleVariant;
    type SerializeMap = S::SerializeMap;
    type SerializeStruct = S::SerializeStruct;
    type SerializeStructVariant = S::SerializeStructVariant;

    fn collect_seq<I>(self, iter: I) -> Result<S::Ok, S::Error>
    where
        I: IntoIterator,
        I::Item: Serialize,
    {
        let mut iter = iter.into_iter().peekable();
        let bytes = iter
            .peek()
            .is_some_and(|first| first.serialize(AsU8).is_ok());
        if !bytes {
            return self.0.collect_seq(iter);
        }
        let mut out = Vec::with_capacity(iter.size_hint().0);
        for item in iter {
            match item.serialize(AsU8) {
                Ok(b) => out.push(b),
                Err(_) => {
                    return Err(ser::Error::custom(
                        "a sequence of bytes held something else",
                    ));
                }
            }
        }
        self.0.serialize_bytes(&out)
    }

    pass! {
        serialize_bool(v: bool) -> S::Ok;
        serialize_i8(v: i8) -> S::Ok;
        serialize_i16(v: i16) -> S::Ok;
        serialize_i32(v: i32) -> S::Ok;
        serialize_i64(v: i64) -> S::Ok;
        serialize_i128(v: i128) -> S::Ok;
        serialize_u8(v: u8) -> S::Ok;
        serialize_u16(v: u16) -> S::Ok;
        serialize_u32(v: u32) -> S::Ok;
        serialize_u64(v: u64) -> S::Ok;
        serialize_u128(v: u128) -> S::Ok;
        serialize_f32(v: f32) -> S::Ok;
        serialize_f64(v: f64) -> S::Ok;
        serialize_char(v: char) -> S::Ok;
        serialize_str(v: &str) -> S::Ok;
        serialize_bytes(v: &[u8]) -> S::Ok;
        serialize_none() -> S::Ok;
        serialize_unit() -> S::Ok;
        serialize_unit_struct(name: &'static str) -> S::Ok;
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str) -> S::Ok;
        serialize_seq(len: Option<usize>) -> S::SerializeSeq;
        serialize_tuple(len: usize) -> S::SerializeTuple;
        serialize_tuple_struct(name: &'static str, len: usize) -> S::SerializeTupleStruct;
        serialize_tuple_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> S::SerializeTupleVariant;
        serialize_map(len: Option<usize>) -> S::SerializeMap;
        serialize_struct(name: &'static str, len: usize) -> S::SerializeStruct;
        serialize_struct_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> S::SerializeStructVariant;
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_some(value)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_struct(name, value)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0
            .serialize_newtype_variant(name, index, variant, value)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}
