//! ServerSession scenarios, driven by a scripted client built from the chunk encoder.

use super::*;
use crate::amf::{self, AmfLimits};
use crate::chunk::{ChunkDecoder, ChunkEncoder, ChunkLimits, MessageHeader};
use crate::handshake::HANDSHAKE_BLOCK;
use crate::hub::Delivery;
use crate::message::ControlMessage;
use std::time::Duration;

/// Builds what a client sends.
pub(super) struct Script {
    encoder: ChunkEncoder,
    bytes: Vec<u8>,
}

impl Script {
    pub(super) fn new() -> Self {
        let mut bytes = vec![3u8];
        bytes.extend((0..HANDSHAKE_BLOCK).map(|i| (i * 7) as u8)); // C1
        bytes.extend(std::iter::repeat(0u8).take(HANDSHAKE_BLOCK)); // C2
        Script {
            encoder: ChunkEncoder::new(),
            bytes,
        }
    }

    pub(super) fn message(
        &mut self,
        csid: u32,
        ts: u32,
        type_id: u8,
        stream_id: u32,
        payload: Bytes,
    ) -> &mut Self {
        let header = MessageHeader {
            csid,
            timestamp: ts,
            type_id,
            stream_id,
            length: payload.len() as u32,
        };
        let mut out: Vec<Bytes> = Vec::new();
        self.encoder.encode(&header, &payload, &mut out);
        for b in out {
            self.bytes.extend_from_slice(&b);
        }
        self
    }

    pub(super) fn command(
        &mut self,
        stream_id: u32,
        name: &str,
        txn: f64,
        object: Amf0Value,
        args: Vec<Amf0Value>,
    ) -> &mut Self {
        let payload = Command {
            name: name.into(),
            transaction_id: txn,
            command_object: object,
            arguments: args,
        }
        .encode();
        self.message(3, 0, type_id::COMMAND_AMF0, stream_id, payload)
    }

    pub(super) fn connect(&mut self, app: &str) -> &mut Self {
        let object = AmfObject::new()
            .with("app", app)
            .with("type", "nonprivate")
            .with("flashVer", "FMLE/3.0 (compatible; Lavf61.1.100)")
            .with("tcUrl", format!("rtmp://127.0.0.1:1935/{app}"));
        self.command(0, "connect", 1.0, object.into(), vec![])
    }

    pub(super) fn publish(&mut self, key: &str) -> &mut Self {
        self.command(0, "releaseStream", 2.0, Amf0Value::Null, vec![key.into()])
            .command(0, "FCPublish", 3.0, Amf0Value::Null, vec![key.into()])
            .command(0, "createStream", 4.0, Amf0Value::Null, vec![])
            .command(
                1,
                "publish",
                5.0,
                Amf0Value::Null,
                vec![key.into(), "live".into()],
            )
    }

    pub(super) fn play(&mut self, key: &str) -> &mut Self {
        self.command(0, "createStream", 2.0, Amf0Value::Null, vec![])
            .command(
                1,
                "play",
                3.0,
                Amf0Value::Null,
                vec![key.into(), (-2.0).into()],
            )
    }

    pub(super) fn set_chunk_size(&mut self, size: u32) -> &mut Self {
        self.message(
            2,
            0,
            type_id::SET_CHUNK_SIZE,
            0,
            ControlMessage::SetChunkSize(size).encode(),
        );
        self.encoder.set_chunk_size(size);
        self
    }

    pub(super) fn metadata(&mut self) -> &mut Self {
        let mut payload = BytesMut::new();
        amf::encode_all(
            &[
                "@setDataFrame".into(),
                "onMetaData".into(),
                AmfObject::new().with("width", 320.0).into(),
            ],
            &mut payload,
        );
        self.message(4, 0, type_id::DATA_AMF0, 1, payload.freeze())
    }

    pub(super) fn video(&mut self, ts: u32, first: u8, len: usize) -> &mut Self {
        let payload: Vec<u8> = [first, 1]
            .into_iter()
            .chain((0..len).map(|i| i as u8))
            .collect();
        self.message(6, ts, type_id::VIDEO, 1, Bytes::from(payload))
    }

    pub(super) fn audio(&mut self, ts: u32) -> &mut Self {
        self.message(
            4,
            ts,
            type_id::AUDIO,
            1,
            Bytes::from_static(&[0xAF, 1, 0x21, 0x10, 0x04]),
        )
    }

