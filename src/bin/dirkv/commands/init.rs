//! `init`: create a new, empty store (an encrypted one through `unlock`).

use std::path::Path;

use dirkv::RawStore;

use crate::fail::CmdResult;
use crate::{unlock, warn};

pub(crate) fn init(dir: &Path, key_type: &str, codec: &str, encrypt: bool) -> CmdResult {
    if encrypt {
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
    RawStore::create(dir, key_type, codec)?;
    Ok(())
}
