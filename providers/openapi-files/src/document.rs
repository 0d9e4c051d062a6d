//! Reading the head of an API document: which specification it follows, its `info`, and where
//! its servers are.
//!
//! Only the top-level keys that matter are deserialised (`openapi`, `swagger`, `asyncapi`,
//! `info`, `servers`, `host`, `basePath`, `schemes`); everything else is skipped by the parser
//! without being kept, so a preview holds no more than the document's text while it reads it.

use std::fmt;

use federation_core::model::StringMap;
use federation_core::{ApiType, PageType};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_yaml_ng::Value as Yaml;

/// Which specification a document follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spec {
    /// Swagger 2.0.
    Swagger2,
    /// OpenAPI 3.x.
    OpenApi3,
    /// AsyncAPI 2.x.
    AsyncApi2,
    /// AsyncAPI 3.x.
    AsyncApi3,
}

impl Spec {
    /// The page type the controller imports it as.
    pub fn page_type(self) -> PageType {
        match self {
            Spec::Swagger2 | Spec::OpenApi3 => PageType::Swagger,
            Spec::AsyncApi2 | Spec::AsyncApi3 => PageType::Asyncapi,
        }
    }

    /// `PROXY` for OpenAPI, `MESSAGE` for AsyncAPI.
    pub fn api_type(self) -> ApiType {
        match self {
            Spec::Swagger2 | Spec::OpenApi3 => ApiType::Proxy,
            Spec::AsyncApi2 | Spec::AsyncApi3 => ApiType::Message,
        }
    }

    /// The specification's name.
    pub fn name(self) -> &'static str {
        match self {
            Spec::Swagger2 => "Swagger",
            Spec::OpenApi3 => "OpenAPI",
            Spec::AsyncApi2 | Spec::AsyncApi3 => "AsyncAPI",
        }
    }
}

/// What discovery needs from a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The specification.
    pub spec: Spec,
    /// Its version as written (`3.0.3`, `2.0`, `2.6.0`).
    pub spec_version: String,
    /// `info.title`, trimmed, if not blank.
    pub title: Option<String>,
    /// `info.version`.
    pub version: Option<String>,
    /// `info.description`.
    pub description: Option<String>,
    /// Where a consumer reaches the API: `url` and, for AsyncAPI, `protocol`.
    pub connection_details: StringMap,
}

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// Not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Not valid YAML.
    #[error("invalid YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    /// An API document of a version this provider does not read.
    #[error("unsupported {key} version {version:?}")]
    UnsupportedVersion {
        /// `openapi`, `swagger` or `asyncapi`.
        key: &'static str,
        /// The version found.
        version: String,
    },
}

/// Reads the head of `text`, JSON when `json` is true, else YAML. `Ok(None)`: valid, but not
/// an API document.
pub fn read_head(text: &str, json: bool) -> Result<Option<Head>, DocumentError> {
    let top: Top = if json {
        serde_json::from_str(text)?
    } else {
        serde_yaml_ng::from_str(text)?
    };
    let Some(raw) = top.0 else {
        return Ok(None);
    };
    let (spec, spec_version) = if let Some(v) = raw.openapi.and_then(|s| s.0) {
        match v.split('.').next() {
            Some("3") => (Spec::OpenApi3, v),
            _ => return Err(unsupported("openapi", v)),
        }
    } else if let Some(v) = raw.swagger.and_then(|s| s.0) {
        match v.as_str() {
            "2.0" | "2" => (Spec::Swagger2, "2.0".to_owned()),
            _ => return Err(unsupported("swagger", v)),
        }
    } else if let Some(v) = raw.asyncapi.and_then(|s| s.0) {
        match v.split('.').next() {
            Some("2") => (Spec::AsyncApi2, v),
            Some("3") => (Spec::AsyncApi3, v),
            _ => return Err(unsupported("asyncapi", v)),
        }
    } else {
        return Ok(None);
    };
    let info = raw.info.unwrap_or_default();
    let connection_details = match spec {
        Spec::OpenApi3 => openapi_servers(raw.servers.as_ref()),
        Spec::Swagger2 => swagger_url(raw.host, raw.base_path, raw.schemes.as_ref()),
        Spec::AsyncApi2 | Spec::AsyncApi3 => asyncapi_servers(spec, raw.servers.as_ref()),
    };
    Ok(Some(Head {
        spec,
        spec_version,
        title: info
            .title
            .and_then(|s| s.0)
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty()),
        version: info.version.and_then(|s| s.0),
        description: info.description.and_then(|s| s.0),
        connection_details,
    }))
}

