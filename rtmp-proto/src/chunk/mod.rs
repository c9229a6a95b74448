//! RTMP chunk stream codec.
//!
//! This module owns the chunk layer of RTMP and nothing above it: [`ChunkDecoder`]
//! reassembles interleaved chunks into whole messages, and [`ChunkEncoder`] splits messages
//! into chunks with header compression. It never interprets payloads: the caller decodes
//! protocol control messages itself and calls [`ChunkDecoder::set_chunk_size`] or
//! [`ChunkDecoder::abort`] before decoding the next message.
//!
//! Protocol decisions (the specification leaves these open or peers disagree):
//!
//! - **fmt 3 starting a new message** reuses the previous header and adds the delta of the
//!   latest fmt 1/2 header on that chunk stream; a fmt 0 header leaves that delta unchanged,
//!   and it is 0 when no fmt 1/2 header was seen. Because decoders disagree about fmt 3 right
//!   after fmt 0, the encoder only uses fmt 3 for a new message when the previous header on the
//!   chunk stream was fmt 1/2 (or fmt 3 after one) with the same delta.
//! - **fmt 1 on a never-seen chunk stream** is accepted with zeroed previous values
//!   (timestamp 0, so the delta becomes the timestamp, and message stream id 0). fmt 2 and
//!   fmt 3 there are [`ChunkError::NoPreviousHeader`], since no message length is known.
//! - **Extended timestamp on fmt 3 chunks**: when the chunk stream's latest fmt 0/1/2 header
//!   carried one, the decoder peeks at the next 4 bytes and consumes them only if they equal
//!   that value, then remembers per chunk stream whether the peer repeats it and stops
//!   peeking. Once a peer is known to repeat it, the 4 bytes are consumed unchecked. The
//!   encoder always repeats it.
//! - **A fmt 0/1/2 header in the middle of a message** drops the partial message and starts
//!   the new one.
//! - **Timestamps** are `u32` and wrap. A timestamp or delta of exactly `0xFFFFFF` is sent in
//!   the extended field.
//! - **Caller bugs in the encoder** (a payload over [`MAX_MESSAGE_LENGTH`], a chunk stream id
//!   outside `2..=`[`MAX_CSID`], a chunk size outside `1..=`[`MAX_CHUNK_SIZE`]) trip a
//!   `debug_assert!`; release builds clamp the value (for a payload, only its first
//!   `MAX_MESSAGE_LENGTH` bytes are sent), so framing stays intact and nothing panics.

mod decoder;
mod encoder;

use std::fmt;

use bytes::Bytes;

pub use decoder::ChunkDecoder;
pub use encoder::ChunkEncoder;

/// Chunk size in force in each direction until a Set Chunk Size message changes it.
pub const DEFAULT_CHUNK_SIZE: u32 = 128;

/// Largest chunk size a Set Chunk Size message may announce (the top bit must be 0).
pub const MAX_CHUNK_SIZE: u32 = 0x7FFF_FFFF;

/// Largest message payload the 24-bit length field can describe.
pub const MAX_MESSAGE_LENGTH: u32 = 0xFF_FFFF;

/// Largest chunk stream id (the 3-byte basic header form).
pub const MAX_CSID: u32 = 65_599;

/// Value of a 24-bit timestamp field that announces an extended timestamp.
const EXTENDED_TIMESTAMP: u32 = 0xFF_FFFF;

/// Header fields of one RTMP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageHeader {
    /// Chunk stream id the message travels on.
    pub csid: u32,
    /// Absolute timestamp in milliseconds (wraps at `u32::MAX`).
    pub timestamp: u32,
    /// Message type id.
    pub type_id: u8,
    /// Message stream id.
    pub stream_id: u32,
    /// Payload length in bytes.
    pub length: u32,
}

/// A complete reassembled message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// The message's header fields.
    pub header: MessageHeader,
    /// The message's payload, `header.length` bytes.
    pub payload: Bytes,
}

