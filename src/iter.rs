//! Walking a store's entries: shard folders `00`..`ff` in order, entry files in each.
//!
//! Listing takes no lock. An entry written during the walk may or may not be seen; an
//! entry removed during the walk is skipped. Foreign files, folders, links and temp files
//! are skipped. A shard that cannot be listed yields one `Err` and the walk goes on.

use std::ffi::OsString;
use std::fs::{self, ReadDir};
use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::codec::Codec;
use crate::engine::Expect;
use crate::error::{Error, Result};
use crate::key::OwnedKey;
use crate::layout;
use crate::read::Need;
use crate::store::Shared;

/// Paths and hashes of the entry files of a store, in shard order.
#[derive(Debug)]
pub(crate) struct EntryPaths {
    root: PathBuf,
    next_shard: usize,
    current: Option<(u8, PathBuf, ReadDir)>,
}

impl EntryPaths {
    pub(crate) fn new(root: &Path) -> Self {
        EntryPaths {
            root: root.to_owned(),
            next_shard: 0,
            current: None,
        }
    }
}

impl EntryPaths {
    /// Counts the entries that are left, without building their paths.
    pub(crate) fn count_entries(mut self) -> Result<usize> {
        let mut n = 0;
        while let Some(item) = self.next_entry() {
            item?;
            n += 1;
        }
        Ok(n)
    }

    /// The next entry file (a plain file with an entry name, in its own shard).
    fn next_entry(&mut self) -> Option<Result<(fs::DirEntry, OsString)>> {
        loop {
            if let Some((shard, dir, items)) = &mut self.current {
                match items.next() {
                    Some(Ok(item)) => {
                        let name = item.file_name();
                        // An entry name in the wrong shard is never looked up: not an entry.
                        if !layout::is_entry_name_in(name.as_encoded_bytes(), *shard) {
                            continue;
                        }
                        match item.file_type() {
                            Ok(t) if t.is_file() => return Some(Ok((item, name))),
                            Ok(_) => continue,
                            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                            Err(e) => {
                                return Some(Err(Error::io("cannot list shard folder", dir, e)));
                            }
                        }
                    }
                    Some(Err(e)) => {
                        let err = Error::io("cannot list shard folder", dir, e);
                        self.current = None;
                        return Some(Err(err));
                    }
                    None => self.current = None,
                }
                continue;
            }
            if self.next_shard >= layout::SHARDS {
                return None;
            }
            let shard = self.next_shard as u8;
            self.next_shard += 1;
            let dir = self.root.join(layout::shard_name(shard));
            match fs::read_dir(&dir) {
                Ok(items) => self.current = Some((shard, dir, items)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Some(Err(Error::corrupt("shard folder is missing", &dir)));
                }
                Err(e) => return Some(Err(Error::io("cannot list shard folder", &dir, e))),
            }
        }
    }
}

impl Iterator for EntryPaths {
    type Item = Result<(PathBuf, [u8; 32])>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (entry, name) = match self.next_entry()? {
                Ok(found) => found,
                Err(e) => return Some(Err(e)),
            };
            // Always `Some` for a name `next_entry` accepted.
            if let Some(hash) = name.to_str().and_then(layout::parse_entry_name) {
                return Some(Ok((entry.path(), hash)));
            }
        }
    }
}

fn decode_key<K: OwnedKey>(key: &[u8], path: &Path) -> Result<K> {
    K::from_key_bytes(key).map_err(|e| {
        Error::new(e.kind(), "cannot decode the key of this entry")
            .with_path(path)
            .with_source(e)
    })
}

pub(crate) fn decode_value<V, C: Codec<V>>(codec: &C, value: &[u8], path: &Path) -> Result<V> {
    codec.decode(value).map_err(|e| {
        Error::new(
            crate::ErrorKind::Decode,
            "cannot decode the value of this entry",
        )
        .with_path(path)
        .with_source(e)
    })
}

macro_rules! listing {
    ($(#[$doc:meta])* $name:ident, $item:ty, $need:expr, |$codec:ident, $key:ident, $value:ident, $path:ident| $body:expr) => {
        $(#[$doc])*
        pub struct $name<K, V, C> {
            paths: EntryPaths,
            shared: Arc<Shared<C>>,
            now: u64,
            types: PhantomData<fn() -> (K, V)>,
        }

        impl<K, V, C> $name<K, V, C> {
            pub(crate) fn new(shared: Arc<Shared<C>>) -> Self {
                let now = shared.engine.now_ms();
                $name { paths: EntryPaths::new(&shared.engine.root), shared, now, types: PhantomData }
            }
        }

        impl<K: OwnedKey, V, C: Codec<V>> Iterator for $name<K, V, C> {
            type Item = Result<$item>;

            fn next(&mut self) -> Option<Self::Item> {
                loop {
                    let (path, hash) = match self.paths.next()? {
                        Ok(found) => found,
                        Err(e) => return Some(Err(e)),
                    };
                    let $codec = &self.shared.codec;
                    let $path = path.as_path();
                    let read = self.shared.engine.read_file(&path, Expect::Hash(&hash), $need, self.now, |found| {
                        let ($key, $value) = (found.key, found.value);
                        $body
                    });
                    match read {
                        Ok(Some(item)) => return Some(Ok(item)),
                        Ok(None) => continue,
                        Err(e) => return Some(Err(e)),
                    }
                }
            }
        }

        impl<K, V, C> std::fmt::Debug for $name<K, V, C> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).field("paths", &self.paths).finish_non_exhaustive()
            }
        }
    };
}

listing!(
    /// The keys of a store: `Result<K>` items, from [`Store::keys`](crate::Store::keys).
    ///
    /// Each entry's header and key are read and checked against its file name; the
    /// value's checksum is checked too when the file is small enough to come in one read
    /// (16 KiB). A damaged entry yields an `Err` naming its path and the walk goes on.
    Keys, K, Need::Key, |_codec, key, _value, path| decode_key::<K>(key, path)
);

listing!(
    /// The entries of a store: `Result<(K, V)>` items, from [`Store::iter`](crate::Store::iter).
    /// A damaged entry yields an `Err` naming its path and the walk goes on.
    Iter, (K, V), Need::Whole, |codec, key, value, path| {
        Ok((decode_key::<K>(key, path)?, decode_value(codec, value, path)?))
    }
);

listing!(
    /// The values of a store: `Result<V>` items, from [`Store::values`](crate::Store::values).
    /// A damaged entry yields an `Err` naming its path and the walk goes on.
    Values, V, Need::Whole, |codec, _key, value, path| decode_value(codec, value, path)
);
