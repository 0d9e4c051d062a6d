//! Catalogue drift: what changed at the vendor since the agent ingested it, which the exchange
//! protocol has no command to tell Gravitee.
//!
//! Four parts, all without I/O of their own:
//!
//! - [`Ledger`] (`ledger.rs`): what the agent ingested for one integration (API ids, their
//!   plans, when), and the plan coverage it last acknowledged. The connector fills it from the
//!   INGEST batches it sends (and FETCH replies on APIM 4.4) and may persist it (it is `serde`).
//! - [`Inventory`] (`inventory.rs`): the optional extension of the [`Provider`](crate::Provider)
//!   contract that says what only the vendor knows: which ingested APIs still exist
//!   ([`Catalogue`]), which APIs each plan covers now ([`PlanCoverage`]), and the credentials
//!   the agent issued ([`IssuedCredential`]). A provider offers it through
//!   [`Provider::inventory`](crate::Provider::inventory).
//! - [`observe`] (`observe.rs`): asks a provider what the vendor shows now (its inventory, or a
//!   preview discovery when it has none), as [`Observed`].
//! - [`compare`] (`compare.rs`): the vendor-neutral comparison of the two, a [`DriftReport`]
//!   whose every [`DriftItem`] (of a [`DriftKind`]) says what changed and the action to take in
//!   Gravitee.
//!
//! Every drift type is named through this module (`federation_core::drift::Ledger`); the crate
//! root also re-exports the three named most often: [`Inventory`], [`DriftReport`] and
//! [`DriftKind`].

mod compare;
mod inventory;
mod ledger;
mod observe;

pub use compare::{DriftItem, DriftKind, DriftReport, Observed, compare};
pub use inventory::{Catalogue, Inventory, IssuedCredential, PlanCoverage};
pub use ledger::{IngestedApi, Ledger};
pub use observe::observe;
