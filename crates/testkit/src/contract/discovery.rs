//! The discovery rules: ids, preview against full, selection, the shape of each API,
//! cancellation, and the fixture's API.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use federation_core::model::StringMap;
use federation_core::{Api, ApiSink, DiscoverRequest, Provider, ProviderError, Selection};

use super::{Fixture, Outcome, blank, discover, verdict};

pub(super) fn duplicates<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    let mut dup = BTreeSet::new();
    for item in items {
        if !seen.insert(item) {
            dup.insert(item);
        }
    }
    dup.into_iter().collect()
}

pub(super) fn ids_unique(what: &str, apis: &[Api]) -> Vec<String> {
    let mut problems = Vec::new();
    let ids = duplicates(apis.iter().map(|a| a.id.as_str()));
    if !ids.is_empty() {
        problems.push(format!("{what} discovery repeats id {ids:?}"));
    }
    let unique_ids = duplicates(apis.iter().map(|a| a.unique_id.as_str()));
    if !unique_ids.is_empty() {
        problems.push(format!("{what} discovery repeats uniqueId {unique_ids:?}"));
    }
    problems
}

pub(super) fn id_pairs(apis: &[Api]) -> BTreeSet<(&str, &str)> {
    apis.iter()
        .map(|a| (a.id.as_str(), a.unique_id.as_str()))
        .collect()
}

pub(super) fn ids_stable(what: &str, first: &[Api], second: &[Api]) -> Vec<String> {
    let a = id_pairs(first);
    let b = id_pairs(second);
    if a == b {
        return Vec::new();
    }
    let gone: Vec<_> = a.difference(&b).take(3).collect();
    let new: Vec<_> = b.difference(&a).take(3).collect();
    vec![format!(
        "two {what} discoveries differ: (id, uniqueId) only in the first run {gone:?}, only in \
         the second {new:?}"
    )]
}

pub(super) fn full_covers_preview(preview: &[Api], full: &[Api]) -> Vec<String> {
    let full_by_id: BTreeMap<&str, &str> = full
        .iter()
        .map(|a| (a.id.as_str(), a.unique_id.as_str()))
        .collect();
    let mut missing = Vec::new();
    let mut changed = Vec::new();
    for api in preview {
        match full_by_id.get(api.id.as_str()) {
            None => missing.push(api.id.as_str()),
            Some(unique_id) if *unique_id != api.unique_id => changed.push(format!(
                "{} has uniqueId {:?} in preview but {unique_id:?} in full",
                api.id, api.unique_id
            )),
            Some(_) => {}
        }
    }
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("full discovery lacks preview ids {missing:?}"));
    }
    problems.extend(changed);
    problems
}

/// The preview APIs that carry pages: a preview fetches no documents.
pub(super) fn preview_problems(what: &str, preview: &[Api]) -> Vec<String> {
    let with_pages: Vec<&str> = preview
        .iter()
        .filter(|api| api.pages.as_ref().is_some_and(|pages| !pages.is_empty()))
        .map(|api| api.id.as_str())
        .collect();
    if with_pages.is_empty() {
        return Vec::new();
    }
    let shown: Vec<_> = with_pages.iter().take(3).collect();
    vec![format!(
        "{what} discovery (Depth::Preview) carries pages on {} API(s), for example {shown:?}: \
         fetch documents for Depth::Full only",
        with_pages.len()
    )]
}

pub(super) async fn selection_honoured(
    provider: &dyn Provider,
    fixture: &Fixture,
    full: &[Api],
) -> Outcome {
    if full.is_empty() {
        return Outcome::Skipped("full discovery returned no API".to_owned());
    }
    // Select about half the ids (all of them when there is only one) plus an unknown id.
    let keep = full.len().div_ceil(2);
    let wanted: BTreeSet<String> = full.iter().take(keep).map(|a| a.id.clone()).collect();
    let unknown = format!("contract-unknown-{}", uuid::Uuid::new_v4().simple());
    let mut selection = wanted.clone();
    selection.insert(unknown.clone());
    let request = DiscoverRequest::full(Selection::Only(selection));
    match discover(provider, fixture, request).await {
        Err(e) => Outcome::Failed(format!("full discovery of a selection {e}")),
        Ok(apis) => {
            let got: BTreeSet<String> = apis.iter().map(|a| a.id.clone()).collect();
            let mut problems = Vec::new();
            let extra: Vec<_> = got.difference(&wanted).collect();
            if !extra.is_empty() {
                problems.push(format!(
                    "Selection::Only({wanted:?} + unknown {unknown:?}) also returned {extra:?}"
                ));
            }
            let missing: Vec<_> = wanted.difference(&got).collect();
            if !missing.is_empty() {
                problems.push(format!(
                    "Selection::Only({wanted:?}) did not return {missing:?}"
                ));
            }
            verdict(problems)
        }
    }
}

pub(super) fn required_fields(what: &str, apis: &[Api]) -> Vec<String> {
    let mut problems = Vec::new();
    for (index, api) in apis.iter().enumerate() {
        let mut blanks = Vec::new();
        if blank(&api.unique_id) {
            blanks.push("uniqueId");
        }
        if blank(&api.id) {
            blanks.push("id");
        }
        if blank(&api.name) {
            blanks.push("name");
        }
        if !blanks.is_empty() {
            problems.push(format!(
                "{what} API #{index} (id {:?}) has a blank {}",
                api.id,
                blanks.join(", ")
            ));
        }
    }
    problems
}

