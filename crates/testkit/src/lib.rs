//! # federation-testkit
//!
//! What a provider author needs to test a provider, and what the connector's own tests run on:
//!
//! - [`contract`]: the provider contract suite. [`check_provider`] runs every rule of the
//!   [`Provider`](federation_core::Provider) contract against any provider and returns a
//!   [`ContractReport`]; [`assert_provider_contract`] panics naming each broken rule. Every
//!   provider crate runs it in its tests.
//! - [`memory`]: [`MemoryProvider`], a complete in-memory provider with knobs for slowness,
//!   failures and health, and `MemoryFactory` to register it under a type name (feature
//!   `factory`, on by default: it brings federation-core's `settings`, hence figment; an
//!   embedder's build turns it off). It passes the contract suite.
//! - [`dependencies`]: what a package's build links (`cargo tree`), for tests that keep a
//!   build free of the AWS SDK or of the configuration loader.

pub mod contract;
pub mod dependencies;
pub mod memory;

pub use contract::{
    ContractReport, CredentialProbe, Fixture, Outcome, Rule, assert_provider_contract,
    check_provider,
};
#[cfg(feature = "factory")]
pub use memory::MemoryFactory;
pub use memory::MemoryProvider;
