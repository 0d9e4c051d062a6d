//! Ingest jobs like APIM's (`docs/reference/integration-commands.md` §1.3, §1.4, §9): PENDING
//! until an INGEST with `done: true`; with APIM 4.5/4.6 a job never closed stays PENDING, from
//! 4.7 it reads TIMEOUT past a deadline pushed out by each batch; Discover and ingest are
//! refused while a job is PENDING.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use federation_protocol::CommandType;
use federation_simulator::{ApimVersion, IngestJobStatus, SimError};

const INTEGRATION: &str = "int-jobs";

fn assert_refused_as_pending(result: Result<impl std::fmt::Debug, SimError>, job_id: &str) {
    match result {
        Err(error @ SimError::IngestPending { .. }) => {
            let text = error.to_string();
            assert!(text.starts_with("an ingest job is pending: "), "{text}");
            assert!(text.contains(job_id), "{text}");
        }
        other => panic!("expected IngestPending, got {other:?}"),
    }
}

#[tokio::test]
async fn apim_4_6_a_job_without_done_stays_pending_past_any_deadline_and_blocks_discover() {
    let sim = simulator(INTEGRATION, |c| {
        c.apim_version(ApimVersion::V4_6)
            .ingest_job_deadline(Duration::from_millis(200))
    })
    .await;
    let apis = vec![api("a", &["a-oas.json"]), api("b", &["b-oas.json"])];
    let agent = Agent::connect(&sim, INTEGRATION, ingest_script(2, apis.clone())).await;

    let (job_id, total) = sim.start_ingest(INTEGRATION, None).await.unwrap();
    assert_eq!(total, 2);
    let job = sim.ingest_job(&job_id).expect("a job for total > 0");
    assert_eq!(job.status, IngestJobStatus::Pending);
    assert_eq!(job.deadline, None, "APIM 4.6 sets no deadline");

    agent.ingest(&job_id, vec![apis[0].clone()], false).await;
    // Well past the (unused) deadline.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let job = sim.ingest_job(&job_id).unwrap();
    assert_eq!(job.status, IngestJobStatus::Pending);
    assert_eq!(job.batches, 1);

    assert_refused_as_pending(sim.discover(INTEGRATION).await, &job_id);
    assert_refused_as_pending(sim.start_ingest(INTEGRATION, None).await, &job_id);
    assert!(
        agent.received_of(&CommandType::Discover).is_empty(),
        "a refused DISCOVER never reaches the agent"
    );
    assert_eq!(agent.received_of(&CommandType::StartIngest).len(), 1);
    assert_eq!(
        sim.pending_ingest_job(INTEGRATION).map(|j| j.job_id),
        Some(job_id.clone())
    );

    // The last batch closes the job; Discover works again.
    agent.ingest(&job_id, vec![apis[1].clone()], true).await;
    let job = sim.ingest_job(&job_id).unwrap();
    assert_eq!(job.status, IngestJobStatus::Success);
    assert!(job.done);
    assert!(sim.pending_ingest_job(INTEGRATION).is_none());
    assert_eq!(sim.discover(INTEGRATION).await.unwrap().apis.len(), 2);
}

