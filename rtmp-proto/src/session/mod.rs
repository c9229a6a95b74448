//! Connection state machines. A session owns one connection's protocol state — handshake,
//! chunk streams, message streams, pending requests, timers — and nothing else: the app
//! decides who may connect, publish and play, and the hub decides what players receive.

mod client;
mod link;
mod output;
mod server;

pub use client::{ClientEvent, ClientIntent, ClientParams, ClientSession};
pub use output::OutputQueue;
pub use server::ServerSession;

use crate::amf::AmfLimits;
use crate::chunk::{ChunkError, ChunkLimits};
use crate::enhanced::{EnhancedRtmpMode, EnhancedServerCapabilities};
use crate::handshake::HandshakeError;
use crate::media::MediaMessage;
use crate::message::{ConnectParams, MessageError, PlayParams, PublishParams};
use bytes::Bytes;
use std::fmt;
use std::time::Duration;

/// Protocol settings and bounds of one session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// Chunk size this side sends with (announced after connect). Default 4096.
    pub chunk_size: u32,
    /// Window Acknowledgement Size announced to the peer. Default 2 500 000.
    pub window_ack_size: u32,
    /// Set Peer Bandwidth window announced to the peer. Default 2 500 000.
    pub peer_bandwidth: u32,
    /// Bounds on incoming chunk streams and message sizes.
    pub chunk_limits: ChunkLimits,
    /// Bounds on incoming AMF values.
    pub amf_limits: AmfLimits,
    /// Most message streams (`createStream`) one connection may open. Default 8.
    pub max_message_streams: usize,
    /// Most output bytes that may wait unwritten before the session is closed.
    /// Media for players is paced by the hub, so this bounds only a peer that makes the
    /// session answer faster than it reads. Default 16 MiB.
    pub max_pending_output: usize,
    /// Most input bytes held unread while a request awaits the app's answer (the
    /// session reads nothing past a pending request until it is answered). Default 1 MiB.
    pub max_held_input: usize,
    /// Time from the first byte to an accepted `connect` (handshake included). Default 10 s.
    pub connect_timeout: Duration,
    /// Time a request may wait for its answer: the app's decision on the server, the
    /// peer's `_result` on the client. Default 30 s.
    pub command_timeout: Duration,
    /// Time without input after which the session closes. Default 60 s.
    pub idle_timeout: Duration,
    /// Time a publisher may send no media before it is closed as stale (its players
    /// are told at once, and its key is free for a new publisher). Default 30 s.
    pub publish_idle_timeout: Duration,
    /// Time a player stays subscribed after its publisher left, waiting for it to come
    /// back; then it is sent `NetStream.Play.Stop`. Default 10 s.
    pub republish_grace: Duration,
    /// Input silence after which a Ping Request is sent; `None` sends none. Default 20 s.
    pub ping_interval: Option<Duration>,
    /// Time a ping may go unanswered (no input at all) before the session closes. Default 15 s.
    pub ping_timeout: Duration,
    /// `fmsVer` reported in the connect result.
    pub server_version: String,
    /// How Enhanced RTMP is treated.
    pub enhanced_mode: EnhancedRtmpMode,
    /// The codecs and extended capabilities stated to clients (and accepted from
    /// publishers) in Enhanced RTMP.
    pub enhanced_capabilities: EnhancedServerCapabilities,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            chunk_size: 4096,
            window_ack_size: 2_500_000,
            peer_bandwidth: 2_500_000,
            chunk_limits: ChunkLimits::default(),
            amf_limits: AmfLimits::default(),
            max_message_streams: 8,
            max_pending_output: 16 << 20,
            max_held_input: 1 << 20,
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            publish_idle_timeout: Duration::from_secs(30),
            republish_grace: Duration::from_secs(10),
            ping_interval: Some(Duration::from_secs(20)),
            ping_timeout: Duration::from_secs(15),
            server_version: "FMS/3,5,7,7009".into(),
            enhanced_mode: EnhancedRtmpMode::default(),
            enhanced_capabilities: EnhancedServerCapabilities::default(),
        }
    }
}

/// Identifies a request (connect, publish, play) the app must answer with
/// [`ServerSession::accept`] or [`ServerSession::reject`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(pub(crate) u32);

