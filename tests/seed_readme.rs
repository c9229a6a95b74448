//! The code samples of the README our users expect (`shared/seed-readme.md`) compile
//! unchanged against `rtmp-rs`, and the Quick Start server really serves.

mod common;

mod quick_start {
    use rtmp_rs::protocol::message::{ConnectParams, PublishParams};
    use rtmp_rs::session::SessionContext;
    use rtmp_rs::{AuthResult, RtmpHandler, RtmpServer, ServerConfig};

    // ---- verbatim from the seed README's "Create a server" ----
    struct MyHandler;

    impl RtmpHandler for MyHandler {
        async fn on_connect(&self, _ctx: &SessionContext, params: &ConnectParams) -> AuthResult {
            println!("App: {}", params.app);
            AuthResult::Accept
        }

        async fn on_publish(&self, _ctx: &SessionContext, params: &PublishParams) -> AuthResult {
            println!("Stream key: {}", params.stream_key);
            // Add your stream key validation here
            AuthResult::Accept
        }

        // See RtmpHandler trait for other available callbacks
    }

    #[allow(dead_code)]
    #[tokio::main]
    async fn main() -> Result<(), Box<dyn std::error::Error>> {
        let server = RtmpServer::new(ServerConfig::default(), MyHandler);
        server.run().await?;
        Ok(())
    }
    // ---- end of sample ----

    /// The sample's handler and server types, bound to port 0 instead of 1935, accept a
    /// real connection and shut down on request.
    #[tokio::test]
    async fn quick_start_handler_serves_and_shuts_down() {
        let config = ServerConfig::default().bind("127.0.0.1:0".parse().unwrap());
        let server = RtmpServer::listen(config, MyHandler).await.unwrap();
        let addr = server.local_addr().unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run_until(async {
            let _ = stop_rx.await;
        }));
        let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
        // C0 + C1; the server must answer with S0 + S1 + S2.
        let mut c0c1 = vec![3u8];
        c0c1.extend(std::iter::repeat(7u8).take(1536));
        tokio::io::AsyncWriteExt::write_all(&mut socket, &c0c1)
            .await
            .unwrap();
        let mut reply = vec![0u8; 1 + 2 * 1536];
        tokio::io::AsyncReadExt::read_exact(&mut socket, &mut reply)
            .await
            .unwrap();
        assert_eq!(reply[0], 3);
        assert_eq!(&reply[1537..], &c0c1[1..]);
        stop_tx.send(()).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(10), task)
            .await
            .expect("run_until returns after shutdown")
            .unwrap()
            .unwrap();
    }
}

mod handler_callbacks {
    use rtmp_rs::protocol::message::PublishParams;
    use rtmp_rs::session::SessionContext;
    use rtmp_rs::{AuthResult, RtmpHandler};

    fn validate_stream_key(key: &str) -> bool {
        key == "secret"
    }

    // ---- verbatim from the seed README's "Handler Callbacks" ----
    struct AuthHandler;

    impl RtmpHandler for AuthHandler {
        // Only override what you need - everything else uses defaults
        async fn on_publish(&self, _ctx: &SessionContext, params: &PublishParams) -> AuthResult {
            if validate_stream_key(&params.stream_key) {
                AuthResult::Accept
            } else {
                AuthResult::Reject("Invalid stream key".into())
            }
        }
    }
    // ---- end of sample ----

    #[tokio::test]
    async fn auth_handler_rejects_bad_keys() {
        let ctx = SessionContext {
            session_id: 1,
            peer_addr: "127.0.0.1:5000".parse().unwrap(),
            app: "live".into(),
        };
        let params = |key: &str| PublishParams {
            app: "live".into(),
            stream_key: key.into(),
            query: None,
            publish_type: "live".into(),
            stream_id: 1,
        };
        assert_eq!(
            AuthHandler.on_publish(&ctx, &params("secret")).await,
            AuthResult::Accept
        );
        assert_eq!(
            AuthHandler.on_publish(&ctx, &params("guess")).await,
            AuthResult::Reject("Invalid stream key".into())
        );
    }
}

mod configuration {
    use rtmp_rs::ServerConfig;

    // ---- from the seed README's "Configuration" (inside a fn returning Result) ----
    fn configure() -> Result<ServerConfig, Box<dyn std::error::Error>> {
        use std::time::Duration;

        let config = ServerConfig::default()
            .bind("0.0.0.0:1935".parse()?)
            .max_connections(1000)
            .chunk_size(4096)
            .connection_timeout(Duration::from_secs(10))
            .idle_timeout(Duration::from_secs(60));
        Ok(config)
    }
    // ---- end of sample ----

    #[test]
    fn builder_sets_every_field() {
        let config = configure().unwrap();
        assert_eq!(config.bind.port(), 1935);
        assert_eq!(config.max_connections, 1000);
        assert_eq!(config.session.chunk_size, 4096);
        assert_eq!(config.session.connect_timeout.as_secs(), 10);
        assert_eq!(config.session.idle_timeout.as_secs(), 60);
    }
}

