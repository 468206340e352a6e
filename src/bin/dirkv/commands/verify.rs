//! `verify`: check every entry and file of a store, and with `--repair` quarantine what
//! is damaged or foreign, remove stale temp files and recreate missing folders.

use std::io::Write;
use std::path::Path;

use dirkv::{Access, ErrorKind, FileType, ItemKind, RawStore, ScanItem};

use crate::convert::key_text;
use crate::fail::{CmdResult, Fail, chain};
use crate::progress::Progress;
use crate::{files, open, plural, stdout};

fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::File => "file",
        FileType::Folder => "folder",
        FileType::Link => "link",
        FileType::Missing => "nothing",
        _ => "special file",
    }
}

/// How `verify` counts a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Finding {
    /// Damage or something that does not belong: exit status 3. `--repair` moves it into
    /// the quarantine when `movable`.
    Problem { movable: bool },
    /// A leftover the library sweeps by itself (stale temp files, a crashed writer's
    /// marker): reported, removed by `--repair`, but not a problem.
    Leftover,
}

/// What `verify` says about one item.
fn diagnose(store: &RawStore, item: &ScanItem) -> Option<(String, Finding)> {
    let path = item.path.display();
    let problem = |text: String, movable: bool| Some((text, Finding::Problem { movable }));
    match item.kind {
        ItemKind::Entry => match store.verify_file(&item.path) {
            Ok(_) => None,
            Err(err) => {
                let movable = matches!(err.kind(), ErrorKind::Corrupt | ErrorKind::Decode);
                let mut text = chain(&err);
                if err.kind() == ErrorKind::IncompatibleFormat {
                    text.push_str(" (left in place)");
                }
                problem(text, movable)
            }
        },
        ItemKind::Misplaced => problem(
            format!("entry file in the wrong shard folder (never read): {path}"),
            true,
        ),
        ItemKind::Foreign => problem(
            format!(
                "foreign {} (not made by dirkv): {path}",
                type_name(item.file_type)
            ),
            true,
        ),
        ItemKind::MissingShard => problem(format!("shard folder is missing: {path}"), false),
        ItemKind::ShardNotAFolder => problem(
            format!(
                "shard folder is a {}, not a folder (move it away by hand): {path}",
                type_name(item.file_type)
            ),
            false,
        ),
        ItemKind::Temp { stale: true } => Some((
            format!("note: stale temp file (its writer is gone): {path}"),
            Finding::Leftover,
        )),
        ItemKind::Marker { alive: false } => Some((
            format!("note: marker of a writer that is gone: {path}"),
            Finding::Leftover,
        )),
        _ => None,
    }
}

/// `verify` of a store on object storage: every entry read completely (header, checksum,
/// the key under its name, key and value valid for the manifest). Objects that are not
/// entries are not looked at; there is nothing to repair.
fn verify_remote(dir: &Path, repair: bool) -> CmdResult {
    if repair {
        return Err(Fail::usage(
            "verify --repair works on a local folder only; a store on object storage has \
             no folders or temp files to repair"
                .into(),
        ));
    }
    let store = open(dir, Access::ReadOnly)?;
    let mut out = stdout();
    let (mut entries, mut problems) = (0u64, 0u64);
    for entry in store.entries() {
        entries += 1;
        let found = entry.and_then(|e| {
            store.check_key(&e.key)?;
            e.value.as_deref().map_or(Ok(()), |v| store.check_value(v))
        });
        if let Err(err) = found {
            problems += 1;
            writeln!(out, "{}", chain(&err))?;
        }
    }
    let checked = format!("checked {}", plural(entries, "entry", "entries"));
    match problems {
        0 => writeln!(out, "{checked}: no problems")?,
        n => writeln!(out, "{checked}: {}", plural(n, "problem", "problems"))?,
    }
    out.flush()?;
    if problems > 0 {
        return Err(Fail::problems());
    }
    Ok(())
}

