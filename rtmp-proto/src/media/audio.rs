//! Audio tag bodies (RTMP message type 8): silence, the legacy FLV `AUDIODATA`
//! forms and every Enhanced RTMP form, parsed into [`AudioTag`] and serialized back
//! byte for byte, plus the handler-facing per-track view [`EnhancedAudioData`].

use bytes::{BufMut, Bytes, BytesMut};
use smallvec::SmallVec;

use super::ex::{self, ModEx, Tracks};
use super::fourcc::{AudioFourCc, FourCc};
use super::wire::{share, MediaError, Reader};

/// Audio packet types with a meaning of their own (before ModEx/Multitrack unwrapping).
mod packet {
    pub const SEQUENCE_START: u8 = 0;
    pub const CODED_FRAMES: u8 = 1;
    pub const SEQUENCE_END: u8 = 2;
    pub const MULTICHANNEL_CONFIG: u8 = 4;
    pub const MULTITRACK: u8 = 5;
}

/// The SoundFormat value that switches to the Enhanced RTMP header.
const EX_HEADER: u8 = 9;
/// SoundFormat AAC.
const AAC: u8 = 10;

/// A parsed audio tag body.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioTag {
    /// A zero-length body: a period of silence.
    Silence,
    /// SoundFormat other than 9: the legacy FLV layout.
    Legacy(LegacyAudioTag),
    /// SoundFormat 9: Enhanced RTMP.
    Enhanced(ExAudioTag),
}

/// A legacy audio tag: `[SoundFormat:4][SoundRate:2][SoundSize:1][SoundType:1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyAudioTag {
    /// SoundFormat: 0 PCM platform endian, 1 ADPCM, 2 MP3, 3 PCM little endian,
    /// 4–6 Nellymoser, 7 G.711 A-law, 8 G.711 µ-law, 10 AAC, 11 Speex, 14 MP3 8 kHz,
    /// 15 device specific (9 would make the tag Enhanced).
    pub sound_format: u8,
    /// SoundRate: 0 5.5 kHz, 1 11 kHz, 2 22 kHz, 3 44 kHz (AAC always says 3).
    pub sound_rate: u8,
    /// SoundSize: 16-bit samples rather than 8-bit.
    pub sixteen_bit: bool,
    /// SoundType: stereo rather than mono.
    pub stereo: bool,
    /// What follows the header byte.
    pub body: LegacyAudioBody,
}

/// The body of a legacy audio tag.
#[derive(Debug, Clone, PartialEq)]
pub enum LegacyAudioBody {
    /// SoundFormat 10: AACPacketType and data.
    Aac {
        /// The AACPacketType.
        packet_type: AacPacketType,
        /// AudioSpecificConfig or a raw AAC frame.
        data: Bytes,
    },
    /// Any other format: the audio data.
    Data(Bytes),
}

/// AACPacketType of legacy AAC tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AacPacketType {
    /// 0: AudioSpecificConfig.
    SequenceHeader,
    /// 1: raw AAC frame.
    Raw,
    /// Any other value, kept as sent.
    Unknown(u8),
}

impl From<u8> for AacPacketType {
    fn from(byte: u8) -> Self {
        match byte {
            0 => Self::SequenceHeader,
            1 => Self::Raw,
            other => Self::Unknown(other),
        }
    }
}

impl From<AacPacketType> for u8 {
    fn from(packet_type: AacPacketType) -> u8 {
        match packet_type {
            AacPacketType::SequenceHeader => 0,
            AacPacketType::Raw => 1,
            AacPacketType::Unknown(other) => other,
        }
    }
}

/// An Enhanced RTMP audio tag.
#[derive(Debug, Clone, PartialEq)]
pub struct ExAudioTag {
    /// ModEx prefixes, in order.
    pub mod_ex: Vec<ModEx>,
    /// The packet.
    pub packet: ExAudioPacket,
}

/// The tracks' codec type of an audio tag.
pub type AudioCodec = FourCc<AudioFourCc>;

