//! The typed listings of a store: [`Keys`], [`Iter`], [`Values`], streamed shard by shard
//! through the one listing loop ([`Entries`]).

use std::marker::PhantomData;
use std::sync::Arc;

use super::codec::{Codec, MsgPack};
use super::key::OwnedKey;
use super::{Shared, decode_value};
use crate::engine::read::{Expect, Found, Lookup, Now};
use crate::engine::walk::Entries;
use crate::error::{Error, Result};
use crate::fs::read::Need;

fn decode_key<K: OwnedKey>(found: &Found<'_>) -> Result<K> {
    K::from_key_bytes(found.key).map_err(|e| {
        Error::new(e.kind(), "cannot decode the key of this entry")
            .with_path(found.path())
            .with_source(e)
    })
}

/// The walk under each typed listing: hashes, then the entry of each, made into an item.
struct Walk<C> {
    hashes: Entries,
    shared: Arc<Shared<C>>,
    now: u64,
    /// Why the walk could not begin (write-back RAM could not be written first).
    failed: Option<Error>,
}

impl<C> Walk<C> {
    fn new(shared: Arc<Shared<C>>) -> Self {
        let engine = shared.raw.engine();
        let failed = engine.before_walk().err();
        Walk {
            hashes: engine.entries(),
            now: engine.now_ms(),
            shared,
            failed,
        }
    }

    fn next<T>(
        &mut self,
        need: Need,
        item: impl Fn(&C, &Found<'_>) -> Result<T>,
    ) -> Option<Result<T>> {
        if let Some(e) = self.failed.take() {
            return Some(Err(e));
        }
        loop {
            let hash = match self.hashes.next()? {
                Ok(hash) => hash,
                Err(e) => return Some(Err(e)),
            };
            let codec = &self.shared.codec;
            let read = self.shared.raw.engine().read_entry(
                &hash,
                Expect::Hash,
                need,
                Now::At(self.now),
                false,
                |found| item(codec, &found),
            );
            match read {
                Ok(Lookup::Found(t)) => return Some(Ok(t)),
                Ok(Lookup::Missing | Lookup::Expired) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

macro_rules! listing {
    ($(#[$doc:meta])* $name:ident, $item:ty, $need:expr, |$codec:ident, $found:ident| $body:expr) => {
        $(#[$doc])*
        pub struct $name<K, V, C = MsgPack> {
            walk: Walk<C>,
            types: PhantomData<fn() -> (K, V)>,
        }

        impl<K, V, C> $name<K, V, C> {
            pub(crate) fn new(shared: Arc<Shared<C>>) -> Self {
                $name { walk: Walk::new(shared), types: PhantomData }
            }
        }

        impl<K: OwnedKey, V, C: Codec<V>> Iterator for $name<K, V, C> {
            type Item = Result<$item>;

            fn next(&mut self) -> Option<Self::Item> {
                self.walk.next($need, |$codec: &C, $found: &Found<'_>| $body)
            }
        }

        impl<K: OwnedKey, V, C: Codec<V>> std::iter::FusedIterator for $name<K, V, C> {}

        impl<K, V, C> std::fmt::Debug for $name<K, V, C> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).field("hashes", &self.walk.hashes).finish_non_exhaustive()
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
    Keys, K, Need::Key, |_codec, found| decode_key::<K>(found)
);

listing!(
    /// The entries of a store: `Result<(K, V)>` items, from [`Store::iter`](crate::Store::iter).
    /// A damaged entry yields an `Err` naming its path and the walk goes on.
    Iter, (K, V), Need::Whole, |codec, found| {
        Ok((decode_key::<K>(found)?, decode_value(codec, found)?))
    }
);

listing!(
    /// The values of a store: `Result<V>` items, from [`Store::values`](crate::Store::values).
    /// A damaged entry yields an `Err` naming its path and the walk goes on.
    Values, V, Need::Whole, |codec, found| decode_value(codec, found)
);
