//! The chunk stream: how RTMP messages are cut into chunks and put back together.
//!
//! A chunk is a basic header (format + chunk stream id), a message header whose size
//! depends on the format (11, 7, 3 or 0 bytes), an optional extended timestamp, and at
//! most `chunk_size` bytes of payload. [`ChunkDecoder`] reassembles messages from
//! chunks of interleaved chunk streams; [`ChunkEncoder`] cuts messages into chunks,
//! compressing headers against the previous message on the same chunk stream.
//!
//! Timestamp rules shared by both sides (they follow FFmpeg and librtmp): a format 3
//! chunk that starts a new message adds the previous header's timestamp field again —
//! the delta of a format 1 or 2 header, or the absolute value of a format 0 header.
//! The encoder only ever relies on the first case. Extended timestamps are written on
//! every continuation chunk; the decoder accepts them present or absent.

mod decoder;
mod encoder;

pub use decoder::ChunkDecoder;
pub use encoder::ChunkEncoder;

use bytes::Bytes;
use std::fmt;

/// Chunk size both sides use until a Set Chunk Size says otherwise.
pub const DEFAULT_CHUNK_SIZE: u32 = 128;
/// Largest chunk size the protocol allows (the top bit must be zero).
pub const MAX_CHUNK_SIZE: u32 = 0x7FFF_FFFF;
/// Largest message length a message header can express.
pub const MAX_MESSAGE_LENGTH: u32 = 0xFF_FFFF;
/// A timestamp field with this value means an extended timestamp follows.
const EXTENDED_TIMESTAMP: u32 = 0xFF_FFFF;

/// Header fields of one RTMP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageHeader {
    /// Chunk stream id (2 ..= 65599).
    pub csid: u32,
    /// Absolute timestamp in milliseconds (wrapping).
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
    /// Its header.
    pub header: MessageHeader,
    /// Its payload.
    pub payload: Bytes,
}

/// Bounds on what a peer can make the decoder hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Largest message accepted. Default 8 MiB (a 4K keyframe is a few hundred KiB).
    pub max_message_size: u32,
    /// Most chunk streams tracked at once. Default 64.
    pub max_chunk_streams: usize,
    /// Most payload bytes held in partly received messages, all chunk streams
    /// together. Default 16 MiB.
    pub max_buffered_bytes: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits {
            max_message_size: 8 << 20,
            max_chunk_streams: 64,
            max_buffered_bytes: 16 << 20,
        }
    }
}

/// A chunk stream that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkError {
    /// A message header announced more than [`ChunkLimits::max_message_size`].
    MessageTooLarge {
        /// Chunk stream id.
        csid: u32,
        /// Announced length.
        length: u32,
        /// The limit.
        limit: u32,
    },
    /// More distinct chunk streams than [`ChunkLimits::max_chunk_streams`].
    TooManyChunkStreams {
        /// The limit.
        limit: usize,
    },
    /// A compressed header (format 2 or 3) on a chunk stream with no earlier header.
    NoPreviousHeader {
        /// Chunk stream id.
        csid: u32,
        /// The header format.
        fmt: u8,
    },
    /// Partly received messages hold more than [`ChunkLimits::max_buffered_bytes`].
    TooMuchBuffered {
        /// The limit.
        limit: usize,
    },
    /// Set Chunk Size with 0 or the top bit set.
    InvalidChunkSize(u32),
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkError::MessageTooLarge {
                csid,
                length,
                limit,
            } => write!(
                f,
                "message of {length} bytes on chunk stream {csid} exceeds the {limit}-byte limit"
            ),
            ChunkError::TooManyChunkStreams { limit } => {
                write!(f, "more than {limit} chunk streams in use")
            }
            ChunkError::NoPreviousHeader { csid, fmt } => write!(
                f,
                "format {fmt} chunk on chunk stream {csid}, which has no earlier header"
            ),
            ChunkError::TooMuchBuffered { limit } => {
                write!(f, "partly received messages exceed {limit} bytes")
            }
            ChunkError::InvalidChunkSize(size) => {
                write!(f, "invalid chunk size {size} (must be 1 ..= 2147483647)")
            }
        }
    }
}

impl std::error::Error for ChunkError {}

/// Checks a Set Chunk Size value.
fn valid_chunk_size(size: u32) -> Result<u32, ChunkError> {
    if (1..=MAX_CHUNK_SIZE).contains(&size) {
        Ok(size)
    } else {
        Err(ChunkError::InvalidChunkSize(size))
    }
}

#[cfg(test)]
mod tests;
