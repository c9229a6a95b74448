//! [`RtmpHandler`]: the app's say over connections and streams, and its view of media,
//! as async callbacks any executor can run (they use only `std::future`).

use crate::amf::AmfObject;
use crate::media::audio::LegacyAudioTag;
use crate::media::video::LegacyVideoTag;
use crate::media::{EnhancedAudioData, EnhancedVideoData, MediaMessage};
use crate::message::{ConnectParams, PlayParams, PublishParams};
use std::future::Future;
use std::net::SocketAddr;

/// The answer to a connect, publish or play request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthResult {
    /// Allow it.
    Accept,
    /// Refuse it; the reason is sent to the client in the status message.
    Reject(String),
    /// Send the client to another server (`rtmp://…`). The protocol allows this for
    /// `connect`; a publish or play answered this way is refused, naming the URL.
    Redirect(String),
}

/// What a callback knows about the connection it is called for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionContext {
    /// Server-unique id of this connection.
    pub session_id: u64,
    /// The client's address.
    pub peer_addr: SocketAddr,
    /// The application from `connect` (empty before it).
    pub app: String,
}

/// A snapshot of one connection, for stats and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStats {
    /// Server-unique id of the connection (as in [`SessionContext`]).
    pub session_id: u64,
    /// The client's address.
    pub peer_addr: SocketAddr,
    /// Bytes received from the client.
    pub bytes_in: u64,
    /// Bytes written to the client.
    pub bytes_out: u64,
}

/// What a media or stream callback knows: the connection and the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamContext {
    /// The connection.
    pub session: SessionContext,
    /// The stream key (stream name without its query string).
    pub stream_key: String,
    /// The message stream id on the connection.
    pub stream_id: u32,
}

/// Callbacks for auth, lifecycle and media. Every method has a default (accept, or do
/// nothing), so an implementation overrides only what it needs; write them as
/// `async fn`.
///
/// A callback delays only its own connection: other sessions and players keep running.
/// Media callbacks run on the publisher's connection for every message it sends.
pub trait RtmpHandler: Send + Sync + 'static {
    /// A TCP connection arrived; `false` closes it at once (blocklists, rate limits).
    fn on_connection(&self, _peer: SocketAddr) -> impl Future<Output = bool> + Send {
        async { true }
    }

    /// The RTMP handshake completed; `connect` comes next.
    fn on_handshake_complete(&self, _ctx: &SessionContext) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A client asks to connect to `params.app`.
    fn on_connect(
        &self,
        _ctx: &SessionContext,
        _params: &ConnectParams,
    ) -> impl Future<Output = AuthResult> + Send {
        async { AuthResult::Accept }
    }

    /// The connection closed.
    fn on_disconnect(&self, _ctx: &SessionContext) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A client announced the key it will publish (`FCPublish`, sent before `publish`
    /// by OBS and FFmpeg). Refusing closes the connection.
    fn on_fc_publish(
        &self,
        _ctx: &SessionContext,
        _stream_key: &str,
    ) -> impl Future<Output = AuthResult> + Send {
        async { AuthResult::Accept }
    }

    /// A client asks to publish `params.stream_key`.
    fn on_publish(
        &self,
        _ctx: &SessionContext,
        _params: &PublishParams,
    ) -> impl Future<Output = AuthResult> + Send {
        async { AuthResult::Accept }
    }

    /// An accepted publish ended (by the client, or because the connection was lost).
    fn on_unpublish(
        &self,
        _ctx: &SessionContext,
        _params: &PublishParams,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A client asks to play `params.stream_key`.
    fn on_play(
        &self,
        _ctx: &SessionContext,
        _params: &PlayParams,
    ) -> impl Future<Output = AuthResult> + Send {
        async { AuthResult::Accept }
    }

    /// A player paused at `position_ms`.
    fn on_pause(&self, _ctx: &StreamContext, _position_ms: f64) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A player resumed.
    fn on_unpause(&self, _ctx: &StreamContext) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A publisher sent `onMetaData` (resolution, bitrate, codecs …).
    fn on_metadata(
        &self,
        _ctx: &StreamContext,
        _metadata: &AmfObject,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Every audio and video message a publisher sends, before anything else sees it;
    /// `false` drops it (custom filtering).
    fn on_media_tag(
        &self,
        _ctx: &StreamContext,
        _tag: &MediaMessage,
    ) -> impl Future<Output = bool> + Send {
        async { true }
    }

    /// A legacy video message (H.264 NALUs, and the HEVC some encoders send as codec 12).
    fn on_video_frame(
        &self,
        _ctx: &StreamContext,
        _frame: &LegacyVideoTag,
        _timestamp: u32,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A legacy audio message (AAC, MP3 …).
    fn on_audio_frame(
        &self,
        _ctx: &StreamContext,
        _frame: &LegacyAudioTag,
        _timestamp: u32,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Each track of an Enhanced RTMP video message (HEVC, AV1, VP9, VP8, VVC, and
    /// H.264 in the Enhanced form).
    fn on_enhanced_video_frame(
        &self,
        _ctx: &StreamContext,
        _frame: &EnhancedVideoData,
        _timestamp: u32,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Each track of an Enhanced RTMP audio message (Opus, FLAC, AC-3, E-AC-3 …).
    fn on_enhanced_audio_frame(
        &self,
        _ctx: &StreamContext,
        _frame: &EnhancedAudioData,
        _timestamp: u32,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A video keyframe arrived on `track` (a GOP boundary).
    fn on_keyframe(
        &self,
        _ctx: &StreamContext,
        _timestamp: u32,
        _track: u8,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }
}
