//! The store's path and its shard folders swapped with links while the victim works
//! (attacks 2 and 4), and handles kept across `destroy()` while the path is made again
//! (attack 11); with the two weaknesses found on the way.

use super::*;

// ---------------------------------------------------------------------------------------
// 2. The store path swapped for a link between open and destroy()

#[test]
fn destroy_never_deletes_what_a_swapped_in_link_leads_to() {
    let arena = Arena::new(&["k"]);
    let s = arena.store();
    let before = arena.outside();

    // The issue's steps, with both handles: the store moved aside and a link to the victim
    // folder put at its path after it was opened.
    for raw in [false, true] {
        let store: Strings = Store::open(&s, Exists::OpenOrCreate).unwrap();
        store.set("k", &"v".to_owned()).unwrap();
        let raw_store = RawStore::open(&s, Access::ReadWrite).unwrap();
        let moved = arena.team.join("S.moved");
        attack_sh(
            r#"mv "$1" "$2" && ln -s "$3" "$1""#,
            &[&s, &moved, &arena.victim],
        );
        let err = if raw {
            drop(store);
            raw_store.destroy().unwrap_err()
        } else {
            drop(raw_store);
            store.destroy().unwrap_err()
        };
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(fs::symlink_metadata(&s).unwrap().is_symlink());
        assert!(
            moved.join("DIRKV").is_file(),
            "the store itself is left too"
        );
        fs::remove_file(&s).unwrap();
        fs::remove_dir_all(&moved).unwrap();
    }
    arena
        .outside()
        .assert_same(&before, "destroy after the store path became a link");

    // The race: the store path exchanged with a link to the victim folder in a loop while
    // the victim creates, writes and destroys (and opens with Replace).
    if !can_race("store path swapped with a link during destroy") {
        return;
    }
    let moves = [Move::Exchange("S", "L", &arena.victim)];
    let Some(attacker) = Attacker::start("store path swapped", &arena.team, &moves, RACE) else {
        return;
    };
    let mut tally = Tally::default();
    let until = Instant::now() + RACE;
    let mut rounds = 0;
    while Instant::now() < until && rounds < 5_000 {
        rounds += 1;
        let fast = || Strings::options().durability(Durability::Fast);
        let opened = fast().open(&s, Exists::OpenOrCreate);
        tally.add("open", &opened);
        let Ok(store) = opened else { continue };
        tally.add("set", &store.set("k", &"v".to_owned()));
        if rounds % 3 == 0 {
            drop(store);
            let replaced = fast().open(&s, Exists::Replace);
            tally.add("replace", &replaced);
            continue;
        }
        tally.add("destroy", &store.destroy());
    }
    let swaps = attacker.finish();
    eprintln!("store path swapped {swaps} times during {rounds} rounds: {tally:?}");
    // Both sides ran (destroys that found the link at the path were refused, the others
    // deleted the real store).
    let destroys = tally.count("destroy:ok") + tally.count("destroy:NotFound");
    assert!(swaps > 0 && destroys > 0, "{tally:?}");
    arena.outside().assert_same(
        &before,
        "destroy while the store path is swapped with a link",
    );
    arena.check_private(&["k"]);
}

