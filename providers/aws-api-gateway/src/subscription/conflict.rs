//! When an application's key cannot take one more usage plan, said plainly.
//!
//! AWS lets an API key be in only **one usage plan per API stage**, and in at most **10 usage
//! plans** by default (an adjustable quota) (`docs/reference/aws-api-gateway.md`, "Keys shared
//! by an application"). So an application subscribed to a stage through one plan cannot get the
//! same key on a second plan that also covers that stage, and an application's key fills up
//! after ten plans.
//!
//! - Before its record is made, a SUBSCRIBE compares the key's usage plans (`GetUsagePlans` by
//!   `keyId`, which lists each plan's stages) with the new plan's stages ([`stage_taken`]): a
//!   plan already granting one of them is refused at once, with that plan named.
//! - The plan limit is left to AWS (the quota may have been raised); after any refusal of
//!   `CreateUsagePlanKey`, the same reading explains it ([`explain_refusal`]), whatever error
//!   type and message AWS chose.
//!
//! No separate key is issued instead: in APIM's shared API-key mode the portal shows only the
//! application's first key, so a second key would be seen by nobody while the key shown would
//! still not open the API. The administrator gets an ERROR naming the conflict and what to do.

use federation_core::ProviderError;

use super::coverage::plan_display;
use super::names::ApplicationNames;
use super::records::ApplicationKeys;
use crate::error::AwsError;
use crate::plans::PlanStages;

/// AWS's default number of usage plans per API key.
pub(super) const DEFAULT_PLANS_PER_KEY: usize = 10;

/// Another of the key's usage plans granting a stage that `plan` covers too: that plan's id,
/// itself and the stages both cover.
pub(super) fn stage_taken<'a>(
    plan_id: &str,
    plan: &PlanStages,
    key_plans: &'a [(String, PlanStages)],
) -> Option<(&'a str, &'a PlanStages, Vec<String>)> {
    key_plans
        .iter()
        .filter(|(id, _)| id != plan_id)
        .find_map(|(id, other)| {
            let mut shared: Vec<String> = other
                .stages
                .intersection(&plan.stages)
                .map(|(rest, stage)| format!("{rest}:{stage}"))
                .collect();
            shared.sort();
            (!shared.is_empty()).then_some((id.as_str(), other, shared))
        })
}

/// What the administrator reads when `taken` already grants a stage of `plan_id`.
pub(super) fn stage_taken_error(
    names: &ApplicationNames,
    api_id: &str,
    (plan_id, plan): (&str, &PlanStages),
    (taken_id, taken, shared): (&str, &PlanStages, Vec<String>),
    known: &ApplicationKeys,
) -> ProviderError {
    let users: Vec<&str> = known
        .records
        .iter()
        .filter(|r| r.plan_id.as_deref() == Some(taken_id))
        .map(|r| r.subscription_id.as_str())
        .collect();
    let used_by = if users.is_empty() {
        String::new()
    } else {
        format!(" (used by subscription {})", users.join(", "))
    };
    let stages = shared.join(", ");
    ProviderError::InvalidRequest(format!(
        "application {app}'s API key is already in usage plan {taken_name} ({taken_id}){used_by}, \
         which grants API stage {stages}; usage plan {plan_name} ({plan_id}) covers {stages} too, \
         and AWS lets one API key be in only one usage plan per API stage. No key was returned \
         (the application's key would not open {api_id} through {plan_name}). The administrator \
         can subscribe the application through {taken_name} instead, close its subscription on \
         {taken_name} first, subscribe with another application, or take {stages} out of one of \
         the two usage plans in AWS",
        app = names.application_id,
        taken_name = plan_display(&taken.name),
        plan_name = plan_display(&plan.name),
    ))
}

/// What the administrator reads when the key is in `count` usage plans and AWS refused one
/// more.
pub(super) fn limit_error(
    names: &ApplicationNames,
    (plan_id, plan): (&str, &PlanStages),
    count: usize,
) -> ProviderError {
    ProviderError::InvalidRequest(format!(
        "application {app}'s API key is already in {count} usage plans and AWS refused to add \
         usage plan {plan_name} ({plan_id}): an API key can be in at most \
         {DEFAULT_PLANS_PER_KEY} usage plans by default (the quota \"Usage plans per API key\", \
         adjustable in Service Quotas). No key was returned. The administrator can close one of \
         the application's subscriptions on another usage plan, have the quota raised, or \
         subscribe with another application",
        app = names.application_id,
        plan_name = plan_display(&plan.name),
    ))
}

/// Explains AWS's refusal `err` to add the application's key to `plan_id`, from the key's usage
/// plans read after it: another plan granting one of the plan's stages, the plan limit, or, when
/// neither shows, AWS's own words.
pub(super) fn explain_refusal(
    names: &ApplicationNames,
    api_id: &str,
    (plan_id, plan): (&str, &PlanStages),
    key_plans: &[(String, PlanStages)],
    known: &ApplicationKeys,
    err: &AwsError,
) -> ProviderError {
    if let Some(taken) = stage_taken(plan_id, plan, key_plans) {
        return stage_taken_error(names, api_id, (plan_id, plan), taken, known);
    }
    let others = key_plans.iter().filter(|(id, _)| id != plan_id).count();
    let limit_answer = matches!(
        err,
        AwsError::Other { code: Some(code), .. } if code == "LimitExceededException"
    );
    if others >= DEFAULT_PLANS_PER_KEY || (limit_answer && others > 0) {
        return limit_error(names, (plan_id, plan), others);
    }
    ProviderError::InvalidRequest(format!(
        "AWS refused to add application {}'s API key to usage plan {} ({plan_id}): {err}; no key \
         was returned",
        names.application_id,
        plan_display(&plan.name)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(name: &str, stages: &[(&str, &str)]) -> PlanStages {
        PlanStages {
            name: name.to_owned(),
            stages: stages
                .iter()
                .map(|(a, s)| ((*a).to_owned(), (*s).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn a_plan_sharing_a_stage_with_the_new_one_is_found() {
        let gold = plan("Gold", &[("pets", "prod"), ("shop", "prod")]);
        let key_plans = vec![
            ("free".to_owned(), plan("Free", &[("orders", "prod")])),
            ("silver".to_owned(), plan("Silver", &[("shop", "prod")])),
        ];
        let (id, taken, shared) = stage_taken("gold", &gold, &key_plans).unwrap();
        assert_eq!((id, taken.name.as_str()), ("silver", "Silver"));
        assert_eq!(shared, ["shop:prod"]);
        assert!(stage_taken("gold", &gold, &key_plans[..1]).is_none());
        // The plan itself is no conflict (a retried subscription).
        let again = vec![("gold".to_owned(), gold.clone())];
        assert!(stage_taken("gold", &gold, &again).is_none());
    }

    #[test]
    fn the_errors_name_the_plans_and_what_to_do() {
        let names = ApplicationNames::new("a1");
        let gold = plan("Gold", &[("pets", "prod")]);
        let silver = plan("Silver", &[("pets", "prod")]);
        let known = ApplicationKeys::default();
        let text = stage_taken_error(
            &names,
            "pets:prod",
            ("gold", &gold),
            ("silver", &silver, vec!["pets:prod".to_owned()]),
            &known,
        )
        .to_string();
        for part in [
            "usage plan `Silver` (silver)",
            "one usage plan per API stage",
            "subscribe the application through `Silver` instead",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        let text = limit_error(&names, ("gold", &gold), 10).to_string();
        assert!(text.contains("already in 10 usage plans"), "{text}");
        assert!(text.contains("Service Quotas"), "{text}");
    }
}
