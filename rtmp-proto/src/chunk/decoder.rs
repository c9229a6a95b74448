//! [`ChunkDecoder`]: chunks in, whole messages out.

use super::{
    valid_chunk_size, ChunkError, ChunkLimits, MessageHeader, RawMessage, DEFAULT_CHUNK_SIZE,
    EXTENDED_TIMESTAMP,
};
use bytes::BytesMut;

/// The longest chunk header: 3-byte basic header, 11-byte message header, 4-byte
/// extended timestamp.
const MAX_HEADER: usize = 18;
/// Most bytes reserved for a message before its payload arrives.
const INITIAL_BUFFER: usize = 64 * 1024;

/// What is known about one incoming chunk stream.
#[derive(Debug)]
struct ChunkStream {
    csid: u32,
    /// Absolute timestamp of the current (or last) message.
    timestamp: u32,
    /// The last header's timestamp field (extended value included): added again by a
    /// format 3 chunk that starts a message.
    ts_field: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
    /// Whether the last header carried an extended timestamp.
    extended: bool,
    /// Whether this peer repeats the extended timestamp on format 3 chunks, once seen.
    ext_on_fmt3: Option<bool>,
    /// Payload of the message being reassembled.
    payload: BytesMut,
    /// Whether a message is partly received.
    in_message: bool,
}

/// Reassembles messages from a chunk stream. Feed it bytes split anywhere; it copies
/// each payload byte once, straight into the message's buffer.
#[derive(Debug)]
pub struct ChunkDecoder {
    limits: ChunkLimits,
    chunk_size: u32,
    streams: Vec<ChunkStream>,
    /// Bytes taken from an earlier input but not processed yet: an incomplete header,
    /// or bytes read ahead to look for an extended timestamp that was not there.
    stash: [u8; MAX_HEADER],
    stash_len: usize,
    /// The chunk stream (index into `streams`) whose chunk payload is being read, and
    /// how many payload bytes of that chunk remain.
    reading: Option<(usize, usize)>,
    /// Payload bytes held in partly received messages.
    buffered: usize,
}

impl ChunkDecoder {
    /// A decoder with the default chunk size (128).
    pub fn new(limits: ChunkLimits) -> Self {
        ChunkDecoder {
            limits,
            chunk_size: DEFAULT_CHUNK_SIZE,
            streams: Vec::new(),
            stash: [0; MAX_HEADER],
            stash_len: 0,
            reading: None,
            buffered: 0,
        }
    }

    /// The peer's current chunk size.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Applies the peer's Set Chunk Size from the next chunk on.
    pub fn set_chunk_size(&mut self, size: u32) -> Result<(), ChunkError> {
        self.chunk_size = valid_chunk_size(size)?;
        Ok(())
    }

    /// Drops the partly received message on `csid` (Abort Message).
    pub fn abort(&mut self, csid: u32) {
        if let Some(stream) = self.streams.iter_mut().find(|s| s.csid == csid) {
            self.buffered -= stream.payload.len();
            stream.payload = BytesMut::new();
            stream.in_message = false;
        }
    }

    /// Consumes bytes from `input` until one whole message is ready and returns it;
    /// `Ok(None)` once `input` is used up without completing one.
    pub fn decode(&mut self, input: &mut &[u8]) -> Result<Option<RawMessage>, ChunkError> {
        loop {
            if let Some((index, left)) = self.reading {
                let from_stash = self.stash_len.min(left);
                let from_input = input.len().min(left - from_stash);
                self.buffered += from_stash + from_input;
                if self.buffered > self.limits.max_buffered_bytes {
                    return Err(ChunkError::TooMuchBuffered {
                        limit: self.limits.max_buffered_bytes,
                    });
                }
                let stream = &mut self.streams[index];
                stream.payload.extend_from_slice(&self.stash[..from_stash]);
                stream.payload.extend_from_slice(&input[..from_input]);
                self.stash.copy_within(from_stash..self.stash_len, 0);
                self.stash_len -= from_stash;
                *input = &input[from_input..];
                let left = left - from_stash - from_input;
                if left > 0 {
                    self.reading = Some((index, left));
                    return Ok(None);
                }
                self.reading = None;
                if let Some(message) = self.finish_if_complete(index) {
                    return Ok(Some(message));
                }
            } else if !self.read_header(input)? {
                return Ok(None);
            }
        }
    }

    fn finish_if_complete(&mut self, index: usize) -> Option<RawMessage> {
        let stream = &mut self.streams[index];
        if stream.payload.len() < stream.length as usize {
            return None;
        }
        stream.in_message = false;
        self.buffered -= stream.payload.len();
        Some(RawMessage {
            header: MessageHeader {
                csid: stream.csid,
                timestamp: stream.timestamp,
                type_id: stream.type_id,
                stream_id: stream.stream_id,
                length: stream.length,
            },
            payload: stream.payload.split().freeze(),
        })
    }

    /// Byte `i` of the stash followed by the input.
    fn peek(&self, input: &[u8], i: usize) -> u8 {
        if i < self.stash_len {
            self.stash[i]
        } else {
            input[i - self.stash_len]
        }
    }

    fn peek_u24(&self, input: &[u8], at: usize) -> u32 {
        u32::from_be_bytes([
            0,
            self.peek(input, at),
            self.peek(input, at + 1),
            self.peek(input, at + 2),
        ])
    }

    fn peek_u32(&self, input: &[u8], at: usize, little_endian: bool) -> u32 {
        let bytes = [0, 1, 2, 3].map(|i| self.peek(input, at + i));
        if little_endian {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        }
    }

