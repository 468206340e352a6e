//! The `dirkv` command on encrypted stores: keys from `DIRKV_KEY` and `DIRKV_PASSPHRASE`,
//! a passphrase prompt on a terminal (through `script`, which gives the command one), and
//! no way at all to give a key as an argument.

use crate::cli_support;

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cli_support::{KEY_VARS, Page, Run, dirkv, dirkv_env, exe, page, store_dir};
use dirkv::{EncryptionKey, Exists, Store};
use serde_json::Value as Json;

/// The 32-byte key of the tests, and its hex form for `DIRKV_KEY`.
const KEY: [u8; 32] = [0x42; 32];
const KEY_HEX: &str = "4242424242424242424242424242424242424242424242424242424242424242";
const OTHER_KEY_HEX: &str = "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef";

/// Every subcommand that opens a store with its key, with the arguments to run it on `p`.
fn keyed_commands(p: &str) -> Vec<Vec<&str>> {
    vec![
        vec!["ls", p],
        vec!["get", p, "home"],
        vec!["set", p, "home", "1"],
        vec!["rm", p, "home"],
        vec!["path", p, "home"],
        vec!["verify", p],
        vec!["verify", "--repair", p],
        vec!["export", p],
        vec!["import", p],
    ]
}

fn with_key(args: &[&str]) -> Run {
    dirkv_env(args, &[("DIRKV_KEY", KEY_HEX)], None)
}

fn with_phrase(args: &[&str], phrase: &str) -> Run {
    dirkv_env(args, &[("DIRKV_PASSPHRASE", phrase)], None)
}

/// Asserts a failure with `code` and a one-line message on stderr, and returns it.
fn fails(run: &Run, code: i32) -> String {
    assert_eq!(run.code, code, "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "one line: {:?}", run.stderr);
    assert!(run.stderr.starts_with("dirkv: "), "{:?}", run.stderr);
    run.stderr.clone()
}

/// The bytes of every entry file of the store.
fn entry_bytes(path: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for shard in fs::read_dir(path).unwrap() {
        let shard = shard.unwrap().path();
        if !shard.is_dir() {
            continue;
        }
        for file in fs::read_dir(&shard).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "dkv") {
                all.extend(fs::read(&file).unwrap());
            }
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn init_encrypt_then_every_command_round_trips_with_the_key() {
    let (dir, path) = store_dir();
    let p = path.to_str().unwrap();
    with_key(&["init", p, "--encrypt"]).ok();
    let manifest = fs::read_to_string(path.join("DIRKV")).unwrap();
    assert!(
        manifest.contains("encryption = xchacha20poly1305"),
        "{manifest}"
    );
    assert!(manifest.contains("encryption_kdf = none"), "{manifest}");
    assert!(
        !manifest.to_lowercase().contains("4242424242"),
        "{manifest}"
    );

    // set (from an argument and from stdin), get, ls.
    let home = r#"{"title":"secret-title","words":7,"body":[1,2]}"#;
    with_key(&["set", p, "secret-home", home]).ok();
    let about = r#"{"title":"About","words":3,"body":[]}"#;
    dirkv_env(
        ["set", p, "about", "-"],
        &[("DIRKV_KEY", KEY_HEX)],
        Some(about.as_bytes()),
    )
    .ok();
    assert_eq!(
        with_key(&["get", p, "secret-home"]).ok(),
        format!("{home}\n")
    );
    let mut keys: Vec<String> = with_key(&["ls", p])
        .ok()
        .lines()
        .map(String::from)
        .collect();
    keys.sort();
    assert_eq!(keys, ["about", "secret-home"]);
    let long = with_key(&["ls", "-l", "--json", p]).ok();
    assert_eq!(long.lines().count(), 2);

    // Nothing readable on disk: neither key names nor values.
    let disk = entry_bytes(&path);
    assert!(!disk.is_empty());
    for clear in ["secret-home", "secret-title", "About"] {
        assert!(!contains(&disk, clear), "{clear} is readable on disk");
    }

    // path: the keyed name, which exists and is not the SHA-256 of the key.
    let file = with_key(&["path", p, "secret-home"]).ok();
    let file = Path::new(file.trim_end());
    assert!(file.is_file(), "{}", file.display());
    assert!(long.contains(&*file.to_string_lossy()), "{long}");
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"secret-home"));
    assert!(!file.to_string_lossy().contains(&sha));

    // The library reads what the command wrote, with the same key.
    let store: Store<String, Page> = Store::options()
        .encryption(EncryptionKey::from_bytes(KEY))
        .open(&path, Exists::Update)
        .unwrap();
    let want = Page {
        title: "secret-title".into(),
        words: 7,
        body: vec![1, 2],
    };
    assert_eq!(store.get("secret-home").unwrap(), Some(want));
    assert_eq!(
        store.path_of("secret-home").canonicalize().unwrap(),
        file.canonicalize().unwrap()
    );
    store.set("from-library", &page(5)).unwrap();
    drop(store);

    // verify, export; import into a second encrypted store made with a passphrase.
    assert!(
        with_key(&["verify", p])
            .ok()
            .contains("checked 3 entries: no problems")
    );
    let exported = with_key(&["export", p]).ok();
    assert_eq!(exported.lines().count(), 3);
    let copy = dir.path().join("copy");
    let c = copy.to_str().unwrap();
    let phrase = [("DIRKV_PASSPHRASE", "correct horse battery staple")];
    dirkv_env(["init", c, "--encrypt"], &phrase, None).ok();
    dirkv_env(["import", c], &phrase, Some(exported.as_bytes())).ok();
    let sorted = |text: &str| {
        let mut lines: Vec<Json> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        lines.sort_by_key(|l| l["key"].to_string());
        // An import writes each value anew: its modified time is the import's.
        for line in &mut lines {
            line.as_object_mut().unwrap().remove("modified");
        }
        lines
    };
    let again = dirkv_env(["export", c], &phrase, None).ok();
    assert_eq!(sorted(&again), sorted(&exported));
    // export --out to a file, import --in from it.
    let file_out = dir.path().join("out.jsonl");
    let f = file_out.to_str().unwrap();
    dirkv_env(["export", c, "--out", f], &phrase, None).ok();
    with_key(&["import", p, "--in", f]).ok();

    // rm, then the key is gone (status 1).
    with_key(&["rm", p, "secret-home"]).ok();
    assert_eq!(with_key(&["get", p, "secret-home"]).code, 1);
    // ...until imported back.
    with_key(&["import", p, "--in", f]).ok();
    assert_eq!(
        with_key(&["get", p, "secret-home"]).ok(),
        format!("{home}\n")
    );
}

