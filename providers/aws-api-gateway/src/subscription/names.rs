//! The names (and descriptions) of everything the provider creates at AWS, and what a name
//! says a key is ([`KeyRole`]).
//!
//! | name | what | enabled |
//! |---|---|---|
//! | `gravitee-{subscriptionId}` | a subscription's own key (`apiKeyScope: subscription`, a SUBSCRIBE without `graviteeApplicationId`, earlier versions) | yes |
//! | `gravitee-app-{applicationId}` | an application's key, on every usage plan the application subscribes to; kept, on no plan, once it has no subscription | yes |
//! | `gravitee-app-{applicationId}.sub-{subscriptionId}` | the record of one subscription of that application: which usage plan and API it uses (in its description) | no, never attached |
//! | `gravitee-agent-check` | the probe key that tests `DeleteUsagePlanKey` once per process (`grants.rs`) and `check --write-probes` | no |
//!
//! The application's key and records all carry `customerId` =
//! `gravitee-app-{applicationId}` (AWS: "the identifier of a customer in AWS Marketplace or an
//! external system, such as a developer portal"), so one `GetApiKeys` filtered by it lists them
//! in one call; exact names are checked here. (What AWS's `nameQuery` matches is not documented,
//! so it only finds exact names.) Gravitee ids are UUIDs: they contain no `.`, so the record
//! suffix cannot be confused with an id, and a name whose application part holds a `.` (such
//! as `gravitee-app-{applicationId}.closing`, a marker of development builds before keys were
//! kept) is none of ours.

/// The prefix of every key the provider creates.
pub(crate) const KEY_PREFIX: &str = "gravitee-";
/// The prefix of an application's key and records.
pub(crate) const APPLICATION_PREFIX: &str = "gravitee-app-";
const RECORD_INFIX: &str = ".sub-";
/// The probe key's name (`grants.rs`; also the operator check's write probe).
pub(crate) const PROBE_KEY_NAME: &str = "gravitee-agent-check";

/// The AWS key name for a Gravitee subscription's own key.
pub(super) fn key_name(gravitee_subscription_id: &str) -> String {
    format!("{KEY_PREFIX}{gravitee_subscription_id}")
}

/// Whether `application_id` can name an application key: not blank, no `.` (which the
/// record suffix uses), no whitespace or control character.
pub(super) fn usable_application_id(application_id: &str) -> bool {
    !application_id.is_empty()
        && !application_id
            .chars()
            .any(|c| c == '.' || c.is_whitespace() || c.is_control())
}

/// The names of one application's key and records.
#[derive(Debug, Clone)]
pub(super) struct ApplicationNames {
    /// The Gravitee application id.
    pub(super) application_id: String,
    /// `gravitee-app-{applicationId}`: the key, and the prefix every lookup uses.
    pub(super) key: String,
}

impl ApplicationNames {
    pub(super) fn new(application_id: &str) -> Self {
        Self {
            application_id: application_id.to_owned(),
            key: format!("{APPLICATION_PREFIX}{application_id}"),
        }
    }

    /// `gravitee-app-{applicationId}.sub-{subscriptionId}`.
    pub(super) fn record(&self, subscription_id: &str) -> String {
        format!("{}{RECORD_INFIX}{subscription_id}", self.key)
    }

    /// The subscription a record named `name` is for, when `name` is one of this
    /// application's records.
    pub(super) fn subscription_of<'a>(&self, name: &'a str) -> Option<&'a str> {
        name.strip_prefix(self.key.as_str())?
            .strip_prefix(RECORD_INFIX)
            .filter(|s| !s.is_empty())
    }
}

/// What a key's name says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyRole<'a> {
    /// A subscription's own key: `gravitee-{subscriptionId}`.
    Subscription(&'a str),
    /// An application's key: `gravitee-app-{applicationId}`.
    Application(&'a str),
    /// The record of a subscription of an application.
    Record {
        /// The application.
        application: &'a str,
        /// The subscription.
        subscription: &'a str,
    },
    /// The grant probe's key.
    Probe,
}

/// What the key named `name` is, when the provider made it.
pub(crate) fn role_of(name: &str) -> Option<KeyRole<'_>> {
    if name == PROBE_KEY_NAME {
        return Some(KeyRole::Probe);
    }
    if let Some(rest) = name.strip_prefix(APPLICATION_PREFIX) {
        if let Some((application, subscription)) = rest.split_once(RECORD_INFIX) {
            return (!application.is_empty() && !subscription.is_empty()).then_some(
                KeyRole::Record {
                    application,
                    subscription,
                },
            );
        }
        return usable_application_id(rest).then_some(KeyRole::Application(rest));
    }
    name.strip_prefix(KEY_PREFIX)
        .filter(|s| !s.is_empty())
        .map(KeyRole::Subscription)
}

