//! `ls`: list the keys, with `-l` their sizes, times and paths, with `--json` as JSON
//! Lines.

use std::io::{self, Write};
use std::path::Path;

use serde_json::{Map, Value as Json};

use dirkv::{Access, RawEntry};

use super::time_text;
use crate::convert::{key_json, key_text};
use crate::fail::{CmdResult, Fail, chain};
use crate::progress::Progress;
use crate::{open, stdout, warn};

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
