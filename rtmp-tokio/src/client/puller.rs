//! [`RtmpPuller`]: plays a stream and hands what arrives to a bounded channel of
//! [`ClientEvent`]s.

use super::connection::{lifecycle, parse_url, sleep_until, ClientConnection, Lifecycle, Turn};
use super::{ClientConfig, ClientError};
use bytes::Bytes;
use rtmp_proto::media::{
    AudioTag, EnhancedAudioData, EnhancedVideoData, MediaKind, MediaMessage, VideoTag,
};
use rtmp_proto::url::RtmpUrl;
use rtmp_proto::ClientIntent;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What a puller saw, in order. The last event is always [`ClientEvent::Disconnected`].
///
/// Media comes as [`ClientEvent::VideoFrame`]/[`ClientEvent::AudioFrame`] in the legacy
/// FLV form (H.264, AAC, MP3 …) and as [`ClientEvent::EnhancedVideoFrame`]/
/// [`ClientEvent::EnhancedAudioFrame`] in the Enhanced RTMP form (HEVC, AV1, VP9,
/// Opus, FLAC, AC-3, multitrack …); [`ClientEvent::media`] gives the message of any of
/// them, as recorders and relays want it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The server accepted `connect`.
    Connected,
    /// A status from the server (`NetStream.Play.Start`, `…PublishNotify`, …).
    Status {
        /// `status`, `warning` or `error`.
        level: String,
        /// The status code.
        code: String,
        /// The server's description.
        description: String,
    },
    /// Stream metadata: an AMF0 payload starting with the string `onMetaData`.
    Metadata {
        /// The payload, as an FLV script tag body.
        payload: Bytes,
    },
    /// A legacy video message: `data.is_keyframe()`, `data.is_sequence_header()`,
    /// `data.payload` is the FLV tag body.
    VideoFrame {
        /// Timestamp in milliseconds.
        timestamp: u32,
        /// The message.
        data: MediaMessage,
    },
    /// A legacy audio message.
    AudioFrame {
        /// Timestamp in milliseconds.
        timestamp: u32,
        /// The message.
        data: MediaMessage,
    },
    /// An Enhanced RTMP video message, with its per-track views.
    EnhancedVideoFrame {
        /// Timestamp in milliseconds.
        timestamp: u32,
        /// The message as received.
        data: MediaMessage,
        /// What it carries, one entry per track (several for multitrack).
        tracks: Vec<EnhancedVideoData>,
    },
    /// An Enhanced RTMP audio message, with its per-track views.
    EnhancedAudioFrame {
        /// Timestamp in milliseconds.
        timestamp: u32,
        /// The message as received.
        data: MediaMessage,
        /// What it carries, one entry per track.
        tracks: Vec<EnhancedAudioData>,
    },
    /// The connection was lost; trying again after `delay` (only with reconnecting on).
    Reconnecting {
        /// This try's number, from 1.
        attempt: u32,
        /// The wait before it.
        delay: Duration,
        /// Why the connection was lost.
        reason: String,
    },
    /// The puller stopped: the stream ended, failed, or the puller was stopped.
    Disconnected,
}

impl ClientEvent {
    /// The audio or video message of a frame event, legacy or Enhanced.
    pub fn media(&self) -> Option<&MediaMessage> {
        match self {
            ClientEvent::VideoFrame { data, .. }
            | ClientEvent::AudioFrame { data, .. }
            | ClientEvent::EnhancedVideoFrame { data, .. }
            | ClientEvent::EnhancedAudioFrame { data, .. } => Some(data),
            _ => None,
        }
    }
}

/// Plays one stream: create with [`RtmpPuller::new`], read the events, and run
/// [`RtmpPuller::start`] until the stream ends. Dropping the event receiver stops it.
#[derive(Debug)]
pub struct RtmpPuller {
    config: ClientConfig,
    events: mpsc::Sender<ClientEvent>,
}

/// How one connection ended.
enum Outcome {
    /// The stream ended or nobody listens any more: stop.
    Finished,
    /// The server asked to reconnect, to this URL (only with reconnecting on).
    Redirect(RtmpUrl),
    /// The connection failed; `started` if the stream had started on it.
    Failed { error: ClientError, started: bool },
}

