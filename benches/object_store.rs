//! `cargo bench --bench object_store --features object-store`: a store on S3 (moto in
//! server mode on 127.0.0.1, started here, through the real `object_store` S3 client)
//! against the floor of raw `object_store` requests on the same server and client.
//!
//! - `get` / `set` of one 1 KiB value, serial, against one raw GET / PUT of an object of
//!   the same size: the store's overhead per request (target ≤ 1.1× the floor).
//! - `get_many` / `set_many` of 1,000 keys against 1,000 serial `get` / `set` calls: what
//!   the batches' concurrent requests gain (target ≥ 10×), on moto as it is, and on a
//!   second moto whose every request first waits 20 ms (`DIRKV_BENCH_LATENCY_MS`), as a
//!   request to a real S3 region does: moto itself is one Python process that spends
//!   milliseconds of CPU on each request, so on loopback it, not latency, is the cost,
//!   and no client can hide that by parallelism.
//!
//! Both servers handle requests concurrently (the tests run theirs one at a time for
//! atomic conditional puts; nothing here is conditional). Prints one Markdown table of
//! medians (and ratios) from one run. `DIRKV_BENCH_N` sets the serial sample count
//! (default 300). Without moto it prints why and exits 0.

#[path = "../tests/it/common/moto.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dirkv::object_store::path::Path as ObjectPath;
use dirkv::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use dirkv::{Exists, Store};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// 1,000 raw PUTs and then GETs, 32 in flight: the most any client gets from the server.
fn raw_concurrent(
    rt: &tokio::runtime::Runtime,
    os: &Arc<dyn ObjectStore>,
    body: &[u8],
) -> [Duration; 2] {
    use futures_util::StreamExt;
    let locations: Vec<ObjectPath> = (0..1000)
        .map(|i| ObjectPath::from(format!("raw/c{i}")))
        .collect();
    let t = Instant::now();
    rt.block_on(
        futures_util::stream::iter(locations.iter())
            .map(|loc| os.put(loc, PutPayload::from(body.to_vec())))
            .buffer_unordered(32)
            .for_each(|r| {
                r.expect("put");
                async {}
            }),
    );
    let puts = t.elapsed();
    let t = Instant::now();
    rt.block_on(
        futures_util::stream::iter(locations.iter())
            .map(|loc| async move { os.get(loc).await?.bytes().await })
            .buffer_unordered(32)
            .for_each(|r| {
                r.expect("get");
                async {}
            }),
    );
    [puts, t.elapsed()]
}

/// 1,000 serial `set`s, one `set_many`, 1,000 serial `get`s, one `get_many`.
fn batches(store: &Store<String, Vec<u8>, dirkv::Raw>, value: &Vec<u8>) -> [Duration; 4] {
    let keys: Vec<String> = (0..1000).map(|i| format!("b{i}")).collect();
    let t = Instant::now();
    for k in &keys {
        store.set(k, value).expect("set");
    }
    let serial_set = t.elapsed();
    let t = Instant::now();
    store
        .set_many(keys.iter().map(|k| (k.as_str(), value)))
        .expect("set_many");
    let set_many = t.elapsed();
    let t = Instant::now();
    for k in &keys {
        assert!(store.get(k).expect("get").is_some());
    }
    let serial_get = t.elapsed();
    let t = Instant::now();
    let got = store
        .get_many(keys.iter().map(String::as_str))
        .expect("get_many");
    let get_many = t.elapsed();
    assert!(got.iter().all(Option::is_some));
    [serial_set, set_many, serial_get, get_many]
}

