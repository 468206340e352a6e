//! The `dirkv` command against stores made by the library: one TempDir per test.

use crate::cli_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use cli_support::{Page, dirkv, dirkv_with_input, page, sh, store_dir};
use dirkv::{Durability, Exists, Raw, SerdeKey, Store};
use serde::{Deserialize, Serialize};

type Pages = Store<String, Page>;

#[test]
fn round_trip_set_get_ls_rm() {
    let (_dir, path) = store_dir();
    let store: Pages = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set("home", &page(3)).unwrap();
    store.set("about", &page(4)).unwrap();

    // get: the library's value as JSON, fields in declaration order.
    let out = dirkv(["get".as_ref(), path.as_os_str(), "home".as_ref()]).ok();
    assert_eq!(out, "{\"title\":\"page 3\",\"words\":3,\"body\":[3,3,3]}\n");
    let pretty = dirkv(["get", "--pretty", path.to_str().unwrap(), "home"]).ok();
    assert!(pretty.contains("\n  \"title\": \"page 3\",\n"), "{pretty}");

    // set: JSON in, a typed value the library reads back.
    let p = path.to_str().unwrap();
    dirkv([
        "set",
        p,
        "news",
        r#"{"title":"News","words":9,"body":[1,2]}"#,
    ])
    .ok();
    let want = Page {
        title: "News".into(),
        words: 9,
        body: vec![1, 2],
    };
    assert_eq!(store.get("news").unwrap(), Some(want.clone()));
    // From standard input, and a key that starts with `-`.
    let json = br#"{"title":"Dash","words":1,"body":[]}"#;
    dirkv_with_input(["set", p, "--", "-dash", "-"], Some(json)).ok();
    assert_eq!(
        store.get("-dash").unwrap().map(|v| v.title),
        Some("Dash".into())
    );

    // ls: every key, one per line.
    let mut keys: Vec<String> = dirkv(["ls", p]).ok().lines().map(str::to_owned).collect();
    keys.sort();
    assert_eq!(keys, ["-dash", "about", "home", "news"]);
    // ls -l: key, size, time, expiry, path, tab-separated; the path is the library's.
    let long = dirkv(["ls", "-l", p]).ok();
    let home_line = long.lines().find(|l| l.starts_with("home\t")).unwrap();
    let cols: Vec<&str> = home_line.split('\t').collect();
    assert_eq!(cols.len(), 5);
    let file = store.path_of("home");
    assert_eq!(cols[1], std::fs::metadata(&file).unwrap().len().to_string());
    assert!(cols[2].ends_with('Z') && cols[2].len() == 24, "{}", cols[2]);
    assert_eq!(cols[3], "never");
    assert_eq!(cols[4], file.to_str().unwrap());
    // ls --json: one object per line.
    let json_lines = dirkv(["ls", "--json", "-l", p]).ok();
    for line in json_lines.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["key"].is_string() && v["size"].is_u64() && v["path"].is_string());
    }

    // rm: removes through the library's path; a missing key is status 1 unless -f.
    dirkv(["rm", p, "home", "about"]).ok();
    assert_eq!(store.get("home").unwrap(), None);
    assert_eq!(store.len().unwrap(), 2);
    let missing = dirkv(["rm", p, "home"]);
    assert_eq!(missing.code, 1);
    assert_eq!(missing.stderr, "dirkv: no such key: home\n");
    dirkv(["rm", "-f", p, "home"]).ok();
}

