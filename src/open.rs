//! Opening a store: what is at the path, what [`Exists`] allows, creating a new store,
//! checking an existing one's manifest.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tempfile::NamedTempFile;

use crate::crypto::{self, Sealer};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::layout::{self, Manifest};
use crate::lock::StoreLock;
use crate::options::{Durability, Exists};
use crate::policy::Policy;
use crate::sys;

/// The untyped settings an engine is opened with.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub durability: Durability,
    pub read_only: bool,
    pub lock_timeout: Option<Duration>,
    pub stale_temp_age: Duration,
    pub file_mode: u32,
    /// Clock, access times, expiry, eviction, compression, encryption key.
    pub policy: Policy,
}

/// What is at a store path.
#[derive(Debug, PartialEq, Eq)]
enum State {
    Missing,
    DanglingLink,
    NotAFolder,
    Empty,
    /// Only the pieces a crashed creation leaves (lock, tmp/, empty shards), no manifest.
    HalfMade,
    Foreign,
    Store,
}

fn classify(path: &Path) -> Result<State> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::Missing),
        Err(e) => return Err(Error::io("cannot examine store path", path, e)),
    };
    if meta.file_type().is_symlink() {
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Ok(State::NotAFolder),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::DanglingLink),
            Err(e) => return Err(Error::io("cannot follow store path link", path, e)),
        }
    } else if !meta.is_dir() {
        return Ok(State::NotAFolder);
    }
    match fs::symlink_metadata(path.join(layout::MANIFEST)) {
        Ok(_) => return Ok(State::Store),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("cannot examine store path", path, e)),
    }
    let list_err = |e| Error::io("cannot list store path", path, e);
    let mut any = false;
    for item in fs::read_dir(path).map_err(list_err)? {
        let item = item.map_err(list_err)?;
        any = true;
        if !is_creation_leftover(&item) {
            return Ok(State::Foreign);
        }
    }
    Ok(if any { State::HalfMade } else { State::Empty })
}

/// Whether a folder item is something an interrupted store creation leaves behind.
fn is_creation_leftover(item: &fs::DirEntry) -> bool {
    let Ok(kind) = item.file_type() else {
        return false;
    };
    let name = item.file_name();
    let Some(name) = name.to_str() else {
        return false;
    };
    let empty_dir = || {
        kind.is_dir()
            && fs::read_dir(item.path())
                .map(|mut d| d.next().is_none())
                .unwrap_or(false)
    };
    match name {
        layout::LOCK => kind.is_file(),
        layout::TMP => empty_dir(),
        _ if name.starts_with(layout::MANIFEST_TEMP_PREFIX) => kind.is_file(),
        _ => layout::parse_shard_name(name).is_some() && empty_dir(),
    }
}

fn not_a_store(path: &Path, what: &str) -> Error {
    Error::new(
        ErrorKind::NotAStore,
        format!("{what}, not a dirkv store; left untouched"),
    )
    .with_path(path)
}

/// Opens the store at `path` according to `mode`, creating it or emptying it as allowed.
pub(crate) fn open(path: &Path, mode: Exists, wanted: Manifest, s: &Settings) -> Result<Engine> {
    let path =
        std::path::absolute(path).map_err(|e| Error::io("cannot resolve store path", path, e))?;
    let path = path.as_path();
    match classify(path)? {
        State::Store => existing(path, mode, wanted, s),
        State::Missing | State::Empty | State::HalfMade if mode != Exists::Update => {
            if s.read_only {
                return Err(Error::new(
                    ErrorKind::ReadOnly,
                    "cannot create a store when opening read-only",
                )
                .with_path(path));
            }
            let mut wanted = wanted;
            let sealer = crypto::prepare_new(&mut wanted, &s.policy)?;
            if create(path, &wanted, s)? {
                build(path, wanted, s, sealer)
            } else {
                // Another process created it meanwhile.
                existing(path, mode, wanted, s)
            }
        }
        state => Err(no_store(path, state)),
    }
}

