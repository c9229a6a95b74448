//! [`Handler`]: the app's callbacks as plain method calls on the event loop's thread.

use rtmp_proto::amf::AmfObject;
use rtmp_proto::app::{AuthResult, SessionContext, StreamContext};
use rtmp_proto::media::audio::LegacyAudioTag;
use rtmp_proto::media::video::LegacyVideoTag;
use rtmp_proto::media::{EnhancedAudioData, EnhancedVideoData, MediaMessage};
use rtmp_proto::message::{ConnectParams, PlayParams, PublishParams};
use std::net::SocketAddr;

/// The same callbacks as the Tokio and async-std adapters' `RtmpHandler`, called
/// synchronously from the loop: every method has a default (accept, or do nothing).
/// A callback runs on the loop's thread, so it should return quickly.
pub trait Handler {
    /// A TCP connection arrived; `false` closes it at once.
    fn on_connection(&mut self, _peer: SocketAddr) -> bool {
        true
    }

    /// The RTMP handshake completed; `connect` comes next.
    fn on_handshake_complete(&mut self, _ctx: &SessionContext) {}

    /// A client asks to connect to `params.app`.
    fn on_connect(&mut self, _ctx: &SessionContext, _params: &ConnectParams) -> AuthResult {
        AuthResult::Accept
    }

    /// The connection closed.
    fn on_disconnect(&mut self, _ctx: &SessionContext) {}

    /// A publisher announced its key (`FCPublish`); refusing closes the connection.
    fn on_fc_publish(&mut self, _ctx: &SessionContext, _stream_key: &str) -> AuthResult {
        AuthResult::Accept
    }

    /// A client asks to publish `params.stream_key`.
    fn on_publish(&mut self, _ctx: &SessionContext, _params: &PublishParams) -> AuthResult {
        AuthResult::Accept
    }

    /// An accepted publish ended (by the client, or because the connection was lost).
    fn on_unpublish(&mut self, _ctx: &SessionContext, _params: &PublishParams) {}

    /// A client asks to play `params.stream_key`.
    fn on_play(&mut self, _ctx: &SessionContext, _params: &PlayParams) -> AuthResult {
        AuthResult::Accept
    }

    /// A player paused at `position_ms`.
    fn on_pause(&mut self, _ctx: &StreamContext, _position_ms: f64) {}

    /// A player resumed.
    fn on_unpause(&mut self, _ctx: &StreamContext) {}

    /// A publisher sent `onMetaData`.
    fn on_metadata(&mut self, _ctx: &StreamContext, _metadata: &AmfObject) {}

    /// Every audio and video message a publisher sends; `false` drops it.
    fn on_media_tag(&mut self, _ctx: &StreamContext, _tag: &MediaMessage) -> bool {
        true
    }

    /// A legacy video message (H.264 …).
    fn on_video_frame(&mut self, _ctx: &StreamContext, _frame: &LegacyVideoTag, _ts: u32) {}

    /// A legacy audio message (AAC, MP3 …).
    fn on_audio_frame(&mut self, _ctx: &StreamContext, _frame: &LegacyAudioTag, _ts: u32) {}

    /// Each track of an Enhanced RTMP video message (HEVC, AV1, VP9 …).
    fn on_enhanced_video_frame(
        &mut self,
        _ctx: &StreamContext,
        _frame: &EnhancedVideoData,
        _ts: u32,
    ) {
    }

    /// Each track of an Enhanced RTMP audio message (Opus, FLAC, AC-3 …).
    fn on_enhanced_audio_frame(
        &mut self,
        _ctx: &StreamContext,
        _frame: &EnhancedAudioData,
        _ts: u32,
    ) {
    }

    /// A video keyframe arrived on `track`.
    fn on_keyframe(&mut self, _ctx: &StreamContext, _ts: u32, _track: u8) {}
}
