#![cfg(feature = "tls")]
//! RTMPS: our server with a certificate (alone, or beside plain RTMP), FFmpeg 9 and our
//! clients over TLS, and peers that do not speak TLS on the TLS port.

mod client_support;
mod common;

use client_support::*;
use common::ffmpeg::*;
use common::server::TestServer;
use rtmp_rs::client::{
    publish_flv_file, ClientConfig, ClientError, Pace, RtmpPublisher, RtmpPuller,
};
use rtmp_rs::{RtmpServer, ServerConfig};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn rtmps(server: &TestServer, key: &str) -> String {
    format!("rtmps://127.0.0.1:{}/live/{key}", server.addr.port())
}

/// FFmpeg publishes over RTMPS to our server (TLS only) and FFmpeg plays it back over
/// RTMPS, both verifying our certificate against the test CA: packets identical.
#[test]
fn ffmpeg_publishes_and_plays_over_rtmps() {
    let Some(ff) = require_ffmpeg() else { return };
    let dir = temp_dir("ffmpeg-rtmps");
    let certs = test_certs(&dir);
    let input = h264_aac_flv();
    let source = parse_framecrc_full(&source_framecrc(&ff, &input));
    let config = ServerConfig::default()
        .tls(&certs.cert_path, &certs.key_path)
        .unwrap();
    let server = TestServer::start(config, Open);
    let url = rtmps(&server, "secure");
    let ca = certs.ca_path.to_str().unwrap();

    let out = dir.join("played.framecrc");
    let rw_timeout = PLAY_RW_TIMEOUT_US.to_string();
    let mut player = spawn_ffmpeg(
        &ff,
        [
            "-ca_file",
            ca,
            "-rw_timeout",
            &rw_timeout,
            "-i",
            &url,
            "-c",
            "copy",
            "-f",
            "framecrc",
            out.to_str().unwrap(),
        ],
    );
    server.wait_for("the TLS player", Duration::from_secs(10), |_| {
        server.players("secure") == 1
    });
    let mut publisher = spawn_ffmpeg(
        &ff,
        [
            "-re",
            "-i",
            input.to_str().unwrap(),
            "-c",
            "copy",
            "-f",
            "flv",
            "-ca_file",
            ca,
            &url,
        ],
    );
    publisher.expect_success(Duration::from_secs(30));
    player.expect_success(Duration::from_secs(15));
    let played = parse_framecrc_full(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(played.extradata, source.extradata);
    assert_same_packets(&source.packets, &played.packets, true);
    assert_eq!(
        stream_counts(&played.packets),
        stream_counts(&source.packets)
    );
}

/// Our publisher (trusting the test CA) and our puller (trusting any certificate)
/// over RTMPS: every message arrives unchanged. A client that trusts only the public
/// roots refuses the server, permanently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_clients_over_rtmps() {
    let Some(_) = require_ffmpeg() else { return };
    let dir = temp_dir("ours-rtmps");
    let certs = test_certs(&dir);
    let input = hevc_opus_flv();
    let source = source_tags(&input);
    let config = ServerConfig::default()
        .tls_pem(certs.cert_pem.as_bytes(), certs.key_pem.as_bytes())
        .unwrap();
    let server = TestServer::start(config, Open);
    let url = rtmps(&server, "secure");

    let untrusted = RtmpPublisher::connect(ClientConfig::new(url.as_str())).await;
    match untrusted {
        Err(e @ ClientError::Tls(_)) => assert!(e.is_permanent()),
        other => panic!("the public roots do not know the test CA: {other:?}"),
    }

    let (pull, collected) =
        spawn_pull(ClientConfig::new(url.as_str()).danger_accept_invalid_certs(true));
    server.wait_for("the TLS player", Duration::from_secs(10), |_| {
        server.players("secure") == 1
    });
    let publisher =
        RtmpPublisher::connect(ClientConfig::new(url.as_str()).tls_roots_pem(certs.ca_pem))
            .await
            .unwrap();
    publish_flv_file(&publisher, &input, Pace::Unpaced)
        .await
        .unwrap();
    publisher.close().await.unwrap();
    tokio::time::timeout(Duration::from_secs(15), pull)
        .await
        .expect("the puller ends with the stream")
        .unwrap()
        .unwrap();
    assert_same_media(&source, &collected.await.unwrap().tags());
}

