//! What only object storage has: several processes on one bucket, a server killed in the
//! middle of a batch, a local store copied into a bucket and back, faulty servers, and the
//! blocking API called from inside a tokio runtime. The S3 tests run against moto in
//! server mode on 127.0.0.1 (see `common::moto`); without it they print why and pass,
//! except in CI. The processes are child entries of this test binary (`child_counter`,
//! `child_claimer`), run through `common::child_test!`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::moto::{BUCKET, Moto, block, s3_builder, unique_prefix};
use crate::common::{self, KillOnDrop, Page, all_files, page};
use dirkv::object_store::path::Path as ObjectPath;
use dirkv::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use dirkv::{Access, ErrorKind, Exists, RawStore, Store};
use futures_util::TryStreamExt;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

fn url_env(moto: &Moto, url: &str) -> Vec<(&'static str, String)> {
    let mut env = moto.env();
    env.push(("DIRKV_URL", url.to_owned()));
    env
}

#[test]
#[ignore = "child process: run by its parent test"]
fn child_counter() {
    common::child_entry();
    let store: Store<String, u64> = Store::options()
        .open_url(&env("DIRKV_URL"), Exists::Update)
        .unwrap();
    let n: u64 = env("DIRKV_N").parse().unwrap();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..n {
                    store
                        .update("counter", |v| Some(v.unwrap_or(0) + 1))
                        .unwrap();
                }
            });
        }
    });
}

#[test]
fn counters_from_4_processes_of_2_threads_end_at_the_exact_total() {
    let Some(moto) = Moto::shared() else { return };
    let url = format!("s3://{BUCKET}/{}", unique_prefix("counter"));
    let store: Store<String, u64> = Store::options()
        .object_store(
            moto.client(BUCKET),
            url.trim_start_matches(&format!("s3://{BUCKET}/")),
        )
        .open_remote(Exists::OpenOrCreate)
        .unwrap();
    let n = 12u64;
    let mut env = url_env(moto, &url);
    env.push(("DIRKV_N", n.to_string()));
    let children: Vec<KillOnDrop> = (0..4)
        .map(|_| {
            common::child_test!(child_counter)
                .envs(env.iter().cloned())
                .stdout(Stdio::null())
                .spawn()
        })
        .collect();
    for mut c in children {
        assert!(c.0.wait().unwrap().success());
    }
    assert_eq!(store.get("counter").unwrap(), Some(4 * 2 * n));
}

#[test]
#[ignore = "child process: run by its parent test"]
fn child_claimer() {
    common::child_entry();
    let store: Store<String, String> = Store::options()
        .open_url(&env("DIRKV_URL"), Exists::OpenOrCreate)
        .unwrap();
    let me = std::process::id().to_string();
    let mut out = std::io::stdout().lock();
    for k in 0..20 {
        let key = format!("job{k}");
        if store.set_if_absent(&key, &me).unwrap() {
            writeln!(out, "claimed {key}").unwrap();
        }
    }
}

#[test]
fn set_if_absent_from_4_processes_claims_each_key_once() {
    let Some(moto) = Moto::shared() else { return };
    // The children race to create the store too: one conditional create wins.
    let url = format!("s3://{BUCKET}/{}", unique_prefix("claim"));
    let env = url_env(moto, &url);
    let children: Vec<KillOnDrop> = (0..4)
        .map(|_| {
            common::child_test!(child_claimer)
                .envs(env.iter().cloned())
                .stdout(Stdio::piped())
                .spawn()
        })
        .collect();
    let mut claims: HashMap<String, usize> = HashMap::new();
    for mut c in children {
        let stdout = c.0.stdout.take().unwrap();
        for line in BufReader::new(stdout).lines() {
            // The test harness may print on the same line: look for the word.
            let line = line.unwrap();
            for part in line.split("claimed ").skip(1) {
                let key = part.split_whitespace().next().unwrap_or_default();
                *claims.entry(key.to_owned()).or_default() += 1;
            }
        }
        assert!(c.0.wait().unwrap().success());
    }
    assert_eq!(claims.len(), 20, "{claims:?}");
    assert!(claims.values().all(|&n| n == 1), "{claims:?}");
}

