use super::*;
use proptest::prelude::*;

fn decode_all(decoder: &mut ChunkDecoder, mut input: &[u8]) -> Vec<RawMessage> {
    let mut out = Vec::new();
    while let Some(message) = decoder.decode(&mut input).unwrap() {
        out.push(message);
    }
    assert!(input.is_empty());
    out
}

fn decoder() -> ChunkDecoder {
    ChunkDecoder::new(ChunkLimits::default())
}

fn header(csid: u32, timestamp: u32, type_id: u8, stream_id: u32, length: u32) -> MessageHeader {
    MessageHeader {
        csid,
        timestamp,
        type_id,
        stream_id,
        length,
    }
}

fn encode(encoder: &mut ChunkEncoder, h: MessageHeader, payload: &[u8]) -> Vec<u8> {
    let mut out: Vec<Bytes> = Vec::new();
    encoder.encode(&h, &Bytes::copy_from_slice(payload), &mut out);
    out.concat()
}

#[test]
fn fmt0_message_in_one_chunk() {
    let bytes = [
        0x03, // fmt 0, csid 3
        0x00, 0x03, 0xE8, // timestamp 1000
        0x00, 0x00, 0x04, // length 4
        0x14, // type 20
        0x01, 0x00, 0x00, 0x00, // stream id 1, little-endian
        b'a', b'b', b'c', b'd',
    ];
    let messages = decode_all(&mut decoder(), &bytes);
    assert_eq!(
        messages,
        [RawMessage {
            header: header(3, 1000, 20, 1, 4),
            payload: Bytes::from_static(b"abcd")
        }]
    );
    assert_eq!(
        encode(&mut ChunkEncoder::new(), header(3, 1000, 20, 1, 4), b"abcd"),
        bytes
    );
}

#[test]
fn a_300_byte_message_at_chunk_size_128_is_three_chunks() {
    let payload: Vec<u8> = (0..300).map(|i| i as u8).collect();
    let mut expected = vec![0x06, 0, 0, 0, 0x00, 0x01, 0x2C, 9, 1, 0, 0, 0];
    expected.extend_from_slice(&payload[..128]);
    expected.push(0xC6);
    expected.extend_from_slice(&payload[128..256]);
    expected.push(0xC6);
    expected.extend_from_slice(&payload[256..]);
    assert_eq!(
        encode(&mut ChunkEncoder::new(), header(6, 0, 9, 1, 300), &payload),
        expected
    );
    let messages = decode_all(&mut decoder(), &expected);
    assert_eq!(messages.len(), 1);
    assert_eq!(&messages[0].payload[..], &payload[..]);
}

#[test]
fn basic_headers_of_one_two_and_three_bytes() {
    for (csid, basic) in [
        (3u32, vec![0x03]),
        (63, vec![0x3F]),
        (64, vec![0x00, 0x00]),
        (319, vec![0x00, 0xFF]),
        (320, vec![0x01, 0x00, 0x01]),
        (65599, vec![0x01, 0xFF, 0xFF]),
    ] {
        let bytes = encode(&mut ChunkEncoder::new(), header(csid, 5, 8, 1, 2), b"hi");
        assert_eq!(&bytes[..basic.len()], &basic[..], "csid {csid}");
        assert_eq!(decode_all(&mut decoder(), &bytes)[0].header.csid, csid);
    }
}

#[test]
fn fmt1_and_fmt2_compress_against_the_previous_message() {
    let mut encoder = ChunkEncoder::new();
    let first = encode(&mut encoder, header(4, 1000, 8, 1, 3), b"abc");
    let second = encode(&mut encoder, header(4, 1020, 8, 1, 2), b"de"); // new length: fmt 1
    let third = encode(&mut encoder, header(4, 1030, 8, 1, 2), b"fg"); // same length, new delta: fmt 2
    let fourth = encode(&mut encoder, header(4, 1040, 8, 1, 2), b"hi"); // same delta: fmt 3
    assert_eq!(first[0] >> 6, 0);
    assert_eq!(second, [0x44, 0, 0, 20, 0, 0, 2, 8, b'd', b'e']);
    assert_eq!(third, [0x84, 0, 0, 10, b'f', b'g']);
    assert_eq!(fourth, [0xC4, b'h', b'i']);
    let stream: Vec<u8> = [first, second, third, fourth].concat();
    let timestamps: Vec<u32> = decode_all(&mut decoder(), &stream)
        .iter()
        .map(|m| m.header.timestamp)
        .collect();
    assert_eq!(timestamps, [1000, 1020, 1030, 1040]);
}

