//! Open modes and the options builder.

use std::marker::PhantomData;
use std::path::Path;
use std::time::Duration;

use crate::codec::{Codec, MsgPack};
use crate::error::Result;
use crate::key::OwnedKey;
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
/// with mode `0o666` less the umask (usually `0o644`).
#[derive(Clone, Debug)]
pub struct Options<K, V, C = MsgPack> {
    pub(crate) durability: Durability,
    pub(crate) read_only: bool,
    pub(crate) codec: C,
    pub(crate) lock_timeout: Option<Duration>,
    pub(crate) stale_temp_age: Duration,
    pub(crate) file_mode: u32,
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
