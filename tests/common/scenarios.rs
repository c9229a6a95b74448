//! Fan-out scenarios every server adapter must pass, over real sockets with the
//! project's own clients: many players each receiving every packet, and a stalled
//! player that hurts nobody and resumes from a keyframe.

use super::blocking_client::BlockingClient;
use super::ffmpeg::h264_aac_flv;
use super::relay::{players, Served};
use bytes::Bytes;
use rtmp_rs::client::{
    publish_flv_file, ClientConfig, ClientEvent as PullEvent, Pace, RtmpPublisher, RtmpPuller,
};
use rtmp_rs::proto::flv::{FlvReader, TAG_AUDIO, TAG_VIDEO};
use rtmp_rs::proto::hub::HubConfig;
use rtmp_rs::proto::media::{MediaKind, MediaMessage};
use rtmp_rs::proto::{ClientEvent, ClientIntent, ClientParams, ClientSession, SessionConfig};
use std::time::{Duration, Instant};

/// The hub bounds for [`stalled_player_hurts_nobody`]: video drops start at 512 KiB
/// queued; the hard bound is far (the stalled player is to resume, not be closed).
pub fn stall_hub_config() -> HubConfig {
    HubConfig {
        video_drop_bytes: 512 * 1024,
        max_queue_bytes: 64 << 20,
        ..HubConfig::default()
    }
}

const SECONDS: u32 = 8;
const FPS: u32 = 30;
const FRAME_BYTES: usize = 60 * 1024; // ~15 Mbps: more than loopback buffers hold for 4 s

/// A synthetic frame whose payload carries its index (bytes 5..9).
fn frame(kind: MediaKind, index: u32, ts: u32, key: bool) -> MediaMessage {
    let mut payload = match kind {
        MediaKind::Video => vec![if key { 0x17 } else { 0x27 }, 1, 0, 0, 0],
        MediaKind::Audio => vec![0xAF, 1, 0, 0, 0],
    };
    payload.extend_from_slice(&index.to_be_bytes());
    if kind == MediaKind::Video {
        payload.resize(FRAME_BYTES, 0x55);
    }
    MediaMessage::new(kind, ts, Bytes::from(payload))
}

fn index_of(message: &MediaMessage) -> u32 {
    u32::from_be_bytes(message.payload[5..9].try_into().unwrap())
}

/// `count` of our pullers play while our publisher sends the H.264 + AAC fixture as
/// fast as it goes: each player receives every packet.
pub async fn many_players_receive_every_packet(server: &impl Served, count: usize) {
    let input = h264_aac_flv();
    let mut reader = FlvReader::new();
    reader.push(&std::fs::read(&input).unwrap());
    let mut media = 0usize;
    while let Some(tag) = reader.next_tag().unwrap() {
        media += usize::from(tag.tag_type == TAG_AUDIO || tag.tag_type == TAG_VIDEO);
    }

    let url = server.url("live", "crowd");
    let mut receivers = Vec::new();
    for _ in 0..count {
        let (puller, mut events) = RtmpPuller::new(ClientConfig::new(url.clone()));
        tokio::spawn(puller.start());
        receivers.push(tokio::spawn(async move {
            let mut received = 0usize;
            while let Some(event) = events.recv().await {
                match event {
                    PullEvent::Disconnected => break,
                    other if other.media().is_some() => received += 1,
                    _ => {}
                }
            }
            received
        }));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while players(&server.streams(), "crowd") < count {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} players joined",
            players(&server.streams(), "crowd")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let publisher = RtmpPublisher::connect(ClientConfig::new(url))
        .await
        .unwrap();
    let sent = publish_flv_file(&publisher, &input, Pace::Unpaced)
        .await
        .unwrap();
    publisher.close().await.unwrap();
    assert!(
        sent.tags as usize > media,
        "metadata and every media tag were sent"
    );

    for (index, player) in receivers.into_iter().enumerate() {
        let received = tokio::time::timeout(Duration::from_secs(30), player)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            received, media,
            "player {index} received {received} of {media} packets"
        );
    }
}

