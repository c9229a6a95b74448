//! The bodies of the fuzz targets, shared by `fuzz/fuzz_targets/*.rs` (libFuzzer, nightly)
//! and `tests/fuzz_corpus.rs` (the checked-in corpora replayed by `cargo test`).
//!
//! Each body takes arbitrary bytes and never panics by itself: a panic can only come
//! from the code under test, or from an assertion of something the library promises
//! (an accepted AMF0 payload re-encodes and decodes again, a decoded message is as long
//! as its header says, and so on).
//!
//! Inputs that drive a stateful API start with a few header bytes; how the rest is cut
//! into pieces, how the virtual clock moves and which extra calls are made come from
//! [`Dice`], a small generator seeded from those header bytes.
#![allow(dead_code)] // every fuzz target uses one body

use bytes::Bytes;
use rtmp_proto::amf::{self, amf3, Amf0Value, Amf3Value, AmfLimits};
use rtmp_proto::chunk::{ChunkDecoder, ChunkLimits};
use rtmp_proto::flv::{FlvReader, FlvTag, FlvWriter};
use rtmp_proto::handshake::{ClientHandshake, HandshakeForm, ServerHandshake, HANDSHAKE_BLOCK};
use rtmp_proto::hub::Delivery;
use rtmp_proto::media::{classify_audio, classify_video, MediaKind, MediaMessage};
use rtmp_proto::message::ControlMessage;
use rtmp_proto::session::OutputQueue;
use rtmp_proto::{
    ClientEvent, ClientIntent, ClientParams, ClientSession, ServerEvent, ServerSession,
    SessionConfig,
};
use std::io::IoSlice;
use std::time::{Duration, Instant};

/// Seed of the handshakes the bodies run, so seed inputs can answer them exactly.
pub const HANDSHAKE_SEED: u64 = 0x5EED_F00D;

/// C0/S0 + two zeroed blocks: a valid simple-form handshake from either side.
pub fn simple_handshake() -> Vec<u8> {
    let mut bytes = vec![3u8];
    bytes.resize(1 + 2 * HANDSHAKE_BLOCK, 0);
    bytes
}

/// Deterministic choices derived from input bytes (SplitMix64 over a folded seed).
pub struct Dice {
    state: u64,
}

impl Dice {
    /// A generator seeded from `bytes`.
    pub fn new(bytes: &[u8]) -> Self {
        let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ bytes.len() as u64;
        for &b in bytes {
            state = state.rotate_left(8) ^ u64::from(b);
        }
        Dice { state }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// True with probability `rate / 256`.
    fn chance(&mut self, rate: u8) -> bool {
        self.below(256) < u64::from(rate)
    }

    /// Length of the next piece of `left` bytes. `split` 0 gives everything at once,
    /// 1 single bytes, anything else pieces of 1 ..= `split` bytes.
    fn piece_len(&mut self, split: u8, left: usize) -> usize {
        let len = match split {
            0 => left,
            1 => 1,
            max => 1 + self.below(u64::from(max)) as usize,
        };
        len.min(left)
    }
}

/// The first `N` bytes (zero where the input is shorter) and the rest.
fn header<const N: usize>(data: &[u8]) -> ([u8; N], &[u8]) {
    let mut head = [0u8; N];
    let n = data.len().min(N);
    head[..n].copy_from_slice(&data[..n]);
    (head, &data[n..])
}

/// Takes the next piece off the front of `rest`.
fn next_piece<'a>(rest: &mut &'a [u8], dice: &mut Dice, split: u8) -> &'a [u8] {
    let (piece, tail) = rest.split_at(dice.piece_len(split, rest.len()));
    *rest = tail;
    piece
}

// ----------------------------------------------------------------------------------
// chunk_decoder
// ----------------------------------------------------------------------------------

