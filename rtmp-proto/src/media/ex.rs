//! The Enhanced RTMP structure audio and video share: ModEx prefixes ([`ModEx`]),
//! multitrack layouts ([`Tracks`], [`Track`], [`AvMultitrackType`]), and the code
//! that reads and writes them around a per-codec body.

use bytes::{BufMut, Bytes, BytesMut};
use smallvec::SmallVec;

use super::fourcc::{FourCc, KnownFourCc};
use super::wire::{put_u24, share, MediaError, Reader};

/// The packet type value that announces a ModEx prefix (audio and video alike).
pub(crate) const MOD_EX: u8 = 7;

/// A ModEx prefix: extra data that modifies the packet that follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModEx {
    /// ModExType 0 with three data bytes: a nanosecond offset (0..=999 999) added
    /// to this message's timestamp only. Serialized from the low 24 bits.
    TimestampOffsetNano(u32),
    /// Any other ModEx, kept as sent.
    Raw {
        /// The 4-bit ModExType.
        mod_ex_type: u8,
        /// The data, 1 to 65 536 bytes (an empty one is written as one zero byte,
        /// a longer one is cut to 65 536 bytes).
        data: Bytes,
        /// Whether the size used the 16-bit form although the 8-bit one would do
        /// (data of 255 bytes or less); longer data always uses the 16-bit form.
        long_size: bool,
    },
}

impl ModEx {
    /// The nanosecond offset, for [`ModEx::TimestampOffsetNano`].
    pub fn timestamp_offset_nano(&self) -> Option<u32> {
        match self {
            Self::TimestampOffsetNano(nanos) => Some(*nanos),
            Self::Raw { .. } => None,
        }
    }
}

/// How several tracks share one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvMultitrackType {
    /// One track with an explicit id.
    OneTrack,
    /// Several tracks of one codec, each with its size.
    ManyTracks,
    /// Several tracks, each with its own codec and size.
    ManyTracksManyCodecs,
}

impl AvMultitrackType {
    fn from_bits(bits: u8) -> Option<Self> {
        match bits {
            0 => Some(Self::OneTrack),
            1 => Some(Self::ManyTracks),
            2 => Some(Self::ManyTracksManyCodecs),
            _ => None,
        }
    }

    fn bits(self) -> u8 {
        match self {
            Self::OneTrack => 0,
            Self::ManyTracks => 1,
            Self::ManyTracksManyCodecs => 2,
        }
    }
}

/// One track's part of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Track<C, B> {
    /// The track id (0 when the message is not multitrack).
    pub track_id: u8,
    /// The track's codec.
    pub codec: C,
    /// The packet-type-specific body.
    pub body: B,
}

/// The tracks of one Enhanced RTMP message; they all share its packet type.
///
/// A message carries at least one track: an empty `ManyTracks` or
/// `ManyTracksManyCodecs` list serializes to a header that does not parse back, as
/// does a track body over the 16 MiB a Multitrack size can describe.
#[derive(Debug, Clone, PartialEq)]
pub enum Tracks<C, B> {
    /// No Multitrack wrapper: one track whose id is implicitly 0 (the
    /// `track_id` field is not written).
    Single(Track<C, B>),
    /// Multitrack OneTrack: one track with an explicit id.
    OneTrack(Track<C, B>),
    /// Multitrack ManyTracks: the codec is written once. If the tracks' codecs
    /// differ, the message is serialized as ManyTracksManyCodecs instead.
    ManyTracks(Vec<Track<C, B>>),
    /// Multitrack ManyTracksManyCodecs: a codec per track.
    ManyTracksManyCodecs(Vec<Track<C, B>>),
}

impl<C, B> Tracks<C, B> {
    /// The tracks in wire order.
    pub fn as_slice(&self) -> &[Track<C, B>] {
        match self {
            Self::Single(track) | Self::OneTrack(track) => std::slice::from_ref(track),
            Self::ManyTracks(tracks) | Self::ManyTracksManyCodecs(tracks) => tracks,
        }
    }

    /// The Multitrack type as written (`None` without a Multitrack wrapper).
    pub fn multitrack_type(&self) -> Option<AvMultitrackType>
    where
        C: PartialEq,
    {
        match self {
            Self::Single(_) => None,
            Self::OneTrack(_) => Some(AvMultitrackType::OneTrack),
            Self::ManyTracks(tracks) => Some(match tracks.split_first() {
                Some((first, rest)) if rest.iter().any(|t| t.codec != first.codec) => {
                    AvMultitrackType::ManyTracksManyCodecs
                }
                _ => AvMultitrackType::ManyTracks,
            }),
            Self::ManyTracksManyCodecs(_) => Some(AvMultitrackType::ManyTracksManyCodecs),
        }
    }
}

