//! Audio and video payloads as they travel through the server: FLV tag bodies,
//! legacy or Enhanced RTMP (E-RTMP v1 and v2).
//!
//! - [`MediaMessage`] and the classification fan-out needs ([`classify_video`],
//!   [`classify_audio`], [`video_tracks`], [`audio_tracks`]): which messages are
//!   sequence headers (kept for late joiners, per track), keyframes (where a player
//!   may start) and frames that may be dropped under backpressure.
//! - The tag model: [`video::VideoTag`] and [`audio::AudioTag`] parse every legacy
//!   and Enhanced form (ModEx, Multitrack, metadata, command frames, multichannel
//!   configuration) without copying frame data, and serialize back byte for byte.
//!   Their `tracks()` give handlers per-track views, [`EnhancedVideoData`] and
//!   [`EnhancedAudioData`].
//! - [`fourcc`]: the codec identifiers; [`config`]: what decoder configuration
//!   records say (codec, profile, resolution, sample rate …).

pub mod audio;
mod classify;
pub mod config;
pub mod ex;
pub mod fourcc;
pub mod video;
mod wire;

#[cfg(test)]
mod testdata;
#[cfg(test)]
mod tests;

use bytes::Bytes;

pub use audio::{AudioTag, EnhancedAudioData, MultichannelConfig};
pub use classify::{
    audio_tracks, classify_audio, classify_video, ex_packet_type, first_fourcc, video_tracks,
    TrackClasses,
};
pub use fourcc::{AudioFourCc, VideoFourCc};
pub use video::{EnhancedVideoData, VideoCommand, VideoFrameType, VideoTag};
pub use wire::MediaError;

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// An audio message (type 8).
    Audio,
    /// A video message (type 9).
    Video,
}

/// What a media message is, for caching and dropping decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameClass {
    /// Decoder configuration (AVC/HEVC record, AAC AudioSpecificConfig, E-RTMP
    /// SequenceStart, multichannel config): never dropped, replayed to late joiners.
    SequenceHeader,
    /// A video keyframe: a player may start here.
    Keyframe,
    /// A video frame that depends on earlier ones.
    InterFrame,
    /// A video frame nothing depends on: the first to drop.
    DisposableFrame,
    /// An audio frame.
    AudioFrame,
    /// Anything else (end of sequence, video command frames, E-RTMP metadata).
    Other,
}

/// One audio or video message, as published. Cloning shares the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaMessage {
    /// Audio or video.
    pub kind: MediaKind,
    /// Timestamp in milliseconds, as the publisher sent it.
    pub timestamp: u32,
    /// The FLV tag body.
    pub payload: Bytes,
    /// Classification of the payload.
    pub class: FrameClass,
}

impl MediaMessage {
    /// Wraps and classifies a payload.
    pub fn new(kind: MediaKind, timestamp: u32, payload: Bytes) -> Self {
        let class = match kind {
            MediaKind::Audio => classify_audio(&payload),
            MediaKind::Video => classify_video(&payload),
        };
        MediaMessage {
            kind,
            timestamp,
            payload,
            class,
        }
    }

    /// Whether this is a video keyframe.
    pub fn is_keyframe(&self) -> bool {
        self.class == FrameClass::Keyframe
    }

    /// Whether this is decoder configuration.
    pub fn is_sequence_header(&self) -> bool {
        self.class == FrameClass::SequenceHeader
    }

    /// The tracks this message carries, each with its class ([`video_tracks`],
    /// [`audio_tracks`]).
    pub fn tracks(&self) -> TrackClasses {
        match self.kind {
            MediaKind::Audio => audio_tracks(&self.payload),
            MediaKind::Video => video_tracks(&self.payload),
        }
    }
}
