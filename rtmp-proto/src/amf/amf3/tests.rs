use bytes::BytesMut;
use proptest::prelude::*;

use super::super::{AmfError, AmfLimits};
use super::*;

fn limits() -> AmfLimits {
    AmfLimits::default()
}

fn encode(value: &Amf3Value) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_value(value, &mut out);
    out.to_vec()
}

fn decode(bytes: &[u8]) -> Result<Amf3Value, AmfError> {
    decode_with(bytes, &limits())
}

/// Decodes one value that must span all of `bytes`.
fn decode_with(bytes: &[u8], limits: &AmfLimits) -> Result<Amf3Value, AmfError> {
    let mut input = bytes;
    let value = decode_value(&mut input, limits)?;
    assert!(input.is_empty(), "{} bytes left over", input.len());
    Ok(value)
}

/// Encodes to exactly `bytes` (as `encoded_len` predicts) and decodes back.
fn assert_wire(bytes: &[u8], value: Amf3Value) {
    assert_eq!(encode(&value), bytes, "encoding {value:?}");
    assert_eq!(encoded_len(&value), bytes.len(), "encoded_len of {value:?}");
    assert_eq!(decode(bytes), Ok(value));
}

fn anonymous(members: &[(&str, Amf3Value)]) -> Amf3Value {
    Amf3Value::Object(Amf3Object {
        dynamic: members
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        ..Amf3Object::default()
    })
}

fn point(x: i32) -> Amf3Value {
    Amf3Value::Object(Amf3Object {
        class_name: "Pt".into(),
        sealed: vec![("x".into(), x.into())],
        dynamic: Vec::new(),
    })
}

fn dense(items: Vec<Amf3Value>) -> Amf3Value {
    Amf3Value::Array {
        assoc: Vec::new(),
        dense: items,
    }
}

/// An inline U29 header or length, for building inputs.
fn u29(n: u32) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_value(&Amf3Value::Integer(n as i32), &mut out);
    out[1..].to_vec()
}

#[test]
fn integers_use_one_to_four_bytes_at_u29_boundaries() {
    for (n, bytes) in [
        (0, b"\x00".as_slice()),
        (0x7f, b"\x7f"),
        (0x80, b"\x81\x00"),
        (0x3fff, b"\xff\x7f"),
        (0x4000, b"\x81\x80\x00"),
        (0x1f_ffff, b"\xff\xff\x7f"),
        (0x20_0000, b"\x80\xc0\x80\x00"),
        (0x0fff_ffff, b"\xbf\xff\xff\xff"),
        (-1, b"\xff\xff\xff\xff"),
        (-2, b"\xff\xff\xff\xfe"),
        (-0x1000_0000, b"\xc0\x80\x80\x00"),
    ] {
        assert_wire(&[b"\x04".as_slice(), bytes].concat(), Amf3Value::Integer(n));
    }
}

#[test]
fn integers_beyond_29_bits_are_written_as_doubles() {
    for n in [0x1000_0000, -0x1000_0001, i32::MAX, i32::MIN] {
        let bytes = encode(&Amf3Value::Integer(n));
        assert_eq!(
            bytes,
            [b"\x05".as_slice(), &f64::from(n).to_be_bytes()].concat()
        );
        assert_eq!(decode(&bytes), Ok(Amf3Value::Double(f64::from(n))));
    }
}

#[test]
fn simple_markers_round_trip_through_hand_written_bytes() {
    assert_wire(b"\x00", Amf3Value::Undefined);
    assert_wire(b"\x01", Amf3Value::Null);
    assert_wire(b"\x02", false.into());
    assert_wire(b"\x03", true.into());
    assert_wire(b"\x05\x3f\xf8\x00\x00\x00\x00\x00\x00", 1.5.into());
    assert_wire(b"\x06\x0bhello", "hello".into());
    assert_wire(b"\x06\x01", "".into());
    assert_wire(b"\x07\x09<a/>", Amf3Value::XmlDocument("<a/>".into()));
    assert_wire(b"\x0b\x09<b/>", Amf3Value::Xml("<b/>".into()));
    assert_wire(
        b"\x08\x01\x40\x90\x00\x00\x00\x00\x00\x00",
        Amf3Value::Date(1024.0),
    );
    assert_wire(b"\x0c\x07\x01\x02\x03", Amf3Value::ByteArray(vec![1, 2, 3]));
}

