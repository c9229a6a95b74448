//! AMF3 (Action Message Format version 3) codec.
//!
//! AMF3 reaches RTMP through the AMF0 "switch to AMF3" marker (0x11), which
//! [`super::Amf0Value::Amf3`] models. Each [`decode_value`] and [`encode_value`]
//! call uses fresh string, object and traits reference tables, as one such
//! switched value does.
//!
//! The decoder resolves references by decoding the referenced bytes again, so a
//! reference costs what the value it copies costs: its values count against
//! [`AmfLimits::max_elements`](super::AmfLimits) and its nesting against
//! `max_depth`. Each string, XML text or `ByteArray` it copies also costs one element
//! per 64 bytes, so strings shorter than that copy for free. A "billion laughs" input
//! therefore fails with [`AmfError::TooManyElements`](super::AmfError) instead of
//! exhausting memory.
//!
//! The encoder writes every complex value inline, and references only repeated
//! strings and traits whose strings are all shorter than 64 bytes. Its output thus
//! costs the decoder no more than the values it holds: whatever the decoder
//! accepted, it accepts again, re-encoded, under the same limits.

mod decode;
mod encode;
mod value;

#[cfg(test)]
pub(super) mod tests;

pub(super) use decode::decode_nested;
pub use decode::decode_value;
pub use encode::{encode_value, encoded_len};
pub use value::{Amf3Object, Amf3Value};

/// AMF3 type markers, shared by the decoder and the encoder.
mod marker {
    pub const UNDEFINED: u8 = 0x00;
    pub const NULL: u8 = 0x01;
    pub const FALSE: u8 = 0x02;
    pub const TRUE: u8 = 0x03;
    pub const INTEGER: u8 = 0x04;
    pub const DOUBLE: u8 = 0x05;
    pub const STRING: u8 = 0x06;
    pub const XML_DOCUMENT: u8 = 0x07;
    pub const DATE: u8 = 0x08;
    pub const ARRAY: u8 = 0x09;
    pub const OBJECT: u8 = 0x0A;
    pub const XML: u8 = 0x0B;
    pub const BYTE_ARRAY: u8 = 0x0C;
    pub const VECTOR_INT: u8 = 0x0D;
    pub const VECTOR_UINT: u8 = 0x0E;
    pub const VECTOR_DOUBLE: u8 = 0x0F;
    pub const VECTOR_OBJECT: u8 = 0x10;
    pub const DICTIONARY: u8 = 0x11;
}

/// Class alias of the externalizable array collection.
const ARRAY_COLLECTION: &str = "flex.messaging.io.ArrayCollection";
/// Class alias of the externalizable object proxy.
const OBJECT_PROXY: &str = "flex.messaging.io.ObjectProxy";

/// Copying a string through a reference costs one element per this many bytes.
const COPY_BYTES_PER_ELEMENT: usize = 64;
/// Largest length, count or reference index a U29 with a flag bit can carry.
const U28_MAX: u32 = (1 << 28) - 1;
/// Smallest and largest integers a U29 can carry.
const INTEGER_RANGE: std::ops::RangeInclusive<i32> = -(1 << 28)..=(1 << 28) - 1;
