//! Durability: the order of the system calls that make a write survive a power cut, seen
//! with strace, and a simulated power cut on a small ext4 image (root only).
//!
//! The strace tests are skipped, with a message, where strace is missing or cannot trace.
//! The power-cut test is skipped unless it runs as root with loop devices, `mkfs.ext4`,
//! `e2fsck` and `mount`; `DIRKV_LONG=1` runs more cuts.

use crate::common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Lines, LoopDev, Mounted, Rng, Stamped, long_run, run, store_dir};
use dirkv::{Durability, Exists, Store};

type Stamps = Store<String, Stamped>;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// strace

/// One traced system call.
#[derive(Debug, Clone)]
struct Call {
    name: String,
    args: String,
    ret: String,
}

impl Call {
    /// The path strace (`-y`) shows for the first argument's descriptor: `5</a/b>`.
    fn fd_path(&self) -> Option<&str> {
        let start = self.args.find('<')?;
        let end = self.args[start..].find('>')?;
        Some(&self.args[start + 1..start + end])
    }

    /// The paths among the arguments (of rename, unlink, openat): each quoted string,
    /// joined to the folder of the descriptor argument before it (`4</s/ab>, "x.dkv"` is
    /// `/s/ab/x.dkv`), as the `*at` calls resolve them.
    fn strings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut dir: Option<String> = None;
        for arg in split_args(&self.args) {
            if let Some(quoted) = arg.strip_prefix('"').and_then(|a| a.strip_suffix('"')) {
                match dir.take() {
                    Some(d) if !quoted.starts_with('/') => out.push(format!("{d}/{quoted}")),
                    _ => out.push(quoted.to_owned()),
                }
            } else {
                dir = arg
                    .split_once('<')
                    .and_then(|(_, rest)| rest.strip_suffix('>'))
                    .map(str::to_owned);
            }
        }
        out
    }

    fn is_sync(&self) -> bool {
        self.name == "fsync" || self.name == "fdatasync"
    }

    fn is_rename(&self) -> bool {
        self.name.starts_with("rename")
    }

    fn ok(&self) -> bool {
        self.ret.trim_start().starts_with('0')
            || self
                .ret
                .trim_start()
                .starts_with(|c: char| c.is_ascii_digit())
    }
}

/// Splits strace's argument text at the commas between arguments (not inside quotes or
/// `<...>` descriptor paths).
fn split_args(args: &str) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut angle, mut escaped) =
        (Vec::new(), 0, false, 0, false);
    for (i, c) in args.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle += 1,
            '>' if !quoted && angle > 0 => angle -= 1,
            ',' if !quoted && angle == 0 => {
                parts.push(args[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(args[start..].trim());
    parts
}

/// Parses `strace -f -y` output, joining calls split into "unfinished" and "resumed".
fn parse_strace(text: &str) -> Vec<Call> {
    let mut pending: HashMap<String, String> = HashMap::new();
    let mut calls = Vec::new();
    for line in text.lines() {
        let (pid, rest) = line.split_once(' ').unwrap_or(("", line));
        let rest = rest.trim_start();
        let full = if let Some(head) = rest.strip_suffix("<unfinished ...>") {
            pending.insert(pid.to_owned(), head.to_owned());
            continue;
        } else if let Some(tail) = rest.strip_prefix("<... ") {
            let Some((_, after)) = tail.split_once("resumed>") else {
                continue;
            };
            format!("{}{after}", pending.remove(pid).unwrap_or_default())
        } else {
            rest.to_owned()
        };
        let Some(open) = full.find('(') else { continue };
        // strace pads short calls: `fsync(5</s/00>)            = 0`.
        let Some(eq) = full.rfind(" = ") else {
            continue;
        };
        let Some(args) = full[open + 1..eq].trim_end().strip_suffix(')') else {
            continue;
        };
        calls.push(Call {
            name: full[..open].to_owned(),
            args: args.to_owned(),
            ret: full[eq + 3..].to_owned(),
        });
    }
    calls
}

const TRACED: &str =
    "trace=openat,fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,flock";

/// Whether strace is installed and allowed to trace here.
fn strace_works() -> bool {
    let ok = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: strace is not installed or cannot trace here (ptrace refused)");
    }
    ok
}

/// Runs `child` (a child entry of this binary) under strace; returns its calls.
fn trace_child(child: common::ChildTest, log: &Path) -> Vec<Call> {
    let mut strace: Vec<std::ffi::OsString> = [
        "-f",
        "-qq",
        "-y",
        "-s",
        "512",
        "-e",
        TRACED,
        "-e",
        "signal=none",
        "-o",
    ]
    .map(Into::into)
    .into();
    strace.push(log.into());
    let out = child.under("strace", strace).output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "traced child failed ({}): {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("CHILD-OK"),
        "traced child did not finish: {stdout}"
    );
    parse_strace(&fs::read_to_string(log).unwrap())
}

