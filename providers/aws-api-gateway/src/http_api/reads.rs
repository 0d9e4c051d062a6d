//! The API Gateway v2 calls for HTTP APIs, each through [`Target::call_v2`] (the account's call
//! budget, shared with REST, and our retries) and named with the IAM action and resource it
//! needs (`apigateway:GET on arn:aws:apigateway:{region}::/apis/{apiId}/routes`).
//!
//! v2 lists page with `NextToken` (`docs/reference/aws-api-gateway.md`, "Quotas and limits",
//! Paging). `MaxResults` is left unset: AWS documents no maximum for it, so each page is AWS's
//! default size, and every walk follows `NextToken` through the one [`Cursor`].

use std::collections::{BTreeMap, HashMap};

use aws_sdk_apigatewayv2::types::JwtConfiguration;

use super::mapping::{Authorizer, HttpApi, HttpIntegration, HttpRoute, HttpStage};
use super::markers::is_marker;
use crate::error::AwsError;
use crate::limiter::OperationClass;
use crate::paging::Cursor;
use crate::target::Target;

/// Splits AWS tags into the API's own tags and the agent's marker tags.
fn split_tags(
    tags: Option<&HashMap<String, String>>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut own = BTreeMap::new();
    let mut markers = BTreeMap::new();
    for (key, value) in tags.into_iter().flatten() {
        if is_marker(key) {
            markers.insert(key.clone(), value.clone());
        } else {
            own.insert(key.clone(), value.clone());
        }
    }
    (own, markers)
}

/// Every API of the target (HTTP and WebSocket: the caller keeps the HTTP ones), with tags.
pub(crate) async fn list_apis(target: &Target) -> Result<Vec<HttpApi>, AwsError> {
    let op = target.operation("GetApis", "GET", "/apis");
    let mut out = Vec::new();
    let mut cursor = Cursor::default();
    loop {
        let page = target
            .call_v2(&op, OperationClass::General, |c| {
                c.get_apis().set_next_token(cursor.position()).send()
            })
            .await?;
        out.extend(page.items().iter().filter_map(|item| {
            let (tags, markers) = split_tags(item.tags());
            Some(HttpApi {
                id: item.api_id()?.to_owned(),
                name: item.name().unwrap_or_default().to_owned(),
                description: item.description().map(str::to_owned),
                endpoint: item.api_endpoint().map(str::to_owned),
                protocol: item
                    .protocol_type()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
                tags,
                markers,
            })
        }));
        if !cursor.advance(page.next_token()) {
            return Ok(out);
        }
    }
}

/// One API (`GetApi`), with its tags and the agent's markers.
pub(crate) async fn get_api(target: &Target, api_id: &str) -> Result<HttpApi, AwsError> {
    let op = target.operation("GetApi", "GET", &format!("/apis/{api_id}"));
    let api = target
        .call_v2(&op, OperationClass::General, |c| {
            c.get_api().api_id(api_id).send()
        })
        .await?;
    let (tags, markers) = split_tags(api.tags());
    Ok(HttpApi {
        id: api.api_id().unwrap_or(api_id).to_owned(),
        name: api.name().unwrap_or_default().to_owned(),
        description: api.description().map(str::to_owned),
        endpoint: api.api_endpoint().map(str::to_owned),
        protocol: api
            .protocol_type()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        tags,
        markers,
    })
}

/// The stages of an API, sorted by name.
pub(crate) async fn get_stages(target: &Target, api_id: &str) -> Result<Vec<HttpStage>, AwsError> {
    let op = target.operation("GetStages", "GET", &format!("/apis/{api_id}/stages"));
    let mut out = Vec::new();
    let mut cursor = Cursor::default();
    loop {
        let page = target
            .call_v2(&op, OperationClass::General, |c| {
                c.get_stages()
                    .api_id(api_id)
                    .set_next_token(cursor.position())
                    .send()
            })
            .await?;
        out.extend(page.items().iter().filter_map(|s| {
            Some(HttpStage {
                name: s.stage_name()?.to_owned(),
                description: s.description().filter(|d| !d.is_empty()).map(str::to_owned),
            })
        }));
        if !cursor.advance(page.next_token()) {
            out.sort_by(|a, b| a.name.cmp(&b.name));
            return Ok(out);
        }
    }
}

