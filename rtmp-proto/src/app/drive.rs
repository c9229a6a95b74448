//! Runs a [`ServerConnection`]'s events through an [`RtmpHandler`]: the half of a
//! connection loop every executor-based adapter shares. The hub sits behind a mutex
//! that is held only for queue operations, never across a callback.

use super::{media_views, metadata_object, AppEvent, MediaView, ServerConnection};
use super::{RtmpHandler, StreamContext};
use crate::hub::Hub;
use crate::media::MediaMessage;
use crate::ServerEvent;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// Locks the hub; a panic elsewhere while it was held leaves plain data behind, so a
/// poisoned lock is taken over rather than spread.
pub fn lock<W>(hub: &Mutex<Hub<W>>) -> MutexGuard<'_, Hub<W>> {
    super::lock(hub)
}

/// Handles every pending session event: media and metadata through their callbacks
/// into the hub, requests through the handler to their answers. `wake` wakes another
/// connection the hub named. `Err` (the reason) closes the connection.
pub async fn handle_events<H: RtmpHandler, W: Clone>(
    conn: &mut ServerConnection<W>,
    handler: &H,
    hub: &Mutex<Hub<W>>,
    wake: impl Fn(W),
) -> Result<(), String> {
    while let Some(event) = conn.poll_event() {
        match &event {
            ServerEvent::Media { stream_id, message } => {
                let ctx = conn.stream_context(*stream_id);
                if !media_callbacks(handler, &ctx, message).await {
                    continue;
                }
            }
            ServerEvent::Metadata { stream_id, payload } => {
                if let Some(object) = metadata_object(payload) {
                    let ctx = conn.stream_context(*stream_id);
                    handler.on_metadata(&ctx, &object).await;
                }
            }
            _ => {}
        }
        let routed = conn.route(&mut lock(hub), event, Instant::now());
        conn.take_wakes().for_each(&wake);
        match routed {
            Ok(None) => {}
            Ok(Some(app)) => answer(conn, handler, hub, app, &wake).await?,
            Err(params) => {
                handler.on_unpublish(conn.context(), &params).await;
                return Err("publish taken over by a newer publisher".into());
            }
        }
    }
    Ok(())
}

/// Asks the handler about one app event and applies its answer.
async fn answer<H: RtmpHandler, W: Clone>(
    conn: &mut ServerConnection<W>,
    handler: &H,
    hub: &Mutex<Hub<W>>,
    event: AppEvent,
    wake: &impl Fn(W),
) -> Result<(), String> {
    match event {
        AppEvent::HandshakeComplete => handler.on_handshake_complete(conn.context()).await,
        AppEvent::Connect { id, params } => {
            let answer = handler.on_connect(conn.context(), &params).await;
            conn.answer_connect(Instant::now(), id, params, answer);
        }
        AppEvent::FcPublish { stream_key } => {
            let answer = handler.on_fc_publish(conn.context(), &stream_key).await;
            conn.answer_fc_publish(&stream_key, answer)?;
        }
        AppEvent::Publish { id, params } => {
            let answer = handler.on_publish(conn.context(), &params).await;
            conn.answer_publish(&mut lock(hub), Instant::now(), id, params, answer);
            conn.take_wakes().for_each(wake);
        }
        AppEvent::Play { id, params } => {
            let answer = handler.on_play(conn.context(), &params).await;
            conn.answer_play(&mut lock(hub), Instant::now(), id, params, answer);
        }
        AppEvent::Pause {
            stream,
            paused: true,
            position_ms,
        } => handler.on_pause(&stream, position_ms).await,
        AppEvent::Pause { stream, .. } => handler.on_unpause(&stream).await,
        AppEvent::Unpublished(params) => handler.on_unpublish(conn.context(), &params).await,
    }
    Ok(())
}

/// Runs the media callbacks for one message; `false` if `on_media_tag` drops it.
async fn media_callbacks<H: RtmpHandler>(
    handler: &H,
    ctx: &StreamContext,
    message: &MediaMessage,
) -> bool {
    if !handler.on_media_tag(ctx, message).await {
        return false;
    }
    let ts = message.timestamp;
    for view in media_views(message) {
        match view {
            MediaView::LegacyVideo(tag) => handler.on_video_frame(ctx, &tag, ts).await,
            MediaView::EnhancedVideo(data) => handler.on_enhanced_video_frame(ctx, &data, ts).await,
            MediaView::Keyframe(track) => handler.on_keyframe(ctx, ts, track).await,
            MediaView::LegacyAudio(tag) => handler.on_audio_frame(ctx, &tag, ts).await,
            MediaView::EnhancedAudio(data) => handler.on_enhanced_audio_frame(ctx, &data, ts).await,
        }
    }
    true
}

/// Moves queued deliveries into the session if it [wants them](ServerConnection::wants_pull).
/// `Err` (the reason) closes the connection.
pub fn pull<W: Clone>(conn: &mut ServerConnection<W>, hub: &Mutex<Hub<W>>) -> Result<(), String> {
    if conn.wants_pull() {
        conn.pull(&mut lock(hub), Instant::now())?;
    }
    Ok(())
}

/// Ends the connection for the hub and the handler: its publishes stop (players are
/// told at once, `on_unpublish` runs for each), then `on_disconnect`.
pub async fn close<H: RtmpHandler, W: Clone>(
    conn: &mut ServerConnection<W>,
    handler: &H,
    hub: &Mutex<Hub<W>>,
    wake: impl Fn(W),
) {
    let ended = conn.release(&mut lock(hub));
    conn.take_wakes().for_each(wake);
    for params in ended {
        handler.on_unpublish(conn.context(), &params).await;
    }
    handler.on_disconnect(conn.context()).await;
}
