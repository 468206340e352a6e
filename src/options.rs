//! Open modes and the options builder.

use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::cache::{CacheMode, CacheSettings, ValueFns};
use crate::clock::Clock;
use crate::codec::{Codec, MsgPack};
use crate::error::Result;
use crate::key::OwnedKey;
use crate::policy::{AutoEvict, Policy};
use crate::store::Store;
use crate::sys;

/// What [`Store::open`] does with what is already at the path.
///
/// | at the path | `Error` | `Replace` | `Update` | `OpenOrCreate` |
/// | --- | --- | --- | --- | --- |
/// | nothing | create | create | `NotFound` | create |
/// | an empty folder | create | create | `NotAStore` | create |
/// | a dirkv store | `AlreadyExists` | empty it | open | open |
/// | anything else | `NotAStore` | `NotAStore` | `NotAStore` | `NotAStore` |
///
/// "Anything else" (a file, a dangling link, a folder with other files) is never adopted
/// and never deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exists {
    /// Create a new store; fail if the path is anything but missing or an empty folder.
    Error,
    /// Start empty: a store at the path is emptied (its entries and crashed writers' temp
    /// files are removed; foreign files are left alone), a missing path or empty folder
    /// becomes a new store. Anything else is refused and left untouched.
    Replace,
    /// The path must already be a dirkv store.
    Update,
    /// Open the store at the path, or create one at a missing path or empty folder.
    OpenOrCreate,
}

/// How hard a write works to survive a power cut. Both levels are atomic: a reader, a
/// crash or a `kill -9` sees the old value or the new one, never a mix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Durability {
    /// The default: when a write returns `Ok`, it survives a power cut (fdatasync of the
    /// file, rename, fsync of its folder). About 1 ms per write on a typical SSD; batches
    /// share the folder fsyncs.
    #[default]
    Durable,
    /// No fsync: atomic against crashes of the process, not against power loss or kernel
    /// crashes. About 20 times faster. Call [`Store::sync`] to make the writes so far durable.
    Fast,
}

/// Settings for opening a store; made by [`Store::options`], used by [`Options::open`].
///
/// Defaults: [`Durability::Durable`], read-write, MessagePack values, wait for the write
/// lock as long as it takes, sweep orphaned temp files after 1 hour, entry files created
/// with mode `0o666` less the umask (usually `0o644`), the system clock, no access
/// tracking, no expiry, no eviction, no compression, no encryption, no value cache, no
/// background thread.
#[derive(Clone, Debug)]
pub struct Options<K, V, C = MsgPack> {
    pub(crate) durability: Durability,
    pub(crate) read_only: bool,
    pub(crate) codec: C,
    pub(crate) lock_timeout: Option<Duration>,
    pub(crate) stale_temp_age: Duration,
    pub(crate) file_mode: u32,
    /// Clock, access times, expiry, eviction, compression, encryption.
    pub(crate) policy: Policy,
    pub(crate) cache: Option<CacheSettings>,
    pub(crate) cache_mode: CacheMode,
    pub(crate) values: Option<ValueFns<V>>,
    pub(crate) sync_interval: Option<Duration>,
    types: PhantomData<fn(K) -> V>,
}

impl<K, V> Default for Options<K, V, MsgPack> {
    fn default() -> Self {
        Options {
            durability: Durability::Durable,
            read_only: false,
            codec: MsgPack,
            lock_timeout: None,
            stale_temp_age: Duration::from_secs(3600),
            file_mode: sys::DEFAULT_FILE_MODE,
            policy: Policy::default(),
            cache: None,
            cache_mode: CacheMode::Validated,
            values: None,
            sync_interval: None,
            types: PhantomData,
        }
    }
}

impl<K, V, C> Options<K, V, C> {
    /// Durable (default) or fast writes.
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Open for reading only: no lock file is touched, no temp files are swept, and every
    /// write returns an error of kind [`ReadOnly`](crate::ErrorKind::ReadOnly). A read-only
    /// open never creates a store. Default `false`.
    #[must_use]
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// The value codec (default [`MsgPack`]). Its name is recorded in the manifest when the
    /// store is created and checked on every open.
    #[must_use]
    pub fn codec<C2>(self, codec: C2) -> Options<K, V, C2> {
        Options {
            durability: self.durability,
            read_only: self.read_only,
            codec,
            lock_timeout: self.lock_timeout,
            stale_temp_age: self.stale_temp_age,
            file_mode: self.file_mode,
            policy: self.policy,
            cache: self.cache,
            cache_mode: self.cache_mode,
            values: self.values,
            sync_interval: self.sync_interval,
            types: PhantomData,
        }
    }

