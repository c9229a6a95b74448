//! What decoder configuration records say: [`video_info`] reads avcC (with its SPS),
//! hvcC (with its SPS), av1C (with its sequence header OBU) and vpcC; [`audio_info`]
//! reads AudioSpecificConfig, OpusHead, FLAC STREAMINFO and AC-3/E-AC-3 sync frames.
//! Both are best effort: a damaged or truncated record yields the fields that could
//! be read (at least the codec), never an error and never a panic.

mod audio;
mod bits;
mod video;

#[cfg(test)]
mod tests;

use std::fmt;

use super::fourcc::{AudioFourCc, VideoFourCc};

/// A video or audio codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// A video codec.
    Video(VideoFourCc),
    /// An audio codec.
    Audio(AudioFourCc),
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Video(codec) => codec.fmt(f),
            Self::Audio(codec) => codec.fmt(f),
        }
    }
}

/// Chroma subsampling of a video stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChromaFormat {
    /// Luma only.
    Monochrome,
    /// 4:2:0.
    Yuv420,
    /// 4:2:2.
    Yuv422,
    /// 4:4:4.
    Yuv444,
}

impl fmt::Display for ChromaFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Monochrome => "4:0:0",
            Self::Yuv420 => "4:2:0",
            Self::Yuv422 => "4:2:2",
            Self::Yuv444 => "4:4:4",
        })
    }
}

/// What a configuration record says about a stream; fields it does not carry (or
/// that could not be read) are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecInfo {
    /// The codec.
    pub codec: Codec,
    /// Profile name, e.g. `"High"`, `"Main 10"`, `"LC"`, `"HE-AAC"`.
    pub profile: Option<String>,
    /// Level, e.g. `"3.1"`.
    pub level: Option<String>,
    /// Width in pixels (after cropping; AV1: maximum frame width).
    pub width: Option<u32>,
    /// Height in pixels (after cropping; AV1: maximum frame height).
    pub height: Option<u32>,
    /// Bits per sample (luma for video).
    pub bit_depth: Option<u8>,
    /// Chroma subsampling.
    pub chroma: Option<ChromaFormat>,
    /// Output sample rate in Hz (Opus: the encoder's input rate, if given).
    pub sample_rate: Option<u32>,
    /// Output channel count.
    pub channels: Option<u8>,
    /// Opus pre-skip, in 48 kHz samples.
    pub pre_skip: Option<u16>,
}

impl CodecInfo {
    /// Info with only the codec known.
    pub fn new(codec: Codec) -> Self {
        CodecInfo {
            codec,
            profile: None,
            level: None,
            width: None,
            height: None,
            bit_depth: None,
            chroma: None,
            sample_rate: None,
            channels: None,
            pre_skip: None,
        }
    }
}

/// Reads a video sequence header (the body of a SequenceStart, or of a legacy AVC
/// sequence header): avcC for AVC, hvcC for HEVC, av1C for AV1, vpcC (with or
/// without its FullBox version and flags) for VP9 and VP8. VVC records are not
/// read. VP8/VP9 records carry no resolution.
pub fn video_info(codec: VideoFourCc, config: &[u8]) -> CodecInfo {
    let mut info = CodecInfo::new(Codec::Video(codec));
    match codec {
        VideoFourCc::Avc => video::avc(config, &mut info),
        VideoFourCc::Hevc => video::hevc(config, &mut info),
        VideoFourCc::Av1 => video::av1(config, &mut info),
        VideoFourCc::Vp9 | VideoFourCc::Vp8 => video::vpx(config, &mut info),
        VideoFourCc::Vvc => None,
    };
    info
}

/// Reads an audio sequence header: AudioSpecificConfig for AAC, OpusHead for Opus,
/// STREAMINFO for FLAC (with or without the `fLaC` signature and block header).
/// AC-3 and E-AC-3 sequence headers are empty: pass the first coded frame instead
/// to read its sync information. MP3 has no configuration.
pub fn audio_info(codec: AudioFourCc, config: &[u8]) -> CodecInfo {
    let mut info = CodecInfo::new(Codec::Audio(codec));
    match codec {
        AudioFourCc::Aac => audio::aac(config, &mut info),
        AudioFourCc::Opus => audio::opus(config, &mut info),
        AudioFourCc::Flac => audio::flac(config, &mut info),
        AudioFourCc::Ac3 | AudioFourCc::Eac3 => audio::ac3(config, &mut info),
        AudioFourCc::Mp3 => None,
    };
    info
}

/// `"major.minor"` for the level numbering of AVC and VP9 (`31` → `"3.1"`).
fn decimal_level(level: u32) -> String {
    format!("{}.{}", level / 10, level % 10)
}
