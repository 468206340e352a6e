//! Where things live in a store: the names of its files and folders, and the hash that
//! names an entry. Pure functions, no I/O.
//!
//! ```text
//! <store>/
//!   DIRKV                 manifest (text): format, key encoding, codec, shard depth
//!   lock                  the write lock file; never renamed or deleted
//!   tmp/                  one marker file per open writer (w-<id>.lock)
//!   quarantine/           damaged and foreign files moved aside by `dirkv verify --repair`
//!                         (never read by the library; absent until first used)
//!   00/ .. ff/            256 shard folders, all made at creation
//!     <sha256 hex>.dkv    one entry file per key
//!     .tmp-<id>-<random>  a write in progress (renamed over the entry when complete)
//! ```
//!
//! On object storage the same names are object keys under the store's prefix
//! (`<prefix>/DIRKV`, `<prefix>/ab/<sha256 hex>.dkv`).

use sha2::{Digest, Sha256};

/// The manifest's file name.
pub const MANIFEST: &str = "DIRKV";
/// The lock file's name.
pub const LOCK: &str = "lock";
/// The folder of writer markers.
pub const TMP: &str = "tmp";
/// The folder that `dirkv verify --repair` moves damaged entries and foreign files into
/// (`quarantine/<time>-<id>/<their path in the store>`). The library never reads it: it is
/// not a shard, so listings skip it, and it is not a creation leftover, so a folder holding
/// it without a manifest is not taken for a half-made store.
pub const QUARANTINE: &str = "quarantine";
/// The note in `tmp/` that says the store has held an entry that expires (made once,
/// never removed): until it exists a removal need not read the entry it removes.
pub const EXPIRING: &str = "expiring";
/// Entry file extension.
pub const ENTRY_EXT: &str = ".dkv";
/// Prefix of in-progress writes inside shard folders.
pub const TEMP_PREFIX: &str = ".tmp-";
/// Prefix of temporary manifests while a store is created.
pub const MANIFEST_TEMP_PREFIX: &str = ".DIRKV-";
/// Number of shard folders.
pub const SHARDS: usize = 256;

