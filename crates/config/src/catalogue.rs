//! The key catalogue: every key the agent reads, used to map environment variable names to keys.
//!
//! Gravitee matches an environment variable against the key the code asks for, either exactly
//! (`gravitee_integration_providers_0_integrationId`) or fully upper-cased
//! (`GRAVITEE_INTEGRATION_PROVIDERS_0_INTEGRATIONID`). The agent reads its configuration the
//! other way round (the variables are turned into a tree once), so it needs to know the keys in
//! advance to restore the camelCase of an upper-case name: that is this catalogue.
//!
//! Catalogue paths are dotted keys with three markers:
//! - `name[]`: `name` is a list; the next segment of a variable is an index;
//! - `*`: an open map (`services.core.http.authentication.users.*`): any name is a key, and an
//!   upper-case name is lower-cased;
//! - `**`: an open subtree whose known keys come from the providers
//!   (`integration.providers[].configuration.**`); an unknown upper-case name is lower-cased
//!   with a warning.
//!
//! Names are compared ignoring `-` (Gravitee strips hyphens before matching, so `sub-tab` is
//! matched by `SUBTAB`), and a key containing `_` is matched by joining segments.

use std::collections::BTreeMap;

/// Every key of the typed model ([`crate::AgentConfig`]), in catalogue syntax. A unit test checks
/// that this list and the model's serde field names are the same.
pub const MODEL_KEYS: &[&str] = &[
    "cloud.client.proxy.enabled",
    "cloud.client.proxy.host",
    "cloud.client.proxy.password",
    "cloud.client.proxy.port",
    "cloud.client.proxy.type",
    "cloud.client.proxy.useSystemProxy",
    "cloud.client.proxy.username",
    "cloud.client.ssl.hostnameVerifier",
    "cloud.client.ssl.keystore.alias",
    "cloud.client.ssl.keystore.content",
    "cloud.client.ssl.keystore.password",
    "cloud.client.ssl.keystore.path",
    "cloud.client.ssl.keystore.type",
    "cloud.client.ssl.trustAll",
    "cloud.client.ssl.truststore.alias",
    "cloud.client.ssl.truststore.content",
    "cloud.client.ssl.truststore.password",
    "cloud.client.ssl.truststore.path",
    "cloud.client.ssl.truststore.type",
    "cloud.client.ssl.verifyHost",
    "cloud.enabled",
    "cloud.gateUrl",
    "cloud.token",
    "integration.connector.commands.discoverTimeoutMs",
    "integration.connector.commands.maxConcurrent",
    "integration.connector.commands.replyTimeoutMs",
    "integration.connector.commands.shutdownGraceMs",
    "integration.connector.drift.stateFile",
    "integration.connector.ingest.batchSize",
    "integration.connector.ingest.startDelayMs",
    "integration.connector.ws.autoReconnect",
    "integration.connector.ws.backoff.initialDelayMs",
    "integration.connector.ws.backoff.jitter",
    "integration.connector.ws.backoff.maxDelayMs",
    "integration.connector.ws.backoff.multiplier",
    "integration.connector.ws.endpoints[]",
    "integration.connector.ws.headers[].name",
    "integration.connector.ws.headers[].value",
    "integration.connector.ws.keepAlive",
    "integration.connector.ws.maxWebSocketFrameSize",
    "integration.connector.ws.maxWebSocketMessageSize",
    "integration.connector.ws.proxy.enabled",
    "integration.connector.ws.proxy.host",
    "integration.connector.ws.proxy.password",
    "integration.connector.ws.proxy.port",
    "integration.connector.ws.proxy.type",
    "integration.connector.ws.proxy.useSystemProxy",
    "integration.connector.ws.proxy.username",
    "integration.connector.ws.ssl.keystore.alias",
    "integration.connector.ws.ssl.keystore.content",
    "integration.connector.ws.ssl.keystore.password",
    "integration.connector.ws.ssl.keystore.path",
    "integration.connector.ws.ssl.keystore.type",
    "integration.connector.ws.ssl.trustAll",
    "integration.connector.ws.ssl.truststore.alias",
    "integration.connector.ws.ssl.truststore.content",
    "integration.connector.ws.ssl.truststore.password",
    "integration.connector.ws.ssl.truststore.path",
    "integration.connector.ws.ssl.truststore.type",
    "integration.connector.ws.ssl.verifyHost",
    "integration.providers[].configuration.**",
    "integration.providers[].integrationId",
    "integration.providers[].type",
    "log.format",
    "log.level",
    "secrets.env.enabled",
    "secrets.file.enabled",
    "secrets.kubernetes.enabled",
    "secrets.kubernetes.namespace",
    "services.core.http.authentication.type",
    "services.core.http.authentication.users.*",
    "services.core.http.enabled",
    "services.core.http.host",
    "services.core.http.port",
    "services.metrics.enabled",
    "services.metrics.prometheus.enabled",
    "system.proxy.enabled",
    "system.proxy.host",
    "system.proxy.password",
    "system.proxy.port",
    "system.proxy.type",
    "system.proxy.useSystemProxy",
    "system.proxy.username",
];

