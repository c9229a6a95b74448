//! [`SessionRegistry`]: the open connections of a multi-threaded server and their
//! byte counters, for [`SessionStats`].

use super::SessionStats;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Live byte counters of one connection, updated by its task without a lock.
#[derive(Debug)]
pub struct SessionCounters {
    peer: SocketAddr,
    /// Bytes received from the client.
    pub bytes_in: AtomicU64,
    /// Bytes written to the client.
    pub bytes_out: AtomicU64,
}

/// Every open connection's counters, by session id.
#[derive(Debug, Default)]
pub struct SessionRegistry {
    sessions: Mutex<HashMap<u64, Arc<SessionCounters>>>,
}

impl SessionRegistry {
    /// Counts a connection in.
    pub fn register(&self, id: u64, peer: SocketAddr) -> Arc<SessionCounters> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        insert(&mut sessions, id, peer)
    }

    /// Counts a connection in, unless `limit` connections are open already.
    pub fn register_within(
        &self,
        id: u64,
        peer: SocketAddr,
        limit: usize,
    ) -> Option<Arc<SessionCounters>> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        (sessions.len() < limit).then(|| insert(&mut sessions, id, peer))
    }

    /// Forgets a closed connection.
    pub fn unregister(&self, id: u64) {
        (self.sessions.lock().unwrap_or_else(|p| p.into_inner())).remove(&id);
    }

    /// Every open connection with its byte counts, oldest first.
    pub fn snapshot(&self) -> Vec<SessionStats> {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
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

fn insert(
    sessions: &mut HashMap<u64, Arc<SessionCounters>>,
    id: u64,
    peer: SocketAddr,
) -> Arc<SessionCounters> {
    let counters = Arc::new(SessionCounters {
        peer,
        bytes_in: AtomicU64::new(0),
        bytes_out: AtomicU64::new(0),
    });
    sessions.insert(id, counters.clone());
    counters
}