    /// Chunks what follows at `size` without announcing it (the test sends its own).
    pub(super) fn set_chunk_size_local(&mut self, size: u32) -> &mut Self {
        self.encoder.set_chunk_size(size);
        self
    }

    /// Appends bytes as they are (hand-made chunks).
    pub(super) fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(bytes);
        self
    }

    pub(super) fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }
}

/// Reads the server's output as messages.
pub(super) struct Reader {
    handshake_left: usize,
    decoder: ChunkDecoder,
}

impl Reader {
    pub(super) fn new() -> Self {
        Reader {
            handshake_left: 1 + 2 * HANDSHAKE_BLOCK,
            decoder: ChunkDecoder::new(ChunkLimits::default()),
        }
    }

    pub(super) fn read(&mut self, session: &mut ServerSession) -> Vec<RawMessage> {
        let bytes: Vec<u8> = session
            .take_output()
            .iter()
            .flat_map(|b| b.iter().copied())
            .collect();
        let skip = self.handshake_left.min(bytes.len());
        self.handshake_left -= skip;
        let mut input = &bytes[skip..];
        let mut messages = Vec::new();
        while let Some(m) = self.decoder.decode(&mut input).unwrap() {
            if let Some(ControlMessage::SetChunkSize(n)) =
                ControlMessage::parse(m.header.type_id, &m.payload).unwrap()
            {
                self.decoder.set_chunk_size(n).unwrap();
            }
            messages.push(m);
        }
        messages
    }

    pub(super) fn commands(&mut self, session: &mut ServerSession) -> Vec<Command> {
        self.read(session)
            .into_iter()
            .filter(|m| m.header.type_id == type_id::COMMAND_AMF0)
            .map(|m| Command::decode(&m.payload, &AmfLimits::default()).unwrap())
            .collect()
    }
}

pub(super) fn status_code(command: &Command) -> Option<&str> {
    command.argument(0)?.as_object()?.get("code")?.as_str()
}

pub(super) fn session_at(now: Instant) -> ServerSession {
    ServerSession::new(SessionConfig::default(), now, 1)
}

pub(super) fn events(session: &mut ServerSession) -> Vec<ServerEvent> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

/// Feeds `input` and accepts every request, returning all events.
pub(super) fn feed_accepting(
    session: &mut ServerSession,
    now: Instant,
    input: &[u8],
) -> Vec<ServerEvent> {
    session.handle_input(now, input).unwrap();
    let mut all = Vec::new();
    while let Some(event) = session.poll_event() {
        match &event {
            ServerEvent::ConnectRequest { id, .. }
            | ServerEvent::PublishRequest { id, .. }
            | ServerEvent::PlayRequest { id, .. } => session.accept(now, *id),
            _ => {}
        }
        all.push(event);
    }
    all
}

#[test]
fn connect_is_answered_with_window_bandwidth_chunk_size_and_success() {
    let now = Instant::now();
    let mut session = session_at(now);
    let mut reader = Reader::new();
    session
        .handle_input(now, &Script::new().connect("live").take())
        .unwrap();
    let evs = events(&mut session);
    assert_eq!(evs[0], ServerEvent::HandshakeComplete);
    let ServerEvent::ConnectRequest { id, params } = &evs[1] else {
        panic!("{evs:?}")
    };
    assert_eq!(params.app, "live");
    assert_eq!(session.app(), "live");
    session.accept(now, *id);
    let messages = reader.read(&mut session);
    let types: Vec<u8> = messages.iter().map(|m| m.header.type_id).collect();
    assert_eq!(types, [5, 6, 1, 20]);
    let result = Command::decode(&messages[3].payload, &AmfLimits::default()).unwrap();
    assert_eq!(result.name, "_result");
    assert_eq!(result.transaction_id, 1.0);
    assert_eq!(status_code(&result), Some("NetConnection.Connect.Success"));
}

