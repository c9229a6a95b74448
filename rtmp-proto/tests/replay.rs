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