/// Child side: marks a phase with a failed open of `<dir>/PHASE-<name>` that the trace shows.
fn phase(dir: &str, name: &str) {
    let _ = fs::File::open(Path::new(dir).join(format!("PHASE-{name}")));
}

/// The calls between the phase marks `<name>-begin` and `<name>-end`.
fn between<'a>(calls: &'a [Call], name: &str) -> &'a [Call] {
    let mark = |m: &str| {
        let needle = format!("/PHASE-{name}-{m}");
        calls
            .iter()
            .position(|c| c.name == "openat" && c.strings().iter().any(|s| s.ends_with(&needle)))
            .unwrap_or_else(|| panic!("phase mark {needle} not in the trace"))
    };
    let (b, e) = (mark("begin"), mark("end"));
    &calls[b + 1..e]
}

fn position(calls: &[Call], what: &str, f: impl Fn(&Call) -> bool) -> usize {
    let found: Vec<usize> = (0..calls.len()).filter(|i| f(&calls[*i])).collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {what}, found {}: {:#?}",
        found.len(),
        calls
    );
    found[0]
}

fn parent_of(path: &Path) -> String {
    path.parent().unwrap().display().to_string()
}

/// Keys whose entries fall in exactly `shards` shards, `per` keys in each.
fn keys_in_shards(store: &Stamps, shards: usize, per: usize) -> Vec<String> {
    let mut by_shard: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in 0.. {
        let k = format!("batch-{i}");
        let shard = parent_of(&store.path_of(&k));
        let v = by_shard.entry(shard).or_default();
        if v.len() < per {
            v.push(k);
        }
        let full: Vec<_> = by_shard.values().filter(|v| v.len() == per).collect();
        if full.len() == shards {
            return full.into_iter().flatten().cloned().collect();
        }
    }
    unreachable!()
}

/// Child: the writes whose system calls the parent checks, between phase marks.
#[test]
#[ignore = "child process: run by its parent test"]
fn child_traced_writes() {
    common::child_entry();
    let dir = env("DIRKV_DIR");
    let durable = env("DIRKV_DURABLE") == "1";
    let store: Stamps = Store::options()
        .durability(if durable {
            Durability::Durable
        } else {
            Durability::Fast
        })
        .open(env("DIRKV_STORE"), Exists::Update)
        .unwrap();
    let v = |k: &str| Stamped::new(k, 1, 1);
    phase(&dir, "set-begin");
    store.set("alpha", &v("alpha")).unwrap();
    phase(&dir, "set-end");
    let keys: Vec<String> = env("DIRKV_KEYS").split(',').map(str::to_owned).collect();
    let values: Vec<Stamped> = keys.iter().map(|k| v(k)).collect();
    phase(&dir, "batch-begin");
    store
        .set_many(keys.iter().map(String::as_str).zip(values.iter()))
        .unwrap();
    phase(&dir, "batch-end");
    phase(&dir, "update-begin");
    store.update("alpha", |_| Some(v("alpha"))).unwrap();
    phase(&dir, "update-end");
    phase(&dir, "remove-begin");
    assert!(store.remove("alpha").unwrap());
    phase(&dir, "remove-end");
    phase(&dir, "sync-begin");
    store.sync().unwrap();
    phase(&dir, "sync-end");
    println!("CHILD-OK");
}

/// The traced writes of `child_traced_writes` on a fresh store: the store (with the temp
/// dir it lives in, removed when the caller drops it), the batch's keys, the calls.
fn traced_writes(durable: bool) -> Option<(tempfile::TempDir, Stamps, Vec<String>, Vec<Call>)> {
    if !strace_works() {
        return None;
    }
    let (dir, path) = store_dir();
    let store: Stamps = Store::open(&path, Exists::OpenOrCreate).unwrap();
    let keys = keys_in_shards(&store, 3, 2);
    let calls = trace_child(
        common::child_test!(child_traced_writes).envs([
            ("DIRKV_DIR", dir.path().display().to_string()),
            ("DIRKV_STORE", path.display().to_string()),
            ("DIRKV_DURABLE", if durable { "1" } else { "0" }.into()),
            ("DIRKV_KEYS", keys.join(",")),
        ]),
        &dir.path().join("strace.log"),
    );
    Some((dir, store, keys, calls))
}

