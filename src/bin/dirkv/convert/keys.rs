//! Keys: from a command-line argument, a key file or import JSON to key bytes (checked
//! against the store's key encoding), and from key bytes to the text `ls` shows and the
//! JSON `ls --json` and `export` write.

use std::ffi::OsStr;

use serde_json::Value as Json;

use dirkv::RawStore;

use super::msgpack::{decode_msgpack, encode_msgpack};
use super::{bytes_form, bytes_json, from_hex};

/// How a store's keys are read and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyForm {
    Utf8,
    Bytes,
    /// An integer type; the name is the manifest's (`u64`).
    Int,
    MsgPack,
    /// A key encoding this tool does not know: hex only.
    Opaque,
}

/// The key encodings `dirkv init --key-type` offers.
pub(crate) const KEY_TYPES: [&str; 15] = [
    "utf8", "bytes", "msgpack", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32",
    "i64", "i128", "isize",
];

impl KeyForm {
    pub(crate) fn of(encoding: &str) -> KeyForm {
        match encoding {
            "utf8" => KeyForm::Utf8,
            "bytes" => KeyForm::Bytes,
            "msgpack" => KeyForm::MsgPack,
            e if KEY_TYPES.contains(&e) => KeyForm::Int,
            _ => KeyForm::Opaque,
        }
    }
}

/// The key bytes of a command-line key argument (`hex`: the argument is the key bytes in
/// hex, whatever the encoding). Checked against the store's key encoding.
pub(crate) fn key_from_arg(store: &RawStore, arg: &OsStr, hex: bool) -> Result<Vec<u8>, String> {
    let encoding = store.key_encoding();
    let text = || {
        arg.to_str()
            .ok_or_else(|| format!("key {} is not UTF-8 text", arg.to_string_lossy()))
    };
    let bytes = if hex {
        from_hex(text()?).map_err(|m| format!("--key-hex: {m}"))?
    } else {
        match KeyForm::of(encoding) {
            KeyForm::Utf8 | KeyForm::Int => text()?.as_bytes().to_vec(),
            KeyForm::Bytes => from_hex(text()?).map_err(|m| format!("bytes keys are hex: {m}"))?,
            KeyForm::MsgPack => {
                let json: Json = serde_json::from_str(text()?)
                    .map_err(|e| format!("msgpack keys are given as JSON: {e}"))?;
                encode_msgpack(&json)?
            }
            KeyForm::Opaque => {
                return Err(format!(
                    "this store's key encoding `{encoding}` is unknown to this dirkv; \
                     give the key bytes in hex with --key-hex"
                ));
            }
        }
    };
    check_key(store, bytes)
}

/// The key bytes of a key read from a file (`--key-file`), written as the argument would
/// be. A `utf8` key is the file's bytes exactly (`printf %s KEY > FILE`, not `echo`); the
/// other forms (hex, decimal, JSON) cannot hold surrounding whitespace, so a trailing
/// newline there is ignored.
pub(crate) fn key_from_file(store: &RawStore, bytes: &[u8], hex: bool) -> Result<Vec<u8>, String> {
    use std::os::unix::ffi::OsStrExt;
    let exact = !hex && KeyForm::of(store.key_encoding()) == KeyForm::Utf8;
    let bytes = if exact { bytes } else { bytes.trim_ascii() };
    key_from_arg(store, OsStr::from_bytes(bytes), hex)
}

/// The key bytes of a key in JSON (an import line's `key`), given as JSON text.
pub(crate) fn key_from_json(store: &RawStore, json_text: &str) -> Result<Vec<u8>, String> {
    let encoding = store.key_encoding();
    let json: Json = serde_json::from_str(json_text).map_err(|e| e.to_string())?;
    let bytes = match (KeyForm::of(encoding), &json) {
        (KeyForm::Utf8, Json::String(s)) => s.as_bytes().to_vec(),
        (KeyForm::Utf8, _) => return Err("keys of this store are JSON strings".into()),
        // The number's own text, so that integers beyond 64 bits keep every digit.
        (KeyForm::Int, Json::Number(_)) => json_text.trim().as_bytes().to_vec(),
        (KeyForm::Int, Json::String(s)) => s.as_bytes().to_vec(),
        (KeyForm::Int, _) => return Err(format!("{encoding} keys are JSON numbers")),
        (KeyForm::Bytes, Json::String(s)) => from_hex(s)?,
        (KeyForm::Bytes | KeyForm::Opaque, j) => match bytes_form(j) {
            Some(hex) => from_hex(hex)?,
            None => return Err(r#"keys of this store are {"$bytes":"<hex>"}"#.into()),
        },
        (KeyForm::MsgPack, j) => encode_msgpack(j)?,
    };
    check_key(store, bytes)
}

fn check_key(store: &RawStore, bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    match store.check_key(&bytes) {
        Ok(()) => Ok(bytes),
        Err(err) => {
            let encoding = store.key_encoding();
            if KeyForm::of(encoding) != KeyForm::Int {
                return Err(err.to_string());
            }
            let text = String::from_utf8_lossy(&bytes);
            let suggestion = text
                .parse::<i128>()
                .ok()
                .map(|n| n.to_string())
                .or_else(|| text.parse::<u128>().ok().map(|n| n.to_string()))
                .filter(|s| store.check_key(s.as_bytes()).is_ok());
            Err(match suggestion {
                Some(s) => format!(
                    "`{text}` is not a key of this store: {encoding} keys are written in \
                     canonical decimal (did you mean `{s}`?)"
                ),
                None => format!("`{text}` is not a {encoding} key (out of range or not a number)"),
            })
        }
    }
}

/// A key as one line of text (for `ls` and messages).
pub(crate) fn key_text(encoding: &str, key: &[u8]) -> String {
    match KeyForm::of(encoding) {
        KeyForm::Utf8 | KeyForm::Int => match std::str::from_utf8(key) {
            Ok(s) => s.to_owned(),
            Err(_) => bytes_json(key).to_string(),
        },
        KeyForm::Bytes | KeyForm::Opaque => hex::encode(key),
        KeyForm::MsgPack => match decode_msgpack(key) {
            Ok(json) => json.to_string(),
            Err(_) => bytes_json(key).to_string(),
        },
    }
}

/// A key as JSON (for `ls --json` and export).
pub(crate) fn key_json(encoding: &str, key: &[u8]) -> Json {
    match KeyForm::of(encoding) {
        KeyForm::Utf8 => match std::str::from_utf8(key) {
            Ok(s) => Json::String(s.to_owned()),
            Err(_) => bytes_json(key),
        },
        KeyForm::Int => {
            let text = String::from_utf8_lossy(key);
            if let Ok(n) = text.parse::<u64>() {
                Json::Number(n.into())
            } else if let Ok(n) = text.parse::<i64>() {
                Json::Number(n.into())
            } else {
                Json::String(text.into_owned())
            }
        }
        KeyForm::Bytes | KeyForm::Opaque => bytes_json(key),
        KeyForm::MsgPack => decode_msgpack(key).unwrap_or_else(|_| bytes_json(key)),
    }
}
