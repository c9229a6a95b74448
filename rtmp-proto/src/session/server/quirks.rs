//! Every encoder quirk from the protocol notes, each proven by a test named after it,
//! through a whole `ServerSession`.

use super::tests::{feed_accepting, session_at, Reader, Script};
use super::*;
use crate::amf;
use crate::message::ControlMessage;

fn media_timestamps(events: &[ServerEvent]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Media { message, .. } => Some(message.timestamp),
            _ => None,
        })
        .collect()
}

/// A publishing session plus the script that got it there.
fn publishing() -> (ServerSession, Script, Instant) {
    let now = Instant::now();
    let mut session = session_at(now);
    let mut script = Script::new();
    feed_accepting(
        &mut session,
        now,
        &script.connect("live").publish("key").take(),
    );
    (session, script, now)
}

fn connect_with(object: Amf0Value) -> ConnectParams {
    let now = Instant::now();
    let mut session = session_at(now);
    let mut script = Script::new();
    script.command(0, "connect", 1.0, object, vec![]);
    let evs = feed_accepting(&mut session, now, &script.take());
    match evs.into_iter().find_map(|e| match e {
        ServerEvent::ConnectRequest { params, .. } => Some(params),
        _ => None,
    }) {
        Some(params) => params,
        None => panic!("no connect request"),
    }
}

fn publish_params(app: &str, stream: &str) -> PublishParams {
    let now = Instant::now();
    let mut session = session_at(now);
    let evs = feed_accepting(
        &mut session,
        now,
        &Script::new().connect(app).publish(stream).take(),
    );
    match evs.into_iter().find_map(|e| match e {
        ServerEvent::PublishRequest { params, .. } => Some(params),
        _ => None,
    }) {
        Some(params) => params,
        None => panic!("no publish request"),
    }
}

#[test]
fn quirk_fmt3_chunk_opening_a_message_repeats_the_previous_delta() {
    let (mut session, mut script, now) = publishing();
    // Audio on csid 4: fmt 0 at 1000, fmt 2 with delta 23, then two fmt 3 headers each
    // opening a one-byte message (FMLE).
    script.raw(&[0x04, 0, 0x03, 0xE8, 0, 0, 1, 8, 1, 0, 0, 0, 0xAF]);
    script.raw(&[0x84, 0, 0, 23, 0xAF, 0xC4, 0xAF, 0xC4, 0xAF]);
    let evs = feed_accepting(&mut session, now, &script.take());
    assert_eq!(media_timestamps(&evs), [1000, 1023, 1046, 1069]);
}

#[test]
fn quirk_fmt1_on_a_chunk_stream_never_seen() {
    let (mut session, mut script, now) = publishing();
    // librtmp opens csid 2 with fmt 1: a Set Chunk Size of 4096.
    script.raw(&[0x42, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0x10, 0]);
    // Then a 3000-byte video message in one chunk proves the new size applies.
    let mut chunk = vec![0x06, 0, 0, 0, 0, 0x0B, 0xB8, 9, 1, 0, 0, 0, 0x17, 1];
    chunk.resize(12 + 3000, 7);
    script.raw(&chunk);
    let evs = feed_accepting(&mut session, now, &script.take());
    assert!(
        matches!(&evs[..], [ServerEvent::Media { message, .. }] if message.payload.len() == 3000)
    );
}

fn extended_video(with_ext_on_continuation: bool) -> Vec<u8> {
    let mut bytes = vec![
        0x06, 0xFF, 0xFF, 0xFF, 0, 0, 200, 9, 1, 0, 0, 0, 0x01, 0x00, 0x00, 0x00,
    ];
    bytes.extend([0x17, 1]);
    bytes.extend([0x11; 126]);
    bytes.push(0xC6);
    if with_ext_on_continuation {
        bytes.extend([0x01, 0x00, 0x00, 0x00]);
    }
    bytes.extend([0x22; 72]);
    bytes
}

#[test]
fn quirk_extended_timestamp_on_continuation_chunks_present() {
    let (mut session, mut script, now) = publishing();
    let evs = feed_accepting(&mut session, now, &script.raw(&extended_video(true)).take());
    let [ServerEvent::Media { message, .. }] = &evs[..] else {
        panic!("{evs:?}")
    };
    assert_eq!(message.timestamp, 0x0100_0000);
    assert_eq!(message.payload.len(), 200);
    assert!(message.payload[128..].iter().all(|&b| b == 0x22));
}

