//! The provider's `configuration` block: [`OpenApiFilesConfig`] as read from the settings, and
//! [`Resolved`], the checked form the provider runs on.

use std::path::PathBuf;

use federation_core::settings::{comma_list, list};
use federation_core::{Plan, PlanSecurityType, ProviderSettings, SettingsError};
use glob::{MatchOptions, Pattern};
use serde::Deserialize;

/// Every key of the block, for [`ProviderFactory::config_keys`](federation_core::ProviderFactory)
/// (nested keys dotted, list elements marked `[]`, as the configuration loader's key catalogue
/// reads them): with these, `..._CONFIGURATION_PLANS_0_ID` resolves to `plans[0].id`.
pub const CONFIG_KEYS: &[&str] = &[
    "directory",
    "keyStorePath",
    "plans[].id",
    "plans[].name",
    "plans[].description",
    "plans[].characteristics[]",
    "include[]",
    "exclude[]",
    "maxFileSize",
];

/// The patterns a file must match when `include` is not set.
pub const DEFAULT_INCLUDE: &[&str] = &["**/*.json", "**/*.yaml", "**/*.yml"];

/// Files larger than this are skipped when `maxFileSize` is not set (10 MiB).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// The id of the plan offered when no plan is configured.
pub const DEFAULT_PLAN_ID: &str = "api-key";

/// The `configuration` block, as written (camelCase keys).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenApiFilesConfig {
    /// The root of the tree to discover documents in (required).
    pub directory: PathBuf,
    /// The file API key hashes are kept in (required). Put it on a persistent volume, outside
    /// `directory` (which is often a read-only checkout or config map).
    pub key_store_path: PathBuf,
    /// The plans every API offers (default: one `API_KEY` plan with id `api-key`).
    #[serde(default, deserialize_with = "list")]
    pub plans: Vec<PlanConfig>,
    /// Glob patterns (relative to `directory`, `/`-separated) a file must match one of; a list
    /// or a comma-separated string. Default: [`DEFAULT_INCLUDE`].
    #[serde(default, deserialize_with = "comma_list")]
    pub include: Vec<String>,
    /// Glob patterns of files to skip (default: none). Hidden files and directories (name
    /// starting with `.`) are always skipped.
    #[serde(default, deserialize_with = "comma_list")]
    pub exclude: Vec<String>,
    /// Files larger than this many bytes are skipped with a warning. Default:
    /// [`DEFAULT_MAX_FILE_SIZE`].
    #[serde(default)]
    pub max_file_size: Option<u64>,
}

impl OpenApiFilesConfig {
    /// A configuration with the two required keys and defaults for the rest.
    pub fn new(directory: impl Into<PathBuf>, key_store_path: impl Into<PathBuf>) -> Self {
        Self {
            directory: directory.into(),
            key_store_path: key_store_path.into(),
            plans: Vec::new(),
            include: Vec::new(),
            exclude: Vec::new(),
            max_file_size: None,
        }
    }
}

/// One configured plan (`plans[i].*`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanConfig {
    /// The plan id (required, unique): comes back as `planId` in SUBSCRIBE.
    pub id: String,
    /// Display name (default: the id).
    #[serde(default)]
    pub name: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Human-readable facts such as `rate 100/s` (a list).
    #[serde(default, deserialize_with = "list")]
    pub characteristics: Vec<String>,
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The canonical root directory.
    pub root: PathBuf,
    /// The key store file.
    pub key_store_path: PathBuf,
    /// The plans every API offers (never empty).
    pub plans: Vec<Plan>,
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
    /// The size limit in bytes.
    pub max_file_size: u64,
}

const MATCH: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

