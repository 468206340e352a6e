//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde::{Deserialize, Serialize};

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

/// Runs the test binary itself as a child that executes the test `name` with `env` set;
/// the child test does its work only when `DIRKV_CHILD` is set.
pub fn spawn_child(name: &str, env: &[(&str, String)], stdout: Stdio) -> Child {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("DIRKV_CHILD", "1")
        .stdout(stdout)
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn child test process")
}

/// Kills a child when dropped, so a failing test leaves no process behind.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn is_child() -> bool {
    std::env::var_os("DIRKV_CHILD").is_some()
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