#[test]
fn publish_flow_gives_status_metadata_and_media_without_copying() {
    let now = Instant::now();
    let mut session = session_at(now);
    let mut reader = Reader::new();
    let mut script = Script::new();
    let mut evs = feed_accepting(
        &mut session,
        now,
        &script.connect("live").publish("key?token=1").take(),
    );
    let commands = reader.commands(&mut session);
    let names: Vec<(&str, Option<&str>)> = commands
        .iter()
        .map(|c| (c.name.as_str(), status_code(c)))
        .collect();
    assert_eq!(
        names,
        [
            ("_result", Some("NetConnection.Connect.Success")),
            ("_result", None),
            ("_result", None),
            ("onFCPublish", Some("NetStream.Publish.Start")),
            ("_result", None),
            ("onStatus", Some("NetStream.Publish.Start")),
        ]
    );
    assert_eq!(
        commands[4].argument(0).and_then(Amf0Value::as_number),
        Some(1.0),
        "createStream gives stream 1"
    );
    let Some(ServerEvent::PublishRequest { params, .. }) = evs.pop() else {
        panic!()
    };
    assert_eq!(
        (
            params.stream_key.as_str(),
            params.query.as_deref(),
            params.stream_id
        ),
        ("key", Some("token=1"), 1)
    );

    let evs = feed_accepting(
        &mut session,
        now,
        &script.metadata().video(0, 0x17, 300).audio(0).take(),
    );
    let ServerEvent::Metadata {
        stream_id: 1,
        payload,
    } = &evs[0]
    else {
        panic!("{evs:?}")
    };
    let values = amf::decode_all(payload, &AmfLimits::default()).unwrap();
    assert_eq!(
        values[0].as_str(),
        Some("onMetaData"),
        "@setDataFrame is stripped"
    );
    let ServerEvent::Media {
        stream_id: 1,
        message,
    } = &evs[1]
    else {
        panic!("{evs:?}")
    };
    assert!(message.is_keyframe());
    assert_eq!(message.payload.len(), 302);
    assert!(
        matches!(&evs[2], ServerEvent::Media { message, .. } if message.kind == MediaKind::Audio)
    );
}

#[test]
fn rejected_publish_gets_bad_name_and_its_media_is_ignored() {
    let now = Instant::now();
    let mut session = session_at(now);
    let mut reader = Reader::new();
    let mut script = Script::new();
    session
        .handle_input(now, &script.connect("live").publish("wrong").take())
        .unwrap();
    let mut request = None;
    while let Some(event) = session.poll_event() {
        match event {
            ServerEvent::ConnectRequest { id, .. } => session.accept(now, id),
            ServerEvent::PublishRequest { id, .. } => request = Some(id),
            _ => {}
        }
    }
    session.reject(now, request.unwrap(), "Invalid stream key");
    let last = reader.commands(&mut session).pop().unwrap();
    assert_eq!(status_code(&last), Some("NetStream.Publish.BadName"));
    let description = last.argument(0).and_then(|o| {
        o.as_object()?
            .get("description")?
            .as_str()
            .map(str::to_owned)
    });
    assert_eq!(description.as_deref(), Some("Invalid stream key"));
    session
        .handle_input(now, &script.video(0, 0x17, 10).audio(0).take())
        .unwrap();
    assert!(
        events(&mut session).is_empty(),
        "no media from a rejected publish"
    );
}

#[test]
fn rejected_connect_answers_error_then_closes() {
    let now = Instant::now();
    let mut session = session_at(now);
    let mut reader = Reader::new();
    session
        .handle_input(now, &Script::new().connect("private").take())
        .unwrap();
    let Some(ServerEvent::ConnectRequest { id, .. }) = events(&mut session).pop() else {
        panic!()
    };
    session.reject(now, id, "no such app");
    let answer = reader.commands(&mut session).pop().unwrap();
    assert_eq!(answer.name, "_error");
    assert_eq!(status_code(&answer), Some("NetConnection.Connect.Rejected"));
    assert!(session.is_closing());
    assert_eq!(
        session.error(),
        Some(&SessionError::ConnectRejected("no such app".into()))
    );
}

#[test]
fn play_flow_sends_start_statuses_and_deliveries() {
    let now = Instant::now();
    let mut session = session_at(now);
    let mut reader = Reader::new();
    feed_accepting(
        &mut session,
        now,
        &Script::new().connect("live").play("key").take(),
    );
    let messages = reader.read(&mut session);
    let codes: Vec<String> = messages
        .iter()
        .filter(|m| m.header.type_id == type_id::COMMAND_AMF0)
        .filter_map(|m| {
            status_code(&Command::decode(&m.payload, &AmfLimits::default()).unwrap())
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        codes,
        [
            "NetConnection.Connect.Success",
            "NetStream.Play.Reset",
            "NetStream.Play.Start"
        ]
    );
    assert!(messages
        .iter()
        .any(|m| m.header.type_id == type_id::DATA_AMF0
            && amf::decode_all(&m.payload, &AmfLimits::default()).unwrap()[0].as_str()
                == Some("|RtmpSampleAccess")));

    let frame = MediaMessage::new(MediaKind::Video, 40, Bytes::from(vec![0x17u8; 10_000]));
    session.deliver(now, 1, &Delivery::Media(frame.clone().into()));
    session.deliver(now, 1, &Delivery::PublishStopped);
    session.deliver(now, 2, &Delivery::Media(frame.clone().into())); // not a playing stream: ignored
    let messages = reader.read(&mut session);
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[0].header.type_id, type_id::VIDEO);
    assert_eq!(messages[0].header.timestamp, 40);
    assert_eq!(messages[0].header.stream_id, 1);
    assert_eq!(messages[0].payload, frame.payload);
    assert_eq!(
        status_code(&Command::decode(&messages[1].payload, &AmfLimits::default()).unwrap()),
        Some("NetStream.Play.UnpublishNotify")
    );
    assert_eq!(messages[2].header.type_id, type_id::USER_CONTROL);
}

