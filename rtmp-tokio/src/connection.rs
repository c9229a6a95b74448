//! One connection's task: the read → session → handler → write loop.

use crate::callbacks;
use crate::server::{SessionCounters, Shared};
use crate::{AuthResult, RtmpHandler, SessionContext, StreamContext};
use rtmp_proto::hub::{DrainStatus, Membership, Routed, StreamKey};
use rtmp_proto::{ServerEvent, ServerSession, SessionError};
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
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
    /// Bytes in and out, read by `ServerHandle::sessions`.
    counters: Arc<SessionCounters>,
    /// The stream key of each message stream this connection publishes or plays.
    stream_keys: Vec<(u32, String)>,
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
        let counters = shared.register_session(id, peer);
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
            counters,
            stream_keys: Vec::new(),
            notify,
            wake: Vec::new(),
        }
    }

    pub(crate) async fn run(mut self, stop: watch::Receiver<bool>) {
        let span =
            tracing::info_span!("session", id = self.ctx.session_id, peer = %self.ctx.peer_addr);
        async move {
            if !self.shared.handler.on_connection(self.ctx.peer_addr).await {
                tracing::info!("refused by on_connection");
                return;
            }
            tracing::debug!("connected");
            let outcome = self.serve(stop).await;
            self.cleanup().await;
            self.shared.unregister_session(self.ctx.session_id);
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
                        self.counters.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
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
                        self.counters.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
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

    /// The context of stream `stream_id` for media and stream callbacks.
    fn stream_context(&self, stream_id: u32) -> StreamContext {
        let key = self.stream_keys.iter().find(|(id, _)| *id == stream_id);
        StreamContext {
            session: self.ctx.clone(),
            stream_key: key.map(|(_, key)| key.clone()).unwrap_or_default(),
            stream_id,
        }
    }

    /// Runs the handler's media callbacks on media and metadata, then routes every
    /// event: media to the hub, requests to the handler. Fails if the connection must
    /// close (its publish was taken over, or the handler refused it).
    async fn handle_events(&mut self) -> Result<(), String> {
        let shared = self.shared.clone();
        while let Some(event) = self.session.poll_event() {
            match &event {
                ServerEvent::Media { stream_id, message } => {
                    let ctx = self.stream_context(*stream_id);
                    if !callbacks::media(&shared.handler, &ctx, message).await {
                        continue;
                    }
                }
                ServerEvent::Metadata { stream_id, payload } => {
                    let ctx = self.stream_context(*stream_id);
                    callbacks::metadata(&shared.handler, &ctx, payload).await;
                }
                _ => {}
            }
            let routed =
                self.membership
                    .route(&mut shared.hub(), event, Instant::now(), &mut self.wake);
            self.wake_players();
            match routed {
                Routed::Nothing => {}
                Routed::Unpublished(params) => {
                    tracing::info!(key = %StreamKey::new(&params.app, &params.stream_key), "unpublish");
                    shared.handler.on_unpublish(&self.ctx, &params).await;
                }
                Routed::TakenOver(params) => {
                    shared.handler.on_unpublish(&self.ctx, &params).await;
                    return Err("publish taken over by a newer publisher".into());
                }
                Routed::App(event) => self.handle_request(event).await?,
            }
        }
        Ok(())
    }

    async fn handle_request(&mut self, event: ServerEvent) -> Result<(), String> {
        let shared = self.shared.clone();
        let handler = &shared.handler;
        let now = Instant::now();
        match event {
            ServerEvent::HandshakeComplete => handler.on_handshake_complete(&self.ctx).await,
            ServerEvent::ConnectRequest { id, params } => {
                match handler.on_connect(&self.ctx, &params).await {
                    AuthResult::Accept => {
                        tracing::info!(app = %params.app, flash_ver = ?params.flash_ver, "connect");
                        self.ctx.app = params.app;
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
            ServerEvent::FcPublish { stream_key } => {
                match handler.on_fc_publish(&self.ctx, &stream_key).await {
                    AuthResult::Accept => {}
                    AuthResult::Reject(reason) | AuthResult::Redirect(reason) => {
                        return Err(format!("FCPublish of {stream_key} refused: {reason}"));
                    }
                }
            }
            ServerEvent::PublishRequest { id, params } => {
                let key = StreamKey::new(&params.app, &params.stream_key);
                if let Some(reason) = refusal(handler.on_publish(&self.ctx, &params).await) {
                    tracing::info!(%key, %reason, "publish rejected");
                    self.session.reject(now, id, &reason);
                    return Ok(());
                }
                let stream = (params.stream_id, params.stream_key.clone());
                let mut hub = shared.hub();
                let accepted = self.membership.accept_publish(
                    &mut hub,
                    &mut self.session,
                    now,
                    id,
                    params,
                    &mut self.wake,
                );
                drop(hub);
                self.wake_players();
                match accepted {
                    Ok(()) => {
                        tracing::info!(%key, "publish");
                        self.stream_keys.push(stream);
                    }
                    Err(e) => tracing::info!(%key, reason = %e, "publish refused"),
                }
            }
            ServerEvent::PlayRequest { id, params } => {
                let key = StreamKey::new(&params.app, &params.stream_key);
                if let Some(reason) = refusal(handler.on_play(&self.ctx, &params).await) {
                    tracing::info!(%key, %reason, "play rejected");
                    self.session.reject(now, id, &reason);
                    return Ok(());
                }
                let accepted = self.membership.accept_play(
                    &mut shared.hub(),
                    &mut self.session,
                    now,
                    id,
                    &params,
                );
                match accepted {
                    Ok(()) => {
                        self.woken = true;
                        self.stream_keys.push((params.stream_id, params.stream_key));
                        tracing::info!(%key, "play");
                    }
                    Err(e) => tracing::info!(%key, reason = %e, "play refused"),
                }
            }
            ServerEvent::Pause {
                stream_id,
                paused,
                position_ms,
            } => {
                let ctx = self.stream_context(stream_id);
                if paused {
                    handler.on_pause(&ctx, position_ms).await;
                } else {
                    handler.on_unpause(&ctx).await;
                }
            }
            other => tracing::trace!(?other, "event not for the handler"),
        }
        Ok(())
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

/// The reason to refuse a publish or play, if the handler did not accept it.
fn refusal(result: AuthResult) -> Option<String> {
    match result {
        AuthResult::Accept => None,
        AuthResult::Reject(reason) => Some(reason),
        AuthResult::Redirect(url) => Some(format!("redirected to {url}")),
    }
}

/// A deadline that never comes, for a connection with no timer due.
fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(86_400 * 365)
}
