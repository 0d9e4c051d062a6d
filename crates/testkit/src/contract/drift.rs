//! The drift inventory rules, checked only when the provider offers an
//! [`Inventory`](federation_core::Inventory) (skipped otherwise).

use std::collections::BTreeSet;

use federation_core::{Api, Provider, ProviderError};

use super::{Fixture, Outcome, blank, verdict};

/// An id no provider has: the catalogue must not say it exists.
const UNKNOWN_ID: &str = "contract-drift-unknown-api";

/// `catalogue` says every discovered API exists (and an unknown id does not), and every plan
/// an API was discovered with covers it.
pub(super) async fn catalogue_consistent(
    provider: &dyn Provider,
    fixture: &Fixture,
    full: &[Api],
) -> Outcome {
    let Some(inventory) = provider.inventory() else {
        return Outcome::Skipped("the provider offers no drift inventory".to_owned());
    };
    let mut asked: BTreeSet<String> = full.iter().map(|a| a.id.clone()).collect();
    asked.insert(UNKNOWN_ID.to_owned());
    let catalogue =
        match tokio::time::timeout(fixture.call_timeout, inventory.catalogue(&asked)).await {
            Ok(Ok(catalogue)) => catalogue,
            Ok(Err(error)) => {
                return Outcome::Failed(format!("catalogue() failed: {}", error.details()));
            }
            Err(_) => {
                return Outcome::Failed(format!(
                    "catalogue() did not finish within {:?}",
                    fixture.call_timeout
                ));
            }
        };
    let mut problems = Vec::new();
    for api in full {
        if !catalogue.apis.contains(&api.id) {
            problems.push(format!(
                "discovered API {} is missing from catalogue().apis",
                api.id
            ));
        }
        for plan in api.plans.iter().flatten() {
            match catalogue.plans.get(&plan.id) {
                Some(coverage) if coverage.apis.contains(&api.id) => {}
                Some(_) => problems.push(format!(
                    "plan {} was discovered on API {} but catalogue() says it does not cover it",
                    plan.id, api.id
                )),
                None => problems.push(format!(
                    "plan {} of API {} is missing from catalogue().plans",
                    plan.id, api.id
                )),
            }
        }
    }
    if catalogue.apis.contains(UNKNOWN_ID) {
        problems.push(format!(
            "catalogue() says the unknown id {UNKNOWN_ID} exists"
        ));
    }
    if let Some(extra) = catalogue.apis.iter().find(|id| !asked.contains(*id)) {
        problems.push(format!(
            "catalogue().apis holds {extra}, which was not asked for"
        ));
    }
    verdict(problems)
}

/// `issued_keys` answers, or is refused with a permission error that names what to grant; each
/// key has an id and a name and sits on plans the catalogue knows.
pub(super) async fn keys_well_formed(provider: &dyn Provider, fixture: &Fixture) -> Outcome {
    let Some(inventory) = provider.inventory() else {
        return Outcome::Skipped("the provider offers no drift inventory".to_owned());
    };
    let keys = match tokio::time::timeout(fixture.call_timeout, inventory.issued_keys()).await {
        Ok(Ok(keys)) => keys,
        Ok(Err(ProviderError::PermissionDenied(text))) if !blank(&text) => {
            return Outcome::Passed;
        }
        Ok(Err(error)) => {
            return Outcome::Failed(format!(
                "issued_keys() failed with something else than a permission error naming the \
                 grant: {}",
                error.details()
            ));
        }
        Err(_) => {
            return Outcome::Failed(format!(
                "issued_keys() did not finish within {:?}",
                fixture.call_timeout
            ));
        }
    };
    let plans = match inventory.catalogue(&BTreeSet::new()).await {
        Ok(catalogue) => catalogue.plans,
        Err(error) => {
            return Outcome::Failed(format!("catalogue() failed: {}", error.details()));
        }
    };
    let mut problems = Vec::new();
    for key in &keys {
        if blank(&key.id) || blank(&key.name) {
            problems.push(format!("a key has a blank id or name: {:?}", key.name));
        }
        for plan in &key.plans {
            if !plans.contains_key(plan) {
                problems.push(format!(
                    "key {} is on plan {plan}, which catalogue() does not list",
                    key.name
                ));
            }
        }
    }
    verdict(problems)
}
