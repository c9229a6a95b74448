//! Chunk encoder: splits messages into chunks, compressing headers against the previous
//! message on the same chunk stream.

use bytes::{BufMut, Bytes, BytesMut};

use super::{
    MessageHeader, DEFAULT_CHUNK_SIZE, EXTENDED_TIMESTAMP, MAX_CHUNK_SIZE, MAX_CSID,
    MAX_MESSAGE_LENGTH,
};

/// Payloads up to this many bytes are copied next to their headers into a single segment.
const INLINE_PAYLOAD_MAX: usize = 256;

/// Splits outgoing messages into chunks and remembers, per chunk stream, the last header sent.
#[derive(Debug, Clone)]
pub struct ChunkEncoder {
    chunk_size: u32,
    streams: Vec<SentHeader>,
}

/// What the receiver knows about a chunk stream after our last message on it.
#[derive(Debug, Clone, Copy)]
struct SentHeader {
    csid: u32,
    timestamp: u32,
    /// Delta of the latest fmt 1/2 header; `None` after a fmt 0 header.
    delta: Option<u32>,
    length: u32,
    type_id: u8,
    stream_id: u32,
    /// Extended timestamp of the latest fmt 0/1/2 header, repeated on every fmt 3 chunk.
    extended: Option<u32>,
}

/// The first chunk header of a message, by format.
#[derive(Debug, Clone, Copy)]
enum First {
    /// fmt 0: timestamp, length, type id, stream id.
    Full,
    /// fmt 1: delta, length, type id.
    NoStreamId(u32),
    /// fmt 2: delta.
    DeltaOnly(u32),
    /// fmt 3: nothing.
    Nothing,
}

impl ChunkEncoder {
    /// Creates an encoder with the default chunk size of 128 bytes and no history.
    pub fn new() -> Self {
        Self {
            chunk_size: DEFAULT_CHUNK_SIZE,
            streams: Vec::new(),
        }
    }

    /// The chunk size used for the next message.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Future messages use this size. The caller sends the Set Chunk Size message (encoded
    /// with the old size) first. Sizes outside `1..=MAX_CHUNK_SIZE` are a caller bug and are
    /// clamped in release builds.
    pub fn set_chunk_size(&mut self, size: u32) {
        self.chunk_size = checked_chunk_size(size);
    }

    /// Appends the chunks of one message to `out` as `Bytes` segments.
    ///
    /// The first chunk gets the smallest header (fmt 0/1/2/3) the previous message on the same
    /// chunk stream allows; a timestamp going backwards or a different message stream id forces
    /// fmt 0. An extended timestamp is repeated on every continuation chunk.
    ///
    /// `header.length` is ignored: the payload's length is used, and the caller guarantees it
    /// is at most [`MAX_MESSAGE_LENGTH`]. Payloads of up to 256 bytes are copied next to their
    /// headers into one segment; larger ones are not copied but referenced with
    /// `payload.slice(..)`, alternating with header segments that share one small buffer.
    pub fn encode(
        &mut self,
        header: &MessageHeader,
        payload: &Bytes,
        out: &mut impl Extend<Bytes>,
    ) {
        let header = wire_header(header, payload);
        let found = self.streams.iter_mut().find(|s| s.csid == header.csid);
        let (first, extended) = match found {
            Some(sent) => (sent.follow(&header), sent.extended),
            None => {
                let sent = SentHeader::full(&header);
                self.streams.push(sent);
                (First::Full, sent.extended)
            }
        };
        write_message(self.chunk_size, &header, first, extended, payload, out);
    }

    /// Like [`encode`](Self::encode), but always with a fmt 0 first header and without reading
    /// or recording chunk stream history, so the chunks can be shared by every connection with
    /// the same chunk size. Call [`forget`](Self::forget) on each such encoder afterwards, so
    /// that its next message on `header.csid` is sent with fmt 0 too.
    pub fn encode_standalone(
        chunk_size: u32,
        header: &MessageHeader,
        payload: &Bytes,
        out: &mut impl Extend<Bytes>,
    ) {
        let header = wire_header(header, payload);
        let extended = extended(header.timestamp);
        let chunk_size = checked_chunk_size(chunk_size);
        write_message(chunk_size, &header, First::Full, extended, payload, out);
    }

    /// Forgets what was last sent on `csid`: its next message starts with a fmt 0 header.
    pub fn forget(&mut self, csid: u32) {
        self.streams.retain(|s| s.csid != csid);
    }
}