#[test]
fn repeated_strings_are_references_and_the_empty_string_never_is() {
    assert_wire(
        b"\x09\x05\x01\x06\x05hi\x06\x00",
        dense(vec!["hi".into(), "hi".into()]),
    );
    assert_wire(
        b"\x09\x09\x01\x06\x01\x06\x01\x06\x03a\x06\x00",
        dense(vec!["".into(), "".into(), "a".into(), "a".into()]),
    );
    // Keys and class names share the table with string values.
    assert_wire(
        b"\x0a\x0b\x01\x03a\x06\x00\x01",
        anonymous(&[("a", "a".into())]),
    );
}

#[test]
fn strings_of_64_bytes_or_more_are_repeated_inline_but_keep_their_index() {
    let long = "x".repeat(64);
    let long_inline = [b"\x06\x81\x01".as_slice(), long.as_bytes()].concat();
    let bytes = [
        b"\x09\x09\x01".as_slice(),
        &long_inline,
        &long_inline,
        b"\x06\x03a\x06\x04", // "a" is string 2
    ]
    .concat();
    let value = dense(vec![
        long.as_str().into(),
        long.as_str().into(),
        "a".into(),
        "a".into(),
    ]);
    assert_wire(&bytes, value);
    assert_eq!(
        encode(&dense(vec![long.as_str().into(); 2]))[3..6],
        [0x06, 0x81, 0x01]
    );
    // A reference to a long string is accepted, and charged.
    assert_eq!(
        decode(&[b"\x09\x05\x01".as_slice(), &long_inline, b"\x06\x00"].concat()),
        Ok(dense(vec![long.as_str().into(); 2]))
    );
}

#[test]
fn traits_with_a_long_name_are_repeated_inline_but_keep_their_index() {
    let long = "n".repeat(64);
    let object = |class: &str, name: &str| {
        Amf3Value::Object(Amf3Object {
            class_name: class.into(),
            sealed: vec![(name.into(), Amf3Value::Null)],
            dynamic: Vec::new(),
        })
    };
    let value = dense(vec![
        object("A", &long),
        object("A", &long),
        object("B", "b"),
        object("B", "b"),
    ]);
    let bytes = encode(&value);
    // Class "A" is string 0; the name is written again.
    let second = [b"\x0a\x13\x00\x81\x01".as_slice(), long.as_bytes()].concat();
    let fourth = b"\x0a\x09\x01"; // traits 2
    assert!(bytes.windows(second.len()).any(|w| w == second));
    assert!(bytes.ends_with(fourth));
    assert_eq!(decode(&bytes), Ok(value));
}

#[test]
fn re_encoding_never_costs_more_than_the_original() {
    // Five inline copies of a 640-byte string: six values. As references they would
    // cost ten more elements each.
    let tight = AmfLimits {
        max_elements: 6,
        ..limits()
    };
    let text = "t".repeat(640);
    let inline = [b"\x06".as_slice(), &u29(640 << 1 | 1), text.as_bytes()].concat();
    let bytes = [b"\x09\x0b\x01".as_slice(), &inline.repeat(5)].concat();
    let value = decode_with(&bytes, &tight).unwrap();
    assert_eq!(decode_with(&encode(&value), &tight), Ok(value));
}

#[test]
fn second_object_of_a_class_refers_to_its_traits() {
    assert_wire(
        b"\x09\x05\x01\x0a\x13\x05Pt\x03x\x04\x01\x0a\x01\x04\x02",
        dense(vec![point(1), point(2)]),
    );
}

