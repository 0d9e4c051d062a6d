//! The rules about what a provider declares rather than does: its type and its capabilities.

use federation_core::{Provider, SubscriptionType};

use super::{Fixture, Outcome, blank, verdict};

/// [`Rule::ProviderTypeDeclared`](super::Rule::ProviderTypeDeclared): `provider_type()` is
/// non-blank, without surrounding spaces, and, when the fixture names a type (the factory's),
/// equal to it.
pub(super) fn provider_type(provider: &dyn Provider, fixture: &Fixture) -> Outcome {
    let declared = provider.provider_type();
    if blank(declared) {
        return Outcome::Failed(format!(
            "provider_type() is blank ({declared:?}): return the integration's provider type in \
             APIM, the value of integration.providers[i].type"
        ));
    }
    let mut problems = Vec::new();
    if declared.trim() != declared {
        problems.push(format!(
            "provider_type() {declared:?} has spaces around it; HELLO's provider is compared \
             exactly"
        ));
    }
    if let Some(expected) = &fixture.provider_type
        && expected != declared
    {
        problems.push(format!(
            "provider_type() is `{declared}` but the fixture (the factory's type) says \
             `{expected}`; they must be equal"
        ));
    }
    verdict(problems)
}

/// [`Rule::CapabilitiesDeclared`](super::Rule::CapabilitiesDeclared): `capabilities()` lists at
/// least one subscription type, none twice, including the one the fixture subscribes with. The
/// connector refuses any other type before calling `subscribe`, so the suite never calls
/// `subscribe` with one: refusing is the connector's job, not the provider's.
pub(super) fn capabilities(provider: &dyn Provider, fixture: &Fixture) -> Outcome {
    let listed = provider.capabilities().subscription_types;
    if listed.is_empty() {
        return Outcome::Failed(
            "capabilities() lists no subscription type: the connector would refuse every \
             SUBSCRIBE"
                .to_owned(),
        );
    }
    let spell = |types: &[SubscriptionType]| {
        types
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut problems = Vec::new();
    let mut twice: Vec<SubscriptionType> = listed
        .iter()
        .enumerate()
        .filter(|(i, t)| listed[..*i].contains(t))
        .map(|(_, t)| *t)
        .collect();
    twice.dedup();
    if !twice.is_empty() {
        problems.push(format!("capabilities() lists {} twice", spell(&twice)));
    }
    if !listed.contains(&fixture.subscription_type) {
        problems.push(format!(
            "the fixture subscribes with {}, which capabilities() does not list ({}): the \
             connector would refuse it before calling subscribe",
            fixture.subscription_type.as_str(),
            spell(&listed)
        ));
    }
    verdict(problems)
}
