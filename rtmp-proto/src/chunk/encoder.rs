//! [`ChunkEncoder`]: whole messages in, chunks out as shared `Bytes` segments.

use super::{
    valid_chunk_size, MessageHeader, DEFAULT_CHUNK_SIZE, EXTENDED_TIMESTAMP, MAX_MESSAGE_LENGTH,
};
use bytes::{BufMut, Bytes, BytesMut};

/// Payloads up to this size are copied next to their header: one segment beats two.
const COPY_BELOW: usize = 256;

/// What the last message sent on a chunk stream looked like.
#[derive(Debug, Clone, Copy)]
struct Sent {
    csid: u32,
    timestamp: u32,
    /// The timestamp field of the last header: a delta, or absolute after format 0.
    ts_field: u32,
    /// Whether that field was a delta (format 1, 2 or 3), so a format 3 header may repeat it.
    field_is_delta: bool,
    length: u32,
    type_id: u8,
    stream_id: u32,
}

/// Cuts messages into chunks with the smallest headers the previous message on each
/// chunk stream allows. Payload bytes are never copied (but for tiny payloads).
#[derive(Debug)]
pub struct ChunkEncoder {
    chunk_size: u32,
    sent: Vec<Sent>,
}

impl Default for ChunkEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkEncoder {
    /// An encoder with the default chunk size (128).
    pub fn new() -> Self {
        ChunkEncoder {
            chunk_size: DEFAULT_CHUNK_SIZE,
            sent: Vec::new(),
        }
    }

    /// The chunk size in use.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Uses `size` for the messages that follow; out-of-range sizes are clamped to
    /// 1 ..= 0x7FFFFFFF. Send the Set Chunk Size message (encoded before this call) first.
    pub fn set_chunk_size(&mut self, size: u32) {
        self.chunk_size = valid_chunk_size(size).unwrap_or(size.clamp(1, super::MAX_CHUNK_SIZE));
    }

    /// Makes the next message on `csid` start with a full (format 0) header.
    pub fn forget(&mut self, csid: u32) {
        self.sent.retain(|s| s.csid != csid);
    }

    /// Appends the chunks of one message to `out`. `header.length` is ignored: the
    /// payload's length is used, and must be at most 0xFFFFFF (the caller's promise:
    /// longer payloads are cut to that length).
    pub fn encode(
        &mut self,
        header: &MessageHeader,
        payload: &Bytes,
        out: &mut impl Extend<Bytes>,
    ) {
        let payload = clamp_payload(payload);
        let length = payload.len() as u32;
        let at = self.sent.iter().position(|s| s.csid == header.csid);
        let previous = at.map(|i| self.sent[i]);
        let (fmt, ts_field) = match previous {
            Some(p) if p.stream_id == header.stream_id && header.timestamp >= p.timestamp => {
                let delta = header.timestamp - p.timestamp;
                if p.length != length || p.type_id != header.type_id {
                    (1, delta)
                } else if p.field_is_delta && delta == p.ts_field {
                    (3, delta)
                } else {
                    (2, delta)
                }
            }
            _ => (0, header.timestamp),
        };
        let sent = Sent {
            csid: header.csid,
            timestamp: header.timestamp,
            ts_field,
            field_is_delta: fmt != 0,
            length,
            type_id: header.type_id,
            stream_id: header.stream_id,
        };
        match at {
            Some(i) => self.sent[i] = sent,
            None => self.sent.push(sent),
        }
        write_chunks(self.chunk_size, fmt, header, ts_field, &payload, out);
    }

    /// Appends the chunks of one message with a full format 0 header that refers to no
    /// earlier message, so several connections using `chunk_size` can share the result.
    /// It records nothing: call [`ChunkEncoder::forget`] for `header.csid` on each
    /// connection that sends it, so their next message there is self-contained too.
    pub fn encode_standalone(
        chunk_size: u32,
        header: &MessageHeader,
        payload: &Bytes,
        out: &mut impl Extend<Bytes>,
    ) {
        let chunk_size = valid_chunk_size(chunk_size).unwrap_or(DEFAULT_CHUNK_SIZE);
        write_chunks(
            chunk_size,
            0,
            header,
            header.timestamp,
            &clamp_payload(payload),
            out,
        );
    }
}

fn clamp_payload(payload: &Bytes) -> Bytes {
    debug_assert!(
        payload.len() <= MAX_MESSAGE_LENGTH as usize,
        "RTMP message over 16 MiB"
    );
    if payload.len() > MAX_MESSAGE_LENGTH as usize {
        payload.slice(..MAX_MESSAGE_LENGTH as usize)
    } else {
        payload.clone()
    }
}

/// Writes the basic header for `fmt` and `csid`.
fn put_basic_header(buf: &mut BytesMut, fmt: u8, csid: u32) {
    let fmt = fmt << 6;
    match csid {
        2..=63 => buf.put_u8(fmt | csid as u8),
        64..=319 => {
            buf.put_u8(fmt);
            buf.put_u8((csid - 64) as u8);
        }
        _ => {
            let id = csid.clamp(64, 65599) - 64;
            buf.put_u8(fmt | 1);
            buf.put_u8((id & 0xFF) as u8);
            buf.put_u8((id >> 8) as u8);
        }
    }
}

fn put_u24(buf: &mut BytesMut, value: u32) {
    buf.put_slice(&value.to_be_bytes()[1..]);
}

fn write_chunks(
    chunk_size: u32,
    fmt: u8,
    header: &MessageHeader,
    ts_field: u32,
    payload: &Bytes,
    out: &mut impl Extend<Bytes>,
) {
    let chunk_size = chunk_size as usize;
    let extended = ts_field >= EXTENDED_TIMESTAMP;
    let chunks = payload.len().div_ceil(chunk_size).max(1);
    let basic_len = match header.csid {
        2..=63 => 1,
        64..=319 => 2,
        _ => 3,
    };
    let ext_len = if extended { 4 } else { 0 };
    let first_len = basic_len + [11, 7, 3, 0][usize::from(fmt)] + ext_len;
    let next_len = basic_len + ext_len;
    let copy = payload.len() <= COPY_BELOW;
    let mut buf = BytesMut::with_capacity(
        first_len + (chunks - 1) * next_len + if copy { payload.len() } else { 0 },
    );

    put_basic_header(&mut buf, fmt, header.csid);
    if fmt < 3 {
        put_u24(&mut buf, ts_field.min(EXTENDED_TIMESTAMP));
    }
    if fmt < 2 {
        put_u24(&mut buf, payload.len() as u32);
        buf.put_u8(header.type_id);
    }
    if fmt == 0 {
        buf.put_u32_le(header.stream_id);
    }
    if extended {
        buf.put_u32(ts_field);
    }
    let mut offset = 0;
    for index in 0..chunks {
        if index > 0 {
            put_basic_header(&mut buf, 3, header.csid);
            if extended {
                buf.put_u32(ts_field);
            }
        }
        let end = (offset + chunk_size).min(payload.len());
        if copy {
            buf.put_slice(&payload[offset..end]);
        } else {
            let header_bytes = buf.split().freeze();
            out.extend([header_bytes, payload.slice(offset..end)]);
        }
        offset = end;
    }
    if copy {
        out.extend(std::iter::once(buf.freeze()));
    }
}
