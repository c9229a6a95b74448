//! Enhanced RTMP capability negotiation: what a client announces in `connect`
//! (`fourCcList`, `videoFourCcInfoMap`, `audioFourCcInfoMap`, `capsEx`,
//! `videoFunction`), what the server answers in its `_result` properties, and the
//! server's policy ([`EnhancedRtmpMode`]).

use crate::amf::{Amf0Value, AmfObject};
use crate::media::fourcc::{AudioFourCc, VideoFourCc};

/// What one side can do with a codec: the E-RTMP `FourCcInfoMask`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FourCcCapability(u8);

impl FourCcCapability {
    const DECODE: u8 = 0x01;
    const ENCODE: u8 = 0x02;
    const FORWARD: u8 = 0x04;

    /// Can decode the codec.
    pub const fn decode() -> Self {
        FourCcCapability(Self::DECODE)
    }

    /// Can encode the codec.
    pub const fn encode() -> Self {
        FourCcCapability(Self::ENCODE)
    }

    /// Can forward the codec without decoding it (what a relay server does).
    pub const fn forward() -> Self {
        FourCcCapability(Self::FORWARD)
    }

    /// Decode, encode and forward.
    pub const fn all() -> Self {
        FourCcCapability(Self::DECODE | Self::ENCODE | Self::FORWARD)
    }

    /// Both sets of abilities.
    pub const fn with(self, other: FourCcCapability) -> Self {
        FourCcCapability(self.0 | other.0)
    }

    /// The mask as sent on the wire.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// From a mask as received (unknown bits are kept).
    pub const fn from_bits(bits: u8) -> Self {
        FourCcCapability(bits)
    }

    /// Whether it can decode.
    pub const fn can_decode(self) -> bool {
        self.0 & Self::DECODE != 0
    }

    /// Whether it can forward.
    pub const fn can_forward(self) -> bool {
        self.0 & Self::FORWARD != 0
    }
}

/// The E-RTMP `capsEx` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CapsEx(u32);

impl CapsEx {
    /// `NetConnection.Connect.ReconnectRequest` is understood.
    pub const RECONNECT: CapsEx = CapsEx(0x01);
    /// Multitrack audio and video.
    pub const MULTITRACK: CapsEx = CapsEx(0x02);
    /// ModEx packets.
    pub const MODEX: CapsEx = CapsEx(0x04);
    /// The TimestampOffsetNano ModEx.
    pub const TIMESTAMP_NANO_OFFSET: CapsEx = CapsEx(0x08);

    /// No flags.
    pub const fn empty() -> Self {
        CapsEx(0)
    }

    /// Both sets of flags.
    pub const fn with(self, other: CapsEx) -> Self {
        CapsEx(self.0 | other.0)
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: CapsEx) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flags as sent on the wire.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// From flags as received.
    pub const fn from_bits(bits: u32) -> Self {
        CapsEx(bits)
    }
}

/// What a client announced in `connect`. FourCCs are kept as the client wrote
/// them (`"*"` is the wildcard), so unknown codecs survive for logging and policy.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClientCapabilities {
    /// `fourCcList` (E-RTMP v1), if sent.
    pub fourcc_list: Vec<String>,
    /// `videoFourCcInfoMap`: FourCC → capability.
    pub video: Vec<(String, FourCcCapability)>,
    /// `audioFourCcInfoMap`: FourCC → capability.
    pub audio: Vec<(String, FourCcCapability)>,
    /// `capsEx`.
    pub caps_ex: CapsEx,
    /// `videoFunction` flags (1 client seek, 2 HDR, 4 metadata packets, 8 large-scale tile).
    pub video_function: u32,
}