impl Resolved {
    /// Checks `config`; errors name the key under `settings`' prefix.
    pub fn new(
        config: OpenApiFilesConfig,
        settings: &ProviderSettings,
    ) -> Result<Self, SettingsError> {
        if config.directory.as_os_str().is_empty() {
            return Err(settings.error("directory", "is missing"));
        }
        let root = std::fs::canonicalize(&config.directory)
            .ok()
            .filter(|p| p.is_dir())
            .ok_or_else(|| {
                settings.error(
                    "directory",
                    format!(
                        "is invalid: {} is not a readable directory",
                        config.directory.display()
                    ),
                )
            })?;
        if config.key_store_path.as_os_str().is_empty() {
            return Err(settings.error("keyStorePath", "is missing"));
        }
        if config.key_store_path.is_dir() {
            return Err(settings.error(
                "keyStorePath",
                format!(
                    "is invalid: {} is a directory, not a file",
                    config.key_store_path.display()
                ),
            ));
        }
        let include_text: Vec<String> = if config.include.is_empty() {
            DEFAULT_INCLUDE.iter().map(|p| (*p).to_owned()).collect()
        } else {
            config.include
        };
        let include = patterns(&include_text, "include", settings)?;
        let exclude = patterns(&config.exclude, "exclude", settings)?;
        let plans = plans(config.plans, settings)?;
        let max_file_size = config.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE);
        if max_file_size == 0 {
            return Err(settings.error("maxFileSize", "is invalid: must be more than 0"));
        }
        Ok(Self {
            root,
            key_store_path: config.key_store_path,
            plans,
            include,
            exclude,
            max_file_size,
        })
    }

    /// Whether the `/`-separated relative path is selected by `include` and `exclude`.
    pub fn selects(&self, relative: &str) -> bool {
        self.include.iter().any(|p| p.matches_with(relative, MATCH))
            && !self.exclude.iter().any(|p| p.matches_with(relative, MATCH))
    }

    /// The plan with this id.
    pub fn plan(&self, id: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.id == id)
    }

    /// The file a `/`-separated relative path names, if the path is a plain relative path
    /// (no `..`, no root, no empty or hidden segment) that `include`/`exclude` select.
    pub fn document_path(&self, relative: &str) -> Option<PathBuf> {
        let plain = !relative.is_empty()
            && !relative.contains('\\')
            && relative
                .split('/')
                .all(|segment| !segment.is_empty() && !segment.starts_with('.'));
        if !plain || !self.selects(relative) {
            return None;
        }
        Some(
            relative
                .split('/')
                .fold(self.root.clone(), |path, s| path.join(s)),
        )
    }
}

fn patterns(
    texts: &[String],
    key: &str,
    settings: &ProviderSettings,
) -> Result<Vec<Pattern>, SettingsError> {
    texts
        .iter()
        .map(|text| {
            Pattern::new(text)
                .map_err(|e| settings.error(key, format!("is invalid: pattern {text:?}: {e}")))
        })
        .collect()
}