#[test]
fn a_media_message_is_chunk_encoded_once_for_100_players() {
    let now = Instant::now();
    let mut players: Vec<(ServerSession, Reader)> = (0..100)
        .map(|i| {
            let mut session = ServerSession::new(SessionConfig::default(), now, i);
            let mut reader = Reader::new();
            feed_accepting(
                &mut session,
                now,
                &Script::new().connect("live").play("key").take(),
            );
            reader.read(&mut session);
            (session, reader)
        })
        .collect();
    let frame: crate::hub::SharedMedia =
        MediaMessage::new(MediaKind::Video, 99, Bytes::from(vec![0x27u8; 20_000])).into();
    for (session, _) in &mut players {
        session.deliver(now, 1, &Delivery::Media(frame.clone()));
        session.deliver(now, 1, &Delivery::Media(frame.clone()));
    }
    assert_eq!(
        frame.encodings(),
        1,
        "one encoding shared by 100 players, twice each"
    );
    for (session, reader) in &mut players {
        let got = reader.read(session);
        assert_eq!(got.len(), 2);
        assert!(got
            .iter()
            .all(|m| m.payload == frame.payload && m.header.timestamp == 99));
    }
    // A session with another chunk size gets an encoding of its own.
    let config = SessionConfig {
        chunk_size: 128,
        ..SessionConfig::default()
    };
    let mut other = ServerSession::new(config, now, 7);
    feed_accepting(
        &mut other,
        now,
        &Script::new().connect("live").play("key").take(),
    );
    other.deliver(now, 1, &Delivery::Media(frame.clone()));
    assert_eq!(frame.encodings(), 2);
}

#[test]
fn delete_stream_ends_a_publish() {
    let now = Instant::now();
    let mut session = session_at(now);
    let mut script = Script::new();
    feed_accepting(
        &mut session,
        now,
        &script.connect("live").publish("key").take(),
    );
    let evs = feed_accepting(
        &mut session,
        now,
        &script
            .command(0, "deleteStream", 6.0, Amf0Value::Null, vec![1.0.into()])
            .take(),
    );
    assert_eq!(evs, [ServerEvent::PublishStopped { stream_id: 1 }]);
}

#[test]
fn connect_timeout_closes_a_silent_or_half_handshaken_session() {
    let start = Instant::now();
    let mut session = session_at(start);
    session.handle_input(start, &[3, 0, 0]).unwrap();
    let deadline = session.poll_timeout().unwrap();
    assert_eq!(deadline, start + Duration::from_secs(10));
    assert!(session
        .handle_timeout(deadline - Duration::from_millis(1))
        .is_ok());
    assert_eq!(
        session.handle_timeout(deadline),
        Err(SessionError::ConnectTimeout)
    );
    assert!(session.is_closing());
}

fn pings(reader: &mut Reader, session: &mut ServerSession) -> Vec<u32> {
    reader
        .read(session)
        .iter()
        .filter_map(
            |m| match ControlMessage::parse(m.header.type_id, &m.payload).unwrap() {
                Some(ControlMessage::UserControl(UserControl::PingRequest(t))) => Some(t),
                _ => None,
            },
        )
        .collect()
}

