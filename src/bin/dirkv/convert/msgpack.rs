//! JSON to and from MessagePack through `rmpv` trees, with the `$` forms for what JSON
//! cannot express: for keys (small) and values given as JSON. (Values are shown by the
//! streaming transcoder in `stream/`, which writes the same JSON.)

use rmpv::Value as Mp;
use serde_json::{Map, Number, Value as Json};

use super::{bytes_json, from_hex, special};

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
