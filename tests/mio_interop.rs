//! The mio adapter with FFmpeg 9 on both ends: the same relay checks as the Tokio
//! server's (H.264 + AAC, and Enhanced RTMP HEVC + Opus), with a player from the
//! start and a late player receiving the source's packets.

mod client_support;
mod common;

use client_support::{assert_same_media, source_tags, Tags};
use common::ffmpeg::*;
use common::mio_server::MioTestServer;
use common::relay::relay_through;
use mio::{Events, Poll, Token};
use rtmp_rs::mio::{Handler, RtmpClient, RtmpServer, ServerConfig};
use rtmp_rs::proto::capture::{CaptureConfig, CaptureRole};
use rtmp_rs::proto::replay::{Capture, Direction};
use rtmp_rs::proto::{ClientEvent, ClientIntent, ClientParams, SessionConfig};
use std::time::{Duration, Instant};

struct Open;
impl Handler for Open {}

#[test]
fn mio_relays_h264_aac_from_ffmpeg_to_ffmpeg() {
    let Some(ff) = require_ffmpeg() else { return };
    let server = MioTestServer::start(ServerConfig::default(), Open);
    relay_through(&server, &ff, &h264_aac_flv(), "mio_h264_aac", &[]);
}

#[test]
fn mio_relays_enhanced_hevc_opus_from_ffmpeg_to_ffmpeg() {
    let Some(ff) = require_ffmpeg() else { return };
    let server = MioTestServer::start(ServerConfig::default(), Open);
    relay_through(&server, &ff, &hevc_opus_flv(), "mio_hevc_opus", &[]);
}

/// One thread, one `Poll`: the mio server and two mio clients on it, as an app would
/// embed them. The publisher sends the FFmpeg-made H.264 + AAC fixture and the player,
/// which joined first, receives every message unchanged, then the end of the stream.
#[test]
fn mio_clients_publish_and_play_through_the_mio_server_in_one_loop() {
    if require_ffmpeg().is_none() {
        return;
    }
    let source = source_tags(&h264_aac_flv());
    let mut poll = Poll::new().unwrap();
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::default()
    };
    let mut server = RtmpServer::bind(config, Open).unwrap();
    server.register(poll.registry(), Token(100)).unwrap();
    let addr = server.local_addr().unwrap();
    let connect = |intent| {
        let params = ClientParams::new(format!("rtmp://{addr}/live"), "live");
        RtmpClient::connect(addr, SessionConfig::default(), params, intent).unwrap()
    };
    let mut player = connect(ClientIntent::Play {
        stream: "loop".into(),
        start: -2.0,
    });
    player.register(poll.registry(), PLAYER).unwrap();
    let captures = common::relay::temp_out("mio-client-captures");
    let _ = std::fs::remove_dir_all(&captures);
    std::fs::create_dir_all(&captures).unwrap();
    player.record(&CaptureConfig::new(&captures), addr).unwrap();
    let mut publisher: Option<RtmpClient> = None;
    let mut played = Tags::default();
    let mut events = Events::with_capacity(64);
    let deadline = Instant::now() + Duration::from_secs(30);
    'run: loop {
        assert!(
            Instant::now() < deadline,
            "timed out: {} played",
            played.media.len()
        );
        let timeout = [server.poll_timeout(), player.poll_timeout()]
            .into_iter()
            .chain(publisher.as_ref().map(RtmpClient::poll_timeout))
            .flatten()
            .min()
            .map(|at| at.saturating_duration_since(Instant::now()));
        poll.poll(&mut events, timeout.or(Some(Duration::from_millis(100))))
            .unwrap();
        for event in &events {
            if server.handle_event(poll.registry(), event) {
                continue;
            }
            match event.token() {
                PLAYER => player.handle_event(event).unwrap(),
                PUBLISHER => publisher.as_mut().unwrap().handle_event(event).unwrap(),
                other => panic!("unknown token {other:?}"),
            }
        }
        let now = Instant::now();
        server.handle_timeout(poll.registry(), now);
        for client in std::iter::once(&mut player).chain(publisher.as_mut()) {
            if client.poll_timeout().is_some_and(|at| at <= now) {
                client.handle_timeout(now).unwrap();
            }
        }
        while let Some(event) = player.poll_event() {
            match event {
                ClientEvent::PlayStarted => {
                    let mut client = connect(ClientIntent::Publish {
                        stream: "loop".into(),
                        publish_type: "live".into(),
                    });
                    client.register(poll.registry(), PUBLISHER).unwrap();
                    publisher = Some(client);
                }
                ClientEvent::Metadata { payload } => played.metadata = Some(payload),
                ClientEvent::Media { message } => played.media.push(message),
                ClientEvent::StreamEnded { .. } => break 'run,
                _ => {}
            }
        }
        if let Some(client) = publisher.as_mut() {
            while let Some(event) = client.poll_event() {
                if event == ClientEvent::PublishStarted {
                    let session = client.session();
                    session.send_metadata(source.metadata.as_ref().unwrap());
                    source.media.iter().for_each(|m| session.send_media(m));
                    session.close_stream();
                    client.flush().unwrap();
                }
            }
        }
    }
    assert_same_media(&source, &played);
    assert_eq!(server.connections(), 2, "{:?}", server.sessions());

    // The player's own recording holds the whole conversation, both ways.
    player.finish_capture();
    let file = std::fs::read_dir(&captures)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let capture = Capture::open(&file).unwrap();
    assert_eq!(
        capture.meta.as_ref().map(|m| m.role),
        Some(CaptureRole::Client)
    );
    let connection = &capture.connections[0];
    assert_eq!(connection.server, addr);
    let received = connection.stream(Direction::ServerToClient).len();
    let payload: usize = source.media.iter().map(|m| m.payload.len()).sum();
    assert!(
        received > payload,
        "{received} bytes recorded, {payload} of media played"
    );
}

const PLAYER: Token = Token(1);
const PUBLISHER: Token = Token(2);