#[test]
fn fmt3_chunk_opening_a_message_repeats_the_previous_delta() {
    // FMLE's audio: fmt 0 at 1000, fmt 2 delta 23, then fmt 3 chunks each opening a message.
    let mut bytes = vec![0x04, 0, 0x03, 0xE8, 0, 0, 1, 8, 1, 0, 0, 0, 0xAA];
    bytes.extend([0x84, 0, 0, 23, 0xBB]);
    bytes.extend([0xC4, 0xCC, 0xC4, 0xDD]);
    let messages = decode_all(&mut decoder(), &bytes);
    let got: Vec<(u32, u8)> = messages
        .iter()
        .map(|m| (m.header.timestamp, m.payload[0]))
        .collect();
    assert_eq!(
        got,
        [(1000, 0xAA), (1023, 0xBB), (1046, 0xCC), (1069, 0xDD)]
    );
}

#[test]
fn fmt3_after_fmt0_adds_the_absolute_field_like_ffmpeg() {
    let bytes = [0x04, 0, 0, 10, 0, 0, 1, 8, 1, 0, 0, 0, 0xAA, 0xC4, 0xBB];
    let timestamps: Vec<u32> = decode_all(&mut decoder(), &bytes)
        .iter()
        .map(|m| m.header.timestamp)
        .collect();
    assert_eq!(timestamps, [10, 20]);
}

#[test]
fn fmt1_on_a_chunk_stream_never_seen_is_tolerated() {
    // librtmp opens csid 2 with fmt 1.
    let bytes = [0x42, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0x10, 0];
    let messages = decode_all(&mut decoder(), &bytes);
    assert_eq!(messages[0].header, header(2, 0, 1, 0, 4));
}

#[test]
fn fmt2_or_fmt3_on_a_chunk_stream_never_seen_is_an_error() {
    for bytes in [&[0x83u8, 0, 0, 1][..], &[0xC3][..]] {
        let mut input = bytes;
        assert!(matches!(
            decoder().decode(&mut input),
            Err(ChunkError::NoPreviousHeader { csid: 3, .. })
        ));
    }
}

fn extended_message(with_ext_on_continuation: bool) -> Vec<u8> {
    let mut bytes = vec![
        0x06, 0xFF, 0xFF, 0xFF, 0, 0, 200, 9, 1, 0, 0, 0, 0x01, 0x00, 0x00, 0x00,
    ];
    bytes.extend(std::iter::repeat(0x11).take(128));
    bytes.push(0xC6);
    if with_ext_on_continuation {
        bytes.extend([0x01, 0x00, 0x00, 0x00]);
    }
    bytes.extend(std::iter::repeat(0x22).take(72));
    bytes
}

#[test]
fn extended_timestamp_on_continuation_chunks_present() {
    let messages = decode_all(&mut decoder(), &extended_message(true));
    assert_eq!(messages[0].header.timestamp, 0x0100_0000);
    assert_eq!(messages[0].payload.len(), 200);
    assert!(messages[0].payload[128..].iter().all(|&b| b == 0x22));
}

#[test]
fn extended_timestamp_on_continuation_chunks_absent() {
    let messages = decode_all(&mut decoder(), &extended_message(false));
    assert_eq!(messages[0].header.timestamp, 0x0100_0000);
    assert!(messages[0].payload[..128].iter().all(|&b| b == 0x11));
    assert!(messages[0].payload[128..].iter().all(|&b| b == 0x22));
}

#[test]
fn the_encoder_writes_the_extended_timestamp_on_every_continuation() {
    let bytes = encode(
        &mut ChunkEncoder::new(),
        header(6, 0x0100_0000, 9, 1, 200),
        &[0x11; 200],
    );
    assert_eq!(bytes.len(), 16 + 128 + 1 + 4 + 72);
    assert_eq!(&bytes[144..149], &[0xC6, 0x01, 0, 0, 0]);
}

