//! Keys of encrypted stores: from the environment (`DIRKV_KEY`, `DIRKV_PASSPHRASE`) or a
//! passphrase typed at a prompt without echo, never from the command line (other users can
//! read a process's arguments, and shells keep them in their history).
//!
//! Key material is held in zeroed-on-drop buffers here and in the library; error messages
//! say where a key came from, never what it is.

use std::env;
use std::io::{self, IsTerminal};
use std::path::Path;

use zeroize::Zeroizing;

use crate::fail::{Fail, chain};
use dirkv::{Access, EncryptionKey, ErrorKind, RawStore, StoreFolder};

/// The environment variable with a store's 32-byte key as 64 hex digits.
pub(crate) const KEY_VAR: &str = "DIRKV_KEY";
/// The environment variable with a store's passphrase.
pub(crate) const PASSPHRASE_VAR: &str = "DIRKV_PASSPHRASE";

/// The manifest setting that names how the store key is derived (`none`, `argon2id`).
const KDF_SETTING: &str = "encryption_kdf";

/// Where a key came from, for messages.
#[derive(Clone, Copy, Debug)]
enum Source {
    KeyVar,
    PassphraseVar,
    Prompt,
}

impl Source {
    fn describe(self) -> String {
        match self {
            Source::KeyVar => format!("the key in {KEY_VAR}"),
            Source::PassphraseVar => format!("the passphrase in {PASSPHRASE_VAR}"),
            Source::Prompt => "the passphrase typed".to_owned(),
        }
    }

    /// A library error of using the key from here, with where the key came from when the
    /// key is what is wrong.
    fn fail(self, err: dirkv::Error) -> Fail {
        if err.kind() == ErrorKind::WrongKey {
            Fail::error(format!("{} ({})", chain(&err), self.describe()))
        } else {
            Fail::from(err)
        }
    }
}

/// A key and where it came from.
struct Given {
    key: EncryptionKey,
    source: Source,
}

