//! The connector's log lines, captured for the whole test binary: one global subscriber (a
//! thread-local one can miss events when tests of the same process hit a callsite at once),
//! each test reading the lines of its own integration (every command's span names it).

#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn buffer() -> &'static Buffer {
    static BUFFER: OnceLock<Buffer> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        // Another subscriber may be installed already in this process: then nothing is captured
        // and the tests reading logs say so.
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    })
}

/// Starts capturing (call it before the connector starts).
pub(crate) fn capture() {
    buffer();
}

/// The lines logged so far within a span naming `integration`.
pub(crate) fn of(integration: &str) -> String {
    let text = String::from_utf8_lossy(&buffer().0.lock().unwrap_or_else(PoisonError::into_inner))
        .into_owned();
    let tag = format!("integration={integration}");
    text.lines()
        .filter(|line| line.split([' ', '{', '}', ':']).any(|part| part == tag))
        .collect::<Vec<_>>()
        .join("\n")
}
