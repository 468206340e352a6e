//! Compression on realistic values: how much smaller entries get and what it costs.
//!
//! ```sh
//! cargo run --release --features compression --example compression
//! ```
//!
//! Writes the same values to a plain store and to one with `compression(Some(512))`, and
//! prints entry file sizes and the mean time of `set` (fast durability) and `get`.

use std::time::Instant;

use dirkv::{Durability, Exists, Raw, Store};

/// About 4 KB of JSON records, as an application caching API responses would store.
fn json_value() -> Vec<u8> {
    let mut s = String::from("[");
    let mut i = 0;
    while s.len() < 4000 {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            r#"{{"id":{},"name":"{}","email":"{}@example.org","created":"2024-0{}-1{}T08:{}:00Z","roles":["reader","{}"],"active":{}}}"#,
            10_000 + i * 37,
            ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"][i % 4],
            ["ada", "alan", "grace", "edsger"][i % 4],
            1 + i % 9,
            i % 10,
            10 + i % 50,
            ["writer", "admin", "editor"][i % 3],
            i % 3 != 0
        ));
        i += 1;
    }
    s.push(']');
    s.into_bytes()
}

/// About 4 KB of English prose (the guide's page on guarantees, which was the README's
/// section "Guarantees and how they are tested" when the table in the guide was measured).
fn text_value() -> Vec<u8> {
    let page = include_str!("../docs/guarantees.md");
    let start = page.find("# Guarantees").unwrap_or(0);
    page.as_bytes()[start..]
        .iter()
        .take(4096)
        .copied()
        .collect()
}

fn measure(name: &str, value: &[u8]) -> Result<(), dirkv::Error> {
    const N: u32 = 2000;
    let dir = tempfile::tempdir()?;
    println!("{name}: {} bytes", value.len());
    for (label, min) in [("plain     ", None), ("compressed", Some(512))] {
        let store: Store<u32, Vec<u8>, Raw> = Store::options()
            .codec(Raw)
            .durability(Durability::Fast)
            .compression(min)
            .open(dir.path().join(label.trim()), Exists::OpenOrCreate)?;
        let value = value.to_vec();
        let t = Instant::now();
        for i in 0..N {
            store.set(&i, &value)?;
        }
        let set_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(N);
        let t = Instant::now();
        for i in 0..N {
            assert_eq!(store.get(&i)?.map(|v| v.len()), Some(value.len()));
        }
        let get_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(N);
        let meta = store
            .metadata(&0)?
            .ok_or_else(|| dirkv::Error::new(dirkv::ErrorKind::NotFound, "entry vanished"))?;
        println!(
            "  {label} file {:>5} bytes ({:>5.1}% of the value), set {set_us:>6.1} µs, get {get_us:>6.1} µs",
            meta.file_len,
            100.0 * meta.file_len as f64 / value.len() as f64
        );
    }
    Ok(())
}

fn main() -> Result<(), dirkv::Error> {
    measure("JSON records", &json_value())?;
    measure("English text", &text_value())?;
    Ok(())
}