const THROUGH_PLAN: &str = " through usage plan ";

/// "application {name} ({id})", "application {id}"…: for descriptions.
pub(super) fn application_words(name: Option<&str>, id: Option<&str>) -> String {
    // Descriptions are for people; a very long application name is cut.
    let name = name.map(|n| n.chars().take(200).collect::<String>());
    match (name.as_deref(), id) {
        (Some(name), Some(id)) => format!("application {name} ({id})"),
        (Some(name), None) => format!("application {name}"),
        (None, Some(id)) => format!("application {id}"),
        (None, None) => "an application".to_owned(),
    }
}

/// A record's description: it ends with `… to {apiId} through usage plan {planId}`, which
/// [`parse_record`] reads back.
pub(super) fn record_description(
    subscription_id: &str,
    application: &str,
    api_id: &str,
    plan_id: &str,
) -> String {
    format!(
        "Federation agent record (disabled, never attached: opens nothing; deleted by the \
         UNSUBSCRIBE): Gravitee subscription {subscription_id} of {application} to \
         {api_id}{THROUGH_PLAN}{plan_id}"
    )
}

/// The API and usage plan a record's description names: `(apiId, planId)`.
pub(crate) fn parse_record(description: &str) -> Option<(String, String)> {
    let (head, plan) = description.rsplit_once(THROUGH_PLAN)?;
    let (_, api) = head.rsplit_once(" to ")?;
    let (plan, api) = (plan.trim(), api.trim());
    let valid = |s: &str| !s.is_empty() && !s.contains(char::is_whitespace);
    (valid(plan) && crate::mapping::split_api_id(api).is_some())
        .then(|| (api.to_owned(), plan.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_named_for_its_subscription() {
        assert_eq!(key_name("sub-1"), "gravitee-sub-1");
        assert!(key_name("x").starts_with(KEY_PREFIX));
    }

    #[test]
    fn an_application_names_its_key_and_records() {
        let names = ApplicationNames::new("a1");
        assert_eq!(names.key, "gravitee-app-a1");
        assert_eq!(names.record("s1"), "gravitee-app-a1.sub-s1");
        assert_eq!(names.subscription_of("gravitee-app-a1.sub-s1"), Some("s1"));
        assert_eq!(names.subscription_of("gravitee-app-a10.sub-s1"), None);
        assert_eq!(names.subscription_of("gravitee-app-a1"), None);
        assert!(usable_application_id("3f1c-uuid"));
        for bad in ["", "a.b", "a b", "a\n"] {
            assert!(!usable_application_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_name_says_what_the_key_is() {
        assert_eq!(role_of("gravitee-s1"), Some(KeyRole::Subscription("s1")));
        assert_eq!(role_of("gravitee-app-a1"), Some(KeyRole::Application("a1")));
        assert_eq!(
            role_of("gravitee-app-a1.sub-s1"),
            Some(KeyRole::Record {
                application: "a1",
                subscription: "s1"
            })
        );
        assert_eq!(role_of("gravitee-app-a1.closing"), None, "a former marker");
        assert_eq!(role_of("gravitee-app-"), None);
        assert_eq!(role_of("gravitee-agent-check"), Some(KeyRole::Probe));
        assert_eq!(role_of("gravitee-"), None);
        assert_eq!(role_of("someone-else"), None);
    }

    #[test]
    fn a_record_description_is_read_back() {
        let words = application_words(Some("Shop to go through usage plan x"), Some("a1"));
        let description = record_description("s1", &words, "pets1:prod", "up1");
        assert_eq!(
            parse_record(&description),
            Some(("pets1:prod".to_owned(), "up1".to_owned()))
        );
        assert_eq!(parse_record("made by hand"), None);
        assert_eq!(parse_record("x to pets1 through usage plan up1"), None);
        assert_eq!(application_words(None, Some("a1")), "application a1");
        assert_eq!(application_words(None, None), "an application");
    }
}
