//! Our clients over real sockets: our publisher → our server → our puller, our
//! publisher → FFmpeg 9 listening, FFmpeg 9 serving → our puller, and a relay between
//! two of our servers. What goes in is what comes out, message for message.

mod client_support;
mod common;

use client_support::*;
use common::ffmpeg::*;
use common::server::TestServer;
use rtmp_rs::client::{
    publish_flv_file, record, relay, ClientConfig, ClientError, ClientEvent, Pace, RtmpPublisher,
};
use rtmp_rs::ServerConfig;
use std::path::Path;
use std::time::Duration;

/// Waits (polling) until `check` holds.
async fn wait_until(what: &str, timeout: Duration, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Publishes `input` with our publisher at its own pace to our server while our puller
/// plays it from before the start; the puller gets every message unchanged, ends with
/// the stream, and its FLV recording has the source's packets.
async fn our_publisher_to_our_puller(input: &Path, key: &str, expect_enhanced: bool) {
    let source = source_tags(input);
    let server = TestServer::start(ServerConfig::default(), Open);
    let url = server.url("live", key);
    let (pull, collected) = spawn_pull(ClientConfig::new(url.as_str()));
    wait_until("the player", Duration::from_secs(10), || {
        server.players(key) == 1
    })
    .await;

    let publisher = RtmpPublisher::connect(ClientConfig::new(url.as_str()))
        .await
        .unwrap();
    assert_eq!(publisher.stream_id(), 1, "the server's stream id");
    let sent = publish_flv_file(&publisher, input, Pace::RealTime)
        .await
        .unwrap();
    assert_eq!(sent.tags as usize, source.media.len() + 1);
    assert!(
        sent.duration >= Duration::from_millis(5900),
        "{:?}",
        sent.duration
    );
    publisher.close().await.unwrap();

    tokio::time::timeout(Duration::from_secs(10), pull)
        .await
        .expect("the puller ends when the publisher leaves")
        .unwrap()
        .unwrap();
    let pulled = collected.await.unwrap();
    assert_same_media(&source, &pulled.tags());
    let enhanced = |video: bool| {
        pulled.events.iter().any(|e| match e {
            ClientEvent::EnhancedVideoFrame { tracks, .. } => video && !tracks.is_empty(),
            ClientEvent::EnhancedAudioFrame { tracks, .. } => !video && !tracks.is_empty(),
            _ => false,
        })
    };
    assert_eq!(
        (enhanced(true), enhanced(false)),
        (expect_enhanced, expect_enhanced),
        "HEVC and Opus travel as Enhanced RTMP, H.264 and AAC as legacy"
    );
    let statuses = pulled.statuses();
    assert!(statuses.contains(&"NetStream.Play.Start"), "{statuses:?}");
    assert_eq!(
        statuses.last(),
        Some(&"NetStream.Play.UnpublishNotify"),
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_publisher_our_server_our_puller_h264_aac() {
    let Some(_) = require_ffmpeg() else { return };
    our_publisher_to_our_puller(&h264_aac_flv(), "h264", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_publisher_our_server_our_puller_hevc_opus() {
    let Some(_) = require_ffmpeg() else { return };
    our_publisher_to_our_puller(&hevc_opus_flv(), "hevc", true).await;
}

/// Asserts that the FLV file at `got` holds the packets of `input`, all of them.
fn assert_same_file(ff: &Path, input: &Path, got: &Path) {
    let source = parse_framecrc_full(&source_framecrc(ff, input));
    let written = parse_framecrc_full(&source_framecrc(ff, got));
    assert_eq!(written.extradata, source.extradata, "sequence headers");
    assert_same_packets(&source.packets, &written.packets, true);
    assert_eq!(
        stream_counts(&written.packets),
        stream_counts(&source.packets),
        "every packet of every stream"
    );
}

/// Our publisher → `ffmpeg -listen 1 -i rtmp://… -c copy -f flv out.flv`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_publisher_to_ffmpeg_listening() {
    let Some(ff) = require_ffmpeg() else { return };
    for (name, input) in [("h264", h264_aac_flv()), ("hevc", hevc_opus_flv())] {
        let dir = temp_dir(&format!("to-ffmpeg-{name}"));
        let out = dir.join("out.flv");
        let url = format!("rtmp://127.0.0.1:{}/app/key", free_port());
        let mut ffmpeg = spawn_ffmpeg(
            &ff,
            [
                "-listen",
                "1",
                "-i",
                url.as_str(),
                "-c",
                "copy",
                "-f",
                "flv",
                out.to_str().unwrap(),
            ],
        );
        let publisher = retry(Duration::from_secs(10), || {
            RtmpPublisher::connect(ClientConfig::new(url.as_str()))
        })
        .await
        .unwrap_or_else(|e| panic!("connect to FFmpeg: {e}\n{}", ffmpeg.stderr_text()));
        publish_flv_file(&publisher, &input, Pace::Unpaced)
            .await
            .unwrap();
        publisher.close().await.unwrap();
        ffmpeg.expect_success(Duration::from_secs(20));
        assert_same_file(&ff, &input, &out);
    }
}

/// `ffmpeg -re -i in.flv -c copy -f flv -listen 1 rtmp://…` → our puller → FLV file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_serving_to_our_puller_and_recorder() {
    let Some(ff) = require_ffmpeg() else { return };
    for (name, input) in [("h264", h264_aac_flv()), ("hevc", hevc_opus_flv())] {
        let dir = temp_dir(&format!("from-ffmpeg-{name}"));
        let out = dir.join("out.flv");
        let url = format!("rtmp://127.0.0.1:{}/app/key", free_port());
        let mut ffmpeg = spawn_ffmpeg(
            &ff,
            [
                "-re",
                "-i",
                input.to_str().unwrap(),
                "-c",
                "copy",
                "-f",
                "flv",
                "-listen",
                "1",
                url.as_str(),
            ],
        );
        let tags = retry(Duration::from_secs(10), || {
            record(ClientConfig::new(url.as_str()), &out)
        })
        .await
        .unwrap_or_else(|e| panic!("record from FFmpeg: {e}\n{}", ffmpeg.stderr_text()));
        assert!(tags > 100, "{tags} tags");
        ffmpeg.expect_success(Duration::from_secs(20));
        assert_same_file(&ff, &input, &out);
    }
}

/// Publisher → server A → relay → server B → puller: the relay forwards every message
/// unchanged, and each side ends when the source does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_moves_a_live_stream_between_two_servers() {
    let Some(_) = require_ffmpeg() else { return };
    let input = h264_aac_flv();
    let source = source_tags(&input);
    let a = TestServer::start(ServerConfig::default(), Open);
    let b = TestServer::start(ServerConfig::default(), Open);
    let (pull, collected) = spawn_pull(ClientConfig::new(b.url("live", "copy")));
    wait_until("the player on B", Duration::from_secs(10), || {
        b.players("copy") == 1
    })
    .await;
    let relaying = tokio::spawn(relay(
        ClientConfig::new(a.url("live", "origin")),
        ClientConfig::new(b.url("live", "copy")),
    ));
    wait_until("the relay", Duration::from_secs(10), || {
        a.players("origin") == 1 && b.publishing("copy")
    })
    .await;

    let publisher = RtmpPublisher::connect(ClientConfig::new(a.url("live", "origin")))
        .await
        .unwrap();
    publish_flv_file(&publisher, &input, Pace::RealTime)
        .await
        .unwrap();
    publisher.close().await.unwrap();

    let summary = tokio::time::timeout(Duration::from_secs(10), relaying)
        .await
        .expect("the relay ends with the source")
        .unwrap()
        .unwrap();
    assert_eq!(summary.media as usize, source.media.len());
    tokio::time::timeout(Duration::from_secs(10), pull)
        .await
        .expect("B's player ends when the relay unpublishes")
        .unwrap()
        .unwrap();
    assert_same_media(&source, &collected.await.unwrap().tags());
}

/// Refusals are errors that name the reason; a closed port is an I/O error; a silent
/// server is a connect timeout — each within its timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_typed_and_bounded() {
    use rtmp_rs::protocol::message::PublishParams;
    use rtmp_rs::session::SessionContext;
    use rtmp_rs::{AuthResult, RtmpHandler};

    struct KeyCheck;
    impl RtmpHandler for KeyCheck {
        async fn on_publish(&self, _: &SessionContext, params: &PublishParams) -> AuthResult {
            if params.stream_key == "good" {
                AuthResult::Accept
            } else {
                AuthResult::Reject("Invalid stream key".into())
            }
        }
    }
    let server = TestServer::start(ServerConfig::default(), KeyCheck);
    let refused = RtmpPublisher::connect(ClientConfig::new(server.url("live", "bad"))).await;
    match refused {
        Err(ClientError::Rejected { description, .. }) => {
            assert!(description.contains("Invalid stream key"), "{description}")
        }
        other => panic!("expected a refusal: {other:?}"),
    }
    let good = RtmpPublisher::connect(ClientConfig::new(server.url("live", "good")))
        .await
        .unwrap();
    good.close().await.unwrap();

    let closed = format!("rtmp://127.0.0.1:{}/live/key", free_port());
    let (puller, _events) = rtmp_rs::client::RtmpPuller::new(ClientConfig::new(closed));
    assert!(matches!(puller.start().await, Err(ClientError::Io(_))));

    // A TCP listener that never answers the handshake.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("rtmp://{}/live/key", silent.local_addr().unwrap());
    let started = std::time::Instant::now();
    let config = ClientConfig::new(url).connect_timeout(Duration::from_millis(500));
    let result = RtmpPublisher::connect(config).await;
    assert!(
        matches!(result, Err(ClientError::ConnectTimeout)),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// With reconnecting on, a puller whose server is not up yet keeps trying (with
/// backoff, reporting each try) and plays once it is; off, it fails at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_puller_reconnects_with_backoff_until_the_server_is_up() {
    use rtmp_rs::client::Reconnect;
    let port = free_port();
    let url = format!("rtmp://127.0.0.1:{port}/live/key");
    let policy = Reconnect {
        max_attempts: 20,
        initial_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
    };
    let (pull, collected) = spawn_pull(ClientConfig::new(url.as_str()).reconnect(policy));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let config = ServerConfig::default().bind(format!("127.0.0.1:{port}").parse().unwrap());
    let server = rtmp_rs::RtmpServer::listen(config, Open).await.unwrap();
    let handle = server.handle();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    wait_until("the reconnected player", Duration::from_secs(5), || {
        handle.streams().iter().any(|s| s.players == 1)
    })
    .await;
    let publisher = RtmpPublisher::connect(ClientConfig::new(url.as_str()))
        .await
        .unwrap();
    publisher.close().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), pull)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let events = collected.await.unwrap().events;
    let tries: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Reconnecting { attempt, delay, .. } => Some((*attempt, *delay)),
            _ => None,
        })
        .collect();
    assert!(tries.len() >= 2, "{events:?}");
    assert_eq!(tries[0], (1, Duration::from_millis(50)));
    assert_eq!(tries[1], (2, Duration::from_millis(100)));
    assert!(events.contains(&ClientEvent::Connected));
    assert_eq!(events.last(), Some(&ClientEvent::Disconnected));
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}

