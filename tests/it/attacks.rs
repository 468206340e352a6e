//! The attacks of issue 13, made the way another user of a shared folder would make them:
//! the victim is root (this test process), the attacker is user `nobody` (a child process
//! under `setpriv`), and the store lives in a team folder (mode 0777, as a shared team
//! folder would be) inside a sticky folder (mode 1777), with its own folders opened up to
//! mode 0777 where an attack needs to write into them.
//!
//! Each test keeps, outside the store under attack, a victim folder (root's, mode 0700, with
//! files of various ages and modes, some named like a store's own files) and a private
//! store (in a root-only folder), and compares a digest of both (paths, types, modes,
//! owners, sizes, modification times, content hashes, link targets) before and after the
//! attack: nothing outside the store may be created, changed or deleted.
//!
//! Racy attacks run the attacker as a process of its own that swaps names in a loop
//! (`renameat2(RENAME_EXCHANGE)`, or planting and removing a link), bounded in time and
//! rounds, while this process (the victim) opens, writes, clears or destroys. They need a
//! second user, so they print why and skip when not root, when `setpriv` is missing, or
//! when `nobody` cannot run the test binary. Attacks that only plant files run as any user
//! (the attacker is then this same user; the victim folder is still outside the store).
//! Memory bounds are checked in child processes under an address-space limit
//! (`ulimit -v`, that is `RLIMIT_AS`), descriptor bounds under `ulimit -n`.
//!
//! - [`links`]: links planted at `tmp/` (attack 1), `lock` (3), `quarantine` (6).
//! - [`swaps`]: the store path swapped for a link before `destroy()` (2), shard folders
//!   swapped with links (4), handles kept across `destroy()` (11).
//! - [`files`]: FIFOs at `lock` and at markers (5), junk and dead markers in `tmp/` (12).
//! - [`memory`]: sparse entries of gigabytes (7), compression bombs (8).
//! - `manifests` (feature `encryption`): a huge Argon2id cost (9), a plain manifest
//!   swapped in while a key is set (10).
//!
//! Two attacks were found on the way, beyond the twelve: a link to another store
//! planted at the store path, and `destroy()` racing another handle's writes (both in
//! [`swaps`]). `docs/hostile.md` lists every attack with its test.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::is_root;
use dirkv::format::names;
use dirkv::{Access, Durability, ErrorKind, Exists, RawStore, Store};

mod attacker;
mod files;
mod links;
#[cfg(feature = "encryption")]
mod manifests;
mod memory;
mod review;
mod swaps;

use attacker::{Attacker, Move, attack_sh, can_race};

type Strings = Store<String, String>;

/// What the private store outside the attacked one holds under every key.
const PRIVATE: &str = "private value of another store";

/// `setpriv` arguments that run a program as user `nobody` with no groups.
const NOBODY: [&str; 4] = ["--reuid=65534", "--regid=65534", "--clear-groups", "--"];

/// How long each racy attack runs.
const RACE: Duration = Duration::from_millis(2500);

// ---------------------------------------------------------------------------------------
// Digests

/// What a folder tree holds, as `ls -lR` and `sha256sum` would tell: every path beneath
/// the root (links not followed) with its type, mode, owner, size, modification time, and
/// the hash of a file's bytes or a link's target.
#[derive(Debug, PartialEq, Eq)]
struct Digest(BTreeMap<PathBuf, String>);

