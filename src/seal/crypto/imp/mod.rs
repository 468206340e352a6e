//! Encryption of entries (feature `encryption`): the store key ([`key`]), the derived
//! keys that seal entries ([`cipher`]), and the manifest settings of an encrypted store.

use super::*;

mod cipher;
mod key;

pub(crate) use cipher::Sealer;
use cipher::{derive, random};
pub use key::EncryptionKey;
use key::{Cost, Secret, invalid, master_key};

pub(super) const KDF: &str = "encryption_kdf";
pub(super) const SALT: &str = "encryption_salt";
pub(super) const KDF_MEMORY: &str = "encryption_kdf_memory_kib";
pub(super) const KDF_ITERATIONS: &str = "encryption_kdf_iterations";
pub(super) const KDF_PARALLELISM: &str = "encryption_kdf_parallelism";
pub(super) const CHECK: &str = "encryption_check";

/// Bytes of the nonce before the ciphertext.
pub(super) const NONCE_LEN: usize = 24;
/// Bytes of the tag after the ciphertext.
pub(super) const TAG_LEN: usize = 16;
/// Bytes of the key length at the start of the plaintext.
pub(super) const KEY_LEN_LEN: usize = 4;

/// Salt length (bytes) of new stores.
pub(super) const SALT_LEN: usize = 16;
/// Default Argon2id cost: 19 MiB, 2 passes, 1 lane (the OWASP recommendation).
pub(super) const DEFAULT_MEMORY_KIB: u32 = 19 * 1024;
pub(super) const DEFAULT_ITERATIONS: u32 = 2;
/// Bounds on costs, both when a store is created and when a manifest is read: a planted
/// manifest cannot make an open allocate without limit or run for minutes. At the highest
/// cost accepted (256 MiB, 8 passes, 8 lanes) a derivation takes about 3 s in a release
/// build on this project's test machine; the default takes tens of milliseconds.
pub(crate) const MAX_MEMORY_KIB: u32 = 256 * 1024;
pub(crate) const MAX_ITERATIONS: u32 = 8;
pub(crate) const MAX_PARALLELISM: u32 = 8;

pub(super) const LABEL_CIPHER: &[u8] = b"dirkv 1 entry cipher key";
pub(super) const LABEL_NAMES: &[u8] = b"dirkv 1 file name key";
pub(super) const LABEL_CHECK: &[u8] = b"dirkv 1 key check";
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

pub(super) fn prepare_new(
    manifest: &mut Manifest,
    key: Option<&EncryptionKey>,
) -> Result<Option<Sealer>> {
    let Some(key) = key else {
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
    key: Option<&EncryptionKey>,
    encrypted: bool,
) -> Result<Option<Sealer>> {
    let key = match (key, encrypted) {
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
