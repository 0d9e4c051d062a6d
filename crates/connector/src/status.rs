//! [`StatusBoard`]: what each integration's channel is doing, for health endpoints and tests.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use federation_core::Health;
use tokio::sync::watch;

/// Where a channel is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    /// Connecting, or waiting to reconnect.
    Connecting,
    /// HELLO accepted: the channel is active.
    Connected,
    /// Stopped on purpose (shutdown, or GOOD_BYE without reconnect).
    Stopped,
    /// Stopped because the controller rejected the HELLO.
    Failed,
}

impl ChannelState {
    /// A lower-case name for JSON and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
        }
    }
}

/// One integration's channel.
#[derive(Debug, Clone)]
pub struct IntegrationStatus {
    /// The integration id (HELLO `targetId`).
    pub integration_id: String,
    /// The provider type (HELLO `provider`).
    pub provider_type: String,
    /// The endpoint of the current or last attempt.
    pub endpoint: Option<String>,
    /// The channel's state.
    pub state: ChannelState,
    /// Whether the controller elected this channel primary.
    pub primary: bool,
    /// When the last HELLO was accepted.
    pub last_hello_at: Option<SystemTime>,
    /// Failed connection attempts since the last accepted HELLO.
    pub failed_attempts: u32,
    /// Connections re-established after the first one.
    pub reconnects: u64,
    /// The last connection error, if any.
    pub last_error: Option<String>,
    /// What the provider answered to the last health check.
    pub provider_health: Option<Health>,
}

impl IntegrationStatus {
    /// A channel not yet connected: `Connecting`, nothing known about it yet.
    pub fn new(integration_id: impl Into<String>, provider_type: impl Into<String>) -> Self {
        Self {
            integration_id: integration_id.into(),
            provider_type: provider_type.into(),
            endpoint: None,
            state: ChannelState::Connecting,
            primary: false,
            last_hello_at: None,
            failed_attempts: 0,
            reconnects: 0,
            last_error: None,
            provider_health: None,
        }
    }

    /// Whether the channel is active.
    pub fn connected(&self) -> bool {
        self.state == ChannelState::Connected
    }
}

/// Shared, cheap-to-clone status of every integration of a connector.
#[derive(Debug, Clone)]
pub struct StatusBoard {
    entries: Arc<RwLock<Vec<IntegrationStatus>>>,
    changes: Arc<watch::Sender<u64>>,
}

impl Default for StatusBoard {
    fn default() -> Self {
        Self {
            entries: Arc::default(),
            changes: Arc::new(watch::channel(0).0),
        }
    }
}

impl StatusBoard {
    /// Every integration, in configuration order.
    pub fn snapshot(&self) -> Vec<IntegrationStatus> {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// One integration by id.
    pub fn get(&self, integration_id: &str) -> Option<IntegrationStatus> {
        self.snapshot()
            .into_iter()
            .find(|s| s.integration_id == integration_id)
    }

    /// Whether every integration has an active channel (and there is at least one).
    pub fn all_connected(&self) -> bool {
        let entries = self.snapshot();
        !entries.is_empty() && entries.iter().all(IntegrationStatus::connected)
    }

    /// Waits until `condition` holds for the board, or `timeout` passes. Returns whether it held.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        condition: impl Fn(&[IntegrationStatus]) -> bool,
    ) -> bool {
        let mut changes = self.changes.subscribe();
        let wait = async {
            loop {
                if condition(&self.snapshot()) {
                    return;
                }
                if changes.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok() && condition(&self.snapshot())
    }

    pub(crate) fn get_index(&self, index: usize) -> Option<IntegrationStatus> {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(index)
            .cloned()
    }

    pub(crate) fn register(&self, integration_id: &str, provider_type: &str) -> usize {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries.push(IntegrationStatus::new(integration_id, provider_type));
        entries.len() - 1
    }

    pub(crate) fn update(&self, index: usize, change: impl FnOnce(&mut IntegrationStatus)) {
        {
            let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
            if let Some(entry) = entries.get_mut(index) {
                change(entry);
            }
        }
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}
