//! Chunk decoder: turns a byte stream of interleaved chunks into whole messages.

use bytes::BytesMut;
use smallvec::SmallVec;

use super::{
    ChunkError, ChunkLimits, MessageHeader, RawMessage, DEFAULT_CHUNK_SIZE, EXTENDED_TIMESTAMP,
    MAX_CHUNK_SIZE,
};

/// Longest chunk header: 3-byte basic header, 11-byte message header, extended timestamp.
const MAX_HEADER_LEN: usize = 18;

/// Reassembles messages from chunks, keeping per-chunk-stream header state.
///
/// Sans-IO: feed it whatever bytes arrived and call [`decode`](Self::decode) until it returns
/// `Ok(None)`. Handle each message before decoding the next one, so that a Set Chunk Size or
/// Abort takes effect from the very next chunk.
#[derive(Debug)]
pub struct ChunkDecoder {
    limits: ChunkLimits,
    chunk_size: u32,
    streams: Vec<ChunkStream>,
    state: State,
    /// Bytes already taken from the input but not consumed yet: a partial header, or bytes
    /// that followed a header and were only peeked at. They come before any new input.
    stash: SmallVec<[u8; MAX_HEADER_LEN]>,
}

/// Where the decoder is in the byte stream.
#[derive(Debug, Clone, Copy)]
enum State {
    /// The next byte starts a chunk header.
    Header,
    /// Inside a chunk: `left` more payload bytes belong to `streams[stream]`.
    Payload { stream: usize, left: usize },
}

/// Header state and partial message of one chunk stream.
#[derive(Debug)]
struct ChunkStream {
    csid: u32,
    timestamp: u32,
    /// Delta of the latest fmt 1/2 header, applied again by a fmt 3 chunk starting a message.
    delta: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
    /// Value of the latest fmt 0/1/2 header's extended timestamp, if it had one.
    extended: Option<u32>,
    /// Whether the peer repeats the extended timestamp on fmt 3 chunks, once seen.
    repeats_extended: Option<bool>,
    /// The message being reassembled; `None` between messages.
    partial: Option<BytesMut>,
}

/// One parsed chunk header.
#[derive(Debug, Clone, Copy)]
struct ChunkHeader {
    /// Bytes the header occupies, extended timestamp included.
    size: usize,
    csid: u32,
    fields: Fields,
}

/// What a chunk's message header carried, by format; timestamps have extended values resolved.
#[derive(Debug, Clone, Copy)]
enum Fields {
    /// fmt 0.
    Full {
        timestamp: u32,
        length: u32,
        type_id: u8,
        stream_id: u32,
        extended: bool,
    },
    /// fmt 1.
    NoStreamId {
        delta: u32,
        length: u32,
        type_id: u8,
        extended: bool,
    },
    /// fmt 2.
    DeltaOnly { delta: u32, extended: bool },
    /// fmt 3; `repeated` is whether the extended timestamp was repeated, when this chunk told.
    Nothing { repeated: Option<bool> },
}

impl ChunkDecoder {
    /// Creates a decoder with the default chunk size of 128 bytes.
    pub fn new(limits: ChunkLimits) -> Self {
        Self {
            limits,
            chunk_size: DEFAULT_CHUNK_SIZE,
            streams: Vec::new(),
            state: State::Header,
            stash: SmallVec::new(),
        }
    }

    /// Consumes bytes from `input` (advancing the slice) until one whole message is ready, and
    /// returns it.
    ///
    /// `Ok(None)` means `input` was fully consumed and more bytes are needed. Partial headers
    /// are buffered internally; payload bytes are copied once, straight from `input` into the
    /// message buffer, which is allocated at the message's full length after the limit check.
    ///
    /// # Errors
    ///
    /// A [`ChunkError`] for a protocol violation or a breached limit. The stream cannot be
    /// resynchronised after one: close the connection.
    pub fn decode(&mut self, input: &mut &[u8]) -> Result<Option<RawMessage>, ChunkError> {
        loop {
            match self.state {
                State::Header => match self.read_header(input)? {
                    Some(header) => self.begin_chunk(header)?,
                    None => return Ok(None),
                },
                State::Payload { stream, left } if left > 0 => {
                    let read = self.read_payload(stream, left, input);
                    if read == 0 {
                        return Ok(None);
                    }
                    self.state = State::Payload {
                        stream,
                        left: left - read,
                    };
                }
                State::Payload { stream, .. } => {
                    self.state = State::Header;
                    let complete = self
                        .streams
                        .get_mut(stream)
                        .and_then(ChunkStream::take_complete);
                    if complete.is_some() {
                        return Ok(complete);
                    }
                }
            }
        }
    }

