//! The provider type, said once by the provider: the suite reads it from
//! `Provider::provider_type` (the fixture needs none), API metadata named after the type comes
//! back in SUBSCRIBE (as from APIM 4.9), a blank type fails `provider-type-declared`, and so
//! does a type other than the one the fixture names (the factory's).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use federation_core::{
    Api, ApiSink, Depth, DiscoverRequest, Plan, PlanSecurityType, Provider, ProviderError,
    ProviderFactory, Subscription, SubscriptionResult,
};
use federation_testkit::MemoryFactory;
use federation_testkit::contract::{Fixture, Outcome, Rule, check_provider};

/// Declares `needy` (or `declares`, when set); its subscribe needs the `needy-region` metadata
/// the controller copies from the API.
#[derive(Debug, Default)]
struct Needy {
    declares: Option<&'static str>,
    keys: Mutex<HashMap<String, String>>,
}

impl Needy {
    fn declaring(declares: &'static str) -> Self {
        Self {
            declares: Some(declares),
            ..Self::default()
        }
    }
}

#[async_trait]
impl Provider for Needy {
    fn provider_type(&self) -> &str {
        self.declares.unwrap_or("needy")
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
async fn a_type_other_than_the_factorys_fails_naming_both() {
    // The fixture names `needy` (the factory's type, say); the provider declares `needy-v2`.
    // The metadata still matches `needy`, so only the type rule fails.
    let provider = Needy::declaring("needy-v2");
    let fixture = Fixture::new("a", "p").with_provider_type("needy");
    let report = check_provider(&provider, &fixture).await;
    assert_eq!(report.failed_rules(), vec![Rule::ProviderTypeDeclared]);
    let Some(Outcome::Failed(why)) = report.outcome(Rule::ProviderTypeDeclared) else {
        panic!("{report}");
    };
    assert!(
        why.contains("`needy-v2`") && why.contains("`needy`") && why.contains("must be equal"),
        "{why}"
    );
    // Told the provider's own type, the suite passes.
    let fixture = Fixture::new("a", "p").with_provider_type("needy");
    check_provider(&Needy::default(), &fixture)
        .await
        .assert_passed();
}

#[tokio::test]
async fn a_blank_or_padded_type_fails() {
    for (declared, words) in [("", "is blank"), ("  ", "is blank"), (" needy", "spaces")] {
        let provider = Needy::declaring(declared);
        let fixture = Fixture::new("a", "p").with_provider_type("needy");
        let report = check_provider(&provider, &fixture).await;
        assert_eq!(
            report.failed_rules(),
            vec![Rule::ProviderTypeDeclared],
            "{declared:?}:\n{report}"
        );
        let Some(Outcome::Failed(why)) = report.outcome(Rule::ProviderTypeDeclared) else {
            unreachable!()
        };
        assert!(why.contains(words), "{declared:?}: {why}");
    }
}

#[tokio::test]
async fn the_fixture_can_take_the_factorys_type() {
    // The memory provider declares its factory's type.
    let provider = federation_testkit::MemoryProvider::with_sample_apis(2);
    let fixture = Fixture::new("api-0", "gold-0").with_provider_type(MemoryFactory.provider_type());
    check_provider(&provider, &fixture).await.assert_passed();
    let fixture = Fixture::new("api-0", "gold-0").with_provider_type("aws-api-gateway");
    let report = check_provider(&provider, &fixture).await;
    assert_eq!(report.failed_rules(), vec![Rule::ProviderTypeDeclared]);
}
