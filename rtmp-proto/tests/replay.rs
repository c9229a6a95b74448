//! Captures replayed through sessions: real FFmpeg 9 captures taken with tcpdump and
//! tshark (see `fixtures/README.md`), rewritten variants of them (other link types,
//! IPv6, retransmissions, reordering, a cut start), and captures written by our own
//! recorder around in-memory sessions, which replay byte for byte.

mod common;

use pcap_file::pcap::{PcapPacket, PcapReader, PcapWriter};
use pcap_file::DataLink;
use rtmp_proto::media::MediaKind;
use rtmp_proto::replay::{
    first_event_difference, Capture, Opening, ReplayOptions, RoleEvidence, ServerReplay,
    SessionSummary, Split, TrackSummary,
};
use std::time::Duration;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const H264: &str = "ffmpeg-publish-h264-aac.pcap";
const HEVC: &str = "ffmpeg-publish-hevc-opus.pcapng";
const PLAY: &str = "ffmpeg-play-h264-aac.pcap";

fn replay(capture: &Capture, split: Split) -> ServerReplay {
    let options = ReplayOptions {
        split,
        ..ReplayOptions::default()
    };
    capture.replay_server(0, &options).expect("replayable")
}

fn track(tracks: &[TrackSummary], kind: MediaKind) -> &TrackSummary {
    tracks
        .iter()
        .find(|t| t.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} track in {tracks:?}"))
}

fn assert_track(t: &TrackSummary, codec: &str, frames: u64, keyframes: u64, first: u32, last: u32) {
    assert_eq!(
        (
            t.codec.as_str(),
            t.frames,
            t.keyframes,
            t.first_timestamp,
            t.last_timestamp,
            t.sequence_headers
        ),
        (codec, frames, keyframes, Some(first), Some(last), 1),
        "{t}"
    );
}

#[test]
fn ffmpeg_h264_aac_publish_from_tcpdump_replays_to_its_events() {
    let capture = Capture::parse(&fixture(H264)).unwrap();
    assert!(!capture.pcapng && capture.meta.is_none());
    assert_eq!(capture.connections.len(), 1);
    let connection = &capture.connections[0];
    assert_eq!(
        (connection.opening, connection.roles_from),
        (Opening::Syn, RoleEvidence::Syn)
    );
    assert_eq!(connection.server.port(), 19351);
    let replay = replay(&capture, Split::AsCaptured);
    let summary = SessionSummary::of(&replay);
    assert_eq!(summary.app.as_deref(), Some("live"));
    assert_eq!(
        summary.tc_url.as_deref(),
        Some("rtmp://127.0.0.1:19351/live")
    );
    assert_eq!(summary.published, ["fixture"]);
    assert_eq!(summary.metadata, 1);
    assert_track(
        track(&summary.received, MediaKind::Video),
        "avc1",
        30,
        2,
        0,
        1933,
    );
    assert_track(
        track(&summary.received, MediaKind::Audio),
        "mp4a",
        88,
        0,
        110,
        2130,
    );
    assert_eq!(
        summary.statuses,
        ["NetConnection.Connect.Success", "NetStream.Publish.Start"]
    );
    assert!(replay.unanswered.is_empty() && replay.error.is_none());
    // A foreign capture (no seed): everything after the handshake is identical, since
    // the capture was taken from this crate's own server.
    assert_eq!(replay.compared_from, 3073);
    assert_eq!(
        replay.divergence,
        None,
        "{}",
        replay.divergence.as_ref().unwrap()
    );
}

#[test]
fn ffmpeg_hevc_opus_publish_from_tshark_replays_to_its_events() {
    let capture = Capture::parse(&fixture(HEVC)).unwrap();
    assert!(capture.pcapng && capture.meta.is_none());
    let replay = replay(&capture, Split::AsCaptured);
    let summary = SessionSummary::of(&replay);
    assert_eq!(summary.app.as_deref(), Some("live"));
    assert_eq!(summary.published, ["hevc"]);
    assert_track(
        track(&summary.received, MediaKind::Video),
        "hvc1",
        30,
        2,
        0,
        1933,
    );
    assert_track(
        track(&summary.received, MediaKind::Audio),
        "Opus",
        101,
        0,
        126,
        2127,
    );
    assert_eq!(
        summary.statuses,
        ["NetConnection.Connect.Success", "NetStream.Publish.Start"]
    );
    assert_eq!(replay.divergence, None);
}