#[tokio::test]
async fn apim_4_7_a_job_times_out_past_its_deadline_which_each_batch_pushes_out() {
    let deadline = Duration::from_millis(2_000);
    let sim = simulator(INTEGRATION, |c| {
        c.apim_version(ApimVersion::V4_7)
            .ingest_job_deadline(deadline)
    })
    .await;
    let apis = vec![api("a", &["a-oas.json"]), api("b", &["b-oas.json"])];
    let agent = Agent::connect(&sim, INTEGRATION, ingest_script(2, apis.clone())).await;

    let started = Instant::now();
    let (job_id, _) = sim.start_ingest(INTEGRATION, None).await.unwrap();
    let job = sim.ingest_job(&job_id).unwrap();
    assert_eq!(job.status, IngestJobStatus::Pending);
    assert!(job.deadline.is_some());
    assert_refused_as_pending(sim.discover(INTEGRATION).await, &job_id);

    // A `done: false` batch 1.2 s in pushes the deadline to 3.2 s or later.
    tokio::time::sleep_until((started + Duration::from_millis(1_200)).into()).await;
    agent.ingest(&job_id, vec![apis[0].clone()], false).await;
    tokio::time::sleep_until((started + Duration::from_millis(2_400)).into()).await;
    assert_eq!(
        sim.ingest_job(&job_id).unwrap().status,
        IngestJobStatus::Pending,
        "past the first deadline, the batch pushed it out"
    );

    // No more batches: TIMEOUT, and Discover works again.
    let job = sim.wait_ingest_settled(&job_id, WAIT).await.unwrap();
    assert_eq!(job.status, IngestJobStatus::Timeout);
    assert!(
        started.elapsed() >= Duration::from_millis(3_200),
        "{:?}",
        started.elapsed()
    );
    assert!(!job.done);
    assert!(sim.pending_ingest_job(INTEGRATION).is_none());
    assert_eq!(sim.discover(INTEGRATION).await.unwrap().apis.len(), 2);

    // A late batch is still ingested; the job stays TIMEOUT until `done: true` completes it.
    agent.ingest(&job_id, vec![apis[1].clone()], false).await;
    assert!(sim.catalog_api(INTEGRATION, "b").is_some());
    assert_eq!(
        sim.ingest_job(&job_id).unwrap().status,
        IngestJobStatus::Timeout
    );
    agent.ingest(&job_id, vec![], true).await;
    assert_eq!(
        sim.ingest_job(&job_id).unwrap().status,
        IngestJobStatus::Success
    );
}

#[tokio::test]
async fn a_start_ingest_of_nothing_creates_no_job_and_blocks_nothing() {
    let sim = simulator(INTEGRATION, |c| c.apim_version(ApimVersion::V4_6)).await;
    let agent = Agent::connect(&sim, INTEGRATION, ingest_script(0, vec![])).await;
    let (job_id, total) = sim.start_ingest(INTEGRATION, None).await.unwrap();
    assert_eq!(total, 0);
    assert!(sim.ingest_job(&job_id).is_none());
    // A batch for it anyway is answered and ingests nothing.
    agent.ingest(&job_id, vec![api("a", &[])], true).await;
    assert!(sim.catalog(INTEGRATION).is_empty());
    sim.discover(INTEGRATION).await.unwrap();
}

#[tokio::test]
async fn a_batch_failed_on_purpose_is_answered_error_and_ingests_nothing() {
    let sim = simulator(INTEGRATION, |c| c.apim_version(ApimVersion::V4_6)).await;
    let apis = vec![api("a", &["a-oas.json"]), api("b", &["b-oas.json"])];
    let agent = Agent::connect(&sim, INTEGRATION, ingest_script(2, apis.clone())).await;
    let (job_id, _) = sim.start_ingest(INTEGRATION, None).await.unwrap();

    sim.fail_next_ingest_batches(1, "the database is unreachable");
    let rejected = agent
        .request(&ingest_command(&job_id, vec![apis[0].clone()], true), WAIT)
        .await
        .expect("an INGEST reply");
    assert!(!rejected.is_success());
    assert_eq!(
        rejected.error_details.as_deref(),
        Some("the database is unreachable")
    );
    assert!(sim.catalog(INTEGRATION).is_empty(), "nothing ingested");
    let job = sim.ingest_job(&job_id).unwrap();
    assert_eq!(
        job.status,
        IngestJobStatus::Pending,
        "done: true was refused"
    );
    assert_eq!(job.batches, 0);
    assert_eq!(
        sim.count_events(|e| matches!(
            e,
            federation_simulator::Event::IngestRejected {
                apis: 1,
                done: true,
                ..
            }
        )),
        1
    );

    // Only the next one: the batch after it is served.
    agent.ingest(&job_id, apis.clone(), true).await;
    assert_eq!(
        sim.ingest_job(&job_id).unwrap().status,
        IngestJobStatus::Success
    );
    assert_eq!(sim.catalog(INTEGRATION).len(), 2);
}