#[test]
fn integer_keys_are_decimal_text() {
    let (_dir, path) = store_dir();
    let store: Store<u64, String> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set(&42, &"forty-two".to_string()).unwrap();
    let p = path.to_str().unwrap();
    assert_eq!(dirkv(["get", p, "42"]).ok(), "\"forty-two\"\n");
    assert_eq!(dirkv(["ls", p]).ok(), "42\n");
    assert_eq!(dirkv(["ls", "--json", p]).ok(), "{\"key\":42}\n");
    dirkv(["set", p, "7", "\"seven\""]).ok();
    assert_eq!(store.get(&7).unwrap().as_deref(), Some("seven"));
    // Not canonical, out of range, not a number: usage errors with a hint.
    let zero = dirkv(["get", p, "007"]);
    assert_eq!(zero.code, 2);
    assert!(zero.stderr.contains("did you mean `7`"), "{}", zero.stderr);
    assert_eq!(dirkv(["get", p, "-1"]).code, 2);
    assert_eq!(dirkv(["get", p, "18446744073709551616"]).code, 2);
    assert_eq!(dirkv(["set", p, "x", "1"]).code, 2);
    assert_eq!(dirkv(["get", p, "18446744073709551615"]).code, 1);

    // Signed keys: a negative key is not an option.
    let (_dir2, path2) = store_dir();
    let signed: Store<i32, u8> = Store::open(&path2, Exists::OpenOrCreate).unwrap();
    signed.set(&-5, &1).unwrap();
    assert_eq!(dirkv(["get", path2.to_str().unwrap(), "-5"]).ok(), "1\n");
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Point {
    y: i32,
    x: i64,
    tag: String,
}

#[test]
fn serde_keys_are_given_as_json() {
    let (_dir, path) = store_dir();
    let store: Store<SerdeKey<Point>, u32> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    let k = SerdeKey::new(Point {
        y: 200,
        x: -70_000,
        tag: "a".into(),
    })
    .unwrap();
    store.set(&k, &5).unwrap();
    let p = path.to_str().unwrap();
    let key = r#"{"y":200,"x":-70000,"tag":"a"}"#;
    assert_eq!(dirkv(["get", p, key]).ok(), "5\n");
    assert_eq!(dirkv(["ls", p]).ok(), format!("{key}\n"));
    assert_eq!(
        dirkv(["path", p, key]).ok().trim(),
        store.path_of(&k).to_str().unwrap()
    );
    dirkv(["set", p, r#"{"y":1,"x":2,"tag":"b"}"#, "6"]).ok();
    let k2 = SerdeKey::new(Point {
        y: 1,
        x: 2,
        tag: "b".into(),
    })
    .unwrap();
    assert_eq!(store.get(&k2).unwrap(), Some(6));
    assert_eq!(dirkv(["get", p, "{not json"]).code, 2);
}

#[test]
fn byte_keys_and_raw_values_use_hex() {
    let (_dir, path) = store_dir();
    let store: Store<Vec<u8>, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    store
        .set(&vec![0u8, 0xff], &b"\x00binary\xff".to_vec())
        .unwrap();
    let p = path.to_str().unwrap();
    assert_eq!(dirkv(["ls", p]).ok(), "00ff\n");
    assert_eq!(
        dirkv(["get", p, "00FF"]).ok(),
        "{\"$bytes\":\"0062696e617279ff\"}\n"
    );
    assert_eq!(dirkv(["get", "--raw", p, "00ff"]).stdout, b"\x00binary\xff");
    dirkv_with_input(["set", "--raw", p, "01", "-"], Some(b"\x01\x02")).ok();
    assert_eq!(store.get(&vec![1u8]).unwrap(), Some(vec![1, 2]));
    dirkv(["set", p, "02", r#"{"$bytes":"0a0b"}"#]).ok();
    assert_eq!(store.get(&vec![2u8]).unwrap(), Some(vec![10, 11]));
    dirkv(["set", p, "03", r#""text""#]).ok();
    assert_eq!(store.get(&vec![3u8]).unwrap(), Some(b"text".to_vec()));
    assert_eq!(dirkv(["get", p, "0g"]).code, 2);
    // --key-hex works for any key encoding.
    let (_dir2, path2) = store_dir();
    let s2: Store<String, u8> = Store::open(&path2, Exists::OpenOrCreate).unwrap();
    s2.set("hi", &1).unwrap();
    assert_eq!(
        dirkv(["get", "--key-hex", path2.to_str().unwrap(), "6869"]).ok(),
        "1\n"
    );
}

#[test]
fn msgpack_values_that_json_lacks_have_documented_forms() {
    let (_dir, path) = store_dir();
    let store: Store<String, BTreeMap<u32, String>> =
        Store::open(&path, Exists::OpenOrCreate).unwrap();
    store
        .set("m", &BTreeMap::from([(1, "one".into()), (2, "two".into())]))
        .unwrap();
    let p = path.to_str().unwrap();
    let shown = dirkv(["get", p, "m"]).ok();
    assert_eq!(shown, "{\"$map\":[[1,\"one\"],[2,\"two\"]]}\n");
    dirkv(["set", p, "n", shown.trim()]).ok();
    assert_eq!(store.get("n").unwrap(), store.get("m").unwrap());
    // A value that is not one MessagePack value is refused with --raw.
    let bad = dirkv(["set", "--raw", p, "x", "\u{1}\u{2}"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("MessagePack"), "{}", bad.stderr);
    assert_eq!(dirkv(["set", p, "x", r#"{"$nope":1}"#]).code, 2);
    assert_eq!(dirkv(["set", p, "x", "not json"]).code, 2);
}

#[test]
fn path_agrees_with_sha256sum() {
    let (dir, path) = store_dir();
    let store: Store<u64, String> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set(&123, &"x".into()).unwrap();
    let run = sh(
        r#"set -e
           hash=$(printf %s 123 | sha256sum | cut -c1-64)
           shard=$(printf %s "$hash" | cut -c1-2)
           want="$STORE/$shard/$hash.dkv"
           got=$(dirkv path "$STORE" 123)
           test "$want" = "$got"
           test -f "$got"
           echo "$got""#,
        &[("STORE", path.as_os_str())],
    );
    let got = run.ok();
    assert_eq!(got.trim(), store.path_of(&123).to_str().unwrap());
    // A relative store path works too, and `path` of a missing key still prints a path.
    let rel = sh(
        "cd \"$BASE\" && dirkv path store 999",
        &[("BASE", dir.path().as_os_str())],
    )
    .ok();
    assert!(
        rel.trim().ends_with(".dkv") && rel.starts_with('/'),
        "{rel}"
    );
}

#[test]
fn exit_statuses() {
    let (dir, path) = store_dir();
    let store: Pages = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set("a", &page(1)).unwrap();
    let p = path.to_str().unwrap();
    // 1: missing key, one line.
    let run = dirkv(["get", p, "nope"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (1, "dirkv: no such key: nope\n")
    );
    assert!(run.stdout.is_empty());
    // 2: usage errors.
    assert_eq!(dirkv(["get", p]).code, 2);
    assert_eq!(dirkv(["frobnicate", p]).code, 2);
    assert_eq!(dirkv(["ls", "--nope", p]).code, 2);
    assert_eq!(dirkv::<[&str; 0], &str>([]).code, 2);
    assert_eq!(dirkv(["set", p, "a", "{"]).code, 2);
    assert_eq!(
        dirkv(["set", p, "a", r#"{"title":1}"#]).code,
        0,
        "JSON is not typed"
    );
    // 4: other errors, with the path on stderr.
    let missing_store = dir.path().join("nothing-here");
    let run = dirkv(["ls", missing_store.to_str().unwrap()]);
    assert_eq!(run.code, 4);
    assert!(run.stderr.contains("nothing-here"), "{}", run.stderr);
    std::fs::write(dir.path().join("file"), b"x").unwrap();
    let run = dirkv(["get", dir.path().join("file").to_str().unwrap(), "a"]);
    assert_eq!(run.code, 4);
    assert!(run.stderr.contains("not a dirkv store"), "{}", run.stderr);
    // A damaged entry: status 4 naming the file.
    let file = store.path_of("a");
    std::fs::write(&file, b"DKVE garbage").unwrap();
    let run = dirkv(["get", p, "a"]);
    assert_eq!(run.code, 4);
    assert!(
        run.stderr.contains(file.to_str().unwrap()),
        "{}",
        run.stderr
    );
    // 0: help and version.
    let help = dirkv(["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.out().contains("Exit status"));
    assert_eq!(dirkv(["--version"]).code, 0);
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in [
        "init", "ls", "get", "set", "rm", "path", "stat", "verify", "export", "import",
    ] {
        let help = dirkv([cmd, "--help"]).ok();
        assert!(help.contains("Example"), "{cmd}: {help}");
        assert!(
            help.contains(&format!("dirkv {cmd}")) || cmd == "path",
            "{cmd}: {help}"
        );
    }
}

#[test]
fn closed_pipe_exits_quietly() {
    let (_dir, path) = store_dir();
    let store: Store<String, u8> = Store::options()
        .durability(Durability::Fast)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    let keys: Vec<String> = (0..4000)
        .map(|i| format!("{i:05}-{}", "k".repeat(60)))
        .collect();
    store
        .set_many(keys.iter().map(|k| (k.as_str(), &1u8)))
        .unwrap();
    for cmd in ["ls", "export"] {
        let mut child = Command::new(cli_support::exe())
            .args([cmd, path.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty());
        // The reader is gone: the next writes fail with EPIPE.
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!((status.code(), stderr.as_str()), (Some(0), ""), "{cmd}");
    }
    let run = sh(
        "dirkv ls \"$STORE\" | head -1",
        &[("STORE", path.as_os_str())],
    );
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert_eq!(run.out().lines().count(), 1);
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
enum Shape {
    Dot,
    Circle(f64),
    Rect { w: u16, h: u16 },
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Rich {
    name: String,
    small: f32,
    maybe: Option<i64>,
    nested: Vec<(u8, String)>,
    by_id: BTreeMap<u32, String>,
    shape: Shape,
    unicode: String,
}

fn rich(n: u32) -> Rich {
    Rich {
        name: format!("item {n}"),
        small: n as f32 / 10.0,
        maybe: n.is_multiple_of(2).then_some(-i64::from(n) * 1_000_000_007),
        nested: vec![(n as u8, "x".repeat(n as usize % 5))],
        by_id: BTreeMap::from([(n, "self".into()), (n + 1, "next".into())]),
        shape: match n % 3 {
            0 => Shape::Dot,
            1 => Shape::Circle(f64::from(n) * 0.5),
            _ => Shape::Rect { w: 3, h: n as u16 },
        },
        unicode: "größe \u{1f600} \"quoted\"\n".into(),
    }
}

#[test]
fn export_then_import_gives_identical_contents() {
    let (dir, path) = store_dir();
    let store: Store<String, Rich> = Store::options()
        .durability(Durability::Fast)
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    let items: Vec<(String, Rich)> = (0..300).map(|n| (format!("key {n}\t✓"), rich(n))).collect();
    store
        .set_many(items.iter().map(|(k, v)| (k.as_str(), v)))
        .unwrap();
    let p = path.to_str().unwrap();
    let jsonl = dir.path().join("dump.jsonl");
    dirkv(["export", p, "--out", jsonl.to_str().unwrap()]).ok();
    let text = std::fs::read_to_string(&jsonl).unwrap();
    assert_eq!(text.lines().count(), 300);
    assert_eq!(dirkv(["export", p]).ok(), text, "--out and stdout agree");

    let copy = dir.path().join("copy");
    dirkv(["init", copy.to_str().unwrap()]).ok();
    dirkv([
        "import",
        copy.to_str().unwrap(),
        "--in",
        jsonl.to_str().unwrap(),
    ])
    .ok();
    let copied: Store<String, Rich> = Store::open(&copy, Exists::Update).unwrap();
    let a: BTreeMap<String, Rich> = store.iter().map(Result::unwrap).collect();
    let b: BTreeMap<String, Rich> = copied.iter().map(Result::unwrap).collect();
    assert_eq!(a.len(), 300);
    assert_eq!(a, b);
    // And the same bytes for every value but those holding an f32 (JSON has one number
    // type, so an f32 comes back as an f64 of the same value).
    let (_d2, p2) = store_dir();
    let pages: Pages = Store::open(&p2, Exists::OpenOrCreate).unwrap();
    for n in 0..50 {
        pages.set(&format!("p{n}"), &page(n)).unwrap();
    }
    let dump = dirkv(["export", p2.to_str().unwrap()]).ok();
    let p3 = dir.path().join("pages-copy");
    dirkv(["init", p3.to_str().unwrap()]).ok();
    dirkv_with_input(["import", p3.to_str().unwrap()], Some(dump.as_bytes())).ok();
    for n in 0..50 {
        let key = format!("p{n}");
        let a = dirkv::RawStore::open(&p2, dirkv::Access::ReadOnly).unwrap();
        let b = dirkv::RawStore::open(&p3, dirkv::Access::ReadOnly).unwrap();
        assert_eq!(
            a.get(key.as_bytes()).unwrap().unwrap().value,
            b.get(key.as_bytes()).unwrap().unwrap().value
        );
    }
}

#[test]
fn import_stops_at_a_bad_line_after_writing_the_ones_before() {
    let (_dir, path) = store_dir();
    let store: Store<u64, String> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    let p = path.to_str().unwrap();
    let input = "{\"key\":1,\"value\":\"one\"}\n\n{\"key\":\"2\",\"value\":\"two\"}\n{\"key\":3}\n{\"key\":4,\"value\":\"four\"}\n";
    let run = dirkv_with_input(["import", p], Some(input.as_bytes()));
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("standard input:4:"), "{}", run.stderr);
    assert_eq!(store.get(&1).unwrap().as_deref(), Some("one"));
    assert_eq!(store.get(&2).unwrap().as_deref(), Some("two"));
    assert_eq!(store.get(&4).unwrap(), None);
    let run = dirkv_with_input(["import", p], Some(b"{\"key\":\"07\",\"value\":\"x\"}\n"));
    assert_eq!(run.code, 2);
}

#[test]
fn init_creates_stores_the_library_opens() {
    let (dir, path) = store_dir();
    let p = path.to_str().unwrap();
    dirkv(["init", p, "--key-type", "u64"]).ok();
    let again = dirkv(["init", p]);
    assert_eq!(again.code, 4);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(dirkv(["init", "--key-type", "f64", p]).code, 2);
    dirkv(["set", p, "5", "[1,2]"]).ok();
    let store: Store<u64, Vec<u32>> = Store::open(&path, Exists::Update).unwrap();
    assert_eq!(store.get(&5).unwrap(), Some(vec![1, 2]));
    let raw = dir.path().join("raw");
    dirkv([
        "init",
        raw.to_str().unwrap(),
        "--key-type",
        "bytes",
        "--codec",
        "raw",
    ])
    .ok();
    let raw_store: Store<Vec<u8>, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .open(&raw, Exists::Update)
        .unwrap();
    assert!(raw_store.is_empty().unwrap());
    // Not over foreign files.
    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("mine.txt"), b"x").unwrap();
    assert_eq!(dirkv(["init", foreign.to_str().unwrap()]).code, 4);
    assert!(foreign.join("mine.txt").exists());
}

#[test]
fn init_refuses_a_missing_parent() {
    // As the library: only the store's own folder is made; a missing parent is an error
    // naming it (status 4), and nothing is created.
    let (dir, _) = store_dir();
    let deep = dir.path().join("a/b/store");
    for args in [vec!["init"], vec!["init", "--key-type", "u64"]] {
        let mut args: Vec<&str> = args;
        args.push(deep.to_str().unwrap());
        let run = dirkv(&args);
        assert_eq!(run.code, 4, "{run:?}");
        let parent = dir.path().join("a/b");
        assert!(
            run.stderr.contains(parent.to_str().unwrap()),
            "{}",
            run.stderr
        );
        assert!(!dir.path().join("a").exists());
    }
    std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
    dirkv(["init", deep.to_str().unwrap()]).ok();
    assert!(deep.join("DIRKV").is_file());
}

#[test]
fn stat_counts_entries_and_foreign_files() {
    let (_dir, path) = store_dir();
    let store: Pages = Store::open(&path, Exists::OpenOrCreate).unwrap();
    let mut bytes = 0;
    for n in 0..10 {
        store.set(&format!("k{n}"), &page(n)).unwrap();
        bytes += std::fs::metadata(store.path_of(&format!("k{n}")))
            .unwrap()
            .len();
    }
    // What `du` counts and what evict_to bounds: allocated blocks.
    let disk: u64 = (0..10)
        .map(|n| {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(store.path_of(&format!("k{n}")))
                .unwrap()
                .blocks()
                * 512
        })
        .sum();
    std::fs::write(path.join("ab").join("notes.txt"), b"mine").unwrap();
    let p = path.to_str().unwrap();
    let text = dirkv(["stat", p]).ok();
    assert!(text.contains("entries      10\n"), "{text}");
    assert!(text.contains("expired      0 "), "{text}");
    assert!(text.contains(&format!("bytes        {bytes} ")), "{text}");
    assert!(text.contains(&format!("disk         {disk} ")), "{text}");
    assert!(text.contains("key          utf8\n") && text.contains("codec        msgpack\n"));
    assert!(text.contains("notes.txt"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&dirkv(["stat", "--json", p]).ok()).unwrap();
    assert_eq!(json["entries"], 10);
    assert_eq!(json["bytes"], bytes);
    assert_eq!(json["disk_bytes"], disk);
    assert_eq!(json["expired"], 0);
    assert_eq!(json["foreign"], 1);
    assert!(json["shard_fill"]["max"].as_u64().unwrap() >= 1);
    assert_eq!(json["open_writers"], 1, "the test's own open store");
}

#[test]
fn pickle_stores_are_refused_by_get_export_set_and_import() {
    let (_dir, path) = store_dir();
    let raw = dirkv::RawStore::create(&path, "utf8", "pickle").unwrap();
    // pickle.dumps("hi", protocol=4)
    let pickled = b"\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00\x8c\x02hi\x94.";
    raw.set(b"k", pickled).unwrap();
    let p = path.to_str().unwrap();
    for args in [
        vec!["get", p, "k"],
        vec!["get", "--pretty", p, "k"],
        vec!["export", p],
        vec!["set", p, "k", "\"x\""],
        vec!["set", "--raw", p, "k", "x"],
        vec!["import", p],
    ] {
        // (The refusal comes before standard input is read: none is given.)
        let run = dirkv(&args);
        assert_eq!(run.code, 4, "{args:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
        assert!(
            run.stderr
                .contains("values of this store are Python pickles; ")
                && run.stderr.contains("with the dirkv Python package"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(
        raw.get(b"k").unwrap().unwrap().value.as_deref(),
        Some(&pickled[..])
    );
    assert_eq!(raw.get(b"j").unwrap(), None);
    // The stored bytes, unchanged and never unpickled, on request; keys list as usual.
    assert_eq!(dirkv(["get", "--raw", p, "k"]).stdout, pickled);
    assert_eq!(dirkv(["ls", p]).ok(), "k\n");
}

#[test]
fn set_ttl_then_ls_and_stat_show_expiry() {
    let (_dir, path) = store_dir();
    let store: Store<String, String> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set("plain", &"p".into()).unwrap();
    let p = path.to_str().unwrap();
    let before = std::time::SystemTime::now();
    dirkv(["set", "--ttl", "1h", p, "hour", r#""h""#]).ok();
    let meta = store.metadata("hour").unwrap().unwrap();
    let ttl = meta.expires.unwrap().duration_since(before).unwrap();
    assert!(
        ttl >= std::time::Duration::from_secs(3600) && ttl < std::time::Duration::from_secs(3660),
        "{ttl:?}"
    );
    for (arg, ms) in [
        ("1500ms", 1500),
        ("90s", 90_000),
        ("2m", 120_000),
        ("1d", 86_400_000),
    ] {
        dirkv(["set", "--ttl", arg, p, "t", "1"]).ok();
        let meta = dirkv::RawStore::open(&path, dirkv::Access::ReadOnly)
            .unwrap()
            .metadata(b"t")
            .unwrap()
            .unwrap();
        let got = meta.expires_ms.unwrap() - meta.modified_ms;
        assert_eq!(got, ms, "{arg}");
    }
    // A TTL without a unit (or of 0) is a usage error; nothing is written.
    for bad in ["60", "0s", "1w", "1.5h"] {
        let run = dirkv(["set", "--ttl", bad, p, "bad", "1"]);
        assert_eq!(run.code, 2, "{bad}: {run:?}");
    }
    assert!(
        dirkv(["set", "--ttl", "60", p, "bad", "1"])
            .stderr
            .contains("no unit")
    );
    assert_eq!(store.get("bad").unwrap(), None);

    // ls -l: the expiry column; ls --json -l: "expires".
    let long = dirkv(["ls", "-l", p]).ok();
    let cols = |key: &str| -> Vec<String> {
        let line = long
            .lines()
            .find(|l| l.starts_with(&format!("{key}\t")))
            .unwrap();
        line.split('\t').map(str::to_owned).collect()
    };
    assert_eq!(cols("plain")[3], "never");
    let shown = &cols("hour")[3];
    assert!(shown.ends_with('Z') && shown.len() == 24, "{shown}");
    assert!(
        shown > &cols("hour")[2],
        "expires after it was written: {long}"
    );
    let json = dirkv(["ls", "--json", "-l", p]).ok();
    let hour: serde_json::Value = json
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["key"] == "hour")
        .unwrap();
    assert_eq!(hour["expires"].as_str(), Some(shown.as_str()));

    // stat counts what has expired and not yet been removed.
    dirkv(["set", "--ttl", "1ms", p, "gone", "1"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(50));
    let text = dirkv(["stat", p]).ok();
    assert!(text.contains("entries      4\n"), "{text}");
    assert!(text.contains("expired      1 "), "{text}");
    let json: serde_json::Value = serde_json::from_str(&dirkv(["stat", "--json", p]).ok()).unwrap();
    assert_eq!(json["expired"], 1);
    assert_eq!(dirkv(["get", p, "gone"]).code, 1);
}

#[test]
fn keys_from_a_file_or_standard_input() {
    let (dir, path) = store_dir();
    let store: Store<String, u32> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    let p = path.to_str().unwrap();
    // A key near the longest a store takes, ending in a newline that is part of it.
    let long_key = format!("{}\n", "k".repeat(60_000));
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, &long_key).unwrap();
    let kf = key_file.to_str().unwrap();
    dirkv(["set", "--key-file", kf, p, "7"]).ok();
    assert_eq!(store.get(&long_key).unwrap(), Some(7));
    let got = dirkv_with_input(["get", "--key-file", "-", p], Some(long_key.as_bytes())).ok();
    assert_eq!(got, "7\n");
    assert_eq!(
        dirkv(["path", "--key-file", kf, p]).ok().trim(),
        store.path_of(&long_key).to_str().unwrap()
    );
    dirkv_with_input(
        ["set", "--key-file", "-", p, "8"],
        Some(long_key.as_bytes()),
    )
    .ok();
    assert_eq!(store.get(&long_key).unwrap(), Some(8));
    // A missing key is named, cut short.
    std::fs::write(&key_file, "x".repeat(5000)).unwrap();
    let run = dirkv(["get", "--key-file", kf, p]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("… (5000 bytes)") && run.stderr.len() < 200,
        "{}",
        run.stderr
    );
    std::fs::write(&key_file, &long_key).unwrap();
    dirkv(["rm", "--key-file", kf, p]).ok();
    assert_eq!(store.get(&long_key).unwrap(), None);
    // Usage errors: both a key and --key-file; key and value both from standard input;
    // no such file.
    assert_eq!(dirkv(["get", "--key-file", kf, p, "other"]).code, 2);
    assert_eq!(dirkv(["set", "--key-file", kf, p, "k", "1"]).code, 2);
    assert_eq!(
        dirkv_with_input(["set", "--key-file", "-", p, "-"], Some(b"")).code,
        2
    );
    assert_eq!(dirkv(["get", "--key-file", "/nonexistent/key", p]).code, 2);
    assert_eq!(dirkv(["get", p]).code, 2);

    // Other encodings: decimal and hex ignore a trailing newline (as `echo` writes).
    let (_d2, p2) = store_dir();
    let ints: Store<u64, u32> = Store::open(&p2, Exists::OpenOrCreate).unwrap();
    ints.set(&42, &1).unwrap();
    let q = p2.to_str().unwrap();
    assert_eq!(
        dirkv_with_input(["get", "--key-file", "-", q], Some(b"42\n")).ok(),
        "1\n"
    );
    let hex = dirkv_with_input(["get", "--key-hex", "--key-file", "-", q], Some(b"3432\n"));
    assert_eq!(hex.ok(), "1\n");
}

#[test]
fn set_of_a_bare_word_says_a_json_string_needs_quotes() {
    let (_dir, path) = store_dir();
    let _store: Store<String, String> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    let p = path.to_str().unwrap();
    let run = dirkv(["set", p, "k", "hello"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains(r#"a JSON string needs its quotes: '"hello"'"#),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("--raw"), "{}", run.stderr);
    // Broken structured JSON gets no such hint.
    assert!(!dirkv(["set", p, "k", "{\"a\":"]).stderr.contains("quotes"));
    // A raw store also takes the bytes as they are.
    let (_d2, raw) = store_dir();
    let _raw: Store<String, Vec<u8>, Raw> = Store::options()
        .codec(Raw)
        .open(&raw, Exists::OpenOrCreate)
        .unwrap();
    let run = dirkv(["set", raw.to_str().unwrap(), "k", "hello"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains(r#"'"hello"'; or store the bytes as they are with --raw"#),
        "{}",
        run.stderr
    );
}

#[test]
fn export_and_import_keep_entry_times() {
    let (dir, path) = store_dir();
    let raw = dirkv::RawStore::create(&path, "utf8", "msgpack").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let created = 1_700_000_000_123; // 2023-11-14T22:13:20.123Z
    let expires = now + 3_600_000;
    raw.set_with_times(b"hour", b"\x01", created, Some(expires))
        .unwrap();
    raw.set_with_times(b"forever", b"\x02", created + 1, None)
        .unwrap();
    let p = path.to_str().unwrap();
    let dump = dirkv(["export", p]).ok();
    let lines: Vec<serde_json::Value> = dump
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let hour = lines.iter().find(|l| l["key"] == "hour").unwrap();
    assert_eq!(hour["created"], "2023-11-14T22:13:20.123Z", "{dump}");
    assert!(hour["modified"].as_str().unwrap().ends_with('Z'), "{dump}");
    assert!(hour["expires"].is_string(), "{dump}");
    let forever = lines.iter().find(|l| l["key"] == "forever").unwrap();
    assert!(forever.get("expires").is_none(), "{dump}");

    let copy = dir.path().join("copy");
    let c = copy.to_str().unwrap();
    dirkv(["init", c]).ok();
    let before_import = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let run = dirkv_with_input(["import", c], Some(dump.as_bytes()));
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
    let copied = dirkv::RawStore::open(&copy, dirkv::Access::ReadOnly).unwrap();
    let meta = copied.metadata(b"hour").unwrap().unwrap();
    assert_eq!(meta.created_ms, created);
    assert_eq!(meta.expires_ms, Some(expires), "the TTL survives");
    assert!(
        meta.modified_ms >= before_import,
        "modified is the import's time"
    );
    let meta = copied.metadata(b"forever").unwrap().unwrap();
    assert_eq!((meta.created_ms, meta.expires_ms), (created + 1, None));

    // An export of an older dirkv (no times) still imports: created now, never expires.
    // A line whose expiry has passed is skipped and counted; times may be milliseconds.
    let old = concat!(
        "{\"key\":\"plain\",\"value\":1}\n",
        "{\"key\":\"past\",\"value\":2,\"expires\":\"2000-01-01T00:00:00.000Z\"}\n",
        "{\"key\":\"ms\",\"value\":3,\"created\":1000,\"modified\":2000}\n",
    );
    let run = dirkv_with_input(["import", c], Some(old.as_bytes()));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        "dirkv: skipped 1 entry whose expiry had passed\n"
    );
    let meta = copied.metadata(b"plain").unwrap().unwrap();
    assert!(meta.created_ms >= before_import && meta.expires_ms.is_none());
    assert_eq!(copied.get(b"past").unwrap(), None);
    assert_eq!(copied.metadata(b"ms").unwrap().unwrap().created_ms, 1000);
    // A time that is not one is a bad line.
    let run = dirkv_with_input(
        ["import", c],
        Some(b"{\"key\":\"bad\",\"value\":1,\"created\":\"yesterday\"}\n"),
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("created:"), "{}", run.stderr);
}
