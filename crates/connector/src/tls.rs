//! TLS for the controller connection, on rustls with the aws-lc-rs provider (the stack the AWS
//! SDK already uses).
//!
//! `integration.connector.ws.ssl.*` as the reference connector reads it:
//! - no truststore: the platform's roots (`rustls-native-certs`);
//! - `truststore.type` `PEM` (path or base64 `content`), `PKCS12` or `JKS` (path or base64
//!   `content`, `password`): trusted certificate entries (and the certificates of key entries);
//! - `trustAll`: any certificate (logged as a warning);
//! - `verifyHost: false`: the chain is verified, the host name is not;
//! - `keystore.type` `PKCS12` or `JKS`: a client certificate (private key and chain).
//!
//! As Java's keystores do since Java 9 (`keystore.type.compat`), `JKS` and `PKCS12` each open
//! both formats: the file's first bytes decide (a JKS file starts with `0xFEEDFEED`, see
//! [`jks`]). A JKS store's integrity digest is checked when a password is set; a wrong password
//! is an error naming `….password`, at start, not a TLS failure later.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use federation_connector_config::{SslConfig, StoreConfig};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::error::ConnectorError;

mod jks;

use jks::{JksError, JksStore};

const TRUSTSTORE: &str = "integration.connector.ws.ssl.truststore";
const KEYSTORE: &str = "integration.connector.ws.ssl.keystore";

/// The crypto provider every TLS connection of the agent uses.
pub(crate) fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Builds the rustls client configuration from `ssl.*`.
pub(crate) fn client_config(ssl: &SslConfig) -> Result<Arc<ClientConfig>, ConnectorError> {
    let provider = crypto_provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectorError::setting("integration.connector.ws.ssl", e.to_string()))?;

    let verifier: Arc<dyn ServerCertVerifier> = if ssl.trust_all {
        tracing::warn!(
            "integration.connector.ws.ssl.trustAll is true: the controller's certificate is not verified."
        );
        Arc::new(AcceptAnyCertificate(
            provider.signature_verification_algorithms,
        ))
    } else {
        let roots = Arc::new(root_store(&ssl.truststore)?);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| ConnectorError::setting(TRUSTSTORE, e.to_string()))?;
        if ssl.verify_host {
            webpki
        } else {
            Arc::new(IgnoreHostName(webpki))
        }
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);

    let config = match client_identity(&ssl.keystore)? {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| ConnectorError::setting(KEYSTORE, e.to_string()))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn store_type(store: &StoreConfig) -> Option<String> {
    store
        .store_type
        .as_deref()
        .map(|t| t.trim().to_ascii_uppercase())
        .filter(|t| !t.is_empty() && t != "NONE")
}

fn store_bytes(store: &StoreConfig, key: &str) -> Result<Vec<u8>, ConnectorError> {
    if let Some(content) = store.content.as_ref().filter(|c| !c.is_empty()) {
        let compact: String = content.expose().split_whitespace().collect();
        return base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|e| {
                ConnectorError::setting(&format!("{key}.content"), format!("is not base64: {e}"))
            });
    }
    let path = store
        .path
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| {
            ConnectorError::setting(&format!("{key}.path"), "is missing (or set content)")
        })?;
    std::fs::read(path).map_err(|e| {
        ConnectorError::setting(&format!("{key}.path"), format!("cannot read {path}: {e}"))
    })
}

fn password(store: &StoreConfig) -> &str {
    store.password.as_ref().map_or("", |p| p.expose())
}

/// An opened keystore or truststore, whatever its configured type says.
enum Opened {
    Jks(JksStore),
    Pkcs12(p12_keystore::KeyStore),
}