fn unsupported(key: &'static str, version: String) -> DocumentError {
    DocumentError::UnsupportedVersion { key, version }
}

/// OpenAPI 3: the first server's `url`, its `{variables}` replaced by their defaults.
fn openapi_servers(servers: Option<&Yaml>) -> StringMap {
    let mut details = StringMap::new();
    let first = servers.and_then(Yaml::as_sequence).and_then(|s| s.first());
    if let Some(url) = first.and_then(|s| text(s.get("url"))) {
        details.insert(
            "url".to_owned(),
            substitute(&url, first.and_then(|s| s.get("variables"))),
        );
    }
    details
}

/// Swagger 2.0: `{scheme}://{host}{basePath}`, the first of `schemes` or `https`.
fn swagger_url(
    host: Option<Scalar>,
    base_path: Option<Scalar>,
    schemes: Option<&Yaml>,
) -> StringMap {
    let mut details = StringMap::new();
    if let Some(host) = host.and_then(|h| h.0).filter(|h| !h.is_empty()) {
        let scheme = schemes
            .and_then(Yaml::as_sequence)
            .and_then(|s| s.first())
            .and_then(Yaml::as_str)
            .unwrap_or("https");
        let base = base_path.and_then(|b| b.0).unwrap_or_default();
        details.insert("url".to_owned(), format!("{scheme}://{host}{base}"));
    }
    details
}

/// AsyncAPI: the first server's URL (2.x `url`; 3.x `host` + `pathname`) and `protocol`.
fn asyncapi_servers(spec: Spec, servers: Option<&Yaml>) -> StringMap {
    let mut details = StringMap::new();
    let Some((_, server)) = servers
        .and_then(Yaml::as_mapping)
        .and_then(|m| m.iter().next())
    else {
        return details;
    };
    let protocol = text(server.get("protocol"));
    let variables = server.get("variables");
    let address = match spec {
        Spec::AsyncApi3 => text(server.get("host"))
            .map(|host| host + &text(server.get("pathname")).unwrap_or_default()),
        _ => text(server.get("url")),
    };
    if let Some(address) = address {
        let address = substitute(&address, variables);
        let url = match &protocol {
            Some(protocol) if !address.contains("://") => format!("{protocol}://{address}"),
            _ => address,
        };
        details.insert("url".to_owned(), url);
    }
    if let Some(protocol) = protocol {
        details.insert("protocol".to_owned(), protocol);
    }
    details
}

