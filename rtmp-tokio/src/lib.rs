//! # rtmp-tokio: the Tokio adapter for `rtmp-proto`
//!
//! [`RtmpServer`] accepts TCP connections and runs one task per connection: the core's
//! connection loop ([`serve`]) on a Tokio socket and timer. It reads into
//! [`ServerSession::handle_input`], answers the session's events (calling your
//! [`RtmpHandler`]), writes the output segments with vectored writes and sleeps until
//! the session's next timeout. Fan-out goes through the core's [`Hub`] behind a mutex
//! held only for queue operations; a player's task is woken when deliveries are queued
//! and pulls them only when its socket has caught up, so a slow player meets the hub's
//! drop policy instead of slowing anyone.
//!
//! Tasks run on the runtime that runs the server, or, with [`ServerConfig::workers`],
//! on dedicated single-threaded runtimes that accepted sockets are dealt to (the
//! nginx model, and the cheapest per delivered byte).
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
//! [`serve`]: rtmp_proto::app::serve
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
