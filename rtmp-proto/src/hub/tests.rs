use super::*;
use crate::media::{MediaKind, MediaMessage};
use std::time::{Duration, Instant};

fn video(ts: u32, first: u8, len: usize) -> MediaMessage {
    let mut payload = vec![first, 1];
    payload.resize(len.max(2), 0);
    MediaMessage::new(MediaKind::Video, ts, Bytes::from(payload))
}
fn key(ts: u32) -> MediaMessage {
    video(ts, 0x17, 100)
}
fn inter(ts: u32) -> MediaMessage {
    video(ts, 0x27, 100)
}
fn video_header() -> MediaMessage {
    MediaMessage::new(
        MediaKind::Video,
        0,
        Bytes::from_static(&[0x17, 0, 0, 0, 0, 1]),
    )
}
fn audio(ts: u32) -> MediaMessage {
    MediaMessage::new(
        MediaKind::Audio,
        ts,
        Bytes::from_static(&[0xAF, 1, 0x21, 0x10]),
    )
}
fn audio_header() -> MediaMessage {
    MediaMessage::new(
        MediaKind::Audio,
        0,
        Bytes::from_static(&[0xAF, 0, 0x12, 0x10]),
    )
}

fn stream() -> StreamKey {
    StreamKey::new("live", "key")
}

fn drain(hub: &mut Hub<u32>, id: PlayerId) -> Vec<Delivery> {
    let mut out = Vec::new();
    assert_eq!(hub.drain(id, &mut out), DrainStatus::Open);
    out
}

