//! The store manifest (`DIRKV`): a small text file of `name = value` lines saying what a
//! store's files mean: format version, key encoding, codec, shard depth and further
//! settings (encryption parameters). Written once when a store is created, checked on every
//! open. Pure parsing and rendering, no I/O.

use std::collections::BTreeMap;
use std::fmt;

/// The store format this build writes and reads.
pub const FORMAT: u32 = 1;
/// The shard depth this build writes and reads.
pub const SHARD_DEPTH: u32 = 1;
/// The largest manifest this build reads.
pub const MAX_MANIFEST_LEN: usize = 64 * 1024;

/// The one check of a name written into a manifest as a key encoding or a codec
/// ([`OwnedKey::ENCODING`](crate::OwnedKey::ENCODING), [`Codec::name`](crate::Codec::name),
/// the names given to [`RawStore::create`](crate::RawStore::create)): 1 to 64 ASCII letters,
/// digits, `-`, `_` or `.`. Checked when a store is created, so that no store is ever made
/// with a manifest that cannot be read back.
///
/// # Errors
///
/// A message saying what is wrong with `name`.
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if plain {
        Ok(())
    } else {
        Err(format!(
            "{what} name {name:?} is not a plain word (1 to 64 letters, digits, `-`, `_`, `.`)"
        ))
    }
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

/// Whether `s` is fit to be a manifest value: printable ASCII, nothing that breaks a line.
fn is_valid_value(s: &str) -> bool {
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

    #[test]
    fn names_are_checked_once_for_both_apis() {
        for good in ["utf8", "u64", "msgpack", "my.codec", "bincode-v2", "a_b"] {
            assert!(check_name("codec", good).is_ok(), "{good}");
            assert!(is_valid_value(good));
        }
        for bad in [
            "",
            "utf8\nformat = 9",
            "a b",
            "x=y",
            "#",
            &"x".repeat(65),
            "é",
        ] {
            assert!(check_name("key encoding", bad).is_err(), "{bad:?}");
        }
    }
}
