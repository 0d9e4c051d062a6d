//! The suite reads the provider type from `Provider::provider_type`: the fixture needs none,
//! API metadata named after the type comes back in SUBSCRIBE (as from APIM 4.9), and an
//! unsupported-type error must name the declared type.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use federation_core::{
    Api, ApiSink, Depth, DiscoverRequest, Plan, PlanSecurityType, Provider, ProviderError,
    Subscription, SubscriptionResult, SubscriptionType,
};
use federation_testkit::contract::{Fixture, Outcome, Rule, check_provider};

/// Declares `needy`; its subscribe needs the `needy-region` metadata the controller copies
/// from the API. `wrong_name` makes its unsupported-type error name another provider.
#[derive(Debug, Default)]
struct Needy {
    wrong_name: bool,
    keys: Mutex<HashMap<String, String>>,
}

#[async_trait]
impl Provider for Needy {
    fn provider_type(&self) -> &str {
        "needy"
    }

    async fn discover(
        &self,
        request: &DiscoverRequest,
        sink: &ApiSink,
    ) -> Result<(), ProviderError> {
        for id in ["a", "b"]
            .into_iter()
            .filter(|id| request.selection.includes(id))
        {
            let mut api =
                Api::new(format!("needy:{id}"), id, format!("API {id}")).with_version("1");
            if request.depth == Depth::Full {
                api = api
                    .with_plan(Plan::new("p", "P", PlanSecurityType::ApiKey))
                    .with_metadata("needy-region", "eu-1");
            }
            sink.emit(api).await?;
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        _: &str,
        s: &Subscription,
    ) -> Result<SubscriptionResult, ProviderError> {
        if self.wrong_name && s.subscription_type != Some(SubscriptionType::ApiKey) {
            return Err(ProviderError::unsupported_subscription(
                "someone-else",
                &[SubscriptionType::ApiKey],
                s.subscription_type,
            ));
        }
        self.check_subscription(s)?;
        if s.metadata_value("needy-region") != Some("eu-1") {
            return Err(ProviderError::InvalidRequest(
                "no needy-region in the metadata".into(),
            ));
        }
        let id = &s.gravitee_subscription_id;
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let key = keys
            .entry(id.clone())
            .or_insert_with(|| format!("key-{id}"))
            .clone();
        Ok(SubscriptionResult::new(id).with_api_key(key))
    }

    async fn revoke(&self, _: &str, s: &Subscription) -> Result<(), ProviderError> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.remove(&s.gravitee_subscription_id);
        Ok(())
    }
}

#[tokio::test]
async fn the_declared_type_selects_the_metadata_sent_back_in_subscribe() {
    let report = check_provider(&Needy::default(), &Fixture::new("a", "p")).await;
    report.assert_passed();
}

#[tokio::test]
async fn an_unsupported_type_error_must_name_the_declared_type() {
    let provider = Needy {
        wrong_name: true,
        ..Needy::default()
    };
    let report = check_provider(&provider, &Fixture::new("a", "p")).await;
    assert_eq!(
        report.failed_rules(),
        vec![Rule::UnsupportedSubscriptionRejected]
    );
    let Some(Outcome::Failed(why)) = report.outcome(Rule::UnsupportedSubscriptionRejected) else {
        panic!("{report}");
    };
    assert!(why.contains("needy"), "{why}");
}
