//! AMF3 encoding.

use std::collections::HashMap;
use std::hash::Hash;

use bytes::BytesMut;

use super::super::encode::clip;
use super::{
    marker, Amf3Object, Amf3Value, ARRAY_COLLECTION, COPY_BYTES_PER_ELEMENT, INTEGER_RANGE,
    OBJECT_PROXY, U28_MAX,
};

/// Longest string, byte array or item list a U29 length can describe.
const LEN_MAX: usize = U28_MAX as usize;
/// Most sealed members a traits header can describe.
const SEALED_MAX: usize = (1 << 25) - 1;
/// Traits references beyond this index do not fit a U29.
const TRAITS_MAX: u32 = (1 << 27) - 1;

/// Appends the AMF3 encoding of `value` to `out`, with fresh reference tables.
///
/// Repeated strings shorter than 64 bytes, and repeated traits whose strings all are,
/// are written as references; complex values are always written inline. An `Integer`
/// outside -2^28..2^28 is written as a `Double`. An object's traits are dynamic when
/// it is anonymous or has dynamic members. Dynamic members and associative entries
/// with an empty key cannot be written and are skipped. Strings, byte arrays and item
/// lists longer than 2^28 - 1 are truncated (strings at a char boundary), as are
/// sealed members beyond 2^25 - 1.
pub fn encode_value(value: &Amf3Value, out: &mut BytesMut) {
    Encoder::new(out).value(value);
}

/// The exact number of bytes [`encode_value`] writes for `value`.
pub fn encoded_len(value: &Amf3Value) -> usize {
    let mut encoder = Encoder::new(0);
    encoder.value(value);
    encoder.out
}

/// Where encoded bytes go: a buffer, or a count of them.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for &mut BytesMut {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for usize {
    fn put(&mut self, bytes: &[u8]) {
        *self = self.saturating_add(bytes.len());
    }
}

/// What makes two objects' traits the same, so the second can refer to the first.
#[derive(PartialEq, Eq, Hash)]
struct TraitsKey<'v> {
    class_name: &'v str,
    sealed: Vec<&'v str>,
    dynamic: bool,
    externalizable: bool,
}

/// A reference table kept in step with the decoder's: every inline entry takes the
/// next index, and only entries free to copy are remembered for references.
struct Table<K> {
    next: u32,
    max: u32,
    free: HashMap<K, u32>,
}

impl<K: Eq + Hash> Table<K> {
    /// An empty table whose references may carry indices up to `max`.
    fn new(max: u32) -> Self {
        Self {
            next: 0,
            max,
            free: HashMap::new(),
        }
    }

    /// The index of an entry equal to `key` that may be referenced.
    fn get(&self, key: &K) -> Option<u32> {
        self.free.get(key).copied()
    }

    /// Accounts for an entry just written inline; `free` if copying it costs nothing.
    fn add(&mut self, key: K, free: bool) {
        if free && self.next <= self.max {
            self.free.insert(key, self.next);
        }
        self.next = self.next.saturating_add(1);
    }
}

/// Whether the decoder copies a string of `len` bytes through a reference for free.
fn copies_free(len: usize) -> bool {
    len < COPY_BYTES_PER_ELEMENT
}

/// The output plus the string and traits reference tables.
struct Encoder<'v, S> {
    out: S,
    strings: Table<&'v str>,
    traits: Table<TraitsKey<'v>>,
}

impl<'v, S: Sink> Encoder<'v, S> {
    fn new(out: S) -> Self {
        Self {
            out,
            strings: Table::new(U28_MAX),
            traits: Table::new(TRAITS_MAX),
        }
    }

    fn value(&mut self, value: &'v Amf3Value) {
        match value {
            Amf3Value::Undefined => self.u8(marker::UNDEFINED),
            Amf3Value::Null => self.u8(marker::NULL),
            Amf3Value::Boolean(false) => self.u8(marker::FALSE),
            Amf3Value::Boolean(true) => self.u8(marker::TRUE),
            Amf3Value::Integer(n) if INTEGER_RANGE.contains(n) => {
                self.u8(marker::INTEGER);
                self.u29(*n as u32 & 0x1fff_ffff); // the low 29 bits of two's complement
            }
            Amf3Value::Integer(n) => self.double(f64::from(*n)),
            Amf3Value::Double(n) => self.double(*n),
            Amf3Value::String(s) => {
                self.u8(marker::STRING);
                self.string(s);
            }
            Amf3Value::XmlDocument(s) => self.text(marker::XML_DOCUMENT, s),
            Amf3Value::Date(millis) => {
                self.u8(marker::DATE);
                self.u29(1);
                self.out.put(&millis.to_be_bytes());
            }
            Amf3Value::Array { assoc, dense } => {
                let dense = clip_items(dense, LEN_MAX);
                self.header(marker::ARRAY, dense.len());
                self.members(assoc);
                for item in dense {
                    self.value(item);
                }
            }
            Amf3Value::Object(object) => {
                self.u8(marker::OBJECT);
                self.object(object);
            }
            Amf3Value::Xml(s) => self.text(marker::XML, s),
            Amf3Value::ByteArray(bytes) => {
                let bytes = clip_items(bytes, LEN_MAX);
                self.header(marker::BYTE_ARRAY, bytes.len());
                self.out.put(bytes);
            }
            Amf3Value::VectorInt { fixed, items } => {
                self.numbers(marker::VECTOR_INT, *fixed, items, i32::to_be_bytes);
            }
            Amf3Value::VectorUint { fixed, items } => {
                self.numbers(marker::VECTOR_UINT, *fixed, items, u32::to_be_bytes);
            }
            Amf3Value::VectorDouble { fixed, items } => {
                self.numbers(marker::VECTOR_DOUBLE, *fixed, items, f64::to_be_bytes);
            }
            Amf3Value::VectorObject {
                fixed,
                type_name,
                items,
            } => {
                let items = clip_items(items, LEN_MAX);
                self.header(marker::VECTOR_OBJECT, items.len());
                self.u8(u8::from(*fixed));
                self.string(type_name);
                for item in items {
                    self.value(item);
                }
            }
            Amf3Value::Dictionary { weak_keys, entries } => {
                let entries = clip_items(entries, LEN_MAX);
                self.header(marker::DICTIONARY, entries.len());
                self.u8(u8::from(*weak_keys));
                for (key, value) in entries {
                    self.value(key);
                    self.value(value);
                }
            }
            Amf3Value::ArrayCollection(inner) => self.externalizable(ARRAY_COLLECTION, inner),
            Amf3Value::ObjectProxy(inner) => self.externalizable(OBJECT_PROXY, inner),
        }
    }