/// A player stops reading for 4 s of a ~15 Mbps real-time stream: the publisher keeps
/// real time, a healthy player gets every message, the server drops the stalled
/// player's video, and when it reads again its audio is complete and every video gap
/// restarts at a keyframe. Run the server with [`stall_hub_config`].
pub async fn stalled_player_hurts_nobody(server: &impl Served) {
    let url = server.url("live", "stall");

    // A healthy player.
    let (puller, mut events) = RtmpPuller::new(ClientConfig::new(url.clone()));
    tokio::spawn(puller.start());
    let healthy = tokio::spawn(async move {
        let mut count = 0usize;
        while let Some(event) = events.recv().await {
            match event {
                PullEvent::Disconnected => break,
                other if other.media().is_some() => count += 1,
                _ => {}
            }
        }
        count
    });

    // The player that will stall, driven by a blocking client on its own thread.
    let addr = server.addr();
    let stalled = std::thread::spawn(move || {
        let params = ClientParams::new(format!("rtmp://127.0.0.1:{}/live", addr.port()), "live");
        let intent = ClientIntent::Play {
            stream: "stall".into(),
            start: -2.0,
        };
        let mut client = BlockingClient::connect(
            addr,
            ClientSession::new(SessionConfig::default(), params, intent, Instant::now(), 5),
        );
        client.turn_until(Duration::from_secs(10), |e| {
            e.contains(&ClientEvent::PlayStarted)
        });
        client.turn_until(Duration::from_secs(10), |e| {
            e.iter().any(|e| matches!(e, ClientEvent::Media { .. }))
        });
        std::thread::sleep(Duration::from_secs(4)); // stop reading
        let resumed_at = client.events.len();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline
            && !client.events.iter().any(|e| matches!(e, ClientEvent::Status { code, .. } if code == "NetStream.Play.UnpublishNotify"))
        {
            client.turn();
        }
        (client.events, resumed_at)
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while players(&server.streams(), "stall") < 2 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Publish in real time: 30 fps video (keyframe each second) and 50 audio frames/s.
    let publisher = RtmpPublisher::connect(ClientConfig::new(url))
        .await
        .unwrap();
    let start = Instant::now();
    let (mut video, mut audio) = (0u32, 0u32);
    let mut sent = 0usize;
    while start.elapsed() < Duration::from_secs(SECONDS.into()) {
        let now_ms = start.elapsed().as_millis() as u32;
        while video * 1000 / FPS <= now_ms {
            publisher
                .send_media(frame(
                    MediaKind::Video,
                    video,
                    video * 1000 / FPS,
                    video % FPS == 0,
                ))
                .await
                .unwrap();
            video += 1;
            sent += 1;
        }
        while audio * 20 <= now_ms {
            publisher
                .send_media(frame(MediaKind::Audio, audio, audio * 20, false))
                .await
                .unwrap();
            audio += 1;
            sent += 1;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let publish_took = start.elapsed();
    let dropped = server.streams()[0].dropped_messages;
    publisher.close().await.unwrap();

    assert!(
        publish_took < Duration::from_millis(u64::from(SECONDS) * 1000 + 500),
        "the publisher kept real time: {publish_took:?}"
    );
    let healthy_got = tokio::time::timeout(Duration::from_secs(20), healthy)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        healthy_got, sent,
        "the healthy player received every message"
    );
    assert!(dropped > 0, "the stalled player's video was dropped");

    let (events, resumed_at) = stalled.join().unwrap();
    let media: Vec<MediaMessage> = events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Media { message } => Some(message.clone()),
            _ => None,
        })
        .collect();
    let audio_indices: Vec<u32> = media
        .iter()
        .filter(|m| m.kind == MediaKind::Audio)
        .map(index_of)
        .collect();
    assert!(
        audio_indices.windows(2).all(|w| w[1] == w[0] + 1),
        "audio is continuous"
    );
    assert_eq!(
        audio_indices.len() as u32,
        audio,
        "every audio frame arrived"
    );
    let mut previous: Option<u32> = None;
    let mut gaps = 0;
    for m in media.iter().filter(|m| m.kind == MediaKind::Video) {
        let index = index_of(m);
        if previous.is_some_and(|p| index != p + 1) {
            gaps += 1;
            assert!(
                m.is_keyframe(),
                "after a gap video restarts at a keyframe, not frame {index}"
            );
        }
        previous = Some(index);
    }
    assert!(gaps > 0, "frames were skipped while stalled");
    assert!(
        events.len() > resumed_at,
        "the stalled player received media again after resuming"
    );
}