/// Found while attacking (not one of the issue's twelve): an attacker who can write into
/// the store's parent folder puts a link to another store (here a private one in a
/// root-only folder) at the store path before the victim's first open, or swaps one in at
/// the moment of an open. The kernel's `fs.protected_symlinks` covers only sticky folders;
/// a team folder of mode 0777 is not sticky. dirkv follows a link at the store path only
/// when it belongs to the caller or root (`fs::store_path`), so the
/// open is refused as `NotAStore` and the other store is never read, written or deleted.
#[test]
fn a_link_to_another_store_at_the_store_path_is_never_opened() {
    let arena = Arena::new(&["k"]);
    let s = arena.store();
    let before = arena.outside();
    // Planted before the victim's first open: `ln -s <private store> S`.
    attack_sh(r#"ln -s "$2" "$1""#, &[&s, &arena.private]);
    let opened = Strings::options()
        .durability(Durability::Fast)
        .open(&s, Exists::OpenOrCreate);
    if let Ok(store) = opened {
        let private = store.get("private-key").ok().flatten();
        assert!(private.is_none(), "opened the private store through a link");
        store.set("k", &"v".to_owned()).unwrap();
        store.destroy().unwrap();
    }
    arena
        .outside()
        .assert_same(&before, "an open of a link to another store");

    // Swapped in at the moment of an open.
    if !can_race("a link to another store swapped in at the store path before open") {
        return;
    }
    fs::remove_file(&s).unwrap();
    let moves = [Move::Exchange("S", "L", &arena.private)];
    let Some(attacker) = Attacker::start("a link to a private store", &arena.team, &moves, RACE)
    else {
        return;
    };
    let mut tally = Tally::default();
    let until = Instant::now() + RACE;
    let mut rounds = 0;
    while Instant::now() < until && rounds < 5_000 {
        rounds += 1;
        let opened = Strings::options()
            .durability(Durability::Fast)
            .open(&s, Exists::OpenOrCreate);
        tally.add("open", &opened);
        let Ok(store) = opened else { continue };
        if store.get("private-key").ok().flatten().is_some() {
            tally.add("opened-the-private-store", &Ok(()));
        }
        tally.add("set", &store.set("k", &"v".to_owned()));
        tally.add("destroy", &store.destroy());
        if !arena.private.exists() {
            break;
        }
    }
    let swaps = attacker.finish();
    eprintln!("store path swapped {swaps} times during {rounds} rounds: {tally:?}");
    arena
        .outside()
        .assert_same(&before, "opens while a link to another store is swapped in");
}

// ---------------------------------------------------------------------------------------
// 4. A shard folder swapped back and forth with a link

/// The victim's side of the shard swap: for `time`, opens the store afresh (so shard
/// folders are opened again), writes, reads, removes and clears keys of the two swapped
/// shards. Panics if a read returns another store's value.
fn shard_victim(s: &Path, time: Duration) -> Tally {
    let (ka, kc) = (keys_in_shard(0xab, 4), keys_in_shard(0xcd, 4));
    let mut tally = Tally::default();
    let until = Instant::now() + time;
    let mut round = 0usize;
    let mine = "the victim's value".to_owned();
    while Instant::now() < until && round < 20_000 {
        round += 1;
        let opened = Strings::options()
            .durability(Durability::Fast)
            .lock_timeout(Some(Duration::from_secs(5)))
            .open(s, Exists::Update);
        tally.add("open", &opened);
        let Ok(store) = opened else { continue };
        let (a, c) = (&ka[round % 4], &kc[round % 4]);
        tally.add("set", &store.set(a, &mine));
        tally.add("set", &store.set(c, &mine));
        tally.add("set_many", &store.set_many([(a, &mine), (c, &mine)]));
        tally.add("update", &store.update(c, |_| Some(mine.clone())));
        for key in [a, c] {
            let got = store.get(key);
            if let Ok(Some(v)) = &got {
                assert_ne!(v, PRIVATE, "read another store's value through a link");
            }
            tally.add("get", &got);
            tally.add("contains", &store.contains_key(key));
        }
        tally.add("remove", &store.remove(a));
        tally.add("remove_many", &store.remove_many([c]));
        if round.is_multiple_of(3) {
            tally.add("clear", &store.clear());
        }
        if round.is_multiple_of(8) {
            tally.add("sweep", &store.sweep_temps());
        }
        for item in store.iter() {
            if let Ok((_, v)) = &item {
                assert_ne!(v, PRIVATE, "listed another store's value through a link");
            }
            tally.add("iter", &item);
        }
    }
    tally
}

/// Child side of `a_shard_swapped_with_a_link_is_never_written_cleared_or_read_through`:
/// the victim with few descriptors, so that its shard handles are not kept but opened for
/// each call.
#[test]
#[ignore = "child process: run by its parent test"]
fn child_shard_victim() {
    common::child_entry();
    let s = PathBuf::from(std::env::var("DIRKV_STORE").unwrap());
    // Spend this process's budget of kept shard handles (a quarter of 64) on another
    // handle of the store, kept open.
    let hog: Strings = Store::open(&s, Exists::Update).unwrap();
    for shard in (0..=255u8).filter(|b| ![0xab, 0xcd].contains(b)).take(32) {
        let key = &keys_in_shard(shard, 1)[0];
        hog.set(key, &"hog".to_owned()).unwrap();
    }
    let tally = shard_victim(&s, RACE / 2);
    println!("VICTIM {tally:?}");
    assert!(tally.count("set:ok") > 0, "{tally:?}");
    drop(hog);
}

#[test]
fn a_shard_swapped_with_a_link_is_never_written_cleared_or_read_through() {
    if !can_race("shard folders swapped with links in a loop") {
        return;
    }
    let (ka, kc) = (keys_in_shard(0xab, 4), keys_in_shard(0xcd, 4));
    let keys: Vec<&str> = ka.iter().chain(&kc).map(String::as_str).collect();
    let arena = Arena::new(&keys);
    let s = arena.store();
    let store: Strings = Store::open(&s, Exists::OpenOrCreate).unwrap();
    store.set(&ka[0], &"v".to_owned()).unwrap();
    drop(store);
    share(&s);
    let before = arena.outside();
    // Shard ab swapped with a link to the private store's shard ab (whose entries have the
    // same names), shard cd with a link to the victim folder (which has files named like
    // the entries of shard cd's keys).
    let private_ab = arena.private.join("ab");
    let moves = [
        Move::Exchange("ab", "link-ab", &private_ab),
        Move::Exchange("cd", "link-cd", &arena.victim),
    ];
    let Some(attacker) = Attacker::start("shards swapped", &s, &moves, RACE * 2) else {
        return;
    };
    let tally = shard_victim(&s, RACE);
    eprintln!("shard victim, kept handles: {tally:?}");
    let out = common::child_test!(child_shard_victim)
        .under("sh", ["-c", "ulimit -n 64 && exec \"$0\" \"$@\""])
        .env("DIRKV_STORE", &s)
        .stderr(Stdio::inherit())
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the victim with 64 descriptors failed: {stdout}"
    );
    eprintln!(
        "shard victim, handles opened per call: {}",
        stdout
            .lines()
            .find_map(|l| common::tagged(l, "VICTIM "))
            .unwrap_or("?")
    );
    let swaps = attacker.finish();
    eprintln!("shards swapped {swaps} times");
    assert!(swaps > 0 && tally.count("set:ok") > 0, "{tally:?}");
    arena.outside().assert_same(
        &before,
        "writes and clears while shards are swapped with links",
    );
    arena.check_private(&keys);
}

