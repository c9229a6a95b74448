//! [`relay`]: pulls a stream from one server and publishes it to another, message for
//! message.

use super::{ClientConfig, ClientError, ClientEvent, RtmpPublisher, RtmpPuller};

/// What [`relay`] moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelaySummary {
    /// Metadata messages forwarded.
    pub metadata: u64,
    /// Audio and video messages forwarded.
    pub media: u64,
}

/// Publishes to `to` first, then plays `from` and forwards its metadata, audio and
/// video unchanged until the source stream ends; then ends the publish. Each side
/// follows its own config's timeouts and reconnect policy; a failure on either side
/// stops both. Backpressure carries through: a slow destination slows the pull,
/// and the source server's drop policy applies.
pub async fn relay(from: ClientConfig, to: ClientConfig) -> Result<RelaySummary, ClientError> {
    let publisher = RtmpPublisher::connect(to).await?;
    let (puller, mut events) = RtmpPuller::new(from);
    let pull = tokio::spawn(puller.start());
    let mut summary = RelaySummary::default();
    while let Some(event) = events.recv().await {
        let sent = match event {
            ClientEvent::Metadata { payload } => {
                summary.metadata += 1;
                publisher.send_metadata(payload).await
            }
            ClientEvent::Disconnected => break,
            other => match other.media() {
                Some(media) => {
                    summary.media += 1;
                    publisher.send_media(media.clone()).await
                }
                None => {
                    tracing::debug!(event = ?other, "relay: source event");
                    Ok(())
                }
            },
        };
        if let Err(e) = sent {
            // Dropping the receiver stops the puller.
            drop(events);
            let _ = pull.await;
            return Err(e);
        }
    }
    let pulled = match pull.await {
        Ok(result) => result,
        Err(e) => Err(std::io::Error::other(e).into()),
    };
    let published = publisher.close().await;
    pulled.and(published).map(|()| summary)
}
