//! [`Membership`]: one connection's place in the hub — the streams it publishes and
//! plays — and the glue between its [`ServerSession`] and the [`Hub`]. Adapters call
//! it instead of wiring sessions to the hub themselves.

use super::{Delivery, DrainStatus, Hub, HubError, PlayerId, PublishHandle, StreamKey};
use crate::message::{PlayParams, PublishParams};
use crate::{RequestId, ServerEvent, ServerSession};
use smallvec::SmallVec;
use std::time::Instant;

/// What the app should hear about after [`Membership::route`] handled an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Routed {
    /// Nothing: the event was media, metadata or bookkeeping.
    Nothing,
    /// An accepted publish ended (its parameters, for `on_unpublish`).
    Unpublished(PublishParams),
    /// A newer publisher took this connection's publish over: close the connection.
    TakenOver(PublishParams),
    /// The event is not the hub's business: the app handles it (connect, publish and
    /// play requests, handshake completion).
    App(ServerEvent),
}

/// One connection's publishes and plays, with the waker the hub uses to wake it.
#[derive(Debug)]
pub struct Membership<W> {
    waker: W,
    publishing: SmallVec<[(u32, PublishHandle, PublishParams); 1]>,
    playing: SmallVec<[(u32, PlayerId); 1]>,
    deliveries: Vec<Delivery>,
}

impl<W: Clone> Membership<W> {
    /// A connection with nothing published or played; the hub wakes it with `waker`.
    pub fn new(waker: W) -> Self {
        Membership {
            waker,
            publishing: SmallVec::new(),
            playing: SmallVec::new(),
            deliveries: Vec::new(),
        }
    }

    /// Whether the connection plays anything (and so should be woken for deliveries).
    pub fn is_playing(&self) -> bool {
        !self.playing.is_empty()
    }

    /// Starts a publish the app approved: registers it in the hub and answers the
    /// request; if the hub refuses (key taken, limits), the request is rejected with
    /// the hub's reason, which is returned.
    pub fn accept_publish(
        &mut self,
        hub: &mut Hub<W>,
        session: &mut ServerSession,
        now: Instant,
        id: RequestId,
        params: PublishParams,
        wake: &mut Vec<W>,
    ) -> Result<(), HubError> {
        let key = StreamKey::new(&params.app, &params.stream_key);
        match hub.start_publish(&key, now, wake) {
            Ok(handle) => {
                session.accept(now, id);
                self.publishing.push((params.stream_id, handle, params));
                Ok(())
            }
            Err(e) => {
                session.reject(now, id, &e.to_string());
                Err(e)
            }
        }
    }

    /// Starts a play the app approved, like [`Membership::accept_publish`].
    pub fn accept_play(
        &mut self,
        hub: &mut Hub<W>,
        session: &mut ServerSession,
        now: Instant,
        id: RequestId,
        params: &PlayParams,
    ) -> Result<(), HubError> {
        let key = StreamKey::new(&params.app, &params.stream_key);
        match hub.subscribe(&key, self.waker.clone()) {
            Ok(player) => {
                session.accept(now, id);
                self.playing.push((params.stream_id, player));
                Ok(())
            }
            Err(e) => {
                session.reject(now, id, &e.to_string());
                Err(e)
            }
        }
    }

    /// Routes a session event received at `now`: media and metadata go to the hub,
    /// ended publishes and plays leave it; the rest is handed back for the app.
    pub fn route(
        &mut self,
        hub: &mut Hub<W>,
        event: ServerEvent,
        now: Instant,
        wake: &mut Vec<W>,
    ) -> Routed {
        match event {
            ServerEvent::Media { stream_id, message } => {
                if let Some(handle) = self.publish_handle(stream_id) {
                    if !hub.publish_media(handle, message, now, wake) {
                        let at = self.publishing.iter().position(|(s, ..)| *s == stream_id);
                        if let Some(at) = at {
                            return Routed::TakenOver(self.publishing.remove(at).2);
                        }
                    }
                }
            }
            ServerEvent::Metadata { stream_id, payload } => {
                if let Some(handle) = self.publish_handle(stream_id) {
                    hub.publish_metadata(handle, payload, wake);
                }
            }
            ServerEvent::PublishStopped { stream_id } => {
                if let Some(at) = self.publishing.iter().position(|(s, ..)| *s == stream_id) {
                    let (_, handle, params) = self.publishing.remove(at);
                    hub.stop_publish(handle, wake);
                    return Routed::Unpublished(params);
                }
            }
            ServerEvent::Pause {
                stream_id, paused, ..
            } => {
                if let Some(player) = self.player(stream_id) {
                    hub.set_paused(player, paused, wake);
                }
                return Routed::App(event);
            }
            ServerEvent::Receive {
                stream_id,
                audio,
                video,
            } => {
                if let Some(player) = self.player(stream_id) {
                    hub.set_receive(player, audio, video);
                }
            }
            ServerEvent::PlayStopped { stream_id } => {
                if let Some(at) = self.playing.iter().position(|(s, _)| *s == stream_id) {
                    hub.unsubscribe(self.playing.remove(at).1);
                }
            }
            other => return Routed::App(other),
        }
        Routed::Nothing
    }

    fn player(&self, stream_id: u32) -> Option<PlayerId> {
        self.playing
            .iter()
            .find(|(s, _)| *s == stream_id)
            .map(|(_, player)| *player)
    }

    fn publish_handle(&self, stream_id: u32) -> Option<PublishHandle> {
        self.publishing
            .iter()
            .find(|(s, ..)| *s == stream_id)
            .map(|(_, handle, _)| *handle)
    }

    /// Moves what the hub queued for this connection's players into the session at
    /// `now`. [`DrainStatus::Evicted`] means a player fell too far behind: close the
    /// connection.
    pub fn pull(
        &mut self,
        hub: &mut Hub<W>,
        session: &mut ServerSession,
        now: Instant,
    ) -> DrainStatus {
        for &(stream_id, player) in &self.playing {
            if hub.drain(player, &mut self.deliveries) == DrainStatus::Evicted {
                return DrainStatus::Evicted;
            }
            for delivery in self.deliveries.drain(..) {
                session.deliver(now, stream_id, &delivery);
            }
        }
        DrainStatus::Open
    }

    /// Leaves the hub when the connection ends: players of its publishes are told at
    /// once. Returns the publishes that ended, for `on_unpublish`.
    pub fn release(&mut self, hub: &mut Hub<W>, wake: &mut Vec<W>) -> Vec<PublishParams> {
        for (_, player) in self.playing.drain(..) {
            hub.unsubscribe(player);
        }
        self.publishing
            .drain(..)
            .map(|(_, handle, params)| {
                hub.stop_publish(handle, wake);
                params
            })
            .collect()
    }
}
