//! Server-level bounds over real sockets: the connection limit and shutdown.

use rtmp_rs::{RtmpHandler, RtmpServer, ServerConfig};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Open;
impl RtmpHandler for Open {}

/// Completes a handshake, proving the server serves this connection.
async fn handshake(socket: &mut TcpStream) -> std::io::Result<()> {
    let mut c0c1 = vec![3u8];
    c0c1.extend(std::iter::repeat(9u8).take(1536));
    socket.write_all(&c0c1).await?;
    let mut reply = vec![0u8; 3073];
    socket.read_exact(&mut reply).await?;
    Ok(())
}

/// Waits for the server to close `socket`.
async fn closed(socket: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    read.await.is_ok()
}

#[tokio::test]
async fn connections_over_the_limit_are_closed_and_others_keep_working() {
    let config = ServerConfig::default()
        .bind("127.0.0.1:0".parse().unwrap())
        .max_connections(2);
    let server = RtmpServer::listen(config, Open).await.unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.handle();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run_until(async {
        let _ = stop_rx.await;
    }));

    let mut first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    handshake(&mut first).await.unwrap();
    handshake(&mut second).await.unwrap();
    assert_eq!(handle.connections(), 2);
    let sessions = handle.sessions();
    assert_eq!(sessions.len(), 2);
    assert!(
        sessions
            .iter()
            .all(|s| s.bytes_in == 1537 && s.bytes_out == 3073),
        "per-session bytes: C0+C1 in, S0+S1+S2 out: {sessions:?}"
    );

    let mut third = TcpStream::connect(addr).await.unwrap();
    assert!(closed(&mut third).await, "the third connection is refused");
    assert_eq!(handle.connections(), 2);

    // Freeing a slot admits a new connection.
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while handle.connections() > 1 {
        assert!(tokio::time::Instant::now() < deadline, "slot not released");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut fourth = TcpStream::connect(addr).await.unwrap();
    handshake(&mut fourth).await.unwrap();

    // Shutdown closes the sessions still open and returns.
    stop_tx.send(()).unwrap();
    assert!(closed(&mut second).await, "shutdown closes open sessions");
    assert!(closed(&mut fourth).await);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

/// Notes the thread each connection is served on.
#[derive(Clone, Default)]
struct Threads(Arc<Mutex<Vec<String>>>);

impl RtmpHandler for Threads {
    async fn on_connection(&self, _: SocketAddr) -> bool {
        let name = std::thread::current().name().unwrap_or("?").to_owned();
        self.0.lock().unwrap().push(name);
        true
    }
}

#[tokio::test]
async fn workers_take_connections_in_turn_and_stop_with_the_server() {
    let config = ServerConfig::default()
        .bind("127.0.0.1:0".parse().unwrap())
        .workers(2);
    let threads = Threads::default();
    let server = RtmpServer::listen(config, threads.clone()).await.unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.handle();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run_until(async {
        let _ = stop_rx.await;
    }));

    let mut sockets = Vec::new();
    for _ in 0..4 {
        let mut socket = TcpStream::connect(addr).await.unwrap();
        handshake(&mut socket).await.unwrap();
        sockets.push(socket);
    }
    assert_eq!(handle.connections(), 4);
    assert_eq!(
        *threads.0.lock().unwrap(),
        [
            "rtmp-worker-0",
            "rtmp-worker-1",
            "rtmp-worker-0",
            "rtmp-worker-1"
        ],
        "accepted sockets are dealt to the workers in turn"
    );

    stop_tx.send(()).unwrap();
    for socket in &mut sockets {
        assert!(closed(socket).await, "shutdown closes sessions on workers");
    }
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("run_until returns once the workers are done")
        .unwrap()
        .unwrap();
    assert_eq!(handle.connections(), 0);
    assert!(handle.sessions().is_empty());
}
