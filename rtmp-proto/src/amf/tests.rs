use bytes::BytesMut;
use proptest::prelude::*;

use super::*;

fn limits() -> AmfLimits {
    AmfLimits::default()
}

fn encode(values: &[Amf0Value]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_all(values, &mut out);
    out.to_vec()
}

/// Encodes to exactly `bytes` (as `encoded_len` predicts) and decodes back.
fn assert_wire(bytes: &[u8], value: Amf0Value) {
    assert_eq!(
        encode(std::slice::from_ref(&value)),
        bytes,
        "encoding {value:?}"
    );
    assert_eq!(encoded_len(&value), bytes.len(), "encoded_len of {value:?}");
    assert_eq!(decode_all(bytes, &limits()), Ok(vec![value]));
}

/// FFmpeg's connect command, written by hand from the spec.
const CONNECT: &[u8] = b"\
    \x02\x00\x07connect\
    \x00\x3f\xf0\x00\x00\x00\x00\x00\x00\
    \x03\
    \x00\x03app\x02\x00\x04live\
    \x00\x04type\x02\x00\x0anonprivate\
    \x00\x08flashVer\x02\x00\x23FMLE/3.0 (compatible; Lavf61.1.100)\
    \x00\x05tcUrl\x02\x00\x1artmp://127.0.0.1:1935/live\
    \x00\x00\x09";

fn connect_values() -> Vec<Amf0Value> {
    vec![
        "connect".into(),
        1.0.into(),
        AmfObject::new()
            .with("app", "live")
            .with("type", "nonprivate")
            .with("flashVer", "FMLE/3.0 (compatible; Lavf61.1.100)")
            .with("tcUrl", "rtmp://127.0.0.1:1935/live")
            .into(),
    ]
}

fn one_property(key: &str, value: impl Into<Amf0Value>) -> AmfObject {
    AmfObject::new().with(key, value)
}

#[test]
fn connect_command_matches_hand_written_bytes() {
    assert_eq!(encode(&connect_values()), CONNECT);
    assert_eq!(decode_all(CONNECT, &limits()), Ok(connect_values()));
    let total: usize = connect_values().iter().map(encoded_len).sum();
    assert_eq!(total, CONNECT.len());
}

#[test]
fn every_marker_round_trips_through_hand_written_bytes() {
    assert_wire(
        b"\x00\x3f\xf8\x00\x00\x00\x00\x00\x00",
        Amf0Value::Number(1.5),
    );
    assert_wire(b"\x01\x01", Amf0Value::Boolean(true));
    assert_wire(b"\x01\x00", Amf0Value::Boolean(false));
    assert_wire(b"\x02\x00\x02hi", "hi".into());
    assert_wire(b"\x02\x00\x00", "".into());
    assert_wire(
        b"\x03\x00\x01a\x00\x3f\xf0\x00\x00\x00\x00\x00\x00\x00\x00\x09",
        one_property("a", 1.0).into(),
    );
    assert_wire(b"\x03\x00\x00\x09", AmfObject::new().into());
    assert_wire(b"\x05", Amf0Value::Null);
    assert_wire(b"\x06", Amf0Value::Undefined);
    assert_wire(b"\x07\x00\x2a", Amf0Value::Reference(42));
    assert_wire(
        b"\x08\x00\x00\x00\x01\x00\x01x\x05\x00\x00\x09",
        Amf0Value::EcmaArray(one_property("x", Amf0Value::Null)),
    );
    assert_wire(
        b"\x0a\x00\x00\x00\x02\x01\x01\x02\x00\x01a",
        Amf0Value::StrictArray(vec![true.into(), "a".into()]),
    );
    assert_wire(
        b"\x0b\x40\x90\x00\x00\x00\x00\x00\x00\xff\xc4",
        Amf0Value::Date {
            millis: 1024.0,
            timezone: -60,
        },
    );
    assert_wire(
        b"\x0c\x00\x00\x00\x04long",
        Amf0Value::LongString("long".into()),
    );
    assert_wire(b"\x0d", Amf0Value::Unsupported);
    assert_wire(
        b"\x0f\x00\x00\x00\x04<a/>",
        Amf0Value::XmlDocument("<a/>".into()),
    );
    assert_wire(
        b"\x10\x00\x02Pt\x00\x01x\x00\x3f\xf0\x00\x00\x00\x00\x00\x00\x00\x00\x09",
        Amf0Value::TypedObject {
            class_name: "Pt".into(),
            properties: one_property("x", 1),
        },
    );
}

