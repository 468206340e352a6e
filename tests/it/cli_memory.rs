//! `dirkv get` and `export` take memory in proportion to a value, whatever it holds: each
//! run is a child under an address-space limit (`ulimit -v`) of what the binary needs to
//! start plus a few times the value's size, with a deadline.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use dirkv::format::entry::{self, FLAG_COMPRESSED, Meta};

/// Room over what the binary maps to start ([`start_kib`]), for what it maps to read a
/// store (buffers, the folder's handles), with some to spare.
const ROOM_KIB: u64 = 12 * 1024;

/// How long one run may take (a debug build writes about a million items a second).
const DEADLINE: Duration = Duration::from_secs(180);

/// Items in the test values: big enough that a tree of them (about 100 bytes an item)
/// cannot fit the limit, small enough for a debug build.
const ITEMS: u32 = 8 << 20;

/// Writes an entry file for `key` holding `value` (compressed with LZ4 when `compress`),
/// as the store would: by hand, because the store's own write checks every item of the
/// value, which takes a debug build longer than this test should.
fn plant(store: &Path, key: &str, value: &[u8], compress: bool) {
    let raw = dirkv::RawStore::open(store, dirkv::Access::ReadOnly).unwrap();
    let stored = if compress {
        lz4_flex::block::compress_prepend_size(value)
    } else {
        value.to_vec()
    };
    let mut file = Vec::new();
    entry::begin(&mut file, key.as_bytes());
    file.extend_from_slice(&stored);
    let meta = Meta {
        flags: if compress { FLAG_COMPRESSED } else { 0 },
        created_ms: 1,
        modified_ms: 1,
        expires_ms: 0,
    };
    entry::finish(&mut file, key.len(), &meta);
    std::fs::write(raw.path_of(key.as_bytes()), &file).unwrap();
    // The store reads it back as the value.
    let got = raw.get(key.as_bytes()).unwrap().unwrap();
    assert_eq!(got.value.as_deref().map(<[u8]>::len), Some(value.len()));
}

/// A MessagePack array of `items` (array 32 header, then the items).
fn array_of(n: u32, item: impl Fn(u32) -> u8) -> Vec<u8> {
    let mut out = vec![0xdd];
    out.extend_from_slice(&n.to_be_bytes());
    out.extend((0..n).map(item));
    out
}

/// What a limited run printed: its length, first 64 and last 256 bytes.
struct Limited {
    code: Option<i32>,
    len: u64,
    head: Vec<u8>,
    tail: Vec<u8>,
    stderr: String,
}

