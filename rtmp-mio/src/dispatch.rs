//! Runs a connection's events through a [`Handler`], synchronously: the mio twin of
//! `rtmp_proto::app::drive` (which awaits an async handler instead).

use crate::Handler;
use mio::Token;
use rtmp_proto::app::{media_views, metadata_object, AppEvent, MediaView, ServerConnection};
use rtmp_proto::hub::Hub;
use rtmp_proto::ServerEvent;
use std::time::Instant;

/// Handles every pending session event; the hub's wakeups go to `woken`. `Err` (the
/// reason) closes the connection.
pub(crate) fn handle_events<H: Handler>(
    handler: &mut H,
    hub: &mut Hub<Token>,
    conn: &mut ServerConnection<Token>,
    woken: &mut Vec<Token>,
) -> Result<(), String> {
    while let Some(event) = conn.poll_event() {
        match &event {
            ServerEvent::Media { stream_id, message } => {
                let ctx = conn.stream_context(*stream_id);
                if !handler.on_media_tag(&ctx, message) {
                    continue;
                }
                let ts = message.timestamp;
                for view in media_views(message) {
                    match view {
                        MediaView::LegacyVideo(tag) => handler.on_video_frame(&ctx, &tag, ts),
                        MediaView::EnhancedVideo(data) => {
                            handler.on_enhanced_video_frame(&ctx, &data, ts)
                        }
                        MediaView::Keyframe(track) => handler.on_keyframe(&ctx, ts, track),
                        MediaView::LegacyAudio(tag) => handler.on_audio_frame(&ctx, &tag, ts),
                        MediaView::EnhancedAudio(data) => {
                            handler.on_enhanced_audio_frame(&ctx, &data, ts)
                        }
                    }
                }
            }
            ServerEvent::Metadata { stream_id, payload } => {
                if let Some(object) = metadata_object(payload) {
                    handler.on_metadata(&conn.stream_context(*stream_id), &object);
                }
            }
            _ => {}
        }
        let now = Instant::now();
        let routed = conn.route(hub, event, now);
        woken.extend(conn.take_wakes());
        let app = match routed {
            Ok(Some(app)) => app,
            Ok(None) => continue,
            Err(params) => {
                handler.on_unpublish(conn.context(), &params);
                return Err("publish taken over by a newer publisher".into());
            }
        };
        match app {
            AppEvent::HandshakeComplete => handler.on_handshake_complete(conn.context()),
            AppEvent::Connect { id, params } => {
                let answer = handler.on_connect(conn.context(), &params);
                conn.answer_connect(now, id, params, answer);
            }
            AppEvent::FcPublish { stream_key } => {
                let answer = handler.on_fc_publish(conn.context(), &stream_key);
                conn.answer_fc_publish(&stream_key, answer)?;
            }
            AppEvent::Publish { id, params } => {
                let answer = handler.on_publish(conn.context(), &params);
                conn.answer_publish(hub, now, id, params, answer);
                woken.extend(conn.take_wakes());
            }
            AppEvent::Play { id, params } => {
                let answer = handler.on_play(conn.context(), &params);
                conn.answer_play(hub, now, id, params, answer);
            }
            AppEvent::Pause {
                stream,
                paused: true,
                position_ms,
            } => handler.on_pause(&stream, position_ms),
            AppEvent::Pause { stream, .. } => handler.on_unpause(&stream),
            AppEvent::Unpublished(params) => handler.on_unpublish(conn.context(), &params),
        }
    }
    Ok(())
}