/// `connect` as Flash Player sends it in a type 17 message, after the format byte.
const CONNECT_AMF3: &[u8] = b"\
    \x02\x00\x07connect\
    \x00\x3f\xf0\x00\x00\x00\x00\x00\x00\
    \x11\x0a\x0b\x01\
    \x07app\x06\x09live\
    \x0btcUrl\x06\x2brtmp://localhost/live\
    \x1dobjectEncoding\x04\x03\
    \x01";

#[test]
fn connect_with_an_amf3_command_object() {
    let object = Amf3Object {
        dynamic: vec![
            ("app".into(), "live".into()),
            ("tcUrl".into(), "rtmp://localhost/live".into()),
            ("objectEncoding".into(), 3.into()),
        ],
        ..Amf3Object::default()
    };
    let values = vec!["connect".into(), 1.0.into(), Amf0Value::Amf3(object.into())];
    assert_eq!(decode_all(CONNECT_AMF3, &limits()), Ok(values.clone()));
    assert_eq!(encode(&values), CONNECT_AMF3);
    assert_eq!(
        values.iter().map(encoded_len).sum::<usize>(),
        CONNECT_AMF3.len()
    );

    let Some(Amf0Value::Amf3(command_object)) = values.get(2) else {
        panic!("not AMF3");
    };
    let get = |key| command_object.as_object().and_then(|o| o.get(key));
    assert_eq!(get("app").and_then(Amf3Value::as_str), Some("live"));
    assert_eq!(
        get("objectEncoding").and_then(Amf3Value::as_number),
        Some(3.0)
    );
    // No `AmfObject` to lend.
    assert_eq!(values[2].as_object(), None);
}

#[test]
fn amf3_scalars_answer_amf0_accessors() {
    assert_eq!(
        Amf0Value::from(Amf3Value::Integer(7)).as_number(),
        Some(7.0)
    );
    assert_eq!(
        Amf0Value::Amf3(Amf3Value::Double(0.5)).as_number(),
        Some(0.5)
    );
    assert_eq!(Amf0Value::Amf3("s".into()).as_str(), Some("s"));
    assert_eq!(Amf0Value::Amf3(true.into()).as_bool(), Some(true));
    assert_eq!(Amf0Value::Amf3(true.into()).as_str(), None);
    assert!(Amf0Value::Amf3(Amf3Value::Undefined).is_null_or_undefined());
    assert!(!Amf0Value::Amf3(0.into()).is_null_or_undefined());
}

#[test]
fn each_switch_to_amf3_has_fresh_reference_tables() {
    let values = vec![
        Amf0Value::Amf3("hi".into()),
        one_property("k", Amf3Value::from("hi")).into(),
    ];
    let bytes = encode(&values);
    assert_eq!(
        bytes,
        b"\x11\x06\x05hi\x03\x00\x01k\x11\x06\x05hi\x00\x00\x09"
    );
    assert_eq!(decode_all(&bytes, &limits()), Ok(values));
    assert_eq!(
        decode_all(b"\x11\x06\x05hi\x11\x06\x00", &limits()),
        Err(AmfError::InvalidReference)
    );
}

#[test]
fn amf3_values_share_the_amf0_depth_and_element_budget() {
    let tight = AmfLimits {
        max_depth: 2,
        max_elements: 4,
    };
    // Object, AMF3 switch, AMF3 array, null: four values at depth 2.
    let nested = b"\x03\x00\x01a\x11\x09\x03\x01\x01\x00\x00\x09";
    assert!(decode_all(nested, &tight).is_ok());
    let deeper = b"\x03\x00\x01a\x11\x09\x03\x01\x09\x01\x01\x00\x00\x09";
    assert_eq!(decode_all(deeper, &tight), Err(AmfError::TooDeep));
    assert_eq!(
        decode_all(b"\x05\x05\x11\x09\x03\x01\x01", &tight),
        Err(AmfError::TooManyElements)
    );
    assert_eq!(
        decode_all(b"\x11\x0a\x07\x07Foo", &tight),
        Err(AmfError::Externalizable("Foo".into()))
    );
}

#[test]
fn any_nonzero_boolean_byte_is_true() {
    assert_eq!(decode_all(b"\x01\x02", &limits()), Ok(vec![true.into()]));
}

#[test]
fn empty_key_with_a_value_is_a_property() {
    let object = one_property("", 1);
    let bytes = encode(&[object.clone().into()]);
    assert_eq!(decode_all(&bytes, &limits()), Ok(vec![object.into()]));
}

