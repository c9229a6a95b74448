//! One client connection: a [`ClientSession`] on a TCP or TLS socket, driven by the
//! adapter loop (read → session → vectored write → timers), plus what the session's
//! events mean for the connection's life.

use super::{ClientConfig, ClientError};
use rtmp_proto::app::{random_seed, MAX_IOVECS};
use rtmp_proto::capture::{CaptureRole, SessionCapture};
use rtmp_proto::enhanced::CapsEx;
use rtmp_proto::url::{RtmpUrl, Scheme};
use rtmp_proto::{ClientEvent, ClientIntent, ClientParams, ClientSession};
use std::future::Future;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;

/// A byte stream the connection runs on: TCP, or TLS over TCP.
trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// What one [`ClientConnection::turn`] did.
pub(crate) enum Turn<T> {
    /// Bytes moved or a timer ran: drain the session's events.
    Progress,
    /// The caller's future completed first.
    Extra(T),
    /// The server closed the connection, or the session finished closing it.
    Closed,
}

/// What a session event means for the connection.
#[derive(Debug)]
pub(crate) enum Lifecycle {
    /// The publish or play started.
    Started,
    /// The server refused or failed the stream.
    Failed(ClientError),
    /// A played stream ended (stop, complete or unpublished).
    Ended,
    /// The server asks to reconnect (E-RTMP), to this `tcUrl` if given.
    Redirect(Option<String>),
    /// Nothing for the connection's life.
    Nothing,
}

/// What a session event means for the connection (the session decides; this maps).
pub(crate) fn lifecycle(event: &ClientEvent) -> Lifecycle {
    match event {
        ClientEvent::PublishStarted | ClientEvent::PlayStarted => Lifecycle::Started,
        ClientEvent::StreamFailed { code, description } => {
            Lifecycle::Failed(ClientError::Rejected {
                code: code.clone(),
                description: description.clone(),
            })
        }
        ClientEvent::StreamEnded { .. } => Lifecycle::Ended,
        ClientEvent::ReconnectRequest { tc_url, .. } => Lifecycle::Redirect(tc_url.clone()),
        _ => Lifecycle::Nothing,
    }
}

/// The stream name a URL publishes or plays, required.
pub(crate) fn parse_url(url: &str) -> Result<RtmpUrl, ClientError> {
    let url = RtmpUrl::parse(url)?;
    if url.stream.is_empty() {
        return Err(ClientError::MissingStream);
    }
    Ok(url)
}

/// A session on a socket.
pub(crate) struct ClientConnection {
    reader: ReadHalf<Box<dyn Transport>>,
    writer: WriteHalf<Box<dyn Transport>>,
    session: ClientSession,
    buf: Vec<u8>,
    /// Bytes written since the last flush (TLS buffers records until flushed).
    unflushed: bool,
    /// The recording of this connection, when captures are on.
    capture: Option<SessionCapture>,
    opened: Instant,
}

impl ClientConnection {
    /// Connects (TCP, then TLS for `rtmps`) within the connect timeout and starts the
    /// RTMP handshake for `intent`.
    pub(crate) async fn open(
        url: &RtmpUrl,
        config: &ClientConfig,
        intent: ClientIntent,
    ) -> Result<ClientConnection, ClientError> {
        let opened = Instant::now();
        let (stream, ends) = tokio::time::timeout(config.connect_timeout, connect(url, config))
            .await
            .map_err(|_| ClientError::ConnectTimeout)??;
        let (reader, writer) = tokio::io::split(stream);
        let mut params = ClientParams::new(url.tc_url.clone(), url.app.clone());
        if config.reconnect.is_some() {
            // It follows reconnect requests: say so (E-RTMP capsEx Reconnect).
            params.caps_ex = CapsEx::RECONNECT;
        }
        let seed = random_seed();
        let session = ClientSession::new(config.session(), params, intent, Instant::now(), seed);
        let capture = config.capture.as_ref().and_then(|capture| {
            let (local, peer) = ends;
            let now = SystemTime::now();
            SessionCapture::create(capture, CaptureRole::Client, local, peer, 0, seed, now)
                .map_err(|e| tracing::warn!(error = %e, "capture not started"))
                .ok()
        });
        Ok(ClientConnection {
            capture,
            reader,
            writer,
            session,
            buf: vec![0; config.read_buffer.max(1024)],
            unflushed: false,
            opened,
        })
    }

    /// When connecting began (before TCP connect): the connect timeout counts from here.
    pub(crate) fn opened(&self) -> Instant {
        self.opened
    }

    pub(crate) fn session(&mut self) -> &mut ClientSession {
        &mut self.session
    }

    /// The next session event.
    pub(crate) fn poll_event(&mut self) -> Option<ClientEvent> {
        self.session.poll_event()
    }

