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

/// Bytes a connection's read buffer starts with (it grows to the configured size
/// while reads fill it).
const FIRST_READ_BUFFER: usize = 4096;

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

    /// Moves the timer to `deadline` (called only when the session's deadline changes).
    fn set_timer(&mut self, deadline: Instant);

    /// Ready once the deadline last set has passed.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()>;
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
    let max_read = read_buffer.max(1024);
    let mut io = Io {
        io,
        buf: vec![0; FIRST_READ_BUFFER.min(max_read)],
        max_read,
        unflushed: false,
        read_armed: false,
        timer_at: None,
        timer_armed: false,
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
    /// Read into; starts small and doubles, up to `max_read`, each time a read fills
    /// it, so a player (which reads little) keeps a small one and a publisher grows one.
    buf: Vec<u8>,
    max_read: usize,
    /// Written since the last flush.
    unflushed: bool,
    /// The socket had nothing to read, and has not woken the loop since.
    read_armed: bool,
    /// What the timer is set to.
    timer_at: Option<Instant>,
    /// The timer was polled since it was set, and has not woken the loop since.
    timer_armed: bool,
}

impl<I: ConnectionIo> Io<'_, I> {
    /// Does everything the socket and the hub are ready for: takes the signals for the
    /// task of `task_cx`, polls the socket and the timer with `cx`. `Ready` when the
    /// session may have events (it read or timed out) or the connection ends.
    fn step(
        &mut self,
        task_cx: &Context<'_>,
        cx: &mut Context<'_>,
        conn: &mut ServerConnection<Arc<LiveConnection>>,
        hub: &SharedHub,
        live: &LiveConnection,
    ) -> Poll<Result<Step, String>> {
        let signals = live.poll_signals(task_cx);
        if signals.stopped {
            return Poll::Ready(Err("server shutting down".into()));
        }
        if signals.woken {
            conn.woken();
        }
        if signals.io {
            (self.read_armed, self.timer_armed) = (false, false);
        }
        drive::pull(conn, hub)?;
        self.write(cx, conn, hub, live)?;
        if conn.finished().is_some() {
            return Poll::Ready(Ok(Step::Continue));
        }
        if let Some(deadline) = conn.session().poll_timeout() {
            if self.timer_at != Some(deadline) {
                self.io.set_timer(deadline);
                (self.timer_at, self.timer_armed) = (Some(deadline), false);
            }
            if !self.timer_armed {
                if self.io.poll_timer(cx).is_ready() {
                    let _ = conn.session_mut().handle_timeout(Instant::now());
                    return Poll::Ready(Ok(Step::Continue));
                }
                self.timer_armed = true;
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
                if n == self.buf.len() && n < self.max_read {
                    self.buf.resize((2 * n).min(self.max_read), 0);
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{SessionRegistry, StreamContext};
    use crate::hub::HubConfig;
    use crate::media::{MediaKind, MediaMessage};
    use crate::{ClientEvent, ClientIntent, ClientParams, ClientSession, SessionConfig};
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    /// Counts the media messages that reach the handler.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl RtmpHandler for Counting {
        async fn on_media_tag(&self, _: &StreamContext, _: &MediaMessage) -> bool {
            self.0.fetch_add(1, Ordering::SeqCst);
            true
        }
    }

    /// The server's socket, with our client session at the other end: what the server
    /// writes is fed to the client at once, and reads take the client's output. Once
    /// publishing, the client sends `frames` video frames of 20 KB, then hangs up.
    struct Duplex {
        client: ClientSession,
        frames: usize,
        /// The buffer size of each read the loop made.
        offered: Vec<usize>,
    }

    impl ConnectionIo for Duplex {
        fn poll_read(&mut self, _: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
            self.offered.push(buf.len());
            while let Some(event) = self.client.poll_event() {
                if let ClientEvent::Status { code, .. } = event {
                    if code == "NetStream.Publish.Start" {
                        for ts in 0..self.frames as u32 {
                            let mut payload = vec![0x17, 1, 0, 0, 0];
                            payload.resize(20_000, 7);
                            let frame =
                                MediaMessage::new(MediaKind::Video, ts * 33, payload.into());
                            self.client.send_media(&frame);
                        }
                    }
                }
            }
            let mut n = 0;
            for segment in self.client.output().segments() {
                let take = segment.len().min(buf.len() - n);
                buf[n..n + take].copy_from_slice(&segment[..take]);
                n += take;
            }
            self.client.advance_output(n);
            Poll::Ready(Ok(n))
        }

        fn poll_write_vectored(
            &mut self,
            _: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let bytes: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            let fed = self.client.handle_input(Instant::now(), &bytes);
            Poll::Ready(fed.map(|()| bytes.len()).map_err(io::Error::other))
        }

        fn poll_flush(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn set_timer(&mut self, _: Instant) {}

        fn poll_timer(&mut self, _: &mut Context<'_>) -> Poll<()> {
            Poll::Pending
        }
    }

    struct NoWake;
    impl Wake for NoWake {
        fn wake(self: Arc<Self>) {}
    }

    /// Polls `future` to completion; the duplex never leaves it waiting for I/O.
    fn run<F: Future>(future: F) -> F::Output {
        let waker = Waker::from(Arc::new(NoWake));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        for _ in 0..100_000 {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        }
        panic!("the loop did not finish");
    }

    #[test]
    fn a_publisher_is_served_to_the_end_and_its_read_buffer_grows_as_reads_fill_it() {
        let (now, peer) = (Instant::now(), "127.0.0.1:9".parse().unwrap());
        let intent = ClientIntent::Publish {
            stream: "key".into(),
            publish_type: "live".into(),
        };
        let params = ClientParams::new("rtmp://localhost/live", "live");
        let client = ClientSession::new(SessionConfig::default(), params, intent, now, 1);
        let mut io = Duplex {
            client,
            frames: 3,
            offered: Vec::new(),
        };
        let live = SessionRegistry::default().register(1, peer);
        let mut conn =
            ServerConnection::new(SessionConfig::default(), now, 2, 1, peer, live.clone());
        let hub = Mutex::new(Hub::new(HubConfig::default()));
        let handler = Counting::default();

        let outcome = run(serve(&mut conn, &handler, &hub, &mut io, &live, 32 * 1024));
        assert_eq!(outcome, Ok(()), "the client hung up after its frames");
        assert_eq!(
            handler.0.load(Ordering::SeqCst),
            3,
            "every frame reached the handler"
        );
        assert_eq!(io.offered[0], FIRST_READ_BUFFER, "reads start small");
        assert!(
            io.offered.contains(&(2 * FIRST_READ_BUFFER)),
            "and grow: {:?}",
            io.offered
        );
        assert_eq!(
            io.offered.iter().max(),
            Some(&(32 * 1024)),
            "up to the configured size"
        );
        assert!(live.bytes_in.load(Ordering::Relaxed) > 60_000);
    }
}