#[test]
fn a_tiny_last_chunk_without_extended_timestamp_does_not_wait_for_more_bytes() {
    // First message teaches the decoder this peer omits it; the second ends in a 2-byte chunk.
    let mut d = decoder();
    decode_all(&mut d, &extended_message(false));
    let mut second = vec![0x46, 0, 0, 33, 0, 0, 130, 9];
    second.extend([0x33; 128]);
    second.extend([0xC6, 0x44, 0x44]);
    // fmt 1 with a small delta: not extended, so no question arises; make it extended instead.
    let mut ext = vec![0x46, 0xFF, 0xFF, 0xFF, 0, 0, 130, 9, 0x02, 0, 0, 0];
    ext.extend([0x33; 128]);
    ext.extend([0xC6, 0x44, 0x44]);
    let messages = decode_all(&mut d, &ext);
    assert_eq!(
        messages.len(),
        1,
        "completed without waiting for 4 more bytes"
    );
    assert_eq!(messages[0].header.timestamp, 0x0100_0000 + 0x0200_0000);
}

#[test]
fn timestamps_cross_the_24_bit_boundary_and_wrap_32_bits() {
    let mut encoder = ChunkEncoder::new();
    let mut d = decoder();
    // 4 h 40 m: the 24-bit field runs out at 16 777 215 ms.
    let timestamps = [
        0xFF_FFF0u32,
        0xFF_FFFE,
        0xFF_FFFF,
        0x100_0010,
        0xFFFF_FFF0,
        0xFFFF_FFFF,
        5,
        40,
    ];
    let mut stream = Vec::new();
    for (i, ts) in timestamps.iter().enumerate() {
        stream.extend(encode(
            &mut encoder,
            header(4, *ts, 8, 1, 300),
            &vec![i as u8; 300],
        ));
    }
    let got: Vec<u32> = decode_all(&mut d, &stream)
        .iter()
        .map(|m| m.header.timestamp)
        .collect();
    assert_eq!(got, timestamps);
}

#[test]
fn interleaved_chunk_streams_are_reassembled_separately() {
    let mut encoder = ChunkEncoder::new();
    let video = encode(&mut encoder, header(6, 0, 9, 1, 200), &[0x17; 200]);
    let audio = encode(&mut encoder, header(4, 0, 8, 1, 10), &[0xAF; 10]);
    // video chunk 1, audio, video chunk 2
    let split = 12 + 128;
    let stream: Vec<u8> = [&video[..split], &audio[..], &video[split..]].concat();
    let messages = decode_all(&mut decoder(), &stream);
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (messages[0].header.csid, messages[0].payload.len()),
        (4, 10)
    );
    assert_eq!(
        (messages[1].header.csid, messages[1].payload.len()),
        (6, 200)
    );
}

#[test]
fn set_chunk_size_takes_effect_from_the_next_chunk() {
    let mut encoder = ChunkEncoder::new();
    encoder.set_chunk_size(4096);
    let bytes = encode(&mut encoder, header(6, 0, 9, 1, 1000), &[7; 1000]);
    assert_eq!(bytes.len(), 12 + 1000);
    let mut d = decoder();
    let mut input = &bytes[..];
    assert!(d.decode(&mut input).is_err() || d.chunk_size() == 128);
    let mut d = decoder();
    d.set_chunk_size(4096).unwrap();
    assert_eq!(decode_all(&mut d, &bytes)[0].payload.len(), 1000);
    assert_eq!(d.set_chunk_size(0), Err(ChunkError::InvalidChunkSize(0)));
    assert_eq!(
        d.set_chunk_size(0x8000_0000),
        Err(ChunkError::InvalidChunkSize(0x8000_0000))
    );
}