impl Default for ChunkEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SentHeader {
    /// The state after sending `header` with a fmt 0 first header.
    fn full(header: &MessageHeader) -> Self {
        Self {
            csid: header.csid,
            timestamp: header.timestamp,
            delta: None,
            length: header.length,
            type_id: header.type_id,
            stream_id: header.stream_id,
            extended: extended(header.timestamp),
        }
    }

    /// Picks the smallest first header for `header` and moves to the state after sending it.
    fn follow(&mut self, header: &MessageHeader) -> First {
        if header.stream_id != self.stream_id || header.timestamp < self.timestamp {
            *self = Self::full(header);
            return First::Full;
        }
        let delta = header.timestamp - self.timestamp;
        let first = if header.type_id != self.type_id || header.length != self.length {
            First::NoStreamId(delta)
        } else if self.delta == Some(delta) {
            First::Nothing
        } else {
            First::DeltaOnly(delta)
        };
        if !matches!(first, First::Nothing) {
            self.delta = Some(delta);
            self.extended = extended(delta);
        }
        self.timestamp = header.timestamp;
        self.length = header.length;
        self.type_id = header.type_id;
        first
    }
}

/// The header as it goes on the wire: chunk stream id in range, length taken from the payload.
fn wire_header(header: &MessageHeader, payload: &Bytes) -> MessageHeader {
    debug_assert!(
        (2..=MAX_CSID).contains(&header.csid),
        "chunk stream id {} out of range",
        header.csid
    );
    debug_assert!(
        payload.len() <= MAX_MESSAGE_LENGTH as usize,
        "payload of {} bytes exceeds the 24-bit message length",
        payload.len()
    );
    MessageHeader {
        csid: header.csid.clamp(2, MAX_CSID),
        length: u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .min(MAX_MESSAGE_LENGTH),
        ..*header
    }
}

fn checked_chunk_size(size: u32) -> u32 {
    debug_assert!(
        (1..=MAX_CHUNK_SIZE).contains(&size),
        "chunk size {size} out of range"
    );
    size.clamp(1, MAX_CHUNK_SIZE)
}

/// The extended timestamp field for a timestamp or delta, if it needs one.
fn extended(time: u32) -> Option<u32> {
    (time >= EXTENDED_TIMESTAMP).then_some(time)
}

/// Writes the chunks of one message: `first` header, then fmt 3 continuation headers, each
/// followed by the extended timestamp if `extended` is set. Sends `header.length` bytes.
fn write_message(
    chunk_size: u32,
    header: &MessageHeader,
    first: First,
    extended: Option<u32>,
    payload: &Bytes,
    out: &mut impl Extend<Bytes>,
) {
    let length = header.length as usize;
    let chunk_size = chunk_size as usize;
    let continuation_len = basic_header_len(header.csid) + if extended.is_some() { 4 } else { 0 };
    let first_len = continuation_len + message_header_len(first);
    if length <= INLINE_PAYLOAD_MAX {
        let chunks = length.div_ceil(chunk_size).max(1);
        let mut buf = BytesMut::with_capacity(first_len + (chunks - 1) * continuation_len + length);
        put_header(&mut buf, first, header, extended);
        let data = payload.get(..length).unwrap_or_default();
        for (index, piece) in data.chunks(chunk_size).enumerate() {
            if index > 0 {
                put_header(&mut buf, First::Nothing, header, extended);
            }
            buf.put_slice(piece);
        }
        out.extend(Some(buf.freeze()));
    } else {
        let mut buf = BytesMut::with_capacity(first_len + continuation_len);
        put_header(&mut buf, first, header, extended);
        put_header(&mut buf, First::Nothing, header, extended);
        let headers = buf.freeze();
        let first_header = headers.slice(..first_len);
        let continuation = headers.slice(first_len..);
        out.extend((0..length).step_by(chunk_size).flat_map(|start| {
            let header = if start == 0 {
                first_header.clone()
            } else {
                continuation.clone()
            };
            let end = start.saturating_add(chunk_size).min(length);
            [header, payload.slice(start..end)]
        }));
    }
}

fn basic_header_len(csid: u32) -> usize {
    match csid {
        0..=63 => 1,
        64..=319 => 2,
        _ => 3,
    }
}

fn message_header_len(first: First) -> usize {
    match first {
        First::Full => 11,
        First::NoStreamId(_) => 7,
        First::DeltaOnly(_) => 3,
        First::Nothing => 0,
    }
}

