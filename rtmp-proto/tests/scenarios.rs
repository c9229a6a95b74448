//! Whole scenarios through in-memory client and server sessions around one hub.

mod common;

use bytes::Bytes;
use common::pair::World;
use rtmp_proto::amf::{self, AmfObject};
use rtmp_proto::media::{MediaKind, MediaMessage};
use rtmp_proto::message::UserControl;
use rtmp_proto::{ClientEvent, ServerEvent};
use std::time::Duration;

fn metadata() -> Bytes {
    let mut payload = bytes::BytesMut::new();
    amf::encode_all(
        &[
            "onMetaData".into(),
            AmfObject::new().with("width", 640.0).into(),
        ],
        &mut payload,
    );
    payload.freeze()
}

fn video(ts: u32, first: u8, size: usize) -> MediaMessage {
    let payload: Vec<u8> = [first, 1]
        .into_iter()
        .chain((0..size).map(|i| (i * 7 + ts as usize) as u8))
        .collect();
    MediaMessage::new(MediaKind::Video, ts, Bytes::from(payload))
}

fn audio(ts: u32) -> MediaMessage {
    MediaMessage::new(
        MediaKind::Audio,
        ts,
        Bytes::from(vec![0xAF, 1, ts as u8, 7]),
    )
}

fn headers() -> [MediaMessage; 2] {
    [
        MediaMessage::new(
            MediaKind::Video,
            0,
            Bytes::from_static(&[0x17, 0, 0, 0, 0, 1, 0x64]),
        ),
        MediaMessage::new(
            MediaKind::Audio,
            0,
            Bytes::from_static(&[0xAF, 0, 0x12, 0x10]),
        ),
    ]
}

fn send(world: &mut World, conn: usize, messages: &[MediaMessage]) {
    for m in messages {
        world.conns[conn].client.send_media(m);
    }
    world.run();
}

