//! Byte-level plumbing shared by the tag parsers: the checked big-endian [`Reader`],
//! the writers' fixed-width helpers, and [`MediaError`], the one error type of tag
//! parsing.

use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

/// Why an audio or video tag body could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaError {
    /// A video tag body with no bytes at all (an empty *audio* body is silence).
    Empty,
    /// The body ends before the named field is complete.
    Truncated(&'static str),
    /// Bytes follow a structure that must end the body (or its track).
    TrailingBytes {
        /// What the extra bytes follow.
        after: &'static str,
        /// How many there are.
        count: usize,
    },
}

impl fmt::Display for MediaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty video tag body"),
            Self::Truncated(what) => write!(f, "media tag truncated in the {what}"),
            Self::TrailingBytes { after, count } => {
                write!(f, "{count} unexpected byte(s) after the {after}")
            }
        }
    }
}

impl std::error::Error for MediaError {}

/// A cursor over a tag body; every read is bounds-checked and names what it reads.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], MediaError> {
        if self.buf.len() < n {
            return Err(MediaError::Truncated(what));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    /// The next byte, without consuming it.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.first().copied()
    }

    /// How many bytes are left.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, MediaError> {
        let [b] = self.array(what)?;
        Ok(b)
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, MediaError> {
        self.array(what).map(u16::from_be_bytes)
    }

    pub(crate) fn u24(&mut self, what: &'static str) -> Result<u32, MediaError> {
        let [a, b, c] = self.array(what)?;
        Ok(u32::from_be_bytes([0, a, b, c]))
    }

    /// A signed 24-bit big-endian value (composition time offsets).
    pub(crate) fn i24(&mut self, what: &'static str) -> Result<i32, MediaError> {
        let [a, b, c] = self.array(what)?;
        Ok(i32::from_be_bytes([a, b, c, 0]) >> 8)
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, MediaError> {
        self.array(what).map(u32::from_be_bytes)
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], MediaError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// Fails if anything is left after the named structure.
    pub(crate) fn finish(&self, after: &'static str) -> Result<(), MediaError> {
        match self.buf.len() {
            0 => Ok(()),
            count => Err(MediaError::TrailingBytes { after, count }),
        }
    }
}

/// Shares `part` (a subslice of `src`) without copying.
pub(crate) fn share(src: &Bytes, part: &[u8]) -> Bytes {
    src.slice_ref(part)
}

/// Writes the low 24 bits of `value` big-endian.
pub(crate) fn put_u24(out: &mut BytesMut, value: u32) {
    out.put_slice(&value.to_be_bytes()[1..]);
}

/// Writes `value`, clamped to the SI24 range, big-endian.
pub(crate) fn put_i24(out: &mut BytesMut, value: i32) {
    let clamped = value.clamp(-0x80_0000, 0x7F_FFFF);
    out.put_slice(&clamped.to_be_bytes()[1..]);
}
