//! Helpers shared by this crate's integration tests.

// Each test binary uses a part of these.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use federation_core::Api;
use federation_provider_openapi_files::{OpenApiFilesConfig, OpenApiFilesProvider};

pub(crate) const SAMPLE_IDS: [&str; 4] = [
    "events/orders-asyncapi.yaml",
    "payments/openapi.json",
    "payments/refunds-openapi-3.1.yaml",
    "petstore/swagger.yaml",
];

pub(crate) fn specs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/specs")
}

pub(crate) fn provider_on(directory: &Path, store: &Path) -> OpenApiFilesProvider {
    OpenApiFilesProvider::new(OpenApiFilesConfig::new(directory, store)).unwrap()
}

pub(crate) fn ids(apis: &[Api]) -> Vec<&str> {
    apis.iter().map(|a| a.id.as_str()).collect()
}