#[test]
fn a_silent_peer_is_pinged_and_kept_when_it_answers() {
    let start = Instant::now();
    let mut session = session_at(start);
    let mut reader = Reader::new();
    let mut script = Script::new();
    feed_accepting(&mut session, start, &script.connect("live").take());
    reader.read(&mut session);
    let ping_at = session.poll_timeout().unwrap();
    assert_eq!(ping_at, start + Duration::from_secs(20));
    session.handle_timeout(ping_at).unwrap();
    assert_eq!(pings(&mut reader, &mut session), [20_000]);
    // The answer is input: the session lives on and pings again after the next silence.
    let answer = start + Duration::from_secs(21);
    let mut pong = script
        .message(
            2,
            0,
            type_id::USER_CONTROL,
            0,
            ControlMessage::UserControl(UserControl::PingResponse(20_000)).encode(),
        )
        .take();
    session
        .handle_input(answer, &std::mem::take(&mut pong))
        .unwrap();
    assert_eq!(
        session.poll_timeout(),
        Some(answer + Duration::from_secs(20))
    );
}

#[test]
fn a_ping_left_unanswered_closes_the_session() {
    let start = Instant::now();
    let mut session = session_at(start);
    feed_accepting(&mut session, start, &Script::new().connect("live").take());
    let ping_at = session.poll_timeout().unwrap();
    session.handle_timeout(ping_at).unwrap();
    let give_up = session.poll_timeout().unwrap();
    assert_eq!(give_up, ping_at + Duration::from_secs(15));
    assert!(session
        .handle_timeout(give_up - Duration::from_millis(1))
        .is_ok());
    assert_eq!(
        session.handle_timeout(give_up),
        Err(SessionError::PingTimeout)
    );
    assert!(session.is_closing());
}

#[test]
fn idle_timeout_applies_when_pings_are_off() {
    let start = Instant::now();
    let config = SessionConfig {
        ping_interval: None,
        ..SessionConfig::default()
    };
    let mut session = ServerSession::new(config, start, 1);
    feed_accepting(&mut session, start, &Script::new().connect("live").take());
    let deadline = session.poll_timeout().unwrap();
    assert_eq!(deadline, start + Duration::from_secs(60));
    assert_eq!(
        session.handle_timeout(deadline),
        Err(SessionError::IdleTimeout)
    );
}

#[test]
fn a_request_the_app_never_answers_is_rejected_after_the_command_timeout() {
    let start = Instant::now();
    let mut session = session_at(start);
    let mut reader = Reader::new();
    let mut script = Script::new();
    let connected = feed_accepting(&mut session, start, &script.connect("live").take());
    assert_eq!(connected.len(), 2);
    session
        .handle_input(start, &script.publish("key").take())
        .unwrap();
    assert!(matches!(
        events(&mut session).last(),
        Some(ServerEvent::PublishRequest { .. })
    ));
    reader.read(&mut session);
    let deadline = start + Duration::from_secs(30);
    assert_eq!(
        session.poll_timeout(),
        Some(start + Duration::from_secs(20)),
        "the ping comes first"
    );
    session.handle_timeout(deadline).unwrap();
    let last = reader.commands(&mut session).pop().unwrap();
    assert_eq!(status_code(&last), Some("NetStream.Publish.BadName"));
}

#[test]
fn garbage_after_the_handshake_closes_the_session_with_a_reason() {
    let now = Instant::now();
    let mut session = session_at(now);
    let mut input = Script::new().take();
    // A fmt-0 header on csid 3 announcing a 16 MiB message, then junk.
    input.extend([0x03, 0, 0, 0, 0xFF, 0xFF, 0xFF, 20, 0, 0, 0, 0]);
    input.extend(std::iter::repeat(0xEE).take(100));
    let err = session.handle_input(now, &input).unwrap_err();
    assert!(matches!(err, SessionError::Chunk(_)), "{err}");
    assert!(session.is_closing());
    assert_eq!(session.handle_input(now, &[0]), Err(err));
}

#[test]
fn input_held_while_a_request_awaits_its_answer_is_bounded() {
    let now = Instant::now();
    let config = SessionConfig {
        max_held_input: 10_000,
        ..SessionConfig::default()
    };
    let mut session = ServerSession::new(config, now, 1);
    let mut script = Script::new();
    session
        .handle_input(now, &script.connect("live").take())
        .unwrap();
    assert!(matches!(
        events(&mut session).pop(),
        Some(ServerEvent::ConnectRequest { .. })
    ));
    // The app has not answered; the peer keeps talking.
    for i in 0..3 {
        script.audio(i);
    }
    let early = script.take();
    session.handle_input(now, &early).unwrap();
    let flood = vec![0u8; 10_000];
    let held = early.len() + flood.len();
    assert_eq!(
        session.handle_input(now, &flood),
        Err(SessionError::InputOverflow { held })
    );
}

