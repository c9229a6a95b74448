//! One connection's task: the read → session → handler → write loop.

use crate::server::Shared;
use crate::{AuthResult, RtmpHandler, SessionContext};
use rtmp_proto::hub::{Delivery, DrainStatus, PlayerId, PublishHandle, StreamKey};
use rtmp_proto::message::PublishParams;
use rtmp_proto::{ServerEvent, ServerSession, SessionError};
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify};
use tracing::Instrument;

/// A player pulls more from the hub only once its unwritten output is below this, so
/// a slow socket leaves data in the hub queue, where the drop policy applies.
const PULL_BELOW: usize = 256 * 1024;
/// Most segments handed to one vectored write.
const MAX_IOVECS: usize = 64;

struct Publishing {
    stream_id: u32,
    handle: PublishHandle,
    params: PublishParams,
}

pub(crate) struct Connection<H> {
    shared: Arc<Shared<H>>,
    stream: TcpStream,
    session: ServerSession,
    ctx: SessionContext,
    /// Woken by the hub when a queue of this connection's players becomes non-empty.
    notify: Arc<Notify>,
    publishing: Vec<Publishing>,
    playing: Vec<(u32, PlayerId)>,
    wake: Vec<Arc<Notify>>,
    deliveries: Vec<Delivery>,
}

impl<H: RtmpHandler> Connection<H> {
    pub(crate) fn new(
        shared: Arc<Shared<H>>,
        stream: TcpStream,
        peer: SocketAddr,
        id: u64,
        seed: u64,
    ) -> Self {
        let session = ServerSession::new(shared.config.session.clone(), Instant::now(), seed);
        Connection {
            shared,
            stream,
            session,
            ctx: SessionContext {
                session_id: id,
                peer_addr: peer,
                app: String::new(),
            },
            notify: Arc::new(Notify::new()),
            publishing: Vec::new(),
            playing: Vec::new(),
            wake: Vec::new(),
            deliveries: Vec::new(),
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
        loop {
            while let Some(event) = self.session.poll_event() {
                self.handle_event(event).await;
            }
            if !self.playing.is_empty() && self.session.pending_output() < PULL_BELOW {
                self.pull_deliveries()?;
            }
            if self.session.is_closing() && self.session.pending_output() == 0 {
                return Err(self.close_reason());
            }
            let deadline = self
                .session
                .poll_timeout()
                .map(tokio::time::Instant::from_std);
            let (mut reader, mut writer) = self.stream.split();
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
                    let count = session.output_slices(&mut slices);
                    writer.write_vectored(&slices[..count]).await
                }, if session.pending_output() > 0 => match written {
                    Ok(0) => return Err("peer stopped accepting data".into()),
                    Ok(n) => self.session.advance_output(n),
                    Err(e) => return Err(format!("write failed: {e}")),
                },
                () = self.notify.notified(), if !self.playing.is_empty() => {}
                () = sleep_until(deadline) => {
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

    async fn handle_event(&mut self, event: ServerEvent) {
        let shared = self.shared.clone();
        let handler = &shared.handler;
        match event {
            ServerEvent::HandshakeComplete => tracing::trace!("handshake complete"),
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
                if let AuthResult::Reject(reason) = handler.on_publish(&self.ctx, &params).await {
                    tracing::info!(key = %params.stream_key, %reason, "publish rejected");
                    self.session.reject(Instant::now(), id, &reason);
                    return;
                }
                let key = StreamKey::new(&params.app, &params.stream_key);
                let started = shared.hub().start_publish(&key, &mut self.wake);
                self.wake_players();
                match started {
                    Ok(handle) => {
                        tracing::info!(%key, "publish");
                        self.session.accept(Instant::now(), id);
                        self.publishing.push(Publishing {
                            stream_id: params.stream_id,
                            handle,
                            params,
                        });
                    }
                    Err(e) => {
                        tracing::info!(%key, reason = %e, "publish refused");
                        self.session.reject(Instant::now(), id, &e.to_string());
                    }
                }
            }
            ServerEvent::PlayRequest { id, params } => {
                if let AuthResult::Reject(reason) = handler.on_play(&self.ctx, &params).await {
                    tracing::info!(key = %params.stream_key, %reason, "play rejected");
                    self.session.reject(Instant::now(), id, &reason);
                    return;
                }
                let key = StreamKey::new(&params.app, &params.stream_key);
                let subscribed = shared.hub().subscribe(&key, self.notify.clone());
                match subscribed {
                    Ok(player) => {
                        tracing::info!(%key, "play");
                        self.session.accept(Instant::now(), id);
                        self.playing.push((params.stream_id, player));
                    }
                    Err(e) => self.session.reject(Instant::now(), id, &e.to_string()),
                }
            }
            ServerEvent::PublishStopped { stream_id } => {
                if let Some(at) = self
                    .publishing
                    .iter()
                    .position(|p| p.stream_id == stream_id)
                {
                    let publishing = self.publishing.remove(at);
                    self.stop_publish(publishing).await;
                }
            }
            ServerEvent::PlayStopped { stream_id } => {
                let mut hub = shared.hub();
                self.playing.retain(|(s, player)| {
                    let keep = *s != stream_id;
                    if !keep {
                        hub.unsubscribe(*player);
                    }
                    keep
                });
            }
            ServerEvent::Metadata { stream_id, payload } => {
                if let Some(p) = self.publishing.iter().find(|p| p.stream_id == stream_id) {
                    shared
                        .hub()
                        .publish_metadata(p.handle, payload, &mut self.wake);
                    self.wake_players();
                }
            }
            ServerEvent::Media { stream_id, message } => {
                if let Some(p) = self.publishing.iter().find(|p| p.stream_id == stream_id) {
                    shared
                        .hub()
                        .publish_media(p.handle, message, &mut self.wake);
                    self.wake_players();
                }
            }
        }
    }

    async fn stop_publish(&mut self, publishing: Publishing) {
        self.shared
            .hub()
            .stop_publish(publishing.handle, &mut self.wake);
        self.wake_players();
        tracing::info!(key = %StreamKey::new(&publishing.params.app, &publishing.params.stream_key), "unpublish");
        self.shared
            .handler
            .on_unpublish(&self.ctx, &publishing.params)
            .await;
    }

    fn wake_players(&mut self) {
        for waker in self.wake.drain(..) {
            waker.notify_one();
        }
    }

    /// Moves what the hub queued for this connection's players into the session.
    fn pull_deliveries(&mut self) -> Result<(), String> {
        for &(stream_id, player) in &self.playing {
            let status = self.shared.hub().drain(player, &mut self.deliveries);
            if status == DrainStatus::Evicted {
                return Err("player fell too far behind: queue bound exceeded".into());
            }
            for delivery in self.deliveries.drain(..) {
                self.session.deliver(stream_id, &delivery);
            }
        }
        Ok(())
    }

    /// Releases everything this connection held in the hub, telling players at once.
    async fn cleanup(&mut self) {
        for publishing in std::mem::take(&mut self.publishing) {
            self.stop_publish(publishing).await;
        }
        {
            let mut hub = self.shared.hub();
            for (_, player) in self.playing.drain(..) {
                hub.unsubscribe(player);
            }
        }
        let _ = self.stream.shutdown().await;
        self.shared.handler.on_disconnect(&self.ctx).await;
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
