//! Unit tests of `settings.rs`.

use super::*;

fn parse(pairs: &[(&str, &str)]) -> Result<AwsSettings, SettingsError> {
    AwsSettings::from_settings(&ProviderSettings::from_pairs(pairs.iter().copied()))
}

#[test]
fn defaults_and_comma_lists() {
    let s = parse(&[
        ("region", "eu-west-1, us-east-1"),
        (
            "roleArn",
            "arn:aws:iam::111122223333:role/a,arn:aws:iam::444455556666:role/b",
        ),
    ])
    .unwrap();
    assert_eq!(s.region, ["eu-west-1", "us-east-1"]);
    assert_eq!(s.role_arn.len(), 2);
    assert!(!s.accept_api_without_usage_plan);
    assert!(s.access_key_id.is_none());
    assert_eq!(s.requests_per_second, 10.0);
    assert_eq!(s.burst, 40);
    assert_eq!(s.api_key_requests_per_second, 5.0);
    assert_eq!(s.max_concurrency, 8);
    assert_eq!(s.role_session_name, "gravitee-federation-agent");
    assert_eq!(s.stage_cache_max_age_seconds, 900);
    assert_eq!(s.api_key_scope, ApiKeyScope::Application);
    assert_eq!(s.background_requests_per_second, 2.0);
    assert_eq!(s.api_types, ["REST"], "upgrading changes nothing");
    assert!(s.discovers_rest() && !s.discovers_http());
    assert!(s.include_tags.is_empty() && s.exclude_tags.is_empty());
}

#[test]
fn api_types_and_tag_filters() {
    let s = parse(&[
        ("region", "eu-west-1"),
        ("apiTypes", "http, rest,HTTP"),
        ("includeTags", "team=payments, public"),
        ("excludeTags", "env=dev"),
    ])
    .unwrap();
    assert_eq!(s.api_types, ["HTTP", "REST"]);
    assert!(s.discovers_rest() && s.discovers_http());
    assert_eq!(s.include_tags, ["team=payments", "public"]);
    assert_eq!(s.exclude_tags, ["env=dev"]);
    let http_only = parse(&[("region", "eu-west-1"), ("apiTypes", "HTTP")]).unwrap();
    assert!(!http_only.discovers_rest() && http_only.discovers_http());
    let empty = parse(&[("region", "eu-west-1"), ("apiTypes", "")]).unwrap();
    assert_eq!(empty.api_types, ["REST"]);
    for key in ["apiTypes", "includeTags", "excludeTags"] {
        assert!(CONFIG_KEYS.contains(&key), "{key}: env var names need it");
    }
}

#[test]
fn api_key_scope_reads_either_value_in_any_case() {
    for (value, scope) in [
        ("application", ApiKeyScope::Application),
        ("Subscription", ApiKeyScope::Subscription),
        (" SUBSCRIPTION ", ApiKeyScope::Subscription),
        ("", ApiKeyScope::Application),
    ] {
        let s = parse(&[("region", "eu-west-1"), ("apiKeyScope", value)]).unwrap();
        assert_eq!(s.api_key_scope, scope, "{value:?}");
    }
    assert_eq!(ApiKeyScope::Subscription.as_str(), "subscription");
}

#[test]
fn strings_convert_and_empty_values_count_as_unset() {
    let s = parse(&[
        ("region", "us-east-1"),
        ("accessKeyId", ""),
        ("secretAccessKey", ""),
        ("acceptApiWithoutUsagePlan", "TRUE"),
        ("endpoint", ""),
        ("requestsPerSecond", "2.5"),
        ("maxConcurrency", "3"),
        ("stageCacheMaxAgeSeconds", "0"),
    ])
    .unwrap();
    assert_eq!(s.stage_cache_max_age_seconds, 0);
    assert!(s.access_key_id.is_none() && s.secret_access_key.is_none());
    assert!(s.accept_api_without_usage_plan);
    assert!(s.endpoint.is_none());
    assert_eq!(s.requests_per_second, 2.5);
    assert_eq!(s.max_concurrency, 3);
    let off = parse(&[("region", "us-east-1"), ("acceptApiWithoutUsagePlan", "")]).unwrap();
    assert!(!off.accept_api_without_usage_plan);
}

#[test]
fn bad_values_name_the_key() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "configuration.region is missing"),
        (&[("region", "Europe")], "configuration.region is invalid"),
        (
            &[("region", "eu-west-1"), ("accessKeyId", "AKIA")],
            "configuration.secretAccessKey is missing",
        ),
        (
            &[
                ("region", "eu-west-1"),
                ("roleArn", "arn:aws:iam::12:user/x"),
            ],
            "configuration.roleArn is invalid",
        ),
        (
            &[("region", "eu-west-1"), ("endpoint", "localhost:4566")],
            "configuration.endpoint is invalid",
        ),
        (
            &[("region", "eu-west-1"), ("requestsPerSecond", "0")],
            "configuration.requestsPerSecond must be",
        ),
        (
            &[
                ("region", "eu-west-1"),
                ("acceptApiWithoutUsagePlan", "yes"),
            ],
            "configuration.acceptApiWithoutUsagePlan is invalid",
        ),
        (
            &[
                ("region", "eu-west-1"),
                ("backgroundRequestsPerSecond", "0"),
            ],
            "configuration.backgroundRequestsPerSecond must be",
        ),
        (
            &[("region", "eu-west-1"), ("maxConcurrency", "many")],
            "configuration.maxConcurrency is invalid",
        ),
        (
            &[
                ("region", "eu-west-1"),
                ("stageCacheMaxAgeSeconds", "86401"),
            ],
            "configuration.stageCacheMaxAgeSeconds must be",
        ),
        (
            &[("region", "eu-west-1"), ("apiKeyScope", "team")],
            "configuration.apiKeyScope is invalid",
        ),
        (
            &[("region", "eu-west-1"), ("apiTypes", "REST,WEBSOCKET")],
            "configuration.apiTypes is invalid: `WEBSOCKET`",
        ),
        (
            &[("region", "eu-west-1"), ("includeTags", "=prod")],
            "configuration.includeTags is invalid",
        ),
        (
            &[("region", "eu-west-1"), ("excludeTags", " =dev")],
            "configuration.excludeTags is invalid",
        ),
    ];
    for (pairs, expected) in cases {
        let err = parse(pairs).unwrap_err().to_string();
        assert!(err.starts_with(expected), "{pairs:?}: {err}");
    }
}

#[test]
fn secrets_never_show_in_debug() {
    let s = parse(&[
        ("region", "eu-west-1"),
        ("accessKeyId", "AKIAEXAMPLEKEY"),
        ("secretAccessKey", "wJalrXUtnFEMIEXAMPLE"),
        ("sessionToken", "FQoGZXIvYXdzEXAMPLE"),
    ])
    .unwrap();
    let debug = format!("{s:?}");
    for secret in [
        "AKIAEXAMPLEKEY",
        "wJalrXUtnFEMIEXAMPLE",
        "FQoGZXIvYXdzEXAMPLE",
    ] {
        assert!(!debug.contains(secret), "{debug}");
    }
}

#[test]
fn role_arn_account() {
    assert_eq!(
        account_of_role("arn:aws:iam::111122223333:role/path/Agent"),
        Some("111122223333")
    );
    assert_eq!(
        account_of_role("arn:aws-cn:iam::111122223333:role/A"),
        Some("111122223333")
    );
    assert_eq!(account_of_role("arn:aws:iam::111122223333:user/A"), None);
    assert_eq!(account_of_role("arn:aws:sts::111122223333:role/A"), None);
    assert_eq!(account_of_role("nope"), None);
}