/// The routes of an API, sorted by route key.
pub(crate) async fn get_routes(target: &Target, api_id: &str) -> Result<Vec<HttpRoute>, AwsError> {
    let op = target.operation("GetRoutes", "GET", &format!("/apis/{api_id}/routes"));
    let mut out = Vec::new();
    let mut cursor = Cursor::default();
    loop {
        let page = target
            .call_v2(&op, OperationClass::General, |c| {
                c.get_routes()
                    .api_id(api_id)
                    .set_next_token(cursor.position())
                    .send()
            })
            .await?;
        out.extend(page.items().iter().filter_map(|r| {
            Some(HttpRoute {
                key: r.route_key()?.to_owned(),
                authorization: r
                    .authorization_type()
                    .map(|a| a.as_str().to_owned())
                    .unwrap_or_else(|| "NONE".to_owned()),
                authorizer_id: r.authorizer_id().map(str::to_owned),
                scopes: r.authorization_scopes().to_vec(),
                target: r.target().map(str::to_owned),
                operation_name: r.operation_name().map(str::to_owned),
            })
        }));
        if !cursor.advance(page.next_token()) {
            out.sort_by(|a, b| a.key.cmp(&b.key));
            return Ok(out);
        }
    }
}

/// The integrations of an API, by id.
pub(crate) async fn get_integrations(
    target: &Target,
    api_id: &str,
) -> Result<BTreeMap<String, HttpIntegration>, AwsError> {
    let op = target.operation(
        "GetIntegrations",
        "GET",
        &format!("/apis/{api_id}/integrations"),
    );
    let mut out = BTreeMap::new();
    let mut cursor = Cursor::default();
    loop {
        let page = target
            .call_v2(&op, OperationClass::General, |c| {
                c.get_integrations()
                    .api_id(api_id)
                    .set_next_token(cursor.position())
                    .send()
            })
            .await?;
        for i in page.items() {
            let Some(id) = i.integration_id() else {
                continue;
            };
            out.insert(
                id.to_owned(),
                HttpIntegration {
                    id: id.to_owned(),
                    kind: i
                        .integration_type()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                    method: i.integration_method().map(str::to_owned),
                    subtype: i.integration_subtype().map(str::to_owned),
                },
            );
        }
        if !cursor.advance(page.next_token()) {
            return Ok(out);
        }
    }
}

/// One authorizer (`GetAuthorizer`; the list call, `GetAuthorizers`, is not needed: the routes
/// name the authorizers they use).
pub(crate) async fn get_authorizer(
    target: &Target,
    api_id: &str,
    authorizer_id: &str,
) -> Result<Authorizer, AwsError> {
    let op = target.operation(
        "GetAuthorizer",
        "GET",
        &format!("/apis/{api_id}/authorizers/{authorizer_id}"),
    );
    let found = target
        .call_v2(&op, OperationClass::General, |c| {
            c.get_authorizer()
                .api_id(api_id)
                .authorizer_id(authorizer_id)
                .send()
        })
        .await?;
    let jwt = found.jwt_configuration();
    Ok(Authorizer {
        id: found.authorizer_id().unwrap_or(authorizer_id).to_owned(),
        name: found.name().unwrap_or_default().to_owned(),
        kind: found
            .authorizer_type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        issuer: jwt.and_then(|j| j.issuer()).map(str::to_owned),
        audience: jwt.map(|j| j.audience().to_vec()).unwrap_or_default(),
    })
}

/// Writes a JWT authorizer's audience (`UpdateAuthorizer`), keeping its issuer.
pub(crate) async fn set_audience(
    target: &Target,
    api_id: &str,
    authorizer: &Authorizer,
    audience: &[String],
) -> Result<(), AwsError> {
    let op = target.operation(
        "UpdateAuthorizer",
        "PATCH",
        &format!("/apis/{api_id}/authorizers/{}", authorizer.id),
    );
    let configuration = JwtConfiguration::builder()
        .set_audience(Some(audience.to_vec()))
        .set_issuer(authorizer.issuer.clone())
        .build();
    target
        .call_v2(&op, OperationClass::General, |c| {
            c.update_authorizer()
                .api_id(api_id)
                .authorizer_id(&authorizer.id)
                .jwt_configuration(configuration.clone())
                .send()
        })
        .await?;
    Ok(())
}

/// The stage's OpenAPI 3 export (`ExportApi`, `OAS30`, JSON, without API Gateway's extensions:
/// they name backend URIs and the authorizers' audiences, which a portal page must not show).
pub(crate) async fn export_api(
    target: &Target,
    api_id: &str,
    stage: &str,
) -> Result<String, AwsError> {
    let op = target.operation("ExportApi", "GET", &format!("/apis/{api_id}/exports/OAS30"));
    let export = target
        .call_v2(&op, OperationClass::General, |c| {
            c.export_api()
                .api_id(api_id)
                .specification("OAS30")
                .output_type("JSON")
                .stage_name(stage)
                .include_extensions(false)
                .send()
        })
        .await?;
    let bytes = export
        .body()
        .map(|b| b.as_ref().to_vec())
        .unwrap_or_default();
    String::from_utf8(bytes).map_err(|_| AwsError::Other {
        operation: "ExportApi",
        region: target.region.clone(),
        code: None,
        message: "the export is not UTF-8 text".to_owned(),
    })
}