/// An Enhanced RTMP audio packet, by AudioPacketType.
#[derive(Debug, Clone, PartialEq)]
pub enum ExAudioPacket {
    /// 0: decoder configuration (AudioSpecificConfig, OpusHead, FLAC STREAMINFO;
    /// empty for AC-3/E-AC-3).
    SequenceStart(Tracks<AudioCodec, Bytes>),
    /// 1: coded frames.
    CodedFrames(Tracks<AudioCodec, Bytes>),
    /// 2: end of sequence (no body).
    SequenceEnd(Tracks<AudioCodec, ()>),
    /// 4: speaker layout of the channels.
    MultichannelConfig(Tracks<AudioCodec, MultichannelConfig>),
    /// A packet type (or Multitrack byte) this crate does not know: `data` is
    /// everything after the byte holding `packet_type`.
    Unknown {
        /// The packet type (5 when the Multitrack byte is not understood).
        packet_type: u8,
        /// The rest of the body.
        data: Bytes,
    },
}

/// The body of a `MultichannelConfig` packet: channel order, count and layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultichannelConfig {
    /// Order 0: only the channel count is known.
    Unspecified {
        /// The number of channels.
        channel_count: u8,
    },
    /// Order 1: the channels present, in their native order.
    Native {
        /// The number of channels.
        channel_count: u8,
        /// AudioChannelMask bits (0x1 front left, 0x2 front right, 0x4 front center,
        /// 0x8 LFE …).
        channel_flags: u32,
    },
    /// Order 2: one AudioChannel byte per channel, in bitstream order (the channel
    /// count is the mapping's length, at most 255).
    Custom {
        /// The speaker of each channel (0 front left, 1 front right, …, 0xFE unused,
        /// 0xFF unknown).
        mapping: Bytes,
    },
    /// Any other order: the rest of the body kept as sent.
    Unknown {
        /// The AudioChannelOrder value.
        order: u8,
        /// The number of channels.
        channel_count: u8,
        /// What follows the channel count.
        data: Bytes,
    },
}

impl MultichannelConfig {
    /// The number of channels.
    pub fn channel_count(&self) -> u8 {
        match self {
            Self::Unspecified { channel_count }
            | Self::Native { channel_count, .. }
            | Self::Unknown { channel_count, .. } => *channel_count,
            Self::Custom { mapping } => u8::try_from(mapping.len()).unwrap_or(u8::MAX),
        }
    }

    fn parse(body: &Bytes) -> Result<Self, MediaError> {
        let mut r = Reader::new(body);
        let order = r.u8("channel order")?;
        let channel_count = r.u8("channel count")?;
        let config = match order {
            0 => Self::Unspecified { channel_count },
            1 => Self::Native {
                channel_count,
                channel_flags: r.u32("channel flags")?,
            },
            2 => Self::Custom {
                mapping: share(body, r.take(channel_count.into(), "channel mapping")?),
            },
            _ => Self::Unknown {
                order,
                channel_count,
                data: share(body, r.rest()),
            },
        };
        r.finish("multichannel config")?;
        Ok(config)
    }

    fn write(&self, out: &mut BytesMut) {
        match self {
            Self::Unspecified { channel_count } => out.put_slice(&[0, *channel_count]),
            Self::Native {
                channel_count,
                channel_flags,
            } => {
                out.put_slice(&[1, *channel_count]);
                out.put_u32(*channel_flags);
            }
            Self::Custom { mapping } => {
                let mapping = mapping.get(..255).unwrap_or(mapping);
                out.put_slice(&[2, mapping.len() as u8]); // at most 255
                out.put_slice(mapping);
            }
            Self::Unknown {
                order,
                channel_count,
                data,
            } => {
                out.put_slice(&[*order, *channel_count]);
                out.put_slice(data);
            }
        }
    }
}

impl AudioTag {
    /// Parses an audio message payload.
    pub fn parse(payload: &Bytes) -> Result<Self, MediaError> {
        let mut r = Reader::new(payload);
        let Ok(first) = r.u8("header") else {
            return Ok(Self::Silence);
        };
        let sound_format = first >> 4;
        if sound_format != EX_HEADER {
            let body = if sound_format == AAC {
                LegacyAudioBody::Aac {
                    packet_type: r.u8("AACPacketType")?.into(),
                    data: share(payload, r.rest()),
                }
            } else {
                LegacyAudioBody::Data(share(payload, r.rest()))
            };
            return Ok(Self::Legacy(LegacyAudioTag {
                sound_format,
                sound_rate: (first >> 2) & 0x03,
                sixteen_bit: first & 0x02 != 0,
                stereo: first & 0x01 != 0,
                body,
            }));
        }
        let mut mod_ex = Vec::new();
        let packet_type = ex::read_mod_ex(&mut r, first & 0x0F, |m| {
            mod_ex.push(m.to_owned(payload));
        })?;
        let packet = parse_ex_packet(payload, &mut r, packet_type)?;
        Ok(Self::Enhanced(ExAudioTag { mod_ex, packet }))
    }