/// Resource limits the decoder enforces on the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Largest message length accepted, in bytes (default 16 MiB).
    pub max_message_size: u32,
    /// Most distinct chunk stream ids one connection may use (default 64).
    pub max_chunk_streams: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        Self {
            max_message_size: 16 * 1024 * 1024,
            max_chunk_streams: 64,
        }
    }
}

/// A protocol violation or limit breach found while decoding chunks.
///
/// All of them are fatal for the connection: the decoder's state is not usable afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkError {
    /// A message header announced a length above [`ChunkLimits::max_message_size`].
    MessageTooLarge {
        /// Chunk stream the message arrived on.
        csid: u32,
        /// Announced length.
        length: u32,
        /// The limit in force.
        limit: u32,
    },
    /// The peer used more distinct chunk stream ids than [`ChunkLimits::max_chunk_streams`].
    TooManyChunkStreams {
        /// The limit in force.
        limit: usize,
    },
    /// A fmt 2 or fmt 3 chunk arrived on a chunk stream with no earlier header to refer to.
    NoPreviousHeader {
        /// Chunk stream the chunk arrived on.
        csid: u32,
        /// The chunk's header format (2 or 3).
        fmt: u8,
    },
    /// A chunk size outside `1..=`[`MAX_CHUNK_SIZE`].
    InvalidChunkSize(u32),
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MessageTooLarge {
                csid,
                length,
                limit,
            } => write!(
                f,
                "message of {length} bytes on chunk stream {csid} exceeds the limit of {limit} bytes"
            ),
            Self::TooManyChunkStreams { limit } => {
                write!(f, "peer uses more than {limit} chunk streams")
            }
            Self::NoPreviousHeader { csid, fmt } => write!(
                f,
                "fmt {fmt} chunk on chunk stream {csid} refers to a previous header that was never sent"
            ),
            Self::InvalidChunkSize(size) => {
                write!(f, "invalid chunk size {size} (must be 1..={MAX_CHUNK_SIZE})")
            }
        }
    }
}

