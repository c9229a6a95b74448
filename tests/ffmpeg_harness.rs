//! Self-test of the FFmpeg interop harness in `tests/common/ffmpeg.rs`.
//! Skips when ffmpeg is missing, unless `RTMP_REQUIRE_FFMPEG=1`.

mod common;

use std::net::TcpListener;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::ffmpeg::*;

fn source_packets(ff: &Path) -> Vec<Packet> {
    let (packets, _) = parse_framecrc(&source_framecrc(ff, &h264_aac_flv()));
    packets
}

/// Runs `f`, expecting it to panic; returns the panic message.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        String::new()
    }
}

fn out_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "rtmp-rs-harness-{}-{tag}.framecrc",
        std::process::id()
    ))
}

/// A port that was free a moment ago (only for ffmpeg's own `-listen 1`
/// server, which cannot be asked for port 0).
fn unused_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Spawns a client against an ffmpeg `-listen 1` server, retrying while the
/// server is not listening yet, and waits for it to finish successfully.
fn run_client_with_retry(mut spawn: impl FnMut() -> Child) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut client = spawn();
        let started = Instant::now();
        let status = client
            .wait_timeout(Duration::from_secs(30))
            .unwrap_or_else(|| panic!("client timed out: {}", client.stderr_text()));
        if status.success() {
            return;
        }
        let stderr = client.stderr_text();
        let refused = stderr.contains("refused") || started.elapsed() < Duration::from_secs(1);
        assert!(
            refused && Instant::now() < deadline,
            "`{}` failed ({status}):\n{stderr}",
            client.command()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn fixture_is_cached_and_framecrc_parses() {
    let Some(ff) = require_ffmpeg() else { return };
    let input = h264_aac_flv();
    assert_eq!(input, h264_aac_flv(), "fixture path must be stable");
    assert!(input.starts_with(fixture_dir()));

    let first = source_framecrc(&ff, &input);
    let second = source_framecrc(&ff, &input);
    assert_eq!(first, second, "framecrc of the same file must be stable");

    let full = parse_framecrc_full(&first);
    let (packets, extradata) = parse_framecrc(&first);
    assert_eq!(packets, full.packets);
    assert_eq!(full.stream_of("video"), Some(0));
    assert_eq!(full.stream_of("audio"), Some(1));
    assert_eq!(full.streams[0].codec_id, "h264");
    assert_eq!(full.streams[1].codec_id, "aac");
    assert_eq!(extradata.len(), 2, "{extradata:?}");
    assert!(extradata[0].starts_with("#extradata 0:"), "{extradata:?}");
    assert!(extradata[1].starts_with("#extradata 1:"), "{extradata:?}");

    let video = stream_packets(&packets, 0);
    let audio = stream_packets(&packets, 1);
    assert!(video.len() > 150, "only {} video packets", video.len());
    assert!(audio.len() > 200, "only {} audio packets", audio.len());
    for (i, p) in video.iter().enumerate() {
        assert_eq!(
            p.is_keyframe(),
            i % 30 == 0,
            "video packet #{i} keyframe flag: {p:?}"
        );
    }
    assert!(audio.iter().all(|p| p.is_keyframe()));
    assert!(packets
        .iter()
        .all(|p| p.crc.starts_with("0x") && p.crc.len() == 10));
    assert_eq!(stream_counts(&packets)[&0], video.len());
}

#[test]
fn hevc_opus_fixture_parses() {
    let Some(ff) = require_ffmpeg() else { return };
    let full = parse_framecrc_full(&source_framecrc(&ff, &hevc_opus_flv()));
    assert_eq!(full.streams[0].codec_id, "hevc");
    assert_eq!(full.streams[1].codec_id, "opus");
    let video = stream_packets(&full.packets, 0);
    assert!(video.len() > 150, "only {} video packets", video.len());
    assert!(video[0].is_keyframe());
    assert_eq!(video.iter().filter(|p| p.is_keyframe()).count(), 6);
    assert!(
        full.packets.iter().any(|p| p.pts != p.dts),
        "expected B-frames"
    );
}

#[test]
fn accepts_identical_and_keyframe_suffix() {
    let Some(ff) = require_ffmpeg() else { return };
    let source = source_packets(&ff);
    assert_same_packets(&source, &source, true);
    assert_same_packets(&source, &source, false);
    assert_same_packets(&source, &[], true);

    // Join at the third video keyframe; every stream continues from there.
    let start = source
        .iter()
        .enumerate()
        .filter(|(_, p)| p.stream == 0 && p.is_keyframe())
        .nth(2)
        .map(|(i, _)| i)
        .expect("third keyframe");
    let mut suffix = source[start..].to_vec();
    // Timestamps are allowed to be shifted by a constant.
    for p in &mut suffix {
        p.dts -= 1000;
        p.pts -= 1000;
    }
    assert_same_packets(&source, &suffix, false);
    // A truncated tail (player stopped early) is still contiguous.
    assert_same_packets(&source, &suffix[..suffix.len() / 2], false);
    assert_same_packets(&source, &source[..100], true);

    // But it is not a run from the start.
    let msg = panic_message(|| assert_same_packets(&source, &suffix, true));
    assert!(msg.contains("stream 0"), "{msg}");

    // Joining at a non-keyframe is rejected.
    let msg = panic_message(|| assert_same_packets(&source, &source[start + 2..], false));
    assert!(msg.contains("not a keyframe"), "{msg}");
}

#[test]
fn rejects_changed_crc() {
    let Some(ff) = require_ffmpeg() else { return };
    let source = source_packets(&ff);
    let mut played = source.clone();
    let victim = played
        .iter()
        .enumerate()
        .filter(|(_, p)| p.stream == 0)
        .nth(40)
        .map(|(i, _)| i)
        .unwrap();
    played[victim].crc = "0xdeadbeef".to_string();
    let msg = panic_message(|| assert_same_packets(&source, &played, true));
    assert!(msg.contains("stream 0"), "{msg}");
    assert!(msg.contains("played #40"), "{msg}");
    assert!(msg.contains("0xdeadbeef"), "{msg}");
    let msg = panic_message(|| assert_same_packets(&source, &played, false));
    assert!(msg.contains("0xdeadbeef"), "{msg}");
}

#[test]
fn rejects_missing_packet() {
    let Some(ff) = require_ffmpeg() else { return };
    let source = source_packets(&ff);
    let mut played = source.clone();
    let victim = played
        .iter()
        .enumerate()
        .filter(|(_, p)| p.stream == 1)
        .nth(100)
        .map(|(i, _)| i)
        .unwrap();
    played.remove(victim);
    let msg = panic_message(|| assert_same_packets(&source, &played, true));
    assert!(msg.contains("stream 1"), "{msg}");
    assert!(msg.contains("played #100"), "{msg}");
    let msg = panic_message(|| assert_same_packets(&source, &played, false));
    assert!(msg.contains("stream 1"), "{msg}");
}

#[test]
fn streams_are_normalised_by_media_type() {
    // As the FLV demuxer may number streams: audio first.
    let text = "\
#extradata 0:        5, 0x054101d4
#extradata 1:       42, 0xf8fd0d14
#tb 0: 1/1000
#media_type 0: audio
#codec_id 0: aac
#tb 1: 1/1000
#media_type 1: video
#codec_id 1: h264
0,          0,          0,       21,      190, 0xe0115e30
1,         21,         21,       33,     5823, 0xca4a084b
1,         54,         54,       33,     1426, 0x9a05bdfe, F=0x0
1,         88,         88,       33,     1704, 0xcc216f86, F=0x0, S=1,        8, 0x00c000c0
1,        121,        121,       33,     17";
    let full = parse_framecrc_full(text);
    assert_eq!(full.stream_of("video"), Some(0));
    assert_eq!(full.streams[0].original_index, 1);
    assert_eq!(
        full.extradata,
        vec![
            "#extradata 0:       42, 0xf8fd0d14".to_string(),
            "#extradata 1:        5, 0x054101d4".to_string(),
        ]
    );
    // The unterminated last line is ignored.
    assert_eq!(full.packets.len(), 4);
    assert_eq!(full.packets[0].stream, 1);
    assert_eq!(
        full.packets[1],
        Packet {
            stream: 0,
            dts: 21,
            pts: 21,
            duration: 33,
            size: 5823,
            crc: "0xca4a084b".to_string(),
            flags: None,
        }
    );
    assert!(full.packets[1].is_keyframe());
    assert!(!full.packets[2].is_keyframe());
    assert_eq!(full.packets[3].flags.as_deref(), Some("0x0"));
}

#[test]
fn play_from_ffmpeg_rtmp_server() {
    let Some(ff) = require_ffmpeg() else { return };
    let input = h264_aac_flv();
    let (source, source_extradata) = parse_framecrc(&source_framecrc(&ff, &input));
    let url = format!("rtmp://127.0.0.1:{}/live/harness", unused_port());
    let out = out_path("play");

    let mut server = spawn_ffmpeg(
        &ff,
        [
            "-i".as_ref(),
            input.as_os_str(),
            "-c".as_ref(),
            "copy".as_ref(),
            "-f".as_ref(),
            "flv".as_ref(),
            "-listen".as_ref(),
            "1".as_ref(),
            url.as_ref(),
        ],
    );
    run_client_with_retry(|| spawn_play(&ff, &url, &out));
    server.expect_success(Duration::from_secs(10));

    let (played, extradata) = read_framecrc(&out);
    let _ = std::fs::remove_file(&out);
    assert_eq!(extradata, source_extradata);
    assert_eq!(stream_counts(&played), stream_counts(&source));
    assert_same_packets(&source, &played, true);
}

#[test]
fn publish_to_ffmpeg_rtmp_server() {
    let Some(ff) = require_ffmpeg() else { return };
    let input = h264_aac_flv();
    let (source, _) = parse_framecrc(&source_framecrc(&ff, &input));
    let url = format!("rtmp://127.0.0.1:{}/live/harness", unused_port());
    let out = out_path("publish");

    let mut server = spawn_ffmpeg(
        &ff,
        [
            "-listen".as_ref(),
            "1".as_ref(),
            "-i".as_ref(),
            url.as_ref(),
            "-c".as_ref(),
            "copy".as_ref(),
            "-f".as_ref(),
            "framecrc".as_ref(),
            out.as_os_str(),
        ],
    );
    let started = Instant::now();
    run_client_with_retry(|| spawn_publish(&ff, &input, &url));
    // `-re` paces the publisher at real time.
    assert!(started.elapsed() >= Duration::from_secs(u64::from(FIXTURE_SECONDS) - 1));
    server.expect_success(Duration::from_secs(10));

    let (received, _) = read_framecrc(&out);
    let _ = std::fs::remove_file(&out);
    assert_eq!(stream_counts(&received), stream_counts(&source));
    assert_same_packets(&source, &received, true);
}

#[test]
fn child_is_killed_on_drop() {
    let Some(ff) = require_ffmpeg() else { return };
    let mut child = spawn_ffmpeg(
        &ff,
        [
            "-re",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x64:rate=10",
            "-f",
            "null",
            "-",
        ],
    );
    assert!(child.wait_timeout(Duration::from_millis(300)).is_none());
    assert!(child.is_running());
    let pid = child.id();
    drop(child);
    #[cfg(target_os = "linux")]
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "process {pid} still exists after drop"
    );
    let _ = pid;

    // A failing command reports its stderr.
    let mut failing = spawn_ffmpeg(&ff, ["-i", "/nonexistent/input.flv", "-f", "null", "-"]);
    let status = failing
        .wait_timeout(Duration::from_secs(10))
        .expect("exits");
    assert!(!status.success());
    assert!(failing.stderr_text().contains("nonexistent"));
}
