//! Seeding moto with the SDK itself: REST APIs with deployed stages, and usage plans; and
//! changing them the way AWS does where moto differs ([`delete_stage`]).
//!
//! Every helper panics on failure: it is test setup.

use std::collections::BTreeMap;

use aws_sdk_apigateway::Client;
use aws_sdk_apigateway::types::{
    ApiStage, IntegrationType, Op, PatchOperation, QuotaPeriodType, QuotaSettings, ThrottleSettings,
};

/// Creates a REST API named `name` (with the fixed id `id` when given, via moto's `_custom_id_`
/// tag), a `GET /` method requiring an API key with a MOCK integration, and deploys it to each
/// of `stages`. Returns the REST API id.
pub async fn rest_api(client: &Client, name: &str, id: Option<&str>, stages: &[&str]) -> String {
    rest_api_with(
        client,
        &ApiSpec {
            name,
            id,
            description: None,
            stages,
        },
    )
    .await
}

/// What [`rest_api_with`] creates.
#[derive(Debug, Clone, Copy)]
pub struct ApiSpec<'a> {
    /// The name.
    pub name: &'a str,
    /// A fixed id (moto's `_custom_id_` tag).
    pub id: Option<&'a str>,
    /// The description.
    pub description: Option<&'a str>,
    /// Stages to deploy to (none: the API stays undeployed).
    pub stages: &'a [&'a str],
}