fn received(world: &World, conn: usize) -> Vec<MediaMessage> {
    world.conns[conn]
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Media { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn started_publishing(world: &mut World, key: &str) -> usize {
    let publisher = world.publish(key);
    world.run();
    assert!(
        world.conns[publisher]
            .events
            .contains(&ClientEvent::PublishStarted),
        "{:?}",
        world.conns[publisher].events
    );
    publisher
}

#[test]
fn publish_then_play() {
    let mut world = World::default();
    let publisher = started_publishing(&mut world, "cam");
    world.conns[publisher].client.send_metadata(&metadata());
    send(&mut world, publisher, &headers());
    let gop = [video(0, 0x17, 3000), audio(0), video(33, 0x27, 500)];
    send(&mut world, publisher, &gop);

    let player = world.play("cam");
    world.run();
    assert!(world.conns[player]
        .events
        .contains(&ClientEvent::PlayStarted));
    let live = [
        audio(40),
        video(66, 0x27, 400),
        video(100, 0x17, 5000),
        audio(110),
        video(133, 0x27, 300),
    ];
    send(&mut world, publisher, &live);

    let events = &world.conns[player].events;
    let metadata_at = events
        .iter()
        .position(|e| matches!(e, ClientEvent::Metadata { .. }))
        .expect("metadata");
    let first_media = events
        .iter()
        .position(|e| matches!(e, ClientEvent::Media { .. }))
        .unwrap();
    assert!(metadata_at < first_media, "metadata comes first");
    let got = received(&world, player);
    let mut expected = headers().to_vec();
    expected.extend_from_slice(&gop); // the cached GOP, from its keyframe
    expected.extend_from_slice(&live);
    assert_eq!(
        got, expected,
        "sequence headers, the cached GOP, then live frames, all identical"
    );
}

#[test]
fn rejected_publish() {
    let mut world = World::default();
    world.policy = Box::new(|event| match event {
        ServerEvent::PublishRequest { params, .. } if params.stream_key == "bad" => {
            Some("Invalid stream key".into())
        }
        _ => None,
    });
    let publisher = world.publish("bad");
    world.run();
    let conn = &world.conns[publisher];
    assert!(!conn.events.contains(&ClientEvent::PublishStarted));
    assert!(conn.events.iter().any(|e| matches!(e,
        ClientEvent::Status { level, code, description, .. }
            if level == "error" && code == "NetStream.Publish.BadName" && description == "Invalid stream key")));
    assert!(conn.events.iter().any(|e| matches!(e,
        ClientEvent::StreamFailed { code, .. } if code == "NetStream.Publish.BadName")));
    send(&mut world, publisher, &[video(0, 0x17, 10)]);
    assert!(world.hub.streams().is_empty(), "nothing was published");
}

#[test]
fn unpublish_notify() {
    let mut world = World::default();
    let player = world.play("show");
    world.run();
    let publisher = started_publishing(&mut world, "show");
    send(&mut world, publisher, &[video(0, 0x17, 100)]);
    world.conns[publisher].client.close_stream();
    world.run();
    assert_eq!(world.conns[publisher].unpublished, ["show"]);
    let codes = world.conns[player].status_codes();
    assert_eq!(
        codes,
        [
            "NetStream.Play.Reset",
            "NetStream.Play.Start",
            "NetStream.Play.PublishNotify",
            "NetStream.Play.UnpublishNotify"
        ]
    );
    assert!(world.conns[player]
        .events
        .contains(&ClientEvent::StreamControl(UserControl::StreamEof(1))));
    assert!(world.conns[player]
        .events
        .contains(&ClientEvent::StreamEnded {
            code: "NetStream.Play.UnpublishNotify".into()
        }));
}

#[test]
fn ping_timeout() {
    let mut world = World::default();
    let publisher = started_publishing(&mut world, "live1");
    let player = world.play("live1");
    world.run();
    world.conns[player].frozen = true;
    // The publisher keeps sending every second; the frozen player never answers.
    for second in 0..40u32 {
        send(&mut world, publisher, &[audio(second * 1000)]);
        world.advance(Duration::from_secs(1));
    }
    assert_eq!(
        world.conns[player].closed.as_deref(),
        Some("peer did not answer a ping")
    );
    assert!(
        world.conns[publisher].closed.is_none(),
        "the publisher is unaffected"
    );
    assert_eq!(
        world.hub.streams()[0].players,
        0,
        "the dead player left the hub"
    );
}

#[test]
fn chunk_size_change_mid_message_stream() {
    let mut world = World::default();
    let publisher = started_publishing(&mut world, "cs");
    let player = world.play("cs");
    world.run();
    let mut sent = vec![video(0, 0x17, 10_000)];
    send(&mut world, publisher, &sent);
    for (i, size) in [128u32, 60_000, 1, 4096].into_iter().enumerate() {
        world.conns[publisher].client.set_chunk_size(size);
        let burst = [
            video(33 * (i as u32 + 1), 0x27, 7_000),
            audio(33 * (i as u32 + 1)),
        ];
        send(&mut world, publisher, &burst);
        sent.extend(burst);
    }
    assert_eq!(received(&world, player), sent);
}

#[test]
fn reconnect_after_abort() {
    let mut world = World::default();
    let player = world.play("re");
    world.run();
    let first = started_publishing(&mut world, "re");
    send(&mut world, first, &[video(0, 0x17, 100)]);
    world.close(first, "network lost");
    world.run();
    assert_eq!(world.conns[first].unpublished, ["re"]);
    assert!(world.conns[player]
        .status_codes()
        .contains(&"NetStream.Play.UnpublishNotify"));

    let second = started_publishing(&mut world, "re");
    send(&mut world, second, &[video(5000, 0x17, 200)]);
    let codes = world.conns[player].status_codes();
    assert_eq!(
        codes
            .iter()
            .filter(|c| **c == "NetStream.Play.PublishNotify")
            .count(),
        2
    );
    let got = received(&world, player);
    let last = got.last().expect("media from the new publisher");
    assert_eq!(
        last.payload,
        video(5000, 0x17, 200).payload,
        "the player receives the new publisher"
    );
    assert_eq!(
        last.timestamp, 0,
        "rebased to continue the stream's timeline, not jump to 5000"
    );
    assert!(world.conns[player].closed.is_none());
}

#[test]
fn the_server_asks_a_publisher_to_reconnect() {
    let mut world = World::default();
    let publisher = started_publishing(&mut world, "moving");
    world.conns[publisher]
        .server
        .request_reconnect(Some("rtmp://edge-2/live"), "server maintenance");
    world.run();
    assert!(world.conns[publisher]
        .events
        .contains(&ClientEvent::ReconnectRequest {
            tc_url: Some("rtmp://edge-2/live".into()),
            description: "server maintenance".into(),
        }));
    world.conns[publisher]
        .server
        .request_reconnect(None, "again");
    world.run();
    assert!(world.conns[publisher]
        .events
        .contains(&ClientEvent::ReconnectRequest {
            tc_url: None,
            description: "again".into(),
        }));
}

#[test]
fn a_stale_publisher_is_closed_and_its_players_told() {
    let mut world = World::default();
    let player = world.play("stale");
    world.run();
    let publisher = started_publishing(&mut world, "stale");
    send(&mut world, publisher, &[video(0, 0x17, 100)]);
    // The publisher keeps the connection alive (answers pings) but sends no media.
    world.advance(Duration::from_secs(29));
    assert!(world.conns[publisher].closed.is_none());
    world.advance(Duration::from_secs(2));
    assert_eq!(
        world.conns[publisher].closed.as_deref(),
        Some("publisher sent no media within the publish idle timeout")
    );
    assert!(world.conns[player]
        .status_codes()
        .contains(&"NetStream.Play.UnpublishNotify"));
    // The key is free again.
    let next = started_publishing(&mut world, "stale");
    assert!(world.conns[next].closed.is_none());
}

#[test]
fn players_wait_out_the_republish_grace_then_get_play_stop() {
    let mut world = World::default();
    let player = world.play("grace");
    world.run();
    let first = started_publishing(&mut world, "grace");
    send(&mut world, first, &[video(0, 0x17, 100)]);
    world.close(first, "network lost");
    world.advance(Duration::from_secs(5));
    // Back within the grace period: the player is kept and gets the new stream.
    let second = started_publishing(&mut world, "grace");
    send(&mut world, second, &[video(0, 0x17, 100)]);
    world.advance(Duration::from_secs(8));
    assert!(!world.conns[player]
        .status_codes()
        .contains(&"NetStream.Play.Stop"));
    // Gone for good: after the grace period the player is stopped.
    world.conns[second].client.close_stream();
    world.run();
    world.advance(Duration::from_secs(11));
    let codes = world.conns[player].status_codes();
    assert_eq!(codes.last(), Some(&"NetStream.Play.Stop"), "{codes:?}");
    assert!(world.hub.streams().is_empty(), "the player left the hub");
}

#[test]
fn pause_and_unpause_resume_from_a_keyframe_with_headers_resent() {
    let mut world = World::default();
    let publisher = started_publishing(&mut world, "pz");
    send(&mut world, publisher, &headers());
    let player = world.play("pz");
    world.run();
    send(&mut world, publisher, &[video(0, 0x17, 100), audio(10)]);
    world.conns[player].client.pause(true, 10.0);
    world.run();
    let before = received(&world, player).len();
    send(
        &mut world,
        publisher,
        &[
            video(33, 0x27, 100),
            audio(40),
            video(100, 0x17, 100),
            audio(110),
        ],
    );
    assert_eq!(
        received(&world, player).len(),
        before,
        "nothing is sent while paused"
    );
    world.conns[player].client.pause(false, 10.0);
    world.run();
    send(&mut world, publisher, &[video(133, 0x27, 100)]);
    let codes = world.conns[player].status_codes();
    assert!(
        codes.contains(&"NetStream.Pause.Notify") && codes.contains(&"NetStream.Unpause.Notify"),
        "{codes:?}"
    );
    let resumed: Vec<MediaMessage> = received(&world, player).split_off(before);
    let mut expected = headers().to_vec();
    expected.extend([video(100, 0x17, 100), audio(110), video(133, 0x27, 100)]);
    assert_eq!(
        resumed, expected,
        "headers again, then the GOP from its keyframe, then live"
    );
}

#[test]
fn receive_video_off_leaves_audio_and_on_resumes_at_a_keyframe() {
    let mut world = World::default();
    let publisher = started_publishing(&mut world, "rv");
    let player = world.play("rv");
    world.run();
    send(&mut world, publisher, &[video(0, 0x17, 100)]);
    world.conns[player].client.receive_video(false);
    world.run();
    send(
        &mut world,
        publisher,
        &[audio(10), video(33, 0x27, 100), audio(40)],
    );
    world.conns[player].client.receive_video(true);
    world.run();
    send(
        &mut world,
        publisher,
        &[video(66, 0x27, 100), video(100, 0x17, 100)],
    );
    let kinds: Vec<(MediaKind, u32)> = received(&world, player)
        .iter()
        .map(|m| (m.kind, m.timestamp))
        .collect();
    assert_eq!(
        kinds,
        [
            (MediaKind::Video, 0),
            (MediaKind::Audio, 10),
            (MediaKind::Audio, 40),
            (MediaKind::Video, 100)
        ]
    );
}
