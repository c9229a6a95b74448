//! [`RtmpServer`]: serves RTMP connections on any `futures-io` stream, one future per
//! connection, on whatever executor spawns them.

use event_listener::Event;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::io::AsyncWriteExt;
use futures_lite::FutureExt;
use rtmp_proto::app::serve::{self, ConnectionIo, SharedHub};
use rtmp_proto::app::{drive, random_seed, RtmpHandler, ServerConnection};
use rtmp_proto::app::{LiveConnection, SessionRegistry, SessionStats};
use rtmp_proto::hub::{Hub, HubConfig, StreamInfo};
use rtmp_proto::SessionConfig;
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
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
    /// Most bytes read from a socket at a time (a connection's buffer starts at 4 KiB
    /// and grows to this while reads fill it). Default 64 KiB.
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

struct Shared<H> {
    config: ServerConfig,
    handler: H,
    hub: SharedHub,
    sessions: SessionRegistry,
    next_id: AtomicU64,
    seed: u64,
    /// Notified by `shutdown` (after `sessions.stop_all`): ends `run`'s accept loop.
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
        self.shared.sessions.stop_all();
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
        let Some(live) = shared.sessions.register_within(id, peer, limit) else {
            tracing::warn!("connection limit reached: refused");
            return;
        };
        if shared.handler.on_connection(peer).await {
            let outcome = self.serve(stream, peer, id, &live).await;
            match outcome {
                Ok(()) => tracing::info!("closed"),
                Err(reason) => tracing::info!(%reason, "closed"),
            }
        } else {
            tracing::info!("refused by on_connection");
        }
        shared.sessions.unregister(id);
    }

    /// Runs the core's connection loop on the stream, then closes both.
    async fn serve<S>(
        &self,
        stream: S,
        peer: SocketAddr,
        id: u64,
        live: &Arc<LiveConnection>,
    ) -> Result<(), String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let shared = &*self.shared;
        let config = shared.config.session.clone();
        let now = Instant::now();
        let mut conn = ServerConnection::new(config, now, shared.seed, id, peer, live.clone());
        let mut io = FuturesIo {
            stream,
            timer: async_io::Timer::never(),
        };
        let (handler, hub) = (&shared.handler, &shared.hub);
        let read_buffer = shared.config.read_buffer;
        let outcome = serve::serve(&mut conn, handler, hub, &mut io, live, read_buffer).await;
        let _ = io.stream.close().await;
        drive::close(&mut conn, handler, hub, serve::wake).await;
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
            if self.shared.sessions.is_stopping() {
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

/// A futures-io stream and an async-io timer as the core's loop drives them.
struct FuturesIo<S> {
    stream: S,
    timer: async_io::Timer,
}

impl<S: AsyncRead + AsyncWrite + Unpin> ConnectionIo for FuturesIo<S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn set_timer(&mut self, deadline: Instant) {
        self.timer.set_at(deadline);
    }

    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.timer).poll(cx).map(drop)
    }
}
