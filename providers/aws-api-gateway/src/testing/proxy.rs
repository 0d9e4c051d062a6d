//! [`ThrottlingProxy`]: a loopback HTTP proxy in front of moto that does what moto cannot.
//!
//! - **Fault injection**: answers requests `n` with `n % every < fail` with the 429 AWS sends
//!   (`x-amzn-ErrorType: TooManyRequestsException`, `Retry-After`).
//! - **Quota**: a token bucket (AWS: 10 rps, burst 40); a request finding it empty gets the 429.
//! - **Paging**: moto ignores `limit`/`position` and returns every item; the proxy cuts
//!   `GetRestApis`, `GetUsagePlans` and `GetApiKeys` answers into pages of at most `page_size`
//!   items (and at most the request's `limit`) with `position` tokens, so paging code runs.
//! - **Latency**: delays every answer, as a round trip to AWS would.
//! - **Denial**: answers chosen operations with AWS's `AccessDeniedException` (HTTP 403).
//! - **Outage**: answers requests on chosen paths (one stage's export) with AWS's
//!   `ServiceUnavailableException` (HTTP 503), every time, retries included.
//! - **Stage checks**: moto exports a stage that was deleted; with [`ProxyConfig::check_stages`]
//!   the proxy asks moto for the stage first and answers a `GetExport` of a missing stage with
//!   moto's `NotFoundException`, as AWS does.
//! - **Usage plan key rules**: with [`ProxyConfig::usage_plan_rules`], AWS's answers to a key
//!   attached twice, to a second usage plan of one API stage, or to more plans than the limit,
//!   and to a detach of a key not in the plan (`plan_rules.rs`).
//! - **Counting**: every API Gateway request by operation name (`GetRestApis`, `GetExport`, …;
//!   v1 names and paging in `proxy_v1.rs`; v2 calls as `v2:GetApis`, `v2:ExportApi`, …, see
//!   `proxy_v2.rs`, which also pages v2 lists and holds the canned answers for calls moto
//!   lacks), and STS requests as `sts:<Action>`. AWS's error answers are in `aws_errors.rs`.
//!
//! Only API Gateway requests are throttled, paged or denied; STS requests are forwarded as they
//! are (moto serves both on one port).

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::limiter::TokenBucket;

use super::aws_errors::{access_denied, plain, service_unavailable, too_many_requests};
use super::http;
use super::plan_rules;
pub use super::plan_rules::UsagePlanRules;
pub use super::proxy_v1::operation_name;
use super::proxy_v1::{form_value, page};
use super::proxy_v2::{CannedAnswer, is_paged_v2, page_v2};

/// What the proxy does besides forwarding.
#[derive(Debug, Clone, Default)]
pub struct ProxyConfig {
    /// Throttle requests `n` with `n % fail_every < fail_count` (0 = off).
    pub fail_every: u64,
    /// See `fail_every`.
    pub fail_count: u64,
    /// The `Retry-After` header of a 429, in seconds (`"1"` when unset).
    pub retry_after: Option<String>,
    /// Enforce a quota: (requests per second, burst).
    pub quota: Option<(f64, u32)>,
    /// Cut list answers into pages of at most this many items.
    pub page_size: Option<usize>,
    /// Operations answered with `AccessDeniedException`.
    pub deny: BTreeSet<String>,
    /// Added to every answer, as a network round trip to AWS would be.
    pub latency: Option<Duration>,
    /// Answer `GetExport` of a stage that does not exist with `NotFoundException`.
    pub check_stages: bool,
    /// Enforce AWS's rules on usage plan keys (moto does not).
    pub usage_plan_rules: Option<UsagePlanRules>,
    /// API Gateway requests whose path contains one of these are answered with
    /// `ServiceUnavailableException` (HTTP 503).
    pub unavailable: BTreeSet<String>,
    /// Answers given instead of forwarding (calls moto lacks, such as v2's `ExportApi`).
    pub canned: Vec<CannedAnswer>,
}

impl ProxyConfig {
    /// Forward and count only.
    pub fn counting() -> Self {
        Self::default()
    }

    /// Throttle `fail` of every `every` API Gateway requests.
    pub fn failing(mut self, every: u64, fail: u64) -> Self {
        self.fail_every = every;
        self.fail_count = fail;
        self
    }

    /// The `Retry-After` value of 429 answers, in seconds.
    pub fn retry_after(mut self, seconds: &str) -> Self {
        self.retry_after = Some(seconds.to_owned());
        self
    }

    /// Enforce `rps` with `burst`, as AWS does.
    pub fn quota(mut self, rps: f64, burst: u32) -> Self {
        self.quota = Some((rps, burst));
        self
    }

    /// Page list answers.
    pub fn page_size(mut self, size: usize) -> Self {
        self.page_size = Some(size.max(1));
        self
    }

