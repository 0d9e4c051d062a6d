//! The mapping contract (`docs/reference/aws-api-gateway.md`, "Our mapping"): AWS objects →
//! federated [`Api`]s, as pure functions.
//!
//! One federated API per REST API *stage*: `id` = `{restApiId}:{stageName}`, `uniqueId` =
//! `[{account}:]{region}:{restApiId}:{stageName}`, one `API_KEY` plan per usage plan referencing
//! the stage, a `SWAGGER` page from the stage's OpenAPI export, and `aws-api-gateway-*` metadata.

use federation_core::{Api, ApiType, Page, PageType, Plan, PlanSecurityType};

/// Metadata key: the region.
pub(crate) const META_REGION: &str = "aws-api-gateway-region";
/// Metadata key: the REST API id.
pub(crate) const META_REST_API_ID: &str = "aws-api-gateway-rest-api-id";
/// Metadata key: the stage name.
pub(crate) const META_STAGE: &str = "aws-api-gateway-stage";
/// Metadata key: the account id (when known).
pub(crate) const META_ACCOUNT: &str = "aws-api-gateway-account";

/// A REST API as discovery needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RestApi {
    /// `id`.
    pub(crate) id: String,
    /// `name`.
    pub(crate) name: String,
    /// `description`.
    pub(crate) description: Option<String>,
    /// `tags`, for the tag filter (`tag_filter.rs`).
    pub(crate) tags: std::collections::BTreeMap<String, String>,
}

/// A usage plan as discovery needs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UsagePlan {
    /// `id`.
    pub(crate) id: String,
    /// `name`.
    pub(crate) name: String,
    /// `description`.
    pub(crate) description: Option<String>,
    /// `throttle.rateLimit`.
    pub(crate) rate_limit: Option<f64>,
    /// `throttle.burstLimit`.
    pub(crate) burst_limit: Option<i32>,
    /// `quota.limit` and `quota.period`.
    pub(crate) quota: Option<(i32, String)>,
    /// `apiStages`: (REST API id, stage name).
    pub(crate) api_stages: Vec<(String, String)>,
}

impl UsagePlan {
    /// The human-readable throttle and quota: `rate 100/s`, `burst 200`, `quota 5000/MONTH`.
    pub(crate) fn characteristics(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(rate) = self.rate_limit {
            out.push(format!("rate {}/s", format_number(rate)));
        }
        if let Some(burst) = self.burst_limit {
            out.push(format!("burst {burst}"));
        }
        if let Some((limit, period)) = &self.quota {
            out.push(format!("quota {limit}/{period}"));
        }
        out
    }

    /// The federated plan.
    pub(crate) fn to_plan(&self) -> Plan {
        let mut plan = Plan::new(&self.id, &self.name, PlanSecurityType::ApiKey);
        plan.description = self.description.clone().filter(|d| !d.is_empty());
        let characteristics = self.characteristics();
        if !characteristics.is_empty() {
            plan.characteristics = Some(characteristics);
        }
        plan
    }
}

fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// Where an API lives: region and, when known, account.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Location<'a> {
    /// The region.
    pub(crate) region: &'a str,
    /// The account id, when known.
    pub(crate) account: Option<&'a str>,
}

/// The provider id of a stage: `{restApiId}:{stageName}`.
pub(crate) fn api_id(rest_api_id: &str, stage: &str) -> String {
    format!("{rest_api_id}:{stage}")
}

/// Splits a provider id into REST API id and stage.
pub(crate) fn split_api_id(id: &str) -> Option<(&str, &str)> {
    id.split_once(':')
        .filter(|(api, stage)| !api.is_empty() && !stage.is_empty())
}

/// `[{account}:]{region}:{restApiId}:{stageName}`.
pub(crate) fn unique_id(location: Location<'_>, rest_api_id: &str, stage: &str) -> String {
    match location.account {
        Some(account) => format!("{account}:{}:{rest_api_id}:{stage}", location.region),
        None => format!("{}:{rest_api_id}:{stage}", location.region),
    }
}

/// The stage's invoke URL.
pub(crate) fn invoke_url(region: &str, rest_api_id: &str, stage: &str) -> String {
    format!("{}/{stage}", execute_api_base(region, rest_api_id))
}

/// `https://{api_id}.execute-api.{region}.amazonaws.com` (`.com.cn` in the China regions): the
/// default endpoint of a REST or HTTP API.
pub(crate) fn execute_api_base(region: &str, api_id: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://{api_id}.execute-api.{region}.{suffix}")
}

/// The region in an invoke URL made by [`invoke_url`].
pub(crate) fn region_of_invoke_url(url: &str) -> Option<&str> {
    let host = url.split("://").nth(1)?.split(['/', ':']).next()?;
    let mut labels = host.split('.');
    let _api = labels.next()?;
    (labels.next()? == "execute-api").then_some(())?;
    labels.next().filter(|r| !r.is_empty())
}

/// The page filename: `{name}-{stage}-oas.json` (slashes replaced, it names a portal page).
pub(crate) fn page_filename(api_name: &str, stage: &str) -> String {
    format!("{api_name}-{stage}-oas.json").replace(['/', '\\'], "-")
}

/// Everything known about one stage to build its federated API.
#[derive(Debug, Clone)]
pub(crate) struct StageApi<'a> {
    /// Where.
    pub(crate) location: Location<'a>,
    /// The REST API.
    pub(crate) rest_api: &'a RestApi,
    /// The stage name.
    pub(crate) stage: &'a str,
    /// The stage's description, when fetched.
    pub(crate) stage_description: Option<&'a str>,
    /// The usage plans that reference the stage.
    pub(crate) plans: Vec<&'a UsagePlan>,
}