/// A tree of known keys (see the [module docs](self) for the path syntax).
#[derive(Debug, Clone, Default)]
pub struct KeyCatalogue {
    root: Node,
}

#[derive(Debug, Clone, Default)]
struct Node {
    /// Named children, by canonical name.
    fields: BTreeMap<String, Node>,
    /// The element of a list (`name[]`).
    element: Option<Box<Node>>,
    /// The value of an open map (`*`).
    wildcard: Option<Box<Node>>,
    /// An open subtree (`**`): names not in `fields` are accepted.
    subtree: bool,
}

/// An environment variable name resolved to a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedName {
    /// The key's segments, canonical case; list indexes are decimal numbers (`["a", "0", "b"]`).
    pub segments: Vec<String>,
    /// Something worth a warning (an unknown key, a lower-cased name), naming no value.
    pub warning: Option<String>,
}

/// Why an environment variable name is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredName {
    /// Why, in words (naming no value).
    pub reason: String,
}

impl KeyCatalogue {
    /// An empty catalogue: every name is taken as written (upper-case names are lower-cased).
    pub fn new() -> Self {
        Self::default()
    }

    /// The catalogue of the typed model ([`MODEL_KEYS`]).
    pub fn model() -> Self {
        Self::from_paths(MODEL_KEYS.iter().copied())
    }

