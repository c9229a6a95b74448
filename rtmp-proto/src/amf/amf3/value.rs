//! The AMF3 value model.

/// One AMF3 value.
///
/// References are resolved by the decoder, so the model holds no reference variant:
/// a value referenced twice on the wire appears twice here.
#[derive(Debug, Clone, PartialEq)]
pub enum Amf3Value {
    /// Undefined (marker 0x00).
    Undefined,
    /// Null (marker 0x01).
    Null,
    /// Boolean (markers 0x02 false and 0x03 true).
    Boolean(bool),
    /// Signed 29-bit integer (marker 0x04); the encoder writes values outside
    /// -2^28..2^28 as a `Double`.
    Integer(i32),
    /// IEEE 754 double (marker 0x05).
    Double(f64),
    /// UTF-8 string (marker 0x06).
    String(String),
    /// Legacy `flash.xml.XMLDocument` as text (marker 0x07).
    XmlDocument(String),
    /// Date as milliseconds since the Unix epoch, UTC (marker 0x08).
    Date(f64),
    /// Array with an associative part and a dense part (marker 0x09).
    Array {
        /// Named entries, in wire order; keys are never empty.
        assoc: Vec<(String, Amf3Value)>,
        /// Entries with indices 0, 1, 2, ...
        dense: Vec<Amf3Value>,
    },
    /// Object with sealed and dynamic members (marker 0x0A).
    Object(Amf3Object),
    /// E4X `XML` as text (marker 0x0B).
    Xml(String),
    /// Raw bytes (marker 0x0C).
    ByteArray(Vec<u8>),
    /// `Vector.<int>` (marker 0x0D).
    VectorInt {
        /// Whether the vector has a fixed length.
        fixed: bool,
        /// The items.
        items: Vec<i32>,
    },
    /// `Vector.<uint>` (marker 0x0E).
    VectorUint {
        /// Whether the vector has a fixed length.
        fixed: bool,
        /// The items.
        items: Vec<u32>,
    },
    /// `Vector.<Number>` (marker 0x0F).
    VectorDouble {
        /// Whether the vector has a fixed length.
        fixed: bool,
        /// The items.
        items: Vec<f64>,
    },
    /// `Vector.<T>` for an object type `T` (marker 0x10).
    VectorObject {
        /// Whether the vector has a fixed length.
        fixed: bool,
        /// The item type's class alias; `*` (or empty) for any type.
        type_name: String,
        /// The items.
        items: Vec<Amf3Value>,
    },
    /// `flash.utils.Dictionary` (marker 0x11).
    Dictionary {
        /// Whether the dictionary holds its keys weakly.
        weak_keys: bool,
        /// Key/value pairs in wire order.
        entries: Vec<(Amf3Value, Amf3Value)>,
    },
    /// Externalizable `flex.messaging.io.ArrayCollection` wrapping one value
    /// (normally an `Array`).
    ArrayCollection(Box<Amf3Value>),
    /// Externalizable `flex.messaging.io.ObjectProxy` wrapping one value
    /// (normally an `Object`).
    ObjectProxy(Box<Amf3Value>),
}

impl Amf3Value {
    /// The text of a `String`, `XmlDocument` or `Xml`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) | Self::XmlDocument(s) | Self::Xml(s) => Some(s),
            _ => None,
        }
    }

    /// The value of an `Integer` or `Double`.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Self::Integer(n) => Some(f64::from(*n)),
            Self::Double(n) => Some(*n),
            _ => None,
        }
    }

    /// The value of a `Boolean`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// The object of an `Object`.
    pub fn as_object(&self) -> Option<&Amf3Object> {
        match self {
            Self::Object(o) => Some(o),
            _ => None,
        }
    }

    /// Whether this is `Null` or `Undefined`.
    pub fn is_null_or_undefined(&self) -> bool {
        matches!(self, Self::Null | Self::Undefined)
    }
}

impl From<f64> for Amf3Value {
    fn from(n: f64) -> Self {
        Self::Double(n)
    }
}

impl From<i32> for Amf3Value {
    fn from(n: i32) -> Self {
        Self::Integer(n)
    }
}

impl From<bool> for Amf3Value {
    fn from(b: bool) -> Self {
        Self::Boolean(b)
    }
}

impl From<&str> for Amf3Value {
    fn from(s: &str) -> Self {
        Self::String(s.to_owned())
    }
}

impl From<String> for Amf3Value {
    fn from(s: String) -> Self {
        Self::String(s)
    }
}

impl From<Amf3Object> for Amf3Value {
    fn from(o: Amf3Object) -> Self {
        Self::Object(o)
    }
}

/// An AMF3 object: a class alias plus sealed and dynamic members, in order.
///
/// The encoder marks an object's traits dynamic when it is anonymous or has dynamic
/// members, as Flash Player does; the decoder does not keep the flag.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Amf3Object {
    /// The registered class alias; empty for an anonymous object.
    pub class_name: String,
    /// Members declared by the class, in traits order.
    pub sealed: Vec<(String, Amf3Value)>,
    /// Members added at run time; keys are never empty.
    pub dynamic: Vec<(String, Amf3Value)>,
}

impl Amf3Object {
    /// The value of the first sealed, else dynamic, member named exactly `key`.
    pub fn get(&self, key: &str) -> Option<&Amf3Value> {
        self.sealed
            .iter()
            .chain(&self.dynamic)
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}