impl StageApi<'_> {
    /// The federated API, with an empty page list (see [`StageApi::page`]).
    pub(crate) fn to_api(&self) -> Api {
        let rest = self.rest_api;
        let mut api = Api::new(
            unique_id(self.location, &rest.id, self.stage),
            api_id(&rest.id, self.stage),
            &rest.name,
        )
        .with_version(self.stage)
        .with_connection_detail(
            "url",
            invoke_url(self.location.region, &rest.id, self.stage),
        );
        api.api_type = Some(ApiType::Proxy);
        let api_description = rest.description.as_deref().filter(|d| !d.is_empty());
        let stage_description = self.stage_description.filter(|d| !d.is_empty());
        api.description = match (api_description, stage_description) {
            (Some(a), Some(s)) => Some(format!("{a}\n\nStage {}: {s}", self.stage)),
            (Some(a), None) => Some(a.to_owned()),
            (None, Some(s)) => Some(format!("Stage {}: {s}", self.stage)),
            (None, None) => None,
        };
        api.plans = Some(self.plans.iter().map(|p| p.to_plan()).collect());
        api.pages = Some(Vec::new());
        api = api
            .with_metadata(META_REGION, self.location.region)
            .with_metadata(META_REST_API_ID, &rest.id)
            .with_metadata(META_STAGE, self.stage);
        if let Some(account) = self.location.account {
            api = api.with_metadata(META_ACCOUNT, account);
        }
        api
    }

    /// The SWAGGER page for an export body.
    pub(crate) fn page(&self, export: String) -> Page {
        Page::new(
            PageType::Swagger,
            export,
            page_filename(&self.rest_api.name, self.stage),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gold() -> UsagePlan {
        UsagePlan {
            id: "up1".into(),
            name: "Gold".into(),
            description: Some("For partners".into()),
            rate_limit: Some(100.0),
            burst_limit: Some(200),
            quota: Some((5000, "MONTH".into())),
            api_stages: vec![("a1".into(), "prod".into())],
        }
    }

    #[test]
    fn plan_characteristics_are_human_readable() {
        assert_eq!(
            gold().characteristics(),
            ["rate 100/s", "burst 200", "quota 5000/MONTH"]
        );
        let mut half = gold();
        half.rate_limit = Some(0.5);
        half.burst_limit = None;
        half.quota = None;
        assert_eq!(half.characteristics(), ["rate 0.5/s"]);
        let plan = gold().to_plan();
        assert_eq!(plan.plan_security_type, PlanSecurityType::ApiKey);
        assert_eq!(plan.id, "up1");
        assert_eq!(plan.description.as_deref(), Some("For partners"));
    }

    #[test]
    fn stage_api_follows_the_contract() {
        let rest = RestApi {
            id: "a1".into(),
            name: "Pets".into(),
            description: Some("Pet store".into()),
            tags: Default::default(),
        };
        let plan = gold();
        let stage = StageApi {
            location: Location {
                region: "eu-west-1",
                account: Some("111122223333"),
            },
            rest_api: &rest,
            stage: "prod",
            stage_description: Some("Production"),
            plans: vec![&plan],
        };
        let api = stage.to_api();
        assert_eq!(api.unique_id, "111122223333:eu-west-1:a1:prod");
        assert_eq!(api.id, "a1:prod");
        assert_eq!(api.name, "Pets");
        assert_eq!(api.version.as_deref(), Some("prod"));
        assert_eq!(
            api.description.as_deref(),
            Some("Pet store\n\nStage prod: Production")
        );
        assert_eq!(
            api.connection_details.as_ref().unwrap()["url"],
            "https://a1.execute-api.eu-west-1.amazonaws.com/prod"
        );
        assert_eq!(api.plans.as_ref().unwrap().len(), 1);
        let meta: Vec<_> = api
            .metadata
            .iter()
            .flatten()
            .map(|m| (m.name.as_str(), m.value.as_str()))
            .collect();
        assert_eq!(
            meta,
            [
                (META_REGION, "eu-west-1"),
                (META_REST_API_ID, "a1"),
                (META_STAGE, "prod"),
                (META_ACCOUNT, "111122223333")
            ]
        );
        assert_eq!(
            stage.page("{}".into()).filename.as_deref(),
            Some("Pets-prod-oas.json")
        );
        let no_account = StageApi {
            location: Location {
                region: "eu-west-1",
                account: None,
            },
            ..stage
        };
        assert_eq!(no_account.to_api().unique_id, "eu-west-1:a1:prod");
    }

    #[test]
    fn ids_and_urls_round_trip() {
        assert_eq!(split_api_id("a1:prod"), Some(("a1", "prod")));
        assert_eq!(split_api_id("a1"), None);
        assert_eq!(split_api_id(":prod"), None);
        let url = invoke_url("eu-west-1", "a1", "prod");
        assert_eq!(region_of_invoke_url(&url), Some("eu-west-1"));
        assert_eq!(
            region_of_invoke_url("https://a1.execute-api.cn-north-1.amazonaws.com.cn/x"),
            Some("cn-north-1")
        );
        assert_eq!(region_of_invoke_url("http://127.0.0.1:5000/x"), None);
    }
}
