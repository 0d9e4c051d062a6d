//! The session's writer task: the only code that writes to the socket. It takes messages from
//! the session's queue in order, fragments each into frames of `maxWebSocketFrameSize`, sends
//! pings, and ends with a close frame.

use std::time::Duration;

use bytes::Bytes;
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};

use crate::link::{Outgoing, SessionHandle};
use crate::transport::WsStream;

/// A close frame with `code` and `reason`.
pub(super) fn close_frame(code: CloseCode, reason: &str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.to_owned().into(),
    }
}

/// Queues a close frame (the writer sends it and stops), waiting at most a second for room.
pub(super) async fn close(handle: &SessionHandle, code: CloseCode, reason: &str) {
    let frame = Outgoing::Close(close_frame(code, reason));
    let _ = tokio::time::timeout(Duration::from_secs(1), handle.out.send(frame)).await;
}

/// Writes what the session queues, in order, until a close frame or a write error.
pub(super) async fn write_loop(
    mut sink: SplitSink<WsStream, WsMessage>,
    mut rx: mpsc::Receiver<Outgoing>,
    max_frame_size: usize,
) {
    while let Some(outgoing) = rx.recv().await {
        let result = match outgoing {
            Outgoing::Message { bytes, written } => {
                let result = write_message(&mut sink, bytes, max_frame_size).await;
                if let (Ok(()), Some(written)) = (&result, written) {
                    let _ = written.send(());
                }
                result
            }
            Outgoing::Ping => sink.send(WsMessage::Ping(Bytes::new())).await,
            Outgoing::Close(frame) => {
                let _ = sink.send(WsMessage::Close(Some(frame))).await;
                break;
            }
        };
        if let Err(error) = result {
            tracing::debug!(%error, "Write failed; the connection is closing.");
            break;
        }
    }
}

/// Writes one binary message, fragmented into frames of at most `max_frame_size` bytes.
async fn write_message(
    sink: &mut SplitSink<WsStream, WsMessage>,
    bytes: Vec<u8>,
    max_frame_size: usize,
) -> Result<(), tungstenite::Error> {
    let max = max_frame_size.max(1);
    if bytes.len() <= max {
        return sink.send(WsMessage::Binary(bytes.into())).await;
    }
    let data = Bytes::from(bytes);
    let count = data.len().div_ceil(max);
    for index in 0..count {
        let start = index * max;
        let chunk = data.slice(start..(start + max).min(data.len()));
        let opcode = if index == 0 {
            OpCode::Data(Data::Binary)
        } else {
            OpCode::Data(Data::Continue)
        };
        sink.feed(WsMessage::Frame(Frame::message(
            chunk,
            opcode,
            index + 1 == count,
        )))
        .await?;
    }
    sink.flush().await
}
