//! Bounded, panic-free AMF3 decoding.

use super::super::{AmfError, AmfLimits};
use super::{
    marker, Amf3Object, Amf3Value, ARRAY_COLLECTION, COPY_BYTES_PER_ELEMENT, OBJECT_PROXY,
};

/// Decodes one value with fresh reference tables and advances `input` past it; on
/// error `input` is left untouched.
pub fn decode_value(input: &mut &[u8], limits: &AmfLimits) -> Result<Amf3Value, AmfError> {
    decode_nested(input, limits, &mut 0, 0)
}

/// [`decode_value`] inside AMF0 data: `elements` is the budget spent so far (updated
/// on success) and `depth` the number of containers around the value.
pub(in crate::amf) fn decode_nested(
    input: &mut &[u8],
    limits: &AmfLimits,
    elements: &mut usize,
    depth: usize,
) -> Result<Amf3Value, AmfError> {
    let mut decoder = Decoder {
        input,
        limits: *limits,
        elements: *elements,
        strings: Vec::new(),
        objects: Vec::new(),
        traits: Vec::new(),
        replaying: false,
    };
    let value = decoder.value(depth)?;
    *input = decoder.input;
    *elements = decoder.elements;
    Ok(value)
}

/// What an object header says about the object's members.
#[derive(Clone)]
struct Traits {
    class_name: String,
    sealed: Vec<String>,
    dynamic: bool,
    externalizable: bool,
}

/// Cursor over the input, the budget spent so far and the three reference tables.
struct Decoder<'a> {
    input: &'a [u8],
    limits: AmfLimits,
    elements: usize,
    /// Inline strings seen so far (the empty string is never added).
    strings: Vec<&'a [u8]>,
    /// Complex values seen so far, as their marker and encoded body; `None` while the
    /// value is still being decoded, so a reference to it (a cycle) is rejected.
    objects: Vec<Option<(u8, &'a [u8])>>,
    traits: Vec<Traits>,
    /// Whether a reference is being resolved by decoding its target's body again;
    /// the tables are left unchanged meanwhile.
    replaying: bool,
}

impl<'a> Decoder<'a> {
    /// Decodes one value; `depth` is the number of containers around it.
    fn value(&mut self, depth: usize) -> Result<Amf3Value, AmfError> {
        self.charge(1)?;
        let value = match self.u8()? {
            marker::UNDEFINED => Amf3Value::Undefined,
            marker::NULL => Amf3Value::Null,
            marker::FALSE => Amf3Value::Boolean(false),
            marker::TRUE => Amf3Value::Boolean(true),
            // Sign-extends the 29-bit value.
            marker::INTEGER => Amf3Value::Integer(((self.u29()? << 3) as i32) >> 3),
            marker::DOUBLE => Amf3Value::Double(self.f64()?),
            marker::STRING => Amf3Value::String(self.string()?),
            // Every later marker is kept in the object table.
            complex @ marker::XML_DOCUMENT..=marker::DICTIONARY => self.complex(complex, depth)?,
            other => return Err(AmfError::UnknownMarker(other)),
        };
        Ok(value)
    }

    /// A value kept in the object table: inline, or a reference to an earlier one.
    fn complex(&mut self, marker: u8, depth: usize) -> Result<Amf3Value, AmfError> {
        let start = self.input;
        let header = self.u29()?;
        if header & 1 == 0 {
            return self.replay(header >> 1, depth);
        }
        let index = self.objects.len();
        if !self.replaying {
            self.objects.push(None);
        }
        let value = self.inline(marker, header >> 1, depth)?;
        if !self.replaying {
            let body = start.get(..start.len().saturating_sub(self.input.len()));
            if let Some(slot) = self.objects.get_mut(index) {
                *slot = body.map(|body| (marker, body));
            }
        }
        Ok(value)
    }

    /// Resolves a reference by decoding the body of the complex value at `index` again,
    /// so the copy is charged against the limits like the original was.
    fn replay(&mut self, index: u32, depth: usize) -> Result<Amf3Value, AmfError> {
        let (marker, body) = usize::try_from(index)
            .ok()
            .and_then(|index| self.objects.get(index).copied().flatten())
            .ok_or(AmfError::InvalidReference)?;
        let input = std::mem::replace(&mut self.input, body);
        let replaying = std::mem::replace(&mut self.replaying, true);
        let value = self.complex(marker, depth);
        self.input = input;
        self.replaying = replaying;
        value
    }

