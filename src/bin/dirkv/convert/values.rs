//! Values: stored value bytes checked and written as JSON ([`Shown`]), and values given as
//! JSON turned into the bytes to store, by the store's codec.

use std::io::{self, Write};

use serde_json::Value as Json;

use super::msgpack::encode_msgpack;
use super::{bytes_form, from_hex};
use crate::stream;

/// How a store's values are read and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ValueForm {
    MsgPack,
    Raw,
    Json,
    /// A codec this tool does not know: `{"$bytes":…}` only.
    Opaque,
}

impl ValueForm {
    pub(crate) fn of(codec: &str) -> ValueForm {
        match codec {
            "msgpack" => ValueForm::MsgPack,
            "raw" => ValueForm::Raw,
            "json" => ValueForm::Json,
            _ => ValueForm::Opaque,
        }
    }
}

/// A stored value, checked and ready to be written as JSON: writing it can fail only on
/// output. MessagePack and binary are written streaming (see [`stream`]), so the memory it
/// takes is in proportion to the value's bytes whatever the value holds.
pub(crate) enum Shown<'a> {
    MsgPack(stream::Plan<'a>),
    Bytes(&'a [u8]),
    Json(Json),
}

/// The value bytes `value` of a store with `codec`, checked for showing as JSON.
///
/// # Errors
///
/// What is wrong with the value (not MessagePack, a string that is not UTF-8, nested too
/// deep, not JSON).
pub(crate) fn shown<'a>(codec: &str, value: &'a [u8]) -> Result<Shown<'a>, String> {
    Ok(match ValueForm::of(codec) {
        ValueForm::MsgPack => Shown::MsgPack(stream::check(value)?),
        ValueForm::Raw | ValueForm::Opaque => Shown::Bytes(value),
        ValueForm::Json => {
            Shown::Json(serde_json::from_slice(value).map_err(|e| format!("not JSON: {e}"))?)
        }
    })
}

impl Shown<'_> {
    /// Writes the value as compact JSON (`pretty`: indented).
    ///
    /// # Errors
    ///
    /// Errors of writing to `out`.
    pub(crate) fn write<W: Write>(&self, out: &mut W, pretty: bool) -> io::Result<()> {
        match self {
            Shown::MsgPack(plan) => plan.write(out, pretty),
            Shown::Bytes(data) => stream::write_bytes(out, data, pretty),
            Shown::Json(json) if pretty => {
                serde_json::to_writer_pretty(out, json).map_err(Into::into)
            }
            Shown::Json(json) => serde_json::to_writer(out, json).map_err(Into::into),
        }
    }
}

/// The value bytes to store for a value given as JSON.
pub(crate) fn value_from_json(codec: &str, json: &Json) -> Result<Vec<u8>, String> {
    match (ValueForm::of(codec), json) {
        (ValueForm::MsgPack, j) => encode_msgpack(j),
        (ValueForm::Json, j) => serde_json::to_vec(j).map_err(|e| e.to_string()),
        (ValueForm::Raw, Json::String(s)) => Ok(s.as_bytes().to_vec()),
        (form, j) => match bytes_form(j) {
            Some(hex) => from_hex(hex),
            None if form == ValueForm::Raw => {
                Err(r#"raw values are {"$bytes":"<hex>"} or a JSON string"#.into())
            }
            None => Err(format!(
                r#"the codec `{codec}` is unknown to this dirkv: give values as {{"$bytes":"<hex>"}} or use --raw"#
            )),
        },
    }
}
