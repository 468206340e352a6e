//! The commands, one module per command or group: `init`, `ls`, `get`/`set`/`rm`/`path`
//! (entries by key), `export`, `import`, `stat`, `verify`; and the little they share.

use dirkv::RawStore;
use dirkv::format::time::utc_text;

use crate::fail::{CmdResult, Fail};

mod entry;
mod export;
mod import;
mod init;
mod key_input;
mod ls;
mod stat;
mod verify;

pub(crate) use entry::{get, path, rm, set};
pub(crate) use export::export;
pub(crate) use import::import;
pub(crate) use init::init;
pub(crate) use ls::ls;
pub(crate) use stat::stat;
pub(crate) use verify::verify;

/// A time as `ls -l` and `export` show it: UTC, `2025-01-02T03:04:05.000Z`.
fn time_text(ms: u64) -> String {
    format!("{}Z", utc_text(ms))
}

/// The codec the Python package writes with `pickle`: its values are Python objects that
/// only Python can read (and that run code when read), so this tool neither shows nor
/// writes them.
const PICKLE: &str = "pickle";

/// Refuses to show (`verb` "read") or write ("write") the values of a store whose codec
/// this tool must not handle.
fn refuse_codec(store: &RawStore, verb: &str) -> CmdResult {
    if store.codec() != PICKLE {
        return Ok(());
    }
    Err(Fail::error(format!(
        "values of this store are Python pickles; {verb} them with the dirkv Python package \
         (codec = {PICKLE} in {})",
        store.path().join(dirkv::format::names::MANIFEST).display()
    )))
}
