//! # rtmp-mio: RTMP in your own mio event loop
//!
//! A single-threaded RTMP server ([`RtmpServer`]) and client ([`RtmpClient`]) over mio
//! 1.x, with no threads of their own. Use them two ways:
//!
//! - [`Runner`] owns a [`mio::Poll`] and serves until its [`Stopper`] says stop.
//! - Embedded: register the server in your `Poll` with a first token
//!   ([`RtmpServer::register`]; it owns that token and the next `max_connections`),
//!   forward the events of those tokens to [`RtmpServer::handle_event`], sleep no
//!   longer than [`RtmpServer::poll_timeout`] and call [`RtmpServer::handle_timeout`]
//!   after each poll. Your [`Handler`] hears connects, publishes, plays and media as
//!   plain method calls on the loop's thread.
//!
//! The loop per connection is the one every adapter runs: read (a bounded number of
//! times per turn, so one busy socket cannot starve the rest) → `ServerSession` →
//! events through the handler and the hub → pull deliveries while the socket keeps
//! up → vectored writes until `WouldBlock`. The hub, GOP cache, drop policy, bounds
//! and all protocol decisions are `rtmp-proto`'s ([`ServerConnection`]), the same as
//! the Tokio server's; this crate only moves bytes, readiness and time.
//!
//! Size: 692 lines of code (900 with comments and blank lines), no tests inside;
//! counted with `cat rtmp-mio/src/*.rs | grep -v '^\s*//' | grep -v '^\s*$' | wc -l`.
//!
//! [`ServerConnection`]: rtmp_proto::app::ServerConnection
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod dispatch;
mod handler;
mod server;

pub use client::RtmpClient;
pub use handler::Handler;
pub use rtmp_proto::app::{AuthResult, SessionContext, SessionStats, StreamContext};
pub use server::{RtmpServer, Runner, ServerConfig, Stopper};
