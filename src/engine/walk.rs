//! The one listing loop: the entries of a store, shard `00` to `ff`, each shard streamed
//! from the storage. Memory stays flat however large the store. A shard that cannot be
//! listed yields one `Err` and the walk goes on; a missing shard folder is reported as
//! damage once.

use std::sync::Arc;

use super::storage::{Hash, ShardList, Storage};
use crate::error::{Error, Result};
use crate::format::names;

/// The hashes of a store's entries, in shard order.
pub(crate) struct Entries {
    storage: Arc<dyn Storage>,
    next_shard: usize,
    current: Option<ShardList>,
}

impl std::fmt::Debug for Entries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entries")
            .field("next_shard", &self.next_shard)
            .finish_non_exhaustive()
    }
}

fn missing(storage: &dyn Storage, shard: u8) -> Error {
    Error::corrupt(
        "shard folder is missing",
        &storage.path().join(names::shard_name(shard)),
    )
}

impl Entries {
    pub(crate) fn new(storage: Arc<dyn Storage>) -> Self {
        Entries {
            storage,
            next_shard: 0,
            current: None,
        }
    }
}

impl Iterator for Entries {
    type Item = Result<Hash>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(list) = &mut self.current {
                match list.next() {
                    Some(Ok(hash)) => return Some(Ok(hash)),
                    Some(Err(e)) => {
                        self.current = None;
                        return Some(Err(e));
                    }
                    None => self.current = None,
                }
                continue;
            }
            if self.next_shard >= names::SHARDS {
                return None;
            }
            let shard = self.next_shard as u8;
            self.next_shard += 1;
            match self.storage.list(shard) {
                Ok(Some(list)) => self.current = Some(list),
                Ok(None) => return Some(Err(missing(&*self.storage, shard))),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl std::iter::FusedIterator for Entries {}

/// The number of entries (files listed, none opened).
///
/// # Errors
///
/// A shard cannot be listed, or is missing.
pub(crate) fn count(storage: &dyn Storage) -> Result<usize> {
    let mut n = 0;
    for shard in 0..=255u8 {
        n += storage
            .count(shard)?
            .ok_or_else(|| missing(storage, shard))?;
    }
    Ok(n)
}
