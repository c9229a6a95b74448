//! [`RtmpServer`]: the accept loop (plain RTMP, RTMPS or both), connection limits and
//! graceful shutdown.

use crate::connection::run;
use crate::spawner::Spawner;
use crate::{RtmpHandler, ServerConfig};
use rtmp_proto::app::serve::SharedHub;
use rtmp_proto::app::{drive, is_per_connection_error, random_seed, LiveConnection};
use rtmp_proto::app::{SessionRegistry, SessionStats};
use rtmp_proto::hub::{Hub, StreamInfo};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// State every connection task shares.
pub(crate) struct Shared<H> {
    pub(crate) config: ServerConfig,
    pub(crate) handler: H,
    pub(crate) hub: Arc<SharedHub>,
    next_session: AtomicU64,
    /// The handshake seed of the server run; each connection's derives from it.
    pub(crate) seed: u64,
    connections: Arc<AtomicUsize>,
    pub(crate) sessions: Arc<SessionRegistry>,
}

/// An RTMP server: publishers push streams by key, players pull them.
pub struct RtmpServer<H> {
    shared: Arc<Shared<H>>,
    listeners: Option<Listeners>,
}

/// The bound sockets: plain RTMP, RTMPS, or both.
struct Listeners {
    plain: Option<TcpListener>,
    #[cfg(feature = "tls")]
    tls: Option<(TcpListener, crate::ServerTls)>,
}

impl Listeners {
    /// Binds what `config` asks for: `bind` plain, or `bind` TLS when TLS is set
    /// without `tls_bind`, or `bind` plain and `tls_bind` TLS.
    async fn bind(config: &ServerConfig) -> io::Result<Listeners> {
        #[cfg(feature = "tls")]
        if config.tls_bind.is_some() && config.tls.is_none() {
            return Err(crate::tls::invalid(
                "tls_bind is set but no certificate (tls)",
            ));
        }
        #[cfg(feature = "tls")]
        if let Some(tls) = &config.tls {
            let (plain, tls_addr) = match config.tls_bind {
                Some(addr) => (Some(TcpListener::bind(config.bind).await?), addr),
                None => (None, config.bind),
            };
            let listener = TcpListener::bind(tls_addr).await?;
            return Ok(Listeners {
                plain,
                tls: Some((listener, tls.clone())),
            });
        }
        Ok(Listeners {
            plain: Some(TcpListener::bind(config.bind).await?),
            #[cfg(feature = "tls")]
            tls: None,
        })
    }

    /// The address `bind` is bound to.
    fn local_addr(&self) -> Option<SocketAddr> {
        match &self.plain {
            Some(plain) => plain.local_addr().ok(),
            None => self.tls_local_addr(),
        }
    }

    fn tls_local_addr(&self) -> Option<SocketAddr> {
        #[cfg(feature = "tls")]
        if let Some((listener, _)) = &self.tls {
            return listener.local_addr().ok();
        }
        None
    }
}

/// Accepts from `listener`, or never if there is none.
async fn accept(listener: Option<&TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

/// A cheap handle for looking at a running server.
#[derive(Clone)]
pub struct ServerHandle {
    hub: Arc<SharedHub>,
    connections: Arc<AtomicUsize>,
    sessions: Arc<SessionRegistry>,
}

impl ServerHandle {
    /// Every open connection with its byte counts, oldest first.
    pub fn sessions(&self) -> Vec<SessionStats> {
        self.sessions.snapshot()
    }

    /// Every stream with its publisher state and player count.
    pub fn streams(&self) -> Vec<StreamInfo> {
        drive::lock(&self.hub).streams()
    }

    /// Connections being served now.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

impl<H: RtmpHandler> RtmpServer<H> {
    /// A server that binds `config.bind` when it starts running.
    pub fn new(config: ServerConfig, handler: H) -> Self {
        let seed = random_seed();
        RtmpServer {
            shared: Arc::new(Shared {
                hub: Arc::new(Mutex::new(Hub::new(config.hub))),
                config,
                handler,
                next_session: AtomicU64::new(1),
                seed,
                connections: Arc::new(AtomicUsize::new(0)),
                sessions: Arc::default(),
            }),
            listeners: None,
        }
    }

    /// A server bound now, so [`RtmpServer::local_addr`] is known before it runs
    /// (bind port 0 and read the port back).
    pub async fn listen(config: ServerConfig, handler: H) -> io::Result<Self> {
        let listeners = Listeners::bind(&config).await?;
        let mut server = Self::new(config, handler);
        server.listeners = Some(listeners);
        Ok(server)
    }

    /// The address `bind` is bound to (plain RTMP, or RTMPS when TLS is set without a
    /// `tls_bind`), once bound.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listeners.as_ref().and_then(Listeners::local_addr)
    }

    /// The address serving RTMPS, once bound: `tls_bind`'s, or `bind`'s when TLS is set
    /// without a `tls_bind`.
    pub fn tls_local_addr(&self) -> Option<SocketAddr> {
        self.listeners.as_ref().and_then(Listeners::tls_local_addr)
    }

    /// A handle for stats that stays valid while the server runs.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            hub: self.shared.hub.clone(),
            connections: self.shared.connections.clone(),
            sessions: self.shared.sessions.clone(),
        }
    }

    /// Serves until an accept error that is not about one connection.
    pub async fn run(self) -> io::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `shutdown` completes, then stops accepting, closes every session
    /// and waits (a few seconds at most) for their tasks to finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let listeners = match self.listeners {
            Some(listeners) => listeners,
            None => Listeners::bind(&self.shared.config).await?,
        };
        let shared = self.shared;
        if let Some(plain) = &listeners.plain {
            tracing::info!(addr = %plain.local_addr()?, "RTMP server listening");
        }
        #[cfg(feature = "tls")]
        if let Some((tls, _)) = &listeners.tls {
            tracing::info!(addr = %tls.local_addr()?, "RTMPS server listening");
        }
        let limit = Arc::new(Semaphore::new(shared.config.max_connections));
        let mut spawner = Spawner::new(shared.config.workers)?;
        // However this future ends, even dropped, every connection is told to stop.
        let stop = StopAll(&shared.sessions);
        tokio::pin!(shutdown);
        let result = loop {
            tokio::select! {
                () = &mut shutdown => break Ok(()),
                () = spawner.reap() => {}
                accepted = accept(listeners.plain.as_ref()) => {
                    let Some((stream, peer, permit)) = admit(accepted, &limit).await else {
                        continue;
                    };
                    let seat = Seat::take(&shared, peer, permit);
                    spawner.spawn(stream, move |stream| async move {
                        let local = stream.local_addr().unwrap_or(peer);
                        run(&seat.shared, stream, (local, peer), seat.session()).await;
                    });
                }
                accepted = accept_tls(&listeners) => {
                    #[cfg(feature = "tls")]
                    {
                        let Some((stream, peer, permit)) = admit(accepted.0, &limit).await else {
                            continue;
                        };
                        let (seat, tls) = (Seat::take(&shared, peer, permit), accepted.1);
                        spawner.spawn(stream, move |stream| async move {
                            serve_tls(&seat.shared, tls, stream, peer, seat.session()).await;
                        });
                    }
                    #[cfg(not(feature = "tls"))]
                    let () = accepted;
                }
            }
        };
        drop(listeners);
        drop(stop);
        spawner.finish().await;
        result
    }
}

