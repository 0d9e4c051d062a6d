//! Fuzzes the configuration readers: the `gravitee_*` environment variable mapping
//! (`--target env`) and the `gravitee.yml` reader (`--target yaml`), each followed by the whole
//! loader (merge, list normalisation, `secret://` resolution, typed model, validation). Every
//! input must end in a configuration or a `ConfigError`, never a panic. Not part of CI; see
//! `docs/fuzzing.md`.
//!
//! ```text
//! nice -n 10 cargo run --release -p federation-config --example fuzz_config -- --target env --inputs 10000000
//! nice -n 10 cargo run --release -p federation-config --example fuzz_config -- --target yaml --inputs 10000000
//! ```
//!
//! An `env` input is `NAME=VALUE` lines; a `yaml` input is a file. Seeds are under
//! `crates/config/fuzz/corpus/{env,yaml}/`. The grammar-aware generators build variable names
//! from the key catalogue (every case style, separator, odd list indexes, gaps, prefixes that
//! almost match) and YAML documents from the model's keys (anchors, aliases, merge keys, tags,
//! flow and block styles, dotted keys, deep nesting, odd scalars, tabs, duplicate keys).
//!
//! Safety of the run: `secret://file/` references are pointed into a scratch directory,
//! Kubernetes access points at a directory without a service account (no network), and
//! `GRAVITEE_CONF`/`GRAVITEE_HOME` are not passed to the loader.

#![allow(clippy::unwrap_used)] // a fuzz target asserts by panicking

#[path = "../../../protocol/fuzz/harness.rs"]
mod harness;
mod yaml_input;

use std::path::{Path, PathBuf};

use federation_config::{
    ConfigError, ConfigLoader, GraviteeEnv, GraviteeYaml, KeyCatalogue, KubernetesAccess,
    MODEL_KEYS,
};
use harness::{Options, Rng};
use yaml_input::{YAML_SCALARS, yaml_input};

/// What `ProviderRegistry::config_keys()` returns for the AWS provider.
const PROVIDER_KEYS: &[&str] = &[
    "accessKeyId",
    "acceptApiWithoutUsagePlan",
    "region",
    "roleArn",
    "secretAccessKey",
    "assumeRole.roleArn",
];

const VALUES: &[&str] = &[
    "",
    " ",
    "true",
    "false",
    "TRUE",
    "yes",
    "8",
    "0123",
    "-1",
    "0",
    "1.5",
    "99999999999999999999",
    "1e309",
    "NaN",
    "aws-api-gateway",
    "int-1",
    "https://apim.example.com/integration-controller",
    "wss://[::1]:8443/x/",
    "http://",
    "not a url",
    "Authorization",
    "bearer tok",
    "eu-west-1,us-east-1",
    ",,",
    "HTTP",
    "SOCKS5",
    "PEM",
    "PKCS12",
    "JKS",
    "json",
    "debug",
    "basic",
    "secret://env/SOME_VAR",
    "secret://env/",
    "secret://kubernetes/name:key",
    "secret://kubernetes/name:key?namespace=ns&watch",
    "secret://kubernetes/a/b:c",
    "secret://file/run/secrets/token",
    "secret://unknown/x",
    "secret://",
    "\0",
    "é😀\u{FEFF}",
    "a;;b",
    "${VAR}",
    "~",
    "[a, b]",
    "{a: b}",
];

/// Words for unknown keys and user names.
const WORDS: &[&str] = &[
    "x",
    "foo",
    "admin",
    "ADMIN",
    "user.name",
    "integrationid",
    "IntegrationId",
    "integration-id",
    "max-concurrent",
    "configuration",
    "0",
    "type",
    "",
];

const INDEXES: &[&str] = &[
    "0",
    "1",
    "2",
    "00",
    "007",
    "10",
    "-1",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
];

fn value(rng: &mut Rng) -> String {
    match rng.below(8) {
        0 => rng.pick(harness::ODD_NUMBERS).to_string(),
        1 => rng.pick(VALUES).repeat(1 + rng.small(300)),
        2 => (0..rng.small(20))
            .map(|_| char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('?'))
            .collect(),
        _ => rng.pick(VALUES).to_string(),
    }
}

