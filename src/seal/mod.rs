//! Value transforms between the codec's bytes and an entry file: compression (feature
//! `compression`, [`compress`]) and encryption (feature `encryption`, [`crypto`]), and the
//! hash that names an entry's file (SHA-256, or a keyed HMAC when encrypted).

pub(crate) mod compress;
pub(crate) mod crypto;

use std::borrow::Cow;
use std::path::Path;

use crate::error::{BoxError, Error, ErrorKind, Result};
use crate::format::entry::{self, Header, Meta};
use crate::format::names;
use crate::fs::read::Need;

pub(crate) use crypto::{EncryptionKey, Sealer};

/// Plain key and value bytes, borrowed from the file's bytes or decrypted/decompressed.
pub(crate) type KeyValue<'b> = (Cow<'b, [u8]>, Cow<'b, [u8]>);

/// How one open store turns values into entry files and back.
#[derive(Debug)]
pub(crate) struct Seal {
    /// Compress values at least this long (feature `compression`).
    compress_min: Option<usize>,
    /// The keys of an encrypted store.
    cipher: Option<Sealer>,
}

/// The times written into a new entry's header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Times {
    pub created_ms: u64,
    pub modified_ms: u64,
    pub expires_ms: u64,
}

impl Seal {
    pub(crate) fn new(compress_min: Option<usize>, cipher: Option<Sealer>) -> Self {
        Seal {
            compress_min,
            cipher,
        }
    }

    /// Whether entries are encrypted.
    pub(crate) fn is_encrypted(&self) -> bool {
        self.cipher.is_some()
    }

    /// The hash that names the entry file of `key`: SHA-256 of the key bytes, or with
    /// encryption HMAC-SHA256 keyed by a key derived from the store key.
    pub(crate) fn name_hash(&self, key: &[u8]) -> [u8; 32] {
        match &self.cipher {
            Some(sealer) => sealer.name_hash(key),
            None => names::hash(key),
        }
    }

    /// Builds the bytes of an entry file: header, `key`, then what `encode_value` appends,
    /// compressed and encrypted as the store's settings say. `path` names the entry in
    /// errors.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a key or value past the limits ([`entry::MAX_KEY_LEN`],
    /// [`entry::MAX_VALUE_LEN`]); `Encode` when the codec fails.
    pub(crate) fn encode(
        &self,
        key: &[u8],
        times: Times,
        path: &dyn Fn() -> std::path::PathBuf,
        encode_value: impl FnOnce(&mut Vec<u8>) -> std::result::Result<(), BoxError>,
    ) -> Result<Vec<u8>> {
        if key.len() > entry::MAX_KEY_LEN {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "key is {} bytes long; the longest a store takes is {} bytes",
                    key.len(),
                    entry::MAX_KEY_LEN
                ),
            )
            .with_path(path()));
        }
        let mut buf = Vec::with_capacity(entry::HEADER_LEN + key.len() + 128);
        let value_start = match &self.cipher {
            Some(sealer) => sealer.begin(&mut buf, key),
            None => {
                entry::begin(&mut buf, key);
                buf.len()
            }
        };
        encode_value(&mut buf).map_err(|e| {
            Error::new(
                ErrorKind::Encode,
                format!("cannot encode the value of key {}", names::show_key(key)),
            )
            .with_path(path())
            .with_source(e)
        })?;
        if buf.len() < value_start {
            return Err(Error::new(
                ErrorKind::Encode,
                "the codec removed bytes it did not write",
            )
            .with_path(path()));
        }
        let value_len = buf.len() - value_start;
        if value_len > entry::MAX_VALUE_LEN {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "value is {value_len} bytes long; the longest a store takes is {} bytes",
                    entry::MAX_VALUE_LEN
                ),
            )
            .with_path(path()));
        }
        let mut flags = 0;
        if let Some(min) = self.compress_min
            && value_len >= min
            && let Some(packed) = compress::compress(&buf[value_start..])
        {
            buf.truncate(value_start);
            buf.extend_from_slice(&packed);
            flags |= entry::FLAG_COMPRESSED;
        }
        let meta = Meta {
            flags,
            created_ms: times.created_ms,
            modified_ms: times.modified_ms,
            expires_ms: times.expires_ms,
        };
        match &self.cipher {
            Some(sealer) => sealer
                .finish(&mut buf, &meta)
                .map_err(|e| e.with_path(path()))?,
            None => entry::finish(&mut buf, key.len(), &meta),
        }
        Ok(buf)
    }

    /// Turns the stored key and value of an entry into the plain ones: decrypts (the
    /// entry's own header bytes `header_bytes` are the associated data) and, when `need`
    /// is `Whole`, decompresses. With `Need::Key` the value returned is empty.
    ///
    /// # Errors
    ///
    /// `Corrupt` naming `path` when the entry does not open (authentication, an entry
    /// encrypted in a plain store or the other way round, bad compressed data).
    pub(crate) fn open<'b>(
        &self,
        header_bytes: &[u8],
        header: &Header,
        key: &'b [u8],
        value: &'b [u8],
        need: Need,
        path: &Path,
    ) -> Result<KeyValue<'b>> {
        let encrypted = header.meta.flags & entry::FLAG_ENCRYPTED != 0;
        let (key, value): KeyValue<'b> = match (&self.cipher, encrypted) {
            (None, false) => (Cow::Borrowed(key), Cow::Borrowed(value)),
            (Some(sealer), true) => {
                let (k, v) = sealer.open(header_bytes, value, path)?;
                (Cow::Owned(k), Cow::Owned(v))
            }
            (None, true) => {
                return Err(Error::corrupt(
                    "entry is encrypted, but the store is not",
                    path,
                ));
            }
            (Some(_), false) => {
                return Err(Error::corrupt(
                    "entry is not encrypted, but the store is",
                    path,
                ));
            }
        };
        if need == Need::Key {
            return Ok((key, Cow::Borrowed(&[])));
        }
        if header.meta.flags & entry::FLAG_COMPRESSED != 0 {
            return Ok((key, Cow::Owned(compress::decompress(&value, path)?)));
        }
        Ok((key, value))
    }
}
