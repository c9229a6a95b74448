//! The fan-out's view of a payload: [`classify_video`] / [`classify_audio`] say what a
//! message is (sequence header, keyframe, droppable frame …) from its headers alone,
//! and [`video_tracks`] / [`audio_tracks`] which tracks it carries. Both are
//! allocation-free, never fail, and tolerate truncated bodies.

use smallvec::SmallVec;

use super::ex::{self, Layout};
use super::wire::Reader;
use super::{FrameClass, MediaKind};

/// Track ids of one message with the class of each track's part (see [`video_tracks`]).
pub type TrackClasses = SmallVec<[(u8, FrameClass); 2]>;

const VIDEO_METADATA: u8 = 4;
const VIDEO_MULTITRACK: u8 = 6;
const AUDIO_MULTITRACK: u8 = 5;

/// Classifies a video tag body, legacy or Enhanced RTMP.
///
/// Sequence headers (legacy AVCPacketType 0, Ex SequenceStart and
/// MPEG2TSSequenceStart) are `SequenceHeader` whatever their frame type; coded frames
/// are classed by frame type (reserved types give `Other`); command frames, end of
/// sequence, metadata and anything unknown are `Other`.
pub fn classify_video(payload: &[u8]) -> FrameClass {
    let Some(&first) = payload.first() else {
        return FrameClass::Other;
    };
    let frame_type = (first >> 4) & 0x07;
    let frame_class = match frame_type {
        1 | 4 => FrameClass::Keyframe,
        2 => FrameClass::InterFrame,
        3 => FrameClass::DisposableFrame,
        _ => FrameClass::Other, // 5: command frame; 0, 6, 7: reserved
    };
    if first & 0x80 == 0 {
        return match (first & 0x0F, payload.get(1)) {
            // AVC, and the HEVC (12) some encoders send: AVCPacketType 0 is the record.
            (7 | 12, Some(0)) if frame_type != 5 => FrameClass::SequenceHeader,
            (7 | 12, Some(1)) => frame_class,
            (7 | 12, _) => FrameClass::Other,
            _ => frame_class,
        };
    }
    let mut r = Reader::new(payload.get(1..).unwrap_or_default());
    let Ok(packet_type) = ex::read_mod_ex(&mut r, first & 0x0F, |_| {}) else {
        return FrameClass::Other;
    };
    if frame_type == 5 && packet_type != VIDEO_METADATA {
        return FrameClass::Other;
    }
    match ex::read_multitrack(&mut r, packet_type, VIDEO_MULTITRACK, |_| true) {
        // SequenceStart 0, CodedFrames 1, SequenceEnd 2, CodedFramesX 3, Metadata 4,
        // MPEG2TSSequenceStart 5.
        Ok(Layout::Known(_, 0 | 5)) => FrameClass::SequenceHeader,
        Ok(Layout::Known(_, 1 | 3)) => frame_class,
        _ => FrameClass::Other,
    }
}

/// Classifies an audio tag body, legacy or Enhanced RTMP.
///
/// AAC AudioSpecificConfig, Ex SequenceStart and MultichannelConfig are
/// `SequenceHeader`; coded audio, legacy formats and zero-length silence are
/// `AudioFrame`; end of sequence and anything unknown are `Other`.
pub fn classify_audio(payload: &[u8]) -> FrameClass {
    let Some(&first) = payload.first() else {
        // Zero-length audio is silence: a frame like any other.
        return FrameClass::AudioFrame;
    };
    match first >> 4 {
        // AAC: AACPacketType 0 is the AudioSpecificConfig.
        10 if payload.get(1) == Some(&0) => FrameClass::SequenceHeader,
        9 => {
            let mut r = Reader::new(payload.get(1..).unwrap_or_default());
            let Ok(packet_type) = ex::read_mod_ex(&mut r, first & 0x0F, |_| {}) else {
                return FrameClass::Other;
            };
            // SequenceStart 0, CodedFrames 1, SequenceEnd 2, MultichannelConfig 4.
            match ex::read_multitrack(&mut r, packet_type, AUDIO_MULTITRACK, |_| true) {
                Ok(Layout::Known(_, 0 | 4)) => FrameClass::SequenceHeader,
                Ok(Layout::Known(_, 1)) => FrameClass::AudioFrame,
                _ => FrameClass::Other,
            }
        }
        _ => FrameClass::AudioFrame,
    }
}

