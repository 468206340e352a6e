//! `stat` and `verify`: what is in a store folder, and what is wrong with it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json, json};

use super::convert::key_text;
use super::{CmdResult, Fail, Progress, chain, files, open, plural, stdout};
use dirkv::format::entry::HEADER_LEN;
use dirkv::{Access, ErrorKind, FileType, ItemKind, RawStore, ScanItem, StoreFolder};

/// How many foreign paths `stat` lists by name.
const STAT_LIST_MAX: usize = 20;

fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::File => "file",
        FileType::Folder => "folder",
        FileType::Link => "link",
        FileType::Missing => "nothing",
        _ => "special file",
    }
}

/// Files under `dir`, recursively (links not followed); 0 when it does not exist.
fn count_files(dir: &Path) -> u64 {
    let Ok(items) = fs::read_dir(dir) else {
        return 0;
    };
    items
        .flatten()
        .map(|item| match item.file_type() {
            Ok(t) if t.is_dir() => count_files(&item.path()),
            Ok(_) => 1,
            Err(_) => 0,
        })
        .sum()
}

#[derive(Default)]
struct Counts {
    /// The time expiry is judged at, milliseconds since the Unix epoch.
    now_ms: u64,
    entries: u64,
    /// Entries past their expiry, not yet removed.
    expired: u64,
    /// Entry files' lengths (`du --apparent-size`).
    bytes: u64,
    /// Entry files' allocated blocks (`du`, and what `evict_to` bounds).
    disk_bytes: u64,
    per_shard: Vec<u64>,
    temps: u64,
    stale_temps: u64,
    writers: u64,
    dead_writers: u64,
    foreign: Vec<PathBuf>,
    foreign_total: u64,
    misplaced: u64,
    missing_shards: u64,
    bad_shards: u64,
}

impl Counts {
    fn add(&mut self, item: &ScanItem) {
        match item.kind {
            ItemKind::Entry => {
                self.entries += 1;
                self.bytes += item.len;
                // The header is plain text even in an encrypted store: no key needed.
                match files::read_prefix(&item.path, HEADER_LEN) {
                    Ok(Some(prefix)) => {
                        self.disk_bytes += prefix.disk_bytes();
                        let header = dirkv::format::entry::parse_header(&prefix.bytes);
                        if header.is_ok_and(|h| h.expired_at(self.now_ms)) {
                            self.expired += 1;
                        }
                    }
                    _ => self.disk_bytes += files::disk_bytes_at(&item.path),
                }
                let shard = item
                    .path
                    .parent()
                    .and_then(Path::file_name)
                    .and_then(|n| n.to_str())
                    .and_then(|n| u8::from_str_radix(n, 16).ok());
                if let Some(s) = shard {
                    self.per_shard[usize::from(s)] += 1;
                }
            }
            ItemKind::Temp { stale } => {
                self.temps += 1;
                self.stale_temps += u64::from(stale);
            }
            ItemKind::Marker { alive: true } => self.writers += 1,
            ItemKind::Marker { alive: false } => self.dead_writers += 1,
            ItemKind::Foreign => {
                self.foreign_total += 1;
                if self.foreign.len() < STAT_LIST_MAX {
                    self.foreign.push(item.path.clone());
                }
            }
            ItemKind::Misplaced => self.misplaced += 1,
            ItemKind::MissingShard => self.missing_shards += 1,
            ItemKind::ShardNotAFolder => self.bad_shards += 1,
            _ => {}
        }
    }
}

/// Whether a manifest setting belongs to encryption (shown on its own line by `stat`).
fn is_encryption_setting(name: &str) -> bool {
    name == "encryption" || name.starts_with("encryption_")
}

/// The encryption of a store as `stat` shows it: `none`, or the cipher and how the key is
/// made.
fn encryption_text(folder: &StoreFolder) -> String {
    let get = |name: &str| folder.settings().get(name).map_or("?", String::as_str);
    if !folder.is_encrypted() {
        return "none".to_owned();
    }
    let key = match get("encryption_kdf") {
        "none" => "a 32-byte key (DIRKV_KEY)".to_owned(),
        "argon2id" => format!(
            "a passphrase (DIRKV_PASSPHRASE), Argon2id with memory {} KiB, iterations {}, parallelism {}",
            get("encryption_kdf_memory_kib"),
            get("encryption_kdf_iterations"),
            get("encryption_kdf_parallelism")
        ),
        other => format!("key derivation `{other}`"),
    };
    format!("{}, key: {key}", get("encryption"))
}