#[test]
fn object_references_are_resolved_to_copies() {
    let object = anonymous(&[("a", 1.into())]);
    // The array is object 0, the inline object 1.
    let bytes = b"\x09\x05\x01\x0a\x0b\x01\x03a\x04\x01\x01\x0a\x02";
    assert_eq!(
        decode(bytes),
        Ok(dense(vec![object.clone(), object.clone()]))
    );
    // The marker of a reference does not matter: the table is shared.
    let bytes = b"\x09\x05\x01\x0a\x0b\x01\x03a\x04\x01\x01\x09\x02";
    assert_eq!(decode(bytes), Ok(dense(vec![object.clone(), object])));
    let bytes = b"\x09\x05\x01\x0c\x03\x07\x0c\x02";
    let bytes_value = Amf3Value::ByteArray(vec![7]);
    assert_eq!(
        decode(bytes),
        Ok(dense(vec![bytes_value.clone(), bytes_value]))
    );
}

#[test]
fn bad_references_are_rejected() {
    for bytes in [
        b"\x06\x00".as_slice(),           // no strings yet
        b"\x09\x00",                      // no objects yet
        b"\x0a\x05\x01",                  // no traits yet
        b"\x0a\x0b\x01\x03a\x0a\x00\x01", // the object refers to itself
        b"\x09\x03\x01\x09\x00",          // the array contains itself
    ] {
        assert_eq!(
            decode(bytes),
            Err(AmfError::InvalidReference),
            "{bytes:02x?}"
        );
    }
}

#[test]
fn dynamic_anonymous_object() {
    let value = anonymous(&[("a", 1.into()), ("b", "x".into())]);
    assert_wire(
        b"\x0a\x0b\x01\x03a\x04\x01\x03b\x06\x03x\x01",
        value.clone(),
    );
    assert_eq!(
        value
            .as_object()
            .and_then(|o| o.get("b"))
            .and_then(Amf3Value::as_str),
        Some("x")
    );
    assert_wire(b"\x0a\x0b\x01\x01", Amf3Object::default().into());
}

#[test]
fn typed_object_with_sealed_and_dynamic_members() {
    let value = Amf3Value::Object(Amf3Object {
        class_name: "C".into(),
        sealed: vec![("s".into(), Amf3Value::Null)],
        dynamic: vec![("d".into(), true.into())],
    });
    assert_wire(b"\x0a\x1b\x03C\x03s\x01\x03d\x03\x01", value);
    // A dynamic member with an empty name cannot be written.
    let value = anonymous(&[("", 1.into()), ("k", 2.into())]);
    assert_eq!(encode(&value), b"\x0a\x0b\x01\x03k\x04\x02\x01");
}

#[test]
fn array_with_associative_and_dense_parts() {
    assert_wire(
        b"\x09\x05\x03k\x01\x01\x03\x04\x01",
        Amf3Value::Array {
            assoc: vec![("k".into(), Amf3Value::Null)],
            dense: vec![true.into(), 1.into()],
        },
    );
}

#[test]
fn vectors_and_dictionary() {
    assert_wire(
        b"\x0d\x05\x00\x00\x00\x00\x01\xff\xff\xff\xff",
        Amf3Value::VectorInt {
            fixed: false,
            items: vec![1, -1],
        },
    );
    assert_wire(
        b"\x0e\x03\x01\xff\xff\xff\xff",
        Amf3Value::VectorUint {
            fixed: true,
            items: vec![u32::MAX],
        },
    );
    assert_wire(
        b"\x0f\x03\x00\x3f\xf8\x00\x00\x00\x00\x00\x00",
        Amf3Value::VectorDouble {
            fixed: false,
            items: vec![1.5],
        },
    );
    assert_wire(
        b"\x10\x05\x00\x03*\x0a\x0b\x01\x01\x01",
        Amf3Value::VectorObject {
            fixed: false,
            type_name: "*".into(),
            items: vec![Amf3Object::default().into(), Amf3Value::Null],
        },
    );
    assert_wire(
        b"\x11\x05\x01\x06\x03k\x04\x01\x04\x02\x03",
        Amf3Value::Dictionary {
            weak_keys: true,
            entries: vec![("k".into(), 1.into()), (2.into(), true.into())],
        },
    );
}

