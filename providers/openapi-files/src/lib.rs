//! # federation-provider-openapi-files
//!
//! A federation-agent provider (type `openapi-files`) for "OpenAPI or AsyncAPI specifications
//! spread across repositories": it serves every API document found in a directory tree (a
//! checkout, a mounted volume, a config map) as one federated API, and issues API keys for them
//! from a local, hashed, persisted [`KeyStore`]. It needs no cloud account, which makes it the
//! provider of the agent's local demo and a worked example of the
//! [`Provider`](federation_core::Provider) contract.
//!
//! ## Discovery
//!
//! Every file under `directory` that the `include`/`exclude` patterns select (default: all
//! `.json`, `.yaml` and `.yml` files; hidden files and directories are never read; symbolic
//! links are followed, so a Kubernetes config map mount works) is parsed:
//!
//! | document | recognised by | page type | API type |
//! |---|---|---|---|
//! | Swagger 2.0 | `swagger: "2.0"` | `SWAGGER` | `PROXY` |
//! | OpenAPI 3.x | `openapi: 3.*` | `SWAGGER` | `PROXY` |
//! | AsyncAPI 2.x, 3.x | `asyncapi: 2.*` / `3.*` | `ASYNCAPI` | `MESSAGE` |
//!
//! One document is one API:
//!
//! - `uniqueId` and `id`: the file's path relative to `directory`, `/`-separated
//!   (`payments/openapi.yaml`): the same on every run and every machine;
//! - `name`, `version`, `description`: the document's `info.title` (the file name without
//!   extension when blank), `info.version`, `info.description`;
//! - `connectionDetails.url`: the first server (OpenAPI 3 `servers[0].url` with variable
//!   defaults; Swagger `schemes[0]://host/basePath`; AsyncAPI `protocol://url` or
//!   `protocol://host/pathname`) and, for AsyncAPI, `connectionDetails.protocol`;
//! - one page holding the document as written, named after the file (`openapi.yaml`);
//! - the configured plans (all `API_KEY`);
//! - metadata `openapi-files-path` and `openapi-files-spec` (`OpenAPI 3.1.0`).
//!
//! Files that are valid JSON/YAML but not API documents are skipped quietly; unreadable,
//! oversized or unparseable files are skipped with a `WARN` log naming the file. A preview reads
//! each document's head and drops its text at once; a full discovery keeps one document at a
//! time, until it is emitted.
//!
//! ## Configuration (`integration.providers[i].configuration.*`)
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `directory` | (required) | root of the document tree |
//! | `keyStorePath` | (required) | the key store file; created (with its directory) on first use. Keep it on a persistent volume, outside `directory` |
//! | `plans[n].id` | one plan `api-key` | plan id (unique) |
//! | `plans[n].name` | the id | plan name |
//! | `plans[n].description` | none | plan description |
//! | `plans[n].characteristics[m]` | none | facts shown with the plan (`rate 100/s`) |
//! | `include` | `**/*.json,**/*.yaml,**/*.yml` | glob patterns (list or comma-separated) of files to read, relative to `directory` |
//! | `exclude` | none | glob patterns of files to skip |
//! | `maxFileSize` | `10485760` | files larger than this many bytes are skipped with a warning |
//!
//! ## Subscriptions
//!
//! `API_KEY` only. A key is `{keyId}.{secret}`; the store keeps a salted HMAC-SHA256 of it,
//! never the key. The subscription result's metadata carries `keyId`; `UNSUBSCRIBE` revokes the
//! key of its `graviteeSubscriptionId` and succeeds when there is none. A subscription delivered
//! twice **rotates**: the second delivery gets a new key and the first stops working at once, so
//! exactly one key is ever active per subscription (see [`keystore`]). Gateways check presented
//! keys with [`OpenApiFilesProvider::verify_key`] or, from another process,
//! [`keystore::verify_key_file`].
//!
//! ```no_run
//! use federation_core::ProviderRegistry;
//! use federation_provider_openapi_files::OpenApiFilesFactory;
//!
//! let registry = ProviderRegistry::new().with(OpenApiFilesFactory);
//! assert!(registry.get("openapi-files").is_some());
//! ```

pub mod config;
pub mod discovery;
pub mod document;
pub mod keystore;
pub mod provider;

pub use config::{OpenApiFilesConfig, PlanConfig};
pub use keystore::{KeyStore, KeyStoreError, VerifiedKey, verify_key_file};
pub use provider::{OpenApiFilesFactory, OpenApiFilesProvider, PROVIDER_TYPE};