/// Opens the existing store at `path` with the manifest it has, whatever key encoding and
/// codec that names (for untyped access). A path that is not a store gives the errors of
/// opening with [`Exists::Update`]; nothing is ever created.
pub(crate) fn open_as_found(path: &Path, s: &Settings) -> Result<Engine> {
    let abs =
        std::path::absolute(path).map_err(|e| Error::io("cannot resolve store path", path, e))?;
    if classify(&abs)? == State::Store {
        let found = read_manifest(&abs)?;
        return finish(&abs, found, s);
    }
    open(&abs, Exists::Update, Manifest::new("", ""), s)
}

/// Reads the manifest of the existing store at `path` without opening the store: no key,
/// no lock, no writer marker. Returns the absolute path and the manifest. A path that is not
/// a store gives the errors of opening with [`Exists::Update`].
pub(crate) fn read_as_found(path: &Path) -> Result<(PathBuf, Manifest)> {
    let abs =
        std::path::absolute(path).map_err(|e| Error::io("cannot resolve store path", path, e))?;
    match classify(&abs)? {
        State::Store => {
            let manifest = read_manifest(&abs)?;
            Ok((abs, manifest))
        }
        state => Err(no_store(&abs, state)),
    }
}

/// Why a path that holds no store (any state but [`State::Store`]) cannot be opened as an
/// existing store.
fn no_store(path: &Path, state: State) -> Error {
    match state {
        State::Missing => {
            Error::new(ErrorKind::NotFound, "no dirkv store at this path").with_path(path)
        }
        State::Empty => not_a_store(path, "an empty folder"),
        State::HalfMade => not_a_store(
            path,
            "an unfinished store (no manifest; open it with OpenOrCreate to finish it)",
        ),
        State::DanglingLink => not_a_store(path, "a dangling symbolic link"),
        State::NotAFolder => not_a_store(path, "a file"),
        State::Foreign => not_a_store(path, "a folder with other files"),
        // Not reached: callers handle a store first.
        State::Store => Error::new(
            ErrorKind::AlreadyExists,
            "a dirkv store already exists here",
        )
        .with_path(path),
    }
}

/// Opens an existing store.
fn existing(path: &Path, mode: Exists, wanted: Manifest, s: &Settings) -> Result<Engine> {
    let found = read_manifest(path)?;
    match mode {
        Exists::Error => Err(Error::new(
            ErrorKind::AlreadyExists,
            "a dirkv store already exists here",
        )
        .with_path(path)),
        Exists::Update | Exists::OpenOrCreate => {
            check_compatible(path, &found, &wanted)?;
            finish(path, found, s)
        }
        Exists::Replace => {
            if s.read_only {
                return Err(Error::new(
                    ErrorKind::ReadOnly,
                    "cannot replace a store when opening read-only",
                )
                .with_path(path));
            }
            // The old entries go, so the old key (if any) is not needed: the store starts
            // afresh with the wanted settings, and a new salt when encrypted.
            let mut wanted = wanted;
            let sealer = crypto::prepare_new(&mut wanted, &s.policy)?;
            let mut engine = build(path, found, s, None)?;
            replace(&mut engine, wanted)?;
            engine.sealer = sealer;
            Ok(engine)
        }
    }
}

