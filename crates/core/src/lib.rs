//! # federation-core
//!
//! The vocabulary every other crate of the federation agent speaks:
//!
//! - [`model`]: the federated API model exactly as the Gravitee integration controller reads and
//!   writes it ([`Api`], [`Page`], [`Plan`], [`Metadata`], [`Subscription`],
//!   [`SubscriptionResult`]). Serde produces the wire JSON byte for byte: camelCase keys, null
//!   fields omitted, unknown fields ignored, Gravitee's enum spellings.
//! - [`provider`]: the [`Provider`] trait a vendor integration implements (discover, subscribe,
//!   revoke) and the types its methods take.
//! - [`sink`]: [`ApiSink`], the channel a provider streams discovered APIs into, so the connector
//!   can stop a preview at its deadline and batch an ingest without holding the whole catalog;
//!   and [`SkippedApi`], what a provider reports for a selected API it left out.
//! - [`registry`]: [`ProviderFactory`] and [`ProviderRegistry`], how a binary turns
//!   `integration.providers[i].type` into a running provider.
//! - [`settings`]: [`ProviderSettings`], a provider's untyped `configuration` block, which each
//!   provider deserialises into its own typed struct with errors that name the full key.
//! - [`drift`]: catalogue drift: what was ingested ([`drift::Ledger`]), what the vendor shows now
//!   ([`drift::observe`], through [`Inventory`], the optional provider extension that supplies
//!   the vendor's side), and their comparison ([`drift::compare`], a [`DriftReport`]).
//! - [`secret`]: [`Secret`], a string that never shows in `Debug`, `Display` or logs.
//! - [`table`]: [`OutputFormat`] and the text-table renderer the operator commands share.
//!
//! Each type has one home module; the crate root re-exports the ones a provider or a caller names
//! all the time (the model, the provider trait and its request types, [`ApiSink`], the
//! registry, [`Secret`]). Catalogue drift keeps its types in [`drift`]; the root re-exports only
//! [`Inventory`] (what a provider implements), [`DriftReport`] and [`DriftKind`] (what a caller
//! reads).
//!
//! This crate does no I/O: no sockets, no files, no vendor SDK. A provider crate depends on this
//! crate alone; the connector and the binaries bring the rest.
//!
//! The `settings` feature (on by default) brings [`ProviderSettings`] and the [`registry`], which
//! read configuration blocks with figment. The connector depends on this crate without it, so a
//! program embedding the connector compiles no configuration library.
//!
//! ## A provider in a few lines
//!
//! ```
//! use async_trait::async_trait;
//! use federation_core::{
//!     Api, ApiSink, DiscoverRequest, Provider, ProviderError, Subscription, SubscriptionResult,
//! };
//!
//! #[derive(Debug)]
//! struct Hello;
//!
//! #[async_trait]
//! impl Provider for Hello {
//!     fn provider_type(&self) -> &str {
//!         "hello" // integration.providers[i].type, HELLO's provider, the factory's type
//!     }
//!     async fn discover(&self, request: &DiscoverRequest, sink: &ApiSink) -> Result<(), ProviderError> {
//!         let api = Api::new("hello:v1", "hello", "Hello API").with_version("v1");
//!         if request.selection.includes(&api.id) {
//!             sink.emit(api).await?;
//!         }
//!         Ok(())
//!     }
//!     async fn subscribe(&self, _api_id: &str, s: &Subscription) -> Result<SubscriptionResult, ProviderError> {
//!         Ok(SubscriptionResult::new(&s.gravitee_subscription_id))
//!     }
//!     async fn revoke(&self, _api_id: &str, _s: &Subscription) -> Result<(), ProviderError> {
//!         Ok(())
//!     }
//! }
//! ```

pub mod drift;
pub mod error;
pub mod model;
pub mod provider;
#[cfg(feature = "settings")]
pub mod registry;
pub mod secret;
pub mod settings;
pub mod sink;
pub mod table;

pub use drift::{DriftKind, DriftReport, Inventory};
pub use error::ProviderError;
pub use model::{
    Api, ApiType, Metadata, MetadataFormat, Page, PageType, Plan, PlanSecurityType, Subscription,
    SubscriptionResult, SubscriptionType,
};
pub use provider::{Capabilities, Depth, DiscoverRequest, Health, Provider, Selection};
#[cfg(feature = "settings")]
pub use registry::{BuildError, ProviderContext, ProviderFactory, ProviderRegistry};
pub use secret::Secret;
#[cfg(feature = "settings")]
pub use settings::ProviderSettings;
pub use settings::SettingsError;
pub use sink::{ApiSink, SkipReason, SkippedApi, collect};
pub use table::OutputFormat;
