//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde::{Deserialize, Serialize};

/// The S3 test server (moto), clients for it, and `block` for direct object access.
#[cfg(feature = "object-store")]
pub mod moto;

/// The crate's internal modules that tests reach into (the entry file format, the store
/// layout): tests name them through here, so that when they move only this line changes.
pub use dirkv::format::entry;
/// The names of a store's files, and its manifest.
pub mod layout {
    pub use dirkv::format::manifest::Manifest;
    pub use dirkv::format::names::*;
}

/// A value type with a few fields, like an application's.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Page {
    pub title: String,
    pub words: u32,
    pub body: Vec<u8>,
}

pub fn page(n: u32) -> Page {
    Page {
        title: format!("page {n}"),
        words: n,
        body: vec![n as u8; (n % 50) as usize],
    }
}

/// `len` pseudo-random, incompressible bytes from `seed` (xorshift64; `seed` must not be 0).
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A fresh temp dir and a store path inside it that does not exist yet.
pub fn store_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    (dir, path)
}

/// Every file under `root` (recursively), relative paths, sorted.
pub fn all_files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
        for item in std::fs::read_dir(dir).unwrap() {
            let item = item.unwrap();
            let t = item.file_type().unwrap();
            if t.is_dir() {
                walk(&item.path(), root, out);
            } else {
                out.push(item.path().strip_prefix(root).unwrap().to_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Temp files (`.tmp-*`) anywhere in the store.
pub fn temp_files(root: &Path) -> Vec<PathBuf> {
    all_files(root)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".tmp-"))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Child processes

/// Set in a child process started by [`ChildTest`]; its value is the child entry's name.
const CHILD_VAR: &str = "DIRKV_CHILD";

/// The longest a child run by [`ChildTest::output`] may take before it is killed.
const CHILD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// A child process: this test binary (`std::env::current_exe()`) running exactly one child
/// entry, with `--nocapture` and the environment variables given.
///
/// A child entry is a test marked `#[ignore = "child process: run by its parent test"]`
/// whose first line is [`child_entry()`], so that a normal run lists it as ignored instead
/// of passed. Make one with [`child_test!`], which names the entry by its path.
pub struct ChildTest {
    name: String,
    under: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    stdout: Option<Stdio>,
    stderr: Option<Stdio>,
}

/// A [`ChildTest`] for the child entry `$entry`, a function of the calling module:
/// `common::child_test!(child_writer)`. Checked at compile time, so the child always runs
/// a test that exists.
macro_rules! child_test {
    ($entry:ident) => {{
        let _: fn() = $entry;
        $crate::common::ChildTest::new(concat!(module_path!(), "::", stringify!($entry)))
    }};
}
pub(crate) use child_test;

impl ChildTest {
    /// The child entry at `path` (`it::crash::child_open`: the test binary's crate name,
    /// then the test's name). Use [`child_test!`].
    pub fn new(path: &str) -> Self {
        let name = path.split_once("::").map_or(path, |(_, test)| test);
        ChildTest {
            name: name.to_owned(),
            under: Vec::new(),
            env: Vec::new(),
            stdout: None,
            stderr: None,
        }
    }

    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((name.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn envs<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (k, v) in vars {
            self = self.env(k, v);
        }
        self
    }

    /// Runs the test binary under `program`: `program ARGS... <test binary> <its args>`
    /// (strace, setpriv, `sh -c '...; exec "$0" "$@"'`). The kill on drop reaches the
    /// test binary only if `program` execs it (setpriv, `exec` in sh); strace is killed
    /// alone and its tracee runs on to its end.
    pub fn under<S: AsRef<OsStr>>(
        mut self,
        program: impl AsRef<OsStr>,
        args: impl IntoIterator<Item = S>,
    ) -> Self {
        self.under = std::iter::once(program.as_ref().to_owned())
            .chain(args.into_iter().map(|a| a.as_ref().to_owned()))
            .collect();
        self
    }

    /// Standard output of the child (inherited unless set).
    pub fn stdout(mut self, stdout: Stdio) -> Self {
        self.stdout = Some(stdout);
        self
    }

    /// Standard error of the child (inherited by `spawn`, captured by `output`, unless set).
    pub fn stderr(mut self, stderr: Stdio) -> Self {
        self.stderr = Some(stderr);
        self
    }

    /// Starts the child; it is killed and waited for when the returned handle is dropped.
    pub fn spawn(self) -> KillOnDrop {
        let exe = std::env::current_exe().expect("test binary path");
        let mut cmd = match self.under.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(exe);
                cmd
            }
            None => Command::new(exe),
        };
        // `--include-ignored`: the entry runs whether it is marked ignored or not.
        cmd.arg(&self.name)
            .args([
                "--exact",
                "--include-ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_VAR, &self.name)
            .envs(self.env)
            .stdin(Stdio::null())
            .stdout(self.stdout.unwrap_or_else(Stdio::inherit))
            .stderr(self.stderr.unwrap_or_else(Stdio::inherit));
        KillOnDrop(cmd.spawn().unwrap_or_else(|e| {
            panic!("spawn child process {}: {e}", self.name);
        }))
    }

    /// Runs the child to its end (killed after 300 s), with its standard output and
    /// (unless set) standard error captured.
    pub fn output(mut self) -> std::process::Output {
        use std::io::Read;
        self.stdout = Some(Stdio::piped());
        self.stderr.get_or_insert_with(Stdio::piped);
        let mut child = self.spawn();
        let read = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    pipe.read_to_end(&mut bytes)
                        .expect("read the child's output");
                }
                bytes
            })
        };
        let stdout = read(child.0.stdout.take().map(|p| Box::new(p) as _));
        let stderr = read(child.0.stderr.take().map(|p| Box::new(p) as _));
        let status = wait_or_kill(&mut child.0, CHILD_TIMEOUT);
        std::process::Output {
            status,
            stdout: stdout.join().expect("stdout reader"),
            stderr: stderr.join().expect("stderr reader"),
        }
    }
}

