//! `import`: read JSON Lines records (as `export` writes them) and set each entry, in
//! batches.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value as Json;
use serde_json::value::RawValue;

use dirkv::{Access, Durability, RawStore};

use super::refuse_codec;
use crate::convert;
use crate::fail::{CmdResult, Fail};
use crate::progress::Progress;
use crate::{now_ms, open, plural, warn};

/// Entries written per batch by `import`.
const IMPORT_BATCH: usize = 1024;

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
        match import_line(&store, &text, now_ms()) {
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
            plural(expired, "entry", "entries")
        ));
    }
    Ok(())
}
