//! Enhanced RTMP through the server with a real FFmpeg 9 on both ends: every codec
//! pair, multitrack, and negotiated `fourCcList`. What the players receive must equal
//! the source packet for packet (framecrc sizes and CRCs), and a player joining late
//! must start at a keyframe of every video track.

mod common;

use common::ffmpeg::*;
use common::server::TestServer;
use rtmp_rs::proto::enhanced::EnhancedRtmpMode;
use rtmp_rs::proto::SessionConfig;
use rtmp_rs::{RtmpHandler, ServerConfig};
use std::path::Path;
use std::time::Duration;

struct Open;
impl RtmpHandler for Open {}

fn temp_out(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rtmp-rs-enhanced-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn video_streams(crc: &FrameCrc) -> Vec<u32> {
    crc.streams
        .iter()
        .filter(|s| s.media_type == "video")
        .map(|s| s.index)
        .collect()
}

/// `input` as FFmpeg's FLV muxer writes it on the wire: its remux rewrites some codec
/// records (VP9's vpcC), so the remuxed copy, not the file, is what goes in.
fn wire_copy(ff: &Path, input: &Path, key: &str) -> std::path::PathBuf {
    let out = temp_out(&format!("{key}-wire.flv"));
    let args = [
        "-y",
        "-i",
        &input.display().to_string(),
        "-map",
        "0",
        "-c",
        "copy",
        "-f",
        "flv",
        &out.display().to_string(),
    ];
    spawn_ffmpeg(ff, args).expect_success(Duration::from_secs(30));
    out
}

/// Publishes `input` with `-re -map 0 -c copy` (plus `publish_args`); a player from the
/// start and one joining 2 s in must receive the source's packets.
fn relay(ff: &Path, input: &Path, key: &str, publish_args: &[&str]) {
    let input = &wire_copy(ff, input, key);
    let source = parse_framecrc_full(&source_framecrc_all(ff, input));
    let server = TestServer::start(ServerConfig::default(), Open);
    let url = server.url("live", key);
    let early_out = temp_out(&format!("{key}-early.framecrc"));
    let mut early = spawn_play_all(ff, &url, &early_out);
    server.wait_for("the early player", Duration::from_secs(10), |_| {
        server.players(key) == 1
    });

    let mut args: Vec<String> = ["-re", "-i"].map(String::from).to_vec();
    args.push(input.display().to_string());
    args.extend(["-map", "0", "-c", "copy"].map(String::from));
    args.extend(publish_args.iter().map(|a| a.to_string()));
    args.extend(["-f".into(), "flv".into(), url.clone()]);
    let mut publisher = spawn_ffmpeg(ff, &args);
    server.wait_for("the publisher", Duration::from_secs(10), |_| {
        server.publishing(key)
    });
    std::thread::sleep(Duration::from_secs(2));
    let late_out = temp_out(&format!("{key}-late.framecrc"));
    let mut late = spawn_play_all(ff, &url, &late_out);

    publisher.expect_success(Duration::from_secs(30));
    early.expect_success(Duration::from_secs(15));
    late.expect_success(Duration::from_secs(15));

    let early_crc = parse_framecrc_full(&std::fs::read_to_string(&early_out).unwrap());
    assert_eq!(
        early_crc.streams.len(),
        source.streams.len(),
        "every track arrives: {:?}",
        early_crc.streams
    );
    assert_eq!(
        early_crc.extradata, source.extradata,
        "sequence headers of every track arrive intact"
    );
    assert_same_packets(&source.packets, &early_crc.packets, true);
    assert_eq!(
        early_crc.packets.len(),
        source.packets.len(),
        "every packet arrives"
    );

    let late_crc = parse_framecrc_full(&std::fs::read_to_string(&late_out).unwrap());
    assert_eq!(
        late_crc.extradata, source.extradata,
        "a late player gets every track's sequence header"
    );
    assert_same_packets(&source.packets, &late_crc.packets, false);
    for stream in video_streams(&source) {
        let first = late_crc
            .packets
            .iter()
            .find(|p| p.stream == stream)
            .expect("late player gets every video track");
        let keyframe_in_source = source
            .packets
            .iter()
            .filter(|p| p.stream == stream)
            .any(|p| p.same_payload(first) && p.is_keyframe());
        assert!(
            keyframe_in_source,
            "late player's video track {stream} starts at a keyframe"
        );
    }
    let late_video = late_crc.packets.iter().filter(|p| p.stream == 0).count();
    let all_video = source.packets.iter().filter(|p| p.stream == 0).count();
    assert!(
        late_video > all_video / 8 && late_video < all_video,
        "late player got {late_video} of {all_video}"
    );
}

#[test]
fn hevc_opus() {
    let Some(ff) = require_ffmpeg() else { return };
    relay(&ff, &hevc_opus_flv(), "hevc_opus", &[]);
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
