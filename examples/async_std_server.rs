//! The RTMP server on async-std:
//! `cargo run --release --features async-std --example async_std_server [-- --bind ADDR]`.
//!
//! Accepts every publish and play, and logs each stream's players and bitrate every
//! 5 seconds. The same server runs on smol: spawn `serve_connection` per socket.

use rtmp_rs::async_std::{RtmpHandler, RtmpServer, ServerConfig};
use std::net::SocketAddr;
use std::time::Duration;

struct OpenServer;
impl RtmpHandler for OpenServer {}

fn parse_bind() -> Result<SocketAddr, String> {
    let mut bind: SocketAddr = "0.0.0.0:1935".parse().expect("valid literal");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bind" => {
                let value = args.next().ok_or("--bind needs a value")?;
                bind = (value.parse()).map_err(|e| format!("bad --bind address {value:?}: {e}"))?;
            }
            "-h" | "--help" => {
                println!("usage: async_std_server [--bind ADDR]   (default 0.0.0.0:1935)");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(bind)
}

fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let bind = parse_bind().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let config = ServerConfig {
        bind,
        ..ServerConfig::default()
    };
    let server = RtmpServer::new(config, OpenServer);
    let stats = server.clone();
    async_std::task::spawn(async move {
        loop {
            async_std::task::sleep(Duration::from_secs(5)).await;
            for s in stats.streams() {
                tracing::info!(key = %s.key, players = s.players, bitrate_bps = s.bitrate_bps,
                    dropped = s.dropped_messages, "stream");
            }
        }
    });
    async_std::task::block_on(server.run())
}
