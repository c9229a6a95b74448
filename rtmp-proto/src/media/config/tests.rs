use super::*;
use crate::media::testdata::*;
use proptest::prelude::*;

fn video(codec: VideoFourCc, tag: &str) -> CodecInfo {
    video_info(codec, &hex(tag)[5..])
}

#[test]
fn avc_720p_high() {
    let info = video(VideoFourCc::Avc, AVC_720_TAG);
    assert_eq!(info.codec, Codec::Video(VideoFourCc::Avc));
    assert_eq!(info.profile.as_deref(), Some("High"));
    assert_eq!(info.level.as_deref(), Some("3.1"));
    assert_eq!((info.width, info.height), (Some(1280), Some(720)));
    assert_eq!(
        (info.bit_depth, info.chroma),
        (Some(8), Some(ChromaFormat::Yuv420))
    );
    assert_eq!(info.sample_rate, None);
}

#[test]
fn avc_1080p_cropping() {
    let info = video(VideoFourCc::Avc, AVC_1080_TAG);
    assert_eq!(info.profile.as_deref(), Some("Main"));
    assert_eq!(info.level.as_deref(), Some("4.0"));
    assert_eq!((info.width, info.height), (Some(1920), Some(1080)));
}

#[test]
fn avc_sps_with_scaling_lists_and_high_bit_depth() {
    // A hand-built High 4:2:2 10-bit SPS: 640x480 (40x30 macroblocks), a scaling
    // matrix with one explicit list, POC type 1 with one ref frame offset.
    let mut bits = String::new();
    let mut put = |value: u64, width: usize| {
        bits.push_str(&format!("{value:0width$b}"));
    };
    let ue = |v: u64| {
        let code = v + 1;
        let len = 64 - code.leading_zeros() as usize;
        format!("{}{code:b}", "0".repeat(len - 1))
    };
    put(0x67, 8);
    put(122, 8); // profile_idc: High 4:2:2
    put(0, 8);
    put(30, 8); // level 3.0
    let mut tail = String::new();
    tail += &ue(0); // sps id
    tail += &ue(2); // chroma_format_idc 4:2:2
    tail += &ue(2); // bit_depth_luma_minus8
    tail += &ue(2); // bit_depth_chroma_minus8
    tail += "0"; // qpprime
    tail += "1"; // seq_scaling_matrix_present_flag
    tail += "1"; // list 0 present: 16 deltas, the first -8 (se 16 -> ue 16), then 0 ends it
    tail += &ue(16);
    tail += "0000000"; // lists 1..7 absent
    tail += &ue(0); // log2_max_frame_num_minus4
    tail += &ue(1); // pic_order_cnt_type 1
    tail += "0";
    tail += &ue(1);
    tail += &ue(2);
    tail += &ue(1); // one offset_for_ref_frame
    tail += &ue(3);
    tail += &ue(4); // max_num_ref_frames
    tail += "0";
    tail += &ue(39); // 40 macroblocks wide
    tail += &ue(29); // 30 high
    tail += "1"; // frame_mbs_only
    tail += "1"; // direct_8x8
    tail += "1"; // cropping: 4:2:2 crops 2 horizontally, 1 vertically per unit
    tail += &ue(1);
    tail += &ue(1);
    tail += &ue(0);
    tail += &ue(4);
    tail += "1"; // vui absent... then rbsp stop bit
    bits.push_str(&tail);
    while bits.len() % 8 != 0 {
        bits.push('0');
    }
    let sps: Vec<u8> = (0..bits.len())
        .step_by(8)
        .map(|i| u8::from_str_radix(&bits[i..i + 8], 2).unwrap())
        .collect();
    let mut record = vec![1, 122, 0, 30, 0xFF, 0xE1];
    record.extend_from_slice(&(sps.len() as u16).to_be_bytes());
    record.extend_from_slice(&sps);
    record.push(0);
    let info = video_info(VideoFourCc::Avc, &record);
    assert_eq!(info.profile.as_deref(), Some("High 4:2:2"));
    assert_eq!(
        (info.bit_depth, info.chroma),
        (Some(10), Some(ChromaFormat::Yuv422))
    );
    assert_eq!((info.width, info.height), (Some(640 - 4), Some(480 - 4)));
}

#[test]
fn hevc() {
    let info = video(VideoFourCc::Hevc, HEVC_720_TAG);
    assert_eq!(info.profile.as_deref(), Some("Main"));
    assert_eq!(info.level.as_deref(), Some("3.1"));
    assert_eq!((info.width, info.height), (Some(1280), Some(720)));
    assert_eq!(
        (info.bit_depth, info.chroma),
        (Some(8), Some(ChromaFormat::Yuv420))
    );

    let info = video(VideoFourCc::Hevc, HEVC_642_TAG);
    assert_eq!(info.profile.as_deref(), Some("Main 10"));
    assert_eq!((info.width, info.height), (Some(642), Some(362)));
    assert_eq!(info.bit_depth, Some(10));
}

