//! AMF0 encoding.

use bytes::{BufMut, BytesMut};

use super::{amf3, marker};
use super::{Amf0Value, AmfObject};

/// Longest string a 16-bit length can describe.
const SHORT_MAX: usize = u16::MAX as usize;
/// Longest string (and strict array) a 32-bit length can describe.
const LONG_MAX: usize = u32::MAX as usize;

/// Appends the AMF0 encoding of `value` to `out`.
///
/// A `String` longer than 65535 bytes is written as a long string (marker 0x0C),
/// so it decodes as [`Amf0Value::LongString`]. Object keys and class names longer
/// than 65535 bytes are truncated at a char boundary; long strings and strict
/// arrays beyond `u32::MAX` bytes or items are truncated the same way. An `Amf3`
/// value is written as marker 0x11 then [`amf3::encode_value`].
pub fn encode_value(value: &Amf0Value, out: &mut BytesMut) {
    match value {
        Amf0Value::Number(n) => {
            out.put_u8(marker::NUMBER);
            out.put_f64(*n);
        }
        Amf0Value::Boolean(b) => {
            out.put_u8(marker::BOOLEAN);
            out.put_u8(u8::from(*b));
        }
        Amf0Value::String(s) if s.len() <= SHORT_MAX => {
            out.put_u8(marker::STRING);
            put_short_string(s, out);
        }
        Amf0Value::String(s) | Amf0Value::LongString(s) => {
            out.put_u8(marker::LONG_STRING);
            put_long_string(s, out);
        }
        Amf0Value::Object(properties) => {
            out.put_u8(marker::OBJECT);
            put_properties(properties, out);
        }
        Amf0Value::Null => out.put_u8(marker::NULL),
        Amf0Value::Undefined => out.put_u8(marker::UNDEFINED),
        Amf0Value::Reference(index) => {
            out.put_u8(marker::REFERENCE);
            out.put_u16(*index);
        }
        Amf0Value::EcmaArray(properties) => {
            out.put_u8(marker::ECMA_ARRAY);
            out.put_u32(u32::try_from(properties.len()).unwrap_or(u32::MAX));
            put_properties(properties, out);
        }
        Amf0Value::StrictArray(items) => {
            let items = clip_items(items);
            out.put_u8(marker::STRICT_ARRAY);
            out.put_u32(items.len() as u32); // fits: clipped to LONG_MAX
            for item in items {
                encode_value(item, out);
            }
        }
        Amf0Value::Date { millis, timezone } => {
            out.put_u8(marker::DATE);
            out.put_f64(*millis);
            out.put_i16(*timezone);
        }
        Amf0Value::Unsupported => out.put_u8(marker::UNSUPPORTED),
        Amf0Value::XmlDocument(s) => {
            out.put_u8(marker::XML_DOCUMENT);
            put_long_string(s, out);
        }
        Amf0Value::TypedObject {
            class_name,
            properties,
        } => {
            out.put_u8(marker::TYPED_OBJECT);
            put_short_string(class_name, out);
            put_properties(properties, out);
        }
        Amf0Value::Amf3(value) => {
            out.put_u8(marker::AVMPLUS);
            amf3::encode_value(value, out);
        }
    }
}

/// Appends the encodings of `values`, one after another, to `out`.
pub fn encode_all(values: &[Amf0Value], out: &mut BytesMut) {
    out.reserve(values.iter().map(encoded_len).sum());
    for value in values {
        encode_value(value, out);
    }
}

/// The exact number of bytes [`encode_value`] writes for `value`.
pub fn encoded_len(value: &Amf0Value) -> usize {
    match value {
        Amf0Value::Null | Amf0Value::Undefined | Amf0Value::Unsupported => 1,
        Amf0Value::Boolean(_) => 2,
        Amf0Value::Reference(_) => 3,
        Amf0Value::Number(_) => 9,
        Amf0Value::Date { .. } => 11,
        Amf0Value::String(s) if s.len() <= SHORT_MAX => 3 + s.len(),
        Amf0Value::String(s) | Amf0Value::LongString(s) | Amf0Value::XmlDocument(s) => {
            5 + clip(s, LONG_MAX).len()
        }
        Amf0Value::Object(properties) => 1 + properties_len(properties),
        Amf0Value::EcmaArray(properties) => 5 + properties_len(properties),
        Amf0Value::StrictArray(items) => {
            5 + clip_items(items).iter().map(encoded_len).sum::<usize>()
        }
        Amf0Value::TypedObject {
            class_name,
            properties,
        } => 3 + clip(class_name, SHORT_MAX).len() + properties_len(properties),
        Amf0Value::Amf3(value) => 1 + amf3::encoded_len(value),
    }
}

/// Entries followed by the end marker (empty key + 0x09).
fn put_properties(properties: &AmfObject, out: &mut BytesMut) {
    for (key, value) in properties.iter() {
        put_short_string(key, out);
        encode_value(value, out);
    }
    out.put_u16(0);
    out.put_u8(marker::OBJECT_END);
}

fn properties_len(properties: &AmfObject) -> usize {
    let entries: usize = properties
        .iter()
        .map(|(key, value)| 2 + clip(key, SHORT_MAX).len() + encoded_len(value))
        .sum();
    entries + 3
}

/// 16-bit length then UTF-8, truncated at a char boundary to fit.
fn put_short_string(s: &str, out: &mut BytesMut) {
    let s = clip(s, SHORT_MAX);
    out.put_u16(s.len() as u16); // fits: clipped to SHORT_MAX
    out.put_slice(s.as_bytes());
}

/// 32-bit length then UTF-8, truncated at a char boundary to fit.
fn put_long_string(s: &str, out: &mut BytesMut) {
    let s = clip(s, LONG_MAX);
    out.put_u32(s.len() as u32); // fits: clipped to LONG_MAX
    out.put_slice(s.as_bytes());
}

/// The longest prefix of `s` that is at most `max` bytes and ends on a char boundary.
pub(super) fn clip(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// The items a strict array can hold (its count is 32 bits).
fn clip_items(items: &[Amf0Value]) -> &[Amf0Value] {
    items.get(..LONG_MAX).unwrap_or(items)
}
