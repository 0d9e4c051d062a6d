//! A stand-in for the vendor: *Acme API Hub* and its SDK client, in memory.
//!
//! This is not part of the provider; it plays the role of the vendor's cloud and SDK crate that
//! a real provider calls. As with a real vendor, every client connected to the same tenant
//! sees the same keys, so the demo and the tests can check from outside the provider whether a
//! key works.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use federation_core::Secret;

/// An API published on Acme API Hub.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AcmeApi {
    /// Acme's id for the API.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Version label.
    pub version: &'static str,
    /// Plans consumers subscribe to: (id, name).
    pub plans: &'static [(&'static str, &'static str)],
}

/// Every tenant sees the same catalog.
const CATALOG: &[AcmeApi] = &[
    AcmeApi {
        id: "weather",
        name: "Weather API",
        version: "2.1.0",
        plans: &[("free", "Free"), ("pro", "Pro")],
    },
    AcmeApi {
        id: "payments",
        name: "Payments API",
        version: "1.4.2",
        plans: &[("partner", "Partner")],
    },
    AcmeApi {
        id: "geocoding",
        name: "Geocoding API",
        version: "3.0.0",
        plans: &[("free", "Free")],
    },
];

/// An API key issued by Acme. Its value is a [`Secret`]: `Debug` never shows it.
#[derive(Debug, Clone)]
pub(crate) struct AcmeKey {
    /// Acme's id for the key.
    pub id: String,
    /// The client token it was created with.
    pub client_token: String,
    /// The key itself.
    pub value: Secret,
    /// The API it opens.
    pub api_id: String,
}

/// What Acme's API answers with when a call fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AcmeError {
    /// The API, plan or key does not exist.
    NotFound(String),
}

impl std::fmt::Display for AcmeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound(what) => write!(f, "Acme API Hub: {what} does not exist"),
        }
    }
}

impl std::error::Error for AcmeError {}

/// One tenant's keys, as the vendor stores them.
type Keys = Arc<Mutex<Vec<AcmeKey>>>;

/// An Acme API Hub client, connected to one tenant.
#[derive(Debug, Clone)]
pub(crate) struct AcmeClient {
    keys: Keys,
}

impl AcmeClient {
    /// Connects to `tenant` (the token would authenticate the client; any value will do here).
    pub(crate) fn connect(tenant: &str, _api_token: &Secret) -> Self {
        static TENANTS: OnceLock<Mutex<HashMap<String, Keys>>> = OnceLock::new();
        let tenants = TENANTS.get_or_init(Mutex::default);
        let mut tenants = tenants.lock().unwrap_or_else(PoisonError::into_inner);
        let keys = tenants.entry(tenant.to_owned()).or_default().clone();
        Self { keys }
    }

    fn keys(&self) -> MutexGuard<'_, Vec<AcmeKey>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `GET /apis`: the tenant's APIs.
    pub(crate) async fn list_apis(&self) -> Result<Vec<AcmeApi>, AcmeError> {
        Ok(CATALOG.to_vec())
    }

    /// `POST /keys`: a key for `api_id` on `plan_id`. Idempotent on `client_token`: a second
    /// call with the same token returns the key the first one created.
    pub(crate) async fn create_key(
        &self,
        client_token: &str,
        api_id: &str,
        plan_id: &str,
    ) -> Result<AcmeKey, AcmeError> {
        let api = CATALOG
            .iter()
            .find(|api| api.id == api_id)
            .ok_or_else(|| AcmeError::NotFound(format!("API {api_id}")))?;
        if !api.plans.iter().any(|(id, _)| *id == plan_id) {
            return Err(AcmeError::NotFound(format!(
                "plan {plan_id} of API {api_id}"
            )));
        }
        let mut keys = self.keys();
        if let Some(key) = keys.iter().find(|k| k.client_token == client_token) {
            return Ok(key.clone());
        }
        let key = AcmeKey {
            id: format!("ak-{}", &random_hex()[..12]),
            client_token: client_token.to_owned(),
            value: Secret::new(format!("acme_{}", random_hex())),
            api_id: api_id.to_owned(),
        };
        keys.push(key.clone());
        Ok(key)
    }

    /// `DELETE /keys/{id}`.
    pub(crate) async fn delete_key(&self, key_id: &str) -> Result<(), AcmeError> {
        let mut keys = self.keys();
        let before = keys.len();
        keys.retain(|k| k.id != key_id);
        if keys.len() == before {
            return Err(AcmeError::NotFound(format!("key {key_id}")));
        }
        Ok(())
    }

    /// What Acme's gateway answers when `value` is presented on `api_id`.
    pub(crate) async fn key_works(&self, api_id: &str, value: &str) -> bool {
        self.keys()
            .iter()
            .any(|k| k.api_id == api_id && k.value.expose() == value)
    }
}

/// 128 random bits as hex, from std's randomly keyed hasher (a real vendor makes its own keys).
fn random_hex() -> String {
    let state = RandomState::new();
    format!("{:016x}{:016x}", state.hash_one(1u8), state.hash_one(2u8))
}
