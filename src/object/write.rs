//! The writing requests of [`Client`]: PUTs (plain or conditional, many at once) and
//! batched DELETEs.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::stream::{self, BoxStream, StreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{PutMode as ObjectPutMode, PutOptions, PutPayload, UpdateVersion};

use super::bridge::Stopped;
use super::{
    Client, IN_FLIGHT, Mode, ObjectVersion, Written, is_not_found, request_error, stopped,
};
use crate::error::{Error, ErrorKind, Result};

impl Client {
    /// PUT of `bytes` as the object `rel`, as `mode` allows.
    pub(crate) fn put(&self, rel: &str, bytes: Vec<u8>, mode: Mode) -> Result<Written> {
        self.put_many(vec![(rel.to_owned(), bytes, mode)])
            .pop()
            .unwrap_or_else(|| {
                Err(Error::new(ErrorKind::Io, "a write got no answer").with_path(self.url_of(rel)))
            })
    }

    /// PUTs of several objects, [`IN_FLIGHT`] at a time; each result in the order given.
    pub(crate) fn put_many(&self, items: Vec<(String, Vec<u8>, Mode)>) -> Vec<Result<Written>> {
        let count = items.len();
        let urls: Vec<PathBuf> = items.iter().map(|(rel, _, _)| self.url_of(rel)).collect();
        let puts: Vec<_> = items
            .into_iter()
            .map(|(rel, bytes, mode)| (self.location(&rel), bytes, mode))
            .collect();
        let store = Arc::clone(&self.store);
        let answer = self.bridge.run(async move {
            stream::iter(puts.into_iter().enumerate())
                .map(|(i, (location, bytes, mode))| {
                    let store = Arc::clone(&store);
                    async move {
                        let mode = match mode {
                            Mode::Overwrite => ObjectPutMode::Overwrite,
                            Mode::Create => ObjectPutMode::Create,
                            Mode::Update(v) => ObjectPutMode::Update(UpdateVersion {
                                e_tag: v.e_tag,
                                version: v.version,
                            }),
                        };
                        let opts = PutOptions::from(mode);
                        let r = store
                            .put_opts(&location, PutPayload::from(bytes), opts)
                            .await;
                        (i, r)
                    }
                })
                .buffer_unordered(IN_FLIGHT)
                .collect::<Vec<_>>()
                .await
        });
        let mut out: Vec<Option<Result<Written>>> = (0..count).map(|_| None).collect();
        match answer {
            Ok(results) => {
                for (i, r) in results {
                    let url = urls.get(i).cloned().unwrap_or_default();
                    let r = match r {
                        Ok(put) => Ok(Written::Done(ObjectVersion {
                            e_tag: put.e_tag,
                            version: put.version,
                        })),
                        Err(
                            object_store::Error::AlreadyExists { .. }
                            | object_store::Error::Precondition { .. },
                        ) => Ok(Written::Conflict),
                        Err(e @ object_store::Error::NotImplemented { .. }) => Err(Error::new(
                            ErrorKind::Io,
                            "this object store does not support conditional puts",
                        )
                        .with_path(url)
                        .with_source(std::io::Error::other(e))),
                        Err(e) => Err(request_error("cannot write object", url, e)),
                    };
                    if let Some(slot) = out.get_mut(i) {
                        *slot = Some(r);
                    }
                }
            }
            Err(Stopped) => {
                return (0..count)
                    .map(|_| Err(stopped(PathBuf::from(&self.url))(Stopped)))
                    .collect();
            }
        }
        out.into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.unwrap_or_else(|| {
                    Err(Error::new(ErrorKind::Io, "a write got no answer")
                        .with_path(urls.get(i).cloned().unwrap_or_default()))
                })
            })
            .collect()
    }

    /// DELETEs of the objects `rels` (batched by the client: S3 deletes up to 1,000
    /// objects a request); objects already gone are no error. Returns how many were
    /// deleted before the first error, and that error.
    pub(crate) fn delete_many(&self, rels: Vec<String>) -> (usize, Result<()>) {
        if rels.is_empty() {
            return (0, Ok(()));
        }
        let locations: Vec<ObjectPath> = rels.iter().map(|r| self.location(r)).collect();
        let store = Arc::clone(&self.store);
        let answer = self.bridge.run(async move {
            let input: BoxStream<'static, object_store::Result<ObjectPath>> =
                stream::iter(locations.into_iter().map(Ok)).boxed();
            let mut deleted = store.delete_stream(input);
            let mut n = 0usize;
            while let Some(r) = deleted.next().await {
                match r {
                    Ok(_) => n += 1,
                    Err(e) if is_not_found(&e) => n += 1,
                    Err(e) => return (n, Err(e)),
                }
            }
            (n, Ok(()))
        });
        match answer {
            Ok((n, Ok(()))) => (n, Ok(())),
            Ok((n, Err(e))) => {
                let url = match &e {
                    object_store::Error::NotFound { path, .. }
                    | object_store::Error::Precondition { path, .. } => {
                        PathBuf::from(format!("{}/{path}", self.url))
                    }
                    _ => PathBuf::from(&self.url),
                };
                (n, Err(request_error("cannot delete object", url, e)))
            }
            Err(stop) => (0, Err(stopped(PathBuf::from(&self.url))(stop))),
        }
    }
}
