//! Ingest jobs and the ingested catalog, as APIM keeps them
//! (`docs/reference/integration-commands.md` §1.3, §1.4, §9): a job exists once a START_INGEST
//! reply with `total > 0` was read, stays PENDING until the `done: true` batch, and (APIM
//! 4.7+) reads TIMEOUT once past its deadline; each API named in a batch is upserted by
//! `uniqueId` with its pages replaced, and an API left out is kept as it was.

use std::time::Instant;

use federation_core::{Api, PageType};
use indexmap::IndexMap;

use crate::config::SimulatorConfig;
use crate::state::{CatalogApi, IngestJob, IngestJobStatus, State};

/// The job a START_INGEST reply of `total` APIs creates, `now`.
pub(crate) fn new_job(
    config: &SimulatorConfig,
    job_id: &str,
    integration_id: &str,
    total: u64,
    now: Instant,
) -> IngestJob {
    IngestJob {
        job_id: job_id.to_owned(),
        integration_id: integration_id.to_owned(),
        total,
        status: IngestJobStatus::Pending,
        created_at: Some(now),
        deadline: config
            .apim_version
            .has_ingest_deadline()
            .then(|| now + config.ingest_job_deadline),
        ..IngestJob::default()
    }
}

/// The integration's PENDING job, if any, read `now` (a job past its deadline turns TIMEOUT
/// here, as when APIM reads it).
pub(crate) fn pending_job(
    state: &mut State,
    integration_id: &str,
    now: Instant,
) -> Option<IngestJob> {
    state
        .jobs
        .values_mut()
        .filter(|job| job.integration_id == integration_id)
        .map(|job| job.read(now))
        .find(|job| job.is_pending())
        .map(|job| job.clone())
}

/// Applies one INGEST batch, as `IngestFederatedApisUseCase` does. Returns false when no job
/// has this id: APIM then ingests nothing (and still answers SUCCEEDED).
pub(crate) fn apply_batch(
    config: &SimulatorConfig,
    state: &mut State,
    job_id: &str,
    apis: &[Api],
    done: bool,
    now: Instant,
) -> bool {
    let Some(job) = state.jobs.get_mut(job_id) else {
        return false;
    };
    job.read(now);
    job.batches += 1;
    job.apis.extend(apis.iter().cloned());
    if done {
        // Completing works on a late job too.
        job.done = true;
        job.status = IngestJobStatus::Success;
    } else if config.apim_version.has_ingest_deadline() {
        // APIM 4.7+ delays the deadline; a job already TIMEOUT stays so.
        job.deadline = Some(now + config.ingest_job_deadline);
    }
    // The APIs belong to the job's integration, whichever connection sent the batch (APIM
    // does not compare them, §1.4).
    let integration_id = job.integration_id.clone();
    let catalog = state.catalog.entry(integration_id).or_default();
    for api in apis {
        upsert(config, catalog, api);
    }
    true
}

/// Creates or updates one API in an integration's catalog.
fn upsert(config: &SimulatorConfig, catalog: &mut IndexMap<String, CatalogApi>, api: &Api) {
    let Some(existing) = catalog.get_mut(&api.unique_id) else {
        let mut pages = IndexMap::new();
        for page in api.pages.iter().flatten() {
            if imported(page.page_type) {
                pages.insert(page_name(page), page.clone());
            }
        }
        catalog.insert(
            api.unique_id.clone(),
            CatalogApi {
                api: api.clone(),
                pages,
            },
        );
        return;
    };
    // Name, description, version and the definition (plans, connection details, metadata)
    // are replaced by what was sent.
    existing.api = api.clone();
    // A missing `pages` list fails APIM's update after the API and its plans were updated:
    // the pages stay as they were (§2: "Send `[]` rather than nothing").
    let Some(sent) = &api.pages else { return };
    if config.apim_version.clears_ingested_pages() {
        // APIM 4.6+: ingested pages whose name was not sent again are cleared
        // (`ClearIngestedApiDocumentationDomainService.clearIngestedPagesOf`), so `pages: []`
        // wipes them. The names sent count whatever their type.
        existing
            .pages
            .retain(|name, _| sent.iter().any(|page| page_name(page) == *name));
    }
    for page in sent {
        if imported(page.page_type) {
            existing.pages.insert(page_name(page), page.clone());
        }
    }
}

/// APIM imports SWAGGER and ASYNCAPI pages only; others are logged and skipped (§2).
fn imported(page_type: PageType) -> bool {
    matches!(page_type, PageType::Swagger | PageType::Asyncapi)
}

