//! Audio and video payloads as they travel through the server: FLV tag bodies
//! (legacy or Enhanced RTMP) with the one classification fan-out needs — which
//! messages are sequence headers (kept for late joiners), keyframes (where a
//! player may start) and frames that may be dropped under backpressure.

use bytes::Bytes;

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// An audio message (type 8).
    Audio,
    /// A video message (type 9).
    Video,
}

/// What a media message is, for caching and dropping decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameClass {
    /// Decoder configuration (AVC/HEVC record, AAC AudioSpecificConfig, E-RTMP
    /// SequenceStart, multichannel config): never dropped, replayed to late joiners.
    SequenceHeader,
    /// A video keyframe: a player may start here.
    Keyframe,
    /// A video frame that depends on earlier ones.
    InterFrame,
    /// A video frame nothing depends on: the first to drop.
    DisposableFrame,
    /// An audio frame.
    AudioFrame,
    /// Anything else (end of sequence, video command frames, E-RTMP metadata).
    Other,
}

/// One audio or video message, as published. Cloning shares the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaMessage {
    /// Audio or video.
    pub kind: MediaKind,
    /// Timestamp in milliseconds, as the publisher sent it.
    pub timestamp: u32,
    /// The FLV tag body.
    pub payload: Bytes,
    /// Classification of the payload.
    pub class: FrameClass,
}

impl MediaMessage {
    /// Wraps and classifies a payload.
    pub fn new(kind: MediaKind, timestamp: u32, payload: Bytes) -> Self {
        let class = match kind {
            MediaKind::Audio => classify_audio(&payload),
            MediaKind::Video => classify_video(&payload),
        };
        MediaMessage {
            kind,
            timestamp,
            payload,
            class,
        }
    }

    /// Whether this is a video keyframe.
    pub fn is_keyframe(&self) -> bool {
        self.class == FrameClass::Keyframe
    }

    /// Whether this is decoder configuration.
    pub fn is_sequence_header(&self) -> bool {
        self.class == FrameClass::SequenceHeader
    }
}

/// Follows ModEx and Multitrack wrappers to the packet type that describes the content.
/// `first` is the packet type in the header byte; `modex` and `multitrack` are the
/// type values of those wrappers in this header family (audio and video differ).
fn inner_packet_type(payload: &[u8], first: u8, modex: u8, multitrack: u8) -> Option<u8> {
    let mut packet_type = first;
    let mut pos = 1usize;
    while packet_type == modex {
        let mut size = usize::from(*payload.get(pos)?) + 1;
        pos += 1;
        if size == 256 {
            let wide = payload.get(pos..pos + 2)?;
            size = usize::from(u16::from_be_bytes([wide[0], wide[1]])) + 1;
            pos += 2;
        }
        pos += size;
        packet_type = payload.get(pos)? & 0x0F;
        pos += 1;
    }
    if packet_type == multitrack {
        packet_type = payload.get(pos)? & 0x0F;
    }
    Some(packet_type)
}

/// Classifies a video tag body, legacy or Enhanced RTMP.
pub fn classify_video(payload: &[u8]) -> FrameClass {
    let Some(&first) = payload.first() else {
        return FrameClass::Other;
    };
    let frame_type = (first >> 4) & 0x07;
    let frame_class = match frame_type {
        1 | 4 => FrameClass::Keyframe,
        2 => FrameClass::InterFrame,
        3 => FrameClass::DisposableFrame,
        _ => return FrameClass::Other, // 5: video command frame; 0, 6, 7: reserved
    };
    if first & 0x80 != 0 {
        // Enhanced: SequenceStart 0, CodedFrames 1, SequenceEnd 2, CodedFramesX 3,
        // Metadata 4, MPEG2TSSequenceStart 5, Multitrack 6, ModEx 7.
        match inner_packet_type(payload, first & 0x0F, 7, 6) {
            Some(0) | Some(5) => FrameClass::SequenceHeader,
            Some(1) | Some(3) => frame_class,
            _ => FrameClass::Other,
        }
    } else {
        match (first & 0x0F, payload.get(1)) {
            // AVC, and the HEVC (12) some encoders send: AVCPacketType 0 is the record.
            (7 | 12, Some(0)) => FrameClass::SequenceHeader,
            (7 | 12, Some(1)) => frame_class,
            (7 | 12, _) => FrameClass::Other,
            _ => frame_class,
        }
    }
}

/// Classifies an audio tag body, legacy or Enhanced RTMP.
pub fn classify_audio(payload: &[u8]) -> FrameClass {
    let Some(&first) = payload.first() else {
        // Zero-length audio is silence: a frame like any other.
        return FrameClass::AudioFrame;
    };
    match first >> 4 {
        // AAC: AACPacketType 0 is the AudioSpecificConfig.
        10 if payload.get(1) == Some(&0) => FrameClass::SequenceHeader,
        // Enhanced: SequenceStart 0, CodedFrames 1, SequenceEnd 2, MultichannelConfig 4,
        // Multitrack 5, ModEx 7.
        9 => match inner_packet_type(payload, first & 0x0F, 7, 5) {
            Some(0) | Some(4) => FrameClass::SequenceHeader,
            Some(1) => FrameClass::AudioFrame,
            _ => FrameClass::Other,
        },
        _ => FrameClass::AudioFrame,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