    /// Sets the size of the peer's chunks from the next chunk on (after a Set Chunk Size).
    ///
    /// # Errors
    ///
    /// [`ChunkError::InvalidChunkSize`] unless `size` is in `1..=MAX_CHUNK_SIZE`.
    pub fn set_chunk_size(&mut self, size: u32) -> Result<(), ChunkError> {
        if !(1..=MAX_CHUNK_SIZE).contains(&size) {
            return Err(ChunkError::InvalidChunkSize(size));
        }
        self.chunk_size = size;
        Ok(())
    }

    /// The size of the peer's chunks currently in force.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Drops the partially received message on `csid` (after an Abort message). If a chunk of
    /// that message is still arriving, the rest of it is skipped.
    pub fn abort(&mut self, csid: u32) {
        if let Some(stream) = self.streams.iter_mut().find(|s| s.csid == csid) {
            stream.partial = None;
        }
    }

    /// Reads one chunk header from the stash and `input`; `None` when it is not complete yet,
    /// in which case all of `input` has been stashed.
    fn read_header(&mut self, input: &mut &[u8]) -> Result<Option<ChunkHeader>, ChunkError> {
        if self.stash.is_empty() {
            // Fast path: the whole header is in `input`, nothing is copied.
            if let Some(header) = parse_header(input, &self.streams)? {
                *input = input.get(header.size..).unwrap_or_default();
                return Ok(Some(header));
            }
            self.stash.extend_from_slice(input);
            *input = &[];
            return Ok(None);
        }
        let take = MAX_HEADER_LEN
            .saturating_sub(self.stash.len())
            .min(input.len());
        let (head, rest) = input.split_at(take);
        self.stash.extend_from_slice(head);
        *input = rest;
        let header = parse_header(&self.stash, &self.streams)?;
        if let Some(header) = header {
            self.stash.drain(..header.size.min(self.stash.len()));
        }
        Ok(header)
    }

    /// Applies a chunk header to its chunk stream and moves on to the chunk's payload.
    fn begin_chunk(&mut self, header: ChunkHeader) -> Result<(), ChunkError> {
        let max_size = self.limits.max_message_size;
        let chunk_size = self.chunk_size;
        let found = self
            .streams
            .iter_mut()
            .enumerate()
            .find(|(_, s)| s.csid == header.csid);
        let (stream, left) = match found {
            Some((index, stream)) => (index, stream.apply(header, max_size, chunk_size)?),
            None => {
                if self.streams.len() >= self.limits.max_chunk_streams {
                    return Err(ChunkError::TooManyChunkStreams {
                        limit: self.limits.max_chunk_streams,
                    });
                }
                let mut stream = ChunkStream::new(header.csid);
                let left = stream.apply(header, max_size, chunk_size)?;
                self.streams.push(stream);
                (self.streams.len() - 1, left)
            }
        };
        self.state = State::Payload { stream, left };
        Ok(())
    }

    /// Moves up to `left` payload bytes (stash first, then `input`) into the message buffer of
    /// `streams[stream]`, or drops them if that message was aborted; returns how many.
    fn read_payload(&mut self, stream: usize, left: usize, input: &mut &[u8]) -> usize {
        let buffer = self
            .streams
            .get_mut(stream)
            .and_then(|s| s.partial.as_mut());
        if self.stash.is_empty() {
            let (bytes, rest) = input.split_at(left.min(input.len()));
            if let Some(buffer) = buffer {
                buffer.extend_from_slice(bytes);
            }
            *input = rest;
            bytes.len()
        } else {
            let read = left.min(self.stash.len());
            if let Some(buffer) = buffer {
                buffer.extend_from_slice(self.stash.get(..read).unwrap_or_default());
            }
            self.stash.drain(..read);
            read
        }
    }
}

impl ChunkStream {
    fn new(csid: u32) -> Self {
        Self {
            csid,
            timestamp: 0,
            delta: 0,
            length: 0,
            type_id: 0,
            stream_id: 0,
            extended: None,
            repeats_extended: None,
            partial: None,
        }
    }

