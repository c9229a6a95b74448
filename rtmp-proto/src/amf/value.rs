//! The AMF0 value model.

use super::Amf3Value;

/// One AMF0 value.
#[derive(Debug, Clone, PartialEq)]
pub enum Amf0Value {
    /// IEEE 754 double (marker 0x00).
    Number(f64),
    /// Boolean (marker 0x01).
    Boolean(bool),
    /// UTF-8 string of at most 65535 bytes on the wire (marker 0x02).
    String(String),
    /// Anonymous object (marker 0x03).
    Object(AmfObject),
    /// Null (marker 0x05).
    Null,
    /// Undefined (marker 0x06).
    Undefined,
    /// Reference to an earlier complex value by index (marker 0x07); not resolved.
    Reference(u16),
    /// Associative array (marker 0x08).
    EcmaArray(AmfObject),
    /// Dense array (marker 0x0A).
    StrictArray(Vec<Amf0Value>),
    /// Date as milliseconds since the Unix epoch plus a timezone field (marker 0x0B).
    Date {
        /// Milliseconds since 1970-01-01T00:00:00Z.
        millis: f64,
        /// Timezone offset in minutes; the spec says to write 0 and ignore it.
        timezone: i16,
    },
    /// UTF-8 string with a 32-bit length (marker 0x0C).
    LongString(String),
    /// Unsupported-type placeholder (marker 0x0D).
    Unsupported,
    /// XML document as text (marker 0x0F).
    XmlDocument(String),
    /// Object with a registered class name (marker 0x10).
    TypedObject {
        /// The class alias.
        class_name: String,
        /// The object's properties.
        properties: AmfObject,
    },
    /// One AMF3 value after the "switch to AMF3" marker (0x11).
    Amf3(Amf3Value),
}

impl Amf0Value {
    /// The text of a `String`, `LongString` or `XmlDocument`, or of an `Amf3` one
    /// (see [`Amf3Value::as_str`]).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) | Self::LongString(s) | Self::XmlDocument(s) => Some(s),
            Self::Amf3(v) => v.as_str(),
            _ => None,
        }
    }

    /// The value of a `Number`, or of an `Amf3` integer or double.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Self::Number(n) => Some(*n),
            Self::Amf3(v) => v.as_number(),
            _ => None,
        }
    }

    /// The value of a `Boolean`, or of an `Amf3` one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Boolean(b) => Some(*b),
            Self::Amf3(v) => v.as_bool(),
            _ => None,
        }
    }

    /// The properties of an `Object`, `EcmaArray` or `TypedObject`.
    ///
    /// `None` for an `Amf3` object, which has no [`AmfObject`]: match `Amf3(v)` and
    /// use [`Amf3Value::as_object`] instead.
    pub fn as_object(&self) -> Option<&AmfObject> {
        match self {
            Self::Object(o) | Self::EcmaArray(o) => Some(o),
            Self::TypedObject { properties, .. } => Some(properties),
            _ => None,
        }
    }

    /// Whether this is `Null` or `Undefined`, or an `Amf3` one.
    pub fn is_null_or_undefined(&self) -> bool {
        match self {
            Self::Null | Self::Undefined => true,
            Self::Amf3(v) => v.is_null_or_undefined(),
            _ => false,
        }
    }
}

impl From<f64> for Amf0Value {
    fn from(n: f64) -> Self {
        Self::Number(n)
    }
}

impl From<u32> for Amf0Value {
    fn from(n: u32) -> Self {
        Self::Number(f64::from(n))
    }
}

impl From<i32> for Amf0Value {
    fn from(n: i32) -> Self {
        Self::Number(f64::from(n))
    }
}

impl From<bool> for Amf0Value {
    fn from(b: bool) -> Self {
        Self::Boolean(b)
    }
}

impl From<&str> for Amf0Value {
    fn from(s: &str) -> Self {
        Self::String(s.to_owned())
    }
}

impl From<String> for Amf0Value {
    fn from(s: String) -> Self {
        Self::String(s)
    }
}

impl From<AmfObject> for Amf0Value {
    fn from(o: AmfObject) -> Self {
        Self::Object(o)
    }
}

impl From<Amf3Value> for Amf0Value {
    fn from(v: Amf3Value) -> Self {
        Self::Amf3(v)
    }
}

/// Ordered key/value pairs (key order kept exactly; duplicates allowed).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AmfObject(pub Vec<(String, Amf0Value)>);

impl AmfObject {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder form of [`AmfObject::insert`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Amf0Value>) -> Self {
        self.insert(key, value);
        self
    }

    /// Replaces the value of the first entry with this key, else appends an entry.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Amf0Value>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key, value)),
        }
    }

    /// The value of the first entry whose key equals `key` exactly.
    pub fn get(&self, key: &str) -> Option<&Amf0Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Like [`AmfObject::get`], falling back to the first ASCII case-insensitive match.
    pub fn get_ignore_case(&self, key: &str) -> Option<&Amf0Value> {
        self.get(key).or_else(|| {
            self.0
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = &(String, Amf0Value)> {
        self.0.iter()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