#[test]
fn acknowledgements_follow_the_peer_window() {
    let now = Instant::now();
    let mut session = session_at(now);
    let mut reader = Reader::new();
    let mut script = Script::new();
    feed_accepting(
        &mut session,
        now,
        &script.connect("live").publish("key").take(),
    );
    reader.read(&mut session);
    script.message(
        2,
        0,
        type_id::WINDOW_ACK_SIZE,
        0,
        ControlMessage::WindowAckSize(5000).encode(),
    );
    for ts in 0..20 {
        script.video(ts * 33, 0x27, 500);
    }
    feed_accepting(&mut session, now, &script.take());
    let acks: Vec<u32> = reader
        .read(&mut session)
        .iter()
        .filter_map(
            |m| match ControlMessage::parse(m.header.type_id, &m.payload).unwrap() {
                Some(ControlMessage::Acknowledgement(n)) => Some(n),
                _ => None,
            },
        )
        .collect();
    assert_eq!(acks.len(), 1, "one window crossed in this input");
    assert!(acks[0] > 5000);
}

fn recorded_publish() -> Vec<u8> {
    let mut script = Script::new();
    script
        .connect("live")
        .publish("key")
        .metadata()
        .set_chunk_size(4096);
    for i in 0..40u32 {
        let first = if i % 10 == 0 { 0x17 } else { 0x27 };
        script.video(i * 33, first, (i as usize * 997) % 9000 + 1);
        script.audio(i * 21);
    }
    script.set_chunk_size(100);
    script.video(40 * 33, 0x17, 5000);
    script.take()
}

/// Feeds `input` in the given pieces; returns the events and every output byte.
fn run_split(input: &[u8], cuts: &[usize]) -> (Vec<ServerEvent>, Vec<u8>) {
    let now = Instant::now();
    let mut session = ServerSession::new(SessionConfig::default(), now, 7);
    let mut events = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(start, input.len());
        events.extend(feed_accepting(&mut session, now, &input[start..cut]));
        start = cut;
    }
    let output = session
        .take_output()
        .iter()
        .flat_map(|b| b.iter().copied())
        .collect();
    (events, output)
}

#[test]
fn byte_at_a_time_gives_the_same_events_and_output_as_whole() {
    let input = recorded_publish();
    let whole = run_split(&input, &[]);
    assert_eq!(
        whole
            .0
            .iter()
            .filter(|e| matches!(e, ServerEvent::Media { .. }))
            .count(),
        81
    );
    let cuts: Vec<usize> = (1..input.len()).collect();
    assert_eq!(run_split(&input, &cuts), whole);
}

/// What FFmpeg 9 sent publishing a 2 s, 15 fps H.264 + AAC file to
/// `rtmp://…/live/capture?token=abc` (captured through a TCP proxy).
const FFMPEG_PUBLISH: &[u8] =
    include_bytes!("../../../tests/fixtures/ffmpeg9_publish_h264_aac.bin");

fn media_counts(events: &[ServerEvent]) -> (usize, usize) {
    let count = |kind| {
        events
            .iter()
            .filter(|e| matches!(e, ServerEvent::Media { message, .. } if message.kind == kind))
            .count()
    };
    (count(MediaKind::Video), count(MediaKind::Audio))
}

#[test]
fn a_real_ffmpeg_publish_yields_its_requests_metadata_and_every_frame() {
    let (events, _) = run_split(FFMPEG_PUBLISH, &[]);
    let connect = events.iter().find_map(|e| match e {
        ServerEvent::ConnectRequest { params, .. } => Some(params),
        _ => None,
    });
    assert_eq!(connect.map(|p| p.app.as_str()), Some("live"));
    let publish = events.iter().find_map(|e| match e {
        ServerEvent::PublishRequest { params, .. } => Some(params),
        _ => None,
    });
    let publish = publish.expect("a publish request");
    assert_eq!(
        (publish.stream_key.as_str(), publish.query.as_deref()),
        ("capture", Some("token=abc"))
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, ServerEvent::Metadata { .. }))
            .count(),
        1
    );
    // The source file's 30 video and 88 audio packets (its framecrc), plus the AVC and
    // AAC sequence headers and FFmpeg's AVC end-of-sequence tag.
    assert_eq!(media_counts(&events), (30 + 2, 88 + 1));
    assert!(
        matches!(
            events.last(),
            Some(ServerEvent::PublishStopped { stream_id: 1 })
        ),
        "{:?}",
        events.last()
    );
}

