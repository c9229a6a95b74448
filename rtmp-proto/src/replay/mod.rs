//! Deterministic replay of captured sessions (feature `replay`).
//!
//! [`Capture::parse`] reads a pcap or pcapng file — one written by
//! [`crate::capture::SessionCapture`], or one taken with tcpdump, tshark or Wireshark
//! on Ethernet, Linux cooked (SLL, SLL2), BSD loopback or raw IP links — and
//! reassembles each TCP connection ([`Connection`]): retransmitted, duplicated,
//! overlapping and out-of-order segments are put in place, the client is told from the
//! server (the SYN; else who sent C0 first; else port 1935), and a capture that starts
//! mid-connection is reported as [`Opening::MidConnection`] rather than misread.
//!
//! [`Capture::replay_server`] then drives a [`ServerSession`](crate::ServerSession)
//! with the client's bytes at their captured times, on a virtual clock (a base
//! `Instant` plus the capture's time offsets; timers fire between packets when due).
//! What the app and the hub did is read from the server's side of the capture: a
//! `_result` / `NetStream.*.Start` answer means the request was accepted, an `_error`
//! or failed status that it was rejected (with its description); media, metadata and
//! publish notices sent to a player are decoded from the server's stream and handed
//! to [`ServerSession::deliver`](crate::ServerSession::deliver) at the same point in
//! the output. With the handshake seed from our own captures' metadata, a session
//! captured from this crate's server replays to byte-identical output; otherwise the
//! output is compared after the handshake, and the events are the result.
//! On divergence, a [`Divergence`] names the first differing byte with its offset,
//! capture time and context.

mod flow;
mod net;
mod read;
mod server;
mod stream;
mod summary;

pub use flow::{Connection, Direction, Gap, Opening, Record, RoleEvidence};
pub use server::{Divergence, ServerReplay};
pub use summary::{SessionSummary, TrackSummary};

use crate::capture::{CaptureMeta, CaptureRole};
use crate::SessionConfig;
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// Why a capture could not be read or replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayError {
    /// The file starts with neither a pcap nor a pcapng header.
    NotACapture,
    /// The file is damaged (the reader's message).
    Malformed(String),
    /// The capture exceeds a bound of [`ReplayLimits`].
    Limit(String),
    /// Reading the file failed.
    Io(String),
    /// There is no connection with this index.
    NoSuchConnection(usize),
    /// The connection's start is not in the capture, so it cannot be replayed.
    MidConnection {
        /// The client's address (a guess, see [`Connection::roles_from`]).
        client: std::net::SocketAddr,
        /// The server's address.
        server: std::net::SocketAddr,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::NotACapture => f.write_str("not a pcap or pcapng file"),
            ReplayError::Malformed(e) => write!(f, "damaged capture: {e}"),
            ReplayError::Limit(e) => write!(f, "capture exceeds a replay bound: {e}"),
            ReplayError::Io(e) => write!(f, "cannot read the capture: {e}"),
            ReplayError::NoSuchConnection(i) => write!(f, "the capture has no connection #{i}"),
            ReplayError::MidConnection { client, server } => write!(
                f,
                "the capture starts mid-connection ({client} -> {server}): no SYN and no RTMP \
                 handshake, so it cannot be replayed"
            ),
        }
    }
}

impl std::error::Error for ReplayError {}

/// Bounds on what reading a capture may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayLimits {
    /// Largest capture file read. Default 1 GiB.
    pub max_file_bytes: u64,
    /// Most TCP connections in one capture. Default 4096.
    pub max_connections: usize,
    /// Most bytes held per stream while waiting for a hole to fill. Default 16 MiB.
    pub max_out_of_order_bytes: usize,
}

impl Default for ReplayLimits {
    fn default() -> Self {
        ReplayLimits {
            max_file_bytes: 1 << 30,
            max_connections: 4096,
            max_out_of_order_bytes: 16 << 20,
        }
    }
}

/// How input is cut into `handle_input` calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// As it became available in the capture (one call per reassembled record).
    AsCaptured,
    /// One byte per call.
    ByteAtATime,
    /// Each record cut at random points drawn from `seed`.
    Random {
        /// The seed of the cut points.
        seed: u64,
    },
}

/// How a replay runs.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// The session configuration; it must match the recording server's for a
    /// byte-identical replay. Default [`SessionConfig::default`].
    pub config: SessionConfig,
    /// How input is cut.
    pub split: Split,
    /// The handshake seed; `None` takes it from the capture's metadata (ours), else 0.
    pub rng_seed: Option<u64>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            config: SessionConfig::default(),
            split: Split::AsCaptured,
            rng_seed: None,
        }
    }
}