    /// The body of an inline complex value; `header` is its U29 without the inline bit.
    fn inline(&mut self, marker: u8, header: u32, depth: usize) -> Result<Amf3Value, AmfError> {
        let len = usize::try_from(header).unwrap_or(usize::MAX);
        let value = match marker {
            marker::XML_DOCUMENT => Amf3Value::XmlDocument(self.text(len)?),
            marker::DATE => Amf3Value::Date(self.f64()?),
            marker::ARRAY => {
                let depth = self.enter(depth)?;
                let assoc = self.members(depth)?;
                let dense = self.values(len, depth)?;
                Amf3Value::Array { assoc, dense }
            }
            marker::OBJECT => self.object(header, depth)?,
            marker::XML => Amf3Value::Xml(self.text(len)?),
            marker::BYTE_ARRAY => Amf3Value::ByteArray(self.bytes(len)?.to_vec()),
            marker::VECTOR_INT => Amf3Value::VectorInt {
                fixed: self.flag()?,
                items: self.numbers(len, i32::from_be_bytes)?,
            },
            marker::VECTOR_UINT => Amf3Value::VectorUint {
                fixed: self.flag()?,
                items: self.numbers(len, u32::from_be_bytes)?,
            },
            marker::VECTOR_DOUBLE => Amf3Value::VectorDouble {
                fixed: self.flag()?,
                items: self.numbers(len, f64::from_be_bytes)?,
            },
            marker::VECTOR_OBJECT => {
                let depth = self.enter(depth)?;
                Amf3Value::VectorObject {
                    fixed: self.flag()?,
                    type_name: self.string()?,
                    items: self.values(len, depth)?,
                }
            }
            marker::DICTIONARY => {
                let depth = self.enter(depth)?;
                let weak_keys = self.flag()?;
                self.check_count(len, 2)?;
                let mut entries = Vec::with_capacity(len);
                for _ in 0..len {
                    entries.push((self.value(depth)?, self.value(depth)?));
                }
                Amf3Value::Dictionary { weak_keys, entries }
            }
            // Not a complex marker: `value` never passes one.
            other => return Err(AmfError::UnknownMarker(other)),
        };
        Ok(value)
    }

    /// An object, or an externalizable wrapper; `header` is its U29 without the inline bit.
    fn object(&mut self, header: u32, depth: usize) -> Result<Amf3Value, AmfError> {
        let traits = self.traits(header)?;
        let depth = self.enter(depth)?;
        if traits.externalizable {
            return match traits.class_name.as_str() {
                ARRAY_COLLECTION => Ok(Amf3Value::ArrayCollection(Box::new(self.value(depth)?))),
                OBJECT_PROXY => Ok(Amf3Value::ObjectProxy(Box::new(self.value(depth)?))),
                _ => Err(AmfError::Externalizable(traits.class_name)),
            };
        }
        self.check_count(traits.sealed.len(), 1)?;
        let mut sealed = Vec::with_capacity(traits.sealed.len());
        for name in traits.sealed {
            sealed.push((name, self.value(depth)?));
        }
        let dynamic = if traits.dynamic {
            self.members(depth)?
        } else {
            Vec::new()
        };
        Ok(Amf3Value::Object(Amf3Object {
            class_name: traits.class_name,
            sealed,
            dynamic,
        }))
    }

    /// The traits an object header describes inline (adding them to the table) or
    /// refers to; `header` is the object's U29 without the inline-object bit.
    fn traits(&mut self, header: u32) -> Result<Traits, AmfError> {
        if header & 1 == 0 {
            let traits = usize::try_from(header >> 1)
                .ok()
                .and_then(|index| self.traits.get(index))
                .cloned()
                .ok_or(AmfError::InvalidReference)?;
            self.charge_copy(traits.class_name.len())?;
            for name in &traits.sealed {
                self.charge_copy(name.len())?;
            }
            return Ok(traits);
        }
        let externalizable = header & 0b10 != 0;
        let dynamic = !externalizable && header & 0b100 != 0;
        let count = if externalizable {
            0
        } else {
            usize::try_from(header >> 3).unwrap_or(usize::MAX)
        };
        let class_name = self.string()?;
        self.check_count(count, 1)?;
        let sealed = (0..count)
            .map(|_| self.string())
            .collect::<Result<Vec<_>, _>>()?;
        let traits = Traits {
            class_name,
            sealed,
            dynamic,
            externalizable,
        };
        if !self.replaying {
            self.traits.push(traits.clone());
        }
        Ok(traits)
    }

