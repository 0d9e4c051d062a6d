//! [`KeyStore`]: the API keys this provider issues, kept in one local JSON file, hashed.
//!
//! # Keys and hashes
//!
//! A key reads `{keyId}.{secret}`: `keyId` is 12 URL-safe base64 characters (72 random bits)
//! and names the record; `secret` is 43 characters (256 random bits). The store keeps, per
//! key, a random 16-byte salt and `HMAC-SHA256(salt, key)`; never the key itself. Verifying a
//! presented key finds the record by its `keyId` and compares the HMAC in constant time.
//!
//! # One active key per subscription: rotation
//!
//! The store holds at most one key per `graviteeSubscriptionId`. Because only hashes are kept, a
//! second delivery of the same subscription cannot be answered with the first key. Instead,
//! [`KeyStore::issue`] **rotates**: it replaces the subscription's record with a new key, in
//! the same atomic write, so the first key stops working the moment the second is returned. The
//! controller stores the key of the reply it accepts; a re-delivered SUBSCRIBE means that reply
//! was lost or timed out, so the newest key is the one the controller ends up holding. This
//! holds across restarts, since the record is keyed by subscription id in the file.
//!
//! # Durability
//!
//! Every change writes the whole file to a temporary file in the same directory, flushes it,
//! and renames it over the store (then flushes the directory): a crash leaves the old or the new
//! store, never half of one. A change is visible (and a key returned) only once it is on disk.
//! The file is created with mode 0600. One agent process owns a store file; other processes
//! (a gateway plugin, a CLI) may read it with [`KeyStore::open`] and [`KeyStore::verify`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use federation_core::Secret;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The file format version this code writes and reads.
pub const STORE_VERSION: u32 = 1;

/// Why the store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// Reading or writing the file failed.
    #[error("key store {path}: {action} failed: {source}")]
    Io {
        /// The store file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file exists but is not a key store this code can read. It is left untouched.
    #[error("key store {path} is unreadable: {message}")]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No randomness was available for a new key.
    #[error("no random bytes for a new key: {0}")]
    Random(String),
}

/// What a key is for: given to [`KeyStore::issue`], returned by [`KeyStore::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    /// Gravitee's subscription id.
    pub subscription_id: String,
    /// The provider API id (the document's relative path).
    pub api_id: String,
    /// The plan id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
    /// Gravitee's application id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
}

/// A key just issued.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    /// The record id (the part of the key before the dot).
    pub key_id: String,
    /// The key itself: shown once, never stored.
    pub key: Secret,
    /// Whether an earlier key of the same subscription was replaced (a re-delivery).
    pub rotated: bool,
}

/// A key that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedKey {
    /// The record id.
    pub key_id: String,
    /// What the key grants.
    pub grant: Grant,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    #[serde(flatten)]
    grant: Grant,
    /// Base64 of the 16-byte salt.
    salt: String,
    /// Base64 of HMAC-SHA256(salt, key).
    hash: String,
    /// Seconds since the Unix epoch.
    issued_at: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoreFile {
    version: u32,
    /// keyId → record.
    keys: BTreeMap<String, Record>,
}

/// The key store. Cheap to share behind an `Arc`; methods may be called concurrently.
#[derive(Debug)]
pub struct KeyStore {
    path: PathBuf,
    keys: RwLock<Arc<BTreeMap<String, Record>>>,
    /// Serialises read-modify-write cycles so that no change is lost.
    write: tokio::sync::Mutex<()>,
}