#[test]
fn a_server_killed_in_the_middle_of_a_batch_is_an_io_error() {
    let moto = match Moto::start() {
        Ok(moto) => moto,
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: no S3 test server ({why})");
            return;
        }
        Err(why) => panic!("CI must run the S3 tests, but: {why}"),
    };
    let store: Store<String, Vec<u8>> = Store::options()
        .object_store(moto.client(BUCKET), "killed")
        .named(&format!("s3://{BUCKET}/killed"))
        .open_remote(Exists::OpenOrCreate)
        .unwrap();
    store.set("before", &vec![1; 10]).unwrap();
    let started = Instant::now();
    let result = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let items: Vec<(String, Vec<u8>)> = (0..5000)
                .map(|i| (format!("k{i}"), vec![i as u8; 100]))
                .collect();
            store.set_many(items.iter().map(|(k, v)| (k.as_str(), v)))
        });
        std::thread::sleep(Duration::from_millis(300));
        moto.kill();
        writer.join().unwrap()
    });
    let err = result.expect_err("the server died mid-batch");
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(
        err.path()
            .unwrap()
            .starts_with(format!("s3://{BUCKET}/killed"))
    );
    // Every later call is a clear error too, never a panic or a value.
    assert_eq!(store.get("before").unwrap_err().kind(), ErrorKind::Io);
    assert_eq!(store.len().unwrap_err().kind(), ErrorKind::Io);
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// Uploads every file under `root` to `prefix`, as `aws s3 sync` would.
fn upload(os: &Arc<dyn ObjectStore>, root: &Path, prefix: &str) {
    block(async {
        for rel in all_files(root) {
            let bytes = std::fs::read(root.join(&rel)).unwrap();
            let location = ObjectPath::from(format!("{prefix}/{}", rel.display()));
            os.put(&location, PutPayload::from(bytes)).await.unwrap();
        }
    });
}

/// Downloads every object under `prefix` into `root` (object storage has no empty
/// folders, so none come along).
fn download(os: &Arc<dyn ObjectStore>, prefix: &str, root: &Path) {
    block(async {
        let prefix = ObjectPath::from(prefix);
        let all: Vec<_> = os.list(Some(&prefix)).try_collect().await.unwrap();
        for meta in all {
            let rel: Vec<String> = meta
                .location
                .prefix_match(&prefix)
                .unwrap()
                .map(|p| p.as_ref().to_owned())
                .collect();
            let file = root.join(rel.join("/"));
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            let bytes = os.get(&meta.location).await.unwrap().bytes().await.unwrap();
            std::fs::write(file, bytes).unwrap();
        }
    });
}

/// Reads every entry completely (checksum, key under its name), as `dirkv verify` does.
fn verify(raw: &RawStore) -> usize {
    raw.entries()
        .inspect(|e| assert!(e.is_ok(), "{e:?}"))
        .count()
}

#[test]
fn a_local_store_copied_into_a_bucket_opens_and_verifies_and_back() {
    let Some(moto) = Moto::shared() else { return };
    let os = moto.client(BUCKET);
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local");
    let store: Store<u32, Page> = Store::open(&local, Exists::OpenOrCreate).unwrap();
    for i in 0..40 {
        store.set(&i, &page(i)).unwrap();
    }
    drop(store);
    let prefix = unique_prefix("synced");
    upload(&os, &local, &prefix);

    let remote: Store<u32, Page> = Store::options()
        .object_store(Arc::clone(&os), &prefix)
        .open_remote(Exists::Update)
        .unwrap();
    assert_eq!(remote.len().unwrap(), 40);
    for i in 0..40 {
        assert_eq!(remote.get(&i).unwrap(), Some(page(i)));
    }
    let raw = RawStore::options()
        .object_store(Arc::clone(&os), &prefix)
        .open_raw_remote_as_found()
        .unwrap();
    assert_eq!(verify(&raw), 40);
    remote.set(&40, &page(40)).unwrap();

    // And back: a folder made from the bucket's objects is the store again, once its
    // empty shard folders are restored (`dirkv verify --repair` does that).
    let back = dir.path().join("back");
    download(&os, &prefix, &back);
    let raw = RawStore::open(&back, Access::ReadWrite).unwrap();
    assert!(!raw.restore_folders().unwrap().is_empty());
    assert_eq!(verify(&raw), 41);
    let local: Store<u32, Page> = Store::open(&back, Exists::Update).unwrap();
    assert_eq!(local.len().unwrap(), 41);
    assert_eq!(local.get(&40).unwrap(), Some(page(40)));
}