#[test]
fn abort_drops_the_partial_message() {
    let mut encoder = ChunkEncoder::new();
    let first = encode(&mut encoder, header(6, 0, 9, 1, 200), &[1; 200]);
    encoder.forget(6);
    let second = encode(&mut encoder, header(6, 40, 9, 1, 5), &[2; 5]);
    let mut d = decoder();
    // The first chunk (header + 128 bytes) arrives; the message is incomplete.
    let mut input = &first[..12 + 128];
    assert_eq!(d.decode(&mut input).unwrap(), None);
    d.abort(6);
    let messages = decode_all(&mut d, &second);
    assert_eq!(messages.len(), 1);
    assert_eq!(&messages[0].payload[..], &[2; 5]);
}

#[test]
fn zero_length_messages_complete_with_their_header() {
    let bytes = encode(&mut ChunkEncoder::new(), header(4, 0, 8, 1, 0), b"");
    assert_eq!(bytes.len(), 12);
    let messages = decode_all(&mut decoder(), &bytes);
    assert_eq!(messages.len(), 1);
    assert!(messages[0].payload.is_empty());
}

#[test]
fn message_over_the_size_limit_is_refused_before_allocating() {
    let mut d = ChunkDecoder::new(ChunkLimits {
        max_message_size: 1000,
        ..ChunkLimits::default()
    });
    let mut input = &[0x03u8, 0, 0, 0, 0, 0x03, 0xE9, 20, 0, 0, 0, 0][..];
    assert_eq!(
        d.decode(&mut input),
        Err(ChunkError::MessageTooLarge {
            csid: 3,
            length: 1001,
            limit: 1000
        })
    );
}

#[test]
fn too_many_chunk_streams_is_refused() {
    let mut d = ChunkDecoder::new(ChunkLimits {
        max_chunk_streams: 3,
        ..ChunkLimits::default()
    });
    let mut encoder = ChunkEncoder::new();
    let mut bytes = Vec::new();
    for csid in 3..7 {
        bytes.extend(encode(&mut encoder, header(csid, 0, 8, 1, 1), &[0]));
    }
    let mut input = &bytes[..];
    for _ in 0..3 {
        assert!(d.decode(&mut input).unwrap().is_some());
    }
    assert_eq!(
        d.decode(&mut input),
        Err(ChunkError::TooManyChunkStreams { limit: 3 })
    );
}

#[test]
fn standalone_encoding_is_self_contained() {
    let h = header(6, 1234, 9, 1, 300);
    let payload = Bytes::from(vec![5u8; 300]);
    let mut out: Vec<Bytes> = Vec::new();
    ChunkEncoder::encode_standalone(128, &h, &payload, &mut out);
    assert_eq!(
        out.len(),
        6,
        "three header segments and three payload slices"
    );
    let bytes: Vec<u8> = out.concat();
    let messages = decode_all(&mut decoder(), &bytes);
    assert_eq!(messages[0].header, h);
    assert_eq!(messages[0].payload, payload);
}

#[test]
fn large_payloads_are_sliced_not_copied() {
    let payload = Bytes::from(vec![9u8; 10_000]);
    let mut out: Vec<Bytes> = Vec::new();
    let mut encoder = ChunkEncoder::new();
    encoder.set_chunk_size(4096);
    encoder.encode(&header(6, 0, 9, 1, 0), &payload, &mut out);
    let slices: Vec<&Bytes> = out.iter().filter(|b| b.len() >= 1000).collect();
    assert_eq!(slices.len(), 3);
    assert_eq!(
        slices[0].as_ptr(),
        payload.as_ptr(),
        "the first payload segment shares the payload's memory"
    );
}

#[derive(Debug, Clone)]
struct Msg {
    csid: u32,
    ts: u32,
    type_id: u8,
    stream_id: u32,
    payload: Vec<u8>,
}

fn msg_strategy() -> impl Strategy<Value = Msg> {
    (
        prop_oneof![Just(3u32), Just(4), Just(6), Just(64), Just(400)],
        prop_oneof![0u32..100_000, 0xFF_FF00u32..0x100_0100, any::<u32>()],
        prop_oneof![Just(8u8), Just(9), Just(20)],
        0u32..3,
        proptest::collection::vec(any::<u8>(), 0..700),
    )
        .prop_map(|(csid, ts, type_id, stream_id, payload)| Msg {
            csid,
            ts,
            type_id,
            stream_id,
            payload,
        })
}

