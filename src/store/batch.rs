//! The batch methods of [`Store`]: several keys in one call.

use std::borrow::Borrow;

use super::Store;
use super::codec::Codec;
use super::key::{Key, OwnedKey};
use crate::engine::write::Expiry;
use crate::error::Result;

impl<K: OwnedKey, V, C: Codec<V>> Store<K, V, C> {
    /// The values of several keys, in order. On object storage the GETs run
    /// concurrently (32 in flight, 256 keys read ahead at a time).
    ///
    /// Like the other batch methods, it takes any iterable of [`Key`]s: an array of
    /// `&str`, a `&[String]`, a `Vec<u64>`, an iterator of `&String`…
    ///
    /// # Errors
    ///
    /// The first error [`get`](Store::get) meets.
    pub fn get_many<I>(&self, keys: I) -> Result<Vec<Option<V>>>
    where
        I: IntoIterator,
        I::Item: Key,
    {
        let keys: Vec<Vec<u8>> = keys
            .into_iter()
            .map(|k| k.key_bytes().into_owned())
            .collect();
        self.engine().read_ahead(&keys, |key| self.get_bytes(key))
    }

    /// Writes several entries. Each entry is atomic on its own (the batch as a whole is
    /// not); in durable mode the batch pays one fsync per entry file, issued from several
    /// threads at once (see the [performance guide](crate::guide::performance)), and one per shard folder
    /// touched, not one folder fsync per key. On object storage it is one PUT per entry,
    /// 32 in flight. When a key appears twice, the later value wins.
    ///
    /// # Errors
    ///
    /// As [`set`](Store::set). Entries of earlier chunks (of 1,024) may have been written
    /// when an error is returned (and in durable mode were made durable). When encoding or
    /// writing a temp file fails, no entry of its chunk is written; when a rename fails,
    /// entries of the chunk in other shard folders may have been.
    pub fn set_many<I, Q, B>(&self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = (Q, B)>,
        Q: Key,
        B: Borrow<V>,
    {
        let e = self.engine();
        e.put_many(items.into_iter().map(|(key, value)| {
            let key = key.key_bytes();
            let hash = e.key_hash(&key);
            let created = e.old_created(&key, &hash);
            let value = value.borrow();
            let bytes = self.encode(&key, &hash, value, created, Expiry::Default)?;
            let note = (e.cache().is_some() || e.write_back().is_some())
                .then(|| (key.into_owned(), self.for_cache(value)));
            Ok((hash, bytes, note))
        }))
    }

    /// Removes several keys under one lock; returns how many had a value. On object
    /// storage (no lock) 32 keys are removed at a time, each a GET and a DELETE.
    ///
    /// # Errors
    ///
    /// As [`remove`](Store::remove).
    pub fn remove_many<I>(&self, keys: I) -> Result<usize>
    where
        I: IntoIterator,
        I::Item: Key,
    {
        let keys: Vec<Vec<u8>> = keys
            .into_iter()
            .map(|k| k.key_bytes().into_owned())
            .collect();
        self.shared.raw.remove_many(keys.iter().map(Vec::as_slice))
    }
}
