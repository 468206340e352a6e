//! A simulated CPU memory of 4 KiB pages kept on disk, with a bounded number in RAM.
//!
//! The memory is a `Store<u64, Vec<u8>, Raw>` (page number -> page bytes, stored as they
//! are) opened in write-back mode: up to 256 pages (1 MiB) live in RAM, gets and sets of
//! those are served there, and a changed page reaches its file when it is evicted, on
//! `sync`, or when the store is dropped. The simulated CPU keeps only the page it works on
//! (as a TLB would) and hands it back to the store when it moves to another one.
//!
//! The "program" writes a 16 MiB address space with a pattern, walks it again at random
//! with a hot working set, then the store is reopened (a new "boot") and the memory is
//! read back and checked.
//!
//! Run with `cargo run --release --example paged_memory`.

use std::time::Instant;

use dirkv::{Durability, Exists, Raw, Store};

const PAGE: usize = 4096;

type Pages = Store<u64, Vec<u8>, Raw>;

/// The CPU's view of memory: the page in use, the rest in the store.
struct PagedMemory {
    store: Pages,
    /// The page in use: its number, its bytes, whether they changed.
    current: Option<(u64, Vec<u8>, bool)>,
}

impl PagedMemory {
    fn new(store: Pages) -> Self {
        PagedMemory {
            store,
            current: None,
        }
    }

    /// The page `number`, made current (a page never written reads as zeros).
    fn page(&mut self, number: u64) -> Result<&mut (u64, Vec<u8>, bool), dirkv::Error> {
        let page = match self.current.take() {
            Some(page) if page.0 == number => page,
            other => {
                self.current = other;
                self.put_back()?;
                let bytes = self.store.get(&number)?.unwrap_or_else(|| vec![0; PAGE]);
                (number, bytes, false)
            }
        };
        Ok(self.current.insert(page))
    }

    /// Hands the current page back to the store if it changed (RAM speed: write-back).
    fn put_back(&mut self) -> Result<(), dirkv::Error> {
        if let Some((number, bytes, true)) = self.current.take() {
            self.store.set(&number, &bytes)?;
        }
        Ok(())
    }

    fn read_u64(&mut self, addr: u64) -> Result<u64, dirkv::Error> {
        let offset = (addr % PAGE as u64) as usize;
        let (_, bytes, _) = self.page(addr / PAGE as u64)?;
        let mut word = [0; 8];
        word.copy_from_slice(&bytes[offset..offset + 8]);
        Ok(u64::from_le_bytes(word))
    }

    fn write_u64(&mut self, addr: u64, value: u64) -> Result<(), dirkv::Error> {
        let offset = (addr % PAGE as u64) as usize;
        let (_, bytes, dirty) = self.page(addr / PAGE as u64)?;
        bytes[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
        *dirty = true;
        Ok(())
    }

    /// Everything written so far, in the files (and on disk with `Durability::Durable`).
    fn sync(&mut self) -> Result<(), dirkv::Error> {
        self.put_back()?;
        self.store.sync()
    }

    fn hit_rate(&self) -> String {
        match self.store.cache_stats() {
            Some(s) if s.hits + s.misses > 0 => format!(
                "{:.1}% of {} page loads served from RAM",
                100.0 * s.hits as f64 / (s.hits + s.misses) as f64,
                s.hits + s.misses
            ),
            _ => "no page loads".to_string(),
        }
    }
}

fn open(path: &std::path::Path, exists: Exists) -> Result<Pages, dirkv::Error> {
    Store::options()
        .codec(Raw)
        .write_back(256, 1 << 20)
        .durability(Durability::Fast)
        .open(path, exists)
}

/// A small xorshift generator: the same "program" on every run.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn main() -> Result<(), dirkv::Error> {
    let path = std::env::temp_dir().join("dirkv-paged-memory");
    let size: u64 = 16 << 20;
    let pages = size / PAGE as u64;

    let start = Instant::now();
    let mut mem = PagedMemory::new(open(&path, Exists::Replace)?);
    let mut sum = 0u64;
    for addr in (0..size).step_by(8) {
        let v = addr.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 7;
        mem.write_u64(addr, v)?;
        sum = sum.wrapping_add(v);
    }
    mem.sync()?;
    println!(
        "wrote {} MiB ({pages} pages) through 256 pages of RAM in {:.0?}: {} pages on disk",
        size >> 20,
        start.elapsed(),
        mem.store.len()?
    );

    // A running program: 200,000 word accesses, 90% of them to a hot eighth of memory, a
    // fifth of them writes that keep the pattern's sum.
    let start = Instant::now();
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let hot = pages / 8;
    for _ in 0..200_000 {
        let page = if next(&mut x) % 10 < 9 {
            next(&mut x) % hot
        } else {
            next(&mut x) % pages
        };
        let addr = page * PAGE as u64 + (next(&mut x) % (PAGE as u64 / 8)) * 8;
        let v = mem.read_u64(addr)?;
        if next(&mut x).is_multiple_of(5) {
            mem.write_u64(addr, v)?;
        }
    }
    println!(
        "200,000 random accesses in {:.0?}: {}",
        start.elapsed(),
        mem.hit_rate()
    );
    drop(mem); // flushes what is still dirty

    // A new "boot": reopen the store and read the memory back.
    let start = Instant::now();
    let mut mem = PagedMemory::new(open(&path, Exists::Update)?);
    let mut check = 0u64;
    for addr in (0..size).step_by(8) {
        check = check.wrapping_add(mem.read_u64(addr)?);
    }
    println!(
        "read back after reopen in {:.0?}: checksum {} ({})",
        start.elapsed(),
        if check == sum { "ok" } else { "MISMATCH" },
        mem.hit_rate()
    );
    assert_eq!(check, sum);
    println!("pages live in {}", path.display());
    Ok(())
}
