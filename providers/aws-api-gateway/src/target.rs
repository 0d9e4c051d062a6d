//! [`Target`]: one (account, region) the provider works in, with its SDK client, call budget and
//! everything the provider keeps per target: the stage lists between discoveries
//! ([`StageCache`]), the usage plans a SUBSCRIBE checks and the plan ids seen there
//! ([`PlanCache`]), the stages the plans named at the last drift check ([`NamedStages`]), and
//! whether `GetApiKeys` was denied.
//!
//! The configuration's `region` list × `roleArn` list gives the targets. Clients are built
//! lazily on first use, so building the provider never calls AWS (the agent reaches HELLO
//! without AWS access). Every AWS call goes through [`Target::call`]: the account's
//! [`CallBudget`], then the SDK with its own retries off, then our retry loop, which honours
//! `Retry-After` (the SDK reads only `x-amz-retry-after`) and pauses the whole budget after a 429.
//! A call made inside [`in_background`](crate::limiter::in_background) (the drift check) is a
//! background call: paced by `backgroundRequestsPerSecond`, behind every foreground call.

use std::error::Error as StdError;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_apigateway::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use tokio::sync::OnceCell;

use crate::error::{Attempt, AwsError, Operation};
use crate::inventory::NamedStages;
use crate::limiter::{CallBudget, ForegroundGuard, OperationClass, current_priority};
use crate::plans::PlanCache;
use crate::settings::{AwsSettings, account_of_role};
use crate::stage_cache::StageCache;

/// One account and region.
pub(crate) struct Target {
    /// The AWS region.
    pub(crate) region: String,
    /// The role assumed for this target, if any.
    pub(crate) role_arn: Option<String>,
    /// The account id, when known (from the role ARN).
    pub(crate) account: Option<String>,
    settings: Arc<AwsSettings>,
    budget: CallBudget,
    config: OnceCell<SdkConfig>,
    client: OnceCell<aws_sdk_apigateway::Client>,
    /// The API Gateway v2 client (HTTP APIs), built on first use like `client`.
    client_v2: OnceCell<aws_sdk_apigatewayv2::Client>,
    /// Set once `GetApiKeys` was denied: the lookup is skipped afterwards.
    api_keys_lookup_denied: AtomicBool,
    /// Stage lists per REST API, kept between discoveries (`stageCacheMaxAgeSeconds`).
    pub(crate) stages: StageCache,
    /// The usage plans, for the SUBSCRIBE coverage check, and the plan ids seen here.
    pub(crate) plans: PlanCache,
    /// The stages the usage plans named at the last drift check (`inventory.rs`).
    pub(crate) named_stages: NamedStages,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("region", &self.region)
            .field("role_arn", &self.role_arn)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(20);

impl Target {
    /// A target; no AWS call is made.
    pub(crate) fn new(
        settings: Arc<AwsSettings>,
        region: String,
        role_arn: Option<String>,
        budget: CallBudget,
    ) -> Self {
        let account = role_arn
            .as_deref()
            .and_then(account_of_role)
            .map(str::to_owned);
        let stages = StageCache::new(Duration::from_secs(settings.stage_cache_max_age_seconds));
        Self {
            region,
            role_arn,
            account,
            settings,
            budget,
            config: OnceCell::new(),
            client: OnceCell::new(),
            client_v2: OnceCell::new(),
            api_keys_lookup_denied: AtomicBool::new(false),
            stages,
            plans: PlanCache::default(),
            named_stages: NamedStages::default(),
        }
    }

    /// `111122223333/eu-west-1`, or `eu-west-1` when no account is known: for logs and tables.
    pub(crate) fn label(&self) -> String {
        match &self.account {
            Some(account) => format!("{account}/{}", self.region),
            None => self.region.clone(),
        }
    }

