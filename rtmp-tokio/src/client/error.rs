//! [`ClientError`]: why a client could not connect, or stopped.

use rtmp_proto::flv::FlvError;
use rtmp_proto::url::UrlError;
use rtmp_proto::SessionError;
use std::fmt;
use std::io;
use std::sync::Arc;

/// Why a puller or publisher failed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL could not be parsed.
    Url(UrlError),
    /// The URL names no stream (`rtmp://host/app` without `/key`).
    MissingStream,
    /// A socket or file operation failed.
    Io(Arc<io::Error>),
    /// No publish or play start within [`ClientConfig::connect_timeout`](super::ClientConfig::connect_timeout)
    /// (TCP, TLS, handshake, `connect`, `createStream`, `publish`/`play`).
    ConnectTimeout,
    /// The server sent nothing (not even a ping answer) for
    /// [`ClientConfig::read_timeout`](super::ClientConfig::read_timeout).
    ReadTimeout,
    /// The TLS handshake failed (certificate not trusted, not a TLS server, …).
    Tls(String),
    /// An `rtmps://` URL, but this build has no `tls` feature.
    TlsUnavailable,
    /// The server refused: an `_error` answer or an error-level status.
    Rejected {
        /// The status code (`NetStream.Publish.BadName`, `NetConnection.Connect.Rejected`, …).
        code: String,
        /// The server's description.
        description: String,
    },
    /// The protocol session failed (malformed data, a bound exceeded, …).
    Session(SessionError),
    /// An FLV file could not be read.
    Flv(FlvError),
    /// The server closed the connection before the stream started, or the client was
    /// already closed.
    Closed,
}

impl ClientError {
    /// Whether trying again cannot help (bad URL, refusal, untrusted certificate):
    /// such errors end a client even when reconnecting is enabled.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            ClientError::Url(_)
                | ClientError::MissingStream
                | ClientError::Tls(_)
                | ClientError::TlsUnavailable
                | ClientError::Rejected { .. }
                | ClientError::Flv(_)
        )
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Url(e) => write!(f, "bad URL: {e}"),
            ClientError::MissingStream => f.write_str("the URL names no stream (…/app/stream)"),
            ClientError::Io(e) => write!(f, "I/O error: {e}"),
            ClientError::ConnectTimeout => {
                f.write_str("the stream did not start within the connect timeout")
            }
            ClientError::ReadTimeout => f.write_str("the server went silent for the read timeout"),
            ClientError::Tls(e) => write!(f, "TLS failed: {e}"),
            ClientError::TlsUnavailable => {
                f.write_str("rtmps:// needs the `tls` feature, which this build lacks")
            }
            ClientError::Rejected { code, description } => {
                write!(f, "refused by the server: {code}: {description}")
            }
            ClientError::Session(e) => write!(f, "session failed: {e}"),
            ClientError::Flv(e) => write!(f, "bad FLV: {e}"),
            ClientError::Closed => f.write_str("connection closed"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Url(e) => Some(e),
            ClientError::Io(e) => Some(&**e),
            ClientError::Session(e) => Some(e),
            ClientError::Flv(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        ClientError::Io(Arc::new(e))
    }
}

impl From<UrlError> for ClientError {
    fn from(e: UrlError) -> Self {
        ClientError::Url(e)
    }
}

impl From<FlvError> for ClientError {
    fn from(e: FlvError) -> Self {
        ClientError::Flv(e)
    }
}

impl From<SessionError> for ClientError {
    /// Timeouts and refusals get their own variants; the rest stays a session error.
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::ConnectTimeout => ClientError::ConnectTimeout,
            SessionError::IdleTimeout | SessionError::PingTimeout => ClientError::ReadTimeout,
            SessionError::ConnectRejected(description) => ClientError::Rejected {
                code: "NetConnection.Connect.Rejected".into(),
                description,
            },
            SessionError::Rejected(description) => ClientError::Rejected {
                code: "_error".into(),
                description,
            },
            other => ClientError::Session(other),
        }
    }
}
