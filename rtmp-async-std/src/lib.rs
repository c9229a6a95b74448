//! # rtmp-async-std: RTMP on `futures-io`, for async-std, smol and friends
//!
//! [`RtmpServer`] serves RTMP on any stream implementing the `futures-io`
//! `AsyncRead + AsyncWrite` traits, with `async-io` timers and `event-listener`
//! wakeups, so it runs on async-std, on smol, or on any executor driving those: spawn
//! [`RtmpServer::serve_connection`] per accepted socket. [`RtmpClient`] plays or
//! publishes over such a stream the same way. The [`RtmpHandler`] is the same trait
//! the Tokio server takes.
//!
//! async-std is discontinued upstream, so it is used only for listening and spawning
//! ([`RtmpServer::run`], [`RtmpClient::play`], [`RtmpClient::publish`], behind the default `async-std`
//! feature); nothing else here depends on it.
//!
//! The connection loop is the one every adapter runs (read → `ServerSession` →
//! handler and hub → vectored write); the hub, GOP cache, drop policy, bounds and all
//! protocol decisions are `rtmp-proto`'s (`rtmp_proto::app`).
//!
//! Size: 426 lines of code (519 with comments and blank lines), no tests inside;
//! counted like `rtmp-mio`'s.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod server;

pub use client::RtmpClient;
pub use rtmp_proto::app::{AuthResult, RtmpHandler, SessionContext, SessionStats, StreamContext};
pub use server::{RtmpServer, ServerConfig};
