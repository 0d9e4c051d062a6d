//! What a package's build links, for the tests that keep a build lean ("an embedder compiles no
//! configuration loader", "the simulator builds no AWS SDK"): [`normal_dependencies`] asks
//! `cargo tree`, and [`is_aws_sdk`] and [`is_configuration_loader`] name the crates such tests
//! look for.
//!
//! ```no_run
//! use federation_testkit::dependencies::{is_configuration_loader, normal_dependencies};
//!
//! let crates = normal_dependencies(env!("CARGO_MANIFEST_DIR"), "my-provider", &["--no-default-features"])
//!     .unwrap();
//! assert!(!crates.iter().any(|c| is_configuration_loader(c)), "{crates:?}");
//! ```

use std::path::Path;
use std::process::Command;

/// Why [`normal_dependencies`] has no answer.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// `cargo` could not be started.
    #[error("could not run cargo tree: {0}")]
    Spawn(#[from] std::io::Error),
    /// `cargo tree` ran and failed (an unknown package, a lock file to update offline, …).
    #[error("cargo tree failed ({status}): {stderr}")]
    Failed {
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it printed on standard error.
        stderr: String,
    },
}

/// The crates `package` links (its normal dependencies, itself included, each once), by name:
/// `cargo tree --offline -e normal` run in `manifest_dir` (a test passes
/// `env!("CARGO_MANIFEST_DIR")`); `extra` adds arguments such as `--no-default-features` or
/// `--features x`. The `cargo` that runs the tests is used (`$CARGO`), with the lock file as it
/// is.
pub fn normal_dependencies(
    manifest_dir: impl AsRef<Path>,
    package: &str,
    extra: &[&str],
) -> Result<Vec<String>, TreeError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(manifest_dir)
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p}", "-p", package])
        .args(extra)
        .output()?;
    if !output.status.success() {
        return Err(TreeError::Failed {
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let mut crates: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    crates.sort();
    crates.dedup();
    Ok(crates)
}

/// An AWS SDK crate (`aws-config`, `aws-sdk-*`, `aws-smithy-*`, `aws-types`, `aws-runtime`,
/// `aws-sigv4`, `aws-credential-types`). `aws-lc-rs` and `aws-lc-sys` are not: they are
/// rustls's crypto provider, the agent's one TLS stack.
pub fn is_aws_sdk(name: &str) -> bool {
    name.starts_with("aws-") && !name.starts_with("aws-lc-")
}

/// A part of the agent's configuration loader, which an embedder of the connector does not
/// compile: figment, a YAML parser, `federation-config` itself and its Kubernetes client
/// (reqwest).
pub fn is_configuration_loader(name: &str) -> bool {
    name == "figment" || name.contains("yaml") || name == "federation-config" || name == "reqwest"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_crypto_provider_is_not_the_aws_sdk() {
        assert!(is_aws_sdk("aws-sdk-apigateway"));
        assert!(is_aws_sdk("aws-config"));
        assert!(!is_aws_sdk("aws-lc-rs"));
        assert!(!is_aws_sdk("aws-lc-sys"));
        assert!(!is_aws_sdk("rustls"));
    }

    #[test]
    fn an_unknown_package_is_an_error_naming_cargos_words() {
        let err = normal_dependencies(env!("CARGO_MANIFEST_DIR"), "no-such-package-here", &[])
            .unwrap_err();
        assert!(err.to_string().contains("no-such-package-here"), "{err}");
    }

    #[test]
    fn this_kit_links_federation_core_and_no_loader_without_its_factory() {
        let dir = env!("CARGO_MANIFEST_DIR");
        let bare =
            normal_dependencies(dir, "federation-testkit", &["--no-default-features"]).unwrap();
        assert!(bare.iter().any(|c| c == "federation-core"), "{bare:?}");
        assert!(!bare.iter().any(|c| is_configuration_loader(c)), "{bare:?}");
        let full = normal_dependencies(dir, "federation-testkit", &[]).unwrap();
        assert!(full.iter().any(|c| c == "figment"), "{full:?}");
    }
}
