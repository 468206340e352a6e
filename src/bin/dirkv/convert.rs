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

use std::ffi::OsStr;
use std::io::{self, Write};

use rmpv::Value as Mp;
use serde_json::{Map, Number, Value as Json};

use crate::RawStore;
use crate::stream;

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

/// A TTL as `set --ttl` takes it: a whole number and a unit, `ms`, `s`, `m`, `h` or `d`.
///
/// # Errors
///
/// A message saying what form it takes.
pub(crate) fn parse_ttl(text: &str) -> Result<std::time::Duration, String> {
    let form = "a whole number and a unit: ms, s, m, h or d (as in 90s, 15m, 2h, 7d)";
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let ms_per: u64 = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "" => return Err(format!("`{text}` has no unit; give {form}")),
        _ => return Err(format!("`{text}` is not {form}")),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not {form}"))?;
    let ms = n
        .checked_mul(ms_per)
        .ok_or_else(|| format!("`{text}` is too long a time"))?;
    if ms == 0 {
        return Err("a TTL of 0 would expire the entry at once; give a longer one".into());
    }
    Ok(std::time::Duration::from_millis(ms))
}

/// A time as `ls -l` and `export` write it (`2025-01-02T03:04:05.000Z`, UTC), or a JSON
/// number of milliseconds since the Unix epoch, as milliseconds since the Unix epoch.
///
/// # Errors
///
/// A message saying which forms are taken.
pub(crate) fn time_from_json(json: &Json) -> Result<u64, String> {
    let form = "a UTC time such as \"2025-01-02T03:04:05.000Z\" or milliseconds since 1970";
    match json {
        Json::Number(n) => n.as_u64().ok_or_else(|| format!("{n} is not {form}")),
        Json::String(text) => parse_utc(text).ok_or_else(|| format!("{json} is not {form}")),
        _ => Err(format!("{json} is not {form}")),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.f…]Z` as milliseconds since the Unix epoch (digits past the
/// milliseconds are dropped); `None` when it is not of that form or before 1970.
fn parse_utc(text: &str) -> Option<u64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let num = |s: &str, len: usize| -> Option<i64> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next()?, 4)?, num(d.next()?, 2)?, num(d.next()?, 2)?);
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, frac),
        None => (time, ""),
    };
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (time.contains('.') && frac.is_empty()) {
        return None;
    }
    let ms_text = format!("{frac:0<3}");
    let ms: i64 = ms_text.get(..3)?.parse().ok()?;
    let mut t = hms.split(':');
    let (h, min, sec) = (num(t.next()?, 2)?, num(t.next()?, 2)?, num(t.next()?, 2)?);
    if t.next().is_some() || h > 23 || min > 59 || sec > 60 {
        return None;
    }
    // Howard Hinnant's days_from_civil, the inverse of `utc_text`'s civil_from_days.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let ms = ((days * 24 + h) * 60 + min) * 60_000 + sec * 1000 + ms;
    u64::try_from(ms).ok()
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

fn from_hex(text: &str) -> Result<Vec<u8>, String> {
    hex::decode(text).map_err(|e| format!("`{text}` is not hex ({e})"))
}

fn bytes_json(bytes: &[u8]) -> Json {
    special("$bytes", Json::String(hex::encode(bytes)))
}

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

/// Decodes exactly one MessagePack value into JSON.
pub(crate) fn decode_msgpack(bytes: &[u8]) -> Result<Json, String> {
    let mut rest = bytes;
    let value =
        rmpv::decode::read_value(&mut rest).map_err(|e| format!("not MessagePack ({e})"))?;
    if !rest.is_empty() {
        return Err(format!(
            "not one MessagePack value ({} bytes follow it)",
            rest.len()
        ));
    }
    mp_to_json(&value)
}

/// Encodes JSON (with the `$` forms) as MessagePack, in the smallest forms, as rmp-serde
/// writes them: so a `msgpack` key given as JSON hashes to the same file as the
/// `SerdeKey` it stands for.
pub(crate) fn encode_msgpack(json: &Json) -> Result<Vec<u8>, String> {
    let value = json_to_mp(json)?;
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &value).map_err(|e| e.to_string())?;
    Ok(out)
}

fn float_json(x: f64) -> Json {
    match Number::from_f64(x) {
        Some(n) => Json::Number(n),
        None => special(
            "$float",
            Json::String(
                if x.is_nan() {
                    "NaN"
                } else if x > 0.0 {
                    "Infinity"
                } else {
                    "-Infinity"
                }
                .to_owned(),
            ),
        ),
    }
}

fn mp_to_json(value: &Mp) -> Result<Json, String> {
    Ok(match value {
        Mp::Nil => Json::Null,
        Mp::Boolean(b) => Json::Bool(*b),
        Mp::Integer(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Json::Number(u.into()),
            (None, Some(i)) => Json::Number(i.into()),
            (None, None) => return Err("an integer out of range".into()),
        },
        // Through its shortest text, so 0.1f32 shows as 0.1, not 0.10000000149011612.
        Mp::F32(x) => float_json(x.to_string().parse().unwrap_or(f64::from(*x))),
        Mp::F64(x) => float_json(*x),
        Mp::String(s) => match s.as_str() {
            Some(s) => Json::String(s.to_owned()),
            None => return Err("a MessagePack string that is not UTF-8 (use --raw)".into()),
        },
        Mp::Binary(b) => bytes_json(b),
        Mp::Array(items) => Json::Array(items.iter().map(mp_to_json).collect::<Result<_, _>>()?),
        Mp::Map(pairs) => {
            let mut object = Map::new();
            let mut plain = true;
            for (k, v) in pairs {
                match k.as_str() {
                    Some(k) if plain => {
                        object.insert(k.to_owned(), mp_to_json(v)?);
                    }
                    _ => plain = false,
                }
            }
            let dollar_only = object.len() == 1 && object.keys().all(|k| k.starts_with('$'));
            if plain && object.len() == pairs.len() && !dollar_only {
                Json::Object(object)
            } else {
                let pairs = pairs
                    .iter()
                    .map(|(k, v)| Ok(Json::Array(vec![mp_to_json(k)?, mp_to_json(v)?])))
                    .collect::<Result<_, String>>()?;
                special("$map", Json::Array(pairs))
            }
        }
        Mp::Ext(ty, data) => special(
            "$ext",
            Json::Array(vec![
                Json::Number((*ty).into()),
                Json::String(hex::encode(data)),
            ]),
        ),
    })
}

fn json_to_mp(json: &Json) -> Result<Mp, String> {
    Ok(match json {
        Json::Null => Mp::Nil,
        Json::Bool(b) => Mp::Boolean(*b),
        Json::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Mp::from(u),
            (None, Some(i), _) => Mp::from(i),
            (None, None, Some(x)) => Mp::F64(x),
            _ => return Err(format!("number {n} cannot be stored")),
        },
        Json::String(s) => Mp::from(s.as_str()),
        Json::Array(items) => Mp::Array(items.iter().map(json_to_mp).collect::<Result<_, _>>()?),
        Json::Object(m) => match m.iter().next() {
            Some((name, inner)) if m.len() == 1 && name.starts_with('$') => {
                special_to_mp(name, inner)?
            }
            _ => Mp::Map(
                m.iter()
                    .map(|(k, v)| Ok((Mp::from(k.as_str()), json_to_mp(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
        },
    })
}

fn special_to_mp(name: &str, inner: &Json) -> Result<Mp, String> {
    let bad = |shape: &str| Err(format!("`{name}` takes {shape}"));
    match name {
        "$bytes" => match inner.as_str() {
            Some(hex) => Ok(Mp::Binary(from_hex(hex)?)),
            None => bad("a hex string"),
        },
        "$map" => {
            let Some(pairs) = inner.as_array() else {
                return bad("an array of [key, value] pairs");
            };
            let mut out = Vec::with_capacity(pairs.len());
            for pair in pairs {
                match pair.as_array().map(Vec::as_slice) {
                    Some([k, v]) => out.push((json_to_mp(k)?, json_to_mp(v)?)),
                    _ => return bad("an array of [key, value] pairs"),
                }
            }
            Ok(Mp::Map(out))
        }
        "$ext" => match inner.as_array().map(Vec::as_slice) {
            Some([Json::Number(ty), Json::String(hex)]) => {
                match ty.as_i64().and_then(|t| i8::try_from(t).ok()) {
                    Some(ty) => Ok(Mp::Ext(ty, from_hex(hex)?)),
                    None => bad("a type from -128 to 127"),
                }
            }
            _ => bad("[type, \"<hex>\"]"),
        },
        "$float" => match inner.as_str() {
            Some("NaN") => Ok(Mp::F64(f64::NAN)),
            Some("Infinity") => Ok(Mp::F64(f64::INFINITY)),
            Some("-Infinity") => Ok(Mp::F64(f64::NEG_INFINITY)),
            _ => bad(r#""NaN", "Infinity" or "-Infinity""#),
        },
        _ => Err(format!(
            "`{name}` is not a known form ($bytes, $map, $ext, $float); \
             write a map whose only key starts with `$` as {{\"$map\":[[key, value]]}}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(json: &str) -> String {
        let j: Json = serde_json::from_str(json).unwrap();
        let mp = encode_msgpack(&j).unwrap();
        decode_msgpack(&mp).unwrap().to_string()
    }

    #[test]
    fn json_round_trips_through_msgpack_keeping_order() {
        for text in [
            r#"{"z":1,"a":[true,null,-3,2.5,"s"],"m":{}}"#,
            r#"{"$bytes":"00ff"}"#,
            r#"{"$map":[[1,"one"],[2,"two"]]}"#,
            r#"{"$map":[["$bytes","not bytes"]]}"#,
            r#"{"$ext":[-1,"0102"]}"#,
            r#"{"$float":"NaN"}"#,
            r#"[18446744073709551615,-9223372036854775808]"#,
        ] {
            assert_eq!(round_trip(text), text);
        }
    }

    #[test]
    fn json_keys_encode_as_rmp_serde_does() {
        #[derive(serde::Serialize)]
        struct P {
            y: i32,
            x: i64,
            name: String,
            small: u8,
        }
        let p = P {
            y: 200,
            x: -70_000,
            name: "p".into(),
            small: 7,
        };
        let want = rmp_serde::to_vec_named(&p).unwrap();
        let j: Json = serde_json::from_str(r#"{"y":200,"x":-70000,"name":"p","small":7}"#).unwrap();
        assert_eq!(encode_msgpack(&j).unwrap(), want);
    }

    #[test]
    fn utc_times_read_back_what_utc_text_writes() {
        use dirkv::format::time::utc_text;
        for ms in [0, 951_782_400_123, 1_735_787_045_000, 4_102_444_799_999] {
            let text = Json::String(format!("{}Z", utc_text(ms)));
            assert_eq!(time_from_json(&text), Ok(ms), "{text}");
        }
        let j = |s: &str| Json::String(s.into());
        assert_eq!(time_from_json(&j("1970-01-01T00:00:01Z")), Ok(1000));
        assert_eq!(time_from_json(&j("1970-01-01T00:00:00.1234Z")), Ok(123));
        assert_eq!(time_from_json(&Json::from(42u64)), Ok(42));
        for bad in [
            "1970-01-01T00:00:00",
            "1970-1-01T00:00:00Z",
            "1970-13-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00.Z",
            "1970-01-01 00:00:00Z",
            "yesterday",
        ] {
            assert!(time_from_json(&j(bad)).is_err(), "{bad}");
        }
        assert!(time_from_json(&Json::from(-1)).is_err());
    }

    #[test]
    fn ttls_take_a_unit() {
        use std::time::Duration;
        assert_eq!(parse_ttl("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_ttl("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(7 * 86_400)));
        for bad in [
            "60",
            "s",
            "1.5h",
            "-1s",
            "1w",
            "0s",
            "99999999999999999999d",
            " 1s",
        ] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn special_forms_are_unambiguous() {
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &Mp::Binary(vec![1, 2])).unwrap();
        assert_eq!(
            decode_msgpack(&bytes).unwrap().to_string(),
            r#"{"$bytes":"0102"}"#
        );
        let j: Json = serde_json::from_str(r#"{"$nope":1}"#).unwrap();
        assert!(encode_msgpack(&j).is_err());
        let f32_bytes = rmp_serde::to_vec(&0.1f32).unwrap();
        assert_eq!(decode_msgpack(&f32_bytes).unwrap().to_string(), "0.1");
        assert!(decode_msgpack(&[0x01, 0x02]).is_err());
    }
}