/// Checks one durable write of `entry` within `calls`: its temp file synced, then renamed
/// over the entry (under the lock), then the entry's folder synced. Returns the indexes
/// (sync, rename, folder sync).
fn check_one_write(calls: &[Call], entry: &Path) -> (usize, usize, usize) {
    let entry_s = entry.display().to_string();
    let dir = parent_of(entry);
    let rename = position(calls, "rename onto the entry", |c| {
        c.is_rename() && c.ok() && c.strings().last() == Some(&entry_s)
    });
    let temp = calls[rename].strings()[0].to_owned();
    assert!(
        temp.starts_with(&format!("{dir}/.tmp-")),
        "the temp file is beside the entry: {temp}"
    );
    let sync = position(calls, "sync of the temp file", |c| {
        c.is_sync() && c.fd_path() == Some(temp.as_str())
    });
    let dir_sync = position(calls, "sync of the entry's folder", |c| {
        c.is_sync() && c.fd_path() == Some(dir.as_str())
    });
    assert!(
        sync < rename && rename < dir_sync,
        "order must be sync(temp) {sync} < rename {rename} < sync(folder) {dir_sync}: {calls:#?}"
    );
    (sync, rename, dir_sync)
}

fn lock_calls(calls: &[Call], op: &str) -> Vec<usize> {
    (0..calls.len())
        .filter(|i| calls[*i].name == "flock" && calls[*i].args.contains(op))
        .collect()
}

#[test]
fn durable_set_syncs_the_temp_then_renames_then_syncs_the_folder() {
    let Some((_dir, store, _, calls)) = traced_writes(true) else {
        return;
    };
    let set = between(&calls, "set");
    let (sync, rename, dir_sync) = check_one_write(set, &store.path_of("alpha"));
    // The lock is held around the rename only: not while the temp file is synced, and
    // released before the folder sync.
    let (ex, un) = (lock_calls(set, "LOCK_EX"), lock_calls(set, "LOCK_UN"));
    assert_eq!(
        (ex.len(), un.len()),
        (1, 1),
        "one lock, one unlock: {set:#?}"
    );
    assert!(sync < ex[0] && ex[0] < rename && rename < un[0] && un[0] < dir_sync);
    // Besides the writer's marker and tmp/, synced once by the first write (before its
    // temp file exists).
    let tmp = store.path().join("tmp").display().to_string();
    let own_syncs = set
        .iter()
        .filter(|c| c.is_sync() && !c.fd_path().is_some_and(|p| p.starts_with(&tmp)))
        .count();
    assert_eq!(own_syncs, 2, "{set:#?}");
}

#[test]
fn durable_update_holds_the_lock_from_read_to_rename() {
    let Some((_dir, store, _, calls)) = traced_writes(true) else {
        return;
    };
    let update = between(&calls, "update");
    let entry = store.path_of("alpha").display().to_string();
    let (sync, rename, dir_sync) = check_one_write(update, &store.path_of("alpha"));
    let read = position(update, "read of the old value", |c| {
        c.name == "openat" && c.strings().first() == Some(&entry) && !c.args.contains("O_CREAT")
    });
    let (ex, un) = (lock_calls(update, "LOCK_EX"), lock_calls(update, "LOCK_UN"));
    assert_eq!(
        (ex.len(), un.len()),
        (1, 1),
        "one lock, one unlock: {update:#?}"
    );
    assert!(
        ex[0] < read && read < sync && rename < un[0] && un[0] < dir_sync,
        "lock {} < read {read} < sync {sync} < rename {rename} < unlock {} < folder sync {dir_sync}",
        ex[0],
        un[0]
    );
}

