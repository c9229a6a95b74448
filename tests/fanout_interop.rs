//! Fan-out behaviour over real sockets with FFmpeg 9: a late joiner starts at once at
//! a keyframe and decodes cleanly; a killed publisher's players hear it promptly.

mod common;

use common::blocking_client::BlockingClient;
use common::ffmpeg::*;
use common::server::TestServer;
use rtmp_rs::proto::media::MediaKind;
use rtmp_rs::proto::{ClientEvent, ClientIntent, ClientParams, ClientSession, SessionConfig};
use rtmp_rs::{RtmpHandler, ServerConfig};
use std::time::{Duration, Instant};

struct Open;
impl RtmpHandler for Open {}

fn player(server: &TestServer, key: &str, seed: u64) -> BlockingClient {
    let params = ClientParams::new(
        format!("rtmp://127.0.0.1:{}/live", server.addr.port()),
        "live",
    );
    let intent = ClientIntent::Play {
        stream: key.into(),
        start: -2.0,
    };
    BlockingClient::connect(
        server.addr,
        ClientSession::new(
            SessionConfig::default(),
            params,
            intent,
            Instant::now(),
            seed,
        ),
    )
}

#[test]
fn a_player_joining_5s_into_a_2s_gop_stream_gets_a_keyframe_within_100ms_and_decodes_cleanly() {
    let Some(ff) = require_ffmpeg() else { return };
    let server = TestServer::start(ServerConfig::default(), Open);
    let url = server.url("live", "gop2");
    let mut publisher = spawn_publish(&ff, &h264_aac_gop2_flv(), &url);
    server.wait_for("the publisher", Duration::from_secs(10), |_| {
        server.publishing("gop2")
    });
    std::thread::sleep(Duration::from_secs(5));

    // Our client: time from PlayStarted to its first video packet.
    let mut late = player(&server, "gop2", 11);
    late.turn_until(Duration::from_secs(10), |e| {
        e.contains(&ClientEvent::PlayStarted)
    });
    let started = Instant::now();
    late.turn_until(Duration::from_secs(5), |e| {
        e.iter().any(|e| matches!(e, ClientEvent::Media { message } if message.kind == MediaKind::Video && !message.is_sequence_header()))
    });
    let waited = started.elapsed();
    let first_video = late.events.iter().find_map(|e| match e {
        ClientEvent::Media { message }
            if message.kind == MediaKind::Video && !message.is_sequence_header() =>
        {
            Some(message.clone())
        }
        _ => None,
    });
    assert!(
        first_video.is_some_and(|m| m.is_keyframe()),
        "the first video packet is a keyframe"
    );
    assert!(
        waited < Duration::from_millis(100),
        "first video after {waited:?}"
    );

    // FFmpeg joining now decodes everything it gets without a decode error.
    let mut decoder = spawn_ffmpeg(
        &ff,
        [
            "-rw_timeout",
            "10000000",
            "-xerror",
            "-i",
            url.as_str(),
            "-f",
            "null",
            "-",
        ],
    );
    publisher.expect_success(Duration::from_secs(30));
    decoder.expect_success(Duration::from_secs(15));
    let stderr = decoder.stderr_text();
    assert!(
        !stderr.to_lowercase().contains("error"),
        "decode errors: {stderr}"
    );
}

#[test]
fn a_killed_publisher_s_players_get_the_stop_status_within_2s() {
    let Some(ff) = require_ffmpeg() else { return };
    let server = TestServer::start(ServerConfig::default(), Open);
    let url = server.url("live", "killed");
    let mut watcher = player(&server, "killed", 12);
    watcher.turn_until(Duration::from_secs(10), |e| {
        e.contains(&ClientEvent::PlayStarted)
    });
    let mut publisher = spawn_publish(&ff, &h264_aac_flv(), &url);
    watcher.turn_until(Duration::from_secs(10), |e| {
        e.iter().any(|e| matches!(e, ClientEvent::Media { .. }))
    });
    publisher.kill(); // SIGKILL: no FCUnpublish, no deleteStream
    let killed = Instant::now();
    watcher.turn_until(Duration::from_secs(5), |e| {
        e.iter().any(|e| matches!(e, ClientEvent::Status { code, .. } if code == "NetStream.Play.UnpublishNotify"))
    });
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(2), "stop status after {took:?}");
}
