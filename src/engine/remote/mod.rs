//! Object storage as [`Storage`] (feature `object-store`): a thin adapter over
//! [`crate::object`]. One object per entry, at the same relative names as a local store's
//! files (`<prefix>/DIRKV`, `<prefix>/ab/<sha256>.dkv`), so a store folder copied into a
//! bucket opens there.
//!
//! What each local notion becomes: staging holds the bytes (no request); a commit is one
//! PUT, conditional for [`PutMode::Create`] (`If-None-Match: *`) and
//! [`PutMode::Replace`] (`If-Match` on the ETag); there is no lock (the engine retries
//! conditional puts instead); a version is an ETag (HEAD); a listing is a LIST of
//! `<prefix>/<shard>/`; there are no temp files to sweep and nothing to fsync: a PUT is
//! durable when it returns. The writes (PUTs, batched DELETEs) are in `write.rs`.

mod write;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::storage::{
    EntryStat, Fetched, Hash, Put, PutMode, ReadOpts, ShardList, StageOpts, Staged, Storage,
    Version,
};
use crate::error::{Error, ErrorKind, Result};
use crate::format::entry::{Damage, MAX_FILE_LEN};
use crate::format::manifest::Manifest;
use crate::format::names;
use crate::fs::lock::LockGuard;
use crate::fs::shard_lock::ShardGuard;
use crate::fs::sweep::Sweep;
use crate::object::{Client, Got, Meta, Mode, ObjectVersion};

/// A store under a prefix of an object store.
#[derive(Debug)]
pub(crate) struct Remote {
    client: Arc<Client>,
    /// The store's URL, as a path (for messages and `Storage::path`).
    url: PathBuf,
    read_only: bool,
}

/// What a prefetch found for one entry, waiting for the read that asked for it.
type Prefetched = Result<Option<Got>>;

thread_local! {
    /// Entries fetched ahead by [`Storage::prefetch`] on this thread, by store and hash:
    /// each is taken by the next read of its hash, and the rest is dropped by
    /// [`Storage::end_prefetch`].
    static PREFETCHED: RefCell<HashMap<(usize, Hash), Prefetched>> = RefCell::new(HashMap::new());
}

fn version_of(v: &ObjectVersion) -> Version {
    Version::Object {
        e_tag: v.e_tag.clone(),
        version: v.version.clone(),
    }
}

impl Remote {
    pub(crate) fn new(client: Client, read_only: bool) -> Self {
        let url = PathBuf::from(client.url());
        Remote {
            client: Arc::new(client),
            url,
            read_only,
        }
    }

    fn id(&self) -> usize {
        Arc::as_ptr(&self.client) as usize
    }

    fn read_only(&self) -> Error {
        Error::new(ErrorKind::ReadOnly, "the store is open read-only").with_path(&self.url)
    }

    fn check_writable(&self) -> Result<()> {
        if self.read_only {
            Err(self.read_only())
        } else {
            Ok(())
        }
    }

    /// The manifest, when there is one.
    pub(crate) fn read_manifest(&self) -> Result<Option<Manifest>> {
        let max = crate::format::manifest::MAX_MANIFEST_LEN as u64;
        let path = self.client.url_of(names::MANIFEST);
        match self.client.get(names::MANIFEST, max)? {
            None => Ok(None),
            Some(Got::TooLarge(_)) => Err(Error::corrupt("the manifest is too large", &path)),
            Some(Got::Bytes(bytes, _)) => Manifest::parse(&bytes).map(Some).map_err(|e| {
                let kind = if e.newer {
                    ErrorKind::IncompatibleFormat
                } else {
                    ErrorKind::Corrupt
                };
                Error::new(kind, e.message).with_path(&path)
            }),
        }
    }

    /// Whether any object at all is beneath the prefix.
    pub(crate) fn any_object(&self) -> Result<bool> {
        self.client.any_object()
    }

    fn take_prefetched(&self, hash: &Hash) -> Option<Prefetched> {
        PREFETCHED.with(|p| p.borrow_mut().remove(&(self.id(), *hash)))
    }

