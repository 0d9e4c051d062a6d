//! Walking the tree and turning one file into one federated [`Api`].

use std::path::{Path, PathBuf};

use federation_core::{Api, Depth, Metadata, Page};
use walkdir::WalkDir;

use crate::config::Resolved;
use crate::document::{Head, read_head};

/// The metadata key holding the document's path relative to `directory`.
pub const METADATA_PATH: &str = "openapi-files-path";
/// The metadata key holding the specification and its version (`OpenAPI 3.0.3`).
pub const METADATA_SPEC: &str = "openapi-files-spec";

/// A candidate file: its `/`-separated path relative to the root, and its full path.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Relative path: the API's `id` and `uniqueId`.
    pub relative: String,
    /// Where it is.
    pub path: PathBuf,
}

/// Lists the files under the root that `include`/`exclude` select, sorted by path, skipping
/// hidden entries and the key store. Unreadable entries are skipped with a warning.
///
/// Symbolic links are followed (a Kubernetes config map mounts each file as a link into a
/// hidden `..data` directory); the id stays the link's path. Link loops are skipped with a
/// warning.
pub fn candidates(config: &Resolved) -> Result<Vec<Candidate>, std::io::Error> {
    // Fail loudly when the root itself is gone; below it, skip what cannot be read.
    std::fs::read_dir(&config.root)?;
    let key_store = std::fs::canonicalize(&config.key_store_path)
        .unwrap_or_else(|_| config.key_store_path.clone());
    let walk = WalkDir::new(&config.root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    let mut out = Vec::new();
    for entry in walk {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                tracing::warn!(error = %err, "skipping an entry of the specification tree");
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let is_key_store = entry.path() == key_store
            || (entry.path_is_symlink()
                && std::fs::canonicalize(entry.path()).is_ok_and(|p| p == key_store));
        if is_key_store {
            continue;
        }
        let Some(relative) = relative_path(&config.root, entry.path()) else {
            tracing::warn!(file = %entry.path().display(), "skipping a file whose path is not UTF-8");
            continue;
        };
        if config.selects(&relative) {
            out.push(Candidate {
                relative,
                path: entry.into_path(),
            });
        }
    }
    Ok(out)
}

fn relative_path(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect();
    Some(parts?.join("/"))
}

/// Why a file was not turned into an API.
#[derive(Debug)]
pub enum Skip {
    /// A valid file that is not an API document (logged at debug level).
    NotAnApi,
    /// An unreadable, oversized or unparseable file (logged as a warning).
    Unusable(String),
}

/// Reads `candidate` and builds its API at `depth`. Blocking: run it off the async threads.
pub fn load(config: &Resolved, candidate: &Candidate, depth: Depth) -> Result<Api, Skip> {
    let size = std::fs::metadata(&candidate.path)
        .map_err(|e| Skip::Unusable(format!("cannot read it: {e}")))?
        .len();
    if size > config.max_file_size {
        return Err(Skip::Unusable(format!(
            "it is {size} bytes, more than maxFileSize ({})",
            config.max_file_size
        )));
    }
    let text = std::fs::read_to_string(&candidate.path)
        .map_err(|e| Skip::Unusable(format!("cannot read it: {e}")))?;
    let json = is_json(&candidate.relative, &text);
    let head = read_head(&text, json)
        .map_err(|e| Skip::Unusable(e.to_string()))?
        .ok_or(Skip::NotAnApi)?;
    let api = summary(candidate, &head);
    Ok(match depth {
        // The text is dropped here: a preview keeps nothing of the document.
        Depth::Preview => api,
        Depth::Full => full(config, candidate, head, api, text),
    })
}

fn is_json(relative: &str, text: &str) -> bool {
    let lower = relative.to_ascii_lowercase();
    if lower.ends_with(".json") {
        return true;
    }
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        return false;
    }
    text.trim_start().starts_with('{')
}

fn file_name(relative: &str) -> &str {
    relative.rsplit('/').next().unwrap_or(relative)
}

fn summary(candidate: &Candidate, head: &Head) -> Api {
    let name = head.title.clone().unwrap_or_else(|| {
        let file = file_name(&candidate.relative);
        file.rsplit_once('.')
            .map_or(file, |(stem, _)| stem)
            .to_owned()
    });
    let mut api = Api::new(&candidate.relative, &candidate.relative, name);
    api.version = head.version.clone();
    api
}

fn full(config: &Resolved, candidate: &Candidate, head: Head, mut api: Api, text: String) -> Api {
    api.description = head.description;
    api.api_type = Some(head.spec.api_type());
    if !head.connection_details.is_empty() {
        api.connection_details = Some(head.connection_details);
    }
    let filename = file_name(&candidate.relative).to_owned();
    api.pages = Some(vec![Page::new(head.spec.page_type(), text, filename)]);
    api.plans = Some(config.plans.clone());
    api.metadata = Some(vec![
        Metadata::string(METADATA_PATH, &candidate.relative),
        Metadata::string(
            METADATA_SPEC,
            format!("{} {}", head.spec.name(), head.spec_version),
        ),
    ]);
    api
}
