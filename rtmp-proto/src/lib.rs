//! # rtmp-proto: the sans-IO RTMP core
//!
//! Everything this library knows about RTMP lives here, and none of it touches a socket,
//! a clock or a runtime. Bytes go in, events and bytes come out:
//!
//! ```text
//!  socket bytes ─► ServerSession::handle_input ─► poll_event() → ServerEvent (connect, publish, play, media …)
//!                                              ─► output segments (Bytes) ─► vectored write ─► advance_output(n)
//!  now: Instant ─► handle_timeout / poll_timeout
//!  app decisions ─► accept(id) / reject(id, reason) / deliver(stream, Delivery)
//! ```
//!
//! Time and randomness are passed in, so the same inputs always give the same outputs.
//! Runtime adapters (`rtmp-tokio`, …) only move bytes and time between the operating
//! system and this crate.
//!
//! Modules:
//! - [`amf`]: AMF0 and AMF3 values, encode and decode.
//! - [`app`]: what an application sees of a server connection: the async
//!   [`RtmpHandler`](app::RtmpHandler) and [`ServerConnection`](app::ServerConnection),
//!   the connection glue every adapter drives.
//! - [`handshake`]: the RTMP handshake, simple and digest forms, both roles.
//! - [`chunk`]: the chunk stream decoder (reassembly) and encoder (header compression).
//! - [`enhanced`]: Enhanced RTMP capability negotiation (FourCC lists and maps, capsEx).
//! - [`flv`]: FLV files as tags, read and written without I/O.
//! - [`message`]: RTMP message types, protocol control, user control and commands.
//! - [`media`]: the audio/video model: legacy and Enhanced RTMP tags, FourCCs, multitrack,
//!   codec configuration records, and the classification fan-out relies on.
//! - [`session`]: [`ServerSession`] and [`ClientSession`], the connection state machines.
//! - [`hub`]: stream registry and per-player queues: the fan-out policy, with no locks and no I/O.
//! - [`url`]: RTMP URLs split into host, port, `app`, `tcUrl` and stream name.
//! - `capture` (feature `capture`): records a session as a pcapng file.
//! - `replay` (feature `replay`): reads pcap/pcapng captures (ours, tcpdump's,
//!   Wireshark's), reassembles their TCP flows and replays them through sessions.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod amf;
pub mod app;
#[cfg(feature = "capture")]
pub mod capture;
pub mod chunk;
pub mod enhanced;
pub mod flv;
pub mod handshake;
pub mod hub;
pub mod media;
pub mod message;
#[cfg(feature = "replay")]
pub mod replay;
pub mod session;
pub mod url;

mod rng;

pub use session::{
    ClientEvent, ClientIntent, ClientParams, ClientSession, RequestId, ServerEvent, ServerSession,
    SessionConfig, SessionError,
};
