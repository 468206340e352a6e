//! Batch reads that read ahead: `get_many` fetches its keys' entries all at once where the
//! storage gains from it (object storage, whose requests are slow one by one and cheap
//! side by side), then reads them one by one as usual, each read taking what was fetched.

use super::Engine;
use super::storage::{Hash, Storage};
use crate::error::Result;

/// Keys a batch read fetches ahead at a time: enough to keep every request slot busy, few
/// enough that memory stays bounded.
const CHUNK: usize = 256;

/// Entries read ahead by [`Engine::prefetch`]; dropping it drops what no read took.
pub(crate) struct Prefetch<'a>(&'a dyn Storage);

impl Drop for Prefetch<'_> {
    fn drop(&mut self) {
        self.0.end_prefetch();
    }
}

impl Engine {
    /// Reads the entries of `keys` ahead, all at once where the storage gains from it, for
    /// the reads of them that follow on this thread; what no read took is dropped with the
    /// guard.
    fn prefetch<Q: AsRef<[u8]>>(&self, keys: &[Q]) -> Prefetch<'_> {
        if self.storage.parallelism() > 1 && keys.len() > 1 && self.check_alive().is_ok() {
            let hashes: Vec<Hash> = keys.iter().map(|k| self.key_hash(k.as_ref())).collect();
            self.storage.prefetch(&hashes);
        }
        Prefetch(&*self.storage)
    }

    /// `read(key)` of every key in order, [`CHUNK`] keys fetched ahead at a time; stops at
    /// the first error.
    pub(crate) fn read_ahead<Q: AsRef<[u8]>, T>(
        &self,
        keys: &[Q],
        mut read: impl FnMut(&Q) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            let _ahead = self.prefetch(chunk);
            for key in chunk {
                out.push(read(key)?);
            }
        }
        Ok(out)
    }
}
