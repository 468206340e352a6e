//! Opening stores on object storage (feature `object-store`): [`Options::open_url`] and
//! [`Options::object_store`] with [`RemoteOptions`], and their [`RawStore`] twins.

use std::marker::PhantomData;
use std::sync::Arc;

use object_store::ObjectStore;

use super::codec::{Codec, MsgPack};
use super::key::OwnedKey;
use super::options::{Exists, Options};
use super::{Shared, Store};
use crate::engine::config::Config;
use crate::engine::open::Wanted;
use crate::engine::remote_open;
use crate::error::Result;
use crate::format::manifest::Manifest;
use crate::object::{Client, url};
use crate::raw::{Access, RawStore};

/// Where a remote store is: an object store and a prefix in it, with the URL that names
/// it in messages.
struct Place {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    url: String,
}

impl Place {
    fn of_url(text: &str) -> Result<Place> {
        let target = url::parse(text)?;
        Ok(Place {
            store: target.store,
            prefix: target.prefix,
            url: target.url,
        })
    }

    fn open_raw(
        self,
        mode: Exists,
        names: Option<(&str, &str)>,
        config: Config,
    ) -> Result<RawStore> {
        let wanted = match names {
            Some((key, codec)) => Wanted::Names(Manifest::new(key, codec)),
            None => Wanted::AsFound,
        };
        let client = Client::new(self.store, &self.prefix, self.url)?;
        let engine = remote_open::open(client, mode, wanted, config)?;
        Ok(RawStore::from_engine(engine))
    }

    fn open_typed<K: OwnedKey, V, C: Codec<V>>(
        self,
        mode: Exists,
        options: Options<K, V, C>,
    ) -> Result<Store<K, V, C>> {
        let (config, codec, values) = options.into_parts();
        let raw = self.open_raw(mode, Some((K::ENCODING, codec.name())), config)?;
        Ok(Store {
            shared: Arc::new(Shared { raw, codec }),
            values,
            types: PhantomData,
        })
    }
}

/// The options of a store on an object store given by the caller (see
/// [`Options::object_store`]); finish with [`open_remote`](RemoteOptions::open_remote).
pub struct RemoteOptions<K, V, C = MsgPack> {
    options: Options<K, V, C>,
    place: Place,
}

impl<K, V, C> std::fmt::Debug for RemoteOptions<K, V, C> {
    // Never the object store: its configuration may hold credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteOptions")
            .field("url", &self.place.url)
            .finish_non_exhaustive()
    }
}

impl<K, V, C> Options<K, V, C> {
    /// Opens (or creates) the store at a URL with these options (feature `object-store`):
    /// `s3://bucket/prefix` (also `s3a://`), `gs://bucket/prefix` (feature
    /// `object-store-gcp`), `az://container/prefix` (feature `object-store-azure`), or
    /// `memory://name/prefix` (an in-memory object store shared by every open of that
    /// name in this process, for tests). The store is the same as on disk: the manifest
    /// at `<prefix>/DIRKV`, one object per entry at `<prefix>/ab/<sha256>.dkv`, so a store
    /// folder copied into a bucket opens here.
    ///
    /// The client is configured from the provider's environment variables, as
    /// `object_store`'s `from_env` builders read them (for S3: `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT` and
    /// `AWS_ALLOW_HTTP` for an S3-compatible server, ...). For any other setting (retries,
    /// timeouts, credentials in code) build the client yourself and use
    /// [`object_store`](Options::object_store). See the guide's
    /// [stores on object storage](crate::guide::object_storage) for what each operation
    /// costs in requests and what each guarantee becomes.
    ///
    /// ```
    /// use dirkv::{Exists, Store};
    /// let store: Store<String, u64> = Store::options()
    ///     .open_url("memory://doc-open-url/counters", Exists::OpenOrCreate)?;
    /// store.set("visits", &1)?;
    /// assert_eq!(store.get("visits")?, Some(1));
    /// # Ok::<(), dirkv::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Store::open`] (`NotFound`, `AlreadyExists`, `NotAStore` for a prefix holding
    /// other objects but no manifest, `IncompatibleFormat`, `Corrupt`, `WrongKey`);
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput) for a URL this build cannot open
    /// or whose client cannot be set up; [`Io`](crate::ErrorKind::Io) when the server
    /// cannot be reached or refuses a request, after the client's retries.
    pub fn open_url(self, url: &str, mode: Exists) -> Result<Store<K, V, C>>
    where
        K: OwnedKey,
        C: Codec<V>,
    {
        Place::of_url(url)?.open_typed(mode, self)
    }

    /// Opens (or creates) the store at a URL (see [`open_url`](Options::open_url)) as a
    /// [`RawStore`] whose manifest names `key_encoding` and `codec` (see
    /// [`Options::open_raw`]).
    ///
    /// # Errors
    ///
    /// As [`open_url`](Options::open_url).
    pub fn open_raw_url(
        self,
        url: &str,
        mode: Exists,
        key_encoding: &str,
        codec: &str,
    ) -> Result<RawStore> {
        Place::of_url(url)?.open_raw(mode, Some((key_encoding, codec)), self.into_parts().0)
    }

    /// Opens the existing store at a URL as a [`RawStore`], whatever its manifest names
    /// (see [`Options::open_raw_as_found`]). Never creates anything.
    ///
    /// # Errors
    ///
    /// As [`open_url`](Options::open_url) with [`Exists::Update`].
    pub fn open_raw_url_as_found(self, url: &str) -> Result<RawStore> {
        Place::of_url(url)?.open_raw(Exists::Update, None, self.into_parts().0)
    }

    /// The store under `prefix` of an object store you built (feature `object-store`),
    /// for full control of credentials and client settings; finish with
    /// [`RemoteOptions::open_remote`]. Messages name the store by the object store's
    /// `Display` and the prefix.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use dirkv::{Exists, Store, object_store};
    /// let os: Arc<dyn object_store::ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    /// // For S3: object_store::aws::AmazonS3Builder::from_env().with_bucket_name("b").build()?
    /// let store: Store<String, String> = Store::options()
    ///     .object_store(os, "pages")
    ///     .open_remote(Exists::OpenOrCreate)?;
    /// store.set("home", &"Home".to_string())?;
    /// assert!(store.path_of("home").starts_with("InMemory/pages"));
    /// # Ok::<(), dirkv::Error>(())
    /// ```
    pub fn object_store(self, store: Arc<dyn ObjectStore>, prefix: &str) -> RemoteOptions<K, V, C> {
        let prefix = prefix.trim_matches('/').to_owned();
        let url = if prefix.is_empty() {
            store.to_string()
        } else {
            format!("{store}/{prefix}")
        };
        RemoteOptions {
            options: self,
            place: Place { store, prefix, url },
        }
    }
}