#[test]
fn a_real_ffmpeg_c1_is_answered_in_the_digest_form() {
    // FFmpeg validates S1's digest and S2's signature when S1's version byte is >= 3;
    // the interop tests show it accepts ours, this shows ours is the digest form.
    let mut handshake = crate::handshake::ServerHandshake::new(5, 0);
    let mut out: Vec<Bytes> = Vec::new();
    let mut c0c1 = &FFMPEG_PUBLISH[..1 + HANDSHAKE_BLOCK];
    handshake.handle_input(&mut c0c1, &mut out).unwrap();
    assert_eq!(
        handshake.form(),
        Some(crate::handshake::HandshakeForm::Digest)
    );
    let s1_version = &out.concat()[5..9];
    assert!(
        s1_version[0] >= 3,
        "S1 version {s1_version:?} makes FFmpeg check the digest"
    );
}

#[test]
fn a_real_ffmpeg_publish_fed_byte_by_byte_gives_the_same_events_and_output() {
    let whole = run_split(FFMPEG_PUBLISH, &[]);
    let cuts: Vec<usize> = (1..FFMPEG_PUBLISH.len()).collect();
    assert_eq!(run_split(FFMPEG_PUBLISH, &cuts), whole);
}

mod split_property {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any split of a recorded client byte stream yields exactly the same events
        /// (and the same server output) as feeding it whole.
        #[test]
        fn any_split_gives_the_same_events(mut cuts in proptest::collection::vec(0usize..200_000, 0..60)) {
            let input = recorded_publish();
            cuts.sort_unstable();
            let whole = run_split(&input, &[]);
            prop_assert_eq!(run_split(&input, &cuts), whole);
        }

        /// The same for the real FFmpeg capture.
        #[test]
        fn any_split_of_a_real_ffmpeg_capture_gives_the_same_events(mut cuts in proptest::collection::vec(0usize..FFMPEG_PUBLISH.len(), 0..80)) {
            cuts.sort_unstable();
            prop_assert_eq!(run_split(FFMPEG_PUBLISH, &cuts), run_split(FFMPEG_PUBLISH, &[]));
        }

        /// Arbitrary bytes after a valid handshake never panic the session.
        #[test]
        fn arbitrary_input_never_panics(junk in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let now = Instant::now();
            let mut session = session_at(now);
            let mut input = Script::new().connect("live").take();
            input.extend(junk);
            let _ = session.handle_input(now, &input);
            while session.poll_event().is_some() {}
        }
    }
}

mod enhanced_negotiation {
    use super::*;
    use crate::enhanced::{EnhancedRtmpMode, EnhancedServerCapabilities, FourCcCapability};
    use crate::media::fourcc::{AudioFourCc, VideoFourCc};

    fn session_with(mode: EnhancedRtmpMode, caps: EnhancedServerCapabilities) -> ServerSession {
        let config = SessionConfig {
            enhanced_mode: mode,
            enhanced_capabilities: caps,
            ..SessionConfig::default()
        };
        ServerSession::new(config, Instant::now(), 1)
    }

    fn enhanced_connect(script: &mut Script) -> &mut Script {
        let object = AmfObject::new()
            .with("app", "live")
            .with("tcUrl", "rtmp://host/live")
            .with(
                "fourCcList",
                Amf0Value::StrictArray(vec!["hvc1".into(), "Opus".into()]),
            );
        script.command(0, "connect", 1.0, object.into(), vec![])
    }

    #[test]
    fn auto_mode_states_capabilities_in_the_connect_result() {
        let now = Instant::now();
        let mut session = session_with(
            EnhancedRtmpMode::Auto,
            EnhancedServerCapabilities::default(),
        );
        let mut reader = Reader::new();
        let events = feed_accepting(
            &mut session,
            now,
            &enhanced_connect(&mut Script::new()).take(),
        );
        let Some(ServerEvent::ConnectRequest { params, .. }) = events.get(1) else {
            panic!("{events:?}")
        };
        assert_eq!(
            params.enhanced.as_ref().map(|c| c.fourcc_list.clone()),
            Some(vec!["hvc1".into(), "Opus".into()])
        );
        let result = reader.commands(&mut session).remove(0);
        let props = result.command_object.as_object().unwrap();
        let video = props
            .get("videoFourCcInfoMap")
            .and_then(Amf0Value::as_object)
            .unwrap();
        assert_eq!(
            video.get("hvc1"),
            Some(&Amf0Value::Number(4.0)),
            "CanForward"
        );
        assert_eq!(props.get("capsEx"), Some(&Amf0Value::Number(15.0)));
    }

