//! The key of an encrypted store and the derivations from it: Argon2id for a passphrase,
//! HKDF-SHA256 for the subkeys.

use std::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{DEFAULT_ITERATIONS, DEFAULT_MEMORY_KIB};
use crate::error::{Error, ErrorKind, Result};

pub(super) type HmacSha256 = Hmac<Sha256>;

/// The key of an encrypted store: 32 caller-supplied bytes, or a passphrase stretched
/// with Argon2id. Key material is zeroed when dropped, and `Debug` does not show it.
///
/// Never take a key from a command-line argument (other users can read those in the
/// process list); read it from an environment variable, a file, or a prompt.
#[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
#[derive(Clone)]
pub struct EncryptionKey(pub(super) Secret);

#[derive(Clone)]
pub(super) enum Secret {
    Key(Zeroizing<[u8; 32]>),
    Passphrase {
        phrase: Zeroizing<Vec<u8>>,
        memory_kib: u32,
        iterations: u32,
    },
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Secret::Key(_) => f.write_str("EncryptionKey(key, redacted)"),
            Secret::Passphrase { .. } => f.write_str("EncryptionKey(passphrase, redacted)"),
        }
    }
}

impl EncryptionKey {
    /// A 32-byte key, used as it is (make it with a cryptographic random generator).
    pub fn from_bytes(key: [u8; 32]) -> Self {
        EncryptionKey(Secret::Key(Zeroizing::new(key)))
    }

    /// A 32-byte key from a slice (for keys read from a file or decoded from hex).
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](ErrorKind::InvalidInput) unless `key` is exactly 32 bytes.
    pub fn from_slice(key: &[u8]) -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        if key.len() != 32 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("an encryption key is 32 bytes, not {}", key.len()),
            ));
        }
        bytes.copy_from_slice(key);
        Ok(EncryptionKey(Secret::Key(bytes)))
    }

    /// A passphrase, stretched with Argon2id at the default cost (19 MiB of memory, two
    /// passes; tens of milliseconds in release builds) each time the store is opened.
    pub fn passphrase(phrase: impl Into<Vec<u8>>) -> Self {
        Self::passphrase_with_cost(phrase, DEFAULT_MEMORY_KIB, DEFAULT_ITERATIONS)
    }

    /// A passphrase with an explicit Argon2id cost: `memory_kib` KiB of memory
    /// (8 to 262,144, that is 256 MiB) and `iterations` passes (1 to 8); creating a store
    /// with a cost outside those bounds is an [`InvalidInput`](ErrorKind::InvalidInput)
    /// error, and a manifest naming one is refused as damaged. The
    /// cost is recorded in the
    /// manifest when the store is created; opening an existing store uses the cost
    /// recorded there and ignores this one.
    pub fn passphrase_with_cost(
        phrase: impl Into<Vec<u8>>,
        memory_kib: u32,
        iterations: u32,
    ) -> Self {
        EncryptionKey(Secret::Passphrase {
            phrase: Zeroizing::new(phrase.into()),
            memory_kib,
            iterations,
        })
    }

    pub(super) fn kind(&self) -> &'static str {
        match self.0 {
            Secret::Key(_) => "none",
            Secret::Passphrase { .. } => "argon2id",
        }
    }
}

/// Argon2id costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Cost {
    pub(super) memory_kib: u32,
    pub(super) iterations: u32,
    pub(super) parallelism: u32,
}

pub(super) fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, message.into())
}

/// The 32-byte store key: the caller's key, or Argon2id of the passphrase.
pub(super) fn master_key(
    key: &EncryptionKey,
    salt: &[u8],
    cost: Cost,
) -> Result<Zeroizing<[u8; 32]>> {
    match &key.0 {
        Secret::Key(k) => Ok(k.clone()),
        Secret::Passphrase { phrase, .. } => {
            if phrase.is_empty() {
                return Err(invalid("the passphrase is empty"));
            }
            let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, Some(32))
                .map_err(|e| invalid("unusable Argon2id cost").with_source(e))?;
            let mut out = Zeroizing::new([0u8; 32]);
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_into(phrase, salt, &mut out[..])
                .map_err(|e| invalid("cannot derive a key from the passphrase").with_source(e))?;
            Ok(out)
        }
    }
}

pub(super) fn mac(key: &[u8]) -> Result<HmacSha256> {
    <HmacSha256 as KeyInit>::new_from_slice(key)
        .map_err(|_| Error::new(ErrorKind::InvalidInput, "unusable HMAC key length"))
}

/// HKDF-SHA256 (RFC 5869) with one output block: extract with `salt`, expand with
/// `label`.
pub(super) fn subkey(master: &[u8; 32], salt: &[u8], label: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    let mut extract = mac(salt)?;
    extract.update(master);
    let prk = Zeroizing::new(<[u8; 32]>::from(extract.finalize().into_bytes()));
    let mut expand = mac(&prk[..])?;
    expand.update(label);
    expand.update(&[1]);
    Ok(Zeroizing::new(<[u8; 32]>::from(
        expand.finalize().into_bytes(),
    )))
}
