//! [`MotoServer`]: moto in server mode on a free loopback port, and [`shared_moto`].

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard, OnceCell};

use super::http;

/// A `moto_server` child process on `127.0.0.1:<free port>`. Dropping it stops the server.
///
/// The server runs under a tiny `sh` wrapper that kills it when the wrapper's stdin closes, so
/// the server also goes away when the test process exits without running destructors (a static
/// server shared by a test binary).
#[derive(Debug)]
pub struct MotoServer {
    child: Option<Child>,
    addr: SocketAddr,
    log: PathBuf,
}

/// Finds `moto_server`: `$MOTO_SERVER`, else `<workspace>/.venv-moto/bin/moto_server`, else on
/// `PATH`.
pub fn moto_server_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MOTO_SERVER").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = workspace.join(".venv-moto/bin/moto_server");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("moto_server"))
            .find(|candidate| candidate.is_file())
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

impl MotoServer {
    /// Starts a server and waits until it answers.
    ///
    /// # Panics
    ///
    /// When moto is not installed ("moto is not installed: run scripts/install-moto.sh") or does
    /// not come up within 60 s (the message includes its log).
    pub async fn start() -> Self {
        let Some(binary) = moto_server_binary() else {
            panic!("moto is not installed: run scripts/install-moto.sh");
        };
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log = std::env::temp_dir().join(format!("moto-server-{port}.log"));
            let log_file = std::fs::File::create(&log)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
            let log_err = log_file
                .try_clone()
                .unwrap_or_else(|e| panic!("cannot open {}: {e}", log.display()));
            // `read` returns when our end of stdin closes (drop, or this process exiting): then
            // the wrapper kills the server it started, by its pid.
            let child = Command::new("sh")
                .arg("-c")
                .arg(
                    "\"$0\" -H 127.0.0.1 -p \"$1\" & pid=$!; \
                     trap 'kill $pid 2>/dev/null' EXIT; read _ignored; kill $pid 2>/dev/null; \
                     wait $pid",
                )
                .arg(&binary)
                .arg(port.to_string())
                .stdin(Stdio::piped())
                .stdout(log_file)
                .stderr(log_err)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let mut server = Self {
                child: Some(child),
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                log,
            };
            match server.wait_ready(Duration::from_secs(60)).await {
                Ok(()) => return server,
                Err(e) => {
                    last_error = e;
                    server.stop();
                }
            }
        }
        panic!("moto_server did not start: {last_error}");
    }

    async fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("it exited ({status}); log:\n{}", self.log_text()));
            }
            if let Ok((status, _)) =
                http::request(self.addr, "POST", "/moto-api/reset", &[], "").await
                && status == 200
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "no answer on {} after {timeout:?}; log:\n{}",
                    self.addr,
                    self.log_text()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `http://127.0.0.1:<port>`: the endpoint for SDK clients and the provider's `endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Forgets every resource in every account and region (`POST /moto-api/reset`).
    ///
    /// # Panics
    ///
    /// When the server does not answer 200.
    pub async fn reset(&self) {
        match http::request(self.addr, "POST", "/moto-api/reset", &[], "").await {
            Ok((200, _)) => {}
            other => panic!("moto reset failed: {other:?}"),
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Closing stdin makes the wrapper kill the server.
            drop(child.stdin.take());
            for _ in 0..50 {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.log);
    }
}

static SHARED: OnceCell<MotoServer> = OnceCell::const_new();
static SERIAL: Mutex<()> = Mutex::const_new(());

/// Exclusive use of the test binary's shared moto server, freshly reset. Hold it for the whole
/// test; the next test waits for it.
#[derive(Debug)]
pub struct MotoLease {
    server: &'static MotoServer,
    _guard: MutexGuard<'static, ()>,
}

impl std::ops::Deref for MotoLease {
    type Target = MotoServer;

    fn deref(&self) -> &MotoServer {
        self.server
    }
}

/// The test binary's one moto server (started on first use), locked for this test and reset.
pub async fn shared_moto() -> MotoLease {
    let server = SHARED.get_or_init(MotoServer::start).await;
    let guard = SERIAL.lock().await;
    server.reset().await;
    MotoLease {
        server,
        _guard: guard,
    }
}