    /// The payload bytes of this tag.
    pub fn serialize(&self) -> Bytes {
        let mut out = BytesMut::new();
        match self {
            Self::Silence => {}
            Self::Legacy(tag) => tag.write(&mut out),
            Self::Enhanced(tag) => tag.write(&mut out),
        }
        out.freeze()
    }

    /// The nanosecond timestamp offset of a `TimestampOffsetNano` ModEx, if any.
    pub fn timestamp_offset_nano(&self) -> Option<u32> {
        match self {
            Self::Enhanced(tag) => tag.mod_ex.iter().find_map(ModEx::timestamp_offset_nano),
            _ => None,
        }
    }

    /// The per-track views of this message, in wire order: one per track (several
    /// for multitrack), legacy AAC as codec `Aac` and legacy MP3 as `Mp3` on track 0.
    /// Parts this crate cannot describe yield nothing: silence, tracks with an
    /// unknown FourCC, unknown packet types, other legacy formats.
    pub fn tracks(&self) -> impl Iterator<Item = EnhancedAudioData> {
        let mut views = SmallVec::<[EnhancedAudioData; 1]>::new();
        match self {
            Self::Silence => {}
            Self::Legacy(tag) => views.extend(tag.view()),
            Self::Enhanced(tag) => tag.views(&mut views),
        }
        views.into_iter()
    }
}

/// Parses the packet after the header and ModEx chain of an Ex audio tag.
fn parse_ex_packet(
    src: &Bytes,
    r: &mut Reader<'_>,
    packet_type: u8,
) -> Result<ExAudioPacket, MediaError> {
    let known = |pt: u8| matches!(pt, 0..=2 | packet::MULTICHANNEL_CONFIG);
    let ex::Layout::Known(layout, packet_type) =
        ex::read_multitrack(r, packet_type, packet::MULTITRACK, known)?
    else {
        return Ok(ExAudioPacket::Unknown {
            packet_type,
            data: share(src, r.rest()),
        });
    };
    let bytes = |_: AudioCodec, b: Bytes| Ok::<_, MediaError>(b);
    Ok(match packet_type {
        packet::SEQUENCE_START => {
            ExAudioPacket::SequenceStart(ex::parse_tracks(src, r, layout, bytes)?)
        }
        packet::CODED_FRAMES => {
            ExAudioPacket::CodedFrames(ex::parse_tracks(src, r, layout, bytes)?)
        }
        packet::SEQUENCE_END => ExAudioPacket::SequenceEnd(ex::parse_tracks(
            src,
            r,
            layout,
            |_: AudioCodec, b: Bytes| Reader::new(&b).finish("sequence end"),
        )?),
        packet::MULTICHANNEL_CONFIG => ExAudioPacket::MultichannelConfig(ex::parse_tracks(
            src,
            r,
            layout,
            |_: AudioCodec, b: Bytes| MultichannelConfig::parse(&b),
        )?),
        other => ExAudioPacket::Unknown {
            packet_type: other,
            data: share(src, r.rest()),
        },
    })
}

impl LegacyAudioTag {
    fn write(&self, out: &mut BytesMut) {
        out.put_u8(
            ((self.sound_format & 0x0F) << 4)
                | ((self.sound_rate & 0x03) << 2)
                | (u8::from(self.sixteen_bit) << 1)
                | u8::from(self.stereo),
        );
        match &self.body {
            LegacyAudioBody::Aac { packet_type, data } => {
                out.put_u8((*packet_type).into());
                out.put_slice(data);
            }
            LegacyAudioBody::Data(data) => out.put_slice(data),
        }
    }

