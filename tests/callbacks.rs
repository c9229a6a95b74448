//! Every callback of the handler table fires, with real peers (FFmpeg 9 publishing
//! and playing, our client pausing), and refusal by address and connect redirects work.

mod common;

use common::blocking_client::BlockingClient;
use common::ffmpeg::*;
use common::server::TestServer;
use rtmp_rs::media::audio::LegacyAudioTag;
use rtmp_rs::media::video::LegacyVideoTag;
use rtmp_rs::media::MediaMessage;
use rtmp_rs::proto::amf::AmfObject;
use rtmp_rs::proto::{
    ClientEvent, ClientIntent, ClientParams, ClientSession, SessionConfig, SessionError,
};
use rtmp_rs::protocol::message::{ConnectParams, PlayParams, PublishParams};
use rtmp_rs::session::{SessionContext, StreamContext};
use rtmp_rs::{AuthResult, RtmpHandler, ServerConfig};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counts calls per callback name.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<BTreeMap<&'static str, usize>>>);

impl Recorder {
    fn hit(&self, name: &'static str) {
        *self.0.lock().unwrap().entry(name).or_default() += 1;
    }
    fn count(&self, name: &str) -> usize {
        self.0.lock().unwrap().get(name).copied().unwrap_or(0)
    }
}

impl RtmpHandler for Recorder {
    async fn on_connection(&self, _peer: SocketAddr) -> bool {
        self.hit("on_connection");
        true
    }
    async fn on_handshake_complete(&self, _ctx: &SessionContext) {
        self.hit("on_handshake_complete");
    }
    async fn on_connect(&self, _ctx: &SessionContext, _params: &ConnectParams) -> AuthResult {
        self.hit("on_connect");
        AuthResult::Accept
    }
    async fn on_disconnect(&self, _ctx: &SessionContext) {
        self.hit("on_disconnect");
    }
    async fn on_fc_publish(&self, _ctx: &SessionContext, stream_key: &str) -> AuthResult {
        assert_eq!(stream_key, "cb");
        self.hit("on_fc_publish");
        AuthResult::Accept
    }
    async fn on_publish(&self, _ctx: &SessionContext, _params: &PublishParams) -> AuthResult {
        self.hit("on_publish");
        AuthResult::Accept
    }
    async fn on_unpublish(&self, _ctx: &SessionContext, _params: &PublishParams) {
        self.hit("on_unpublish");
    }
    async fn on_play(&self, _ctx: &SessionContext, _params: &PlayParams) -> AuthResult {
        self.hit("on_play");
        AuthResult::Accept
    }
    async fn on_pause(&self, ctx: &StreamContext, _position_ms: f64) {
        assert_eq!(ctx.stream_key, "cb");
        self.hit("on_pause");
    }
    async fn on_unpause(&self, _ctx: &StreamContext) {
        self.hit("on_unpause");
    }
    async fn on_metadata(&self, ctx: &StreamContext, metadata: &AmfObject) {
        assert_eq!(ctx.stream_key, "cb");
        assert!(metadata.get("width").is_some(), "{metadata:?}");
        self.hit("on_metadata");
    }
    async fn on_media_tag(&self, _ctx: &StreamContext, _tag: &MediaMessage) -> bool {
        self.hit("on_media_tag");
        true
    }
    async fn on_video_frame(&self, _ctx: &StreamContext, frame: &LegacyVideoTag, _timestamp: u32) {
        assert_eq!(frame.codec_id, 7, "H.264");
        self.hit("on_video_frame");
    }
    async fn on_audio_frame(&self, _ctx: &StreamContext, _frame: &LegacyAudioTag, _timestamp: u32) {
        self.hit("on_audio_frame");
    }
    async fn on_keyframe(&self, _ctx: &StreamContext, _timestamp: u32, track: u8) {
        assert_eq!(track, 0);
        self.hit("on_keyframe");
    }
}