#[test]
fn decode_value_advances_past_one_value_and_keeps_input_on_error() {
    let mut input: &[u8] = b"\x05\x01\x01";
    assert_eq!(decode_value(&mut input, &limits()), Ok(Amf0Value::Null));
    assert_eq!(input, b"\x01\x01");

    let mut input: &[u8] = b"\x00\x3f";
    assert_eq!(
        decode_value(&mut input, &limits()),
        Err(AmfError::Truncated)
    );
    assert_eq!(input, b"\x00\x3f");
}

#[test]
fn missing_end_marker_at_end_of_payload_is_accepted() {
    let cut = CONNECT.len() - 3;
    assert_eq!(decode_all(&CONNECT[..cut], &limits()), Ok(connect_values()));

    let ecma = b"\x08\x00\x00\x00\x01\x00\x01x\x05";
    let expected = Amf0Value::EcmaArray(one_property("x", Amf0Value::Null));
    assert_eq!(decode_all(ecma, &limits()), Ok(vec![expected]));
}

#[test]
fn ecma_array_count_is_only_a_hint() {
    let expected = Amf0Value::EcmaArray(one_property("x", Amf0Value::Null).with("y", true));
    for count in [b"\x00\x00\x00\x00", b"\x00\x00\x03\xe8"] {
        let bytes = [
            b"\x08".as_slice(),
            count,
            b"\x00\x01x\x05\x00\x01y\x01\x01\x00\x00\x09\x05",
        ]
        .concat();
        assert_eq!(
            decode_all(&bytes, &limits()),
            Ok(vec![expected.clone(), Amf0Value::Null])
        );
    }
    // The encoder writes the real count.
    assert_eq!(encode(&[expected])[1..5], [0, 0, 0, 2]);
}

#[test]
fn get_ignore_case_prefers_exact_match() {
    let object = AmfObject(vec![
        ("TcUrl".into(), "upper".into()),
        ("APP".into(), "a".into()),
        ("app".into(), "b".into()),
    ]);
    assert_eq!(object.get("tcUrl"), None);
    assert_eq!(
        object.get_ignore_case("tcUrl").and_then(Amf0Value::as_str),
        Some("upper")
    );
    assert_eq!(
        object.get_ignore_case("app").and_then(Amf0Value::as_str),
        Some("b")
    );
    assert_eq!(
        object.get_ignore_case("App").and_then(Amf0Value::as_str),
        Some("a")
    );
    assert_eq!(object.get_ignore_case("missing"), None);
}

#[test]
fn invalid_utf8_is_decoded_lossily() {
    let values = decode_all(b"\x02\x00\x03a\xff\xfe\x0c\x00\x00\x00\x01\x80", &limits());
    assert_eq!(
        values,
        Ok(vec![
            "a\u{fffd}\u{fffd}".into(),
            Amf0Value::LongString("\u{fffd}".into())
        ])
    );
}

fn complex_value() -> Amf0Value {
    AmfObject::new()
        .with("n", 3.25)
        .with("s", "text")
        .with("b", false)
        .with("nil", Amf0Value::Null)
        .with("undef", Amf0Value::Undefined)
        .with("ref", Amf0Value::Reference(1))
        .with(
            "ecma",
            Amf0Value::EcmaArray(one_property("k", "v").with("nested", AmfObject::new())),
        )
        .with("arr", Amf0Value::StrictArray(vec![1.into(), "x".into()]))
        .with(
            "date",
            Amf0Value::Date {
                millis: 5.0,
                timezone: 0,
            },
        )
        .with("long", Amf0Value::LongString("ls".into()))
        .with("unsupported", Amf0Value::Unsupported)
        .with("xml", Amf0Value::XmlDocument("<x/>".into()))
        .with(
            "typed",
            Amf0Value::TypedObject {
                class_name: "C".into(),
                properties: one_property("p", true),
            },
        )
        .with(
            "amf3",
            Amf3Value::Array {
                assoc: vec![("k".into(), "v".into())],
                dense: vec!["v".into(), 300.into()],
            },
        )
        .into()
}

#[test]
fn every_prefix_is_truncated_or_a_lenient_value() {
    let bytes = encode(&[complex_value()]);
    for cut in 0..bytes.len() {
        let prefix = &bytes[..cut];
        match decode_all(prefix, &limits()) {
            Ok(_) | Err(AmfError::Truncated) => {}
            Err(other) => panic!("prefix of {cut} bytes gave {other:?}"),
        }
        let mut input = prefix;
        match decode_value(&mut input, &limits()) {
            Ok(_) => assert!(input.is_empty()),
            Err(AmfError::Truncated) => assert_eq!(input, prefix),
            Err(other) => panic!("prefix of {cut} bytes gave {other:?}"),
        }
    }
}

