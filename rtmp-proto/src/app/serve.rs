//! [`serve`]: the whole connection loop of an executor-based server (Tokio,
//! async-std, smol), written once against [`ConnectionIo`], which each adapter
//! implements for its runtime's socket and timer.
//!
//! One poll of the loop does everything the socket is ready for — pull from the hub,
//! write until the socket is full, fire the session's timer, read — with no future
//! built or dropped per wakeup, and it awaits the handler only when the session has
//! events. That keeps a player's wakeup (the common case under fan-out) at one task
//! poll and one vectored write.

use super::{drive, LiveConnection, RtmpHandler, ServerConnection, MAX_IOVECS};
use crate::hub::Hub;
use std::future::{poll_fn, Future};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

/// The hub as executor-based servers share it: players are woken through their
/// [`LiveConnection`].
pub type SharedHub = Mutex<Hub<Arc<LiveConnection>>>;

/// Steps the loop takes in a row before it lets other tasks run: a publisher with a
/// full socket cannot hold its thread.
const STEPS_PER_TURN: u32 = 32;

/// A connection's socket and timer as a runtime provides them, in poll form. Each
/// method registers the task for a wakeup when it returns `Pending`.
pub trait ConnectionIo {
    /// Reads into `buf`; `Ok(0)` when the peer closed.
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Writes from `bufs`, in order.
    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;

    /// Pushes out whatever the stream buffers (TLS records); plain TCP is always done.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Ready once `deadline` has passed. Called with the session's next deadline on
    /// every poll; a new deadline replaces the previous one.
    fn poll_timer(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()>;
}

/// Wakes a connection the hub named.
pub fn wake(live: Arc<LiveConnection>) {
    live.wake();
}

/// Serves one connection until it ends: `Ok` when the peer closed it, `Err` with the
/// reason otherwise (a protocol error, the app's refusal, shutdown via
/// [`LiveConnection::stop`], a write failure). The caller then closes the socket and
/// runs [`drive::close`].
pub async fn serve<H: RtmpHandler, I: ConnectionIo>(
    conn: &mut ServerConnection<Arc<LiveConnection>>,
    handler: &H,
    hub: &SharedHub,
    io: &mut I,
    live: &LiveConnection,
    read_buffer: usize,
) -> Result<(), String> {
    let mut io = Io {
        io,
        buf: vec![0; read_buffer.max(1024)],
        unflushed: false,
    };
    let mut steps = 0;
    loop {
        drive::handle_events(conn, handler, hub, wake).await?;
        if let Some(reason) = conn.finished() {
            return Err(reason);
        }
        steps += 1;
        if steps == STEPS_PER_TURN {
            steps = 0;
            YieldNow(false).await;
        }
        match poll_fn(|cx| io.step(cx, conn, hub, live)).await? {
            Step::Continue => {}
            Step::PeerClosed => return Ok(()),
        }
    }
}

/// What a ready step of the loop leaves to do.
enum Step {
    /// Session events (or a close) to handle.
    Continue,
    /// The peer closed the connection.
    PeerClosed,
}

/// The I/O state of one connection's loop.
struct Io<'a, I> {
    io: &'a mut I,
    buf: Vec<u8>,
    /// Written since the last flush.
    unflushed: bool,
}

impl<I: ConnectionIo> Io<'_, I> {
    /// Does everything the socket and the hub are ready for. `Ready` when the session
    /// may have events (it read or timed out) or the connection ends.
    fn step(
        &mut self,
        cx: &mut Context<'_>,
        conn: &mut ServerConnection<Arc<LiveConnection>>,
        hub: &SharedHub,
        live: &LiveConnection,
    ) -> Poll<Result<Step, String>> {
        let signals = live.poll_signals(cx);
        if signals.stopped {
            return Poll::Ready(Err("server shutting down".into()));
        }
        if signals.woken {
            conn.woken();
        }
        drive::pull(conn, hub)?;
        self.write(cx, conn, hub, live)?;
        if conn.finished().is_some() {
            return Poll::Ready(Ok(Step::Continue));
        }
        if let Some(deadline) = conn.session().poll_timeout() {
            if self.io.poll_timer(cx, deadline).is_ready() {
                let _ = conn.session_mut().handle_timeout(Instant::now());
                return Poll::Ready(Ok(Step::Continue));
            }
        }
        if conn.session().is_closing() {
            return Poll::Pending;
        }
        match self.io.poll_read(cx, &mut self.buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(0)) => Poll::Ready(Ok(Step::PeerClosed)),
            Poll::Ready(Ok(n)) => {
                live.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
                conn.receive(Instant::now(), &self.buf[..n]);
                Poll::Ready(Ok(Step::Continue))
            }
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::ConnectionReset => {
                Poll::Ready(Ok(Step::PeerClosed))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(format!("read failed: {e}"))),
        }
    }

    /// Writes the session's output until it is empty (then flushes) or the socket is
    /// full, pulling more from the hub as it drains.
    fn write(
        &mut self,
        cx: &mut Context<'_>,
        conn: &mut ServerConnection<Arc<LiveConnection>>,
        hub: &SharedHub,
        live: &LiveConnection,
    ) -> Result<(), String> {
        while !conn.session().output().is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let count = conn.session().output().io_slices(&mut slices);
            match self.io.poll_write_vectored(cx, &slices[..count]) {
                Poll::Pending => return Ok(()),
                Poll::Ready(Ok(0)) => return Err("peer stopped accepting data".into()),
                Poll::Ready(Ok(n)) => {
                    live.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
                    conn.written(n);
                    self.unflushed = true;
                    drive::pull(conn, hub)?;
                }
                Poll::Ready(Err(e)) => return Err(format!("write failed: {e}")),
            }
        }
        if self.unflushed {
            match self.io.poll_flush(cx) {
                Poll::Pending => {}
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(e)) => return Err(format!("write failed: {e}")),
            }
        }
        Ok(())
    }
}

/// Pending once (after asking to be polled again), then ready: lets other tasks run.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
