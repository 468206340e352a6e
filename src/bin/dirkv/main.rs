//! The `dirkv` command-line tool (feature `cli`): inspect, change and repair a store from
//! the shell. Store access goes through the
//! public `RawStore` and `StoreFolder` API only;
//! keys of encrypted stores come from the environment or a prompt (`unlock.rs`).

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use dirkv::{Access, ErrorKind, RawStore};

mod check;
mod commands;
mod convert;
mod files;
mod stream;
mod unlock;

/// Exit status: the key was not found.
const MISSING: u8 = 1;
/// Exit status: bad arguments, or a key, value or import line that does not fit the store.
const USAGE: u8 = 2;
/// Exit status: `verify` found problems (with `--repair`: problems it could not repair).
const PROBLEMS: u8 = 3;
/// Exit status: any other error (I/O, not a store, a damaged entry, …).
const ERROR: u8 = 4;

const EXIT_STATUS: &str = "\
Keys are read as the store's manifest says: text for utf8 stores, decimal for integer
stores (42, not 042), hex for bytes stores, JSON for msgpack (serde) stores. Values are
shown and given as JSON; binary is {\"$bytes\":\"<hex>\"}.

Encrypted stores: the key is never an argument. Set DIRKV_KEY to the store's 32-byte key
as 64 hex digits, or DIRKV_PASSPHRASE to its passphrase; with neither, dirkv asks for the
passphrase (without echo) when run at a terminal, and fails otherwise.

Exit status: 0 ok, 1 key not found, 2 usage error (also a key or value that does not fit
the store), 3 verify found problems (with --repair: problems it could not repair), 4 any
other error (the path involved is on stderr; also a missing or wrong encryption key).

Example:
  dirkv get ./pages 42";

#[derive(Parser, Debug)]
#[command(
    name = "dirkv",
    version,
    about = "Inspect, change and repair a dirkv store (a folder with one file per key)",
    after_help = EXIT_STATUS
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// How a key argument is read.
#[derive(Args, Debug)]
pub(crate) struct KeyOpts {
    /// Read KEY as the key bytes in hex, whatever the store's key encoding
    #[arg(long)]
    pub(crate) key_hex: bool,
    /// Read the entry's key from FILE (`-`: standard input) instead of an argument,
    /// written as KEY would be: for keys too long for the command line (never an
    /// encryption key: those come from DIRKV_KEY or DIRKV_PASSPHRASE)
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a new, empty store (DIR must be missing or an empty folder)
    #[command(after_help = "\
--encrypt takes the key from DIRKV_KEY (64 hex digits) or DIRKV_PASSPHRASE, or asks for a
passphrase twice at the terminal; never from an argument.

Examples:
  dirkv init ./pages --key-type u64
  DIRKV_KEY=$(openssl rand -hex 32) dirkv init ./secrets --encrypt")]
    Init {
        /// The store folder
        dir: PathBuf,
        /// Key encoding recorded in the manifest (must match the program's key type)
        #[arg(long, default_value = "utf8", value_parser = convert::KEY_TYPES)]
        key_type: String,
        /// Value codec recorded in the manifest
        #[arg(long, default_value = "msgpack", value_parser = ["msgpack", "raw"])]
        codec: String,
        /// Encrypt keys and values (the key from DIRKV_KEY or DIRKV_PASSPHRASE, or a
        /// passphrase typed at the terminal)
        #[arg(long)]
        encrypt: bool,
    },
    /// List the keys (in file-name order; pipe through `sort` for key order)
    #[command(after_help = "Examples:\n  dirkv ls ./pages | head\n  dirkv ls -l --json ./pages")]
    Ls {
        /// The store folder
        dir: PathBuf,
        /// Also show size in bytes, modification time and expiry (UTC, `never` for none)
        /// and the entry file's path, tab-separated after the key
        #[arg(short = 'l')]
        long: bool,
        /// One JSON object per line: {"key":…} (with -l also "size", "modified",
        /// "expires" when it expires, "path")
        #[arg(long)]
        json: bool,
    },
    /// Print the value of KEY as JSON
    #[command(
        after_help = "Examples:\n  dirkv get ./pages home\n  dirkv get --raw ./blobs logo > logo.png"
    )]
    Get {
        /// The store folder
        dir: PathBuf,
        /// The key (use `--` before a key that starts with `-`; or --key-file)
        #[arg(allow_hyphen_values = true, required_unless_present = "key_file")]
        key: Option<OsString>,
        /// Write the stored value bytes unchanged (MessagePack for msgpack stores)
        #[arg(long)]
        raw: bool,
        /// Indent the JSON
        #[arg(long)]
        pretty: bool,
        #[command(flatten)]
        key_opts: KeyOpts,
    },
    /// Set the value of KEY (atomic, under the store's lock)
    #[command(after_help = "\
