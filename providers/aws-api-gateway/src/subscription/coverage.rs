//! The checks before any key is created: the usage plan still covers the subscribed stage, and
//! the stage still exists.
//!
//! A key attached to a usage plan opens every stage of that plan, so a SUBSCRIBE whose plan no
//! longer covers its stage (detached in AWS since the ingest) must get no key: it would open
//! the plan's other APIs. The plan comes from the target's [`PlanCache`](crate::plans::PlanCache)
//! (`GetUsagePlans`), the stage from `GetStage`. Every refusal is counted in
//! [`SUBSCRIPTIONS_REFUSED`] by reason.

use federation_core::ProviderError;

use crate::error::AwsError;
use crate::limiter::OperationClass;
use crate::plans::PlanStages;
use crate::reads::list_usage_plans;
use crate::target::Target;

/// SUBSCRIBEs refused before any key was created, by `reason`: `stage_not_in_plan` (the usage
/// plan no longer covers the stage), `plan_not_found`, `api_not_found` (the REST API or stage
/// is gone), `invalid_api_id` (not `{restApiId}:{stage}`).
pub(super) const SUBSCRIPTIONS_REFUSED: &str = "federation_aws_subscriptions_refused_total";

/// Usage plan `plan_id` of `target`, from its plan cache when the cached answer satisfies
/// `accept`, else listed again.
pub(super) async fn usage_plan(
    target: &Target,
    plan_id: &str,
    accept: impl Fn(&PlanStages) -> bool,
) -> Result<Option<PlanStages>, AwsError> {
    target
        .plans
        .plan(plan_id, accept, || list_usage_plans(target))
        .await
}

/// Refuses a SUBSCRIBE whose usage plan no longer covers the stage, or whose REST API or stage
/// is gone: a key on that plan would open the plan's other APIs.
pub(super) async fn check_plan_covers(
    target: &Target,
    api_id: &str,
    rest_api_id: &str,
    stage: &str,
    plan_id: &str,
) -> Result<(), ProviderError> {
    let plan = usage_plan(target, plan_id, |p| p.covers(rest_api_id, stage)).await?;
    let Some(plan) = plan else {
        refused("plan_not_found");
        return Err(ProviderError::NotFound(format!(
            "usage plan {plan_id} does not exist in {}: remove the Gravitee plan; no API key \
             was created",
            target.label()
        )));
    };
    if !plan.covers(rest_api_id, stage) {
        refused("stage_not_in_plan");
        tracing::warn!(
            api_id,
            usage_plan = plan_id,
            target_label = %target.label(),
            "SUBSCRIBE refused: the usage plan no longer covers the stage."
        );
        return Err(ProviderError::InvalidRequest(format!(
            "usage plan {} ({plan_id}) in {} does not cover stage {stage} of REST API \
             {rest_api_id} ({api_id}): the stage is no longer in this usage plan: remove the \
             Gravitee plan or re-attach the stage to the usage plan in AWS; no API key was \
             created",
            plan_display(&plan.name),
            target.label()
        )));
    }
    let op = target.operation(
        "GetStage",
        "GET",
        &format!("/restapis/{rest_api_id}/stages/{stage}"),
    );
    match target
        .call(&op, OperationClass::General, |c| {
            c.get_stage()
                .rest_api_id(rest_api_id)
                .stage_name(stage)
                .send()
        })
        .await
    {
        Ok(_) => Ok(()),
        Err(err) if err.is_not_found() => {
            refused("api_not_found");
            Err(ProviderError::NotFound(format!(
                "REST API {rest_api_id} or its stage {stage} ({api_id}) no longer exists in \
                 {} ({err}): remove the Gravitee API or plan; no API key was created",
                target.label()
            )))
        }
        Err(err) => Err(err.into()),
    }
}

/// Counts a SUBSCRIBE refused before any key was created.
pub(super) fn refused(reason: &'static str) {
    static DESCRIBED: std::sync::Once = std::sync::Once::new();
    DESCRIBED.call_once(|| {
        metrics::describe_counter!(
            SUBSCRIPTIONS_REFUSED,
            "SUBSCRIBEs refused before any AWS key was created, by reason (stage_not_in_plan, \
             plan_not_found, api_not_found, invalid_api_id)."
        );
    });
    metrics::counter!(SUBSCRIPTIONS_REFUSED, "reason" => reason).increment(1);
}

/// A usage plan's name as the refusals show it: `` `Gold` ``, or `(unnamed)`.
pub(super) fn plan_display(name: &str) -> String {
    if name.is_empty() {
        "(unnamed)".to_owned()
    } else {
        format!("`{name}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unnamed_plan_says_so() {
        assert_eq!(plan_display("Gold"), "`Gold`");
        assert_eq!(plan_display(""), "(unnamed)");
    }
}
