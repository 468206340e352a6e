//! The Rust side of the Python package's cross-language tests
//! (`python/tests/test_interop.py`): typed Rust stores written here are read by Python, and
//! stores Python wrote are read here into Rust types and compared with what Python meant.
//!
//! ```sh
//! cargo run --example python_interop -- write DIR    # Rust writes DIR/pages, DIR/ints, …
//! cargo run --example python_interop -- read DIR     # Rust reads what Python wrote there
//! cargo run --example python_interop -- refuse STORE # a typed open of a pickle store fails
//! ```
//!
//! Exit status 0 when every value is as expected; 1 with a message otherwise.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use dirkv::{ErrorKind, Exists, Raw, SerdeKey, Store};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
enum Kind {
    Article,
    Index,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Meta {
    id: u64,
    score: i32,
}

/// A page, as both sides describe it: Python writes
/// `{"title": "Home", "words": 120, "tags": ["a", "b"], "ratio": 0.5, "parent": None,
/// "kind": "Article", "meta": {"id": 2**40, "score": -3}, "counts": {"x": 1}}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Page {
    title: String,
    words: u32,
    tags: Vec<String>,
    ratio: f64,
    parent: Option<String>,
    kind: Kind,
    meta: Meta,
    counts: BTreeMap<String, u32>,
}

fn home() -> Page {
    Page {
        title: "Home".into(),
        words: 120,
        tags: vec!["a".into(), "b".into()],
        ratio: 0.5,
        parent: None,
        kind: Kind::Article,
        meta: Meta {
            id: 1 << 40,
            score: -3,
        },
        counts: BTreeMap::from([("x".to_owned(), 1)]),
    }
}

fn about() -> Page {
    Page {
        title: "About ✓".into(),
        words: 0,
        tags: vec![],
        ratio: -1.25,
        parent: Some("home".into()),
        kind: Kind::Index,
        meta: Meta {
            id: u64::MAX,
            score: i32::MIN,
        },
        counts: BTreeMap::new(),
    }
}

type Points = Store<SerdeKey<(i32, String)>, String>;

fn write(dir: &Path) -> dirkv::Result<()> {
    let pages: Store<String, Page> = Store::open(dir.join("pages"), Exists::Error)?;
    pages.set("home", &home())?;
    pages.set("about", &about())?;
    let ints: Store<u64, i64> = Store::open(dir.join("ints"), Exists::Error)?;
    ints.set(&1, &-1)?;
    ints.set(&(1 << 40), &i64::MIN)?;
    let blobs: Store<Vec<u8>, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .open(dir.join("blobs"), Exists::Error)?;
    blobs.set(&vec![0u8, 255], &b"raw bytes".to_vec())?;
    let points: Points = Store::open(dir.join("points"), Exists::Error)?;
    points.set(&SerdeKey::new((1, "a".to_owned()))?, &"one-a".to_owned())?;
    let expiring: Store<String, String> = Store::open(dir.join("expiring"), Exists::Error)?;
    expiring.set_with_ttl("token", &"abc".to_owned(), Duration::from_secs(3600))?;
    Ok(())
}

fn check<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

fn read(dir: &Path) -> Result<(), String> {
    let e = |e: dirkv::Error| e.to_string();
    let pages: Store<String, Page> = Store::open(dir.join("pages"), Exists::Update).map_err(e)?;
    check("pages/home", pages.get("home").map_err(e)?, Some(home()))?;
    check("pages/about", pages.get("about").map_err(e)?, Some(about()))?;
    check("pages len", pages.len().map_err(e)?, 2)?;
    let ints: Store<u64, i64> = Store::open(dir.join("ints"), Exists::Update).map_err(e)?;
    check("ints/1", ints.get(&1).map_err(e)?, Some(-1))?;
    check(
        "ints/2^40",
        ints.get(&(1 << 40)).map_err(e)?,
        Some(i64::MIN),
    )?;
    let blobs: Store<Vec<u8>, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .open(dir.join("blobs"), Exists::Update)
        .map_err(e)?;
    check(
        "blobs/00ff",
        blobs.get(&[0u8, 255][..]).map_err(e)?,
        Some(b"raw bytes".to_vec()),
    )?;
    let points: Points = Store::open(dir.join("points"), Exists::Update).map_err(e)?;
    let key = SerdeKey::new((1, "a".to_owned())).map_err(e)?;
    check(
        "points/(1,a)",
        points.get(&key).map_err(e)?,
        Some("one-a".into()),
    )?;
    let expiring: Store<String, String> =
        Store::open(dir.join("expiring"), Exists::Update).map_err(e)?;
    let meta = expiring.metadata("token").map_err(e)?;
    check(
        "expiring/token has an expiry",
        meta.map(|m| m.expires.is_some()),
        Some(true),
    )?;
    Ok(())
}

fn refuse(store: &Path) -> Result<(), String> {
    match Store::<String, Page>::open(store, Exists::Update) {
        Err(err) if err.kind() == ErrorKind::IncompatibleFormat => {
            println!("refused: {err}");
            Ok(())
        }
        Err(err) => Err(format!("refused, but with another error: {err}")),
        Ok(_) => Err("a Store<String, Page> opened a pickle store".to_owned()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [cmd, dir] if cmd == "write" => write(Path::new(dir)).map_err(|e| e.to_string()),
        [cmd, dir] if cmd == "read" => read(Path::new(dir)),
        [cmd, store] if cmd == "refuse" => refuse(Path::new(store)),
        _ => Err("usage: python_interop write|read DIR, or refuse STORE".to_owned()),
    };
    match result {
        Ok(()) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("python_interop: {message}");
            ExitCode::FAILURE
        }
    }
}