impl KeyStore {
    /// Opens the store at `path`: reads it if it exists, else starts empty (the file is created
    /// at the first change). A file that exists but cannot be read is an error, never replaced.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, KeyStoreError> {
        let path = path.into();
        let keys = match std::fs::read(&path) {
            Ok(bytes) => parse(&path, &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => {
                return Err(KeyStoreError::Io {
                    path,
                    action: "reading",
                    source,
                });
            }
        };
        Ok(Self {
            path,
            keys: RwLock::new(Arc::new(keys)),
            write: tokio::sync::Mutex::new(()),
        })
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn snapshot(&self) -> Arc<BTreeMap<String, Record>> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many keys are active.
    pub fn len(&self) -> usize {
        self.snapshot().len()
    }

    /// Whether no key is active.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The active key of a subscription (its record id and grant), if any.
    pub fn active_for(&self, subscription_id: &str) -> Option<VerifiedKey> {
        self.snapshot()
            .iter()
            .find(|(_, r)| r.grant.subscription_id == subscription_id)
            .map(|(key_id, r)| VerifiedKey {
                key_id: key_id.clone(),
                grant: r.grant.clone(),
            })
    }

    /// Checks a presented key: what it grants if it is active, `None` otherwise (unknown,
    /// revoked, rotated away or malformed). Constant-time in the secret part.
    pub fn verify(&self, presented: &str) -> Option<VerifiedKey> {
        let (key_id, _) = presented.split_once('.')?;
        let keys = self.snapshot();
        let record = keys.get(key_id)?;
        let salt = STANDARD.decode(&record.salt).ok()?;
        let hash = STANDARD.decode(&record.hash).ok()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&salt).ok()?;
        mac.update(presented.as_bytes());
        mac.verify_slice(&hash).ok()?;
        Some(VerifiedKey {
            key_id: key_id.to_owned(),
            grant: record.grant.clone(),
        })
    }

    /// Issues a key for `grant`, replacing (rotating) any key its subscription already has.
    /// Returns once the change is on disk.
    pub async fn issue(&self, grant: Grant) -> Result<IssuedKey, KeyStoreError> {
        let key_id = URL_SAFE_NO_PAD.encode(random::<9>()?);
        let key = format!("{key_id}.{}", URL_SAFE_NO_PAD.encode(random::<32>()?));
        let salt = random::<16>()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&salt)
            .map_err(|e| KeyStoreError::Random(e.to_string()))?;
        mac.update(key.as_bytes());
        let record = Record {
            grant,
            salt: STANDARD.encode(salt),
            hash: STANDARD.encode(mac.finalize().into_bytes()),
            issued_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };

        let _guard = self.write.lock().await;
        let mut keys = (*self.snapshot()).clone();
        let before = keys.len();
        keys.retain(|_, r| r.grant.subscription_id != record.grant.subscription_id);
        let rotated = keys.len() != before;
        keys.insert(key_id.clone(), record);
        self.commit(keys).await?;
        Ok(IssuedKey {
            key_id,
            key: Secret::new(key),
            rotated,
        })
    }

    /// Revokes the active key of a subscription. `Ok(false)` when it had none (already revoked,
    /// never issued): that is not an error.
    pub async fn revoke_subscription(&self, subscription_id: &str) -> Result<bool, KeyStoreError> {
        let _guard = self.write.lock().await;
        let mut keys = (*self.snapshot()).clone();
        let before = keys.len();
        keys.retain(|_, r| r.grant.subscription_id != subscription_id);
        if keys.len() == before {
            return Ok(false);
        }
        self.commit(keys).await?;
        Ok(true)
    }

    /// Writes `keys` to disk, then makes them the live set.
    async fn commit(&self, keys: BTreeMap<String, Record>) -> Result<(), KeyStoreError> {
        let file = StoreFile {
            version: STORE_VERSION,
            keys,
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| KeyStoreError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(|e| KeyStoreError::Io {
                path: self.path.clone(),
                action: "writing",
                source: std::io::Error::other(e.to_string()),
            })??;
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(file.keys);
        Ok(())
    }
}

/// Verifies `presented` against the store file at `path`, for a process that does not hold the
/// store open (a gateway plugin, a CLI): reads the file on every call, so it sees the latest
/// committed state. `Ok(None)` when the key is not active or the file does not exist yet.
pub fn verify_key_file(
    path: impl AsRef<Path>,
    presented: &str,
) -> Result<Option<VerifiedKey>, KeyStoreError> {
    Ok(KeyStore::open(path.as_ref())?.verify(presented))
}

fn parse(path: &Path, bytes: &[u8]) -> Result<BTreeMap<String, Record>, KeyStoreError> {
    let corrupt = |message: String| KeyStoreError::Corrupt {
        path: path.to_owned(),
        message,
    };
    let file: StoreFile = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    if file.version != STORE_VERSION {
        return Err(corrupt(format!(
            "version {} is not supported (expected {STORE_VERSION})",
            file.version
        )));
    }
    Ok(file.keys)
}

