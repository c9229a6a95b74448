//! [`ServerConfig`]: where to listen, how many connections, and the session and hub bounds.

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
    /// Bytes read from a socket at a time. Default 64 KiB.
    pub read_buffer: usize,
    /// Per-connection protocol settings and bounds.
    pub session: SessionConfig,
    /// Fan-out bounds (player queues, stream counts).
    pub hub: HubConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([0, 0, 0, 0], 1935)),
            max_connections: 1000,
            read_buffer: 64 * 1024,
            session: SessionConfig::default(),
            hub: HubConfig::default(),
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

    /// Replaces the per-connection protocol settings.
    pub fn session_config(mut self, session: SessionConfig) -> Self {
        self.session = session;
        self
    }

    /// Replaces the fan-out bounds.
    pub fn hub_config(mut self, hub: HubConfig) -> Self {
        self.hub = hub;
        self
    }
}