fn media_timestamps(deliveries: &[Delivery]) -> Vec<(MediaKind, u32)> {
    deliveries
        .iter()
        .filter_map(|d| match d {
            Delivery::Media(m) => Some((m.kind, m.timestamp)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_player_waiting_before_the_publisher_gets_everything_from_the_start() {
    let mut hub = Hub::new(HubConfig::default());
    let mut wake = Vec::new();
    let player = hub.subscribe(&stream(), 7).unwrap();
    assert!(drain(&mut hub, player).is_empty());
    let publisher = hub
        .start_publish(&stream(), Instant::now(), &mut wake)
        .unwrap();
    assert_eq!(
        wake,
        [7],
        "a waiting player is woken when the publisher starts"
    );
    hub.publish_metadata(publisher, Bytes::from_static(b"meta"), &mut wake);
    for m in [
        video_header(),
        audio_header(),
        audio(0),
        key(0),
        inter(33),
        audio(21),
    ] {
        assert!(hub.publish_media(publisher, m, Instant::now(), &mut wake));
    }
    let got = drain(&mut hub, player);
    assert_eq!(got[0], Delivery::PublishStarted);
    assert_eq!(got[1], Delivery::Metadata(Bytes::from_static(b"meta")));
    assert_eq!(
        got.len(),
        8,
        "nothing dropped for a player that was there from the start"
    );
}

#[test]
fn a_late_player_gets_metadata_headers_then_the_cached_gop_then_live_media() {
    let mut hub = Hub::new(HubConfig::default());
    let mut wake = Vec::new();
    let publisher = hub
        .start_publish(&stream(), Instant::now(), &mut wake)
        .unwrap();
    hub.publish_metadata(publisher, Bytes::from_static(b"meta"), &mut wake);
    for m in [video_header(), audio_header(), key(0), audio(10), inter(33)] {
        hub.publish_media(publisher, m, Instant::now(), &mut wake);
    }
    let player = hub.subscribe(&stream(), 1).unwrap();
    for m in [audio(40), inter(66), key(100), audio(110), inter(133)] {
        hub.publish_media(publisher, m, Instant::now(), &mut wake);
    }
    let got = drain(&mut hub, player);
    assert_eq!(got[0], Delivery::Metadata(Bytes::from_static(b"meta")));
    assert!(
        matches!(&got[1], Delivery::Media(m) if m.is_sequence_header() && m.kind == MediaKind::Video)
    );
    assert!(
        matches!(&got[2], Delivery::Media(m) if m.is_sequence_header() && m.kind == MediaKind::Audio)
    );
    assert_eq!(
        media_timestamps(&got[3..]),
        [
            (MediaKind::Video, 0),
            (MediaKind::Audio, 10),
            (MediaKind::Video, 33),
            (MediaKind::Audio, 40),
            (MediaKind::Video, 66),
            (MediaKind::Video, 100),
            (MediaKind::Audio, 110),
            (MediaKind::Video, 133)
        ],
        "the cached GOP from its keyframe, then live media, in order"
    );
}

#[test]
fn without_a_cached_gop_a_late_player_waits_for_the_next_keyframe() {
    let config = HubConfig {
        gop: GopLimits {
            max_frames: 2,
            ..GopLimits::default()
        },
        ..HubConfig::default()
    };
    let mut hub = Hub::new(config);
    let mut wake = Vec::new();
    let publisher = hub
        .start_publish(&stream(), Instant::now(), &mut wake)
        .unwrap();
    for m in [video_header(), key(0), audio(10), inter(33)] {
        hub.publish_media(publisher, m, Instant::now(), &mut wake);
    }
    let player = hub.subscribe(&stream(), 1).unwrap();
    for m in [audio(40), inter(66), key(100), audio(110)] {
        hub.publish_media(publisher, m, Instant::now(), &mut wake);
    }
    let got = drain(&mut hub, player);
    assert_eq!(
        media_timestamps(&got[1..]),
        [(MediaKind::Video, 100), (MediaKind::Audio, 110)],
        "the GOP outgrew its bound: audio and video start together at the next keyframe"
    );
}

#[test]
fn the_gop_cache_is_bounded_by_bytes_and_duration() {
    for limits in [
        GopLimits {
            max_bytes: 250,
            ..GopLimits::default()
        },
        GopLimits {
            max_duration_ms: 50,
            ..GopLimits::default()
        },
    ] {
        let mut hub = Hub::new(HubConfig {
            gop: limits,
            ..HubConfig::default()
        });
        let mut wake = Vec::new();
        let publisher = hub
            .start_publish(&stream(), Instant::now(), &mut wake)
            .unwrap();
        for m in [key(0), inter(33), inter(66)] {
            hub.publish_media(publisher, m, Instant::now(), &mut wake);
        }
        let player = hub.subscribe(&stream(), 1).unwrap();
        assert!(
            drain(&mut hub, player).is_empty(),
            "{limits:?}: the overgrown GOP was dropped"
        );
    }
}

#[test]
fn audio_only_streams_do_not_wait_for_a_keyframe() {
    let mut hub = Hub::new(HubConfig::default());
    let mut wake = Vec::new();
    let publisher = hub
        .start_publish(&stream(), Instant::now(), &mut wake)
        .unwrap();
    hub.publish_media(publisher, audio(0), Instant::now(), &mut wake);
    let player = hub.subscribe(&stream(), 1).unwrap();
    hub.publish_media(publisher, audio(21), Instant::now(), &mut wake);
    assert_eq!(
        media_timestamps(&drain(&mut hub, player)),
        [(MediaKind::Audio, 21)]
    );
}

#[test]
fn a_second_publisher_on_a_key_is_refused_and_the_first_keeps_it() {
    let mut hub: Hub<u32> = Hub::new(HubConfig::default());
    let mut wake = Vec::new();
    let first = hub
        .start_publish(&stream(), Instant::now(), &mut wake)
        .unwrap();
    assert_eq!(
        hub.start_publish(&stream(), Instant::now(), &mut wake),
        Err(HubError::AlreadyPublishing(stream()))
    );
    assert!(hub.is_live(first));
    hub.stop_publish(first, &mut wake);
    assert!(!hub.is_live(first));
    let second = hub
        .start_publish(&stream(), Instant::now(), &mut wake)
        .unwrap();
    assert!(
        !hub.publish_media(first, key(0), Instant::now(), &mut wake),
        "a stale handle feeds nothing"
    );
    assert!(hub.publish_media(second, key(0), Instant::now(), &mut wake));
}

#[test]
fn unpublish_tells_players_at_once_and_they_keep_waiting() {
    let mut hub = Hub::new(HubConfig::default());
    let mut wake = Vec::new();
    let publisher = hub
        .start_publish(&stream(), Instant::now(), &mut wake)
        .unwrap();
    let player = hub.subscribe(&stream(), 3).unwrap();
    hub.publish_media(publisher, key(0), Instant::now(), &mut wake);
    drain(&mut hub, player);
    wake.clear();
    hub.stop_publish(publisher, &mut wake);
    assert_eq!(wake, [3]);
    assert_eq!(drain(&mut hub, player), [Delivery::PublishStopped]);
    assert_eq!(
        hub.streams().len(),
        1,
        "the stream stays while a player waits"
    );
    hub.unsubscribe(player);
    assert!(hub.streams().is_empty(), "an unused stream is removed");
}

#[test]
fn wakers_fire_only_when_a_queue_becomes_non_empty() {
    let mut hub = Hub::new(HubConfig::default());
    let mut wake = Vec::new();
    let publisher = hub
        .start_publish(&stream(), Instant::now(), &mut wake)
        .unwrap();
    let player = hub.subscribe(&stream(), 9).unwrap();
    hub.publish_media(publisher, key(0), Instant::now(), &mut wake);
    hub.publish_media(publisher, inter(33), Instant::now(), &mut wake);
    assert_eq!(wake, [9]);
    drain(&mut hub, player);
    hub.publish_media(publisher, inter(66), Instant::now(), &mut wake);
    assert_eq!(wake, [9, 9]);
}

#[test]
fn audio_waits_for_the_next_video_frame_within_the_hold() {
    let mut hub = Hub::new(HubConfig::default());
    let (mut wake, t0) = (Vec::new(), Instant::now());
    let at = |ms| t0 + Duration::from_millis(ms);
    let publisher = hub.start_publish(&stream(), t0, &mut wake).unwrap();
    hub.publish_media(publisher, key(0), t0, &mut wake);
    let player = hub.subscribe(&stream(), 4).unwrap();
    drain(&mut hub, player);
    wake.clear();

    // Audio between video frames is queued without a wakeup...
    hub.publish_media(publisher, audio(10), at(10), &mut wake);
    hub.publish_media(publisher, audio(33), at(33), &mut wake);
    assert!(wake.is_empty(), "audio ahead of its video waits");
    // ...and goes out with the next video frame, in order.
    hub.publish_media(publisher, inter(40), at(40), &mut wake);
    assert_eq!(wake, [4]);
    assert_eq!(
        media_timestamps(&drain(&mut hub, player)),
        [
            (MediaKind::Audio, 10),
            (MediaKind::Audio, 33),
            (MediaKind::Video, 40)
        ]
    );

    // Without video for longer than the hold, audio flushes on its own.
    wake.clear();
    hub.publish_media(publisher, audio(50), at(50), &mut wake);
    hub.publish_media(publisher, audio(99), at(99), &mut wake);
    assert!(wake.is_empty(), "49 ms is within the 50 ms hold");
    hub.publish_media(publisher, audio(100), at(100), &mut wake);
    assert_eq!(wake, [4], "the oldest held audio reached the hold");
    assert_eq!(drain(&mut hub, player).len(), 3);
}

#[test]
fn audio_goes_out_at_once_without_video_a_hold_or_a_video_player() {
    for (with_video, hold_ms) in [(false, 50), (true, 0)] {
        let config = HubConfig {
            audio_hold: Duration::from_millis(hold_ms),
            ..HubConfig::default()
        };
        let mut hub = Hub::new(config);
        let (mut wake, now) = (Vec::new(), Instant::now());
        let publisher = hub.start_publish(&stream(), now, &mut wake).unwrap();
        if with_video {
            hub.publish_media(publisher, key(0), now, &mut wake);
        }
        let player = hub.subscribe(&stream(), 5).unwrap();
        drain(&mut hub, player);
        wake.clear();
        hub.publish_media(publisher, audio(10), now, &mut wake);
        assert_eq!(wake, [5], "video {with_video}, hold {hold_ms} ms");
    }

    // A player that turned video off (receiveVideo false) has no video to wait for.
    let mut hub = Hub::new(HubConfig::default());
    let (mut wake, now) = (Vec::new(), Instant::now());
    let publisher = hub.start_publish(&stream(), now, &mut wake).unwrap();
    hub.publish_media(publisher, key(0), now, &mut wake);
    let player = hub.subscribe(&stream(), 6).unwrap();
    hub.set_receive(player, None, Some(false));
    drain(&mut hub, player);
    wake.clear();
    hub.publish_media(publisher, audio(10), now, &mut wake);
    assert_eq!(wake, [6], "audio-only player");
}

#[test]
fn a_stalled_player_drops_video_to_the_next_keyframe_but_keeps_audio() {
    let config = HubConfig {
        video_drop_bytes: 10_000,
        max_queue_bytes: 1 << 20,
        ..HubConfig::default()
    };
    let mut hub = Hub::new(config);
    let mut wake = Vec::new();
    let publisher = hub
        .start_publish(&stream(), Instant::now(), &mut wake)
        .unwrap();
    let player = hub.subscribe(&stream(), 1).unwrap();
    hub.publish_media(publisher, video_header(), Instant::now(), &mut wake);
    hub.publish_media(publisher, key(0), Instant::now(), &mut wake);
    // The player reads nothing while 2 s of 3 KB frames and audio arrive.
    let mut ts = 0;
    for _ in 0..60 {
        ts += 33;
        hub.publish_media(publisher, video(ts, 0x27, 3000), Instant::now(), &mut wake);
        hub.publish_media(publisher, audio(ts), Instant::now(), &mut wake);
    }
    let got = drain(&mut hub, player);
    let audio_count = media_timestamps(&got)
        .iter()
        .filter(|(k, _)| *k == MediaKind::Audio)
        .count();
    assert_eq!(audio_count, 60, "no audio is dropped");
    let video_count = media_timestamps(&got)
        .iter()
        .filter(|(k, _)| *k == MediaKind::Video)
        .count();
    assert!(
        video_count < 10,
        "video beyond the drop mark is dropped, got {video_count}"
    );
    assert!(hub.streams()[0].dropped_messages > 0);
    // Caught up: inter frames stay dropped until a keyframe comes.
    hub.publish_media(publisher, inter(3000), Instant::now(), &mut wake);
    hub.publish_media(publisher, key(3033), Instant::now(), &mut wake);
    hub.publish_media(publisher, inter(3066), Instant::now(), &mut wake);
    assert_eq!(
        media_timestamps(&drain(&mut hub, player)),
        [(MediaKind::Video, 3033), (MediaKind::Video, 3066)]
    );
}

#[test]
fn a_player_past_the_hard_bound_is_evicted_and_others_are_not() {
    let config = HubConfig {
        video_drop_bytes: 1000,
        max_queue_bytes: 5000,
        ..HubConfig::default()
    };
    let mut hub = Hub::new(config);
    let mut wake = Vec::new();
    let publisher = hub
        .start_publish(&stream(), Instant::now(), &mut wake)
        .unwrap();
    let stalled = hub.subscribe(&stream(), 1).unwrap();
    let reading = hub.subscribe(&stream(), 2).unwrap();
    for ts in 0..200 {
        // Audio is never dropped, so only eviction bounds a stalled player.
        hub.publish_media(publisher, audio(ts), Instant::now(), &mut wake);
        drain(&mut hub, reading);
    }
    let mut out = Vec::new();
    assert_eq!(hub.drain(stalled, &mut out), DrainStatus::Evicted);
    assert_eq!(hub.drain(stalled, &mut out), DrainStatus::Unknown);
    assert_eq!(hub.streams()[0].players, 1);
    hub.publish_media(publisher, audio(500), Instant::now(), &mut wake);
    assert_eq!(drain(&mut hub, reading).len(), 1);
}

#[test]
fn stream_and_player_limits_are_enforced() {
    let config = HubConfig {
        max_streams: 1,
        max_players_per_stream: 1,
        ..HubConfig::default()
    };
    let mut hub = Hub::new(config);
    let mut wake = Vec::new();
    hub.subscribe(&stream(), 1).unwrap();
    assert_eq!(
        hub.subscribe(&stream(), 2),
        Err(HubError::TooManyPlayers(stream()))
    );
    assert_eq!(
        hub.start_publish(&StreamKey::new("live", "other"), Instant::now(), &mut wake),
        Err(HubError::TooManyStreams)
    );
}

#[test]
fn a_publish_on_a_busy_key_takes_over_once_the_old_publisher_is_idle() {
    let t0 = Instant::now();
    let mut hub = Hub::new(HubConfig::default());
    let mut wake = Vec::new();
    let old = hub.start_publish(&stream(), t0, &mut wake).unwrap();
    let player = hub.subscribe(&stream(), 1).unwrap();
    hub.publish_media(old, key(1000), t0, &mut wake);
    // The old publisher sent media 1 s ago: still live, the new one is refused.
    let soon = t0 + Duration::from_secs(1);
    assert_eq!(
        hub.start_publish(&stream(), soon, &mut wake),
        Err(HubError::AlreadyPublishing(stream()))
    );
    // 2 s of silence (a network drop the old connection has not noticed): taken over.
    let later = t0 + Duration::from_secs(2);
    let new = hub.start_publish(&stream(), later, &mut wake).unwrap();
    assert!(
        !hub.publish_media(old, inter(1033), later, &mut wake),
        "the old publisher is cut off"
    );
    assert!(hub.publish_media(new, video_header(), later, &mut wake));
    assert!(hub.publish_media(new, key(0), later, &mut wake));
    let got = drain(&mut hub, player);
    assert!(
        !got.contains(&Delivery::PublishStopped),
        "players carry on seamlessly: {got:?}"
    );
    assert_eq!(
        media_timestamps(&got),
        [
            (MediaKind::Video, 1000),
            (MediaKind::Video, 1000),
            (MediaKind::Video, 1000)
        ],
        "the new publisher's timestamps continue the stream's"
    );
}

#[test]
fn publish_conflict_policies() {
    let t0 = Instant::now();
    let far = t0 + Duration::from_secs(3600);
    for (policy, taken) in [
        (PublishConflict::Reject, false),
        (PublishConflict::TakeOver, true),
    ] {
        let mut hub: Hub<u32> = Hub::new(HubConfig {
            publish_conflict: policy,
            ..HubConfig::default()
        });
        let mut wake = Vec::new();
        hub.start_publish(&stream(), t0, &mut wake).unwrap();
        assert_eq!(
            hub.start_publish(&stream(), far, &mut wake).is_ok(),
            taken,
            "{policy:?}"
        );
    }
}

#[test]
fn timestamps_never_go_backwards_for_a_player_across_a_republish() {
    let mut hub = Hub::new(HubConfig::default());
    let mut wake = Vec::new();
    let player = hub.subscribe(&stream(), 1).unwrap();
    let first = hub
        .start_publish(&stream(), Instant::now(), &mut wake)
        .unwrap();
    for m in [key(0), inter(5000), inter(9000)] {
        hub.publish_media(first, m, Instant::now(), &mut wake);
    }
    hub.stop_publish(first, &mut wake);
    let second = hub
        .start_publish(&stream(), Instant::now(), &mut wake)
        .unwrap();
    for m in [key(0), inter(33)] {
        hub.publish_media(second, m, Instant::now(), &mut wake);
    }
    let stamps: Vec<u32> = media_timestamps(&drain(&mut hub, player))
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(stamps, [0, 5000, 9000, 9000, 9033]);
}

#[test]
fn stream_stats_count_bytes_frames_and_bitrate() {
    let t0 = Instant::now();
    let mut hub: Hub<u32> = Hub::new(HubConfig::default());
    let mut wake = Vec::new();
    let publisher = hub.start_publish(&stream(), t0, &mut wake).unwrap();
    hub.publish_media(publisher, video(0, 0x17, 1000), t0, &mut wake);
    hub.publish_media(
        publisher,
        audio(20),
        t0 + Duration::from_millis(500),
        &mut wake,
    );
    hub.publish_media(
        publisher,
        video(1000, 0x27, 1000),
        t0 + Duration::from_secs(1),
        &mut wake,
    );
    let info = &hub.streams()[0];
    assert_eq!(
        (info.video_frames, info.audio_frames, info.media_messages),
        (2, 1, 3)
    );
    assert_eq!(info.bytes_in, 2004);
    assert_eq!(info.bitrate_bps, 2004 * 8, "2004 bytes over one second");
}