fn read_manifest(root: &Path) -> Result<Manifest> {
    let path = root.join(layout::MANIFEST);
    let mut bytes = Vec::new();
    let file = sys::open_entry(&path).map_err(|e| {
        if sys::is_not_a_file_error(&e) {
            Error::corrupt("the manifest is not a plain file", &path).with_source(e)
        } else {
            Error::io("cannot read manifest", &path, e)
        }
    })?;
    file.take(layout::MAX_MANIFEST_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read manifest", &path, e))?;
    Manifest::parse(&bytes).map_err(|e| {
        let kind = if e.newer {
            ErrorKind::IncompatibleFormat
        } else {
            ErrorKind::Corrupt
        };
        Error::new(kind, e.message).with_path(&path)
    })
}

fn check_compatible(root: &Path, found: &Manifest, wanted: &Manifest) -> Result<()> {
    let mismatch = |what: &str, found: &str, wanted: &str| {
        Err(Error::new(
            ErrorKind::IncompatibleFormat,
            format!("the store's {what} is `{found}`, but it was opened with `{wanted}`"),
        )
        .with_path(root.join(layout::MANIFEST)))
    };
    if found.key != wanted.key {
        return mismatch("key type", &found.key, &wanted.key);
    }
    if found.codec != wanted.codec {
        return mismatch("codec", &found.codec, &wanted.codec);
    }
    if found.shard_depth != wanted.shard_depth {
        return mismatch(
            "shard depth",
            &found.shard_depth.to_string(),
            &wanted.shard_depth.to_string(),
        );
    }
    // Encryption settings are per store (salt, key check): `finish` checks them against
    // the key given.
    let settings = |m: &Manifest| -> Vec<(String, String)> {
        m.extra
            .iter()
            .filter(|(k, _)| !crypto::is_crypto_setting(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    if settings(found) != settings(wanted) {
        let show = |m: &Manifest| {
            let parts: Vec<String> = settings(m)
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            if parts.is_empty() {
                "no extra settings".to_owned()
            } else {
                parts.join(", ")
            }
        };
        return mismatch("settings", &show(found), &show(wanted));
    }
    Ok(())
}

/// Creates a store at a missing path, an empty folder or an unfinished store. Returns
/// `false` when another process finished creating one first.
fn create(path: &Path, manifest: &Manifest, s: &Settings) -> Result<bool> {
    let made_root = match fs::create_dir(path) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(path)
                .map_err(|e| Error::io("cannot create store folder", path, e))?;
            true
        }
        Err(e) => return Err(Error::io("cannot create store folder", path, e)),
    };
    let lock_path = path.join(layout::LOCK);
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| Error::io("cannot create lock file", &lock_path, e))?;
    let lock = StoreLock::open(&lock_path, s.lock_timeout)?;
    let _guard = lock.lock()?;
    match classify(path)? {
        State::Store => return Ok(false),
        State::Empty | State::HalfMade => {}
        _ => return Err(not_a_store(path, "a folder that other files appeared in")),
    }
    let mkdir = |dir: PathBuf| match fs::create_dir(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(Error::io("cannot create store folder", &dir, e)),
    };
    // Manifest temp files of an interrupted creation. Best effort: one left behind is
    // harmless (never read), and `dirkv verify` reports it.
    for item in fs::read_dir(path).map_err(|e| Error::io("cannot list store folder", path, e))? {
        let Ok(item) = item else { continue };
        if item
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(layout::MANIFEST_TEMP_PREFIX))
        {
            let _ = fs::remove_file(item.path());
        }
    }
    let mut folders = vec![path.join(layout::TMP)];
    folders.extend((0..=255u8).map(|shard| path.join(layout::shard_name(shard))));
    for dir in &folders {
        mkdir(dir.clone())?;
    }
    if s.durability == Durability::Durable {
        // The manifest is the commit point of a creation: once its name is on disk, the
        // folders it vouches for must be too. A new folder's own inode and its `.`/`..`
        // block are made durable by an fsync of that folder; without it a file system
        // without a journal (ext2, ext4 `^has_journal`) can lose a shard folder in a power
        // cut after `open` returned, and every later write to that shard would fail.
        for dir in &folders {
            sys::sync_dir(dir).map_err(|e| Error::io("cannot sync store folder", dir, e))?;
        }
    }
    write_manifest(path, manifest)?;
    if s.durability == Durability::Durable {
        sys::sync_dir(path).map_err(|e| Error::io("cannot sync store folder", path, e))?;
        if let Some(parent) = path.parent().filter(|_| made_root) {
            sys::sync_dir(parent).map_err(|e| Error::io("cannot sync folder", parent, e))?;
        }
    }
    Ok(true)
}