/// The ModEx prefixes of one message, as borrowed from the body.
pub(crate) struct RawModEx<'a> {
    mod_ex_type: u8,
    data: &'a [u8],
    long_size: bool,
}

impl RawModEx<'_> {
    /// The owned form, sharing `src`.
    pub(crate) fn to_owned(&self, src: &Bytes) -> ModEx {
        match (self.mod_ex_type, self.data, self.long_size) {
            (0, &[a, b, c], false) => ModEx::TimestampOffsetNano(u32::from_be_bytes([0, a, b, c])),
            _ => ModEx::Raw {
                mod_ex_type: self.mod_ex_type,
                data: share(src, self.data),
                long_size: self.long_size && self.data.len() < 256,
            },
        }
    }
}

/// Reads ModEx prefixes while the packet type says one follows; returns the packet
/// type that ends the chain.
pub(crate) fn read_mod_ex<'a>(
    r: &mut Reader<'a>,
    mut packet_type: u8,
    mut each: impl FnMut(RawModEx<'a>),
) -> Result<u8, MediaError> {
    while packet_type == MOD_EX {
        let mut size = usize::from(r.u8("ModEx size")?) + 1;
        let long_size = size == 256;
        if long_size {
            size = usize::from(r.u16("ModEx size")?) + 1;
        }
        let data = r.take(size, "ModEx data")?;
        let next = r.u8("ModEx type")?;
        each(RawModEx {
            mod_ex_type: next >> 4,
            data,
            long_size,
        });
        packet_type = next & 0x0F;
    }
    Ok(packet_type)
}

/// Writes the header byte (`high` | packet type nibble) and the ModEx chain; the
/// last ModEx (or the header, without ModEx) carries `next`.
pub(crate) fn write_prefix(out: &mut BytesMut, high: u8, mod_ex: &[ModEx], next: u8) {
    let first = if mod_ex.is_empty() { next } else { MOD_EX };
    out.put_u8(high | first);
    for (i, item) in mod_ex.iter().enumerate() {
        let following = if i + 1 == mod_ex.len() { next } else { MOD_EX };
        let nanos;
        let (mod_ex_type, data, long_size) = match item {
            ModEx::TimestampOffsetNano(value) => {
                nanos = value.to_be_bytes();
                (0, &nanos[1..], false)
            }
            ModEx::Raw {
                mod_ex_type,
                data,
                long_size,
            } => (*mod_ex_type, &data[..], *long_size),
        };
        let data = match data.get(..65_536) {
            Some(d) => d,
            None => data,
        };
        let size = data.len().max(1) - 1;
        if long_size || size >= 255 {
            out.put_u8(0xFF);
            out.put_u16(u16::try_from(size).unwrap_or(u16::MAX));
        } else {
            out.put_u8(size as u8); // < 255
        }
        if data.is_empty() {
            out.put_u8(0);
        }
        out.put_slice(data);
        out.put_u8((mod_ex_type << 4) | (following & 0x0F));
    }
}

/// What follows the header and ModEx chain.
pub(crate) enum Layout {
    /// The tracks' layout (`None`: no Multitrack wrapper) and their packet type.
    Known(Option<AvMultitrackType>, u8),
    /// A Multitrack byte with an unknown layout or content packet type (not consumed).
    Unknown,
}

/// Reads the Multitrack byte if `packet_type` is the family's `multitrack` value;
/// `content` says which packet types a track may carry.
pub(crate) fn read_multitrack(
    r: &mut Reader<'_>,
    packet_type: u8,
    multitrack: u8,
    content: impl Fn(u8) -> bool,
) -> Result<Layout, MediaError> {
    if packet_type != multitrack {
        return Ok(Layout::Known(None, packet_type));
    }
    let byte = r.peek().ok_or(MediaError::Truncated("Multitrack type"))?;
    Ok(match AvMultitrackType::from_bits(byte >> 4) {
        Some(layout) if content(byte & 0x0F) => {
            r.take(1, "Multitrack type")?;
            Layout::Known(Some(layout), byte & 0x0F)
        }
        _ => Layout::Unknown,
    })
}