    /// An object's header, traits and members (after its marker).
    fn object(&mut self, object: &'v Amf3Object) {
        let sealed = clip_items(&object.sealed, SEALED_MAX);
        let dynamic = object.class_name.is_empty() || !object.dynamic.is_empty();
        let traits = TraitsKey {
            class_name: &object.class_name,
            sealed: sealed.iter().map(|(name, _)| name.as_str()).collect(),
            dynamic,
            externalizable: false,
        };
        // Inline object and traits, the dynamic flag, then the sealed count (fits:
        // clipped to SEALED_MAX).
        let header = (sealed.len() as u32) << 4 | u32::from(dynamic) << 3 | 0b011;
        self.traits(traits, header);
        for (_, value) in sealed {
            self.value(value);
        }
        if dynamic {
            self.members(&object.dynamic);
        }
    }

    /// An externalizable object whose body is one value.
    fn externalizable(&mut self, class_name: &'v str, inner: &'v Amf3Value) {
        self.u8(marker::OBJECT);
        let traits = TraitsKey {
            class_name,
            sealed: Vec::new(),
            dynamic: false,
            externalizable: true,
        };
        self.traits(traits, 0b111);
        self.value(inner);
    }

    /// A reference to traits written before, else `header` and the traits themselves.
    fn traits(&mut self, traits: TraitsKey<'v>, header: u32) {
        if let Some(index) = self.traits.get(&traits) {
            return self.u29(index << 2 | 0b01);
        }
        self.u29(header);
        self.string(traits.class_name);
        for name in &traits.sealed {
            self.string(name);
        }
        let free = copies_free(traits.class_name.len())
            && traits.sealed.iter().all(|name| copies_free(name.len()));
        self.traits.add(traits, free);
    }

    /// Name/value pairs with non-empty names, then the empty name that ends them.
    fn members(&mut self, members: &'v [(String, Amf3Value)]) {
        for (name, value) in members.iter().filter(|(name, _)| !name.is_empty()) {
            self.string(name);
            self.value(value);
        }
        self.string("");
    }

    /// A vector of fixed-size numbers.
    fn numbers<T: Copy, const N: usize>(
        &mut self,
        marker: u8,
        fixed: bool,
        items: &[T],
        to_bytes: fn(T) -> [u8; N],
    ) {
        let items = clip_items(items, LEN_MAX);
        self.header(marker, items.len());
        self.u8(u8::from(fixed));
        for item in items {
            self.out.put(&to_bytes(*item));
        }
    }

    /// A reference to a string written before, else the string inline (added to the
    /// table unless empty).
    fn string(&mut self, s: &'v str) {
        let s = clip(s, LEN_MAX);
        if let Some(index) = self.strings.get(&s) {
            return self.u29(index << 1);
        }
        if !s.is_empty() {
            self.strings.add(s, copies_free(s.len()));
        }
        self.length(s.len());
        self.out.put(s.as_bytes());
    }

    /// XML or an XML document: never a string reference.
    fn text(&mut self, marker: u8, s: &str) {
        let s = clip(s, LEN_MAX);
        self.header(marker, s.len());
        self.out.put(s.as_bytes());
    }

    fn double(&mut self, n: f64) {
        self.u8(marker::DOUBLE);
        self.out.put(&n.to_be_bytes());
    }

    /// A complex value's marker and inline header carrying `len`.
    fn header(&mut self, marker: u8, len: usize) {
        self.u8(marker);
        self.length(len);
    }

    /// An inline U29 carrying `len` (at most 2^28 - 1: callers clip to `LEN_MAX`).
    fn length(&mut self, len: usize) {
        let len = u32::try_from(len).unwrap_or(U28_MAX).min(U28_MAX);
        self.u29(len << 1 | 1);
    }

    /// `n` (below 2^29) in one to four bytes; see the decoder's `u29`.
    fn u29(&mut self, n: u32) {
        let more = |shift: u32| (n >> shift & 0x7f) as u8 | 0x80;
        let last = (n & 0x7f) as u8;
        match n {
            0..=0x7f => self.out.put(&[last]),
            0x80..=0x3fff => self.out.put(&[more(7), last]),
            0x4000..=0x1f_ffff => self.out.put(&[more(14), more(7), last]),
            _ => self.out.put(&[more(22), more(15), more(8), n as u8]),
        }
    }

    fn u8(&mut self, byte: u8) {
        self.out.put(&[byte]);
    }
}

/// The first `max` items.
fn clip_items<T>(items: &[T], max: usize) -> &[T] {
    items.get(..max).unwrap_or(items)
}
