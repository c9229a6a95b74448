//! [`RtmpServer`]: serves RTMP connections on any `futures-io` stream, one future per
//! connection, on whatever executor spawns them.

use event_listener::Event;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use futures_lite::FutureExt;
use rtmp_proto::app::{drive, random_seed, RtmpHandler, ServerConnection, MAX_IOVECS};
use rtmp_proto::app::{SessionCounters, SessionRegistry, SessionStats};
use rtmp_proto::hub::{Hub, HubConfig, StreamInfo};
use rtmp_proto::SessionConfig;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tracing::Instrument;

/// Server settings: where [`RtmpServer::run`] listens and the bounds. The protocol and
/// fan-out bounds are the core's, the same as the other adapters'.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address [`RtmpServer::run`] listens on. Default `0.0.0.0:1935`.
    pub bind: SocketAddr,
    /// Most connections served at once; further ones are closed at once. Default 1000.
    pub max_connections: usize,
    /// Bytes read from a socket at a time. Default 64 KiB.
    pub read_buffer: usize,
    /// Per-connection protocol settings and bounds.
    pub session: SessionConfig,
    /// Fan-out bounds (player queues, stream counts).
    pub hub: HubConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([0, 0, 0, 0], 1935)),
            max_connections: 1000,
            read_buffer: 64 * 1024,
            session: SessionConfig::default(),
            hub: HubConfig::default(),
        }
    }
}

/// How the hub wakes a connection: an event its loop listens on.
type Waker = Arc<Event>;

struct Shared<H> {
    config: ServerConfig,
    handler: H,
    hub: Mutex<Hub<Waker>>,
    sessions: SessionRegistry,
    next_id: AtomicU64,
    seed: u64,
    stopped: AtomicBool,
    stop: Event,
}

/// An RTMP server: publishers push streams by key, players pull them. Cheap to clone;
/// every clone serves the same streams.
pub struct RtmpServer<H> {
    shared: Arc<Shared<H>>,
}

impl<H> Clone for RtmpServer<H> {
    fn clone(&self) -> Self {
        RtmpServer {
            shared: self.shared.clone(),
        }
    }
}

impl<H: RtmpHandler> RtmpServer<H> {
    /// A server with `handler` deciding and watching.
    pub fn new(config: ServerConfig, handler: H) -> Self {
        RtmpServer {
            shared: Arc::new(Shared {
                hub: Mutex::new(Hub::new(config.hub)),
                config,
                handler,
                sessions: SessionRegistry::default(),
                next_id: AtomicU64::new(1),
                seed: random_seed(),
                stopped: AtomicBool::new(false),
                stop: Event::new(),
            }),
        }
    }

    /// Every stream with its publisher state, players and stats.
    pub fn streams(&self) -> Vec<StreamInfo> {
        drive::lock(&self.shared.hub).streams()
    }

    /// Every open connection with its byte counts, oldest first.
    pub fn sessions(&self) -> Vec<SessionStats> {
        self.shared.sessions.snapshot()
    }

    /// Closes every connection and makes [`RtmpServer::run`] return.
    pub fn shutdown(&self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.shared.stop.notify(usize::MAX);
    }