VALUE is JSON, so a string needs its quotes: '\"hello\"', not hello.
With --key-file, give only VALUE after DIR.

Examples:
  dirkv set ./pages home '{\"title\":\"Home\",\"words\":120}'
  dirkv set --ttl 1h ./cache session '\"abc\"'
  dirkv set --raw ./blobs logo - < logo.png
  dirkv set --key-file long-key.txt ./pages '\"value\"'")]
    Set {
        /// The store folder
        dir: PathBuf,
        /// The key (with --key-file: the value)
        #[arg(allow_hyphen_values = true)]
        key: OsString,
        /// The value as JSON, or `-` to read it from standard input
        #[arg(allow_hyphen_values = true)]
        value: Option<OsString>,
        /// Store VALUE's bytes unchanged (they must be valid for the store's codec)
        #[arg(long)]
        raw: bool,
        /// Expire the entry this long from now: a number and a unit, ms, s, m, h or d
        /// (`90s`, `15m`, `2h`, `7d`)
        #[arg(long, value_name = "DURATION", value_parser = convert::parse_ttl)]
        ttl: Option<std::time::Duration>,
        #[command(flatten)]
        key_opts: KeyOpts,
    },
    /// Remove keys
    #[command(after_help = "Example:\n  dirkv rm ./pages home about")]
    Rm {
        /// The store folder
        dir: PathBuf,
        /// The keys
        #[arg(required_unless_present = "key_file", allow_hyphen_values = true)]
        keys: Vec<OsString>,
        /// Do not complain about keys that are not there
        #[arg(short, long)]
        force: bool,
        #[command(flatten)]
        key_opts: KeyOpts,
    },
    /// Print the path of KEY's entry file (whether or not it exists)
    #[command(after_help = "Example:\n  ls -l \"$(dirkv path ./pages home)\"")]
    Path {
        /// The store folder
        dir: PathBuf,
        /// The key (or --key-file)
        #[arg(allow_hyphen_values = true, required_unless_present = "key_file")]
        key: Option<OsString>,
        #[command(flatten)]
        key_opts: KeyOpts,
    },
    /// Show the manifest and counts: entries, expired entries, bytes (apparent and on disk),
    /// shard fill, temp and foreign files
    #[command(after_help = "\
`bytes` adds up the entry files' lengths (du --apparent-size -b); `disk` their allocated
blocks (du -B1), which is what evict_to and auto_evict bound: at least 4 KiB per entry on
most file systems, so base a bound on `disk`.

Example:
  dirkv stat ./pages")]
    Stat {
        /// The store folder
        dir: PathBuf,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Check every entry and file of the store; exit status 3 when anything is wrong (with
    /// --repair: when anything is left that it could not repair)
    #[command(after_help = "\
Checks each entry (header, checksum, key matches file name, key and value decode), and
reports entries in the wrong shard, foreign files, folders and links, missing shard folders
and stale temp files, one line each.

--repair moves damaged, misplaced and foreign files into <store>/quarantine/<time>-<id>/
(never deletes them), naming the key a moved entry file still holds, removes stale temp
files and recreates missing folders. It exits 0 when nothing is left to repair, 3 when
something is (an entry of a newer format, a shard folder name holding a file).

Example:
  dirkv verify ./pages && echo intact")]
    Verify {
        /// The store folder
        dir: PathBuf,
        /// Quarantine damaged and foreign files, remove stale temp files
        #[arg(long)]
        repair: bool,
    },
    /// Write every entry as JSON Lines: {"key":…,"value":…,"created":…,"modified":…}, with
    /// "expires" for an entry that expires
    #[command(after_help = "\
Times are UTC, as ls -l shows them. Expired entries are not exported.

Example:
  dirkv export ./pages --out pages.jsonl")]
    Export {
        /// The store folder
        dir: PathBuf,
        /// Write to FILE (atomically: complete or not at all) instead of standard output
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Read JSON Lines ({"key":…,"value":…}, times optional) and set each entry
    #[command(after_help = "\
\"created\" and \"expires\" are restored (a line without them is created now and never
expires); \"modified\" becomes the time of the import. A line whose expiry has passed is
skipped, and counted on stderr.

Example:
  dirkv init ./copy && dirkv import ./copy --in pages.jsonl")]
    Import {
        /// The store folder (create it first with `dirkv init`)
        dir: PathBuf,
        /// Read from FILE instead of standard input
        #[arg(long = "in", short = 'i', value_name = "FILE")]
        input: Option<PathBuf>,
        /// Skip fsync: faster, but a power cut may lose what was imported
        #[arg(long)]
        no_sync: bool,
    },
}

/// Why a command stopped: an exit status and what to say on stderr.
#[derive(Debug)]
pub(crate) struct Fail {
    code: u8,
    message: Option<String>,
}

impl Fail {
    pub(crate) fn missing(message: String) -> Fail {
        Fail {
            code: MISSING,
            message: Some(message),
        }
    }

    pub(crate) fn usage(message: String) -> Fail {
        Fail {
            code: USAGE,
            message: Some(message),
        }
    }

    pub(crate) fn error(message: String) -> Fail {
        Fail {
            code: ERROR,
            message: Some(message),
        }
    }

    /// Exit with `code`; whatever there was to say was said.
    pub(crate) fn quiet(code: u8) -> Fail {
        Fail {
            code,
            message: None,
        }
    }

    pub(crate) fn problems() -> Fail {
        Fail::quiet(PROBLEMS)
    }
}

/// An error and its causes on one line.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl From<dirkv::Error> for Fail {
    fn from(err: dirkv::Error) -> Fail {
        let text = chain(&err);
        if err.kind() == ErrorKind::InvalidInput {
            Fail::usage(text)
        } else {
            Fail::error(text)
        }
    }
}

