//! [`MediaView`]: the per-message views the media callbacks are called with.

use crate::amf::{self, AmfLimits, AmfObject};
use crate::media::audio::{AudioTag, LegacyAudioTag};
use crate::media::video::{LegacyVideoTag, VideoTag};
use crate::media::{EnhancedAudioData, EnhancedVideoData, FrameClass, MediaKind, MediaMessage};
use bytes::Bytes;
use smallvec::SmallVec;

/// One media callback's argument, in the order the callbacks run for a message.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaView {
    /// A legacy video message (`on_video_frame`).
    LegacyVideo(LegacyVideoTag),
    /// One track of an Enhanced RTMP video message (`on_enhanced_video_frame`).
    EnhancedVideo(EnhancedVideoData),
    /// A keyframe on this track (`on_keyframe`), after the frame's own view.
    Keyframe(u8),
    /// A legacy audio message (`on_audio_frame`).
    LegacyAudio(LegacyAudioTag),
    /// One track of an Enhanced RTMP audio message (`on_enhanced_audio_frame`).
    EnhancedAudio(EnhancedAudioData),
}

/// The views of `message` for the media callbacks (none for a body that does not
/// parse: such a message is still forwarded, as sent).
pub fn media_views(message: &MediaMessage) -> SmallVec<[MediaView; 2]> {
    let mut views = SmallVec::new();
    match message.kind {
        MediaKind::Video => {
            match VideoTag::parse(&message.payload) {
                Ok(VideoTag::Legacy(tag)) => views.push(MediaView::LegacyVideo(tag)),
                Ok(tag) => views.extend(tag.tracks().map(MediaView::EnhancedVideo)),
                Err(_) => {}
            }
            views.extend(
                message
                    .tracks()
                    .into_iter()
                    .filter(|(_, class)| *class == FrameClass::Keyframe)
                    .map(|(track, _)| MediaView::Keyframe(track)),
            );
        }
        MediaKind::Audio => match AudioTag::parse(&message.payload) {
            Ok(AudioTag::Legacy(tag)) => views.push(MediaView::LegacyAudio(tag)),
            Ok(tag) => views.extend(tag.tracks().map(MediaView::EnhancedAudio)),
            Err(_) => {}
        },
    }
    views
}

/// The object of an `onMetaData` payload (the value after the name), if any.
pub fn metadata_object(payload: &Bytes) -> Option<AmfObject> {
    let values = amf::decode_all(payload, &AmfLimits::default()).ok()?;
    values.get(1).and_then(|v| v.as_object()).cloned()
}
