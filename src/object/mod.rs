//! Object storage (feature `object-store`): the only code that talks to an object store,
//! through Apache Arrow's `object_store` client, as blocking calls. It sits beside `fs/`:
//! it knows objects, prefixes and requests, and nothing of entries or the engine
//! (`engine/remote/` adapts it to the storage seam).
//!
//! Every object is named relative to the store's prefix (`DIRKV`, `ab/<hex>.dkv`), and
//! every error names the object's URL (`s3://bucket/prefix/ab/<hex>.dkv`). Credentials
//! stay inside the client: nothing here prints the client or its configuration.

mod bridge;
pub(crate) mod url;
mod write;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, ObjectMeta, ObjectStore};

use self::bridge::{Bridge, Stopped};
use crate::error::{Error, ErrorKind, Result};

/// Requests a batch keeps in flight at once.
pub(crate) const IN_FLIGHT: usize = 32;

/// Objects a listing hands over at a time (one LIST page).
const PAGE: usize = 1000;

/// An object's identity: equal versions mean the same bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ObjectVersion {
    pub e_tag: Option<String>,
    pub version: Option<String>,
}

/// What a HEAD (or a GET) says of an object.
#[derive(Clone, Debug)]
pub(crate) struct Meta {
    pub size: u64,
    pub modified: SystemTime,
    pub version: ObjectVersion,
}

impl Meta {
    fn of(meta: &ObjectMeta) -> Meta {
        Meta {
            size: meta.size,
            modified: SystemTime::from(meta.last_modified),
            version: ObjectVersion {
                e_tag: meta.e_tag.clone(),
                version: meta.version.clone(),
            },
        }
    }
}

/// What a GET found.
#[derive(Debug)]
pub(crate) enum Got {
    /// The object's bytes.
    Bytes(Vec<u8>, Meta),
    /// The object is larger than the caller allows; its body was not downloaded.
    TooLarge(Meta),
}

/// How a PUT may replace what is there.
#[derive(Clone, Debug)]
pub(crate) enum Mode {
    Overwrite,
    Create,
    Update(ObjectVersion),
}

/// What a PUT did.
#[derive(Debug)]
pub(crate) enum Written {
    /// Written; the version the server gave the new object (its ETag, and its version id
    /// in a versioned bucket).
    Done(ObjectVersion),
    /// The condition did not hold.
    Conflict,
}

/// A blocking client for the objects under one prefix of one object store.
pub(crate) struct Client {
    store: Arc<dyn ObjectStore>,
    /// The store's prefix (empty: the bucket's root).
    prefix: ObjectPath,
    /// `scheme://bucket/prefix`, for messages.
    url: String,
    bridge: Bridge,
}

impl std::fmt::Debug for Client {
    // Never the object store itself: its configuration may hold credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// An object-store error while `doing` something to the object at `url`.
fn request_error(doing: &'static str, url: PathBuf, err: object_store::Error) -> Error {
    Error::new(ErrorKind::Io, doing)
        .with_path(url)
        .with_source(std::io::Error::other(err))
}

fn stopped(url: PathBuf) -> impl FnOnce(Stopped) -> Error {
    move |_| {
        Error::new(
            ErrorKind::Io,
            "the store's I/O runtime stopped before the request finished",
        )
        .with_path(url)
    }
}

fn is_not_found(err: &object_store::Error) -> bool {
    matches!(err, object_store::Error::NotFound { .. })
}

impl Client {
    /// A client for the objects under `prefix` (slashes at either end are ignored) of
    /// `store`, named `url` in messages.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a prefix that is not a valid object path; `Io` when the client's
    /// threads cannot be started.
    pub(crate) fn new(store: Arc<dyn ObjectStore>, prefix: &str, url: String) -> Result<Self> {
        let prefix = ObjectPath::parse(prefix.trim_matches('/')).map_err(|e| {
            Error::new(ErrorKind::InvalidInput, "not a valid object-store prefix")
                .with_path(&url)
                .with_source(e)
        })?;
        let bridge = Bridge::new().map_err(|e| {
            Error::io(
                "cannot start the store's I/O threads",
                std::path::Path::new(&url),
                e,
            )
        })?;
        Ok(Client {
            store,
            prefix,
            url: url.trim_end_matches('/').to_owned(),
            bridge,
        })
    }

    /// `scheme://bucket/prefix`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The URL of the object `rel` (relative to the prefix).
    pub(crate) fn url_of(&self, rel: &str) -> PathBuf {
        PathBuf::from(format!("{}/{rel}", self.url))
    }

    /// The object path of `rel`.
    fn location(&self, rel: &str) -> ObjectPath {
        rel.split('/')
            .filter(|p| !p.is_empty())
            .fold(self.prefix.clone(), |path, part| path.join(part))
    }

    /// The name of `location` relative to the prefix, when it is beneath it.
    pub(crate) fn relative(&self, location: &ObjectPath) -> Option<String> {
        let parts: Vec<String> = location
            .prefix_match(&self.prefix)?
            .map(|p| p.as_ref().to_owned())
            .collect();
        Some(parts.join("/"))
    }

