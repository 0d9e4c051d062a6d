//! The drift inventory of HTTP APIs (`crate::inventory` calls in when `apiTypes` holds `HTTP`).
//!
//! - **Catalogue** ([`extend_catalogue`]): for the asked `http/{apiId}/{stage}` ids, `GetApis`
//!   once per target, then per asked API `GetStages` (which stages exist) and `GetRoutes` plus
//!   `GetAuthorizer` per JWT authorizer the routes use: the plan `jwt/{apiId}/{authorizerId}`
//!   covers every stage of the API while a route uses it. Plans of APIs nobody asked about are
//!   left out: a JWT plan only ever covers stages of its own API.
//! - **Audience entries** ([`audience_entries`]): the agent's markers, read from `GetApis` (its
//!   items carry the tags) with no extra call, one [`IssuedCredential`] per subscription, on
//!   the plan of its authorizer while the authorizer exists and its audience holds the client
//!   id (one `GetAuthorizer` per authorizer named by a marker). So the drift report names an
//!   audience entry whose **authorizer is gone** or whose entry was removed by hand (attached to
//!   no plan: `key_orphaned`), whose **stage no longer uses the authorizer**
//!   (`key_uncovered`), and, when the **stage is gone**, the API itself (`api_gone`).

use std::collections::{BTreeMap, BTreeSet};

use federation_core::ProviderError;
use federation_core::drift::{Catalogue, IssuedCredential};

use super::mapping::{Authorizer, HttpRoute, http_id, plan_id, split_http_id};
use super::markers::markers_of;
use super::reads::{get_authorizer, get_routes, get_stages, list_apis};
use crate::error::AwsError;
use crate::target::Target;

/// Adds the asked HTTP API stages that exist, and their JWT plans, to `catalogue`.
pub(crate) async fn extend_catalogue(
    target: &Target,
    api_ids: &BTreeSet<String>,
    catalogue: &mut Catalogue,
) -> Result<(), ProviderError> {
    let mut asked: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for id in api_ids {
        if let Some((api, stage)) = split_http_id(id) {
            asked.entry(api).or_default().push(stage);
        }
    }
    if asked.is_empty() {
        return Ok(());
    }
    let here: BTreeSet<String> = list_apis(target)
        .await?
        .into_iter()
        .filter(|a| a.is_http())
        .map(|a| a.id)
        .collect();
    for (api, stages) in asked {
        if !here.contains(api) {
            continue;
        }
        let (existing, routes) =
            match tokio::try_join!(get_stages(target, api), get_routes(target, api)) {
                Ok(found) => found,
                // Deleted between the two calls.
                Err(err) if err.is_not_found() => continue,
                Err(err) => return Err(err.into()),
            };
        for stage in stages {
            if existing.iter().any(|s| s.name == stage) {
                catalogue.apis.insert(http_id(api, stage));
            }
        }
        let jwt: BTreeSet<&str> = routes
            .iter()
            .filter_map(HttpRoute::jwt_authorizer)
            .collect();
        for authorizer_id in jwt {
            let authorizer = match get_authorizer(target, api, authorizer_id).await {
                Ok(a) if a.is_jwt() => a,
                Ok(_) => continue,
                Err(err) if err.is_not_found() => continue,
                Err(err) => return Err(err.into()),
            };
            let name = plan_name(&authorizer);
            catalogue
                .plan_apis(&plan_id(api, authorizer_id), &name)
                .extend(existing.iter().map(|s| http_id(api, &s.name)));
        }
    }
    Ok(())
}

fn plan_name(authorizer: &Authorizer) -> String {
    if authorizer.name.trim().is_empty() {
        format!("JWT authorizer {}", authorizer.id)
    } else {
        authorizer.name.clone()
    }
}

/// The audience entries the agent's markers record in `target`.
pub(crate) async fn audience_entries(target: &Target) -> Result<Vec<IssuedCredential>, AwsError> {
    let mut out = Vec::new();
    for api in list_apis(target).await? {
        let markers = markers_of(&api.markers);
        if markers.is_empty() {
            continue;
        }
        let mut authorizers: BTreeMap<String, Option<Authorizer>> = BTreeMap::new();
        for marker in &markers {
            if authorizers.contains_key(&marker.authorizer_id) {
                continue;
            }
            let found = match get_authorizer(target, &api.id, &marker.authorizer_id).await {
                Ok(a) => Some(a),
                Err(err) if err.is_not_found() => None,
                Err(err) => return Err(err),
            };
            authorizers.insert(marker.authorizer_id.clone(), found);
        }
        for marker in markers {
            let authorizer = authorizers
                .get(&marker.authorizer_id)
                .and_then(Option::as_ref);
            let holds = authorizer.is_some_and(|a| a.audience.contains(&marker.client_id));
            let on = authorizer.map_or_else(
                || format!("deleted authorizer {}", marker.authorizer_id),
                |a| format!("authorizer {}", plan_name(a)),
            );
            out.push(IssuedCredential {
                id: format!("{}/{}/{}", api.id, marker.authorizer_id, marker.client_id),
                name: format!("audience entry {} of {on}", marker.client_id),
                subscription_id: Some(marker.subscription_id.clone()),
                api_id: Some(http_id(&api.id, &marker.stage)),
                plans: if holds {
                    BTreeSet::from([plan_id(&api.id, &marker.authorizer_id)])
                } else {
                    BTreeSet::new()
                },
                ..IssuedCredential::default()
            });
        }
    }
    Ok(out)
}
