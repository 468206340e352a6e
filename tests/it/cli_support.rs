//! Helpers for the tests that run the real `dirkv` binary.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_dirkv"))
}

/// What a run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Asserts exit status 0 and returns stdout as text.
    pub fn ok(&self) -> String {
        assert_eq!(self.code, 0, "expected success: {self:?} / {}", self.out());
        self.out()
    }
}

fn finish(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `dirkv ARGS` with no standard input.
pub fn dirkv<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    dirkv_with_input(args, None)
}

/// Runs `dirkv ARGS` with `input` on standard input.
pub fn dirkv_with_input<I, S>(args: I, input: Option<&[u8]>) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    dirkv_env(args, &[], input)
}

/// The environment variables that give `dirkv` an encryption key; removed from every run
/// unless a test sets them.
pub const KEY_VARS: [&str; 2] = ["DIRKV_KEY", "DIRKV_PASSPHRASE"];

/// Runs `dirkv ARGS` with the variables `env` set (and no other encryption key variable)
/// and `input` on standard input.
pub fn dirkv_env<I, S>(args: I, env: &[(&str, &str)], input: Option<&[u8]>) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(exe());
    for name in KEY_VARS {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().copied());
    cmd.args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn dirkv");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input).expect("write stdin");
    }
    finish(child.wait_with_output().expect("wait for dirkv"))
}

/// Runs a shell script with `sh -c`, `dirkv` on the PATH, and `env` set.
pub fn sh(script: &str, env: &[(&str, &OsStr)]) -> Run {
    let bin_dir = exe().parent().expect("binary folder");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin_dir.to_owned()];
    paths.extend(std::env::split_paths(&path));
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .env("PATH", std::env::join_paths(paths).expect("PATH"))
        .stdin(Stdio::null());
    for name in KEY_VARS {
        cmd.env_remove(name);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    finish(cmd.output().expect("run sh"))
}

#[allow(unused_imports)]
pub use crate::common::{Page, page, store_dir};
