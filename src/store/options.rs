//! The options builder: [`Options`] wraps the untyped settings (`Config`) the engine is
//! opened with, plus the value codec and, with a cache, how values go in and out of it.

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use crate::engine::config::{Durability, Exists};

use super::Store;
use super::codec::{Codec, MsgPack, Raw};
use super::key::OwnedKey;
use crate::clock::Clock;
use crate::engine::cache::{CacheMode, CacheSettings, ValueFns};
use crate::engine::config::{AutoEvict, Config};
use crate::engine::write_back::WriteBackSettings;
use crate::error::Result;
use crate::raw::RawStore;

/// Settings for opening a store; made by [`Store::options`], used by [`Options::open`].
///
/// Defaults: [`Durability::Durable`], read-write, MessagePack values, wait for the write
/// lock as long as it takes, sweep orphaned temp files after 1 hour, entry files created
/// with mode `0o666` less the umask (usually `0o644`; `0o600` for an encrypted store), the
/// system clock, no access tracking, no expiry, no eviction, no compression, no
/// encryption, no value cache, no background thread.
///
/// `Options` is `Clone` and `Debug` whenever the codec is, whatever `K` and `V` are.
pub struct Options<K, V, C = MsgPack> {
    config: Config,
    codec: C,
    /// How values go in and out of the cache; set by [`Options::cache`].
    values: Option<ValueFns<V>>,
    types: PhantomData<fn(K) -> V>,
}

impl<K, V, C: Clone> Clone for Options<K, V, C> {
    fn clone(&self) -> Self {
        Options {
            config: self.config.clone(),
            codec: self.codec.clone(),
            values: self.values,
            types: PhantomData,
        }
    }
}

impl<K, V, C: fmt::Debug> fmt::Debug for Options<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("config", &self.config)
            .field("codec", &self.codec)
            .finish_non_exhaustive()
    }
}

impl<K, V> Default for Options<K, V, MsgPack> {
    fn default() -> Self {
        Options {
            config: Config::default(),
            codec: MsgPack,
            values: None,
            types: PhantomData,
        }
    }
}