#[test]
fn a_wrong_key_or_passphrase_is_a_one_line_error_for_every_command() {
    let (dir, path) = store_dir();
    let p = path.to_str().unwrap();
    with_key(&["init", p, "--encrypt"]).ok();
    with_key(&["set", p, "home", "1"]).ok();
    let before = entry_bytes(&path);
    for args in keyed_commands(p) {
        let run = dirkv_env(&args, &[("DIRKV_KEY", OTHER_KEY_HEX)], Some(b""));
        let err = fails(&run, 4);
        assert!(err.contains("wrong encryption key"), "{args:?}: {err}");
        assert!(err.contains("DIRKV_KEY"), "{args:?}: {err}");
        assert!(
            !err.contains(OTHER_KEY_HEX),
            "{args:?}: the key is shown: {err}"
        );
        assert!(run.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(entry_bytes(&path), before, "a wrong key changed the store");

    // A passphrase for a store with a 32-byte key: the kind of key is named.
    let err = fails(&with_phrase(&["get", p, "home"], "guess"), 4);
    assert!(
        err.contains("32-byte key") && err.contains("DIRKV_PASSPHRASE"),
        "{err}"
    );
    assert!(!err.contains("guess"), "{err}");

    // A store with a passphrase: the wrong one, and a key instead.
    let q = dir.path().join("phrase");
    let q = q.to_str().unwrap();
    with_phrase(&["init", q, "--encrypt"], "right one").ok();
    with_phrase(&["set", q, "k", "2"], "right one").ok();
    let err = fails(&with_phrase(&["get", q, "k"], "wrong one"), 4);
    assert!(err.contains("wrong encryption key or passphrase"), "{err}");
    assert!(
        err.contains("DIRKV_PASSPHRASE") && !err.contains("wrong one"),
        "{err}"
    );
    let err = fails(&with_key(&["get", q, "k"]), 4);
    assert!(
        err.contains("passphrase") && err.contains("DIRKV_KEY"),
        "{err}"
    );
    assert_eq!(with_phrase(&["get", q, "k"], "right one").ok(), "2\n");
}

#[test]
fn without_a_key_or_a_terminal_every_command_fails_naming_both_variables() {
    let (dir, path) = store_dir();
    let p = path.to_str().unwrap();
    with_phrase(&["init", p, "--encrypt"], "pass").ok();
    with_phrase(&["set", p, "home", "1"], "pass").ok();
    let key_store = dir.path().join("keyed");
    let k = key_store.to_str().unwrap();
    with_key(&["init", k, "--encrypt"]).ok();
    for store in [p, k] {
        for args in keyed_commands(store) {
            // No standard input and stderr captured: no terminal to ask at.
            let run = dirkv(&args);
            let err = fails(&run, 4);
            assert!(err.contains("encrypted"), "{args:?}: {err}");
            assert!(
                err.contains("DIRKV_KEY") && err.contains("DIRKV_PASSPHRASE"),
                "{args:?}: {err}"
            );
            assert!(err.contains(store), "{args:?}: {err}");
        }
    }
    // init --encrypt without a key creates nothing.
    let new = dir.path().join("new");
    let err = fails(&dirkv(["init", new.to_str().unwrap(), "--encrypt"]), 4);
    assert!(
        err.contains("DIRKV_KEY") && err.contains("DIRKV_PASSPHRASE"),
        "{err}"
    );
    assert!(!new.exists());
    // The library still opens the store: nothing was changed.
    let store: Store<String, u32> = Store::options()
        .encryption(EncryptionKey::passphrase("pass"))
        .open(&path, Exists::Update)
        .unwrap();
    assert_eq!(store.get("home").unwrap(), Some(1));
}

#[test]
fn bad_key_variables_are_usage_errors_that_do_not_show_the_value() {
    let (_dir, path) = store_dir();
    let p = path.to_str().unwrap();
    with_key(&["init", p, "--encrypt"]).ok();
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("DIRKV_KEY", "abcdef")], "64 hex digits"),
        (&[("DIRKV_KEY", &"zz".repeat(32))], "not hex digits"),
        (&[("DIRKV_KEY", "")], "DIRKV_KEY is set but empty"),
        (
            &[("DIRKV_PASSPHRASE", "")],
            "DIRKV_PASSPHRASE is set but empty",
        ),
        (
            &[("DIRKV_KEY", KEY_HEX), ("DIRKV_PASSPHRASE", "x")],
            "both DIRKV_KEY and DIRKV_PASSPHRASE",
        ),
    ];
    for (env, says) in cases {
        let run = dirkv_env(["ls", p], env, None);
        let err = fails(&run, 2);
        assert!(err.contains(says), "{env:?}: {err}");
        assert!(!err.contains("abcdef") && !err.contains("zzzz"), "{err}");
    }
    // Surrounding whitespace (a key file read with $(cat …) keeps none, but `read` might)
    // and upper case are fine.
    let padded = format!("  {}\n", KEY_HEX.to_uppercase());
    dirkv_env(["ls", p], &[("DIRKV_KEY", &padded)], None).ok();
}