/// Writes one chunk header: basic header, message header for `first`, extended timestamp.
fn put_header(buf: &mut BytesMut, first: First, header: &MessageHeader, extended: Option<u32>) {
    let (fmt, time) = match first {
        First::Full => (0, header.timestamp),
        First::NoStreamId(delta) => (1, delta),
        First::DeltaOnly(delta) => (2, delta),
        First::Nothing => (3, 0),
    };
    put_basic_header(buf, fmt, header.csid);
    if fmt < 3 {
        put_u24(buf, time.min(EXTENDED_TIMESTAMP));
    }
    if fmt < 2 {
        put_u24(buf, header.length);
        buf.put_u8(header.type_id);
    }
    if fmt == 0 {
        buf.put_u32_le(header.stream_id);
    }
    if let Some(value) = extended {
        buf.put_u32(value);
    }
}

fn put_basic_header(buf: &mut BytesMut, fmt: u8, csid: u32) {
    let fmt = fmt << 6;
    match csid {
        0..=63 => buf.put_u8(fmt | csid as u8),
        64..=319 => buf.put_slice(&[fmt, (csid - 64) as u8]),
        _ => {
            let [_, _, high, low] = (csid - 64).to_be_bytes();
            buf.put_slice(&[fmt | 1, low, high]);
        }
    }
}

