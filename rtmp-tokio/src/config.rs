//! [`ServerConfig`]: where to listen (plain RTMP, RTMPS or both), how many connections,
//! and the session and hub bounds.

use rtmp_proto::capture::CaptureConfig;
use rtmp_proto::enhanced::{EnhancedRtmpMode, EnhancedServerCapabilities};
use rtmp_proto::hub::HubConfig;
use rtmp_proto::SessionConfig;
use std::net::SocketAddr;
use std::time::Duration;

/// Server settings, built from [`ServerConfig::default`] with the builder methods.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on. Default `0.0.0.0:1935`.
    pub bind: SocketAddr,
    /// Most connections served at once; further ones are closed on accept. Default 1000.
    pub max_connections: usize,
    /// Most bytes read from a socket at a time (a connection's buffer starts at 4 KiB
    /// and grows to this while reads fill it). Default 64 KiB.
    pub read_buffer: usize,
    /// Dedicated worker threads to run connections on, each with its own single-threaded
    /// runtime; 0 (the default) runs them as tasks on the runtime running the server.
    /// See [`ServerConfig::workers`].
    pub workers: usize,
    /// Per-connection protocol settings and bounds.
    pub session: SessionConfig,
    /// Fan-out bounds (player queues, stream counts).
    pub hub: HubConfig,
    /// Records every connection as a pcapng file when set (see [`ServerConfig::capture`]).
    pub capture: Option<CaptureConfig>,
    /// Certificate and key for RTMPS. With [`ServerConfig::tls_bind`] unset, `bind`
    /// serves RTMPS alone; with it set, `bind` serves plain RTMP beside it. The TLS
    /// handshake runs in the connection's task within `session.connect_timeout`.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::ServerTls>,
    /// A second address serving RTMPS while `bind` serves plain RTMP (needs `tls`).
    #[cfg(feature = "tls")]
    pub tls_bind: Option<SocketAddr>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([0, 0, 0, 0], 1935)),
            max_connections: 1000,
            read_buffer: 64 * 1024,
            workers: 0,
            session: SessionConfig::default(),
            hub: HubConfig::default(),
            capture: None,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "tls")]
            tls_bind: None,
        }
    }
}

impl ServerConfig {
    /// Sets the listen address.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Sets the most connections served at once.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// Runs connections on `workers` dedicated threads, each a single-threaded Tokio
    /// runtime, dealing accepted sockets to them in turn (the nginx model), instead of
    /// as tasks on the runtime running the server. A connection then stays on one
    /// thread, and delivery to players on the publisher's worker needs no cross-thread
    /// scheduling: the cheapest way to serve many players per core. Handler callbacks
    /// run on the workers. 0 turns workers off.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// Sets the chunk size the server sends with (128 ..= 0x7FFFFFFF).
    pub fn chunk_size(mut self, size: u32) -> Self {
        self.session.chunk_size = size;
        self
    }

    /// Sets the time a connection has from accept to an accepted `connect`.
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.session.connect_timeout = timeout;
        self
    }

    /// Sets the time without traffic after which a connection is closed.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.session.idle_timeout = timeout;
        self
    }

    /// Sets how Enhanced RTMP is treated (`Auto` by default).
    pub fn enhanced_rtmp(mut self, mode: EnhancedRtmpMode) -> Self {
        self.session.enhanced_mode = mode;
        self
    }

    /// Sets the codecs and extended capabilities stated to Enhanced RTMP clients, and
    /// accepted from publishers.
    pub fn enhanced_capabilities(mut self, capabilities: EnhancedServerCapabilities) -> Self {
        self.session.enhanced_capabilities = capabilities;
        self
    }

    /// Replaces the per-connection protocol settings.
    pub fn session_config(mut self, session: SessionConfig) -> Self {
        self.session = session;
        self
    }

    /// Records every connection as a pcapng file in `capture.dir` (each file at most
    /// `capture.max_file_bytes`), with the real addresses and arrival times, which
    /// Wireshark decodes as RTMP and `rtmp_proto::replay` plays back deterministically.
    /// RTMPS connections are recorded as the RTMP inside the TLS. Files are written
    /// from the connection's task through a buffer: meant for debugging and tests.
    pub fn capture(mut self, capture: CaptureConfig) -> Self {
        self.capture = Some(capture);
        self
    }

    /// Replaces the fan-out bounds.
    pub fn hub_config(mut self, hub: HubConfig) -> Self {
        self.hub = hub;
        self
    }

    /// Serves RTMPS with a PEM certificate chain (leaf first) and PEM private key read
    /// from files now; see [`ServerConfig::tls`](ServerConfig#structfield.tls).
    #[cfg(feature = "tls")]
    pub fn tls(
        self,
        cert_pem_path: impl AsRef<std::path::Path>,
        key_pem_path: impl AsRef<std::path::Path>,
    ) -> std::io::Result<Self> {
        Ok(self.tls_with(crate::ServerTls::from_pem_files(
            cert_pem_path,
            key_pem_path,
        )?))
    }

    /// Serves RTMPS with a PEM certificate chain and private key given as bytes.
    #[cfg(feature = "tls")]
    pub fn tls_pem(self, cert_pem: &[u8], key_pem: &[u8]) -> std::io::Result<Self> {
        Ok(self.tls_with(crate::ServerTls::from_pem(cert_pem, key_pem)?))
    }

    /// Serves RTMPS with a ready [`ServerTls`](crate::ServerTls).
    #[cfg(feature = "tls")]
    pub fn tls_with(mut self, tls: crate::ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Serves RTMPS on `addr` as well, keeping plain RTMP on `bind`.
    #[cfg(feature = "tls")]
    pub fn tls_bind(mut self, addr: SocketAddr) -> Self {
        self.tls_bind = Some(addr);
        self
    }
}
