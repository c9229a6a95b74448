//! [`RtmpServer`]: the accept loop, connection limits and graceful shutdown.

use crate::connection::Connection;
use crate::{RtmpHandler, ServerConfig};
use rtmp_proto::hub::{Hub, StreamInfo};
use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;

/// How long [`RtmpServer::run_until`] waits for connections to close after shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The hub as this adapter shares it: players are woken through a [`Notify`].
pub(crate) type SharedHub = Mutex<Hub<Arc<Notify>>>;

/// State every connection task shares.
pub(crate) struct Shared<H> {
    pub(crate) config: ServerConfig,
    pub(crate) handler: H,
    pub(crate) hub: Arc<SharedHub>,
    next_session: AtomicU64,
    seed: u64,
    connections: Arc<AtomicUsize>,
}

impl<H> Shared<H> {
    pub(crate) fn hub(&self) -> MutexGuard<'_, Hub<Arc<Notify>>> {
        lock(&self.hub)
    }
}

/// Locks the hub; a panic elsewhere while it was held leaves plain data behind, so
/// a poisoned lock is taken over rather than spread.
fn lock(hub: &SharedHub) -> MutexGuard<'_, Hub<Arc<Notify>>> {
    hub.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An RTMP server: publishers push streams by key, players pull them.
pub struct RtmpServer<H> {
    shared: Arc<Shared<H>>,
    listener: Option<TcpListener>,
}

/// A cheap handle for looking at a running server.
#[derive(Clone)]
pub struct ServerHandle {
    hub: Arc<SharedHub>,
    connections: Arc<AtomicUsize>,
}

impl ServerHandle {
    /// Every stream with its publisher state and player count.
    pub fn streams(&self) -> Vec<StreamInfo> {
        lock(&self.hub).streams()
    }

    /// Connections being served now.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

impl<H: RtmpHandler> RtmpServer<H> {
    /// A server that binds `config.bind` when it starts running.
    pub fn new(config: ServerConfig, handler: H) -> Self {
        let seed = RandomState::new().build_hasher().finish();
        RtmpServer {
            shared: Arc::new(Shared {
                hub: Arc::new(Mutex::new(Hub::new(config.hub))),
                config,
                handler,
                next_session: AtomicU64::new(1),
                seed,
                connections: Arc::new(AtomicUsize::new(0)),
            }),
            listener: None,
        }
    }

    /// A server bound now, so [`RtmpServer::local_addr`] is known before it runs
    /// (bind port 0 and read the port back).
    pub async fn listen(config: ServerConfig, handler: H) -> io::Result<Self> {
        let listener = TcpListener::bind(config.bind).await?;
        let mut server = Self::new(config, handler);
        server.listener = Some(listener);
        Ok(server)
    }

    /// The bound address, once bound.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// A handle for stats that stays valid while the server runs.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            hub: self.shared.hub.clone(),
            connections: self.shared.connections.clone(),
        }
    }

    /// Serves until an accept error that is not about one connection.
    pub async fn run(self) -> io::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `shutdown` completes, then stops accepting, closes every session
    /// and waits (a few seconds at most) for their tasks to finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let listener = match self.listener {
            Some(listener) => listener,
            None => TcpListener::bind(self.shared.config.bind).await?,
        };
        let shared = self.shared;
        tracing::info!(addr = %listener.local_addr()?, "RTMP server listening");
        let limit = Arc::new(Semaphore::new(shared.config.max_connections));
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tokio::pin!(shutdown);
        let result = loop {
            tokio::select! {
                () = &mut shutdown => break Ok(()),
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(pair) => pair,
                        Err(e) if is_per_connection(&e) => continue,
                        Err(e) => {
                            // Out of file descriptors and the like: back off, don't spin.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    let Ok(permit) = limit.clone().try_acquire_owned() else {
                        tracing::warn!(%peer, "connection limit reached: refused");
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let id = shared.next_session.fetch_add(1, Ordering::Relaxed);
                    let seed = shared.seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    let connection = Connection::new(shared.clone(), stream, peer, id, seed);
                    let stop = stop_rx.clone();
                    let connections = shared.connections.clone();
                    connections.fetch_add(1, Ordering::Relaxed);
                    tasks.spawn(async move {
                        connection.run(stop).await;
                        connections.fetch_sub(1, Ordering::Relaxed);
                        drop(permit);
                    });
                }
            }
        };
        drop(listener);
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                remaining = tasks.len(),
                "sessions still open after shutdown grace: aborted"
            );
            tasks.shutdown().await;
        }
        result
    }
}

/// Accept errors that concern only the connection being accepted.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}