/// The encryption of a store as `stat --json` shows it: `null`, or
/// `{"cipher":…,"kdf":…}` with Argon2id's `memory_kib`, `iterations` and `parallelism`.
fn encryption_json(folder: &StoreFolder) -> Json {
    if !folder.is_encrypted() {
        return Json::Null;
    }
    let settings = folder.settings();
    let mut out = Map::new();
    for (field, name) in [("cipher", "encryption"), ("kdf", "encryption_kdf")] {
        if let Some(value) = settings.get(name) {
            out.insert(field.into(), value.clone().into());
        }
    }
    for field in ["memory_kib", "iterations", "parallelism"] {
        if let Some(value) = settings.get(&format!("encryption_kdf_{field}")) {
            let value = value
                .parse::<u64>()
                .map_or_else(|_| value.clone().into(), Json::from);
            out.insert(field.into(), value);
        }
    }
    Json::Object(out)
}

/// Reads only the manifest, the folder listing and the entry headers (plain text in every
/// store), so it needs no key for an encrypted store.
pub(crate) fn stat(dir: &Path, as_json: bool) -> CmdResult {
    let store = StoreFolder::read(dir)?;
    let progress = Progress::shards("scanning", false);
    let mut c = Counts {
        now_ms: super::now_ms(),
        per_shard: vec![0; 256],
        ..Counts::default()
    };
    let mut failed = 0u64;
    for item in store.scan() {
        match item {
            Ok(item) => {
                progress.at(&item.path);
                c.add(&item);
            }
            Err(err) => {
                progress.suspend(|| super::warn(&chain(&err)));
                failed += 1;
            }
        }
    }
    progress.finish();
    let quarantined = count_files(&store.path().join(dirkv::format::names::QUARANTINE));
    let min = c.per_shard.iter().copied().min().unwrap_or(0);
    let max = c.per_shard.iter().copied().max().unwrap_or(0);
    let mean = c.entries as f64 / 256.0;
    let settings: Vec<String> = store
        .settings()
        .iter()
        .filter(|(k, _)| !is_encryption_setting(k))
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    let mut out = stdout();
    if as_json {
        let value = json!({
            "path": store.path().to_string_lossy(),
            "format": store.format(),
            "shard_depth": store.shard_depth(),
            "key": store.key_encoding(),
            "codec": store.codec(),
            "settings": store.settings(),
            "encryption": encryption_json(&store),
            "entries": c.entries,
            "expired": c.expired,
            "bytes": c.bytes,
            "disk_bytes": c.disk_bytes,
            "shard_fill": {"min": min, "mean": mean, "max": max},
            "temp_files": c.temps,
            "stale_temp_files": c.stale_temps,
            "open_writers": c.writers,
            "gone_writers": c.dead_writers,
            "foreign": c.foreign_total,
            "foreign_paths": c.foreign.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
            "misplaced": c.misplaced,
            "missing_shards": c.missing_shards,
            "bad_shards": c.bad_shards,
            "quarantined_files": quarantined,
        });
        writeln!(out, "{value}")?;
    } else {
        let settings = if settings.is_empty() {
            "none".to_owned()
        } else {
            settings.join(", ")
        };
        writeln!(out, "store        {}", store.path().display())?;
        writeln!(
            out,
            "format       {} (shard depth {})",
            store.format(),
            store.shard_depth()
        )?;
        writeln!(out, "key          {}", store.key_encoding())?;
        writeln!(out, "codec        {}", store.codec())?;
        writeln!(out, "settings     {settings}")?;
        writeln!(out, "encryption   {}", encryption_text(&store))?;
        writeln!(out, "entries      {}", c.entries)?;
        writeln!(
            out,
            "expired      {} (past their expiry, not yet removed)",
            c.expired
        )?;
        writeln!(
            out,
            "bytes        {} (entry files' lengths, as du --apparent-size counts)",
            c.bytes
        )?;
        writeln!(
            out,
            "disk         {} (allocated blocks, as du counts: what evict_to bounds)",
            c.disk_bytes
        )?;
        writeln!(
            out,
            "shard fill   min {min}, mean {mean:.2}, max {max} entries per shard (256 shards)"
        )?;
        writeln!(out, "temp files   {} ({} stale)", c.temps, c.stale_temps)?;
        writeln!(
            out,
            "writers      {} open, {} gone without closing",
            c.writers, c.dead_writers
        )?;
        writeln!(out, "foreign      {}", c.foreign_total)?;
        for p in &c.foreign {
            writeln!(out, "               {}", p.display())?;
        }
        if c.foreign_total > c.foreign.len() as u64 {
            writeln!(
                out,
                "               … and {} more",
                c.foreign_total - c.foreign.len() as u64
            )?;
        }
        writeln!(
            out,
            "misplaced    {} (entries in the wrong shard)",
            c.misplaced
        )?;
        if c.missing_shards + c.bad_shards > 0 {
            writeln!(
                out,
                "bad shards   {} missing, {} not folders",
                c.missing_shards, c.bad_shards
            )?;
        }
        writeln!(out, "quarantine   {quarantined} files")?;
    }
    out.flush()?;
    if failed > 0 {
        return Err(Fail::error(format!("{failed} folders could not be listed")));
    }
    Ok(())
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

pub(crate) fn verify(dir: &Path, repair: bool) -> CmdResult {
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