    /// Applies a chunk header, starting a new message unless the chunk continues one;
    /// returns how many payload bytes the chunk carries.
    fn apply(
        &mut self,
        header: ChunkHeader,
        max_size: u32,
        chunk_size: u32,
    ) -> Result<usize, ChunkError> {
        match header.fields {
            Fields::Full {
                timestamp,
                length,
                type_id,
                stream_id,
                extended,
            } => {
                self.timestamp = timestamp;
                self.length = length;
                self.type_id = type_id;
                self.stream_id = stream_id;
                self.extended = extended.then_some(timestamp);
            }
            Fields::NoStreamId {
                delta,
                length,
                type_id,
                extended,
            } => {
                self.advance(delta, extended);
                self.length = length;
                self.type_id = type_id;
            }
            Fields::DeltaOnly { delta, extended } => self.advance(delta, extended),
            Fields::Nothing { repeated } => {
                if repeated.is_some() {
                    self.repeats_extended = repeated;
                }
                if self.partial.is_some() {
                    return Ok(self.chunk_len(chunk_size));
                }
                self.timestamp = self.timestamp.wrapping_add(self.delta);
            }
        }
        if self.length > max_size {
            return Err(ChunkError::MessageTooLarge {
                csid: self.csid,
                length: self.length,
                limit: max_size,
            });
        }
        self.partial = Some(BytesMut::with_capacity(self.length as usize));
        Ok(self.chunk_len(chunk_size))
    }

    /// Records a fmt 1/2 timestamp delta.
    fn advance(&mut self, delta: u32, extended: bool) {
        self.delta = delta;
        self.timestamp = self.timestamp.wrapping_add(delta);
        self.extended = extended.then_some(delta);
    }

    /// Payload bytes in the current chunk: the rest of the message, at most one chunk.
    fn chunk_len(&self, chunk_size: u32) -> usize {
        let received = self.partial.as_ref().map_or(0, BytesMut::len);
        (self.length as usize)
            .saturating_sub(received)
            .min(chunk_size as usize)
    }

    /// Takes the message being reassembled if it is complete.
    fn take_complete(&mut self) -> Option<RawMessage> {
        if self.partial.as_ref()?.len() < self.length as usize {
            return None;
        }
        let payload = self.partial.take()?.freeze();
        Some(RawMessage {
            header: MessageHeader {
                csid: self.csid,
                timestamp: self.timestamp,
                type_id: self.type_id,
                stream_id: self.stream_id,
                length: self.length,
            },
            payload,
        })
    }
}

/// Parses the chunk header at the start of `buf`; `Ok(None)` if `buf` is too short.
fn parse_header(buf: &[u8], streams: &[ChunkStream]) -> Result<Option<ChunkHeader>, ChunkError> {
    let Some((fmt, csid, rest)) = parse_basic_header(buf) else {
        return Ok(None);
    };
    let previous = streams.iter().find(|s| s.csid == csid);
    let extended = match (fmt, previous) {
        (2 | 3, None) => return Err(ChunkError::NoPreviousHeader { csid, fmt }),
        (_, Some(s)) => s.extended.map(|value| (value, s.repeats_extended)),
        (_, None) => None,
    };
    Ok(
        parse_message_header(fmt, rest, extended).map(|(fields, rest)| ChunkHeader {
            size: buf.len() - rest.len(),
            csid,
            fields,
        }),
    )
}

/// Splits off the basic header: format, chunk stream id and the bytes after it.
fn parse_basic_header(buf: &[u8]) -> Option<(u8, u32, &[u8])> {
    let (first, rest) = buf.split_first()?;
    let fmt = first >> 6;
    match (first & 0x3F, rest) {
        (0, [low, rest @ ..]) => Some((fmt, u32::from(*low) + 64, rest)),
        (1, [low, high, rest @ ..]) => {
            Some((fmt, u32::from(*high) * 256 + u32::from(*low) + 64, rest))
        }
        (0 | 1, _) => None,
        (csid, rest) => Some((fmt, u32::from(csid), rest)),
    }
}