/// Temp file in the same directory, flushed, renamed over `path`, directory flushed.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), KeyStoreError> {
    let io = |action: &'static str| {
        move |source: std::io::Error| KeyStoreError::Io {
            path: path.to_owned(),
            action,
            source,
        }
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io("creating its directory"))?;
    // Hidden name: discovery never walks into it even when the store sits inside the tree.
    let mut temp = tempfile::Builder::new()
        .prefix(".keystore-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(io("creating a temporary file"))?;
    temp.write_all(bytes).map_err(io("writing"))?;
    temp.as_file().sync_all().map_err(io("flushing"))?;
    temp.persist(path)
        .map_err(|e| io("renaming into place")(e.error))?;
    #[cfg(unix)]
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io("flushing its directory"))?;
    Ok(())
}

fn random<const N: usize>() -> Result<[u8; N], KeyStoreError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| KeyStoreError::Random(e.to_string()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(subscription: &str) -> Grant {
        Grant {
            subscription_id: subscription.to_owned(),
            api_id: "pets/openapi.yaml".to_owned(),
            plan_id: Some("api-key".to_owned()),
            application_id: None,
        }
    }

    #[tokio::test]
    async fn keys_verify_and_are_not_stored_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path().join("keys.json")).unwrap();
        let issued = store.issue(grant("s1")).await.unwrap();
        let key = issued.key.expose().to_owned();
        assert!(key.starts_with(&format!("{}.", issued.key_id)));
        assert_eq!(key.len(), 12 + 1 + 43);
        let verified = store.verify(&key).unwrap();
        assert_eq!(verified.grant, grant("s1"));
        // A wrong secret with the right key id, a truncated key and garbage do not verify.
        let mut wrong = key.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(store.verify(&wrong), None);
        assert_eq!(store.verify(&key[..key.len() - 1]), None);
        assert_eq!(store.verify("nonsense"), None);
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert!(!text.contains(&key[13..]), "the secret is on disk: {text}");
        assert!(text.contains(&issued.key_id));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "store readable by others: {mode:o}");
        }
    }

    #[tokio::test]
    async fn a_second_issue_rotates_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/keys.json");
        let store = KeyStore::open(&path).unwrap();
        let first = store.issue(grant("s1")).await.unwrap();
        assert!(!first.rotated);
        drop(store);

        let store = KeyStore::open(&path).unwrap();
        assert!(
            store.verify(first.key.expose()).is_some(),
            "lost across a restart"
        );
        let second = store.issue(grant("s1")).await.unwrap();
        assert!(second.rotated);
        assert_eq!(store.verify(first.key.expose()), None);
        assert!(store.verify(second.key.expose()).is_some());
        assert_eq!(store.len(), 1);
        drop(store);

        let store = KeyStore::open(&path).unwrap();
        assert_eq!(store.len(), 1);
        assert_eq!(store.verify(first.key.expose()), None);
        assert!(store.verify(second.key.expose()).is_some());
        assert!(store.revoke_subscription("s1").await.unwrap());
        assert!(!store.revoke_subscription("s1").await.unwrap());
        assert!(store.is_empty());
        assert_eq!(KeyStore::open(&path).unwrap().len(), 0);
    }

    #[tokio::test]
    async fn concurrent_issues_leave_one_key_per_subscription() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(KeyStore::open(dir.path().join("keys.json")).unwrap());
        let mut tasks = Vec::new();
        for i in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.issue(grant(&format!("s{}", i % 4))).await.unwrap()
            }));
        }
        let mut issued = Vec::new();
        for task in tasks {
            issued.push(task.await.unwrap());
        }
        assert_eq!(store.len(), 4);
        let working = issued
            .iter()
            .filter(|k| store.verify(k.key.expose()).is_some())
            .count();
        assert_eq!(working, 4);
        let reopened = KeyStore::open(store.path()).unwrap();
        assert_eq!(reopened.len(), 4);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["keys.json"]);
    }

    #[test]
    fn a_corrupt_store_is_an_error_not_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = KeyStore::open(&path).unwrap_err();
        assert!(err.to_string().contains("keys.json is unreadable"), "{err}");
        std::fs::write(&path, r#"{"version":9,"keys":{}}"#).unwrap();
        let err = KeyStore::open(&path).unwrap_err();
        assert!(err.to_string().contains("version 9"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            r#"{"version":9,"keys":{}}"#
        );
    }
}