    /// A catalogue of the given paths (`a.b[].c`, `users.*`, `configuration.**`).
    pub fn from_paths<'a>(paths: impl IntoIterator<Item = &'a str>) -> Self {
        let mut catalogue = Self::default();
        for path in paths {
            catalogue.add_path(path);
        }
        catalogue
    }

    /// Adds one path.
    pub fn add_path(&mut self, path: &str) {
        Self::insert(&mut self.root, path);
    }

    /// Adds provider configuration keys (`accessKeyId`, `assumeRole.roleArn`) under every open
    /// subtree (`**`), that is under `integration.providers[i].configuration`.
    pub fn with_provider_keys<S: AsRef<str>>(mut self, keys: impl IntoIterator<Item = S>) -> Self {
        let keys: Vec<String> = keys.into_iter().map(|k| k.as_ref().to_owned()).collect();
        Self::graft(&mut self.root, &keys);
        self
    }

    fn graft(node: &mut Node, keys: &[String]) {
        if node.subtree {
            for key in keys {
                Self::insert(node, key);
            }
        }
        for child in node.fields.values_mut() {
            Self::graft(child, keys);
        }
        if let Some(element) = node.element.as_deref_mut() {
            Self::graft(element, keys);
        }
        if let Some(wildcard) = node.wildcard.as_deref_mut() {
            Self::graft(wildcard, keys);
        }
    }

    fn insert(mut node: &mut Node, path: &str) {
        for part in path.split('.').filter(|p| !p.is_empty()) {
            match part {
                "**" => {
                    node.subtree = true;
                    return;
                }
                "*" => node = node.wildcard.get_or_insert_with(Box::default),
                _ => {
                    let name = part.trim_end_matches("[]");
                    let mut depth = (part.len() - name.len()) / 2;
                    node = node.fields.entry(name.to_owned()).or_default();
                    while depth > 0 {
                        node = node.element.get_or_insert_with(Box::default);
                        depth -= 1;
                    }
                }
            }
        }
    }

    /// Resolves the name of an environment variable with its `gravitee_` prefix stripped
    /// (`integration_providers_0_integrationId`) to a key, following Gravitee's rules: segments
    /// are separated by `_`, `.` or `[n]`; a name without lower-case letters is matched
    /// case-insensitively; any other name must match the known keys exactly (ignoring `-`).
    pub fn resolve_env_name(&self, stripped: &str) -> Result<ResolvedName, IgnoredName> {
        let segments: Vec<&str> = stripped
            .split(['_', '.', '[', ']'])
            .filter(|s| !s.is_empty())
            .collect();
        if segments.is_empty() {
            return Err(IgnoredName {
                reason: "it names no key".to_owned(),
            });
        }
        let upper = !stripped.bytes().any(|b| b.is_ascii_lowercase());
        self.resolve(&segments, upper)
    }

    /// For a key read from a file (exact by nature): why it will not be read if it differs
    /// from a known key only in case (`integrationID` for `integrationId`).
    pub fn case_mismatch(&self, segments: &[String]) -> Option<String> {
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        self.resolve(&segments, false)
            .err()
            .map(|ignored| ignored.reason)
    }

    fn resolve(&self, segments: &[&str], upper: bool) -> Result<ResolvedName, IgnoredName> {
        let mut out: Vec<String> = Vec::with_capacity(segments.len());
        let mut unknown_upper: Vec<String> = Vec::new();
        let mut unknown_key = false;
        let mut node: Option<&Node> = Some(&self.root);
        // Inside an open subtree (provider configuration), unknown names are expected.
        let mut in_subtree = false;
        let mut i = 0;
        while i < segments.len() {
            let segment = segments[i];
            let Some(current) = node else {
                out.push(pass_through(segment, upper, &mut unknown_upper));
                i += 1;
                continue;
            };
            in_subtree |= current.subtree;
            if is_index(segment)
                && let Some(element) = current.element.as_deref()
            {
                out.push(normalise_index(segment));
                node = Some(element);
                i += 1;
                continue;
            }
            if let Some((name, child, used)) = current.find(&segments[i..], upper) {
                out.push(name.to_owned());
                node = Some(child);
                i += used;
                continue;
            }
            if !upper && let Some(name) = current.find_ignoring_case(segment) {
                return Err(IgnoredName {
                    reason: format!(
                        "`{segment}` is not the key `{name}` (names are case-sensitive)"
                    ),
                });
            }
            if let Some(wildcard) = current.wildcard.as_deref() {
                // An open map: the segment is data (a user name), lower-cased in the
                // upper-case form as Gravitee's upper-cased lookup implies.
                out.push(if upper {
                    segment.to_ascii_lowercase()
                } else {
                    segment.to_owned()
                });
                node = Some(wildcard);
            } else if in_subtree {
                out.push(pass_through(segment, upper, &mut unknown_upper));
                node = None;
            } else {
                unknown_key = true;
                out.push(pass_through(segment, upper, &mut unknown_upper));
                node = None;
            }
            i += 1;
        }
        let key = federation_core::settings::render_key(out.iter().map(String::as_str));
        let warning = if unknown_key {
            Some(format!("sets {key}, which is not a key this agent reads"))
        } else if !unknown_upper.is_empty() {
            Some(format!(
                "sets {key}: {} is not a known key, so it was lower-cased; if the provider \
                 expects camelCase, use the exact camelCase variable name",
                unknown_upper.join(", ")
            ))
        } else {
            None
        };
        Ok(ResolvedName {
            segments: out,
            warning,
        })
    }
}

impl Node {
    /// The field matching the longest run of segments joined by `_` (a key may contain `_`).
    fn find<'n>(&'n self, segments: &[&str], upper: bool) -> Option<(&'n str, &'n Node, usize)> {
        for used in (1..=segments.len()).rev() {
            let joined = segments[..used].join("_");
            let wanted = strip_hyphens(&joined);
            for (name, child) in &self.fields {
                let canonical = strip_hyphens(name);
                let matches = if upper {
                    canonical.to_ascii_uppercase() == wanted
                } else {
                    canonical == wanted
                };
                if matches {
                    return Some((name, child, used));
                }
            }
        }
        None
    }

    fn find_ignoring_case(&self, segment: &str) -> Option<&str> {
        let wanted = strip_hyphens(segment);
        self.fields
            .keys()
            .find(|name| strip_hyphens(name).eq_ignore_ascii_case(&wanted))
            .map(String::as_str)
    }
}

fn pass_through(segment: &str, upper: bool, unknown_upper: &mut Vec<String>) -> String {
    if is_index(segment) {
        return normalise_index(segment);
    }
    if upper {
        unknown_upper.push(format!("`{segment}`"));
        segment.to_ascii_lowercase()
    } else {
        segment.to_owned()
    }
}

fn strip_hyphens(name: &str) -> String {
    name.replace('-', "")
}

fn is_index(segment: &str) -> bool {
    !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit())
}

fn normalise_index(segment: &str) -> String {
    segment
        .parse::<usize>()
        .map_or_else(|_| segment.to_owned(), |n| n.to_string())
}

#[cfg(test)]
mod tests;