#[test]
fn ffmpeg_play_from_a_cooked_capture_replays_with_the_delivered_media() {
    let capture = Capture::parse(&fixture(PLAY)).unwrap();
    let replay = replay(&capture, Split::AsCaptured);
    let summary = SessionSummary::of(&replay);
    assert_eq!(summary.flash_ver.as_deref(), Some("LNX 9,0,124,2"));
    assert_eq!(summary.played, ["playme"]);
    assert!(summary.received.is_empty());
    assert_track(
        track(&summary.sent, MediaKind::Video),
        "avc1",
        41,
        3,
        0,
        2666,
    );
    assert_track(
        track(&summary.sent, MediaKind::Audio),
        "mp4a",
        111,
        0,
        110,
        2664,
    );
    assert_eq!(
        summary.statuses,
        [
            "NetConnection.Connect.Success",
            "NetStream.Play.Reset",
            "NetStream.Play.Start"
        ]
    );
    // The media recovered from the captured output and delivered at the same points
    // reproduces the server's output exactly (past the handshake's random bytes).
    assert_eq!(replay.output.len(), replay.captured.len());
    assert_eq!(replay.output[3073..], replay.captured[3073..]);
    assert_eq!(replay.divergence, None);
}

#[test]
fn any_segmentation_of_the_input_gives_the_same_events() {
    for name in [H264, HEVC, PLAY] {
        let capture = Capture::parse(&fixture(name)).unwrap();
        let whole = replay(&capture, Split::AsCaptured);
        assert!(whole.events.len() > 3, "{name}");
        let mut splits = vec![Split::ByteAtATime];
        splits.extend((1..4).map(|seed| Split::Random { seed }));
        for split in splits {
            let other = replay(&capture, split);
            assert_eq!(
                first_event_difference(&whole.events, &other.events),
                None,
                "{name} {split:?}"
            );
            assert_eq!(whole.delivered, other.delivered, "{name} {split:?}");
        }
    }
}

/// Packets with their capture times.
type Packets = Vec<(Duration, Vec<u8>)>;

/// The packets of a classic pcap fixture, and its header.
fn packets(name: &str) -> (pcap_file::pcap::PcapHeader, Vec<(Duration, Vec<u8>)>) {
    let bytes = fixture(name);
    let mut reader = PcapReader::new(&bytes[..]).unwrap();
    let header = reader.header();
    let mut packets = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.unwrap();
        packets.push((packet.timestamp, packet.data.into_owned()));
    }
    (header, packets)
}

fn write_pcap(
    mut header: pcap_file::pcap::PcapHeader,
    link: DataLink,
    packets: &[(Duration, Vec<u8>)],
) -> Vec<u8> {
    header.datalink = link;
    header.snaplen = 262_144;
    let mut writer = PcapWriter::with_header(Vec::new(), header).unwrap();
    for (time, data) in packets {
        writer
            .write_packet(&PcapPacket::new(*time, data.len() as u32, data))
            .unwrap();
    }
    writer.into_writer()
}

/// The IPv4 packet inside an Ethernet frame of the H.264 fixture.
fn ip_of(frame: &[u8]) -> &[u8] {
    assert_eq!(&frame[12..14], &[0x08, 0x00]);
    &frame[14..]
}

/// The same TCP segment over IPv6 (loopback addresses, ports kept).
fn to_ipv6(ipv4: &[u8]) -> Vec<u8> {
    let header = usize::from(ipv4[0] & 0x0F) * 4;
    let total = usize::from(u16::from_be_bytes([ipv4[2], ipv4[3]]));
    let tcp = &ipv4[header..total];
    let mut out = vec![0x60, 0, 0, 0];
    out.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
    out.extend_from_slice(&[6, 64]);
    // ::1 for both ends would merge the flows' keys with the ports still apart: fine.
    let mut src = [0u8; 16];
    src[15] = 1;
    let mut dst = [0u8; 16];
    dst[15] = 1;
    out.extend_from_slice(&src);
    out.extend_from_slice(&dst);
    out.extend_from_slice(tcp);
    out
}