fn put_u24(buf: &mut BytesMut, value: u32) {
    let [_, a, b, c] = value.to_be_bytes();
    buf.put_slice(&[a, b, c]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(csid: u32, timestamp: u32, type_id: u8, stream_id: u32) -> MessageHeader {
        MessageHeader {
            csid,
            timestamp,
            type_id,
            stream_id,
            length: 0,
        }
    }

    fn encode(encoder: &mut ChunkEncoder, header: MessageHeader, payload: &[u8]) -> Vec<Bytes> {
        let mut out = Vec::new();
        encoder.encode(&header, &Bytes::copy_from_slice(payload), &mut out);
        out
    }

    fn pattern(len: usize) -> Bytes {
        (0..len).map(|i| i as u8).collect()
    }

    #[test]
    fn picks_smallest_header() {
        let mut encoder = ChunkEncoder::new();
        let mut sent = |h, payload: &[u8]| encode(&mut encoder, h, payload).concat();
        assert_eq!(
            sent(header(4, 1000, 8, 1), b"abc"),
            [
                &[0x04, 0x00, 0x03, 0xE8, 0, 0, 3, 8, 1, 0, 0, 0][..],
                b"abc"
            ]
            .concat()
        );
        // Different type and length: fmt 1.
        assert_eq!(
            sent(header(4, 1020, 9, 1), b"de"),
            [&[0x44, 0, 0, 20, 0, 0, 2, 9][..], b"de"].concat()
        );
        // New delta: fmt 2.
        assert_eq!(
            sent(header(4, 1030, 9, 1), b"fg"),
            [0x84, 0, 0, 10, b'f', b'g']
        );
        // Same delta: fmt 3.
        assert_eq!(sent(header(4, 1040, 9, 1), b"hi"), [0xC4, b'h', b'i']);
        // Timestamp going backwards: fmt 0.
        assert_eq!(
            sent(header(4, 1035, 9, 1), b"jk"),
            [&[0x04, 0x00, 0x04, 0x0B, 0, 0, 2, 9, 1, 0, 0, 0][..], b"jk"].concat()
        );
        // After fmt 0, fmt 3 needs a fmt 2 first even for a repeated delta.
        assert_eq!(
            sent(header(4, 1040, 9, 1), b"lm"),
            [0x84, 0, 0, 5, b'l', b'm']
        );
        assert_eq!(sent(header(4, 1045, 9, 1), b"no"), [0xC4, b'n', b'o']);
        // Different message stream id: fmt 0.
        assert_eq!(
            sent(header(4, 1050, 9, 2), b"pq"),
            [&[0x04, 0x00, 0x04, 0x1A, 0, 0, 2, 9, 2, 0, 0, 0][..], b"pq"].concat()
        );
    }

    #[test]
    fn large_payload_is_referenced_not_copied() {
        let payload = pattern(300);
        let mut out = Vec::new();
        ChunkEncoder::new().encode(&header(6, 0, 9, 1), &payload, &mut out);
        assert_eq!(out.len(), 6);
        assert_eq!(out[0], [0x06, 0, 0, 0, 0x00, 0x01, 0x2C, 9, 1, 0, 0, 0][..]);
        assert_eq!(out[2], [0xC6][..]);
        assert_eq!(out[4], [0xC6][..]);
        for (segment, start) in [(&out[1], 0), (&out[3], 128), (&out[5], 256)] {
            assert_eq!(segment.as_ptr(), payload[start..].as_ptr());
        }
        assert_eq!(out[5].len(), 44);
    }

    #[test]
    fn small_payload_is_one_segment() {
        let payload = pattern(200);
        let out = encode(&mut ChunkEncoder::new(), header(6, 0, 9, 1), &payload);
        let expected = [
            &[0x06, 0, 0, 0, 0, 0, 200, 9, 1, 0, 0, 0][..],
            &payload[..128],
            &[0xC6],
            &payload[128..],
        ]
        .concat();
        assert_eq!(out, [expected]);
    }

    #[test]
    fn empty_payload_is_a_lone_header() {
        let out = encode(&mut ChunkEncoder::new(), header(3, 5, 8, 1), b"");
        assert_eq!(out, [&[0x03, 0, 0, 5, 0, 0, 0, 8, 1, 0, 0, 0][..]]);
    }

    #[test]
    fn extended_timestamp_on_every_chunk() {
        let payload = pattern(300);
        let mut encoder = ChunkEncoder::new();
        let out = encode(&mut encoder, header(6, 0x0100_0000, 9, 1), &payload);
        assert_eq!(
            out[0],
            [0x06, 0xFF, 0xFF, 0xFF, 0, 0x01, 0x2C, 9, 1, 0, 0, 0, 0x01, 0, 0, 0][..]
        );
        assert_eq!(out[2], [0xC6, 0x01, 0, 0, 0][..]);
        assert_eq!(out[4], [0xC6, 0x01, 0, 0, 0][..]);
        // A delta of 0xFFFFFF or more is extended too, also on a fmt 3 new message.
        let delta = 0x0100_0000;
        let out = encode(&mut encoder, header(6, 0x0200_0000, 9, 1), &payload);
        assert_eq!(out[0], [0x86, 0xFF, 0xFF, 0xFF, 0x01, 0, 0, 0][..]);
        assert_eq!(out[2], [0xC6, 0x01, 0, 0, 0][..]);
        let out = encode(&mut encoder, header(6, 0x0200_0000 + delta, 9, 1), &payload);
        assert_eq!(out[0], [0xC6, 0x01, 0, 0, 0][..]);
    }

    #[test]
    fn basic_header_forms() {
        let cases: [(u32, &[u8]); 5] = [
            (3, &[0x03]),
            (64, &[0x00, 0x00]),
            (319, &[0x00, 0xFF]),
            (320, &[0x01, 0x00, 0x01]),
            (65_599, &[0x01, 0xFF, 0xFF]),
        ];
        for (csid, basic) in cases {
            let out = encode(
                &mut ChunkEncoder::new(),
                header(csid, 0, 9, 1),
                &pattern(300),
            );
            assert!(out[0].starts_with(basic), "csid {csid}");
            assert_eq!(out[2][0], basic[0] | 0xC0);
            assert_eq!(out[2][1..], basic[1..]);
        }
    }

    #[test]
    fn chunk_size_applies_to_next_message() {
        let mut encoder = ChunkEncoder::default();
        assert_eq!(encoder.chunk_size(), DEFAULT_CHUNK_SIZE);
        encoder.set_chunk_size(4096);
        assert_eq!(encoder.chunk_size(), 4096);
        let out = encode(&mut encoder, header(6, 0, 9, 1), &pattern(300));
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].len(), 300);
    }

    #[test]
    fn standalone_uses_fmt0_and_records_nothing() {
        let payload = Bytes::from_static(b"shared");
        let mut standalone = Vec::new();
        ChunkEncoder::encode_standalone(128, &header(4, 40, 9, 1), &payload, &mut standalone);
        let mut fresh = ChunkEncoder::new();
        assert_eq!(
            standalone,
            encode(&mut fresh, header(4, 40, 9, 1), b"shared")
        );

        let mut encoder = ChunkEncoder::new();
        encode(&mut encoder, header(4, 0, 9, 1), b"shared");
        encode(&mut encoder, header(4, 20, 9, 1), b"shared");
        // A standalone message went out on csid 4 in between: start over with fmt 0.
        encoder.forget(4);
        let out = encode(&mut encoder, header(4, 60, 9, 1), b"shared").concat();
        assert_eq!(out[0], 0x04);
    }
}