/// Something that happened during a replay, with its time since the connection's
/// first packet.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedEvent<E> {
    /// When.
    pub at: Duration,
    /// What.
    pub event: E,
}

/// A capture file, read and reassembled.
#[derive(Debug, Clone)]
pub struct Capture {
    /// What our own recorder wrote about the session, if it wrote this file.
    pub meta: Option<CaptureMeta>,
    /// Whether the file is pcapng (else classic pcap).
    pub pcapng: bool,
    /// The TCP connections, in the order their first packets appear.
    pub connections: Vec<Connection>,
    /// When recording stopped at the file's size bound, if it did (since the epoch).
    pub truncated_at: Option<Duration>,
    /// Whether the file ends in the middle of a packet.
    pub cut_short: bool,
    /// Frames that were not TCP over IPv4/IPv6 (or were IP fragments).
    pub skipped_frames: u64,
    /// Frames of link types this reader does not know, or too damaged to parse.
    pub unreadable_frames: u64,
}

impl Capture {
    /// Reads a capture from its bytes, with the default limits.
    pub fn parse(file: &[u8]) -> Result<Capture, ReplayError> {
        Capture::parse_with(file, ReplayLimits::default())
    }

    /// Reads a capture from its bytes.
    pub fn parse_with(file: &[u8], limits: ReplayLimits) -> Result<Capture, ReplayError> {
        if file.len() as u64 > limits.max_file_bytes {
            return Err(ReplayError::Limit(format!(
                "file of {} bytes (the bound is {})",
                file.len(),
                limits.max_file_bytes
            )));
        }
        let mut flows = flow::Flows::new(limits);
        let (mut skipped_frames, mut unreadable_frames) = (0, 0);
        let info = read::read_packets(file, |packet| {
            match net::parse(packet.link, &packet.data) {
                Ok(segment) => flows.push(packet.time, &segment)?,
                Err(net::Skip::NotTcp) => skipped_frames += 1,
                Err(net::Skip::Malformed | net::Skip::UnknownLink(_)) => unreadable_frames += 1,
            }
            Ok(())
        })?;
        Ok(Capture {
            meta: info.meta,
            pcapng: info.pcapng,
            connections: flows.finish(),
            truncated_at: info.truncated_at,
            cut_short: info.cut_short,
            skipped_frames,
            unreadable_frames,
        })
    }

    /// Reads a capture file, with the default limits.
    pub fn open(path: impl AsRef<Path>) -> Result<Capture, ReplayError> {
        let limits = ReplayLimits::default();
        let path = path.as_ref();
        let io = |e: std::io::Error| ReplayError::Io(format!("{}: {e}", path.display()));
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > limits.max_file_bytes {
            return Err(ReplayError::Limit(format!(
                "file of {size} bytes (the bound is {})",
                limits.max_file_bytes
            )));
        }
        Capture::parse_with(&std::fs::read(path).map_err(io)?, limits)
    }

    /// Our own metadata, if it describes connection `index` as recorded by its server.
    pub fn server_meta(&self, index: usize) -> Option<&CaptureMeta> {
        let connection = self.connections.get(index)?;
        self.meta.as_ref().filter(|meta| {
            meta.role == CaptureRole::Server
                && meta.local.port() == connection.server.port()
                && meta.peer.port() == connection.client.port()
        })
    }

    /// Replays connection `index` through a [`ServerSession`](crate::ServerSession).
    pub fn replay_server(
        &self,
        index: usize,
        options: &ReplayOptions,
    ) -> Result<ServerReplay, ReplayError> {
        let connection = self
            .connections
            .get(index)
            .ok_or(ReplayError::NoSuchConnection(index))?;
        if connection.opening == Opening::MidConnection {
            return Err(ReplayError::MidConnection {
                client: connection.client,
                server: connection.server,
            });
        }
        let truncated = self.truncated_at.is_some() || self.cut_short;
        Ok(server::replay(
            connection,
            self.server_meta(index),
            truncated,
            options,
        ))
    }
}

/// The first difference between two event sequences (times are not compared): its
/// index, and both sides' event there (`None` past an end), described briefly.
pub fn first_event_difference<E: PartialEq + fmt::Debug>(
    a: &[TimedEvent<E>],
    b: &[TimedEvent<E>],
) -> Option<(usize, Option<String>, Option<String>)> {
    let describe = |e: Option<&TimedEvent<E>>| {
        e.map(|e| {
            let text = format!("{:?} at {:?}", e.event, e.at);
            summary::abbreviate(&text, 160)
        })
    };
    (0..a.len().max(b.len()))
        .find(|&i| a.get(i).map(|e| &e.event) != b.get(i).map(|e| &e.event))
        .map(|i| (i, describe(a.get(i)), describe(b.get(i))))
}
