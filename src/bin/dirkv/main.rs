//! The `dirkv` command-line tool (feature `cli`): inspect, change and repair a store from
//! the shell. Store access goes through the
//! public `RawStore` and `StoreFolder` API only;
//! keys of encrypted stores come from the environment or a prompt (`unlock.rs`).
//!
//! This file is the root: it runs the parsed command line (`cli.rs`) through the
//! commands (`commands/`) to an exit status (`fail.rs`), and holds the few helpers every
//! command uses (opening a store, standard output, messages on stderr).

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use dirkv::{Access, ErrorKind, RawStore};

use cli::{Cli, Command};
use fail::Fail;

mod cli;
mod commands;
mod convert;
mod fail;
mod files;
mod progress;
mod stream;
mod unlock;

/// Buffered standard output.
pub(crate) fn stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// The store URL `dir` is (`s3://bucket/prefix`, ...; feature `object-store`), when it is
/// one rather than a path.
pub(crate) fn store_url(dir: &Path) -> Option<&str> {
    #[cfg(feature = "object-store")]
    {
        dir.to_str().filter(|text| RawStore::is_url(text))
    }
    #[cfg(not(feature = "object-store"))]
    {
        let _ = dir;
        None
    }
}

/// Opens the store at `dir` (a folder, or with feature `object-store` a store URL whose
/// client reads its credentials from the provider's environment variables); an encrypted
/// local one with the key from `DIRKV_KEY` or `DIRKV_PASSPHRASE`, or a passphrase typed at
/// the terminal.
///
/// A store whose manifest says it is not encrypted is refused while `DIRKV_KEY` or
/// `DIRKV_PASSPHRASE` is set: the user said it is encrypted, so a plain manifest means it
/// was replaced, and writing secrets into it in plaintext or showing its values as theirs
/// would be wrong.
pub(crate) fn open(dir: &Path, access: Access) -> Result<RawStore, Fail> {
    #[cfg(feature = "object-store")]
    if let Some(url) = store_url(dir) {
        let store = RawStore::open_url(url, access)?;
        unlock::refuse_plain_if_keyed(&store)?;
        return Ok(store);
    }
    let store = match RawStore::open(dir, access) {
        Err(err) if err.kind() == ErrorKind::WrongKey => {
            return unlock::open_encrypted(dir, access, err);
        }
        opened => opened?,
    };
    unlock::refuse_plain_if_keyed(&store)?;
    Ok(store)
}

/// Milliseconds since the Unix epoch, by the system clock.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `n` and the noun that goes with it: `1 problem`, `2 problems`.
pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The shard of the item at `path` (`<store>/<shard>/<name>`, the shard in hex), if its
/// parent folder is named as a shard.
pub(crate) fn shard_of(path: &Path) -> Option<u8> {
    path.parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .and_then(|n| u8::from_str_radix(n, 16).ok())
}

/// Says `message` on stderr as the tool does: `dirkv: …`.
pub(crate) fn warn(message: &str) {
    let _ = writeln!(io::stderr(), "dirkv: {message}");
}

/// Runs the tool with the process's arguments and returns its exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout with status 0; usage errors to stderr with 2.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { fail::USAGE } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Init {
            dir,
            key_type,
            codec,
            encrypt,
        } => commands::init(&dir, &key_type, &codec, encrypt),
        Command::Ls { dir, long, json } => commands::ls(&dir, long, json),
        Command::Get {
            dir,
            key,
            raw,
            pretty,
            key_opts,
        } => commands::get(&dir, key.as_deref(), &key_opts, raw, pretty),
        Command::Set {
            dir,
            key,
            value,
            raw,
            ttl,
            key_opts,
        } => commands::set(&dir, &key, value.as_deref(), &key_opts, raw, ttl),
        Command::Rm {
            dir,
            keys,
            force,
            key_opts,
        } => commands::rm(&dir, &keys, &key_opts, force),
        Command::Path { dir, key, key_opts } => commands::path(&dir, key.as_deref(), &key_opts),
        Command::Stat { dir, json } => commands::stat(&dir, json),
        Command::Verify { dir, repair } => commands::verify(&dir, repair),
        Command::Export { dir, out } => commands::export(&dir, out.as_deref()),
        Command::Import {
            dir,
            input,
            no_sync,
        } => commands::import(&dir, input.as_deref(), no_sync),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => {
            if let Some(message) = &fail.message {
                warn(message);
            }
            ExitCode::from(fail.code)
        }
    }
}
