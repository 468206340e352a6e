//! How the commands on single entries read their keys: from an argument or from
//! `--key-file` (`--key-hex`: as hex), and how a key is named in a message.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use dirkv::RawStore;

use crate::cli::KeyOpts;
use crate::convert::{self, key_text};
use crate::fail::Fail;

/// The key bytes of a key argument (`hex`: the key bytes in hex).
pub(super) fn key_arg(store: &RawStore, arg: &OsStr, hex: bool) -> Result<Vec<u8>, Fail> {
    convert::key_from_arg(store, arg, hex).map_err(Fail::usage)
}

/// The longest key file read: room for the longest key in hex or as escaped JSON.
const KEY_FILE_MAX: u64 = 1 << 20;

/// The bytes of `--key-file FILE` (`-`: standard input).
pub(super) fn read_key_file(path: &Path) -> Result<Vec<u8>, Fail> {
    let (reader, name): (Box<dyn Read>, String) = if path == Path::new("-") {
        (Box::new(io::stdin().lock()), "standard input".into())
    } else {
        let file = File::open(path).map_err(|e| {
            Fail::usage(format!("cannot open the key file: {}: {e}", path.display()))
        })?;
        (Box::new(file), path.display().to_string())
    };
    let mut bytes = Vec::new();
    reader
        .take(KEY_FILE_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Fail::usage(format!("cannot read the key from {name}: {e}")))?;
    if bytes.len() as u64 > KEY_FILE_MAX {
        return Err(Fail::usage(format!(
            "{name} holds more than {KEY_FILE_MAX} bytes: too long for a key"
        )));
    }
    Ok(bytes)
}

/// The key bytes of a command: from `arg`, or from `--key-file` (then `arg` must be
/// absent).
pub(super) fn key_input(
    store: &RawStore,
    arg: Option<&OsStr>,
    opts: &KeyOpts,
) -> Result<Vec<u8>, Fail> {
    match (&opts.key_file, arg) {
        (Some(_), Some(arg)) => Err(Fail::usage(format!(
            "give the key either as an argument or with --key-file, not both (found `{}`)",
            arg.to_string_lossy()
        ))),
        (Some(path), None) => {
            let bytes = read_key_file(path)?;
            convert::key_from_file(store, &bytes, opts.key_hex).map_err(Fail::usage)
        }
        (None, Some(arg)) => key_arg(store, arg, opts.key_hex),
        (None, None) => Err(Fail::usage("no key given".into())),
    }
}

/// A key for a message: as `ls` shows it, cut short when long.
pub(super) fn key_label(store: &RawStore, key: &[u8]) -> String {
    const MAX: usize = 100;
    let text = key_text(store.key_encoding(), key);
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}… ({} bytes)", &text[..at], key.len()),
        None => text,
    }
}