impl std::error::Error for ChunkError {}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::{select, Index};

    use super::*;

    /// Decodes `pieces` in order, acting on Set Chunk Size (type 1) and Abort (type 2) the way
    /// the session layer does.
    fn decode_pieces<'a>(
        limits: ChunkLimits,
        pieces: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Vec<RawMessage>, ChunkError> {
        let mut decoder = ChunkDecoder::new(limits);
        let mut messages = Vec::new();
        for mut piece in pieces {
            while let Some(message) = decoder.decode(&mut piece)? {
                if let Ok(value) = <[u8; 4]>::try_from(&message.payload[..]) {
                    let value = u32::from_be_bytes(value);
                    match message.header.type_id {
                        1 => decoder.set_chunk_size(value)?,
                        2 => decoder.abort(value),
                        _ => {}
                    }
                }
                messages.push(message);
            }
            assert!(piece.is_empty(), "Ok(None) left input unconsumed");
        }
        Ok(messages)
    }

    fn raw(csid: u32, timestamp: u32, type_id: u8, stream_id: u32, payload: Bytes) -> RawMessage {
        RawMessage {
            header: MessageHeader {
                csid,
                timestamp,
                type_id,
                stream_id,
                length: payload.len() as u32,
            },
            payload,
        }
    }

    fn pattern(len: usize, seed: u8) -> Bytes {
        (0..len).map(|i| (i as u8).wrapping_mul(seed)).collect()
    }

    fn set_chunk_size_message(size: u32) -> RawMessage {
        raw(2, 0, 1, 0, Bytes::copy_from_slice(&size.to_be_bytes()))
    }

    /// Encodes `messages` with `encoder`, applying each Set Chunk Size after sending it.
    fn encode_all(encoder: &mut ChunkEncoder, messages: &[RawMessage]) -> Vec<Bytes> {
        let mut out = Vec::new();
        for message in messages {
            encoder.encode(&message.header, &message.payload, &mut out);
            if message.header.type_id == 1 {
                let size = u32::from_be_bytes(message.payload[..].try_into().unwrap());
                encoder.set_chunk_size(size);
            }
        }
        out
    }

    fn sample_messages() -> Vec<RawMessage> {
        vec![
            raw(3, 0, 20, 0, pattern(150, 3)),
            raw(4, 0, 8, 1, pattern(10, 5)),
            raw(4, 23, 8, 1, pattern(10, 7)),
            raw(4, 46, 8, 1, pattern(10, 9)),
            raw(6, 0, 9, 1, pattern(5000, 11)),
            raw(4, 69, 8, 1, pattern(10, 13)),
            raw(6, 33, 9, 1, pattern(300, 15)),
            raw(6, 66, 9, 1, pattern(70_000, 17)),
            raw(6, 50, 9, 1, pattern(257, 19)),
            raw(4, 70, 8, 2, pattern(10, 21)),
            raw(6, 0x0100_0000, 9, 1, pattern(1000, 23)),
            raw(6, 0x0200_0000, 9, 1, pattern(1000, 25)),
            raw(6, 0x0300_0000, 9, 1, pattern(1000, 27)),
            raw(6, u32::MAX, 9, 1, pattern(200, 29)),
            raw(6, 5, 9, 1, pattern(200, 31)),
            raw(320, 7, 18, 1, pattern(400, 33)),
            raw(65_599, 7, 18, 1, pattern(40, 35)),
            raw(3, 8, 20, 0, Bytes::new()),
        ]
    }

    #[test]
    fn round_trip_at_several_chunk_sizes() {
        for size in [1, 128, 4096, 65_536] {
            let mut messages = vec![set_chunk_size_message(size)];
            messages.extend(sample_messages());
            let bytes = encode_all(&mut ChunkEncoder::new(), &messages).concat();
            let whole = decode_pieces(ChunkLimits::default(), [&bytes[..]]).unwrap();
            assert_eq!(whole, messages, "chunk size {size}");
            let bytewise = decode_pieces(ChunkLimits::default(), bytes.chunks(1)).unwrap();
            assert_eq!(bytewise, messages, "chunk size {size}, byte by byte");
        }
    }

    #[test]
    fn round_trip_with_interleaved_chunk_streams() {
        let messages = sample_messages();
        let mut encoder = ChunkEncoder::new();
        // Per chunk stream, its chunks in order: a small message is one segment, a large one
        // alternates header and payload segments.
        let mut queues: Vec<(u32, Vec<Bytes>)> = Vec::new();
        for message in &messages {
            let mut segments = Vec::new();
            encoder.encode(&message.header, &message.payload, &mut segments);
            let chunks: Vec<Bytes> = if message.payload.len() <= 256 {
                segments
            } else {
                segments
                    .chunks(2)
                    .map(|pair| pair.concat().into())
                    .collect()
            };
            match queues
                .iter_mut()
                .find(|(csid, _)| *csid == message.header.csid)
            {
                Some((_, queue)) => queue.extend(chunks),
                None => queues.push((message.header.csid, chunks)),
            }
        }
        // Round-robin over the chunk streams, one chunk at a time.
        let mut bytes = Vec::new();
        let longest = queues.iter().map(|(_, q)| q.len()).max().unwrap_or(0);
        for index in 0..longest {
            for (_, queue) in &queues {
                if let Some(chunk) = queue.get(index) {
                    bytes.extend_from_slice(chunk);
                }
            }
        }
        let decoded = decode_pieces(ChunkLimits::default(), [&bytes[..]]).unwrap();
        for (csid, _) in &queues {
            let on = |list: &[RawMessage]| -> Vec<RawMessage> {
                list.iter()
                    .filter(|m| m.header.csid == *csid)
                    .cloned()
                    .collect()
            };
            assert_eq!(on(&decoded), on(&messages), "chunk stream {csid}");
        }
        assert_eq!(decoded.len(), messages.len());
    }

    /// One step of a random session: a message, or a chunk size change.
    #[derive(Debug, Clone)]
    enum Step {
        Message {
            csid: u32,
            advance: u32,
            type_id: u8,
            stream_id: u32,
            payload: Vec<u8>,
        },
        ChunkSize(u32),
    }

    fn step() -> impl Strategy<Value = Step> {
        let advance = prop_oneof![
            select(vec![0u32, 20, 23, 33]),
            Just(0xFF_FFFF),
            Just(0x0100_0000),
            Just(u32::MAX - 40),
            any::<u32>(),
        ];
        let payload = prop_oneof![
            4 => vec(any::<u8>(), 0..20),
            4 => vec(any::<u8>(), 100..600),
            1 => vec(any::<u8>(), 2000..5000),
        ];
        let message = (
            select(vec![3u32, 4, 6, 64, 320, 65_599]),
            advance,
            select(vec![8u8, 9, 18, 20]),
            select(vec![0u32, 1, 7]),
            payload,
        )
            .prop_map(
                |(csid, advance, type_id, stream_id, payload)| Step::Message {
                    csid,
                    advance,
                    type_id,
                    stream_id,
                    payload,
                },
            );
        prop_oneof![
            9 => message,
            1 => select(vec![1u32, 2, 50, 128, 4096, 65_536]).prop_map(Step::ChunkSize),
        ]
    }

    /// The messages of a random session; timestamps advance per chunk stream.
    fn messages_of(steps: &[Step]) -> Vec<RawMessage> {
        let mut clocks: HashMap<u32, u32> = HashMap::new();
        steps
            .iter()
            .map(|step| match step {
                Step::ChunkSize(size) => set_chunk_size_message(*size),
                Step::Message {
                    csid,
                    advance,
                    type_id,
                    stream_id,
                    payload,
                } => {
                    let clock = clocks.entry(*csid).or_insert(0);
                    *clock = clock.wrapping_add(*advance);
                    let payload = Bytes::copy_from_slice(payload);
                    raw(*csid, *clock, *type_id, *stream_id, payload)
                }
            })
            .collect()
    }

    /// Splits `bytes` at the given cut points.
    fn split<'a>(bytes: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.push(bytes.len());
        let mut start = 0;
        cuts.iter()
            .map(|&end| {
                let piece = &bytes[start..end];
                start = end;
                piece
            })
            .collect()
    }

    proptest! {
        #[test]
        fn round_trip_split_at_random_points(
            steps in vec(step(), 1..30),
            cuts in vec(any::<Index>(), 0..64),
        ) {
            let messages = messages_of(&steps);
            let bytes = encode_all(&mut ChunkEncoder::new(), &messages).concat();
            let decoded = decode_pieces(ChunkLimits::default(), split(&bytes, &cuts));
            prop_assert_eq!(decoded, Ok(messages));
        }

        #[test]
        fn random_bytes_never_panic(
            bytes in vec(any::<u8>(), 0..4000),
            cuts in vec(any::<Index>(), 0..16),
        ) {
            let limits = ChunkLimits { max_message_size: 1 << 16, max_chunk_streams: 8 };
            let _ = decode_pieces(limits, split(&bytes, &cuts));
        }

        #[test]
        fn corrupted_streams_never_panic(
            steps in vec(step(), 1..10),
            flips in vec((any::<Index>(), any::<u8>()), 1..8),
            cuts in vec(any::<Index>(), 0..16),
        ) {
            let mut bytes = encode_all(&mut ChunkEncoder::new(), &messages_of(&steps)).concat();
            for (at, value) in flips {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            let _ = decode_pieces(ChunkLimits::default(), split(&bytes, &cuts));
        }
    }
}