/// Every custom domain's API mappings: (HTTP API id, stage) → (domain, mapping key), sorted.
pub(crate) async fn domain_mappings(
    target: &Target,
) -> Result<BTreeMap<(String, String), Vec<(String, String)>>, AwsError> {
    let op = target.operation("GetDomainNames", "GET", "/domainnames");
    let mut domains = Vec::new();
    let mut cursor = Cursor::default();
    loop {
        let page = target
            .call_v2(&op, OperationClass::General, |c| {
                c.get_domain_names()
                    .set_next_token(cursor.position())
                    .send()
            })
            .await?;
        domains.extend(
            page.items()
                .iter()
                .filter_map(|d| d.domain_name().map(str::to_owned)),
        );
        if !cursor.advance(page.next_token()) {
            break;
        }
    }
    let mut out: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
    for domain in domains {
        let op = target.operation(
            "GetApiMappings",
            "GET",
            &format!("/domainnames/{domain}/apimappings"),
        );
        let mut cursor = Cursor::default();
        loop {
            let page = target
                .call_v2(&op, OperationClass::General, |c| {
                    c.get_api_mappings()
                        .domain_name(&domain)
                        .set_next_token(cursor.position())
                        .send()
                })
                .await?;
            for mapping in page.items() {
                if let (Some(api), Some(stage)) = (mapping.api_id(), mapping.stage()) {
                    out.entry((api.to_owned(), stage.to_owned()))
                        .or_default()
                        .push((
                            domain.clone(),
                            mapping.api_mapping_key().unwrap_or_default().to_owned(),
                        ));
                }
            }
            if !cursor.advance(page.next_token()) {
                break;
            }
        }
    }
    for mappings in out.values_mut() {
        mappings.sort();
    }
    Ok(out)
}

/// The ARN of an HTTP API, as tagging names it.
pub(crate) fn api_arn(target: &Target, api_id: &str) -> String {
    format!(
        "arn:{}:apigateway:{}::/apis/{api_id}",
        crate::error::partition_of(&target.region),
        target.region
    )
}

/// The tags resource of `arn` in IAM's terms (`/tags/{url-encoded ARN}`).
fn tags_path(arn: &str) -> String {
    let encoded: String = arn
        .chars()
        .map(|c| match c {
            ':' => "%3A".to_owned(),
            '/' => "%2F".to_owned(),
            other => other.to_string(),
        })
        .collect();
    format!("/tags/{encoded}")
}

/// Sets one tag on an HTTP API (`TagResource`; an upsert of that key only).
pub(crate) async fn tag_api(
    target: &Target,
    api_id: &str,
    key: &str,
    value: &str,
) -> Result<(), AwsError> {
    let arn = api_arn(target, api_id);
    let op = target.operation("TagResource", "POST", &tags_path(&arn));
    target
        .call_v2(&op, OperationClass::General, |c| {
            c.tag_resource().resource_arn(&arn).tags(key, value).send()
        })
        .await?;
    Ok(())
}

/// Removes one tag from an HTTP API (`UntagResource`; a missing key is no error).
pub(crate) async fn untag_api(target: &Target, api_id: &str, key: &str) -> Result<(), AwsError> {
    let arn = api_arn(target, api_id);
    let op = target.operation("UntagResource", "DELETE", &tags_path(&arn));
    target
        .call_v2(&op, OperationClass::General, |c| {
            c.untag_resource().resource_arn(&arn).tag_keys(key).send()
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_and_tag_paths_are_encoded() {
        let tags: HashMap<String, String> = [
            ("team".to_owned(), "payments".to_owned()),
            ("gravitee:oauth:s1".to_owned(), "au1/kept/c1".to_owned()),
        ]
        .into();
        let (own, markers) = split_tags(Some(&tags));
        assert_eq!(own.keys().collect::<Vec<_>>(), ["team"]);
        assert_eq!(markers.keys().collect::<Vec<_>>(), ["gravitee:oauth:s1"]);
        assert_eq!(
            tags_path("arn:aws:apigateway:us-east-1::/apis/h1"),
            "/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2Fh1"
        );
    }
}
