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
use crate::layout::{self, Manifest};
use crate::policy::Policy;

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
    Error::new(kind, message.into()).with_path(root.join(layout::MANIFEST))
}

#[cfg(feature = "encryption")]
pub use imp::EncryptionKey;
pub(crate) use imp::Sealer;

/// For a store about to be created: adds the encryption settings to `manifest` when the
/// options carry a key, and returns the sealer for them.
///
/// # Errors
///
/// `InvalidInput` for an empty passphrase or unusable KDF costs; `Io` when no random bytes
/// can be had.
pub(crate) fn prepare_new(manifest: &mut Manifest, policy: &Policy) -> Result<Option<Sealer>> {
    imp::prepare_new(manifest, policy)
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
pub(crate) fn attach(root: &Path, manifest: &Manifest, policy: &Policy) -> Result<Option<Sealer>> {
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
    imp::attach(root, manifest, policy, encrypted)
}

#[cfg(not(feature = "encryption"))]
mod imp {
    use super::*;

    /// Stands for the encryption state in a build without the feature: it has no values,
    /// so every `Option<Sealer>` is `None`.
    #[derive(Debug)]
    pub(crate) enum Sealer {}

    impl Sealer {
        pub(crate) fn name_hash(&self, _key: &[u8]) -> [u8; 32] {
            match *self {}
        }

        pub(crate) fn begin(&self, _out: &mut Vec<u8>, _key: &[u8]) -> usize {
            match *self {}
        }

        pub(crate) fn finish(&self, _out: &mut Vec<u8>, _meta: &crate::entry::Meta) -> Result<()> {
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
        _policy: &Policy,
    ) -> Result<Option<Sealer>> {
        Ok(None)
    }

    pub(super) fn attach(
        root: &Path,
        _manifest: &Manifest,
        _policy: &Policy,
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

#[cfg(feature = "encryption")]
mod imp {
    use std::fmt;

    use argon2::{Algorithm, Argon2, Params, Version};
    use chacha20poly1305::aead::AeadInOut;
    use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::Sha256;
    use zeroize::Zeroizing;

    use super::*;
    use crate::entry::{self, Meta};

    type HmacSha256 = Hmac<Sha256>;

    const KDF: &str = "encryption_kdf";
    const SALT: &str = "encryption_salt";
    const KDF_MEMORY: &str = "encryption_kdf_memory_kib";
    const KDF_ITERATIONS: &str = "encryption_kdf_iterations";
    const KDF_PARALLELISM: &str = "encryption_kdf_parallelism";
    const CHECK: &str = "encryption_check";

    /// Bytes of the nonce before the ciphertext.
    const NONCE_LEN: usize = 24;
    /// Bytes of the tag after the ciphertext.
    const TAG_LEN: usize = 16;
    /// Bytes of the key length at the start of the plaintext.
    const KEY_LEN_LEN: usize = 4;

    /// Salt length (bytes) of new stores.
    const SALT_LEN: usize = 16;
    /// Default Argon2id cost: 19 MiB, 2 passes, 1 lane (the OWASP recommendation).
    const DEFAULT_MEMORY_KIB: u32 = 19 * 1024;
    const DEFAULT_ITERATIONS: u32 = 2;
    /// Bounds on costs read from a manifest, so that a damaged one cannot make an open
    /// allocate without limit or run for hours.
    const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
    const MAX_ITERATIONS: u32 = 256;
    const MAX_PARALLELISM: u32 = 64;

    const LABEL_CIPHER: &[u8] = b"dirkv 1 entry cipher key";
    const LABEL_NAMES: &[u8] = b"dirkv 1 file name key";
    const LABEL_CHECK: &[u8] = b"dirkv 1 key check";

    /// The key of an encrypted store: 32 caller-supplied bytes, or a passphrase stretched
    /// with Argon2id. Key material is zeroed when dropped, and `Debug` does not show it.
    ///
    /// Never take a key from a command-line argument (other users can read those in the
    /// process list); read it from an environment variable, a file, or a prompt.
    #[derive(Clone)]
    pub struct EncryptionKey(Secret);

    #[derive(Clone)]
    enum Secret {
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
        /// (8 to 4 GiB) and `iterations` passes (1 to 256); creating a store with a cost
        /// outside those bounds is an [`InvalidInput`](ErrorKind::InvalidInput) error. The
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

        fn kind(&self) -> &'static str {
            match self.0 {
                Secret::Key(_) => "none",
                Secret::Passphrase { .. } => "argon2id",
            }
        }
    }

    /// Argon2id costs.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Cost {
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    }

    fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput, message.into())
    }

    /// The 32-byte store key: the caller's key, or Argon2id of the passphrase.
    fn master_key(key: &EncryptionKey, salt: &[u8], cost: Cost) -> Result<Zeroizing<[u8; 32]>> {
        match &key.0 {
            Secret::Key(k) => Ok(k.clone()),
            Secret::Passphrase { phrase, .. } => {
                if phrase.is_empty() {
                    return Err(invalid("the passphrase is empty"));
                }
                let params =
                    Params::new(cost.memory_kib, cost.iterations, cost.parallelism, Some(32))
                        .map_err(|e| invalid("unusable Argon2id cost").with_source(e))?;
                let mut out = Zeroizing::new([0u8; 32]);
                Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                    .hash_password_into(phrase, salt, &mut out[..])
                    .map_err(|e| {
                        invalid("cannot derive a key from the passphrase").with_source(e)
                    })?;
                Ok(out)
            }
        }
    }

    fn mac(key: &[u8]) -> Result<HmacSha256> {
        <HmacSha256 as KeyInit>::new_from_slice(key)
            .map_err(|_| Error::new(ErrorKind::InvalidInput, "unusable HMAC key length"))
    }

    /// HKDF-SHA256 (RFC 5869) with one output block: extract with `salt`, expand with
    /// `label`.
    fn subkey(master: &[u8; 32], salt: &[u8], label: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
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

    /// The derived keys of one open encrypted store.
    pub(crate) struct Sealer {
        cipher: XChaCha20Poly1305,
        names: HmacSha256,
    }

    impl fmt::Debug for Sealer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("Sealer(redacted)")
        }
    }

    /// Derives the sealer and the key-check value for a store key and salt.
    fn derive(master: &[u8; 32], salt: &[u8]) -> Result<(Sealer, Zeroizing<[u8; 32]>)> {
        let cipher_key = subkey(master, salt, LABEL_CIPHER)?;
        let names_key = subkey(master, salt, LABEL_NAMES)?;
        let check = subkey(master, salt, LABEL_CHECK)?;
        let cipher = XChaCha20Poly1305::new(&chacha20poly1305::Key::from(*cipher_key));
        Ok((
            Sealer {
                cipher,
                names: mac(&names_key[..])?,
            },
            check,
        ))
    }

    fn random(buf: &mut [u8]) -> Result<()> {
        getrandom::fill(buf).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                "cannot get random bytes from the operating system",
            )
            .with_source(e)
        })
    }

    /// The header with its checksum field zeroed: the associated data.
    fn associated_data(header: &[u8]) -> Vec<u8> {
        let mut aad = header.to_vec();
        if let Some(sum) = aad.get_mut(8..12) {
            sum.fill(0);
        }
        aad
    }

    impl Sealer {
        /// The file-name hash of `key`: HMAC-SHA256 with the store's name key.
        pub(crate) fn name_hash(&self, key: &[u8]) -> [u8; 32] {
            let mut m = self.names.clone();
            m.update(key);
            m.finalize().into_bytes().into()
        }

        /// Starts an encrypted entry in `out` (cleared first): header space, nonce space,
        /// then the plaintext's key length and key. Append the value bytes, then call
        /// [`finish`](Sealer::finish). Returns where the value starts.
        pub(crate) fn begin(&self, out: &mut Vec<u8>, key: &[u8]) -> usize {
            out.clear();
            out.resize(entry::HEADER_LEN + NONCE_LEN, 0);
            // The caller checked that the key length fits in 32 bits.
            let len = u32::try_from(key.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(key);
            out.len()
        }

        /// Encrypts an entry built with [`begin`](Sealer::begin) and value bytes in place,
        /// and fills in its header (with the encrypted flag) and checksum.
        pub(crate) fn finish(&self, out: &mut Vec<u8>, meta: &Meta) -> Result<()> {
            let meta = Meta {
                flags: meta.flags | entry::FLAG_ENCRYPTED,
                ..*meta
            };
            let mut nonce = [0u8; NONCE_LEN];
            random(&mut nonce)?;
            out[entry::HEADER_LEN..entry::HEADER_LEN + NONCE_LEN].copy_from_slice(&nonce);
            out.extend_from_slice(&[0u8; TAG_LEN]);
            entry::write_header(out, 0, &meta);
            let aad = associated_data(&out[..entry::HEADER_LEN]);
            let end = out.len() - TAG_LEN;
            let plain = &mut out[entry::HEADER_LEN + NONCE_LEN..end];
            let tag = self
                .cipher
                .encrypt_inout_detached(&XNonce::from(nonce), &aad, plain.into())
                .map_err(|_| Error::new(ErrorKind::Encode, "the value is too long to encrypt"))?;
            out[end..].copy_from_slice(&tag);
            entry::write_checksum(out);
            Ok(())
        }

        /// Decrypts the body (everything after the header) of an encrypted entry whose
        /// header bytes are `header`; returns its key and value bytes.
        ///
        /// # Errors
        ///
        /// `Corrupt` naming `path` when the body is too short or fails authentication.
        pub(crate) fn open(
            &self,
            header: &[u8],
            body: &[u8],
            path: &Path,
        ) -> Result<(Vec<u8>, Vec<u8>)> {
            if body.len() < NONCE_LEN + KEY_LEN_LEN + TAG_LEN {
                return Err(Error::corrupt(
                    "encrypted entry is too short to hold a nonce and a tag",
                    path,
                ));
            }
            let (nonce, rest) = body.split_at(NONCE_LEN);
            let (cipher, tag) = rest.split_at(rest.len() - TAG_LEN);
            let nonce = XNonce::try_from(nonce)
                .map_err(|_| Error::corrupt("encrypted entry has a bad nonce", path))?;
            let tag = Tag::try_from(tag)
                .map_err(|_| Error::corrupt("encrypted entry has a bad tag", path))?;
            let mut plain = cipher.to_vec();
            self.cipher
                .decrypt_inout_detached(
                    &nonce,
                    &associated_data(header),
                    plain.as_mut_slice().into(),
                    &tag,
                )
                .map_err(|_| {
                    Error::corrupt(
                        "encrypted entry fails authentication: it was changed, or written with another key",
                        path,
                    )
                })?;
            let mut len = [0u8; KEY_LEN_LEN];
            len.copy_from_slice(&plain[..KEY_LEN_LEN]);
            let key_end = (u32::from_le_bytes(len) as usize).saturating_add(KEY_LEN_LEN);
            if key_end > plain.len() {
                return Err(Error::corrupt(
                    "encrypted entry's key length is longer than the entry",
                    path,
                ));
            }
            let key = plain[KEY_LEN_LEN..key_end].to_vec();
            plain.drain(..key_end);
            Ok((key, plain))
        }
    }

    fn cost_of(key: &EncryptionKey) -> Cost {
        match key.0 {
            Secret::Key(_) => Cost {
                memory_kib: 0,
                iterations: 0,
                parallelism: 0,
            },
            Secret::Passphrase {
                memory_kib,
                iterations,
                ..
            } => Cost {
                memory_kib,
                iterations,
                parallelism: 1,
            },
        }
    }

    pub(super) fn prepare_new(manifest: &mut Manifest, policy: &Policy) -> Result<Option<Sealer>> {
        let Some(key) = &policy.encryption else {
            return Ok(None);
        };
        let cost = cost_of(key);
        if let Secret::Passphrase { .. } = key.0
            && !((8..=MAX_MEMORY_KIB).contains(&cost.memory_kib)
                && (1..=MAX_ITERATIONS).contains(&cost.iterations))
        {
            return Err(invalid(format!(
                "Argon2id cost must be 8..={MAX_MEMORY_KIB} KiB and 1..={MAX_ITERATIONS} passes"
            )));
        }
        let mut salt = [0u8; SALT_LEN];
        random(&mut salt)?;
        let master = master_key(key, &salt, cost)?;
        let (sealer, check) = derive(&master, &salt)?;
        let extra = &mut manifest.extra;
        extra.insert(ENCRYPTION.into(), ALGORITHM.into());
        extra.insert(KDF.into(), key.kind().into());
        extra.insert(SALT.into(), hex::encode(salt));
        if let Secret::Passphrase { .. } = key.0 {
            extra.insert(KDF_MEMORY.into(), cost.memory_kib.to_string());
            extra.insert(KDF_ITERATIONS.into(), cost.iterations.to_string());
            extra.insert(KDF_PARALLELISM.into(), cost.parallelism.to_string());
        }
        extra.insert(CHECK.into(), hex::encode(&check[..]));
        Ok(Some(sealer))
    }

    pub(super) fn attach(
        root: &Path,
        manifest: &Manifest,
        policy: &Policy,
        encrypted: bool,
    ) -> Result<Option<Sealer>> {
        let key = match (&policy.encryption, encrypted) {
            (None, false) => return Ok(None),
            (Some(_), false) => {
                return Err(manifest_error(
                    root,
                    ErrorKind::IncompatibleFormat,
                    "the store is not encrypted, but was opened with an encryption key",
                ));
            }
            (None, true) => {
                return Err(manifest_error(
                    root,
                    ErrorKind::WrongKey,
                    "the store is encrypted: open it with its key or passphrase",
                ));
            }
            (Some(key), true) => key,
        };
        let get = |name: &str| {
            manifest.extra.get(name).map(String::as_str).ok_or_else(|| {
                manifest_error(
                    root,
                    ErrorKind::Corrupt,
                    format!("the manifest of an encrypted store has no `{name}`"),
                )
            })
        };
        let damaged = |name: &str| {
            manifest_error(
                root,
                ErrorKind::Corrupt,
                format!("the manifest's `{name}` is damaged"),
            )
        };
        let kdf = get(KDF)?;
        let cost = match kdf {
            "none" => cost_of(key),
            "argon2id" => {
                let number = |name: &str, max: u32| -> Result<u32> {
                    get(name)?
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (1..=max).contains(n))
                        .ok_or_else(|| damaged(name))
                };
                Cost {
                    memory_kib: number(KDF_MEMORY, MAX_MEMORY_KIB)?,
                    iterations: number(KDF_ITERATIONS, MAX_ITERATIONS)?,
                    parallelism: number(KDF_PARALLELISM, MAX_PARALLELISM)?,
                }
            }
            other => {
                return Err(manifest_error(
                    root,
                    ErrorKind::IncompatibleFormat,
                    format!("the store's key derivation `{other}` is not one this dirkv knows"),
                ));
            }
        };
        if kdf != key.kind() {
            let (store, given) = if kdf == "none" {
                ("a 32-byte key", "a passphrase")
            } else {
                ("a passphrase", "a 32-byte key")
            };
            return Err(manifest_error(
                root,
                ErrorKind::WrongKey,
                format!("the store's key is {store}, but it was opened with {given}"),
            ));
        }
        let salt = hex::decode(get(SALT)?)
            .ok()
            .filter(|s| s.len() >= 8)
            .ok_or_else(|| damaged(SALT))?;
        let stored_check = hex::decode(get(CHECK)?)
            .ok()
            .filter(|c| c.len() == 32)
            .ok_or_else(|| damaged(CHECK))?;
        let master = master_key(key, &salt, cost).map_err(|e| e.with_path(root))?;
        let (sealer, check) = derive(&master, &salt)?;
        // The check value is public (it is in the manifest); no need for constant time.
        if check[..] != stored_check[..] {
            return Err(manifest_error(
                root,
                ErrorKind::WrongKey,
                "wrong encryption key or passphrase for this store",
            ));
        }
        Ok(Some(sealer))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn hmac_hex(key: &[u8], msg: &[u8]) -> String {
            let mut m = mac(key).unwrap();
            m.update(msg);
            hex::encode(m.finalize().into_bytes())
        }

        #[test]
        fn hmac_sha256_matches_rfc_4231_case_2() {
            assert_eq!(
                hmac_hex(b"Jefe", b"what do ya want for nothing?"),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            );
        }

        #[test]
        fn hkdf_matches_rfc_5869_case_1_first_block() {
            // RFC 5869 A.1: IKM 22 x 0x0b, salt 00..0c, info f0..f9; OKM starts 3cb25f25…
            let ikm = [0x0bu8; 22];
            let salt: Vec<u8> = (0u8..=0x0c).collect();
            let info: Vec<u8> = (0xf0u8..=0xf9).collect();
            let mut extract = mac(&salt).unwrap();
            extract.update(&ikm);
            let prk = extract.finalize().into_bytes();
            assert_eq!(
                hex::encode(prk),
                "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
            );
            let mut expand = mac(&prk).unwrap();
            expand.update(&info);
            expand.update(&[1]);
            assert!(
                hex::encode(expand.finalize().into_bytes()).starts_with(
                    "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                )
            );
        }

        #[test]
        fn seal_and_open_round_trip_and_detect_changes() {
            let master = [7u8; 32];
            let (s, _) = derive(&master, b"salt-salt-salt").unwrap();
            let mut out = Vec::new();
            let start = s.begin(&mut out, b"the key");
            out.extend_from_slice(b"the value");
            assert_eq!(start, entry::HEADER_LEN + NONCE_LEN + 4 + 7);
            let meta = Meta {
                flags: 0,
                created_ms: 1,
                modified_ms: 2,
                expires_ms: 3,
            };
            s.finish(&mut out, &meta).unwrap();
            let e = entry::decode(&out).unwrap();
            assert_eq!(e.header.meta.flags, entry::FLAG_ENCRYPTED);
            assert_eq!(e.key, b"");
            assert!(!out.windows(7).any(|w| w == b"the key"));
            let p = Path::new("x");
            let (k, v) = s.open(&out[..entry::HEADER_LEN], e.value, p).unwrap();
            assert_eq!((&k[..], &v[..]), (&b"the key"[..], &b"the value"[..]));
            // Any changed byte of header (checksum aside) or body fails authentication.
            for i in (0..out.len()).filter(|i| !(8..12).contains(i)) {
                let mut g = out.clone();
                g[i] ^= 1;
                let (h, b) = g.split_at(entry::HEADER_LEN);
                assert!(s.open(h, b, p).is_err(), "byte {i}");
            }
            // Another key (or another store's salt) does not open it.
            let (other, _) = derive(&master, b"another salt").unwrap();
            assert!(other.open(&out[..entry::HEADER_LEN], e.value, p).is_err());
            // Names are keyed: not SHA-256, and different per store.
            assert_ne!(s.name_hash(b"k"), layout::hash(b"k"));
            assert_ne!(s.name_hash(b"k"), other.name_hash(b"k"));
            assert_eq!(s.name_hash(b"k"), s.name_hash(b"k"));
        }
    }
}
