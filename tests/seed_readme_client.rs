//! The client sample of the README our users expect (`shared/seed-readme.md`, "Client
//! Example (Pull Stream)") compiles unchanged against `rtmp-rs`, and the same code,
//! pointed at our server, receives frames.

mod common;

mod pull_stream {
    // The sample nests an `if` in a match arm; it is copied as written.
    #![allow(clippy::collapsible_match)]

    // ---- verbatim from the seed README's "Client Example (Pull Stream)" ----
    use rtmp_rs::client::{ClientConfig, ClientEvent, RtmpPuller};

    #[allow(dead_code)]
    #[tokio::main]
    async fn main() -> Result<(), Box<dyn std::error::Error>> {
        let config = ClientConfig::new("rtmp://server/live/stream_key");
        let (puller, mut events) = RtmpPuller::new(config);

        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                match event {
                    ClientEvent::VideoFrame { timestamp, data } => {
                        if data.is_keyframe() {
                            println!("Keyframe at {}ms", timestamp);
                        }
                    }
                    ClientEvent::AudioFrame { timestamp, .. } => {
                        println!("Audio at {}ms", timestamp);
                    }
                    ClientEvent::Disconnected => break,
                    _ => {}
                }
            }
        });

        puller.start().await?;
        Ok(())
    }
    // ---- end of sample ----

    use super::common::ffmpeg::{h264_aac_flv, require_ffmpeg, spawn_publish};
    use super::common::server::TestServer;
    use rtmp_rs::{RtmpHandler, ServerConfig};
    use std::time::Duration;

    struct Open;
    impl RtmpHandler for Open {}

    /// The sample's body with our server's URL, counting instead of printing: FFmpeg
    /// publishes the H.264 + AAC fixture, the puller gets keyframes and audio, and
    /// `start` returns `Ok` once the publisher leaves.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sample_receives_frames_from_our_server() {
        let Some(ff) = require_ffmpeg() else { return };
        let input = h264_aac_flv();
        let server = TestServer::start(ServerConfig::default(), Open);
        let url = server.url("live", "stream_key");

        let config = ClientConfig::new(url.as_str());
        let (puller, mut events) = RtmpPuller::new(config);

        let counter = tokio::spawn(async move {
            let (mut keyframes, mut audio, mut disconnected) = (0, 0, false);
            while let Some(event) = events.recv().await {
                match event {
                    ClientEvent::VideoFrame { data, .. } if data.is_keyframe() => keyframes += 1,
                    ClientEvent::AudioFrame { .. } => audio += 1,
                    ClientEvent::Disconnected => {
                        disconnected = true;
                        break;
                    }
                    _ => {}
                }
            }
            (keyframes, audio, disconnected)
        });
        let pull = tokio::spawn(puller.start());
        let players = || server.players("stream_key") == 1;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !players() {
            assert!(std::time::Instant::now() < deadline, "the puller plays");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        let mut publisher = spawn_publish(&ff, &input, &url);
        tokio::time::timeout(Duration::from_secs(30), pull)
            .await
            .expect("the puller ends with the stream")
            .unwrap()
            .expect("start() returns Ok");
        publisher.expect_success(Duration::from_secs(10));
        let (keyframes, audio, disconnected) = counter.await.unwrap();
        assert_eq!(keyframes, 6, "one keyframe a second for 6 s");
        assert!(audio > 200, "48 kHz AAC for 6 s: {audio} frames");
        assert!(disconnected, "Disconnected comes last");
    }
}