/// Something the app must know or decide, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// The handshake completed.
    HandshakeComplete,
    /// The client asks to connect to an application; answer with accept or reject.
    ConnectRequest {
        /// The request to answer.
        id: RequestId,
        /// What the client sent.
        params: ConnectParams,
    },
    /// The client asks to publish; answer with accept or reject.
    PublishRequest {
        /// The request to answer.
        id: RequestId,
        /// What the client sent.
        params: PublishParams,
    },
    /// The client asks to play; answer with accept or reject.
    PlayRequest {
        /// The request to answer.
        id: RequestId,
        /// What the client sent.
        params: PlayParams,
    },
    /// A publish that was accepted has ended (FCUnpublish, closeStream or deleteStream).
    PublishStopped {
        /// Message stream id.
        stream_id: u32,
    },
    /// A play that was accepted has ended (closeStream or deleteStream).
    PlayStopped {
        /// Message stream id.
        stream_id: u32,
    },
    /// The client announced the stream key it will publish (`FCPublish`, sent by OBS
    /// and FFmpeg before `publish`): an early chance to check it. Informational; the
    /// publish itself is still a [`ServerEvent::PublishRequest`].
    FcPublish {
        /// The stream name, without its query string.
        stream_key: String,
    },
    /// A player paused (`paused: true`) or resumed playback of a stream.
    Pause {
        /// Message stream id.
        stream_id: u32,
        /// Paused or resumed.
        paused: bool,
        /// The player's position when it paused, in milliseconds.
        position_ms: f64,
    },
    /// A player switched audio or video on or off (`receiveAudio` / `receiveVideo`).
    Receive {
        /// Message stream id.
        stream_id: u32,
        /// The new audio setting, if this changed it.
        audio: Option<bool>,
        /// The new video setting, if this changed it.
        video: Option<bool>,
    },
    /// Stream metadata from a publisher: an `onMetaData` data message payload
    /// (`@setDataFrame` already stripped), ready to send to players as it is.
    Metadata {
        /// Message stream id.
        stream_id: u32,
        /// AMF0 payload starting with the string `onMetaData`.
        payload: Bytes,
    },
    /// Audio or video from a publisher.
    Media {
        /// Message stream id.
        stream_id: u32,
        /// The message.
        message: MediaMessage,
    },
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// The handshake failed.
    Handshake(HandshakeError),
    /// The chunk stream was malformed or exceeded a bound.
    Chunk(ChunkError),
    /// A message could not be understood.
    Message(MessageError),
    /// No accepted connect within [`SessionConfig::connect_timeout`].
    ConnectTimeout,
    /// No input within [`SessionConfig::idle_timeout`].
    IdleTimeout,
    /// A ping went unanswered for [`SessionConfig::ping_timeout`].
    PingTimeout,
    /// A publisher sent no media for [`SessionConfig::publish_idle_timeout`].
    PublishIdle,
    /// A call went unanswered for [`SessionConfig::command_timeout`].
    CommandTimeout,
    /// The peer refused a call (its `_error` description).
    Rejected(String),
    /// The app (or the Enhanced RTMP mode) rejected the connection.
    ConnectRejected(String),
    /// More than [`SessionConfig::max_pending_output`] bytes waited unwritten.
    OutputOverflow {
        /// Bytes waiting.
        pending: usize,
    },
    /// More than [`SessionConfig::max_held_input`] bytes arrived while a request awaited an answer.
    InputOverflow {
        /// Bytes held.
        held: usize,
    },
    /// The peer broke the protocol in a way that cannot be tolerated.
    Protocol(&'static str),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Handshake(e) => write!(f, "handshake failed: {e}"),
            SessionError::Chunk(e) => write!(f, "chunk stream error: {e}"),
            SessionError::Message(e) => write!(f, "bad message: {e}"),
            SessionError::ConnectTimeout => f.write_str("no connect within the connection timeout"),
            SessionError::IdleTimeout => f.write_str("no input within the idle timeout"),
            SessionError::PingTimeout => f.write_str("peer did not answer a ping"),
            SessionError::PublishIdle => {
                f.write_str("publisher sent no media within the publish idle timeout")
            }
            SessionError::CommandTimeout => f.write_str("peer did not answer a call in time"),
            SessionError::Rejected(reason) => write!(f, "peer refused a call: {reason}"),
            SessionError::ConnectRejected(reason) => write!(f, "connect rejected: {reason}"),
            SessionError::OutputOverflow { pending } => {
                write!(f, "peer is not reading: {pending} bytes waiting")
            }
            SessionError::InputOverflow { held } => {
                write!(
                    f,
                    "peer sent {held} bytes while a request awaited an answer"
                )
            }
            SessionError::Protocol(what) => write!(f, "protocol violation: {what}"),
        }
    }
}

impl std::error::Error for SessionError {}

impl From<HandshakeError> for SessionError {
    fn from(e: HandshakeError) -> Self {
        SessionError::Handshake(e)
    }
}

impl From<ChunkError> for SessionError {
    fn from(e: ChunkError) -> Self {
        SessionError::Chunk(e)
    }
}

impl From<MessageError> for SessionError {
    fn from(e: MessageError) -> Self {
        SessionError::Message(e)
    }
}
