//! # rtmp-async-std: RTMP on `futures-io`, for async-std, smol and friends
//!
//! [`RtmpServer`] serves RTMP on any stream implementing the `futures-io`
//! `AsyncRead + AsyncWrite` traits, with `async-io` timers, so it runs on async-std,
//! on smol, or on any executor driving those: spawn
//! [`RtmpServer::serve_connection`] per accepted socket. [`RtmpClient`] plays or
//! publishes over such a stream the same way. The [`RtmpHandler`] is the same trait
//! the Tokio server takes.
//!
//! async-std is discontinued upstream, so it is used only for listening and spawning
//! ([`RtmpServer::run`], [`RtmpClient::play`], [`RtmpClient::publish`], behind the default `async-std`
//! feature); nothing else here depends on it.
//!
//! The connection loop is `rtmp_proto::app::serve`, the one the Tokio server runs too:
//! this crate gives it a futures-io stream and an async-io timer. The hub, GOP cache,
//! drop policy, bounds and all protocol decisions are `rtmp-proto`'s.
//!
//! Size: 356 lines of code (452 with comments and blank lines), no tests inside;
//! counted like `rtmp-mio`'s.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod server;

pub use client::RtmpClient;
pub use rtmp_proto::app::{AuthResult, RtmpHandler, SessionContext, SessionStats, StreamContext};
pub use server::{RtmpServer, ServerConfig};
