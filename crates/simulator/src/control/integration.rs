//! The integration commands APIM sends, as the console and the portal would: DISCOVER,
//! START_INGEST (with the ingest job APIM keeps), SUBSCRIBE and UNSUBSCRIBE (with the key the
//! portal shows in shared or exclusive API-key mode), and the catalog the INGEST batches built.

use std::time::{Duration, Instant};

use federation_core::model::StringMap;
use federation_core::{Api, Secret, Subscription, SubscriptionResult, SubscriptionType};
use federation_protocol::payload::{
    DiscoverReplyPayload, Empty, StartIngestPayload, SubscribePayload, UnsubscribePayload,
};
use federation_protocol::{Command, CommandPayload, Reply, ReplyPayload};

use super::{SimError, Simulator};
use crate::ingest;
use crate::state::{IngestJob, OnReply};
use crate::subscription::{AcceptedSubscription, shown_key};

/// What a subscribe asks for.
#[derive(Debug, Clone)]
pub struct SubscribeRequest {
    /// The provider API id.
    pub api_id: String,
    /// The provider plan id (`metadata.planId`).
    pub plan_id: Option<String>,
    /// The Gravitee subscription id (a random one if `None`).
    pub subscription_id: Option<String>,
    /// The application's name.
    pub application_name: String,
    /// `API_KEY` by default.
    pub subscription_type: SubscriptionType,
    /// The Gravitee application id (`graviteeApplicationId`); `None`: a new application for
    /// this subscription (`app-<random>`). Give two subscriptions the same id to model one
    /// application subscribing twice (shared API-key mode).
    pub application_id: Option<String>,
    /// The application's OAuth client id: for an OAUTH subscription, APIM sends it as
    /// `metadata.consumerKey` in SUBSCRIBE and UNSUBSCRIBE.
    pub client_id: Option<String>,
}

impl SubscribeRequest {
    /// An API key subscription to `api_id` on `plan_id`.
    pub fn api_key(api_id: impl Into<String>, plan_id: Option<String>) -> Self {
        Self {
            api_id: api_id.into(),
            plan_id,
            subscription_id: None,
            application_name: "Simulator application".to_owned(),
            subscription_type: SubscriptionType::ApiKey,
            application_id: None,
            client_id: None,
        }
    }

    /// For this Gravitee application (`graviteeApplicationId`).
    pub fn for_application(mut self, application_id: impl Into<String>) -> Self {
        self.application_id = Some(application_id.into());
        self
    }
}

impl Simulator {
    /// DISCOVER: the agent's preview. Refused with [`SimError::IngestPending`] while an ingest
    /// job of the integration is PENDING, as APIM's console disables Discover then (with APIM
    /// 4.5/4.6 a job never closed stays PENDING for good; from 4.7 until its deadline).
    /// [`Simulator::send`] sends a DISCOVER regardless, like a call to APIM's REST API.
    pub async fn discover(&self, integration_id: &str) -> Result<DiscoverReplyPayload, SimError> {
        self.refuse_while_pending(integration_id)?;
        let reply = self
            .send(integration_id, CommandPayload::Discover(Empty {}))
            .await?;
        match Self::success(reply)? {
            Some(ReplyPayload::Discover(preview)) => Ok(preview),
            _ => Err(SimError::UnexpectedReply("DISCOVER".into())),
        }
    }

    /// The integration's PENDING ingest job, if any (read now: a job past its deadline is
    /// TIMEOUT, not pending).
    pub fn pending_ingest_job(&self, integration_id: &str) -> Option<IngestJob> {
        ingest::pending_job(&mut self.inner.state(), integration_id, Instant::now())
    }

