//! One connection's task: the read → session → handler → write loop.

use crate::server::Shared;
use crate::{AuthResult, RtmpHandler, SessionContext};
use rtmp_proto::hub::{DrainStatus, Membership, Routed, StreamKey};
use rtmp_proto::{ServerEvent, ServerSession, SessionError};
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{watch, Notify};
use tracing::Instrument;

/// A player pulls more from the hub only once its unwritten output is below this, so
/// a slow socket leaves data in the hub queue, where the drop policy applies.
const PULL_BELOW: usize = 256 * 1024;
/// Most segments handed to one vectored write.
const MAX_IOVECS: usize = 64;

/// One connection's task; `R` and `W` are the two halves of its stream (TCP's
/// lock-free owned halves, or a TLS stream split with `tokio::io::split`).
pub(crate) struct Connection<H, R, W> {
    shared: Arc<Shared<H>>,
    reader: R,
    writer: W,
    session: ServerSession,
    ctx: SessionContext,
    /// Woken by the hub when a queue of this connection's players becomes non-empty.
    notify: Arc<Notify>,
    membership: Membership<Arc<Notify>>,
    wake: Vec<Arc<Notify>>,
    /// Whether the hub may hold deliveries for this connection's players: set when
    /// woken or a play starts, cleared by a pull (which waits while the socket is
    /// backed up, leaving the hub's drop policy to act).
    woken: bool,
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
        peer: SocketAddr,
        id: u64,
        seed: u64,
    ) -> Self {
        let session = ServerSession::new(shared.config.session.clone(), Instant::now(), seed);
        let notify = Arc::new(Notify::new());
        Connection {
            shared,
            reader,
            writer,
            session,
            ctx: SessionContext {
                session_id: id,
                peer_addr: peer,
                app: String::new(),
            },
            membership: Membership::new(notify.clone()),
            woken: true,
            notify,
            wake: Vec::new(),
        }
    }

    pub(crate) async fn run(mut self, stop: watch::Receiver<bool>) {
        let span =
            tracing::info_span!("session", id = self.ctx.session_id, peer = %self.ctx.peer_addr);
        async move {
            tracing::debug!("connected");
            let outcome = self.serve(stop).await;
            self.cleanup().await;
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
        loop {
            self.handle_events().await?;
            if self.woken
                && self.membership.is_playing()
                && self.session.output().len() < PULL_BELOW
            {
                self.woken = false;
                let status =
                    self.membership
                        .pull(&mut self.shared.hub(), &mut self.session, Instant::now());
                if status == DrainStatus::Evicted {
                    return Err("player fell too far behind: queue bound exceeded".into());
                }
            }
            if self.session.is_closing() && self.session.output().is_empty() {
                return Err(self.close_reason());
            }
            let next = self
                .session
                .poll_timeout()
                .map_or_else(far_future, tokio::time::Instant::from_std);
            if next != deadline {
                deadline = next;
                sleep.as_mut().reset(deadline);
            }
            let (reader, writer) = (&mut self.reader, &mut self.writer);
            let session = &self.session;
            tokio::select! {
                read = reader.read(&mut buf), if !session.is_closing() => match read {
                    Ok(0) => return Ok(()),
                    Ok(n) => {
                        let _ = self.session.handle_input(Instant::now(), &buf[..n]);
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
                        self.session.advance_output(n);
                        if self.session.output().is_empty() {
                            // TLS holds records until flushed; for TCP this is free.
                            self.writer.flush().await.map_err(|e| format!("write failed: {e}"))?;
                        }
                    }
                    Err(e) => return Err(format!("write failed: {e}")),
                },
                () = &mut notified, if self.membership.is_playing() => {
                    self.woken = true;
                    notified.set(notify.notified());
                }
                () = &mut sleep => {
                    let _ = self.session.handle_timeout(Instant::now());
                }
                _ = stop.changed() => return Err("server shutting down".into()),
            }
        }
    }

    fn close_reason(&self) -> String {
        self.session.error().map_or_else(
            || "closed by the server".to_owned(),
            SessionError::to_string,
        )
    }

    /// Routes the session's events: media to the hub (under one lock per batch), the
    /// rest to the handler. Fails if this connection's publish was taken over.
    async fn handle_events(&mut self) -> Result<(), String> {
        loop {
            // Most turns (a player's) have no events: don't touch the hub then.
            let Some(first) = self.session.poll_event() else {
                return Ok(());
            };
            let now = Instant::now();
            let routed = {
                let mut hub = self.shared.hub();
                std::iter::once(first)
                    .chain(std::iter::from_fn(|| self.session.poll_event()))
                    .map(|event| self.membership.route(&mut hub, event, now, &mut self.wake))
                    .find(|routed| *routed != Routed::Nothing)
            };
            self.wake_players();
            match routed {
                None | Some(Routed::Nothing) => return Ok(()),
                Some(Routed::Unpublished(params)) => {
                    tracing::info!(key = %StreamKey::new(&params.app, &params.stream_key), "unpublish");
                    self.shared.handler.on_unpublish(&self.ctx, &params).await;
                }
                Some(Routed::TakenOver(params)) => {
                    self.shared.handler.on_unpublish(&self.ctx, &params).await;
                    return Err("publish taken over by a newer publisher".into());
                }
                Some(Routed::App(event)) => self.handle_request(event).await,
            }
        }
    }

    async fn handle_request(&mut self, event: ServerEvent) {
        let shared = self.shared.clone();
        let handler = &shared.handler;
        match event {
            ServerEvent::ConnectRequest { id, params } => {
                match handler.on_connect(&self.ctx, &params).await {
                    AuthResult::Accept => {
                        tracing::info!(app = %params.app, flash_ver = ?params.flash_ver, "connect");
                        self.ctx.app = params.app;
                        self.session.accept(Instant::now(), id);
                    }
                    AuthResult::Reject(reason) => {
                        tracing::info!(app = %params.app, %reason, "connect rejected");
                        self.session.reject(Instant::now(), id, &reason);
                    }
                }
            }
            ServerEvent::PublishRequest { id, params } => {
                let key = StreamKey::new(&params.app, &params.stream_key);
                if let AuthResult::Reject(reason) = handler.on_publish(&self.ctx, &params).await {
                    tracing::info!(%key, %reason, "publish rejected");
                    self.session.reject(Instant::now(), id, &reason);
                    return;
                }
                let mut hub = shared.hub();
                match self.membership.accept_publish(
                    &mut hub,
                    &mut self.session,
                    Instant::now(),
                    id,
                    params,
                    &mut self.wake,
                ) {
                    Ok(()) => tracing::info!(%key, "publish"),
                    Err(e) => tracing::info!(%key, reason = %e, "publish refused"),
                }
                drop(hub);
                self.wake_players();
            }
            ServerEvent::PlayRequest { id, params } => {
                let key = StreamKey::new(&params.app, &params.stream_key);
                if let AuthResult::Reject(reason) = handler.on_play(&self.ctx, &params).await {
                    tracing::info!(%key, %reason, "play rejected");
                    self.session.reject(Instant::now(), id, &reason);
                    return;
                }
                let mut hub = shared.hub();
                match self.membership.accept_play(
                    &mut hub,
                    &mut self.session,
                    Instant::now(),
                    id,
                    &params,
                ) {
                    Ok(()) => {
                        self.woken = true;
                        tracing::info!(%key, "play");
                    }
                    Err(e) => tracing::info!(%key, reason = %e, "play refused"),
                }
            }
            ServerEvent::HandshakeComplete => tracing::trace!("handshake complete"),
            other => tracing::trace!(?other, "event not for the handler"),
        }
    }

    fn wake_players(&mut self) {
        for waker in self.wake.drain(..) {
            waker.notify_one();
        }
    }

    /// Releases everything this connection held in the hub, telling players at once.
    async fn cleanup(&mut self) {
        let ended = self
            .membership
            .release(&mut self.shared.hub(), &mut self.wake);
        self.wake_players();
        for params in ended {
            tracing::info!(key = %StreamKey::new(&params.app, &params.stream_key), "unpublish");
            self.shared.handler.on_unpublish(&self.ctx, &params).await;
        }
        let _ = self.writer.shutdown().await;
        self.shared.handler.on_disconnect(&self.ctx).await;
    }
}

/// A deadline that never comes, for a connection with no timer due.
fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(86_400 * 365)
}
