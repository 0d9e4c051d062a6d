//! A one-shot HTTP/1.1 client on hyper, for the harness's own calls (moto reset, forwarding).

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Sends `request` to `addr` on a fresh connection and returns the response with its body.
pub(crate) async fn send(
    addr: SocketAddr,
    request: Request<Full<Bytes>>,
) -> Result<hyper::Response<Bytes>, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake {addr}: {e}"))?;
    let driver = tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request to {addr}: {e}"))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("body from {addr}: {e}"))?
        .to_bytes();
    driver.abort();
    Ok(hyper::Response::from_parts(parts, body))
}

/// A simple request: returns the status and the body as text.
pub(crate) async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, String), String> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(Full::new(Bytes::from(body.to_owned())))
        .map_err(|e| e.to_string())?;
    let response = send(addr, request).await?;
    Ok((
        response.status().as_u16(),
        String::from_utf8_lossy(response.body()).into_owned(),
    ))
}