impl RtmpPuller {
    /// A puller for `config.url` and the receiver of its events (a channel of
    /// `config.channel_capacity`; when it is full the puller stops reading, and the
    /// server's backpressure policy applies).
    pub fn new(config: ClientConfig) -> (RtmpPuller, mpsc::Receiver<ClientEvent>) {
        let (events, receiver) = mpsc::channel(config.channel_capacity.max(1));
        (RtmpPuller { config, events }, receiver)
    }

    /// Connects and plays until the stream ends (`Ok`), or fails (after the reconnect
    /// policy's tries, if any). A connection the server closes after the stream started
    /// is an end, unless reconnecting is on. Sends [`ClientEvent::Disconnected`] last.
    pub async fn start(self) -> Result<(), ClientError> {
        let result = self.run().await;
        if let Err(e) = &result {
            tracing::info!(url = %self.config.url, error = %e, "pull failed");
        }
        let _ = self.events.send(ClientEvent::Disconnected).await;
        result
    }

    async fn run(&self) -> Result<(), ClientError> {
        let mut url = parse_url(&self.config.url)?;
        let mut failures = 0u32;
        loop {
            let opened = Instant::now();
            let error = match self.pull(&url).await {
                Outcome::Finished => return Ok(()),
                Outcome::Redirect(to) => {
                    tracing::info!(from = %url, to = %to, "server asked to reconnect");
                    url = to;
                    continue;
                }
                Outcome::Failed { error, started } => {
                    if started && self.config.reconnect.is_none() {
                        if let ClientError::Closed = error {
                            return Ok(());
                        }
                    }
                    error
                }
            };
            let Some(policy) = self.config.reconnect else {
                return Err(error);
            };
            if error.is_permanent() {
                return Err(error);
            }
            if opened.elapsed() >= policy.max_delay {
                failures = 0;
            }
            failures += 1;
            if failures > policy.max_attempts {
                return Err(error);
            }
            let delay = policy.delay(failures);
            tracing::info!(url = %url, attempt = failures, ?delay, %error, "reconnecting");
            let event = ClientEvent::Reconnecting {
                attempt: failures,
                delay,
                reason: error.to_string(),
            };
            if self.events.send(event).await.is_err() {
                return Ok(());
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// One connection, from connecting to its end.
    async fn pull(&self, url: &RtmpUrl) -> Outcome {
        let config = &self.config;
        let intent = ClientIntent::Play {
            stream: url.stream.clone(),
            start: -2.0,
        };
        let mut connection = match ClientConnection::open(url, config, intent).await {
            Ok(connection) => connection,
            Err(error) => {
                return Outcome::Failed {
                    error,
                    started: false,
                }
            }
        };
        let start_by = tokio::time::Instant::from_std(connection.opened() + config.connect_timeout);
        let mut started = false;
        loop {
            let deadline = (!started).then_some(start_by);
            let error = match connection.turn(sleep_until(deadline)).await {
                Ok(Turn::Progress) => None,
                Ok(Turn::Extra(())) => Some(ClientError::ConnectTimeout),
                Ok(Turn::Closed) => Some(ClientError::Closed),
                Err(error) => Some(error),
            };
            if let Some(error) = error {
                return Outcome::Failed { error, started };
            }
            while let Some(event) = connection.poll_event() {
                let life = lifecycle(&event);
                if let Some(event) = to_user_event(event) {
                    if self.events.send(event).await.is_err() {
                        tracing::debug!("event receiver dropped: stopping");
                        connection.close(config).await;
                        return Outcome::Finished;
                    }
                }
                match life {
                    Lifecycle::Started => started = true,
                    Lifecycle::Failed(error) => return Outcome::Failed { error, started },
                    Lifecycle::Ended => {
                        connection.close(config).await;
                        return Outcome::Finished;
                    }
                    Lifecycle::Redirect(tc_url) if config.reconnect.is_some() => {
                        let to = match tc_url {
                            Some(tc_url) => RtmpUrl::from_tc_url(&tc_url, &url.stream),
                            None => Ok(url.clone()),
                        };
                        match to {
                            Ok(to) => {
                                connection.close(config).await;
                                return Outcome::Redirect(to);
                            }
                            Err(e) => tracing::info!(error = %e, "unusable reconnect URL: ignored"),
                        }
                    }
                    Lifecycle::Redirect(_) | Lifecycle::Nothing => {}
                }
            }
        }
    }
}

/// The user-facing form of a session event, if it has one.
fn to_user_event(event: rtmp_proto::ClientEvent) -> Option<ClientEvent> {
    use rtmp_proto::ClientEvent as Core;
    Some(match event {
        Core::Connected { .. } => ClientEvent::Connected,
        Core::Status {
            level,
            code,
            description,
            ..
        } => ClientEvent::Status {
            level,
            code,
            description,
        },
        Core::Metadata { payload } => ClientEvent::Metadata { payload },
        Core::Media { message } => media_event(message),
        _ => return None,
    })
}

/// A frame event: Enhanced when the message is in the Enhanced RTMP form (and
/// parses), legacy otherwise — a message that does not parse is still delivered.
fn media_event(data: MediaMessage) -> ClientEvent {
    let timestamp = data.timestamp;
    match data.kind {
        MediaKind::Video => match VideoTag::parse(&data.payload) {
            Ok(tag @ VideoTag::Enhanced(_)) => ClientEvent::EnhancedVideoFrame {
                timestamp,
                tracks: tag.tracks().collect(),
                data,
            },
            _ => ClientEvent::VideoFrame { timestamp, data },
        },
        MediaKind::Audio => match AudioTag::parse(&data.payload) {
            Ok(tag @ AudioTag::Enhanced(_)) => ClientEvent::EnhancedAudioFrame {
                timestamp,
                tracks: tag.tracks().collect(),
                data,
            },
            _ => ClientEvent::AudioFrame { timestamp, data },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtmp_proto::media::{AudioFourCc, VideoFourCc};

    fn event(kind: MediaKind, payload: &'static [u8]) -> ClientEvent {
        media_event(MediaMessage::new(kind, 7, Bytes::from_static(payload)))
    }

    #[test]
    fn legacy_and_enhanced_media_events() {
        let avc = event(MediaKind::Video, &[0x17, 1, 0, 0, 0, 0xAA]);
        assert!(
            matches!(&avc, ClientEvent::VideoFrame { timestamp: 7, data } if data.is_keyframe())
        );
        let aac = event(MediaKind::Audio, &[0xAF, 1, 0x21]);
        assert!(matches!(aac, ClientEvent::AudioFrame { timestamp: 7, .. }));
        // [IsExHeader | keyframe | CodedFramesX] hvc1, then the frame.
        let hevc = event(MediaKind::Video, b"\x93hvc1\x00\x01");
        let ClientEvent::EnhancedVideoFrame { tracks, data, .. } = &hevc else {
            panic!("{hevc:?}")
        };
        assert!(data.is_keyframe());
        assert!(matches!(
            tracks.as_slice(),
            [EnhancedVideoData::Frame {
                codec: VideoFourCc::Hevc,
                ..
            }]
        ));
        // [SoundFormat 9 | SequenceStart] Opus, then the configuration.
        let opus = event(MediaKind::Audio, b"\x90Opus\x01\x02");
        let ClientEvent::EnhancedAudioFrame { tracks, .. } = &opus else {
            panic!("{opus:?}")
        };
        assert!(matches!(
            tracks.as_slice(),
            [EnhancedAudioData::SequenceHeader {
                codec: AudioFourCc::Opus,
                ..
            }]
        ));
        for e in [&avc, &aac, &hevc, &opus] {
            assert_eq!(e.media().map(|m| m.timestamp), Some(7));
        }
        // Truncated Enhanced data is still delivered, as a plain frame.
        let cut = event(MediaKind::Video, b"\x93hv");
        assert!(matches!(cut, ClientEvent::VideoFrame { .. }));
        assert_eq!(ClientEvent::Connected.media(), None);
    }
}