/// Runs our server on `port` until the returned sender fires.
async fn serve_on(
    port: u16,
) -> (
    rtmp_rs::ServerHandle,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let config = ServerConfig::default().bind(format!("127.0.0.1:{port}").parse().unwrap());
    let server = rtmp_rs::RtmpServer::listen(config, Open).await.unwrap();
    let handle = server.handle();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    (handle, stop, serving)
}

/// With reconnecting on, a publisher whose server goes away reconnects to the server
/// that comes back, publishes again and sends its metadata and sequence headers first,
/// so players of the new server can decode what follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_reconnects_and_resends_its_headers() {
    use bytes::Bytes;
    use rtmp_rs::client::Reconnect;
    let port = free_port();
    let url = format!("rtmp://127.0.0.1:{port}/live/again");
    let policy = Reconnect {
        max_attempts: 50,
        initial_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
    };
    let metadata = Bytes::from_static(b"\x02\x00\x0AonMetaData\x03\x00\x00\x09");
    let video_header = Bytes::from_static(&[0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1F]);
    let audio_header = Bytes::from_static(&[0xAF, 0, 0x11, 0x90]);
    let keyframe = |n: u8| Bytes::from(vec![0x17, 1, 0, 0, 0, n]);

    let (_, stop, serving) = serve_on(port).await;
    let publisher = RtmpPublisher::connect(ClientConfig::new(url.as_str()).reconnect(policy))
        .await
        .unwrap();
    publisher.send_metadata(metadata.clone()).await.unwrap();
    publisher.send_video(0, video_header.clone()).await.unwrap();
    publisher.send_audio(0, audio_header.clone()).await.unwrap();
    publisher.send_video(0, keyframe(0)).await.unwrap();
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();

    let (handle, stop, serving) = serve_on(port).await;
    let (pull, collected) = spawn_pull(ClientConfig::new(url.as_str()));
    let mut n = 1u8;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !handle
        .streams()
        .iter()
        .any(|s| s.publishing && s.players == 1)
    {
        assert!(tokio::time::Instant::now() < deadline, "republished");
        publisher
            .send_video(u32::from(n) * 40, keyframe(n))
            .await
            .unwrap();
        n = n.wrapping_add(1);
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    publisher.send_video(10_000, keyframe(0xEE)).await.unwrap();
    publisher.close().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), pull)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let tags = collected.await.unwrap().tags();
    assert_eq!(tags.metadata, Some(metadata));
    let payloads: Vec<&Bytes> = tags.media.iter().map(|m| &m.payload).collect();
    assert!(payloads.contains(&&video_header), "{payloads:?}");
    assert!(payloads.contains(&&audio_header), "{payloads:?}");
    assert_eq!(payloads.last(), Some(&&keyframe(0xEE)));
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
