//! [`RtmpServer`]: RTMP connections on a mio [`Registry`], served from the thread that
//! polls it; [`Runner`] owns a [`Poll`] for those who have no loop of their own.

use crate::dispatch;
use crate::Handler;
use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use rtmp_proto::app::{
    is_per_connection_error, random_seed, ServerConnection, SessionStats, MAX_IOVECS,
};
use rtmp_proto::capture::CaptureConfig;
use rtmp_proto::hub::{Hub, HubConfig, StreamInfo};
use rtmp_proto::SessionConfig;
use std::collections::BTreeSet;
use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Reads from one socket per turn before the other sockets get theirs.
const READ_BUDGET: usize = 16;
/// How long to wait before accepting again after the process ran out of descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Server settings: where to listen and the bounds. The protocol and fan-out bounds
/// are the core's, the same as the Tokio server's.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on. Default `0.0.0.0:1935`.
    pub bind: SocketAddr,
    /// Most connections served at once (the server uses this many tokens after the
    /// listener's). Default 1000.
    pub max_connections: usize,
    /// Bytes read from a socket at a time (one buffer for the whole server). Default 64 KiB.
    pub read_buffer: usize,
    /// Per-connection protocol settings and bounds.
    pub session: SessionConfig,
    /// Fan-out bounds (player queues, stream counts).
    pub hub: HubConfig,
    /// Records every connection as a pcapng file when set (see `rtmp_proto::capture`).
    pub capture: Option<CaptureConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([0, 0, 0, 0], 1935)),
            max_connections: 1000,
            read_buffer: 64 * 1024,
            session: SessionConfig::default(),
            hub: HubConfig::default(),
            capture: None,
        }
    }
}

/// One connection's socket and state.
struct Peer {
    stream: TcpStream,
    conn: ServerConnection<Token>,
    /// The deadline filed in the server's timer set.
    deadline: Option<Instant>,
    /// Readiness not yet used up (mio is edge-triggered: read and write until
    /// `WouldBlock`).
    readable: bool,
    writable: bool,
    bytes_in: u64,
    bytes_out: u64,
}

/// An RTMP server on a mio registry. Register it with a first token; it takes that
/// token for its listener and the next `max_connections` for connections. Forward
/// every event of those tokens to [`RtmpServer::handle_event`], sleep no longer than
/// [`RtmpServer::poll_timeout`], and call [`RtmpServer::handle_timeout`] after each poll.
pub struct RtmpServer<H> {
    config: ServerConfig,
    handler: H,
    listener: TcpListener,
    /// The listener's token, once registered.
    first: Option<usize>,
    /// Connection slots: slot `i` has token `first + 1 + i`.
    peers: Vec<Option<Peer>>,
    free: Vec<usize>,
    hub: Hub<Token>,
    /// Session deadlines, earliest first.
    timers: BTreeSet<(Instant, usize)>,
    /// Slots with input left unread after their read budget.
    backlog: Vec<usize>,
    /// Connections the hub asked to wake.
    woken: Vec<Token>,
    /// When to accept again after running out of descriptors.
    accept_retry: Option<Instant>,
    buf: Vec<u8>,
    next_id: u64,
    seed: u64,
}

impl<H: Handler> RtmpServer<H> {
    /// A server listening on `config.bind` (not yet registered).
    pub fn bind(config: ServerConfig, handler: H) -> io::Result<Self> {
        let listener = TcpListener::bind(config.bind)?;
        Ok(RtmpServer {
            hub: Hub::new(config.hub),
            buf: vec![0; config.read_buffer.max(1024)],
            config,
            handler,
            listener,
            first: None,
            peers: Vec::new(),
            free: Vec::new(),
            timers: BTreeSet::new(),
            backlog: Vec::new(),
            woken: Vec::new(),
            accept_retry: None,
            next_id: 1,
            seed: random_seed(),
        })
    }

    /// The address the listener is bound to (read the port back after binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Registers the listener with `first`; connections get the tokens after it.
    pub fn register(&mut self, registry: &Registry, first: Token) -> io::Result<()> {
        registry.register(&mut self.listener, first, Interest::READABLE)?;
        self.first = Some(first.0);
        Ok(())
    }

    /// The tokens this server owns once registered: the listener's and its connections'.
    pub fn tokens(&self) -> Range<usize> {
        let first = self.first.unwrap_or(0);
        first..first + 1 + self.config.max_connections
    }

    /// The handler, to read what it gathered.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// Every stream with its publisher state, players and stats.
    pub fn streams(&self) -> Vec<StreamInfo> {
        self.hub.streams()
    }

    /// Every open connection with its byte counts, oldest first.
    pub fn sessions(&self) -> Vec<SessionStats> {
        let mut stats: Vec<SessionStats> = (self.peers.iter().flatten())
            .map(|peer| SessionStats {
                session_id: peer.conn.context().session_id,
                peer_addr: peer.conn.context().peer_addr,
                bytes_in: peer.bytes_in,
                bytes_out: peer.bytes_out,
            })
            .collect();
        stats.sort_by_key(|s| s.session_id);
        stats
    }