    /// Delays every answer by `latency` (a simulated round trip to AWS).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Answer `GetExport` of a deleted stage with AWS's `NotFoundException` (moto exports it).
    pub fn check_stages(mut self) -> Self {
        self.check_stages = true;
        self
    }

    /// Answer `CreateUsagePlanKey` and `DeleteUsagePlanKey` as AWS does where moto does not
    /// (one usage plan per API stage for a key, 10 plans per key, …): see [`UsagePlanRules`].
    pub fn usage_plan_rules(mut self) -> Self {
        self.usage_plan_rules = Some(UsagePlanRules::default());
        self
    }

    /// [`ProxyConfig::usage_plan_rules`] with these settings.
    pub fn usage_plan_rules_with(mut self, rules: UsagePlanRules) -> Self {
        self.usage_plan_rules = Some(rules);
        self
    }

    /// Answer every API Gateway request whose path contains `path_part`
    /// (`/restapis/abc/stages/prod/exports`) with AWS's `ServiceUnavailableException` (503).
    pub fn unavailable(mut self, path_part: &str) -> Self {
        self.unavailable.insert(path_part.to_owned());
        self
    }

    /// Deny `operation` (`GetApiKeys`, `CreateApiKey`, …) with `AccessDeniedException`.
    pub fn deny(mut self, operation: &str) -> Self {
        self.deny.insert(operation.to_owned());
        self
    }

    /// Answer with `answer` instead of forwarding (after throttling and denial).
    pub fn answer(mut self, answer: CannedAnswer) -> Self {
        self.canned.push(answer);
        self
    }
}

#[derive(Debug, Default)]
struct Stats {
    sequence: AtomicU64,
    calls: Mutex<BTreeMap<String, u64>>,
    throttled: Mutex<BTreeMap<String, u64>>,
}

struct Shared {
    upstream: SocketAddr,
    /// Held while a usage plan key request is checked and forwarded.
    plan_keys: tokio::sync::Mutex<()>,
    config: Mutex<ProxyConfig>,
    bucket: Mutex<Option<Arc<TokenBucket>>>,
    stats: Stats,
}

/// A proxy on `127.0.0.1:<free port>`; stops when dropped.
pub struct ThrottlingProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for ThrottlingProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThrottlingProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ThrottlingProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:<port>`, moto's endpoint).
    ///
    /// # Panics
    ///
    /// When `upstream` is not an `http://host:port` loopback address or no port is free.
    pub async fn start(upstream: &str, config: ProxyConfig) -> Self {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|e| panic!("upstream `{upstream}` is not http://ip:port: {e}"));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("no free loopback port: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("no local address: {e}"));
        let bucket = config
            .quota
            .map(|(rps, burst)| Arc::new(TokenBucket::new(rps, burst)));
        let shared = Arc::new(Shared {
            upstream,
            plan_keys: tokio::sync::Mutex::new(()),
            config: Mutex::new(config),
            bucket: Mutex::new(bucket),
            stats: Stats::default(),
        });
        let accept_shared = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = accept_shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(handle(&shared, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, shared, task }
    }

    /// `http://127.0.0.1:<port>`: give this to the provider as `endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the configuration (the quota bucket starts full again).
    pub fn set_config(&self, config: ProxyConfig) {
        *lock(&self.shared.bucket) = config
            .quota
            .map(|(rps, burst)| Arc::new(TokenBucket::new(rps, burst)));
        *lock(&self.shared.config) = config;
    }

    /// Requests received, by operation (429s included: they are calls the client made).
    pub fn calls(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.stats.calls).clone()
    }

    /// Requests received for `operation`.
    pub fn count(&self, operation: &str) -> u64 {
        lock(&self.shared.stats.calls)
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// Every API Gateway request received (STS excluded).
    pub fn total(&self) -> u64 {
        lock(&self.shared.stats.calls)
            .iter()
            .filter(|(op, _)| !op.starts_with("sts:"))
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests answered with a 429, by operation.
    pub fn throttled_calls(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.stats.throttled).clone()
    }

    /// Requests answered with a 429.
    pub fn throttled(&self) -> u64 {
        lock(&self.shared.stats.throttled).values().sum()
    }

    /// Forgets the counts.
    pub fn reset_counts(&self) {
        lock(&self.shared.stats.calls).clear();
        lock(&self.shared.stats.throttled).clear();
        self.shared.stats.sequence.store(0, Ordering::Relaxed);
    }
}

impl Drop for ThrottlingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The AWS service a request is signed for (`apigateway`, `sts`), from its SigV4 scope.
fn service_of(request: &Request<Incoming>) -> String {
    request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|cred| cred.split(['/', ',']).nth(3))
        .unwrap_or("")
        .to_owned()
}