    /// Waits for input, output progress, a session timer or `extra`, whichever comes
    /// first, and applies it. Input is served before timers, so a reader that was
    /// kept waiting does not time out on data that already arrived.
    pub(crate) async fn turn<F: Future>(
        &mut self,
        extra: F,
    ) -> Result<Turn<F::Output>, ClientError> {
        let session = &self.session;
        if session.is_closing() && session.output().is_empty() && !self.unflushed {
            return match session.error() {
                Some(e) => Err(e.clone().into()),
                None => Ok(Turn::Closed),
            };
        }
        let deadline = session.poll_timeout().map(tokio::time::Instant::from_std);
        let (reader, writer, buf) = (&mut self.reader, &mut self.writer, &mut self.buf);
        let unflushed = self.unflushed;
        tokio::select! {
            biased;
            read = reader.read(buf), if !session.is_closing() => match read {
                Ok(0) => Ok(Turn::Closed),
                Ok(n) => {
                    if let Some(capture) = &mut self.capture {
                        capture.received(SystemTime::now(), &buf[..n]);
                    }
                    self.session.handle_input(Instant::now(), &buf[..n])?;
                    Ok(Turn::Progress)
                }
                Err(e) => Err(e.into()),
            },
            written = write_or_flush(writer, session), if !session.output().is_empty() || unflushed => {
                match written? {
                    Some(0) => {
                        return Err(std::io::Error::from(std::io::ErrorKind::WriteZero).into())
                    }
                    Some(n) => {
                        if let Some(capture) = &mut self.capture {
                            let output = self.session.output().segments();
                            capture.sent(SystemTime::now(), output, n);
                        }
                        self.session.advance_output(n);
                        self.unflushed = true;
                    }
                    None => self.unflushed = false,
                }
                Ok(Turn::Progress)
            }
            () = sleep_until(deadline) => {
                self.session.handle_timeout(Instant::now())?;
                Ok(Turn::Progress)
            }
            value = extra => Ok(Turn::Extra(value)),
        }
    }

    /// Ends the stream politely (`FCUnpublish`/`deleteStream`), writes what is pending
    /// for up to the connect timeout and closes the socket.
    pub(crate) async fn close(&mut self, config: &ClientConfig) {
        self.session.close_stream();
        let flushed = tokio::time::timeout(config.connect_timeout, async {
            while let Ok(Turn::Progress) = self.turn(std::future::pending::<()>()).await {
                while self.session.poll_event().is_some() {}
            }
        })
        .await;
        if flushed.is_err() {
            tracing::debug!("closing: output not written within the connect timeout");
        }
        let _ = tokio::time::timeout(config.connect_timeout, self.writer.shutdown()).await;
        if let Some(capture) = self.capture.take() {
            capture.finish(SystemTime::now());
        }
    }
}

/// One vectored write of the pending output, or a flush once it is all written.
/// Returns the bytes written, `None` for a flush. Cancel-safe.
async fn write_or_flush<W: AsyncWrite + Unpin>(
    writer: &mut W,
    session: &ClientSession,
) -> std::io::Result<Option<usize>> {
    if session.output().is_empty() {
        return writer.flush().await.map(|()| None);
    }
    let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
    let count = session.output().io_slices(&mut slices);
    writer.write_vectored(&slices[..count]).await.map(Some)
}

/// Sleeps until `deadline`, forever without one.
pub(crate) async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Connects to `url`; returns the stream and its (local, peer) addresses.
async fn connect(
    url: &RtmpUrl,
    config: &ClientConfig,
) -> Result<(Box<dyn Transport>, (SocketAddr, SocketAddr)), ClientError> {
    let tcp = TcpStream::connect((url.host.as_str(), url.port)).await?;
    let _ = tcp.set_nodelay(true);
    let ends = (tcp.local_addr()?, tcp.peer_addr()?);
    tracing::debug!(url = %url, peer = %ends.1, "connected");
    match url.scheme {
        Scheme::Rtmp => Ok((Box::new(tcp), ends)),
        #[cfg(feature = "tls")]
        Scheme::Rtmps => Ok((
            Box::new(super::tls::connect(tcp, &url.host, &config.trust).await?),
            ends,
        )),
        #[cfg(not(feature = "tls"))]
        Scheme::Rtmps => {
            let _ = config;
            Err(ClientError::TlsUnavailable)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_outcomes_map_to_the_connection_life() {
        assert!(matches!(
            lifecycle(&ClientEvent::PlayStarted),
            Lifecycle::Started
        ));
        let failed = ClientEvent::StreamFailed {
            code: "NetStream.Publish.BadName".into(),
            description: "why".into(),
        };
        assert!(matches!(
            lifecycle(&failed),
            Lifecycle::Failed(ClientError::Rejected { code, .. }) if code == "NetStream.Publish.BadName"
        ));
        let ended = ClientEvent::StreamEnded {
            code: "NetStream.Play.UnpublishNotify".into(),
        };
        assert!(matches!(lifecycle(&ended), Lifecycle::Ended));
        let status = ClientEvent::Status {
            stream_id: 1,
            level: "status".into(),
            code: "x".into(),
            description: String::new(),
        };
        assert!(matches!(lifecycle(&status), Lifecycle::Nothing));
    }

    #[test]
    fn urls_must_name_a_stream() {
        assert!(matches!(
            parse_url("rtmp://h/live"),
            Err(ClientError::MissingStream)
        ));
        assert!(matches!(parse_url("nope"), Err(ClientError::Url(_))));
        assert_eq!(parse_url("rtmp://h/live/k").unwrap().stream, "k");
    }
}
