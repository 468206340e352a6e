//! The attacker: a process of its own (this test binary's `child_attacker` entry, as user
//! `nobody` when this is root) doing its moves in a loop, and the shell commands that
//! plant files as the attacker.

use super::*;
use common::Lines;

/// Whether planted files come from user `nobody` (root with setpriv) or from this user.
pub(super) fn attacker_is_nobody() -> bool {
    is_root() && common::has_command("setpriv")
}

/// A command run as the attacker: `nobody` when this is root, else this user.
fn attacker_cmd(program: &str) -> Command {
    if attacker_is_nobody() {
        let mut cmd = Command::new("setpriv");
        cmd.args(NOBODY).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// Runs `script` with `sh -c` as the attacker, `args` as `$1`, `$2`...; panics when it
/// fails.
pub(super) fn attack_sh(script: &str, args: &[&Path]) {
    let mut cmd = attacker_cmd("sh");
    cmd.arg("-c").arg(script).arg("attacker").args(args);
    common::run(&mut cmd).unwrap_or_else(|e| panic!("the attacker's script failed: {e}"));
}

/// Whether a racy attack can run (root, setpriv); prints why not.
pub(super) fn can_race(what: &str) -> bool {
    if !is_root() {
        eprintln!(
            "SKIPPED {what}: needs root (the victim) and user nobody (the attacker); not root"
        );
        return false;
    }
    if !common::has_command("setpriv") {
        eprintln!(
            "SKIPPED {what}: setpriv is not installed (needed to run the attacker as nobody)"
        );
        return false;
    }
    true
}

/// The attacker's process: this test binary's `child_attacker` entry as `nobody`.
pub(super) struct Attacker {
    child: common::KillOnDrop,
    lines: Lines,
}

/// One thing the attacker does over and over in the folder `dir`.
pub(super) enum Move<'a> {
    /// Swaps the names `a` and `b` (`renameat2(RENAME_EXCHANGE)`); when `b` is gone (the
    /// victim renamed it away), makes it again as a link to `target`.
    Exchange(&'a str, &'a str, &'a Path),
    /// Plants a link at `a` to `target`, then removes it.
    Toggle(&'a str, &'a Path),
    /// Makes the folder `a` (mode 0777) whenever it is missing.
    Mkdir(&'a str),
}

impl Attacker {
    /// Starts the attacker's loop in `dir`, for `time`; `None` (having said why) when user
    /// nobody cannot run the test binary.
    pub(super) fn start(
        what: &str,
        dir: &Path,
        moves: &[Move<'_>],
        time: Duration,
    ) -> Option<Attacker> {
        let spec: String = moves
            .iter()
            .map(|m| match m {
                Move::Exchange(a, b, t) => format!("exchange\t{a}\t{b}\t{}\n", t.display()),
                Move::Toggle(a, t) => format!("toggle\t{a}\t-\t{}\n", t.display()),
                Move::Mkdir(a) => format!("mkdir\t{a}\t-\t-\n"),
            })
            .collect();
        Self::spawn(
            what,
            common::child_test!(child_attacker)
                .env("DIRKV_ATTACK_DIR", dir)
                .env("DIRKV_ATTACK_MOVES", spec)
                .env("DIRKV_ATTACK_MS", time.as_millis().to_string()),
        )
    }

    pub(super) fn spawn(what: &str, child: common::ChildTest) -> Option<Attacker> {
        let child = if attacker_is_nobody() {
            child.under("setpriv", NOBODY)
        } else {
            child
        };
        let mut child = child.stdout(Stdio::piped()).spawn();
        let lines = Lines::collect(&mut child.0);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if lines
                .snapshot()
                .iter()
                .any(|l| l.contains("ATTACKER-READY"))
            {
                return Some(Attacker { child, lines });
            }
            if let Some(status) = child.0.try_wait().unwrap() {
                let out = lines.finish();
                if attacker_is_nobody() && !out.iter().any(|l| l.contains("running")) {
                    eprintln!(
                        "SKIPPED {what}: user nobody cannot run the test binary ({status}): {out:?}"
                    );
                    return None;
                }
                panic!("{what}: the attacker stopped at once ({status}): {out:?}");
            }
            assert!(
                Instant::now() < deadline,
                "{what}: the attacker did not start"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for the attacker's loop to end; returns how many of its moves worked.
    pub(super) fn finish(mut self) -> u64 {
        let status = common::wait_or_kill(&mut self.child.0, Duration::from_secs(120));
        let lines = self.lines.finish();
        assert!(status.success(), "the attacker failed: {lines:?}");
        lines
            .iter()
            .find_map(|l| common::tagged(l, "ATTACKER-DONE "))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no count from the attacker: {lines:?}"))
    }
}

/// Child side of [`Attacker`]: does its moves in a loop until its time is up (at most 10
/// million rounds), then prints how many worked.
#[test]
#[ignore = "child process: run by its parent test"]
fn child_attacker() {
    use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
    common::child_entry();
    let var = |name: &str| std::env::var(name).unwrap();
    let dir = rustix::fs::open(
        var("DIRKV_ATTACK_DIR").as_str(),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .unwrap();
    let moves: Vec<Vec<String>> = var("DIRKV_ATTACK_MOVES")
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect();
    let until = Instant::now() + Duration::from_millis(var("DIRKV_ATTACK_MS").parse().unwrap());
    println!("ATTACKER-READY");
    let (mut worked, mut rounds) = (0u64, 0u64);
    while rounds < 10_000_000 && (rounds % 16 != 0 || Instant::now() < until) {
        rounds += 1;
        for m in &moves {
            let (a, b, target) = (raw_name(&m[1]), raw_name(&m[2]), m[3].as_str());
            let (a, b) = (a.as_os_str(), b.as_os_str());
            let ok = match m[0].as_str() {
                "exchange" => {
                    match rustix::fs::renameat_with(&dir, a, &dir, b, RenameFlags::EXCHANGE) {
                        Ok(()) => true,
                        Err(_) => {
                            let gone =
                                rustix::fs::statat(&dir, b, AtFlags::SYMLINK_NOFOLLOW).is_err();
                            if gone {
                                let _ = rustix::fs::symlinkat(target, &dir, b);
                            }
                            false
                        }
                    }
                }
                "toggle" => {
                    let planted = rustix::fs::symlinkat(target, &dir, a).is_ok();
                    if planted {
                        let _ = rustix::fs::unlinkat(&dir, a, AtFlags::empty());
                    }
                    planted
                }
                "mkdir" => rustix::fs::mkdirat(&dir, a, Mode::from_bits_truncate(0o777)).is_ok(),
                other => panic!("unknown move {other}"),
            };
            worked += u64::from(ok);
        }
    }
    println!("ATTACKER-DONE {worked} moves in {rounds} rounds");
}

/// A name of a move, with `\\xNN` standing for the byte NN (names that are not UTF-8).
fn raw_name(name: &str) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStringExt;
    let (bytes, mut out) = (name.as_bytes(), Vec::new());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"\\x")
            && let Some(Ok(b)) = name.get(i + 2..i + 4).map(|h| u8::from_str_radix(h, 16))
        {
            out.push(b);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    std::ffi::OsString::from_vec(out)
}