    fn refuse_while_pending(&self, integration_id: &str) -> Result<(), SimError> {
        let Some(job) = self.pending_ingest_job(integration_id) else {
            return Ok(());
        };
        let progress = format!(
            "has had {} of {} APIs in {} batch(es) and no INGEST with done: true",
            job.apis.len(),
            job.total,
            job.batches
        );
        let until = match job.deadline {
            Some(deadline) => format!(
                "; it reads TIMEOUT in {:.1} s",
                deadline
                    .saturating_duration_since(Instant::now())
                    .as_secs_f64()
            ),
            None => format!(
                "; APIM {} sets no deadline, so it stays PENDING until one comes",
                self.inner.config.apim_version
            ),
        };
        Err(SimError::IngestPending {
            integration_id: integration_id.to_owned(),
            job_id: job.job_id,
            detail: format!("{progress}{until}"),
        })
    }

    /// START_INGEST: returns the job id and the announced total. When the total is positive the
    /// job is created after the reply, as APIM does: when the reply is read (before the agent's
    /// next message on that connection is), or
    /// [`SimulatorConfig::ingest_job_delay`](crate::SimulatorConfig::ingest_job_delay()) later
    /// (meanwhile INGEST batches for it are answered SUCCEEDED and dropped, as APIM does for a
    /// job it does not know). The job is PENDING until its `done: true` batch (APIM 4.7+:
    /// TIMEOUT once past its deadline). Refused with [`SimError::IngestPending`] while another
    /// job of the integration is PENDING (see [`Simulator::discover`]).
    pub async fn start_ingest(
        &self,
        integration_id: &str,
        api_ids: Option<Vec<String>>,
    ) -> Result<(String, u64), SimError> {
        self.refuse_while_pending(integration_id)?;
        let job_id = uuid::Uuid::new_v4().to_string();
        let command = Command::new(
            uuid::Uuid::new_v4().to_string(),
            CommandPayload::StartIngest(StartIngestPayload {
                ingest_job_id: job_id.clone(),
                api_ids,
            }),
        );
        let create_job: OnReply = {
            let (inner, job_id) = (self.inner.clone(), job_id.clone());
            let integration_id = integration_id.to_owned();
            Box::new(move |reply: &Reply| {
                let total = match &reply.payload {
                    Some(ReplyPayload::StartIngest(started)) if reply.is_success() => started.total,
                    _ => return,
                };
                if total == 0 {
                    return;
                }
                let delay = inner.config.ingest_job_delay;
                let create = move || {
                    let job = ingest::new_job(
                        &inner.config,
                        &job_id,
                        &integration_id,
                        total,
                        Instant::now(),
                    );
                    inner.update(|s| s.jobs.insert(job_id, job));
                };
                if delay.is_zero() {
                    create();
                } else {
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        create();
                    });
                }
            })
        };
        let reply = self
            .send_command_with(integration_id, 0, &command, Some(create_job))
            .await?;
        let total = match Self::success(reply)? {
            Some(ReplyPayload::StartIngest(started)) => started.total,
            _ => return Err(SimError::UnexpectedReply("START_INGEST".into())),
        };
        Ok((job_id, total))
    }

    /// The ingest job, if it exists, read now (a PENDING job past its deadline is TIMEOUT).
    pub fn ingest_job(&self, job_id: &str) -> Option<IngestJob> {
        let now = Instant::now();
        self.inner
            .state()
            .jobs
            .get_mut(job_id)
            .map(|job| job.read(now).clone())
    }

    /// The integration's ingest jobs, oldest first, read now.
    pub fn ingest_jobs(&self, integration_id: &str) -> Vec<IngestJob> {
        let now = Instant::now();
        let mut jobs: Vec<IngestJob> = self
            .inner
            .state()
            .jobs
            .values_mut()
            .filter(|job| job.integration_id == integration_id)
            .map(|job| job.read(now).clone())
            .collect();
        jobs.sort_by_key(|job| job.created_at);
        jobs
    }

    /// Waits until the job is no longer PENDING: its `done: true` batch arrived (SUCCESS) or,
    /// APIM 4.7+, it is past its deadline (TIMEOUT).
    pub async fn wait_ingest_settled(
        &self,
        job_id: &str,
        timeout: Duration,
    ) -> Result<IngestJob, SimError> {
        self.wait_until(timeout, &format!("ingest job {job_id} to end"), || {
            self.ingest_job(job_id).filter(|j| !j.is_pending())
        })
        .await
    }

    /// Waits until the job's `done: true` batch arrived.
    pub async fn wait_ingest_done(
        &self,
        job_id: &str,
        timeout: Duration,
    ) -> Result<IngestJob, SimError> {
        self.wait_until(timeout, &format!("ingest job {job_id} to finish"), || {
            self.ingest_job(job_id).filter(|j| j.done)
        })
        .await
    }

    /// START_INGEST and wait for the last batch.
    pub async fn ingest(
        &self,
        integration_id: &str,
        api_ids: Option<Vec<String>>,
        timeout: Duration,
    ) -> Result<IngestJob, SimError> {
        let (job_id, total) = self.start_ingest(integration_id, api_ids).await?;
        if total == 0 {
            // APIM creates no job and reports SUCCESS.
            return Ok(IngestJob {
                job_id,
                integration_id: integration_id.to_owned(),
                status: crate::state::IngestJobStatus::Success,
                ..IngestJob::default()
            });
        }
        self.wait_ingest_done(&job_id, timeout).await
    }

    /// The APIs ingested so far for the integration, in the order they were first ingested,
    /// as APIM keeps them: the latest definition of each, with `pages` the pages APIM keeps
    /// (SWAGGER and ASYNCAPI only, by `filename`; always a list, empty when the docs were
    /// wiped). An API left out of later ingests stays as it was.
    pub fn catalog(&self, integration_id: &str) -> Vec<Api> {
        self.inner
            .state()
            .catalog
            .get(integration_id)
            .map(|c| c.values().map(|entry| entry.view()).collect())
            .unwrap_or_default()
    }

    /// One ingested API of the integration, by provider `id` (see [`Simulator::catalog`]).
    pub fn catalog_api(&self, integration_id: &str, api_id: &str) -> Option<Api> {
        self.find_api(integration_id, api_id)
    }

    /// SUBSCRIBE, with the metadata APIM builds: the API's `connectionDetails`, (APIM 4.9+)
    /// its metadata whose key contains the provider type, then `planId` (and `consumerKey`
    /// for OAUTH). The subscription is then kept as APIM accepts it: the reply's metadata
    /// (sent back by [`Simulator::unsubscribe`]) and the key the portal shows (see
    /// [`Simulator::shown_api_key`]).
    pub async fn subscribe(
        &self,
        integration_id: &str,
        request: SubscribeRequest,
    ) -> Result<(String, SubscriptionResult), SimError> {
        let subscription_id = request
            .subscription_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let application_id = request
            .application_id
            .clone()
            .unwrap_or_else(|| format!("app-{}", uuid::Uuid::new_v4().simple()));
        let mut metadata = self.api_metadata(integration_id, &request.api_id);
        if let Some(plan_id) = &request.plan_id {
            metadata.insert("planId".to_owned(), plan_id.clone());
        }
        let consumer_key = request
            .client_id
            .clone()
            .filter(|_| request.subscription_type == SubscriptionType::Oauth);
        if let Some(client_id) = &consumer_key {
            metadata.insert("consumerKey".to_owned(), client_id.clone());
        }
        let subscription = Subscription {
            gravitee_subscription_id: subscription_id.clone(),
            gravitee_application_id: Some(application_id.clone()),
            gravitee_application_name: Some(request.application_name.clone()),
            subscription_type: Some(request.subscription_type),
            metadata: Some(metadata),
        };
        let reply = self
            .send(
                integration_id,
                CommandPayload::Subscribe(SubscribePayload {
                    api_id: request.api_id.clone(),
                    subscription,
                }),
            )
            .await?;
        let result = match Self::success(reply)? {
            Some(ReplyPayload::Subscribe(payload)) => payload.subscription,
            _ => return Err(SimError::UnexpectedReply("SUBSCRIBE".into())),
        };
        let mode = self.inner.config.api_key_mode_of(&application_id);
        self.inner.update(|s| {
            let shown = shown_key(
                s,
                mode,
                &application_id,
                request.subscription_type,
                result.api_key.as_ref(),
            );
            s.subscriptions.insert(
                subscription_id.clone(),
                AcceptedSubscription {
                    subscription_id: subscription_id.clone(),
                    integration_id: integration_id.to_owned(),
                    api_id: request.api_id.clone(),
                    application_id: application_id.clone(),
                    application_name: request.application_name.clone(),
                    subscription_type: request.subscription_type,
                    client_id: consumer_key.clone(),
                    agent_api_key: result.api_key.clone(),
                    shown_api_key: shown,
                    api_key_mode: mode,
                    metadata: result.metadata.clone().unwrap_or_default(),
                },
            );
        });
        Ok((subscription_id, result))
    }

    /// A subscription accepted through [`Simulator::subscribe`] and not yet unsubscribed.
    pub fn subscription(&self, subscription_id: &str) -> Option<AcceptedSubscription> {
        self.inner
            .state()
            .subscriptions
            .get(subscription_id)
            .cloned()
    }

    /// The integration's accepted subscriptions, in the order they were accepted.
    pub fn subscriptions(&self, integration_id: &str) -> Vec<AcceptedSubscription> {
        self.inner
            .state()
            .subscriptions
            .values()
            .filter(|s| s.integration_id == integration_id)
            .cloned()
            .collect()
    }

    /// The API key the portal shows for a subscription: the agent's key in exclusive mode, the
    /// application's first key in shared mode (`docs/reference/integration-commands.md` §9);
    /// `None` for an unknown subscription, a blank key or an OAUTH subscription.
    pub fn shown_api_key(&self, subscription_id: &str) -> Option<Secret> {
        self.subscription(subscription_id)?.shown_api_key
    }

    /// UNSUBSCRIBE a subscription made with [`Simulator::subscribe`], with the metadata APIM
    /// sends: `connectionDetails`, then `consumerKey` (OAUTH), overridden by the metadata the
    /// SUBSCRIBE reply returned (`docs/reference/integration-commands.md` §1.6).
    pub async fn unsubscribe(
        &self,
        integration_id: &str,
        subscription_id: &str,
    ) -> Result<(), SimError> {
        let record = self
            .subscription(subscription_id)
            .ok_or_else(|| SimError::UnknownSubscription(subscription_id.to_owned()))?;
        let mut metadata = self.connection_details(integration_id, &record.api_id);
        if let Some(client_id) = &record.client_id {
            metadata.insert("consumerKey".to_owned(), client_id.clone());
        }
        metadata.extend(record.metadata.clone());
        let reply = self
            .send(
                integration_id,
                CommandPayload::Unsubscribe(UnsubscribePayload {
                    api_id: record.api_id.clone(),
                    subscription: Subscription {
                        gravitee_subscription_id: subscription_id.to_owned(),
                        metadata: Some(metadata),
                        ..Subscription::default()
                    },
                }),
            )
            .await?;
        Self::success(reply)?;
        self.inner
            .update(|s| s.subscriptions.shift_remove(subscription_id));
        Ok(())
    }

    fn find_api(&self, integration_id: &str, api_id: &str) -> Option<Api> {
        self.catalog(integration_id)
            .into_iter()
            .find(|a| a.id == api_id)
    }

    fn connection_details(&self, integration_id: &str, api_id: &str) -> StringMap {
        self.find_api(integration_id, api_id)
            .and_then(|a| a.connection_details)
            .unwrap_or_default()
    }

    fn api_metadata(&self, integration_id: &str, api_id: &str) -> StringMap {
        let mut metadata = self.connection_details(integration_id, api_id);
        let provider = self
            .inner
            .config
            .integrations
            .iter()
            .find(|i| i.id == integration_id)
            .map(|i| i.provider.clone())
            .unwrap_or_default();
        let api = self
            .find_api(integration_id, api_id)
            .filter(|_| self.inner.config.apim_version.sends_provider_metadata());
        if let Some(api) = api {
            for entry in api.metadata.iter().flatten() {
                if !provider.is_empty() && entry.name.contains(&provider) {
                    metadata.insert(entry.name.clone(), entry.value.clone());
                }
            }
        }
        metadata
    }
}