#[test]
fn av1() {
    let info = video(VideoFourCc::Av1, AV1_TAG);
    assert_eq!(info.profile.as_deref(), Some("Main"));
    assert_eq!(info.level.as_deref(), Some("3.1"));
    assert_eq!((info.width, info.height), (Some(1280), Some(720)));
    assert_eq!(
        (info.bit_depth, info.chroma),
        (Some(8), Some(ChromaFormat::Yuv420))
    );
    // Without configOBUs: no size.
    let record = &hex(AV1_TAG)[5..9];
    let info = video_info(VideoFourCc::Av1, record);
    assert_eq!((info.level.as_deref(), info.width), (Some("3.1"), None));
    // A reduced still picture header: 4-bit widths 64x48.
    let record = [0x81, 0x00, 0x0C, 0x00, 0x0A, 0x04, 0x18, 0x15, 0x7F, 0xBC];
    let info = video_info(VideoFourCc::Av1, &record);
    assert_eq!((info.width, info.height), (Some(0x3F + 1), Some(0x2F + 1)));
}

#[test]
fn vp9_with_and_without_the_full_box_header() {
    let full = &hex(VP9_TAG)[5..];
    for record in [full, &full[4..]] {
        let info = video_info(VideoFourCc::Vp9, record);
        assert_eq!(info.profile.as_deref(), Some("Profile 0"));
        assert_eq!(info.level.as_deref(), Some("3.1"));
        assert_eq!(
            (info.bit_depth, info.chroma),
            (Some(8), Some(ChromaFormat::Yuv420))
        );
        assert_eq!((info.width, info.height), (None, None));
    }
    // 10-bit 4:4:4 profile 3.
    let info = video_info(VideoFourCc::Vp8, &[3, 41, 0xA6, 1, 1, 1, 0, 0]);
    assert_eq!(
        (info.bit_depth, info.chroma),
        (Some(10), Some(ChromaFormat::Yuv444))
    );
    assert_eq!(info.codec.to_string(), "VP8");
}

#[test]
fn aac() {
    // FFmpeg's LC 48 kHz mono, with a sync extension that says "no SBR".
    let info = audio_info(AudioFourCc::Aac, &hex(AAC_TAG)[2..]);
    assert_eq!(info.profile.as_deref(), Some("LC"));
    assert_eq!((info.sample_rate, info.channels), (Some(48_000), Some(1)));
    // Plain LC 44.1 kHz stereo.
    let info = audio_info(AudioFourCc::Aac, &[0x12, 0x10]);
    assert_eq!((info.sample_rate, info.channels), (Some(44_100), Some(2)));
    // Explicit HE-AAC: object type 5, 22.05 kHz core, 44.1 kHz output, stereo.
    let info = audio_info(AudioFourCc::Aac, &[0x2B, 0x92, 0x08, 0x00]);
    assert_eq!(info.profile.as_deref(), Some("HE-AAC"));
    assert_eq!((info.sample_rate, info.channels), (Some(44_100), Some(2)));
    // Explicit HE-AACv2: object type 29, 24 kHz mono core, 48 kHz stereo output.
    let info = audio_info(AudioFourCc::Aac, &[0xEB, 0x09, 0x88, 0x00]);
    assert_eq!(info.profile.as_deref(), Some("HE-AACv2"));
    assert_eq!((info.sample_rate, info.channels), (Some(48_000), Some(2)));
    // Backward-compatible signalling: LC 24 kHz mono, SBR to 48 kHz, then PS.
    // 00010 0110 0001 000 | 0x2B7 00101 1 0011 | 0x548 1
    let info = audio_info(
        AudioFourCc::Aac,
        &[0x13, 0x08, 0x56, 0xE5, 0x9D, 0x48, 0x80],
    );
    assert_eq!(info.profile.as_deref(), Some("HE-AACv2"));
    assert_eq!((info.sample_rate, info.channels), (Some(48_000), Some(2)));
    // An explicit frequency (index 15): 2 | 15 | 0x00BB80 (48 000) | 2 channels.
    let info = audio_info(AudioFourCc::Aac, &[0x17, 0x80, 0x5D, 0xC0, 0x10]);
    assert_eq!((info.sample_rate, info.channels), (Some(48_000), Some(2)));
    // 5.1, 7.1, and a program config element (channels unknown).
    assert_eq!(
        audio_info(AudioFourCc::Aac, &[0x11, 0xB0]).channels,
        Some(6)
    );
    assert_eq!(
        audio_info(AudioFourCc::Aac, &[0x11, 0xB8]).channels,
        Some(8)
    );
    assert_eq!(audio_info(AudioFourCc::Aac, &[0x11, 0x80]).channels, None);
}