/// Header: chunk size, split mode, limits (even: defaults; odd: tight bounds).
pub fn chunk_decoder(data: &[u8]) {
    let ([size, split, limits], mut rest) = header::<3>(data);
    let mut dice = Dice::new(&[size, split, limits]);
    let limits = if limits & 1 == 0 {
        ChunkLimits::default()
    } else {
        let l = usize::from(limits);
        ChunkLimits {
            max_message_size: (l * 8) as u32,
            max_chunk_streams: 1 + (l >> 1) % 16,
            max_buffered_bytes: l * 4,
        }
    };
    let mut decoder = ChunkDecoder::new(limits);
    if size != 0 {
        // 0 keeps the default of 128.
        let _ = decoder.set_chunk_size(1 + u32::from(size - 1) * 97);
    }
    while !rest.is_empty() {
        let mut piece = next_piece(&mut rest, &mut dice, split);
        loop {
            let message = match decoder.decode(&mut piece) {
                Ok(Some(message)) => message,
                Ok(None) => break,
                Err(_) => return,
            };
            assert_eq!(message.payload.len(), message.header.length as usize);
            // Protocol control, applied as a session applies it.
            match ControlMessage::parse(message.header.type_id, &message.payload) {
                Ok(Some(ControlMessage::SetChunkSize(size))) => {
                    let _ = decoder.set_chunk_size(size);
                }
                Ok(Some(ControlMessage::Abort { csid })) => decoder.abort(csid),
                _ => {}
            }
        }
        assert!(piece.is_empty(), "decode returned None with input left");
    }
}

// ----------------------------------------------------------------------------------
// amf0 / amf3
// ----------------------------------------------------------------------------------

fn encode_values(values: &[Amf0Value]) -> Vec<u8> {
    let mut out = bytes::BytesMut::new();
    amf::encode_all(values, &mut out);
    assert_eq!(
        out.len(),
        values.iter().map(amf::encoded_len).sum::<usize>(),
        "encoded_len disagrees with encode_all"
    );
    out.to_vec()
}

/// Whatever AMF0 the decoder accepts re-encodes into bytes that decode again, and
/// encoding is stable from then on (values may change once: invalid UTF-8 is replaced,
/// an over-long expanded key is clipped, a missing object end is added).
pub fn amf0(data: &[u8]) {
    let limits = AmfLimits::default();
    let mut cursor = data;
    if amf::decode_value(&mut cursor, &limits).is_err() {
        assert_eq!(
            cursor.len(),
            data.len(),
            "a failed decode_value moved the input"
        );
    }
    let Ok(values) = amf::decode_all(data, &limits) else {
        return;
    };
    let encoded = encode_values(&values);
    let again = match amf::decode_all(&encoded, &limits) {
        Ok(again) => again,
        Err(e) => panic!("re-encoded AMF0 does not decode: {e:?}"),
    };
    assert_eq!(again.len(), values.len());
    assert_eq!(
        encode_values(&again),
        encoded,
        "AMF0 encoding is not stable"
    );
}

fn encode_amf3(value: &Amf3Value) -> Vec<u8> {
    let mut out = bytes::BytesMut::new();
    amf3::encode_value(value, &mut out);
    assert_eq!(
        out.len(),
        amf3::encoded_len(value),
        "amf3::encoded_len disagrees with encode_value"
    );
    out.to_vec()
}

/// One AMF3 value through `amf3::decode_value`: whatever it accepts re-encodes into
/// bytes it accepts again, under the same limits, and decodes to the same value (when
/// no NaN makes equality meaningless); encoding is then stable. The same bytes behind
/// the AMF0 "switch to AMF3" marker (0x11) then go through the AMF0 body.
pub fn amf3(data: &[u8]) {
    let limits = AmfLimits::default();
    let mut cursor = data;
    match amf3::decode_value(&mut cursor, &limits) {
        Err(_) => assert_eq!(
            cursor.len(),
            data.len(),
            "a failed decode_value moved the input"
        ),
        Ok(value) => {
            let encoded = encode_amf3(&value);
            let mut input = &encoded[..];
            let again = match amf3::decode_value(&mut input, &limits) {
                Ok(again) => again,
                Err(e) => panic!("re-encoded AMF3 does not decode: {e:?}"),
            };
            assert!(
                input.is_empty(),
                "re-encoded AMF3 decodes with bytes left over"
            );
            if !format!("{value:?}").contains("NaN") {
                assert_eq!(again, value, "AMF3 value changed by a round trip");
            }
            assert_eq!(encode_amf3(&again), encoded, "AMF3 encoding is not stable");
        }
    }

    let mut input = Vec::with_capacity(1 + data.len());
    input.push(0x11);
    input.extend_from_slice(data);
    amf0(&input);
}

