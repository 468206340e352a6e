//! When a value read from (or written to) a file may be kept in validated mode: the
//! settle window, and the storage's promise that versions never repeat (see the cache's
//! module docs).

use std::time::{Duration, SystemTime};

use crate::engine::storage::Version;
use crate::fs::sys::FileId;

/// Whether the file `id` describes changed long enough before `now` that any later
/// change will get another ctime (see the module docs).
fn settled(id: &FileId, now: SystemTime) -> bool {
    let Ok(since_epoch) = now.duration_since(SystemTime::UNIX_EPOCH) else {
        return false;
    };
    let (secs, nanos) = id.ctime;
    let (Ok(secs), Ok(nanos)) = (u64::try_from(secs), u32::try_from(nanos)) else {
        return false;
    };
    let Some(changed) =
        Duration::from_secs(secs).checked_add(Duration::from_nanos(u64::from(nanos)))
    else {
        return false;
    };
    let window = settle_window(id.mtime.1 != 0 || nanos != 0);
    since_epoch
        .checked_sub(changed)
        .is_some_and(|age| age > window)
}

/// How long after its last change a file's identity can be trusted: longer than one tick
/// of the file system's clock. `fine` says whether the file system keeps sub-second times.
fn settle_window(fine: bool) -> Duration {
    if fine {
        Duration::from_millis(50)
    } else {
        Duration::from_secs(3)
    }
}

/// Whether an entry just read at `version` may be cached in validated mode: a file that
/// has settled, any file when `never_repeat` (the storage stamps every change of a file
/// it was asked about with a new change time), or an object (whose ETag changes with every
/// write).
pub(crate) fn cacheable(version: &Version, now: SystemTime, never_repeat: bool) -> bool {
    match version {
        Version::File(id) => never_repeat || settled(id, now),
        Version::Object { e_tag, version } => e_tag.is_some() || version.is_some(),
    }
}