/// The packet type an Enhanced message carries once ModEx and Multitrack wrappers
/// are unwrapped (video: 0 SequenceStart … 5 MPEG2TSSequenceStart; audio: 0
/// SequenceStart, 1 CodedFrames, 2 SequenceEnd, 4 MultichannelConfig); `None` for
/// legacy or unreadable messages.
pub fn ex_packet_type(kind: MediaKind, payload: &[u8]) -> Option<u8> {
    let &first = payload.first()?;
    let (is_ex, multitrack) = match kind {
        MediaKind::Video => (first & 0x80 != 0, VIDEO_MULTITRACK),
        MediaKind::Audio => (first >> 4 == 9, AUDIO_MULTITRACK),
    };
    if !is_ex {
        return None;
    }
    let mut r = Reader::new(payload.get(1..).unwrap_or_default());
    let packet_type = ex::read_mod_ex(&mut r, first & 0x0F, |_| {}).ok()?;
    match ex::read_multitrack(&mut r, packet_type, multitrack, |_| true) {
        Ok(Layout::Known(_, inner)) => Some(inner),
        _ => None,
    }
}

/// The FourCC of the first track of an Enhanced message (`None` for legacy
/// messages, command frames and unreadable ones).
pub fn first_fourcc(kind: MediaKind, payload: &[u8]) -> Option<[u8; 4]> {
    let &first = payload.first()?;
    let (is_ex, multitrack, is_command) = match kind {
        MediaKind::Video => (
            first & 0x80 != 0,
            VIDEO_MULTITRACK,
            (first >> 4) & 0x07 == 5,
        ),
        MediaKind::Audio => (first >> 4 == 9, AUDIO_MULTITRACK, false),
    };
    if !is_ex {
        return None;
    }
    let mut r = Reader::new(payload.get(1..).unwrap_or_default());
    let packet_type = ex::read_mod_ex(&mut r, first & 0x0F, |_| {}).ok()?;
    if is_command && packet_type != VIDEO_METADATA {
        return None;
    }
    let Ok(Layout::Known(layout, _)) =
        ex::read_multitrack(&mut r, packet_type, multitrack, |_| true)
    else {
        return None;
    };
    let mut fourcc = None;
    let _ = ex::walk_tracks(&mut r, layout, |_, code, _| {
        fourcc.get_or_insert(code);
        Ok(())
    });
    fourcc
}

/// The tracks a video message carries, each with the class of its part.
///
/// Every track of a message shares its frame type and packet type, so each gets
/// [`classify_video`]'s class. Legacy and single-track Enhanced messages carry track
/// 0; a Multitrack message the ids in it (of a truncated one, the ids of the complete
/// tracks before the break). The list is never empty: when no id can be read it is
/// `[(0, class)]`.
pub fn video_tracks(payload: &[u8]) -> TrackClasses {
    let command =
        |frame_type: u8, packet_type: u8| frame_type == 5 && packet_type != VIDEO_METADATA;
    with_ids(
        payload,
        classify_video(payload),
        payload.first().is_some_and(|b| b & 0x80 != 0),
        VIDEO_MULTITRACK,
        command,
    )
}

/// The tracks an audio message carries, each with the class of its part; the rules
/// of [`video_tracks`] apply.
pub fn audio_tracks(payload: &[u8]) -> TrackClasses {
    with_ids(
        payload,
        classify_audio(payload),
        payload.first().is_some_and(|b| b >> 4 == 9),
        AUDIO_MULTITRACK,
        |_, _| false,
    )
}

/// Pairs `class` with the track ids of an Ex message (`is_ex`), or with track 0.
fn with_ids(
    payload: &[u8],
    class: FrameClass,
    is_ex: bool,
    multitrack: u8,
    command: impl Fn(u8, u8) -> bool,
) -> TrackClasses {
    let mut tracks = TrackClasses::new();
    if let (true, Some(&first)) = (is_ex, payload.first()) {
        let mut r = Reader::new(payload.get(1..).unwrap_or_default());
        let packet_type = ex::read_mod_ex(&mut r, first & 0x0F, |_| {});
        if let Ok(packet_type) = packet_type {
            if !command((first >> 4) & 0x07, packet_type) {
                if let Ok(Layout::Known(Some(layout), _)) =
                    ex::read_multitrack(&mut r, packet_type, multitrack, |_| true)
                {
                    // A truncated list still yields the complete tracks before the break.
                    let _ = ex::walk_tracks(&mut r, Some(layout), |id, _, _| {
                        tracks.push((id, class));
                        Ok(())
                    });
                }
            }
        }
    }
    if tracks.is_empty() {
        tracks.push((0, class));
    }
    tracks
}
