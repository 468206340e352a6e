//! Opening a store on object storage (feature `object-store`): the same [`Exists`] table
//! as a local store, over a prefix instead of a folder.
//!
//! | under the prefix | `Error` | `Replace` | `Update` | `OpenOrCreate` |
//! | --- | --- | --- | --- | --- |
//! | no object | create | create | `NotFound` | create |
//! | a manifest (`DIRKV`) | `AlreadyExists` | empty it | open | open |
//! | objects but no manifest | `NotAStore` | `NotAStore` | `NotAStore` | `NotAStore` |
//!
//! Creating is one conditional PUT of the manifest (`If-None-Match: *`): of two processes
//! creating the same store, one creates it and the other opens what it created. Object
//! storage has no empty folders, so a new store is its manifest alone.

use std::sync::Arc;

use super::Engine;
use super::config::{Config, Exists};
use super::open::{Wanted, check_compatible, check_names, empty_with_old_naming, replacement};
use super::remote::Remote;
use super::storage::Storage;
use crate::error::{Error, ErrorKind, Result};
use crate::format::manifest::Manifest;
use crate::fs::root::not_a_store;
use crate::object::Client;
use crate::seal::{Seal, crypto};

/// Opens the store under `client`'s prefix according to `mode`, creating it or emptying
/// it as allowed.
///
/// # Errors
///
/// See [`Options::open_url`](crate::Options::open_url).
pub(crate) fn open(
    client: Client,
    mode: Exists,
    wanted: Wanted,
    config: Config,
) -> Result<Arc<Engine>> {
    config.check()?;
    if config.write_back.is_some() && !config.read_only {
        // Write-back mode answers from RAM because it owns the store (every shard's lock,
        // while open); object storage has no lock, so other writers could not be kept out
        // and their writes would go unseen.
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "write_back needs a local store: object storage has no lock to own it with",
        )
        .with_path(client.url()));
    }
    let mut config = config;
    // Every PUT is durable when it returns: there is nothing for a flush thread to do.
    config.sync_interval = None;
    let remote = Arc::new(Remote::new(client, config.read_only));
    let url = remote.path().to_owned();
    // A creation that loses a race opens the winner's store on the next round.
    for _ in 0..2 {
        if let Some(found) = remote.read_manifest()? {
            return existing(remote, found, mode, wanted, config);
        }
        if remote.any_object()? {
            // Another process may have created the store (manifest first, entries after)
            // between the two requests: look again before refusing.
            if let Some(found) = remote.read_manifest()? {
                return existing(remote, found, mode, wanted, config);
            }
            return Err(not_a_store(
                &url,
                "a prefix holding other objects but no manifest",
            ));
        }
        let m = match (&wanted, mode) {
            (Wanted::Names(m), Exists::Error | Exists::Replace | Exists::OpenOrCreate) => m,
            _ => {
                return Err(
                    Error::new(ErrorKind::NotFound, "no dirkv store at this URL").with_path(&url),
                );
            }
        };
        if config.read_only {
            return Err(Error::new(
                ErrorKind::ReadOnly,
                "cannot create a store when opening read-only",
            )
            .with_path(&url));
        }
        let mut m = m.clone();
        check_names(&m)?;
        let sealer = crypto::prepare_new(&mut m, config.encryption.as_ref())?;
        if remote.create_manifest(&m)? {
            return build(remote, m, config, sealer);
        }
    }
    Err(Error::new(
        ErrorKind::Io,
        "the store's manifest was created and removed again while opening",
    )
    .with_path(&url))
}

/// Opens an existing store (its manifest is `found`).
fn existing(
    remote: Arc<Remote>,
    found: Manifest,
    mode: Exists,
    wanted: Wanted,
    config: Config,
) -> Result<Arc<Engine>> {
    let url = remote.path().to_owned();
    match (mode, wanted) {
        (Exists::Error, _) => Err(Error::new(
            ErrorKind::AlreadyExists,
            "a dirkv store already exists here",
        )
        .with_path(&url)),
        (Exists::Replace, Wanted::Names(wanted)) => replace(remote, found, wanted, config),
        (_, Wanted::Names(wanted)) => {
            check_compatible(&url, &found, &wanted)?;
            let sealer = crypto::attach(&url, &found, config.encryption.as_ref())?;
            build(remote, found, config, sealer)
        }
        (_, Wanted::AsFound) => {
            let sealer = crypto::attach(&url, &found, config.encryption.as_ref())?;
            build(remote, found, config, sealer)
        }
    }
}

fn build(
    remote: Arc<Remote>,
    manifest: Manifest,
    config: Config,
    sealer: Option<crypto::Sealer>,
) -> Result<Arc<Engine>> {
    let seal = Seal::new(config.compress_min, sealer);
    Engine::new(remote, manifest, config, seal)
}

/// Empties a store (for `Exists::Replace`) and gives it the wanted manifest. Only entries
/// go (listed shard by shard, deleted in batches); other objects under the prefix stay.
fn replace(
    remote: Arc<Remote>,
    found: Manifest,
    wanted: Manifest,
    config: Config,
) -> Result<Arc<Engine>> {
    let (wanted, sealer) = replacement(remote.path(), wanted, &config)?;
    // Only object names matter, no key is needed.
    empty_with_old_naming(Arc::clone(&remote) as Arc<dyn Storage>, &found, &config)?;
    if found != wanted {
        // The entries are gone (each DELETE was durable when it returned) before the new
        // manifest is written, so no old entry is ever read under the new settings.
        remote.write_manifest(&wanted, true)?;
    }
    build(remote, wanted, config, sealer)
}