#[test]
fn array_collection_and_object_proxy_wrap_one_value() {
    let collection = Amf3Value::ArrayCollection(Box::new(dense(vec![1.into()])));
    let bytes = [
        b"\x09\x05\x01\x0a\x07".as_slice(),
        &u29(33 << 1 | 1),
        ARRAY_COLLECTION.as_bytes(),
        b"\x09\x03\x01\x04\x01",
        b"\x0a\x01\x09\x03\x01\x04\x01", // the traits are referenced the second time
    ]
    .concat();
    assert_wire(&bytes, dense(vec![collection.clone(), collection]));

    let proxy = Amf3Value::ObjectProxy(Box::new(anonymous(&[("a", Amf3Value::Null)])));
    let bytes = [
        b"\x0a\x07".as_slice(),
        &u29(29 << 1 | 1),
        OBJECT_PROXY.as_bytes(),
        b"\x0a\x0b\x01\x03a\x01\x01",
    ]
    .concat();
    assert_wire(&bytes, proxy);
}

#[test]
fn other_externalizable_classes_are_rejected() {
    assert_eq!(
        decode(b"\x0a\x07\x07Foo\x01\x02\x03"),
        Err(AmfError::Externalizable("Foo".into()))
    );
}

#[test]
fn invalid_utf8_is_decoded_lossily_and_any_nonzero_flag_is_true() {
    assert_eq!(decode(b"\x06\x05a\xff"), Ok("a\u{fffd}".into()));
    assert_eq!(
        decode(b"\x0d\x01\x07"),
        Ok(Amf3Value::VectorInt {
            fixed: true,
            items: Vec::new()
        })
    );
}

#[test]
fn unknown_markers_are_rejected() {
    for marker in [0x12, 0x13, 0xff] {
        assert_eq!(decode(&[marker]), Err(AmfError::UnknownMarker(marker)));
    }
}

#[test]
fn decode_value_advances_past_one_value_and_keeps_input_on_error() {
    let mut input: &[u8] = b"\x04\x01\x01";
    assert_eq!(decode_value(&mut input, &limits()), Ok(1.into()));
    assert_eq!(input, b"\x01");
    let mut input: &[u8] = b"\x06\x05h";
    assert_eq!(
        decode_value(&mut input, &limits()),
        Err(AmfError::Truncated)
    );
    assert_eq!(input, b"\x06\x05h");
}

fn complex_value() -> Amf3Value {
    Amf3Value::Array {
        assoc: vec![("meta".into(), anonymous(&[("when", Amf3Value::Date(5.0))]))],
        dense: vec![
            point(1),
            point(-300),
            Amf3Value::Xml("<x/>".into()),
            Amf3Value::ByteArray(vec![0; 3]),
            Amf3Value::VectorDouble {
                fixed: true,
                items: vec![0.5, 2.0],
            },
            Amf3Value::Dictionary {
                weak_keys: false,
                entries: vec![(point(3), "meta".into())],
            },
            Amf3Value::ArrayCollection(Box::new(dense(vec!["x".into(), 70_000.into()]))),
        ],
    }
}

#[test]
fn every_strict_prefix_is_truncated() {
    let bytes = encode(&complex_value());
    assert_eq!(decode(&bytes), Ok(complex_value()));
    for cut in 0..bytes.len() {
        let mut input = &bytes[..cut];
        assert_eq!(
            decode_value(&mut input, &limits()),
            Err(AmfError::Truncated),
            "prefix of {cut} bytes"
        );
    }
}

