//! Test harness: a `moto_server` (DynamoDB emulator) started on a free port for one test run.
//!
//! The server is found at `$MOTO_SERVER`, else at `.venv/bin/moto_server` in the workspace
//! root, else on `PATH`; when none exists, [`Moto::shared`] panics with how to install it.
//! The server runs single-threaded, so every request is applied atomically, as DynamoDB applies
//! each write. It is stopped when the harness is dropped or the test process exits.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::Client;

use crate::dynamo::{create_table, DynamoStore};
use crate::port::StoreError;
use crate::table::TABLE;

/// The moto release the project pins.
pub const MOTO_PIN: &str = "moto[server]==5.2.5";
/// Region the test clients use.
pub const REGION: &str = "eu-central-1";

/// How to get a moto_server, for failure messages.
pub fn install_hint() -> String {
    format!(
        "moto_server not found: set MOTO_SERVER to its path, or run in the workspace root \
         `python3 -m venv .venv && .venv/bin/pip install '{MOTO_PIN}'` (./scripts/test does this)"
    )
}

/// Why the emulator could not be started.
#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    #[error("{}", install_hint())]
    NotFound,
    #[error("starting {path}: {source}")]
    Spawn {
        path: String,
        source: std::io::Error,
    },
    #[error("moto_server on port {port} did not answer within {seconds} s; its log: {log}")]
    NotReady {
        port: u16,
        seconds: u64,
        log: String,
    },
}

/// A running moto_server.
pub struct Moto {
    child: Child,
    stdin: Option<ChildStdin>,
    endpoint: String,
}

/// Python that makes moto's server handle one request at a time.
const SERIAL_BOOTSTRAP: &str = "import sys, moto.server as m\n\
r = m.run_simple\n\
m.run_simple = lambda *a, **k: r(*a, **dict(k, threaded=False))\n\
m.main(sys.argv[1:])\n";

/// Kills the server when this process's end of the pipe closes (also when the process dies).
const WATCHDOG: &str =
    "\"$@\" </dev/null & pid=$!; read _ignored; kill $pid 2>/dev/null; wait $pid";

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Where moto_server is: `$MOTO_SERVER`, `.venv/bin/moto_server` above the crate or the
/// current directory, or `PATH`.
pub fn find_moto_server() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MOTO_SERVER").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let starts = [
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        std::env::current_dir().ok(),
    ];
    for start in starts.into_iter().flatten() {
        for dir in start.ancestors() {
            let candidate = dir.join(".venv/bin/moto_server");
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    on_path("moto_server")
}

/// The interpreter of a Python entry script: its `#!` line, or the `python3` beside it (pip
/// writes a `#!/bin/sh` trampoline when the interpreter path is long).
fn python_of(script: &Path) -> Option<Vec<String>> {
    let file = std::fs::File::open(script).ok()?;
    let mut first = String::new();
    BufReader::new(file).read_line(&mut first).ok()?;
    let interp = first.strip_prefix("#!")?.trim();
    if interp.contains("python") {
        return Some(interp.split_whitespace().map(str::to_owned).collect());
    }
    let beside = script.parent()?.join("python3");
    beside.is_file().then(|| vec![beside.display().to_string()])
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Moto {
    /// Starts a server on a free port and waits until it answers.
    pub fn start() -> Result<Moto, MotoError> {
        let server = find_moto_server().ok_or(MotoError::NotFound)?;
        let spawn_err = |source| MotoError::Spawn {
            path: server.display().to_string(),
            source,
        };
        let port = free_port().map_err(spawn_err)?;
        let log_path = std::env::temp_dir().join(format!("moto-{}-{port}.log", std::process::id()));
        let log = std::fs::File::create(&log_path).map_err(spawn_err)?;
        let mut argv: Vec<String> = match python_of(&server) {
            Some(python) => {
                let mut v = python;
                v.extend(["-c".into(), SERIAL_BOOTSTRAP.into()]);
                v
            }
            None => vec![server.display().to_string()],
        };
        argv.extend([
            "-H".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
        ]);
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("moto-watchdog")
            .args(&argv)
            .stdin(Stdio::piped())
            .stdout(log.try_clone().map_err(spawn_err)?)
            .stderr(log)
            .spawn()
            .map_err(spawn_err)?;
        let stdin = child.stdin.take();
        let moto = Moto {
            child,
            stdin,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(moto);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(MotoError::NotReady {
            port,
            seconds: 60,
            log: std::fs::read_to_string(&log_path).unwrap_or_default(),
        })
    }

    /// One server for the whole test process; panics (failing the test) when it cannot start.
    pub fn shared() -> &'static Moto {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(|| Moto::start().unwrap_or_else(|e| panic!("{e}")))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A DynamoDB client for this server (dummy credentials, region `eu-central-1`).
    pub fn client(&self) -> Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            .build();
        Client::from_conf(config)
    }

    /// A store on a new table with a unique name, created from [`TABLE`].
    pub async fn fresh_store(&self, prefix: &str) -> Result<DynamoStore, StoreError> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let client = self.client();
        create_table(&client, &name, &TABLE).await?;
        Ok(DynamoStore::new(client, name))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.child.wait();
    }
}