    fn fetch(&self, hash: &Hash) -> Result<Option<Got>> {
        match self.take_prefetched(hash) {
            Some(found) => found,
            None => self.client.get(&names::entry_rel_path(hash), MAX_FILE_LEN),
        }
    }

    /// The entry names of shard `shard`, streamed.
    fn shard_entries(
        &self,
        shard: u8,
    ) -> impl Iterator<Item = Result<(Hash, String)>> + Send + use<> {
        let dir = names::shard_name(shard);
        let prefix = format!("{dir}/");
        self.client.list(&dir).filter_map(move |item| match item {
            Err(e) => Some(Err(e)),
            Ok((rel, _)) => {
                let name = rel.strip_prefix(&prefix)?;
                if !names::is_entry_name_in(name.as_bytes(), shard) {
                    return None;
                }
                names::parse_entry_name(name).map(|hash| Ok((hash, rel)))
            }
        })
    }
}

impl Storage for Remote {
    fn path(&self) -> &Path {
        &self.url
    }

    fn entry_path(&self, hash: &Hash) -> PathBuf {
        self.client.url_of(&names::entry_rel_path(hash))
    }

    fn has_lock(&self) -> bool {
        false
    }

    fn read(
        &self,
        hash: &Hash,
        _opts: ReadOpts,
        f: &mut dyn FnMut(Fetched<'_>) -> Result<()>,
    ) -> Result<bool> {
        // The whole object either way: a GET costs the same request for a prefix.
        match self.fetch(hash)? {
            None => Ok(false),
            Some(Got::TooLarge(meta)) => {
                f(Fetched {
                    bytes: Err(Damage::TooLarge(meta.size)),
                    file: None,
                    version: Some(version_of(&meta.version)),
                })?;
                Ok(true)
            }
            Some(Got::Bytes(bytes, meta)) => {
                f(Fetched {
                    bytes: Ok(&bytes),
                    file: None,
                    version: Some(version_of(&meta.version)),
                })?;
                Ok(true)
            }
        }
    }

    fn version(&self, hash: &Hash) -> Result<Option<Version>> {
        let prefetched = PREFETCHED.with(|p| {
            p.borrow()
                .get(&(self.id(), *hash))
                .map(|found| match found {
                    Ok(Some(Got::Bytes(_, meta) | Got::TooLarge(meta))) => {
                        Some(Some(version_of(&meta.version)))
                    }
                    Ok(None) => Some(None),
                    Err(_) => None,
                })
        });
        if let Some(Some(version)) = prefetched {
            return Ok(version);
        }
        let meta = self.client.head(&names::entry_rel_path(hash))?;
        Ok(meta.map(|m| version_of(&m.version)))
    }

    fn stat(&self, hash: &Hash) -> Result<Option<EntryStat>> {
        let meta = self.client.head(&names::entry_rel_path(hash))?;
        Ok(meta.map(|m: Meta| EntryStat {
            disk_bytes: m.size,
            len: m.size,
            modified: m.modified,
            accessed: None,
        }))
    }

    fn stage(&self, hash: &Hash, bytes: Vec<u8>, _opts: StageOpts) -> Result<Staged> {
        self.check_writable()?;
        Ok(Staged::Bytes { hash: *hash, bytes })
    }

    fn stage_many(&self, items: Vec<(Hash, Vec<u8>)>, opts: StageOpts) -> Result<Vec<Staged>> {
        items
            .into_iter()
            .map(|(hash, bytes)| self.stage(&hash, bytes, opts))
            .collect()
    }

    fn commit(&self, staged: Staged, mode: PutMode) -> Result<Put> {
        self.commit_versioned(staged, mode).map(|(put, _)| put)
    }

    /// The version is the PUT's answer, so it costs no request.
    fn commit_versioned(&self, staged: Staged, mode: PutMode) -> Result<(Put, Option<Version>)> {
        self.put_entry(staged, mode)
    }

    /// An object's ETag (or version id) changes with every PUT of different bytes, so a
    /// version the cache checks against is never seen again after the entry changes to
    /// other contents. A PUT of identical bytes may give the same ETag back (S3's ETag
    /// of a single-part upload is the MD5 of the body): then the cached value is still
    /// the value stored, as the same bytes are the same entry (header times included),
    /// so a hit is right either way. (Reads already cache at any object version, see
    /// `cache::validate::cacheable`; this lets own writes be kept too.) An object store
    /// whose ETags can repeat for other bytes (one made up from a size and a coarse
    /// time) would break reads' validation as much as writes'.
    fn versions_never_repeat(&self) -> bool {
        true
    }

    fn commit_many(
        &self,
        staged: Vec<Staged>,
        on_commit: &(dyn Fn(usize) + Sync),
    ) -> (Vec<usize>, Result<()>) {
        self.put_batch(staged, on_commit)
    }

    fn remove(&self, hash: &Hash) -> Result<bool> {
        self.check_writable()?;
        let (_, result) = self.client.delete_many(vec![names::entry_rel_path(hash)]);
        // S3 answers a DELETE alike whether or not the object was there.
        result.map(|()| true)
    }

    fn list(&self, shard: u8) -> Result<Option<ShardList>> {
        let entries = self.shard_entries(shard).map(|r| r.map(|(hash, _)| hash));
        Ok(Some(Box::new(entries) as ShardList))
    }

    fn count(&self, shard: u8) -> Result<Option<usize>> {
        let mut n = 0;
        for item in self.shard_entries(shard) {
            item?;
            n += 1;
        }
        Ok(Some(n))
    }

    fn clear_shard(&self, shard: u8) -> Result<usize> {
        self.delete_shard(shard)
    }

    fn sync_shards(&self, _shards: &[u8]) -> Result<()> {
        Ok(())
    }

    fn sync_entries(&self, _hashes: &[Hash]) -> Result<()> {
        Ok(())
    }

    fn note_expiring(&self, _durable: bool) -> Result<()> {
        // Nothing is recorded (a marker object would cost a request per process, and other
        // processes could not be told it went away): removals always read the entry.
        Ok(())
    }

    fn may_hold_expiring(&self) -> bool {
        true
    }

    fn lock(&self, _shard: u8) -> Result<Option<ShardGuard<'_>>> {
        self.check_writable().map(|()| None)
    }