fn encode_sequence(messages: &[Msg], chunk_size: u32) -> Vec<u8> {
    let mut encoder = ChunkEncoder::new();
    encoder.set_chunk_size(chunk_size);
    let mut bytes = Vec::new();
    for m in messages {
        bytes.extend(encode(
            &mut encoder,
            header(m.csid, m.ts, m.type_id, m.stream_id, 0),
            &m.payload,
        ));
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Encoded message sequences decode to the same messages, whatever the chunk size
    /// and however the bytes are split.
    #[test]
    fn round_trip_under_any_split(
        messages in proptest::collection::vec(msg_strategy(), 1..30),
        chunk_size in prop_oneof![Just(1u32), Just(128), Just(4096), Just(65536), 2u32..300],
        mut cuts in proptest::collection::vec(any::<usize>(), 0..40),
    ) {
        let bytes = encode_sequence(&messages, chunk_size);
        let mut d = decoder();
        d.set_chunk_size(chunk_size).unwrap();
        cuts.iter_mut().for_each(|c| *c %= bytes.len() + 1);
        cuts.sort_unstable();
        let mut decoded = Vec::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain(std::iter::once(bytes.len())) {
            let mut piece = &bytes[start..cut];
            while let Some(m) = d.decode(&mut piece).unwrap() {
                decoded.push(m);
            }
            prop_assert!(piece.is_empty());
            start = cut;
        }
        prop_assert_eq!(decoded.len(), messages.len());
        for (got, want) in decoded.iter().zip(&messages) {
            prop_assert_eq!(got.header.csid, want.csid);
            prop_assert_eq!(got.header.timestamp, want.ts);
            prop_assert_eq!(got.header.type_id, want.type_id);
            prop_assert_eq!(got.header.stream_id, want.stream_id);
            prop_assert_eq!(&got.payload[..], &want.payload[..]);
        }
    }

    /// Arbitrary bytes never panic the decoder.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), chunk_size in 1u32..300) {
        let mut d = decoder();
        d.set_chunk_size(chunk_size).unwrap();
        let mut input = &bytes[..];
        while let Ok(Some(_)) = d.decode(&mut input) {}
    }
}

#[test]
fn a_new_header_mid_message_replaces_the_partial_message() {
    let mut encoder = ChunkEncoder::new();
    let first = encode(&mut encoder, header(6, 0, 9, 1, 200), &[1; 200]);
    encoder.forget(6);
    let second = encode(&mut encoder, header(6, 40, 9, 1, 5), &[2; 5]);
    let stream: Vec<u8> = [&first[..12 + 128], &second[..]].concat();
    let mut d = ChunkDecoder::new(ChunkLimits {
        max_buffered_bytes: 150,
        ..ChunkLimits::default()
    });
    let messages = decode_all(&mut d, &stream);
    assert_eq!(messages.len(), 1);
    assert_eq!(&messages[0].payload[..], &[2; 5]);
    // The dropped partial message no longer counts against the buffered bound.
    let mut more = Vec::new();
    encoder.forget(6);
    more.extend(encode(&mut encoder, header(6, 80, 9, 1, 140), &[3; 140]));
    assert_eq!(decode_all(&mut d, &more)[0].payload.len(), 140);
}

#[test]
fn partial_messages_across_chunk_streams_are_bounded_together() {
    let mut d = ChunkDecoder::new(ChunkLimits {
        max_buffered_bytes: 1000,
        ..ChunkLimits::default()
    });
    let mut encoder = ChunkEncoder::new();
    let mut stream = Vec::new();
    // Ten chunk streams each start a 4000-byte message and send one 128-byte chunk.
    for csid in 3..13 {
        stream.extend_from_slice(
            &encode(&mut encoder, header(csid, 0, 9, 1, 4000), &[0; 4000])[..12 + 128],
        );
    }
    let mut input = &stream[..];
    let result = loop {
        match d.decode(&mut input) {
            Ok(Some(_)) => continue,
            other => break other,
        }
    };
    assert_eq!(result, Err(ChunkError::TooMuchBuffered { limit: 1000 }));
}
