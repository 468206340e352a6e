//! Entries as [`RawStore`](super::RawStore) gives them, and its listing.

use std::path::PathBuf;
use std::sync::Arc;

use super::meta::EntryMeta;
use crate::engine::Engine;
use crate::engine::read::{Expect, Found, Lookup, Now};
use crate::engine::walk::Entries;
use crate::error::Result;
use crate::fs::read::Need;

/// One entry of a store, as [`RawStore`](super::RawStore) reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RawEntry {
    /// The entry file.
    pub path: PathBuf,
    /// The key bytes.
    pub key: Vec<u8>,
    /// The value bytes as the codec wrote them; `None` from
    /// [`RawStore::keys`](super::RawStore::keys), which reads only headers and keys.
    pub value: Option<Vec<u8>>,
    /// Header fields.
    pub info: EntryMeta,
}

impl RawEntry {
    /// The entry `found` holds (its value too when `need` is whole).
    ///
    /// # Errors
    ///
    /// `Io` (`OutOfMemory`) naming the entry when there is no memory for the value.
    pub(crate) fn from_found(found: &Found<'_>, need: Need) -> Result<Self> {
        Ok(RawEntry {
            path: found.path(),
            key: found.key.to_vec(),
            value: match need {
                Need::Whole => Some(found.value_vec()?),
                _ => None,
            },
            info: EntryMeta::new(&found.header, None),
        })
    }
}

/// The entries of a store, from [`RawStore::entries`](super::RawStore::entries) and
/// [`RawStore::keys`](super::RawStore::keys).
#[derive(Debug)]
pub struct RawEntries {
    engine: Arc<Engine>,
    hashes: Entries,
    need: Need,
    now: Now,
}

impl RawEntries {
    pub(crate) fn new(engine: Arc<Engine>, need: Need) -> Self {
        let now = Now::At(engine.now_ms());
        Self::with_now(engine, need, now)
    }

    /// A listing that judges expiry at `now` (`Now::Never`: expired entries too).
    pub(crate) fn with_now(engine: Arc<Engine>, need: Need, now: Now) -> Self {
        RawEntries {
            hashes: engine.entries(),
            engine,
            need,
            now,
        }
    }
}

impl Iterator for RawEntries {
    type Item = Result<RawEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let hash = match self.hashes.next()? {
                Ok(hash) => hash,
                Err(err) => return Some(Err(err)),
            };
            let need = self.need;
            let read =
                self.engine
                    .read_entry(&hash, Expect::Hash, need, self.now, false, |found| {
                        RawEntry::from_found(&found, need)
                    });
            match read {
                Ok(Lookup::Found(entry)) => return Some(Ok(entry)),
                Ok(Lookup::Missing | Lookup::Expired) => continue,
                Err(err) => return Some(Err(err)),
            }
        }
    }
}

impl std::iter::FusedIterator for RawEntries {}
