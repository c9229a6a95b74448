//! The futures-io server on a thread, on async-std (its own `run_on`) or on smol (a
//! smol executor spawning `serve_connection` per accepted socket); stopped on drop.

use super::relay::Served;
use rtmp_rs::async_std::{RtmpHandler, RtmpServer, ServerConfig};
use rtmp_rs::proto::hub::StreamInfo;
use smol::future::FutureExt;
use std::net::SocketAddr;
use std::sync::Arc;

/// Which executor runs the server.
#[derive(Debug, Clone, Copy)]
pub enum Executor {
    AsyncStd,
    Smol,
}

/// A running server; dropping it shuts it down and joins its thread.
pub struct AsyncTestServer {
    pub addr: SocketAddr,
    streams: Arc<dyn Fn() -> Vec<StreamInfo> + Send + Sync>,
    shutdown: Box<dyn Fn() + Send>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AsyncTestServer {
    /// Starts `handler` on 127.0.0.1 with an OS-chosen port, on `executor`.
    pub fn start<H: RtmpHandler>(executor: Executor, config: ServerConfig, handler: H) -> Self {
        let server = RtmpServer::new(config, handler);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
        let running = server.clone();
        let thread = std::thread::spawn(move || match executor {
            Executor::AsyncStd => async_std::task::block_on(async move {
                let listener = async_std::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .unwrap();
                ready_tx.send(listener.local_addr().unwrap()).unwrap();
                running.run_on(listener).await.unwrap();
            }),
            Executor::Smol => {
                let ex = smol::Executor::new();
                smol::block_on(ex.run(async {
                    let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    ready_tx.send(listener.local_addr().unwrap()).unwrap();
                    loop {
                        let accepted = async { Some(listener.accept().await) }
                            .or(async {
                                let _ = stop_rx.recv().await;
                                None
                            })
                            .await;
                        let Some(Ok((stream, peer))) = accepted else {
                            break;
                        };
                        let _ = stream.set_nodelay(true);
                        let server = running.clone();
                        ex.spawn(async move { server.serve_connection(stream, peer).await })
                            .detach();
                    }
                    // Let the connections see the shutdown and end.
                    smol::Timer::after(std::time::Duration::from_millis(200)).await;
                }))
            }
        });
        let addr = ready_rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        let stats = server.clone();
        AsyncTestServer {
            addr,
            streams: Arc::new(move || stats.streams()),
            shutdown: Box::new(move || {
                server.shutdown();
                let _ = stop_tx.try_send(());
            }),
            thread: Some(thread),
        }
    }
}

impl Served for AsyncTestServer {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn streams(&self) -> Vec<StreamInfo> {
        (self.streams)()
    }
}

impl Drop for AsyncTestServer {
    fn drop(&mut self) {
        (self.shutdown)();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
