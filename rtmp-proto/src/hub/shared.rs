//! [`SharedMedia`]: one published message, shared by every player's queue, with its
//! chunk encoding made once and reused by every session that sends it.

use crate::chunk::{ChunkEncoder, MessageHeader};
use crate::media::{MediaMessage, TrackClasses};
use bytes::{Bytes, BytesMut};
use std::ops::Deref;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

/// The encoding of a message for one (chunk size, message stream id, chunk stream).
#[derive(Debug)]
struct Encoded {
    key: (u32, u32, u32),
    chunks: Bytes,
}

#[derive(Debug)]
struct Inner {
    message: MediaMessage,
    /// The message's tracks, read once for every player's per-track checks.
    tracks: TrackClasses,
    encoded: OnceLock<Encoded>,
    encodings: AtomicU32,
}

/// A published media message as the hub hands it to players: cloning shares it.
/// Dereferences to the [`MediaMessage`].
#[derive(Debug, Clone)]
pub struct SharedMedia(Arc<Inner>);

impl From<MediaMessage> for SharedMedia {
    fn from(message: MediaMessage) -> Self {
        SharedMedia(Arc::new(Inner {
            tracks: message.tracks(),
            message,
            encoded: OnceLock::new(),
            encodings: AtomicU32::new(0),
        }))
    }
}

impl Deref for SharedMedia {
    type Target = MediaMessage;

    fn deref(&self) -> &MediaMessage {
        &self.0.message
    }
}

impl PartialEq for SharedMedia {
    fn eq(&self, other: &Self) -> bool {
        self.0.message == other.0.message
    }
}

impl Eq for SharedMedia {}

impl SharedMedia {
    /// The message chunk-encoded with a self-contained (format 0) first header, as
    /// one contiguous buffer. The first session to ask for a given (chunk size,
    /// stream id, chunk stream) encodes it — copying the payload once for all players
    /// — and every other one shares it: a refcount and one iovec per player. A session
    /// asking for another combination gets its own encoding.
    pub fn encoded(&self, chunk_size: u32, stream_id: u32, header: MessageHeader) -> Bytes {
        let key = (chunk_size, stream_id, header.csid);
        let encode = || {
            self.0.encodings.fetch_add(1, Ordering::Relaxed);
            let mut segments: Vec<Bytes> = Vec::new();
            let payload = &self.0.message.payload;
            ChunkEncoder::encode_standalone(chunk_size, &header, payload, &mut segments);
            let mut chunks = BytesMut::with_capacity(segments.iter().map(Bytes::len).sum());
            for segment in &segments {
                chunks.extend_from_slice(segment);
            }
            chunks.freeze()
        };
        let shared = self.0.encoded.get_or_init(|| Encoded {
            key,
            chunks: encode(),
        });
        if shared.key == key {
            shared.chunks.clone()
        } else {
            encode()
        }
    }

    /// The tracks the message carries, with each one's class (read once, when the
    /// message entered the hub; see [`MediaMessage::tracks`]).
    pub fn tracks(&self) -> &TrackClasses {
        &self.0.tracks
    }

    /// How many times this message has been chunk-encoded (for tests and stats).
    pub fn encodings(&self) -> u32 {
        self.0.encodings.load(Ordering::Relaxed)
    }
}