#[test]
fn huge_counts_are_rejected_before_allocating() {
    for bytes in [
        b"\x09\xff\xff\xff\xff\x01".as_slice(),
        b"\x0a\x8f\xff\xff\xfb\x01",
        b"\x0c\xff\xff\xff\xff",
        b"\x0d\xff\xff\xff\xff\x00",
        b"\x0f\xff\xff\xff\xff\x00",
        b"\x10\xff\xff\xff\xff\x00\x01",
        b"\x11\xff\xff\xff\xff\x00",
        b"\x06\xff\xff\xff\xff",
    ] {
        assert_eq!(decode(bytes), Err(AmfError::Truncated), "{bytes:02x?}");
    }
}

/// Array `levels` holds `fan_out` nulls; each later one holds `fan_out` references
/// to the one before, all inside an outer array (object 0).
fn reference_bomb(levels: u32, fan_out: u32) -> Vec<u8> {
    let mut bytes = [b"\x09".as_slice(), &u29(levels << 1 | 1), b"\x01"].concat();
    for level in 0..levels {
        bytes.extend([0x09]);
        bytes.extend(u29(fan_out << 1 | 1));
        bytes.push(0x01);
        for _ in 0..fan_out {
            if level == 0 {
                bytes.push(0x01);
            } else {
                bytes.push(0x09);
                bytes.extend(u29(level << 1)); // the previous level is object `level`
            }
        }
    }
    bytes
}

#[test]
fn reference_bombs_run_out_of_elements() {
    assert!(decode(&reference_bomb(3, 10)).is_ok());
    assert_eq!(
        decode(&reference_bomb(30, 10)),
        Err(AmfError::TooManyElements)
    );
    let unlimited = AmfLimits {
        max_elements: usize::MAX,
        ..limits()
    };
    let tight = AmfLimits {
        max_elements: 1_000,
        ..limits()
    };
    // Outer 1, level 0: 1 + 3, level 1: 1 + 3 * 4, level 2: 1 + 3 * 13; 58 in all.
    assert!(decode_with(
        &reference_bomb(3, 3),
        &AmfLimits {
            max_elements: 58,
            ..limits()
        }
    )
    .is_ok());
    assert_eq!(
        decode_with(
            &reference_bomb(3, 3),
            &AmfLimits {
                max_elements: 57,
                ..limits()
            }
        ),
        Err(AmfError::TooManyElements)
    );
    assert_eq!(
        decode_with(&reference_bomb(8, 8), &tight),
        Err(AmfError::TooManyElements)
    );
    assert!(decode_with(&reference_bomb(4, 8), &unlimited).is_ok());
}

#[test]
fn copied_text_counts_against_the_element_budget() {
    let text = "x".repeat(64_000);
    // One long string, then 100 references to it: each costs 1 + 1000 elements.
    let strings = [
        b"\x09".as_slice(),
        &u29(101 << 1 | 1),
        b"\x01\x06",
        &u29(64_000 << 1 | 1),
        text.as_bytes(),
        &b"\x06\x00".repeat(100),
    ]
    .concat();
    assert_eq!(decode(&strings), Err(AmfError::TooManyElements));
    let generous = AmfLimits {
        max_elements: 102 + 100_000,
        ..limits()
    };
    assert!(decode_with(&strings, &generous).is_ok());

    // The same with a byte array copied through object references.
    let bytes = [
        b"\x09".as_slice(),
        &u29(101 << 1 | 1),
        b"\x01\x0c",
        &u29(64_000 << 1 | 1),
        &[0; 64_000],
        &b"\x0c\x02".repeat(100),
    ]
    .concat();
    assert_eq!(decode(&bytes), Err(AmfError::TooManyElements));

    // And with long member names copied through a traits reference.
    let mut names = [b"\x09".as_slice(), &u29(101 << 1 | 1), b"\x01\x0a\x13\x03C"].concat();
    names.extend(u29(64_000 << 1 | 1));
    names.extend(text.as_bytes());
    names.push(0x01);
    names.extend(b"\x0a\x01\x01".repeat(100));
    assert_eq!(decode(&names), Err(AmfError::TooManyElements));
}

