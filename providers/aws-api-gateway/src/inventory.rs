//! The drift [`Inventory`]: what AWS shows now, for the agent's catalogue drift report. Every
//! call it makes is background work ([`in_background`]): paced by `backgroundRequestsPerSecond`,
//! behind every call someone is waiting for, paused while a DISCOVER, an ingest, a SUBSCRIBE or
//! an UNSUBSCRIBE runs (`limiter.rs`).
//!
//! - [`Inventory::catalogue`]: per target, the `GetRestApis` and `GetUsagePlans` page walks
//!   (3 calls for 1,000 REST APIs in 10 plans), and `GetStages` only for the REST APIs that have
//!   an asked stage no usage plan names. An asked stage exists when its REST API is listed and
//!   either a usage plan names it or its REST API's stage list has it. Trusting the plans is what
//!   AWS guarantees: a usage plan cannot name a stage that does not exist, and deleting a stage
//!   takes it out of the plans that named it (`docs/reference/aws-api-gateway.md`, "Quotas and
//!   limits", "Stages and usage plans"). The stage lists come from the target's stage cache
//!   (`stageCacheMaxAgeSeconds`), so the lists a recent discovery read are reused, except for a
//!   stage that left the plans since the last check ([`NamedStages`]): something changed there,
//!   so its list is read from AWS. With nothing changed after an ingest in usage-plan mode the
//!   check costs the two page walks (and `GetApiKeys` below); each REST API with a stage taken
//!   out of its plans, or deleted, adds one `GetStages`. Plan coverage is each usage plan's
//!   `apiStages` as provider ids (`{restApiId}:{stage}`). These actions are in the seed's
//!   minimum policy.
//! - [`Inventory::issued_keys`]: the keys named `gravitee-*` (`GetApiKeys`, which needs
//!   `apigateway:GET` on `/apikeys`) and, per usage plan, the keys attached to it
//!   (`GetUsagePlanKeys`, `apigateway:GET` on `/usageplans/*/keys`). Neither is in the seed's
//!   minimum policy: when denied, the error names the grant that would enable this part. The
//!   API a subscription's own key was issued for is read from the description `subscribe` wrote
//!   (`… to {apiId}`). An application's key is reported once per subscription recorded for the
//!   application (each record names its API), or as unused when no record is left (the agent
//!   keeps it, on no plan, for the application's next subscription: the drift comparison reports
//!   it only while it is still on a plan); the records themselves are not credentials.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use federation_core::drift::{Catalogue, IssuedCredential};
use federation_core::{Inventory, ProviderError};

use crate::error::AwsError;
use crate::limiter::{OperationClass, in_background};
use crate::mapping::{api_id, split_api_id};
use crate::paging::{Cursor, PAGE_LIMIT};
use crate::provider::AwsApiGatewayProvider;
use crate::reads::{cached_stages, list_rest_apis, list_usage_plans};
use crate::subscription::{KeyRole, ListedKey, list_gravitee_keys, parse_record, role_of};
use crate::target::Target;

#[async_trait]
impl Inventory for AwsApiGatewayProvider {
    async fn catalogue(&self, api_ids: &BTreeSet<String>) -> Result<Catalogue, ProviderError> {
        in_background(async {
            let mut catalogue = Catalogue::default();
            for target in &self.targets {
                if self.settings.discovers_http() {
                    crate::http_api::inventory::extend_catalogue(target, api_ids, &mut catalogue)
                        .await?;
                }
                if !self.settings.discovers_rest() {
                    continue;
                }
                target_catalogue(target, api_ids, &mut catalogue).await?;
            }
            Ok(catalogue)
        })
        .await
    }

    async fn issued_keys(&self) -> Result<Vec<IssuedCredential>, ProviderError> {
        let mut keys = Vec::new();
        for target in &self.targets {
            if self.settings.discovers_rest() {
                keys.extend(
                    in_background(target_keys(target))
                        .await
                        .map_err(denied_with_grant)?,
                );
            }
            if self.settings.discovers_http() {
                // OAUTH subscriptions: the audience entries the agent's markers record.
                keys.extend(
                    in_background(crate::http_api::inventory::audience_entries(target)).await?,
                );
            }
        }
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(keys)
    }
}

/// The stages (`{restApiId}:{stage}`) the usage plans of a target named at its last drift check.
/// A stage that left them since changed (deleted, or detached from its plans): its REST API's
/// stage list is then read from AWS even when the stage cache holds one.
#[derive(Debug, Default)]
pub(crate) struct NamedStages(Mutex<HashSet<String>>);

impl NamedStages {
    /// Whether `id` was named at the last check.
    fn contains(&self, id: &str) -> bool {
        self.lock().contains(id)
    }

