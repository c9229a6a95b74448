//! Hands a publisher's media and metadata to the handler's media callbacks, using the
//! core's parsers for the views.

use crate::{RtmpHandler, StreamContext};
use bytes::Bytes;
use rtmp_proto::amf::{self, AmfLimits};
use rtmp_proto::media::audio::AudioTag;
use rtmp_proto::media::video::VideoTag;
use rtmp_proto::media::{FrameClass, MediaKind, MediaMessage};

/// Runs the media callbacks for one message; `false` if `on_media_tag` drops it.
pub(crate) async fn media<H: RtmpHandler>(
    handler: &H,
    ctx: &StreamContext,
    message: &MediaMessage,
) -> bool {
    if !handler.on_media_tag(ctx, message).await {
        return false;
    }
    let ts = message.timestamp;
    match message.kind {
        MediaKind::Video => {
            match VideoTag::parse(&message.payload) {
                Ok(VideoTag::Legacy(tag)) => handler.on_video_frame(ctx, &tag, ts).await,
                Ok(tag) => {
                    for view in tag.tracks() {
                        handler.on_enhanced_video_frame(ctx, &view, ts).await;
                    }
                }
                Err(_) => {}
            }
            for (track, class) in message.tracks() {
                if class == FrameClass::Keyframe {
                    handler.on_keyframe(ctx, ts, track).await;
                }
            }
        }
        MediaKind::Audio => match AudioTag::parse(&message.payload) {
            Ok(AudioTag::Legacy(tag)) => handler.on_audio_frame(ctx, &tag, ts).await,
            Ok(tag) => {
                for view in tag.tracks() {
                    handler.on_enhanced_audio_frame(ctx, &view, ts).await;
                }
            }
            Err(_) => {}
        },
    }
    true
}

/// Runs `on_metadata` with the `onMetaData` object of a metadata payload.
pub(crate) async fn metadata<H: RtmpHandler>(handler: &H, ctx: &StreamContext, payload: &Bytes) {
    let values = amf::decode_all(payload, &AmfLimits::default()).unwrap_or_default();
    if let Some(object) = values.get(1).and_then(|v| v.as_object()) {
        handler.on_metadata(ctx, object).await;
    }
}
