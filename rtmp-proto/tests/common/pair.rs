//! `World`: client and server sessions wired together in memory around one hub, with
//! a virtual clock. Whole scenarios run in microseconds and always the same way.

use rtmp_proto::hub::{DrainStatus, Hub, HubConfig, Membership, Routed};
use rtmp_proto::{
    ClientEvent, ClientIntent, ClientParams, ClientSession, ServerEvent, ServerSession,
    SessionConfig, SessionError,
};
use std::time::{Duration, Instant, SystemTime};

/// Decides app-level requests: `None` accepts, `Some(reason)` rejects.
pub type Policy = Box<dyn FnMut(&ServerEvent) -> Option<String>>;

/// One client connection and the server session serving it.
pub struct Conn {
    pub client: ClientSession,
    pub server: ServerSession,
    pub membership: Membership<usize>,
    /// Everything the client reported, in order.
    pub events: Vec<ClientEvent>,
    /// Publishes of this connection that ended, as the app would hear them.
    pub unpublished: Vec<String>,
    /// Set once the connection is closed (by either side or a network cut).
    pub closed: Option<String>,
    /// While set, no bytes move either way (a stalled network); timers still run.
    pub frozen: bool,
    /// A hostile peer: its bytes come only from [`World::inject`], and it never reads.
    pub raw: bool,
    /// The seed the server session was made with.
    pub server_seed: u64,
    /// Records the server side, once [`World::record`] was called.
    #[cfg(feature = "capture")]
    pub capture: Option<rtmp_proto::capture::SessionCapture>,
}

impl Conn {
    pub fn media_count(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, ClientEvent::Media { .. }))
            .count()
    }

    pub fn status_codes(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Status { code, .. } => Some(code.as_str()),
                _ => None,
            })
            .collect()
    }
}

pub struct World {
    pub now: Instant,
    pub hub: Hub<usize>,
    pub conns: Vec<Conn>,
    pub config: SessionConfig,
    pub policy: Policy,
    seed: u64,
    /// The virtual clock's start, and the wall time it stands for (for captures).
    start: Instant,
    wall: SystemTime,
}

impl Default for World {
    fn default() -> Self {
        Self::new(SessionConfig::default())
    }
}

impl World {
    pub fn new(config: SessionConfig) -> Self {
        let now = Instant::now();
        World {
            now,
            start: now,
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            hub: Hub::new(HubConfig::default()),
            conns: Vec::new(),
            config,
            policy: Box::new(|_| None),
            seed: 1,
        }
    }

    /// Opens a connection that will do `intent` on `app`.
    pub fn connect(&mut self, app: &str, intent: ClientIntent) -> usize {
        self.seed += 1;
        let params = ClientParams::new(format!("rtmp://localhost/{app}"), app);
        let client = ClientSession::new(self.config.clone(), params, intent, self.now, self.seed);
        let server_seed = self.seed * 31;
        let server = ServerSession::new(self.config.clone(), self.now, server_seed);
        let index = self.conns.len();
        self.conns.push(Conn {
            client,
            server,
            membership: Membership::new(index),
            events: Vec::new(),
            unpublished: Vec::new(),
            closed: None,
            frozen: false,
            raw: false,
            server_seed,
            #[cfg(feature = "capture")]
            capture: None,
        });
        index
    }

    /// The wall-clock time the virtual `now` stands for.
    pub fn wall_clock(&self, now: Instant) -> SystemTime {
        self.wall + now.saturating_duration_since(self.start)
    }

    /// Records connection `i`'s server side from now on (call it right after
    /// connecting, before the world runs); the fake addresses are loopback ones.
    #[cfg(feature = "capture")]
    pub fn record(
        &mut self,
        i: usize,
        config: &rtmp_proto::capture::CaptureConfig,
    ) -> std::path::PathBuf {
        use rtmp_proto::capture::{CaptureRole, SessionCapture};
        let at = self.wall_clock(self.now);
        let conn = &mut self.conns[i];
        let local = "127.0.0.1:1935".parse().expect("literal");
        let peer = std::net::SocketAddr::from(([127, 0, 0, 1], 50_000 + i as u16));
        let capture = SessionCapture::create(
            config,
            CaptureRole::Server,
            local,
            peer,
            i as u64 + 1,
            conn.server_seed,
            at,
        )
        .expect("capture file");
        let path = capture.path().to_owned();
        conn.capture = Some(capture);
        path
    }

    /// Ends connection `i`'s capture (a FIN each way) and flushes it.
    #[cfg(feature = "capture")]
    pub fn finish_capture(&mut self, i: usize) {
        let at = self.wall_clock(self.now);
        if let Some(capture) = self.conns[i].capture.take() {
            capture.finish(at);
        }
    }

    /// Opens a connection whose client side is scripted bytes (see [`World::inject`]).
    pub fn hostile(&mut self) -> usize {
        let index = self.play("unused");
        self.conns[index].raw = true;
        index
    }

    /// Feeds `bytes` to connection `i`'s server session as if its peer sent them.
    pub fn inject(&mut self, i: usize, bytes: &[u8]) {
        let now = self.now;
        let _ = self.conns[i].server.handle_input(now, bytes);
        self.run();
    }

    pub fn publish(&mut self, key: &str) -> usize {
        self.connect(
            "live",
            ClientIntent::Publish {
                stream: key.into(),
                publish_type: "live".into(),
            },
        )
    }