#[test]
fn every_link_type_and_ipv6_read_to_the_same_events() {
    let (header, frames) = packets(H264);
    let clean = replay(&Capture::parse(&fixture(H264)).unwrap(), Split::AsCaptured);
    let rewrap = |f: &dyn Fn(&[u8]) -> Vec<u8>| -> Vec<(Duration, Vec<u8>)> {
        frames.iter().map(|(t, d)| (*t, f(d))).collect()
    };
    let prefixed = |prefix: &[u8], ip: &[u8]| [prefix, ip].concat();
    let variants: Vec<(&str, DataLink, Packets)> = vec![
        (
            "null",
            DataLink::NULL,
            rewrap(&|d| prefixed(&[2, 0, 0, 0], ip_of(d))),
        ),
        (
            "loop",
            DataLink::LOOP,
            rewrap(&|d| prefixed(&[0, 0, 0, 2], ip_of(d))),
        ),
        ("raw", DataLink::RAW, rewrap(&|d| ip_of(d).to_vec())),
        (
            "sll",
            DataLink::LINUX_SLL,
            rewrap(&|d| {
                let mut sll = vec![0u8; 16];
                sll[14..16].copy_from_slice(&[0x08, 0x00]);
                prefixed(&sll, ip_of(d))
            }),
        ),
        (
            "ethernet ipv6",
            DataLink::ETHERNET,
            rewrap(&|d| {
                let mut eth = d[..14].to_vec();
                eth[12..14].copy_from_slice(&[0x86, 0xDD]);
                prefixed(&eth, &to_ipv6(ip_of(d)))
            }),
        ),
        (
            "vlan",
            DataLink::ETHERNET,
            rewrap(&|d| [&d[..12], &[0x81, 0x00, 0, 5], &d[12..]].concat()),
        ),
    ];
    for (name, link, packets) in variants {
        let capture = Capture::parse(&write_pcap(header, link, &packets)).unwrap();
        assert_eq!(capture.unreadable_frames, 0, "{name}");
        let connection = &capture.connections[0];
        assert_eq!(connection.opening, Opening::Syn, "{name}");
        if name == "ethernet ipv6" {
            assert!(connection.server.is_ipv6());
        }
        let other = replay(&capture, Split::AsCaptured);
        assert_eq!(
            first_event_difference(&clean.events, &other.events),
            None,
            "{name}"
        );
    }
}

/// A copy of an IPv4 data segment that starts `skip` bytes into its payload.
fn tail_of(frame: &[u8], skip: usize) -> Vec<u8> {
    let ip_header = usize::from(frame[14] & 0x0F) * 4;
    let tcp = 14 + ip_header;
    let data = tcp + usize::from(frame[tcp + 12] >> 4) * 4;
    let mut out = frame[..data].to_vec();
    out.extend_from_slice(&frame[data + skip..]);
    let seq = u32::from_be_bytes([
        frame[tcp + 4],
        frame[tcp + 5],
        frame[tcp + 6],
        frame[tcp + 7],
    ]);
    out[tcp + 4..tcp + 8].copy_from_slice(&seq.wrapping_add(skip as u32).to_be_bytes());
    let total = (out.len() - 14) as u16;
    out[16..18].copy_from_slice(&total.to_be_bytes());
    out
}

fn payload_len(frame: &[u8]) -> usize {
    let ip_header = usize::from(frame[14] & 0x0F) * 4;
    let total = usize::from(u16::from_be_bytes([frame[16], frame[17]]));
    let tcp = 14 + ip_header;
    total - ip_header - usize::from(frame[tcp + 12] >> 4) * 4
}

#[test]
fn retransmitted_reordered_and_overlapping_segments_reassemble_to_the_same_events() {
    let (header, mut frames) = packets(H264);
    let clean = replay(&Capture::parse(&fixture(H264)).unwrap(), Split::AsCaptured);
    let data: Vec<usize> = (0..frames.len())
        .filter(|&i| payload_len(&frames[i].1) > 100)
        .collect();
    // Swap two data segments of the same direction (the publisher's media).
    let port = |f: &[u8]| u16::from_be_bytes([f[34], f[35]]);
    let (a, b) = data
        .windows(2)
        .map(|w| (w[0], w[1]))
        .rev()
        .find(|&(a, b)| port(&frames[a].1) == port(&frames[b].1) && b > a + 1)
        .or_else(|| {
            data.windows(2)
                .map(|w| (w[0], w[1]))
                .rev()
                .find(|&(a, b)| port(&frames[a].1) == port(&frames[b].1))
        })
        .unwrap();
    frames.swap(a, b);
    // Retransmit an early segment later, and send the tail of another ahead of it
    // (overlapping what then arrives).
    let early = data[3];
    let retransmitted = frames[early].clone();
    frames.insert(early + 5, retransmitted);
    let overlapped = data[6];
    let len = payload_len(&frames[overlapped].1);
    let tail = (
        frames[overlapped].0,
        tail_of(&frames[overlapped].1, len / 2),
    );
    frames.insert(overlapped, tail);
    let capture = Capture::parse(&write_pcap(header, DataLink::ETHERNET, &frames)).unwrap();
    let connection = &capture.connections[0];
    assert!(connection.duplicate_bytes > 0, "{connection:?}");
    assert!(connection.out_of_order_segments >= 2);
    assert_eq!(connection.gap, None);
    let other = replay(&capture, Split::AsCaptured);
    assert_eq!(first_event_difference(&clean.events, &other.events), None);
    assert_eq!(other.output[3073..], clean.output[3073..]);
}

