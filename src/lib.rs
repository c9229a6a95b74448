//! # rtmp-rs
//!
//! An async RTMP server and client library: a sans-IO protocol core ([`proto`], the
//! `rtmp-proto` crate) driven by runtime adapters. The Tokio adapter is re-exported at
//! the top, so a server is a handler and two lines:
//!
//! ```no_run
//! use rtmp_rs::{RtmpServer, ServerConfig, RtmpHandler};
//!
//! struct Open;
//! impl RtmpHandler for Open {}
//!
//! # async fn run() -> std::io::Result<()> {
//! RtmpServer::new(ServerConfig::default(), Open).run().await
//! # }
//! ```
//!
//! Crate map:
//! - [`proto`]: the core — handshake, chunking, AMF, commands, sessions, fan-out policy.
//! - `rtmp-tokio`: the Tokio server ([`RtmpServer`], [`ServerConfig`], [`RtmpHandler`]).
//! - `mio` (feature `mio`, the `rtmp-mio` crate): a single-threaded server and client
//!   for a mio event loop of your own.
//! - `async_std` (feature `async-std`, the `rtmp-async-std` crate): a server and client
//!   on the `futures-io` traits, for async-std, smol and other executors.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use rtmp_proto as proto;

/// The mio adapter (feature `mio`): an RTMP server and client for your own event loop.
#[cfg(feature = "mio")]
pub use rtmp_mio as mio;

/// The futures-io adapter (feature `async-std`): an RTMP server and client for
/// async-std, smol and other executors.
#[cfg(feature = "async-std")]
pub use rtmp_async_std as async_std;
pub use rtmp_proto::enhanced::{EnhancedRtmpMode, EnhancedServerCapabilities};
pub use rtmp_tokio::{
    AuthResult, RtmpHandler, RtmpServer, ServerConfig, ServerHandle, SessionStats,
};

/// The contexts handed to [`RtmpHandler`] callbacks.
pub mod session {
    pub use rtmp_tokio::{SessionContext, StreamContext};
}

/// Protocol layers of the core: messages and their parameters, AMF, chunking,
/// handshake, Enhanced RTMP negotiation.
pub mod protocol {
    pub use rtmp_proto::{amf, chunk, enhanced, handshake, message};
}

/// RTMP clients: [`client::RtmpPuller`] plays a stream into a channel of
/// [`client::ClientEvent`]s, [`client::RtmpPublisher`] publishes, and helpers send FLV
/// files ([`client::publish_flv`]), record to FLV ([`client::record`]) and relay
/// between servers ([`client::relay`]). `rtmps://` URLs need the `tls` feature (on by
/// default).
pub mod client {
    pub use rtmp_tokio::client::*;
}

/// Audio and video messages and their classification.
pub mod media {
    pub use rtmp_proto::media::*;
}
