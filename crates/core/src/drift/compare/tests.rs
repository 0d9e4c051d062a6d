use super::*;
use crate::drift::{Catalogue, IngestedApi, IssuedCredential};
use crate::model::{Api, Plan, PlanSecurityType};

fn api(id: &str, plans: &[&str]) -> IngestedApi {
    let mut a = Api::new(format!("u-{id}"), id, format!("name-{id}"));
    for p in plans {
        a = a.with_plan(Plan::new(*p, format!("plan-{p}"), PlanSecurityType::ApiKey));
    }
    IngestedApi::from_api(&a, 1)
}

fn coverage(pairs: &[(&str, &[&str])]) -> BTreeMap<String, PlanCoverage> {
    pairs
        .iter()
        .map(|(p, apis)| {
            (
                (*p).to_owned(),
                PlanCoverage {
                    name: format!("plan-{p}"),
                    apis: apis.iter().map(|a| (*a).to_owned()).collect(),
                },
            )
        })
        .collect()
}

fn ids(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn ledger() -> Ledger {
    let mut ledger = Ledger::default();
    ledger.record(api("a", &["p1"]));
    ledger.record(api("b", &["p1"]));
    ledger.record(api("c", &["p2"]));
    ledger.record(api("x", &["p3"]));
    ledger.acknowledge(&ledger.plan_ids(), &baseline());
    ledger
}

/// The vendor's catalogue as [`ledger`] acknowledged it.
fn baseline() -> Catalogue {
    Catalogue {
        apis: ids(&["a", "b", "c", "x"]),
        plans: coverage(&[
            ("p1", &["a", "b"]),
            ("p2", &["c"]),
            ("p3", &["x"]),
            ("p9", &["z"]),
        ]),
    }
}

/// The vendor observed as acknowledged (its keys not listed).
fn unchanged() -> Observed {
    let Catalogue { apis, plans } = baseline();
    Observed {
        apis: Some(apis),
        plans: Some(plans),
        keys: None,
        unchecked: vec![],
    }
}

#[test]
fn an_unchanged_vendor_has_no_drift() {
    let ledger = ledger();
    let now = Observed {
        keys: Some(Ok(vec![])),
        ..unchanged()
    };
    let report = compare(&ledger, &now);
    assert!(!report.has_drift(), "{report:?}");
    assert_eq!(report.ingested_apis, 4);
}

#[test]
fn each_change_is_named_once_with_its_action() {
    let ledger = ledger();
    // a deleted; b detached from p1; p2 deleted; y added to p3.
    let now = Observed {
        apis: Some(ids(&["b", "c", "x"])),
        plans: Some(coverage(&[
            ("p1", &[]),
            ("p3", &["x", "y"]),
            ("p9", &["z"]),
        ])),
        keys: None,
        unchecked: vec![],
    };
    let report = compare(&ledger, &now);
    let summary: Vec<(DriftKind, Option<&str>, Option<&str>)> = report
        .items
        .iter()
        .map(|i| (i.kind, i.api_id.as_deref(), i.plan_id.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (DriftKind::ApiGone, Some("a"), None),
            (DriftKind::PlanRemoved, Some("b"), Some("p1")),
            (DriftKind::PlanRemoved, Some("c"), Some("p2")),
            (DriftKind::PlanCoverageChanged, None, Some("p3")),
        ]
    );
    assert!(report.items[1].action.contains("remove plan \"plan-p1\""));
    assert!(report.items[2].detail.contains("deleted"));
    assert!(report.items[3].detail.contains("now also covers y"));
}

#[test]
fn keys_on_no_plan_or_off_their_api_are_reported() {
    let ledger = ledger();
    let now = Observed {
        keys: Some(Ok(vec![
            IssuedCredential {
                id: "k1".into(),
                name: "gravitee-s1".into(),
                subscription_id: Some("s1".into()),
                api_id: Some("a".into()),
                plans: BTreeSet::new(),
                ..IssuedCredential::default()
            },
            IssuedCredential {
                id: "k2".into(),
                name: "gravitee-s2".into(),
                subscription_id: Some("s2".into()),
                api_id: Some("c".into()),
                plans: ids(&["p1"]),
                ..IssuedCredential::default()
            },
            IssuedCredential {
                id: "k3".into(),
                name: "gravitee-s3".into(),
                subscription_id: Some("s3".into()),
                api_id: Some("b".into()),
                plans: ids(&["p1"]),
                ..IssuedCredential::default()
            },
        ])),
        ..unchanged()
    };
    let report = compare(&ledger, &now);
    assert_eq!(report.count(DriftKind::KeyOrphaned), 1);
    assert_eq!(report.count(DriftKind::KeyUncovered), 1);
    assert_eq!(report.items.len(), 2);
    assert!(report.items[1].action.contains("close subscription s2"));
}

#[test]
fn a_shared_key_no_subscription_uses_is_orphaned_only_while_on_a_plan() {
    let ledger = ledger();
    let unused = |id: &str, plans: &[&str]| IssuedCredential {
        id: id.into(),
        name: "gravitee-app-a1".into(),
        plans: ids(plans),
        unused: true,
        ..IssuedCredential::default()
    };
    let now = Observed {
        keys: Some(Ok(vec![unused("k8", &["p1", "p7"]), unused("k9", &[])])),
        ..unchanged()
    };
    let report = compare(&ledger, &now);
    assert_eq!(
        report.items.len(),
        1,
        "the idle key is not drift: {report:?}"
    );
    let item = &report.items[0];
    assert_eq!(item.kind, DriftKind::KeyOrphaned);
    assert_eq!(item.key.as_deref(), Some("gravitee-app-a1"));
    assert_eq!(item.plan_id.as_deref(), Some("p1"));
    assert_eq!(item.plan_name.as_deref(), Some("plan-p1"));
    assert!(item.api_id.is_none());
    assert!(
        item.detail.contains(
            "key gravitee-app-a1 (k8) serves no subscription any more, yet is still attached \
             to plan(s) plan-p1 (p1), p7: it opens their APIs"
        ),
        "{item:?}"
    );
    assert!(
        item.action
            .starts_with("detach key gravitee-app-a1 from plan(s) plan-p1 (p1), p7"),
        "{item:?}"
    );

    // Only the idle key: no drift at all.
    let idle = Observed {
        keys: Some(Ok(vec![unused("k9", &[])])),
        ..now
    };
    assert!(!compare(&ledger, &idle).has_drift());
}

#[test]
fn unknown_parts_are_listed_not_guessed() {
    let ledger = ledger();
    let now = Observed {
        apis: None,
        plans: None,
        keys: Some(Err("add apigateway:GET on /apikeys".into())),
        unchecked: vec![],
    };
    let report = compare(&ledger, &now);
    assert!(!report.has_drift());
    assert_eq!(report.unchecked.len(), 2);
    assert!(report.unchecked[1].contains("/apikeys"));
}

#[test]
fn a_new_plan_on_an_ingested_api_is_reported() {
    let ledger = ledger();
    let now = Observed {
        apis: Some(ids(&["a", "b", "c", "x"])),
        plans: Some(coverage(&[
            ("p1", &["a", "b"]),
            ("p2", &["c"]),
            ("p3", &["x"]),
            ("p4", &["x"]),
            ("p9", &["z"]),
        ])),
        keys: None,
        unchecked: vec![],
    };
    let report = compare(&ledger, &now);
    assert_eq!(report.items.len(), 1);
    assert_eq!(report.items[0].kind, DriftKind::PlanAdded);
    assert!(
        report.items[0]
            .action
            .contains("ingest API \"name-x\" (x) again")
    );
}