/// Parses the message header and extended timestamp of a chunk of format `fmt`, returning
/// the fields and the bytes after them. `extended` is the previous header's extended
/// timestamp and whether the peer is known to repeat it, used by fmt 3.
fn parse_message_header(
    fmt: u8,
    rest: &[u8],
    extended: Option<(u32, Option<bool>)>,
) -> Option<(Fields, &[u8])> {
    match (fmt, rest) {
        (0, [t0, t1, t2, l0, l1, l2, type_id, s0, s1, s2, s3, rest @ ..]) => {
            let (timestamp, extended, rest) = read_time(be24(*t0, *t1, *t2), rest)?;
            let fields = Fields::Full {
                timestamp,
                length: be24(*l0, *l1, *l2),
                type_id: *type_id,
                stream_id: u32::from_le_bytes([*s0, *s1, *s2, *s3]),
                extended,
            };
            Some((fields, rest))
        }
        (1, [t0, t1, t2, l0, l1, l2, type_id, rest @ ..]) => {
            let (delta, extended, rest) = read_time(be24(*t0, *t1, *t2), rest)?;
            let fields = Fields::NoStreamId {
                delta,
                length: be24(*l0, *l1, *l2),
                type_id: *type_id,
                extended,
            };
            Some((fields, rest))
        }
        (2, [t0, t1, t2, rest @ ..]) => {
            let (delta, extended, rest) = read_time(be24(*t0, *t1, *t2), rest)?;
            Some((Fields::DeltaOnly { delta, extended }, rest))
        }
        (3, rest) => match extended {
            None | Some((_, Some(false))) => Some((Fields::Nothing { repeated: None }, rest)),
            Some((_, Some(true))) => Some((Fields::Nothing { repeated: None }, rest.get(4..)?)),
            Some((value, None)) => {
                let repeated = rest.get(..4)? == value.to_be_bytes();
                let rest = if repeated { rest.get(4..)? } else { rest };
                Some((
                    Fields::Nothing {
                        repeated: Some(repeated),
                    },
                    rest,
                ))
            }
        },
        _ => None,
    }
}

/// Resolves a 24-bit timestamp field, reading the extended timestamp after it if announced.
/// Returns the value, whether it was extended, and the bytes after it.
fn read_time(field: u32, rest: &[u8]) -> Option<(u32, bool, &[u8])> {
    if field != EXTENDED_TIMESTAMP {
        return Some((field, false, rest));
    }
    match rest {
        [a, b, c, d, rest @ ..] => Some((u32::from_be_bytes([*a, *b, *c, *d]), true, rest)),
        _ => None,
    }
}