/// Walks the tracks after a (possibly absent) Multitrack byte, handing each one's
/// id, FourCC and body bytes to `each`. At least one track must be present.
pub(crate) fn walk_tracks<'a>(
    r: &mut Reader<'a>,
    layout: Option<AvMultitrackType>,
    mut each: impl FnMut(u8, [u8; 4], &'a [u8]) -> Result<(), MediaError>,
) -> Result<(), MediaError> {
    let shared = match layout {
        Some(AvMultitrackType::ManyTracksManyCodecs) => None,
        _ => Some(r.array("FourCC")?),
    };
    loop {
        let fourcc = match shared {
            Some(code) => code,
            None => r.array("track FourCC")?,
        };
        let (track_id, body) = match layout {
            None => (0, r.rest()),
            Some(AvMultitrackType::OneTrack) => (r.u8("track id")?, r.rest()),
            Some(_) => {
                let id = r.u8("track id")?;
                let size = r.u24("track size")?;
                (id, r.take(size as usize, "track body")?)
            }
        };
        each(track_id, fourcc, body)?;
        if r.is_empty() {
            return Ok(());
        }
    }
}

/// Parses the tracks of one message; `body` turns one track's bytes into its body.
pub(crate) fn parse_tracks<C: KnownFourCc, B>(
    src: &Bytes,
    r: &mut Reader<'_>,
    layout: Option<AvMultitrackType>,
    body: impl Fn(FourCc<C>, Bytes) -> Result<B, MediaError>,
) -> Result<Tracks<FourCc<C>, B>, MediaError> {
    let mut tracks: SmallVec<[Track<FourCc<C>, B>; 1]> = SmallVec::new();
    walk_tracks(r, layout, |track_id, code, bytes| {
        let codec = FourCc::from_bytes(code);
        let body = body(codec, share(src, bytes))?;
        tracks.push(Track {
            track_id,
            codec,
            body,
        });
        Ok(())
    })?;
    Ok(match layout {
        None | Some(AvMultitrackType::OneTrack) => {
            let track = tracks.pop().ok_or(MediaError::Truncated("track"))?;
            if layout.is_none() {
                Tracks::Single(track)
            } else {
                Tracks::OneTrack(track)
            }
        }
        Some(AvMultitrackType::ManyTracks) => Tracks::ManyTracks(tracks.into_vec()),
        Some(AvMultitrackType::ManyTracksManyCodecs) => {
            Tracks::ManyTracksManyCodecs(tracks.into_vec())
        }
    })
}

/// Writes a whole Enhanced RTMP message: header byte, ModEx chain, Multitrack byte
/// (`multitrack` is the family's Multitrack packet type) and the tracks.
pub(crate) fn write_tracks<C: KnownFourCc, B>(
    out: &mut BytesMut,
    high: u8,
    mod_ex: &[ModEx],
    multitrack: u8,
    packet_type: u8,
    tracks: &Tracks<FourCc<C>, B>,
    body: impl Fn(&FourCc<C>, &B, &mut BytesMut),
) {
    let layout = tracks.multitrack_type();
    let list = tracks.as_slice();
    match layout {
        None => write_prefix(out, high, mod_ex, packet_type),
        Some(layout) => {
            write_prefix(out, high, mod_ex, multitrack);
            out.put_u8((layout.bits() << 4) | (packet_type & 0x0F));
        }
    }
    if layout != Some(AvMultitrackType::ManyTracksManyCodecs) {
        if let Some(first) = list.first() {
            out.put_slice(&first.codec.bytes());
        }
    }
    for track in list {
        match layout {
            None => body(&track.codec, &track.body, out),
            Some(AvMultitrackType::OneTrack) => {
                out.put_u8(track.track_id);
                body(&track.codec, &track.body, out);
            }
            Some(layout) => {
                if layout == AvMultitrackType::ManyTracksManyCodecs {
                    out.put_slice(&track.codec.bytes());
                }
                out.put_u8(track.track_id);
                let at = out.len();
                put_u24(out, 0);
                body(&track.codec, &track.body, out);
                let size = out.len() - at - 3;
                let size = u32::try_from(size).unwrap_or(u32::MAX).min(0xFF_FFFF);
                if let Some(slot) = out.get_mut(at..at + 3) {
                    slot.copy_from_slice(&size.to_be_bytes()[1..]);
                }
            }
        }
    }
}

/// The tracks with a known codec, as (codec, track id, body).
pub(crate) fn known<C: KnownFourCc, B>(
    tracks: &Tracks<FourCc<C>, B>,
) -> impl Iterator<Item = (C, u8, &B)> {
    tracks
        .as_slice()
        .iter()
        .filter_map(|t| Some((t.codec.known()?, t.track_id, &t.body)))
}
