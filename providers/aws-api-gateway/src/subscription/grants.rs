//! Whether a target lets this agent keep one key per application: the two IAM grants the
//! seed's minimum policy lacks.
//!
//! - `GetApiKeys` (`apigateway:GET` on `/apikeys`): finding the application's key and the
//!   records of its subscriptions;
//! - `DeleteUsagePlanKey` (`apigateway:DELETE` on `/usageplans/*/keys/*`): detaching the key
//!   from a usage plan when the application's last subscription through it ends.
//!
//! Without either, an application's key would stay on usage plans no subscription uses any
//! more, so the agent keeps one key per subscription (the minimum policy covers it) and says so
//! once per process. The grants are probed once per process and target, at the first SUBSCRIBE
//! that would get an application's key: building the provider makes no AWS call (the agent
//! reaches HELLO without AWS access), credentials may not be ready at start, and a deployment
//! that never subscribes pays nothing. `DeleteUsagePlanKey` is tried for real on a disabled
//! probe key (`gravitee-agent-check`) attached for a moment to the subscription's usage plan:
//! a disabled key opens nothing, and this works on every emulator (moto answers a detach of a
//! key that is not in the plan with a 500). `federation-agent-aws-api-gateway check` reports
//! both grants up front.

use federation_core::ProviderError;

use super::keys::{KeyQuery, NewKey, attach_key, create_key, delete_key_if_present, detach_key};
use super::names::PROBE_KEY_NAME;
use crate::error::Operation;
use crate::provider::AwsApiGatewayProvider;
use crate::target::Target;

/// What `GetApiKeys` enables, for logs and `check`.
pub(crate) const LOOKUP_ENABLES: &str = "finding a key again by name: one key per application \
     (apiKeyScope: application) and, for a key per subscription, no duplicate after a restart \
     or on another replica";
/// What `DeleteUsagePlanKey` enables, for logs and `check`.
pub(crate) const DETACH_ENABLES: &str = "one key per application (apiKeyScope: application): \
     detaching the application's key from a usage plan when its last subscription through that \
     plan ends";

impl AwsApiGatewayProvider {
    /// Whether application keys can be issued in `target` (probed once per process and
    /// target; `plan_id` is the usage plan the probe key is attached to for a moment).
    pub(super) async fn application_keys_allowed(
        &self,
        target: &Target,
        plan_id: &str,
    ) -> Result<bool, ProviderError> {
        let cell = self.issued.application_scope(&target.label());
        let allowed = cell
            .get_or_try_init(|| self.probe_application_grants(target, plan_id))
            .await?;
        Ok(*allowed)
    }

    async fn probe_application_grants(
        &self,
        target: &Target,
        plan_id: &str,
    ) -> Result<bool, ProviderError> {
        let mut missing: Vec<(Operation, &str)> = Vec::new();
        if self
            .lookup(target, KeyQuery::Name(PROBE_KEY_NAME))
            .await?
            .is_none()
        {
            missing.push((
                target.operation("GetApiKeys", "GET", "/apikeys"),
                LOOKUP_ENABLES,
            ));
        }
        if !probe_detach(target, plan_id).await? {
            missing.push((
                target.operation("DeleteUsagePlanKey", "DELETE", "/usageplans/*/keys/*"),
                DETACH_ENABLES,
            ));
        }
        if missing.is_empty() {
            tracing::debug!(
                target_label = %target.label(),
                "GetApiKeys and DeleteUsagePlanKey are allowed: one API key per application."
            );
            return Ok(true);
        }
        let grants: Vec<String> = missing
            .iter()
            .map(|(op, enables)| format!("{} ({}; it enables {enables})", op.grant(), op.name))
            .collect();
        if self.issued.first_application_fallback() {
            tracing::warn!(
                target_label = %target.label(),
                "apiKeyScope is application, but the agent's IAM identity lacks {}. This agent \
                 issues one API key per subscription instead, as with apiKeyScope: subscription. \
                 In APIM's shared API-key mode the portal shows an application's first key for \
                 all its subscriptions, and that key opens only the first subscription's usage \
                 plan. Add the grants to the agent's IAM policy (docs/deployment.md, \"One key \
                 per application\") and restart the agent, or set apiKeyScope: subscription.",
                grants.join(" and ")
            );
        } else {
            tracing::debug!(
                target_label = %target.label(),
                missing = %grants.join(" and "),
                "One API key per subscription in this target: grants missing."
            );
        }
        Ok(false)
    }
}

/// Tries `DeleteUsagePlanKey` on a disabled probe key attached to `plan_id` for a moment:
/// `false` when IAM denies it. The probe key is deleted in every case.
async fn probe_detach(target: &Target, plan_id: &str) -> Result<bool, ProviderError> {
    let probe = create_key(
        target,
        NewKey {
            name: PROBE_KEY_NAME,
            description: "federation agent permission probe (disabled, opens nothing); safe \
                          to delete",
            enabled: false,
            customer: None,
        },
    )
    .await?;
    let outcome = match attach_key(target, plan_id, &probe.id).await {
        Ok(()) => match detach_key(target, plan_id, &probe.id).await {
            Ok(()) => Ok(true),
            Err(err) if err.is_access_denied() => Ok(false),
            Err(err) => Err(err.into()),
        },
        Err(err) => Err(err.into()),
    };
    if let Err(err) = delete_key_if_present(target, &probe.id).await {
        tracing::warn!(
            api_key_id = %probe.id,
            error = %err,
            "Could not delete the disabled probe key {PROBE_KEY_NAME}; it opens nothing, delete \
             it by hand."
        );
    }
    outcome
}
