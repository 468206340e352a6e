//! `stat`: what is in a store folder (manifest, counts, bytes, shard fill, leftovers),
//! read without the store's key.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json, json};

use dirkv::format::entry::HEADER_LEN;
use dirkv::{ItemKind, ScanItem, StoreFolder};

use crate::fail::{CmdResult, Fail, chain};
use crate::progress::Progress;
use crate::{files, now_ms, shard_of, stdout, warn};

/// How many foreign paths `stat` lists by name.
const STAT_LIST_MAX: usize = 20;

/// Files under `dir`, recursively, at most 32 folders deep (links are counted as files,
/// never followed, `dir` itself included); 0 when it does not exist or is not a folder.
fn count_files(dir: &Path, depth: usize) -> u64 {
    // A count only, read-only: a link swapped in between these two calls could at worst
    // make it count files elsewhere.
    if !fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_dir()) {
        return 0;
    }
    let Ok(items) = fs::read_dir(dir) else {
        return 0;
    };
    items
        .flatten()
        .map(|item| match item.file_type() {
            Ok(t) if t.is_dir() && depth < 32 => count_files(&item.path(), depth + 1),
            Ok(t) if t.is_dir() => 0,
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
                if let Some(s) = shard_of(&item.path) {
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
    if crate::store_url(dir).is_some() {
        return Err(Fail::usage(
            "stat works on a local folder only (it reads the folder's files); for a store on \
             object storage use `ls -l` or `verify`"
                .into(),
        ));
    }
    let store = StoreFolder::read(dir)?;
    let progress = Progress::shards("scanning", false);
    let mut c = Counts {
        now_ms: now_ms(),
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
                progress.suspend(|| warn(&chain(&err)));
                failed += 1;
            }
        }
    }
    progress.finish();
    let quarantined = count_files(&store.path().join(dirkv::format::names::QUARANTINE), 0);
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
