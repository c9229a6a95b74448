//! TCP segments to connections: each flow's two byte streams reassembled (duplicates
//! and retransmissions dropped, out-of-order and overlapping segments put in place),
//! the client told from the server, and a capture that starts mid-connection
//! recognised as such.

use super::net::{Segment, ACK, FIN, RST, SYN};
use super::{ReplayError, ReplayLimits};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

/// Which way bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to the server.
    ClientToServer,
    /// From the server to the client.
    ServerToClient,
}

/// How a connection's start appears in the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// The TCP handshake (the client's SYN) is in the capture.
    Syn,
    /// No SYN, but the streams start with the RTMP handshake (C0, then S0 after C1):
    /// the capture began between the TCP handshake and the first data.
    HandshakeWithoutSyn,
    /// The capture starts in the middle of the connection: no SYN and no RTMP
    /// handshake at the start of the data. Such a connection cannot be replayed.
    MidConnection,
}

/// What told the client from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleEvidence {
    /// The side that sent the SYN is the client.
    Syn,
    /// The side that sent C0 (0x03) first, at the stream start, is the client.
    C0,
    /// The side on port 1935 is the server.
    Port1935,
    /// A guess: the side on the lower port is the server.
    LowerPort,
}

/// Bytes that became available to the receiver at once (in order, no gaps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When, since the connection's first packet.
    pub at: Duration,
    /// Which way.
    pub direction: Direction,
    /// The bytes.
    pub data: Bytes,
}

/// A hole in a stream that the capture never fills: the stream stops there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// The stream with the hole.
    pub direction: Direction,
    /// Its offset in that stream.
    pub offset: u64,
    /// When the first data past the hole arrived, since the connection's first packet.
    pub at: Duration,
}

/// One TCP connection of a capture, reassembled.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The client's address.
    pub client: SocketAddr,
    /// The server's address.
    pub server: SocketAddr,
    /// How the connection's start appears in the capture.
    pub opening: Opening,
    /// What told the client from the server.
    pub roles_from: RoleEvidence,
    /// Capture time of the connection's first packet, since the Unix epoch.
    pub started: Duration,
    /// Both streams' bytes, in the order they became available.
    pub records: Vec<Record>,
    /// The first hole that never filled, if any.
    pub gap: Option<Gap>,
    /// Whether a FIN or RST was seen.
    pub closed: bool,
    /// Payload bytes received again (retransmissions, duplicates, overlaps).
    pub duplicate_bytes: u64,
    /// Segments that arrived ahead of a hole and waited for it to fill.
    pub out_of_order_segments: u64,
    /// Whether packets were cut by the capture's snapshot length.
    pub snapshot_cut: bool,
}

impl Connection {
    /// All bytes that went `direction`, concatenated.
    pub fn stream(&self, direction: Direction) -> Vec<u8> {
        let mut out = Vec::new();
        for record in self.records.iter().filter(|r| r.direction == direction) {
            out.extend_from_slice(&record.data);
        }
        out
    }
}

/// One direction of a flow being reassembled.
#[derive(Debug, Default)]
struct Half {
    /// Sequence number of stream offset 0.
    base: Option<u32>,
    syn: bool,
    /// The next offset expected.
    next: u64,
    /// Segments past a hole, by offset.
    pending: BTreeMap<u64, (Duration, Vec<u8>)>,
    pending_bytes: usize,
}

/// A flow as it is being read: halves indexed by sender (0 = first endpoint seen).
#[derive(Debug)]
struct Flow {
    ends: [SocketAddr; 2],
    halves: [Half; 2],
    started: Duration,
    /// Records with the sending half's index.
    records: Vec<(Duration, usize, Bytes)>,
    /// The half that sent a SYN without ACK.
    opener: Option<usize>,
    closed: bool,
    duplicate_bytes: u64,
    out_of_order_segments: u64,
    snapshot_cut: bool,
}