/// The segments of a key of the catalogue with its markers filled in: list indexes, user
/// names, provider keys.
fn catalogue_key(rng: &mut Rng) -> Vec<String> {
    let path = rng.pick(MODEL_KEYS);
    let mut segments = Vec::new();
    for part in path.split('.') {
        match part {
            "**" => {
                for key in rng.pick(PROVIDER_KEYS).split('.') {
                    segments.push(key.to_owned());
                }
                if rng.one_in(8) {
                    segments.push(rng.pick(WORDS).to_string());
                }
            }
            "*" => segments.push(rng.pick(WORDS).to_string()),
            _ => {
                let name = part.trim_end_matches("[]");
                segments.push(name.to_owned());
                if name.len() != part.len() && !rng.one_in(20) {
                    segments.push(rng.pick(INDEXES).to_string());
                }
            }
        }
    }
    match rng.below(12) {
        0 => {
            segments.truncate(rng.below(segments.len() + 1));
        }
        1 => segments.push(rng.pick(WORDS).to_string()),
        2 => {
            // A long name: thousands of segments.
            let word = rng.pick(WORDS).to_string();
            segments.extend(std::iter::repeat_n(word, 1 + rng.small(5000)));
        }
        _ => {}
    }
    segments
}

/// A variable name for `segments` in one of the styles people write.
fn env_name(rng: &mut Rng, segments: &[String]) -> String {
    let prefix = match rng.below(10) {
        0 => *rng.pick(&[
            "Gravitee_",
            "gravitee",
            "GRAVITEE__",
            "",
            "gravitee-",
            "_gravitee_",
            "GRAVITEE_CONF",
            "GRAVITEE_HOME",
        ]),
        1 => "gravitee.",
        2 => "GRAVITEE.",
        3..=5 => "GRAVITEE_",
        _ => "gravitee_",
    };
    let style = rng.below(10);
    let mut name = prefix.to_owned();
    for (i, segment) in segments.iter().enumerate() {
        let is_index = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
        if is_index && rng.one_in(3) {
            name.push_str(&format!("[{segment}]"));
            continue;
        }
        if i > 0 {
            name.push_str(match rng.below(20) {
                0 => ".",
                1 => "__",
                2 => "",
                _ => "_",
            });
        }
        let mut text = match style {
            0..=3 => segment.clone(),
            4..=7 => segment.to_ascii_uppercase(),
            8 => segment.to_ascii_lowercase(),
            _ => segment
                .chars()
                .map(|c| {
                    if rng.one_in(2) {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect(),
        };
        if rng.one_in(30) {
            text.insert(rng.below(text.len() + 1), '-');
        }
        name.push_str(&text);
    }
    name
}

fn env_input(rng: &mut Rng) -> Vec<u8> {
    let mut lines = Vec::new();
    for _ in 0..1 + rng.small(12) {
        let segments = catalogue_key(rng);
        let name = env_name(rng, &segments);
        lines.push(format!("{name}={}", value(rng).replace('\n', " ")));
    }
    lines.join("\n").into_bytes()
}

/// The environment an `env` input stands for: `NAME=VALUE` lines.
fn parse_env(bytes: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(bytes)
        .split('\n')
        .filter(|line| !line.is_empty())
        .map(|line| match line.split_once('=') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => (line.to_owned(), String::new()),
        })
        .collect()
}

/// The `env` target runs the whole loader on one input in this many.
const ENV_LOADER_EVERY: u64 = 4;

/// Runs inputs through the whole loader, safely (see the module docs).
struct Loader {
    runtime: tokio::runtime::Runtime,
    scratch: tempfile::TempDir,
    file: PathBuf,
    file_prefix: String,
    no_cluster: KubernetesAccess,
}

impl Loader {
    fn new() -> Self {
        // In memory where there is a tmpfs: the yaml target writes a file per input.
        let shm = Path::new("/dev/shm");
        let scratch = if shm.is_dir() {
            tempfile::tempdir_in(shm).unwrap()
        } else {
            tempfile::tempdir().unwrap()
        };
        std::fs::create_dir_all(scratch.path().join("run/secrets")).unwrap();
        std::fs::write(scratch.path().join("run/secrets/token"), "t0k3n\n").unwrap();
        Self {
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
            file: scratch.path().join("gravitee.yml"),
            file_prefix: format!("secret://file{}/", scratch.path().display()),
            no_cluster: KubernetesAccess::service_account_dir(
                scratch.path().join("no-service-account"),
                Some("http://127.0.0.1:9".to_owned()),
            ),
            scratch,
        }
    }

    fn contain(&self, text: &str) -> String {
        text.replace("secret://file/", &self.file_prefix)
    }

    /// Loads with `env` and, if given, `yaml` as the only configuration file.
    fn load(&self, env: &[(String, String)], yaml: Option<&[u8]>) -> &'static str {
        let env: Vec<(String, String)> = env
            .iter()
            .filter(|(name, _)| name != "GRAVITEE_CONF" && name != "GRAVITEE_HOME")
            .map(|(name, value)| (name.clone(), self.contain(value)))
            .collect();
        let mut loader = ConfigLoader::new()
            .env_vars(env)
            .provider_keys(PROVIDER_KEYS.iter().copied())
            .known_provider_types(["aws-api-gateway"])
            .current_dir(self.scratch.path())
            .kubernetes(self.no_cluster.clone());
        if let Some(yaml) = yaml {
            let text = String::from_utf8_lossy(yaml);
            let bytes = if text.contains("secret://file/") {
                self.contain(&text).into_bytes()
            } else {
                yaml.to_vec()
            };
            std::fs::write(&self.file, bytes).unwrap();
            loader = loader.config_file(Some(self.file.clone()));
        }
        match self.runtime.block_on(loader.load()) {
            Ok(loaded) => {
                let _ = format!("{:?}", loaded.config);
                "loaded"
            }
            Err(error) => {
                let _ = error.to_string();
                match error {
                    ConfigError::Yaml { .. } => "loader: YAML error",
                    ConfigError::ReadFile { .. } => "loader: unreadable file",
                    ConfigError::Secret(_) => "loader: secret error",
                    _ => "loader: invalid configuration",
                }
            }
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut options = Options::from_args(
        root.join("fuzz/corpus"),
        root.join("../../target/fuzz-crashes"),
        64 * 1024,
    );
    let target = options.target.clone().unwrap_or_default();
    if target != "env" && target != "yaml" {
        eprintln!("error: --target env or --target yaml");
        std::process::exit(2);
    }
    if options.corpus.join(&target).is_dir() {
        options.corpus = options.corpus.join(&target);
    }
    let corpus = harness::load_corpus(&options.corpus);
    let max_len = options.max_len;
    let loader = Loader::new();
    let catalogue = KeyCatalogue::model().with_provider_keys(PROVIDER_KEYS);
    if target == "env" {
        let mut run_count = 0u64;
        let dictionary: Vec<&str> = MODEL_KEYS
            .iter()
            .flat_map(|k| k.split(['.', '[', ']', '*']))
            .chain(["_", ".", "[0]", "\n", "=", "gravitee_", "GRAVITEE_", "__"])
            .filter(|t| !t.is_empty())
            .collect();
        harness::run(
            "config-env",
            &options,
            |rng| harness::mixed_input(rng, &corpus, &dictionary, max_len, env_input),
            |bytes| {
                let vars = parse_env(bytes);
                let env = GraviteeEnv::new(vars.iter().cloned(), &catalogue);
                let _ = format!("{env:?}");
                let _ = env.origins();
                // The whole loader costs ten times the mapping: it runs on every fourth input
                // (and on every input of --replay).
                run_count += 1;
                if run_count % ENV_LOADER_EVERY != 1 {
                    return if env.is_empty() {
                        "mapped: nothing"
                    } else {
                        "mapped"
                    };
                }
                loader.load(&vars, None)
            },
        );
    } else {
        let dictionary: Vec<&str> = MODEL_KEYS
            .iter()
            .flat_map(|k| k.split(['.', '[', ']', '*']))
            .chain(YAML_SCALARS.iter().copied())
            .chain([
                ": ", "\n  ", "\n- ", "- ", "&a ", "*a", "<<: ", "? ", "---\n", "\t",
            ])
            .filter(|t| !t.is_empty())
            .collect();
        harness::run(
            "config-yaml",
            &options,
            |rng| harness::mixed_input(rng, &corpus, &dictionary, max_len, yaml_input),
            |bytes| {
                // The loader reads the file as UTF-8 and then runs `from_yaml_str`: an input
                // that fails either fails the loader at the same step, so only the others go on
                // to the whole loader (which is where the time goes).
                let Ok(text) = std::str::from_utf8(bytes) else {
                    return "not UTF-8";
                };
                match GraviteeYaml::from_yaml_str(text, "gravitee.yml") {
                    Ok(yaml) => {
                        let _ = format!("{yaml:?}");
                        let _ = yaml.properties().count();
                        loader.load(&[], Some(bytes))
                    }
                    Err(ConfigError::Yaml { .. }) => "YAML error",
                    Err(_) => "other error",
                }
            },
        );
    }
}