#[test]
fn a_capture_that_starts_mid_connection_is_reported_as_such() {
    let (header, frames) = packets(H264);
    // Drop the TCP handshake, the RTMP handshake and connect.
    let cut = write_pcap(header, DataLink::ETHERNET, &frames[12..]);
    let capture = Capture::parse(&cut).unwrap();
    let connection = &capture.connections[0];
    assert_eq!(connection.opening, Opening::MidConnection);
    assert_eq!(connection.roles_from, RoleEvidence::LowerPort);
    assert_eq!(connection.server.port(), 19351);
    let error = capture
        .replay_server(0, &ReplayOptions::default())
        .unwrap_err();
    assert!(error.to_string().contains("mid-connection"), "{error}");
    // Without only the SYN, the RTMP handshake still marks the start.
    let no_syn = write_pcap(header, DataLink::ETHERNET, &frames[3..]);
    let capture = Capture::parse(&no_syn).unwrap();
    let connection = &capture.connections[0];
    assert_eq!(
        (connection.opening, connection.roles_from),
        (Opening::HandshakeWithoutSyn, RoleEvidence::C0)
    );
    assert_eq!(connection.server.port(), 19351);
    let clean = replay(&Capture::parse(&fixture(H264)).unwrap(), Split::AsCaptured);
    let other = replay(&capture, Split::AsCaptured);
    assert_eq!(first_event_difference(&clean.events, &other.events), None);
}

#[test]
fn damaged_and_foreign_files_give_errors_not_panics() {
    assert!(Capture::parse(b"").is_err());
    assert!(Capture::parse(b"GIF89a....").is_err());
    for name in [H264, HEVC, PLAY] {
        let bytes = fixture(name);
        // Every prefix length near block boundaries, and corrupted bytes all over.
        for cut in (0..bytes.len()).step_by(97) {
            let _ = Capture::parse(&bytes[..cut]).map(|c| {
                for i in 0..c.connections.len() {
                    let _ = c.replay_server(i, &ReplayOptions::default());
                }
            });
        }
        let mut state = 0x1234_5678_u64;
        for _ in 0..200 {
            let mut damaged = bytes.clone();
            for _ in 0..8 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let at = (state >> 33) as usize % damaged.len();
                damaged[at] = (state >> 20) as u8;
            }
            if let Ok(capture) = Capture::parse(&damaged) {
                for i in 0..capture.connections.len() {
                    let _ = capture.replay_server(i, &ReplayOptions::default());
                }
            }
        }
    }
}

// ---- Captures written by our own recorder around in-memory sessions ----

use bytes::Bytes;
use common::pair::World;
use rtmp_proto::amf::{self, AmfObject};
use rtmp_proto::capture::CaptureConfig;
use rtmp_proto::media::MediaMessage;
use rtmp_proto::ServerEvent;
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rtmp-replay-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn media(kind: MediaKind, ts: u32, payload: Vec<u8>) -> MediaMessage {
    MediaMessage::new(kind, ts, Bytes::from(payload))
}

fn frame(ts: u32, key: bool) -> MediaMessage {
    let mut payload = vec![if key { 0x17 } else { 0x27 }, 1, 0, 0, 0];
    payload.extend((0..300 + ts as usize % 97).map(|i| (i as u32 * 7 + ts) as u8));
    media(MediaKind::Video, ts, payload)
}