/// Groups segments into connections and reassembles them.
#[derive(Debug)]
pub(crate) struct Flows {
    limits: ReplayLimits,
    flows: Vec<Flow>,
    by_key: HashMap<(SocketAddr, SocketAddr), usize>,
}

impl Flows {
    pub(crate) fn new(limits: ReplayLimits) -> Self {
        Flows {
            limits,
            flows: Vec::new(),
            by_key: HashMap::new(),
        }
    }

    /// Takes one segment captured at `time` (since the epoch).
    pub(crate) fn push(
        &mut self,
        time: Duration,
        segment: &Segment<'_>,
    ) -> Result<(), ReplayError> {
        let key = if segment.src <= segment.dst {
            (segment.src, segment.dst)
        } else {
            (segment.dst, segment.src)
        };
        let opening = segment.flags & (SYN | ACK) == SYN;
        let index = match self.by_key.get(&key) {
            // A new SYN on a closed flow, or with another sequence number: port reuse.
            Some(&i)
                if !(opening
                    && (self.flows[i].closed
                        || self.flows[i]
                            .halves
                            .iter()
                            .any(|h| h.syn && h.base != Some(segment.seq.wrapping_add(1))))) =>
            {
                i
            }
            _ => {
                if self.flows.len() >= self.limits.max_connections {
                    return Err(ReplayError::Limit(format!(
                        "more than {} TCP connections",
                        self.limits.max_connections
                    )));
                }
                self.flows.push(Flow {
                    ends: [segment.src, segment.dst],
                    halves: [Half::default(), Half::default()],
                    started: time,
                    records: Vec::new(),
                    opener: None,
                    closed: false,
                    duplicate_bytes: 0,
                    out_of_order_segments: 0,
                    snapshot_cut: false,
                });
                self.by_key.insert(key, self.flows.len() - 1);
                self.flows.len() - 1
            }
        };
        let flow = &mut self.flows[index];
        let from = usize::from(segment.src != flow.ends[0]);
        flow.snapshot_cut |= segment.cut;
        if segment.flags & SYN != 0 {
            let half = &mut flow.halves[from];
            if !half.syn && half.base.is_none() {
                half.base = Some(segment.seq.wrapping_add(1));
            }
            half.syn = true;
            if opening {
                flow.opener = Some(from);
            }
        }
        if !segment.payload.is_empty() {
            flow.take(time, from, segment, self.limits.max_out_of_order_bytes)?;
        }
        if segment.flags & (FIN | RST) != 0 {
            flow.closed = true;
        }
        Ok(())
    }

    /// The connections, in the order their first packets appeared.
    pub(crate) fn finish(self) -> Vec<Connection> {
        self.flows.into_iter().map(Flow::finish).collect()
    }
}