impl<K, V, C> RemoteOptions<K, V, C> {
    /// The URL that names the store in messages, error paths and
    /// [`Store::path_of`] (default: the object store's `Display` and the prefix, such as
    /// `AmazonS3(bucket)/prefix`). Give the store's real URL, `s3://bucket/prefix`.
    #[must_use]
    pub fn named(mut self, url: &str) -> Self {
        self.place.url = url.trim_end_matches('/').to_owned();
        self
    }

    /// Opens (or creates) the store with these options.
    ///
    /// # Errors
    ///
    /// As [`Options::open_url`].
    pub fn open_remote(self, mode: Exists) -> Result<Store<K, V, C>>
    where
        K: OwnedKey,
        C: Codec<V>,
    {
        self.place.open_typed(mode, self.options)
    }

    /// Opens (or creates) the store as a [`RawStore`] whose manifest names
    /// `key_encoding` and `codec`.
    ///
    /// # Errors
    ///
    /// As [`Options::open_url`].
    pub fn open_raw_remote(
        self,
        mode: Exists,
        key_encoding: &str,
        codec: &str,
    ) -> Result<RawStore> {
        let config = self.options.into_parts().0;
        self.place
            .open_raw(mode, Some((key_encoding, codec)), config)
    }

    /// Opens the existing store as a [`RawStore`], whatever its manifest names.
    ///
    /// # Errors
    ///
    /// As [`Options::open_url`] with [`Exists::Update`].
    pub fn open_raw_remote_as_found(self) -> Result<RawStore> {
        let config = self.options.into_parts().0;
        self.place.open_raw(Exists::Update, None, config)
    }
}

impl RawStore {
    /// Opens the existing store at a URL (see [`Options::open_url`]) with the key encoding
    /// and codec its manifest names, as [`RawStore::open`] does for a folder (feature
    /// `object-store`).
    ///
    /// # Errors
    ///
    /// As [`Options::open_url`] with [`Exists::Update`].
    pub fn open_url(url: &str, access: Access) -> Result<RawStore> {
        let config = Config {
            read_only: access == Access::ReadOnly,
            ..Config::default()
        };
        Place::of_url(url)?.open_raw(Exists::Update, None, config)
    }

    /// Whether `text` is a store URL this build opens (`s3://…`, `memory://…`, and with
    /// their features `gs://…`, `az://…`) rather than a path: what a tool taking either
    /// checks first. `s3:` alone, or `./s3://x`, is a path.
    pub fn is_url(text: &str) -> bool {
        url::is_store_url(text)
    }
}
