//! [`ServerConnection`]: a server connection's session, its publishes and plays in the
//! hub, and the answers to the app's decisions, for adapters to drive.

use super::{AuthResult, SessionContext, StreamContext};
use crate::hub::{DrainStatus, Hub, Membership, Routed, StreamKey};
use crate::message::{ConnectParams, PlayParams, PublishParams};
use crate::{RequestId, ServerEvent, ServerSession, SessionConfig, SessionError};
use smallvec::SmallVec;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::time::Instant;

/// A player pulls more from the hub only once its unwritten output is below this, so a
/// slow socket leaves data in the hub queue, where the drop policy applies.
pub const PULL_BELOW: usize = 256 * 1024;

/// Most output segments adapters hand to one vectored write.
pub const MAX_IOVECS: usize = 64;

/// A fresh seed for a server's or a client's handshakes (the OS's hash randomness).
pub fn random_seed() -> u64 {
    RandomState::new().build_hasher().finish()
}

/// What the app handles once the hub has had its share of a session event.
#[derive(Debug, Clone, PartialEq)]
pub enum AppEvent {
    /// The RTMP handshake completed.
    HandshakeComplete,
    /// A client asks to connect: answer with [`ServerConnection::answer_connect`].
    Connect {
        /// The request to answer.
        id: RequestId,
        /// What it asks for.
        params: ConnectParams,
    },
    /// A publisher announced its key: answer with [`ServerConnection::answer_fc_publish`].
    FcPublish {
        /// The announced stream key.
        stream_key: String,
    },
    /// A client asks to publish: answer with [`ServerConnection::answer_publish`].
    Publish {
        /// The request to answer.
        id: RequestId,
        /// What it asks for.
        params: PublishParams,
    },
    /// A client asks to play: answer with [`ServerConnection::answer_play`].
    Play {
        /// The request to answer.
        id: RequestId,
        /// What it asks for.
        params: PlayParams,
    },
    /// A player paused (`paused`) or resumed.
    Pause {
        /// The stream paused.
        stream: StreamContext,
        /// Paused rather than resumed.
        paused: bool,
        /// The position the player gave.
        position_ms: f64,
    },
    /// An accepted publish ended.
    Unpublished(PublishParams),
}

/// One server connection, driven by an adapter: feed its session, route its events,
/// answer the app's decisions, pull deliveries while it plays. `W` is how the hub
/// wakes this connection when one of its players has something queued.
#[derive(Debug)]
pub struct ServerConnection<W> {
    session: ServerSession,
    membership: Membership<W>,
    context: SessionContext,
    /// The stream key of each message stream this connection publishes or plays.
    stream_keys: SmallVec<[(u32, String); 1]>,
    /// Whether the hub may hold deliveries for this connection's players: set when
    /// woken or a play starts, cleared by a pull (which waits while the socket is
    /// backed up, leaving the hub's drop policy to act).
    woken: bool,
    /// Other connections to wake (their players got something); adapters drain it.
    wake: Vec<W>,
    /// The handshake seed, which a capture stores so the session can be replayed.
    #[cfg(feature = "capture")]
    rng_seed: u64,
    /// The recording of this connection, when captures are on.
    #[cfg(feature = "capture")]
    capture: Option<crate::capture::SessionCapture>,
}

impl<W: Clone> ServerConnection<W> {
    /// Connection `session_id` from `peer`, accepted at `now`; the hub wakes it with
    /// `waker`. Its handshake seed derives from the server's `server_seed` and the id.
    pub fn new(
        config: SessionConfig,
        now: Instant,
        server_seed: u64,
        session_id: u64,
        peer: SocketAddr,
        waker: W,
    ) -> Self {
        let rng_seed = server_seed ^ session_id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let context = SessionContext {
            session_id,
            peer_addr: peer,
            app: String::new(),
        };
        ServerConnection {
            session: ServerSession::new(config, now, rng_seed),
            membership: Membership::new(waker),
            context,
            stream_keys: SmallVec::new(),
            woken: true,
            wake: Vec::new(),
            #[cfg(feature = "capture")]
            rng_seed,
            #[cfg(feature = "capture")]
            capture: None,
        }
    }

    /// Records this connection from now on as a pcapng file (see [`crate::capture`]);
    /// `local` is the server's address. Call it right after `new`, so the file holds
    /// the whole session. A file that cannot be created is logged and skipped.
    #[cfg(feature = "capture")]
    pub fn record(&mut self, config: &crate::capture::CaptureConfig, local: SocketAddr) {
        use crate::capture::{CaptureRole, SessionCapture};
        let (id, peer) = (self.context.session_id, self.context.peer_addr);
        let now = std::time::SystemTime::now();
        match SessionCapture::create(
            config,
            CaptureRole::Server,
            local,
            peer,
            id,
            self.rng_seed,
            now,
        ) {
            Ok(capture) => self.capture = Some(capture),
            Err(e) => {
                tracing::warn!(dir = %config.dir.display(), error = %e, "capture not started")
            }
        }
    }

