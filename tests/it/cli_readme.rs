//! Runs the shell recipes of the guide's pages on the `dirkv` command (`docs/cli.md`) and
//! on working from the shell (`docs/shell.md`), in order, against a real store, with a
//! writer running during the backup recipes. They were the README section "Inspecting a
//! store from the shell" before it moved into the guide.

use crate::cli_support;

use std::fs::File;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use cli_support::{Page, sh};
use dirkv::{Durability, Exists, Store};

/// The pages whose ```sh blocks are the recipes, in the order they are run.
const PAGES: [(&str, &str); 2] = [
    ("docs/cli.md", include_str!("../../docs/cli.md")),
    ("docs/shell.md", include_str!("../../docs/shell.md")),
];

/// The recipes there were when they moved out of the README: the test fails if one is
/// dropped, so none can silently stop being tested.
const RECIPES_BEFORE: usize = 11;

/// The ```sh blocks of the pages.
fn recipes() -> Vec<String> {
    let mut blocks = Vec::new();
    for (name, page) in PAGES {
        let mut rest = page;
        let before = blocks.len();
        while let Some(at) = rest.find("```sh\n") {
            let body = &rest[at + "```sh\n".len()..];
            let end = body.find("```").expect("block end");
            blocks.push(body[..end].to_owned());
            rest = &body[end + 3..];
        }
        assert!(blocks.len() > before, "no recipes in {name}");
    }
    blocks
}

fn has(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn page(title: &str, words: u32) -> Page {
    Page {
        title: title.into(),
        words,
        body: vec![],
    }
}

#[test]
fn readme_recipes_work_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let store: Store<String, Page> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store.set("home", &page("Home", 120)).unwrap();
    store.set("about", &page("About", 3)).unwrap();
    store.set("news", &page("News", 9)).unwrap();
    // Written an hour ago, as far as `find -newer` can tell.
    let old = SystemTime::now() - Duration::from_secs(3600);
    for key in ["home", "about", "news"] {
        File::options()
            .write(true)
            .open(store.path_of(key))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let backup = dir.path().join("backup");
    let backup2 = dir.path().join("backup2");
    let env = [
        ("STORE", path.as_os_str()),
        ("BACKUP", backup.as_os_str()),
        ("BACKUP2", backup2.as_os_str()),
        ("TMPDIR", tmp.as_os_str()),
    ];

    let blocks = recipes();
    assert!(
        blocks.len() >= RECIPES_BEFORE,
        "{} recipes, fewer than the {RECIPES_BEFORE} there were",
        blocks.len()
    );
    let mut skipped = 0;
    let mut checked = 0;
    for block in &blocks {
        if block.contains("rsync") && !has("rsync") {
            eprintln!("skipping the rsync recipe: rsync is not installed");
            skipped += 1;
            continue;
        }
        // The application keeps writing while the store is backed up.
        let busy = block.contains("cp -a") || block.contains("rsync");
        let stop = Arc::new(AtomicBool::new(false));
        let writer = busy.then(|| {
            let stop = Arc::clone(&stop);
            let app: Store<String, Page> = Store::options()
                .durability(Durability::Fast)
                .open(&path, Exists::Update)
                .unwrap();
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) && n < 200_000 {
                    app.set(&format!("busy{}", n % 16), &page("busy", 1_000_000 + n))
                        .unwrap();
                    n += 1;
                }
                n
            })
        });
        if busy {
            std::thread::sleep(Duration::from_millis(20));
        }
        let run = sh(&format!("set -e\n{block}"), &env);
        stop.store(true, Ordering::Relaxed);
        if let Some(writer) = writer {
            assert!(writer.join().unwrap() > 0);
        }
        let out = run.out();
        assert_eq!(run.code, 0, "recipe failed:\n{block}\n{run:?}\n{out}");
        let lines: Vec<&str> = out.lines().collect();
        if block.contains("--encrypt") {
            // A new encrypted store, its key only in the recipe's environment.
            assert_eq!(lines.len(), 2, "{out}");
            assert_eq!(lines[0], r#""s3cr3t""#);
            assert!(lines[1].contains("a 32-byte key (DIRKV_KEY)"), "{out}");
            let manifest = std::fs::read_to_string(tmp.join("secrets").join("DIRKV")).unwrap();
            assert!(manifest.contains("encryption_kdf = none"), "{manifest}");
        } else if block.contains("sha256sum") {
            let file = store.path_of("home");
            assert_eq!(lines.len(), 2, "{out}");
            assert!(lines[0].ends_with(file.to_str().unwrap()), "{out}");
            assert_eq!(lines[1], file.to_str().unwrap());
        } else if block.contains("get --raw") {
            assert_eq!(lines[0], r#"{"title":"Home","words":120,"body":[]}"#);
            assert!(lines[1].contains(" 83 a5 74 69 74 6c 65"), "{out}");
        } else if block.contains("tail -c +49") {
            assert_eq!(out, "home\n");
        } else if block.contains("dirkv set") {
            assert_eq!(out, "");
            assert_eq!(store.get("home").unwrap(), Some(page("Home", 130)));
        } else if block.contains("-newer") {
            assert_eq!(out, "home\n");
        } else if block.contains("wc -l") {
            assert_eq!(lines[0].trim(), "3");
            assert!(out.contains("entries      3\n"), "{out}");
        } else if busy {
            assert!(out.contains(": no problems"), "{out}");
        } else if block.contains("rm \"$(dirkv path") {
            assert_eq!(out, "gone (exit status 1)\n");
            assert_eq!(store.get("about").unwrap(), None);
        } else if block.contains("dirkv import") {
            assert!(out.contains(": no problems"), "{out}");
            assert_eq!(lines.last(), Some(&"home"));
        } else {
            panic!("no expectation for this recipe:\n{block}");
        }
        checked += 1;
    }
    assert_eq!(checked + skipped, blocks.len());
    assert!(checked >= RECIPES_BEFORE - 1, "{checked} recipes checked");

    // The copy made while the application wrote is a working store.
    let copy: Store<String, Page> = Store::open(&backup, Exists::Update).unwrap();
    assert_eq!(copy.get("home").unwrap(), Some(page("Home", 130)));
    assert!(copy.iter().all(|r| r.is_ok()));
}
