//! Create a store, write, reopen, read, and show where the files are.
//!
//! Run with `cargo run --example quickstart`.

use dirkv::{Exists, Store};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Page {
    title: String,
    words: u32,
    tags: Vec<String>,
}

fn main() -> Result<(), dirkv::Error> {
    // A fixed place under the system temp folder, so you can look at it after the run.
    let path = std::env::temp_dir().join("dirkv-quickstart");

    // Replace: start from an empty store each run (it refuses to touch a folder that is
    // not a dirkv store).
    let store: Store<String, Page> = Store::open(&path, Exists::Replace)?;
    store.set(
        "home",
        &Page {
            title: "Home".into(),
            words: 120,
            tags: vec!["start".into()],
        },
    )?;
    store.set(
        "about",
        &Page {
            title: "About us".into(),
            words: 300,
            tags: vec![],
        },
    )?;
    store.update("home", |page| {
        page.map(|mut p| {
            p.words += 1;
            p
        })
    })?;
    drop(store);

    // Reopen: the data is on disk.
    let store: Store<String, Page> = Store::open(&path, Exists::Update)?;
    println!(
        "store at {} holds {} entries",
        store.path().display(),
        store.len()?
    );
    for item in store.iter() {
        let (key, page) = item?;
        println!("  {key:>6} -> {page:?}");
        println!("         file {}", store.path_of(&key).display());
    }
    let home = store.get("home")?.expect("just written");
    assert_eq!(home.words, 121);

    println!();
    println!("Inspect it from a shell:");
    println!("  ls {}/*/", path.display());
    println!(
        "  h=$(printf %s home | sha256sum | cut -c1-64); od -c {}/$(echo $h | cut -c1-2)/$h.dkv | head",
        path.display()
    );
    println!(
        "  cargo run --features cli --bin dirkv -- get {} home",
        path.display()
    );
    Ok(())
}
