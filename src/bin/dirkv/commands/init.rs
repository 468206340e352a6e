//! `init`: create a new, empty store (an encrypted one through `unlock`).

use std::path::Path;

use dirkv::RawStore;

use crate::fail::{CmdResult, Fail};
use crate::{unlock, warn};

pub(crate) fn init(dir: &Path, key_type: &str, codec: &str, encrypt: bool) -> CmdResult {
    if encrypt {
        if crate::store_url(dir).is_some() {
            return Err(Fail::usage(
                "init --encrypt works on a local folder only; an encrypted store on object \
                 storage is made by a program (Options::encryption with Options::open_url)"
                    .into(),
            ));
        }
        return unlock::create_encrypted(dir, key_type, codec);
    }
    let unused = unlock::vars_set();
    if !unused.is_empty() {
        warn(&format!(
            "note: {} {} set, but without --encrypt the new store is not encrypted",
            unused.join(" and "),
            if unused.len() == 1 { "is" } else { "are" }
        ));
    }
    #[cfg(feature = "object-store")]
    if let Some(url) = crate::store_url(dir) {
        RawStore::options().open_raw_url(url, dirkv::Exists::Error, key_type, codec)?;
        return Ok(());
    }
    RawStore::create(dir, key_type, codec)?;
    Ok(())
}
