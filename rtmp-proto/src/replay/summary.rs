//! A replayed session in a few lines: who connected to what, what was published or
//! played, the codecs and frame counts of every track, and the statuses sent.

use super::{ServerReplay, TimedEvent};
use crate::hub::Delivery;
use crate::media::{
    AudioTag, EnhancedAudioData, EnhancedVideoData, MediaKind, MediaMessage, VideoTag,
};
use crate::ServerEvent;
use std::fmt;

/// One track's media, as counted over a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackSummary {
    /// Audio or video.
    pub kind: MediaKind,
    /// The track id (0 for legacy media and the first Enhanced track).
    pub track: u8,
    /// The codec's FourCC (`avc1`, `hvc1`, `mp4a`, `Opus` …), `?` if unknown.
    pub codec: String,
    /// Decoder configuration messages (sequence starts).
    pub sequence_headers: u64,
    /// Coded frames.
    pub frames: u64,
    /// Video keyframes among them.
    pub keyframes: u64,
    /// Timestamp (ms) of the first coded frame.
    pub first_timestamp: Option<u32>,
    /// Timestamp (ms) of the last coded frame.
    pub last_timestamp: Option<u32>,
}

/// What a replayed server session did, summed up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionSummary {
    /// The application from `connect`.
    pub app: Option<String>,
    /// `tcUrl` from `connect`.
    pub tc_url: Option<String>,
    /// `flashVer` from `connect`.
    pub flash_ver: Option<String>,
    /// Stream keys published.
    pub published: Vec<String>,
    /// Stream keys played.
    pub played: Vec<String>,
    /// `onMetaData` messages received from the publisher.
    pub metadata: u64,
    /// Tracks the session received from its publisher.
    pub received: Vec<TrackSummary>,
    /// Tracks the session sent to its player.
    pub sent: Vec<TrackSummary>,
    /// Status codes the captured server sent, in order.
    pub statuses: Vec<String>,
}

impl SessionSummary {
    /// The summary of a server replay.
    pub fn of(replay: &ServerReplay) -> Self {
        let mut summary = SessionSummary {
            statuses: replay.captured_statuses.clone(),
            ..SessionSummary::default()
        };
        for TimedEvent { event, .. } in &replay.events {
            match event {
                ServerEvent::ConnectRequest { params, .. } => {
                    summary.app = Some(params.app.clone());
                    summary.tc_url.clone_from(&params.tc_url);
                    summary.flash_ver.clone_from(&params.flash_ver);
                }
                ServerEvent::PublishRequest { params, .. } => {
                    summary.published.push(params.stream_key.clone())
                }
                ServerEvent::PlayRequest { params, .. } => {
                    summary.played.push(params.stream_key.clone())
                }
                ServerEvent::Metadata { .. } => summary.metadata += 1,
                ServerEvent::Media { message, .. } => count(&mut summary.received, message),
                _ => {}
            }
        }
        for TimedEvent { event, .. } in &replay.delivered {
            if let Delivery::Media(message) = event {
                count(&mut summary.sent, message);
            }
        }
        summary
    }
}