/// Writes the manifest atomically (temp file, fsync, rename).
fn write_manifest(root: &Path, manifest: &Manifest) -> Result<()> {
    let path = root.join(layout::MANIFEST);
    let err = |e| Error::io("cannot write manifest", &path, e);
    let mut builder = tempfile::Builder::new();
    builder.prefix(layout::MANIFEST_TEMP_PREFIX);
    sys::set_mode(&mut builder, sys::DEFAULT_FILE_MODE);
    let mut temp = builder.tempfile_in(root).map_err(err)?;
    temp.write_all(manifest.render().as_bytes()).map_err(err)?;
    temp.as_file().sync_all().map_err(err)?;
    temp.persist(&path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Empties a store (for `Exists::Replace`) and gives it the wanted manifest.
fn replace(engine: &mut Engine, wanted: Manifest) -> Result<()> {
    engine.clear()?;
    engine.sweep(true)?;
    if engine.manifest != wanted {
        // Entries written under the old manifest must never reappear under the new one
        // (another codec or key encoding would read them as wrong values): the removals
        // are made durable before the new manifest is written. `clear` did that in
        // durable mode; in fast mode it is done here.
        for shard in (0..=255u8).filter(|_| engine.durability == Durability::Fast) {
            let dir = engine.root.join(layout::shard_name(shard));
            match sys::sync_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("cannot sync shard folder", &dir, e)),
            }
        }
        let _guard = engine.lock()?;
        write_manifest(&engine.root, &wanted)?;
        if engine.durability == Durability::Durable {
            sys::sync_dir(&engine.root)
                .map_err(|e| Error::io("cannot sync store folder", &engine.root, e))?;
        }
        drop(_guard);
        engine.manifest = wanted;
    }
    Ok(())
}

/// Builds the engine of an existing, checked store: its encryption keys (checked against
/// the key given), lock, writer marker, temp sweep.
fn finish(root: &Path, manifest: Manifest, s: &Settings) -> Result<Engine> {
    let sealer = crypto::attach(root, &manifest, &s.policy)?;
    build(root, manifest, s, sealer)
}

/// Builds the engine of a store whose encryption keys (if any) are known.
fn build(root: &Path, manifest: Manifest, s: &Settings, sealer: Option<Sealer>) -> Result<Engine> {
    let writer_id = new_writer_id();
    #[allow(unused_mut)]
    let mut policy = s.policy.clone();
    #[cfg(feature = "encryption")]
    {
        // Only the derived keys are kept.
        policy.encryption = None;
    }
    if s.read_only {
        let mut engine = Engine::new(
            root.to_owned(),
            manifest,
            s.durability,
            true,
            None,
            None,
            writer_id,
            s.file_mode,
            s.stale_temp_age,
        );
        engine.policy = policy;
        engine.sealer = sealer;
        return Ok(engine);
    }
    let lock_path = root.join(layout::LOCK);
    if !lock_path.exists() {
        // Deleted by hand: make a new one (every process opening later locks it).
        let _ = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock_path);
    }
    let lock = StoreLock::open(&lock_path, s.lock_timeout)?;
    let marker = make_marker(root, &writer_id);
    let mut engine = Engine::new(
        root.to_owned(),
        manifest,
        s.durability,
        false,
        Some(lock),
        marker,
        writer_id,
        s.file_mode,
        s.stale_temp_age,
    );
    engine.policy = policy;
    engine.sealer = sealer;
    // Best effort: a store whose tmp/ cannot be swept still opens; `dirkv verify` reports.
    let _ = engine.sweep(false);
    Ok(engine)
}

/// Creates and locks this writer's marker `tmp/w-<id>.lock`. `None` when that is not
/// possible (a read-only folder): the store still opens, its writes will report errors.
///
/// In durable mode the marker (its inode and its name in `tmp/`) is synced before any temp
/// file of this writer can exist, by the first write ([`Engine::write_temp`]), not here:
/// opening a store to read it costs no fsync. After a power cut every temp file left in a
/// shard then has a marker that the next open finds unlocked, so that open removes it.
/// Without the sync a file system without a journal can keep the temp file and lose the
/// marker, and the temp file would stay until a sweep by age.
fn make_marker(root: &Path, id: &str) -> Option<NamedTempFile> {
    let tmp = root.join(layout::TMP);
    if !tmp.is_dir() {
        let _ = fs::create_dir(&tmp);
    }
    let path = tmp.join(layout::marker_name(id));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .ok()?;
    let marker = NamedTempFile::from_parts(file, tempfile::TempPath::try_from_path(path).ok()?);
    marker.as_file().lock().ok()?;
    Some(marker)
}

/// A random-enough writer id: 12 hex digits of SHA-256 over pid, time and a counter.
fn new_writer_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let seed = format!(
        "{}-{nanos}-{}-{:?}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::thread::current().id()
    );
    hex::encode(&layout::hash(seed.as_bytes())[..6])
}
