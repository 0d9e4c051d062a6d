//! The error answers AWS gives that the test proxy (`proxy.rs`) sends in moto's place: throttling
//! (429), an outage (503), a denial (403), as API Gateway shapes them (`x-amzn-ErrorType`, a JSON
//! `message`), so the SDK parses them as it parses AWS's.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

/// AWS's throttling answer: HTTP 429, `TooManyRequestsException`, with `Retry-After`.
pub(super) fn too_many_requests(retry_after: &str) -> Response<Full<Bytes>> {
    let body = Bytes::from_static(br#"{"message":"Too Many Requests"}"#);
    Response::builder()
        .status(StatusCode::TOO_MANY_REQUESTS)
        .header("content-type", "application/json")
        .header(
            "x-amzn-ErrorType",
            "TooManyRequestsException:http://internal.amazon.com/coral/com.amazonaws.backplane.controlplane/",
        )
        .header("Retry-After", retry_after)
        .header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000429")
        .header("content-length", body.len())
        .body(Full::new(body))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// AWS's `ServiceUnavailableException` (HTTP 503).
pub(super) fn service_unavailable() -> Response<Full<Bytes>> {
    let body = Bytes::from_static(br#"{"message":"Service Unavailable"}"#);
    Response::builder()
        .status(StatusCode::SERVICE_UNAVAILABLE)
        .header("content-type", "application/json")
        .header("x-amzn-ErrorType", "ServiceUnavailableException")
        .header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000503")
        .header("content-length", body.len())
        .body(Full::new(body))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// AWS's `AccessDeniedException` (HTTP 403) for `operation`, naming the IAM action and resource.
pub(super) fn access_denied(operation: &str, method: &str, path: &str) -> Response<Full<Bytes>> {
    let path = path.split('?').next().unwrap_or(path);
    let body = serde_json::json!({
        "Message": format!(
            "User: arn:aws:iam::123456789012:user/test is not authorized to perform: \
             apigateway:{method} on resource: arn:aws:apigateway:us-east-1::{path} ({operation})"
        )
    })
    .to_string();
    Response::builder()
        .status(StatusCode::FORBIDDEN)
        .header("content-type", "application/json")
        .header("x-amzn-ErrorType", "AccessDeniedException")
        .header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000403")
        .header("content-length", body.len())
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// A plain-text answer of the proxy's own (a body it could not read, moto unreachable).
pub(super) fn plain(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message.to_owned())));
    *response.status_mut() = status;
    response
}