/// SHA-256 of the key bytes: what names the entry file of a key (unless the store is
/// encrypted, where a keyed HMAC does).
pub fn hash(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The shard folder name of a shard index: two lowercase hex digits (`"ab"`).
pub fn shard_name(index: u8) -> String {
    ShardName::of(index).as_str().to_owned()
}

/// A shard folder name without an allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardName([u8; 2]);

impl ShardName {
    /// The name of shard `index`.
    pub fn of(index: u8) -> Self {
        ShardName([HEX[usize::from(index >> 4)], HEX[usize::from(index & 15)]])
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("00")
    }
}

/// An entry file name (`<64 hex digits>.dkv`) without an allocation; it is on the path of
/// every get, where `format!` and `hex::encode` cost as much as the checksum.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EntryName([u8; 64 + ENTRY_EXT.len()]);

impl EntryName {
    /// The entry file name of a hash.
    pub fn of(hash: &[u8; 32]) -> Self {
        let mut name = [0u8; 64 + ENTRY_EXT.len()];
        for (i, b) in hash.iter().enumerate() {
            name[2 * i] = HEX[usize::from(b >> 4)];
            name[2 * i + 1] = HEX[usize::from(b & 15)];
        }
        name[64..].copy_from_slice(ENTRY_EXT.as_bytes());
        EntryName(name)
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII went in.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Debug for EntryName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The entry file name of a hash: 64 lowercase hex digits and `.dkv`.
pub fn file_name(hash: &[u8; 32]) -> String {
    EntryName::of(hash).as_str().to_owned()
}

/// The path of an entry relative to the store: `<shard>/<hex>.dkv`.
pub fn entry_rel_path(hash: &[u8; 32]) -> String {
    let name = EntryName::of(hash);
    let mut s = String::with_capacity(3 + name.as_str().len());
    s.push_str(&name.as_str()[..2]);
    s.push('/');
    s.push_str(name.as_str());
    s
}

/// The hash an entry file name stands for, or `None` when the name is not an entry name
/// (only lowercase hex is accepted, so `AB…` is a foreign file, not an entry).
pub fn parse_entry_name(name: &str) -> Option<[u8; 32]> {
    let hex_part = name.strip_suffix(ENTRY_EXT)?;
    if hex_part.len() != 64
        || !hex_part
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut out).ok()?;
    Some(out)
}

/// Whether `name` is an entry file name of shard `shard`: what [`parse_entry_name`]
/// accepts with the hash's first byte equal to `shard`, checked without decoding (for
/// counting entries).
pub fn is_entry_name_in(name: &[u8], shard: u8) -> bool {
    let Some(hex_part) = name.strip_suffix(ENTRY_EXT.as_bytes()) else {
        return false;
    };
    hex_part.len() == 64
        && hex_part[0] == HEX[usize::from(shard >> 4)]
        && hex_part[1] == HEX[usize::from(shard & 15)]
        && hex_part
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The shard index a shard folder name stands for (`"00"`..`"ff"`, lowercase).
pub fn parse_shard_name(name: &str) -> Option<u8> {
    if name.len() != 2 || !name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u8::from_str_radix(name, 16).ok()
}

/// The writer id inside a temp file name `.tmp-<id>-<random>`.
pub fn temp_writer_id(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    let (id, _) = rest.split_once('-')?;
    Some(id)
}

/// The marker file name of a writer id.
pub fn marker_name(id: &str) -> String {
    format!("w-{id}.lock")
}

/// The writer id of a marker file name.
pub fn marker_id(name: &str) -> Option<&str> {
    name.strip_prefix("w-")?.strip_suffix(".lock")
}

/// Key bytes as a log line shows them: text when they are printable UTF-8, escaped
/// otherwise, and cut after 80 bytes (`…` marks the cut).
pub fn show_key(key: &[u8]) -> String {
    const MAX: usize = 80;
    let (part, cut) = if key.len() > MAX {
        (&key[..MAX], true)
    } else {
        (key, false)
    };
    let mut s = String::with_capacity(part.len() + 4);
    s.push('"');
    match std::str::from_utf8(part) {
        Ok(text) => s.extend(text.escape_debug()),
        Err(_) => s.push_str(&part.escape_ascii().to_string()),
    }
    if cut {
        s.push('…');
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_path_is_shard_then_file_name() {
        for key in [&b"home"[..], b"", b"\xff\x00"] {
            let h = hash(key);
            assert_eq!(
                entry_rel_path(&h),
                format!("{}/{}", shard_name(h[0]), file_name(&h))
            );
            assert_eq!(ShardName::of(h[0]).as_str(), shard_name(h[0]));
        }
    }

    #[test]
    fn quick_entry_name_check_agrees_with_the_parser() {
        let good = file_name(&hash(b"home"));
        let shard = hash(b"home")[0];
        let mut names = vec![
            good.clone(),
            good.to_uppercase(),
            good.replace(".dkv", ".tmp"),
            format!("0{good}"),
            good[1..].to_owned(),
            format!("{}g{}", &good[..5], &good[6..]),
            ".tmp-abc-123".into(),
            String::new(),
        ];
        names.push(format!("{:02x}{}", shard.wrapping_add(1), &good[2..]));
        for name in &names {
            for s in [shard, shard.wrapping_add(1)] {
                let parsed = parse_entry_name(name).is_some_and(|h| h[0] == s);
                assert_eq!(
                    is_entry_name_in(name.as_bytes(), s),
                    parsed,
                    "{name} in {s}"
                );
            }
        }
        assert!(is_entry_name_in(good.as_bytes(), shard));
    }

    #[test]
    fn names_match_sha256sum() {
        // printf %s hello | sha256sum
        let h = hash(b"hello");
        assert_eq!(
            file_name(&h),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824.dkv"
        );
        assert_eq!(
            entry_rel_path(&h),
            "2c/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824.dkv"
        );
        assert_eq!(parse_entry_name(&file_name(&h)), Some(h));
        assert_eq!(shard_name(0), "00");
        assert_eq!(shard_name(255), "ff");
        assert_eq!(parse_shard_name("ff"), Some(255));
    }

    #[test]
    fn foreign_names_are_not_entries() {
        let h = file_name(&hash(b"x"));
        for name in [
            h.to_uppercase(),
            h.replace(".dkv", ""),
            format!("{h}.bak"),
            format!("a{h}"),
            ".tmp-abc-def".into(),
            "DIRKV".into(),
            "README".into(),
            format!("{}.dkv", "g".repeat(64)),
        ] {
            assert_eq!(parse_entry_name(&name), None, "{name}");
        }
        for name in ["0", "000", "AB", "g0", "-1"] {
            assert_eq!(parse_shard_name(name), None, "{name}");
        }
    }

    #[test]
    fn temp_and_marker_names() {
        assert_eq!(temp_writer_id(".tmp-abc123-XyZ"), Some("abc123"));
        assert_eq!(temp_writer_id(".tmp-abc"), None);
        assert_eq!(temp_writer_id("abc"), None);
        assert_eq!(marker_id(&marker_name("abc")), Some("abc"));
        assert_eq!(marker_id("x.lock"), None);
    }

    #[test]
    fn keys_are_shown_readably_and_bounded() {
        assert_eq!(show_key(b"home"), "\"home\"");
        assert_eq!(show_key(b"a\nb"), "\"a\\nb\"");
        assert_eq!(show_key(&[0xff, 0x00]), "\"\\xff\\x00\"");
        let long = show_key(&[b'x'; 1000]);
        assert!(long.len() < 90 && long.ends_with("…\""), "{long}");
    }
}
