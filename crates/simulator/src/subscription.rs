//! Subscriptions the agent accepted, and the API key the portal shows for each, as APIM keeps
//! them (`docs/reference/integration-commands.md` §1.5, §1.6, §9 "Shared API-key mode").

use federation_core::model::StringMap;
use federation_core::{Secret, SubscriptionType};

use crate::apim::ApiKeyMode;
use crate::state::State;

/// A subscription accepted through SUBSCRIBE, as APIM stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedSubscription {
    /// The Gravitee subscription id.
    pub subscription_id: String,
    /// The integration the SUBSCRIBE went to.
    pub integration_id: String,
    /// The provider API id (`apiId`).
    pub api_id: String,
    /// `graviteeApplicationId`.
    pub application_id: String,
    /// `graviteeApplicationName`.
    pub application_name: String,
    /// `API_KEY` or `OAUTH`.
    pub subscription_type: SubscriptionType,
    /// The application's OAuth client id (`consumerKey`), for OAUTH.
    pub client_id: Option<String>,
    /// The `apiKey` the agent returned, if any.
    pub agent_api_key: Option<Secret>,
    /// The key the portal shows for this subscription: the agent's in exclusive mode, the
    /// application's first key in shared mode; `None` when the agent returned a blank key or
    /// the subscription is not API_KEY.
    pub shown_api_key: Option<Secret>,
    /// The API-key mode the application had.
    pub api_key_mode: ApiKeyMode,
    /// The reply's `metadata`, stored as the subscription's metadata: it comes back in
    /// UNSUBSCRIBE, overriding the API's `connectionDetails` and `consumerKey`.
    pub metadata: StringMap,
}

/// The key APIM attaches to a newly accepted subscription, and the application's key kept for
/// shared mode. APIM calls `GenerateApiKeyDomainService.generateForFederated` only for a
/// non-blank `apiKey`; in shared mode `findOrGenerate` attaches the application's existing key
/// and uses the agent's only when the application has none. The simulator keeps an
/// application's first key as its key for good (APIM finds revoked keys of the application
/// too).
pub(crate) fn shown_key(
    state: &mut State,
    mode: ApiKeyMode,
    application_id: &str,
    subscription_type: SubscriptionType,
    agent_key: Option<&Secret>,
) -> Option<Secret> {
    if subscription_type != SubscriptionType::ApiKey {
        // OAUTH: `apiKey` is ignored (§1.5).
        return None;
    }
    let agent_key = agent_key.filter(|k| !k.expose().trim().is_empty())?;
    let application_key = state
        .application_keys
        .entry(application_id.to_owned())
        .or_insert_with(|| agent_key.clone());
    match mode {
        ApiKeyMode::Exclusive => Some(agent_key.clone()),
        ApiKeyMode::Shared => Some(application_key.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(value: &str) -> Option<Secret> {
        Some(Secret::new(value))
    }

    #[test]
    fn shared_mode_shows_the_applications_first_key() {
        let mut state = State::default();
        let api_key = SubscriptionType::ApiKey;
        let shown = |state: &mut State, mode, app: &str, agent: &str| {
            shown_key(state, mode, app, api_key, key(agent).as_ref()).map(|k| k.expose().to_owned())
        };
        assert_eq!(
            shown(&mut state, ApiKeyMode::Shared, "app-1", "k1").as_deref(),
            Some("k1")
        );
        assert_eq!(
            shown(&mut state, ApiKeyMode::Shared, "app-1", "k2").as_deref(),
            Some("k1")
        );
        assert_eq!(
            shown(&mut state, ApiKeyMode::Shared, "app-2", "k3").as_deref(),
            Some("k3")
        );
        assert_eq!(
            shown(&mut state, ApiKeyMode::Exclusive, "app-3", "k4").as_deref(),
            Some("k4")
        );
        assert_eq!(
            shown(&mut state, ApiKeyMode::Exclusive, "app-3", "k5").as_deref(),
            Some("k5")
        );
    }

    #[test]
    fn a_blank_key_or_an_oauth_subscription_shows_none() {
        let mut state = State::default();
        let blank = key("  ");
        assert_eq!(
            shown_key(
                &mut state,
                ApiKeyMode::Shared,
                "app",
                SubscriptionType::ApiKey,
                blank.as_ref()
            ),
            None
        );
        assert!(state.application_keys.is_empty(), "a blank key is no key");
        let k = key("k");
        assert_eq!(
            shown_key(
                &mut state,
                ApiKeyMode::Shared,
                "app",
                SubscriptionType::Oauth,
                k.as_ref()
            ),
            None
        );
        assert_eq!(
            shown_key(
                &mut state,
                ApiKeyMode::Shared,
                "app",
                SubscriptionType::ApiKey,
                None
            ),
            None
        );
    }
}
