use super::audio::{
    AacPacketType, AudioCodec, ExAudioPacket, ExAudioTag, LegacyAudioBody, MultichannelConfig,
};
use super::ex::{AvMultitrackType, ModEx, Track, Tracks};
use super::fourcc::FourCc;
use super::testdata::*;
use super::video::{
    decode_metadata, encode_metadata, AvcPacketType, CodedFrame, ExVideoPacket, ExVideoTag,
    LegacyVideoBody, VideoCodec,
};
use super::*;
use crate::amf::{Amf0Value, AmfObject};
use bytes::Bytes;
use proptest::prelude::*;

#[test]
fn legacy_avc_and_aac() {
    assert_eq!(
        classify_video(&[0x17, 0, 0, 0, 0]),
        FrameClass::SequenceHeader
    );
    assert_eq!(classify_video(&[0x17, 1, 0, 0, 0]), FrameClass::Keyframe);
    assert_eq!(classify_video(&[0x27, 1, 0, 0, 0]), FrameClass::InterFrame);
    assert_eq!(
        classify_video(&[0x37, 1, 0, 0, 0]),
        FrameClass::DisposableFrame
    );
    assert_eq!(classify_video(&[0x17, 2, 0, 0, 0]), FrameClass::Other);
    assert_eq!(
        classify_video(&[0x1C, 0]),
        FrameClass::SequenceHeader,
        "legacy HEVC id 12"
    );
    assert_eq!(
        classify_video(&[0x52, 0]),
        FrameClass::Other,
        "command frame"
    );
    assert_eq!(
        classify_audio(&[0xAF, 0, 0x12, 0x10]),
        FrameClass::SequenceHeader
    );
    assert_eq!(classify_audio(&[0xAF, 1, 0x21]), FrameClass::AudioFrame);
    assert_eq!(classify_audio(&[0x2F, 0xFF]), FrameClass::AudioFrame, "MP3");
    assert_eq!(classify_audio(&[]), FrameClass::AudioFrame, "silence");
}

#[test]
fn enhanced_video_packet_types() {
    // [IsExHeader | FrameType 1 | SequenceStart] hvc1
    assert_eq!(classify_video(b"\x90hvc1\x01"), FrameClass::SequenceHeader);
    assert_eq!(classify_video(b"\x91hvc1\0\0\0\x01"), FrameClass::Keyframe);
    assert_eq!(classify_video(b"\xA3hvc1\x01"), FrameClass::InterFrame);
    assert_eq!(
        classify_video(b"\x92hvc1"),
        FrameClass::Other,
        "SequenceEnd"
    );
    assert_eq!(classify_video(b"\xD4av01"), FrameClass::Other, "Metadata");
    // Multitrack OneTrack wrapping a SequenceStart: [0x96][0x00 | 0][fourcc][track id]
    assert_eq!(
        classify_video(b"\x96\x00avc1\x01"),
        FrameClass::SequenceHeader
    );
    assert_eq!(classify_video(b"\x96\x01avc1\x01"), FrameClass::Keyframe);
    // ModEx (size 3 + 1 bytes of data) then TimestampOffsetNano type wrapping CodedFramesX.
    assert_eq!(classify_video(b"\x97\x02abc\x03av01"), FrameClass::Keyframe);
    // Truncated wrappers never panic.
    assert_eq!(classify_video(b"\x97\xFF"), FrameClass::Other);
    assert_eq!(classify_video(b"\x96"), FrameClass::Other);
}

#[test]
fn enhanced_audio_packet_types() {
    assert_eq!(classify_audio(b"\x90Opus"), FrameClass::SequenceHeader);
    assert_eq!(
        classify_audio(b"\x94Opus\x01\x02"),
        FrameClass::SequenceHeader
    );
    assert_eq!(classify_audio(b"\x91Opus\xFC"), FrameClass::AudioFrame);
    assert_eq!(
        classify_audio(b"\x95\x00mp4a\x01"),
        FrameClass::SequenceHeader
    );
    assert_eq!(classify_audio(b"\x92Opus"), FrameClass::Other);
}

/// Parses a video body, checks it re-serializes to the same bytes, returns the tag.
fn video(bytes: &[u8]) -> VideoTag {
    let payload = Bytes::copy_from_slice(bytes);
    let tag = VideoTag::parse(&payload).unwrap_or_else(|e| panic!("{e}: {bytes:02x?}"));
    assert_eq!(tag.serialize(), payload, "{tag:?}");
    tag
}