fn plans(
    configured: Vec<PlanConfig>,
    settings: &ProviderSettings,
) -> Result<Vec<Plan>, SettingsError> {
    if configured.is_empty() {
        let mut plan = Plan::new(DEFAULT_PLAN_ID, "API key", PlanSecurityType::ApiKey);
        plan.description =
            Some("Access with an API key issued by the federation agent.".to_owned());
        return Ok(vec![plan]);
    }
    let mut plans: Vec<Plan> = Vec::with_capacity(configured.len());
    for (index, config) in configured.into_iter().enumerate() {
        let id = config.id.trim().to_owned();
        if id.is_empty() {
            return Err(settings.error(&format!("plans[{index}].id"), "is missing"));
        }
        if plans.iter().any(|p| p.id == id) {
            return Err(settings.error(
                &format!("plans[{index}].id"),
                format!("is invalid: plan id {id:?} is used twice"),
            ));
        }
        let name = config
            .name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| id.clone());
        let mut plan = Plan::new(id, name, PlanSecurityType::ApiKey);
        plan.description = config.description.filter(|d| !d.trim().is_empty());
        if !config.characteristics.is_empty() {
            plan.characteristics = Some(config.characteristics);
        }
        plans.push(plan);
    }
    Ok(plans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(pairs: &[(&str, &str)]) -> Result<Resolved, SettingsError> {
        let settings = ProviderSettings::from_pairs(pairs.iter().copied());
        let config: OpenApiFilesConfig = settings.extract()?;
        Resolved::new(config, &settings)
    }

    fn dir() -> String {
        env!("CARGO_MANIFEST_DIR").to_owned() + "/examples/specs"
    }

    #[test]
    fn missing_keys_are_named() {
        let err = resolve(&[("keyStorePath", "/tmp/k.json")]).unwrap_err();
        assert_eq!(err.to_string(), "configuration.directory is missing");
        let err = resolve(&[("directory", &dir())]).unwrap_err();
        assert_eq!(err.to_string(), "configuration.keyStorePath is missing");
        let err =
            resolve(&[("directory", "/no/such/dir"), ("keyStorePath", "/tmp/k")]).unwrap_err();
        assert_eq!(err.key, "configuration.directory");
        assert!(err.problem.contains("/no/such/dir"), "{err}");
    }

    #[test]
    fn defaults_give_one_api_key_plan_and_yaml_json_patterns() {
        let resolved = resolve(&[("directory", &dir()), ("keyStorePath", "/tmp/k.json")]).unwrap();
        assert_eq!(resolved.plans.len(), 1);
        assert_eq!(resolved.plans[0].id, DEFAULT_PLAN_ID);
        assert_eq!(
            resolved.plans[0].plan_security_type,
            PlanSecurityType::ApiKey
        );
        assert_eq!(resolved.max_file_size, DEFAULT_MAX_FILE_SIZE);
        assert!(resolved.selects("a.yaml"));
        assert!(resolved.selects("x/y/a.json"));
        assert!(!resolved.selects("README.md"));
    }

    #[test]
    fn plans_arrive_as_index_maps() {
        let resolved = resolve(&[
            ("directory", &dir()),
            ("keyStorePath", "/tmp/k.json"),
            ("plans.1.id", "gold"),
            ("plans.1.characteristics.0", "rate 100/s"),
            ("plans.1.characteristics.1", "burst 200"),
            ("plans.0.id", "free"),
            ("plans.0.name", "Free"),
            ("plans.0.description", "For trying things out"),
            ("include", "public/**/*.yaml, *.json"),
            ("exclude", "public/drafts/**"),
            ("maxFileSize", "2048"),
        ])
        .unwrap();
        let ids: Vec<_> = resolved.plans.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["free", "gold"]);
        assert_eq!(resolved.plans[0].name, "Free");
        assert_eq!(resolved.plans[1].name, "gold");
        assert_eq!(
            resolved.plans[1].characteristics.as_deref(),
            Some(&["rate 100/s".to_owned(), "burst 200".to_owned()][..])
        );
        assert_eq!(resolved.max_file_size, 2048);
        assert!(resolved.selects("public/a/b.yaml"));
        assert!(resolved.selects("top.json"));
        assert!(!resolved.selects("public/drafts/x.yaml"));
        assert!(!resolved.selects("other/x.yaml"));
    }

    #[test]
    fn bad_plans_and_patterns_name_the_key() {
        let err = resolve(&[
            ("directory", &dir()),
            ("keyStorePath", "/tmp/k.json"),
            ("plans.0.id", "gold"),
            ("plans.1.id", "gold"),
        ])
        .unwrap_err();
        assert_eq!(err.key, "configuration.plans[1].id");
        let err = resolve(&[
            ("directory", &dir()),
            ("keyStorePath", "/tmp/k.json"),
            ("plans.0.name", "Gold"),
        ])
        .unwrap_err();
        assert_eq!(err.to_string(), "configuration.plans[0].id is missing");
        let err = resolve(&[
            ("directory", &dir()),
            ("keyStorePath", "/tmp/k.json"),
            ("exclude", "a/[b"),
        ])
        .unwrap_err();
        assert_eq!(err.key, "configuration.exclude");
        let err = resolve(&[
            ("directory", &dir()),
            ("keyStorePath", "/tmp/k.json"),
            ("maxFileSize", "big"),
        ])
        .unwrap_err();
        assert_eq!(err.key, "configuration.maxFileSize");
    }

    #[test]
    fn document_paths_stay_inside_the_tree() {
        let resolved = resolve(&[("directory", &dir()), ("keyStorePath", "/tmp/k.json")]).unwrap();
        assert!(resolved.document_path("petstore/swagger.yaml").is_some());
        for bad in [
            "../x.yaml",
            "/etc/x.yaml",
            "a//b.yaml",
            "a\\b.yaml",
            ".hidden/x.yaml",
            "",
            "x.txt",
        ] {
            assert!(resolved.document_path(bad).is_none(), "{bad}");
        }
    }
}