fn nested_arrays(depth: usize) -> Vec<u8> {
    let mut value = Amf3Value::Null;
    for _ in 0..depth {
        value = dense(vec![value]);
    }
    encode(&value)
}

#[test]
fn nesting_beyond_max_depth_is_too_deep() {
    assert!(decode(&nested_arrays(32)).is_ok());
    assert_eq!(decode(&nested_arrays(33)), Err(AmfError::TooDeep));
    let shallow = AmfLimits {
        max_depth: 1,
        ..limits()
    };
    for bytes in [
        b"\x0a\x0b\x01\x03a\x09\x01\x01".as_slice(),
        b"\x10\x03\x00\x01\x11\x01\x00",
        b"\x11\x03\x00\x01\x0a\x0b\x01\x01",
    ] {
        assert_eq!(
            decode_with(bytes, &shallow),
            Err(AmfError::TooDeep),
            "{bytes:02x?}"
        );
    }
    let collection = encode(&Amf3Value::ArrayCollection(Box::new(dense(Vec::new()))));
    assert_eq!(decode_with(&collection, &shallow), Err(AmfError::TooDeep));
    // Vectors of numbers hold no values that could nest.
    let vector = b"\x09\x03\x01\x0d\x03\x00\x00\x00\x00\x01";
    assert!(decode_with(vector, &shallow).is_ok());
}

#[test]
fn references_cannot_nest_deeper_than_max_depth() {
    // [a31, [ref a31]]: the copy sits one level deeper than the original.
    let mut a31 = Amf3Value::Null;
    for _ in 0..31 {
        a31 = dense(vec![a31]);
    }
    let bytes = [
        b"\x09\x05\x01".as_slice(),
        &encode(&a31),
        b"\x09\x03\x01\x09\x02",
    ]
    .concat();
    assert_eq!(decode(&bytes), Err(AmfError::TooDeep));
    let bytes = [b"\x09\x05\x01".as_slice(), &encode(&a31), b"\x09\x02"].concat();
    assert_eq!(decode(&bytes), Ok(dense(vec![a31.clone(), a31])));
}

#[test]
fn hostile_megabyte_of_containers_does_not_overflow_the_stack() {
    for unit in [
        b"\x09\x03\x01".as_slice(),
        b"\x0a\x0b\x01\x03a",
        b"\x11\x03\x00",
    ] {
        let bytes = unit.repeat((1 << 20) / unit.len());
        assert_eq!(decode(&bytes), Err(AmfError::TooDeep), "{unit:02x?}");
    }
}

#[test]
fn accessors() {
    assert_eq!(Amf3Value::Integer(3).as_number(), Some(3.0));
    assert_eq!(Amf3Value::Double(0.5).as_number(), Some(0.5));
    assert_eq!(Amf3Value::Xml("x".into()).as_str(), Some("x"));
    assert_eq!(Amf3Value::XmlDocument("d".into()).as_str(), Some("d"));
    assert_eq!(Amf3Value::from(true).as_bool(), Some(true));
    assert_eq!(Amf3Value::from(String::from("s")).as_number(), None);
    assert!(Amf3Value::Undefined.is_null_or_undefined());
    assert!(!Amf3Value::Integer(0).is_null_or_undefined());
    let object = Amf3Object {
        class_name: "C".into(),
        sealed: vec![("k".into(), 1.into())],
        dynamic: vec![("k".into(), 2.into()), ("d".into(), 3.into())],
    };
    assert_eq!(object.get("k"), Some(&Amf3Value::Integer(1)));
    assert_eq!(object.get("d"), Some(&Amf3Value::Integer(3)));
    assert_eq!(object.get("K"), None);
}

fn number() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("NaN never equals itself", |n| !n.is_nan())
}

fn integer() -> impl Strategy<Value = i32> {
    INTEGER_RANGE
}