#[test]
fn durable_batch_syncs_each_shard_folder_once_after_its_renames() {
    let Some((_dir, store, keys, calls)) = traced_writes(true) else {
        return;
    };
    let batch = between(&calls, "batch");
    let mut last_rename_in: BTreeMap<String, usize> = BTreeMap::new();
    for k in &keys {
        let entry = store.path_of(k);
        let entry_s = entry.display().to_string();
        let rename = position(batch, "rename onto the entry", |c| {
            c.is_rename() && c.ok() && c.strings().last() == Some(&entry_s)
        });
        let temp = batch[rename].strings()[0].to_owned();
        let sync = position(batch, "sync of the temp file", |c| {
            c.is_sync() && c.fd_path() == Some(temp.as_str())
        });
        assert!(sync < rename, "{k}: temp synced before its rename");
        let e = last_rename_in.entry(parent_of(&entry)).or_default();
        *e = (*e).max(rename);
    }
    let shards: BTreeSet<String> = keys.iter().map(|k| parent_of(&store.path_of(k))).collect();
    assert_eq!(shards.len(), 3);
    for shard in &shards {
        let dir_sync = position(batch, "sync of the shard folder", |c| {
            c.is_sync() && c.fd_path() == Some(shard.as_str())
        });
        assert!(
            dir_sync > last_rename_in[shard],
            "{shard} synced after its renames"
        );
    }
    let syncs = batch.iter().filter(|c| c.is_sync()).count();
    assert_eq!(
        syncs,
        keys.len() + shards.len(),
        "one sync per file and per shard"
    );
}

#[test]
fn durable_remove_syncs_the_folder_after_the_unlink() {
    let Some((_dir, store, _, calls)) = traced_writes(true) else {
        return;
    };
    let remove = between(&calls, "remove");
    let entry = store.path_of("alpha").display().to_string();
    let unlink = position(remove, "unlink of the entry", |c| {
        c.name.starts_with("unlink") && c.strings().last() == Some(&entry)
    });
    let dir = parent_of(&store.path_of("alpha"));
    let dir_sync = position(remove, "sync of the folder", |c| {
        c.is_sync() && c.fd_path() == Some(dir.as_str())
    });
    assert!(unlink < dir_sync);
    // In durable mode sync() has nothing left to do.
    assert_eq!(
        between(&calls, "sync")
            .iter()
            .filter(|c| c.is_sync())
            .count(),
        0
    );
}

#[test]
fn fast_writes_never_sync_until_sync_is_called() {
    let Some((_dir, store, keys, calls)) = traced_writes(false) else {
        return;
    };
    for phase in ["set", "batch", "update", "remove"] {
        let syncs: Vec<_> = between(&calls, phase)
            .iter()
            .filter(|c| c.is_sync())
            .collect();
        assert!(syncs.is_empty(), "{phase} in fast mode synced: {syncs:#?}");
    }
    // sync() syncs every file written (alpha was removed) and every folder touched.
    let sync = between(&calls, "sync");
    for k in &keys {
        let entry = store.path_of(k).display().to_string();
        position(sync, "sync of an entry", |c| {
            c.is_sync() && c.fd_path() == Some(entry.as_str())
        });
    }
    let mut folders: BTreeSet<String> = keys.iter().map(|k| parent_of(&store.path_of(k))).collect();
    folders.insert(parent_of(&store.path_of("alpha")));
    for dir in &folders {
        position(sync, "sync of a folder", |c| {
            c.is_sync() && c.fd_path() == Some(dir.as_str())
        });
    }
}

/// Child: creates a store (durable) at DIRKV_STORE, or replaces it with another key type.
#[test]
#[ignore = "child process: run by its parent test"]
fn child_traced_open() {
    common::child_entry();
    let durability = if env("DIRKV_DURABLE") == "1" {
        Durability::Durable
    } else {
        Durability::Fast
    };
    if env("DIRKV_MODE") == "replace" {
        Store::<u64, u32>::options()
            .durability(durability)
            .open(env("DIRKV_STORE"), Exists::Replace)
            .unwrap();
    } else {
        let store = Store::<String, u32>::options()
            .durability(durability)
            .open(env("DIRKV_STORE"), Exists::OpenOrCreate)
            .unwrap();
        // The first write makes the writer's marker durable before its first temp file.
        store.set("first", &1).unwrap();
    }
    println!("CHILD-OK");
}

/// Checks that every folder in `folders` is synced before the manifest is renamed into
/// place; returns the rename's index.
fn synced_before_manifest(calls: &[Call], root: &Path, folders: &[PathBuf]) -> usize {
    let manifest = root.join("DIRKV").display().to_string();
    let rename = position(calls, "rename of the manifest", |c| {
        c.is_rename() && c.strings().last() == Some(&manifest)
    });
    for dir in folders {
        let d = dir.display().to_string();
        let synced = calls[..rename]
            .iter()
            .any(|c| c.is_sync() && c.fd_path() == Some(d.as_str()));
        assert!(
            synced,
            "{d} is not synced before the manifest names the store"
        );
    }
    rename
}

