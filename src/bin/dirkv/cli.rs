//! The command line: what `dirkv` takes (subcommands, flags, arguments) and the help
//! texts clap prints for it. Parsing only; `main.rs` dispatches the parsed command.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::convert;

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
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
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
pub(crate) enum Command {
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
