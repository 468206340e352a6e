//! The first pass: check a MessagePack value whole, with an explicit stack, and plan how
//! each of its maps is written (a JSON object, or the `{"$map":…}` form).

use rmp::Marker;

use super::{Cursor, Item, MAX_DEPTH, Plan};

/// The content of the string whose marker is at `pos` (checked by [`check`] before).
fn str_at(bytes: &[u8], pos: usize) -> &[u8] {
    let mut c = Cursor { bytes, pos };
    match c.item() {
        Ok((_, Item::Str { len })) => c.take(len).unwrap_or_default(),
        _ => &[],
    }
}

/// A map being checked.
struct OpenMap {
    /// Its number among the value's maps, in the order they start.
    ordinal: usize,
    pairs: u64,
    /// Where its keys' markers are, while all of them are strings.
    keys: Option<Vec<u32>>,
}

/// A container being checked: items still to come, and the map it is.
struct Open {
    left: u64,
    map: Option<OpenMap>,
}

/// Checks that `bytes` is exactly one MessagePack value that JSON can show, and plans how
/// its maps are written.
///
/// # Errors
///
/// What is wrong, for the message `get` and `export` give: not MessagePack, a string that
/// is not UTF-8, nesting deeper than [`MAX_DEPTH`], bytes after the value.
pub(crate) fn check(bytes: &[u8]) -> Result<Plan<'_>, String> {
    if u32::try_from(bytes.len()).is_err() {
        return Err("a value longer than 4 GiB".into());
    }
    let mut c = Cursor { bytes, pos: 0 };
    let mut plain_maps: Vec<u64> = Vec::new();
    let mut maps = 0usize;
    let mut stack: Vec<Open> = Vec::new();
    loop {
        // A map's items alternate key, value: note where each key is while all are strings.
        let start = c.pos;
        if let Some(Open {
            left,
            map: Some(map),
        }) = stack.last_mut()
            && left.is_multiple_of(2)
            && let Some(keys) = &mut map.keys
        {
            if matches!(
                bytes.get(start).map(|&b| Marker::from_u8(b)),
                Some(Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32)
            ) {
                keys.push(start as u32);
            } else {
                map.keys = None;
            }
        }
        let (_, item) = c.item()?;
        let container = match item {
            Item::Scalar { len } => {
                c.take(len)?;
                None
            }
            Item::Str { len } => {
                if std::str::from_utf8(c.take(len)?).is_err() {
                    return Err("a MessagePack string that is not UTF-8 (use --raw)".into());
                }
                None
            }
            Item::Ext { len } => {
                c.take(len.saturating_add(1))?;
                None
            }
            Item::Array { n } => Some(Open { left: n, map: None }),
            Item::Map { n } => {
                let ordinal = maps;
                maps += 1;
                if ordinal.is_multiple_of(64) {
                    plain_maps.push(0);
                }
                Some(Open {
                    left: n * 2,
                    map: Some(OpenMap {
                        ordinal,
                        pairs: n,
                        keys: Some(Vec::new()),
                    }),
                })
            }
        };
        if let Some(open) = container {
            // Every item takes a byte at least: a count beyond the bytes left is damage,
            // found before any memory is spent on it.
            if open.left > (bytes.len() - c.pos) as u64 {
                return Err(format!(
                    "not MessagePack (a container at byte {start} claims {} items in {} bytes)",
                    open.left,
                    bytes.len() - c.pos
                ));
            }
            if stack.len() >= MAX_DEPTH {
                return Err(format!("nested deeper than {MAX_DEPTH} levels"));
            }
            if open.left > 0 {
                stack.push(open);
                continue;
            }
            close(bytes, open, &mut plain_maps);
        }
        // The item is complete, and so is every container whose last item it was.
        loop {
            let Some(top) = stack.last_mut() else {
                // The value itself is complete.
                if c.pos != bytes.len() {
                    return Err(format!(
                        "not one MessagePack value ({} bytes follow it)",
                        bytes.len() - c.pos
                    ));
                }
                return Ok(Plan { bytes, plain_maps });
            };
            top.left -= 1;
            if top.left > 0 {
                break;
            }
            if let Some(done) = stack.pop() {
                close(bytes, done, &mut plain_maps);
            }
        }
    }
}

/// Records how a container whose items were all checked is written.
fn close(bytes: &[u8], done: Open, plain_maps: &mut [u64]) {
    if let Some(map) = done.map
        && plain(bytes, map.pairs, map.keys)
    {
        plain_maps[map.ordinal / 64] |= 1 << (map.ordinal % 64);
    }
}

/// Whether a map is written as a JSON object: its keys (`None` when one is not a string)
/// are distinct strings, and not a single key starting with `$` (which would read back as
/// one of the `$` forms).
fn plain(bytes: &[u8], pairs: u64, keys: Option<Vec<u32>>) -> bool {
    let Some(mut keys) = keys else {
        return false;
    };
    if pairs == 1 {
        return keys
            .first()
            .is_some_and(|&k| !str_at(bytes, k as usize).starts_with(b"$"));
    }
    keys.sort_unstable_by(|&a, &b| str_at(bytes, a as usize).cmp(str_at(bytes, b as usize)));
    keys.windows(2)
        .all(|w| str_at(bytes, w[0] as usize) != str_at(bytes, w[1] as usize))
}