pub(crate) fn verify(dir: &Path, repair: bool) -> CmdResult {
    if crate::store_url(dir).is_some() {
        return verify_remote(dir, repair);
    }
    // Repair opens for writing, which (as every writable open) first sweeps the temp files
    // of writers known to have crashed.
    let access = if repair {
        Access::ReadWrite
    } else {
        Access::ReadOnly
    };
    let store = open(dir, access)?;
    let progress = Progress::shards("verifying", false);
    let mut out = stdout();
    let mut quarantine = store.quarantine();
    let (mut entries, mut problems, mut repaired) = (0u64, 0u64, 0u64);
    let (mut leftovers, mut missing) = (0u64, 0u64);
    let mut say =
        |line: String| progress.suspend(|| writeln!(out, "{line}").and_then(|()| out.flush()));
    for item in store.scan() {
        let item = match item {
            Ok(item) => item,
            Err(err) => {
                problems += 1;
                say(chain(&err))?;
                continue;
            }
        };
        progress.at(&item.path);
        entries += u64::from(item.kind == ItemKind::Entry);
        let Some((what, finding)) = diagnose(&store, &item) else {
            continue;
        };
        say(what)?;
        let movable = match finding {
            Finding::Leftover => {
                leftovers += 1;
                continue;
            }
            Finding::Problem { movable } => {
                problems += 1;
                missing += u64::from(item.kind == ItemKind::MissingShard);
                movable
            }
        };
        if !(repair && movable) {
            continue;
        }
        match quarantine.move_in(&item.path) {
            Ok(Some(dest)) => {
                repaired += 1;
                say(format!("  moved to {}", dest.display()))?;
                if let Some(key) = held_key(&store, &item, &dest) {
                    say(format!("  it held the key {key}"))?;
                }
            }
            Ok(None) => {
                repaired += 1;
                say("  intact now (rewritten meanwhile) or gone; left alone".into())?;
            }
            Err(err) => say(format!("  cannot quarantine: {}", chain(&err)))?,
        }
    }
    if repair && missing > 0 {
        match store.restore_folders() {
            Ok(made) => {
                repaired += (made.len() as u64).min(missing);
                say(format!(
                    "repair: recreated {}",
                    plural(made.len() as u64, "folder", "folders")
                ))?;
            }
            Err(err) => say(format!("repair: cannot recreate folders: {}", chain(&err)))?,
        }
    }
    if repair && leftovers > 0 {
        match store.sweep_temps() {
            Ok(n) => say(format!(
                "repair: removed {}",
                plural(
                    n as u64,
                    "stale temp file or marker",
                    "stale temp files and markers"
                )
            ))?,
            Err(err) => say(format!("repair: cannot remove temp files: {}", chain(&err)))?,
        }
    }
    progress.finish();
    let notes = match leftovers {
        0 => String::new(),
        n => format!(" ({})", plural(n, "note", "notes")),
    };
    let checked = format!("checked {}", plural(entries, "entry", "entries"));
    let found = plural(problems, "problem", "problems");
    // What is still wrong: everything found without --repair; with it, what it could not
    // repair (an entry of a newer format, a shard that is a file, a folder that cannot
    // be listed, a move that failed).
    let left = if repair {
        problems.saturating_sub(repaired)
    } else {
        problems
    };
    let summary = match (problems, repair) {
        (0, _) => format!("{checked}: no problems{notes}"),
        (_, false) => format!("{checked}: {found}{notes}"),
        (_, true) if left == 0 => format!("{checked}: {found}, all repaired{notes}"),
        (_, true) => format!("{checked}: {found}, {repaired} repaired, {left} left{notes}"),
    };
    say(summary)?;
    if left > 0 {
        return Err(Fail::problems());
    }
    Ok(())
}

/// The key a quarantined entry file (now at `dest`) still holds, as `ls` shows keys: for
/// entries and misplaced entries whose key bytes hash to their file name.
fn held_key(store: &RawStore, item: &ScanItem, dest: &Path) -> Option<String> {
    if !matches!(item.kind, ItemKind::Entry | ItemKind::Misplaced) {
        return None;
    }
    let name = item.path.file_name()?.to_str()?;
    let key = files::key_held(dest, name)?;
    Some(key_text(store.key_encoding(), &key))
}
