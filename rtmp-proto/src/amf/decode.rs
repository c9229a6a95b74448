//! Bounded, panic-free AMF0 decoding.

use std::fmt;

use super::{amf3, marker};
use super::{Amf0Value, AmfObject};

/// Limits on what a peer may make the decoder build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmfLimits {
    /// Deepest allowed nesting of objects and arrays; a top-level object is at depth 1.
    pub max_depth: usize,
    /// Most values (nested ones included) one `decode_all` or `decode_value` call may decode;
    /// AMF3 references count the values they copy (see [`amf3`](super::amf3)).
    pub max_elements: usize,
}

impl Default for AmfLimits {
    /// `max_depth` 32, `max_elements` 65 536.
    fn default() -> Self {
        Self {
            max_depth: 32,
            max_elements: 65_536,
        }
    }
}

/// Why AMF0 or AMF3 data could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AmfError {
    /// The data ends in the middle of a value.
    Truncated,
    /// A type marker that is unknown or reserved (movieclip 0x04, recordset 0x0E).
    UnknownMarker(u8),
    /// An object-end marker (0x09) stands where a value was expected.
    UnexpectedObjectEnd,
    /// Objects or arrays nest deeper than [`AmfLimits::max_depth`].
    TooDeep,
    /// More values than [`AmfLimits::max_elements`].
    TooManyElements,
    /// An AMF3 string, object or traits reference points past its table, or at an
    /// object that is still being decoded (a cycle).
    InvalidReference,
    /// An AMF3 externalizable object of this class, whose custom format is unknown.
    Externalizable(String),
}

impl fmt::Display for AmfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("AMF data ends in the middle of a value"),
            Self::UnknownMarker(m) => write!(f, "unknown or reserved AMF type marker 0x{m:02x}"),
            Self::UnexpectedObjectEnd => {
                f.write_str("AMF0 object-end marker found where a value was expected")
            }
            Self::TooDeep => f.write_str("AMF objects or arrays nest deeper than allowed"),
            Self::TooManyElements => f.write_str("AMF data holds more values than allowed"),
            Self::InvalidReference => {
                f.write_str("AMF3 reference to a missing or unfinished entry")
            }
            Self::Externalizable(class) => {
                write!(f, "AMF3 externalizable object of unknown class {class:?}")
            }
        }
    }
}

impl std::error::Error for AmfError {}

/// Decodes one value and advances `input` past it; on error `input` is left untouched.
pub fn decode_value(input: &mut &[u8], limits: &AmfLimits) -> Result<Amf0Value, AmfError> {
    let mut decoder = Decoder::new(input, limits);
    let value = decoder.value(0)?;
    *input = decoder.input;
    Ok(value)
}

/// Decodes every value in `input` (e.g. a whole command message payload).
pub fn decode_all(input: &[u8], limits: &AmfLimits) -> Result<Vec<Amf0Value>, AmfError> {
    let mut decoder = Decoder::new(input, limits);
    let mut values = Vec::new();
    while !decoder.input.is_empty() {
        values.push(decoder.value(0)?);
    }
    Ok(values)
}

/// Cursor over the input plus the budget spent so far.
struct Decoder<'a> {
    input: &'a [u8],
    limits: AmfLimits,
    elements: usize,
}

impl<'a> Decoder<'a> {
    fn new(input: &'a [u8], limits: &AmfLimits) -> Self {
        Self {
            input,
            limits: *limits,
            elements: 0,
        }
    }