impl<K, V, C> Options<K, V, C> {
    /// Durable (default) or fast writes.
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.config.durability = durability;
        self
    }

    /// Open for reading only: no lock file is touched, no temp files are swept, and every
    /// write returns an error of kind [`ReadOnly`](crate::ErrorKind::ReadOnly). A read-only
    /// open never creates a store. Default `false`.
    #[must_use]
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.config.read_only = read_only;
        self
    }

    /// The value codec (default [`MsgPack`]). Its name is recorded in the manifest when the
    /// store is created and checked on every open.
    #[must_use]
    pub fn codec<C2>(self, codec: C2) -> Options<K, V, C2> {
        Options {
            config: self.config,
            codec,
            values: self.values,
            types: PhantomData,
        }
    }

    /// How long a write waits for the store's write lock before failing with
    /// [`Locked`](crate::ErrorKind::Locked). `None` (the default) waits as long as it takes.
    /// On object storage, which has no lock, it bounds how long a read-modify-write
    /// (`update`, `compare_and_swap`, `set_if_absent`) retries after losing races (without
    /// it, 64 tries), before `Locked`.
    #[must_use]
    pub fn lock_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.lock_timeout = timeout;
        self
    }

    /// How old a temp file whose writer cannot be identified must be before a sweep removes
    /// it (default 1 hour). Temp files of writers known to be dead (their marker in `tmp/`
    /// is unlocked) are removed on the next open whatever their age; those of live writers
    /// never are.
    #[must_use]
    pub fn stale_temp_age(mut self, age: Duration) -> Self {
        self.config.stale_temp_age = age;
        self
    }

    /// Permission bits of new entry files, before the process umask (default `0o666`, so
    /// usually `0o644`; `0o600` for an encrypted store). Folders the store makes get the
    /// same bits plus the search bit for each read bit (`0o755`, `0o700`). Use `0o600` to
    /// keep values private to the owner.
    #[must_use]
    pub fn file_mode(mut self, mode: u32) -> Self {
        self.config.file_mode = Some(mode & 0o7777);
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
        self.config.clock = Some(clock);
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
        self.config.track_access = track;
        self
    }

    /// Every value written without an explicit TTL (by `set`, `set_many`, `update`,
    /// `set_if_absent`, `compare_and_swap`) expires this long after it is written. `None`
    /// (the default): values never expire unless written with
    /// [`set_with_ttl`](Store::set_with_ttl).
    #[must_use]
    pub fn default_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.config.default_ttl = ttl;
        self
    }

    /// Keep an entry's creation time when `set`, `set_many` or `compare_and_swap`
    /// replaces its value (reading the old entry's header first: about 5 µs more per
    /// write). By default those start the key's life afresh (created = modified = now),
    /// as a renamed-over file does; [`update`](Store::update) always keeps it, since it
    /// reads the old value anyway. Default `false`.
    #[must_use]
    pub fn preserve_created(mut self, preserve: bool) -> Self {
        self.config.preserve_created = preserve;
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
        self.config.auto_evict = Some(AutoEvict {
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
    #[cfg_attr(docsrs, doc(cfg(feature = "compression")))]
    #[must_use]
    pub fn compression(mut self, min_len: Option<usize>) -> Self {
        self.config.compress_min = min_len;
        self
    }

    /// Encrypt keys and values with this key or passphrase (see
    /// [`EncryptionKey`](crate::EncryptionKey) and the [encryption guide](crate::guide::encryption)).
    /// A new store is created encrypted; an existing store must have been created with the
    /// same key, or opening fails with [`WrongKey`](crate::ErrorKind::WrongKey). Opening
    /// an encrypted store without a key fails with `WrongKey` too, and opening an
    /// unencrypted store with one fails with
    /// [`IncompatibleFormat`](crate::ErrorKind::IncompatibleFormat).
    #[cfg(feature = "encryption")]
    #[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
    #[must_use]
    pub fn encryption(mut self, key: crate::EncryptionKey) -> Self {
        self.config.encryption = Some(key);
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
        self.config.cache = Some(CacheSettings {
            max_entries,
            max_bytes,
            mode: self.config.cache_mode,
        });
        self.values = Some(ValueFns::new());
        self
    }

    /// Write-back mode, for a store that this process owns (a simulator's paged memory, a
    /// build cache): keeps up to `max_entries` values and `max_bytes` bytes in memory,
    /// answers gets and sets from there (a hit is a clone, no system call), and writes
    /// changed entries to their files later: when they are evicted (least recently used
    /// first, by CLOCK; in batches of 64 that share their fsyncs), on
    /// [`sync`](Store::sync), every [`sync_interval`](Options::sync_interval) when one is
    /// set, and when the last handle is dropped. Absent keys are remembered too. Each write
    /// to a file is the usual atomic one, so the files always hold whole values.
    ///
    /// The store is owned while open: opening takes every shard's write lock (waiting as
    /// long as the [`lock_timeout`](Options::lock_timeout) says) and keeps them until the
    /// last handle is dropped, so another process's writer waits (or fails with
    /// [`Locked`](crate::ErrorKind::Locked) after its own timeout) and is never silently
    /// overwritten. Other processes reading the store see the files: the state of the last
    /// flush. `keys`, `iter`, `len` and the other walks flush first.
    ///
    /// **What a crash loses:** the changes made since their last flush (`set`s and
    /// `remove`s still dirty in memory). Call [`sync`](Store::sync) at the points your
    /// program must not lose; with [`Durability::Durable`] a flush is durable when it
    /// returns, with [`Durability::Fast`] it survives a crash of the process but not a
    /// power cut. Errors of flushes made on drop cannot be reported: call `sync` to see them.
    ///
    /// A store on object storage (feature `object-store`) has no lock to own it with: a
    /// writable open of one with write-back mode is an
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput) error.
    ///
    /// ```
    /// use dirkv::{Durability, Exists, Raw, Store};
    /// # let dir = tempfile::tempdir()?;
    /// // A paged memory: 4 KiB pages, up to 1,000 of them in RAM.
    /// let memory: Store<u64, Vec<u8>, Raw> = Store::options()
    ///     .codec(Raw)
    ///     .write_back(1000, 8 << 20)
    ///     .durability(Durability::Fast)
    ///     .open(dir.path().join("memory"), Exists::OpenOrCreate)?;
    /// memory.set(&7, &vec![1; 4096])?;          // in RAM
    /// assert_eq!(memory.get(&7)?.map(|p| p[0]), Some(1));
    /// memory.sync()?;                            // now in its file too
    /// assert!(memory.path_of(&7).exists());
    /// # Ok::<(), dirkv::Error>(())
    /// ```
    #[must_use]
    pub fn write_back(mut self, max_entries: usize, max_bytes: usize) -> Self
    where
        V: Clone + Send + Sync + 'static,
    {
        self.config.write_back = Some(WriteBackSettings {
            max_entries,
            max_bytes,
        });
        self.values = Some(ValueFns::new());
        self
    }

    /// How far the value cache trusts itself (default [`CacheMode::Validated`]); has an
    /// effect only with [`cache`](Options::cache).
    #[must_use]
    pub fn cache_mode(mut self, mode: CacheMode) -> Self {
        self.config.cache_mode = mode;
        if let Some(cache) = &mut self.config.cache {
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
        self.config.sync_interval = interval;
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
        Store::from_options(path.as_ref(), mode, self)
    }

    /// Opens (or creates) the store at `path` with these options as a [`RawStore`]: a new
    /// store's manifest names `key_encoding` and `codec` (see
    /// [`RawStore::create`]), an existing store must name the same. The codec of these
    /// options is not used (values are bytes); a [cache](Options::cache) keeps value bytes.
    ///
    /// # Errors
    ///
    /// As [`Store::open`]; [`InvalidInput`](crate::ErrorKind::InvalidInput) when creating a
    /// store with a name that is not a plain word.
    pub fn open_raw(
        self,
        path: impl AsRef<Path>,
        mode: Exists,
        key_encoding: &str,
        codec: &str,
    ) -> Result<RawStore> {
        RawStore::open_with(
            path.as_ref(),
            mode,
            Some((key_encoding, codec)),
            self.config,
        )
    }

    /// Opens the existing store at `path` with these options as a [`RawStore`], whatever
    /// key encoding and codec its manifest names (as [`RawStore::open`] does, with every
    /// option). Never creates anything.
    ///
    /// # Errors
    ///
    /// As [`RawStore::open`].
    pub fn open_raw_as_found(self, path: impl AsRef<Path>) -> Result<RawStore> {
        RawStore::open_with(path.as_ref(), Exists::Update, None, self.config)
    }

    /// The settings, the codec and the cache's value functions (when the cache is on).
    pub(crate) fn into_parts(self) -> (Config, C, Option<ValueFns<V>>) {
        let keeps = self.config.cache.is_some() || self.config.write_back.is_some();
        let values = self.values.filter(|_| keeps);
        let mut config = self.config;
        config.typed = true;
        (config, self.codec, values)
    }
}

impl RawStore {
    /// The options builder for a [`RawStore`], with the defaults documented on [`Options`];
    /// finish with [`Options::open_raw`] or [`Options::open_raw_as_found`].
    ///
    /// ```
    /// use dirkv::{Durability, Exists, RawStore};
    /// # let dir = tempfile::tempdir()?;
    /// let raw = RawStore::options()
    ///     .durability(Durability::Fast)
    ///     .cache(1000, 1 << 20)
    ///     .open_raw(dir.path().join("s"), Exists::OpenOrCreate, "utf8", "raw")?;
    /// raw.set(b"k", b"v")?;
    /// assert_eq!(raw.get_value(b"k")?, Some(b"v".to_vec()));
    /// # Ok::<(), dirkv::Error>(())
    /// ```
    pub fn options() -> Options<Vec<u8>, Vec<u8>, Raw> {
        Options::default().codec(Raw)
    }
}
