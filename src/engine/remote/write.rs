//! The write side of [`Remote`]: PUTs of entries (conditional or not, one or a batch),
//! the manifest's conditional create, and the batched DELETEs of `clear`, `Replace` and
//! `destroy`, which touch only what a store makes.

use std::collections::HashMap;

use super::{Remote, version_of};
use crate::engine::storage::{Hash, Put, PutMode, Staged, Storage, Version};
use crate::error::{Error, ErrorKind, Result};
use crate::format::manifest::Manifest;
use crate::format::names;
use crate::object::{Mode, ObjectVersion, Written};

/// Objects one DeleteObjects request removes at most.
const DELETE_BATCH: usize = 1000;

impl Remote {
    /// Writes a new store's manifest only if there is none: `Ok(false)` when another one
    /// got there first.
    pub(crate) fn create_manifest(&self, manifest: &Manifest) -> Result<bool> {
        self.check_writable()?;
        let bytes = manifest.render().into_bytes();
        match self.client.put(names::MANIFEST, bytes, Mode::Create)? {
            Written::Done(_) => Ok(true),
            Written::Conflict => Ok(false),
        }
    }

    /// One entry's PUT, as `mode` allows; the version is the PUT's answer (ETag, version
    /// id), so it costs no request, and is `None` when the server sent neither.
    pub(super) fn put_entry(
        &self,
        staged: Staged,
        mode: PutMode,
    ) -> Result<(Put, Option<Version>)> {
        self.check_writable()?;
        let Staged::Bytes { hash, bytes } = staged else {
            return Err(Error::new(ErrorKind::InvalidInput, "not staged bytes"));
        };
        let rel = names::entry_rel_path(&hash);
        let (mode, keep) = match mode {
            PutMode::Overwrite => (Mode::Overwrite, None),
            PutMode::Create => (Mode::Create, Some(bytes.clone())),
            PutMode::Replace(Version::Object { e_tag, version }) => (
                Mode::Update(ObjectVersion { e_tag, version }),
                Some(bytes.clone()),
            ),
            PutMode::Replace(Version::File(_)) => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    "a file version cannot condition an object write",
                ));
            }
        };
        match self.client.put(&rel, bytes, mode)? {
            Written::Done(v) => Ok((
                Put::Done,
                (v.e_tag.is_some() || v.version.is_some()).then(|| version_of(&v)),
            )),
            Written::Conflict => Ok((
                Put::Conflict(Staged::Bytes {
                    hash,
                    bytes: keep.unwrap_or_default(),
                }),
                None,
            )),
        }
    }

    /// A batch of overwriting PUTs, [`IN_FLIGHT`](crate::object::IN_FLIGHT) at a time (see
    /// [`Storage::commit_many`](crate::engine::storage::Storage::commit_many)).
    pub(super) fn put_batch(
        &self,
        staged: Vec<Staged>,
        on_commit: &(dyn Fn(usize) + Sync),
    ) -> (Vec<usize>, Result<()>) {
        if let Err(e) = self.check_writable() {
            return (Vec::new(), Err(e));
        }
        // A key written twice in one batch: only its last value is sent (concurrent PUTs
        // of one object could land in either order); the earlier ones count as committed
        // just before it.
        let mut last: HashMap<Hash, usize> = HashMap::new();
        for (i, s) in staged.iter().enumerate() {
            last.insert(*s.hash(), i);
        }
        let mut sent: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut earlier: HashMap<Hash, Vec<usize>> = HashMap::new();
        let mut puts = Vec::new();
        for (i, s) in staged.into_iter().enumerate() {
            let Staged::Bytes { hash, bytes } = s else {
                return (
                    Vec::new(),
                    Err(Error::new(ErrorKind::InvalidInput, "not staged bytes")),
                );
            };
            if last.get(&hash) == Some(&i) {
                sent.push((i, earlier.remove(&hash).unwrap_or_default()));
                puts.push((names::entry_rel_path(&hash), bytes, Mode::Overwrite));
            } else {
                earlier.entry(hash).or_default().push(i);
            }
        }
        let results = self.client.put_many(puts);
        let mut done = Vec::new();
        let mut first_error = Ok(());
        for ((i, before), result) in sent.into_iter().zip(results) {
            match result {
                Ok(_) => {
                    for j in before.into_iter().chain([i]) {
                        on_commit(j);
                        done.push(j);
                    }
                }
                Err(e) if first_error.is_ok() => first_error = Err(e),
                Err(_) => {}
            }
        }
        done.sort_unstable();
        (done, first_error)
    }

    /// Deletes every entry of shard `shard`; returns how many.
    pub(super) fn delete_shard(&self, shard: u8) -> Result<usize> {
        self.check_writable()?;
        let mut removed = 0;
        let mut batch = Vec::new();
        for item in self.shard_entries(shard) {
            let (_, rel) = item?;
            batch.push(rel);
            if batch.len() >= DELETE_BATCH {
                let (n, result) = self.client.delete_many(std::mem::take(&mut batch));
                removed += n;
                result?;
            }
        }
        let (n, result) = self.client.delete_many(batch);
        result.map(|()| removed + n)
    }

    /// Deletes everything the store made, the manifest last: a destroy cut short leaves a
    /// store that opens (and can be destroyed again), never entries without a manifest.
    pub(super) fn delete_all(&self) -> Result<()> {
        self.check_writable()?;
        self.check_still_there()?;
        let mut batch = Vec::new();
        for item in self.client.list("") {
            let (rel, _) = item?;
            if rel != names::MANIFEST && Self::is_own(&rel) {
                batch.push(rel);
            }
            if batch.len() >= DELETE_BATCH {
                self.client.delete_many(std::mem::take(&mut batch)).1?;
            }
        }
        self.client.delete_many(batch).1?;
        self.client.delete_many(vec![names::MANIFEST.to_owned()]).1
    }

    /// Whether `rel` is an object this store (or the local store it was copied from)
    /// makes: the manifest, entries, and a local store's lock, `tmp/` and temp files.
    fn is_own(rel: &str) -> bool {
        if rel == names::MANIFEST
            || rel == names::LOCK
            || rel.starts_with(names::MANIFEST_TEMP_PREFIX)
            || rel.starts_with(&format!("{}/", names::TMP))
        {
            return true;
        }
        match rel.split_once('/') {
            Some((dir, name)) => names::parse_shard_name(dir).is_some_and(|shard| {
                names::is_entry_name_in(name.as_bytes(), shard)
                    || name.starts_with(names::TEMP_PREFIX)
            }),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_objects_are_told_from_foreign_ones() {
        let entry = names::entry_rel_path(&[0xab; 32]);
        for rel in [
            "DIRKV",
            "lock",
            "tmp/w-1.lock",
            ".DIRKV-x",
            entry.as_str(),
            "ab/.tmp-w-x",
        ] {
            assert!(Remote::is_own(rel), "{rel}");
        }
        let misplaced = format!("cd/{}", names::file_name(&[0xab; 32]));
        for rel in [
            "notes.txt",
            "ab/readme",
            misplaced.as_str(),
            "xy/z.dkv",
            "quarantine/a",
        ] {
            assert!(!Remote::is_own(rel), "{rel}");
        }
    }
}
