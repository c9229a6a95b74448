//! One connection's task: the read → session → handler → write loop.

use crate::server::Shared;
use crate::RtmpHandler;
use rtmp_proto::app::{drive, ServerConnection, SessionCounters, MAX_IOVECS};
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{watch, Notify};
use tracing::Instrument;

/// One connection's task; `R` and `W` are the two halves of its stream (TCP's
/// lock-free owned halves, or a TLS stream split with `tokio::io::split`).
pub(crate) struct Connection<H, R, W> {
    shared: Arc<Shared<H>>,
    reader: R,
    writer: W,
    conn: ServerConnection<Arc<Notify>>,
    /// Woken by the hub when a queue of this connection's players becomes non-empty.
    notify: Arc<Notify>,
    /// Bytes in and out, read by `ServerHandle::sessions`.
    counters: Arc<SessionCounters>,
}

impl<H, R, W> Connection<H, R, W>
where
    H: RtmpHandler,
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    pub(crate) fn new(
        shared: Arc<Shared<H>>,
        (reader, writer): (R, W),
        (local, peer): (SocketAddr, SocketAddr),
        id: u64,
    ) -> Self {
        let notify = Arc::new(Notify::new());
        let (config, seed) = (shared.config.session.clone(), shared.seed);
        let mut conn =
            ServerConnection::new(config, Instant::now(), seed, id, peer, notify.clone());
        if let Some(capture) = &shared.config.capture {
            conn.record(capture, local);
        }
        let counters = shared.sessions.register(id, peer);
        Connection {
            shared,
            reader,
            writer,
            conn,
            counters,
            notify,
        }
    }

    pub(crate) async fn run(mut self, stop: watch::Receiver<bool>) {
        let ctx = self.conn.context().clone();
        let span = tracing::info_span!("session", id = ctx.session_id, peer = %ctx.peer_addr);
        async move {
            if !self.shared.handler.on_connection(ctx.peer_addr).await {
                tracing::info!("refused by on_connection");
                return;
            }
            tracing::debug!("connected");
            let outcome = self.serve(stop).await;
            let _ = self.writer.shutdown().await;
            let shared = &self.shared;
            drive::close(&mut self.conn, &shared.handler, &shared.hub, wake).await;
            shared.sessions.unregister(ctx.session_id);
            match outcome {
                Ok(()) => tracing::info!("closed"),
                Err(reason) => tracing::info!(%reason, "closed"),
            }
        }
        .instrument(span)
        .await
    }

    /// Runs the loop; `Ok` when the peer or the server ended it normally.
    async fn serve(&mut self, mut stop: watch::Receiver<bool>) -> Result<(), String> {
        let mut buf = vec![0u8; self.shared.config.read_buffer.max(1024)];
        // One timer for the whole connection, moved only when the deadline changes.
        let mut deadline = far_future();
        let sleep = tokio::time::sleep_until(deadline);
        tokio::pin!(sleep);
        // One waiter on the hub's wakeups, renewed only when it fires.
        let notify = self.notify.clone();
        let notified = notify.notified();
        tokio::pin!(notified);
        let shared = self.shared.clone();
        loop {
            drive::handle_events(&mut self.conn, &shared.handler, &shared.hub, wake).await?;
            drive::pull(&mut self.conn, &shared.hub)?;
            if let Some(reason) = self.conn.finished() {
                return Err(reason);
            }
            let session = self.conn.session();
            let next = session
                .poll_timeout()
                .map_or_else(far_future, tokio::time::Instant::from_std);
            if next != deadline {
                deadline = next;
                sleep.as_mut().reset(deadline);
            }
            let (reader, writer) = (&mut self.reader, &mut self.writer);
            tokio::select! {
                read = reader.read(&mut buf), if !session.is_closing() => match read {
                    Ok(0) => return Ok(()),
                    Ok(n) => {
                        self.counters.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
                        self.conn.receive(Instant::now(), &buf[..n]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(()),
                    Err(e) => return Err(format!("read failed: {e}")),
                },
                written = async {
                    let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                    let count = session.output().io_slices(&mut slices);
                    writer.write_vectored(&slices[..count]).await
                }, if !session.output().is_empty() => match written {
                    Ok(0) => return Err("peer stopped accepting data".into()),
                    Ok(n) => {
                        self.counters.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
                        self.conn.written(n);
                        if self.conn.session().output().is_empty() {
                            // TLS holds records until flushed; for TCP this is free.
                            self.writer.flush().await.map_err(|e| format!("write failed: {e}"))?;
                        }
                    }
                    Err(e) => return Err(format!("write failed: {e}")),
                },
                () = &mut notified, if self.conn.is_playing() => {
                    self.conn.woken();
                    notified.set(notify.notified());
                }
                () = &mut sleep => {
                    let _ = self.conn.session_mut().handle_timeout(Instant::now());
                }
                _ = stop.changed() => return Err("server shutting down".into()),
            }
        }
    }
}

/// Wakes a connection the hub named.
fn wake(notify: Arc<Notify>) {
    notify.notify_one();
}

/// A deadline that never comes, for a connection with no timer due.
fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(86_400 * 365)
}