    /// Decodes one value; `depth` is the number of containers around it.
    fn value(&mut self, depth: usize) -> Result<Amf0Value, AmfError> {
        self.elements = self.elements.saturating_add(1);
        if self.elements > self.limits.max_elements {
            return Err(AmfError::TooManyElements);
        }
        let value = match self.u8()? {
            marker::NUMBER => Amf0Value::Number(self.f64()?),
            marker::BOOLEAN => Amf0Value::Boolean(self.u8()? != 0),
            marker::STRING => Amf0Value::String(self.short_string()?),
            marker::OBJECT => Amf0Value::Object(self.properties(self.enter(depth)?)?),
            marker::NULL => Amf0Value::Null,
            marker::UNDEFINED => Amf0Value::Undefined,
            marker::REFERENCE => Amf0Value::Reference(u16::from_be_bytes(self.array()?)),
            marker::ECMA_ARRAY => {
                let depth = self.enter(depth)?;
                // The count is only a hint (some encoders write a wrong one): the
                // entries run until the end marker.
                self.array::<4>()?;
                Amf0Value::EcmaArray(self.properties(depth)?)
            }
            marker::OBJECT_END => return Err(AmfError::UnexpectedObjectEnd),
            marker::STRICT_ARRAY => Amf0Value::StrictArray(self.strict_array(self.enter(depth)?)?),
            marker::DATE => Amf0Value::Date {
                millis: self.f64()?,
                timezone: i16::from_be_bytes(self.array()?),
            },
            marker::LONG_STRING => Amf0Value::LongString(self.long_string()?),
            marker::UNSUPPORTED => Amf0Value::Unsupported,
            marker::XML_DOCUMENT => Amf0Value::XmlDocument(self.long_string()?),
            marker::TYPED_OBJECT => {
                let depth = self.enter(depth)?;
                let class_name = self.short_string()?;
                let properties = self.properties(depth)?;
                Amf0Value::TypedObject {
                    class_name,
                    properties,
                }
            }
            marker::AVMPLUS => Amf0Value::Amf3(amf3::decode_nested(
                &mut self.input,
                &self.limits,
                &mut self.elements,
                depth,
            )?),
            other => return Err(AmfError::UnknownMarker(other)),
        };
        Ok(value)
    }

    /// The depth of a container opened at `depth`, if allowed.
    fn enter(&self, depth: usize) -> Result<usize, AmfError> {
        let inner = depth.saturating_add(1);
        if inner > self.limits.max_depth {
            return Err(AmfError::TooDeep);
        }
        Ok(inner)
    }

    /// Key/value pairs up to the end marker (empty key + 0x09) or the end of input.
    fn properties(&mut self, depth: usize) -> Result<AmfObject, AmfError> {
        let mut entries = Vec::new();
        // Leniency: encoders often omit the end marker of the payload's last object.
        while !self.input.is_empty() {
            let key = self.short_string()?;
            if key.is_empty() {
                if let Some((&marker::OBJECT_END, rest)) = self.input.split_first() {
                    self.input = rest;
                    break;
                }
            }
            entries.push((key, self.value(depth)?));
        }
        Ok(AmfObject(entries))
    }

    fn strict_array(&mut self, depth: usize) -> Result<Vec<Amf0Value>, AmfError> {
        let count = usize::try_from(u32::from_be_bytes(self.array()?)).unwrap_or(usize::MAX);
        // Every value takes at least one byte: check before allocating.
        if count > self.input.len() {
            return Err(AmfError::Truncated);
        }
        if count > self.limits.max_elements.saturating_sub(self.elements) {
            return Err(AmfError::TooManyElements);
        }
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(self.value(depth)?);
        }
        Ok(items)
    }

    fn short_string(&mut self) -> Result<String, AmfError> {
        let len = u16::from_be_bytes(self.array()?);
        self.string(usize::from(len))
    }

    fn long_string(&mut self) -> Result<String, AmfError> {
        let len = u32::from_be_bytes(self.array()?);
        self.string(usize::try_from(len).unwrap_or(usize::MAX))
    }

    /// `len` bytes as text; invalid UTF-8 is replaced, never rejected.
    fn string(&mut self, len: usize) -> Result<String, AmfError> {
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    fn u8(&mut self) -> Result<u8, AmfError> {
        let [byte] = self.array()?;
        Ok(byte)
    }

    fn f64(&mut self) -> Result<f64, AmfError> {
        Ok(f64::from_be_bytes(self.array()?))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], AmfError> {
        <[u8; N]>::try_from(self.take(N)?).map_err(|_| AmfError::Truncated)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], AmfError> {
        if len > self.input.len() {
            return Err(AmfError::Truncated);
        }
        let (head, rest) = self.input.split_at(len);
        self.input = rest;
        Ok(head)
    }
}
