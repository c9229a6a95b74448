//! # rtmp-tokio: the Tokio adapter for `rtmp-proto`
//!
//! [`RtmpServer`] accepts TCP connections and runs one task per connection. Each task
//! is the loop every adapter runs: read → [`ServerSession::handle_input`] → answer the
//! session's events (calling your [`RtmpHandler`]) → write the output segments with one
//! vectored write → sleep until the session's next timeout. Fan-out goes through the
//! core's [`Hub`] behind a mutex held only for queue operations; each player's task is
//! woken when its queue becomes non-empty and pulls from it only when its socket has
//! caught up, so a slow player meets the hub's drop policy instead of slowing anyone.
//!
//! With the `tls` feature the server also speaks RTMPS (`ServerConfig::tls`), alone or
//! beside plain RTMP, and the clients connect to `rtmps://` URLs.
//!
//! The [`client`] module drives the core's `ClientSession` the same way: [`client::RtmpPuller`]
//! plays a stream into a channel of events, [`client::RtmpPublisher`] publishes, and
//! helpers send FLV files, record to FLV and relay between servers.
//!
//! No protocol decision is made here: if this crate grows one, it belongs in `rtmp-proto`.
//!
//! [`ServerSession::handle_input`]: rtmp_proto::ServerSession::handle_input
//! [`Hub`]: rtmp_proto::hub::Hub
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
mod config;
mod connection;
mod server;
mod spawner;
#[cfg(feature = "tls")]
mod tls;

pub use config::ServerConfig;
pub use rtmp_proto::app::{AuthResult, RtmpHandler, SessionContext, SessionStats, StreamContext};
pub use server::{RtmpServer, ServerHandle};
#[cfg(feature = "tls")]
pub use tls::ServerTls;