/// Runs `dirkv ARGS` under `ulimit -v limit_kib`, reading its output as it comes.
fn run_limited(args: &[&str], limit_kib: u64) -> Limited {
    let mut script = format!("ulimit -v {limit_kib} && exec \"$0\"");
    for i in 1..=args.len() {
        script.push_str(&format!(" \"${i}\""));
    }
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .arg(crate::cli_support::exe())
        .args(args)
        .env_remove("DIRKV_KEY")
        .env_remove("DIRKV_PASSPHRASE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let reader = std::thread::spawn(move || {
        let (mut len, mut head, mut tail) = (0u64, Vec::new(), Vec::new());
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            len += n as u64;
            if head.len() < 64 {
                head.extend_from_slice(&buf[..n.min(64 - head.len())]);
            }
            tail.extend_from_slice(&buf[..n]);
            let drop = tail.len().saturating_sub(256);
            tail.drain(..drop);
        }
        (len, head, tail)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > DEADLINE {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("dirkv {args:?} took longer than {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (len, head, tail) = reader.join().unwrap();
    Limited {
        code: status.code(),
        len,
        head,
        tail,
        stderr: err_reader.join().unwrap(),
    }
}

/// What the binary and its libraries map before they read anything, measured once: the
/// least `ulimit -v` (to 1 MiB) under which `dirkv --version` runs. About 12 MB for a debug
/// build with `cli` alone; about 30 MB with `object-store`, whose HTTP and TLS stack is
/// linked in (and mapped) even when no URL is used.
fn start_kib() -> u64 {
    static START: OnceLock<u64> = OnceLock::new();
    *START.get_or_init(|| {
        let starts = |kib: u64| {
            Command::new("sh")
                .arg("-c")
                .arg(format!("ulimit -v {kib} && exec \"$0\" --version"))
                .arg(crate::cli_support::exe())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let (mut fails, mut runs) = (1024u64, 1024 * 1024);
        assert!(
            starts(runs),
            "dirkv --version does not run under a 1 GiB limit"
        );
        while runs - fails > 1024 {
            let mid = fails + (runs - fails) / 2;
            if starts(mid) {
                runs = mid;
            } else {
                fails = mid;
            }
        }
        runs
    })
}

fn limit_for(value_len: usize) -> u64 {
    start_kib() + ROOM_KIB + 3 * value_len as u64 / 1024
}

#[test]
fn get_and_export_of_a_large_array_stay_within_three_times_its_size() {
    // A Vec<u8> as rmp-serde writes it: an array of small integers, one byte each.
    let (_dir, path) = crate::cli_support::store_dir();
    dirkv::RawStore::create(&path, "utf8", "msgpack").unwrap();
    let value = array_of(ITEMS, |i| (i % 128) as u8);
    plant(&path, "big", &value, false);
    let p = path.to_str().unwrap();
    let digits: u64 = (0..ITEMS).map(|i| (i % 128).to_string().len() as u64).sum();
    let json_len = 2 + digits + u64::from(ITEMS) - 1;

    let run = run_limited(&["get", p, "big"], limit_for(value.len()));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.len, json_len + 1);
    assert!(run.head.starts_with(b"[0,1,2,3,"), "{:?}", run.head);
    assert!(run.tail.ends_with(b",127]\n"), "{:?}", run.tail);

    let run = run_limited(&["export", p], limit_for(value.len()));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.head.starts_with(b"{\"key\":\"big\",\"value\":[0,1,"));
    assert!(
        run.tail
            .ends_with(b",127],\"created\":\"1970-01-01T00:00:00.001Z\",\"modified\":\"1970-01-01T00:00:00.001Z\"}\n"),
        "{:?}",
        String::from_utf8_lossy(&run.tail)
    );
}

#[test]
fn a_compressed_array_of_nils_does_not_exhaust_memory() {
    // A few dozen KB on disk that decompress to millions of nils: a tree of them took
    // gigabytes (a 1 MB one asked for 10 GiB and aborted).
    let (_dir, path) = crate::cli_support::store_dir();
    dirkv::RawStore::create(&path, "utf8", "msgpack").unwrap();
    let value = array_of(ITEMS, |_| 0xc0);
    plant(&path, "bomb", &value, true);
    let file_len = std::fs::metadata(
        dirkv::RawStore::open(&path, dirkv::Access::ReadOnly)
            .unwrap()
            .path_of(b"bomb"),
    )
    .unwrap()
    .len();
    assert!(file_len < 64 * 1024, "{file_len} bytes on disk");
    let p = path.to_str().unwrap();
    let json_len = 2 + 5 * u64::from(ITEMS) - 1;

    let run = run_limited(&["get", p, "bomb"], limit_for(value.len()));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.len, json_len + 1);
    assert!(run.head.starts_with(b"[null,null,"));
    assert!(run.tail.ends_with(b",null]\n"));
    let run = run_limited(&["export", p], limit_for(value.len()));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.head.starts_with(b"{\"key\":\"bomb\",\"value\":[null,"));

    // One that claims more nils than its bytes can hold is damage, refused at once.
    let mut lie = value[..5 + 1000].to_vec();
    lie[1..5].copy_from_slice(&u32::MAX.to_be_bytes());
    plant(&path, "liar", &lie, true);
    let run = run_limited(&["get", p, "liar"], limit_for(lie.len()));
    assert_eq!(run.code, Some(4), "{}", run.stderr);
    assert!(
        run.stderr.contains("claims 4294967295 items"),
        "{}",
        run.stderr
    );
    assert_eq!(run.len, 0);
}