    #[test]
    fn enhanced_only_rejects_a_legacy_connect() {
        let now = Instant::now();
        let mut session = session_with(
            EnhancedRtmpMode::EnhancedOnly,
            EnhancedServerCapabilities::default(),
        );
        let mut reader = Reader::new();
        let refused = session.handle_input(now, &Script::new().connect("live").take());
        assert!(
            matches!(refused, Err(SessionError::ConnectRejected(_))),
            "{refused:?}"
        );
        assert!(!events(&mut session)
            .iter()
            .any(|e| matches!(e, ServerEvent::ConnectRequest { .. })));
        let answer = reader.commands(&mut session).pop().unwrap();
        assert_eq!(answer.name, "_error");
        assert_eq!(status_code(&answer), Some("NetConnection.Connect.Rejected"));
        assert!(session.is_closing());
        let mut session = session_with(
            EnhancedRtmpMode::EnhancedOnly,
            EnhancedServerCapabilities::default(),
        );
        let events = feed_accepting(
            &mut session,
            now,
            &enhanced_connect(&mut Script::new()).take(),
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, ServerEvent::ConnectRequest { .. })),
            "an E-RTMP client is served"
        );
    }

    fn publishing(session: &mut ServerSession, now: Instant) -> (Script, Reader) {
        let mut script = Script::new();
        let mut reader = Reader::new();
        feed_accepting(session, now, &script.connect("live").publish("key").take());
        reader.read(session);
        (script, reader)
    }

    #[test]
    fn legacy_only_refuses_enhanced_media_with_a_clear_status() {
        let now = Instant::now();
        let mut session = session_with(
            EnhancedRtmpMode::LegacyOnly,
            EnhancedServerCapabilities::default(),
        );
        let (mut script, mut reader) = publishing(&mut session, now);
        // Legacy H.264 is fine.
        assert!(session
            .handle_input(now, &script.video(0, 0x17, 10).take())
            .is_ok());
        // Ex HEVC SequenceStart is not.
        script.message(
            6,
            0,
            type_id::VIDEO,
            1,
            Bytes::from_static(b"\x90hvc1\x01\x02"),
        );
        let evs = feed_accepting(&mut session, now, &script.take());
        assert_eq!(
            evs.last(),
            Some(&ServerEvent::PublishStopped { stream_id: 1 }),
            "the publish is ended"
        );
        let status = reader.commands(&mut session).pop().unwrap();
        assert_eq!(status_code(&status), Some("NetStream.Publish.Failed"));
        // The connection stays; further media of that stream goes nowhere.
        assert!(!session.is_closing());
        let evs = feed_accepting(&mut session, now, &script.video(40, 0x17, 10).take());
        assert!(evs.is_empty(), "{evs:?}");
    }

    #[test]
    fn codecs_outside_the_capabilities_are_refused() {
        let now = Instant::now();
        let caps = EnhancedServerCapabilities::minimal()
            .with_video_codec(VideoFourCc::Hevc, FourCcCapability::forward())
            .with_audio_codec(AudioFourCc::Opus, FourCcCapability::forward());
        let mut session = session_with(EnhancedRtmpMode::Auto, caps);
        let (mut script, mut reader) = publishing(&mut session, now);
        script.message(6, 0, type_id::VIDEO, 1, Bytes::from_static(b"\x90hvc1\x01"));
        script.message(4, 0, type_id::AUDIO, 1, Bytes::from_static(b"\x90Opus\x01"));
        let evs = feed_accepting(&mut session, now, &script.take());
        assert_eq!(evs.len(), 2, "HEVC and Opus are accepted: {evs:?}");
        script.message(6, 0, type_id::VIDEO, 1, Bytes::from_static(b"\x90av01\x81"));
        let evs = feed_accepting(&mut session, now, &script.take());
        assert_eq!(
            evs,
            [ServerEvent::PublishStopped { stream_id: 1 }],
            "AV1 is refused"
        );
        let status = reader.commands(&mut session).pop().unwrap();
        let description = status.argument(0).and_then(|o| {
            o.as_object()?
                .get("description")?
                .as_str()
                .map(str::to_owned)
        });
        assert_eq!(
            description.as_deref(),
            Some("codec av01 is not accepted by this server")
        );
    }
}
