//! The derived keys of an open encrypted store, and sealing and opening entries with them.

use std::fmt;
use std::path::Path;

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, Tag, XChaCha20Poly1305, XNonce};
use hmac::Mac;
use zeroize::Zeroizing;

use super::key::{HmacSha256, mac, subkey};
use super::{KEY_LEN_LEN, LABEL_CHECK, LABEL_CIPHER, LABEL_NAMES, NONCE_LEN, TAG_LEN};
use crate::error::{Error, ErrorKind, Result};
use crate::format::entry::{self, Meta};

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
pub(super) fn derive(master: &[u8; 32], salt: &[u8]) -> Result<(Sealer, Zeroizing<[u8; 32]>)> {
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

pub(super) fn random(buf: &mut [u8]) -> Result<()> {
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
            hex::encode(expand.finalize().into_bytes())
                .starts_with("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf")
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
        assert_ne!(s.name_hash(b"k"), crate::format::names::hash(b"k"));
        assert_ne!(s.name_hash(b"k"), other.name_hash(b"k"));
        assert_eq!(s.name_hash(b"k"), s.name_hash(b"k"));
    }
}
