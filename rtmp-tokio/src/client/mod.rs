//! RTMP clients on Tokio: the core's [`ClientSession`](rtmp_proto::ClientSession) on a
//! TCP or TLS socket, driven by the same loop as the server's connections.
//!
//! - [`RtmpPuller`] plays a stream into a bounded channel of [`ClientEvent`]s.
//! - [`RtmpPublisher`] publishes: metadata, legacy and Enhanced RTMP audio and video.
//! - [`publish_flv`] sends an FLV file at its own pace; [`FlvRecorder`] and [`record`]
//!   write a played stream to FLV; [`relay`] moves a stream between servers.
//!
//! URLs are `rtmp://` or `rtmps://` (with the `tls` feature), split by the core's
//! [`RtmpUrl`]. Every client has a connect timeout (until the
//! publish or play has started) and a read timeout, and can reconnect with exponential
//! backoff ([`Reconnect`], off by default).
//!
//! ```no_run
//! use rtmp_tokio::client::{ClientConfig, ClientEvent, RtmpPuller};
//!
//! # async fn pull() -> Result<(), rtmp_tokio::client::ClientError> {
//! let (puller, mut events) = RtmpPuller::new(ClientConfig::new("rtmp://localhost/live/key"));
//! tokio::spawn(async move {
//!     while let Some(event) = events.recv().await {
//!         if let ClientEvent::VideoFrame { timestamp, data } = event {
//!             println!("video at {timestamp} ms, keyframe: {}", data.is_keyframe());
//!         }
//!     }
//! });
//! puller.start().await
//! # }
//! ```

mod config;
mod connection;
mod error;
mod flv;
mod publisher;
mod puller;
mod relay;
#[cfg(feature = "tls")]
mod tls;

pub use config::{ClientConfig, Reconnect};
pub use error::ClientError;
pub use flv::{publish_flv, publish_flv_file, record, FlvRecorder, FlvSummary, Pace};
pub use publisher::RtmpPublisher;
pub use puller::{ClientEvent, RtmpPuller};
pub use relay::{relay, RelaySummary};
pub use rtmp_proto::media::{MediaKind, MediaMessage};
pub use rtmp_proto::url::{RtmpUrl, Scheme, UrlError};