impl Digest {
    /// The digest of `root`, leaving out the trees at `skip`.
    fn of_except(root: &Path, skip: &[PathBuf]) -> Digest {
        fn walk(path: &Path, skip: &[PathBuf], out: &mut BTreeMap<PathBuf, String>) {
            if skip.iter().any(|s| s == path) {
                return;
            }
            let Ok(meta) = fs::symlink_metadata(path) else {
                out.insert(path.to_owned(), "missing".into());
                return;
            };
            let t = meta.file_type();
            let what = if t.is_symlink() {
                format!("link -> {:?}", fs::read_link(path).ok())
            } else if t.is_dir() {
                "dir".to_owned()
            } else if t.is_file() {
                let bytes = fs::read(path).unwrap_or_default();
                format!("file {}", hex::encode(names::hash(&bytes)))
            } else {
                "special".to_owned()
            };
            out.insert(
                path.to_owned(),
                format!(
                    "{what} mode {:o} owner {}:{} size {} mtime {}.{:09}",
                    meta.mode(),
                    meta.uid(),
                    meta.gid(),
                    meta.size(),
                    meta.mtime(),
                    meta.mtime_nsec()
                ),
            );
            if t.is_dir() {
                let mut names: Vec<PathBuf> = fs::read_dir(path)
                    .map(|items| items.flatten().map(|i| i.path()).collect())
                    .unwrap_or_default();
                names.sort();
                for child in names {
                    walk(&child, skip, out);
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(root, skip, &mut out);
        Digest(out)
    }

    /// Panics, listing what was created, changed or deleted since `before`, unless this
    /// digest (the one after) is the same.
    fn assert_same(&self, before: &Digest, what: &str) {
        let after = self;
        if before == after {
            return;
        }
        let mut diff = Vec::new();
        for (path, was) in &before.0 {
            match after.0.get(path) {
                None => diff.push(format!("deleted  {}: {was}", path.display())),
                Some(now) if now != was => diff.push(format!(
                    "changed  {}: {was}\n      now {now}",
                    path.display()
                )),
                Some(_) => {}
            }
        }
        for (path, now) in &after.0 {
            if !before.0.contains_key(path) {
                diff.push(format!("created  {}: {now}", path.display()));
            }
        }
        panic!(
            "{what}: something outside the store was touched:\n{}",
            diff.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------------------
// The arena: a victim folder, a private store, and a shared folder for the attacked store

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

struct Arena {
    _dir: tempfile::TempDir,
    base: PathBuf,
    /// Root's folder (mode 0700) with files of all sorts, outside every store.
    victim: PathBuf,
    /// A store in a root-only folder, holding [`PRIVATE`] under the arena's keys.
    private: PathBuf,
    /// A team folder (mode 0777) in a sticky folder (mode 1777): where attacked stores live.
    team: PathBuf,
}

impl Arena {
    /// A new arena; the victim folder has files named like the entries of `keys`, and the
    /// private store has `keys`.
    fn new(keys: &[&str]) -> Arena {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path().to_owned();
        chmod(&base, 0o755);
        let victim = base.join("victim");
        fs::create_dir(&victim).unwrap();
        let file = |rel: &str, mode: u32, age_s: u64, bytes: &[u8]| {
            let p = victim.join(rel);
            fs::write(&p, bytes).unwrap();
            chmod(&p, mode);
            common::backdate(&p, Duration::from_secs(age_s));
        };
        let hour = 3600;
        file("doc", 0o600, 2 * hour, b"root's document, two hours old\n");
        file("notes.txt", 0o644, 72 * hour, b"three days old\n");
        file("fresh.txt", 0o640, 0, b"written just now\n");
        file("empty", 0o600, 2 * hour, b"");
        // Names a store's own code acts on: a crashed writer's marker, temp files, a lock.
        file("w-0123456789ab.lock", 0o644, 2 * hour, b"");
        file(
            ".tmp-0123456789ab-00000000deadbeef",
            0o600,
            2 * hour,
            b"temp",
        );
        file("lock", 0o600, 2 * hour, b"");
        file("expiring", 0o600, 2 * hour, b"");
        fs::create_dir(victim.join("ab")).unwrap();
        file("ab/nested.bin", 0o640, 10 * 60, &common::noise(7, 3000));
        file("ab/.tmp-0123456789ab-1", 0o600, 2 * hour, b"temp");
        for key in keys {
            let name = names::file_name(&names::hash(key.as_bytes()));
            file(&name, 0o644, 2 * hour, b"root's file named like an entry");
            file(
                &format!("ab/{name}"),
                0o644,
                2 * hour,
                b"same, one level down",
            );
        }
        chmod(&victim.join("ab"), 0o750);
        chmod(&victim, 0o700);

        let private_dir = base.join("private");
        fs::create_dir(&private_dir).unwrap();
        chmod(&private_dir, 0o700);
        let private = private_dir.join("store");
        let store: Strings = Store::open(&private, Exists::OpenOrCreate).unwrap();
        for key in keys.iter().chain(&["private-key"]) {
            store.set(*key, &PRIVATE.to_owned()).unwrap();
        }
        drop(store);

        let shared = base.join("shared");
        fs::create_dir(&shared).unwrap();
        chmod(&shared, 0o1777);
        let team = shared.join("team");
        fs::create_dir(&team).unwrap();
        chmod(&team, 0o777);
        Arena {
            _dir: dir,
            base,
            victim,
            private,
            team,
        }
    }

    /// The path of the attacked store.
    fn store(&self) -> PathBuf {
        self.team.join("S")
    }

    /// The digest of everything outside the shared folder: the victim folder, the private
    /// store, the arena's own folder.
    fn outside(&self) -> Digest {
        Digest::of_except(&self.base, &[self.base.join("shared")])
    }

    /// Checks the private store still holds its values, after a digest said it is intact.
    fn check_private(&self, keys: &[&str]) {
        let store: Strings = Store::options()
            .read_only(true)
            .open(&self.private, Exists::Update)
            .unwrap();
        for key in keys.iter().chain(&["private-key"]) {
            assert_eq!(store.get(*key).unwrap().as_deref(), Some(PRIVATE));
        }
    }
}

/// Opens the store's folders to everyone (mode 0777), as a shared team folder would have
/// them, so that the attacker can write into them.
fn share(store: &Path) {
    chmod(store, 0o777);
    for item in fs::read_dir(store).unwrap() {
        let item = item.unwrap();
        if item.file_type().unwrap().is_dir() {
            chmod(&item.path(), 0o777);
        }
    }
}

/// Keys whose entry files are in shard `shard` (unencrypted naming).
fn keys_in_shard(shard: u8, n: usize) -> Vec<String> {
    (0u64..)
        .map(|i| format!("key-{i}"))
        .filter(|k| names::hash(k.as_bytes())[0] == shard)
        .take(n)
        .collect()
}

/// Counts of outcomes (`ok`, or an error kind), for the victim's side of a race.
#[derive(Default, Debug)]
struct Tally(BTreeMap<String, u64>);

impl Tally {
    fn add<T>(&mut self, what: &str, result: &dirkv::Result<T>) {
        let kind = match result {
            Ok(_) => "ok".to_owned(),
            Err(e) => format!("{:?}", e.kind()),
        };
        *self.0.entry(format!("{what}:{kind}")).or_default() += 1;
    }

    fn count(&self, what: &str) -> u64 {
        self.0.get(what).copied().unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------------------
// Deadlines

/// Runs `f` on a thread; panics if it does not return within `limit` (it hangs).
fn within<T: Send + 'static>(
    what: &str,
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{what} did not return within {limit:?} (it hangs)"))
}

/// What a command run with a deadline did.
#[cfg(feature = "cli")]
#[derive(Debug)]
struct Ran {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
    took: Duration,
}

#[cfg(feature = "cli")]
impl Ran {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Runs `cmd` (no input, output captured), killing it and panicking after `limit`.
#[cfg(feature = "cli")]
fn run_within(cmd: &mut Command, limit: Duration) -> Ran {
    let shown = format!("{cmd:?}");
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{shown}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let deadline = start + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{shown} did not finish within {limit:?} (it hangs)");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ran {
        status,
        took: start.elapsed(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// `dirkv ARGS` with `env` set (and no other key variable), within `limit`.
#[cfg(feature = "cli")]
fn dirkv_within(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Ran {
    let mut cmd = Command::new(crate::cli_support::exe());
    for name in crate::cli_support::KEY_VARS {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().copied()).args(args);
    run_within(&mut cmd, limit)
}

/// `dirkv ARGS` under `ulimit -v limit_kib`, within `limit`.
#[cfg(feature = "cli")]
fn dirkv_limited(args: &[&str], limit_kib: u64, limit: Duration) -> Ran {
    let script = format!("ulimit -v {limit_kib} && exec \"$0\" \"$@\"");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .arg(crate::cli_support::exe())
        .args(args);
    for name in crate::cli_support::KEY_VARS {
        cmd.env_remove(name);
    }
    run_within(&mut cmd, limit)
}

/// Whether a command ended by itself with an exit status (not killed by a signal such as
/// SIGABRT from a failed allocation, or SIGSEGV from a stack overflow).
#[cfg(feature = "cli")]
fn exited(ran: &Ran) -> bool {
    ran.code().is_some()
}

/// Runs `f`, prints how long it took, and panics if that was `limit` or more.
fn timed(what: &str, limit: Duration, f: &mut dyn FnMut()) {
    let start = Instant::now();
    f();
    let took = start.elapsed();
    println!("{what}: {took:?}");
    assert!(took < limit, "{what} took {took:?}");
}