#[test]
fn every_callback_fires_with_real_peers() {
    let Some(ff) = require_ffmpeg() else { return };
    let recorder = Recorder::default();
    let server = TestServer::start(ServerConfig::default(), recorder.clone());
    let url = server.url("live", "cb");
    let out =
        std::env::temp_dir().join(format!("rtmp-rs-callbacks-{}.framecrc", std::process::id()));
    let mut player = spawn_play(&ff, &url, &out);
    server.wait_for("the player", Duration::from_secs(10), |_| {
        server.players("cb") == 1
    });

    // Our client plays too, and pauses and resumes.
    let params = ClientParams::new(
        format!("rtmp://127.0.0.1:{}/live", server.addr.port()),
        "live",
    );
    let intent = ClientIntent::Play {
        stream: "cb".into(),
        start: -2.0,
    };
    let session = ClientSession::new(SessionConfig::default(), params, intent, Instant::now(), 3);
    let mut client = BlockingClient::connect(server.addr, session);
    client.turn_until(Duration::from_secs(10), |e| {
        e.contains(&ClientEvent::PlayStarted)
    });
    client.session.pause(true, 0.0);
    client.turn();
    client.session.pause(false, 0.0);
    client.turn();

    let mut publisher = spawn_publish(&ff, &h264_aac_flv(), &url);
    publisher.expect_success(Duration::from_secs(30));
    player.expect_success(Duration::from_secs(15));
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(5);
    while recorder.count("on_disconnect") < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }

    let source = parse_framecrc_full(&source_framecrc(&ff, &h264_aac_flv()));
    let (video, audio) = (
        source.packets.iter().filter(|p| p.stream == 0).count(),
        source.packets.iter().filter(|p| p.stream == 1).count(),
    );
    for (name, at_least) in [
        ("on_connection", 3),
        ("on_handshake_complete", 3),
        ("on_connect", 3),
        ("on_fc_publish", 1),
        ("on_publish", 1),
        ("on_play", 2),
        ("on_pause", 1),
        ("on_unpause", 1),
        ("on_metadata", 1),
        ("on_media_tag", video + audio),
        ("on_video_frame", video),
        ("on_audio_frame", audio),
        ("on_keyframe", 6),
        ("on_unpublish", 1),
        ("on_disconnect", 3),
    ] {
        assert!(
            recorder.count(name) >= at_least,
            "{name}: {} calls, expected at least {at_least}",
            recorder.count(name)
        );
    }
    assert_eq!(
        recorder.count("on_keyframe"),
        6,
        "one keyframe per second of the 6 s file"
    );
}

struct Gatekeeper;
impl RtmpHandler for Gatekeeper {
    async fn on_connection(&self, peer: SocketAddr) -> bool {
        // Refuse IPv4 loopback, which the test connects from.
        !peer.ip().is_loopback()
    }
}

#[test]
fn on_connection_refuses_by_address() {
    let server = TestServer::start(ServerConfig::default(), Gatekeeper);
    let mut socket = std::net::TcpStream::connect(server.addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    std::io::Write::write_all(&mut socket, &[3u8; 1537]).unwrap();
    let mut reply = [0u8; 16];
    let read = std::io::Read::read(&mut socket, &mut reply);
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "closed without a handshake answer: {read:?}"
    );
}

struct Redirector;
impl RtmpHandler for Redirector {
    async fn on_connect(&self, _ctx: &SessionContext, _params: &ConnectParams) -> AuthResult {
        AuthResult::Redirect("rtmp://edge-2.example/live".into())
    }
}

#[test]
fn auth_result_redirect_sends_the_client_elsewhere() {
    let server = TestServer::start(ServerConfig::default(), Redirector);
    let params = ClientParams::new(
        format!("rtmp://127.0.0.1:{}/live", server.addr.port()),
        "live",
    );
    let intent = ClientIntent::Play {
        stream: "x".into(),
        start: -2.0,
    };
    let session = ClientSession::new(SessionConfig::default(), params, intent, Instant::now(), 4);
    let mut client = BlockingClient::connect(server.addr, session);
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.session.error().is_none() && Instant::now() < deadline {
        client.turn();
    }
    assert_eq!(
        client.session.error(),
        Some(&SessionError::ConnectRejected(
            "redirected to rtmp://edge-2.example/live".into()
        ))
    );
}
