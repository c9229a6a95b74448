//! AMF0 (Action Message Format version 0) codec, with AMF3 values inside it.
//!
//! This module owns the byte-level format of RTMP command and data message
//! payloads: the value model ([`Amf0Value`], [`AmfObject`]), a bounded,
//! panic-free decoder ([`decode_value`], [`decode_all`]) and an encoder
//! ([`encode_value`], [`encode_all`], [`encoded_len`]). It knows nothing about
//! RTMP commands themselves. The AMF0 "switch to AMF3" marker (0x11) introduces
//! one AMF3 value, [`Amf0Value::Amf3`]; the [`amf3`] module holds its codec.

pub mod amf3;
mod decode;
mod encode;
mod value;

#[cfg(test)]
mod tests;

pub use amf3::{Amf3Object, Amf3Value};
pub use decode::{decode_all, decode_value, AmfError, AmfLimits};
pub use encode::{encode_all, encode_value, encoded_len};
pub use value::{Amf0Value, AmfObject};

/// AMF0 type markers, shared by the decoder and the encoder.
mod marker {
    pub const NUMBER: u8 = 0x00;
    pub const BOOLEAN: u8 = 0x01;
    pub const STRING: u8 = 0x02;
    pub const OBJECT: u8 = 0x03;
    pub const NULL: u8 = 0x05;
    pub const UNDEFINED: u8 = 0x06;
    pub const REFERENCE: u8 = 0x07;
    pub const ECMA_ARRAY: u8 = 0x08;
    pub const OBJECT_END: u8 = 0x09;
    pub const STRICT_ARRAY: u8 = 0x0A;
    pub const DATE: u8 = 0x0B;
    pub const LONG_STRING: u8 = 0x0C;
    pub const UNSUPPORTED: u8 = 0x0D;
    pub const XML_DOCUMENT: u8 = 0x0F;
    pub const TYPED_OBJECT: u8 = 0x10;
    pub const AVMPLUS: u8 = 0x11;
}