/// [`rest_api`] with a description.
pub async fn rest_api_with(client: &Client, spec: &ApiSpec<'_>) -> String {
    let mut create = client.create_rest_api().name(spec.name);
    if let Some(description) = spec.description {
        create = create.description(description);
    }
    if let Some(id) = spec.id {
        create = create.tags("_custom_id_", id);
    }
    let api = create.send().await.expect("CreateRestApi");
    let api_id = api.id().expect("a REST API id").to_owned();
    let root = match api.root_resource_id() {
        Some(root) => root.to_owned(),
        None => client
            .get_resources()
            .rest_api_id(&api_id)
            .send()
            .await
            .expect("GetResources")
            .items()
            .iter()
            .find(|r| r.path() == Some("/"))
            .and_then(|r| r.id())
            .expect("a root resource")
            .to_owned(),
    };
    client
        .put_method()
        .rest_api_id(&api_id)
        .resource_id(&root)
        .http_method("GET")
        .authorization_type("NONE")
        .api_key_required(true)
        .send()
        .await
        .expect("PutMethod");
    client
        .put_integration()
        .rest_api_id(&api_id)
        .resource_id(&root)
        .http_method("GET")
        .r#type(IntegrationType::Mock)
        .request_templates("application/json", r#"{"statusCode": 200}"#)
        .send()
        .await
        .expect("PutIntegration");
    let mut deployment: Option<String> = None;
    for stage in spec.stages {
        match &deployment {
            None => {
                let created = client
                    .create_deployment()
                    .rest_api_id(&api_id)
                    .stage_name(*stage)
                    .send()
                    .await
                    .expect("CreateDeployment");
                deployment = created.id().map(str::to_owned);
            }
            Some(deployment_id) => {
                client
                    .create_stage()
                    .rest_api_id(&api_id)
                    .stage_name(*stage)
                    .deployment_id(deployment_id)
                    .send()
                    .await
                    .expect("CreateStage");
            }
        }
    }
    api_id
}

/// What [`usage_plan`] creates.
#[derive(Debug, Clone, Default)]
pub struct PlanSpec {
    /// The name.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// (REST API id, stage) pairs.
    pub stages: Vec<(String, String)>,
    /// Throttle: (rate per second, burst).
    pub throttle: Option<(f64, i32)>,
    /// Quota: (limit, `DAY`/`WEEK`/`MONTH`).
    pub quota: Option<(i32, String)>,
}

impl PlanSpec {
    /// A plan named `name` with nothing else.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }

    /// Adds a stage.
    pub fn stage(mut self, api_id: &str, stage: &str) -> Self {
        self.stages.push((api_id.to_owned(), stage.to_owned()));
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: &str) -> Self {
        self.description = Some(description.to_owned());
        self
    }

    /// Sets the throttle.
    pub fn throttle(mut self, rate: f64, burst: i32) -> Self {
        self.throttle = Some((rate, burst));
        self
    }

    /// Sets the quota.
    pub fn quota(mut self, limit: i32, period: &str) -> Self {
        self.quota = Some((limit, period.to_owned()));
        self
    }
}

/// Creates a usage plan; returns its id.
pub async fn usage_plan(client: &Client, spec: &PlanSpec) -> String {
    let mut create = client.create_usage_plan().name(&spec.name);
    if let Some(description) = &spec.description {
        create = create.description(description);
    }
    for (api, stage) in &spec.stages {
        create = create.api_stages(ApiStage::builder().api_id(api).stage(stage).build());
    }
    if let Some((rate, burst)) = spec.throttle {
        create = create.throttle(
            ThrottleSettings::builder()
                .rate_limit(rate)
                .burst_limit(burst)
                .build(),
        );
    }
    if let Some((limit, period)) = &spec.quota {
        create = create.quota(
            QuotaSettings::builder()
                .limit(*limit)
                .period(QuotaPeriodType::from(period.as_str()))
                .build(),
        );
    }
    create
        .send()
        .await
        .expect("CreateUsagePlan")
        .id()
        .expect("a usage plan id")
        .to_owned()
}

/// Deletes a stage as AWS does: `DeleteStage`, and the stage leaves every usage plan that named
/// it. moto keeps a deleted stage in its usage plans, so the second half is done here with
/// `UpdateUsagePlan` (`docs/reference/aws-api-gateway.md`, "Stages and usage plans"). Returns
/// the ids of the plans the stage left.
pub async fn delete_stage(client: &Client, rest_api_id: &str, stage: &str) -> Vec<String> {
    client
        .delete_stage()
        .rest_api_id(rest_api_id)
        .stage_name(stage)
        .send()
        .await
        .expect("DeleteStage");
    let plans = client
        .get_usage_plans()
        .limit(500)
        .send()
        .await
        .expect("GetUsagePlans");
    let mut left = Vec::new();
    for plan in plans.items() {
        let names_it = plan
            .api_stages()
            .iter()
            .any(|s| s.api_id() == Some(rest_api_id) && s.stage() == Some(stage));
        let Some(plan_id) = plan.id().filter(|_| names_it) else {
            continue;
        };
        detach_stage(client, plan_id, rest_api_id, stage).await;
        left.push(plan_id.to_owned());
    }
    left
}

/// Takes a stage out of a usage plan (`UpdateUsagePlan`, `remove /apiStages`); the stage stays.
pub async fn detach_stage(client: &Client, plan_id: &str, rest_api_id: &str, stage: &str) {
    client
        .update_usage_plan()
        .usage_plan_id(plan_id)
        .patch_operations(
            PatchOperation::builder()
                .op(Op::Remove)
                .path("/apiStages")
                .value(format!("{rest_api_id}:{stage}"))
                .build(),
        )
        .send()
        .await
        .expect("UpdateUsagePlan");
}

/// The benchmarks' account: `count` REST APIs (`bench00000`, …) with one `prod` stage each,
/// spread in order over at most `plans` usage plans (`Plan 0`, …: 100 rps, burst 200). Returns
/// the REST API ids in order and the usage plan id of each.
pub async fn bench_account(
    client: &Client,
    count: usize,
    plans: usize,
) -> (Vec<String>, BTreeMap<String, String>) {
    use futures_util::StreamExt;
    let ids: Vec<String> = futures_util::stream::iter(0..count)
        .map(|i| async move {
            let id = format!("bench{i:05}");
            rest_api(client, &format!("Bench {i}"), Some(&id), &["prod"]).await
        })
        .buffered(4)
        .collect()
        .await;
    let mut plan_of = BTreeMap::new();
    for (p, chunk) in ids.chunks(count.div_ceil(plans.max(1)).max(1)).enumerate() {
        let mut spec = PlanSpec::new(&format!("Plan {p}")).throttle(100.0, 200);
        for id in chunk {
            spec = spec.stage(id, "prod");
        }
        let plan = usage_plan(client, &spec).await;
        for id in chunk {
            plan_of.insert(id.clone(), plan.clone());
        }
    }
    (ids, plan_of)
}