/// Reads the store and opens it by its content (JKS magic or PKCS12), as Java does.
fn open_store(store: &StoreConfig, key: &str, configured: &str) -> Result<Opened, ConnectorError> {
    let data = store_bytes(store, key)?;
    if jks::looks_like_jks(&data) {
        if configured != "JKS" {
            tracing::info!(
                key,
                "{key}.type is {configured} but the store is a JKS file: read as JKS, as Java does."
            );
        }
        // No password: the digest is not checked (Java's `load(stream, null)`).
        let checked = Some(password(store)).filter(|p| !p.is_empty());
        return JksStore::parse(&data, checked)
            .map(Opened::Jks)
            .map_err(|e| jks_error(key, &e));
    }
    if configured == "JKS" {
        tracing::info!(
            key,
            "{key}.type is JKS but the store is not a JKS file: read as PKCS12, as Java does."
        );
    }
    p12_keystore::KeyStore::from_pkcs12(
        &data,
        password(store),
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .map(Opened::Pkcs12)
    .map_err(|e| {
        ConnectorError::setting(
            key,
            format!("cannot open the PKCS12 store (wrong password?): {e}"),
        )
    })
}

fn jks_error(key: &str, error: &JksError) -> ConnectorError {
    match error {
        JksError::Integrity | JksError::KeyPassword(_) => ConnectorError::setting(
            &format!("{key}.password"),
            format!("does not open the JKS store: it {error}"),
        ),
        _ => ConnectorError::setting(key, format!("the store {error}")),
    }
}

fn alias_matches(configured: Option<&str>, alias: &str, jks: bool) -> bool {
    match configured {
        None => true,
        // keytool stores JKS aliases in lower case; Java compares them ignoring case.
        Some(wanted) if jks => wanted.eq_ignore_ascii_case(alias),
        Some(wanted) => wanted == alias,
    }
}

fn root_store(truststore: &StoreConfig) -> Result<RootCertStore, ConnectorError> {
    let mut roots = RootCertStore::empty();
    let wanted = truststore.alias.as_deref();
    let certificates: Vec<CertificateDer<'static>> = match store_type(truststore).as_deref() {
        None => {
            let found = rustls_native_certs::load_native_certs();
            for error in &found.errors {
                tracing::debug!(%error, "Skipped a platform certificate.");
            }
            if found.certs.is_empty() {
                return Err(ConnectorError::setting(
                    TRUSTSTORE,
                    "no CA certificates found on this system: install the ca-certificates package \
                     or configure a truststore",
                ));
            }
            found.certs
        }
        Some("PEM") => {
            let data = store_bytes(truststore, TRUSTSTORE)?;
            CertificateDer::pem_slice_iter(&data)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ConnectorError::setting(TRUSTSTORE, format!("invalid PEM: {e}")))?
        }
        Some(kind @ ("PKCS12" | "P12" | "PFX" | "JKS")) => {
            let mut certs = Vec::new();
            match open_store(truststore, TRUSTSTORE, kind)? {
                Opened::Jks(store) => {
                    for (alias, der) in store.certificates {
                        if alias_matches(wanted, &alias, true) {
                            certs.push(CertificateDer::from(der));
                        }
                    }
                    for entry in store.keys {
                        if alias_matches(wanted, &entry.alias, true) {
                            certs.extend(entry.chain.into_iter().map(CertificateDer::from));
                        }
                    }
                }
                Opened::Pkcs12(store) => {
                    for (alias, entry) in store.entries() {
                        if !alias_matches(wanted, alias, false) {
                            continue;
                        }
                        match entry {
                            p12_keystore::KeyStoreEntry::Certificate(cert) => {
                                certs.push(CertificateDer::from(cert.as_der().to_vec()));
                            }
                            p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => {
                                certs.extend(
                                    chain
                                        .certs()
                                        .iter()
                                        .map(|c| CertificateDer::from(c.as_der().to_vec())),
                                );
                            }
                            p12_keystore::KeyStoreEntry::Secret(_) => {}
                        }
                    }
                }
            }
            certs
        }
        Some(other) => {
            return Err(ConnectorError::setting(
                &format!("{TRUSTSTORE}.type"),
                format!("`{other}` is not a truststore type (PEM, PKCS12, JKS or NONE)"),
            ));
        }
    };
    let (added, ignored) = roots.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(ConnectorError::setting(
            TRUSTSTORE,
            "contains no usable CA certificate",
        ));
    }
    if ignored > 0 {
        tracing::warn!(
            ignored,
            "Some truststore certificates could not be parsed and were ignored."
        );
    }
    Ok(roots)
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn client_identity(keystore: &StoreConfig) -> Result<Option<Identity>, ConnectorError> {
    let kind = match store_type(keystore) {
        None => return Ok(None),
        Some(kind) => kind,
    };
    if !matches!(kind.as_str(), "PKCS12" | "P12" | "PFX" | "JKS") {
        return Err(ConnectorError::setting(
            &format!("{KEYSTORE}.type"),
            format!("`{kind}` is not a keystore type (PKCS12, JKS or NONE)"),
        ));
    }
    let wanted = keystore.alias.as_deref();
    let no_alias = |alias: &str| {
        ConnectorError::setting(
            &format!("{KEYSTORE}.alias"),
            format!("no private key entry named `{alias}`"),
        )
    };
    let no_key = || ConnectorError::setting(KEYSTORE, "contains no private key");
    match open_store(keystore, KEYSTORE, &kind)? {
        Opened::Jks(store) => {
            let entry = match wanted {
                Some(alias) => store
                    .keys
                    .into_iter()
                    .find(|e| alias_matches(Some(alias), &e.alias, true))
                    .ok_or_else(|| no_alias(alias))?,
                None => store.keys.into_iter().next().ok_or_else(no_key)?,
            };
            let key = entry
                .decrypt(password(keystore))
                .map_err(|e| jks_error(KEYSTORE, &e))?;
            if entry.chain.is_empty() {
                return Err(ConnectorError::setting(
                    KEYSTORE,
                    format!("the private key `{}` has no certificate", entry.alias),
                ));
            }
            let certs = entry.chain.into_iter().map(CertificateDer::from).collect();
            Ok(Some((
                certs,
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
            )))
        }
        Opened::Pkcs12(store) => {
            let chain = match wanted {
                Some(alias) => match store.entry(alias) {
                    Some(p12_keystore::KeyStoreEntry::PrivateKeyChain(chain)) => Some(chain),
                    _ => return Err(no_alias(alias)),
                },
                None => store.private_key_chain().map(|(_, chain)| chain),
            }
            .ok_or_else(no_key)?;
            let certs = chain
                .certs()
                .iter()
                .map(|c| CertificateDer::from(c.as_der().to_vec()))
                .collect();
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()));
            Ok(Some((certs, key)))
        }
    }
}

