//! Planted manifests of encrypted stores: a huge Argon2id cost (attack 9), a plain
//! manifest swapped in while a key is set (attack 10).

use super::*;
use dirkv::EncryptionKey;

// ---------------------------------------------------------------------------------------
// 9. A planted manifest with a huge Argon2id cost

/// Rewrites the `name = …` line of the manifest of `s` to `value`.
fn set_manifest_line(s: &Path, name: &str, value: &str) {
    let text = fs::read_to_string(s.join("DIRKV")).unwrap();
    let mut found = false;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l.split('=').next().map(str::trim) == Some(name) {
                found = true;
                format!("{name} = {value}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert!(found, "no {name} in {text}");
    let new = s.join("DIRKV.planted");
    fs::write(&new, lines.join("\n") + "\n").unwrap();
    fs::rename(&new, s.join("DIRKV")).unwrap();
}

#[test]
fn a_planted_huge_argon2_cost_is_refused_at_once() {
    let arena = Arena::new(&[]);
    let s = arena.store();
    let phrase = "correct horse battery staple";
    let store: Strings = Store::options()
        .encryption(EncryptionKey::passphrase_with_cost(phrase, 64, 1))
        .open(&s, Exists::OpenOrCreate)
        .unwrap();
    store.set("k", &"secret".to_owned()).unwrap();
    drop(store);
    let good = fs::read_to_string(s.join("DIRKV")).unwrap();
    let before = arena.outside();
    let open = || {
        Strings::options()
            .encryption(EncryptionKey::passphrase(phrase))
            .open(&s, Exists::Update)
            .map(drop)
    };
    // The issue's manifest (4 GiB, 256 passes), and each bound passed on its own.
    let costs = [
        ("4194304", "256", "1"),
        ("4194304", "1", "1"),
        ("64", "256", "1"),
        ("64", "1", "255"),
        ("262145", "8", "8"),
        ("262144", "9", "8"),
        ("262144", "8", "9"),
    ];
    for (memory, passes, lanes) in costs {
        fs::write(s.join("DIRKV"), &good).unwrap();
        set_manifest_line(&s, "encryption_kdf_memory_kib", memory);
        set_manifest_line(&s, "encryption_kdf_iterations", passes);
        set_manifest_line(&s, "encryption_kdf_parallelism", lanes);
        let start = Instant::now();
        let err = open().unwrap_err();
        let took = start.elapsed();
        assert_eq!(
            err.kind(),
            ErrorKind::Corrupt,
            "{memory} KiB {passes} {lanes}: {err}"
        );
        assert!(took < Duration::from_secs(2), "refused only after {took:?}");
        #[cfg(feature = "cli")]
        {
            let p = s.to_str().unwrap();
            let run = dirkv_within(
                &["get", p, "k"],
                &[("DIRKV_PASSPHRASE", phrase)],
                Duration::from_secs(60),
            );
            assert_eq!(run.code(), Some(4), "{run:?}");
            assert!(
                run.took < Duration::from_secs(10),
                "dirkv took {:?}",
                run.took
            );
            assert!(run.stdout.is_empty());
        }
    }
    // The highest cost accepted: one derivation, bounded (a wrong check, as the cost is
    // not the one the store was made with).
    fs::write(s.join("DIRKV"), &good).unwrap();
    set_manifest_line(&s, "encryption_kdf_memory_kib", "262144");
    set_manifest_line(&s, "encryption_kdf_iterations", "8");
    set_manifest_line(&s, "encryption_kdf_parallelism", "8");
    let start = Instant::now();
    let err = open().unwrap_err();
    let took = start.elapsed();
    eprintln!("the highest accepted Argon2id cost (256 MiB, 8 passes, 8 lanes): {took:?}");
    assert_eq!(err.kind(), ErrorKind::WrongKey, "{err}");
    assert!(took < Duration::from_secs(60), "{took:?}");
    fs::write(s.join("DIRKV"), &good).unwrap();
    arena
        .outside()
        .assert_same(&before, "opens of a planted manifest");
}

// ---------------------------------------------------------------------------------------
// 10. An encrypted store's manifest swapped for a plain one while a key is set

/// Whether `needle` appears in any file under `root`.
fn anywhere_in(root: &Path, needle: &str) -> bool {
    common::all_files(root).iter().any(|rel| {
        fs::read(root.join(rel))
            .unwrap_or_default()
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    })
}

#[test]
fn a_plain_manifest_swapped_in_never_gets_secrets_or_gives_forgeries() {
    let key = [0x5au8; 32];
    let hex_key = hex::encode(key);
    let arena = Arena::new(&[]);
    let s = arena.store();
    let keyed = || Strings::options().encryption(EncryptionKey::from_bytes(key));
    let store = keyed().open(&s, Exists::OpenOrCreate).unwrap();
    store.set("token", &"first secret".to_owned()).unwrap();
    store.set("other", &"other secret".to_owned()).unwrap();
    let token_file = store.path_of("token");
    let other_file = store.path_of("other");
    share(&s);
    let before = arena.outside();

    // A forged plain store, made elsewhere: its manifest replaces the store's, its entry of
    // "token" is planted at the plain name of "token", and the encrypted entry of "other"
    // is moved over the one of "token".
    let forger = arena.team.join("forger");
    let forged: Strings = Store::open(&forger, Exists::OpenOrCreate).unwrap();
    forged.set("token", &"forged".to_owned()).unwrap();
    let plain_rel = forged.path_of("token");
    let plain_rel = plain_rel.strip_prefix(&forger).unwrap();
    share(&forger);
    attack_sh(
        r#"cp "$2/DIRKV" "$1/DIRKV.new" && mv -f "$1/DIRKV.new" "$1/DIRKV" && cp "$2/$3" "$1/$3.new" && mv -f "$1/$3.new" "$1/$3" && mv -f "$5" "$4""#,
        &[&s, &forger, plain_rel, &token_file, &other_file],
    );

    // The handle opened before the swap keeps the store's keys: its writes are sealed,
    // and it never takes the entry of "other" (moved to "token"'s name: encrypted files
    // are 0600, the attacker can rename them, not read them) for "token"'s value.
    store.set("late", &"third secret".to_owned()).unwrap();
    let err = store.get("token").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert_eq!(store.get("other").unwrap(), None);
    drop(store);
    // New opens with the key are refused: the manifest says the store is not encrypted.
    for mode in [Exists::Update, Exists::OpenOrCreate] {
        let err = keyed().open(&s, mode).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::IncompatibleFormat, "{err}");
    }
    let err = RawStore::open_encrypted(&s, Access::ReadWrite, EncryptionKey::from_bytes(key))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IncompatibleFormat, "{err}");
    #[cfg(feature = "cli")]
    {
        let p = s.to_str().unwrap();
        let env = [("DIRKV_KEY", hex_key.as_str())];
        let limit = Duration::from_secs(30);
        let set = dirkv_within(&["set", p, "token", r#""second secret""#], &env, limit);
        assert_eq!(set.code(), Some(4), "{set:?}");
        assert!(set.stderr.contains("not encrypted"), "{set:?}");
        let get = dirkv_within(&["get", p, "token"], &env, limit);
        assert_eq!(get.code(), Some(4), "{get:?}");
        assert!(get.stdout.is_empty(), "{get:?}");
        let import = "{\"key\":\"imported\",\"value\":\"fourth secret\"}\n";
        let import_file = arena.team.join("import.jsonl");
        fs::write(&import_file, import).unwrap();
        let imp = dirkv_within(
            &["import", p, "--in", import_file.to_str().unwrap()],
            &env,
            limit,
        );
        assert_ne!(imp.code(), Some(0), "{imp:?}");
        fs::remove_file(&import_file).unwrap();
    }
    let _ = &hex_key;
    for secret in [
        "second secret",
        "third secret",
        "fourth secret",
        "first secret",
    ] {
        assert!(
            !anywhere_in(&s, secret),
            "{secret} is in the store in plaintext"
        );
    }
    arena
        .outside()
        .assert_same(&before, "writes after a plain manifest was swapped in");
}