    /// Connections being served now.
    pub fn connections(&self) -> usize {
        self.peers.iter().flatten().count()
    }

    /// Handles one readiness event; `false` if its token is not this server's.
    pub fn handle_event(&mut self, registry: &Registry, event: &Event) -> bool {
        let Some(first) = self.first else {
            return false;
        };
        let token = event.token().0;
        if token == first {
            self.accept(registry);
        } else if let Some(slot) = token.checked_sub(first + 1) {
            let Some(Some(peer)) = self.peers.get_mut(slot) else {
                return slot < self.config.max_connections;
            };
            peer.readable |= event.is_readable() || event.is_read_closed() || event.is_error();
            peer.writable |= event.is_writable() || event.is_error();
            self.serve(registry, slot);
        } else {
            return false;
        }
        self.serve_woken(registry);
        true
    }

    /// When [`RtmpServer::handle_timeout`] is next due: a session timer, a connection
    /// with input left to read (now), or an accept retry.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.backlog.is_empty() {
            return Some(Instant::now());
        }
        let timer = self.timers.first().map(|(at, _)| *at);
        match (timer, self.accept_retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs the session timers due at `now`, the reads left over from busy sockets,
    /// and a pending accept retry.
    pub fn handle_timeout(&mut self, registry: &Registry, now: Instant) {
        while let Some(&(at, slot)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, slot));
            if let Some(Some(peer)) = self.peers.get_mut(slot) {
                peer.deadline = None;
                let _ = peer.conn.session_mut().handle_timeout(now);
                self.serve(registry, slot);
            }
        }
        for slot in std::mem::take(&mut self.backlog) {
            self.serve(registry, slot);
        }
        if self.accept_retry.is_some_and(|at| at <= now) {
            self.accept_retry = None;
            self.accept(registry);
        }
        self.serve_woken(registry);
    }

    /// Closes every connection (publishers' players are told first), as the loop ends.
    pub fn shutdown(&mut self, registry: &Registry) {
        for slot in 0..self.peers.len() {
            self.close(registry, slot, "server shutting down".into());
        }
        let _ = registry.deregister(&mut self.listener);
    }

    /// Accepts until the listener has no more connections waiting.
    fn accept(&mut self, registry: &Registry) {
        loop {
            let (mut stream, addr) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if is_per_connection_error(&e) => continue,
                Err(e) => {
                    // Out of descriptors and the like: try again shortly, don't spin.
                    tracing::warn!(error = %e, "accept failed");
                    self.accept_retry = Some(Instant::now() + ACCEPT_BACKOFF);
                    return;
                }
            };
            let Some(slot) = self.free_slot() else {
                tracing::warn!(peer = %addr, "connection limit reached: refused");
                continue;
            };
            if !self.handler.on_connection(addr) {
                tracing::info!(peer = %addr, "refused by on_connection");
                self.free.push(slot);
                continue;
            }
            let token = Token(self.first.unwrap_or(0) + 1 + slot);
            if let Err(e) =
                registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            {
                tracing::warn!(peer = %addr, error = %e, "register failed: closed");
                self.free.push(slot);
                continue;
            }
            let _ = stream.set_nodelay(true);
            let id = self.next_id;
            self.next_id += 1;
            let config = self.config.session.clone();
            tracing::debug!(id, peer = %addr, "connected");
            let now = Instant::now();
            let mut conn = ServerConnection::new(config, now, self.seed, id, addr, token);
            if let (Some(capture), Ok(local)) = (&self.config.capture, stream.local_addr()) {
                conn.record(capture, local);
            }
            self.peers[slot] = Some(Peer {
                stream,
                conn,
                deadline: None,
                readable: false,
                writable: false,
                bytes_in: 0,
                bytes_out: 0,
            });
            self.serve(registry, slot);
        }
    }

    /// A free connection slot, if the limit allows one.
    fn free_slot(&mut self) -> Option<usize> {
        if let Some(slot) = self.free.pop() {
            return Some(slot);
        }
        if self.peers.len() < self.config.max_connections {
            self.peers.push(None);
            return Some(self.peers.len() - 1);
        }
        None
    }

    /// Runs one connection as far as it goes now, then files its timer, or closes it.
    fn serve(&mut self, registry: &Registry, slot: usize) {
        match self.turn(slot) {
            Ok(()) => self.file_timer(slot),
            Err(reason) => self.close(registry, slot, reason),
        }
    }

    /// Reads (within the budget), answers events, pulls deliveries and writes until
    /// the socket is drained or full. `Err` is why to close the connection.
    fn turn(&mut self, slot: usize) -> Result<(), String> {
        let RtmpServer {
            peers,
            hub,
            handler,
            woken,
            buf,
            backlog,
            ..
        } = self;
        let Some(Some(peer)) = peers.get_mut(slot) else {
            return Ok(());
        };
        dispatch::handle_events(handler, hub, &mut peer.conn, woken)?;
        let mut reads = 0;
        while peer.readable && !peer.conn.session().is_closing() {
            if reads == READ_BUDGET {
                backlog.push(slot);
                break;
            }
            reads += 1;
            match peer.stream.read(buf) {
                Ok(0) => return Err("closed by the peer".into()),
                Ok(n) => {
                    peer.bytes_in += n as u64;
                    peer.conn.receive(Instant::now(), &buf[..n]);
                    dispatch::handle_events(handler, hub, &mut peer.conn, woken)?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => peer.readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    return Err("reset by the peer".into())
                }
                Err(e) => return Err(format!("read failed: {e}")),
            }
        }
        loop {
            if peer.conn.wants_pull() {
                peer.conn.pull(hub, Instant::now())?;
            }
            if !peer.writable || peer.conn.session().output().is_empty() {
                break;
            }
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let count = peer.conn.session().output().io_slices(&mut slices);
            match peer.stream.write_vectored(&slices[..count]) {
                Ok(0) => return Err("peer stopped accepting data".into()),
                Ok(n) => {
                    peer.bytes_out += n as u64;
                    peer.conn.written(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => peer.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("write failed: {e}")),
            }
        }
        match peer.conn.finished() {
            Some(reason) => Err(reason),
            None => Ok(()),
        }
    }

    /// Serves the connections the hub woke (their players have deliveries).
    fn serve_woken(&mut self, registry: &Registry) {
        while let Some(token) = self.woken.pop() {
            let slot = token.0.wrapping_sub(self.first.unwrap_or(0) + 1);
            if let Some(Some(peer)) = self.peers.get_mut(slot) {
                peer.conn.woken();
                self.serve(registry, slot);
            }
        }
    }

    /// Files the connection's next session deadline in the timer set.
    fn file_timer(&mut self, slot: usize) {
        let Some(Some(peer)) = self.peers.get_mut(slot) else {
            return;
        };
        let next = peer.conn.session().poll_timeout();
        if next != peer.deadline {
            if let Some(old) = peer.deadline {
                self.timers.remove(&(old, slot));
            }
            if let Some(new) = next {
                self.timers.insert((new, slot));
            }
            peer.deadline = next;
        }
    }

    /// Ends a connection: leaves the hub (its players hear at once), runs the
    /// handler's `on_unpublish` and `on_disconnect`, frees the slot.
    fn close(&mut self, registry: &Registry, slot: usize, reason: String) {
        let Some(Some(mut peer)) = self.peers.get_mut(slot).map(Option::take) else {
            return;
        };
        let _ = registry.deregister(&mut peer.stream);
        if let Some(deadline) = peer.deadline {
            self.timers.remove(&(deadline, slot));
        }
        let ended = peer.conn.release(&mut self.hub);
        self.woken.extend(peer.conn.take_wakes());
        for params in ended {
            self.handler.on_unpublish(peer.conn.context(), &params);
        }
        self.handler.on_disconnect(peer.conn.context());
        let ctx = peer.conn.context();
        tracing::info!(id = ctx.session_id, peer = %ctx.peer_addr, %reason, "closed");
        self.free.push(slot);
    }
}