#[test]
fn truncation_inside_a_key_or_value_is_an_error() {
    for bytes in [
        b"\x03\x00".as_slice(),         // inside a key length
        b"\x03\x00\x05ab",              // inside a key
        b"\x03\x00\x01a",               // value missing
        b"\x03\x00\x01a\x02\x00\x05ab", // inside a value
        b"\x03\x00\x00",                // end marker cut after the empty key
    ] {
        assert_eq!(
            decode_all(bytes, &limits()),
            Err(AmfError::Truncated),
            "{bytes:02x?}"
        );
    }
}

#[test]
fn unknown_and_reserved_markers_are_rejected() {
    for marker in [0x04, 0x0e, 0x12, 0xff] {
        assert_eq!(
            decode_all(&[marker], &limits()),
            Err(AmfError::UnknownMarker(marker))
        );
    }
    assert_eq!(
        decode_all(b"\x09", &limits()),
        Err(AmfError::UnexpectedObjectEnd)
    );
    assert_eq!(
        decode_all(b"\x03\x00\x01a\x09", &limits()),
        Err(AmfError::UnexpectedObjectEnd)
    );
}

fn nested_objects(depth: usize) -> Vec<u8> {
    let mut value = Amf0Value::Null;
    for _ in 0..depth {
        value = one_property("a", value).into();
    }
    encode(&[value])
}

#[test]
fn nesting_beyond_max_depth_is_too_deep() {
    assert!(decode_all(&nested_objects(32), &limits()).is_ok());
    assert_eq!(
        decode_all(&nested_objects(33), &limits()),
        Err(AmfError::TooDeep)
    );
    let shallow = AmfLimits {
        max_depth: 1,
        ..limits()
    };
    assert_eq!(
        decode_all(b"\x0a\x00\x00\x00\x01\x08\x00\x00\x00\x00", &shallow),
        Err(AmfError::TooDeep)
    );
    assert_eq!(
        decode_all(b"\x10\x00\x00\x00\x01a\x03", &shallow),
        Err(AmfError::TooDeep)
    );
}

#[test]
fn hostile_megabyte_of_containers_does_not_overflow_the_stack() {
    let arrays: Vec<u8> = b"\x0a\x00\x00\x00\x01".repeat(200_000);
    assert_eq!(decode_all(&arrays, &limits()), Err(AmfError::TooDeep));
    assert_eq!(
        decode_all(&vec![0x0a; 1 << 20], &limits()),
        Err(AmfError::Truncated)
    );
    assert_eq!(
        decode_all(&vec![0x03; 1 << 20], &limits()),
        Err(AmfError::TooDeep)
    );
    let unlimited = AmfLimits {
        max_depth: 64,
        max_elements: usize::MAX,
    };
    assert_eq!(decode_all(&arrays, &unlimited), Err(AmfError::TooDeep));
}

#[test]
fn element_budget_spans_the_whole_call() {
    let tight = AmfLimits {
        max_elements: 4,
        ..limits()
    };
    assert_eq!(decode_all(&[0x05; 4], &tight).map(|v| v.len()), Ok(4));
    assert_eq!(
        decode_all(&[0x05; 5], &tight),
        Err(AmfError::TooManyElements)
    );
    // An array with four items is five values.
    let array = b"\x0a\x00\x00\x00\x04\x05\x05\x05\x05";
    assert_eq!(decode_all(array, &tight), Err(AmfError::TooManyElements));
    let mut input = array.as_slice();
    assert_eq!(
        decode_value(&mut input, &tight),
        Err(AmfError::TooManyElements)
    );
    // Object values count too.
    assert_eq!(
        decode_all(
            b"\x03\x00\x01a\x05\x00\x01b\x05\x00\x01c\x05\x00\x01d\x05\x00\x00\x09",
            &tight
        ),
        Err(AmfError::TooManyElements)
    );
}

#[test]
fn huge_strict_array_count_is_rejected_before_allocating() {
    assert_eq!(
        decode_all(b"\x0a\xff\xff\xff\xff\x05", &limits()),
        Err(AmfError::Truncated)
    );
    let input = [b"\x0a\x00\x01\x00\x00".as_slice(), &[0x05; 0x1_0000]].concat();
    assert_eq!(
        decode_all(&input, &limits()),
        Err(AmfError::TooManyElements)
    );
}