/// A publisher and a player of `live/stage`, both recorded on the server side; the
/// session includes pings (timers), an unpublish and the player's republish grace.
fn record_publish_and_play(config: &CaptureConfig) -> (PathBuf, PathBuf) {
    let mut world = World::default();
    let publisher = world.publish("stage");
    let publish_file = world.record(publisher, config);
    world.run();
    let send = |world: &mut World, messages: &[MediaMessage]| {
        for message in messages {
            world.conns[publisher].client.send_media(message);
        }
        world.run();
    };
    let mut metadata = bytes::BytesMut::new();
    amf::encode_all(
        &[
            "onMetaData".into(),
            AmfObject::new().with("width", 320.0).into(),
        ],
        &mut metadata,
    );
    world.conns[publisher]
        .client
        .send_metadata(&metadata.freeze());
    send(
        &mut world,
        &[
            media(
                MediaKind::Video,
                0,
                vec![0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1F],
            ),
            media(MediaKind::Audio, 0, vec![0xAF, 0, 0x12, 0x10]),
        ],
    );
    // `count` video frames (a keyframe every sixth) with audio, 40 ms of timestamps
    // apart, sent `pace` apart.
    let mut ts = 0;
    let mut send_frames = |world: &mut World, count: u32, pace: Duration| {
        for n in 0..count {
            let audio = media(MediaKind::Audio, ts, vec![0xAF, 1, ts as u8, 9]);
            send(world, &[frame(ts, n % 6 == 0), audio]);
            world.advance(pace);
            ts += 40;
        }
    };
    send_frames(&mut world, 12, Duration::from_millis(40));
    let player = world.play("stage");
    let play_file = world.record(player, config);
    world.run();
    send_frames(&mut world, 10, Duration::from_millis(35));
    // Quiet long enough for the server to ping both peers.
    world.advance(Duration::from_secs(21));
    send(&mut world, &[frame(ts, true)]);
    world.conns[publisher].client.close_stream();
    world.run();
    // The player waits out the republish grace, then is sent Play.Stop.
    world.advance(Duration::from_secs(11));
    world.finish_capture(publisher);
    world.finish_capture(player);
    (publish_file, play_file)
}

fn replay_file(path: &Path, options: &ReplayOptions) -> (Capture, ServerReplay) {
    let capture = Capture::open(path).unwrap();
    let replay = capture.replay_server(0, options).unwrap();
    (capture, replay)
}

#[test]
fn our_own_captures_replay_to_byte_identical_output() {
    let dir = temp_dir("own");
    let (publish_file, play_file) = record_publish_and_play(&CaptureConfig::new(&dir));
    if std::env::var_os("RTMP_WRITE_FIXTURES").is_some() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        std::fs::copy(&play_file, fixtures.join("own-server-play.pcapng")).unwrap();
    }
    for path in [&publish_file, &play_file] {
        let (capture, replay) = replay_file(path, &ReplayOptions::default());
        let meta = capture.meta.clone().expect("our metadata");
        assert_eq!(capture.server_meta(0), Some(&meta));
        assert!(
            replay.is_byte_identical(),
            "{path:?}: {}",
            replay.divergence.unwrap()
        );
        assert_eq!(replay.output, replay.captured);
        assert_eq!(replay.unwritten, 0);
        // The same input byte by byte gives the same events.
        let options = ReplayOptions {
            split: Split::ByteAtATime,
            ..ReplayOptions::default()
        };
        let (_, bytewise) = replay_file(path, &options);
        assert_eq!(
            first_event_difference(&replay.events, &bytewise.events),
            None
        );
    }
    let (_, publish) = replay_file(&publish_file, &ReplayOptions::default());
    let summary = SessionSummary::of(&publish);
    assert_eq!(summary.published, ["stage"]);
    assert_track(
        track(&summary.received, MediaKind::Video),
        "avc1",
        23,
        5,
        0,
        880,
    );
    assert!(publish
        .events
        .iter()
        .any(|e| matches!(e.event, ServerEvent::PublishStopped { .. })));
    let (_, play) = replay_file(&play_file, &ReplayOptions::default());
    let summary = SessionSummary::of(&play);
    assert_eq!(summary.played, ["stage"]);
    assert!(track(&summary.sent, MediaKind::Video).frames > 10);
    let statuses: Vec<&str> = summary.statuses.iter().map(String::as_str).collect();
    assert!(
        statuses.ends_with(&["NetStream.Play.UnpublishNotify", "NetStream.Play.Stop"]),
        "{statuses:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_checked_in_own_capture_replays_byte_for_byte() {
    let capture = Capture::parse(&fixture("own-server-play.pcapng")).unwrap();
    assert!(capture.meta.is_some());
    let replay = capture.replay_server(0, &ReplayOptions::default()).unwrap();
    assert!(replay.is_byte_identical(), "{}", replay.divergence.unwrap());
    assert!(replay.delivered.len() > 20);
}