#[test]
fn opus() {
    let info = audio_info(AudioFourCc::Opus, &hex(OPUS_TAG)[5..]);
    assert_eq!(
        (info.sample_rate, info.channels, info.pre_skip),
        (Some(48_000), Some(1), Some(312))
    );
    let info = audio_info(AudioFourCc::Opus, &hex(OPUS6_TAG)[5..]);
    assert_eq!(info.channels, Some(6));
    // Empty (channel layout then comes from MultichannelConfig), or not OpusHead.
    assert_eq!(audio_info(AudioFourCc::Opus, &[]).channels, None);
    assert_eq!(
        audio_info(AudioFourCc::Opus, b"OpusTags\x01\x02").channels,
        None
    );
}

#[test]
fn flac_with_and_without_signature() {
    let bare = &hex(FLAC_TAG)[5..];
    let streaminfo = hex(FLAC_24BIT_STREAMINFO);
    let signed = [&b"fLaC\x80\x00\x00\x22"[..], &streaminfo].concat();
    let header_only = [&b"\x00\x00\x00\x22"[..], &streaminfo].concat();
    let signature_only = [&b"fLaC"[..], bare].concat();
    for (config, expected) in [
        (bare, (48_000, 1, 16)),
        (&signature_only[..], (48_000, 1, 16)),
        (&signed[..], (44_100, 2, 24)),
        (&header_only[..], (44_100, 2, 24)),
        (&streaminfo[..], (44_100, 2, 24)),
    ] {
        let info = audio_info(AudioFourCc::Flac, config);
        assert_eq!(
            (info.sample_rate, info.channels, info.bit_depth),
            (Some(expected.0), Some(expected.1), Some(expected.2))
        );
    }
}

#[test]
fn ac3_and_eac3_from_frames() {
    let info = audio_info(AudioFourCc::Ac3, &hex(AC3_51_FRAME));
    assert_eq!((info.sample_rate, info.channels), (Some(48_000), Some(6)));
    let info = audio_info(AudioFourCc::Eac3, &hex(EAC3_STEREO_FRAME));
    assert_eq!((info.sample_rate, info.channels), (Some(44_100), Some(2)));
    // The empty sequence header: the codec only.
    let info = audio_info(AudioFourCc::Ac3, &[]);
    assert_eq!(info, CodecInfo::new(Codec::Audio(AudioFourCc::Ac3)));
    assert_eq!(info.codec.to_string(), "AC-3");
}

#[test]
fn damaged_records_give_partial_info() {
    // avcC cut inside the SPS: profile and level, no size.
    let record = &hex(AVC_720_TAG)[5..20];
    let info = video_info(VideoFourCc::Avc, record);
    assert_eq!((info.profile.as_deref(), info.width), (Some("High"), None));
    // hvcC without arrays.
    let record = &hex(HEVC_720_TAG)[5..28];
    let info = video_info(VideoFourCc::Hevc, record);
    assert_eq!((info.bit_depth, info.width), (Some(8), None));
    // Nothing at all.
    for codec in VideoFourCc::ALL {
        assert_eq!(video_info(codec, &[]), CodecInfo::new(Codec::Video(codec)));
    }
    for codec in AudioFourCc::ALL {
        assert_eq!(audio_info(codec, &[]), CodecInfo::new(Codec::Audio(codec)));
    }
}

proptest! {
    #[test]
    fn arbitrary_records_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        for codec in VideoFourCc::ALL {
            let _ = video_info(codec, &bytes);
        }
        for codec in AudioFourCc::ALL {
            let _ = audio_info(codec, &bytes);
        }
    }

    #[test]
    fn mutated_real_records_never_panic(index in 0usize..200, value in any::<u8>(), cut in 0usize..200) {
        for (codec, tag) in [
            (VideoFourCc::Avc, AVC_720_TAG),
            (VideoFourCc::Avc, AVC_1080_TAG),
            (VideoFourCc::Hevc, HEVC_642_TAG),
            (VideoFourCc::Av1, AV1_TAG),
        ] {
            let mut record = hex(tag)[5..].to_vec();
            let len = record.len();
            if let Some(byte) = record.get_mut(index % len) {
                *byte = value;
            }
            record.truncate(cut);
            let _ = video_info(codec, &record);
        }
    }
}
