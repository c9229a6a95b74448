//! What an application sees of a server connection, shared by every adapter.
//!
//! - [`RtmpHandler`]: async callbacks for auth, lifecycle and media, written against
//!   `std::future` only, so any executor runs them (the Tokio and async-std adapters do).
//! - [`ServerConnection`]: one connection as every adapter runs it — its
//!   [`ServerSession`](crate::ServerSession), its place in the hub, and the answers to
//!   the app's decisions — with no I/O and no locks. [`drive`] runs its events through
//!   an [`RtmpHandler`]; a synchronous event loop (the mio adapter) answers them itself.
//! - [`serve`]: the whole loop of a connection on an executor, given its runtime's
//!   socket and timer; [`SessionRegistry`] holds the [`LiveConnection`]s it wakes.
//! - [`MediaView`]: what the media callbacks see of one message.

mod connection;
pub mod drive;
mod handler;
mod registry;
pub mod serve;
mod views;

pub use connection::{random_seed, AppEvent, ServerConnection, MAX_IOVECS, PULL_BELOW};
pub use handler::{AuthResult, RtmpHandler, SessionContext, SessionStats, StreamContext};
pub use registry::{LiveConnection, SessionRegistry, Signals};
pub use views::{media_views, metadata_object, MediaView};

/// Locks plain data whose lock a panic elsewhere may have poisoned: the data is taken
/// over rather than the panic spread.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether an accept error concerns only the connection being accepted (the listener
/// goes on at once), rather than the process (out of descriptors: back off).
pub fn is_per_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
    )
}