#[test]
fn a_wrong_seed_or_an_altered_byte_is_reported_where_the_output_first_differs() {
    let dir = temp_dir("negative");
    let (publish_file, _) = record_publish_and_play(&CaptureConfig::new(&dir));
    let options = ReplayOptions {
        rng_seed: Some(12345),
        ..ReplayOptions::default()
    };
    let (_, wrong_seed) = replay_file(&publish_file, &options);
    let divergence = wrong_seed.divergence.expect("the seed shapes S1");
    // S0, then S1's time and version: the random bytes start at byte 9.
    assert_eq!(divergence.offset, 9);
    assert_eq!(divergence.at, Duration::ZERO);
    let report = divergence.to_string();
    assert!(
        report.contains("byte 9") && report.contains("in the handshake"),
        "{report}"
    );

    // Rename the stream in the publish command: "stage" -> "xtage".
    let mut bytes = std::fs::read(&publish_file).unwrap();
    let pattern = b"\x00\x05stage\x02\x00\x04live";
    let at = bytes
        .windows(pattern.len())
        .position(|w| w == pattern)
        .expect("the publish command");
    bytes[at + 2] = b'x';
    let clean = replay_file(&publish_file, &ReplayOptions::default()).1;
    let altered = Capture::parse(&bytes)
        .unwrap()
        .replay_server(0, &ReplayOptions::default())
        .unwrap();
    let (index, before, after) = first_event_difference(&clean.events, &altered.events).unwrap();
    assert!(matches!(
        clean.events[index].event,
        ServerEvent::PublishRequest { .. }
    ));
    assert!(before.unwrap().contains("\"stage\"") && after.unwrap().contains("\"xtage\""));
    let divergence = altered.divergence.expect("Publish.Start names the stream");
    assert_eq!(
        (divergence.expected, divergence.actual),
        (Some(b's'), Some(b'x'))
    );
    assert!(divergence.offset > 3073);
    assert_eq!(divergence.at, clean.events[index].at);
    let report = divergence.to_string();
    assert!(
        report.contains(&format!("byte {}", divergence.offset)),
        "{report}"
    );
    assert!(
        report.contains("PublishRequest") && report.contains("type 20"),
        "{report}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_capture_past_its_size_bound_stops_marked_and_replays_as_a_prefix() {
    let dir = temp_dir("bound");
    let config = CaptureConfig {
        dir: dir.clone(),
        max_file_bytes: 12_000,
    };
    let (publish_file, _) = record_publish_and_play(&config);
    let size = std::fs::metadata(&publish_file).unwrap().len();
    assert!(size <= 12_000, "{size}");
    let (capture, replay) = replay_file(&publish_file, &ReplayOptions::default());
    assert!(capture.truncated_at.is_some());
    assert_eq!(replay.divergence, None);
    assert_eq!(replay.output[..replay.captured.len()], replay.captured[..]);
    // What was recorded replays to the start of the whole session's events.
    let whole_dir = temp_dir("unbounded");
    let (whole_file, _) = record_publish_and_play(&CaptureConfig::new(&whole_dir));
    let (_, whole) = replay_file(&whole_file, &ReplayOptions::default());
    assert!(replay.events.len() > 3 && replay.events.len() < whole.events.len());
    assert_eq!(replay.events[..], whole.events[..replay.events.len()]);
    std::fs::remove_dir_all(&whole_dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tshark_decodes_our_capture_as_rtmp() {
    let found = std::process::Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("RTMP_REQUIRE_TSHARK").is_none(),
            "tshark is required (RTMP_REQUIRE_TSHARK is set) but not on PATH"
        );
        eprintln!("tshark not on PATH: skipping");
        return;
    }
    let dir = temp_dir("tshark");
    let (publish_file, _) = record_publish_and_play(&CaptureConfig::new(&dir));
    let port = Capture::open(&publish_file).unwrap().connections[0]
        .server
        .port();
    let output = std::process::Command::new("tshark")
        .arg("-r")
        .arg(&publish_file)
        .args(["-d", &format!("tcp.port=={port},rtmpt")])
        .args(["-Y", "rtmpt", "-T", "fields", "-e", "amf.string"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let publish = text
        .lines()
        .find(|line| line.contains("publish,"))
        .unwrap_or_else(|| panic!("no publish command in tshark's output:\n{text}"));
    assert!(publish.contains("stage"), "{publish}");
    std::fs::remove_dir_all(&dir).unwrap();
}
