//! The FFmpeg relay check every server adapter must pass: a publisher, a player from
//! the start and a late player, packets compared with the source.

use super::ffmpeg::*;
use super::server::TestServer;
use rtmp_rs::proto::hub;
use std::path::Path;
use std::time::{Duration, Instant};

/// A running server under test, whatever runs it.
pub trait Served {
    /// The address it listens on.
    fn addr(&self) -> std::net::SocketAddr;
    /// `rtmp://127.0.0.1:PORT/app/key`.
    fn url(&self, app: &str, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/{app}/{key}", self.addr().port())
    }
    /// The server's streams now.
    fn streams(&self) -> Vec<hub::StreamInfo>;
}

impl Served for TestServer {
    fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }
    fn streams(&self) -> Vec<hub::StreamInfo> {
        self.handle.streams()
    }
}

/// Waits up to 10 s until `check` holds on the server's streams, or panics.
pub fn wait_for(server: &impl Served, what: &str, check: impl Fn(&[hub::StreamInfo]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let streams = server.streams();
        if check(&streams) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {streams:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Players subscribed to `key` (any app).
pub fn players(streams: &[hub::StreamInfo], key: &str) -> usize {
    streams
        .iter()
        .filter(|s| s.key.name == key)
        .map(|s| s.players)
        .sum()
}

/// Whether `key` has a live publisher (any app).
pub fn publishing(streams: &[hub::StreamInfo], key: &str) -> bool {
    streams.iter().any(|s| s.key.name == key && s.publishing)
}

pub fn temp_out(name: &str) -> std::path::PathBuf {
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

/// Publishes `input` to `server` with `-re -map 0 -c copy` (plus `publish_args`); a
/// player from the start and one joining 2 s in must receive the source's packets, the
/// late one from a keyframe of every video track.
pub fn relay_through(
    server: &impl Served,
    ff: &Path,
    input: &Path,
    key: &str,
    publish_args: &[&str],
) {
    let input = &wire_copy(ff, input, key);
    let source = parse_framecrc_full(&source_framecrc_all(ff, input));
    let url = server.url("live", key);
    let early_out = temp_out(&format!("{key}-early.framecrc"));
    let mut early = spawn_play_all(ff, &url, &early_out);
    wait_for(server, "the early player", |s| players(s, key) == 1);

    let mut args: Vec<String> = ["-re", "-i"].map(String::from).to_vec();
    args.push(input.display().to_string());
    args.extend(["-map", "0", "-c", "copy"].map(String::from));
    args.extend(publish_args.iter().map(|a| a.to_string()));
    args.extend(["-f".into(), "flv".into(), url.clone()]);
    let mut publisher = spawn_ffmpeg(ff, &args);
    wait_for(server, "the publisher", |s| publishing(s, key));
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