fn bump(map: &Mutex<BTreeMap<String, u64>>, operation: &str) {
    *lock(map).entry(operation.to_owned()).or_default() += 1;
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let service = service_of(&request);
    let method = request.method().as_str().to_owned();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return plain(StatusCode::BAD_REQUEST, &format!("unreadable body: {e}")),
    };
    let is_apigateway = service != "sts";
    let operation = if is_apigateway {
        operation_name(&method, &path_and_query)
    } else {
        let action = form_value(&body, "Action").unwrap_or_else(|| "Unknown".to_owned());
        format!("sts:{action}")
    };
    bump(&shared.stats.calls, &operation);
    let latency = lock(&shared.config).latency;
    if let Some(latency) = latency {
        tokio::time::sleep(latency).await;
    }

    if is_apigateway {
        let config = lock(&shared.config).clone();
        let n = shared.stats.sequence.fetch_add(1, Ordering::Relaxed);
        let faulted = config.fail_every > 0 && n % config.fail_every < config.fail_count;
        let bucket = lock(&shared.bucket).clone();
        let over_quota = bucket.is_some_and(|b| !b.try_take());
        if faulted || over_quota {
            bump(&shared.stats.throttled, &operation);
            return too_many_requests(config.retry_after.as_deref().unwrap_or("1"));
        }
        if config.deny.contains(&operation) {
            return access_denied(&operation, &method, &path_and_query);
        }
        if config
            .unavailable
            .iter()
            .any(|part| path_and_query.contains(part.as_str()))
        {
            return service_unavailable();
        }
        if let Some(answer) = config
            .canned
            .iter()
            .find(|a| a.answers(&operation, &path_and_query))
        {
            return answer.response();
        }
    }

    if is_apigateway
        && operation == "GetExport"
        && lock(&shared.config).check_stages
        && let Some(missing) = missing_stage(shared, &parts, &path_and_query).await
    {
        return missing;
    }

    let rules = lock(&shared.config).usage_plan_rules;
    let _plan_keys = match rules {
        Some(rules)
            if is_apigateway
                && matches!(
                    operation.as_str(),
                    "CreateUsagePlanKey" | "DeleteUsagePlanKey"
                ) =>
        {
            let held = shared.plan_keys.lock().await;
            if let Some(refused) = plan_rules::refusal(
                rules,
                shared.upstream,
                &parts,
                &operation,
                &path_and_query,
                &body,
            )
            .await
            {
                return refused;
            }
            Some(held)
        }
        _ => None,
    };

    let mut forward = Request::builder().method(parts.method).uri(&path_and_query);
    for (name, value) in &parts.headers {
        if name != "connection" {
            forward = forward.header(name, value);
        }
    }
    let forward = match forward.body(Full::new(body)) {
        Ok(r) => r,
        Err(e) => return plain(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let response = match http::send(shared.upstream, forward).await {
        Ok(r) => r,
        Err(e) => return plain(StatusCode::BAD_GATEWAY, &e),
    };
    let (parts, mut body) = response.into_parts();
    let page_size = lock(&shared.config).page_size;
    if let Some(size) = page_size
        && is_apigateway
        && parts.status.is_success()
        && matches!(
            operation.as_str(),
            "GetRestApis" | "GetUsagePlans" | "GetApiKeys"
        )
        && let Some(paged) = page(&body, &path_and_query, size)
    {
        body = paged;
    }
    if let Some(size) = page_size
        && is_apigateway
        && parts.status.is_success()
        && is_paged_v2(&operation)
        && let Some(paged) = page_v2(&body, &path_and_query, size)
    {
        body = paged;
    }
    relayed(&parts, body).unwrap_or_else(|e| plain(StatusCode::BAD_GATEWAY, &e.to_string()))
}

/// moto's answer with `body`: its status and headers, the hop-by-hop ones and the length
/// replaced.
fn relayed(
    parts: &hyper::http::response::Parts,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, hyper::http::Error> {
    let mut out = Response::builder().status(parts.status);
    for (name, value) in &parts.headers {
        if !matches!(
            name.as_str(),
            "connection" | "content-length" | "transfer-encoding"
        ) {
            out = out.header(name, value);
        }
    }
    out.header("content-length", body.len())
        .body(Full::new(body))
}

/// moto's answer to `GetStage` for the stage of an export path, when it is an error (404).
async fn missing_stage(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    path_and_query: &str,
) -> Option<Response<Full<Bytes>>> {
    let path = path_and_query.split('?').next()?;
    let stage_path = &path[..path.find("/exports/")?];
    let mut check = Request::builder().method("GET").uri(stage_path);
    for (name, value) in &parts.headers {
        if name != "connection" && name != "content-length" {
            check = check.header(name, value);
        }
    }
    let response = http::send(shared.upstream, check.body(Full::new(Bytes::new())).ok()?)
        .await
        .ok()?;
    if response.status() != StatusCode::NOT_FOUND {
        return None;
    }
    let (parts, body) = response.into_parts();
    relayed(&parts, body).ok()
}