    /// The SDK configuration: region, credentials (static, else the standard chain, then the
    /// role), endpoint override, no SDK retries (ours honour `Retry-After`), timeouts.
    pub(crate) async fn sdk_config(&self) -> &SdkConfig {
        self.config
            .get_or_init(|| async {
                let base = base_config(&self.settings, &self.region).await;
                match &self.role_arn {
                    None => base,
                    Some(role) => {
                        let provider = aws_config::sts::AssumeRoleProvider::builder(role.clone())
                            .session_name(self.settings.role_session_name.clone())
                            .region(Region::new(self.region.clone()))
                            .configure(&base)
                            .build()
                            .await;
                        base.into_builder()
                            .credentials_provider(SharedCredentialsProvider::new(provider))
                            .build()
                    }
                }
            })
            .await
    }

    /// The API Gateway client.
    pub(crate) async fn client(&self) -> &aws_sdk_apigateway::Client {
        self.client
            .get_or_init(|| async { aws_sdk_apigateway::Client::new(self.sdk_config().await) })
            .await
    }

    /// The API Gateway v2 client (HTTP APIs), on the same configuration.
    pub(crate) async fn client_v2(&self) -> &aws_sdk_apigatewayv2::Client {
        self.client_v2
            .get_or_init(|| async { aws_sdk_apigatewayv2::Client::new(self.sdk_config().await) })
            .await
    }

    /// An API Gateway operation on `path` in this target's region.
    pub(crate) fn operation(
        &self,
        name: &'static str,
        method: &'static str,
        path: &str,
    ) -> Operation {
        Operation::new(name, method, &self.region, path)
    }

    /// Runs one AWS call under the budget, retrying throttling and transient failures.
    pub(crate) async fn call<T, E, F, Fut>(
        &self,
        operation: &Operation,
        class: OperationClass,
        send: F,
    ) -> Result<T, AwsError>
    where
        F: FnMut(aws_sdk_apigateway::Client) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, Response>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let client = self.client().await.clone();
        self.call_with(client, operation, class, send).await
    }

    /// [`Target::call`] with the API Gateway v2 client (HTTP APIs): the same budget (AWS's
    /// control-plane quota is per account, both versions together) and the same retries.
    pub(crate) async fn call_v2<T, E, F, Fut>(
        &self,
        operation: &Operation,
        class: OperationClass,
        send: F,
    ) -> Result<T, AwsError>
    where
        F: FnMut(aws_sdk_apigatewayv2::Client) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, Response>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let client = self.client_v2().await.clone();
        self.call_with(client, operation, class, send).await
    }

    async fn call_with<C, T, E, F, Fut>(
        &self,
        client: C,
        operation: &Operation,
        class: OperationClass,
        mut send: F,
    ) -> Result<T, AwsError>
    where
        C: Clone,
        F: FnMut(C) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, Response>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let max_retries = self.settings.max_retries;
        let priority = current_priority();
        let mut retries = 0u32;
        loop {
            let permit = self.budget.admit(class, priority).await;
            let started = std::time::Instant::now();
            let result = send(client.clone()).await;
            drop(permit);
            metrics::histogram!(AWS_CALL_DURATION, "operation" => operation.name)
                .record(started.elapsed().as_secs_f64());
            let error = match result {
                Ok(value) => {
                    count_call(operation.name, "success");
                    return Ok(value);
                }
                Err(err) => crate::error::classify(operation, &self.region, err),
            };
            count_call(
                operation.name,
                match &error {
                    Attempt::Fatal(_) => "error",
                    Attempt::Throttled { .. } => "throttled",
                    Attempt::Transient(_) => "transient_error",
                },
            );
            let delay = backoff(retries);
            let wait = match error {
                Attempt::Fatal(err) => return Err(err),
                Attempt::Throttled { retry_after } => {
                    if retries >= max_retries {
                        return Err(AwsError::Throttled {
                            operation: operation.name,
                            region: self.region.clone(),
                            attempts: retries + 1,
                        });
                    }
                    let wait = retry_after.map_or(delay, |after| after.max(delay));
                    self.budget.pause(class, retry_after.unwrap_or(delay));
                    tracing::debug!(
                        operation = operation.name,
                        target = %self.label(),
                        retry = retries + 1,
                        wait_ms = wait.as_millis() as u64,
                        "Throttled by AWS; retrying."
                    );
                    wait
                }
                Attempt::Transient(err) => {
                    if retries >= max_retries {
                        return Err(err);
                    }
                    tracing::debug!(
                        operation = operation.name,
                        target = %self.label(),
                        retry = retries + 1,
                        error = %err,
                        "Transient AWS failure; retrying."
                    );
                    delay
                }
            };
            retries += 1;
            tokio::time::sleep(wait).await;
        }
    }

    /// Marks foreground work (a DISCOVER, an ingest walk, a SUBSCRIBE) on this target's budget
    /// until the guard is dropped: background calls wait meanwhile.
    pub(crate) fn foreground(&self) -> ForegroundGuard {
        self.budget.foreground()
    }

    /// Whether this target was told `GetApiKeys` is denied.
    pub(crate) fn lookup_denied(&self) -> bool {
        self.api_keys_lookup_denied.load(Ordering::Relaxed)
    }

    /// Remembers that `GetApiKeys` is denied here: later lookups are skipped.
    pub(crate) fn deny_lookup(&self) {
        self.api_keys_lookup_denied.store(true, Ordering::Relaxed);
    }
}

