//! `Display` for the status types, so a host prints a channel's state in one line.

use std::fmt;

use crate::status::{ChannelState, IntegrationStatus};

impl fmt::Display for ChannelState {
    /// `connecting`, `connected`, `stopped` or `failed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for IntegrationStatus {
    /// One line: `embedded (memory): connected, primary, via http://127.0.0.1:8072/…, 1
    /// reconnect, provider healthy`; the last error and an unhealthy provider's reason are
    /// added when there are any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.integration_id, self.provider_type, self.state
        )?;
        if self.primary {
            f.write_str(", primary")?;
        }
        if let Some(endpoint) = &self.endpoint {
            write!(f, ", via {endpoint}")?;
        }
        match self.reconnects {
            0 => {}
            1 => f.write_str(", 1 reconnect")?,
            n => write!(f, ", {n} reconnects")?,
        }
        if self.failed_attempts > 0 {
            write!(f, ", {} failed attempt(s)", self.failed_attempts)?;
        }
        match &self.provider_health {
            Some(health) if health.healthy => f.write_str(", provider healthy")?,
            Some(health) => write!(
                f,
                ", provider unhealthy: {}",
                health.detail.as_deref().unwrap_or("no reason given")
            )?,
            None => {}
        }
        if let Some(error) = &self.last_error {
            write!(f, ", last error: {error}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use federation_core::Health;

    fn status() -> IntegrationStatus {
        IntegrationStatus::new("embedded", "memory")
    }

    #[test]
    fn a_new_channel_is_one_short_line() {
        assert_eq!(status().to_string(), "embedded (memory): connecting");
        assert_eq!(ChannelState::Failed.to_string(), "failed");
    }

    #[test]
    fn everything_known_is_shown() {
        let mut status = status();
        status.state = ChannelState::Connected;
        status.primary = true;
        status.endpoint = Some("http://127.0.0.1:8072/integration-controller".to_owned());
        status.reconnects = 2;
        status.failed_attempts = 1;
        status.provider_health = Some(Health::unhealthy("token expired"));
        status.last_error = Some("connection refused".to_owned());
        assert_eq!(
            status.to_string(),
            "embedded (memory): connected, primary, via \
             http://127.0.0.1:8072/integration-controller, 2 reconnects, 1 failed attempt(s), \
             provider unhealthy: token expired, last error: connection refused"
        );
    }
}