#[test]
fn a_store_made_by_the_library_with_a_passphrase_opens_with_dirkv_passphrase() {
    let (dir, path) = store_dir();
    let p = path.to_str().unwrap();
    // The default Argon2id cost, as applications get it.
    let store: Store<String, Page> = Store::options()
        .encryption(EncryptionKey::passphrase("library phrase"))
        .open(&path, Exists::OpenOrCreate)
        .unwrap();
    store.set("home", &page(3)).unwrap();
    drop(store);
    let got = with_phrase(&["get", p, "home"], "library phrase").ok();
    let got: Page = serde_json::from_str(&got).unwrap();
    assert_eq!(got, page(3));

    // A cheap cost chosen by the application: the command takes it from the manifest.
    let cheap = dir.path().join("cheap");
    let c = cheap.to_str().unwrap();
    let store: Store<u64, String> = Store::options()
        .encryption(EncryptionKey::passphrase_with_cost("cheap phrase", 64, 1))
        .open(&cheap, Exists::OpenOrCreate)
        .unwrap();
    store.set(&7, &"seven".to_string()).unwrap();
    drop(store);
    assert_eq!(with_phrase(&["ls", c], "cheap phrase").ok(), "7\n");
    with_phrase(&["set", c, "8", "\"eight\""], "cheap phrase").ok();
    assert!(
        with_phrase(&["verify", c], "cheap phrase")
            .ok()
            .contains("no problems")
    );
    let store: Store<u64, String> = Store::options()
        .encryption(EncryptionKey::passphrase_with_cost("cheap phrase", 64, 1))
        .open(&cheap, Exists::Update)
        .unwrap();
    assert_eq!(store.get(&8).unwrap().as_deref(), Some("eight"));

    // stat shows the cost without the passphrase.
    let json: Json = serde_json::from_str(&dirkv(["stat", "--json", c]).ok()).unwrap();
    assert_eq!(json["encryption"]["kdf"], "argon2id");
    assert_eq!(json["encryption"]["memory_kib"], 64);
    assert_eq!(json["encryption"]["iterations"], 1);
}