#[allow(unused_variables, clippy::let_and_return)] // the sample's own style, kept verbatim
mod enhanced_configuration {
    // ---- verbatim from the seed README's "Enhanced RTMP / Configuration" ----
    use rtmp_rs::media::fourcc::{AudioFourCc, VideoFourCc};
    use rtmp_rs::protocol::enhanced::FourCcCapability;
    use rtmp_rs::{EnhancedRtmpMode, EnhancedServerCapabilities, ServerConfig};

    fn sample() -> ServerConfig {
        // Default: Auto mode with common codecs
        let config = ServerConfig::default();

        // Require E-RTMP (reject legacy clients)
        let config = ServerConfig::default().enhanced_rtmp(EnhancedRtmpMode::EnhancedOnly);

        // Legacy RTMP only (disable E-RTMP)
        let config = ServerConfig::default().enhanced_rtmp(EnhancedRtmpMode::LegacyOnly);

        // Custom codec configuration
        let caps = EnhancedServerCapabilities::minimal()
            .with_video_codec(VideoFourCc::Hevc, FourCcCapability::forward())
            .with_video_codec(VideoFourCc::Av1, FourCcCapability::forward())
            .with_audio_codec(AudioFourCc::Opus, FourCcCapability::forward());

        let config = ServerConfig::default().enhanced_capabilities(caps);
        config
    }
    // ---- end of sample ----

    #[test]
    fn the_configuration_sample_sets_mode_and_capabilities() {
        let config = sample();
        assert!(config.session.enhanced_capabilities.accepts_video(b"hvc1"));
        assert!(config.session.enhanced_capabilities.accepts_video(b"av01"));
        assert!(!config.session.enhanced_capabilities.accepts_video(b"vp09"));
        assert!(config.session.enhanced_capabilities.accepts_audio(b"Opus"));
        let strict = ServerConfig::default().enhanced_rtmp(EnhancedRtmpMode::EnhancedOnly);
        assert_eq!(strict.session.enhanced_mode, EnhancedRtmpMode::EnhancedOnly);
    }
}

#[allow(unused_variables, clippy::collapsible_match)] // the sample's own style, kept verbatim
pub mod enhanced_media {
    use rtmp_rs::RtmpHandler;
    use std::sync::Mutex;

    /// What the sample handler saw (the sample's printlns, recorded for the test).
    pub static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

    pub struct MyHandler;

    // ---- from the seed README's "Processing Enhanced Media" (printlns also record) ----
    use rtmp_rs::media::{EnhancedAudioData, EnhancedVideoData};
    use rtmp_rs::session::StreamContext;

    impl RtmpHandler for MyHandler {
        async fn on_enhanced_video_frame(
            &self,
            ctx: &StreamContext,
            frame: &EnhancedVideoData,
            timestamp: u32,
        ) {
            match frame {
                EnhancedVideoData::SequenceHeader { codec, config, .. } => {
                    println!("Received {} sequence header", codec);
                    SEEN.lock()
                        .unwrap()
                        .push(format!("Received {} sequence header", codec));
                }
                EnhancedVideoData::Frame {
                    codec,
                    frame_type,
                    data,
                    ..
                } => {
                    if frame_type.is_keyframe() {
                        println!("{} keyframe at {}ms", codec, timestamp);
                        SEEN.lock().unwrap().push(format!("{} keyframe", codec));
                    }
                }
                _ => {}
            }
        }

        async fn on_enhanced_audio_frame(
            &self,
            ctx: &StreamContext,
            frame: &EnhancedAudioData,
            timestamp: u32,
        ) {
            if let EnhancedAudioData::SequenceHeader { codec, .. } = frame {
                println!("Received {} audio config", codec);
                SEEN.lock()
                    .unwrap()
                    .push(format!("Received {} audio config", codec));
            }
        }
    }
    // ---- end of sample ----
}

/// The Enhanced media sample, as the handler of a real server, sees FFmpeg 9's HEVC
/// and Opus publish: sequence headers, keyframes and the audio configuration.
#[test]
fn enhanced_media_sample_sees_hevc_and_opus_from_ffmpeg() {
    use common::ffmpeg::*;
    let Some(ff) = require_ffmpeg() else { return };
    let server = common::server::TestServer::start(
        rtmp_rs::ServerConfig::default(),
        enhanced_media::MyHandler,
    );
    let mut publisher = spawn_publish(&ff, &hevc_opus_flv(), &server.url("live", "seed"));
    publisher.expect_success(std::time::Duration::from_secs(30));
    let seen = enhanced_media::SEEN.lock().unwrap().clone();
    assert!(
        seen.contains(&"Received HEVC sequence header".to_owned()),
        "{seen:?}"
    );
    assert!(
        seen.contains(&"Received Opus audio config".to_owned()),
        "{seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|s| *s == "HEVC keyframe").count(),
        6,
        "one per second of the 6 s file"
    );
}
