//! FLV files without I/O: [`FlvReader`] splits bytes into tags, [`FlvWriter`] turns
//! tags into bytes. A tag body is exactly an RTMP audio, video or data message
//! payload, so tags and messages convert one to one.
//!
//! Layout: a 9-byte header (`FLV`, version 1, flags: 4 = audio, 1 = video, header
//! size), then `PreviousTagSize0` (u32 0), then tags: type (1), data size (3),
//! timestamp (3) + extension (1, the high byte), stream id (3, always 0), data, and
//! the tag's total size (u32).

use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

/// Tag type of an audio tag.
pub const TAG_AUDIO: u8 = 8;
/// Tag type of a video tag.
pub const TAG_VIDEO: u8 = 9;
/// Tag type of a script data tag (`onMetaData`).
pub const TAG_SCRIPT: u8 = 18;

/// One FLV tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlvTag {
    /// [`TAG_AUDIO`], [`TAG_VIDEO`] or [`TAG_SCRIPT`] (others are passed through).
    pub tag_type: u8,
    /// Timestamp in milliseconds.
    pub timestamp: u32,
    /// The tag body.
    pub data: Bytes,
}

/// A file that is not FLV, or a tag that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlvError {
    /// The first bytes are not an FLV header.
    NotFlv,
    /// The encrypted-tag ("filter") bit is set: not supported.
    Encrypted,
}

impl fmt::Display for FlvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlvError::NotFlv => f.write_str("not an FLV file (bad header)"),
            FlvError::Encrypted => f.write_str("encrypted FLV tags are not supported"),
        }
    }
}

impl std::error::Error for FlvError {}

/// Splits FLV bytes into tags. Feed it the file in pieces of any size.
#[derive(Debug, Default)]
pub struct FlvReader {
    buffer: BytesMut,
    header_read: bool,
}

impl FlvReader {
    /// A reader expecting the FLV header first.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes of the file.
    pub fn push(&mut self, data: &[u8]) {
        self.buffer.extend_from_slice(data);
    }

    /// The next complete tag, `Ok(None)` if more bytes are needed.
    pub fn next_tag(&mut self) -> Result<Option<FlvTag>, FlvError> {
        if !self.header_read {
            let Some(header) = self.buffer.get(..9) else {
                return Ok(None);
            };
            if &header[..3] != b"FLV" {
                return Err(FlvError::NotFlv);
            }
            let header_size =
                u32::from_be_bytes([header[5], header[6], header[7], header[8]]) as usize;
            let skip = header_size.max(9) + 4; // header, then PreviousTagSize0
            if self.buffer.len() < skip {
                return Ok(None);
            }
            let _ = self.buffer.split_to(skip);
            self.header_read = true;
        }
        let Some(head) = self.buffer.get(..11) else {
            return Ok(None);
        };
        if head[0] & 0x20 != 0 {
            return Err(FlvError::Encrypted);
        }
        let tag_type = head[0] & 0x1F;
        let size = u32::from_be_bytes([0, head[1], head[2], head[3]]) as usize;
        let timestamp = u32::from_be_bytes([head[7], head[4], head[5], head[6]]);
        if self.buffer.len() < 11 + size + 4 {
            return Ok(None);
        }
        let mut tag = self.buffer.split_to(11 + size + 4);
        let _ = tag.split_to(11);
        tag.truncate(size);
        Ok(Some(FlvTag {
            tag_type,
            timestamp,
            data: tag.freeze(),
        }))
    }
}

/// Writes FLV bytes: the header once, then tags.
#[derive(Debug, Clone, Copy)]
pub struct FlvWriter;

impl FlvWriter {
    /// The file header and `PreviousTagSize0` for a file with the given tracks.
    pub fn header(has_audio: bool, has_video: bool) -> Bytes {
        let mut out = BytesMut::with_capacity(13);
        out.put_slice(b"FLV\x01");
        out.put_u8(u8::from(has_audio) << 2 | u8::from(has_video));
        out.put_u32(9);
        out.put_u32(0);
        out.freeze()
    }

    /// One tag with its trailing size. Bodies over 16 MiB - 1 cannot be expressed and
    /// are cut (RTMP messages never exceed it).
    pub fn tag(tag: &FlvTag) -> Bytes {
        let data = &tag.data[..tag.data.len().min(0xFF_FFFF)];
        let mut out = BytesMut::with_capacity(11 + data.len() + 4);
        out.put_u8(tag.tag_type);
        out.put_slice(&(data.len() as u32).to_be_bytes()[1..]);
        out.put_slice(&tag.timestamp.to_be_bytes()[1..]);
        out.put_u8((tag.timestamp >> 24) as u8);
        out.put_slice(&[0, 0, 0]);
        out.put_slice(data);
        out.put_u32(11 + data.len() as u32);
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<FlvTag> {
        vec![
            FlvTag {
                tag_type: TAG_SCRIPT,
                timestamp: 0,
                data: Bytes::from_static(b"\x02\x00\x0aonMetaData\x05"),
            },
            FlvTag {
                tag_type: TAG_VIDEO,
                timestamp: 0,
                data: Bytes::from_static(&[0x17, 0, 0, 0, 0]),
            },
            FlvTag {
                tag_type: TAG_AUDIO,
                timestamp: 0x0100_0010,
                data: Bytes::from_static(&[0xAF, 1, 2]),
            },
            FlvTag {
                tag_type: TAG_AUDIO,
                timestamp: 23,
                data: Bytes::new(),
            },
        ]
    }

    fn file(tags: &[FlvTag]) -> Vec<u8> {
        let mut out = FlvWriter::header(true, true).to_vec();
        for tag in tags {
            out.extend_from_slice(&FlvWriter::tag(tag));
        }
        out
    }

    #[test]
    fn header_and_tag_layout() {
        assert_eq!(
            &FlvWriter::header(true, true)[..],
            b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00"
        );
        let tag = FlvWriter::tag(&FlvTag {
            tag_type: 9,
            timestamp: 0x0102_0304,
            data: Bytes::from_static(b"ab"),
        });
        assert_eq!(
            &tag[..],
            b"\x09\x00\x00\x02\x02\x03\x04\x01\x00\x00\x00ab\x00\x00\x00\x0d"
        );
    }

    #[test]
    fn written_tags_read_back_whole_and_byte_by_byte() {
        let bytes = file(&sample());
        let mut reader = FlvReader::new();
        reader.push(&bytes);
        let whole: Vec<FlvTag> = std::iter::from_fn(|| reader.next_tag().unwrap()).collect();
        assert_eq!(whole, sample());
        let mut reader = FlvReader::new();
        let mut split = Vec::new();
        for byte in &bytes {
            reader.push(std::slice::from_ref(byte));
            while let Some(tag) = reader.next_tag().unwrap() {
                split.push(tag);
            }
        }
        assert_eq!(split, sample());
    }

    #[test]
    fn bad_files_are_errors_not_panics() {
        let mut reader = FlvReader::new();
        reader.push(b"RIFF0000000000000");
        assert_eq!(reader.next_tag(), Err(FlvError::NotFlv));
        let bytes = file(&sample());
        for cut in 0..bytes.len() {
            let mut reader = FlvReader::new();
            reader.push(&bytes[..cut]);
            while let Ok(Some(_)) = reader.next_tag() {}
        }
    }
}
