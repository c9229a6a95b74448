//! Interop with a real FFmpeg 9 over real sockets: what goes in is what comes out,
//! packet by packet (sizes and CRCs from `-f framecrc`).

mod common;

use common::blocking_client::BlockingClient;
use common::ffmpeg::*;
use common::server::TestServer;
use rtmp_rs::proto::{ClientEvent, ClientIntent, ClientParams, ClientSession, SessionConfig};
use rtmp_rs::protocol::message::{ConnectParams, PublishParams};
use rtmp_rs::session::SessionContext;
use rtmp_rs::{AuthResult, RtmpHandler, ServerConfig};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

struct Open;
impl RtmpHandler for Open {}

fn temp_out(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rtmp-rs-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn count(packets: &[Packet], stream: u32) -> usize {
    packets.iter().filter(|p| p.stream == stream).count()
}

/// Publishes the H.264 + AAC fixture with `-re -c copy`; a player from the start and a
/// player joining 2 s later both receive the source's packets unchanged, the late one
/// from a keyframe on.
#[test]
fn ffmpeg_publish_h264_aac_and_two_players_receive_identical_packets() {
    let Some(ff) = require_ffmpeg() else { return };
    let input = h264_aac_flv();
    let source = parse_framecrc_full(&source_framecrc(&ff, &input));
    let server = TestServer::start(ServerConfig::default(), Open);
    let url = server.url("live", "interop");

    let early_out = temp_out("early.framecrc");
    let mut early = spawn_play(&ff, &url, &early_out);
    server.wait_for("the early player", Duration::from_secs(10), |_| {
        server.players("interop") == 1
    });

    let mut publisher = spawn_publish(&ff, &input, &url);
    server.wait_for("the publisher", Duration::from_secs(10), |_| {
        server.publishing("interop")
    });
    std::thread::sleep(Duration::from_secs(2));
    let late_out = temp_out("late.framecrc");
    let mut late = spawn_play(&ff, &url, &late_out);

    publisher.expect_success(Duration::from_secs(30));
    early.expect_success(Duration::from_secs(15));
    late.expect_success(Duration::from_secs(15));

    let early_crc = parse_framecrc_full(&std::fs::read_to_string(&early_out).unwrap());
    assert_eq!(
        early_crc.extradata, source.extradata,
        "sequence headers arrive intact"
    );
    assert_same_packets(&source.packets, &early_crc.packets, true);
    for stream in [0, 1] {
        assert_eq!(
            count(&early_crc.packets, stream),
            count(&source.packets, stream),
            "stream {stream}: every packet arrives"
        );
    }

    let (late_packets, late_extradata) = read_framecrc(&late_out);
    assert_eq!(
        late_extradata, source.extradata,
        "a late player gets the sequence headers"
    );
    assert_same_packets(&source.packets, &late_packets, false);
    let video = count(&late_packets, 0);
    let total = count(&source.packets, 0);
    assert!(
        video >= total / 3 && video < total,
        "late player got {video} of {total} video packets"
    );
    assert!(count(&late_packets, 1) > 0, "late player gets audio");
}

struct KeyCheck;
impl RtmpHandler for KeyCheck {
    async fn on_publish(&self, _ctx: &SessionContext, params: &PublishParams) -> AuthResult {
        if params.stream_key == "good" {
            AuthResult::Accept
        } else {
            AuthResult::Reject("Invalid stream key".into())
        }
    }
}

/// A handler that rejects a stream key makes FFmpeg's publish fail with the rejection,
/// and no media is accepted for that key.
#[test]
fn rejected_stream_key_fails_ffmpeg_publish_with_the_reason() {
    let Some(ff) = require_ffmpeg() else { return };
    let input = h264_aac_flv();
    let server = TestServer::start(ServerConfig::default(), KeyCheck);
    let mut publisher = spawn_publish(&ff, &input, &server.url("live", "bad"));
    let status = publisher
        .wait_timeout(Duration::from_secs(20))
        .expect("ffmpeg gives up on a rejected publish");
    assert!(!status.success());
    let stderr = publisher.stderr_text();
    assert!(
        stderr.contains("Invalid stream key"),
        "ffmpeg shows the reason: {stderr}"
    );
    assert!(
        server.handle.streams().is_empty(),
        "nothing was published: {:?}",
        server.handle.streams()
    );
}

fn connect(server: &TestServer) -> TcpStream {
    let socket = TcpStream::connect(server.addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    socket
}

/// Reads until the server closes the connection; returns how long that took.
fn time_to_close(mut socket: TcpStream, started: Instant) -> Duration {
    let mut buf = [0u8; 8192];
    loop {
        match socket.read(&mut buf) {
            Ok(0) | Err(_) => return started.elapsed(),
            Ok(_) => {}
        }
    }
}

/// Garbage after a handshake, a half handshake that stalls and a connection that says
/// nothing each close only their own session within the configured timeouts, while a
/// concurrent FFmpeg publish and play run undisturbed.
#[test]
fn hostile_connections_close_alone_while_a_stream_runs() {
    let Some(ff) = require_ffmpeg() else { return };
    let input = h264_aac_flv();
    let source = parse_framecrc_full(&source_framecrc(&ff, &input));
    let config = ServerConfig::default().connection_timeout(Duration::from_secs(2));
    let server = TestServer::start(config, Open);
    let url = server.url("live", "steady");
    let out = temp_out("steady.framecrc");
    let mut player = spawn_play(&ff, &url, &out);
    server.wait_for("the player", Duration::from_secs(10), |_| {
        server.players("steady") == 1
    });
    let mut publisher = spawn_publish(&ff, &input, &url);
    server.wait_for("the publisher", Duration::from_secs(10), |_| {
        server.publishing("steady")
    });

    let started = Instant::now();
    // 1. A full handshake, then garbage: a header announcing a message far over the size bound.
    let mut garbage = connect(&server);
    let mut c0c1 = vec![3u8];
    c0c1.extend(std::iter::repeat(1u8).take(1536));
    garbage.write_all(&c0c1).unwrap();
    let mut s0s1s2 = vec![0u8; 3073];
    garbage.read_exact(&mut s0s1s2).unwrap();
    garbage.write_all(&[0u8; 1536]).unwrap();
    garbage
        .write_all(&[0x03, 0, 0, 0, 0xFF, 0xFF, 0xFF, 20, 0, 0, 0, 0])
        .unwrap();
    garbage.write_all(&[0xEE; 4096]).unwrap();
    // 2. C0 and part of C1, then nothing.
    let mut half = connect(&server);
    half.write_all(&c0c1[..700]).unwrap();
    // 3. Nothing at all.
    let silent = connect(&server);

    let garbage_closed = time_to_close(garbage, started);
    let half_closed = time_to_close(half, started);
    let silent_closed = time_to_close(silent, started);
    assert!(
        garbage_closed < Duration::from_secs(1),
        "garbage closed after {garbage_closed:?}"
    );
    for (what, took) in [("half handshake", half_closed), ("silent", silent_closed)] {
        assert!(
            took >= Duration::from_millis(1900) && took < Duration::from_secs(4),
            "{what} connection closed after {took:?}, timeout is 2 s"
        );
    }

    publisher.expect_success(Duration::from_secs(30));
    player.expect_success(Duration::from_secs(15));
    let played = parse_framecrc_full(&std::fs::read_to_string(&out).unwrap());
    assert_same_packets(&source.packets, &played.packets, true);
    assert_eq!(
        played.packets.len(),
        source.packets.len(),
        "the stream was not disturbed"
    );
}

/// Records the connect parameters the server saw.
struct RecordConnect(std::sync::Mutex<Vec<ConnectParams>>);
impl RtmpHandler for RecordConnect {
    async fn on_connect(&self, _ctx: &SessionContext, params: &ConnectParams) -> AuthResult {
        self.0.lock().unwrap().push(params.clone());
        AuthResult::Accept
    }
}

/// A client using objectEncoding 3 (commands as message type 17) connects and publishes
/// the fixture through our server; FFmpeg 9 plays it back packet for packet.
#[test]
fn amf3_client_publishes_and_ffmpeg_plays_it_back() {
    let Some(ff) = require_ffmpeg() else { return };
    let input = h264_aac_flv();
    let source = parse_framecrc_full(&source_framecrc(&ff, &input));
    let connects = std::sync::Arc::new(RecordConnect(std::sync::Mutex::new(Vec::new())));
    let server = TestServer::start(ServerConfig::default(), SharedHandler(connects.clone()));
    let url = server.url("live", "amf3");
    let out = temp_out("amf3.framecrc");
    let mut player = spawn_play(&ff, &url, &out);
    server.wait_for("the player", Duration::from_secs(10), |_| {
        server.players("amf3") == 1
    });

    let mut params = ClientParams::new(
        format!("rtmp://127.0.0.1:{}/live", server.addr.port()),
        "live",
    );
    params.object_encoding = 3.0;
    let intent = ClientIntent::Publish {
        stream: "amf3".into(),
        publish_type: "live".into(),
    };
    let session = ClientSession::new(SessionConfig::default(), params, intent, Instant::now(), 7);
    let mut client = BlockingClient::connect(server.addr, session);
    client.turn_until(Duration::from_secs(10), |events| {
        events.contains(&ClientEvent::PublishStarted)
    });
    assert_eq!(
        client.session.server_verified(),
        Some(true),
        "digest handshake with our server"
    );
    let connected = client.events.iter().find_map(|e| match e {
        ClientEvent::Connected { info, .. } => {
            info.get("objectEncoding").and_then(|v| v.as_number())
        }
        _ => None,
    });
    assert_eq!(
        connected,
        Some(3.0),
        "the server answers with the client's objectEncoding"
    );
    client.publish_flv(&input);
    drop(client);

    player.expect_success(Duration::from_secs(20));
    let played = parse_framecrc_full(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(played.extradata, source.extradata);
    assert_same_packets(&source.packets, &played.packets, true);
    assert_eq!(played.packets.len(), source.packets.len());
    let seen = server.handle.streams();
    assert!(seen.is_empty(), "the stream ended: {seen:?}");
    let encodings: Vec<f64> = connects
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.object_encoding)
        .collect();
    assert!(
        encodings.contains(&3.0),
        "the server read the AMF3-form connect: {encodings:?}"
    );
}

/// Shares one handler between the server and the test.
struct SharedHandler(std::sync::Arc<RecordConnect>);
impl RtmpHandler for SharedHandler {
    async fn on_connect(&self, ctx: &SessionContext, params: &ConnectParams) -> AuthResult {
        self.0.on_connect(ctx, params).await
    }
}