pub(super) fn page_problems(api: &Api) -> Vec<String> {
    let mut problems = Vec::new();
    let pages = api.pages.as_deref().unwrap_or_default();
    let mut names = Vec::new();
    for (index, page) in pages.iter().enumerate() {
        match page.filename.as_deref() {
            Some(name) if !blank(name) => names.push(name),
            _ => problems.push(format!("API {:?} page #{index} has no filename", api.id)),
        }
        if blank(&page.content) {
            problems.push(format!("API {:?} page #{index} has no content", api.id));
        }
    }
    let dup = duplicates(names);
    if !dup.is_empty() {
        problems.push(format!("API {:?} repeats page filename {dup:?}", api.id));
    }
    problems
}

pub(super) fn plan_problems(api: &Api) -> Vec<String> {
    let mut problems = Vec::new();
    let plans = api.plans.as_deref().unwrap_or_default();
    for (index, plan) in plans.iter().enumerate() {
        if blank(&plan.id) || blank(&plan.name) {
            problems.push(format!(
                "API {:?} plan #{index} has a blank id or name",
                api.id
            ));
        }
        let json = serde_json::to_value(plan).unwrap_or_default();
        if !json.get("planSecurityType").is_some_and(|v| v.is_string()) {
            problems.push(format!(
                "API {:?} plan {:?} has no planSecurityType",
                api.id, plan.id
            ));
        }
    }
    let dup = duplicates(plans.iter().map(|p| p.id.as_str()));
    if !dup.is_empty() {
        problems.push(format!("API {:?} repeats plan id {dup:?}", api.id));
    }
    problems
}

pub(super) fn metadata_problems(api: &Api) -> Vec<String> {
    let mut problems = Vec::new();
    let entries = api.metadata.as_deref().unwrap_or_default();
    for (index, entry) in entries.iter().enumerate() {
        if blank(&entry.name) {
            problems.push(format!(
                "API {:?} metadata #{index} has a blank name",
                api.id
            ));
        }
        let json = serde_json::to_value(entry).unwrap_or_default();
        if !json.get("format").is_some_and(|v| v.is_string()) {
            problems.push(format!(
                "API {:?} metadata {:?} has no format",
                api.id, entry.name
            ));
        }
    }
    let dup = duplicates(entries.iter().map(|m| m.name.as_str()));
    if !dup.is_empty() {
        problems.push(format!("API {:?} repeats metadata name {dup:?}", api.id));
    }
    problems
}

pub(super) async fn stops_when_cancelled(
    provider: &dyn Provider,
    fixture: &Fixture,
    count: usize,
) -> Outcome {
    if count < 2 {
        return Outcome::Skipped(format!(
            "needs at least two APIs to cancel a discovery midway; full discovery returned {count}"
        ));
    }
    // Room for one API: the receiver takes the first one and hangs up, as the connector does at
    // a preview deadline.
    let (sink, mut rx) = ApiSink::channel(1);
    let receiver = async move {
        let first = rx.recv().await;
        drop(rx);
        first
    };
    let request = DiscoverRequest::full(Selection::All);
    let work = async {
        let result = provider.discover(&request, &sink).await;
        drop(sink);
        result
    };
    let joined = tokio::time::timeout(fixture.call_timeout, async { tokio::join!(work, receiver) });
    match joined.await {
        Err(_) => Outcome::Failed(format!(
            "discover did not return within {:?} after the sink's receiver was dropped",
            fixture.call_timeout
        )),
        Ok((_, None)) => Outcome::Failed("discover emitted nothing before returning".to_owned()),
        Ok((Ok(()) | Err(ProviderError::Cancelled), Some(_))) => Outcome::Passed,
        Ok((Err(err), Some(_))) => Outcome::Failed(format!(
            "after the sink's receiver was dropped, discover returned {:?} instead of Ok or \
             Cancelled",
            err.details()
        )),
    }
}

pub(super) fn fixture_api_discovered(fixture: &Fixture, api: Option<&Api>) -> Outcome {
    match api {
        None => Outcome::Failed(format!(
            "full discovery has no API with id {:?} (the fixture's API)",
            fixture.api_id
        )),
        Some(api) => {
            let has_plan = api.plans.iter().flatten().any(|p| p.id == fixture.plan_id);
            if has_plan {
                Outcome::Passed
            } else {
                Outcome::Failed(format!(
                    "API {:?} has no plan with id {:?} (the fixture's plan)",
                    fixture.api_id, fixture.plan_id
                ))
            }
        }
    }
}

/// The SUBSCRIBE metadata the controller would build: connection details, provider metadata,
/// then `planId`.
pub(super) fn controller_metadata(fixture: &Fixture, api: Option<&Api>) -> StringMap {
    let mut metadata = StringMap::new();
    if let Some(api) = api {
        for (key, value) in api.connection_details.iter().flatten() {
            metadata.insert(key.clone(), value.clone());
        }
        if let Some(provider_type) = &fixture.provider_type {
            for entry in api.metadata.iter().flatten() {
                if entry.name.contains(provider_type.as_str()) {
                    metadata.insert(entry.name.clone(), entry.value.clone());
                }
            }
        }
    }
    metadata.insert("planId".to_owned(), fixture.plan_id.clone());
    metadata
}