#[test]
fn stat_shows_encryption_without_the_key() {
    let (dir, path) = store_dir();
    let p = path.to_str().unwrap();
    with_phrase(&["init", p, "--encrypt"], "pw").ok();
    with_phrase(&["set", p, "a", "1"], "pw").ok();
    with_phrase(&["set", p, "b", "2"], "pw").ok();
    let text = dirkv(["stat", p]).ok();
    assert!(text.contains("entries      2"), "{text}");
    let line = text.lines().find(|l| l.starts_with("encryption")).unwrap();
    assert!(line.contains("xchacha20poly1305"), "{line}");
    assert!(
        line.contains("Argon2id with memory 19456 KiB, iterations 2"),
        "{line}"
    );
    // The salt and key check are in the manifest, not on the settings line.
    assert!(text.contains("settings     none"), "{text}");
    let json: Json = serde_json::from_str(&dirkv(["stat", "--json", p]).ok()).unwrap();
    assert_eq!(json["entries"], 2);
    assert_eq!(json["encryption"]["cipher"], "xchacha20poly1305");
    assert_eq!(json["encryption"]["kdf"], "argon2id");
    assert_eq!(json["encryption"]["parallelism"], 1);

    let keyed = dir.path().join("keyed");
    let k = keyed.to_str().unwrap();
    with_key(&["init", k, "--encrypt"]).ok();
    let text = dirkv(["stat", k]).ok();
    assert!(text.contains("key: a 32-byte key (DIRKV_KEY)"), "{text}");
    let json: Json = serde_json::from_str(&dirkv(["stat", "--json", k]).ok()).unwrap();
    assert_eq!(json["encryption"]["kdf"], "none");

    // A store without encryption, made while a key variable is set: a note, no encryption.
    let plain = dir.path().join("plain");
    let q = plain.to_str().unwrap();
    let run = with_key(&["init", q]);
    run.ok();
    assert!(run.stderr.contains("without --encrypt"), "{}", run.stderr);
    assert!(dirkv(["stat", q]).ok().contains("encryption   none"));
    let json: Json = serde_json::from_str(&dirkv(["stat", "--json", q]).ok()).unwrap();
    assert_eq!(json["encryption"], Json::Null);
    // ...whose values a key variable then refuses to touch (see below); without it, fine.
    dirkv(["set", q, "x", "1"]).ok();
    assert_eq!(dirkv(["get", q, "x"]).ok(), "1\n");
    assert_eq!(with_key(&["get", q, "x"]).code, 4);
}

