//! Where things live in a store folder, and the manifest that describes it.
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
//! Pure naming functions and the manifest parser; no I/O.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

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
/// Entry file extension.
pub const ENTRY_EXT: &str = ".dkv";
/// Prefix of in-progress writes inside shard folders.
pub const TEMP_PREFIX: &str = ".tmp-";
/// Prefix of temporary manifests while a store is created.
pub const MANIFEST_TEMP_PREFIX: &str = ".DIRKV-";
/// Number of shard folders.
pub const SHARDS: usize = 256;
/// The store format this build writes and reads.
pub const FORMAT: u32 = 1;
/// The shard depth this build writes and reads.
pub const SHARD_DEPTH: u32 = 1;
/// The largest manifest this build reads.
pub const MAX_MANIFEST_LEN: usize = 64 * 1024;

/// SHA-256 of the key bytes.
pub fn hash(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

/// The shard folder name of a hash: its first byte in hex (`"ab"`).
pub fn shard_name(index: u8) -> String {
    format!("{index:02x}")
}

/// The entry file name of a hash: 64 lowercase hex digits and `.dkv`.
pub fn file_name(hash: &[u8; 32]) -> String {
    let mut s = hex::encode(hash);
    s.push_str(ENTRY_EXT);
    s
}

/// The entry file path of a hash under `root`: `<root>/<shard>/<hex>.dkv`. Built in one
/// allocation (it is on the path of every get, where `format!` and `hex::encode` cost as
/// much as the checksum and the decoding together).
pub fn entry_path(root: &Path, hash: &[u8; 32]) -> PathBuf {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut name = [0u8; 64 + ENTRY_EXT.len()];
    for (i, b) in hash.iter().enumerate() {
        name[2 * i] = HEX[usize::from(b >> 4)];
        name[2 * i + 1] = HEX[usize::from(b & 15)];
    }
    name[64..].copy_from_slice(ENTRY_EXT.as_bytes());
    // Only ASCII went in.
    let name = std::str::from_utf8(&name).unwrap_or_default();
    let mut p = PathBuf::with_capacity(root.as_os_str().len() + 2 * 2 + name.len());
    p.push(root);
    p.push(&name[..2]);
    p.push(name);
    p
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
    const HEX: &[u8; 16] = b"0123456789abcdef";
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

/// The store manifest: what a store's files mean.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Store format version.
    pub format: u32,
    /// Key encoding name (see [`OwnedKey::ENCODING`](crate::OwnedKey::ENCODING)).
    pub key: String,
    /// Codec name (see [`Codec::name`](crate::Codec::name)).
    pub codec: String,
    /// Levels of shard folders.
    pub shard_depth: u32,
    /// Further `name = value` settings (such as encryption parameters), in name order.
    pub extra: BTreeMap<String, String>,
}

/// Why a manifest could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestError {
    /// What is wrong.
    pub message: String,
    /// The manifest is from a newer format rather than damaged.
    pub newer: bool,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn bad(message: impl Into<String>) -> ManifestError {
    ManifestError {
        message: message.into(),
        newer: false,
    }
}

/// Whether `s` is fit to be a manifest name or value: printable ASCII without `=` or `#`
/// in names, nothing that breaks a line.
pub fn is_valid_value(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 1024
        && s.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && s.trim() == s
}

fn is_valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
}

impl Manifest {
    /// A format-1 manifest for the given key encoding and codec.
    pub fn new(key: &str, codec: &str) -> Self {
        Manifest {
            format: FORMAT,
            key: key.to_owned(),
            codec: codec.to_owned(),
            shard_depth: SHARD_DEPTH,
            extra: BTreeMap::new(),
        }
    }

