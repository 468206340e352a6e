//! Encryption of entries (feature `encryption`), and the manifest settings that say a store
//! is encrypted (understood by every build, so that a build without the feature refuses an
//! encrypted store clearly instead of reading ciphertext).
//!
//! Keys. The store key is either the caller's 32 bytes or Argon2id(passphrase, salt,
//! parameters from the manifest). From it, HKDF-SHA256 (extract with the store's random
//! salt, expand with a label) derives three independent subkeys: the XChaCha20-Poly1305
//! key, the HMAC-SHA256 key that names files, and a key-check value stored in the manifest
//! so that a wrong key or passphrase is an error at open rather than a stream of
//! authentication failures. Two stores never share subkeys, even under one key.
//!
//! An encrypted entry file is the usual 48-byte header (flag bit 1 set, key length 0, value
//! length = everything after the header), then:
//!
//! ```text
//! 24 bytes   random XChaCha20 nonce
//! n bytes    ciphertext of: key length (u32 LE), key bytes, value bytes (compressed
//!            first when flag bit 0 is set)
//! 16 bytes   Poly1305 tag
//! ```
//!
//! The associated data is the header with its checksum field zeroed, so flags, times
//! (expiry included), lengths and format version are authenticated; the key inside the
//! ciphertext is checked against the file name after decryption, so a file copied or
//! swapped under another name is detected, and subkeys differ per store, so a file copied
//! from another store does not decrypt.

use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::format::manifest::Manifest;
use crate::format::names;

/// Manifest setting naming the cipher of an encrypted store.
pub(crate) const ENCRYPTION: &str = "encryption";
/// The only cipher this build knows.
pub(crate) const ALGORITHM: &str = "xchacha20poly1305";

/// Whether a manifest setting belongs to encryption (its values are per store, read from
/// the store's own manifest, never compared with the options').
pub(crate) fn is_crypto_setting(name: &str) -> bool {
    name == ENCRYPTION || name.starts_with("encryption_")
}

/// Whether a store's manifest says it is encrypted.
pub(crate) fn is_encrypted(m: &Manifest) -> bool {
    m.extra.contains_key(ENCRYPTION)
}

fn manifest_error(root: &Path, kind: ErrorKind, message: impl Into<String>) -> Error {
    Error::new(kind, message.into()).with_path(root.join(names::MANIFEST))
}

#[cfg(feature = "encryption")]
mod imp;
pub use imp::EncryptionKey;
pub(crate) use imp::Sealer;

/// For a store about to be created: adds the encryption settings to `manifest` when the
/// options carry a key, and returns the sealer for them.
///
/// # Errors
///
/// `InvalidInput` for an empty passphrase or unusable KDF costs; `Io` when no random bytes
/// can be had.
pub(crate) fn prepare_new(
    manifest: &mut Manifest,
    key: Option<&EncryptionKey>,
) -> Result<Option<Sealer>> {
    imp::prepare_new(manifest, key)
}

/// For an existing store: the sealer its manifest and the options' key give (`None` for a
/// store that is not encrypted).
///
/// # Errors
///
/// `WrongKey` when the store is encrypted and no key, the wrong kind of key, or the wrong
/// key was given; `IncompatibleFormat` when a key was given for a store that is not
/// encrypted, or the store is encrypted in a way (or a build) this dirkv cannot read;
/// `Corrupt` when the manifest's encryption settings are damaged.
pub(crate) fn attach(
    root: &Path,
    manifest: &Manifest,
    key: Option<&EncryptionKey>,
) -> Result<Option<Sealer>> {
    let encrypted = is_encrypted(manifest);
    if encrypted && manifest.extra.get(ENCRYPTION).map(String::as_str) != Some(ALGORITHM) {
        return Err(manifest_error(
            root,
            ErrorKind::IncompatibleFormat,
            format!(
                "the store is encrypted with `{}`, which this dirkv does not know",
                manifest.extra.get(ENCRYPTION).map_or("", String::as_str)
            ),
        ));
    }
    imp::attach(root, manifest, key, encrypted)
}

#[cfg(not(feature = "encryption"))]
mod imp {
    use super::*;

    /// Stands for the encryption state in a build without the feature: it has no values,
    /// so every `Option<Sealer>` is `None`.
    #[derive(Debug)]
    pub(crate) enum Sealer {}

    /// Stands for a key in a build without the feature: it has no values.
    #[derive(Clone, Debug)]
    pub enum EncryptionKey {}

    impl Sealer {
        pub(crate) fn name_hash(&self, _key: &[u8]) -> [u8; 32] {
            match *self {}
        }

        pub(crate) fn begin(&self, _out: &mut Vec<u8>, _key: &[u8]) -> usize {
            match *self {}
        }

        pub(crate) fn finish(
            &self,
            _out: &mut Vec<u8>,
            _meta: &crate::format::entry::Meta,
        ) -> Result<()> {
            match *self {}
        }

        pub(crate) fn open(
            &self,
            _header: &[u8],
            _body: &[u8],
            _path: &Path,
        ) -> Result<(Vec<u8>, Vec<u8>)> {
            match *self {}
        }
    }

    pub(super) fn prepare_new(
        _manifest: &mut Manifest,
        _key: Option<&EncryptionKey>,
    ) -> Result<Option<Sealer>> {
        Ok(None)
    }

    pub(super) fn attach(
        root: &Path,
        _manifest: &Manifest,
        _key: Option<&EncryptionKey>,
        encrypted: bool,
    ) -> Result<Option<Sealer>> {
        if encrypted {
            return Err(manifest_error(
                root,
                ErrorKind::IncompatibleFormat,
                "the store is encrypted, and this dirkv was built without the `encryption` feature",
            ));
        }
        Ok(None)
    }
}
