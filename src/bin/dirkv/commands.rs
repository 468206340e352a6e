//! `init`, `ls`, `get`, `set`, `rm`, `path`, `export`, `import`.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value as Json};

use super::convert::{self, key_json, key_text};
use super::{CmdResult, Fail, KeyOpts, Progress, chain, open, stdout, unlock, warn};
use dirkv::format::time::utc_text;
use dirkv::{Access, Durability, RawEntry, RawStore};

/// Entries written per batch by `import`.
const IMPORT_BATCH: usize = 1024;

pub(crate) fn init(dir: &Path, key_type: &str, codec: &str, encrypt: bool) -> CmdResult {
    if encrypt {
        return unlock::create_encrypted(dir, key_type, codec);
    }
    let unused = unlock::vars_set();
    if !unused.is_empty() {
        warn(&format!(
            "note: {} {} set, but without --encrypt the new store is not encrypted",
            unused.join(" and "),
            if unused.len() == 1 { "is" } else { "are" }
        ));
    }
    RawStore::create(dir, key_type, codec)?;
    Ok(())
}

fn time_text(ms: u64) -> String {
    format!("{}Z", utc_text(ms))
}

pub(crate) fn ls(dir: &Path, long: bool, json: bool) -> CmdResult {
    let store = open(dir, Access::ReadOnly)?;
    let encoding = store.key_encoding().to_owned();
    let progress = Progress::shards("listing", true);
    let mut out = stdout();
    let mut failed = 0u64;
    for item in store.keys() {
        let entry = match item {
            Ok(entry) => entry,
            Err(err) => {
                progress.suspend(|| warn(&chain(&err)));
                failed += 1;
                continue;
            }
        };
        progress.at(&entry.path);
        if json {
            let mut line = Map::new();
            line.insert("key".into(), key_json(&encoding, &entry.key));
            if long {
                add_long_fields(&mut line, &entry);
            }
            serde_json::to_writer(&mut out, &line).map_err(io::Error::from)?;
            out.write_all(b"\n")?;
        } else if long {
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}",
                key_text(&encoding, &entry.key),
                entry.info.file_len,
                time_text(entry.info.modified_ms),
                entry
                    .info
                    .expires_ms
                    .map_or_else(|| "never".to_owned(), time_text),
                entry.path.display()
            )?;
        } else {
            writeln!(out, "{}", key_text(&encoding, &entry.key))?;
        }
    }
    out.flush()?;
    progress.finish();
    if failed > 0 {
        return Err(Fail::error(format!("{failed} entries could not be read")));
    }
    Ok(())
}

fn add_long_fields(line: &mut Map<String, Json>, entry: &RawEntry) {
    line.insert("size".into(), entry.info.file_len.into());
    line.insert("modified".into(), time_text(entry.info.modified_ms).into());
    if let Some(expires) = entry.info.expires_ms {
        line.insert("expires".into(), time_text(expires).into());
    }
    line.insert(
        "path".into(),
        entry.path.to_string_lossy().into_owned().into(),
    );
}

/// The codec the Python package writes with `pickle`: its values are Python objects that
/// only Python can read (and that run code when read), so this tool neither shows nor
/// writes them.
const PICKLE: &str = "pickle";

/// Refuses to show (`verb` "read") or write ("write") the values of a store whose codec
/// this tool must not handle.
fn refuse_codec(store: &RawStore, verb: &str) -> CmdResult {
    if store.codec() != PICKLE {
        return Ok(());
    }
    Err(Fail::error(format!(
        "values of this store are Python pickles; {verb} them with the dirkv Python package \
         (codec = {PICKLE} in {})",
        store.path().join(dirkv::format::names::MANIFEST).display()
    )))
}

fn key_arg(store: &RawStore, arg: &OsStr, hex: bool) -> Result<Vec<u8>, Fail> {
    convert::key_from_arg(store, arg, hex).map_err(Fail::usage)
}

/// The longest key file read: room for the longest key in hex or as escaped JSON.
const KEY_FILE_MAX: u64 = 1 << 20;

/// The bytes of `--key-file FILE` (`-`: standard input).
fn read_key_file(path: &Path) -> Result<Vec<u8>, Fail> {
    let (reader, name): (Box<dyn Read>, String) = if path == Path::new("-") {
        (Box::new(io::stdin().lock()), "standard input".into())
    } else {
        let file = File::open(path).map_err(|e| {
            Fail::usage(format!("cannot open the key file: {}: {e}", path.display()))
        })?;
        (Box::new(file), path.display().to_string())
    };
    let mut bytes = Vec::new();
    reader
        .take(KEY_FILE_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Fail::usage(format!("cannot read the key from {name}: {e}")))?;
    if bytes.len() as u64 > KEY_FILE_MAX {
        return Err(Fail::usage(format!(
            "{name} holds more than {KEY_FILE_MAX} bytes: too long for a key"
        )));
    }
    Ok(bytes)
}