    /// Keeps what the plans name now, once the check that read it succeeded.
    fn keep(&self, now: HashSet<String>) {
        *self.lock() = now;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A set of plain values, valid after any panic: recover from poisoning.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One target's part of the catalogue: its plans' coverage, and which of `api_ids` exist there.
async fn target_catalogue(
    target: &Target,
    api_ids: &BTreeSet<String>,
    catalogue: &mut Catalogue,
) -> Result<(), ProviderError> {
    let (rest_apis, plans) = tokio::try_join!(list_rest_apis(target), list_usage_plans(target))?;
    let mut named: HashSet<String> = HashSet::new();
    for plan in &plans {
        let covered = catalogue.plan_apis(&plan.id, &plan.name);
        for (rest, stage) in &plan.api_stages {
            covered.insert(api_id(rest, stage));
            named.insert(api_id(rest, stage));
        }
    }
    let here: HashSet<&str> = rest_apis.iter().map(|r| r.id.as_str()).collect();
    // Asked stages of listed REST APIs that no plan names: their REST API's stage list says,
    // read from AWS when one of them left the plans since the last check.
    let mut unnamed: BTreeMap<&str, (Vec<&str>, bool)> = BTreeMap::new();
    for id in api_ids {
        let Some((rest, stage)) = split_api_id(id) else {
            continue;
        };
        if !here.contains(rest) {
            continue;
        }
        if named.contains(id) {
            catalogue.apis.insert(id.clone());
        } else {
            let (stages, left_plans) = unnamed.entry(rest).or_default();
            stages.push(stage);
            *left_plans |= target.named_stages.contains(id);
        }
    }
    target.stages.retain(&here);
    let (mut fetched, mut cached) = (0usize, 0usize);
    for (rest, (stages, left_plans)) in &unnamed {
        let existing = match cached_stages(target, rest, !left_plans).await {
            Ok((existing, asked_aws)) => {
                if asked_aws {
                    fetched += 1;
                } else {
                    cached += 1;
                }
                existing
            }
            // Deleted between the two calls.
            Err(err) if err.is_not_found() => {
                fetched += 1;
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        for stage in stages {
            if existing.iter().any(|(name, _)| name == stage) {
                catalogue.apis.insert(api_id(rest, stage));
            }
        }
    }
    target.named_stages.keep(named);
    tracing::debug!(
        target_label = %target.label(),
        rest_apis = rest_apis.len(),
        usage_plans = plans.len(),
        stage_lists_read = fetched,
        stage_lists_from_cache = cached,
        "Drift catalogue read."
    );
    Ok(())
}

fn denied_with_grant(err: AwsError) -> ProviderError {
    if err.is_access_denied() {
        ProviderError::PermissionDenied(format!(
            "{err}; listing the agent's keys needs apigateway:GET on arn:aws:apigateway:*::/apikeys \
             and on arn:aws:apigateway:*::/usageplans/*/keys (not in the minimum policy)"
        ))
    } else {
        err.into()
    }
}

async fn target_keys(target: &Target) -> Result<Vec<IssuedCredential>, AwsError> {
    let listed = list_gravitee_keys(target).await?;
    let mut issued = IssuedKeys::default();
    for key in &listed {
        issued.sort(key);
    }
    if issued.keys.is_empty() {
        return Ok(Vec::new());
    }
    for plan in list_usage_plans(target).await? {
        for key_id in plan_keys(target, &plan.id).await? {
            if let Some(key) = issued.keys.get_mut(&key_id) {
                key.plans.insert(plan.id.clone());
            }
        }
    }
    Ok(issued.credentials())
}

/// The `gravitee-*` keys sorted by what their names say (`subscription/names.rs`): keys (a
/// subscription's own, or an application's) and the records of applications' subscriptions.
/// Records and probe keys are not credentials: they are disabled and never attached.
#[derive(Default)]
struct IssuedKeys {
    /// Every enabled key the agent issued, by id; an application's key without its
    /// subscriptions yet.
    keys: BTreeMap<String, IssuedCredential>,
    /// Application id → its key ids.
    applications: BTreeMap<String, Vec<String>>,
    /// Application id → subscription → the API its record names.
    records: BTreeMap<String, BTreeMap<String, Option<String>>>,
}

impl IssuedKeys {
    fn sort(&mut self, key: &ListedKey) {
        let credential = |subscription_id: Option<&str>, api_id: Option<String>| IssuedCredential {
            id: key.id.clone(),
            name: key.name.clone(),
            subscription_id: subscription_id.map(str::to_owned),
            api_id,
            ..IssuedCredential::default()
        };
        match role_of(&key.name) {
            Some(KeyRole::Subscription(subscription)) => {
                let api = key.description.as_deref().and_then(issued_for);
                self.keys
                    .insert(key.id.clone(), credential(Some(subscription), api));
            }
            Some(KeyRole::Application(application)) => {
                self.keys.insert(key.id.clone(), credential(None, None));
                self.applications
                    .entry(application.to_owned())
                    .or_default()
                    .push(key.id.clone());
            }
            Some(KeyRole::Record {
                application,
                subscription,
            }) => {
                let api = key
                    .description
                    .as_deref()
                    .and_then(parse_record)
                    .map(|(api, _)| api);
                self.records
                    .entry(application.to_owned())
                    .or_default()
                    .insert(subscription.to_owned(), api);
            }
            Some(KeyRole::Probe) | None => {}
        }
    }

    /// A subscription's own key as it is; an application's key once per subscription recorded
    /// for the application (with that subscription's API), or once marked unused when none is
    /// (idle when it is on no plan either).
    /// A record whose application key is gone is left out: it opens nothing, and its
    /// subscription's UNSUBSCRIBE deletes it.
    fn credentials(mut self) -> Vec<IssuedCredential> {
        let mut out = Vec::new();
        for (application, key_ids) in &self.applications {
            let records = self.records.get(application);
            for key_id in key_ids {
                let Some(key) = self.keys.remove(key_id) else {
                    continue;
                };
                match records.filter(|r| !r.is_empty()) {
                    None => out.push(IssuedCredential {
                        unused: true,
                        ..key
                    }),
                    Some(records) => {
                        out.extend(records.iter().map(|(subscription, api)| IssuedCredential {
                            subscription_id: Some(subscription.clone()),
                            api_id: api.clone(),
                            ..key.clone()
                        }))
                    }
                }
            }
        }
        out.extend(self.keys.into_values());
        out
    }
}

async fn plan_keys(target: &Target, plan_id: &str) -> Result<Vec<String>, AwsError> {
    let op = target.operation(
        "GetUsagePlanKeys",
        "GET",
        &format!("/usageplans/{plan_id}/keys"),
    );
    let mut out = Vec::new();
    let mut cursor = Cursor::default();
    loop {
        let page = target
            .call(&op, OperationClass::General, |c| {
                c.get_usage_plan_keys()
                    .usage_plan_id(plan_id)
                    .limit(PAGE_LIMIT)
                    .set_position(cursor.position())
                    .send()
            })
            .await?;
        out.extend(
            page.items()
                .iter()
                .filter_map(|k| k.id().map(str::to_owned)),
        );
        if !cursor.advance(page.position()) {
            return Ok(out);
        }
    }
}

/// The API id at the end of the description `subscribe` writes:
/// `Gravitee subscription {id} of {application} to {restApiId}:{stage}`.
fn issued_for(description: &str) -> Option<String> {
    let (_, api) = description.rsplit_once(" to ")?;
    split_api_id(api.trim()).map(|_| api.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_a_key_was_issued_for_comes_from_its_description() {
        assert_eq!(
            issued_for("Gravitee subscription s1 of application Shop (a1) to abc123:prod")
                .as_deref(),
            Some("abc123:prod")
        );
        assert_eq!(issued_for("made by hand"), None);
        assert_eq!(issued_for("Gravitee subscription s1 to nothing"), None);
    }

    fn listed(id: &str, name: &str, description: &str) -> ListedKey {
        ListedKey {
            id: id.to_owned(),
            name: name.to_owned(),
            value: None,
            description: Some(description.to_owned()),
            created: None,
        }
    }

    #[test]
    fn an_application_key_is_reported_per_record_and_unused_without_one() {
        let mut issued = IssuedKeys::default();
        for key in [
            listed(
                "k1",
                "gravitee-s1",
                "Gravitee subscription s1 of application x to a1:prod",
            ),
            listed("k2", "gravitee-app-a", "Gravitee application a"),
            listed(
                "r1",
                "gravitee-app-a.sub-s2",
                "… to a1:prod through usage plan gold",
            ),
            listed(
                "r2",
                "gravitee-app-a.sub-s3",
                "… to b1:prod through usage plan free",
            ),
            listed(
                "r3",
                "gravitee-app-a.sub-s3",
                "… to b1:prod through usage plan free",
            ),
            listed("k3", "gravitee-app-b", "Gravitee application b"),
            listed(
                "m1",
                "gravitee-app-b.closing",
                "a former marker: none of ours",
            ),
            listed(
                "r4",
                "gravitee-app-c.sub-s4",
                "… to c1:prod through usage plan gold",
            ),
            listed("p", "gravitee-agent-check", "probe"),
        ] {
            issued.sort(&key);
        }
        issued
            .keys
            .get_mut("k2")
            .unwrap()
            .plans
            .insert("gold".into());
        let credentials = issued.credentials();
        let summary: Vec<(&str, Option<&str>, Option<&str>, bool)> = credentials
            .iter()
            .map(|c| {
                (
                    c.id.as_str(),
                    c.subscription_id.as_deref(),
                    c.api_id.as_deref(),
                    c.unused,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("k2", Some("s2"), Some("a1:prod"), false),
                ("k2", Some("s3"), Some("b1:prod"), false),
                ("k3", None, None, true),
                ("k1", Some("s1"), Some("a1:prod"), false),
            ]
        );
        assert!(credentials[1].plans.contains("gold"), "the key's plans");
        assert_eq!(credentials[0].name, "gravitee-app-a");
    }
}
