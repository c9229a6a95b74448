//! [`RtmpHandler`]: the app's say over connections and streams.

use rtmp_proto::message::{ConnectParams, PlayParams, PublishParams};
use std::future::Future;
use std::net::SocketAddr;

/// The answer to a connect, publish or play request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthResult {
    /// Allow it.
    Accept,
    /// Refuse it; the reason is sent to the client in the status message.
    Reject(String),
}

/// What a callback knows about the connection it is called for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionContext {
    /// Server-unique id of this connection.
    pub session_id: u64,
    /// The client's address.
    pub peer_addr: SocketAddr,
    /// The application from `connect` (empty before it).
    pub app: String,
}

/// Callbacks for auth and lifecycle. Every method has a default that accepts, so an
/// implementation overrides only what it needs; write them as `async fn`.
///
/// A callback delays only its own connection: other sessions and players keep running.
pub trait RtmpHandler: Send + Sync + 'static {
    /// A client asks to connect to `params.app`.
    fn on_connect(
        &self,
        _ctx: &SessionContext,
        _params: &ConnectParams,
    ) -> impl Future<Output = AuthResult> + Send {
        async { AuthResult::Accept }
    }

    /// A client asks to publish `params.stream_key`.
    fn on_publish(
        &self,
        _ctx: &SessionContext,
        _params: &PublishParams,
    ) -> impl Future<Output = AuthResult> + Send {
        async { AuthResult::Accept }
    }

    /// A client asks to play `params.stream_key`.
    fn on_play(
        &self,
        _ctx: &SessionContext,
        _params: &PlayParams,
    ) -> impl Future<Output = AuthResult> + Send {
        async { AuthResult::Accept }
    }

    /// An accepted publish ended (by the client, or because the connection was lost).
    fn on_unpublish(
        &self,
        _ctx: &SessionContext,
        _params: &PublishParams,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// The connection closed.
    fn on_disconnect(&self, _ctx: &SessionContext) -> impl Future<Output = ()> + Send {
        async {}
    }
}