/// The page name APIM keys pages by: the `filename` (an unnamed page is keyed by the empty
/// name).
fn page_name(page: &federation_core::Page) -> String {
    page.filename.clone().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use federation_core::Page;

    use super::*;
    use crate::apim::ApimVersion;

    fn api(pages: Option<Vec<Page>>) -> Api {
        let mut api = Api::new("u-1", "a-1", "A");
        api.pages = pages;
        api
    }

    fn swagger(name: &str, content: &str) -> Page {
        Page::new(PageType::Swagger, content, name)
    }

    fn names(state: &State) -> Vec<(String, String)> {
        state.catalog["int"]["u-1"]
            .pages
            .iter()
            .map(|(name, page)| (name.clone(), page.content.clone()))
            .collect()
    }

    fn state_with_job(config: &SimulatorConfig, now: Instant) -> State {
        let mut state = State::default();
        state
            .jobs
            .insert("job".into(), new_job(config, "job", "int", 1, now));
        state
    }

    #[test]
    fn pages_are_replaced_from_4_6_and_merged_before() {
        for (version, after_empty, after_other) in [
            (
                ApimVersion::V4_6,
                vec![],
                vec![("b.json".to_owned(), "B".to_owned())],
            ),
            (
                ApimVersion::V4_5,
                vec![("a.json".to_owned(), "A".to_owned())],
                vec![
                    ("a.json".to_owned(), "A".to_owned()),
                    ("b.json".to_owned(), "B".to_owned()),
                ],
            ),
        ] {
            let config = SimulatorConfig::default().apim_version(version);
            let now = Instant::now();
            let mut state = state_with_job(&config, now);
            let first = api(Some(vec![swagger("a.json", "A")]));
            assert!(apply_batch(
                &config,
                &mut state,
                "job",
                &[first],
                false,
                now
            ));
            assert_eq!(names(&state), [("a.json".to_owned(), "A".to_owned())]);
            // A missing list keeps the pages.
            apply_batch(&config, &mut state, "job", &[api(None)], false, now);
            assert_eq!(names(&state), [("a.json".to_owned(), "A".to_owned())]);
            apply_batch(&config, &mut state, "job", &[api(Some(vec![]))], false, now);
            assert_eq!(names(&state), after_empty, "{version}");
            let other = api(Some(vec![
                swagger("b.json", "B"),
                Page::new(PageType::Markdown, "# no", "c.md"),
            ]));
            apply_batch(&config, &mut state, "job", &[other], true, now);
            assert_eq!(names(&state), after_other, "{version}");
        }
    }

    #[test]
    fn a_batch_for_an_unknown_job_ingests_nothing() {
        let config = SimulatorConfig::default();
        let mut state = State::default();
        let batch = [api(Some(vec![]))];
        assert!(!apply_batch(
            &config,
            &mut state,
            "nope",
            &batch,
            true,
            Instant::now()
        ));
        assert!(state.catalog.is_empty());
    }

    #[test]
    fn a_job_times_out_past_its_deadline_from_4_7_only() {
        let deadline = Duration::from_secs(10);
        let start = Instant::now();
        let late = start + Duration::from_secs(11);
        for (version, expected) in [(ApimVersion::V4_7, None), (ApimVersion::V4_6, Some("job"))] {
            let config = SimulatorConfig::default()
                .apim_version(version)
                .ingest_job_deadline(deadline);
            let mut state = state_with_job(&config, start);
            assert!(pending_job(&mut state, "int", start).is_some());
            let pending = pending_job(&mut state, "int", late).map(|j| j.job_id);
            assert_eq!(pending.as_deref(), expected, "{version}");
        }
    }

    #[test]
    fn each_batch_pushes_the_deadline_and_done_completes_even_a_late_job() {
        let config = SimulatorConfig::default().ingest_job_deadline(Duration::from_secs(10));
        let start = Instant::now();
        let mut state = state_with_job(&config, start);
        let batch_at = start + Duration::from_secs(8);
        apply_batch(&config, &mut state, "job", &[], false, batch_at);
        // 15 s after creation, 7 s after the batch: still pending.
        assert!(pending_job(&mut state, "int", start + Duration::from_secs(15)).is_some());
        let late = start + Duration::from_secs(19);
        assert!(pending_job(&mut state, "int", late).is_none());
        assert_eq!(state.jobs["job"].status, IngestJobStatus::Timeout);
        // A later batch is ingested, the job stays TIMEOUT; done completes it.
        apply_batch(
            &config,
            &mut state,
            "job",
            &[api(Some(vec![]))],
            false,
            late,
        );
        assert_eq!(state.jobs["job"].status, IngestJobStatus::Timeout);
        assert!(state.catalog["int"].contains_key("u-1"));
        apply_batch(&config, &mut state, "job", &[], true, late);
        assert_eq!(state.jobs["job"].status, IngestJobStatus::Success);
    }
}