#[test]
fn durable_creation_syncs_every_folder_before_the_manifest() {
    if !strace_works() {
        return;
    }
    let (dir, path) = store_dir();
    let calls = trace_child(
        common::child_test!(child_traced_open).envs([
            ("DIRKV_STORE", path.display().to_string()),
            ("DIRKV_DURABLE", "1".into()),
        ]),
        &dir.path().join("strace.log"),
    );
    let mut folders: Vec<PathBuf> = (0..=255u8)
        .map(|i| path.join(common::layout::shard_name(i)))
        .collect();
    folders.push(path.join("tmp"));
    let rename = synced_before_manifest(&calls, &path, &folders);
    // The manifest's own data is synced before its rename, and the root folder (which
    // holds the manifest's name) and its parent (which holds the root's) after it.
    let root = path.display().to_string();
    let parent = dir.path().display().to_string();
    let manifest_temp = calls[rename].strings()[0].to_owned();
    assert!(
        calls[..rename]
            .iter()
            .any(|c| c.is_sync() && c.fd_path() == Some(manifest_temp.as_str()))
    );
    for d in [&root, &parent] {
        assert!(
            calls[rename..]
                .iter()
                .any(|c| c.is_sync() && c.fd_path() == Some(d.as_str())),
            "{d} synced after the manifest's rename"
        );
    }
    // The writer's marker in tmp/ is durable (file, then folder) before any temp file of
    // this writer can exist, so that after a power cut the next open can tell its temps.
    // The first write does it (an open that only reads pays no fsync).
    let tmp = path.join("tmp").display().to_string();
    let marker = position(&calls[rename..], "sync of the writer's marker", |c| {
        c.is_sync()
            && c.fd_path()
                .is_some_and(|p| p.starts_with(&format!("{tmp}/w-")) && p.ends_with(".lock"))
    }) + rename;
    let first_temp = position(&calls, "creation of the first temp file", |c| {
        c.name.starts_with("open") && c.strings().iter().any(|p| p.contains("/.tmp-"))
    });
    let tmp_synced = marker
        + calls[marker..]
            .iter()
            .position(|c| c.is_sync() && c.fd_path() == Some(tmp.as_str()))
            .expect("tmp/ synced after the marker");
    assert!(
        tmp_synced < first_temp,
        "marker and tmp/ synced before the first temp file"
    );
}
#[test]
fn replace_with_a_new_manifest_makes_the_removals_durable_first() {
    if !strace_works() {
        return;
    }
    for durable in [true, false] {
        eprintln!("Replace with durable = {durable}");
        let (dir, path) = store_dir();
        let store: Store<String, u32> = Store::open(&path, Exists::OpenOrCreate).unwrap();
        let keys: Vec<String> = (0..50).map(|i| format!("k{i}")).collect();
        store
            .set_many(keys.iter().map(|k| (k.as_str(), &1)))
            .unwrap();
        drop(store);
        let calls = trace_child(
            common::child_test!(child_traced_open).envs([
                ("DIRKV_STORE", path.display().to_string()),
                ("DIRKV_MODE", "replace".into()),
                ("DIRKV_DURABLE", if durable { "1" } else { "0" }.into()),
            ]),
            &dir.path().join("strace.log"),
        );
        // Old entries must not come back under the new manifest after a power cut: every
        // folder an entry was removed from is synced before the new manifest's rename.
        let folders: Vec<PathBuf> = (0..=255u8)
            .map(|i| path.join(common::layout::shard_name(i)))
            .collect();
        synced_before_manifest(&calls, &path, &folders);
    }
}

// ---------------------------------------------------------------------------------------
// Power cut on a loop-mounted ext4 image