    /// Serves one accepted connection until it ends. Spawn one per connection on the
    /// executor of your choice (this is all `run` does on async-std).
    pub async fn serve_connection<S>(&self, stream: S, peer: SocketAddr)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("session", id, %peer);
        self.counted(stream, peer, id).instrument(span).await
    }

    /// Serves a connection within the connection limit, counting its bytes.
    async fn counted<S>(&self, stream: S, peer: SocketAddr, id: u64)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let shared = &self.shared;
        let limit = shared.config.max_connections;
        let Some(bytes) = shared.sessions.register_within(id, peer, limit) else {
            tracing::warn!("connection limit reached: refused");
            return;
        };
        if shared.handler.on_connection(peer).await {
            let outcome = self.serve(stream, peer, id, &bytes).await;
            match outcome {
                Ok(()) => tracing::info!("closed"),
                Err(reason) => tracing::info!(%reason, "closed"),
            }
        } else {
            tracing::info!("refused by on_connection");
        }
        shared.sessions.unregister(id);
    }

    /// The connection loop: read → session → handler and hub → vectored write, with
    /// the session's timer and the hub's wakeups.
    async fn serve<S>(
        &self,
        stream: S,
        peer: SocketAddr,
        id: u64,
        bytes: &SessionCounters,
    ) -> Result<(), String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let shared = &*self.shared;
        let (mut reader, mut writer) = futures_lite::io::split(stream);
        let event: Waker = Arc::new(Event::new());
        let config = shared.config.session.clone();
        let now = Instant::now();
        let mut conn = ServerConnection::new(config, now, shared.seed, id, peer, event.clone());
        let mut buf = vec![0u8; shared.config.read_buffer.max(1024)];
        let mut timer = async_io::Timer::never();
        let mut deadline = None;
        let mut woken = event.listen();
        let mut stop = shared.stop.listen();
        let wake = |event: Waker| {
            event.notify(1);
        };
        let outcome = loop {
            if shared.stopped.load(Ordering::SeqCst) {
                break Err("server shutting down".into());
            }
            if let Err(reason) = drive::handle_events(&mut conn, &shared.handler, &shared.hub, wake)
                .await
                .and_then(|()| drive::pull(&mut conn, &shared.hub))
            {
                break Err(reason);
            }
            if let Some(reason) = conn.finished() {
                break Err(reason);
            }
            let next = conn.session().poll_timeout();
            if next != deadline {
                deadline = next;
                match next {
                    Some(at) => timer.set_at(at),
                    None => timer = async_io::Timer::never(),
                }
            }
            let session = conn.session();
            let read = async {
                if session.is_closing() {
                    std::future::pending().await
                }
                Step::Read(reader.read(&mut buf).await)
            };
            let write = async {
                if session.output().is_empty() {
                    std::future::pending().await
                }
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let count = session.output().io_slices(&mut slices);
                Step::Wrote(writer.write_vectored(&slices[..count]).await)
            };
            let playing = conn.is_playing();
            let hub_woke = async {
                if !playing {
                    std::future::pending().await
                }
                (&mut woken).await;
                Step::Woken
            };
            let tick = async {
                (&mut timer).await;
                Step::Timer
            };
            let stopped = async {
                (&mut stop).await;
                Step::Stop
            };
            match read.or(write).or(hub_woke).or(tick).or(stopped).await {
                Step::Read(Ok(0)) => break Ok(()),
                Step::Read(Ok(n)) => {
                    bytes.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
                    conn.receive(Instant::now(), &buf[..n]);
                }
                Step::Read(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    break Ok(())
                }
                Step::Read(Err(e)) => break Err(format!("read failed: {e}")),
                Step::Wrote(Ok(0)) => break Err("peer stopped accepting data".into()),
                Step::Wrote(Ok(n)) => {
                    bytes.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
                    conn.written(n);
                    if conn.session().output().is_empty() {
                        if let Err(e) = writer.flush().await {
                            break Err(format!("write failed: {e}"));
                        }
                    }
                }
                Step::Wrote(Err(e)) => break Err(format!("write failed: {e}")),
                Step::Woken => {
                    conn.woken();
                    woken = event.listen();
                }
                Step::Timer => {
                    let _ = conn.session_mut().handle_timeout(Instant::now());
                }
                Step::Stop => stop = shared.stop.listen(),
            }
        };
        let _ = writer.close().await;
        drive::close(&mut conn, &shared.handler, &shared.hub, wake).await;
        outcome
    }

    /// Listens on `config.bind` and serves until [`RtmpServer::shutdown`], spawning a
    /// task per connection on async-std.
    #[cfg(feature = "async-std")]
    pub async fn run(self) -> std::io::Result<()> {
        let listener = async_std::net::TcpListener::bind(self.shared.config.bind).await?;
        self.run_on(listener).await
    }

    /// Serves connections from a bound async-std listener until [`RtmpServer::shutdown`].
    #[cfg(feature = "async-std")]
    pub async fn run_on(self, listener: async_std::net::TcpListener) -> std::io::Result<()> {
        tracing::info!(addr = %listener.local_addr()?, "RTMP server listening");
        let mut stop = self.shared.stop.listen();
        loop {
            if self.shared.stopped.load(Ordering::SeqCst) {
                return Ok(());
            }
            let accepted = async { Some(listener.accept().await) }
                .or(async {
                    (&mut stop).await;
                    None
                })
                .await;
            match accepted {
                None => stop = self.shared.stop.listen(),
                Some(Ok((stream, peer))) => {
                    let _ = stream.set_nodelay(true);
                    let server = self.clone();
                    async_std::task::spawn(
                        async move { server.serve_connection(stream, peer).await },
                    );
                }
                Some(Err(e)) => {
                    // Out of descriptors and the like: back off, don't spin.
                    tracing::warn!(error = %e, "accept failed");
                    async_io::Timer::after(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// What woke a connection's loop.
enum Step {
    Read(std::io::Result<usize>),
    Wrote(std::io::Result<usize>),
    Woken,
    Timer,
    Stop,
}