// ----------------------------------------------------------------------------------
// handshake
// ----------------------------------------------------------------------------------

const HANDSHAKE_LEN: usize = 1 + 2 * HANDSHAKE_BLOCK;

/// Feeds `input` in pieces to `handle`, which takes what it can of a piece and says
/// whether the handshake is done (`None`: it failed). Returns the bytes consumed, or
/// `None` once the handshake failed. Input may be left over only once it is done.
fn feed_handshake(
    mut rest: &[u8],
    dice: &mut Dice,
    split: u8,
    mut handle: impl FnMut(&mut &[u8]) -> Option<bool>,
) -> Option<usize> {
    let mut consumed = 0;
    while !rest.is_empty() {
        let piece = next_piece(&mut rest, dice, split);
        let mut left = piece;
        let done = handle(&mut left)?;
        consumed += piece.len() - left.len();
        assert!(left.is_empty() || done, "input left over mid-handshake");
    }
    Some(consumed)
}

/// Header: split mode, client form (bit 0: digest). The rest goes to a server
/// handshake and, separately, to a started client handshake.
pub fn handshake(data: &[u8]) {
    let ([split, form], input) = header::<2>(data);
    let mut dice = Dice::new(&[split, form]);

    let mut server = ServerHandshake::new(HANDSHAKE_SEED, 0);
    let mut out: Vec<Bytes> = Vec::new();
    let fed = feed_handshake(input, &mut dice, split, |left| {
        (server.handle_input(left, &mut out).ok()).map(|()| server.is_done())
    });
    let sent: usize = out.iter().map(Bytes::len).sum();
    if let Some(consumed) = fed {
        assert_eq!(server.is_done(), consumed == HANDSHAKE_LEN);
        assert_eq!(server.form().is_some(), consumed > HANDSHAKE_BLOCK);
        assert_eq!(
            sent,
            if server.form().is_some() {
                HANDSHAKE_LEN
            } else {
                0
            }
        );
    }

    let form = if form & 1 == 0 {
        HandshakeForm::Simple
    } else {
        HandshakeForm::Digest
    };
    let mut client = ClientHandshake::new(form, HANDSHAKE_SEED, 0);
    let mut out: Vec<Bytes> = Vec::new();
    client.start(&mut out);
    client.start(&mut out); // a second start does nothing
    let fed = feed_handshake(input, &mut dice, split, |left| {
        (client.handle_input(left, &mut out).ok()).map(|()| client.is_done())
    });
    let sent: usize = out.iter().map(Bytes::len).sum();
    if let Some(consumed) = fed {
        assert_eq!(client.is_done(), consumed == HANDSHAKE_LEN);
        let c2_sent = consumed > HANDSHAKE_BLOCK;
        assert_eq!(sent, 1 + HANDSHAKE_BLOCK * (1 + usize::from(c2_sent)));
        match form {
            HandshakeForm::Simple => assert_eq!(client.server_verified(), None),
            HandshakeForm::Digest => {
                assert_eq!(client.server_verified().is_some(), client.is_done())
            }
        }
    }
}

// ----------------------------------------------------------------------------------
// sessions
// ----------------------------------------------------------------------------------

/// The peer's view of a session's output: the handshake blocks are skipped, the rest
/// must decode as a chunk stream (Set Chunk Size applied as the peer would).
struct Peer {
    skip: usize,
    decoder: ChunkDecoder,
}

impl Peer {
    fn new() -> Self {
        Peer {
            skip: HANDSHAKE_LEN,
            decoder: ChunkDecoder::new(ChunkLimits::default()),
        }
    }