/// Parses an audio body, checks it re-serializes to the same bytes, returns the tag.
fn audio(bytes: &[u8]) -> AudioTag {
    let payload = Bytes::copy_from_slice(bytes);
    let tag = AudioTag::parse(&payload).unwrap_or_else(|e| panic!("{e}: {bytes:02x?}"));
    assert_eq!(tag.serialize(), payload, "{tag:?}");
    tag
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn ex_video(tag: VideoTag) -> ExVideoTag {
    match tag {
        VideoTag::Enhanced(tag) => tag,
        other => panic!("not enhanced: {other:?}"),
    }
}

fn ex_audio(tag: AudioTag) -> ExAudioTag {
    match tag {
        AudioTag::Enhanced(tag) => tag,
        other => panic!("not enhanced: {other:?}"),
    }
}

fn single<C, B>(tracks: Tracks<C, B>) -> Track<C, B> {
    match tracks {
        Tracks::Single(track) => track,
        other => panic!("not a single track: {}", other.as_slice().len()),
    }
}

#[test]
fn legacy_avc_sequence_header_nalu_and_end() {
    let record = hex(AVC_720_TAG);
    let VideoTag::Legacy(tag) = video(&record) else {
        panic!("legacy expected");
    };
    assert_eq!((tag.frame_type, tag.codec_id), (1, 7));
    let LegacyVideoBody::Avc {
        packet_type,
        composition_time,
        data,
    } = &tag.body
    else {
        panic!("AVC body expected");
    };
    assert_eq!(
        (*packet_type, *composition_time),
        (AvcPacketType::SequenceHeader, 0)
    );
    assert_eq!(data[..], record[5..]);
    let views: Vec<_> = VideoTag::Legacy(tag.clone()).tracks().collect();
    assert_eq!(
        views,
        [EnhancedVideoData::SequenceHeader {
            codec: VideoFourCc::Avc,
            config: record.slice(5..),
            track_id: 0
        }]
    );

    // An inter frame with a negative composition time, and end of sequence.
    let tag = video(&[0x27, 1, 0xFF, 0xFF, 0xF6, 0, 0, 0, 2, 0x41, 0x9A]);
    let views: Vec<_> = tag.tracks().collect();
    assert_eq!(
        views,
        [EnhancedVideoData::Frame {
            codec: VideoFourCc::Avc,
            frame_type: VideoFrameType::Inter,
            data: Bytes::from_static(&[0, 0, 0, 2, 0x41, 0x9A]),
            composition_time: -10,
            track_id: 0
        }]
    );
    let tag = video(&[0x17, 2, 0, 0, 0]);
    assert_eq!(
        tag.tracks().collect::<Vec<_>>(),
        [EnhancedVideoData::SequenceEnd {
            codec: VideoFourCc::Avc,
            track_id: 0
        }]
    );
    // Unknown AVCPacketType, kept.
    video(&[0x17, 9, 0, 0, 1, 0xAB]);
}

#[test]
fn legacy_hevc_codec_12_and_other_codecs() {
    let record = &hex(HEVC_720_TAG)[5..];
    let tag = video(&cat(&[&[0x1C, 0, 0, 0, 0], record]));
    assert_eq!(
        tag.tracks().collect::<Vec<_>>(),
        [EnhancedVideoData::SequenceHeader {
            codec: VideoFourCc::Hevc,
            config: Bytes::copy_from_slice(record),
            track_id: 0
        }]
    );
    let tag = video(&[0x2C, 1, 0, 0, 0x28, 0, 0, 0, 1, 0x02]);
    assert!(matches!(
        tag.tracks().next(),
        Some(EnhancedVideoData::Frame {
            codec: VideoFourCc::Hevc,
            composition_time: 40,
            ..
        })
    ));
    // Sorenson H.263, VP6, screen video: opaque frames with no view.
    for first in [0x12, 0x24, 0x35, 0x13, 0x26] {
        let tag = video(&[first, 0x00, 0x84, 0x00]);
        assert!(matches!(
            &tag,
            VideoTag::Legacy(t) if matches!(t.body, LegacyVideoBody::Data(_))
        ));
        assert_eq!(tag.tracks().count(), 0);
    }
    // A lone header byte is an empty frame.
    video(&[0x22]);
}

#[test]
fn command_frames() {
    // Legacy: FrameType 5 and one command byte, for any codec.
    for (bytes, command) in [
        ([0x57, 0], VideoCommand::StartSeek),
        ([0x52, 1], VideoCommand::EndSeek),
        ([0x5C, 7], VideoCommand::Unknown(7)),
    ] {
        let tag = video(&bytes);
        assert_eq!(tag.frame_type(), Some(VideoFrameType::Command));
        assert_eq!(
            tag.tracks().collect::<Vec<_>>(),
            [EnhancedVideoData::Command { command }]
        );
    }
    // Enhanced: no FourCC, the packet type nibble is kept.
    let tag = ex_video(video(&[0xD1, 0x00]));
    assert_eq!(
        tag.packet,
        ExVideoPacket::Command {
            command: VideoCommand::StartSeek,
            packet_type: 1
        }
    );
    // ... also behind a ModEx prefix, and with the Multitrack packet type.
    video(&[0xD7, 0x02, 0, 0, 9, 0x01, 0x01]);
    video(&[0xD6, 0x01]);
    assert_eq!(
        VideoTag::parse(&Bytes::from_static(&[0xD1, 0, 0])),
        Err(MediaError::TrailingBytes {
            after: "video command",
            count: 1
        })
    );
    assert_eq!(
        VideoTag::parse(&Bytes::from_static(&[0xD1])),
        Err(MediaError::Truncated("video command"))
    );
}

/// Frame data that starts like a composition time, to show when one is read.
const FRAME: &[u8] = &[0x00, 0x00, 0x21, 0xAA, 0xBB];

#[test]
fn every_ex_video_packet_type_for_every_fourcc() {
    for codec in VideoFourCc::ALL {
        let cc = &codec.fourcc()[..];
        // SequenceStart, keyframe.
        let tag = ex_video(video(&cat(&[&[0x90], cc, b"config"])));
        let ExVideoPacket::SequenceStart(tracks) = tag.packet else {
            panic!("{codec}: SequenceStart expected");
        };
        let track = single(tracks);
        assert_eq!(
            (track.codec, &track.body[..]),
            (codec.into(), &b"config"[..])
        );

        // CodedFrames: a composition time only for the NAL-unit codecs.
        let tag = video(&cat(&[&[0xA1], cc, FRAME]));
        let view = tag.tracks().next();
        let Some(EnhancedVideoData::Frame {
            frame_type,
            data,
            composition_time,
            ..
        }) = view
        else {
            panic!("{codec}: frame expected");
        };
        assert_eq!(frame_type, VideoFrameType::Inter);
        if codec.has_composition_time() {
            assert_eq!((composition_time, &data[..]), (0x21, &FRAME[3..]));
        } else {
            assert_eq!((composition_time, &data[..]), (0, FRAME));
        }

        // CodedFramesX: never a composition time.
        let tag = video(&cat(&[&[0x93], cc, FRAME]));
        assert!(matches!(
            tag.tracks().next(),
            Some(EnhancedVideoData::Frame { composition_time: 0, data, frame_type: VideoFrameType::Keyframe, .. })
                if data[..] == *FRAME
        ));

        // SequenceEnd: nothing may follow the FourCC.
        let tag = video(&cat(&[&[0x92], cc]));
        assert_eq!(
            tag.tracks().collect::<Vec<_>>(),
            [EnhancedVideoData::SequenceEnd { codec, track_id: 0 }]
        );
        assert_eq!(
            VideoTag::parse(&Bytes::from(cat(&[&[0x92], cc, b"x"]))),
            Err(MediaError::TrailingBytes {
                after: "sequence end",
                count: 1
            })
        );

        // Metadata, in FFmpeg's form.
        let color_info = Amf0Value::Object(AmfObject::new().with("hdrCll", AmfObject::new()));
        let metadata = encode_metadata(&[("colorInfo", &color_info)]);
        let tag = video(&cat(&[&[0xD4], cc, &metadata]));
        assert_eq!(
            tag.tracks().collect::<Vec<_>>(),
            [EnhancedVideoData::Metadata {
                codec,
                color_info,
                track_id: 0
            }]
        );

        // MPEG2TSSequenceStart.
        let tag = video(&cat(&[&[0x95], cc, b"descriptor"]));
        assert_eq!(classify_video(&tag.serialize()), FrameClass::SequenceHeader);

        // A generated keyframe and a disposable frame.
        let tag = video(&cat(&[&[0xC3], cc, b"k"]));
        assert!(tag.frame_type().is_some_and(VideoFrameType::is_keyframe));
        let tag = video(&cat(&[&[0xB3], cc, b"d"]));
        assert_eq!(tag.frame_type(), Some(VideoFrameType::DisposableInter));

        // Truncated FourCC and composition time are errors.
        let short = cat(&[&[0x91], &cc[..3]]);
        assert_eq!(
            VideoTag::parse(&Bytes::from(short)),
            Err(MediaError::Truncated("FourCC"))
        );
        let cts_cut = VideoTag::parse(&Bytes::from(cat(&[&[0x91], cc, &[0]])));
        assert_eq!(cts_cut.is_err(), codec.has_composition_time());
    }
}

#[test]
fn real_ex_sequence_starts() {
    for (vector, codec) in [
        (HEVC_642_TAG, VideoFourCc::Hevc),
        (HEVC_720_TAG, VideoFourCc::Hevc),
        (AV1_TAG, VideoFourCc::Av1),
        (VP9_TAG, VideoFourCc::Vp9),
    ] {
        let bytes = hex(vector);
        let tag = video(&bytes);
        assert_eq!(
            tag.tracks().collect::<Vec<_>>(),
            [EnhancedVideoData::SequenceHeader {
                codec,
                config: bytes.slice(5..),
                track_id: 0
            }]
        );
    }
}

#[test]
fn unknown_fourcc_and_packet_types_are_kept() {
    let tag = ex_video(video(b"\x91xyz1\x00\x00\x01data"));
    let ExVideoPacket::CodedFrames(tracks) = &tag.packet else {
        panic!("CodedFrames expected");
    };
    let track = &tracks.as_slice()[0];
    assert_eq!(track.codec, FourCc::Unknown(*b"xyz1"));
    // Unknown codecs carry no known composition time: all of it is data.
    assert_eq!(track.body.data[..], b"\x00\x00\x01data"[..]);
    assert_eq!(VideoTag::Enhanced(tag).tracks().count(), 0);

    for bytes in [
        &b"\x98anything"[..],    // reserved packet type 8
        b"\x9F",                 // 15, nothing after
        b"\x96\x30hvc1\x00",     // Multitrack type 3
        b"\x96\x06hvc1\x00",     // Multitrack wrapping Multitrack
        b"\x96\x07hvc1\x00",     // ... or ModEx
        b"\x97\x00\x01\x08rest", // ModEx, then an unknown type
    ] {
        let tag = ex_video(video(bytes));
        assert!(
            matches!(tag.packet, ExVideoPacket::Unknown { .. }),
            "{bytes:02x?}"
        );
    }
    // Unknown audio packet types and FourCCs.
    for bytes in [
        &b"\x93Opus"[..],
        b"\x96",
        b"\x95\x31Opus\x00",
        b"\x95\x03Opus\x00",
    ] {
        let tag = ex_audio(audio(bytes));
        assert!(matches!(tag.packet, ExAudioPacket::Unknown { .. }));
    }
    let tag = audio(b"\x91wav1data");
    assert_eq!(tag.tracks().count(), 0);
}

#[test]
fn mod_ex_timestamp_offset_nano() {
    // ModEx: size 3 (2 + 1), 0x01E240 = 123 456 ns, then [TimestampOffsetNano | CodedFramesX].
    let bytes = b"\x97\x02\x01\xE2\x40\x03av01obus";
    let tag = video(bytes);
    assert_eq!(tag.timestamp_offset_nano(), Some(123_456));
    let ex = ex_video(tag);
    assert_eq!(ex.mod_ex, [ModEx::TimestampOffsetNano(123_456)]);
    assert!(matches!(ex.packet, ExVideoPacket::CodedFramesX(_)));
    assert_eq!(classify_video(bytes), FrameClass::Keyframe);

    // The same offset on audio.
    let tag = audio(b"\x97\x02\x00\x00\x2A\x01mp4a\x21\x10");
    assert_eq!(tag.timestamp_offset_nano(), Some(42));
    assert_eq!(
        classify_audio(b"\x97\x02\x00\x00\x2A\x01mp4a\x21"),
        FrameClass::AudioFrame
    );
}

#[test]
fn mod_ex_sizes_and_chains() {
    // 300 bytes of data need the 16-bit size form: 0xFF, then 299.
    let data = vec![0x5A; 300];
    let bytes = cat(&[&[0x97, 0xFF, 0x01, 0x2B], &data, &[0x50], b"hvc1rec"]);
    let ex = ex_video(video(&bytes));
    assert_eq!(
        ex.mod_ex,
        [ModEx::Raw {
            mod_ex_type: 5,
            data: Bytes::from(data),
            long_size: false
        }]
    );
    // 256 bytes: the smallest size that needs the 16-bit form.
    video(&cat(&[
        &[0x97, 0xFF, 0x00, 0xFF],
        &[1; 256],
        &[0x10],
        b"hvc1",
    ]));
    // 255 bytes fit the 8-bit form; the 16-bit form for a small size is kept as sent.
    video(&cat(&[&[0x97, 0xFE], &[1; 255], &[0x10], b"hvc1"]));
    let tag = ex_video(video(b"\x97\xFF\x00\x02abc\x00hvc1\x00\x00\x00"));
    assert!(matches!(
        tag.mod_ex[0],
        ModEx::Raw {
            long_size: true,
            ..
        }
    ));
    // A chain: unknown type 9 (one byte) then TimestampOffsetNano, then a Multitrack.
    let bytes = b"\x97\x00\x07\x97\x02\x00\x00\x10\x06\x01hvc1\x03\x00\x00\x00frame";
    let tag = video(bytes);
    assert_eq!(tag.timestamp_offset_nano(), Some(16));
    assert_eq!(ex_video(tag).mod_ex.len(), 2);
    assert_eq!(video_tracks(bytes).as_slice(), [(3, FrameClass::Keyframe)]);
    // TimestampOffsetNano with other than 3 bytes is kept raw.
    video(b"\x97\x03\x00\x00\x00\x01\x03av01");

    // Truncation anywhere in the chain is an error.
    for cut in [
        &b"\x97"[..],
        b"\x97\x02\x00",
        b"\x97\x02\x00\x00\x01",
        b"\x97\xFF\x00",
    ] {
        assert!(VideoTag::parse(&Bytes::copy_from_slice(cut)).is_err());
        assert!(AudioTag::parse(&Bytes::copy_from_slice(cut)).is_err());
    }

    // Built by hand: written in canonical form, read back the same.
    let tag = VideoTag::Enhanced(ExVideoTag {
        frame_type: 2,
        mod_ex: vec![
            ModEx::TimestampOffsetNano(999_999),
            ModEx::Raw {
                mod_ex_type: 3,
                data: Bytes::from(vec![7; 1000]),
                long_size: false,
            },
        ],
        packet: ExVideoPacket::CodedFramesX(Tracks::Single(Track {
            track_id: 0,
            codec: VideoFourCc::Hevc.into(),
            body: Bytes::from_static(b"nal"),
        })),
    });
    assert_eq!(VideoTag::parse(&tag.serialize()), Ok(tag));
}

#[test]
fn multitrack_one_track() {
    // FFmpeg's second video track: Multitrack OneTrack CodedFrames hvc1 on track 1.
    let bytes = b"\x96\x01hvc1\x01\x00\x00\x50frame";
    let tag = video(bytes);
    assert_eq!(
        tag.tracks().collect::<Vec<_>>(),
        [EnhancedVideoData::Frame {
            codec: VideoFourCc::Hevc,
            frame_type: VideoFrameType::Keyframe,
            data: Bytes::from_static(b"frame"),
            composition_time: 80,
            track_id: 1
        }]
    );
    let ExVideoPacket::CodedFrames(tracks) = ex_video(tag).packet else {
        panic!("CodedFrames expected");
    };
    assert_eq!(tracks.multitrack_type(), Some(AvMultitrackType::OneTrack));
    assert_eq!(video_tracks(bytes).as_slice(), [(1, FrameClass::Keyframe)]);
    // Sequence start with an empty body (the old classifier test's vector).
    video(b"\x96\x00avc1\x01");
    assert!(VideoTag::parse(&Bytes::from_static(b"\x96\x00avc1")).is_err());
}

#[test]
fn multitrack_many_tracks() {
    // Two avc1 sequence headers, tracks 0 and 1: [id][u24 size][record].
    let bytes = b"\x96\x10avc1\x00\x00\x00\x03abc\x01\x00\x00\x02de";
    let tag = video(bytes);
    let views: Vec<_> = tag.tracks().collect();
    assert_eq!(
        views,
        [
            EnhancedVideoData::SequenceHeader {
                codec: VideoFourCc::Avc,
                config: Bytes::from_static(b"abc"),
                track_id: 0
            },
            EnhancedVideoData::SequenceHeader {
                codec: VideoFourCc::Avc,
                config: Bytes::from_static(b"de"),
                track_id: 1
            },
        ]
    );
    assert_eq!(
        video_tracks(bytes).as_slice(),
        [
            (0, FrameClass::SequenceHeader),
            (1, FrameClass::SequenceHeader)
        ]
    );
    // Sizes are checked: a track running past the end, or a cut-off track header.
    for bad in [
        &b"\x96\x10avc1\x00\x00\x00\x04abc"[..],
        b"\x96\x10avc1\x00\x00\x00\x03abc\x01\x00",
        b"\x96\x11avc1",
    ] {
        assert!(
            VideoTag::parse(&Bytes::copy_from_slice(bad)).is_err(),
            "{bad:02x?}"
        );
    }
    // Zero-sized bodies are fine (sequence end).
    let tag = video(b"\x96\x12hvc1\x00\x00\x00\x00\x01\x00\x00\x00");
    assert_eq!(tag.tracks().count(), 2);
    // A truncated list still tells the fan-out the complete tracks before the break.
    assert_eq!(
        video_tracks(b"\x96\x11avc1\x04\x00\x00\x01X\x05\x00\x00\x09trunc").as_slice(),
        [(4, FrameClass::Keyframe)]
    );
}

#[test]
fn multitrack_many_tracks_many_codecs() {
    // One keyframe message, three tracks: avc1 (with composition time), av01, vp09.
    let bytes = cat(&[
        b"\xA6\x21",
        b"avc1\x00\x00\x00\x06\x00\x00\x28nal",
        b"av01\x01\x00\x00\x03obu",
        b"vp09\x02\x00\x00\x02vp",
    ]);
    let tag = video(&bytes);
    assert_eq!(
        tag.tracks().collect::<Vec<_>>(),
        [
            EnhancedVideoData::Frame {
                codec: VideoFourCc::Avc,
                frame_type: VideoFrameType::Inter,
                data: Bytes::from_static(b"nal"),
                composition_time: 40,
                track_id: 0
            },
            EnhancedVideoData::Frame {
                codec: VideoFourCc::Av1,
                frame_type: VideoFrameType::Inter,
                data: Bytes::from_static(b"obu"),
                composition_time: 0,
                track_id: 1
            },
            EnhancedVideoData::Frame {
                codec: VideoFourCc::Vp9,
                frame_type: VideoFrameType::Inter,
                data: Bytes::from_static(b"vp"),
                composition_time: 0,
                track_id: 2
            },
        ]
    );
    assert_eq!(
        video_tracks(&bytes).as_slice(),
        [
            (0, FrameClass::InterFrame),
            (1, FrameClass::InterFrame),
            (2, FrameClass::InterFrame)
        ]
    );

    // ManyTracks built with differing codecs is written as ManyTracksManyCodecs.
    let tracks = vec![
        Track {
            track_id: 0,
            codec: VideoFourCc::Hevc.into(),
            body: Bytes::from_static(b"a"),
        },
        Track {
            track_id: 1,
            codec: VideoFourCc::Av1.into(),
            body: Bytes::from_static(b"b"),
        },
    ];
    let tag = VideoTag::Enhanced(ExVideoTag {
        frame_type: 1,
        mod_ex: Vec::new(),
        packet: ExVideoPacket::SequenceStart(Tracks::ManyTracks(tracks.clone())),
    });
    let reparsed = ex_video(VideoTag::parse(&tag.serialize()).unwrap());
    assert_eq!(
        reparsed.packet,
        ExVideoPacket::SequenceStart(Tracks::ManyTracksManyCodecs(tracks))
    );
}

#[test]
fn metadata_in_ffmpeg_and_obs_forms() {
    let ffmpeg = hex(HEVC_METADATA_TAG);
    let mut obs = ffmpeg.to_vec();
    obs[0] = 0x84;
    for (bytes, frame_type) in [(&ffmpeg[..], 5), (&obs[..], 0)] {
        let tag = video(bytes);
        assert_eq!(classify_video(bytes), FrameClass::Other);
        let views: Vec<_> = tag.tracks().collect();
        let [EnhancedVideoData::Metadata {
            codec: VideoFourCc::Hevc,
            color_info,
            track_id: 0,
        }] = &views[..]
        else {
            panic!("one metadata view expected: {views:?}");
        };
        let matrix = color_info
            .as_object()
            .and_then(|o| o.get("colorConfig"))
            .and_then(Amf0Value::as_object)
            .and_then(|o| o.get("matrixCoefficients"))
            .and_then(Amf0Value::as_number);
        assert_eq!(matrix, Some(9.0));
        assert_eq!(ex_video(tag).frame_type, frame_type);
    }

    // Built from a value: an HDR10 colorInfo, on an AV1 track of a multitrack message.
    let color_info = Amf0Value::Object(
        AmfObject::new()
            .with(
                "colorConfig",
                AmfObject::new()
                    .with("bitDepth", 10)
                    .with("colorPrimaries", 9)
                    .with("transferCharacteristics", 16)
                    .with("matrixCoefficients", 9),
            )
            .with(
                "hdrCll",
                AmfObject::new().with("maxFall", 400).with("maxCLL", 1000),
            ),
    );
    let body = encode_metadata(&[("colorInfo", &color_info)]);
    assert_eq!(
        decode_metadata(&body),
        Some(vec![("colorInfo".to_owned(), color_info.clone())])
    );
    let bytes = cat(&[b"\x86\x04av01\x02", &body]);
    let tag = video(&bytes);
    assert_eq!(
        tag.tracks().collect::<Vec<_>>(),
        [EnhancedVideoData::Metadata {
            codec: VideoFourCc::Av1,
            color_info,
            track_id: 2
        }]
    );
    // Per the spec, FrameType 5 makes anything but a bare Metadata packet type a
    // command frame, even a Multitrack wrapping Metadata.
    assert!(VideoTag::parse(&Bytes::from(cat(&[b"\xD6\x04av01\x02", &body]))).is_err());
    // Not AMF0 pairs: forwarded, but no view.
    assert_eq!(video(b"\x84hvc1\x02\x00\x01x").tracks().count(), 0);
    assert_eq!(video(b"\x84hvc1\x11").tracks().count(), 0);
}

#[test]
fn legacy_audio() {
    let bytes = hex(AAC_TAG);
    let tag = audio(&bytes);
    assert_eq!(
        tag.tracks().collect::<Vec<_>>(),
        [EnhancedAudioData::SequenceHeader {
            codec: AudioFourCc::Aac,
            config: bytes.slice(2..),
            track_id: 0
        }]
    );
    let AudioTag::Legacy(legacy) = audio(b"\xAF\x01\x21\x10") else {
        panic!("legacy expected");
    };
    assert_eq!(
        (
            legacy.sound_format,
            legacy.sound_rate,
            legacy.sixteen_bit,
            legacy.stereo
        ),
        (10, 3, true, true)
    );
    assert!(matches!(
        legacy.body,
        LegacyAudioBody::Aac {
            packet_type: AacPacketType::Raw,
            ..
        }
    ));
    audio(b"\xAF\x05unknown packet type");
    assert_eq!(
        AudioTag::parse(&Bytes::from_static(b"\xAF")),
        Err(MediaError::Truncated("AACPacketType"))
    );
    // MP3 maps to a view; PCM, Nellymoser, Speex and G.711 forward as data.
    for mp3 in [&b"\x2E\xFF\xFB\x50"[..], b"\xE2\xFF\xF3"] {
        assert!(matches!(
            audio(mp3).tracks().next(),
            Some(EnhancedAudioData::Frame {
                codec: AudioFourCc::Mp3,
                ..
            })
        ));
    }
    for first in [0x0C, 0x3E, 0x52, 0x6E, 0x72, 0x82, 0xB2, 0xF0] {
        assert_eq!(audio(&[first, 1, 2]).tracks().count(), 0);
    }
}

#[test]
fn zero_length_audio_is_silence() {
    assert_eq!(audio(&[]), AudioTag::Silence);
    assert_eq!(AudioTag::Silence.serialize(), Bytes::new());
    assert_eq!(audio_tracks(&[]).as_slice(), [(0, FrameClass::AudioFrame)]);
    assert_eq!(
        VideoTag::parse(&Bytes::new()),
        Err(MediaError::Empty),
        "empty video is not silence"
    );
}

#[test]
fn ex_audio_sequence_start_for_every_fourcc() {
    let real = [
        (hex(OPUS_TAG), AudioFourCc::Opus),
        (hex(FLAC_TAG), AudioFourCc::Flac), // no fLaC signature
        (hex(AC3_TAG), AudioFourCc::Ac3),   // empty
    ];
    let made = [
        (cat(&[b"\x90mp4a", &hex(AAC_TAG)[2..]]), AudioFourCc::Aac),
        (
            cat(&[
                b"\x90fLaC",
                b"fLaC\x80\x00\x00\x22",
                &hex(FLAC_24BIT_STREAMINFO),
            ]),
            AudioFourCc::Flac,
        ),
        (b"\x90ec-3".to_vec(), AudioFourCc::Eac3),
        (b"\x90.mp3".to_vec(), AudioFourCc::Mp3),
    ];
    let all = real.iter().map(|(b, c)| (b.to_vec(), *c)).chain(made);
    for (bytes, codec) in all {
        let tag = audio(&bytes);
        assert_eq!(classify_audio(&bytes), FrameClass::SequenceHeader);
        assert_eq!(
            tag.tracks().collect::<Vec<_>>(),
            [EnhancedAudioData::SequenceHeader {
                codec,
                config: Bytes::copy_from_slice(&bytes[5..]),
                track_id: 0
            }]
        );
        // The same codec's coded frames and end of sequence.
        let frame = cat(&[&[0x91], &codec.fourcc(), b"frame"]);
        assert!(matches!(
            audio(&frame).tracks().next(),
            Some(EnhancedAudioData::Frame { codec: c, data, track_id: 0 }) if c == codec && data[..] == b"frame"[..]
        ));
        let end = cat(&[&[0x92], &codec.fourcc()]);
        assert_eq!(classify_audio(&end), FrameClass::Other);
        assert_eq!(
            audio(&end).tracks().collect::<Vec<_>>(),
            [EnhancedAudioData::SequenceEnd { codec, track_id: 0 }]
        );
    }
}

#[test]
fn multichannel_config_orders() {
    let views = |bytes: &[u8]| audio(bytes).tracks().collect::<Vec<_>>();
    let native = |codec, channel_count, channel_flags| {
        vec![EnhancedAudioData::MultichannelConfig {
            codec,
            config: MultichannelConfig::Native {
                channel_count,
                channel_flags,
            },
            track_id: 0,
        }]
    };
    assert_eq!(
        views(&hex(OPUS6_CHANNELS_TAG)),
        native(AudioFourCc::Opus, 6, 0x3F)
    );
    assert_eq!(
        views(&hex(AC3_51_CHANNELS_TAG)),
        native(AudioFourCc::Ac3, 6, 0x60F)
    );
    // Custom: one speaker byte per channel (front center, LFE, back left).
    let custom = views(b"\x94Opus\x02\x03\x02\x03\x04");
    let [EnhancedAudioData::MultichannelConfig { config, .. }] = &custom[..] else {
        panic!("{custom:?}");
    };
    assert_eq!(
        config,
        &MultichannelConfig::Custom {
            mapping: Bytes::from_static(&[2, 3, 4])
        }
    );
    assert_eq!(config.channel_count(), 3);
    assert_eq!(
        classify_audio(b"\x94Opus\x02\x03\x02\x03\x04"),
        FrameClass::SequenceHeader
    );
    // Unspecified, and an unknown order kept raw.
    audio(b"\x94Opus\x00\x02");
    let tag = ex_audio(audio(b"\x94Opus\x07\x02\xAA\xBB"));
    let ExAudioPacket::MultichannelConfig(tracks) = tag.packet else {
        panic!("MultichannelConfig expected");
    };
    assert_eq!(
        single(tracks).body,
        MultichannelConfig::Unknown {
            order: 7,
            channel_count: 2,
            data: Bytes::from_static(b"\xAA\xBB")
        }
    );
    // Structure is strict: short mappings, short flags, extra bytes.
    for bad in [
        &b"\x94Opus\x02\x03\x02\x03"[..],
        b"\x94Opus\x01\x02\x00\x00\x03",
        b"\x94Opus\x00\x02\x00",
        b"\x94Opus\x01",
    ] {
        assert!(
            AudioTag::parse(&Bytes::copy_from_slice(bad)).is_err(),
            "{bad:02x?}"
        );
    }
}

#[test]
fn audio_multitrack() {
    // FFmpeg's second audio track: OneTrack SequenceStart and MultichannelConfig.
    let tag = audio(&hex(MULTI_OPUS_TAG));
    assert!(matches!(
        tag.tracks().next(),
        Some(EnhancedAudioData::SequenceHeader {
            codec: AudioFourCc::Opus,
            track_id: 1,
            ..
        })
    ));
    let tag = audio(&hex(MULTI_OPUS_CHANNELS_TAG));
    assert!(matches!(
        tag.tracks().next(),
        Some(EnhancedAudioData::MultichannelConfig { track_id: 1, .. })
    ));
    // ManyTracks coded frames, and ManyTracksManyCodecs sequence starts.
    let bytes = b"\x95\x11mp4a\x00\x00\x00\x02\x21\x10\x01\x00\x00\x01\x22";
    let tag = audio(bytes);
    assert_eq!(tag.tracks().count(), 2);
    assert_eq!(
        audio_tracks(bytes).as_slice(),
        [(0, FrameClass::AudioFrame), (1, FrameClass::AudioFrame)]
    );
    let bytes = cat(&[
        b"\x95\x20",
        b"mp4a\x00\x00\x00\x02\x11\x90",
        b"Opus\x01\x00\x00\x00",
        b"ac-3\x02\x00\x00\x00",
    ]);
    let codecs: Vec<_> = audio(&bytes)
        .tracks()
        .map(|v| match v {
            EnhancedAudioData::SequenceHeader {
                codec, track_id, ..
            } => (codec, track_id),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        codecs,
        [
            (AudioFourCc::Aac, 0),
            (AudioFourCc::Opus, 1),
            (AudioFourCc::Ac3, 2)
        ]
    );
    let bytes = b"\x95\x14Opus\x00\x00\x00\x02\x00\x01\x01\x00\x00\x06\x01\x02\x00\x00\x00\x03";
    assert_eq!(audio(bytes).tracks().count(), 2);
    assert_eq!(classify_audio(bytes), FrameClass::SequenceHeader);

    // Built by hand.
    let tag = AudioTag::Enhanced(ExAudioTag {
        mod_ex: Vec::new(),
        packet: ExAudioPacket::SequenceEnd(Tracks::ManyTracksManyCodecs(vec![
            Track {
                track_id: 0,
                codec: AudioCodec::from(AudioFourCc::Flac),
                body: (),
            },
            Track {
                track_id: 3,
                codec: FourCc::Unknown(*b"wav1"),
                body: (),
            },
        ])),
    });
    assert_eq!(
        tag.serialize(),
        Bytes::from_static(b"\x95\x22fLaC\x00\x00\x00\x00wav1\x03\x00\x00\x00")
    );
    assert_eq!(AudioTag::parse(&tag.serialize()), Ok(tag));
}

#[test]
fn payloads_are_shared_not_copied() {
    let payload = hex(AVC_720_TAG);
    let VideoTag::Legacy(tag) = VideoTag::parse(&payload).unwrap() else {
        panic!("legacy expected");
    };
    let LegacyVideoBody::Avc { data, .. } = tag.body else {
        panic!("AVC expected");
    };
    assert_eq!(data.as_ptr(), payload[5..].as_ptr());
}

#[test]
fn errors_display() {
    assert_eq!(
        MediaError::Truncated("track size").to_string(),
        "media tag truncated in the track size"
    );
    assert_eq!(MediaError::Empty.to_string(), "empty video tag body");
}

#[test]
fn fourcc_names() {
    for codec in VideoFourCc::ALL {
        assert_eq!(VideoFourCc::from_fourcc(&codec.fourcc()), Some(codec));
        assert_eq!(codec.as_str().as_bytes(), codec.fourcc());
    }
    for codec in AudioFourCc::ALL {
        assert_eq!(AudioFourCc::from_fourcc(&codec.fourcc()), Some(codec));
        assert_eq!(codec.as_str().as_bytes(), codec.fourcc());
    }
    let names: Vec<_> = VideoFourCc::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["H.264", "HEVC", "VVC", "AV1", "VP9", "VP8"]);
    let names: Vec<_> = AudioFourCc::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["AAC", "Opus", "FLAC", "AC-3", "E-AC-3", "MP3"]);
    assert_eq!(VideoFourCc::from_fourcc(b"AVC1"), None);
    assert_eq!(
        VideoCodec::from_bytes(*b"vvc1").known(),
        Some(VideoFourCc::Vvc)
    );
    assert_eq!(AudioCodec::from_bytes(*b"mp4b").bytes(), *b"mp4b");
}

