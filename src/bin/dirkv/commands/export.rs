//! `export`: every entry as a JSON Lines record, to standard output or atomically to a
//! file.

use std::io::{self, Write};
use std::path::Path;

use dirkv::{Access, RawEntry, RawStore};

use super::{refuse_codec, time_text};
use crate::convert::{self, key_json};
use crate::fail::{CmdResult, Fail, chain};
use crate::progress::Progress;
use crate::{open, stdout, warn};

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