#[test]
fn long_strings_and_keys_are_encoded_within_their_length_fields() {
    let text = "x".repeat(70_000);
    let bytes = encode(&[text.clone().into()]);
    assert_eq!(bytes[..5], [0x0c, 0x00, 0x01, 0x11, 0x70]);
    assert_eq!(encoded_len(&text.clone().into()), bytes.len());
    assert_eq!(
        decode_all(&bytes, &limits()),
        Ok(vec![Amf0Value::LongString(text)])
    );

    // 40 000 two-byte chars: the key is cut to 32 767 whole chars (65 534 bytes).
    let key = "é".repeat(40_000);
    let value: Amf0Value = one_property(&key, 1).into();
    let bytes = encode(std::slice::from_ref(&value));
    assert_eq!(bytes[1..3], [0xff, 0xfe]);
    assert_eq!(encoded_len(&value), bytes.len());
    let expected = one_property(&"é".repeat(32_767), 1).into();
    assert_eq!(decode_all(&bytes, &limits()), Ok(vec![expected]));
}

#[test]
fn object_builder_and_accessors() {
    let mut object = AmfObject::new()
        .with("a", 1)
        .with("b", "two")
        .with("a", 3u32);
    assert_eq!(object.len(), 2);
    assert_eq!(object.get("a"), Some(&Amf0Value::Number(3.0)));
    object.insert("c", true);
    let keys: Vec<&str> = object.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["a", "b", "c"]);
    assert!(!object.is_empty() && AmfObject::new().is_empty());

    let value = Amf0Value::from(object.clone());
    assert_eq!(value.as_object(), Some(&object));
    assert_eq!(
        Amf0Value::EcmaArray(object.clone()).as_object(),
        Some(&object)
    );
    assert_eq!(Amf0Value::Number(2.0).as_number(), Some(2.0));
    assert_eq!(Amf0Value::from(false).as_bool(), Some(false));
    assert_eq!(Amf0Value::from(String::from("s")).as_str(), Some("s"));
    assert_eq!(Amf0Value::XmlDocument("x".into()).as_str(), Some("x"));
    assert_eq!(Amf0Value::Null.as_str(), None);
    assert!(Amf0Value::Undefined.is_null_or_undefined());
    assert!(!Amf0Value::from(-1).is_null_or_undefined());
}

#[test]
fn errors_display_clearly() {
    assert_eq!(
        AmfError::UnknownMarker(0x04).to_string(),
        "unknown or reserved AMF type marker 0x04"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(AmfError::Truncated);
    assert_eq!(boxed.to_string(), "AMF data ends in the middle of a value");
    assert_eq!(
        AmfError::Externalizable("Foo".into()).to_string(),
        "AMF3 externalizable object of unknown class \"Foo\""
    );
}

fn number() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("NaN never equals itself", |n| !n.is_nan())
}

fn arb_value() -> impl Strategy<Value = Amf0Value> {
    let leaf = prop_oneof![
        number().prop_map(Amf0Value::Number),
        any::<bool>().prop_map(Amf0Value::Boolean),
        ".{0,12}".prop_map(Amf0Value::String),
        Just(Amf0Value::Null),
        Just(Amf0Value::Undefined),
        any::<u16>().prop_map(Amf0Value::Reference),
        (number(), any::<i16>())
            .prop_map(|(millis, timezone)| Amf0Value::Date { millis, timezone }),
        ".{0,12}".prop_map(Amf0Value::LongString),
        Just(Amf0Value::Unsupported),
        ".{0,12}".prop_map(Amf0Value::XmlDocument),
        amf3::tests::arb_value().prop_map(Amf0Value::Amf3),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        let object = prop::collection::vec((".{0,6}", inner.clone()), 0..6).prop_map(AmfObject);
        prop_oneof![
            object.clone().prop_map(Amf0Value::Object),
            object.clone().prop_map(Amf0Value::EcmaArray),
            prop::collection::vec(inner, 0..6).prop_map(Amf0Value::StrictArray),
            (".{0,6}", object).prop_map(|(class_name, properties)| Amf0Value::TypedObject {
                class_name,
                properties
            }),
        ]
    })
}

proptest! {
    #[test]
    fn values_round_trip(values in prop::collection::vec(arb_value(), 0..4)) {
        let bytes = encode(&values);
        prop_assert_eq!(values.iter().map(encoded_len).sum::<usize>(), bytes.len());
        prop_assert_eq!(decode_all(&bytes, &limits()), Ok(values));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_all(&bytes, &limits());
    }

    #[test]
    fn corrupted_encodings_never_panic(
        value in arb_value(),
        index in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = encode(&[value]);
        let at = index.index(bytes.len());
        bytes[at] = byte;
        let _ = decode_all(&bytes, &limits());
    }
}