/// AWS calls, by `operation` and `outcome` (`success`, `throttled`, `transient_error`, `error`);
/// retried attempts count once each.
pub(crate) const AWS_CALLS: &str = "federation_aws_calls_total";
/// Duration of each AWS call attempt, by `operation`.
pub(crate) const AWS_CALL_DURATION: &str = "federation_aws_call_duration_seconds";

fn count_call(operation: &'static str, outcome: &'static str) {
    static DESCRIBED: std::sync::Once = std::sync::Once::new();
    DESCRIBED.call_once(|| {
        metrics::describe_counter!(
            AWS_CALLS,
            "AWS API Gateway calls by operation and outcome (success, throttled, transient_error, error)."
        );
        metrics::describe_histogram!(
            AWS_CALL_DURATION,
            metrics::Unit::Seconds,
            "Duration of each AWS API Gateway call attempt, by operation."
        );
    });
    metrics::counter!(AWS_CALLS, "operation" => operation, "outcome" => outcome).increment(1);
}

/// Exponential backoff with jitter: 200 ms × 2^retry, capped at 20 s, drawn in [½, 1] of it.
fn backoff(retry: u32) -> Duration {
    let ceiling = BASE_BACKOFF
        .saturating_mul(1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX))
        .min(MAX_BACKOFF);
    ceiling.mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// The region's configuration before any role is assumed.
async fn base_config(settings: &AwsSettings, region: &str) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        );
    if let (Some(id), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key) {
        loader = loader.credentials_provider(Credentials::new(
            id.expose(),
            secret.expose(),
            settings
                .session_token
                .as_ref()
                .map(|t| t.expose().to_owned()),
            None,
            "gravitee-configuration",
        ));
    }
    if let Some(endpoint) = &settings.endpoint {
        loader = loader.endpoint_url(endpoint.clone());
    }
    loader.load().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for retry in 0..40 {
            let d = backoff(retry);
            assert!(d <= MAX_BACKOFF, "{retry}: {d:?}");
            assert!(d >= BASE_BACKOFF / 2, "{retry}: {d:?}");
        }
        assert!(backoff(3) >= Duration::from_millis(800));
        assert!(backoff(30) >= MAX_BACKOFF / 2);
    }

    #[test]
    fn account_comes_from_the_role() {
        let settings = Arc::new(AwsSettings::for_region("eu-west-1"));
        let budget = CallBudget::new(10.0, 40, 5.0, 5, 4);
        let t = Target::new(
            settings.clone(),
            "eu-west-1".into(),
            Some("arn:aws:iam::111122223333:role/agent".into()),
            budget.clone(),
        );
        assert_eq!(t.account.as_deref(), Some("111122223333"));
        assert_eq!(t.label(), "111122223333/eu-west-1");
        let plain = Target::new(settings, "us-east-1".into(), None, budget);
        assert_eq!(plain.label(), "us-east-1");
    }
}
