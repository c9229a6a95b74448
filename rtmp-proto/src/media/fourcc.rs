//! FourCC codec identifiers of Enhanced RTMP: the video and audio codecs this crate
//! knows by name, and [`FourCc`], which also keeps codes it does not know so that
//! such tags can still be forwarded byte for byte.

use std::fmt;

/// A video codec signalled by FourCC in Enhanced RTMP (or by a legacy codec id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoFourCc {
    /// H.264 / AVC, `avc1`.
    Avc,
    /// H.265 / HEVC, `hvc1`.
    Hevc,
    /// H.266 / VVC, `vvc1`.
    Vvc,
    /// AV1, `av01`.
    Av1,
    /// VP9, `vp09`.
    Vp9,
    /// VP8, `vp08`.
    Vp8,
}

impl VideoFourCc {
    /// Every known video FourCC.
    pub const ALL: [VideoFourCc; 6] = [
        Self::Avc,
        Self::Hevc,
        Self::Vvc,
        Self::Av1,
        Self::Vp9,
        Self::Vp8,
    ];

    /// The codec with this FourCC, if known.
    pub fn from_fourcc(code: &[u8; 4]) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.fourcc() == *code)
    }

    /// The four bytes on the wire.
    pub fn fourcc(&self) -> [u8; 4] {
        *match self {
            Self::Avc => b"avc1",
            Self::Hevc => b"hvc1",
            Self::Vvc => b"vvc1",
            Self::Av1 => b"av01",
            Self::Vp9 => b"vp09",
            Self::Vp8 => b"vp08",
        }
    }

    /// The FourCC as text, e.g. `"hvc1"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Avc => "avc1",
            Self::Hevc => "hvc1",
            Self::Vvc => "vvc1",
            Self::Av1 => "av01",
            Self::Vp9 => "vp09",
            Self::Vp8 => "vp08",
        }
    }

    /// Whether `CodedFrames` of this codec carry an SI24 composition time offset
    /// (the NAL-unit codecs: AVC, HEVC, VVC).
    pub fn has_composition_time(&self) -> bool {
        matches!(self, Self::Avc | Self::Hevc | Self::Vvc)
    }
}

impl fmt::Display for VideoFourCc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Avc => "H.264",
            Self::Hevc => "HEVC",
            Self::Vvc => "VVC",
            Self::Av1 => "AV1",
            Self::Vp9 => "VP9",
            Self::Vp8 => "VP8",
        })
    }
}

/// An audio codec signalled by FourCC in Enhanced RTMP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioFourCc {
    /// AAC, `mp4a`.
    Aac,
    /// Opus, `Opus`.
    Opus,
    /// FLAC, `fLaC`.
    Flac,
    /// AC-3, `ac-3`.
    Ac3,
    /// E-AC-3, `ec-3`.
    Eac3,
    /// MP3, `.mp3`.
    Mp3,
}

impl AudioFourCc {
    /// Every known audio FourCC.
    pub const ALL: [AudioFourCc; 6] = [
        Self::Aac,
        Self::Opus,
        Self::Flac,
        Self::Ac3,
        Self::Eac3,
        Self::Mp3,
    ];

    /// The codec with this FourCC, if known.
    pub fn from_fourcc(code: &[u8; 4]) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.fourcc() == *code)
    }

    /// The four bytes on the wire.
    pub fn fourcc(&self) -> [u8; 4] {
        *match self {
            Self::Aac => b"mp4a",
            Self::Opus => b"Opus",
            Self::Flac => b"fLaC",
            Self::Ac3 => b"ac-3",
            Self::Eac3 => b"ec-3",
            Self::Mp3 => b".mp3",
        }
    }

    /// The FourCC as text, e.g. `"Opus"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Aac => "mp4a",
            Self::Opus => "Opus",
            Self::Flac => "fLaC",
            Self::Ac3 => "ac-3",
            Self::Eac3 => "ec-3",
            Self::Mp3 => ".mp3",
        }
    }
}

impl fmt::Display for AudioFourCc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Aac => "AAC",
            Self::Opus => "Opus",
            Self::Flac => "FLAC",
            Self::Ac3 => "AC-3",
            Self::Eac3 => "E-AC-3",
            Self::Mp3 => "MP3",
        })
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::VideoFourCc {}
    impl Sealed for super::AudioFourCc {}
}

/// The known-codec enums, [`VideoFourCc`] and [`AudioFourCc`] (sealed).
pub trait KnownFourCc: Copy + Eq + sealed::Sealed {
    /// The codec with this FourCC, if known.
    fn from_code(code: &[u8; 4]) -> Option<Self>;
    /// The four bytes on the wire.
    fn code(&self) -> [u8; 4];
}

impl KnownFourCc for VideoFourCc {
    fn from_code(code: &[u8; 4]) -> Option<Self> {
        Self::from_fourcc(code)
    }
    fn code(&self) -> [u8; 4] {
        self.fourcc()
    }
}

impl KnownFourCc for AudioFourCc {
    fn from_code(code: &[u8; 4]) -> Option<Self> {
        Self::from_fourcc(code)
    }
    fn code(&self) -> [u8; 4] {
        self.fourcc()
    }
}

/// A FourCC as found in a tag: a known codec, or the raw code of an unknown one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FourCc<C> {
    /// A codec this crate knows.
    Known(C),
    /// Any other code, kept as sent.
    Unknown([u8; 4]),
}

impl<C: KnownFourCc> FourCc<C> {
    /// Classifies four bytes from the wire.
    pub fn from_bytes(code: [u8; 4]) -> Self {
        C::from_code(&code).map_or(Self::Unknown(code), Self::Known)
    }

    /// The four bytes on the wire.
    pub fn bytes(&self) -> [u8; 4] {
        match self {
            Self::Known(codec) => codec.code(),
            Self::Unknown(code) => *code,
        }
    }

    /// The codec, if known.
    pub fn known(&self) -> Option<C> {
        match self {
            Self::Known(codec) => Some(*codec),
            Self::Unknown(_) => None,
        }
    }
}

impl<C> From<C> for FourCc<C> {
    fn from(codec: C) -> Self {
        Self::Known(codec)
    }
}