/// Stops every connection when dropped.
struct StopAll<'a>(&'a SessionRegistry);

impl Drop for StopAll<'_> {
    fn drop(&mut self) {
        self.0.stop_all();
    }
}

/// A connection's place in the server: its id, its registration and its permit under
/// the connection limit, all given back when its task ends or is aborted.
struct Seat<H> {
    shared: Arc<Shared<H>>,
    id: u64,
    live: Arc<LiveConnection>,
    _permit: OwnedSemaphorePermit,
}

impl<H> Seat<H> {
    /// Counts a connection in and gives it an id.
    fn take(shared: &Arc<Shared<H>>, peer: SocketAddr, permit: OwnedSemaphorePermit) -> Self {
        shared.connections.fetch_add(1, Ordering::Relaxed);
        let id = shared.next_session.fetch_add(1, Ordering::Relaxed);
        Seat {
            live: shared.sessions.register(id, peer),
            shared: shared.clone(),
            id,
            _permit: permit,
        }
    }

    /// The session id and its live handle.
    fn session(&self) -> (u64, Arc<LiveConnection>) {
        (self.id, self.live.clone())
    }
}

impl<H> Drop for Seat<H> {
    fn drop(&mut self) {
        self.shared.sessions.unregister(self.id);
        self.shared.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An accepted connection within the connection limit, or `None` to skip it (after a
/// short back-off when accepting itself failed).
async fn admit(
    accepted: io::Result<(TcpStream, SocketAddr)>,
    limit: &Arc<Semaphore>,
) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    let (stream, peer) = match accepted {
        Ok(pair) => pair,
        Err(e) if is_per_connection_error(&e) => return None,
        Err(e) => {
            // Out of file descriptors and the like: back off, don't spin.
            tracing::warn!(error = %e, "accept failed");
            tokio::time::sleep(Duration::from_millis(100)).await;
            return None;
        }
    };
    let Ok(permit) = limit.clone().try_acquire_owned() else {
        tracing::warn!(%peer, "connection limit reached: refused");
        return None;
    };
    let _ = stream.set_nodelay(true);
    Some((stream, peer, permit))
}

/// Accepts from the RTMPS listener, if any, with the TLS settings to use.
#[cfg(feature = "tls")]
async fn accept_tls(
    listeners: &Listeners,
) -> (io::Result<(TcpStream, SocketAddr)>, crate::ServerTls) {
    match &listeners.tls {
        Some((listener, tls)) => (listener.accept().await, tls.clone()),
        None => std::future::pending().await,
    }
}

#[cfg(not(feature = "tls"))]
async fn accept_tls(_: &Listeners) {
    std::future::pending().await
}

/// The TLS handshake, bounded by the connect timeout and cut short by shutdown, then
/// the session. A peer that does not speak TLS (plain RTMP on the RTMPS port) fails
/// the handshake at its first byte and is closed.
#[cfg(feature = "tls")]
async fn serve_tls<H: RtmpHandler>(
    shared: &Arc<Shared<H>>,
    tls: crate::ServerTls,
    stream: TcpStream,
    peer: SocketAddr,
    (id, live): (u64, Arc<LiveConnection>),
) {
    let timeout = shared.config.session.connect_timeout;
    let handshake = tokio::time::timeout(timeout, tls.acceptor().accept(stream));
    let stream = tokio::select! {
        done = handshake => match done {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::info!(id, %peer, error = %e, "TLS handshake failed: closed");
                return;
            }
            Err(_) => {
                tracing::info!(id, %peer, ?timeout, "TLS handshake timed out: closed");
                return;
            }
        },
        () = live.stopped() => return,
    };
    let local = stream.get_ref().0.local_addr().unwrap_or(peer);
    run(shared, stream, (local, peer), (id, live)).await;
}