/// Member names from a small alphabet, so that strings and traits repeat; never empty.
const KEY: &str = "[abé]{1,3}";

/// Any value the encoder writes without loss, nested at most four deep.
pub(in crate::amf) fn arb_value() -> impl Strategy<Value = Amf3Value> {
    let leaf = prop_oneof![
        Just(Amf3Value::Undefined),
        Just(Amf3Value::Null),
        any::<bool>().prop_map(Amf3Value::Boolean),
        integer().prop_map(Amf3Value::Integer),
        number().prop_map(Amf3Value::Double),
        "[ab]{0,2}|.{0,12}".prop_map(Amf3Value::String),
        ".{0,12}".prop_map(Amf3Value::XmlDocument),
        number().prop_map(Amf3Value::Date),
        ".{0,12}".prop_map(Amf3Value::Xml),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Amf3Value::ByteArray),
        (any::<bool>(), prop::collection::vec(any::<i32>(), 0..4))
            .prop_map(|(fixed, items)| Amf3Value::VectorInt { fixed, items }),
        (any::<bool>(), prop::collection::vec(any::<u32>(), 0..4))
            .prop_map(|(fixed, items)| Amf3Value::VectorUint { fixed, items }),
        (any::<bool>(), prop::collection::vec(number(), 0..4))
            .prop_map(|(fixed, items)| Amf3Value::VectorDouble { fixed, items }),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        let members = prop::collection::vec((KEY, inner.clone()), 0..4);
        let sealed = prop::collection::vec(("[ab]{0,2}", inner.clone()), 0..3);
        prop_oneof![
            (members.clone(), prop::collection::vec(inner.clone(), 0..4))
                .prop_map(|(assoc, dense)| Amf3Value::Array { assoc, dense }),
            ("|[AB]", sealed, members).prop_map(|(class_name, sealed, dynamic)| {
                Amf3Value::Object(Amf3Object {
                    class_name,
                    sealed,
                    dynamic,
                })
            }),
            (
                any::<bool>(),
                "\\*|[AB]",
                prop::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|(fixed, type_name, items)| Amf3Value::VectorObject {
                    fixed,
                    type_name,
                    items
                }),
            (
                any::<bool>(),
                prop::collection::vec((inner.clone(), inner.clone()), 0..3)
            )
                .prop_map(|(weak_keys, entries)| Amf3Value::Dictionary { weak_keys, entries }),
            inner
                .clone()
                .prop_map(|v| Amf3Value::ArrayCollection(Box::new(v))),
            inner.prop_map(|v| Amf3Value::ObjectProxy(Box::new(v))),
        ]
    })
}

/// What the fuzz targets check: accepted input re-encodes into bytes that are
/// accepted under the same limits, and encoding is stable from then on.
fn check_re_encoding(bytes: &[u8]) -> Result<(), TestCaseError> {
    for limits in [
        limits(),
        AmfLimits {
            max_depth: 3,
            max_elements: 24,
        },
    ] {
        let mut input = bytes;
        if let Ok(value) = decode_value(&mut input, &limits) {
            let encoded = encode(&value);
            let mut input = encoded.as_slice();
            let again = decode_value(&mut input, &limits);
            prop_assert!(again.is_ok(), "{:?} from {:02x?}", again, encoded);
            prop_assert!(input.is_empty());
            prop_assert_eq!(again.map(|v| encode(&v)), Ok(encoded));
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn values_round_trip(value in arb_value()) {
        let bytes = encode(&value);
        prop_assert_eq!(encoded_len(&value), bytes.len());
        prop_assert_eq!(decode(&bytes), Ok(value));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_re_encoding(&bytes)?;
    }

    #[test]
    fn corrupted_encodings_never_panic(
        value in arb_value(),
        index in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = encode(&value);
        let at = index.index(bytes.len());
        bytes[at] = byte;
        check_re_encoding(&bytes)?;
    }
}