impl ClientCapabilities {
    /// Reads the E-RTMP properties of a connect command object; `None` when the
    /// client announced none of them (a legacy client, or one that sends Enhanced
    /// media without negotiating, as OBS does).
    pub fn from_connect(properties: &AmfObject) -> Option<Self> {
        let number = |key: &str| {
            properties
                .get_ignore_case(key)
                .and_then(Amf0Value::as_number)
        };
        let fourcc_list = match properties.get_ignore_case("fourCcList") {
            Some(Amf0Value::StrictArray(items)) => items
                .iter()
                .filter_map(Amf0Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        let info_map = |key: &str| -> Vec<(String, FourCcCapability)> {
            properties
                .get_ignore_case(key)
                .and_then(Amf0Value::as_object)
                .map(|map| {
                    map.iter()
                        .filter_map(|(k, v)| {
                            Some((k.clone(), FourCcCapability::from_bits(v.as_number()? as u8)))
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let caps = ClientCapabilities {
            fourcc_list,
            video: info_map("videoFourCcInfoMap"),
            audio: info_map("audioFourCcInfoMap"),
            caps_ex: CapsEx::from_bits(number("capsEx").unwrap_or(0.0) as u32),
            video_function: number("videoFunction").unwrap_or(0.0) as u32,
        };
        let enhanced = !caps.fourcc_list.is_empty()
            || !caps.video.is_empty()
            || !caps.audio.is_empty()
            || caps.caps_ex != CapsEx::empty();
        enhanced.then_some(caps)
    }
}

/// How the server treats Enhanced RTMP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnhancedRtmpMode {
    /// Negotiate with clients that announce E-RTMP, serve legacy clients as before,
    /// and accept Enhanced media from clients that did not negotiate (OBS).
    #[default]
    Auto,
    /// Refuse connections that do not announce E-RTMP support.
    EnhancedOnly,
    /// Announce nothing and refuse Enhanced media: a publish that sends it is stopped.
    LegacyOnly,
}

/// The codecs and extended capabilities the server states in its connect answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnhancedServerCapabilities {
    video: Vec<(VideoFourCc, FourCcCapability)>,
    audio: Vec<(AudioFourCc, FourCcCapability)>,
    caps_ex: CapsEx,
}

impl Default for EnhancedServerCapabilities {
    /// Forwards every codec this library knows, with reconnect, multitrack, ModEx and
    /// nanosecond timestamp offsets.
    fn default() -> Self {
        use AudioFourCc as A;
        use VideoFourCc as V;
        let forward = FourCcCapability::forward();
        EnhancedServerCapabilities {
            video: [V::Avc, V::Hevc, V::Vvc, V::Av1, V::Vp9, V::Vp8]
                .into_iter()
                .map(|c| (c, forward))
                .collect(),
            audio: [A::Aac, A::Opus, A::Flac, A::Ac3, A::Eac3, A::Mp3]
                .into_iter()
                .map(|c| (c, forward))
                .collect(),
            caps_ex: CapsEx::RECONNECT
                .with(CapsEx::MULTITRACK)
                .with(CapsEx::MODEX)
                .with(CapsEx::TIMESTAMP_NANO_OFFSET),
        }
    }
}

impl EnhancedServerCapabilities {
    /// No codecs and no extended capabilities: add what the server supports.
    pub fn minimal() -> Self {
        EnhancedServerCapabilities {
            video: Vec::new(),
            audio: Vec::new(),
            caps_ex: CapsEx::empty(),
        }
    }

    /// Adds (or replaces) a video codec.
    pub fn with_video_codec(mut self, codec: VideoFourCc, capability: FourCcCapability) -> Self {
        self.video.retain(|(c, _)| *c != codec);
        self.video.push((codec, capability));
        self
    }

    /// Adds (or replaces) an audio codec.
    pub fn with_audio_codec(mut self, codec: AudioFourCc, capability: FourCcCapability) -> Self {
        self.audio.retain(|(c, _)| *c != codec);
        self.audio.push((codec, capability));
        self
    }

    /// Sets the extended capabilities.
    pub fn with_caps_ex(mut self, caps_ex: CapsEx) -> Self {
        self.caps_ex = caps_ex;
        self
    }

    /// The extended capabilities.
    pub fn caps_ex(&self) -> CapsEx {
        self.caps_ex
    }

    /// Whether Enhanced video with this FourCC may be published (forwarded).
    pub fn accepts_video(&self, fourcc: &[u8; 4]) -> bool {
        self.video
            .iter()
            .any(|(c, cap)| &c.fourcc() == fourcc && cap.can_forward())
    }

    /// Whether Enhanced audio with this FourCC may be published (forwarded).
    pub fn accepts_audio(&self, fourcc: &[u8; 4]) -> bool {
        self.audio
            .iter()
            .any(|(c, cap)| &c.fourcc() == fourcc && cap.can_forward())
    }

    /// Adds the server's statement to connect `_result` properties: `fourCcList`
    /// (for v1 clients), `videoFourCcInfoMap`, `audioFourCcInfoMap` and `capsEx`.
    pub fn write_to(&self, properties: &mut AmfObject) {
        let list = self
            .video
            .iter()
            .map(|(c, _)| c.as_str())
            .chain(self.audio.iter().map(|(c, _)| c.as_str()))
            .map(Amf0Value::from)
            .collect();
        properties.insert("fourCcList", Amf0Value::StrictArray(list));
        let map = |entries: Vec<(&str, FourCcCapability)>| {
            let mut object = AmfObject::new();
            for (fourcc, capability) in entries {
                object.insert(fourcc, f64::from(capability.bits()));
            }
            object
        };
        let video = map(self
            .video
            .iter()
            .map(|(c, cap)| (c.as_str(), *cap))
            .collect());
        let audio = map(self
            .audio
            .iter()
            .map(|(c, cap)| (c.as_str(), *cap))
            .collect());
        properties.insert("videoFourCcInfoMap", video);
        properties.insert("audioFourCcInfoMap", audio);
        properties.insert("capsEx", f64::from(self.caps_ex.bits()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffmpeg_fourcc_list_is_read() {
        let props = AmfObject::new().with("app", "live").with(
            "fourCcList",
            Amf0Value::StrictArray(vec!["hvc1".into(), "Opus".into()]),
        );
        let caps = ClientCapabilities::from_connect(&props).unwrap();
        assert_eq!(caps.fourcc_list, ["hvc1", "Opus"]);
    }

    #[test]
    fn info_maps_caps_ex_and_the_wildcard_are_read() {
        let props = AmfObject::new()
            .with(
                "videoFourCcInfoMap",
                AmfObject::new().with("*", 4.0).with("vp09", 3.0),
            )
            .with(
                "audioFourCcInfoMap",
                Amf0Value::EcmaArray(AmfObject::new().with("Opus", 7.0)),
            )
            .with("capsEx", 3.0)
            .with("videoFunction", 6.0);
        let caps = ClientCapabilities::from_connect(&props).unwrap();
        assert_eq!(
            caps.video,
            [
                ("*".into(), FourCcCapability::forward()),
                ("vp09".into(), FourCcCapability::from_bits(3))
            ]
        );
        assert_eq!(caps.audio, [("Opus".into(), FourCcCapability::all())]);
        assert!(caps
            .caps_ex
            .contains(CapsEx::RECONNECT.with(CapsEx::MULTITRACK)));
        assert_eq!(caps.video_function, 6);
    }

    #[test]
    fn a_legacy_connect_announces_nothing() {
        let props = AmfObject::new()
            .with("app", "live")
            .with("flashVer", "FMLE/3.0");
        assert_eq!(ClientCapabilities::from_connect(&props), None);
    }

    #[test]
    fn the_server_states_its_codecs_and_caps_ex() {
        let caps = EnhancedServerCapabilities::minimal()
            .with_video_codec(VideoFourCc::Hevc, FourCcCapability::forward())
            .with_audio_codec(AudioFourCc::Opus, FourCcCapability::forward())
            .with_caps_ex(CapsEx::RECONNECT);
        let mut props = AmfObject::new();
        caps.write_to(&mut props);
        assert_eq!(
            props.get("videoFourCcInfoMap"),
            Some(&AmfObject::new().with("hvc1", 4.0).into())
        );
        assert_eq!(
            props.get("audioFourCcInfoMap"),
            Some(&AmfObject::new().with("Opus", 4.0).into())
        );
        assert_eq!(props.get("capsEx"), Some(&Amf0Value::Number(1.0)));
        assert!(caps.accepts_video(b"hvc1"));
        assert!(!caps.accepts_video(b"av01"));
        assert!(caps.accepts_audio(b"Opus"));
    }
}