#[test]
fn quirk_extended_timestamp_on_continuation_chunks_absent() {
    let (mut session, mut script, now) = publishing();
    let evs = feed_accepting(
        &mut session,
        now,
        &script.raw(&extended_video(false)).take(),
    );
    let [ServerEvent::Media { message, .. }] = &evs[..] else {
        panic!("{evs:?}")
    };
    assert_eq!(message.timestamp, 0x0100_0000);
    assert!(message.payload[128..].iter().all(|&b| b == 0x22));
}

#[test]
fn quirk_timestamp_crosses_the_24_bit_boundary_at_4h40m_mid_stream() {
    let (mut session, mut script, now) = publishing();
    // 4 h 39 m 37.215 s is 0xFFFFFF ms: frames just before, on and after it.
    let timestamps = [0xFF_FFC0, 0xFF_FFE0, 0xFF_FFFF, 0x100_0020, 0x100_0040];
    for ts in timestamps {
        script.video(ts, 0x27, 300);
    }
    let evs = feed_accepting(&mut session, now, &script.take());
    assert_eq!(media_timestamps(&evs), timestamps);
}

#[test]
fn quirk_timestamp_wraps_32_bits_mid_stream() {
    let (mut session, mut script, now) = publishing();
    let timestamps = [0xFFFF_FFC0u32, 0xFFFF_FFE0, 0, 0x20, 0x40];
    for ts in timestamps {
        script.audio(ts);
    }
    let evs = feed_accepting(&mut session, now, &script.take());
    assert_eq!(media_timestamps(&evs), timestamps);
}

#[test]
fn quirk_connect_object_as_ecma_array() {
    let params = connect_with(Amf0Value::EcmaArray(
        AmfObject::new()
            .with("app", "live")
            .with("tcUrl", "rtmp://host/live"),
    ));
    assert_eq!(params.app, "live");
    assert_eq!(params.tc_url.as_deref(), Some("rtmp://host/live"));
}

#[test]
fn quirk_lower_case_connect_keys() {
    let params = connect_with(
        AmfObject::new()
            .with("app", "live")
            .with("tcurl", "rtmp://host/live")
            .with("flashver", "FMLE/3.0")
            .with("objectencoding", 0.0)
            .into(),
    );
    assert_eq!(params.tc_url.as_deref(), Some("rtmp://host/live"));
    assert_eq!(params.flash_ver.as_deref(), Some("FMLE/3.0"));
}

#[test]
fn quirk_quoted_tc_url() {
    let params = connect_with(
        AmfObject::new()
            .with("app", "live")
            .with("tcUrl", "'rtmp://host/live'")
            .into(),
    );
    assert_eq!(params.tc_url.as_deref(), Some("rtmp://host/live"));
}

#[test]
fn quirk_missing_object_end_marker() {
    let now = Instant::now();
    let mut session = session_at(now);
    let mut payload = BytesMut::new();
    amf::encode_all(
        &[
            "connect".into(),
            1.0.into(),
            AmfObject::new().with("app", "live").into(),
        ],
        &mut payload,
    );
    payload.truncate(payload.len() - 3); // drop 00 00 09
    let mut script = Script::new();
    script.message(3, 0, type_id::COMMAND_AMF0, 0, payload.freeze());
    let evs = feed_accepting(&mut session, now, &script.take());
    assert!(matches!(&evs[1], ServerEvent::ConnectRequest { params, .. } if params.app == "live"));
}

#[test]
fn quirk_checkbw_before_create_stream() {
    let now = Instant::now();
    let mut session = session_at(now);
    let mut reader = Reader::new();
    let mut script = Script::new();
    script
        .connect("live")
        .command(0, "_checkbw", 2.0, Amf0Value::Null, vec![]);
    feed_accepting(&mut session, now, &script.take());
    let answer = reader.commands(&mut session).pop().unwrap();
    assert_eq!(
        (answer.name.as_str(), answer.transaction_id),
        ("_result", 2.0)
    );
}

