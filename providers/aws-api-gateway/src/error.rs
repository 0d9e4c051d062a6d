//! [`AwsError`]: what went wrong talking to AWS, in words a platform engineer can act on.
//!
//! The SDK's error is classified once, here: throttling and transient failures are retried by
//! the call loop of each target (`Target::call`), access denied names the IAM action and resource to grant, and credential
//! problems say which credentials were tried. No message carries a secret: AWS error messages
//! do not echo keys, and the provider never formats an API key value or secret into one.

use std::error::Error as StdError;
use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_apigateway::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::display::DisplayErrorContext;
use federation_core::ProviderError;

/// An AWS API Gateway operation, with what IAM calls it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Operation {
    /// The API name (`GetRestApis`).
    pub(crate) name: &'static str,
    /// The IAM action (`apigateway:GET`).
    pub(crate) action: &'static str,
    /// The IAM resource (`arn:aws:apigateway:eu-west-1::/restapis`).
    pub(crate) resource: String,
}

impl Operation {
    /// An operation on `path` (`/restapis/abc/stages`) in `region`.
    pub(crate) fn new(name: &'static str, method: &'static str, region: &str, path: &str) -> Self {
        let action = match method {
            "GET" => "apigateway:GET",
            "POST" => "apigateway:POST",
            "PUT" => "apigateway:PUT",
            "PATCH" => "apigateway:PATCH",
            _ => "apigateway:DELETE",
        };
        Self {
            name,
            action,
            resource: format!("arn:{}:apigateway:{region}::{path}", partition_of(region)),
        }
    }

    /// `apigateway:POST on arn:aws:apigateway:eu-west-1::/apikeys`.
    pub(crate) fn grant(&self) -> String {
        format!("{} on {}", self.action, self.resource)
    }
}

/// The ARN partition of a region.
pub(crate) fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// An AWS call that failed for good.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum AwsError {
    /// IAM denied the call.
    #[error(
        "{operation} in {region} was denied: grant {grant} to the agent's IAM identity ({message})"
    )]
    AccessDenied {
        /// The operation.
        operation: &'static str,
        /// The region.
        region: String,
        /// The IAM action and resource to allow.
        grant: String,
        /// AWS's message.
        message: String,
    },
    /// The credentials are missing, invalid or expired, or a role could not be assumed.
    #[error("{operation} in {region}: AWS credentials problem: {message}")]
    Credentials {
        /// The operation.
        operation: &'static str,
        /// The region.
        region: String,
        /// What failed.
        message: String,
    },
    /// The object does not exist.
    #[error("{operation} in {region}: not found: {message}")]
    NotFound {
        /// The operation.
        operation: &'static str,
        /// The region.
        region: String,
        /// AWS's message.
        message: String,
    },
    /// The object conflicts with an existing one (already attached, duplicate value).
    #[error("{operation} in {region}: conflict: {message}")]
    Conflict {
        /// The operation.
        operation: &'static str,
        /// The region.
        region: String,
        /// AWS's message.
        message: String,
    },
    /// AWS kept throttling after every retry.
    #[error(
        "{operation} in {region} was still throttled by AWS (TooManyRequestsException) after \
         {attempts} attempts; the account's API Gateway control-plane quota (10 requests/s) is \
         shared with other tools"
    )]
    Throttled {
        /// The operation.
        operation: &'static str,
        /// The region.
        region: String,
        /// Attempts made.
        attempts: u32,
    },
    /// Any other AWS or network failure.
    #[error("{operation} in {region} failed: {message}")]
    Other {
        /// The operation.
        operation: &'static str,
        /// The region.
        region: String,
        /// The AWS error code, when AWS answered.
        code: Option<String>,
        /// What failed, with the SDK's chain of causes.
        message: String,
    },
}

impl AwsError {
    /// Whether AWS said the object does not exist.
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// Whether IAM denied the call.
    pub(crate) fn is_access_denied(&self) -> bool {
        matches!(self, Self::AccessDenied { .. })
    }

    /// Whether AWS reported a conflict.
    pub(crate) fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }
}

impl From<AwsError> for ProviderError {
    fn from(err: AwsError) -> Self {
        match err {
            AwsError::AccessDenied { .. } | AwsError::Credentials { .. } => {
                ProviderError::PermissionDenied(err.to_string())
            }
            AwsError::NotFound { .. } => ProviderError::NotFound(err.to_string()),
            AwsError::Throttled { .. } => ProviderError::Throttled(err.to_string()),
            AwsError::Conflict { .. } | AwsError::Other { .. } => {
                ProviderError::backend(err.to_string())
            }
        }
    }
}

/// How one failed attempt should be handled.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// Throttled: wait at least `retry_after` (from `Retry-After`), then retry.
    Throttled { retry_after: Option<Duration> },
    /// A network hiccup or a 5xx: retry with backoff.
    Transient(AwsError),
    /// Final.
    Fatal(AwsError),
}

const CREDENTIAL_CODES: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "IncompleteSignatureException",
    "MissingAuthenticationTokenException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnauthorizedException",
];

