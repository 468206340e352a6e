//! Opening a store: what is at the path, what [`Exists`] allows, creating a new store,
//! checking an existing one's manifest, and emptying it for `Exists::Replace`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Engine;
use super::config::{Config, Durability, Exists};
use super::local::Local;
use super::storage::Storage;
use crate::error::{Error, ErrorKind, Result};
use crate::format::manifest::{self, Manifest};
use crate::fs::folder::Folder;
use crate::fs::root::{self, CreateOpts, State};
use crate::fs::writer::Writer;
use crate::seal::{Seal, crypto};

/// What the caller expects of the manifest.
#[derive(Clone, Debug)]
pub(crate) enum Wanted {
    /// These names (a typed store, or a raw store created with names): a new store gets
    /// them, an existing one must have them.
    Names(Manifest),
    /// Whatever the store has (untyped access); never creates.
    AsFound,
}

/// Opens the local store at `path` according to `mode`, creating it or emptying it as
/// allowed.
///
/// # Errors
///
/// See [`Store::open`](crate::Store::open).
pub(crate) fn open(
    path: &Path,
    mode: Exists,
    wanted: Wanted,
    config: Config,
) -> Result<Arc<Engine>> {
    config.check()?;
    let path =
        std::path::absolute(path).map_err(|e| Error::io("cannot resolve store path", path, e))?;
    let (state, root) = root::probe(&path)?;
    match (state, root, &wanted) {
        (State::Store, Some(root), _) => existing(Folder::new(path, root), mode, wanted, config),
        (State::Missing | State::Empty | State::HalfMade, _, Wanted::Names(m))
            if mode != Exists::Update =>
        {
            if config.read_only {
                return Err(Error::new(
                    ErrorKind::ReadOnly,
                    "cannot create a store when opening read-only",
                )
                .with_path(&path));
            }
            let mut m = m.clone();
            check_names(&m)?;
            let sealer = crypto::prepare_new(&mut m, config.encryption.as_ref())?;
            let opts = CreateOpts {
                durable: config.durable(),
                file_mode: config.file_mode_for(sealer.is_some()),
                lock_timeout: config.lock_timeout,
            };
            match root::create(&path, &m, opts)? {
                Some(folder) => build(folder, m, config, sealer),
                // Another process created it meanwhile.
                None => {
                    let (_, root) = root::probe(&path)?;
                    let root = root.ok_or_else(|| no_store(&path, State::Missing))?;
                    existing(Folder::new(path, root), mode, wanted, config)
                }
            }
        }
        (state, _, _) => Err(no_store(&path, state)),
    }
}

/// The one check of the names written into a new manifest.
pub(super) fn check_names(m: &Manifest) -> Result<()> {
    for (what, name) in [("key encoding", &m.key), ("codec", &m.codec)] {
        manifest::check_name(what, name).map_err(|msg| Error::new(ErrorKind::InvalidInput, msg))?;
    }
    Ok(())
}

/// Why a path that holds no store (any state but [`State::Store`]) cannot be opened as an
/// existing store.
pub(crate) fn no_store(path: &Path, state: State) -> Error {
    match state {
        State::Missing => {
            Error::new(ErrorKind::NotFound, "no dirkv store at this path").with_path(path)
        }
        State::Empty => root::not_a_store(path, "an empty folder"),
        State::HalfMade => root::not_a_store(
            path,
            "an unfinished store (no manifest; open it with OpenOrCreate to finish it)",
        ),
        State::DanglingLink => root::not_a_store(path, "a dangling symbolic link"),
        State::UntrustedLink(owner) => root::untrusted_link(path, owner),
        State::NotAFolder => root::not_a_store(path, "a file"),
        State::Foreign => root::not_a_store(path, "a folder with other files"),
        State::Store => Error::new(
            ErrorKind::AlreadyExists,
            "a dirkv store already exists here",
        )
        .with_path(path),
    }
}

/// Reads the manifest of the existing store at `path` without opening the store: no key,
/// no lock, no writer marker. Returns the absolute path and the manifest.
///
/// # Errors
///
/// As opening with [`Exists::Update`].
pub(crate) fn read_as_found(path: &Path) -> Result<(PathBuf, Manifest)> {
    let abs =
        std::path::absolute(path).map_err(|e| Error::io("cannot resolve store path", path, e))?;
    match root::probe(&abs)? {
        (State::Store, Some(fd)) => {
            let folder = Folder::new(abs.clone(), fd);
            Ok((abs, root::read_manifest(&folder)?))
        }
        (state, _) => Err(no_store(&abs, state)),
    }
}

/// Opens an existing store.
fn existing(folder: Folder, mode: Exists, wanted: Wanted, config: Config) -> Result<Arc<Engine>> {
    let found = root::read_manifest(&folder)?;
    match (mode, wanted) {
        (Exists::Error, _) => Err(Error::new(
            ErrorKind::AlreadyExists,
            "a dirkv store already exists here",
        )
        .with_path(folder.path())),
        (Exists::Replace, Wanted::Names(wanted)) => replace(folder, found, wanted, config),
        (_, Wanted::Names(wanted)) => {
            check_compatible(folder.path(), &found, &wanted)?;
            let sealer = crypto::attach(folder.path(), &found, config.encryption.as_ref())?;
            build(folder, found, config, sealer)
        }
        (_, Wanted::AsFound) => {
            let sealer = crypto::attach(folder.path(), &found, config.encryption.as_ref())?;
            build(folder, found, config, sealer)
        }
    }
}