    fn try_lock(&self, _shard: u8) -> Result<Option<ShardGuard<'_>>> {
        Ok(None)
    }

    fn lock_store(&self) -> Result<Option<LockGuard<'_>>> {
        self.check_writable().map(|()| None)
    }

    fn sweep(
        &self,
        _full: bool,
        _stale_age: Duration,
        _name_of: &dyn Fn(&File) -> Option<Hash>,
    ) -> Result<Sweep> {
        // Objects appear whole or not at all: no temps are ever left.
        Ok(Sweep::default())
    }

    fn check_still_there(&self) -> Result<()> {
        match self.client.head(names::MANIFEST)? {
            Some(_) => Ok(()),
            None => Err(Error::new(
                ErrorKind::NotFound,
                "the store's manifest is gone: no dirkv store at this URL any more",
            )
            .with_path(&self.url)),
        }
    }

    fn write_manifest(&self, manifest: &Manifest, _durable: bool) -> Result<()> {
        self.check_writable()?;
        let bytes = manifest.render().into_bytes();
        self.client
            .put(names::MANIFEST, bytes, Mode::Overwrite)
            .map(|_| ())
    }

    fn destroy(&self, _id: &str) -> Result<()> {
        self.delete_all()
    }

    fn writer_id(&self) -> Option<&str> {
        None
    }

    fn touch(&self, _file: &File, _now: SystemTime) {}

    fn root_handle(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }

    fn parallelism(&self) -> usize {
        crate::object::IN_FLIGHT
    }

    fn prefetch(&self, hashes: &[Hash]) {
        let rels: Vec<String> = hashes.iter().map(names::entry_rel_path).collect();
        let results = self.client.get_many(rels, MAX_FILE_LEN);
        PREFETCHED.with(|p| {
            let mut p = p.borrow_mut();
            for (hash, found) in hashes.iter().zip(results) {
                p.insert((self.id(), *hash), found);
            }
        });
    }

    fn end_prefetch(&self) {
        let id = self.id();
        PREFETCHED.with(|p| p.borrow_mut().retain(|(store, _), _| *store != id));
    }
}
