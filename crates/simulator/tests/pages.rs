//! Ingested pages like APIM keeps them (`docs/reference/integration-commands.md` §1.4, §2, §9):
//! an API named in an INGEST has its ingested pages replaced (sent with `pages: []`, it loses
//! them); an API left out of an ingest is kept as it was.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use federation_core::{Page, PageType};
use federation_simulator::ApimVersion;

const INTEGRATION: &str = "int-pages";

#[tokio::test]
async fn an_api_re_ingested_with_no_pages_loses_them_and_one_left_out_keeps_them() {
    let sim = simulator(INTEGRATION, |c| c).await;
    let agent = Agent::connect(&sim, INTEGRATION, ingest_script(2, vec![])).await;

    let (first, _) = sim.start_ingest(INTEGRATION, None).await.unwrap();
    agent
        .ingest(
            &first,
            vec![
                api("wiped", &["wiped-oas.json"]),
                api("kept", &["kept-oas.json", "kept-asyncapi.json"]),
            ],
            true,
        )
        .await;
    assert_eq!(page_names(&sim, INTEGRATION, "wiped"), ["wiped-oas.json"]);
    assert_eq!(
        page_names(&sim, INTEGRATION, "kept"),
        ["kept-oas.json", "kept-asyncapi.json"]
    );

    // The second ingest names `wiped` with `pages: []` and leaves `kept` out.
    let (second, _) = sim.start_ingest(INTEGRATION, None).await.unwrap();
    let mut wiped = api("wiped", &[]);
    wiped.name = "Renamed".into();
    agent.ingest(&second, vec![wiped], true).await;

    let catalog = sim.catalog(INTEGRATION);
    assert_eq!(catalog.len(), 2, "nothing is deleted");
    assert_eq!(
        page_names(&sim, INTEGRATION, "wiped"),
        Vec::<String>::new(),
        "docs wiped"
    );
    assert_eq!(
        sim.catalog_api(INTEGRATION, "wiped").unwrap().name,
        "Renamed"
    );
    assert_eq!(
        page_names(&sim, INTEGRATION, "kept"),
        ["kept-oas.json", "kept-asyncapi.json"],
        "docs kept"
    );
}

#[tokio::test]
async fn pages_are_upserted_by_filename_and_only_swagger_and_asyncapi_are_kept() {
    let sim = simulator(INTEGRATION, |c| c).await;
    let agent = Agent::connect(&sim, INTEGRATION, ingest_script(1, vec![])).await;
    let (first, _) = sim.start_ingest(INTEGRATION, None).await.unwrap();
    agent
        .ingest(&first, vec![api("a", &["one.json", "two.json"])], true)
        .await;

    let (second, _) = sim.start_ingest(INTEGRATION, None).await.unwrap();
    let mut a = api("a", &["two.json"]);
    a.pages.as_mut().unwrap().extend([
        Page::new(PageType::Asyncapi, "asyncapi: 3.0.0", "events.yml"),
        Page::new(PageType::Markdown, "# skipped", "readme.md"),
    ]);
    agent.ingest(&second, vec![a], true).await;
    assert_eq!(
        page_names(&sim, INTEGRATION, "a"),
        ["two.json", "events.yml"],
        "one.json was cleared, the MARKDOWN page not imported"
    );
}

#[tokio::test]
async fn apim_4_5_keeps_ingested_pages_that_are_no_longer_sent() {
    let sim = simulator(INTEGRATION, |c| c.apim_version(ApimVersion::V4_5)).await;
    let agent = Agent::connect(&sim, INTEGRATION, ingest_script(1, vec![])).await;
    let (first, _) = sim.start_ingest(INTEGRATION, None).await.unwrap();
    agent
        .ingest(&first, vec![api("a", &["a-oas.json"])], true)
        .await;
    let (second, _) = sim.start_ingest(INTEGRATION, None).await.unwrap();
    agent.ingest(&second, vec![api("a", &[])], true).await;
    assert_eq!(page_names(&sim, INTEGRATION, "a"), ["a-oas.json"]);
}
