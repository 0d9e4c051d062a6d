//! [`LookedFor`]: where the loader looked for a key nobody set, so that an "is missing" error
//! names the places a value would have come from (the `gravitee_*` variable and the
//! `gravitee.yml` files, read or absent) instead of a variable that set some other key.

use std::fmt::Write as _;
use std::path::PathBuf;

use federation_core::SettingsError;

/// The configuration files the loader looked at, each with whether it was read.
#[derive(Debug, Clone, Default)]
pub(crate) struct LookedFor {
    files: Vec<(PathBuf, bool)>,
}

impl LookedFor {
    /// Files looked at: (path, whether it was read).
    pub(crate) fn new(files: Vec<(PathBuf, bool)>) -> Self {
        Self { files }
    }

    /// `looked for in env gravitee_a_b_0 and in /etc/gravitee.yml` (a file that was not there
    /// says so) for the key `a.b[0]`.
    pub(crate) fn describe(&self, key: &str) -> String {
        let mut text = format!("looked for in env {}", env_name(key));
        if self.files.is_empty() {
            text.push_str(" (no gravitee.yml)");
            return text;
        }
        text.push_str(" and in ");
        for (index, (path, read)) in self.files.iter().enumerate() {
            if index > 0 {
                text.push_str(", ");
            }
            let _ = write!(text, "{}", path.display());
            if !read {
                text.push_str(" (no such file)");
            }
        }
        text
    }

    /// `key problem; looked for in …`, with no origin: nobody set the key. `env_key` names the
    /// key whose variable would set it (`…endpoints[0]` for the list `…endpoints`).
    pub(crate) fn missing(&self, key: &str, env_key: &str, problem: &str) -> SettingsError {
        SettingsError::new(key, format!("{problem}; {}", self.describe(env_key)), None)
    }
}

/// The variable that sets `key`: `integration.providers[0].type` →
/// `gravitee_integration_providers_0_type`.
pub(crate) fn env_name(key: &str) -> String {
    let mut name = String::from("gravitee_");
    for c in key.chars() {
        match c {
            '.' | '[' => name.push('_'),
            ']' => {}
            c => name.push(c),
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_the_variable_that_sets_them() {
        assert_eq!(
            env_name("integration.providers[0].type"),
            "gravitee_integration_providers_0_type"
        );
        assert_eq!(
            env_name("integration.connector.drift.stateFile"),
            "gravitee_integration_connector_drift_stateFile"
        );
    }

    #[test]
    fn the_description_names_the_variable_and_every_file() {
        let none = LookedFor::default();
        assert_eq!(
            none.describe("a.b[0]"),
            "looked for in env gravitee_a_b_0 (no gravitee.yml)"
        );
        let files = LookedFor::new(vec![
            ("/etc/gravitee.yml".into(), true),
            ("/opt/config/gravitee.yml".into(), false),
        ]);
        assert_eq!(
            files.describe("a.c"),
            "looked for in env gravitee_a_c and in /etc/gravitee.yml, \
             /opt/config/gravitee.yml (no such file)"
        );
    }
}