/// The token of the runner's stop waker; the server takes the ones after it.
const STOP: Token = Token(0);

/// A [`Poll`] of its own around a server: `run` it on a thread of yours, stop it with a
/// [`Stopper`] from any thread.
pub struct Runner<H> {
    server: RtmpServer<H>,
    poll: Poll,
    stopper: Stopper,
}

/// Stops a [`Runner`] from another thread.
#[derive(Clone)]
pub struct Stopper {
    stopped: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl Stopper {
    /// Asks the loop to close every connection and return.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
    }
}

impl<H: Handler> Runner<H> {
    /// Registers `server` with a new poll.
    pub fn new(mut server: RtmpServer<H>) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), STOP)?);
        server.register(poll.registry(), Token(STOP.0 + 1))?;
        Ok(Runner {
            server,
            poll,
            stopper: Stopper {
                stopped: Arc::default(),
                waker,
            },
        })
    }

    /// A handle that stops the loop.
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Serves until stopped; returns the server (its handler and stats) after closing
    /// every connection.
    pub fn run(mut self) -> io::Result<RtmpServer<H>> {
        let mut events = Events::with_capacity(1024);
        while !self.stopper.stopped.load(Ordering::SeqCst) {
            let timeout =
                (self.server.poll_timeout()).map(|at| at.saturating_duration_since(Instant::now()));
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for event in &events {
                self.server.handle_event(self.poll.registry(), event);
            }
            self.server
                .handle_timeout(self.poll.registry(), Instant::now());
        }
        self.server.shutdown(self.poll.registry());
        Ok(self.server)
    }
}
