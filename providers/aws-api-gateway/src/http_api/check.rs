//! The `check` probes of the HTTP API actions (`apiTypes` holds `HTTP`): the IAM additions
//! `docs/deployment.md` lists, each tried without changing anything (a resource that does not
//! exist answers "not found" after IAM authorised the call).
//!
//! Needed for HTTP APIs (`required`): `GET /apis`, `/apis/*/stages`, `/apis/*/routes`,
//! `/apis/*/authorizers/*`, `PATCH /apis/*/authorizers/*` (UpdateAuthorizer), `POST` and
//! `DELETE /tags/*` (the subscription markers). Optional: `GET /apis/*/exports/*` (without it
//! the page is built from the routes), `/apis/*/integrations` (the page's integration
//! summary), `/domainnames` and `/domainnames/*/apimappings` (custom domain URLs).

use crate::error::Operation;
use crate::limiter::OperationClass;
use crate::operator::{CheckOutcome, outcome_of};
use crate::subscription::PROBE_KEY_NAME;
use crate::target::Target;

use super::reads::{api_arn, get_authorizer, get_routes, get_stages, list_apis, untag_api};

/// A resource id that cannot exist.
const PROBE_ID: &str = PROBE_KEY_NAME;

/// What an optional HTTP API action enables (the `check` report's "enables" column).
pub(crate) fn enables(operation: &str) -> &'static str {
    match operation {
        "ExportApi" => {
            "the API's own OpenAPI export as its page (without it: built from the routes)"
        }
        "GetIntegrations" => "the integration summary in the page built from the routes",
        "GetDomainNames" | "GetApiMappings" => "custom domain URLs as connectionDetails.url",
        _ => "an optional part of HTTP API discovery",
    }
}

/// The HTTP API probes of one target: (operation, required, outcome).
pub(crate) async fn probes(target: &Target) -> Vec<(Operation, bool, CheckOutcome)> {
    let mut rows = Vec::new();
    let apis = list_apis(target).await;
    let first_api = apis
        .as_ref()
        .ok()
        .and_then(|a| a.iter().find(|a| a.is_http()).map(|a| a.id.clone()));
    rows.push((
        target.operation("GetApis", "GET", "/apis"),
        true,
        outcome_of(apis.map(|_| ())),
    ));
    let api = first_api.unwrap_or_else(|| PROBE_ID.to_owned());

    let stages = get_stages(target, &api).await;
    let first_stage = stages
        .as_ref()
        .ok()
        .and_then(|s| s.first().map(|s| s.name.clone()))
        .unwrap_or_else(|| PROBE_ID.to_owned());
    rows.push((
        target.operation("GetStages", "GET", &format!("/apis/{api}/stages")),
        true,
        outcome_of(stages.map(|_| ())),
    ));

    let routes = get_routes(target, &api).await;
    let authorizer = routes
        .as_ref()
        .ok()
        .and_then(|r| r.iter().find_map(|r| r.jwt_authorizer().map(str::to_owned)))
        .unwrap_or_else(|| PROBE_ID.to_owned());
    rows.push((
        target.operation("GetRoutes", "GET", &format!("/apis/{api}/routes")),
        true,
        outcome_of(routes.map(|_| ())),
    ));

    let get_op = target.operation(
        "GetAuthorizer",
        "GET",
        &format!("/apis/{api}/authorizers/{authorizer}"),
    );
    rows.push((
        get_op,
        true,
        outcome_of(get_authorizer(target, &api, &authorizer).await.map(|_| ())),
    ));

    // UpdateAuthorizer of an authorizer that cannot exist: authorised, then "not found".
    let update_op = target.operation(
        "UpdateAuthorizer",
        "PATCH",
        &format!("/apis/{api}/authorizers/{PROBE_ID}"),
    );
    let update = target
        .call_v2(&update_op, OperationClass::General, |c| {
            c.update_authorizer()
                .api_id(&api)
                .authorizer_id(PROBE_ID)
                .name(PROBE_ID)
                .send()
        })
        .await;
    rows.push((update_op, true, outcome_of(update.map(|_| ()))));

    // Tagging: a tag key on an API that cannot exist.
    let probe_arn = api_arn(target, PROBE_ID);
    let tag_op = target.operation("TagResource", "POST", "/tags/*");
    let tag = target
        .call_v2(&tag_op, OperationClass::General, |c| {
            c.tag_resource()
                .resource_arn(&probe_arn)
                .tags("gravitee:check", "safe-to-delete")
                .send()
        })
        .await;
    rows.push((tag_op, true, outcome_of(tag.map(|_| ()))));
    rows.push((
        target.operation("UntagResource", "DELETE", "/tags/*"),
        true,
        outcome_of(untag_api(target, PROBE_ID, "gravitee:check").await),
    ));

    // Optional: the export, the integrations, the custom domains.
    let export_op = target.operation("ExportApi", "GET", &format!("/apis/{api}/exports/OAS30"));
    let export = target
        .call_v2(&export_op, OperationClass::General, |c| {
            c.export_api()
                .api_id(&api)
                .specification("OAS30")
                .output_type("JSON")
                .stage_name(&first_stage)
                .include_extensions(false)
                .send()
        })
        .await;
    rows.push((export_op, false, outcome_of(export.map(|_| ()))));
    let integrations_op = target.operation(
        "GetIntegrations",
        "GET",
        &format!("/apis/{api}/integrations"),
    );
    let integrations = target
        .call_v2(&integrations_op, OperationClass::General, |c| {
            c.get_integrations().api_id(&api).send()
        })
        .await;
    rows.push((integrations_op, false, outcome_of(integrations.map(|_| ()))));
    let domains_op = target.operation("GetDomainNames", "GET", "/domainnames");
    let domains = target
        .call_v2(&domains_op, OperationClass::General, |c| {
            c.get_domain_names().send()
        })
        .await;
    rows.push((domains_op, false, outcome_of(domains.map(|_| ()))));
    let mappings_op = target.operation(
        "GetApiMappings",
        "GET",
        &format!("/domainnames/{PROBE_ID}/apimappings"),
    );
    let mappings = target
        .call_v2(&mappings_op, OperationClass::General, |c| {
            c.get_api_mappings().domain_name(PROBE_ID).send()
        })
        .await;
    rows.push((mappings_op, false, outcome_of(mappings.map(|_| ()))));
    rows
}