#[test]
fn a_plain_manifest_swapped_in_while_a_key_is_set_is_refused() {
    let (dir, path) = store_dir();
    let p = path.to_str().unwrap();
    with_key(&["init", p, "--encrypt"]).ok();
    with_key(&["set", p, "token", r#""first secret""#]).ok();
    // A co-writer replaces the manifest with a plain one and plants a forged entry at the
    // plain name of "token".
    let manifest = path.join("DIRKV");
    fs::write(
        &manifest,
        "format = 1\nkey = utf8\ncodec = msgpack\nshard_depth = 1\n",
    )
    .unwrap();
    let forger = dir.path().join("forger");
    let forged: Store<String, String> = Store::open(&forger, Exists::OpenOrCreate).unwrap();
    forged.set("token", &"forged".to_string()).unwrap();
    let plain_name = forged.path_of("token");
    let planted = path.join(plain_name.strip_prefix(&forger).unwrap());
    fs::copy(&plain_name, &planted).unwrap();

    // Told it is encrypted: no write in plaintext, no forged value, status 4 naming the
    // manifest.
    let run = with_key(&["set", p, "token", r#""second secret""#]);
    let text = fails(&run, 4);
    assert!(text.contains(manifest.to_str().unwrap()), "{text}");
    assert!(text.contains("not encrypted"), "{text}");
    assert!(!contains(&entry_bytes(&path), "second secret"));
    let run = with_key(&["get", p, "token"]);
    fails(&run, 4);
    assert!(run.stdout.is_empty(), "{run:?}");
    let run = with_phrase(&["get", p, "token"], "a passphrase");
    assert!(
        fails(&run, 4).contains("DIRKV_PASSPHRASE is set"),
        "{run:?}"
    );
    for args in keyed_commands(p) {
        let run = with_key(&args);
        assert_eq!(run.code, 4, "{args:?}: {run:?}");
        assert!(run.stderr.contains("DIRKV"), "{args:?}: {run:?}");
    }
    // stat, which never reads values, still describes the folder.
    assert!(with_key(&["stat", p]).ok().contains("encryption   none"));
}

#[test]
fn verify_repair_quarantines_a_damaged_encrypted_entry() {
    let (_dir, path) = store_dir();
    let p = path.to_str().unwrap();
    with_key(&["init", p, "--encrypt"]).ok();
    with_key(&["set", p, "a", "1"]).ok();
    with_key(&["set", p, "b", "2"]).ok();
    let a = with_key(&["path", p, "a"]).ok();
    let b = with_key(&["path", p, "b"]).ok();
    let (a, b) = (Path::new(a.trim_end()), Path::new(b.trim_end()));
    // b's file put in a's place: its key does not match the name.
    fs::copy(b, a).unwrap();
    let run = with_key(&["verify", p]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.out().ends_with(": 1 problem\n"), "{}", run.out());
    let run = with_key(&["verify", "--repair", p]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.out().contains("moved to"), "{}", run.out());
    // An encrypted file's key is inside its ciphertext: not named.
    assert!(!run.out().contains("held the key"), "{}", run.out());
    assert!(
        with_key(&["verify", p])
            .ok()
            .contains("checked 1 entry: no problems")
    );
    assert_eq!(with_key(&["get", p, "a"]).code, 1);
}

#[test]
fn no_argument_gives_a_key_or_passphrase() {
    let (dir, path) = store_dir();
    let p = path.to_str().unwrap();
    with_key(&["init", p, "--encrypt"]).ok();
    let new = dir.path().join("new");
    let n = new.to_str().unwrap();
    let mut commands = keyed_commands(p);
    commands.push(vec!["stat", p]);
    commands.push(vec!["init", n, "--encrypt"]);
    for flag in ["--key", "--passphrase", "--password", "-k", "-p"] {
        for args in &commands {
            // The flag right after the subcommand, before any value it could be taken for.
            let mut with_flag = vec![args[0], flag, KEY_HEX];
            with_flag.extend(&args[1..]);
            let run = with_key(&with_flag);
            assert_eq!(run.code, 2, "{with_flag:?}: {run:?}");
            assert!(
                run.stderr.contains("unexpected argument"),
                "{with_flag:?}: {run:?}"
            );
            assert!(run.stdout.is_empty());
            // And before the subcommand.
            let mut first = vec![flag, KEY_HEX];
            first.extend(args);
            assert_eq!(with_key(&first).code, 2, "{first:?}");
        }
    }
    assert!(!new.exists());
    // Help names the variables, and no option takes a key.
    let help = dirkv(["--help"]).ok();
    assert!(
        help.contains("DIRKV_KEY") && help.contains("DIRKV_PASSPHRASE"),
        "{help}"
    );
    for cmd in [
        "init", "ls", "get", "set", "rm", "path", "stat", "verify", "export", "import",
    ] {
        let help = dirkv([cmd, "--help"]).ok();
        for option in help
            .lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with('-'))
        {
            let name = option.split([' ', ',']).next().unwrap_or_default();
            assert!(
                ["--key-hex", "--key-type", "--key-file"].contains(&name)
                    || !(name.contains("key") || name.contains("pass")),
                "{cmd}: {option}"
            );
        }
    }
    // --key-file names the entry's key (for keys too long for an argument), never the
    // encryption key: a file holding the store's key does not open the store.
    let key_file = dir.path().join("store-key");
    fs::write(&key_file, KEY_HEX).unwrap();
    for args in [["get", "--key-file"], ["path", "--key-file"]] {
        let run = dirkv([args[0], args[1], key_file.to_str().unwrap(), p]);
        assert_eq!(run.code, 4, "{run:?}");
        assert!(run.stderr.contains("DIRKV_KEY"), "{run:?}");
    }
}

/// Quotes `s` for `sh`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs `dirkv ARGS` on a terminal of its own (`script -qec`), with no key variables and
/// nothing on its standard input but what is typed: each answer is typed once its prompt
/// has shown. Returns the exit status and all the terminal showed, or `None` when
/// `script` (util-linux) is not installed.
fn at_terminal(args: &[&str], answers: &[(&str, &str)]) -> Option<(i32, String)> {
    let have_script = Command::new("script")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have_script {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return None;
    }
    let line = std::iter::once(exe().to_str().unwrap())
        .chain(args.iter().copied())
        .map(sh_quote)
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in KEY_VARS {
        cmd.env_remove(name);
    }
    let mut child = cmd.spawn().expect("spawn script");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let shown = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let shown = Arc::clone(&shown);
        std::thread::spawn(move || {
            let mut buf = [0u8; 256];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                shown.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = 0;
    for (prompt, answer) in answers {
        loop {
            let text = String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
            if let Some(at) = text[seen..].find(prompt) {
                seen += at + prompt.len();
                break;
            }
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                panic!("no prompt {prompt:?} in {text:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("dirkv did not finish at the terminal");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    reader.join().unwrap();
    let text = String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
    Some((status.code().unwrap_or(-1), text))
}

#[test]
fn at_a_terminal_the_passphrase_is_asked_for_without_echo() {
    let (dir, path) = store_dir();
    let p = path.to_str().unwrap();
    let phrase = "typed at the terminal";
    let new_prompts = [
        ("New passphrase for", phrase),
        ("Repeat the passphrase:", phrase),
    ];
    let Some((code, shown)) = at_terminal(&["init", p, "--encrypt"], &new_prompts) else {
        return;
    };
    assert_eq!(code, 0, "{shown}");
    assert!(
        !shown.contains(phrase),
        "the passphrase was echoed: {shown:?}"
    );
    let stat = dirkv(["stat", p]).ok();
    assert!(stat.contains("Argon2id"), "{stat}");
    with_phrase(&["set", p, "home", "[1,2]"], phrase).ok();

    // An existing store: asked once.
    let (code, shown) = at_terminal(&["get", p, "home"], &[("Passphrase for", phrase)]).unwrap();
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("[1,2]"), "{shown}");
    assert!(
        !shown.contains(phrase),
        "the passphrase was echoed: {shown:?}"
    );

    // A wrong one: one line, status 4.
    let (code, shown) = at_terminal(&["get", p, "home"], &[("Passphrase for", "not it")]).unwrap();
    assert_eq!(code, 4, "{shown}");
    assert!(
        shown.contains("wrong encryption key or passphrase"),
        "{shown}"
    );
    assert!(shown.contains("the passphrase typed"), "{shown}");

    // Two passphrases that differ: nothing is created.
    let other = dir.path().join("other");
    let o = other.to_str().unwrap();
    let differ = [
        ("New passphrase for", "one thing"),
        ("Repeat the passphrase:", "another"),
    ];
    let (code, shown) = at_terminal(&["init", o, "--encrypt"], &differ).unwrap();
    assert_eq!(code, 2, "{shown}");
    assert!(shown.contains("the passphrases differ"), "{shown}");
    assert!(!other.exists());

    // A store with a 32-byte key: no prompt (a key cannot be typed), the variable named.
    let keyed = dir.path().join("keyed");
    let k = keyed.to_str().unwrap();
    with_key(&["init", k, "--encrypt"]).ok();
    let (code, shown) = at_terminal(&["ls", k], &[]).unwrap();
    assert_eq!(code, 4, "{shown}");
    assert!(shown.contains("set DIRKV_KEY"), "{shown}");
    assert!(!shown.contains("Passphrase for"), "{shown}");
}
