//! E-RTMP reconnect: a puller that reconnects announces `capsEx` Reconnect, and when
//! the server asks it to reconnect elsewhere it moves to that server.
//!
//! The first server is a bare `ServerSession` driven over a std socket by this test
//! (the sans-IO core needs nothing else); the second is our Tokio server with our
//! publisher on it.

mod common;

use common::server::TestServer;
use rtmp_rs::client::{ClientConfig, ClientEvent, Reconnect, RtmpPublisher, RtmpPuller};
use rtmp_rs::proto::enhanced::CapsEx;
use rtmp_rs::proto::media::{MediaKind, MediaMessage};
use rtmp_rs::proto::{ServerEvent, ServerSession, SessionConfig};
use rtmp_rs::{RtmpHandler, ServerConfig};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

struct Open;
impl RtmpHandler for Open {}

/// Serves one connection: accepts connect and play, then asks the client to move to
/// `to`. Returns the capsEx the client announced.
fn redirecting_server(
    listener: TcpListener,
    to: String,
) -> std::thread::JoinHandle<Option<CapsEx>> {
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let mut session = ServerSession::new(SessionConfig::default(), Instant::now(), 9);
        let mut caps = None;
        let mut buf = [0u8; 65536];
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(n) = socket.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let _ = session.handle_input(Instant::now(), &buf[..n]);
            }
            while let Some(event) = session.poll_event() {
                match event {
                    ServerEvent::ConnectRequest { id, params } => {
                        caps = params.enhanced.map(|c| c.caps_ex);
                        session.accept(Instant::now(), id);
                    }
                    ServerEvent::PlayRequest { id, .. } => {
                        session.accept(Instant::now(), id);
                        session.request_reconnect(Some(&to), "moving to another server");
                    }
                    _ => {}
                }
            }
            for segment in session.take_output() {
                if socket.write_all(&segment).is_err() {
                    return caps;
                }
            }
        }
        caps
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_puller_follows_a_reconnect_request_to_another_server() {
    let target = TestServer::start(ServerConfig::default(), Open);
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let first_url = format!(
        "rtmp://127.0.0.1:{}/live/moving",
        first.local_addr().unwrap().port()
    );
    let redirector = redirecting_server(
        first,
        format!("rtmp://127.0.0.1:{}/live", target.addr.port()),
    );

    let policy = Reconnect {
        max_attempts: 3,
        initial_delay: Duration::from_millis(50),
        max_delay: Duration::from_secs(1),
    };
    let (puller, mut events) = RtmpPuller::new(ClientConfig::new(first_url).reconnect(policy));
    let pulling = tokio::spawn(puller.start());

    // Publish on the second server once the puller has moved there.
    let target_url = target.url("live", "moving");
    let deadline = Instant::now() + Duration::from_secs(10);
    while target.players("moving") == 0 {
        assert!(
            Instant::now() < deadline,
            "the puller never reached the second server"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let publisher = RtmpPublisher::connect(ClientConfig::new(target_url))
        .await
        .unwrap();
    let frame = MediaMessage::new(
        MediaKind::Video,
        0,
        bytes::Bytes::from_static(&[0x17, 1, 0, 0, 0, 9]),
    );
    publisher.send_media(frame.clone()).await.unwrap();

    let got = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = events.recv().await {
            if let ClientEvent::VideoFrame { data, .. } = event {
                return Some(data);
            }
        }
        None
    })
    .await
    .expect("a frame from the second server");
    assert_eq!(
        got.map(|m| m.payload),
        Some(frame.payload),
        "the frame published on the second server"
    );
    assert_eq!(
        redirector.join().unwrap(),
        Some(CapsEx::RECONNECT),
        "the puller announced capsEx Reconnect"
    );
    publisher.close().await.ok();
    drop(events);
    let _ = tokio::time::timeout(Duration::from_secs(5), pulling).await;
}
