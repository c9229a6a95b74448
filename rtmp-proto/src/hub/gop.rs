//! [`GopCache`]: the media since the last keyframe, so a player joining mid-stream
//! starts at once, at a keyframe, instead of waiting for the next one.

use super::SharedMedia;
use crate::media::FrameClass;
use std::collections::VecDeque;

/// Bounds on one stream's GOP cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GopLimits {
    /// Most messages (audio and video). Default 1 000.
    pub max_frames: usize,
    /// Most payload bytes. Default 8 MiB.
    pub max_bytes: usize,
    /// Longest span from the keyframe to the newest message, in milliseconds. Default 10 s.
    pub max_duration_ms: u32,
}

impl Default for GopLimits {
    fn default() -> Self {
        GopLimits {
            max_frames: 1_000,
            max_bytes: 8 << 20,
            max_duration_ms: 10_000,
        }
    }
}

/// Audio and video since the last video keyframe, in arrival order. A GOP that
/// outgrows a bound is dropped whole (a partial GOP is useless to a decoder) until
/// the next keyframe starts a new one.
#[derive(Debug, Default)]
pub(crate) struct GopCache {
    frames: VecDeque<SharedMedia>,
    bytes: usize,
}

impl GopCache {
    /// Adds a published message: a keyframe of the primary video track (0) starts a
    /// new GOP; coded frames, other tracks' keyframes included, extend the current one
    /// (if any); headers and the rest are not cached here.
    pub(crate) fn push(&mut self, message: &SharedMedia, limits: &GopLimits) {
        let primary_keyframe = message.class == FrameClass::Keyframe
            && message.tracks().iter().any(|(track, _)| *track == 0);
        match message.class {
            FrameClass::Keyframe if primary_keyframe => self.clear(),
            FrameClass::Keyframe
            | FrameClass::InterFrame
            | FrameClass::DisposableFrame
            | FrameClass::AudioFrame => {
                if self.frames.is_empty() {
                    return;
                }
            }
            FrameClass::SequenceHeader | FrameClass::Other => return,
        }
        self.bytes += message.payload.len();
        self.frames.push_back(message.clone());
        let span = self
            .frames
            .front()
            .map_or(0, |first| message.timestamp.wrapping_sub(first.timestamp));
        if self.frames.len() > limits.max_frames
            || self.bytes > limits.max_bytes
            || span > limits.max_duration_ms
        {
            self.clear();
        }
    }

    pub(crate) fn clear(&mut self) {
        self.frames.clear();
        self.bytes = 0;
    }

    /// The cached messages, keyframe first.
    pub(crate) fn frames(&self) -> impl Iterator<Item = &SharedMedia> {
        self.frames.iter()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}
