//! Attacks found in the review of `fs::store_path`, `fs::destroy` and `fs::root::create`.

use super::*;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// R1. The team folder was made by the attacker (`mkdir -m 777 /tmp/team` by a team
/// member): the folder-owner rule trusts every link they plant in it. A link to root's
/// private store at the store path is followed: root reads its values, `destroy()` (or
/// `Replace`) deletes it.
#[test]
fn a_link_in_a_team_folder_the_attacker_owns_is_never_followed() {
    if !can_race("a link in a team folder owned by the attacker") {
        return;
    }
    let arena = Arena::new(&["k"]);
    std::os::unix::fs::chown(&arena.team, Some(65534), Some(65534)).unwrap();
    let s = arena.store();
    let before = arena.outside();
    attack_sh(r#"ln -s "$2" "$1""#, &[&s, &arena.private]);
    let opened = Strings::options()
        .durability(Durability::Fast)
        .open(&s, Exists::OpenOrCreate);
    let mut read = None;
    if let Ok(store) = opened {
        read = store.get("private-key").ok().flatten();
        let _ = store.destroy();
    }
    arena.outside().assert_same(
        &before,
        "open and destroy of a link in the attacker's team folder",
    );
    assert!(read.is_none(), "read the private store: {read:?}");
}

/// R2. Root's own relative link `S -> data/store`, as `current -> releases/v2` layouts
/// have: the link is trusted, but its target's folder `data` is in the team folder, and
/// the attacker replaces it with a link of their own, which is followed without a check.
#[test]
fn a_trusted_link_whose_target_folder_is_swapped_is_never_followed() {
    if !can_race("a trusted link whose target folder is swapped") {
        return;
    }
    let arena = Arena::new(&["k"]);
    let s = arena.store();
    let data = arena.team.join("data");
    fs::create_dir(&data).unwrap();
    let store: Strings = Store::open(data.join("store"), Exists::OpenOrCreate).unwrap();
    drop(store);
    std::os::unix::fs::symlink("data/store", &s).unwrap();
    let before = arena.outside();
    let private_dir = arena.private.parent().unwrap();
    attack_sh(
        r#"mv "$1/data" "$1/data.old" && ln -s "$2" "$1/data""#,
        &[&arena.team, private_dir],
    );
    let mut read = None;
    if let Ok(store) = Strings::open(&s, Exists::OpenOrCreate) {
        read = store.get("private-key").ok().flatten();
        let _ = store.destroy();
    }
    arena
        .outside()
        .assert_same(&before, "open and destroy through a swapped target folder");
    assert!(read.is_none(), "read the private store: {read:?}");
}

/// R3. A store name that is not UTF-8: `create` opens the folder it just made with
/// `open_root(path)` (links followed), so a link swapped in right after the `mkdir` is
/// followed, and the lock file is created in the folder it leads to.
#[test]
fn a_new_store_with_a_non_utf8_name_is_never_created_through_a_swapped_link() {
    if !can_race("a non-UTF-8 store name swapped for a link after mkdir") {
        return;
    }
    let arena = Arena::new(&["k"]);
    let s = arena.team.join(OsStr::from_bytes(b"S\xff"));
    let private_dir = arena.private.parent().unwrap().to_owned();
    let before = arena.outside();
    let moves = [Move::Exchange(r"S\xff", "L", &private_dir)];
    // Each round is slow (the swaps contend for the new folder): race longer, stop at a hit.
    let race = RACE * 4;
    let Some(attacker) = Attacker::start("non-UTF-8 name swapped", &arena.team, &moves, race)
    else {
        return;
    };
    let mut tally = Tally::default();
    let until = Instant::now() + race;
    while Instant::now() < until && !private_dir.join("lock").exists() {
        let opened = Strings::options()
            .durability(Durability::Fast)
            .open(&s, Exists::OpenOrCreate);
        tally.add("open", &opened);
        drop(opened);
        for name in [s.clone(), arena.team.join("L")] {
            match fs::symlink_metadata(&name) {
                Ok(m) if m.is_dir() => drop(fs::remove_dir_all(&name)),
                Ok(_) => drop(fs::remove_file(&name)),
                Err(_) => {}
            }
        }
    }
    let swaps = attacker.finish();
    eprintln!("swapped {swaps} times: {tally:?}");
    arena
        .outside()
        .assert_same(&before, "creating a store whose name is not UTF-8");
}

/// R5. A file or folder with a name that is not UTF-8, planted in the store: `destroy()`
/// deletes it too (names are taken as bytes), so the store is gone, not left renamed aside
/// with its manifest. A store path that is not UTF-8 is destroyed as well.
#[test]
fn destroy_deletes_names_that_are_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    for store_name in [OsStr::new("s"), OsStr::from_bytes(b"s\xff")] {
        let s = dir.path().join(store_name);
        let store: Strings = Store::open(&s, Exists::OpenOrCreate).unwrap();
        store.set("k", &"v".to_owned()).unwrap();
        fs::write(s.join("ab").join(OsStr::from_bytes(b"junk\xfe")), b"x").unwrap();
        fs::create_dir(s.join(OsStr::from_bytes(b"dir\xfd"))).unwrap();
        fs::write(s.join(OsStr::from_bytes(b"dir\xfd/f")), b"x").unwrap();
        store.destroy().unwrap();
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "left after destroy: {left:?}");
    }
}