/// Kills a child when dropped, so a failing test leaves no process behind.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether this process is a child started by [`ChildTest`].
pub fn is_child() -> bool {
    std::env::var_os(CHILD_VAR).is_some()
}

/// The first line of every child entry: panics unless this process is the child that a
/// parent test started for this very entry, so that a child entry run by hand (`--ignored`)
/// fails instead of passing without having done anything.
pub fn child_entry() {
    let Some(wanted) = std::env::var_os(CHILD_VAR) else {
        panic!(
            "a child entry does its work only in the child process that its parent test \
             starts (common::ChildTest); run the parent test instead"
        );
    };
    // libtest runs each test on a thread named after it.
    let me = std::thread::current().name().map(str::to_owned);
    if let Some(me) = me.filter(|n| n.contains("::")) {
        assert_eq!(
            wanted.to_string_lossy(),
            me,
            "the child process was started for another entry"
        );
    }
}

/// Recomputes the checksum of an entry file's bytes after a test changed them on purpose
/// (so that only deeper checks can catch the change).
pub fn fix_checksum(bytes: &mut [u8]) {
    let mut h = crc32fast::Hasher::new();
    h.update(&bytes[0..8]);
    h.update(&bytes[12..]);
    let sum = h.finalize();
    bytes[8..12].copy_from_slice(&sum.to_le_bytes());
}

/// A small deterministic random number generator (xorshift64*), so that a failing run can
/// be repeated from the seed it prints.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// A seed from the clock, or from `DIRKV_SEED` when set (to repeat a failing run).
    pub fn seed_from_env() -> u64 {
        match std::env::var("DIRKV_SEED") {
            Ok(s) => s.parse().expect("DIRKV_SEED is a number"),
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1),
        }
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// FNV-1a, 64 bits: the checksum a [`Stamped`] value carries of itself.
pub fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// A value that can tell whether it is whole and whose it is: it names its key, its writer
/// and its sequence number, its payload is derived from those, and it carries a checksum
/// of all of it. A torn value, a mix of two values, or another key's value fails
/// [`Stamped::check`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Stamped {
    pub key: String,
    pub writer: u32,
    pub seq: u64,
    pub payload: Vec<u8>,
    pub sum: u64,
}

impl Stamped {
    pub fn new(key: &str, writer: u32, seq: u64) -> Self {
        // Mostly small values, some larger than dirkv's first 16 KiB read.
        let len = if seq % 11 == 5 {
            20_000 + (seq as usize % 500)
        } else {
            50 + (seq as usize * 37 + writer as usize * 101) % 3000
        };
        let payload = noise(
            fnv(&[key.as_bytes(), &writer.to_le_bytes(), &seq.to_le_bytes()]),
            len,
        );
        let sum = Self::sum_of(key, writer, seq, &payload);
        Stamped {
            key: key.to_owned(),
            writer,
            seq,
            payload,
            sum,
        }
    }