/// `trustAll`: accepts any certificate, still checks handshake signatures.
struct AcceptAnyCertificate(WebPkiSupportedAlgorithms);

impl fmt::Debug for AcceptAnyCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AcceptAnyCertificate")
    }
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// `verifyHost: false`: the chain must verify, the name may not match.
#[derive(Debug)]
struct IgnoreHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for IgnoreHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use federation_core::Secret;

    #[test]
    fn a_jks_type_with_a_missing_file_names_the_path() {
        let ssl = SslConfig {
            truststore: StoreConfig {
                store_type: Some("jks".into()),
                path: Some("/nonexistent/x.jks".into()),
                ..StoreConfig::default()
            },
            ..SslConfig::default()
        };
        let err = client_config(&ssl).unwrap_err().to_string();
        assert!(
            err.starts_with("integration.connector.ws.ssl.truststore.path: cannot read"),
            "{err}"
        );
        assert!(!err.contains("keytool"), "{err}");
    }

    #[test]
    fn missing_file_and_bad_base64_name_the_key() {
        let mut ssl = SslConfig::default();
        ssl.truststore.store_type = Some("PEM".into());
        ssl.truststore.path = Some("/nonexistent/ca.pem".into());
        let err = client_config(&ssl).unwrap_err().to_string();
        assert!(
            err.starts_with("integration.connector.ws.ssl.truststore.path: cannot read"),
            "{err}"
        );
        ssl.truststore.content = Some(Secret::new("!!!"));
        let err = client_config(&ssl).unwrap_err().to_string();
        assert!(err.contains("truststore.content: is not base64"), "{err}");
    }

    #[test]
    fn unknown_store_type_is_refused() {
        let mut ssl = SslConfig::default();
        ssl.keystore.store_type = Some("PEM".into());
        let err = client_config(&ssl).unwrap_err().to_string();
        assert!(
            err.contains("keystore.type: `PEM` is not a keystore type"),
            "{err}"
        );
    }
}