    /// GET of the object `rel`: `Ok(None)` when there is none; [`Got::TooLarge`] (without
    /// its body) when it is larger than `max_len`.
    pub(crate) fn get(&self, rel: &str, max_len: u64) -> Result<Option<Got>> {
        let store = Arc::clone(&self.store);
        let location = self.location(rel);
        let url = self.url_of(rel);
        let answer = self
            .bridge
            .run(async move {
                let got = store.get_opts(&location, GetOptions::default()).await?;
                let meta = Meta::of(&got.meta);
                if got.meta.size > max_len {
                    return Ok(Got::TooLarge(meta));
                }
                let bytes = got.bytes().await?;
                Ok(Got::Bytes(bytes.to_vec(), meta))
            })
            .map_err(stopped(url.clone()))?;
        match answer {
            Ok(got) => Ok(Some(got)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(request_error("cannot read object", url, e)),
        }
    }

    /// GETs of several objects, [`IN_FLIGHT`] at a time, each as [`get`](Client::get)
    /// answers it; in the order given.
    pub(crate) fn get_many(&self, rels: Vec<String>, max_len: u64) -> Vec<Result<Option<Got>>> {
        let count = rels.len();
        let urls: Vec<PathBuf> = rels.iter().map(|rel| self.url_of(rel)).collect();
        let locations: Vec<ObjectPath> = rels.iter().map(|rel| self.location(rel)).collect();
        let store = Arc::clone(&self.store);
        let answer = self.bridge.run(async move {
            stream::iter(locations.into_iter().enumerate())
                .map(|(i, location)| {
                    let store = Arc::clone(&store);
                    async move {
                        let got = async {
                            let got = store.get_opts(&location, GetOptions::default()).await?;
                            let meta = Meta::of(&got.meta);
                            if got.meta.size > max_len {
                                return Ok(Got::TooLarge(meta));
                            }
                            let bytes = got.bytes().await?;
                            Ok::<_, object_store::Error>(Got::Bytes(bytes.to_vec(), meta))
                        };
                        (i, got.await)
                    }
                })
                .buffer_unordered(IN_FLIGHT)
                .collect::<Vec<_>>()
                .await
        });
        let mut out: Vec<Result<Option<Got>>> = urls
            .iter()
            .map(|url| Err(Error::new(ErrorKind::Io, "a read got no answer").with_path(url)))
            .collect();
        match answer {
            Ok(results) => {
                for (i, r) in results {
                    let (Some(slot), Some(url)) = (out.get_mut(i), urls.get(i)) else {
                        continue;
                    };
                    *slot = match r {
                        Ok(got) => Ok(Some(got)),
                        Err(e) if is_not_found(&e) => Ok(None),
                        Err(e) => Err(request_error("cannot read object", url.clone(), e)),
                    };
                }
            }
            Err(Stopped) => {
                out = (0..count)
                    .map(|_| Err(stopped(PathBuf::from(&self.url))(Stopped)))
                    .collect();
            }
        }
        out
    }

    /// HEAD of the object `rel`: `Ok(None)` when there is none.
    pub(crate) fn head(&self, rel: &str) -> Result<Option<Meta>> {
        let store = Arc::clone(&self.store);
        let location = self.location(rel);
        let url = self.url_of(rel);
        let answer = self
            .bridge
            .run(async move {
                let opts = GetOptions::new().with_head(true);
                store
                    .get_opts(&location, opts)
                    .await
                    .map(|g| Meta::of(&g.meta))
            })
            .map_err(stopped(url.clone()))?;
        match answer {
            Ok(meta) => Ok(Some(meta)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(request_error("cannot examine object", url, e)),
        }
    }

    /// The objects beneath `rel_dir` (all of them, at any depth), streamed a page at a
    /// time: names relative to the prefix.
    pub(crate) fn list(self: &Arc<Self>, rel_dir: &str) -> Listing {
        let location = self.location(rel_dir);
        let stream = self.store.list(Some(&location));
        Listing {
            client: Arc::clone(self),
            stream: Some(stream),
            page: std::collections::VecDeque::new(),
            dir: rel_dir.to_owned(),
        }
    }

    /// Whether anything at all is beneath the prefix (one LIST request).
    pub(crate) fn any_object(self: &Arc<Self>) -> Result<bool> {
        let mut listing = self.list("");
        listing.refill(1)?;
        Ok(!listing.page.is_empty())
    }
}

/// The objects beneath a folder-like prefix, streamed (see [`Client::list`]). Memory stays
/// at one page however many objects there are.
pub(crate) struct Listing {
    client: Arc<Client>,
    stream: Option<BoxStream<'static, object_store::Result<ObjectMeta>>>,
    page: std::collections::VecDeque<(String, Meta)>,
    dir: String,
}

impl Listing {
    /// Pulls up to `max` more objects from the stream (a LIST request when its page is
    /// used up). Leaves the page empty at the end.
    fn refill(&mut self, max: usize) -> Result<()> {
        let Some(stream) = self.stream.take() else {
            return Ok(());
        };
        let url = self.client.url_of(&self.dir);
        let (stream, items) = self
            .client
            .bridge
            .run(async move {
                let mut stream = stream;
                let mut items = Vec::new();
                let mut failed = None;
                while items.len() < max {
                    match stream.try_next().await {
                        Ok(Some(meta)) => items.push(meta),
                        Ok(None) => return (None, items, None),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                (failed.is_none().then_some(stream), items, failed)
            })
            .map(|(stream, items, failed)| {
                let out = match failed {
                    Some(e) => Err(e),
                    None => Ok(items),
                };
                (stream, out)
            })
            .map_err(stopped(url.clone()))?;
        self.stream = stream;
        let items = items.map_err(|e| request_error("cannot list objects", url, e))?;
        for meta in items {
            if let Some(rel) = self.client.relative(&meta.location) {
                self.page.push_back((rel, Meta::of(&meta)));
            }
        }
        Ok(())
    }
}

impl Iterator for Listing {
    type Item = Result<(String, Meta)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.page.pop_front() {
                return Some(Ok(item));
            }
            self.stream.as_ref()?;
            if let Err(e) = self.refill(PAGE) {
                return Some(Err(e));
            }
        }
    }
}
