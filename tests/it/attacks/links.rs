//! Links planted at a store's own names: `tmp/` (attack 1), `lock` (attack 3) and
//! `quarantine` (attack 6), each first planted and then swapped in a loop.

use super::*;

// ---------------------------------------------------------------------------------------
// 1. tmp/ replaced by a link to another folder

/// Every writable open, write and sweep of a store whose `tmp/` is a link (only opens and
/// writes unless `full`).
fn use_store_with_odd_tmp(s: &Path, full: bool, tally: &mut Tally) {
    let fast = || Strings::options().durability(Durability::Fast);
    let opened = fast().open(s, Exists::Update);
    tally.add("open", &opened);
    if let Ok(store) = opened {
        tally.add("set", &store.set("k", &"v".to_owned()));
        tally.add(
            "ttl",
            &store.set_with_ttl("t", &"v".to_owned(), Duration::from_secs(3600)),
        );
        if !full {
            return;
        }
        tally.add("purge", &store.purge_expired());
        tally.add("sweep", &store.sweep_temps());
    }
    // Every file is "stale" to this one.
    let opened = fast()
        .stale_temp_age(Duration::ZERO)
        .open(s, Exists::Update);
    tally.add("open-stale0", &opened);
    if let Ok(store) = opened {
        tally.add("sweep-stale0", &store.sweep_temps());
    }
    let raw = RawStore::open(s, Access::ReadWrite);
    tally.add("raw-open", &raw);
    if let Ok(raw) = raw {
        tally.add("raw-sweep", &raw.sweep_temps());
    }
}