impl From<io::Error> for Fail {
    /// For writes to standard output: a closed pipe ends the command quietly.
    fn from(err: io::Error) -> Fail {
        if err.kind() == io::ErrorKind::BrokenPipe {
            Fail::quiet(0)
        } else {
            Fail::error(format!("cannot write the output: {err}"))
        }
    }
}

pub(crate) type CmdResult = Result<(), Fail>;

/// Buffered standard output.
pub(crate) fn stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// Opens the store at `dir`; an encrypted one with the key from `DIRKV_KEY` or
/// `DIRKV_PASSPHRASE`, or a passphrase typed at the terminal.
///
/// A store whose manifest says it is not encrypted is refused while `DIRKV_KEY` or
/// `DIRKV_PASSPHRASE` is set: the user said it is encrypted, so a plain manifest means it
/// was replaced, and writing secrets into it in plaintext or showing its values as theirs
/// would be wrong.
pub(crate) fn open(dir: &Path, access: Access) -> Result<RawStore, Fail> {
    let store = match RawStore::open(dir, access) {
        Err(err) if err.kind() == ErrorKind::WrongKey => {
            return unlock::open_encrypted(dir, access, err);
        }
        opened => opened?,
    };
    unlock::refuse_plain_if_keyed(&store)?;
    Ok(store)
}

/// A progress bar on stderr, drawn only when stderr is a terminal (and, for commands
/// whose output is on stdout, when stdout is not: the output is the progress then).
pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// Progress over the 256 shard folders.
    pub(crate) fn shards(what: &'static str, output_on_stdout: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(256), Self::target(output_on_stdout));
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} shards, {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(what);
        Progress { bar }
    }

    /// Progress over `len` bytes of input, or a counter when the length is unknown.
    pub(crate) fn bytes(what: &'static str, len: Option<u64>) -> Progress {
        let bar = ProgressBar::with_draw_target(len, Self::target(false));
        let template = if len.is_some() {
            "{msg} [{bar:40}] {bytes}/{total_bytes}, {elapsed}"
        } else {
            "{msg} {spinner} {bytes}, {elapsed}"
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(what);
        Progress { bar }
    }

    fn target(output_on_stdout: bool) -> ProgressDrawTarget {
        let shown = io::stderr().is_terminal() && !(output_on_stdout && io::stdout().is_terminal());
        if shown {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    /// Moves the bar to the shard of the item at `path` (`<store>/<shard>/<name>`).
    pub(crate) fn at(&self, path: &Path) {
        let shard = path
            .parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .and_then(|n| u8::from_str_radix(n, 16).ok());
        if let Some(shard) = shard {
            self.bar.set_position(u64::from(shard));
        }
    }

    pub(crate) fn add(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Runs `f` (which prints) with the bar cleared.
    pub(crate) fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
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
            return ExitCode::from(if err.use_stderr() { USAGE } else { 0 });
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
        Command::Stat { dir, json } => check::stat(&dir, json),
        Command::Verify { dir, repair } => check::verify(&dir, repair),
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