    fn view(&self) -> Option<EnhancedAudioData> {
        let track_id = 0;
        match (&self.body, self.sound_format) {
            (LegacyAudioBody::Aac { packet_type, data }, AAC) => match packet_type {
                AacPacketType::SequenceHeader => Some(EnhancedAudioData::SequenceHeader {
                    codec: AudioFourCc::Aac,
                    config: data.clone(),
                    track_id,
                }),
                AacPacketType::Raw => Some(EnhancedAudioData::Frame {
                    codec: AudioFourCc::Aac,
                    data: data.clone(),
                    track_id,
                }),
                AacPacketType::Unknown(_) => None,
            },
            (LegacyAudioBody::Data(data), 2 | 14) => Some(EnhancedAudioData::Frame {
                codec: AudioFourCc::Mp3,
                data: data.clone(),
                track_id,
            }),
            _ => None,
        }
    }
}

impl ExAudioTag {
    fn write(&self, out: &mut BytesMut) {
        let high = EX_HEADER << 4;
        let mt = packet::MULTITRACK;
        let bytes = |_: &AudioCodec, b: &Bytes, out: &mut BytesMut| out.put_slice(b);
        match &self.packet {
            ExAudioPacket::SequenceStart(t) => ex::write_tracks(
                out,
                high,
                &self.mod_ex,
                mt,
                packet::SEQUENCE_START,
                t,
                bytes,
            ),
            ExAudioPacket::CodedFrames(t) => {
                ex::write_tracks(out, high, &self.mod_ex, mt, packet::CODED_FRAMES, t, bytes)
            }
            ExAudioPacket::SequenceEnd(t) => ex::write_tracks(
                out,
                high,
                &self.mod_ex,
                mt,
                packet::SEQUENCE_END,
                t,
                |_, _, _| {},
            ),
            ExAudioPacket::MultichannelConfig(t) => ex::write_tracks(
                out,
                high,
                &self.mod_ex,
                mt,
                packet::MULTICHANNEL_CONFIG,
                t,
                |_, config, out| config.write(out),
            ),
            ExAudioPacket::Unknown { packet_type, data } => {
                ex::write_prefix(out, high, &self.mod_ex, packet_type & 0x0F);
                out.put_slice(data);
            }
        }
    }

    fn views(&self, views: &mut SmallVec<[EnhancedAudioData; 1]>) {
        use EnhancedAudioData as A;
        match &self.packet {
            ExAudioPacket::SequenceStart(t) => views.extend(ex::known(t).map(
                |(codec, track_id, config)| A::SequenceHeader {
                    codec,
                    config: config.clone(),
                    track_id,
                },
            )),
            ExAudioPacket::CodedFrames(t) => {
                views.extend(ex::known(t).map(|(codec, track_id, data)| A::Frame {
                    codec,
                    data: data.clone(),
                    track_id,
                }))
            }
            ExAudioPacket::SequenceEnd(t) => views.extend(
                ex::known(t).map(|(codec, track_id, _)| A::SequenceEnd { codec, track_id }),
            ),
            ExAudioPacket::MultichannelConfig(t) => views.extend(ex::known(t).map(
                |(codec, track_id, config)| A::MultichannelConfig {
                    codec,
                    config: config.clone(),
                    track_id,
                },
            )),
            ExAudioPacket::Unknown { .. } => {}
        }
    }
}

/// One track's part of an audio message, as a handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnhancedAudioData {
    /// Decoder configuration; see [`crate::media::config`].
    SequenceHeader {
        /// The codec.
        codec: AudioFourCc,
        /// The configuration (may be empty, e.g. AC-3).
        config: Bytes,
        /// The track.
        track_id: u8,
    },
    /// Coded audio.
    Frame {
        /// The codec.
        codec: AudioFourCc,
        /// The frame(s).
        data: Bytes,
        /// The track.
        track_id: u8,
    },
    /// End of sequence.
    SequenceEnd {
        /// The codec.
        codec: AudioFourCc,
        /// The track.
        track_id: u8,
    },
    /// The speaker layout of the track's channels.
    MultichannelConfig {
        /// The codec.
        codec: AudioFourCc,
        /// The layout.
        config: MultichannelConfig,
        /// The track.
        track_id: u8,
    },
}
