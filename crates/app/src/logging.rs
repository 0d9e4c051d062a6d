//! Logging through `tracing-subscriber`: a `RUST_LOG`-style filter (`RUST_LOG` first, then the
//! `log.level` key, then `info`), human lines or JSON lines (`--log-format`, then `log.format`).
//!
//! Logging starts before the configuration is read (so configuration warnings are seen) and is
//! adjusted once it is read.

use std::io::IsTerminal as _;

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

use crate::cli::LogFormat;

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;
type WithFormat = tracing_subscriber::layer::Layered<reload::Layer<BoxedLayer, Registry>, Registry>;

/// Handles to adjust logging after the configuration is read.
pub struct Logging {
    filter: reload::Handle<EnvFilter, WithFormat>,
    format: reload::Handle<BoxedLayer, Registry>,
    format_fixed: bool,
}

impl std::fmt::Debug for Logging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logging").finish_non_exhaustive()
    }
}

fn fmt_layer(format: LogFormat) -> BoxedLayer {
    match format {
        LogFormat::Json => Box::new(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .with_writer(std::io::stderr),
        ),
        LogFormat::Text => Box::new(
            tracing_subscriber::fmt::layer()
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(std::io::stderr),
        ),
    }
}

/// The filter: `RUST_LOG` if set and valid, else `level` (the `log.level` key) if set and
/// valid, else `info`; with what was wrong, if anything (naming the source, not repeating it).
fn filter(level: Option<&str>) -> (EnvFilter, Vec<String>) {
    let mut problems = Vec::new();
    if let Some(directives) = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        match EnvFilter::try_new(&directives) {
            Ok(filter) => return (filter, problems),
            Err(error) => problems.push(format!(
                "RUST_LOG is not a valid log filter ({error}); ignored"
            )),
        }
    }
    if let Some(level) = level.map(str::trim).filter(|l| !l.is_empty()) {
        match EnvFilter::try_new(level) {
            Ok(filter) => return (filter, problems),
            Err(error) => problems.push(format!(
                "log.level is not a valid log filter ({error}); ignored"
            )),
        }
    }
    (EnvFilter::new("info"), problems)
}

/// Starts logging to stderr with the command-line format (text if none).
pub fn init(cli_format: Option<LogFormat>) -> Logging {
    let (format, format_handle) =
        reload::Layer::new(fmt_layer(cli_format.unwrap_or(LogFormat::Text)));
    let (initial, problems) = filter(None);
    let (filter, filter_handle) = reload::Layer::new(initial);
    // A second initialisation (tests running several agents in one process) keeps the first.
    let _ = tracing_subscriber::registry()
        .with(format)
        .with(filter)
        .try_init();
    for problem in problems {
        tracing::warn!("{problem}");
    }
    Logging {
        filter: filter_handle,
        format: format_handle,
        format_fixed: cli_format.is_some(),
    }
}

impl Logging {
    /// Applies `log.level` and `log.format` (unless overridden by `RUST_LOG` / `--log-format`).
    pub fn configure(&self, config: &federation_config::LogConfig) {
        let (filter, mut problems) = filter(config.level.as_deref());
        // A bad RUST_LOG was reported by `init` already.
        problems.retain(|p| !p.starts_with("RUST_LOG"));
        let _ = self.filter.reload(filter);
        if !self.format_fixed {
            let format = match config.format.as_deref().map(str::trim) {
                Some(f) if f.eq_ignore_ascii_case("json") => LogFormat::Json,
                None | Some("") => LogFormat::Text,
                Some(f) if f.eq_ignore_ascii_case("text") => LogFormat::Text,
                Some(_) => {
                    problems.push("log.format is neither text nor json; using text".to_owned());
                    LogFormat::Text
                }
            };
            if format == LogFormat::Json {
                let _ = self.format.reload(fmt_layer(format));
            }
        }
        for problem in problems {
            tracing::warn!("{problem}");
        }
    }
}