/// Adds one media message to the per-track counts.
fn count(tracks: &mut Vec<TrackSummary>, message: &MediaMessage) {
    // (track, codec, sequence header, coded frame, keyframe) for each track in the message.
    let mut parts: Vec<(u8, &'static str, bool, bool, bool)> = Vec::new();
    match message.kind {
        MediaKind::Video => {
            if let Ok(tag) = VideoTag::parse(&message.payload) {
                for view in tag.tracks() {
                    parts.push(match view {
                        EnhancedVideoData::SequenceHeader {
                            codec, track_id, ..
                        }
                        | EnhancedVideoData::Mpeg2TsSequenceHeader {
                            codec, track_id, ..
                        } => (track_id, codec.as_str(), true, false, false),
                        EnhancedVideoData::Frame {
                            codec,
                            frame_type,
                            track_id,
                            ..
                        } => (
                            track_id,
                            codec.as_str(),
                            false,
                            true,
                            frame_type.is_keyframe(),
                        ),
                        EnhancedVideoData::SequenceEnd { codec, track_id }
                        | EnhancedVideoData::Metadata {
                            codec, track_id, ..
                        } => (track_id, codec.as_str(), false, false, false),
                        EnhancedVideoData::Command { .. } => continue,
                    });
                }
            }
        }
        MediaKind::Audio => {
            if let Ok(tag) = AudioTag::parse(&message.payload) {
                for view in tag.tracks() {
                    parts.push(match view {
                        EnhancedAudioData::SequenceHeader {
                            codec, track_id, ..
                        } => (track_id, codec.as_str(), true, false, false),
                        EnhancedAudioData::Frame {
                            codec, track_id, ..
                        } => (track_id, codec.as_str(), false, true, false),
                        EnhancedAudioData::SequenceEnd { codec, track_id }
                        | EnhancedAudioData::MultichannelConfig {
                            codec, track_id, ..
                        } => (track_id, codec.as_str(), false, false, false),
                    });
                }
            }
        }
    }
    if parts.is_empty() {
        parts.push((0, "?", false, !message.payload.is_empty(), false));
    }
    for (track, codec, header, frame, key) in parts {
        let at = match tracks
            .iter()
            .position(|t| t.kind == message.kind && t.track == track)
        {
            Some(at) => at,
            None => {
                tracks.push(TrackSummary {
                    kind: message.kind,
                    track,
                    codec: codec.to_owned(),
                    sequence_headers: 0,
                    frames: 0,
                    keyframes: 0,
                    first_timestamp: None,
                    last_timestamp: None,
                });
                tracks.len() - 1
            }
        };
        let summary = &mut tracks[at];
        if summary.codec == "?" {
            codec.clone_into(&mut summary.codec);
        }
        summary.sequence_headers += u64::from(header);
        if frame {
            summary.frames += 1;
            summary.keyframes += u64::from(key);
            summary.first_timestamp.get_or_insert(message.timestamp);
            summary.last_timestamp = Some(message.timestamp);
        }
    }
}

impl fmt::Display for TrackSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        };
        write!(
            f,
            "{kind} track {} {}: {} frames",
            self.track, self.codec, self.frames
        )?;
        if self.kind == MediaKind::Video {
            write!(f, " ({} key)", self.keyframes)?;
        }
        if let (Some(first), Some(last)) = (self.first_timestamp, self.last_timestamp) {
            write!(f, ", {first}..{last} ms")?;
        }
        write!(f, ", {} sequence headers", self.sequence_headers)
    }
}

impl fmt::Display for SessionSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        writeln!(
            f,
            "connect: app {:?}, tcUrl {:?}, flashVer {:?}",
            or_none(&self.app),
            or_none(&self.tc_url),
            or_none(&self.flash_ver)
        )?;
        for key in &self.published {
            writeln!(f, "publish: {key:?}")?;
        }
        for key in &self.played {
            writeln!(f, "play: {key:?}")?;
        }
        if self.metadata > 0 {
            writeln!(f, "metadata: {} onMetaData", self.metadata)?;
        }
        for track in &self.received {
            writeln!(f, "received {track}")?;
        }
        for track in &self.sent {
            writeln!(f, "sent {track}")?;
        }
        write!(f, "statuses: {}", self.statuses.join(", "))
    }
}

/// A one-line description of a server event (media payloads by size, not content).
pub(crate) fn describe_server_event(event: &ServerEvent) -> String {
    match event {
        ServerEvent::Media { stream_id, message } => format!(
            "Media {{ stream {stream_id}, {:?} {:?}, timestamp {}, {} bytes }}",
            message.kind,
            message.class,
            message.timestamp,
            message.payload.len()
        ),
        ServerEvent::Metadata { stream_id, payload } => {
            format!("Metadata {{ stream {stream_id}, {} bytes }}", payload.len())
        }
        other => format!("{other:?}"),
    }
}

/// `text` cut to at most `max` characters, marked with an ellipsis when cut.
pub(crate) fn abbreviate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}