    /// Feeds bytes read from the socket at `now` to the session (and the capture).
    pub fn receive(&mut self, now: Instant, data: &[u8]) {
        #[cfg(feature = "capture")]
        if let Some(capture) = &mut self.capture {
            capture.received(std::time::SystemTime::now(), data);
        }
        // A session error ends the session; `finished` says why once it is written.
        let _ = self.session.handle_input(now, data);
    }

    /// Notes that `n` bytes of the session's output were written (and captures them).
    pub fn written(&mut self, n: usize) {
        #[cfg(feature = "capture")]
        if let Some(capture) = &mut self.capture {
            let now = std::time::SystemTime::now();
            capture.sent(now, self.session.output().segments(), n);
        }
        self.session.advance_output(n);
    }

    /// The protocol session: feed it input and timeouts, write its output.
    pub fn session(&self) -> &ServerSession {
        &self.session
    }

    /// The protocol session, to feed.
    pub fn session_mut(&mut self) -> &mut ServerSession {
        &mut self.session
    }

    /// The connection, as callbacks see it.
    pub fn context(&self) -> &SessionContext {
        &self.context
    }

    /// The context of message stream `stream_id` for media and stream callbacks.
    pub fn stream_context(&self, stream_id: u32) -> StreamContext {
        let key = self.stream_keys.iter().find(|(id, _)| *id == stream_id);
        StreamContext {
            session: self.context.clone(),
            stream_key: key.map(|(_, key)| key.clone()).unwrap_or_default(),
            stream_id,
        }
    }

