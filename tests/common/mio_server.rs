//! The mio server embedded in a loop of the test's own (as a user would), on a
//! thread, with a snapshot of its streams for the test to read; stopped on drop.

use super::relay::Served;
use rtmp_rs::mio::{Handler, RtmpServer, ServerConfig};
use rtmp_rs::proto::hub::StreamInfo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running mio server; dropping it stops the loop and joins its thread.
pub struct MioTestServer {
    pub addr: SocketAddr,
    streams: Arc<Mutex<Vec<StreamInfo>>>,
    stop: Arc<AtomicBool>,
    waker: Arc<mio::Waker>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const WAKER: mio::Token = mio::Token(0);
/// The test's loop gives the server tokens from 10 on, as an embedding app would.
const FIRST: mio::Token = mio::Token(10);

impl MioTestServer {
    /// Starts `handler` on 127.0.0.1 with an OS-chosen port.
    pub fn start<H: Handler + Send + 'static>(config: ServerConfig, handler: H) -> Self {
        let config = ServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..config
        };
        let mut server = RtmpServer::bind(config, handler).unwrap();
        let addr = server.local_addr().unwrap();
        let mut poll = mio::Poll::new().unwrap();
        let waker = Arc::new(mio::Waker::new(poll.registry(), WAKER).unwrap());
        server.register(poll.registry(), FIRST).unwrap();
        let (streams, stop) = (
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(AtomicBool::new(false)),
        );
        let (snapshot, stopped) = (streams.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut events = mio::Events::with_capacity(256);
            while !stopped.load(Ordering::SeqCst) {
                let timeout = server
                    .poll_timeout()
                    .map(|at| at.saturating_duration_since(Instant::now()))
                    .unwrap_or(Duration::from_millis(50))
                    .min(Duration::from_millis(50));
                poll.poll(&mut events, Some(timeout)).unwrap();
                for event in &events {
                    if event.token() != WAKER {
                        assert!(
                            server.handle_event(poll.registry(), event),
                            "a token of ours"
                        );
                    }
                }
                server.handle_timeout(poll.registry(), Instant::now());
                *snapshot.lock().unwrap() = server.streams();
            }
            server.shutdown(poll.registry());
        });
        MioTestServer {
            addr,
            streams,
            stop,
            waker,
            thread: Some(thread),
        }
    }
}

impl Served for MioTestServer {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn streams(&self) -> Vec<StreamInfo> {
        self.streams.lock().unwrap().clone()
    }
}

impl Drop for MioTestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
