//! Captures written by the real servers (Tokio and mio) around real FFmpeg 9 sessions
//! replay byte for byte through `rtmp_proto::replay`, and tshark reads them as RTMP.

mod common;

use common::ffmpeg::*;
use common::mio_server::MioTestServer;
use common::relay::{players, temp_out, wait_for, Served};
use common::server::TestServer;
use rtmp_rs::proto::capture::CaptureConfig;
use rtmp_rs::proto::media::MediaKind;
use rtmp_rs::proto::replay::{Capture, ReplayOptions, ServerReplay, SessionSummary};
use rtmp_rs::{RtmpHandler, ServerConfig};
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Open;
impl RtmpHandler for Open {}
impl rtmp_rs::mio::Handler for Open {}

fn capture_dir(name: &str) -> PathBuf {
    let dir = temp_out(&format!("captures-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// FFmpeg publishes the H.264 + AAC fixture while FFmpeg plays it, through `server`.
fn publish_and_play(ff: &Path, server: &impl Served, key: &str) {
    let url = server.url("live", key);
    let mut player = spawn_play(ff, &url, &temp_out(&format!("{key}.framecrc")));
    wait_for(server, "the player", |s| players(s, key) == 1);
    spawn_publish(ff, &h264_aac_flv(), &url).expect_success(Duration::from_secs(30));
    player.expect_success(Duration::from_secs(15));
}

/// Every capture in `dir` (one per connection), replayed.
fn replays(dir: &Path) -> Vec<(PathBuf, ServerReplay)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let capture = Capture::open(&path).unwrap();
            assert!(capture.meta.is_some(), "{path:?} carries our metadata");
            let replay = capture.replay_server(0, &ReplayOptions::default()).unwrap();
            (path, replay)
        })
        .collect()
}

/// Both connections replay byte for byte, the publisher's to every source packet.
fn assert_replays(ff: &Path, dir: &Path, key: &str) {
    let replays = replays(dir);
    assert_eq!(replays.len(), 2, "one capture per connection");
    let source = parse_framecrc_full(&source_framecrc(ff, &h264_aac_flv()));
    let count = |stream| source.packets.iter().filter(|p| p.stream == stream).count() as u64;
    let (mut published, mut played) = (false, false);
    for (path, replay) in &replays {
        assert!(
            replay.is_byte_identical(),
            "{path:?}: {}",
            replay.divergence.as_ref().unwrap()
        );
        let summary = SessionSummary::of(replay);
        if summary.published == [key] {
            published = true;
            let frames = |kind| {
                let track = summary.received.iter().find(|t| t.kind == kind).unwrap();
                track.frames
            };
            assert_eq!(frames(MediaKind::Video), count(0), "{summary}");
            assert_eq!(frames(MediaKind::Audio), count(1), "{summary}");
        } else {
            assert_eq!(summary.played, [key], "{summary}");
            played = true;
        }
    }
    assert!(published && played);
}

#[test]
fn tokio_server_captures_replay_byte_for_byte() {
    let Some(ff) = require_ffmpeg() else { return };
    let dir = capture_dir("tokio");
    let config = ServerConfig::default().capture(CaptureConfig::new(&dir));
    {
        let server = TestServer::start(config, Open);
        publish_and_play(&ff, &server, "captured");
    }
    assert_replays(&ff, &dir, "captured");
    tshark_reads_the_publish(&dir, "captured");
}

#[test]
fn mio_server_captures_replay_byte_for_byte() {
    let Some(ff) = require_ffmpeg() else { return };
    let dir = capture_dir("mio");
    let config = rtmp_rs::mio::ServerConfig {
        capture: Some(CaptureConfig::new(&dir)),
        ..Default::default()
    };
    {
        let server = MioTestServer::start(config, Open);
        publish_and_play(&ff, &server, "mio_captured");
    }
    assert_replays(&ff, &dir, "mio_captured");
}

/// tshark (when present, or required by `RTMP_REQUIRE_TSHARK`) decodes a capture of
/// `dir` as RTMP and finds the publish command with the stream key.
fn tshark_reads_the_publish(dir: &Path, key: &str) {
    if std::process::Command::new("tshark")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("RTMP_REQUIRE_TSHARK").is_none(),
            "tshark is required (RTMP_REQUIRE_TSHARK is set) but not on PATH"
        );
        eprintln!("tshark not on PATH: skipping its check");
        return;
    }
    let mut found = false;
    for (path, _) in replays(dir) {
        let port = Capture::open(&path).unwrap().connections[0].server.port();
        let output = std::process::Command::new("tshark")
            .arg("-r")
            .arg(&path)
            .args(["-d", &format!("tcp.port=={port},rtmpt")])
            .args(["-Y", "rtmpt", "-T", "fields", "-e", "amf.string"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8_lossy(&output.stdout);
        found |= text
            .lines()
            .any(|l| l.starts_with("publish,") && l.contains(key));
    }
    assert!(found, "tshark shows the publish of {key}");
}