    /// How long a write waits for the store's write lock before failing with
    /// [`Locked`](crate::ErrorKind::Locked). `None` (the default) waits as long as it takes.
    #[must_use]
    pub fn lock_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// How old a temp file whose writer cannot be identified must be before a sweep removes
    /// it (default 1 hour). Temp files of writers known to be dead (their marker in `tmp/`
    /// is unlocked) are removed on the next open whatever their age; those of live writers
    /// never are.
    #[must_use]
    pub fn stale_temp_age(mut self, age: Duration) -> Self {
        self.stale_temp_age = age;
        self
    }

    /// Permission bits of new entry files, before the process umask (default `0o666`, so
    /// usually `0o644`). Use `0o600` to keep values private to the owner. Ignored off Unix.
    #[must_use]
    pub fn file_mode(mut self, mode: u32) -> Self {
        self.file_mode = mode & 0o7777;
        self
    }

    /// The clock the store reads the time from (default: the system clock). It decides
    /// created, modified and expiry times, whether an entry has expired, and the access
    /// times recorded with [`track_access`](Options::track_access). With a clock of its own
    /// the store also sets each written file's modification time from it, so that
    /// eviction orders entries by this clock. Use a [`ManualClock`](crate::ManualClock) to
    /// test expiry and eviction without sleeping.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.policy.clock = Some(clock);
        self
    }

    /// Record the time of each read: every [`get`](Store::get) sets the entry file's
    /// access time (with `File::set_times`; the file is not rewritten, and the mount's
    /// `atime` options do not matter), so that eviction removes the least recently *used*
    /// entries rather than the oldest written. Costs one system call per `get`. Only the
    /// file's owner may set its times: for other users the read succeeds and the time is
    /// not recorded. Iterating, `contains_key` and [`metadata`](Store::metadata) do not
    /// count as reads. Default `false`.
    #[must_use]
    pub fn track_access(mut self, track: bool) -> Self {
        self.policy.track_access = track;
        self
    }

    /// Every value written without an explicit TTL (by `set`, `set_many`, `update`,
    /// `set_if_absent`, `compare_and_swap`) expires this long after it is written. `None`
    /// (the default): values never expire unless written with
    /// [`set_with_ttl`](Store::set_with_ttl).
    #[must_use]
    pub fn default_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.policy.default_ttl = ttl;
        self
    }

    /// Keep an entry's creation time when `set`, `set_many` or `compare_and_swap`
    /// replaces its value (reading the old entry's header first: about 5 µs more per
    /// write). By default those start the key's life afresh (created = modified = now),
    /// as a renamed-over file does; [`update`](Store::update) always keeps it, since it
    /// reads the old value anyway. Default `false`.
    #[must_use]
    pub fn preserve_created(mut self, preserve: bool) -> Self {
        self.policy.preserve_created = preserve;
        self
    }

    /// Keep the store within `max_entries` entries and `max_bytes` bytes on disk (see
    /// [`Store::evict_to`]), checked after writes. Eviction runs in the writing thread:
    /// once every `every_n_writes` writes through this handle, and whenever this handle's
    /// running estimate of the store's size (the last walk's total plus the files it wrote
    /// since) goes over a bound; the first write after opening always walks. When over a
    /// bound it evicts down to 90% of each bound, so that it does not run on every write.
    /// Writes of other processes are seen at the next walk. Eviction errors do not fail the
    /// write that triggered them (call [`Store::evict_to`] to see them). Use `usize::MAX`
    /// or `u64::MAX` for no bound. Off by default.
    ///
    /// [`open`](Options::open) fails with [`InvalidInput`](crate::ErrorKind::InvalidInput)
    /// when `every_n_writes` is 0.
    #[must_use]
    pub fn auto_evict(mut self, max_entries: usize, max_bytes: u64, every_n_writes: u64) -> Self {
        self.policy.auto_evict = Some(AutoEvict {
            max_entries,
            max_bytes,
            every_n_writes,
        });
        self
    }

    /// Compress values of at least `min_len` bytes (after the codec) with LZ4, keeping the
    /// compressed form only when it is smaller; `None` (the default) compresses nothing.
    /// Each entry records whether it is compressed, so a store may mix both, and reading
    /// never depends on this option. Compression happens before encryption.
    #[cfg(feature = "compression")]
    #[must_use]
    pub fn compression(mut self, min_len: Option<usize>) -> Self {
        self.policy.compress_min = min_len;
        self
    }

    /// Encrypt keys and values with this key or passphrase (see
    /// [`EncryptionKey`](crate::EncryptionKey) and the README's section on encryption).
    /// A new store is created encrypted; an existing store must have been created with the
    /// same key, or opening fails with [`WrongKey`](crate::ErrorKind::WrongKey). Opening
    /// an encrypted store without a key fails with `WrongKey` too, and opening an
    /// unencrypted store with one fails with
    /// [`IncompatibleFormat`](crate::ErrorKind::IncompatibleFormat).
    #[cfg(feature = "encryption")]
    #[must_use]
    pub fn encryption(mut self, key: crate::EncryptionKey) -> Self {
        self.policy.encryption = Some(key);
        self
    }

    /// Keeps recently read and written values in memory, at most `max_entries` of them and
    /// at most `max_bytes` charged in all (each value is charged the size of its entry
    /// file plus its key, its path and 128 bytes of bookkeeping, about what it costs in
    /// memory for byte-like values). Off by default.
    ///
    /// A hit returns a clone of the cached value without reading the file: in the default
    /// [`CacheMode::Validated`] after one `stat` that checks the file is unchanged (so
    /// writes by other processes are seen), in [`CacheMode::Trusted`] with no system call at
    /// all (see [`cache_mode`](Options::cache_mode)). Writes and removals through the store
    /// update or invalidate the cache. Only [`get`](Store::get), [`get_many`](Store::get_many)
    /// and [`contains_key`](Store::contains_key) answer from it; iterators and the
    /// read-modify-write calls always read the files.
    ///
    /// ```
    /// use dirkv::{CacheMode, Exists, Store};
    /// # let dir = tempfile::tempdir()?;
    /// let store: Store<String, Vec<u8>> = Store::options()
    ///     .cache(10_000, 64 << 20)                 // 10,000 values or 64 MiB
    ///     .cache_mode(CacheMode::Trusted)           // this process is the only writer
    ///     .open(dir.path().join("s"), Exists::OpenOrCreate)?;
    /// store.set("k", &vec![1, 2, 3])?;
    /// assert_eq!(store.get("k")?, Some(vec![1, 2, 3]));  // from memory
    /// # Ok::<(), dirkv::Error>(())
    /// ```
    #[must_use]
    pub fn cache(mut self, max_entries: usize, max_bytes: usize) -> Self
    where
        V: Clone + Send + Sync + 'static,
    {
        self.cache = Some(CacheSettings {
            max_entries,
            max_bytes,
            mode: self.cache_mode,
        });
        self.values = Some(ValueFns::new());
        self
    }

    /// How far the value cache trusts itself (default [`CacheMode::Validated`]); has an
    /// effect only with [`cache`](Options::cache).
    #[must_use]
    pub fn cache_mode(mut self, mode: CacheMode) -> Self {
        self.cache_mode = mode;
        if let Some(cache) = &mut self.cache {
            cache.mode = mode;
        }
        self
    }

    /// In [`Durability::Fast`], makes writes durable every `interval` from a background
    /// thread owned by the store (like a database's periodic sync): a power cut then loses
    /// at most about the last `interval` of writes. The thread syncs only what was written
    /// since its last round, stops when the last handle to the store is dropped, and makes
    /// a final sync before it ends. [`Store::sync`] still syncs on demand. A sync that
    /// fails keeps its writes pending for the next round, and `sync` reports the error if
    /// it persists.
    ///
    /// `None` (the default) starts no thread. Ignored in durable mode (every write is
    /// already durable) and on read-only stores.
    #[must_use]
    pub fn sync_interval(mut self, interval: Option<Duration>) -> Self {
        self.sync_interval = interval;
        self
    }

    /// Opens (or creates) the store at `path` with these options.
    ///
    /// # Errors
    ///
    /// See [`Store::open`].
    pub fn open(self, path: impl AsRef<Path>, mode: Exists) -> Result<Store<K, V, C>>
    where
        K: OwnedKey,
        C: Codec<V>,
    {
        Store::open_with(path.as_ref(), mode, self)
    }
}
