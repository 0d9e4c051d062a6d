//! [`observe`]: asks a provider what the vendor shows now, for [`compare`](super::compare).
//!
//! No I/O of its own: it calls the [`Provider`] (its [`Inventory`] when it offers one, else a
//! preview discovery), which does the talking.
//!
//! [`Inventory`]: crate::drift::Inventory

use std::collections::BTreeSet;

use crate::drift::{Catalogue, Ledger, Observed};
use crate::error::ProviderError;
use crate::provider::{DiscoverRequest, Provider};
use crate::sink::collect;

/// Asks the vendor what it shows now: through the provider's [`Inventory`] when it has one,
/// else from `preview` (a complete DISCOVER's ids) or a preview discovery run here. Also returns
/// the inventory's catalogue, to acknowledge plan coverage after an ingest.
///
/// [`Inventory`]: crate::drift::Inventory
pub async fn observe(
    provider: &dyn Provider,
    ledger: &Ledger,
    preview: Option<BTreeSet<String>>,
) -> (Observed, Option<Catalogue>) {
    let mut observed = Observed::default();
    let ids: BTreeSet<String> = ledger.apis.keys().cloned().collect();
    let Some(inventory) = provider.inventory() else {
        observed.apis = match preview {
            Some(ids) => Some(ids),
            None => match collect(provider, &DiscoverRequest::preview()).await {
                Ok(apis) => Some(apis.into_iter().map(|a| a.id).collect()),
                Err(error) => {
                    observed
                        .unchecked
                        .push(format!("apis: discovery failed: {}", error.details()));
                    None
                }
            },
        };
        observed
            .unchecked
            .push("plans and keys: the provider offers no inventory".to_owned());
        return (observed, None);
    };
    let (catalogue, keys) = tokio::join!(inventory.catalogue(&ids), inventory.issued_keys());
    let catalogue = match catalogue {
        Ok(catalogue) => {
            observed.apis = Some(catalogue.apis.clone());
            observed.plans = Some(catalogue.plans.clone());
            Some(catalogue)
        }
        Err(error) => {
            observed.unchecked.push(format!(
                "apis and plans: the vendor could not be read: {}",
                error.details()
            ));
            None
        }
    };
    observed.keys = Some(keys.map_err(|error| match error {
        ProviderError::PermissionDenied(text) => format!("not listed: {text}"),
        other => format!("not listed: {}", other.details()),
    }));
    (observed, catalogue)
}