/// A server with plain RTMP on `bind` and RTMPS on `tls_bind`: a stream published
/// over plain RTMP plays over RTMPS unchanged, while a plain RTMP client that dials
/// the TLS port fails within its timeout and a raw socket sending junk there is
/// closed, without disturbing the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_beside_plain_and_plain_clients_on_the_tls_port_fail_cleanly() {
    let Some(_) = require_ffmpeg() else { return };
    let dir = temp_dir("beside");
    let certs = test_certs(&dir);
    let input = h264_aac_flv();
    let source = source_tags(&input);
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let config = ServerConfig::default()
        .bind(any)
        .tls_bind(any)
        .connection_timeout(Duration::from_secs(2))
        .tls_pem(certs.cert_pem.as_bytes(), certs.key_pem.as_bytes())
        .unwrap();
    let server = RtmpServer::listen(config, Open).await.unwrap();
    let (plain, tls) = (
        server.local_addr().unwrap(),
        server.tls_local_addr().unwrap(),
    );
    assert_ne!(plain, tls);
    let handle = server.handle();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));

    let secure = format!("rtmps://localhost:{}/live/mixed", tls.port());
    let (pull, collected) =
        spawn_pull(ClientConfig::new(secure).tls_roots_pem(certs.ca_pem.clone()));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !handle.streams().iter().any(|s| s.players == 1) {
        assert!(Instant::now() < deadline, "the TLS player");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let publisher = RtmpPublisher::connect(ClientConfig::new(format!(
        "rtmp://127.0.0.1:{}/live/mixed",
        plain.port()
    )))
    .await
    .unwrap();
    let publishing = tokio::spawn(async move {
        publish_flv_file(&publisher, &input, Pace::RealTime)
            .await
            .unwrap();
        publisher.close().await.unwrap();
    });

    tokio::time::sleep(Duration::from_secs(1)).await;
    // Plain RTMP on the TLS port: the server's TLS handshake fails at C0 and closes.
    let started = Instant::now();
    let wrong = format!("rtmp://127.0.0.1:{}/live/mixed", tls.port());
    let (puller, _events) =
        RtmpPuller::new(ClientConfig::new(wrong).connect_timeout(Duration::from_secs(3)));
    let result = tokio::time::timeout(Duration::from_secs(5), puller.start())
        .await
        .expect("fails within its timeout");
    assert!(
        matches!(
            result,
            Err(ClientError::Closed) | Err(ClientError::Session(_))
        ),
        "closed by the server, not timed out: {result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    // A socket that sends nothing is closed after the connection timeout.
    let mut silent = tokio::net::TcpStream::connect(tls).await.unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::io::AsyncReadExt::read(&mut silent, &mut byte),
    )
    .await
    .expect("the server closes a silent TLS peer");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");

    publishing.await.unwrap();
    tokio::time::timeout(Duration::from_secs(15), pull)
        .await
        .expect("the TLS puller ends with the stream")
        .unwrap()
        .unwrap();
    assert_same_media(&source, &collected.await.unwrap().tags());
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}

/// `tls_bind` without a certificate is a configuration error, not a silent plain port.
#[tokio::test]
async fn tls_bind_without_a_certificate_is_an_error() {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let config = ServerConfig::default().bind(any).tls_bind(any);
    let result = RtmpServer::listen(config, Open).await;
    assert!(result.is_err());
    assert!(ServerConfig::default()
        .tls_pem(b"not pem", b"nor this")
        .is_err());
}