#[test]
fn destroy_removes_what_the_store_made_and_nothing_else() {
    let os: Arc<dyn ObjectStore> = Arc::new(dirkv::object_store::memory::InMemory::new());
    let store: Store<String, u64> = Store::options()
        .object_store(Arc::clone(&os), "p")
        .open_remote(Exists::OpenOrCreate)
        .unwrap();
    for i in 0..10u64 {
        store.set(&format!("k{i}"), &i).unwrap();
    }
    block(async {
        for rel in [
            "p/notes.txt",
            "p/ab/readme",
            "p/lock",
            "p/tmp/w-1.lock",
            "other/x",
        ] {
            os.put(&ObjectPath::from(rel), PutPayload::from_static(b"x"))
                .await
                .unwrap();
        }
    });
    store.destroy().unwrap();
    let left: Vec<String> = block(async {
        let all: Vec<_> = os.list(None).try_collect().await.unwrap();
        let mut names: Vec<String> = all.into_iter().map(|m| m.location.to_string()).collect();
        names.sort();
        names
    });
    assert_eq!(left, ["other/x", "p/ab/readme", "p/notes.txt"]);
}

#[test]
fn memory_urls_share_one_store_in_the_process() {
    let url = format!("memory://shared-{}/p", std::process::id());
    let a: Store<String, u64> = Store::options()
        .open_url(&url, Exists::OpenOrCreate)
        .unwrap();
    a.set("k", &5).unwrap();
    let b = RawStore::open_url(&url, Access::ReadOnly).unwrap();
    assert_eq!(b.get_value(b"k").unwrap(), Some(vec![5]));
    assert_eq!(b.path(), Path::new(&url));
    assert_eq!(
        Store::<String, u64>::options()
            .open_url("ftp://x/y", Exists::Update)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    assert!(RawStore::is_url(&url) && !RawStore::is_url("s3:"));
}

#[test]
fn the_blocking_api_works_inside_a_tokio_runtime() {
    fn use_store() -> Option<u64> {
        let url = format!("memory://in-runtime-{}/p", std::process::id());
        let store: Store<String, u64> = Store::options()
            .open_url(&url, Exists::OpenOrCreate)
            .unwrap();
        store.set("k", &1).unwrap();
        store.update("k", |v| v.map(|v| v + 1)).unwrap();
        let got = store.get("k").unwrap();
        assert_eq!(store.keys().count(), 1);
        drop(store);
        got
    }
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(current.block_on(async { use_store() }), Some(2));
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(multi.block_on(async { use_store() }), Some(2));
    assert_eq!(
        multi
            .block_on(async { tokio::spawn(async { use_store() }).await })
            .unwrap(),
        Some(2)
    );
    // Over HTTP too.
    let Some(moto) = Moto::shared() else { return };
    let os = moto.client(BUCKET);
    let prefix = unique_prefix("in-runtime");
    multi.block_on(async move {
        let store: Store<String, u64> = Store::options()
            .object_store(os, &prefix)
            .open_remote(Exists::OpenOrCreate)
            .unwrap();
        store.set("k", &7).unwrap();
        assert_eq!(store.get("k").unwrap(), Some(7));
    });
}

/// A fake S3 endpoint on 127.0.0.1 that answers every request with `answer` (or never,
/// for `None`), for at most `limit`.
fn fake_server(answer: Option<&'static str>, limit: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut held = Vec::new();
        while start.elapsed() < limit {
            match listener.accept() {
                Ok((mut conn, _)) => {
                    let _ = conn.set_nonblocking(false);
                    let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
                    let mut buf = [0u8; 8192];
                    let _ = conn.read(&mut buf);
                    match answer {
                        Some(text) => {
                            let _ = conn.write_all(text.as_bytes());
                        }
                        None => held.push(conn),
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn faulty_store(endpoint: &str, timeout: Duration) -> dirkv::Result<Store<String, u64>> {
    let os = s3_builder(endpoint, "faulty")
        .with_client_options(
            dirkv::object_store::ClientOptions::new()
                .with_allow_http(true)
                .with_timeout(timeout)
                .with_connect_timeout(timeout),
        )
        .build()
        .unwrap();
    Store::options()
        .object_store(Arc::new(os), "p")
        .named("s3://faulty/p")
        .open_remote(Exists::OpenOrCreate)
}

#[test]
fn faulty_servers_give_io_errors_never_values() {
    let unavailable = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
    let err = faulty_store(
        &fake_server(Some(unavailable), Duration::from_secs(20)),
        Duration::from_secs(5),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert_eq!(err.path(), Some(Path::new("s3://faulty/p/DIRKV")));
    let internal = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
    let err = faulty_store(
        &fake_server(Some(internal), Duration::from_secs(20)),
        Duration::from_secs(5),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    // A server that never answers: the client's timeout, then an error.
    let started = Instant::now();
    let err = faulty_store(
        &fake_server(None, Duration::from_secs(30)),
        Duration::from_millis(300),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    // Nobody listening at all.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err =
        faulty_store(&format!("http://127.0.0.1:{port}"), Duration::from_secs(1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    // Garbage in a 200 is damage, never a value.
    let garbage = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nETag: \"x\"\r\nLast-Modified: Tue, 01 Dec 2026 00:00:00 GMT\r\n\r\nnot dirkv!\n";
    let err = faulty_store(
        &fake_server(Some(garbage), Duration::from_secs(20)),
        Duration::from_secs(5),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
}

/// A validated cache keeps what its own handle wrote, checked by the ETag the PUT
/// answered with: the next `get` is a hit (one HEAD), with no settle time to wait; a
/// write by another handle is seen at once.
fn own_writes_are_hits(open: impl Fn(bool) -> Store<String, u64>) {
    let store = open(true);
    let other = open(false);
    let hits = || store.cache_stats().unwrap().hits;
    store.set("k", &1).unwrap();
    let before = hits();
    assert_eq!(store.get("k").unwrap(), Some(1));
    assert_eq!(hits(), before + 1, "a set's value is kept");
    store.update("k", |v| v.map(|v| v + 1)).unwrap();
    assert_eq!(store.get("k").unwrap(), Some(2));
    assert_eq!(hits(), before + 2, "an update's value is kept");
    other.set("k", &3).unwrap();
    assert_eq!(store.get("k").unwrap(), Some(3));
    other.remove("k").unwrap();
    assert_eq!(store.get("k").unwrap(), None);
}

#[test]
fn a_validated_cache_keeps_own_writes_on_object_storage() {
    let url = format!("memory://own-writes-{}/p", std::process::id());
    own_writes_are_hits(|cached| {
        let options = Store::options();
        let options = if cached {
            options.cache(100, 1 << 20)
        } else {
            options
        };
        options.open_url(&url, Exists::OpenOrCreate).unwrap()
    });
    let Some(moto) = Moto::shared() else { return };
    let prefix = unique_prefix("own-writes");
    own_writes_are_hits(|cached| {
        let options = Store::options();
        let options = if cached {
            options.cache(100, 1 << 20)
        } else {
            options
        };
        options
            .object_store(moto.client(BUCKET), &prefix)
            .open_remote(Exists::OpenOrCreate)
            .unwrap()
    });
}

#[test]
fn write_back_is_refused_on_object_storage() {
    // Write-back mode owns a store through its locks; object storage has none.
    let url = format!("memory://write-back-{}/p", std::process::id());
    let err = Store::<String, u64>::options()
        .write_back(10, 1 << 20)
        .open_url(&url, Exists::OpenOrCreate)
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    // Refused before anything was made: the prefix is still empty.
    let err = Store::<String, u64>::options()
        .open_url(&url, Exists::Update)
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    // A read-only open ignores write-back, as on disk.
    let store: Store<String, u64> = Store::options()
        .open_url(&url, Exists::OpenOrCreate)
        .unwrap();
    store.set("k", &1).unwrap();
    let ro: Store<String, u64> = Store::options()
        .write_back(10, 1 << 20)
        .read_only(true)
        .open_url(&url, Exists::Update)
        .unwrap();
    assert_eq!(ro.get("k").unwrap(), Some(1));
}
