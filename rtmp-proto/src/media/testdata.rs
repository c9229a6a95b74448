//! Test vectors: real sequence headers and tags written by FFmpeg 9 (libx264,
//! libx265, libsvtav1, libvpx-vp9, aac, libopus, flac, ac3, eac3) to FLV, as hex.

use bytes::Bytes;

/// Decodes a hex test vector.
pub fn hex(text: &str) -> Bytes {
    let digits: Vec<u8> = text
        .bytes()
        .map(|c| match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("bad hex digit {c}"),
        })
        .collect();
    digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
}

/// Legacy AVC sequence header: libx264 High 3.1, 1280x720.
pub const AVC_720_TAG: &str = concat!(
    "17000000000164001fffe1001a6764001facd9405005bb011000000300100000030320f183196001",
    "000668ebe3cb22c0fdf8f800",
);
/// Legacy AVC sequence header: libx264 Main 4.0, 1920x1088 cropped to 1080.
pub const AVC_1080_TAG: &str = concat!(
    "1700000000014d4028ffe1001a674d4028eca03c0113f2e022000003000200000300641e30632c01",
    "000568ebe3cb20",
);
/// Ex SequenceStart hvc1: libx265 Main 10, 648x368 with a conformance window to 642x362.
pub const HEVC_642_TAG: &str = concat!(
    "90687663310102200000009000000000003ff000fcfdfafa00000f03200001001840010c01ffff02",
    "200000030090000003000003003f959809210001002c42010102200000030090000003000003003f",
    "a005120171c92365959a4932bc05a0200000030020000003032122000100074401c172b46240",
);
/// Ex SequenceStart hvc1: libx265 Main 3.1, 1280x720.
pub const HEVC_720_TAG: &str = concat!(
    "90687663310101600000009000000000005df000fcfdf8f800000f03200001001840010c01ffff01",
    "600000030090000003000003005d959809210001002b42010101600000030090000003000003005d",
    "a00280802d165959a4932bc05a02000003000200000300321022000100074401c172b46240",
);
/// Ex SequenceStart av01: libsvtav1 Main 3.1, 1280x720, with its sequence header OBU.
pub const AV1_TAG: &str = "906176303181050c000a0c0200002d2a67fd9e017c0020";
/// Ex SequenceStart vp09: libvpx-vp9 profile 0 level 3.1, vpcC as a FullBox.
pub const VP9_TAG: &str = "907670303901000000001f820202020000";
/// Ex Metadata hvc1 as FFmpeg writes it (0xD4): colorInfo with matrixCoefficients 9.
pub const HEVC_METADATA_TAG: &str = concat!(
    "d468766331020009636f6c6f72496e666f03000b636f6c6f72436f6e6669670300126d6174726978",
    "436f656666696369656e7473004022000000000000000009000009",
);
/// Legacy AAC sequence header: LC 48 kHz mono with an SBR sync extension saying no SBR.
pub const AAC_TAG: &str = "af00118856e500";
/// Ex SequenceStart Opus: OpusHead mono, pre-skip 312, 48 kHz.
pub const OPUS_TAG: &str = "904f7075734f707573486561640101380180bb0000000000";
/// Ex SequenceStart Opus: OpusHead 5.1 with mapping family 1.
pub const OPUS6_TAG: &str = "904f7075734f707573486561640106380180bb00000000010402000401020305";
/// Ex MultichannelConfig Opus: native order, 6 channels, flags 0x3f.
pub const OPUS6_CHANNELS_TAG: &str = "944f70757301060000003f";
/// Ex SequenceStart fLaC as FFmpeg writes it: bare STREAMINFO, 48 kHz mono 16-bit.
pub const FLAC_TAG: &str =
    "90664c6143040004000000000008150bb800f00000000000000000000000000000000000000000";
/// Ex SequenceStart ac-3: empty.
pub const AC3_TAG: &str = "9061632d33";
/// Ex MultichannelConfig ac-3: native order, 5.1 (flags 0x60f).
pub const AC3_51_CHANNELS_TAG: &str = "9461632d3301060000060f";
/// Ex Multitrack OneTrack SequenceStart Opus on track 1.
pub const MULTI_OPUS_TAG: &str = "95004f707573014f707573486561640101380180bb0000000000";
/// Ex Multitrack OneTrack MultichannelConfig Opus on track 1.
pub const MULTI_OPUS_CHANNELS_TAG: &str = "95044f70757301010100000004";
/// The start of an AC-3 5.1 48 kHz frame.
pub const AC3_51_FRAME: &str = "0b77b50b1e40ebf8";
/// The start of an E-AC-3 stereo 44.1 kHz frame.
pub const EAC3_STEREO_FRAME: &str = "0b7701a07487c000";
/// FLAC STREAMINFO: 44.1 kHz stereo 24-bit.
pub const FLAC_24BIT_STREAMINFO: &str =
    "0400040000000000189a0ac443700000000000000000000000000000000000000000";
