//! [`ClientConfig`]: where a client connects, its timeouts and bounds, reconnecting,
//! and whom it trusts over RTMPS.

use rtmp_proto::capture::CaptureConfig;
use rtmp_proto::SessionConfig;
use std::time::Duration;

/// Settings of a puller or publisher, built from [`ClientConfig::new`] with the
/// builder methods.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `rtmp[s]://host[:port]/app[/instance]/stream[?query]`.
    pub url: String,
    /// Time from starting to connect until the publish or play has started: TCP
    /// connect, TLS, the RTMP handshake, `connect`, `createStream` and `publish`/`play`.
    /// Default 10 s.
    pub connect_timeout: Duration,
    /// Time the server may stay silent before the connection is given up. A ping is
    /// sent halfway, so a live server always answers in time. Default 30 s.
    pub read_timeout: Duration,
    /// Capacity of the channel between your code and the connection: the puller's
    /// events, the publisher's outgoing messages. Default 256.
    pub channel_capacity: usize,
    /// A publisher takes no more messages while this many bytes wait unwritten, so
    /// senders wait (backpressure) instead of memory growing. Default 1 MiB.
    pub max_buffered: usize,
    /// Bytes read from the socket at a time. Default 64 KiB.
    pub read_buffer: usize,
    /// Reconnecting after a lost connection; `None` (the default) gives up at once.
    pub reconnect: Option<Reconnect>,
    /// Protocol bounds of the session (message sizes, AMF limits, chunk size …). Its
    /// timeouts are replaced by `connect_timeout` and `read_timeout`.
    pub session: SessionConfig,
    /// Records each connection as a pcapng file when set.
    pub capture: Option<CaptureConfig>,
    #[cfg(feature = "tls")]
    pub(crate) trust: super::tls::Trust,
}

/// Reconnecting with exponential backoff: waits `initial_delay`, then twice as long
/// each time up to `max_delay`, for at most `max_attempts` tries in a row. A connection
/// that stays up for `max_delay` or longer counts as recovered, so the next loss
/// starts over. Refusals and untrusted certificates are never retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    /// Tries in a row before giving up. Default 5.
    pub max_attempts: u32,
    /// Wait before the first try. Default 500 ms.
    pub initial_delay: Duration,
    /// Longest wait between tries. Default 10 s.
    pub max_delay: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            max_attempts: 5,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl Reconnect {
    /// The wait before try `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(20);
        self.initial_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay)
    }
}

impl ClientConfig {
    /// Settings for `url` with the defaults.
    pub fn new(url: impl Into<String>) -> Self {
        ClientConfig {
            url: url.into(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            channel_capacity: 256,
            max_buffered: 1 << 20,
            read_buffer: 64 * 1024,
            reconnect: None,
            session: SessionConfig::default(),
            capture: None,
            #[cfg(feature = "tls")]
            trust: Default::default(),
        }
    }

    /// Records each connection as a pcapng file in `capture.dir` (see the server's
    /// `ServerConfig::capture`).
    pub fn capture(mut self, capture: CaptureConfig) -> Self {
        self.capture = Some(capture);
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the read timeout.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Sets the channel capacity (at least 1).
    pub fn channel_capacity(mut self, capacity: usize) -> Self {
        self.channel_capacity = capacity;
        self
    }

    /// Sets the publisher's unwritten-bytes bound.
    pub fn max_buffered(mut self, bytes: usize) -> Self {
        self.max_buffered = bytes;
        self
    }

    /// Enables reconnecting.
    pub fn reconnect(mut self, policy: Reconnect) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// Replaces the session's protocol bounds.
    pub fn session_config(mut self, session: SessionConfig) -> Self {
        self.session = session;
        self
    }

    /// Trusts only the certificates in `pem` (CA or self-signed server certificates)
    /// instead of the built-in Mozilla roots, for `rtmps://`.
    #[cfg(feature = "tls")]
    pub fn tls_roots_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.trust = super::tls::Trust::RootsPem(pem.into());
        self
    }

    /// Accepts any server certificate over `rtmps://` — expired, self-signed, for
    /// another name. The connection is encrypted but the server is not authenticated:
    /// for tests and lab setups only.
    #[cfg(feature = "tls")]
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.trust = if accept {
            super::tls::Trust::AcceptAny
        } else {
            super::tls::Trust::default()
        };
        self
    }

    /// Uses a rustls client configuration built by the caller (client certificates,
    /// custom verifiers, the operating system's roots …).
    #[cfg(feature = "tls")]
    pub fn tls_config(
        mut self,
        config: std::sync::Arc<tokio_rustls::rustls::ClientConfig>,
    ) -> Self {
        self.trust = super::tls::Trust::Custom(config);
        self
    }

    /// The session settings with this config's timeouts: the connect timeout for the
    /// handshake and `connect`, the read timeout as idle timeout with a ping halfway.
    pub(crate) fn session(&self) -> SessionConfig {
        let mut session = self.session.clone();
        let half = self.read_timeout / 2;
        session.connect_timeout = self.connect_timeout;
        session.command_timeout = session.command_timeout.min(self.connect_timeout);
        session.idle_timeout = self.read_timeout;
        session.ping_interval = Some(session.ping_interval.unwrap_or(half).min(half));
        session.ping_timeout = half;
        session
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = Reconnect {
            max_attempts: 10,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let delays: Vec<u128> = (1..=6).map(|n| policy.delay(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy.delay(u32::MAX), Duration::from_secs(1));
        assert_eq!(policy.delay(0), Duration::from_millis(100));
    }

    #[test]
    fn timeouts_reach_the_session() {
        let config = ClientConfig::new("rtmp://h/a/k")
            .connect_timeout(Duration::from_secs(4))
            .read_timeout(Duration::from_secs(6));
        let session = config.session();
        assert_eq!(session.connect_timeout, Duration::from_secs(4));
        assert_eq!(session.command_timeout, Duration::from_secs(4));
        assert_eq!(session.idle_timeout, Duration::from_secs(6));
        assert_eq!(session.ping_interval, Some(Duration::from_secs(3)));
        assert_eq!(session.ping_timeout, Duration::from_secs(3));
    }
}