fn be24(a: u8, b: u8, c: u8) -> u32 {
    u32::from_be_bytes([0, a, b, c])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(decoder: &mut ChunkDecoder, mut input: &[u8]) -> Vec<RawMessage> {
        let mut messages = Vec::new();
        while let Some(message) = decoder.decode(&mut input).expect("valid chunks") {
            messages.push(message);
        }
        assert!(input.is_empty());
        messages
    }

    fn decode_fresh(input: &[u8]) -> Vec<RawMessage> {
        decode_all(&mut ChunkDecoder::new(ChunkLimits::default()), input)
    }

    /// Feeds `input` one byte at a time.
    fn decode_bytewise(input: &[u8]) -> Vec<RawMessage> {
        let mut decoder = ChunkDecoder::new(ChunkLimits::default());
        input
            .chunks(1)
            .flat_map(|byte| decode_all(&mut decoder, byte))
            .collect()
    }

    fn message(
        csid: u32,
        timestamp: u32,
        type_id: u8,
        stream_id: u32,
        payload: &[u8],
    ) -> RawMessage {
        RawMessage {
            header: MessageHeader {
                csid,
                timestamp,
                type_id,
                stream_id,
                length: payload.len() as u32,
            },
            payload: bytes::Bytes::copy_from_slice(payload),
        }
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_add(seed)).collect()
    }

    #[test]
    fn fmt0_message_in_one_chunk() {
        let input = [
            &[
                0x03, 0x00, 0x00, 0x64, 0x00, 0x00, 0x05, 0x14, 0x01, 0x00, 0x00, 0x00,
            ][..],
            b"hello",
        ]
        .concat();
        assert_eq!(decode_fresh(&input), [message(3, 100, 20, 1, b"hello")]);
    }

    #[test]
    fn message_split_into_continuation_chunks() {
        let payload = pattern(300, 0);
        let input = [
            &[0x06, 0, 0, 0, 0x00, 0x01, 0x2C, 9, 1, 0, 0, 0][..],
            &payload[..128],
            &[0xC6],
            &payload[128..256],
            &[0xC6],
            &payload[256..],
        ]
        .concat();
        let expected = [message(6, 0, 9, 1, &payload)];
        assert_eq!(decode_fresh(&input), expected);
        assert_eq!(decode_bytewise(&input), expected);
    }

    #[test]
    fn basic_header_forms() {
        let cases: [(&[u8], u32); 5] = [
            (&[0x03], 3),
            (&[0x00, 0x00], 64),
            (&[0x00, 0xFF], 319),
            (&[0x01, 0x00, 0x01], 320),
            (&[0x01, 0xFF, 0xFF], 65_599),
        ];
        for (basic, csid) in cases {
            let input = [basic, &[0, 0, 7, 0, 0, 1, 8, 0, 0, 0, 0, 0xAA]].concat();
            assert_eq!(decode_fresh(&input), [message(csid, 7, 8, 0, &[0xAA])]);
        }
    }

    #[test]
    fn fmt1_and_fmt2_reuse_previous_fields() {
        let input = [
            &[0x04, 0x00, 0x03, 0xE8, 0, 0, 3, 8, 1, 0, 0, 0][..],
            b"abc",
            &[0x44, 0, 0, 20, 0, 0, 2, 9],
            b"de",
            &[0x84, 0, 0, 10],
            b"fg",
        ]
        .concat();
        assert_eq!(
            decode_fresh(&input),
            [
                message(4, 1000, 8, 1, b"abc"),
                message(4, 1020, 9, 1, b"de"),
                message(4, 1030, 9, 1, b"fg"),
            ]
        );
    }

    #[test]
    fn fmt3_new_message_repeats_previous_delta() {
        let input = [
            &[0x04, 0, 0, 0, 0, 0, 2, 8, 1, 0, 0, 0][..],
            b"a1",
            &[0x84, 0, 0, 23],
            b"a2",
            &[0xC4],
            b"a3",
            &[0xC4],
            b"a4",
            // A fmt 0 header keeps the fmt 2 delta for later fmt 3 messages.
            &[0x04, 0, 0x03, 0xE8, 0, 0, 2, 8, 1, 0, 0, 0],
            b"b1",
            &[0xC4],
            b"b2",
            // With no fmt 1/2 header on the chunk stream, the delta is 0.
            &[0x05, 0, 0x01, 0xF4, 0, 0, 1, 8, 1, 0, 0, 0],
            b"x",
            &[0xC5],
            b"y",
        ]
        .concat();
        assert_eq!(
            decode_fresh(&input),
            [
                message(4, 0, 8, 1, b"a1"),
                message(4, 23, 8, 1, b"a2"),
                message(4, 46, 8, 1, b"a3"),
                message(4, 69, 8, 1, b"a4"),
                message(4, 1000, 8, 1, b"b1"),
                message(4, 1023, 8, 1, b"b2"),
                message(5, 500, 8, 1, b"x"),
                message(5, 500, 8, 1, b"y"),
            ]
        );
    }

    #[test]
    fn fmt1_on_new_chunk_stream_starts_from_zero() {
        let input = [&[0x42, 0, 0, 5, 0, 0, 3, 20][..], b"abc"].concat();
        assert_eq!(decode_fresh(&input), [message(2, 5, 20, 0, b"abc")]);
    }

    #[test]
    fn fmt2_and_fmt3_on_new_chunk_stream_are_errors() {
        for (input, fmt) in [(&[0x83, 0, 0, 5][..], 2), (&[0xC3, 1, 2, 3], 3)] {
            let mut decoder = ChunkDecoder::new(ChunkLimits::default());
            let mut input = input;
            assert_eq!(
                decoder.decode(&mut input),
                Err(ChunkError::NoPreviousHeader { csid: 3, fmt })
            );
        }
    }

    #[test]
    fn interleaved_chunk_streams() {
        let video = pattern(200, 1);
        let audio = pattern(10, 2);
        let input = [
            &[0x06, 0, 0, 40, 0, 0, 200, 9, 1, 0, 0, 0][..],
            &video[..128],
            &[0x04, 0, 0, 40, 0, 0, 10, 8, 1, 0, 0, 0],
            &audio,
            &[0xC6],
            &video[128..],
        ]
        .concat();
        let expected = [message(4, 40, 8, 1, &audio), message(6, 40, 9, 1, &video)];
        assert_eq!(decode_fresh(&input), expected);
        assert_eq!(decode_bytewise(&input), expected);
    }

    #[test]
    fn set_chunk_size_applies_from_next_chunk() {
        let payload = pattern(300, 3);
        let input = [
            &[0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 1, 0][..],
            &[0x06, 0, 0, 0, 0, 0x01, 0x2C, 9, 1, 0, 0, 0],
            &payload[..256],
            &[0xC6],
            &payload[256..],
        ]
        .concat();
        let mut decoder = ChunkDecoder::new(ChunkLimits::default());
        let mut rest = &input[..];
        let set = decoder.decode(&mut rest).unwrap().unwrap();
        assert_eq!(set.header.type_id, 1);
        let size = u32::from_be_bytes(set.payload[..].try_into().unwrap());
        decoder.set_chunk_size(size).unwrap();
        assert_eq!(decoder.chunk_size(), 256);
        assert_eq!(
            decode_all(&mut decoder, rest),
            [message(6, 0, 9, 1, &payload)]
        );
    }

    #[test]
    fn invalid_chunk_sizes_are_rejected() {
        let mut decoder = ChunkDecoder::new(ChunkLimits::default());
        for size in [0, MAX_CHUNK_SIZE + 1, u32::MAX] {
            assert_eq!(
                decoder.set_chunk_size(size),
                Err(ChunkError::InvalidChunkSize(size))
            );
        }
        assert!(decoder.set_chunk_size(MAX_CHUNK_SIZE).is_ok());
        assert!(decoder.set_chunk_size(1).is_ok());
    }

    #[test]
    fn abort_drops_partial_message() {
        let video = pattern(200, 0);
        let first_chunk = [
            &[0x06, 0, 0, 0, 0, 0, 200, 9, 1, 0, 0, 0][..],
            &video[..128],
        ]
        .concat();
        let next = [&[0x06, 0, 0, 50, 0, 0, 3, 9, 1, 0, 0, 0][..], b"xyz"].concat();

        let mut decoder = ChunkDecoder::new(ChunkLimits::default());
        assert!(decode_all(&mut decoder, &first_chunk).is_empty());
        decoder.abort(6);
        assert_eq!(
            decode_all(&mut decoder, &next),
            [message(6, 50, 9, 1, b"xyz")]
        );

        // Aborted in the middle of a chunk: the rest of that chunk is skipped.
        let mut decoder = ChunkDecoder::new(ChunkLimits::default());
        assert!(decode_all(&mut decoder, &first_chunk[..60]).is_empty());
        decoder.abort(6);
        let rest = [&first_chunk[60..], &next[..]].concat();
        assert_eq!(
            decode_all(&mut decoder, &rest),
            [message(6, 50, 9, 1, b"xyz")]
        );
    }

    #[test]
    fn new_header_mid_message_replaces_partial_message() {
        let input = [
            &[0x06, 0, 0, 0, 0, 0, 200, 9, 1, 0, 0, 0][..],
            &pattern(128, 0),
            &[0x06, 0, 0, 50, 0, 0, 3, 9, 1, 0, 0, 0],
            b"xyz",
        ]
        .concat();
        assert_eq!(decode_fresh(&input), [message(6, 50, 9, 1, b"xyz")]);
    }

    #[test]
    fn zero_length_messages() {
        let input = [0x03, 0, 0, 9, 0, 0, 0, 8, 1, 0, 0, 0, 0xC3];
        assert_eq!(
            decode_fresh(&input),
            [message(3, 9, 8, 1, b""), message(3, 9, 8, 1, b"")]
        );
    }

    #[test]
    fn extended_timestamp_on_fmt0() {
        let input = [
            &[
                0x03, 0xFF, 0xFF, 0xFF, 0, 0, 2, 8, 1, 0, 0, 0, 0x01, 0, 0, 0,
            ][..],
            b"hi",
        ]
        .concat();
        assert_eq!(decode_fresh(&input), [message(3, 0x0100_0000, 8, 1, b"hi")]);
    }

    /// fmt 0 header with extended timestamp 0x12345678 on csid 6.
    fn extended_header(length: u8) -> Vec<u8> {
        vec![
            0x06, 0xFF, 0xFF, 0xFF, 0, 0, length, 9, 1, 0, 0, 0, 0x12, 0x34, 0x56, 0x78,
        ]
    }

    #[test]
    fn extended_timestamp_repeated_on_continuation() {
        let video = pattern(200, 0);
        let input = [
            &extended_header(200)[..],
            &video[..128],
            &[0xC6, 0x12, 0x34, 0x56, 0x78],
            &video[128..],
        ]
        .concat();
        let expected = [message(6, 0x1234_5678, 9, 1, &video)];
        assert_eq!(decode_fresh(&input), expected);
        assert_eq!(decode_bytewise(&input), expected);
    }

    #[test]
    fn extended_timestamp_absent_on_continuation() {
        let video = pattern(200, 0);
        let tail = pattern(129, 7);
        let first = [
            &extended_header(200)[..],
            &video[..128],
            &[0xC6],
            &video[128..],
        ]
        .concat();
        // Once the peer is known not to repeat it, a 1-byte last chunk decodes at once.
        let second = [
            &extended_header(129)[..],
            &tail[..128],
            &[0xC6],
            &tail[128..],
        ]
        .concat();

        let mut decoder = ChunkDecoder::new(ChunkLimits::default());
        assert_eq!(
            decode_all(&mut decoder, &first),
            [message(6, 0x1234_5678, 9, 1, &video)]
        );
        assert_eq!(
            decode_all(&mut decoder, &second),
            [message(6, 0x1234_5678, 9, 1, &tail)]
        );
        assert_eq!(
            decode_bytewise(&[first, second].concat()),
            [
                message(6, 0x1234_5678, 9, 1, &video),
                message(6, 0x1234_5678, 9, 1, &tail)
            ]
        );
    }

    #[test]
    fn unknown_repetition_waits_for_four_bytes() {
        let tail = pattern(129, 7);
        let first = [
            &extended_header(129)[..],
            &tail[..128],
            &[0xC6],
            &tail[128..],
        ]
        .concat();
        let next = [&[0x04, 0, 0, 1, 0, 0, 1, 8, 1, 0, 0, 0][..], b"z"].concat();

        let mut decoder = ChunkDecoder::new(ChunkLimits::default());
        assert!(decode_all(&mut decoder, &first).is_empty());
        assert_eq!(
            decode_all(&mut decoder, &next),
            [
                message(6, 0x1234_5678, 9, 1, &tail),
                message(4, 1, 8, 1, b"z")
            ]
        );
    }

    #[test]
    fn timestamps_cross_24_bits_and_wrap() {
        let input = [
            &[0x04, 0xFF, 0xFF, 0xFE, 0, 0, 1, 8, 1, 0, 0, 0][..],
            b"a",
            &[0x84, 0, 0, 1],
            b"b",
            &[0xC4],
            b"c",
            // Exactly 0xFFFFFF is sent extended.
            &[
                0x05, 0xFF, 0xFF, 0xFF, 0, 0, 1, 8, 1, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF,
            ],
            b"d",
            &[
                0x06, 0xFF, 0xFF, 0xFF, 0, 0, 1, 8, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
            ],
            b"e",
            &[0x86, 0, 0, 2],
            b"f",
        ]
        .concat();
        assert_eq!(
            decode_fresh(&input),
            [
                message(4, 0xFF_FFFE, 8, 1, b"a"),
                message(4, 0xFF_FFFF, 8, 1, b"b"),
                message(4, 0x100_0000, 8, 1, b"c"),
                message(5, 0xFF_FFFF, 8, 1, b"d"),
                message(6, u32::MAX, 8, 1, b"e"),
                message(6, 1, 8, 1, b"f"),
            ]
        );
    }

    #[test]
    fn message_over_limit_is_rejected_at_its_header() {
        let limits = ChunkLimits {
            max_message_size: 1000,
            ..ChunkLimits::default()
        };
        let mut decoder = ChunkDecoder::new(limits);
        let mut input = &[0x03, 0, 0, 0, 0, 0x03, 0xE9, 8, 1, 0, 0, 0][..];
        assert_eq!(
            decoder.decode(&mut input),
            Err(ChunkError::MessageTooLarge {
                csid: 3,
                length: 1001,
                limit: 1000
            })
        );
    }

    #[test]
    fn too_many_chunk_streams() {
        let limits = ChunkLimits {
            max_chunk_streams: 2,
            ..ChunkLimits::default()
        };
        let mut decoder = ChunkDecoder::new(limits);
        let header = |csid: u8| [csid, 0, 0, 0, 0, 0, 0, 8, 1, 0, 0, 0];
        assert_eq!(
            decode_all(&mut decoder, &[header(3), header(4), header(3)].concat()).len(),
            3
        );
        let mut input = &header(5)[..];
        assert_eq!(
            decoder.decode(&mut input),
            Err(ChunkError::TooManyChunkStreams { limit: 2 })
        );
    }
}