#[test]
fn media_message_tracks() {
    let message = MediaMessage::new(
        MediaKind::Video,
        0,
        Bytes::from_static(b"\x96\x10avc1\x00\x00\x00\x01a\x01\x00\x00\x01b"),
    );
    assert!(message.is_sequence_header());
    assert_eq!(
        message.tracks().as_slice(),
        [
            (0, FrameClass::SequenceHeader),
            (1, FrameClass::SequenceHeader)
        ]
    );
    let message = MediaMessage::new(MediaKind::Audio, 0, hex(MULTI_OPUS_TAG));
    assert_eq!(
        message.tracks().as_slice(),
        [(1, FrameClass::SequenceHeader)]
    );
    let message = MediaMessage::new(MediaKind::Video, 0, Bytes::from_static(&[0x17, 1]));
    assert_eq!(message.tracks().as_slice(), [(0, FrameClass::Keyframe)]);
}

/// Bodies that look like tags: a header byte, maybe a FourCC, then random bytes.
fn tag_like() -> impl Strategy<Value = Vec<u8>> {
    let fourccs: Vec<[u8; 4]> = VideoFourCc::ALL
        .iter()
        .map(VideoFourCc::fourcc)
        .chain(AudioFourCc::ALL.iter().map(AudioFourCc::fourcc))
        .chain([*b"xyz1"])
        .collect();
    (
        any::<u8>(),
        proptest::option::of(proptest::sample::select(fourccs)),
        proptest::collection::vec(any::<u8>(), 0..48),
        proptest::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(|(first, fourcc, tail, prefix)| {
            let mut bytes = vec![first];
            bytes.extend_from_slice(&prefix[..prefix.len().min(2)]);
            if let Some(code) = fourcc {
                bytes.extend_from_slice(&code);
            }
            bytes.extend(tail);
            bytes
        })
}

fn check_video(bytes: &[u8]) {
    let payload = Bytes::copy_from_slice(bytes);
    let _ = classify_video(bytes);
    assert!(!video_tracks(bytes).is_empty());
    if let Ok(tag) = VideoTag::parse(&payload) {
        assert_eq!(tag.serialize(), payload, "{tag:?}");
        let _ = tag.tracks().count();
    }
}

fn check_audio(bytes: &[u8]) {
    let payload = Bytes::copy_from_slice(bytes);
    let _ = classify_audio(bytes);
    assert!(!audio_tracks(bytes).is_empty());
    if let Ok(tag) = AudioTag::parse(&payload) {
        assert_eq!(tag.serialize(), payload, "{tag:?}");
        let _ = tag.tracks().count();
    }
}

/// Valid bodies of every kind, for mutation.
fn corpus() -> Vec<Vec<u8>> {
    let mut corpus: Vec<Vec<u8>> = [
        AVC_720_TAG,
        HEVC_642_TAG,
        AV1_TAG,
        VP9_TAG,
        HEVC_METADATA_TAG,
        AAC_TAG,
        OPUS_TAG,
        FLAC_TAG,
        AC3_51_CHANNELS_TAG,
        MULTI_OPUS_TAG,
        MULTI_OPUS_CHANNELS_TAG,
    ]
    .iter()
    .map(|v| hex(v).to_vec())
    .collect();
    corpus.extend(
        [
            &b"\x97\x02\x01\xE2\x40\x03av01obus"[..],
            b"\x97\x00\x07\x97\x02\x00\x00\x10\x06\x01hvc1\x03\x00\x00\x00frame",
            b"\x96\x10avc1\x00\x00\x00\x03abc\x01\x00\x00\x02de",
            b"\xA6\x21avc1\x00\x00\x00\x06\x00\x00\x28nalav01\x01\x00\x00\x03obu",
            b"\x95\x14Opus\x00\x00\x00\x02\x00\x01\x01\x00\x00\x06\x01\x02\x00\x00\x00\x03",
            b"\x94Opus\x02\x03\x02\x03\x04",
            b"\xD7\x02\x00\x00\x09\x01\x01",
            b"\x27\x01\xFF\xFF\xF6\x00\x00\x00\x02\x41\x9A",
        ]
        .iter()
        .map(|b| b.to_vec()),
    );
    corpus
}

proptest! {
    #[test]
    fn mutated_tags_round_trip(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        cut in any::<prop::sample::Index>(),
    ) {
        let corpus = corpus();
        let mut bytes = pick.get(&corpus).clone();
        for (at, value) in edits {
            let len = bytes.len();
            bytes[at.index(len)] = value;
        }
        if cut.index(4) == 0 {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        check_video(&bytes);
        check_audio(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        check_video(&bytes);
        check_audio(&bytes);
    }

    #[test]
    fn tag_like_bodies_round_trip(bytes in tag_like()) {
        check_video(&bytes);
        check_audio(&bytes);
    }

    #[test]
    fn built_tags_are_stable(
        frame_type in 0u8..8,
        nanos in proptest::option::of(0u32..1_000_000),
        ids in proptest::collection::vec(any::<u8>(), 1..4),
        codec in proptest::sample::select(VideoFourCc::ALL.to_vec()),
        cts in -0x80_0000i32..0x80_0000,
        layout in 0u8..4,
    ) {
        let tracks: Vec<_> = ids.iter().map(|&id| Track {
            track_id: id,
            codec: VideoCodec::from(codec),
            body: CodedFrame {
                composition_time: if codec.has_composition_time() { cts } else { 0 },
                data: Bytes::from(vec![id; usize::from(id % 5)]),
            },
        }).collect();
        let first = tracks[0].clone();
        let tracks = match layout {
            0 => Tracks::Single(Track { track_id: 0, ..first }),
            1 => Tracks::OneTrack(first),
            2 => Tracks::ManyTracks(tracks),
            _ => Tracks::ManyTracksManyCodecs(tracks),
        };
        let tag = VideoTag::Enhanced(ExVideoTag {
            frame_type: if frame_type == 5 { 1 } else { frame_type },
            mod_ex: nanos.map(ModEx::TimestampOffsetNano).into_iter().collect(),
            packet: ExVideoPacket::CodedFrames(tracks),
        });
        let bytes = tag.serialize();
        prop_assert_eq!(VideoTag::parse(&bytes), Ok(tag));
    }
}