    /// Moves all of `input` into the stash: it is too short to make progress with.
    fn stash_input(&mut self, input: &mut &[u8]) -> Result<bool, ChunkError> {
        let end = self.stash_len + input.len();
        self.stash[self.stash_len..end].copy_from_slice(input);
        self.stash_len = end;
        *input = &[];
        Ok(false)
    }

    /// Removes `n` processed bytes from the front of stash + input.
    fn consume(&mut self, input: &mut &[u8], n: usize) {
        let from_stash = self.stash_len.min(n);
        self.stash.copy_within(from_stash..self.stash_len, 0);
        self.stash_len -= from_stash;
        *input = &input[n - from_stash..];
    }

    /// Reads one chunk header, if enough bytes are there; on success `self.reading`
    /// names the chunk stream and the payload length of this chunk.
    fn read_header(&mut self, input: &mut &[u8]) -> Result<bool, ChunkError> {
        let available = self.stash_len + input.len();
        if available == 0 {
            return Ok(false);
        }
        let first = self.peek(input, 0);
        let fmt = first >> 6;
        let basic_len = match first & 0x3F {
            0 => 2,
            1 => 3,
            _ => 1,
        };
        let header_len = basic_len + [11, 7, 3, 0][usize::from(fmt)];
        if available < header_len {
            return self.stash_input(input);
        }
        let csid = match basic_len {
            1 => u32::from(first & 0x3F),
            2 => u32::from(self.peek(input, 1)) + 64,
            _ => u32::from(self.peek(input, 2)) * 256 + u32::from(self.peek(input, 1)) + 64,
        };
        let index = self.stream_index(csid)?;
        let prev = &self.streams[index];
        let (prev_length, prev_type, prev_ts_field, prev_extended, ext_on_fmt3, in_message) = (
            prev.length,
            prev.type_id,
            prev.ts_field,
            prev.extended,
            prev.ext_on_fmt3,
            prev.in_message,
        );
        if fmt >= 2 && prev_length == 0 && prev_type == 0 {
            return Err(ChunkError::NoPreviousHeader { csid, fmt });
        }
        // Is an extended timestamp there, and what does it say?
        let field = if fmt < 3 {
            self.peek_u24(input, basic_len)
        } else {
            0
        };
        let extended = if fmt < 3 {
            field == EXTENDED_TIMESTAMP
        } else {
            prev_extended
        };
        let mut ext_present = extended;
        if extended {
            let known = if fmt == 3 { ext_on_fmt3 } else { Some(true) };
            match known {
                Some(true) | None if available < header_len + 4 => return self.stash_input(input),
                Some(present) => ext_present = present,
                None => {
                    // Peers differ on format 3 chunks: the value is there only if it repeats.
                    ext_present = self.peek_u32(input, header_len, false) == prev_ts_field;
                    self.streams[index].ext_on_fmt3 = Some(ext_present);
                }
            }
        }
        let ext_value = if ext_present {
            self.peek_u32(input, header_len, false)
        } else {
            0
        };

        if fmt < 3 || !in_message {
            let (length, type_id, stream_id) = match fmt {
                0 => (
                    self.peek_u24(input, basic_len + 3),
                    self.peek(input, basic_len + 6),
                    Some(self.peek_u32(input, basic_len + 7, true)),
                ),
                1 => (
                    self.peek_u24(input, basic_len + 3),
                    self.peek(input, basic_len + 6),
                    None,
                ),
                _ => (prev_length, prev_type, None),
            };
            if length > self.limits.max_message_size {
                return Err(ChunkError::MessageTooLarge {
                    csid,
                    length,
                    limit: self.limits.max_message_size,
                });
            }
            if in_message {
                tracing::debug!(
                    csid,
                    "message header before the last message ended: partial message dropped"
                );
                self.buffered -= self.streams[index].payload.len();
            }
            let ts_field = match (fmt, extended) {
                (3, _) => prev_ts_field,
                (_, true) => ext_value,
                _ => field,
            };
            let stream = &mut self.streams[index];
            stream.timestamp = if fmt == 0 {
                ts_field
            } else {
                stream.timestamp.wrapping_add(ts_field)
            };
            stream.ts_field = ts_field;
            stream.extended = extended;
            stream.length = length;
            stream.type_id = type_id;
            if let Some(id) = stream_id {
                stream.stream_id = id;
            }
            // Grown as bytes arrive: an announced length reserves nothing by itself.
            stream.payload = BytesMut::with_capacity((length as usize).min(INITIAL_BUFFER));
            stream.in_message = true;
        }
        self.consume(input, header_len + if ext_present { 4 } else { 0 });
        let stream = &self.streams[index];
        let left = (stream.length as usize - stream.payload.len()).min(self.chunk_size as usize);
        self.reading = Some((index, left));
        Ok(true)
    }

    /// The index of `csid`'s state, created if new and within the limit.
    fn stream_index(&mut self, csid: u32) -> Result<usize, ChunkError> {
        if let Some(index) = self.streams.iter().position(|s| s.csid == csid) {
            return Ok(index);
        }
        if self.streams.len() >= self.limits.max_chunk_streams {
            return Err(ChunkError::TooManyChunkStreams {
                limit: self.limits.max_chunk_streams,
            });
        }
        self.streams.push(ChunkStream {
            csid,
            timestamp: 0,
            ts_field: 0,
            length: 0,
            type_id: 0,
            stream_id: 0,
            extended: false,
            ext_on_fmt3: None,
            payload: BytesMut::new(),
            in_message: false,
        });
        Ok(self.streams.len() - 1)
    }
}