/// The key bytes of a command: from `arg`, or from `--key-file` (then `arg` must be
/// absent).
fn key_input(store: &RawStore, arg: Option<&OsStr>, opts: &KeyOpts) -> Result<Vec<u8>, Fail> {
    match (&opts.key_file, arg) {
        (Some(_), Some(arg)) => Err(Fail::usage(format!(
            "give the key either as an argument or with --key-file, not both (found `{}`)",
            arg.to_string_lossy()
        ))),
        (Some(path), None) => {
            let bytes = read_key_file(path)?;
            convert::key_from_file(store, &bytes, opts.key_hex).map_err(Fail::usage)
        }
        (None, Some(arg)) => key_arg(store, arg, opts.key_hex),
        (None, None) => Err(Fail::usage("no key given".into())),
    }
}

/// A key for a message: as `ls` shows it, cut short when long.
fn key_label(store: &RawStore, key: &[u8]) -> String {
    const MAX: usize = 100;
    let text = key_text(store.key_encoding(), key);
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}… ({} bytes)", &text[..at], key.len()),
        None => text,
    }
}

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

pub(crate) fn rm(
    dir: &Path,
    keys: &[std::ffi::OsString],
    key_opts: &KeyOpts,
    force: bool,
) -> CmdResult {
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
        return Err(Fail::quiet(super::MISSING));
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

/// Writes one export line: `{"key":…,"value":…,"created":…,"modified":…}`, and
/// `"expires"` when the entry expires (times as `ls -l` shows them), the value streamed.
fn write_export_line<W: Write>(
    out: &mut W,
    store: &RawStore,
    entry: &RawEntry,
    value: &convert::Shown<'_>,
) -> io::Result<()> {
    out.write_all(b"{\"key\":")?;
    serde_json::to_writer(&mut *out, &key_json(store.key_encoding(), &entry.key))?;
    out.write_all(b",\"value\":")?;
    value.write(out, false)?;
    let times = [
        ("created", Some(entry.info.created_ms)),
        ("modified", Some(entry.info.modified_ms)),
        ("expires", entry.info.expires_ms),
    ];
    for (name, ms) in times {
        if let Some(ms) = ms {
            write!(out, ",\"{name}\":")?;
            serde_json::to_writer(&mut *out, &time_text(ms))?;
        }
    }
    out.write_all(b"}\n")
}

pub(crate) fn export(dir: &Path, out_path: Option<&Path>) -> CmdResult {
    let store = open(dir, Access::ReadOnly)?;
    refuse_codec(&store, "read")?;
    let progress = Progress::shards("exporting", out_path.is_none());
    let file_err = |path: &Path, e: io::Error| {
        Fail::error(format!(
            "cannot write the export file: {}: {e}",
            path.display()
        ))
    };
    // A file is written beside its final name and renamed into place when complete.
    let (mut out, temp): (Box<dyn Write>, _) = match out_path {
        None => (Box::new(stdout()), None),
        Some(path) => {
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let temp = tempfile::Builder::new()
                .prefix(".dirkv-export-")
                .tempfile_in(parent)
                .map_err(|e| file_err(path, e))?;
            let file = temp.reopen().map_err(|e| file_err(path, e))?;
            (
                Box::new(io::BufWriter::with_capacity(64 * 1024, file)),
                Some((temp, path)),
            )
        }
    };
    let write_err = |e: io::Error| match &temp {
        Some((_, path)) => file_err(path, e),
        None => Fail::from(e),
    };
    let mut failed = 0u64;
    for item in store.entries() {
        let written = item.and_then(|entry| {
            progress.at(&entry.path);
            let value = entry.value.as_deref().unwrap_or_default();
            // Checked whole before anything of its line is written.
            let shown = convert::shown(store.codec(), value).map_err(|m| {
                dirkv::Error::new(
                    dirkv::ErrorKind::Decode,
                    format!("cannot export the value as JSON ({m})"),
                )
                .with_path(&entry.path)
            })?;
            Ok(write_export_line(&mut out, &store, &entry, &shown))
        });
        match written {
            Ok(result) => result.map_err(write_err)?,
            Err(err) => {
                progress.suspend(|| warn(&chain(&err)));
                failed += 1;
            }
        }
    }
    out.flush().map_err(write_err)?;
    drop(out);
    progress.finish();
    if let Some((temp, path)) = temp {
        temp.as_file().sync_all().map_err(|e| file_err(path, e))?;
        temp.persist(path).map_err(|e| file_err(path, e.error))?;
    }
    if failed > 0 {
        return Err(Fail::error(format!(
            "{failed} entries could not be exported (the others were)"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    #[serde(borrow)]
    key: &'a RawValue,
    #[serde(borrow)]
    value: &'a RawValue,
    /// Restored.
    created: Option<Json>,
    /// Taken and checked, not restored: a value imported is written at import time.
    modified: Option<Json>,
    /// Restored; an entry whose expiry has passed is skipped.
    expires: Option<Json>,
}

/// An entry to write: key, value, created, expires (milliseconds since the Unix epoch).
type Item = (Vec<u8>, Vec<u8>, u64, Option<u64>);

/// Parses one import line into the entry to write; `None` when it has expired at `now_ms`.
/// A line without `created` (an export of an older dirkv) is created now; one without
/// `expires` never expires.
fn import_line(store: &RawStore, text: &str, now_ms: u64) -> Result<Option<Item>, String> {
    let line: Line<'_> = serde_json::from_str(text)
        .map_err(|e| format!("not a {{\"key\":…,\"value\":…}} line: {e}"))?;
    let time = |field: &str, json: Option<&Json>| {
        json.map(convert::time_from_json)
            .transpose()
            .map_err(|m| format!("{field}: {m}"))
    };
    let created = time("created", line.created.as_ref())?.unwrap_or(now_ms);
    time("modified", line.modified.as_ref())?;
    let expires = time("expires", line.expires.as_ref())?;
    let key = convert::key_from_json(store, line.key.get()).map_err(|m| format!("key: {m}"))?;
    let value: Json = serde_json::from_str(line.value.get()).map_err(|e| e.to_string())?;
    let value =
        convert::value_from_json(store.codec(), &value).map_err(|m| format!("value: {m}"))?;
    store
        .check_value(&value)
        .map_err(|e| format!("value: {e}"))?;
    if expires.is_some_and(|at| at <= now_ms) {
        return Ok(None);
    }
    Ok(Some((key, value, created, expires)))
}

/// Writes the batch through the library and empties it.
fn write_batch(store: &RawStore, batch: &mut Vec<Item>) -> CmdResult {
    store.set_many_with_times(
        batch
            .iter()
            .map(|(k, v, created, expires)| (k.as_slice(), v.as_slice(), *created, *expires)),
    )?;
    batch.clear();
    Ok(())
}

pub(crate) fn import(dir: &Path, input: Option<&Path>, no_sync: bool) -> CmdResult {
    let mut store = open(dir, Access::ReadWrite)?;
    refuse_codec(&store, "write")?;
    if no_sync {
        store = store.with_durability(Durability::Fast);
    }
    let (mut reader, name, len): (Box<dyn BufRead>, String, Option<u64>) = match input {
        None => (
            Box::new(BufReader::new(io::stdin().lock())),
            "standard input".into(),
            None,
        ),
        Some(path) => {
            let file = File::open(path).map_err(|e| {
                Fail::error(format!("cannot open the input: {}: {e}", path.display()))
            })?;
            let len = file.metadata().ok().map(|m| m.len());
            (
                Box::new(BufReader::with_capacity(64 * 1024, file)),
                path.display().to_string(),
                len,
            )
        }
    };
    let progress = Progress::bytes("importing", len);
    let mut batch: Vec<Item> = Vec::with_capacity(IMPORT_BATCH);
    let mut text = String::new();
    let mut number = 0u64;
    let mut expired = 0u64;
    // On a bad line, the lines before it are written, and nothing after it.
    let stop = |store: &RawStore, batch: &mut Vec<Item>, fail: Fail| -> CmdResult {
        progress.finish();
        write_batch(store, batch)?;
        Err(fail)
    };
    loop {
        text.clear();
        let read = match reader.read_line(&mut text) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                let fail = Fail::usage(format!("{name}:{}: not UTF-8 text", number + 1));
                return stop(&store, &mut batch, fail);
            }
            Err(e) => {
                let fail = Fail::error(format!("cannot read {name}: {e}"));
                return stop(&store, &mut batch, fail);
            }
        };
        if read == 0 {
            break;
        }
        number += 1;
        progress.add(read as u64);
        if text.trim().is_empty() {
            continue;
        }
        match import_line(&store, &text, super::now_ms()) {
            Ok(Some(item)) => batch.push(item),
            Ok(None) => expired += 1,
            Err(m) => {
                let fail = Fail::usage(format!(
                    "{name}:{number}: {m} (the lines before it were imported)"
                ));
                return stop(&store, &mut batch, fail);
            }
        }
        if batch.len() >= IMPORT_BATCH {
            write_batch(&store, &mut batch)?;
        }
    }
    write_batch(&store, &mut batch)?;
    progress.finish();
    if expired > 0 {
        warn(&format!(
            "skipped {} whose expiry had passed",
            super::plural(expired, "entry", "entries")
        ));
    }
    Ok(())
}