impl Flow {
    /// Places a segment's payload in its stream, emitting what became contiguous.
    fn take(
        &mut self,
        time: Duration,
        from: usize,
        segment: &Segment<'_>,
        max_pending: usize,
    ) -> Result<(), ReplayError> {
        let half = &mut self.halves[from];
        let base = *half.base.get_or_insert(segment.seq);
        // Signed distance from the expected sequence number: handles wrap-around.
        let expected = base.wrapping_add(half.next as u32);
        let distance = i64::from(segment.seq.wrapping_sub(expected) as i32);
        let start = half.next as i64 + distance;
        let mut payload = segment.payload;
        let mut offset = start.max(0) as u64;
        if start < 0 {
            let skip = usize::try_from(-start)
                .unwrap_or(usize::MAX)
                .min(payload.len());
            self.duplicate_bytes += skip as u64;
            payload = &payload[skip..];
        }
        let end = offset + payload.len() as u64;
        if end <= half.next {
            self.duplicate_bytes += payload.len() as u64;
            return Ok(());
        }
        if offset > half.next {
            self.out_of_order_segments += 1;
            let longer = half
                .pending
                .get(&offset)
                .map_or(true, |(_, held)| held.len() < payload.len());
            if longer {
                let replaced = half
                    .pending
                    .insert(offset, (time, payload.to_vec()))
                    .map_or(0, |(_, held)| held.len());
                half.pending_bytes = half.pending_bytes - replaced + payload.len();
                if half.pending_bytes > max_pending {
                    return Err(ReplayError::Limit(format!(
                        "more than {max_pending} bytes wait for a hole in a TCP stream to fill"
                    )));
                }
            } else {
                self.duplicate_bytes += payload.len() as u64;
            }
            return Ok(());
        }
        let skip = (half.next - offset) as usize;
        self.duplicate_bytes += skip as u64;
        let mut data = payload[skip..].to_vec();
        half.next = end;
        offset = end;
        // Held segments that now connect.
        while let Some((&at, _)) = half.pending.first_key_value() {
            if at > offset {
                break;
            }
            let Some((_, (_, held))) = half.pending.pop_first() else {
                break;
            };
            half.pending_bytes -= held.len();
            let held_end = at + held.len() as u64;
            if held_end <= offset {
                self.duplicate_bytes += held.len() as u64;
                continue;
            }
            let skip = (offset - at) as usize;
            self.duplicate_bytes += skip as u64;
            data.extend_from_slice(&held[skip..]);
            offset = held_end;
            half.next = held_end;
        }
        self.records.push((time, from, Bytes::from(data)));
        Ok(())
    }

    fn finish(self) -> Connection {
        let first_data = |half: usize| {
            self.records
                .iter()
                .position(|(_, from, _)| *from == half)
                .map(|i| (i, self.records[i].2[0]))
        };
        // Without a SYN: a side that starts with C0 and whose peer answers with S0
        // only after a whole C0 + C1 looks like the start of an RTMP session.
        let handshake_client = || {
            let (a, b) = (first_data(0)?, first_data(1)?);
            let (client, (_, c0), (si, s0)) = if a.0 < b.0 { (0, a, b) } else { (1, b, a) };
            let before: usize = self.records[..si]
                .iter()
                .filter(|(_, from, _)| *from == client)
                .map(|(_, _, d)| d.len())
                .sum();
            (c0 == 3 && s0 == 3 && before > crate::handshake::HANDSHAKE_BLOCK).then_some(client)
        };
        let (client, opening, roles_from) = if let Some(opener) = self.opener {
            (opener, Opening::Syn, RoleEvidence::Syn)
        } else if let Some(client) = handshake_client() {
            (client, Opening::HandshakeWithoutSyn, RoleEvidence::C0)
        } else if self.ends[1].port() == 1935 {
            (0, Opening::MidConnection, RoleEvidence::Port1935)
        } else if self.ends[0].port() == 1935 {
            (1, Opening::MidConnection, RoleEvidence::Port1935)
        } else {
            let client = usize::from(self.ends[0].port() < self.ends[1].port());
            (client, Opening::MidConnection, RoleEvidence::LowerPort)
        };
        let direction = |half: usize| {
            if half == client {
                Direction::ClientToServer
            } else {
                Direction::ServerToClient
            }
        };
        let gap = (0..2)
            .filter_map(|half| {
                let (_, (at, _)) = self.halves[half].pending.first_key_value()?;
                Some(Gap {
                    direction: direction(half),
                    offset: self.halves[half].next,
                    at: at.saturating_sub(self.started),
                })
            })
            .min_by_key(|gap| gap.at);
        Connection {
            client: self.ends[client],
            server: self.ends[1 - client],
            opening,
            roles_from,
            started: self.started,
            records: self
                .records
                .into_iter()
                .map(|(time, from, data)| Record {
                    at: time.saturating_sub(self.started),
                    direction: direction(from),
                    data,
                })
                .collect(),
            gap,
            closed: self.closed,
            duplicate_bytes: self.duplicate_bytes,
            out_of_order_segments: self.out_of_order_segments,
            snapshot_cut: self.snapshot_cut,
        }
    }
}