fn open(os: &Arc<dyn ObjectStore>) -> Store<String, Vec<u8>, dirkv::Raw> {
    Store::options()
        .codec(dirkv::Raw)
        .object_store(Arc::clone(os), "bench")
        .open_remote(Exists::Replace)
        .expect("open the store")
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let latency_ms: u64 = std::env::var("DIRKV_BENCH_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let (moto, slow) = match (
        support::Moto::start_with(false, 0),
        support::Moto::start_with(false, latency_ms),
    ) {
        (Ok(moto), Ok(slow)) => (moto, slow),
        (Err(why), _) | (_, Err(why)) => {
            println!("object_store bench skipped: {why}");
            return;
        }
    };
    let n: usize = std::env::var("DIRKV_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let os: Arc<dyn ObjectStore> = moto.client(support::BUCKET);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let value = vec![7u8; 1024];
    let store = open(&os);
    // An entry is the value plus a header and the key: the floor writes objects of the
    // entry's size.
    store.set("probe", &value).expect("set");
    let entry_len = store
        .metadata("probe")
        .expect("meta")
        .expect("probe")
        .file_len;
    let raw_body = vec![7u8; usize::try_from(entry_len).unwrap_or(1100)];

    // Warm up connections and moto.
    for i in 0..20 {
        let loc = ObjectPath::from(format!("floor/warm{i}"));
        rt.block_on(os.put(&loc, PutPayload::from(raw_body.clone())))
            .expect("put");
        store.set(&format!("warm{i}"), &value).expect("set");
    }

    let mut floor_put = Vec::new();
    let mut set = Vec::new();
    let mut floor_get = Vec::new();
    let mut get = Vec::new();
    // Interleaved, so that a drift of the server's speed hits both alike.
    for i in 0..n {
        let loc = ObjectPath::from(format!("floor/k{i}"));
        let t = Instant::now();
        rt.block_on(os.put(&loc, PutPayload::from(raw_body.clone())))
            .expect("put");
        floor_put.push(t.elapsed());
        let key = format!("k{i}");
        let t = Instant::now();
        store.set(&key, &value).expect("set");
        set.push(t.elapsed());
    }
    for i in 0..n {
        let loc = ObjectPath::from(format!("floor/k{i}"));
        let t = Instant::now();
        let got = rt
            .block_on(async { os.get(&loc).await?.bytes().await })
            .expect("get");
        floor_get.push(t.elapsed());
        assert_eq!(got.len(), raw_body.len());
        let key = format!("k{i}");
        let t = Instant::now();
        let got = store.get(&key).expect("get");
        get.push(t.elapsed());
        assert!(got.is_some());
    }

    let [serial_set, set_many, serial_get, get_many] = batches(&store, &value);
    let [raw_puts, raw_gets] = raw_concurrent(&rt, &os, &raw_body);
    let slow_os = slow.client(support::BUCKET);
    let [slow_raw_puts, slow_raw_gets] = raw_concurrent(&rt, &slow_os, &raw_body);
    let slow_store = open(&slow_os);
    let [
        slow_serial_set,
        slow_set_many,
        slow_serial_get,
        slow_get_many,
    ] = batches(&slow_store, &value);
    let (fp, s, fg, g) = (
        median(floor_put),
        median(set),
        median(floor_get),
        median(get),
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!(
        "dirkv on S3 (moto {}, 127.0.0.1), {n} serial samples, medians",
        moto.port
    );
    println!();
    println!("| operation | dirkv | floor | ratio | target |");
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| `get` (1 KiB) | {} | {} (raw GET) | {:.2}× | ≤ 1.1× |",
        us(g),
        us(fg),
        ratio(g, fg)
    );
    println!(
        "| `set` (1 KiB) | {} | {} (raw PUT) | {:.2}× | ≤ 1.1× |",
        us(s),
        us(fp),
        ratio(s, fp)
    );
    println!();
    println!(
        "| batch of 1,000 | server | batch | 1,000 serial calls | faster | raw, 32 in flight (the server's limit) | target |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let plain = "moto".to_owned();
    let delayed = format!("moto + {latency_ms} ms a request");
    for (what, server, serial, batch, raw) in [
        ("set_many", &plain, serial_set, set_many, raw_puts),
        ("get_many", &plain, serial_get, get_many, raw_gets),
        (
            "set_many",
            &delayed,
            slow_serial_set,
            slow_set_many,
            slow_raw_puts,
        ),
        (
            "get_many",
            &delayed,
            slow_serial_get,
            slow_get_many,
            slow_raw_gets,
        ),
    ] {
        println!(
            "| `{what}` | {server} | {} | {} | {:.1}× | {} | ≥ 10× |",
            ms(batch),
            ms(serial),
            ratio(serial, batch),
            ms(raw)
        );
    }
}
