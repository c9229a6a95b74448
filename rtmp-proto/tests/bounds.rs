//! Every bound a peer can push against: a hostile peer hits it and is closed with a
//! reason, while a publisher and a player on the same server carry on.

mod common;

use bytes::{Bytes, BytesMut};
use common::pair::World;
use rtmp_proto::amf::{self, Amf0Value, AmfObject};
use rtmp_proto::chunk::{ChunkEncoder, ChunkLimits, MessageHeader};
use rtmp_proto::media::{MediaKind, MediaMessage};
use rtmp_proto::message::{Command, ControlMessage, UserControl};
use rtmp_proto::{ClientEvent, SessionConfig};
use std::time::Duration;

/// C0 + C1 + C2 of a simple handshake.
fn handshake() -> Vec<u8> {
    let mut bytes = vec![3u8];
    bytes.extend(std::iter::repeat(0u8).take(2 * 1536));
    bytes
}

fn chunk(
    encoder: &mut ChunkEncoder,
    csid: u32,
    type_id: u8,
    stream_id: u32,
    payload: Bytes,
) -> Vec<u8> {
    let header = MessageHeader {
        csid,
        timestamp: 0,
        type_id,
        stream_id,
        length: 0,
    };
    let mut out: Vec<Bytes> = Vec::new();
    encoder.encode(&header, &payload, &mut out);
    out.concat()
}

fn command(
    encoder: &mut ChunkEncoder,
    name: &str,
    object: Amf0Value,
    args: Vec<Amf0Value>,
) -> Vec<u8> {
    let payload = Command {
        name: name.into(),
        transaction_id: 1.0,
        command_object: object,
        arguments: args,
    }
    .encode();
    chunk(encoder, 3, 20, 0, payload)
}

/// A world with a live publisher and player on `steady`.
fn steady_world(config: SessionConfig) -> (World, usize, usize) {
    let mut world = World::new(config);
    let publisher = world.publish("steady");
    world.run();
    let player = world.play("steady");
    world.run();
    assert!(world.conns[player]
        .events
        .contains(&ClientEvent::PlayStarted));
    (world, publisher, player)
}

/// The publisher and player still work: a keyframe goes through.
fn assert_steady(world: &mut World, publisher: usize, player: usize) {
    let before = world.conns[player].media_count();
    let frame = MediaMessage::new(MediaKind::Video, 1000, Bytes::from(vec![0x17; 5000]));
    world.conns[publisher].client.send_media(&frame);
    world.run();
    assert!(world.conns[publisher].closed.is_none());
    assert!(world.conns[player].closed.is_none());
    assert_eq!(
        world.conns[player].media_count(),
        before + 1,
        "delivery continues"
    );
}

fn assert_closed_with(world: &World, conn: usize, fragment: &str) {
    let reason = world.conns[conn].closed.as_deref().unwrap_or("still open");
    assert!(
        reason.contains(fragment),
        "closed with {reason:?}, expected {fragment:?}"
    );
}

#[test]
fn bound_message_size() {
    let config = SessionConfig {
        chunk_limits: ChunkLimits {
            max_message_size: 64 * 1024,
            ..ChunkLimits::default()
        },
        ..SessionConfig::default()
    };
    let (mut world, publisher, player) = steady_world(config);
    let hostile = world.hostile();
    let mut bytes = handshake();
    bytes.extend([0x06, 0, 0, 0, 0x01, 0x00, 0x01, 9, 1, 0, 0, 0]); // 65537 bytes announced
    world.inject(hostile, &bytes);
    assert_closed_with(&world, hostile, "exceeds the 65536-byte limit");
    assert_steady(&mut world, publisher, player);
}

#[test]
fn bound_chunk_streams_per_connection() {
    let (mut world, publisher, player) = steady_world(SessionConfig::default());
    let hostile = world.hostile();
    let mut bytes = handshake();
    let mut encoder = ChunkEncoder::new();
    for csid in 3..100 {
        // Each opens a message on a new chunk stream: one whole chunk, then nothing.
        let header_len = if csid < 64 { 12 } else { 13 };
        bytes.extend_from_slice(
            &chunk(&mut encoder, csid, 9, 1, Bytes::from(vec![0u8; 200]))[..header_len + 128],
        );
    }
    world.inject(hostile, &bytes);
    assert_closed_with(&world, hostile, "more than 64 chunk streams");
    assert_steady(&mut world, publisher, player);
}

