//! A simulated CPU memory of 4 KiB pages kept on disk, with only a few pages in RAM.
//!
//! The memory is a `Store<u64, Vec<u8>, Raw>`: page number -> page bytes, stored as they
//! are (no serialization). A small write-back cache holds the pages in use; a page that
//! falls out of it is written to the store if it changed. The "program" fills a 16 MiB
//! address space with a pattern, reads it back through the cache, and checks a checksum
//! after reopening the store.
//!
//! Run with `cargo run --release --example paged_memory`.

use std::collections::{HashMap, VecDeque};

use dirkv::{Durability, Exists, Raw, Store};

const PAGE: usize = 4096;

struct PagedMemory {
    store: Store<u64, Vec<u8>, Raw>,
    resident: HashMap<u64, (Vec<u8>, bool)>,
    order: VecDeque<u64>,
    capacity: usize,
    faults: u64,
    writebacks: u64,
}

impl PagedMemory {
    fn new(store: Store<u64, Vec<u8>, Raw>, capacity: usize) -> Self {
        PagedMemory {
            store,
            resident: HashMap::new(),
            order: VecDeque::new(),
            capacity,
            faults: 0,
            writebacks: 0,
        }
    }

    /// The page holding `addr`, loaded from disk (or zeroed) on a fault.
    fn page(&mut self, number: u64) -> Result<&mut (Vec<u8>, bool), dirkv::Error> {
        if !self.resident.contains_key(&number) {
            self.faults += 1;
            if self.resident.len() >= self.capacity {
                self.evict_one()?;
            }
            let bytes = self.store.get(&number)?.unwrap_or_else(|| vec![0; PAGE]);
            self.resident.insert(number, (bytes, false));
            self.order.push_back(number);
        }
        Ok(self.resident.get_mut(&number).expect("just inserted"))
    }

    fn evict_one(&mut self) -> Result<(), dirkv::Error> {
        let victim = self.order.pop_front();
        if let Some((number, (bytes, true))) =
            victim.and_then(|n| self.resident.remove(&n).map(|p| (n, p)))
        {
            self.store.set(&number, &bytes)?;
            self.writebacks += 1;
        }
        Ok(())
    }

    fn read_u64(&mut self, addr: u64) -> Result<u64, dirkv::Error> {
        let (page, offset) = (addr / PAGE as u64, (addr % PAGE as u64) as usize);
        let (bytes, _) = self.page(page)?;
        Ok(u64::from_le_bytes(
            bytes[offset..offset + 8].try_into().expect("8 bytes"),
        ))
    }

    fn write_u64(&mut self, addr: u64, value: u64) -> Result<(), dirkv::Error> {
        let (page, offset) = (addr / PAGE as u64, (addr % PAGE as u64) as usize);
        let (bytes, dirty) = self.page(page)?;
        bytes[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
        *dirty = true;
        Ok(())
    }

    /// Writes every dirty page back and makes the store durable.
    fn flush(&mut self) -> Result<(), dirkv::Error> {
        let dirty: Vec<(u64, Vec<u8>)> = self
            .resident
            .iter_mut()
            .filter(|(_, (_, d))| *d)
            .map(|(n, (b, d))| {
                *d = false;
                (*n, b.clone())
            })
            .collect();
        self.writebacks += dirty.len() as u64;
        self.store.set_many(dirty.iter().map(|(n, b)| (n, b)))?;
        self.store.sync()
    }
}

fn main() -> Result<(), dirkv::Error> {
    let path = std::env::temp_dir().join("dirkv-paged-memory");
    let size: u64 = 16 << 20;
    let open = |mode| {
        Store::<u64, Vec<u8>>::options()
            .codec(Raw)
            .durability(Durability::Fast)
            .open(&path, mode)
    };

    let mut mem = PagedMemory::new(open(Exists::Replace)?, 8);
    let mut sum = 0u64;
    for addr in (0..size).step_by(8) {
        let v = addr.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 7;
        mem.write_u64(addr, v)?;
        sum = sum.wrapping_add(v);
    }
    mem.flush()?;
    println!(
        "wrote {} MiB through {} resident pages: {} faults, {} page writebacks, {} pages on disk",
        size >> 20,
        mem.capacity,
        mem.faults,
        mem.writebacks,
        mem.store.len()?
    );
    drop(mem);

    // A new "boot": reopen the store and read the memory back, a few pages at a time.
    let mut mem = PagedMemory::new(open(Exists::Update)?, 4);
    let mut check = 0u64;
    for addr in (0..size).step_by(8) {
        check = check.wrapping_add(mem.read_u64(addr)?);
    }
    println!(
        "read back after reopen: {} faults; checksum {}",
        mem.faults,
        if check == sum { "ok" } else { "MISMATCH" }
    );
    assert_eq!(check, sum);
    println!("pages live in {}", path.display());
    Ok(())
}
