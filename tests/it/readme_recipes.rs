//! Runs the on-disk format shell recipes of the guide (`docs/format.md`, the page
//! `dirkv::guide::format`; they were in the README before) against a real store.

use std::process::Command;

use dirkv::{Exists, Store};

/// The page that holds the recipes.
const PAGE: &str = include_str!("../../docs/format.md");

/// The recipes the block held when it moved out of the README (one per `# ` comment): the
/// test fails if one is dropped, so none can silently stop being tested.
const RECIPES_BEFORE: usize = 6;

/// The ```sh block of the page that starts with `S=/path/to/store`.
fn recipe_block() -> String {
    assert_eq!(
        PAGE.matches("```sh\nS=/path/to/store\n").count(),
        1,
        "one recipe block in docs/format.md"
    );
    let start = PAGE
        .find("```sh\nS=/path/to/store\n")
        .expect("recipe block in docs/format.md");
    let body = &PAGE[start + "```sh\n".len()..];
    body[..body.find("```").expect("block end")].to_owned()
}

#[test]
fn format_recipes_work_as_documented() {
    if Command::new("sh")
        .arg("-c")
        .arg("command -v sha256sum od tail head cut find")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        eprintln!("skipping: coreutils not available");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store: Store<String, Vec<String>> = Store::open(&path, Exists::OpenOrCreate).unwrap();
    store
        .set("home", &vec!["hello".to_string(), "world".to_string()])
        .unwrap();
    store.set("other", &vec![]).unwrap();

    let block = recipe_block();
    let recipes = block.lines().filter(|l| l.starts_with("# ")).count();
    assert!(
        recipes >= RECIPES_BEFORE,
        "{recipes} recipes, fewer than the {RECIPES_BEFORE} there were"
    );
    let script = block.replace("S=/path/to/store", &format!("S='{}'", path.display()));
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("set -e\n{script}"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "recipe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().map(str::trim).collect();
    assert_eq!(
        lines,
        ["2", "home"],
        "entry count, then the key read from the file"
    );

    // The value bytes cut out by `tail` are the MessagePack of the value.
    let value: Vec<String> =
        rmp_serde::from_slice(&std::fs::read(dir.path().join("value.msgpack")).unwrap()).unwrap();
    assert_eq!(value, ["hello", "world"]);
    // `rm` deleted the key; the live store sees it gone.
    assert_eq!(store.get("home").unwrap(), None);
    assert_eq!(store.len().unwrap(), 1);
    // The backup made with `cp -a` is a working store holding the key.
    let backup: Store<String, Vec<String>> =
        Store::open(path.with_extension("backup"), Exists::Update).unwrap();
    assert_eq!(backup.get("home").unwrap().unwrap(), ["hello", "world"]);
}