    fn receive(&mut self, mut bytes: &[u8]) {
        let skip = self.skip.min(bytes.len());
        self.skip -= skip;
        bytes = &bytes[skip..];
        loop {
            match self.decoder.decode(&mut bytes) {
                Ok(Some(message)) => {
                    if let Ok(Some(ControlMessage::SetChunkSize(size))) =
                        ControlMessage::parse(message.header.type_id, &message.payload)
                    {
                        if let Err(e) = self.decoder.set_chunk_size(size) {
                            panic!("session announced a bad chunk size: {e}");
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => panic!("session output is not a valid chunk stream: {e}"),
            }
        }
    }
}

/// Checks the output queue's bookkeeping, then "writes" some or all of it to `peer`;
/// returns how many bytes were written.
fn write_output(queue: &OutputQueue, dice: &mut Dice, peer: &mut Peer) -> usize {
    let total: usize = queue.segments().map(Bytes::len).sum();
    assert_eq!(total, queue.len());
    assert_eq!(queue.is_empty(), total == 0);
    let mut slices = [IoSlice::new(&[]); 4];
    let filled = queue.io_slices(&mut slices);
    assert!(filled <= slices.len());
    let written = if dice.chance(192) {
        total
    } else {
        dice.below(total as u64 + 1) as usize
    };
    let mut left = written;
    for segment in queue.segments() {
        if left == 0 {
            break;
        }
        let n = left.min(segment.len());
        peer.receive(&segment[..n]);
        left -= n;
    }
    written
}

/// Moves the virtual clock now and then, by anything from 1 ms to about two minutes.
fn tick(now: &mut Instant, dice: &mut Dice, rate: u8) -> bool {
    if !dice.chance(rate) {
        return false;
    }
    let scale = dice.below(18);
    let step = dice.below(1 << scale) + 1;
    *now += Duration::from_millis(step);
    true
}

/// A media message with a payload cut from `bytes`.
fn media(dice: &mut Dice, bytes: &[u8]) -> MediaMessage {
    let kind = if dice.chance(128) {
        MediaKind::Audio
    } else {
        MediaKind::Video
    };
    let len = dice.below(bytes.len() as u64 + 1) as usize;
    let payload = Bytes::copy_from_slice(&bytes[..len]);
    MediaMessage::new(kind, dice.next() as u32, payload)
}

fn delivery(dice: &mut Dice, bytes: &[u8]) -> Delivery {
    match dice.below(8) {
        0 => Delivery::PublishStarted,
        1 => Delivery::PublishStopped,
        2 => Delivery::Metadata(Bytes::from_static(
            b"\x02\x00\x0aonMetaData\x08\x00\x00\x00\x01\x00\x05width\x00\x40\x94\0\0\0\0\0\0\x00\x00\x09",
        )),
        _ => Delivery::Media(media(dice, bytes).into()),
    }
}

/// Header: split mode, clock rate, delivery rate, handshake seed. The body prepends
/// C0 C1 C2 of a simple handshake, then feeds everything to a server session in pieces,
/// accepting every request.
pub fn server_session(data: &[u8]) {
    let (head, stream) = header::<4>(data);
    let [split, clock, rate, seed] = head;
    let mut dice = Dice::new(&head);
    let mut now = Instant::now();
    let mut session = ServerSession::new(SessionConfig::default(), now, u64::from(seed));
    let mut input = simple_handshake();
    input.extend_from_slice(stream);
    let mut rest = &input[..];
    let mut peer = Peer::new();
    // The last delivery, sent again to another stream now and then (media is shared
    // between players, encoding included).
    let mut last: Option<Delivery> = None;
    while !rest.is_empty() {
        let piece = next_piece(&mut rest, &mut dice, split);
        if session.handle_input(now, piece).is_err() {
            assert!(session.error().is_some() && session.is_closing());
            return;
        }
        while let Some(event) = session.poll_event() {
            match event {
                ServerEvent::ConnectRequest { id, .. }
                | ServerEvent::PublishRequest { id, .. }
                | ServerEvent::PlayRequest { id, .. } => session.accept(now, id),
                _ => {}
            }
        }
        if session.error().is_some() {
            return;
        }
        if dice.chance(rate) {
            let stream_id = 1 + dice.below(3) as u32;
            let delivery = match last.take() {
                Some(again) if dice.chance(64) => again,
                _ => delivery(&mut dice, piece),
            };
            session.deliver(now, stream_id, &delivery);
            last = Some(delivery);
        }
        if tick(&mut now, &mut dice, clock) {
            let _ = session.poll_timeout();
            if session.handle_timeout(now).is_err() {
                assert!(session.error().is_some() && session.is_closing());
                return;
            }
        }
        let written = write_output(session.output(), &mut dice, &mut peer);
        session.advance_output(written);
    }
}

/// Header: options (bit 0 play instead of publish, bit 1 simple handshake, bit 2
/// AMF3 commands), split mode, clock rate. The body prepends S0 S1 S2 of a simple
/// handshake and feeds everything to a client session in pieces.
pub fn client_session(data: &[u8]) {
    let (head, stream) = header::<3>(data);
    let [options, split, clock] = head;
    let mut dice = Dice::new(&head);
    let intent = if options & 1 == 0 {
        ClientIntent::Publish {
            stream: "key".into(),
            publish_type: "live".into(),
        }
    } else {
        ClientIntent::Play {
            stream: "key".into(),
            start: -2.0,
        }
    };
    let mut params = ClientParams::new("rtmp://h/live", "live");
    if options & 2 != 0 {
        params.handshake = HandshakeForm::Simple;
    }
    if options & 4 != 0 {
        params.object_encoding = 3.0;
    }
    let mut now = Instant::now();
    let mut session = ClientSession::new(
        SessionConfig::default(),
        params,
        intent,
        now,
        HANDSHAKE_SEED,
    );
    let mut input = simple_handshake();
    input.extend_from_slice(stream);
    let mut rest = &input[..];
    let mut peer = Peer::new();
    let mut sent_media = false;
    while !rest.is_empty() {
        let piece = next_piece(&mut rest, &mut dice, split);
        if session.handle_input(now, piece).is_err() {
            assert!(session.error().is_some() && session.is_closing());
            return;
        }
        while let Some(event) = session.poll_event() {
            if event == ClientEvent::PublishStarted && !sent_media {
                sent_media = true;
                let message = media(&mut dice, piece);
                session.send_media(&message);
                session.send_metadata(&Bytes::from_static(b"\x02\x00\x0aonMetaData\x05"));
            }
        }
        if tick(&mut now, &mut dice, clock) {
            let _ = session.poll_timeout();
            if session.handle_timeout(now).is_err() {
                assert!(session.error().is_some() && session.is_closing());
                return;
            }
        }
        let written = write_output(session.output(), &mut dice, &mut peer);
        session.advance_output(written);
    }
}

// ----------------------------------------------------------------------------------
// media_and_flv
// ----------------------------------------------------------------------------------

/// Classifies the data as audio and video, and reads it as an FLV file in pieces; the
/// tags read must write and read back unchanged.
pub fn media_and_flv(data: &[u8]) {
    let _ = classify_video(data);
    let _ = classify_audio(data);
    let payload = Bytes::copy_from_slice(data);
    let video = MediaMessage::new(MediaKind::Video, 0, payload.clone());
    assert_eq!(video.class, classify_video(data));
    let audio = MediaMessage::new(MediaKind::Audio, 0, payload);
    assert_eq!(audio.class, classify_audio(data));

    let mut dice = Dice::new(&data.len().to_le_bytes());
    let mut reader = FlvReader::new();
    let mut tags: Vec<FlvTag> = Vec::new();
    let mut rest = data;
    'feed: while !rest.is_empty() {
        let piece = next_piece(&mut rest, &mut dice, 64);
        reader.push(piece);
        loop {
            match reader.next_tag() {
                Ok(Some(tag)) => tags.push(tag),
                Ok(None) => break,
                Err(_) => break 'feed,
            }
        }
    }

    let mut file = FlvWriter::header(true, true).to_vec();
    for tag in &tags {
        file.extend_from_slice(&FlvWriter::tag(tag));
    }
    let mut reader = FlvReader::new();
    reader.push(&file);
    let mut again = Vec::new();
    while let Some(tag) = reader.next_tag().expect("written FLV reads back") {
        again.push(tag);
    }
    assert_eq!(again, tags);
}