#[test]
fn quirk_query_string_in_stream_name() {
    let params = publish_params("live", "key?token=abc&expires=1");
    assert_eq!(params.stream_key, "key");
    assert_eq!(params.query.as_deref(), Some("token=abc&expires=1"));
}

#[test]
fn quirk_definst_instance_routes_like_the_bare_app() {
    assert_eq!(publish_params("live/_definst_", "key").app, "live");
}

#[test]
fn quirk_empty_app() {
    let params = publish_params("", "key");
    assert_eq!(
        (params.app.as_str(), params.stream_key.as_str()),
        ("", "key")
    );
}

#[test]
fn quirk_multi_level_app() {
    // Larix: rtmp://host/app/sub/key → app "app/sub", stream "key".
    let params = publish_params("app/sub", "key");
    assert_eq!(
        (params.app.as_str(), params.stream_key.as_str()),
        ("app/sub", "key")
    );
}

#[test]
fn quirk_user_control_31_and_32_are_ignored() {
    let (mut session, mut script, now) = publishing();
    for event in [31u8, 32, 26, 27] {
        script.message(
            2,
            0,
            type_id::USER_CONTROL,
            0,
            Bytes::from(vec![0, event, 0, 0, 0, 1]),
        );
    }
    script.video(0, 0x17, 10);
    let evs = feed_accepting(&mut session, now, &script.take());
    assert_eq!(media_timestamps(&evs), [0], "the session carries on");
    assert!(!session.is_closing());
}

#[test]
fn quirk_control_messages_on_other_chunk_streams() {
    let (mut session, mut script, now) = publishing();
    // Set Chunk Size on csid 3 (the command stream) instead of 2.
    script.message(
        3,
        0,
        type_id::SET_CHUNK_SIZE,
        0,
        ControlMessage::SetChunkSize(4096).encode(),
    );
    script.set_chunk_size_local(4096);
    script.video(0, 0x17, 3000);
    let evs = feed_accepting(&mut session, now, &script.take());
    assert!(
        matches!(&evs[..], [ServerEvent::Media { message, .. }] if message.payload.len() == 3002)
    );
}

#[test]
fn quirk_non_number_transaction_id() {
    let now = Instant::now();
    let mut session = session_at(now);
    let mut reader = Reader::new();
    let mut script = Script::new();
    script.connect("live");
    let mut payload = BytesMut::new();
    amf::encode_all(
        &["createStream".into(), "7".into(), Amf0Value::Null],
        &mut payload,
    );
    script.message(3, 0, type_id::COMMAND_AMF0, 0, payload.freeze());
    feed_accepting(&mut session, now, &script.take());
    let answer = reader.commands(&mut session).pop().unwrap();
    assert_eq!(answer.name, "_result", "answered, with transaction id 0");
    assert_eq!(answer.transaction_id, 0.0);
}

#[test]
fn quirk_zero_length_audio_is_silence_and_forwarded() {
    let (mut session, mut script, now) = publishing();
    script.message(4, 40, type_id::AUDIO, 1, Bytes::new());
    let evs = feed_accepting(&mut session, now, &script.take());
    assert!(matches!(&evs[..], [ServerEvent::Media { message, .. }] if message.payload.is_empty()));
}

#[test]
fn quirk_aggregate_messages_are_split_with_rebased_timestamps() {
    let (mut session, mut script, now) = publishing();
    let tag = |type_id: u8, ts: u32, body: &[u8]| {
        let mut out = vec![type_id];
        out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        out.extend_from_slice(&ts.to_be_bytes()[1..]);
        out.extend_from_slice(&[(ts >> 24) as u8, 0, 0, 0]);
        out.extend_from_slice(body);
        out.extend_from_slice(&(11 + body.len() as u32).to_be_bytes());
        out
    };
    let aggregate = [
        tag(9, 100, &[0x17, 1, 0]),
        tag(8, 120, &[0xAF, 1]),
        tag(9, 133, &[0x27, 1, 0]),
    ]
    .concat();
    script.message(6, 5000, type_id::AGGREGATE, 1, Bytes::from(aggregate));
    let evs = feed_accepting(&mut session, now, &script.take());
    assert_eq!(media_timestamps(&evs), [5000, 5020, 5033]);
}
