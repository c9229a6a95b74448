//! One connection's task: the core's [`serve`] loop on a Tokio stream and timer.

use crate::server::Shared;
use crate::RtmpHandler;
use rtmp_proto::app::serve::{self, ConnectionIo};
use rtmp_proto::app::{drive, LiveConnection, ServerConnection};
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::Sleep;
use tracing::Instrument;

/// Serves one accepted stream (TCP, or TLS over it) until it ends.
pub(crate) async fn run<H, S>(
    shared: &Shared<H>,
    stream: S,
    (local, peer): (SocketAddr, SocketAddr),
    (id, live): (u64, Arc<LiveConnection>),
) where
    H: RtmpHandler,
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let (config, seed) = (shared.config.session.clone(), shared.seed);
    let mut conn = ServerConnection::new(config, Instant::now(), seed, id, peer, live.clone());
    let span = tracing::info_span!("session", id, %peer);
    async {
        if !shared.handler.on_connection(peer).await {
            tracing::info!("refused by on_connection");
            return;
        }
        if let Some(capture) = &shared.config.capture {
            conn.record(capture, local);
        }
        tracing::debug!("connected");
        let mut io = TokioIo {
            stream,
            sleep: Box::pin(tokio::time::sleep_until(tokio::time::Instant::now())),
        };
        let (handler, hub) = (&shared.handler, &*shared.hub);
        let read_buffer = shared.config.read_buffer;
        let outcome = serve::serve(&mut conn, handler, hub, &mut io, &live, read_buffer).await;
        let _ = io.stream.shutdown().await;
        drive::close(&mut conn, handler, hub, serve::wake).await;
        match outcome {
            Ok(()) => tracing::info!("closed"),
            Err(reason) => tracing::info!(%reason, "closed"),
        }
    }
    .instrument(span)
    .await
}

/// A Tokio stream and timer as the core's loop drives them.
struct TokioIo<S> {
    stream: S,
    sleep: Pin<Box<Sleep>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> ConnectionIo for TokioIo<S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        ready!(Pin::new(&mut self.stream).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
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
        self.sleep.as_mut().reset(deadline.into());
    }

    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.sleep.as_mut().poll(cx)
    }
}
