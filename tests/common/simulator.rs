//! The controller simulator's binary, for the tests that run it as a user does.
//!
//! `federation-controller-simulator` is a binary of the `federation-simulator` package (so that
//! trying it builds no AWS SDK), and Cargo gives a binary's path (`CARGO_BIN_EXE_*`) only to the
//! tests of its own package. The tests here find it beside this package's binaries, in the same
//! target directory and profile, after asking Cargo to build it there: a no-op when
//! `cargo test --workspace` built it already, a short build after `cargo test -p federation-agent`.
//! `FEDERATION_SIMULATOR_BIN=/path/to/federation-controller-simulator` skips the build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const NAME: &str = "federation-controller-simulator";

/// The simulator binary's path, built if needed (once per test process).
pub(crate) fn simulator_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build)
}

fn build() -> PathBuf {
    if let Some(path) = std::env::var_os("FEDERATION_SIMULATOR_BIN") {
        return PathBuf::from(path);
    }
    // <target>[/<triple>]/<profile>/federation-agent: the simulator goes next to it.
    let beside = Path::new(env!("CARGO_BIN_EXE_federation-agent"))
        .parent()
        .expect("a binary lives in a directory");
    let profile = match beside.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => panic!("unexpected binary directory {}", beside.display()),
    };
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--quiet",
            "-p",
            "federation-simulator",
            "--bin",
            NAME,
        ])
        .args(["--profile", profile]);
    let mut target_dir = beside.parent().expect("a profile directory has a parent");
    // A cross build's binaries sit under <target>/<triple>/; the target root holds CACHEDIR.TAG.
    if !target_dir.join("CACHEDIR.TAG").exists()
        && let (Some(triple), Some(root)) = (target_dir.file_name(), target_dir.parent())
    {
        command.arg("--target").arg(triple);
        target_dir = root;
    }
    let status = command
        .env("CARGO_TARGET_DIR", target_dir)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build of {NAME} failed: {status}");
    let binary = beside.join(format!("{NAME}{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.exists(), "{} was not built", binary.display());
    binary
}