    fn sum_of(key: &str, writer: u32, seq: u64, payload: &[u8]) -> u64 {
        fnv(&[
            key.as_bytes(),
            &writer.to_le_bytes(),
            &seq.to_le_bytes(),
            payload,
        ])
    }

    /// `Err` with a description unless this is a whole value written for `key`.
    pub fn check(&self, key: &str) -> Result<(), String> {
        if self.key != key {
            return Err(format!("{key} holds a value of key {}", self.key));
        }
        if self.sum != Self::sum_of(&self.key, self.writer, self.seq, &self.payload) {
            return Err(format!("{key}: checksum mismatch, torn value {self:?}"));
        }
        if *self != Stamped::new(key, self.writer, self.seq) {
            return Err(format!("{key}: payload is not the one written"));
        }
        Ok(())
    }
}

/// Waits for `child` to exit, at most `timeout`; kills it and panics when it does not.
pub fn wait_or_kill(child: &mut Child, timeout: std::time::Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child {} did not finish within {timeout:?}", child.id());
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Collects the lines a child prints, on a thread, so that the pipe never fills and the
/// lines printed so far can be read at any moment (`snapshot`) or at the end (`finish`).
pub struct Lines {
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Lines {
    pub fn collect(child: &mut Child) -> Self {
        use std::io::BufRead;
        let out = child.stdout.take().expect("child stdout is piped");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&lines);
        let thread = std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Lines {
            lines,
            thread: Some(thread),
        }
    }

    pub fn snapshot(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// All lines; call after the child has exited (its end of the pipe is closed).
    pub fn finish(mut self) -> Vec<String> {
        if let Some(t) = self.thread.take() {
            t.join().expect("line reader");
        }
        self.snapshot()
    }
}

/// The part of `line` after `tag` (the test harness may print "test x ... " before it).
pub fn tagged<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    line.split_once(tag).map(|(_, rest)| rest)
}

/// Whether a command can be run (`name --version` or `name -V` starts).
pub fn has_command(name: &str) -> bool {
    ["--version", "-V"].iter().any(|flag| {
        Command::new(name)
            .arg(flag)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    })
}

/// Whether this process runs as root (read from /proc, no libc).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Whether the long variants of the tests were asked for (`DIRKV_LONG=1`).
pub fn long_run() -> bool {
    std::env::var("DIRKV_LONG").is_ok_and(|v| v == "1")
}

/// Runs a command to completion; `Err` with its output when it fails to start or fails.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let shown = format!("{cmd:?}");
    match cmd.stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(out) => Err(format!(
            "{shown} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) => Err(format!("{shown} could not start: {e}")),
    }
}

/// Sends a signal with kill(1) (no libc in the tests).
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status();
}

/// Sets a file's modification time `age` into the past.
pub fn backdate(path: &Path, age: std::time::Duration) {
    let when = std::time::SystemTime::now() - age;
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(when))
        .unwrap_or_else(|e| panic!("backdate {}: {e}", path.display()));
}

/// Detaches a loop device when dropped.
pub struct LoopDev(pub String);

impl LoopDev {
    pub fn attach(image: &Path) -> Result<LoopDev, String> {
        let dev = run(Command::new("losetup")
            .args(["--find", "--show"])
            .arg(image))?;
        Ok(LoopDev(dev.trim().to_owned()))
    }
}

impl Drop for LoopDev {
    fn drop(&mut self) {
        for _ in 0..50 {
            if run(Command::new("losetup").args(["-d", &self.0])).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        eprintln!("WARNING: could not detach {}", self.0);
    }
}

/// Unmounts when dropped (lazily if the mount stays busy).
pub struct Mounted(pub PathBuf);

impl Mounted {
    /// Mounts `dev` (a device, or `tmpfs`) of type `fstype` on `dir`, with `-o options`
    /// when given.
    pub fn mount(fstype: &str, dev: &str, dir: &Path) -> Result<Mounted, String> {
        Self::mount_with(fstype, dev, dir, None)
    }

    pub fn mount_with(
        fstype: &str,
        dev: &str,
        dir: &Path,
        options: Option<&str>,
    ) -> Result<Mounted, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let mut cmd = Command::new("mount");
        cmd.args(["-t", fstype]);
        if let Some(o) = options {
            cmd.args(["-o", o]);
        }
        run(cmd.arg(dev).arg(dir))?;
        Ok(Mounted(dir.to_owned()))
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        for _ in 0..50 {
            if run(Command::new("umount").arg(&self.0)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = run(Command::new("umount").arg("-l").arg(&self.0));
    }
}