/// Why the power-cut test cannot run here, if it cannot.
fn power_cut_unavailable() -> Option<String> {
    if !common::is_root() {
        return Some("not running as root (loop devices and mount need it)".into());
    }
    for tool in ["mkfs.ext4", "e2fsck", "losetup", "mount", "umount"] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false);
        if !found {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

/// Operations a write-back writer makes between two `sync`s.
const WRITE_BACK_SYNC_EVERY: u64 = 5;

/// Child: writes keys k0..k31 in durable mode (set, set_many, remove), printing `ACK n`
/// after operation `n` returned, until it is stopped and killed. With
/// `DIRKV_WRITE_BACK=1` the store is in write-back mode (8 entries of RAM, so evictions
/// write too) and `ACK n` follows the `sync` made after every
/// [`WRITE_BACK_SYNC_EVERY`] operations.
#[test]
#[ignore = "child process: run by its parent test"]
fn child_power_writer() {
    common::child_entry();
    use std::io::Write;
    let write_back = std::env::var("DIRKV_WRITE_BACK").is_ok_and(|v| v == "1");
    let mut options = Store::options();
    if write_back {
        options = options.write_back(8, 1 << 20);
    }
    let store: Stamps = options
        .open(env("DIRKV_STORE"), Exists::OpenOrCreate)
        .unwrap();
    for n in 0.. {
        match power_op(n) {
            PowerOp::Set(k) => store.set(&k, &Stamped::new(&k, 0, n)).unwrap(),
            PowerOp::SetMany(keys) => {
                let values: Vec<Stamped> = keys.iter().map(|k| Stamped::new(k, 0, n)).collect();
                store
                    .set_many(keys.iter().map(String::as_str).zip(values.iter()))
                    .unwrap();
            }
            PowerOp::Remove(k) => {
                store.remove(&k).unwrap();
            }
        }
        if write_back {
            if (n + 1) % WRITE_BACK_SYNC_EVERY != 0 {
                continue;
            }
            store.sync().unwrap();
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ACK {n}");
        let _ = out.flush();
    }
}

enum PowerOp {
    Set(String),
    SetMany(Vec<String>),
    Remove(String),
}

fn power_op(n: u64) -> PowerOp {
    let mut rng = Rng::new(n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5eed);
    rng.next();
    let k = |rng: &mut Rng| format!("k{}", rng.below(32));
    match rng.below(10) {
        0..=6 => PowerOp::Set(k(&mut rng)),
        7..=8 => {
            let mut keys = vec![k(&mut rng), k(&mut rng), k(&mut rng)];
            keys.sort();
            keys.dedup();
            PowerOp::SetMany(keys)
        }
        _ => PowerOp::Remove(k(&mut rng)),
    }
}

/// What each key holds after operations `0..n` (`None`: absent; `Some(seq)`).
fn power_model(n: u64) -> BTreeMap<String, Option<u64>> {
    let mut m: BTreeMap<String, Option<u64>> = (0..32).map(|i| (format!("k{i}"), None)).collect();
    for i in 0..n {
        match power_op(i) {
            PowerOp::Set(k) => {
                m.insert(k, Some(i));
            }
            PowerOp::SetMany(keys) => {
                for k in keys {
                    m.insert(k, Some(i));
                }
            }
            PowerOp::Remove(k) => {
                m.insert(k, None);
            }
        }
    }
    m
}

/// Waits until process `pid` is stopped (state `T` in /proc).
fn wait_stopped(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(") ").and_then(|(_, r)| r.chars().next());
        if matches!(state, Some('T' | 't')) {
            return;
        }
        assert!(Instant::now() < deadline, "process {pid} did not stop");
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[derive(Default, Debug)]
struct CutTally {
    cuts: u64,
    acked_ops: u64,
    keys_checked: u64,
    in_flight_op_landed: u64,
    fsck_repairs: u64,
    alias_temps: u64,
    /// Keys found absent after a cut without a journal while an overwrite of them was in
    /// flight (see docs/guarantees.md: the freed old inode reached the disk before the
    /// folder block naming the new one, and e2fsck removed the name).
    lost_in_flight_overwrites: u64,
}

/// One simulated power cut per round: a durable writer runs on a loop-mounted ext4 image,
/// is frozen with SIGSTOP, and the image file is copied at that instant. The copy holds
/// exactly what the file system had sent to its block device by then (the loop device
/// writes into the image file's page cache, which a read of the file sees); dirty pages
/// and buffers still in the kernel are lost, as in a power cut. The copy is checked with
/// `e2fsck -fy` (as a boot would), mounted, and must hold every acknowledged write.
///
/// With `write_back`, the writer is in write-back mode and acknowledges its `sync`s: every
/// key must hold what it held at the last acknowledged sync, or a value of an operation
/// made after it (written early by an eviction or the next sync), never anything else.
fn power_cut(journal: bool, write_back: bool, rounds: u64, rng: &mut Rng, tally: &mut CutTally) {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("ext4.img");
    fs::File::create(&image)
        .and_then(|f| f.set_len(64 << 20))
        .unwrap();
    let mut mkfs = Command::new("mkfs.ext4");
    mkfs.args([
        "-q",
        "-F",
        "-b",
        "4096",
        "-E",
        "lazy_itable_init=0,lazy_journal_init=0,nodiscard",
    ]);
    if !journal {
        mkfs.args(["-O", "^has_journal"]);
    }
    run(mkfs.arg(&image)).unwrap();
    let dev = match LoopDev::attach(&image) {
        Ok(dev) => dev,
        Err(e) => {
            eprintln!("SKIPPED power cut: no loop device ({e})");
            return;
        }
    };
    let live = Mounted::mount("ext4", &dev.0, &dir.path().join("live")).unwrap();
    for round in 0..rounds {
        let store = live.0.join(format!("store-{round}"));
        let mut child = common::child_test!(child_power_writer)
            .envs([
                ("DIRKV_STORE", store.display().to_string()),
                ("DIRKV_WRITE_BACK", u8::from(write_back).to_string()),
            ])
            .stdout(Stdio::piped())
            .spawn();
        let lines = Lines::collect(&mut child.0);
        // Cut at a random moment after the first acknowledged write.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !lines.snapshot().iter().any(|l| l.contains("ACK ")) {
            assert!(
                Instant::now() < deadline,
                "the writer never acknowledged a write"
            );
            assert!(
                child.0.try_wait().unwrap().is_none(),
                "the writer died: {:?}",
                lines.snapshot()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_micros(rng.below(300_000)));
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "the writer died: {:?}",
            lines.snapshot()
        );
        // The cut: freeze the writer, then copy the image as it is on the "disk".
        common::signal(child.0.id(), "STOP");
        wait_stopped(child.0.id());
        let copy = dir.path().join("cut.img");
        fs::copy(&image, &copy).unwrap();
        // Acknowledgements printed before the freeze are in the pipe; give the reader a
        // moment to take them in. Missing one only weakens the check.
        std::thread::sleep(Duration::from_millis(50));
        let acked = lines
            .snapshot()
            .iter()
            .filter_map(|l| common::tagged(l, "ACK ").and_then(|n| n.trim().parse::<u64>().ok()))
            .max();
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        drop(lines);
        let Some(last) = acked else {
            eprintln!("power cut round {round}: no write acknowledged before the cut");
            continue;
        };
        tally.cuts += 1;
        tally.acked_ops += last + 1;
        // "Reboot": check the file system as a boot would, then mount it.
        let cut = LoopDev::attach(&copy).unwrap();
        let fsck = Command::new("e2fsck")
            .args(["-f", "-y", &cut.0])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let code = fsck.status.code().unwrap_or(99);
        assert!(
            code < 4,
            "e2fsck left errors ({code}): {}",
            String::from_utf8_lossy(&fsck.stdout)
        );
        tally.fsck_repairs += u64::from(code != 0);
        let mounted = Mounted::mount("ext4", &cut.0, &dir.path().join("cut")).unwrap();
        let store_path = mounted.0.join(format!("store-{round}"));
        let what = format!(
            "{} round {round}, {} acknowledged ops, e2fsck exit {code}",
            if journal {
                "ext4"
            } else {
                "ext4 without journal"
            },
            last + 1
        );
        let what = if write_back {
            format!("write-back, {what}")
        } else {
            what
        };
        let store: Stamps = Store::open(&store_path, Exists::Update)
            .unwrap_or_else(|e| panic!("{what}: the store does not open after the cut: {e}"));
        // What may have landed after the acknowledged state: the next operation (the one
        // in flight), or in write-back mode any up to the sync after next.
        let window = if write_back {
            2 * WRITE_BACK_SYNC_EVERY
        } else {
            1
        };
        let acked_state = power_model(last + 1);
        let later: Vec<_> = (1..=window).map(|j| power_model(last + 1 + j)).collect();
        let mut landed = false;
        for (k, want) in &acked_state {
            let found = store
                .get(k)
                .unwrap_or_else(|e| panic!("{what}: {k} is damaged: {e}"));
            if let Some(v) = &found {
                v.check(k).unwrap_or_else(|e| panic!("{what}: {e}"));
            }
            let found = found.map(|v| v.seq);
            let overwrite_in_flight = later.iter().any(|m| m[k] != *want);
            if !journal && found.is_none() && want.is_some() && overwrite_in_flight {
                tally.lost_in_flight_overwrites += 1;
                eprintln!("{what}: {k} absent, its overwrite was in flight (no journal)");
                continue;
            }
            assert!(
                found == *want || later.iter().any(|m| m[k] == found),
                "{what}: {k} holds {found:?}; acknowledged {want:?}, later {:?}",
                later.iter().map(|m| m[k]).collect::<Vec<_>>()
            );
            landed |= found != *want;
            tally.keys_checked += 1;
        }
        tally.in_flight_op_landed += u64::from(landed);
        for item in store.iter() {
            let (k, v) = item.unwrap_or_else(|e| panic!("{what}: {e}"));
            v.check(&k).unwrap();
        }
        // The open swept the frozen writer's temp files (its marker is unlocked now),
        // except a temp name that is a second link of a live entry (left on purpose).
        for temp in common::temp_files(&store_path) {
            use std::os::unix::fs::MetadataExt;
            let t = fs::metadata(store_path.join(&temp)).unwrap();
            let alias = fs::read_dir(store_path.join(temp.parent().unwrap()))
                .unwrap()
                .map(|e| e.unwrap())
                .any(|e| {
                    e.file_name().to_string_lossy().ends_with(".dkv")
                        && e.metadata().is_ok_and(|m| m.ino() == t.ino())
                });
            let markers: Vec<_> = fs::read_dir(store_path.join("tmp"))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert!(
                alias,
                "{what}: temp file {} left after the open; tmp/ holds {markers:?}",
                temp.display()
            );
            tally.alias_temps += 1;
        }
        drop(store);
        drop(mounted);
        drop(cut);
        fs::remove_file(&copy).unwrap();
    }
    drop(live);
    drop(dev);
}

/// The power cuts of [`power_cut`], with and without a journal, each reported with its
/// tally and seed.
fn power_cuts(write_back: bool) {
    if let Some(why) = power_cut_unavailable() {
        eprintln!("SKIPPED power cut: {why}");
        return;
    }
    let seed = Rng::seed_from_env();
    let mut rng = Rng::new(seed);
    let rounds = if long_run() { 25 } else { 2 };
    for journal in [true, false] {
        let mut tally = CutTally::default();
        power_cut(journal, write_back, rounds, &mut rng, &mut tally);
        let mode = if write_back { "write-back " } else { "" };
        eprintln!("{mode}power cut, ext4 journal={journal}: {tally:?}, DIRKV_SEED={seed}");
    }
}

#[test]
fn acknowledged_writes_survive_a_power_cut_on_ext4() {
    power_cuts(false);
}

/// Write-back mode (`Options::write_back`) through the same power cuts: what a `sync`
/// acknowledged survives, and what was dirty is lost whole (each key holds an older or a
/// newer complete value, never a damaged one).
#[test]
fn write_back_syncs_survive_a_power_cut_on_ext4() {
    power_cuts(true);
}

/// Child: restores missing shard folders of the store at DIRKV_STORE (durable RawStore).
#[test]
#[ignore = "child process: run by its parent test"]
fn child_traced_restore() {
    common::child_entry();
    let raw = dirkv::RawStore::open(env("DIRKV_STORE"), dirkv::Access::ReadWrite).unwrap();
    assert_eq!(raw.restore_folders().unwrap().len(), 2);
    println!("CHILD-OK");
}

#[test]
fn restored_shard_folders_are_synced_before_the_store_folder() {
    if !strace_works() {
        return;
    }
    let (dir, path) = store_dir();
    drop(Store::<String, u32>::open(&path, Exists::OpenOrCreate).unwrap());
    for name in ["42", "43"] {
        fs::remove_dir(path.join(name)).unwrap();
    }
    let calls = trace_child(
        common::child_test!(child_traced_restore)
            .envs([("DIRKV_STORE", path.display().to_string())]),
        &dir.path().join("strace.log"),
    );
    let root = path.display().to_string();
    let root_sync = position(&calls, "sync of the store folder", |c| {
        c.is_sync() && c.fd_path() == Some(root.as_str())
    });
    for name in ["42", "43"] {
        let d = path.join(name).display().to_string();
        let synced = calls[..root_sync]
            .iter()
            .any(|c| c.is_sync() && c.fd_path() == Some(d.as_str()));
        assert!(synced, "{d} is made but not synced before the store folder");
    }
}
