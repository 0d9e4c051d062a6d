//! Operator tools behind the binary's subcommands: `discover` and `check`.
//!
//! - [`discover`] runs discovery with the configured provider and returns a [`DiscoveryReport`]:
//!   the APIs that would be ingested, and every stage that was left out with the reason and the
//!   fix ("stage prod of API Pets has no usage plan: … set acceptApiWithoutUsagePlan=true"; with
//!   `full`, a stage whose OpenAPI export failed, with the AWS error, or that was deleted
//!   meanwhile: an ingest leaves those out too). It answers "why is my API missing?". Render it
//!   with [`DiscoveryReport::render`] as a table or JSON.
//! - [`check`] resolves the credentials of every target and tries each AWS action of the seed's
//!   minimum IAM policy that can be tried without changing anything, and the optional ones
//!   (`GetApiKeys`, `DeleteUsagePlanKey`: what each enables is in [`CheckRow::enables`]), and
//!   returns a [`CheckReport`]: allowed / denied / untested, with the IAM action to add.
//!
//! Both take the provider's `configuration` block ([`ProviderSettings`]) so the binary needs no
//! AWS types; `*_with` variants take a built provider.

mod check;
mod discover;

pub(crate) use check::outcome_of;
pub use check::{CheckOptions, CheckOutcome, CheckReport, CheckRow, check, check_with};
pub use discover::{DiscoverOptions, DiscoveryReport, discover, discover_with};
pub use federation_core::table::OutputFormat;

pub use crate::discovery::SkippedStage;