// ---------------------------------------------------------------------------------------
// 11. A handle kept across destroy() while the path is made again

/// Every kind of change through `old`, a handle of a store destroyed by another handle:
/// all fail, none reaches what is at the path now.
fn changes_through_a_stale_handle(old: &Strings, raw: &RawStore, tally: &mut Tally) {
    let v = "written through a stale handle".to_owned();
    tally.add("set", &old.set("late", &v));
    tally.add("set_many", &old.set_many([("late2", &v)]));
    tally.add("update", &old.update("late3", |_| Some(v.clone())));
    tally.add("set_if_absent", &old.set_if_absent("late4", &v));
    tally.add("remove", &old.remove("k"));
    tally.add("clear", &old.clear());
    tally.add("raw-set", &raw.set(b"late5", b"\xa1v"));
    tally.add(
        "raw-quarantine",
        &raw.quarantine().move_in(&raw.path_of(b"k")),
    );
    tally.add("raw-restore", &raw.restore_folders());
    let got = old.get("k");
    if let Ok(Some(v)) = &got {
        assert_ne!(
            v, "the new store's value",
            "read the new store through the old handle"
        );
    }
}

#[test]
fn a_handle_kept_across_destroy_never_writes_into_what_is_at_the_path_now() {
    let arena = Arena::new(&[]);
    let s = arena.store();
    let fast = || Strings::options().durability(Durability::Fast);
    let fresh = || {
        let a: Strings = fast().open(&s, Exists::OpenOrCreate).unwrap();
        a.set("k", &"v".to_owned()).unwrap();
        let b: Strings = fast().open(&s, Exists::Update).unwrap();
        let raw = RawStore::open(&s, Access::ReadWrite).unwrap();
        b.set("b", &"v".to_owned()).unwrap();
        (a, b, raw)
    };
    let before = arena.outside();

    // Made again: as an empty folder of the attacker's, as a link to the victim folder, as
    // a new store of root's.
    for remade in ["attacker's folder", "link", "new store"] {
        let (a, old, raw) = fresh();
        a.destroy().unwrap();
        assert!(
            fs::symlink_metadata(&s).is_err(),
            "destroy left {}",
            s.display()
        );
        let new_store = match remade {
            "attacker's folder" => {
                attack_sh(r#"mkdir -m 0777 "$1""#, &[&s]);
                None
            }
            "link" => {
                attack_sh(r#"ln -s "$2" "$1""#, &[&s, &arena.victim]);
                None
            }
            _ => {
                let new: Strings = fast().open(&s, Exists::OpenOrCreate).unwrap();
                new.set("k", &"the new store's value".to_owned()).unwrap();
                Some(new)
            }
        };
        let at_path = Digest::of_except(&s, &[]);
        let mut tally = Tally::default();
        changes_through_a_stale_handle(&old, &raw, &mut tally);
        tally.add("destroy", &old.destroy());
        tally.add("raw-destroy", &raw.destroy());
        eprintln!("{remade}: {tally:?}");
        assert!(
            tally
                .0
                .keys()
                .all(|k| !k.ends_with(":ok") || k.starts_with("remove")),
            "{remade}: a change through the stale handle worked: {tally:?}"
        );
        Digest::of_except(&s, &[]).assert_same(
            &at_path,
            &format!("changes through a stale handle, the path made again as {remade}"),
        );
        if let Some(new) = new_store {
            assert_eq!(
                new.get("k").unwrap().as_deref(),
                Some("the new store's value")
            );
            assert_eq!(new.len().unwrap(), 1);
            new.destroy().unwrap();
        } else if remade == "link" {
            fs::remove_file(&s).unwrap();
        } else {
            fs::remove_dir(&s).unwrap();
        }
    }
    arena
        .outside()
        .assert_same(&before, "changes through handles kept across destroy");

    // The race: the attacker makes the path again (an empty folder of theirs) as soon as
    // it is gone, while another handle of the store writes on a thread during destroy().
    if !can_race("a handle writing while its store is destroyed and the path made again") {
        return;
    }
    let paths: Vec<String> = (0..4).map(|i| format!("R{i}")).collect();
    let moves: Vec<Move<'_>> = paths.iter().map(|p| Move::Mkdir(p)).collect();
    // The attacker's folders come first: wait for them, then make stores inside them.
    let Some(attacker) = Attacker::start("the path made again", &arena.team, &moves, RACE) else {
        return;
    };
    let mut outcomes = Vec::new();
    for name in &paths {
        let r = arena.team.join(name);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !r.is_dir() {
            assert!(Instant::now() < deadline, "the attacker made no {name}");
            std::thread::sleep(Duration::from_millis(1));
        }
        let store: Strings = Strings::options()
            .durability(Durability::Fast)
            .open(&r, Exists::OpenOrCreate)
            .unwrap();
        share(&r);
        let writer: Strings = Strings::options()
            .durability(Durability::Fast)
            .open(&r, Exists::Update)
            .unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut tally = Tally::default();
            let mut n = 0u64;
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                tally.add(
                    "set",
                    &writer.set(&format!("w{}", n % 512), &"v".to_owned()),
                );
            }
            tally
        });
        std::thread::sleep(Duration::from_millis(30));
        let destroyed = store.destroy();
        std::thread::sleep(Duration::from_millis(60));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let tally = thread.join().unwrap();
        // Whatever is at the path now is the attacker's empty folder, or nothing.
        let left: Vec<PathBuf> = fs::read_dir(&r)
            .map(|items| items.flatten().map(|i| i.path()).collect())
            .unwrap_or_default();
        let trash: Vec<String> = fs::read_dir(&arena.team)
            .unwrap()
            .flatten()
            .map(|i| i.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!(".{name}.dirkv-destroy")))
            .collect();
        let aside: Vec<String> = trash
            .iter()
            .map(|t| {
                let files = common::all_files(&arena.team.join(t));
                let entries = files
                    .iter()
                    .filter(|f| f.extension().is_some_and(|e| e == "dkv"));
                format!(
                    "{t}: {} files, {} entries, manifest {}",
                    files.len(),
                    entries.count(),
                    arena.team.join(t).join("DIRKV").exists()
                )
            })
            .collect();
        outcomes.push(format!(
            "{name}: destroy {:?}, writer {tally:?}, at the path {} items, left aside {aside:?}",
            destroyed.as_ref().map_err(|e| e.to_string()),
            left.len()
        ));
        assert!(
            left.is_empty(),
            "{name}: written into the new folder: {left:?}"
        );
    }
    let made = attacker.finish();
    for o in &outcomes {
        eprintln!("{o}");
    }
    assert!(made > 0);
    arena.outside().assert_same(
        &before,
        "writes while the store is destroyed and made again",
    );
}

/// Found while attacking (not one of the issue's twelve): `destroy()` while another handle
/// of the store writes. The writer's temp files and renames land in shard folders that
/// `destroy` already emptied; `destroy` empties them again (a bounded number of times)
/// and deletes everything, the manifest last.
#[test]
fn destroy_while_another_handle_writes_deletes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for round in 0..6 {
        let path = dir.path().join(format!("s{round}"));
        let fast = || Strings::options().durability(Durability::Fast);
        let store = fast().open(&path, Exists::OpenOrCreate).unwrap();
        let writer = fast().open(&path, Exists::Update).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut n = 0u64;
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let _ = writer.set(&format!("w{}", n % 512), &"v".to_owned());
            }
        });
        std::thread::sleep(Duration::from_millis(30));
        let destroyed = store.destroy();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        thread.join().unwrap();
        let left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|i| i.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!(".s{round}.")) || *n == format!("s{round}"))
            .collect();
        if destroyed.is_err() || !left.is_empty() {
            failures.push(format!("round {round}: {destroyed:?}, left {left:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
