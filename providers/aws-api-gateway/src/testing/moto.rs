//! [`MotoServer`]: moto in server mode on a free loopback port, and [`shared_moto`].

use std::ffi::OsString;
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

/// The first line of the panic when moto cannot be found or started: the one command that
/// installs it.
pub(super) const MOTO_MISSING: &str = "moto (the AWS emulator these tests run against) is not installed \
     or does not start: run `bash scripts/install-moto.sh` (or `scripts/test`, which installs it \
     and runs every test)";

/// Finds `moto_server`: `$MOTO_SERVER`, else `<workspace>/.venv-moto/bin/moto_server`, else on
/// `PATH`.
pub fn moto_server_binary() -> Option<PathBuf> {
    find_moto_server(
        std::env::var_os("MOTO_SERVER"),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
        std::env::var_os("PATH"),
    )
    .ok()
}

/// Where `moto_server` is, from `$MOTO_SERVER`, the workspace and `$PATH`; else the panic
/// message: [`MOTO_MISSING`], then the places looked at.
fn find_moto_server(
    moto_server: Option<OsString>,
    workspace: &Path,
    path: Option<OsString>,
) -> Result<PathBuf, String> {
    if let Some(named) = moto_server.filter(|p| !p.is_empty()) {
        let named = PathBuf::from(named);
        return if named.is_file() {
            Ok(named)
        } else {
            Err(format!(
                "{MOTO_MISSING}\n$MOTO_SERVER names {}, which is not a file",
                named.display()
            ))
        };
    }
    let venv = workspace.join(".venv-moto/bin/moto_server");
    if venv.is_file() {
        return Ok(venv);
    }
    path.as_deref()
        .and_then(|paths| {
            std::env::split_paths(paths)
                .map(|dir| dir.join("moto_server"))
                .find(|candidate| candidate.is_file())
        })
        .ok_or_else(|| {
            format!(
                "{MOTO_MISSING}\nlooked for $MOTO_SERVER (unset), {} and moto_server on PATH",
                venv.display()
            )
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
    /// When moto cannot be found or exits before answering (the message's first line is
    /// [`MOTO_MISSING`], then what was found and the server's log), or does not answer within
    /// 60 s.
    pub async fn start() -> Self {
        match Self::try_start().await {
            Ok(server) => server,
            Err(message) => panic!("{message}"),
        }
    }

    /// [`MotoServer::start`], with the panic message as the error.
    async fn try_start() -> Result<Self, String> {
        let binary = find_moto_server(
            std::env::var_os("MOTO_SERVER"),
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
            std::env::var_os("PATH"),
        )?;
        Self::start_binary(&binary).await
    }

    /// Starts `binary` (a `moto_server`), trying three ports.
    async fn start_binary(binary: &Path) -> Result<Self, String> {
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log = std::env::temp_dir().join(format!("moto-server-{port}.log"));
            let log_file = std::fs::File::create(&log)
                .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
            let log_err = log_file
                .try_clone()
                .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
            // The wrapper exits with the server (so a server that cannot start is seen at
            // once), and kills the server when our end of its stdin closes (drop, or this
            // process exiting), by its pid.
            let child = Command::new("sh")
                .arg("-c")
                .arg(
                    "exec 3<&0; \"$0\" -H 127.0.0.1 -p \"$1\" </dev/null & pid=$!; \
                     { read _ignored <&3; kill $pid 2>/dev/null; } & watcher=$!; \
                     trap 'kill $pid 2>/dev/null' TERM; \
                     wait $pid; status=$?; kill $watcher 2>/dev/null; exit $status",
                )
                .arg(binary)
                .arg(port.to_string())
                .stdin(Stdio::piped())
                .stdout(log_file)
                .stderr(log_err)
                .spawn()
                .map_err(|e| format!("{MOTO_MISSING}\ncannot start {}: {e}", binary.display()))?;
            let mut server = Self {
                child: Some(child),
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                log,
            };
            match server.wait_ready(Duration::from_secs(60)).await {
                Ok(()) => return Ok(server),
                Err(e) => {
                    last_error = e;
                    server.stop();
                }
            }
        }
        Err(last_error)
    }

    async fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!(
                    "{MOTO_MISSING}\nmoto_server exited ({status}) before answering; its log:\n{}",
                    self.log_text()
                ));
            }
            if let Ok((status, _)) =
                http::request(self.addr, "POST", "/moto-api/reset", &[], "").await
                && status == 200
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "moto_server did not answer on {} within {timeout:?}; its log:\n{}",
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

/// The test binary's server, or why it could not start (every test then fails at once with
/// the same message instead of trying again).
static SHARED: OnceCell<Result<MotoServer, String>> = OnceCell::const_new();
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
///
/// # Panics
///
/// As [`MotoServer::start`], in every test of the binary.
pub async fn shared_moto() -> MotoLease {
    let server = match SHARED.get_or_init(MotoServer::try_start).await {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    };
    let guard = SERIAL.lock().await;
    server.reset().await;
    MotoLease {
        server,
        _guard: guard,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_moto_the_message_starts_with_the_command_that_installs_it() {
        let empty = std::env::temp_dir().join("no-moto-workspace-here");
        let message = find_moto_server(None, &empty, Some(OsString::new())).unwrap_err();
        assert_eq!(message.lines().next(), Some(MOTO_MISSING));
        assert!(MOTO_MISSING.contains("`bash scripts/install-moto.sh`"));
        assert!(message.contains(".venv-moto/bin/moto_server"), "{message}");

        let message = find_moto_server(
            Some(OsString::from("/nonexistent/moto_server")),
            &empty,
            None,
        )
        .unwrap_err();
        assert_eq!(message.lines().next(), Some(MOTO_MISSING));
        assert!(message.contains("/nonexistent/moto_server"), "{message}");
    }

    #[tokio::test]
    async fn a_server_that_cannot_start_fails_at_once_with_that_message() {
        let started = std::time::Instant::now();
        let error = MotoServer::start_binary(Path::new("/nonexistent/moto_server"))
            .await
            .unwrap_err();
        assert_eq!(error.lines().next(), Some(MOTO_MISSING));
        assert!(error.contains("exited"), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
    }
}