/// The bytes of the variable `name`; `None` when it is not set.
///
/// # Errors
///
/// A usage error when it is set but empty (a `$(cat file)` that found nothing should not
/// pass for no key at all).
fn var(name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, Fail> {
    let Some(value) = env::var_os(name) else {
        return Ok(None);
    };
    let bytes = Zeroizing::new(value.into_encoded_bytes());
    if bytes.is_empty() {
        return Err(Fail::usage(format!("{name} is set but empty")));
    }
    Ok(Some(bytes))
}

/// A 32-byte key from 64 hex digits (either case; surrounding whitespace ignored).
///
/// # Errors
///
/// A usage error saying what is wrong with the text, without showing it.
fn parse_key(text: &[u8]) -> Result<EncryptionKey, Fail> {
    let text = text.trim_ascii();
    let bad = |what: String| {
        Fail::usage(format!(
            "{KEY_VAR} must be 64 hex digits (a 32-byte key), but {what}"
        ))
    };
    if text.len() != 64 {
        return Err(bad(format!("it is {} bytes long", text.len())));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text, &mut key[..])
        .map_err(|_| bad("it holds characters that are not hex digits".to_owned()))?;
    EncryptionKey::from_slice(&key[..]).map_err(Fail::from)
}

/// The key the environment gives, if any.
///
/// # Errors
///
/// Usage errors: both variables set, one set but empty, a `DIRKV_KEY` that is not 64 hex
/// digits.
fn from_env() -> Result<Option<Given>, Fail> {
    match (var(KEY_VAR)?, var(PASSPHRASE_VAR)?) {
        (Some(_), Some(_)) => Err(Fail::usage(format!(
            "both {KEY_VAR} and {PASSPHRASE_VAR} are set: set only one"
        ))),
        (Some(text), None) => Ok(Some(Given {
            key: parse_key(&text)?,
            source: Source::KeyVar,
        })),
        (None, Some(mut phrase)) => Ok(Some(Given {
            // Moved, not copied: the library keeps it in its own zeroed buffer.
            key: EncryptionKey::passphrase(std::mem::take(&mut *phrase)),
            source: Source::PassphraseVar,
        })),
        (None, None) => Ok(None),
    }
}

/// Whether a passphrase can be asked for: someone is at a terminal (the prompt itself
/// goes to the controlling terminal, so it works with input or output redirected).
fn can_prompt() -> bool {
    io::stdin().is_terminal() || io::stderr().is_terminal()
}

/// Asks for a passphrase on the terminal, without echo.
fn ask(prompt: &str) -> Result<Zeroizing<String>, Fail> {
    let phrase = rpassword::prompt_password(prompt).map_err(|e| {
        Fail::error(format!(
            "cannot read a passphrase from the terminal: {e} (set {KEY_VAR} or {PASSPHRASE_VAR} instead)"
        ))
    })?;
    let phrase = Zeroizing::new(phrase);
    if phrase.is_empty() {
        return Err(Fail::usage("the passphrase is empty".to_owned()));
    }
    Ok(phrase)
}

/// Opens the encrypted store at `dir` with the key from the environment or a prompt.
/// `locked` is the [`WrongKey`](ErrorKind::WrongKey) error of opening it without a key.
///
/// # Errors
///
/// No key to be had (exit status 4, naming both variables); a usage error from
/// [`from_env`]; a wrong key (exit status 4, saying where the key came from); the errors of
/// opening the store.
pub(crate) fn open_encrypted(
    dir: &Path,
    access: Access,
    locked: dirkv::Error,
) -> Result<RawStore, Fail> {
    let folder = StoreFolder::read(dir)?;
    if !folder.is_encrypted() {
        // Replaced meanwhile by a store without encryption: say what happened.
        return Err(Fail::from(locked));
    }
    let raw_key = folder.settings().get(KDF_SETTING).map(String::as_str) == Some("none");
    let given = match from_env()? {
        Some(given) => given,
        None if !raw_key && can_prompt() => {
            let phrase = ask(&format!("Passphrase for {}: ", folder.path().display()))?;
            Given {
                key: EncryptionKey::passphrase(phrase.as_bytes()),
                source: Source::Prompt,
            }
        }
        None if raw_key => {
            return Err(Fail::error(format!(
                "the store is encrypted with a 32-byte key: set {KEY_VAR} to its 64 hex digits \
                 ({PASSPHRASE_VAR} is for stores made with a passphrase): {}",
                folder.path().display()
            )));
        }
        None => {
            return Err(Fail::error(format!(
                "the store is encrypted: set {KEY_VAR} (its key, 64 hex digits) or \
                 {PASSPHRASE_VAR} (its passphrase), or run dirkv at a terminal to be asked \
                 for the passphrase: {}",
                folder.path().display()
            )));
        }
    };
    RawStore::open_encrypted(dir, access, given.key).map_err(|e| given.source.fail(e))
}

/// Creates a new encrypted store at `dir` with the key from the environment, or a
/// passphrase asked for twice at the terminal. A passphrase from either gets the default
/// Argon2id cost, recorded in the manifest.
///
/// # Errors
///
/// No key to be had (exit status 4, naming both variables); a usage error from
/// [`from_env`], an empty passphrase or two that differ; the errors of creating the store.
pub(crate) fn create_encrypted(dir: &Path, key_type: &str, codec: &str) -> Result<(), Fail> {
    let given = match from_env()? {
        Some(given) => given,
        None if can_prompt() => {
            let first = ask(&format!("New passphrase for {}: ", dir.display()))?;
            let second = ask("Repeat the passphrase: ")?;
            if *first != *second {
                return Err(Fail::usage(
                    "the passphrases differ; nothing was created".to_owned(),
                ));
            }
            Given {
                key: EncryptionKey::passphrase(first.as_bytes()),
                source: Source::Prompt,
            }
        }
        None => {
            return Err(Fail::error(format!(
                "--encrypt needs a key: set {KEY_VAR} (64 hex digits) or {PASSPHRASE_VAR}, \
                 or run dirkv at a terminal to be asked for a passphrase"
            )));
        }
    };
    RawStore::create_encrypted(dir, key_type, codec, given.key)
        .map_err(|e| given.source.fail(e))?;
    Ok(())
}

/// Refuses a store opened without a key (its manifest says it is not encrypted) while a
/// key variable is set.
///
/// # Errors
///
/// Exit status 4, naming the manifest and the variable.
pub(crate) fn refuse_plain_if_keyed(store: &RawStore) -> Result<(), Fail> {
    let set = vars_set();
    if set.is_empty() || store.is_encrypted() {
        return Ok(());
    }
    let manifest = store.path().join(dirkv::format::names::MANIFEST);
    Err(Fail::error(format!(
        "{} {} set, but the manifest {} says this store is not encrypted (was it replaced?): \
         refusing to read or write it; unset {} to use a store without encryption",
        set.join(" and "),
        if set.len() == 1 { "is" } else { "are" },
        manifest.display(),
        set.join(" and ")
    )))
}

/// The variables of this module that are set, for a note when they will not be used.
pub(crate) fn vars_set() -> Vec<&'static str> {
    [KEY_VAR, PASSPHRASE_VAR]
        .into_iter()
        .filter(|name| env::var_os(name).is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_64_hex_digits_and_errors_do_not_show_them() {
        let hex = "0f".repeat(32);
        assert!(parse_key(hex.as_bytes()).is_ok());
        assert!(parse_key(format!(" {}\n", hex.to_uppercase()).as_bytes()).is_ok());
        let short = parse_key(&hex.as_bytes()[..62]).unwrap_err();
        assert_eq!(short.code, crate::fail::USAGE);
        let text = short.message.unwrap_or_default();
        assert!(
            text.contains("62 bytes") && !text.contains("0f0f"),
            "{text}"
        );
        let bad = format!("{}zz", &hex[..62]);
        let text = parse_key(bad.as_bytes()).unwrap_err().message;
        assert!(!text.unwrap_or_default().contains("zz"));
    }
}