pub(super) fn check_compatible(root: &Path, found: &Manifest, wanted: &Manifest) -> Result<()> {
    let mismatch = |what: &str, found: &str, wanted: &str| {
        Err(Error::new(
            ErrorKind::IncompatibleFormat,
            format!("the store's {what} is `{found}`, but it was opened with `{wanted}`"),
        )
        .with_path(root.join(crate::format::names::MANIFEST)))
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
    // Encryption settings are per store (salt, key check): `attach` checks them against
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

/// The storage of an open local store: a writer (lock, marker) unless read-only.
fn local(folder: Folder, config: &Config, encrypted: bool) -> Result<Local> {
    let mode = config.file_mode_for(encrypted);
    let writer = if config.read_only {
        None
    } else {
        let writer = Writer::open(&folder, config.lock_timeout, mode)?;
        if config.write_back.is_some() {
            // Write-back mode owns the store: every shard's lock, until it is closed.
            writer.own_all(&folder)?;
        }
        Some(writer)
    };
    Ok(Local::new(folder, writer, mode))
}

/// Builds the engine of a store whose encryption keys (if any) are known, and sweeps
/// crashed writers' temp files (a writable open).
fn build(
    folder: Folder,
    manifest: Manifest,
    config: Config,
    sealer: Option<crypto::Sealer>,
) -> Result<Arc<Engine>> {
    let storage = local(folder, &config, sealer.is_some())?;
    let read_only = config.read_only;
    let seal = Seal::new(config.compress_min, sealer);
    let engine = Engine::new(Arc::new(storage), manifest, config, seal)?;
    if !read_only {
        // Best effort: a store whose tmp/ cannot be swept still opens; `dirkv verify`
        // reports what is wrong.
        let _ = engine.sweep(false);
    }
    Ok(engine)
}

/// Empties a store (for `Exists::Replace`) and gives it the wanted manifest: a new,
/// empty store with the wanted settings, and a new salt when encrypted. The old entries
/// go, so the old key (if any) is not needed.
fn replace(
    folder: Folder,
    found: Manifest,
    wanted: Manifest,
    config: Config,
) -> Result<Arc<Engine>> {
    let (wanted, sealer) = replacement(folder.path(), wanted, &config)?;
    let storage = Arc::new(local(folder, &config, sealer.is_some())?);
    // Only file names matter, no key is needed.
    empty_with_old_naming(Arc::clone(&storage) as Arc<dyn Storage>, &found, &config)?
        .sweep(true)?;
    if found != wanted {
        // Entries written under the old manifest must never reappear under the new one
        // (another codec or key encoding would read them as wrong values): the removals
        // are made durable before the new manifest is written. `clear` did that in
        // durable mode; in fast mode it is done here.
        if config.durability == Durability::Fast {
            let all: Vec<u8> = (0..=255).collect();
            storage.sync_shards(&all)?;
        }
        let guard = storage.lock_store()?;
        storage.write_manifest(&wanted, config.durable())?;
        drop(guard);
    }
    let seal = Seal::new(config.compress_min, sealer);
    Engine::new(storage, wanted, config, seal)
}

/// The first step of `Exists::Replace` on any storage: refused on a read-only open; the
/// wanted manifest checked, and prepared for encryption (a new salt) when asked.
///
/// # Errors
///
/// `ReadOnly`; `InvalidInput` for bad names; the errors of [`crypto::prepare_new`].
pub(super) fn replacement(
    path: &Path,
    mut wanted: Manifest,
    config: &Config,
) -> Result<(Manifest, Option<crypto::Sealer>)> {
    if config.read_only {
        return Err(Error::new(
            ErrorKind::ReadOnly,
            "cannot replace a store when opening read-only",
        )
        .with_path(path));
    }
    check_names(&wanted)?;
    let sealer = crypto::prepare_new(&mut wanted, config.encryption.as_ref())?;
    Ok((wanted, sealer))
}

/// Removes every entry of `storage` under the naming of its `found` manifest (names are
/// all that matter: no key, no cache, no background work). Returns the engine it used.
///
/// # Errors
///
/// The errors of [`Engine::clear`].
pub(super) fn empty_with_old_naming(
    storage: Arc<dyn Storage>,
    found: &Manifest,
    config: &Config,
) -> Result<Arc<Engine>> {
    let old = Engine::new(
        storage,
        found.clone(),
        Config {
            encryption: None,
            cache: None,
            sync_interval: None,
            auto_evict: None,
            write_back: None,
            ..config.clone()
        },
        Seal::new(None, None),
    )?;
    old.clear()?;
    Ok(old)
}