#[test]
fn bound_bytes_buffered_in_partial_messages() {
    let config = SessionConfig {
        chunk_limits: ChunkLimits {
            max_buffered_bytes: 100_000,
            ..ChunkLimits::default()
        },
        ..SessionConfig::default()
    };
    let (mut world, publisher, player) = steady_world(config);
    let hostile = world.hostile();
    let mut bytes = handshake();
    let mut encoder = ChunkEncoder::new();
    bytes.extend(chunk(
        &mut encoder,
        2,
        1,
        0,
        ControlMessage::SetChunkSize(4096).encode(),
    ));
    encoder.set_chunk_size(4096);
    for csid in 3..60 {
        // The first 4 KiB chunk of each of many 1 MiB messages: nothing ever completes.
        bytes.extend_from_slice(
            &chunk(&mut encoder, csid, 9, 1, Bytes::from(vec![0u8; 1 << 20]))[..12 + 4096],
        );
    }
    world.inject(hostile, &bytes);
    assert_closed_with(
        &world,
        hostile,
        "partly received messages exceed 100000 bytes",
    );
    assert_steady(&mut world, publisher, player);
}

#[test]
fn bound_amf_nesting_depth() {
    let (mut world, publisher, player) = steady_world(SessionConfig::default());
    let hostile = world.hostile();
    let mut nested = Amf0Value::Null;
    for _ in 0..100 {
        nested = AmfObject::new().with("x", nested).into();
    }
    let mut bytes = handshake();
    bytes.extend(command(&mut ChunkEncoder::new(), "connect", nested, vec![]));
    world.inject(hostile, &bytes);
    assert_closed_with(&world, hostile, "bad AMF payload");
    assert_steady(&mut world, publisher, player);
}

#[test]
fn bound_amf_element_count() {
    let (mut world, publisher, player) = steady_world(SessionConfig::default());
    let hostile = world.hostile();
    let mut payload = BytesMut::new();
    amf::encode_all(
        &[
            "connect".into(),
            1.0.into(),
            Amf0Value::StrictArray(vec![Amf0Value::Null; 70_000]),
        ],
        &mut payload,
    );
    let mut encoder = ChunkEncoder::new();
    encoder.set_chunk_size(1 << 20);
    let mut bytes = handshake();
    bytes.extend(chunk(
        &mut encoder,
        2,
        1,
        0,
        ControlMessage::SetChunkSize(1 << 20).encode(),
    ));
    bytes.extend(chunk(&mut encoder, 3, 20, 0, payload.freeze()));
    world.inject(hostile, &bytes);
    assert_closed_with(&world, hostile, "bad AMF payload");
    assert_steady(&mut world, publisher, player);
}

#[test]
fn bound_pending_output_of_a_peer_that_never_reads() {
    let config = SessionConfig {
        max_pending_output: 8 * 1024,
        ..SessionConfig::default()
    };
    let (mut world, publisher, player) = steady_world(config);
    let hostile = world.hostile();
    let mut bytes = handshake();
    let mut encoder = ChunkEncoder::new();
    for i in 0..2000 {
        // Every ping is answered; the answers pile up unread.
        let ping = ControlMessage::UserControl(UserControl::PingRequest(i)).encode();
        bytes.extend(chunk(&mut encoder, 2, 4, 0, ping));
    }
    world.inject(hostile, &bytes);
    assert_closed_with(&world, hostile, "peer is not reading");
    assert_steady(&mut world, publisher, player);
}

#[test]
fn bound_handshake_timeout() {
    let (mut world, publisher, player) = steady_world(SessionConfig::default());
    let hostile = world.hostile();
    world.inject(hostile, &handshake()[..700]);
    world.advance(Duration::from_secs(9));
    assert!(
        world.conns[hostile].closed.is_none(),
        "{:?}",
        world.conns[hostile].closed
    );
    // Keep the good sessions talking while the clock runs.
    assert_steady(&mut world, publisher, player);
    world.advance(Duration::from_secs(2));
    assert_closed_with(&world, hostile, "no connect within the connection timeout");
    assert_steady(&mut world, publisher, player);
}

#[test]
fn bound_message_streams_per_connection() {
    let (mut world, publisher, player) = steady_world(SessionConfig::default());
    let hostile = world.hostile();
    let mut encoder = ChunkEncoder::new();
    let mut bytes = handshake();
    bytes.extend(command(
        &mut encoder,
        "connect",
        AmfObject::new().with("app", "live").into(),
        vec![],
    ));
    for _ in 0..50 {
        bytes.extend(command(
            &mut encoder,
            "createStream",
            Amf0Value::Null,
            vec![],
        ));
    }
    world.inject(hostile, &bytes);
    // Streams beyond the bound are refused with _error; the connection itself is not hurt.
    assert!(
        world.conns[hostile].closed.is_none(),
        "{:?}",
        world.conns[hostile].closed
    );
    assert_steady(&mut world, publisher, player);
}