    /// The depth of a container opened at `depth`, if allowed.
    fn enter(&self, depth: usize) -> Result<usize, AmfError> {
        let inner = depth.saturating_add(1);
        if inner > self.limits.max_depth {
            return Err(AmfError::TooDeep);
        }
        Ok(inner)
    }

    /// Name/value pairs up to the empty name.
    fn members(&mut self, depth: usize) -> Result<Vec<(String, Amf3Value)>, AmfError> {
        let mut members = Vec::new();
        loop {
            let name = self.string()?;
            if name.is_empty() {
                return Ok(members);
            }
            members.push((name, self.value(depth)?));
        }
    }

    fn values(&mut self, count: usize, depth: usize) -> Result<Vec<Amf3Value>, AmfError> {
        self.check_count(count, 1)?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(self.value(depth)?);
        }
        Ok(items)
    }

    /// `count` big-endian numbers of `N` bytes, each counting as one element.
    fn numbers<const N: usize, T>(
        &mut self,
        count: usize,
        from_bytes: fn([u8; N]) -> T,
    ) -> Result<Vec<T>, AmfError> {
        let bytes = self.take(count.checked_mul(N).ok_or(AmfError::Truncated)?)?;
        self.charge(count)?;
        Ok(bytes
            .chunks_exact(N)
            .filter_map(|chunk| <[u8; N]>::try_from(chunk).ok())
            .map(from_bytes)
            .collect())
    }

    /// Rejects `count` items of at least `size` bytes each, before allocating them,
    /// if the input is too short or the element budget too small for them.
    fn check_count(&self, count: usize, size: usize) -> Result<(), AmfError> {
        match count.checked_mul(size) {
            Some(len) if len <= self.input.len() => {}
            _ => return Err(AmfError::Truncated),
        }
        if count > self.limits.max_elements.saturating_sub(self.elements) {
            return Err(AmfError::TooManyElements);
        }
        Ok(())
    }

    /// Spends `elements` of the budget.
    fn charge(&mut self, elements: usize) -> Result<(), AmfError> {
        self.elements = self.elements.saturating_add(elements);
        if self.elements > self.limits.max_elements {
            return Err(AmfError::TooManyElements);
        }
        Ok(())
    }

    /// Spends the budget for copying a string of `len` bytes through a reference.
    fn charge_copy(&mut self, len: usize) -> Result<(), AmfError> {
        self.charge(len / COPY_BYTES_PER_ELEMENT)
    }

    /// A string: inline (added to the string table unless empty) or a reference.
    fn string(&mut self) -> Result<String, AmfError> {
        let header = self.u29()?;
        let bytes = if header & 1 == 0 {
            let bytes = usize::try_from(header >> 1)
                .ok()
                .and_then(|index| self.strings.get(index).copied())
                .ok_or(AmfError::InvalidReference)?;
            self.charge_copy(bytes.len())?;
            bytes
        } else {
            let bytes = self.bytes(usize::try_from(header >> 1).unwrap_or(usize::MAX))?;
            if !bytes.is_empty() && !self.replaying {
                self.strings.push(bytes);
            }
            bytes
        };
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    /// `len` bytes as text; invalid UTF-8 is replaced, never rejected.
    fn text(&mut self, len: usize) -> Result<String, AmfError> {
        Ok(String::from_utf8_lossy(self.bytes(len)?).into_owned())
    }

    /// `len` bytes of text or `ByteArray` content; while replaying they are a copy.
    fn bytes(&mut self, len: usize) -> Result<&'a [u8], AmfError> {
        let bytes = self.take(len)?;
        if self.replaying {
            self.charge_copy(len)?;
        }
        Ok(bytes)
    }

    /// A variable-length unsigned 29-bit integer: 7 bits in each of up to three bytes
    /// with the high bit set to continue, then 8 bits in a fourth.
    fn u29(&mut self) -> Result<u32, AmfError> {
        let mut value = 0;
        for _ in 0..3 {
            let byte = self.u8()?;
            value = (value << 7) | u32::from(byte & 0x7f);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Ok((value << 8) | u32::from(self.u8()?))
    }

    /// A byte where any nonzero value means true.
    fn flag(&mut self) -> Result<bool, AmfError> {
        Ok(self.u8()? != 0)
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