    /// The manifest as the text written to the `DIRKV` file.
    pub fn render(&self) -> String {
        let mut s = String::from(if self.extra.contains_key("encryption") {
            "# dirkv store manifest; do not edit.\n\
             # Entries: <first two hex digits>/<HMAC-SHA256 hex of the key bytes, keyed from the store key>.dkv\n"
        } else {
            "# dirkv store manifest; do not edit.\n\
             # Entries: <first two hex digits>/<sha256 hex of the key bytes>.dkv\n"
        });
        s.push_str(&format!(
            "format = {}\nkey = {}\ncodec = {}\nshard_depth = {}\n",
            self.format, self.key, self.codec, self.shard_depth
        ));
        for (k, v) in &self.extra {
            s.push_str(&format!("{k} = {v}\n"));
        }
        s
    }

    /// Parses a manifest file's bytes.
    ///
    /// # Errors
    ///
    /// Not a manifest, a damaged one, or one from a newer format (`newer` set).
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        if bytes.len() > MAX_MANIFEST_LEN {
            return Err(bad(format!(
                "manifest is larger than {MAX_MANIFEST_LEN} bytes"
            )));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| bad("manifest is not UTF-8 text"))?;
        let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = line
                .split_once('=')
                .ok_or_else(|| bad(format!("manifest line {} is not `name = value`", n + 1)))?;
            let (name, value) = (name.trim(), value.trim());
            if !is_valid_name(name) || !is_valid_value(value) {
                return Err(bad(format!(
                    "manifest line {} is not `name = value`",
                    n + 1
                )));
            }
            if fields.insert(name, value).is_some() {
                return Err(bad(format!("manifest names `{name}` twice")));
            }
        }
        let format: u32 = fields
            .remove("format")
            .ok_or_else(|| bad("manifest has no `format`"))?
            .parse()
            .map_err(|_| bad("manifest `format` is not a number"))?;
        if format != FORMAT {
            return Err(ManifestError {
                message: format!(
                    "store format {format} is not supported (this dirkv reads format {FORMAT})"
                ),
                newer: format > FORMAT,
            });
        }
        let mut take = |name: &str| {
            fields
                .remove(name)
                .map(str::to_owned)
                .ok_or_else(|| bad(format!("manifest has no `{name}`")))
        };
        let key = take("key")?;
        let codec = take("codec")?;
        let shard_depth: u32 = take("shard_depth")?
            .parse()
            .map_err(|_| bad("manifest `shard_depth` is not a number"))?;
        let extra = fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Ok(Manifest {
            format,
            key,
            codec,
            shard_depth,
            extra,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_path_is_shard_then_file_name() {
        let root = Path::new("/some/store");
        for key in [&b"home"[..], b"", b"\xff\x00"] {
            let h = hash(key);
            assert_eq!(
                entry_path(root, &h),
                root.join(shard_name(h[0])).join(file_name(&h))
            );
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
            entry_path(Path::new("/s"), &h),
            Path::new("/s/2c/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824.dkv")
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
    fn manifest_round_trip() {
        let mut m = Manifest::new("u64", "msgpack");
        m.extra
            .insert("encryption".into(), "xchacha20poly1305".into());
        let text = m.render();
        assert!(text.contains("format = 1\nkey = u64\ncodec = msgpack\nshard_depth = 1\n"));
        assert_eq!(Manifest::parse(text.as_bytes()), Ok(m));
    }

    #[test]
    fn bad_manifests_are_errors() {
        let ok = Manifest::new("utf8", "msgpack").render();
        assert!(
            Manifest::parse(ok.replace("format = 1", "format = 2").as_bytes())
                .unwrap_err()
                .newer
        );
        assert!(
            !Manifest::parse(ok.replace("format = 1", "format = x").as_bytes())
                .unwrap_err()
                .newer
        );
        for text in [
            "",
            "hello",
            "format = 1",
            "format = 1\nkey = utf8\ncodec = msgpack\n",
            "format = 1\nformat = 1\nkey = utf8\ncodec = msgpack\nshard_depth = 1\n",
            "format = 1\nkey = \ncodec = msgpack\nshard_depth = 1\n",
        ] {
            assert!(Manifest::parse(text.as_bytes()).is_err(), "{text:?}");
        }
        assert!(Manifest::parse(&[0xff, 0xfe]).is_err());
        assert!(Manifest::parse(&vec![b'#'; MAX_MANIFEST_LEN + 1]).is_err());
    }
}
