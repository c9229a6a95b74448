//! A real `RtmpServer` on a loopback port, run on its own Tokio runtime for the
//! duration of a (synchronous) test, and stopped on drop.

use rtmp_rs::{RtmpHandler, RtmpServer, ServerConfig, ServerHandle};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A running server; dropping it shuts it down.
pub struct TestServer {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts `handler` on 127.0.0.1 with an OS-chosen port.
    pub fn start<H: RtmpHandler>(config: ServerConfig, handler: H) -> TestServer {
        let config = config.bind("127.0.0.1:0".parse().unwrap());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let server = RtmpServer::listen(config, handler).await.unwrap();
                ready_tx
                    .send((server.local_addr().unwrap(), server.handle()))
                    .unwrap();
                server
                    .run_until(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let (addr, handle) = ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        TestServer {
            addr,
            handle,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `rtmp://127.0.0.1:PORT/app/key`.
    pub fn url(&self, app: &str, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/{app}/{key}", self.addr.port())
    }

    /// Waits until `check` holds on the server's stream list (polling), or panics.
    pub fn wait_for(&self, what: &str, timeout: Duration, check: impl Fn(&ServerHandle) -> bool) {
        let deadline = Instant::now() + timeout;
        while !check(&self.handle) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {:?}",
                self.handle.streams()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Players currently subscribed to `key` (any app).
    pub fn players(&self, key: &str) -> usize {
        super::relay::players(&self.handle.streams(), key)
    }

    /// Whether `key` has a live publisher.
    pub fn publishing(&self, key: &str) -> bool {
        super::relay::publishing(&self.handle.streams(), key)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
