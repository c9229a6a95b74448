//! [`SessionRegistry`]: the open connections of a multi-threaded server, each a
//! [`LiveConnection`] that its loop, the hub and the server all reach.

use super::lock;
use super::SessionStats;
use atomic_waker::AtomicWaker;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake};

/// One open connection as the rest of the server reaches it: byte counters its loop
/// updates without a lock, and the wakeups that resume its loop (the hub has
/// deliveries, the server stops, its socket or timer is ready).
///
/// A [`Waker`](std::task::Waker) made from it (`Waker::from(live)`) is the one the loop gives its socket
/// and timer: their wakeups are then told apart from the hub's, so a player woken for
/// deliveries does not poll a socket that has nothing to read.
#[derive(Debug)]
pub struct LiveConnection {
    peer: SocketAddr,
    /// Bytes received from the client.
    pub bytes_in: AtomicU64,
    /// Bytes written to the client.
    pub bytes_out: AtomicU64,
    /// Set by the hub, cleared by the loop when it pulls.
    woken: AtomicBool,
    stopped: AtomicBool,
    /// Set when the socket or the timer woke the loop.
    io: AtomicBool,
    /// The loop's task, woken by any signal.
    waker: AtomicWaker,
}

/// What resumed a connection's loop, as [`LiveConnection::poll_signals`] reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Signals {
    /// The hub queued something for one of the connection's players.
    pub woken: bool,
    /// The server is shutting down.
    pub stopped: bool,
    /// The socket or the timer is ready (they were polled with `Waker::from(live)`).
    pub io: bool,
}

impl LiveConnection {
    fn new(peer: SocketAddr, stopped: bool) -> Self {
        LiveConnection {
            peer,
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            woken: AtomicBool::new(false),
            stopped: AtomicBool::new(stopped),
            io: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }
    }

    /// The hub's wakeup (deliveries are queued): wakes the loop unless a wakeup is
    /// pending already, so a publisher's burst costs a player's task one wake, not one
    /// per message. (Not [`Wake::wake`], which marks the socket or timer ready.)
    pub fn notify_deliveries(&self) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            self.wake_task();
        }
    }

    /// Asks the loop to end.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.wake_task();
    }

    /// Registers the current task for both signals and takes those that arrived.
    pub fn poll_signals(&self, cx: &Context<'_>) -> Signals {
        self.waker.register(cx.waker());
        Signals {
            woken: self.woken.swap(false, Ordering::AcqRel),
            stopped: self.stopped.load(Ordering::Acquire),
            io: self.io.swap(false, Ordering::AcqRel),
        }
    }

    /// Completes once the server stops the connection (for the phases before its
    /// loop runs, like a TLS handshake).
    pub async fn stopped(&self) {
        std::future::poll_fn(|cx| match self.poll_signals(cx).stopped {
            true => std::task::Poll::Ready(()),
            false => std::task::Poll::Pending,
        })
        .await
    }

    fn wake_task(&self) {
        self.waker.wake();
    }
}

impl Wake for LiveConnection {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.io.store(true, Ordering::Release);
        self.wake_task();
    }
}

/// Every open connection, by session id, and whether the server is stopping.
#[derive(Debug, Default)]
pub struct SessionRegistry {
    sessions: Mutex<HashMap<u64, Arc<LiveConnection>>>,
    stopping: AtomicBool,
}

impl SessionRegistry {
    /// Counts a connection in (already stopped if the server is stopping).
    pub fn register(&self, id: u64, peer: SocketAddr) -> Arc<LiveConnection> {
        let mut sessions = lock(&self.sessions);
        self.insert(&mut sessions, id, peer)
    }

    /// Counts a connection in, unless `limit` connections are open already.
    pub fn register_within(
        &self,
        id: u64,
        peer: SocketAddr,
        limit: usize,
    ) -> Option<Arc<LiveConnection>> {
        let mut sessions = lock(&self.sessions);
        (sessions.len() < limit).then(|| self.insert(&mut sessions, id, peer))
    }

    fn insert(
        &self,
        sessions: &mut HashMap<u64, Arc<LiveConnection>>,
        id: u64,
        peer: SocketAddr,
    ) -> Arc<LiveConnection> {
        let live = Arc::new(LiveConnection::new(peer, self.is_stopping()));
        sessions.insert(id, live.clone());
        live
    }

    /// Forgets a closed connection.
    pub fn unregister(&self, id: u64) {
        lock(&self.sessions).remove(&id);
    }

    /// Stops every open connection, and every one registered from now on.
    pub fn stop_all(&self) {
        let sessions = lock(&self.sessions);
        self.stopping.store(true, Ordering::Release);
        sessions.values().for_each(|live| live.stop());
    }

    /// Whether [`SessionRegistry::stop_all`] was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Every open connection with its byte counts, oldest first.
    pub fn snapshot(&self) -> Vec<SessionStats> {
        let sessions = lock(&self.sessions);
        let mut stats: Vec<SessionStats> = (sessions.iter())
            .map(|(id, c)| SessionStats {
                session_id: *id,
                peer_addr: c.peer,
                bytes_in: c.bytes_in.load(Ordering::Relaxed),
                bytes_out: c.bytes_out.load(Ordering::Relaxed),
            })
            .collect();
        stats.sort_by_key(|s| s.session_id);
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::Waker;

    /// Counts the wakeups of a task.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn hub_wakeups_coalesce_until_the_loop_looks_and_sources_are_told_apart() {
        let registry = SessionRegistry::default();
        let live = registry.register(1, "127.0.0.1:1".parse().unwrap());
        let count = Arc::new(Count::default());
        let task = Waker::from(count.clone());
        let cx = Context::from_waker(&task);
        assert_eq!(live.poll_signals(&cx), Signals::default());

        live.notify_deliveries();
        live.notify_deliveries();
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            1,
            "one task wakeup per burst"
        );
        let seen = live.poll_signals(&cx);
        assert!(seen.woken && !seen.io && !seen.stopped);

        Waker::from(live.clone()).wake_by_ref();
        let seen = live.poll_signals(&cx);
        assert!(seen.io && !seen.woken, "the socket's wakeup is its own");

        registry.stop_all();
        assert!(live.poll_signals(&cx).stopped);
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
        let late = registry.register(2, "127.0.0.1:2".parse().unwrap());
        assert!(late.poll_signals(&cx).stopped, "registered after stop_all");
    }
}