    /// The next session event. Media and metadata go to their callbacks (if any) and
    /// then to [`ServerConnection::route`]; everything else straight to `route`.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.session.poll_event()
    }

    /// Gives the hub its share of `event` (media, metadata, ends of streams, pauses)
    /// and returns what the app must handle. `Err` closes the connection: a newer
    /// publisher took its publish over (`on_unpublish` is due with the parameters).
    pub fn route(
        &mut self,
        hub: &mut Hub<W>,
        event: ServerEvent,
        now: Instant,
    ) -> Result<Option<AppEvent>, PublishParams> {
        let app = match self.membership.route(hub, event, now, &mut self.wake) {
            Routed::Nothing => return Ok(None),
            Routed::TakenOver(params) => {
                tracing::info!(key = %key_of(&params), "publish taken over by a newer publisher");
                return Err(params);
            }
            Routed::Unpublished(params) => {
                tracing::info!(key = %key_of(&params), "unpublish");
                AppEvent::Unpublished(params)
            }
            Routed::App(event) => match event {
                ServerEvent::HandshakeComplete => AppEvent::HandshakeComplete,
                ServerEvent::ConnectRequest { id, params } => AppEvent::Connect { id, params },
                ServerEvent::FcPublish { stream_key } => AppEvent::FcPublish { stream_key },
                ServerEvent::PublishRequest { id, params } => AppEvent::Publish { id, params },
                ServerEvent::PlayRequest { id, params } => AppEvent::Play { id, params },
                ServerEvent::Pause {
                    stream_id,
                    paused,
                    position_ms,
                } => AppEvent::Pause {
                    stream: self.stream_context(stream_id),
                    paused,
                    position_ms,
                },
                other => {
                    tracing::trace!(?other, "event not for the app");
                    return Ok(None);
                }
            },
        };
        Ok(Some(app))
    }

    /// Answers a connect request at `now` with the app's decision.
    pub fn answer_connect(
        &mut self,
        now: Instant,
        id: RequestId,
        params: ConnectParams,
        answer: AuthResult,
    ) {
        match answer {
            AuthResult::Accept => {
                tracing::info!(app = %params.app, flash_ver = ?params.flash_ver, "connect");
                self.context.app = params.app;
                self.session.accept(now, id);
            }
            AuthResult::Reject(reason) => {
                tracing::info!(app = %params.app, %reason, "connect rejected");
                self.session.reject(now, id, &reason);
            }
            AuthResult::Redirect(url) => {
                tracing::info!(app = %params.app, %url, "connect redirected");
                self.session.redirect(now, id, &url);
            }
        }
    }

    /// Takes the app's answer to `FCPublish`: `Err` (the reason) closes the connection.
    pub fn answer_fc_publish(&self, stream_key: &str, answer: AuthResult) -> Result<(), String> {
        match refusal(answer) {
            None => Ok(()),
            Some(reason) => Err(format!("FCPublish of {stream_key} refused: {reason}")),
        }
    }

    /// Answers a publish request: if the app accepted, the hub registers it (and may
    /// still refuse: key taken, limits).
    pub fn answer_publish(
        &mut self,
        hub: &mut Hub<W>,
        now: Instant,
        id: RequestId,
        params: PublishParams,
        answer: AuthResult,
    ) {
        let key = key_of(&params);
        if let Some(reason) = refusal(answer) {
            tracing::info!(%key, %reason, "publish rejected");
            self.session.reject(now, id, &reason);
            return;
        }
        let stream = (params.stream_id, params.stream_key.clone());
        let accepted =
            self.membership
                .accept_publish(hub, &mut self.session, now, id, params, &mut self.wake);
        match accepted {
            Ok(()) => {
                tracing::info!(%key, "publish");
                self.stream_keys.push(stream);
            }
            Err(e) => tracing::info!(%key, reason = %e, "publish refused"),
        }
    }

    /// Answers a play request, like [`ServerConnection::answer_publish`].
    pub fn answer_play(
        &mut self,
        hub: &mut Hub<W>,
        now: Instant,
        id: RequestId,
        params: PlayParams,
        answer: AuthResult,
    ) {
        let key = StreamKey::new(&params.app, &params.stream_key);
        if let Some(reason) = refusal(answer) {
            tracing::info!(%key, %reason, "play rejected");
            self.session.reject(now, id, &reason);
            return;
        }
        match self
            .membership
            .accept_play(hub, &mut self.session, now, id, &params)
        {
            Ok(()) => {
                tracing::info!(%key, "play");
                self.woken = true;
                self.stream_keys.push((params.stream_id, params.stream_key));
            }
            Err(e) => tracing::info!(%key, reason = %e, "play refused"),
        }
    }

    /// The hub woke this connection: one of its players has something queued.
    pub fn woken(&mut self) {
        self.woken = true;
    }

    /// Whether to [`pull`](ServerConnection::pull) now: a player may have deliveries
    /// waiting and the socket has caught up.
    pub fn wants_pull(&self) -> bool {
        self.woken && self.membership.is_playing() && self.session.output().len() < PULL_BELOW
    }

    /// Whether the connection plays anything (and so listens for the hub's wakeups).
    pub fn is_playing(&self) -> bool {
        self.membership.is_playing()
    }

    /// Moves what the hub queued for this connection's players into the session.
    /// `Err` (the reason) closes the connection: a player fell past the hard bound.
    pub fn pull(&mut self, hub: &mut Hub<W>, now: Instant) -> Result<(), String> {
        self.woken = false;
        match self.membership.pull(hub, &mut self.session, now) {
            DrainStatus::Evicted => Err("player fell too far behind: queue bound exceeded".into()),
            DrainStatus::Open | DrainStatus::Unknown => Ok(()),
        }
    }

    /// The connections the hub says to wake (their players got something); call
    /// after every `route`, `answer_publish` and `release`.
    pub fn take_wakes(&mut self) -> std::vec::Drain<'_, W> {
        self.wake.drain(..)
    }

    /// Why to close the connection now, once the session ended and its last output
    /// is written.
    pub fn finished(&self) -> Option<String> {
        if !self.session.is_closing() || !self.session.output().is_empty() {
            return None;
        }
        Some(self.session.error().map_or_else(
            || "closed by the server".to_owned(),
            SessionError::to_string,
        ))
    }

    /// Leaves the hub as the connection ends: players of its publishes are told at
    /// once. Returns the publishes that ended, for `on_unpublish`.
    pub fn release(&mut self, hub: &mut Hub<W>) -> Vec<PublishParams> {
        #[cfg(feature = "capture")]
        if let Some(capture) = self.capture.take() {
            capture.finish(std::time::SystemTime::now());
        }
        let ended = self.membership.release(hub, &mut self.wake);
        for params in &ended {
            tracing::info!(key = %key_of(params), "unpublish");
        }
        ended
    }
}

fn key_of(params: &PublishParams) -> StreamKey {
    StreamKey::new(&params.app, &params.stream_key)
}

/// The reason to refuse a request, if the app did not accept it.
fn refusal(answer: AuthResult) -> Option<String> {
    match answer {
        AuthResult::Accept => None,
        AuthResult::Reject(reason) => Some(reason),
        AuthResult::Redirect(url) => Some(format!("redirected to {url}")),
    }
}
