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
use std::task::{Context, Poll, Waker};
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
    live.notify_deliveries();
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
    live: &Arc<LiveConnection>,
    read_buffer: usize,
) -> Result<(), String> {
    let mut io = Io {
        io,
        buf: vec![0; read_buffer.max(1024)],
        unflushed: false,
        read_armed: false,
        timer_armed: None,
    };
    // What the socket and the timer wake: marks the wakeup as theirs, then wakes the task.
    let io_waker = Waker::from(live.clone());
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
        let step = poll_fn(|cx| io.step(cx, &mut Context::from_waker(&io_waker), conn, hub, live));
        match step.await? {
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
    /// The socket had nothing to read, and has not woken the loop since.
    read_armed: bool,
    /// The deadline the timer was last polled with, if it has not woken the loop since.
    timer_armed: Option<Instant>,
}

impl<I: ConnectionIo> Io<'_, I> {
    /// Does everything the socket and the hub are ready for, polling the socket and the
    /// timer with `io_cx`. `Ready` when the session may have events (it read or timed
    /// out) or the connection ends.
    fn step(
        &mut self,
        cx: &mut Context<'_>,
        io_cx: &mut Context<'_>,
        conn: &mut ServerConnection<Arc<LiveConnection>>,
        hub: &SharedHub,
        live: &Arc<LiveConnection>,
    ) -> Poll<Result<Step, String>> {
        let signals = live.poll_signals(cx);
        if signals.stopped {
            return Poll::Ready(Err("server shutting down".into()));
        }
        if signals.woken {
            conn.woken();
        }
        if signals.io {
            (self.read_armed, self.timer_armed) = (false, None);
        }
        let cx = io_cx;
        drive::pull(conn, hub)?;
        self.write(cx, conn, hub, live)?;
        if conn.finished().is_some() {
            return Poll::Ready(Ok(Step::Continue));
        }
        if let Some(deadline) = conn.session().poll_timeout() {
            if self.timer_armed != Some(deadline) {
                if self.io.poll_timer(cx, deadline).is_ready() {
                    let _ = conn.session_mut().handle_timeout(Instant::now());
                    return Poll::Ready(Ok(Step::Continue));
                }
                self.timer_armed = Some(deadline);
            }
        }
        if conn.session().is_closing() || self.read_armed {
            return Poll::Pending;
        }
        match self.io.poll_read(cx, &mut self.buf) {
            Poll::Pending => {
                self.read_armed = true;
                Poll::Pending
            }
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
