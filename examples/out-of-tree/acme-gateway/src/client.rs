//! A stand-in for Acme Gateway's SDK client, in memory: what a real provider calls over the
//! network (list APIs page by page, export a document, list plans, create, find and delete API
//! keys). Its state lives behind an `Arc`, as a vendor's does outside the process: clones of a
//! client see the same keys.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use federation_core::{ProviderError, Secret};

/// One API as Acme lists it.
#[derive(Debug, Clone)]
pub struct ListedApi {
    /// Acme's id of the API.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// The stage it is deployed on.
    pub stage: String,
    /// Where clients call it.
    pub url: String,
}

/// One of Acme's plans, and the APIs a key on it opens.
#[derive(Debug, Clone)]
pub struct AcmePlan {
    /// Acme's id of the plan.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// The ids of the APIs it covers.
    pub api_ids: Vec<String>,
}

/// An API key, as Acme shows it.
#[derive(Debug, Clone)]
pub struct AcmeKey {
    /// Acme's id of the key.
    pub id: String,
    /// The key's name (the provider names its keys `gravitee-<subscription id>`).
    pub name: String,
    /// The key itself.
    pub value: Secret,
    /// The API it was created for.
    pub api_id: String,
    /// The plan it sits on.
    pub plan_id: String,
}

/// What Acme answers when a call fails.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// No such API, plan or key.
    #[error("Acme has no such {0}")]
    NotFound(&'static str),
    /// The API token was refused.
    #[error("Acme refused the API token")]
    Unauthorized,
}

impl From<AcmeError> for ProviderError {
    fn from(error: AcmeError) -> Self {
        match error {
            AcmeError::Unauthorized => ProviderError::PermissionDenied(
                "Acme refused the API token: check `apiToken` and its `keys:write` scope".into(),
            ),
            other => ProviderError::backend_with("Acme call failed", other),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// key name → key.
    keys: BTreeMap<String, AcmeKey>,
    created: u64,
}

/// A client for one Acme region.
#[derive(Debug, Clone, Default)]
pub struct AcmeClient {
    page_size: usize,
    state: Arc<Mutex<State>>,
}

const APIS: [(&str, &str); 3] = [
    ("petstore", "Petstore"),
    ("orders", "Orders"),
    ("billing", "Billing"),
];

impl AcmeClient {
    /// A client for `region`, authenticated with `token` (the stand-in accepts any non-blank
    /// token), listing `page_size` APIs per call.
    pub async fn connect(region: &str, token: &Secret, page_size: u32) -> Result<Self, AcmeError> {
        if region.trim().is_empty() || token.expose().trim().is_empty() {
            return Err(AcmeError::Unauthorized);
        }
        Ok(Self {
            page_size: usize::try_from(page_size).unwrap_or(usize::MAX).max(1),
            state: Arc::default(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every API, fetched a page at a time.
    pub async fn list_apis(&self) -> Result<Vec<ListedApi>, AcmeError> {
        let mut apis = Vec::new();
        for page in APIS.chunks(self.page_size) {
            apis.extend(page.iter().map(|(id, name)| ListedApi {
                id: (*id).to_owned(),
                name: format!("{name} API"),
                stage: "prod".to_owned(),
                url: format!("https://{id}.acme.example/prod"),
            }));
        }
        Ok(apis)
    }

    /// The API's OpenAPI document.
    pub async fn export_openapi(&self, api_id: &str) -> Result<String, AcmeError> {
        let (_, name) = APIS
            .iter()
            .find(|(id, _)| *id == api_id)
            .ok_or(AcmeError::NotFound("API"))?;
        Ok(format!(
            r#"{{"openapi":"3.0.3","info":{{"title":"{name} API","version":"prod"}},"paths":{{}}}}"#
        ))
    }

    /// Every plan: `standard` covers every API, `premium` the petstore only.
    pub async fn list_plans(&self) -> Result<Vec<AcmePlan>, AcmeError> {
        let all = APIS.iter().map(|(id, _)| (*id).to_owned()).collect();
        Ok(vec![
            AcmePlan {
                id: "standard".into(),
                name: "Standard".into(),
                api_ids: all,
            },
            AcmePlan {
                id: "premium".into(),
                name: "Premium".into(),
                api_ids: vec!["petstore".into()],
            },
        ])
    }

    /// The plans that cover `api_id`.
    pub async fn plans_of(&self, api_id: &str) -> Result<Vec<AcmePlan>, AcmeError> {
        let mut plans = self.list_plans().await?;
        plans.retain(|plan| plan.api_ids.iter().any(|id| id == api_id));
        Ok(plans)
    }

    /// The key named `name`, if there is one.
    pub async fn find_key_named(&self, name: &str) -> Result<Option<AcmeKey>, AcmeError> {
        Ok(self.state().keys.get(name).cloned())
    }

    /// The keys whose name starts with `prefix`.
    pub async fn keys_named_like(&self, prefix: &str) -> Result<Vec<AcmeKey>, AcmeError> {
        let state = self.state();
        Ok(state
            .keys
            .values()
            .filter(|key| key.name.starts_with(prefix))
            .cloned()
            .collect())
    }

    /// Creates a key named `name` on `plan_id` for `api_id`.
    pub async fn create_key(
        &self,
        name: &str,
        api_id: &str,
        plan_id: &str,
    ) -> Result<AcmeKey, AcmeError> {
        let plans = self.plans_of(api_id).await?;
        if !plans.iter().any(|plan| plan.id == plan_id) {
            return Err(AcmeError::NotFound("plan on that API"));
        }
        let mut state = self.state();
        state.created += 1;
        let n = state.created;
        let key = AcmeKey {
            id: format!("ak-{n:04}"),
            name: name.to_owned(),
            value: Secret::new(format!("acme-{n:04}-{:016x}", fastish_hash(name, n))),
            api_id: api_id.to_owned(),
            plan_id: plan_id.to_owned(),
        };
        state.keys.insert(name.to_owned(), key.clone());
        Ok(key)
    }

    /// Whether the key with id `key_id` exists (and so works).
    pub async fn key_exists(&self, key_id: &str) -> Result<bool, AcmeError> {
        Ok(self.state().keys.values().any(|key| key.id == key_id))
    }

    /// Deletes the key with id `key_id`; `NotFound` if there is none.
    pub async fn delete_key(&self, key_id: &str) -> Result<(), AcmeError> {
        let mut state = self.state();
        let before = state.keys.len();
        state.keys.retain(|_, key| key.id != key_id);
        if state.keys.len() == before {
            Err(AcmeError::NotFound("key"))
        } else {
            Ok(())
        }
    }
}

/// A key value nobody would guess twice (the stand-in's, not a secure generator).
fn fastish_hash(name: &str, n: u64) -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one((name, n))
}
