//! [`RtmpClient`]: a [`ClientSession`] on any `futures-io` stream.

use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::io::{split, AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use futures_lite::FutureExt;
use rtmp_proto::app::{random_seed, MAX_IOVECS};
use rtmp_proto::{ClientEvent, ClientIntent, ClientParams, ClientSession, SessionConfig};
use std::io::{self, IoSlice};
use std::time::Instant;

/// A client connection: take its events with [`RtmpClient::next_event`] (which also
/// moves bytes and runs timers); publish through [`RtmpClient::session`]
/// (`send_media`, `send_metadata`) and then [`RtmpClient::flush`].
pub struct RtmpClient<S> {
    reader: ReadHalf<S>,
    writer: WriteHalf<S>,
    session: ClientSession,
    buf: Vec<u8>,
    timer: async_io::Timer,
    deadline: Option<Instant>,
}

/// What one turn of the client's loop did.
enum Step {
    Read(io::Result<usize>),
    Wrote(io::Result<usize>),
    Timer,
}

impl<S: AsyncRead + AsyncWrite + Unpin> RtmpClient<S> {
    /// A client on a connected `stream` that will `intent` (publish or play) once
    /// connected with `params`.
    pub fn new(
        stream: S,
        config: SessionConfig,
        params: ClientParams,
        intent: ClientIntent,
    ) -> Self {
        let seed = random_seed();
        let (reader, writer) = split(stream);
        RtmpClient {
            reader,
            writer,
            session: ClientSession::new(config, params, intent, Instant::now(), seed),
            buf: vec![0; 64 * 1024],
            timer: async_io::Timer::never(),
            deadline: None,
        }
    }

    /// The protocol session: send media and metadata, pause, close the stream.
    pub fn session(&mut self) -> &mut ClientSession {
        &mut self.session
    }

    /// The next event, moving bytes both ways and running timers until one comes;
    /// `None` once the connection is over, an error if the session failed.
    pub async fn next_event(&mut self) -> io::Result<Option<ClientEvent>> {
        loop {
            if let Some(event) = self.session.poll_event() {
                return Ok(Some(event));
            }
            if self.session.is_closing() && self.session.output().is_empty() {
                return match self.session.error() {
                    Some(e) => Err(io::Error::other(e.clone())),
                    None => Ok(None),
                };
            }
            if self.turn().await? {
                return Ok(None);
            }
        }
    }

    /// Writes all pending output, reading meanwhile so the peer is never stuck
    /// (events that arrive wait for [`RtmpClient::next_event`]).
    pub async fn flush(&mut self) -> io::Result<()> {
        while !self.session.output().is_empty() {
            if self.turn().await? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(())
    }

    /// Waits for input, output progress or the session's timer and applies it;
    /// `true` when the peer closed the connection.
    async fn turn(&mut self) -> io::Result<bool> {
        let next = self.session.poll_timeout();
        if next != self.deadline {
            self.deadline = next;
            match next {
                Some(at) => self.timer.set_at(at),
                None => self.timer = async_io::Timer::never(),
            }
        }
        let session = &self.session;
        let (reader, writer, buf, timer) = (
            &mut self.reader,
            &mut self.writer,
            &mut self.buf,
            &mut self.timer,
        );
        let read = async {
            if session.is_closing() {
                std::future::pending().await
            }
            Step::Read(reader.read(buf).await)
        };
        let write = async {
            if session.output().is_empty() {
                std::future::pending().await
            }
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let count = session.output().io_slices(&mut slices);
            Step::Wrote(writer.write_vectored(&slices[..count]).await)
        };
        let tick = async {
            timer.await;
            Step::Timer
        };
        match read.or(write).or(tick).await {
            Step::Read(Ok(0)) => return Ok(true),
            // A session error ends the session; next_event reports it once the
            // session's last words are written.
            Step::Read(Ok(n)) => {
                let _ = self.session.handle_input(Instant::now(), &self.buf[..n]);
            }
            Step::Read(Err(e)) | Step::Wrote(Err(e)) => return Err(e),
            Step::Wrote(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
            Step::Wrote(Ok(n)) => {
                self.session.advance_output(n);
                if self.session.output().is_empty() {
                    self.writer.flush().await?;
                }
            }
            Step::Timer => {
                let _ = self.session.handle_timeout(Instant::now());
            }
        }
        Ok(false)
    }
}

#[cfg(feature = "async-std")]
impl RtmpClient<async_std::net::TcpStream> {
    /// Connects over TCP (async-std) to play `url` (`rtmp://host[:port]/app/stream`).
    pub async fn play(url: &str, config: SessionConfig) -> io::Result<Self> {
        Self::connect(url, config, |stream| ClientIntent::Play {
            stream,
            start: -2.0,
        })
        .await
    }

    /// Connects over TCP (async-std) to publish `url` live.
    pub async fn publish(url: &str, config: SessionConfig) -> io::Result<Self> {
        Self::connect(url, config, |stream| ClientIntent::Publish {
            stream,
            publish_type: "live".into(),
        })
        .await
    }

    async fn connect(
        url: &str,
        config: SessionConfig,
        intent: impl FnOnce(String) -> ClientIntent,
    ) -> io::Result<Self> {
        let url = rtmp_proto::url::RtmpUrl::parse(url)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let stream = async_std::net::TcpStream::connect((url.host.as_str(), url.port)).await?;
        let _ = stream.set_nodelay(true);
        let params = ClientParams::new(url.tc_url.clone(), url.app.clone());
        Ok(RtmpClient::new(stream, config, params, intent(url.stream)))
    }
}
