//! Tag filters (`includeTags`, `excludeTags`): narrow discovery to the APIs an operator means,
//! for REST and HTTP APIs alike, with no extra AWS call.
//!
//! Each rule is `key` (the API carries the tag, whatever its value) or `key=value` (the tag has
//! exactly that value; split at the first `=`, so a value may hold `=`; `key=` matches an empty
//! value). Keys and values are compared exactly, as AWS stores them (tags are case sensitive).
//! An API is **kept** when it matches any include rule (or there is none) **and** no exclude
//! rule; exclusion wins.
//!
//! The tags come with the listings discovery makes anyway: `GetRestApis` items carry `tags`
//! (REST), `GetApis` items carry `Tags` (HTTP) (`docs/reference/aws-api-gateway.md`, "What moto
//! emulates"). The agent's own marker tags on HTTP APIs (`gravitee:oauth:…`, see
//! `http_api/audience.rs`) never take part: callers pass the API's tags without them.

use std::collections::BTreeMap;
use std::fmt;

/// One rule: `key` or `key=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TagRule {
    key: String,
    value: Option<String>,
}

impl TagRule {
    /// Parses `key` or `key=value` (trimmed); an empty key is refused.
    pub(crate) fn parse(rule: &str) -> Result<Self, String> {
        let rule = rule.trim();
        let (key, value) = match rule.split_once('=') {
            Some((key, value)) => (key.trim(), Some(value.trim().to_owned())),
            None => (rule, None),
        };
        if key.is_empty() {
            return Err(format!(
                "`{rule}` has no tag key: write `key` or `key=value` (for example team=payments)"
            ));
        }
        Ok(Self {
            key: key.to_owned(),
            value,
        })
    }

    fn matches(&self, tags: &BTreeMap<String, String>) -> bool {
        match (tags.get(&self.key), &self.value) {
            (Some(_), None) => true,
            (Some(actual), Some(wanted)) => actual == wanted,
            (None, _) => false,
        }
    }
}

impl fmt::Display for TagRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{}={value}", self.key),
            None => f.write_str(&self.key),
        }
    }
}

/// The configured filter; empty keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TagFilter {
    include: Vec<TagRule>,
    exclude: Vec<TagRule>,
}

impl TagFilter {
    /// The filter of `includeTags` and `excludeTags`; rules that do not parse (refused by the
    /// settings' validation already) are dropped.
    pub(crate) fn new(include: &[String], exclude: &[String]) -> Self {
        let parse = |rules: &[String]| {
            rules
                .iter()
                .filter_map(|r| TagRule::parse(r).ok())
                .collect()
        };
        Self {
            include: parse(include),
            exclude: parse(exclude),
        }
    }

    /// `None` when an API with `tags` is kept; else why it was left out, in words the
    /// `discover` command shows.
    pub(crate) fn rejects(&self, tags: &BTreeMap<String, String>) -> Option<String> {
        if let Some(rule) = self.exclude.iter().find(|r| r.matches(tags)) {
            return Some(format!(
                "left out by excludeTags: it carries tag {rule} ({})",
                describe(tags)
            ));
        }
        if !self.include.is_empty() && !self.include.iter().any(|r| r.matches(tags)) {
            let wanted: Vec<String> = self.include.iter().map(ToString::to_string).collect();
            return Some(format!(
                "left out by includeTags: it carries none of {} ({})",
                wanted.join(", "),
                describe(tags)
            ));
        }
        None
    }
}

fn describe(tags: &BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return "it has no tags".to_owned();
    }
    let list: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("its tags: {}", list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn filter(include: &[&str], exclude: &[&str]) -> TagFilter {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        TagFilter::new(&owned(include), &owned(exclude))
    }

    #[test]
    fn rules_parse_key_and_key_value() {
        assert_eq!(
            TagRule::parse(" team = payments ").unwrap().to_string(),
            "team=payments"
        );
        assert_eq!(TagRule::parse("public").unwrap().to_string(), "public");
        assert_eq!(
            TagRule::parse("k=a=b").unwrap().value.as_deref(),
            Some("a=b")
        );
        assert_eq!(TagRule::parse("k=").unwrap().value.as_deref(), Some(""));
        assert!(TagRule::parse("=x").is_err());
        assert!(TagRule::parse("  ").is_err());
    }

    #[test]
    fn no_rule_keeps_everything() {
        let f = filter(&[], &[]);
        assert_eq!(f.rejects(&tags(&[])), None);
        assert_eq!(f.rejects(&tags(&[("env", "dev")])), None);
    }

    #[test]
    fn kept_when_any_include_matches_and_no_exclude() {
        let f = filter(&["team=payments", "public"], &["env=dev"]);
        assert_eq!(f.rejects(&tags(&[("team", "payments")])), None);
        assert_eq!(f.rejects(&tags(&[("public", "")])), None);
        let why = f.rejects(&tags(&[("team", "orders")])).unwrap();
        assert!(
            why.contains("includeTags") && why.contains("team=payments, public"),
            "{why}"
        );
        assert!(why.contains("team=orders"), "{why}");
        let none = f.rejects(&tags(&[])).unwrap();
        assert!(none.contains("it has no tags"), "{none}");
        // Exclusion wins over inclusion.
        let excluded = f
            .rejects(&tags(&[("team", "payments"), ("env", "dev")]))
            .unwrap();
        assert!(
            excluded.starts_with("left out by excludeTags: it carries tag env=dev"),
            "{excluded}"
        );
        assert_eq!(f.rejects(&tags(&[("public", "x"), ("env", "prod")])), None);
    }

    #[test]
    fn values_and_keys_are_case_sensitive() {
        let f = filter(&["Team=Payments"], &[]);
        assert!(f.rejects(&tags(&[("team", "payments")])).is_some());
        assert!(f.rejects(&tags(&[("Team", "Payments")])).is_none());
    }
}
