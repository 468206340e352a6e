//! Keys and values between their stored bytes and the forms people type and read.
//!
//! Keys, by the manifest's key encoding:
//!
//! | encoding | on the command line and in `ls` | in JSON (`ls --json`, export, import) |
//! | --- | --- | --- |
//! | `utf8` | the text as is | a string |
//! | integers | canonical decimal (`42`, `-7`; `007` is refused) | a number (a string beyond 64 bits) |
//! | `bytes` | hex | `{"$bytes":"<hex>"}` |
//! | `msgpack` | JSON, transcoded to MessagePack | the same JSON |
//! | anything else | hex with `--key-hex` | `{"$bytes":"<hex>"}` |
//!
//! Values, by the manifest's codec: `msgpack` values are transcoded to JSON, `raw` values
//! (and values of codecs this tool does not know) are shown as `{"$bytes":"<hex>"}`, and
//! `json` values are JSON already.
//!
//! MessagePack that JSON cannot express directly is written as a JSON object with a single
//! key starting with `$`, and read back the same way:
//!
//! - `{"$bytes":"<hex>"}`: binary (`bin`), lowercase hex on output, either case on input;
//! - `{"$map":[[key, value], …]}`: a map whose keys are not all distinct strings, or whose
//!   only key starts with `$` (so a user map never looks like one of these forms);
//! - `{"$ext":[type, "<hex>"]}`: an extension value;
//! - `{"$float":"NaN"}`, `"Infinity"`, `"-Infinity"`: floats JSON has no number for.
//!
//! The parts: keys (`keys.rs`), values (`values.rs`), times and TTLs (`time.rs`), and
//! JSON to and from MessagePack through `rmpv` trees (`msgpack.rs`; values are shown by
//! the streaming transcoder, `stream/`). Here: the pieces of the `$` forms they share.

use serde_json::{Map, Value as Json};

mod keys;
mod msgpack;
mod time;
mod values;

pub(crate) use keys::{KEY_TYPES, key_from_arg, key_from_file, key_from_json, key_json, key_text};
#[cfg(test)]
pub(crate) use msgpack::decode_msgpack;
pub(crate) use time::{parse_ttl, time_from_json};
pub(crate) use values::{Shown, shown, value_from_json};

/// Hex (either case) as bytes, or a message saying it is not hex.
fn from_hex(text: &str) -> Result<Vec<u8>, String> {
    hex::decode(text).map_err(|e| format!("`{text}` is not hex ({e})"))
}

/// `{"$bytes":"<hex>"}` for `bytes`, lowercase.
fn bytes_json(bytes: &[u8]) -> Json {
    special("$bytes", Json::String(hex::encode(bytes)))
}

/// `{name: value}`: the one-key object of a `$` form.
fn special(name: &str, value: Json) -> Json {
    let mut m = Map::new();
    m.insert(name.to_owned(), value);
    Json::Object(m)
}

/// The hex of a `{"$bytes":"<hex>"}` object.
fn bytes_form(json: &Json) -> Option<&str> {
    match json {
        Json::Object(m) if m.len() == 1 => m.get("$bytes")?.as_str(),
        _ => None,
    }
}