#[test]
fn a_tmp_folder_replaced_by_a_link_is_never_swept_through() {
    let arena = Arena::new(&["k"]);
    let s = arena.store();
    let store: Strings = Store::open(&s, Exists::OpenOrCreate).unwrap();
    store.set("k", &"v".to_owned()).unwrap();
    drop(store);
    share(&s);
    let before = arena.outside();

    // The issue's steps: `rm -r S/tmp; ln -s $PWD/victim S/tmp`, then writable opens.
    attack_sh(
        r#"rm -r "$1/tmp" && ln -s "$2" "$1/tmp""#,
        &[&s, &arena.victim],
    );
    let mut tally = Tally::default();
    for _ in 0..3 {
        use_store_with_odd_tmp(&s, true, &mut tally);
    }
    // Replace empties the store and sweeps it fully.
    let replaced = Strings::open(&s, Exists::Replace);
    tally.add("replace", &replaced);
    drop(replaced);
    #[cfg(feature = "cli")]
    {
        let p = s.to_str().unwrap();
        let set = dirkv_within(&["set", p, "k", r#""v""#], &[], Duration::from_secs(30));
        assert_eq!(set.code(), Some(0), "{set:?}");
        let verify = dirkv_within(&["verify", "--repair", p], &[], Duration::from_secs(30));
        assert!(exited(&verify), "{verify:?}");
        assert!(!verify.stdout.contains("moved to"), "{verify:?}");
    }
    eprintln!("tmp/ as a link: {tally:?}");
    // The store still works with its tmp/ a link; the link is left as it is.
    assert_eq!(tally.count("open:ok"), 3, "{tally:?}");
    assert_eq!(tally.count("set:ok"), 3, "{tally:?}");
    assert!(fs::symlink_metadata(s.join("tmp")).unwrap().is_symlink());
    arena
        .outside()
        .assert_same(&before, "writable opens of a store whose tmp/ is a link");
    assert!(arena.victim.join("doc").exists());

    // The race: tmp/ swapped with the link again and again while the victim opens, writes
    // and closes stores (whose markers are made and removed in tmp/).
    if !can_race("tmp/ swapped with a link in a loop") {
        return;
    }
    fs::remove_file(s.join("tmp")).unwrap();
    fs::create_dir(s.join("tmp")).unwrap();
    chmod(&s.join("tmp"), 0o777);
    let moves = [Move::Exchange("tmp", "tmplink", &arena.victim)];
    let Some(attacker) = Attacker::start("tmp/ swapped with a link", &s, &moves, RACE) else {
        return;
    };
    let mut tally = Tally::default();
    let until = Instant::now() + RACE;
    let mut rounds = 0;
    while Instant::now() < until && rounds < 10_000 {
        rounds += 1;
        use_store_with_odd_tmp(&s, rounds % 16 == 0, &mut tally);
    }
    let swaps = attacker.finish();
    eprintln!("tmp/ swapped {swaps} times during {rounds} rounds: {tally:?}");
    assert!(swaps > 0 && tally.count("set:ok") > 0, "{tally:?}");
    arena
        .outside()
        .assert_same(&before, "writable opens while tmp/ is swapped with a link");
}

// ---------------------------------------------------------------------------------------
// 3. A link planted at `lock`

/// Empties the folder `dir` (links removed as names, never followed).
fn empty_folder(dir: &Path) {
    for item in fs::read_dir(dir).unwrap().flatten() {
        let p = item.path();
        let is_dir = fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir());
        let _ = if is_dir {
            fs::remove_dir_all(&p)
        } else {
            fs::remove_file(&p)
        };
    }
}

#[test]
fn a_link_planted_at_lock_is_never_created_through() {
    let arena = Arena::new(&[]);
    let s = arena.store();
    let store: Strings = Store::open(&s, Exists::OpenOrCreate).unwrap();
    store.set("k", &"v".to_owned()).unwrap();
    drop(store);
    share(&s);
    let planted = arena.victim.join("planted-by-nobody");
    let before = arena.outside();

    // An existing store's lock replaced by a (dangling) link into the root-only folder:
    // writable opens refuse it, read-only ones do not need it.
    attack_sh(r#"rm "$1/lock" && ln -s "$2" "$1/lock""#, &[&s, &planted]);
    for timeout in [None, Some(Duration::from_millis(100))] {
        for mode in [Exists::Update, Exists::OpenOrCreate, Exists::Replace] {
            let err = Strings::options()
                .lock_timeout(timeout)
                .open(&s, mode)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Corrupt, "{mode:?}: {err}");
            assert_eq!(err.path(), Some(s.join("lock").as_path()), "{err}");
        }
    }
    assert_eq!(
        RawStore::open(&s, Access::ReadWrite).unwrap_err().kind(),
        ErrorKind::Corrupt
    );
    let ro: Strings = Store::options()
        .read_only(true)
        .open(&s, Exists::Update)
        .unwrap();
    assert_eq!(ro.get("k").unwrap().as_deref(), Some("v"));
    #[cfg(feature = "cli")]
    {
        let p = s.to_str().unwrap();
        let set = dirkv_within(&["set", p, "k", r#""w""#], &[], Duration::from_secs(30));
        assert_eq!(set.code(), Some(4), "{set:?}");
        assert!(set.stderr.contains("lock"), "{set:?}");
    }
    assert!(!planted.exists() && fs::symlink_metadata(&planted).is_err());
    arena
        .outside()
        .assert_same(&before, "opens of a store whose lock is a link");

    // The race: a store created in an empty folder of the attacker's while they plant and
    // remove a link at `lock` in a loop (the folder is emptied again after each creation).
    if !can_race("a link toggled at lock during creation") {
        return;
    }
    let new = arena.team.join("new");
    attack_sh(r#"mkdir -m 0777 "$1""#, &[&new]);
    let moves = [Move::Toggle("lock", &planted)];
    let Some(attacker) = Attacker::start("a link toggled at lock", &new, &moves, RACE) else {
        return;
    };
    let mut tally = Tally::default();
    let until = Instant::now() + RACE;
    let mut rounds = 0;
    while Instant::now() < until && rounds < 20_000 {
        rounds += 1;
        let opened = Strings::options()
            .durability(Durability::Fast)
            .open(&new, Exists::OpenOrCreate);
        tally.add("create", &opened);
        if opened.is_ok() {
            let lock = fs::symlink_metadata(new.join("lock")).unwrap();
            assert!(
                lock.is_file(),
                "the store's lock is a {:?}",
                lock.file_type()
            );
            drop(opened);
            empty_folder(&new);
        }
        #[cfg(feature = "cli")]
        if rounds % 50 == 0 {
            let init = dirkv_within(
                &["init", new.to_str().unwrap()],
                &[],
                Duration::from_secs(30),
            );
            assert!(exited(&init), "{init:?}");
            empty_folder(&new);
        }
    }
    let toggles = attacker.finish();
    eprintln!("lock link planted {toggles} times during {rounds} creations: {tally:?}");
    assert!(toggles > 0 && rounds > 0, "{tally:?}");
    assert!(
        fs::symlink_metadata(&planted).is_err(),
        "root created the link's target"
    );
    arena
        .outside()
        .assert_same(&before, "creations while a link is planted at lock");
}

// ---------------------------------------------------------------------------------------
// 6. A link planted at `quarantine`

#[test]
fn a_link_at_quarantine_never_takes_files_out_of_the_store() {
    let arena = Arena::new(&[]);
    let s = arena.store();
    let store: Strings = Store::open(&s, Exists::OpenOrCreate).unwrap();
    for n in 0..40 {
        store.set(&format!("bad-{n}"), &"v".to_owned()).unwrap();
    }
    store.set("good", &"v".to_owned()).unwrap();
    let bad = store.path_of("bad-0");
    drop(store);
    share(&s);
    let before = arena.outside();

    // The attacker damages an entry (its shard folder is writable), leaves a file of
    // their own, and plants a link at `quarantine` to the victim folder.
    attack_sh(
        r#"printf garbage > "$2.new" && mv -f "$2.new" "$2" && echo mine > "$1/foreign.txt" && ln -s "$3" "$1/quarantine""#,
        &[&s, &bad, &arena.victim],
    );
    let raw = RawStore::open(&s, Access::ReadWrite).unwrap();
    let mut q = raw.quarantine();
    for path in [bad.clone(), s.join("foreign.txt")] {
        let err = q.move_in(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{}: {err}", path.display());
    }
    let err = q.move_in(&s.join("quarantine")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    drop(q);
    drop(raw);
    #[cfg(feature = "cli")]
    {
        let p = s.to_str().unwrap();
        let run = dirkv_within(&["verify", "--repair", p], &[], Duration::from_secs(60));
        assert_eq!(run.code(), Some(3), "{run:?}");
        assert!(!run.stdout.contains("moved to"), "{}", run.stdout);
        assert!(run.stdout.contains("cannot quarantine"), "{}", run.stdout);
    }
    assert!(bad.is_file() && s.join("foreign.txt").is_file());
    assert!(
        fs::symlink_metadata(s.join("quarantine"))
            .unwrap()
            .is_symlink()
    );
    arena
        .outside()
        .assert_same(&before, "quarantining while quarantine/ is a link");

    // The race: quarantine/ a real folder, exchanged with the link in a loop while damaged
    // entries are quarantined one by one.
    if !can_race("quarantine/ swapped with a link in a loop") {
        return;
    }
    fs::remove_file(s.join("quarantine")).unwrap();
    fs::create_dir(s.join("quarantine")).unwrap();
    chmod(&s.join("quarantine"), 0o777);
    let raw = RawStore::open(&s, Access::ReadWrite).unwrap();
    let damaged: Vec<PathBuf> = (0..40)
        .map(|n| raw.path_of(format!("bad-{n}").as_bytes()))
        .collect();
    for p in &damaged {
        fs::write(p, b"garbage").unwrap();
    }
    let moves = [Move::Exchange("quarantine", "qlink", &arena.victim)];
    let Some(attacker) = Attacker::start("quarantine/ swapped", &s, &moves, RACE) else {
        return;
    };
    let mut tally = Tally::default();
    let until = Instant::now() + RACE;
    while Instant::now() < until {
        let mut q = raw.quarantine();
        for p in &damaged {
            if p.exists() {
                tally.add("move", &q.move_in(p));
            }
        }
        if damaged.iter().all(|p| !p.exists()) {
            break;
        }
    }
    let swaps = attacker.finish();
    eprintln!("quarantine/ swapped {swaps} times: {tally:?}");
    assert!(swaps > 0 && tally.count("move:ok") > 0, "{tally:?}");
    arena.outside().assert_same(
        &before,
        "quarantining while quarantine/ is swapped with a link",
    );
    // What was moved is still inside the store (in whichever name holds the real folder).
    let inside = common::all_files(&s).len();
    assert!(inside >= damaged.len(), "{inside} files left in the store");
}
