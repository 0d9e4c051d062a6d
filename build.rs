//! Link settings of the agent binaries.
//!
//! On Linux with glibc 2.36 or later, the binaries are linked with `-z pack-relative-relocs`
//! (DT_RELR): the loader then applies the position-independent executable's ~30,000 relative
//! relocations from a table of a few KiB instead of 750 KiB, and that table no longer stays
//! resident. Measured with `cargo bench --bench agent_footprint`: about 1 MiB less VmRSS,
//! ASLR kept (docs/performance.md). A binary linked this way needs glibc 2.36 or later to run,
//! which is why it is only done when the glibc we link against is that recent (a binary built
//! against a glibc needs that glibc anyway). `FEDERATION_AGENT_NO_RELR=1` turns it off.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=FEDERATION_AGENT_NO_RELR");
    let env = |key: &str| std::env::var(key).unwrap_or_default();
    let linux_gnu = env("CARGO_CFG_TARGET_OS") == "linux" && env("CARGO_CFG_TARGET_ENV") == "gnu";
    // The host's glibc is the one linked against only when building for the host.
    let native = env("HOST") == env("TARGET");
    let opted_out = !env("FEDERATION_AGENT_NO_RELR").is_empty();
    if linux_gnu && native && !opted_out && host_glibc().is_some_and(|v| v >= (2, 36)) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The host's glibc version, from `getconf GNU_LIBC_VERSION` ("glibc 2.36").
fn host_glibc() -> Option<(u32, u32)> {
    let output = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let version = text.trim().strip_prefix("glibc ")?;
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}
