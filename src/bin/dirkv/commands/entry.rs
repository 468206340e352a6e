//! `get`, `set`, `rm` and `path`: the commands on the entries of keys given on the
//! command line (or with `--key-file`).

use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

use serde_json::Value as Json;

use dirkv::Access;

use super::key_input::{key_arg, key_input, key_label};
use super::refuse_codec;
use crate::cli::KeyOpts;
use crate::convert;
use crate::fail::{self, CmdResult, Fail};
use crate::{open, stdout, warn};

pub(crate) fn get(
    dir: &Path,
    key: Option<&OsStr>,
    key_opts: &KeyOpts,
    raw: bool,
    pretty: bool,
) -> CmdResult {
    let store = open(dir, Access::ReadOnly)?;
    if !raw {
        refuse_codec(&store, "read")?;
    }
    let key_bytes = key_input(&store, key, key_opts)?;
    let Some(entry) = store.get(&key_bytes)? else {
        return Err(Fail::missing(format!(
            "no such key: {}",
            key_label(&store, &key_bytes)
        )));
    };
    let value = entry.value.unwrap_or_default();
    let mut out = stdout();
    if raw {
        out.write_all(&value)?;
    } else {
        let shown = convert::shown(store.codec(), &value).map_err(|m| {
            Fail::error(format!(
                "cannot show the value as JSON ({m}); try --raw: {}",
                entry.path.display()
            ))
        })?;
        shown.write(&mut out, pretty)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

pub(crate) fn set(
    dir: &Path,
    first: &OsStr,
    second: Option<&OsStr>,
    key_opts: &KeyOpts,
    raw: bool,
    ttl: Option<Duration>,
) -> CmdResult {
    let store = open(dir, Access::ReadWrite)?;
    refuse_codec(&store, "write")?;
    // `set DIR KEY VALUE`, or `set DIR VALUE` with --key-file.
    let (key, value) = match (&key_opts.key_file, second) {
        (None, Some(value)) => (Some(first), value),
        (Some(_), None) => (None, first),
        (None, None) => return Err(Fail::usage("no value given: set DIR KEY VALUE".into())),
        (Some(_), Some(_)) => {
            return Err(Fail::usage(
                "with --key-file, give only the value after DIR: set --key-file FILE DIR VALUE"
                    .into(),
            ));
        }
    };
    if value == "-" && key_opts.key_file.as_deref() == Some(Path::new("-")) {
        return Err(Fail::usage(
            "the key and the value cannot both come from standard input".into(),
        ));
    }
    let key_bytes = key_input(&store, key, key_opts)?;
    let input = if value == "-" {
        let mut buf = Vec::new();
        io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| Fail::error(format!("cannot read standard input: {e}")))?;
        buf
    } else {
        value.as_encoded_bytes().to_vec()
    };
    let bytes = if raw {
        input
    } else {
        let json: Json = serde_json::from_slice(&input).map_err(|e| {
            Fail::usage(format!(
                "the value is not JSON: {e}{}",
                not_json_hint(store.codec(), &input)
            ))
        })?;
        convert::value_from_json(store.codec(), &json).map_err(Fail::usage)?
    };
    match ttl {
        Some(ttl) => store.set_with_ttl(&key_bytes, &bytes, ttl)?,
        None => store.set(&key_bytes, &bytes)?,
    }
    Ok(())
}

/// What to say after "the value is not JSON" for a value that does not even start like
/// structured JSON (`set k hello`): that a JSON string needs its quotes, and for a `raw`
/// store that `--raw` stores the bytes as they are.
fn not_json_hint(codec: &str, input: &[u8]) -> String {
    let start = input.trim_ascii_start();
    if matches!(start.first(), Some(b'{' | b'[' | b'"')) {
        return String::new();
    }
    let quoted = match std::str::from_utf8(input) {
        Ok(text) if text.len() <= 40 && !text.contains(['\'', '"', '\\']) && !text.is_empty() => {
            format!("'\"{text}\"'")
        }
        _ => "'\"…\"'".to_owned(),
    };
    let raw = if codec == "raw" {
        "; or store the bytes as they are with --raw"
    } else {
        ""
    };
    format!(" (a JSON string needs its quotes: {quoted}{raw})")
}

pub(crate) fn rm(dir: &Path, keys: &[OsString], key_opts: &KeyOpts, force: bool) -> CmdResult {
    let store = open(dir, Access::ReadWrite)?;
    let mut parsed = keys
        .iter()
        .map(|k| key_arg(&store, k, key_opts.key_hex))
        .collect::<Result<Vec<_>, _>>()?;
    if key_opts.key_file.is_some() {
        parsed.push(key_input(&store, None, key_opts)?);
    }
    let mut missing = 0;
    for key in &parsed {
        if !store.remove(key)? && !force {
            warn(&format!("no such key: {}", key_label(&store, key)));
            missing += 1;
        }
    }
    if missing > 0 {
        return Err(Fail::quiet(fail::MISSING));
    }
    Ok(())
}

pub(crate) fn path(dir: &Path, key: Option<&OsStr>, key_opts: &KeyOpts) -> CmdResult {
    let store = open(dir, Access::ReadOnly)?;
    let key_bytes = key_input(&store, key, key_opts)?;
    let mut out = stdout();
    writeln!(out, "{}", store.path_of(&key_bytes).display())?;
    out.flush()?;
    Ok(())
}