    pub fn play(&mut self, key: &str) -> usize {
        self.connect(
            "live",
            ClientIntent::Play {
                stream: key.into(),
                start: -2.0,
            },
        )
    }

    /// Moves bytes and events until nothing changes.
    pub fn run(&mut self) {
        for _ in 0..10_000 {
            if !self.step() {
                return;
            }
        }
        panic!("the world did not settle");
    }

    /// One round over every connection; whether anything moved.
    pub fn step(&mut self) -> bool {
        let mut moved = false;
        for i in 0..self.conns.len() {
            moved |= self.step_conn(i);
        }
        moved
    }

    fn step_conn(&mut self, i: usize) -> bool {
        let now = self.now;
        #[cfg(feature = "capture")]
        let wall = self.wall_clock(now);
        let conn = &mut self.conns[i];
        if conn.closed.is_some() {
            return false;
        }
        let mut moved = false;
        let up: Vec<u8> = if conn.frozen || conn.raw {
            Vec::new()
        } else {
            conn.client.take_output().concat()
        };
        if !up.is_empty() {
            moved = true;
            #[cfg(feature = "capture")]
            if let Some(capture) = &mut conn.capture {
                capture.received(wall, &up);
            }
            let _ = conn.server.handle_input(now, &up);
        }
        let mut wake = Vec::new();
        while let Some(event) = conn.server.poll_event() {
            moved = true;
            match conn.membership.route(&mut self.hub, event, now, &mut wake) {
                Routed::Nothing => {}
                Routed::Unpublished(params) => conn.unpublished.push(params.stream_key),
                Routed::TakenOver(params) => {
                    conn.unpublished.push(params.stream_key);
                    self.close(i, "taken over");
                    return true;
                }
                Routed::App(event) => {
                    let verdict = (self.policy)(&event);
                    match (event, verdict) {
                        (ServerEvent::ConnectRequest { id, .. }, None) => {
                            conn.server.accept(now, id)
                        }
                        (ServerEvent::PublishRequest { id, params }, None) => {
                            let _ = conn.membership.accept_publish(
                                &mut self.hub,
                                &mut conn.server,
                                now,
                                id,
                                params,
                                &mut wake,
                            );
                        }
                        (ServerEvent::PlayRequest { id, params }, None) => {
                            let _ = conn.membership.accept_play(
                                &mut self.hub,
                                &mut conn.server,
                                now,
                                id,
                                &params,
                            );
                        }
                        (
                            ServerEvent::ConnectRequest { id, .. }
                            | ServerEvent::PublishRequest { id, .. }
                            | ServerEvent::PlayRequest { id, .. },
                            Some(reason),
                        ) => conn.server.reject(now, id, &reason),
                        _ => {}
                    }
                }
            }
        }
        if conn.membership.is_playing()
            && conn.membership.pull(&mut self.hub, &mut conn.server, now) == DrainStatus::Evicted
        {
            self.close(i, "evicted");
            return true;
        }
        let conn = &mut self.conns[i];
        let down: Vec<u8> = if conn.frozen || conn.raw {
            Vec::new()
        } else {
            conn.server.take_output().concat()
        };
        if !down.is_empty() {
            moved = true;
            #[cfg(feature = "capture")]
            if let Some(capture) = &mut conn.capture {
                capture.sent(wall, [&down], down.len());
            }
            let _ = conn.client.handle_input(now, &down);
        }
        while let Some(event) = conn.client.poll_event() {
            moved = true;
            conn.events.push(event);
        }
        if conn.server.is_closing() && (conn.server.output().is_empty() || conn.raw) {
            let reason = conn
                .server
                .error()
                .map_or("closed".into(), SessionError::to_string);
            self.close(i, &reason);
            return true;
        }
        let conn = &mut self.conns[i];
        if conn.client.is_closing() && conn.client.output().is_empty() {
            let reason = conn
                .client
                .error()
                .map_or("client closed".into(), SessionError::to_string);
            self.close(i, &reason);
            return true;
        }
        moved
    }

    /// Cuts connection `i` as a network loss would: both sides drop it.
    pub fn close(&mut self, i: usize, reason: &str) {
        let conn = &mut self.conns[i];
        if conn.closed.is_some() {
            return;
        }
        conn.closed = Some(reason.to_owned());
        let mut wake = Vec::new();
        let ended = conn.membership.release(&mut self.hub, &mut wake);
        conn.unpublished
            .extend(ended.into_iter().map(|p| p.stream_key));
    }

    /// Moves the clock on, firing every timer that falls due on the way, then settles.
    pub fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        loop {
            self.run();
            let next = self
                .conns
                .iter()
                .filter(|c| c.closed.is_none())
                .flat_map(|c| [c.client.poll_timeout(), c.server.poll_timeout()])
                .flatten()
                .min();
            match next {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    let now = self.now;
                    for conn in self.conns.iter_mut().filter(|c| c.closed.is_none()) {
                        if conn.client.poll_timeout().is_some_and(|t| t <= now) {
                            let _ = conn.client.handle_timeout(now);
                        }
                        if conn.server.poll_timeout().is_some_and(|t| t <= now) {
                            let _ = conn.server.handle_timeout(now);
                        }
                    }
                }
                _ => break,
            }
        }
        self.now = end;
        self.run();
    }
}