/// Classifies one SDK failure of `operation` in `region`.
pub(crate) fn classify<E>(
    operation: &Operation,
    region: &str,
    err: SdkError<E, Response>,
) -> Attempt
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let name = operation.name;
    let region_owned = region.to_owned();
    match err {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let retry_after = context
                .raw()
                .headers()
                .get("retry-after")
                .and_then(parse_retry_after);
            let service_err = context.err();
            let code = service_err.code().map(str::to_owned);
            let message = service_err
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("HTTP {status}"));
            let code_str = code.as_deref().unwrap_or("");
            // A resource limit (usage plans per key, keys per account): no retry lifts it. AWS
            // throttles with TooManyRequestsException and a Retry-After
            // (`docs/reference/aws-api-gateway.md`, "Errors and the throttling answer").
            if code_str == "LimitExceededException" && retry_after.is_none() {
                return Attempt::Fatal(AwsError::Other {
                    operation: name,
                    region: region_owned,
                    message: format!("{code_str}: {message}"),
                    code,
                });
            }
            if status == 429
                || code_str == "TooManyRequestsException"
                || code_str == "ThrottlingException"
            {
                return Attempt::Throttled { retry_after };
            }
            if code_str == "AccessDeniedException"
                || code_str == "AccessDenied"
                || (status == 403 && !CREDENTIAL_CODES.contains(&code_str))
            {
                return Attempt::Fatal(AwsError::AccessDenied {
                    operation: name,
                    region: region_owned,
                    grant: operation.grant(),
                    message,
                });
            }
            if CREDENTIAL_CODES.contains(&code_str) {
                return Attempt::Fatal(AwsError::Credentials {
                    operation: name,
                    region: region_owned,
                    message: format!(
                        "AWS rejected the credentials ({code_str}: {message}); check accessKeyId/\
                         secretAccessKey/sessionToken or the identity of the standard credential chain"
                    ),
                });
            }
            if code_str == "NotFoundException" || status == 404 {
                return Attempt::Fatal(AwsError::NotFound {
                    operation: name,
                    region: region_owned,
                    message,
                });
            }
            if code_str == "ConflictException" || status == 409 {
                return Attempt::Fatal(AwsError::Conflict {
                    operation: name,
                    region: region_owned,
                    message,
                });
            }
            let other = AwsError::Other {
                operation: name,
                region: region_owned,
                message: format!("{code_str}: {message}"),
                code,
            };
            if status >= 500 {
                Attempt::Transient(other)
            } else {
                Attempt::Fatal(other)
            }
        }
        other => {
            let text = DisplayErrorContext(&other).to_string();
            let fail = |message: String| AwsError::Other {
                operation: name,
                region: region_owned.clone(),
                code: None,
                message,
            };
            match &other {
                SdkError::TimeoutError(_) => {
                    Attempt::Transient(fail(format!("timed out waiting for AWS: {text}")))
                }
                SdkError::DispatchFailure(failure) => {
                    if let Some(cred) = find_credentials_error(&other) {
                        return Attempt::Fatal(AwsError::Credentials {
                            operation: name,
                            region: region_owned,
                            message: cred,
                        });
                    }
                    let error = fail(format!("could not reach AWS: {text}"));
                    if failure.is_io() || failure.is_timeout() {
                        Attempt::Transient(error)
                    } else {
                        Attempt::Fatal(error)
                    }
                }
                SdkError::ResponseError(_) => {
                    Attempt::Transient(fail(format!("unreadable response from AWS: {text}")))
                }
                _ => Attempt::Fatal(fail(text)),
            }
        }
    }
}

/// The message of a [`CredentialsError`] in the error's chain of causes, if any.
fn find_credentials_error(err: &(dyn StdError + 'static)) -> Option<String> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(cred) = e.downcast_ref::<CredentialsError>() {
            return Some(format!(
                "no usable AWS credentials: {}",
                DisplayErrorContext(cred)
            ));
        }
        current = e.source();
    }
    None
}

/// `Retry-After` as seconds (`"1"`, `"0.5"`); HTTP dates are ignored.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(300.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_names_action_and_resource() {
        let op = Operation::new("CreateApiKey", "POST", "eu-west-1", "/apikeys");
        assert_eq!(
            op.grant(),
            "apigateway:POST on arn:aws:apigateway:eu-west-1::/apikeys"
        );
        let cn = Operation::new("GetRestApis", "GET", "cn-north-1", "/restapis");
        assert_eq!(cn.resource, "arn:aws-cn:apigateway:cn-north-1::/restapis");
    }

    #[test]
    fn retry_after_parses_seconds() {
        assert_eq!(parse_retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn denied_maps_to_permission_denied_with_the_grant() {
        let err = AwsError::AccessDenied {
            operation: "CreateApiKey",
            region: "eu-west-1".into(),
            grant: "apigateway:POST on arn:aws:apigateway:eu-west-1::/apikeys".into(),
            message: "User: x is not authorized".into(),
        };
        let provider: ProviderError = err.into();
        assert!(matches!(provider, ProviderError::PermissionDenied(_)));
        assert!(
            provider
                .to_string()
                .contains("grant apigateway:POST on arn:aws:apigateway:eu-west-1::/apikeys"),
            "{provider}"
        );
    }
}
