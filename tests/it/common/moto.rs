//! An S3-protocol server for tests (feature `object-store`): moto in server mode on
//! 127.0.0.1, on a free port, one per test process (started on first use), clients for it,
//! and [`block`] for direct object access. `benches/object_store.rs` includes this file too.
//!
//! moto comes from a virtual environment: `$DIRKV_MOTO_PYTHON` (a Python that has moto),
//! else `target/moto-venv/bin/python` (what `.ci/moto-venv` makes). Without it the tests
//! that need it print why and skip, except in CI (`CI` set), where they fail. The server
//! reads its stdin and stops when it closes, so it ends with the test process however
//! that ends.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use dirkv::object_store::aws::AmazonS3Builder;
use dirkv::object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

/// The bucket the tests share (each test uses a prefix of its own).
pub const BUCKET: &str = "dirkv-tests";

/// The launcher: moto's S3 app behind a threaded HTTP server on the port given (0: any
/// free one). With `serialize` 1 it handles one request at a time, so that a conditional
/// PUT is checked and made atomically, as S3 does it (moto checks `If-Match` and then
/// writes, without a lock of its own); with a latency, each request waits that many
/// milliseconds first (outside that lock), like a request crossing a real network.
/// Prints the port, stops when stdin closes.
const LAUNCHER: &str = r#"
import sys, threading, time
from werkzeug.serving import make_server
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication, MotoRequestHandler, create_backend_app)
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()
serialize, latency = sys.argv[2] == "1", int(sys.argv[3]) / 1000.0
def one_at_a_time(environ, start_response):
    if latency:
        time.sleep(latency)
    if not serialize:
        return list(app(environ, start_response))
    with lock:
        return list(app(environ, start_response))
server = make_server("127.0.0.1", int(sys.argv[1]), one_at_a_time, True,
                     request_handler=MotoRequestHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.server_port, flush=True)
sys.stdin.read()
server.shutdown()
"#;

/// A running moto server.
pub struct Moto {
    child: Mutex<Option<Child>>,
    /// Held open: the server stops when it closes.
    _stdin: Mutex<Option<ChildStdin>>,
    pub port: u16,
}

fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DIRKV_MOTO_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/moto-venv/bin/python");
    venv.exists().then_some(venv)
}

impl Moto {
    /// Starts a server of its own (for a test that kills it), one request at a time.
    pub fn start() -> Result<Moto, String> {
        Moto::start_with(true, 0)
    }

    /// Starts a server that handles requests one at a time (`serialize`) or all at once,
    /// each delayed by `latency_ms` (for the bench).
    pub fn start_with(serialize: bool, latency_ms: u64) -> Result<Moto, String> {
        let python = python().ok_or(
            "moto not found: run `bash .ci/moto-venv` (makes target/moto-venv) or set \
             DIRKV_MOTO_PYTHON",
        )?;
        let mut child = Command::new(&python)
            .args(["-c", LAUNCHER, "0", if serialize { "1" } else { "0" }])
            .arg(latency_ms.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start moto with {}: {e}", python.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        let Ok(port) = line.trim().parse::<u16>() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("moto did not start (said {line:?})"));
        };
        let moto = Moto {
            child: Mutex::new(Some(child)),
            _stdin: Mutex::new(stdin),
            port,
        };
        moto.make_bucket(BUCKET)?;
        Ok(moto)
    }

    /// The server this test process shares, or why there is none. In CI a missing
    /// server fails the test instead.
    pub fn shared() -> Option<&'static Moto> {
        static MOTO: OnceLock<Result<Moto, String>> = OnceLock::new();
        match MOTO.get_or_init(Moto::start) {
            Ok(moto) => Some(moto),
            Err(why) if std::env::var_os("CI").is_some() => {
                panic!("CI must run the S3 tests, but: {why}")
            }
            Err(why) => {
                eprintln!("skipped: no S3 test server ({why})");
                None
            }
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (moto takes an unsigned request).
    pub fn make_bucket(&self, name: &str) -> Result<(), String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        write!(
            s,
            "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .map_err(|e| e.to_string())?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).map_err(|e| e.to_string())?;
        if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") {
            Ok(())
        } else {
            Err(format!(
                "cannot create bucket: {}",
                answer.lines().next().unwrap_or("")
            ))
        }
    }

    /// A client of `bucket` with short retries (a test of a dead server ends quickly).
    pub fn client(&self, bucket: &str) -> Arc<dyn ObjectStore> {
        Arc::new(
            s3_builder(&self.endpoint(), bucket)
                .build()
                .expect("S3 client for moto"),
        )
    }

    /// The environment that points `s3://` URLs (the CLI, `open_url`) at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// Kills the server at once (a crash, as far as clients can tell).
    pub fn kill(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An S3 client builder for `endpoint` with test credentials and short retries.
pub fn s3_builder(endpoint: &str, bucket: &str) -> AmazonS3Builder {
    AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .with_retry(RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(20),
                max_backoff: Duration::from_millis(200),
                base: 2.0,
            },
            max_retries: 2,
            retry_timeout: Duration::from_secs(5),
        })
        .with_client_options(
            ClientOptions::new()
                .with_allow_http(true)
                .with_timeout(Duration::from_secs(10))
                .with_connect_timeout(Duration::from_secs(2)),
        )
}

/// A prefix no other test (or earlier run) uses.
pub fn unique_prefix(name: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{name}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs a future to its end on a runtime of the caller's own (for direct object access).
pub fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}
