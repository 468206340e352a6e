//! The cache's types: its mode and statistics (public), its settings, and how typed values
//! go in and out of it.

use std::any::Any;
use std::sync::Arc;

/// A cached decoded value.
pub(crate) type CachedValue = Arc<dyn Any + Send + Sync>;

/// How far the cache trusts itself; see [`Options::cache_mode`](crate::Options::cache_mode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CacheMode {
    /// The default: before a cached value is returned, one `stat` of its entry file checks
    /// that the file is still the one the value was read from (device, inode, size,
    /// modification and change times), so a write by another process is seen by the next
    /// `get`. Values this store writes are cached too, under the identity of the file it
    /// wrote, on file systems that stamp every change of a file someone has looked at with
    /// a new change time (Linux 6.13+ on ext4, XFS, Btrfs, tmpfs). On others a value whose
    /// file changed less than a moment ago (50 ms with sub-second timestamps, 3 s
    /// without) is not cached yet, and own writes are not: two changes within one tick of
    /// the file system's clock could not be told apart.
    #[default]
    Validated,
    /// No `stat`: a hit costs no system call at all. Use it only when this process is the
    /// only writer of the store. Its own writes and removals update the cache; writes by
    /// other processes are **not** seen until the value is evicted.
    Trusted,
}

/// The typed side of the cache: how a `V` goes in and a clone comes out. Made where
/// `V: Clone + Send + Sync + 'static` is known ([`Options::cache`](crate::Options::cache)),
/// kept by the store as plain function pointers, so `get` itself needs no such bound.
pub(crate) struct ValueFns<V> {
    /// A decoded value, moved into the cache.
    pub wrap: fn(V) -> CachedValue,
    /// A clone of a value just written (trusted mode).
    pub wrap_ref: fn(&V) -> CachedValue,
    /// A clone of a cached value.
    pub unwrap: fn(&CachedValue) -> Option<V>,
}

impl<V: Clone + Send + Sync + 'static> ValueFns<V> {
    pub(crate) fn new() -> Self {
        ValueFns {
            wrap: |v| Arc::new(v),
            wrap_ref: |v| Arc::new(v.clone()),
            unwrap: |c| c.downcast_ref::<V>().cloned(),
        }
    }
}

impl<V> Clone for ValueFns<V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for ValueFns<V> {}

impl<V> std::fmt::Debug for ValueFns<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ValueFns")
    }
}

/// The cache's bounds and mode, as given to the options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CacheSettings {
    pub max_entries: usize,
    pub max_bytes: usize,
    pub mode: CacheMode,
}

/// What the value cache holds and how it has done, from [`Store::cache_stats`](crate::Store::cache_stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Values held now.
    pub entries: usize,
    /// Bytes charged for them now (see [`Options::cache`](crate::Options::cache)).
    pub bytes: usize,
    /// Gets answered from the cache since the store was opened.
    pub hits: u64,
    /// Gets that had to read the file (including those that found no value).
    pub misses: u64,
}
