//! The RTMP server: `cargo run --release --example server [-- --bind ADDR]`.
//!
//! Accepts every publish and play; streams are routed by `app/stream-key`.
//! Set `RUST_LOG=debug` for per-message detail.

use rtmp_rs::{RtmpHandler, RtmpServer, ServerConfig};
use std::net::SocketAddr;
use std::time::Duration;

struct OpenServer;

impl RtmpHandler for OpenServer {}

fn parse_args() -> Result<SocketAddr, String> {
    let mut bind: SocketAddr = "0.0.0.0:1935".parse().expect("valid literal");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bind" => {
                let value = args
                    .next()
                    .ok_or("--bind needs an address, e.g. 127.0.0.1:1935")?;
                bind = value
                    .parse()
                    .map_err(|e| format!("bad --bind address {value:?}: {e}"))?;
            }
            "-h" | "--help" => {
                println!("usage: server [--bind ADDR]   (default 0.0.0.0:1935)");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(bind)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let bind = parse_args()?;
    let server = RtmpServer::listen(ServerConfig::default().bind(bind), OpenServer).await?;
    let addr = server.local_addr().ok_or("listener has no address")?;
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    let url = format!("rtmp://{host}:{}/live/test", addr.port());
    println!("RTMP server on {addr}");
    println!("  publish: ffmpeg -re -i input.flv -c copy -f flv {url}");
    println!("  play:    ffplay {url}   (or: ffmpeg -i {url} -c copy out.flv)");

    let handle = server.handle();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(10));
        loop {
            tick.tick().await;
            for stream in handle.streams() {
                tracing::info!(
                    stream = %stream.key,
                    publishing = stream.publishing,
                    players = stream.players,
                    media_messages = stream.media_messages,
                    dropped = stream.dropped_messages,
                    "stream"
                );
            }
        }
    });
    server
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
            println!("shutting down");
        })
        .await?;
    Ok(())
}