fn text(value: Option<&Yaml>) -> Option<String> {
    match value? {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Replaces `{name}` with `variables.name.default`; unknown names stay as written.
fn substitute(template: &str, variables: Option<&Yaml>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        out.push_str(&rest[..open]);
        let name = &rest[open + 1..close];
        match variables
            .and_then(|v| v.get(name))
            .and_then(|v| text(v.get("default")))
        {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[open..=close]),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The top-level value: `Some` when it is a map.
struct Top(Option<RawHead>);

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawHead {
    openapi: Option<Scalar>,
    swagger: Option<Scalar>,
    asyncapi: Option<Scalar>,
    info: Option<RawInfo>,
    servers: Option<Yaml>,
    host: Option<Scalar>,
    base_path: Option<Scalar>,
    schemes: Option<Yaml>,
}

#[derive(Default, Deserialize)]
struct RawInfo {
    title: Option<Scalar>,
    version: Option<Scalar>,
    description: Option<Scalar>,
}

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TopVisitor;
        impl<'de> Visitor<'de> for TopVisitor {
            type Value = Top;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a document")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Top, A::Error> {
                RawHead::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|h| Top(Some(h)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Top(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top, E> {
                Ok(Top(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top, E> {
                Ok(Top(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top, E> {
                Ok(Top(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top, E> {
                Ok(Top(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Top, E> {
                Ok(Top(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Top, E> {
                Ok(Top(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Top, E> {
                Ok(Top(None))
            }
        }
        deserializer.deserialize_any(TopVisitor)
    }
}

/// Any scalar as text (`2.0` stays `2.0`, `true` becomes `true`); a map or list is `None`.
#[derive(Default)]
struct Scalar(Option<String>);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(Some(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                // Debug keeps the `.0` of `2.0` (Display would print `2`).
                Ok(Scalar(Some(format!("{v:?}"))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
                Scalar::deserialize(d)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar(None))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str, json: bool) -> Head {
        read_head(text, json).unwrap().unwrap()
    }

    #[test]
    fn swagger_2_with_an_unquoted_version_and_host() {
        let h = head(
            "swagger: 2.0\ninfo:\n  title: ' Pets '\n  version: 1.0\nhost: pets.example\nbasePath: /v1\nschemes: [http]\n",
            false,
        );
        assert_eq!(h.spec, Spec::Swagger2);
        assert_eq!(h.spec_version, "2.0");
        assert_eq!(h.title.as_deref(), Some("Pets"));
        assert_eq!(h.version.as_deref(), Some("1.0"));
        assert_eq!(h.connection_details["url"], "http://pets.example/v1");
    }

    #[test]
    fn openapi_3_json_with_server_variables() {
        let h = head(
            r#"{"openapi":"3.0.3","info":{"title":"T","version":"2","description":"D"},
                "servers":[{"url":"https://{env}.example/{v}","variables":{"env":{"default":"prod"}}}],
                "paths":{"/a":{"get":{}}}}"#,
            true,
        );
        assert_eq!(h.spec, Spec::OpenApi3);
        assert_eq!(h.description.as_deref(), Some("D"));
        assert_eq!(h.connection_details["url"], "https://prod.example/{v}");
    }

    #[test]
    fn asyncapi_2_and_3_servers() {
        let two = head(
            "asyncapi: 2.6.0\ninfo: {title: E, version: 1.0.0}\nservers:\n  prod:\n    url: broker.example:9092\n    protocol: kafka\n",
            false,
        );
        assert_eq!(two.spec, Spec::AsyncApi2);
        assert_eq!(two.connection_details["url"], "kafka://broker.example:9092");
        assert_eq!(two.connection_details["protocol"], "kafka");
        let three = head(
            "asyncapi: 3.0.0\ninfo: {title: E, version: 1.0.0}\nservers:\n  prod:\n    host: mq.example\n    pathname: /v3\n    protocol: amqp\n",
            false,
        );
        assert_eq!(three.spec, Spec::AsyncApi3);
        assert_eq!(three.connection_details["url"], "amqp://mq.example/v3");
    }

    #[test]
    fn documents_that_are_not_apis() {
        for (text, json) in [
            ("kind: ConfigMap\nmetadata: {name: x}\n", false),
            ("- a\n- b\n", false),
            ("just text", false),
            ("", false),
            (r#"{"name":"package","version":"1.0.0"}"#, true),
            ("[1, 2]", true),
        ] {
            assert_eq!(read_head(text, json).unwrap(), None, "{text}");
        }
    }

    #[test]
    fn broken_and_unsupported_documents_are_errors() {
        assert!(matches!(
            read_head("openapi: 3.0.0\ninfo: [", false),
            Err(DocumentError::Yaml(_))
        ));
        assert!(matches!(
            read_head("{\"openapi\": ", true),
            Err(DocumentError::Json(_))
        ));
        let err = read_head("swagger: '1.2'\n", false).unwrap_err();
        assert_eq!(err.to_string(), "unsupported swagger version \"1.2\"");
    }

    #[test]
    fn missing_info_is_tolerated() {
        let h = head("openapi: 3.1.0\npaths: {}\n", false);
        assert_eq!(h.title, None);
        assert_eq!(h.version, None);
        assert!(h.connection_details.is_empty());
    }
}
