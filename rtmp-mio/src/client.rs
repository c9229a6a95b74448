//! [`RtmpClient`]: a [`ClientSession`] on a mio socket, for publishing or playing from
//! the same loop that serves.

use mio::event::Event;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use rtmp_proto::app::{random_seed, MAX_IOVECS};
use rtmp_proto::capture::{CaptureConfig, CaptureRole, SessionCapture};
use rtmp_proto::{ClientEvent, ClientIntent, ClientParams, ClientSession, SessionConfig};
use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

/// One client connection on a mio registry. After each readiness event of its token
/// call [`RtmpClient::handle_event`], then take its [`ClientEvent`]s; publish with
/// [`RtmpClient::session`] (`send_media`, `send_metadata`) followed by
/// [`RtmpClient::flush`]; honour [`RtmpClient::poll_timeout`].
pub struct RtmpClient {
    stream: TcpStream,
    session: ClientSession,
    readable: bool,
    writable: bool,
    buf: Vec<u8>,
    closed: bool,
    rng_seed: u64,
    /// The recording of this connection, once [`RtmpClient::record`] started it.
    capture: Option<SessionCapture>,
}

impl RtmpClient {
    /// Starts connecting to `addr` (non-blocking) to `intent` with `params`.
    pub fn connect(
        addr: SocketAddr,
        config: SessionConfig,
        params: ClientParams,
        intent: ClientIntent,
    ) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        let _ = stream.set_nodelay(true);
        let seed = random_seed();
        Ok(RtmpClient {
            stream,
            session: ClientSession::new(config, params, intent, Instant::now(), seed),
            readable: false,
            writable: false,
            buf: vec![0; 64 * 1024],
            closed: false,
            rng_seed: seed,
            capture: None,
        })
    }

    /// Records this connection as a pcapng file (see `rtmp_proto::capture`); call it
    /// right after `connect`, so the file holds the whole session.
    pub fn record(&mut self, config: &CaptureConfig, peer: SocketAddr) -> io::Result<()> {
        let local = self.stream.local_addr()?;
        let (seed, now) = (self.rng_seed, SystemTime::now());
        let capture =
            SessionCapture::create(config, CaptureRole::Client, local, peer, 0, seed, now)?;
        self.capture = Some(capture);
        Ok(())
    }

    /// Registers the socket with `token` for reading and writing.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut self.stream,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )
    }

    /// Removes the socket from `registry` (before dropping the client).
    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        registry.deregister(&mut self.stream)
    }

    /// The protocol session: send media and metadata, pause, close the stream; then
    /// [`RtmpClient::flush`].
    pub fn session(&mut self) -> &mut ClientSession {
        &mut self.session
    }

    /// The next event of the session.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.session.poll_event()
    }

    /// Whether the connection is over (closed by either side, or failed).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Reads what arrived and writes what is pending for a readiness event. `Err`
    /// means the connection failed; it is closed.
    pub fn handle_event(&mut self, event: &Event) -> io::Result<()> {
        self.readable |= event.is_readable() || event.is_read_closed() || event.is_error();
        self.writable |= event.is_writable() || event.is_error();
        self.run()
    }

    /// Writes pending output as far as the socket takes it.
    pub fn flush(&mut self) -> io::Result<()> {
        self.run()
    }

    /// When [`RtmpClient::handle_timeout`] is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }

    /// Runs the session's timers at `now` (pings, timeouts) and writes what they queued.
    pub fn handle_timeout(&mut self, now: Instant) -> io::Result<()> {
        let result = self.session.handle_timeout(now);
        self.run()?;
        result.map_err(|e| self.fail(io::Error::other(e)))
    }

    /// Reads until the socket is drained, then writes until it is full or the output
    /// is written.
    fn run(&mut self) -> io::Result<()> {
        while self.readable && !self.closed {
            match self.stream.read(&mut self.buf) {
                Ok(0) => self.closed = true,
                Ok(n) => {
                    if let Some(capture) = &mut self.capture {
                        capture.received(SystemTime::now(), &self.buf[..n]);
                    }
                    if let Err(e) = self.session.handle_input(Instant::now(), &self.buf[..n]) {
                        // What the session still has to say (an abort) goes out first.
                        let _ = self.write();
                        return Err(self.fail(io::Error::other(e)));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail(e)),
            }
        }
        self.write().map_err(|e| self.fail(e))?;
        if self.session.is_closing() && self.session.output().is_empty() {
            self.closed = true;
        }
        Ok(())
    }

    fn write(&mut self) -> io::Result<()> {
        while self.writable && !self.session.output().is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let count = self.session.output().io_slices(&mut slices);
            match self.stream.write_vectored(&slices[..count]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    if let Some(capture) = &mut self.capture {
                        capture.sent(SystemTime::now(), self.session.output().segments(), n);
                    }
                    self.session.advance_output(n)
                }
                // Still connecting: the first writable event says it is done.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::NotConnected
                    ) =>
                {
                    self.writable = false
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn fail(&mut self, error: io::Error) -> io::Error {
        self.closed = true;
        error
    }

    /// Ends the recording, if any, with the connection's close.
    pub fn finish_capture(&mut self) {
        if let Some(capture) = self.capture.take() {
            capture.finish(SystemTime::now());
        }
    }
}
