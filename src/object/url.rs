//! Store URLs: `s3://bucket/prefix` (also `s3a://`), `gs://bucket/prefix` (feature
//! `object-store-gcp`), `az://container/prefix` (feature `object-store-azure`), and
//! `memory://name/prefix`, an in-memory object store shared by every open of the same
//! name in this process (for tests and examples).
//!
//! The S3, GCS and Azure clients are configured from the provider's usual environment
//! variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`, ...; `GOOGLE_SERVICE_ACCOUNT`, ...;
//! `AZURE_STORAGE_ACCOUNT_NAME`, ...), as `object_store`'s `from_env` builders read them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use object_store::ObjectStore;
use object_store::memory::InMemory;

use crate::error::{Error, ErrorKind, Result};

/// What a store URL names: the object store, the prefix inside it, and the URL for
/// messages (without any query).
pub(crate) struct Target {
    pub store: Arc<dyn ObjectStore>,
    pub prefix: String,
    pub url: String,
}

/// Whether `text` looks like a URL this build can open (`scheme://...` with a scheme it
/// knows). The CLI uses it to tell URLs from paths.
pub(crate) fn is_store_url(text: &str) -> bool {
    text.split_once("://")
        .is_some_and(|(scheme, _)| scheme_known(scheme))
}

fn scheme_known(scheme: &str) -> bool {
    matches!(scheme, "s3" | "s3a" | "memory")
        || (cfg!(feature = "object-store-gcp") && scheme == "gs")
        || (cfg!(feature = "object-store-azure") && matches!(scheme, "az" | "azure"))
}

fn bad_url(url: &str, why: &'static str) -> Error {
    Error::new(ErrorKind::InvalidInput, why).with_path(url)
}

fn client_error(url: &str, err: object_store::Error) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        "cannot set up the object-store client",
    )
    .with_path(url)
    .with_source(std::io::Error::other(err))
}

/// The in-memory stores of `memory://` URLs, by name.
fn memory(name: &str) -> Arc<dyn ObjectStore> {
    static STORES: Mutex<Option<HashMap<String, Arc<InMemory>>>> = Mutex::new(None);
    let mut stores = STORES.lock().unwrap_or_else(PoisonError::into_inner);
    let store = stores
        .get_or_insert_with(HashMap::new)
        .entry(name.to_owned())
        .or_insert_with(|| Arc::new(InMemory::new()));
    Arc::clone(store) as Arc<dyn ObjectStore>
}

/// Parses a store URL and builds its client.
///
/// # Errors
///
/// `InvalidInput` for a URL of an unknown scheme (or one this build lacks the feature
/// for), without a bucket, with a query or fragment, or that the client refuses (such as
/// missing settings it needs).
pub(crate) fn parse(url: &str) -> Result<Target> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(bad_url(url, "not a store URL (scheme://bucket/prefix)"));
    };
    if rest.contains(['?', '#']) {
        return Err(bad_url(url, "a store URL takes no query or fragment"));
    }
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(bad_url(
            url,
            "a store URL needs a bucket (scheme://bucket/prefix)",
        ));
    }
    let prefix = prefix.trim_matches('/').to_owned();
    let shown = if prefix.is_empty() {
        format!("{scheme}://{bucket}")
    } else {
        format!("{scheme}://{bucket}/{prefix}")
    };
    let store: Arc<dyn ObjectStore> = match scheme {
        "s3" | "s3a" => Arc::new(
            object_store::aws::AmazonS3Builder::from_env()
                .with_url(format!("s3://{bucket}"))
                .build()
                .map_err(|e| client_error(&shown, e))?,
        ),
        #[cfg(feature = "object-store-gcp")]
        "gs" => Arc::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(format!("gs://{bucket}"))
                .build()
                .map_err(|e| client_error(&shown, e))?,
        ),
        #[cfg(feature = "object-store-azure")]
        "az" | "azure" => Arc::new(
            object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(format!("{scheme}://{bucket}"))
                .build()
                .map_err(|e| client_error(&shown, e))?,
        ),
        "memory" => memory(bucket),
        _ => {
            return Err(bad_url(
                url,
                "unknown store URL scheme (s3://, memory://; gs:// and az:// with the \
                 object-store-gcp and object-store-azure features)",
            ));
        }
    };
    Ok(Target {
        store,
        prefix,
        url: shown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths() {
        assert!(is_store_url("s3://bucket/p"));
        assert!(is_store_url("memory://t"));
        assert!(!is_store_url("s3:/bucket"));
        assert!(!is_store_url("s3:"));
        assert!(!is_store_url("./s3://x"));
        assert!(!is_store_url("ftp://host/p"));
    }

    #[test]
    fn memory_urls_share_one_store_per_name() {
        let a = parse("memory://shared/x/").unwrap();
        let b = parse("memory://shared/y").unwrap();
        assert!(Arc::ptr_eq(&a.store, &b.store));
        assert_eq!(
            (a.prefix.as_str(), a.url.as_str()),
            ("x", "memory://shared/x")
        );
        let c = parse("memory://other").unwrap();
        assert!(!Arc::ptr_eq(&a.store, &c.store));
        assert_eq!(c.prefix, "");
    }

    #[test]
    fn bad_urls_are_invalid_input() {
        for url in ["s3:///p", "nope://b/p", "s3://b/p?x=1", "plain/path"] {
            let err = parse(url).err().unwrap();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{url}");
        }
    }
}
