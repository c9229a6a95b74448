//! Enhanced RTMP through the server with a real FFmpeg 9 on both ends: every codec
//! pair, multitrack, and negotiated `fourCcList`. What the players receive must equal
//! the source packet for packet (framecrc sizes and CRCs), and a player joining late
//! must start at a keyframe of every video track.

mod common;

use common::ffmpeg::*;
use common::relay::relay_through;
use common::server::TestServer;
use rtmp_rs::proto::enhanced::EnhancedRtmpMode;
use rtmp_rs::proto::SessionConfig;
use rtmp_rs::{RtmpHandler, ServerConfig};
use std::path::Path;
use std::time::Duration;

struct Open;
impl RtmpHandler for Open {}

/// Relays `input` through a Tokio server (see [`relay_through`]).
fn relay(ff: &Path, input: &Path, key: &str, publish_args: &[&str]) {
    let server = TestServer::start(ServerConfig::default(), Open);
    relay_through(&server, ff, input, key, publish_args);
}

#[test]
fn hevc_opus() {
    let Some(ff) = require_ffmpeg() else { return };
    relay(&ff, &hevc_opus_flv(), "hevc_opus", &[]);
}

#[test]
fn hevc_opus_through_a_server_on_two_workers() {
    let Some(ff) = require_ffmpeg() else { return };
    let server = TestServer::start(ServerConfig::default().workers(2), Open);
    relay_through(&server, &ff, &hevc_opus_flv(), "hevc_opus_workers", &[]);
}

#[test]
fn hevc_opus_with_negotiated_enhanced_codecs() {
    let Some(ff) = require_ffmpeg() else { return };
    relay(
        &ff,
        &hevc_opus_flv(),
        "hevc_opus_negotiated",
        &["-rtmp_enhanced_codecs", "hvc1,Opus"],
    );
}

#[test]
fn av1_flac() {
    let Some(ff) = require_ffmpeg() else { return };
    relay(&ff, &av1_flac_flv(), "av1_flac", &[]);
}

#[test]
fn vp9_ac3() {
    let Some(ff) = require_ffmpeg() else { return };
    relay(&ff, &vp9_ac3_flv(), "vp9_ac3", &[]);
}

#[test]
fn h264_eac3() {
    let Some(ff) = require_ffmpeg() else { return };
    relay(&ff, &h264_eac3_flv(), "h264_eac3", &[]);
}

#[test]
fn two_h264_tracks_and_aac_as_multitrack() {
    let Some(ff) = require_ffmpeg() else { return };
    relay(&ff, &two_h264_tracks_aac_flv(), "multitrack", &[]);
}

fn server_in(mode: EnhancedRtmpMode) -> TestServer {
    let session = SessionConfig {
        enhanced_mode: mode,
        ..SessionConfig::default()
    };
    TestServer::start(ServerConfig::default().session_config(session), Open)
}

fn publish_once(ff: &Path, input: &Path, url: &str, extra: &[&str]) -> (bool, String) {
    let mut args: Vec<String> = vec![
        "-i".into(),
        input.display().to_string(),
        "-c".into(),
        "copy".into(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    args.extend(["-f".into(), "flv".into(), url.to_owned()]);
    let mut publisher = spawn_ffmpeg(ff, &args);
    let status = publisher
        .wait_timeout(Duration::from_secs(30))
        .expect("ffmpeg finishes");
    (status.success(), publisher.stderr_text())
}

#[test]
fn legacy_only_refuses_an_enhanced_publish_with_a_clear_status() {
    let Some(ff) = require_ffmpeg() else { return };
    let server = server_in(EnhancedRtmpMode::LegacyOnly);
    let (ok, stderr) = publish_once(&ff, &hevc_opus_flv(), &server.url("live", "hevc"), &[]);
    assert!(!ok, "FFmpeg's HEVC publish must fail");
    assert!(
        stderr.contains("accepts legacy RTMP only"),
        "FFmpeg shows the reason: {stderr}"
    );
    let (ok, stderr) = publish_once(&ff, &h264_aac_flv(), &server.url("live", "h264"), &[]);
    assert!(ok, "legacy H.264 + AAC is still accepted: {stderr}");
}

#[test]
fn enhanced_only_rejects_a_legacy_client() {
    let Some(ff) = require_ffmpeg() else { return };
    let server = server_in(EnhancedRtmpMode::EnhancedOnly);
    let (ok, stderr) = publish_once(&ff, &h264_aac_flv(), &server.url("live", "legacy"), &[]);
    assert!(!ok, "a client that announces nothing is refused");
    assert!(
        stderr.contains("requires Enhanced RTMP"),
        "FFmpeg shows the reason: {stderr}"
    );
    let negotiated = ["-rtmp_enhanced_codecs", "hvc1,Opus"];
    let (ok, stderr) = publish_once(
        &ff,
        &hevc_opus_flv(),
        &server.url("live", "enhanced"),
        &negotiated,
    );
    assert!(ok, "a client that negotiates E-RTMP is served: {stderr}");
}

#[test]
fn stream_stats_report_codec_profile_resolution_and_audio_format() {
    let Some(ff) = require_ffmpeg() else { return };
    let server = TestServer::start(ServerConfig::default(), Open);
    let mut publisher = spawn_publish(&ff, &hevc_opus_flv(), &server.url("live", "stats"));
    server.wait_for("codec info", Duration::from_secs(10), |h| {
        h.streams()
            .iter()
            .any(|s| s.video.is_some() && s.audio.is_some())
    });
    let stream = server.handle.streams().remove(0);
    assert!(
        stream.bitrate_bps > 0 && stream.video_frames > 0 && stream.audio_frames > 0,
        "{stream:?}"
    );
    let video = stream.video.unwrap();
    assert_eq!(video.codec.to_string(), "HEVC");
    assert_eq!((video.width, video.height), (Some(320), Some(240)));
    assert!(video.profile.is_some(), "{video:?}");
    let audio = stream.audio.unwrap();
    assert_eq!(audio.codec.to_string(), "Opus");
    assert_eq!(audio.channels, Some(1));
    publisher.kill();
}
