//! The RTMP server: `cargo run --release --example server [-- --bind ADDR]`.
//!
//! Accepts every publish and play; streams are routed by `app/stream-key`.
//! Connections run on `--workers N` single-threaded workers (default: one per core),
//! or with `--workers 0` as tasks of one multi-threaded Tokio runtime.
//! With `--tls-cert PEM --tls-key PEM` it serves RTMPS too: on `--tls-bind ADDR`
//! beside plain RTMP, or alone on `--bind` without `--tls-bind`.
//! Set `RUST_LOG=debug` for per-message detail.

use rtmp_rs::{RtmpHandler, RtmpServer, ServerConfig};
use std::net::SocketAddr;
use std::time::Duration;

struct OpenServer;

impl RtmpHandler for OpenServer {}

const USAGE: &str =
    "usage: server [--bind ADDR] [--workers N] [--audio-hold MS] [--tls-cert PEM --tls-key PEM [--tls-bind ADDR]]

  --bind ADDR      listen address (default 0.0.0.0:1935)
  --workers N      single-threaded workers running the connections (default: one per
                   core); 0 runs them on a multi-threaded Tokio runtime instead
  --audio-hold MS  how long audio may wait to go out with the next video frame
                   (default 50; 0 sends every message at once)
  --tls-cert PEM   certificate chain for RTMPS (needs --tls-key)
  --tls-key PEM    private key for RTMPS
  --tls-bind ADDR  serve RTMPS here, plain RTMP on --bind (e.g. 0.0.0.0:443);
                   without it, --bind serves RTMPS only";

fn parse_args() -> Result<ServerConfig, Box<dyn std::error::Error>> {
    let mut bind: SocketAddr = "0.0.0.0:1935".parse().expect("valid literal");
    let mut workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut hub = rtmp_rs::proto::hub::HubConfig::default();
    let (mut tls_bind, mut cert, mut key) = (None::<SocketAddr>, None::<String>, None::<String>);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or(format!("{arg} needs a value (try --help)"))
        };
        match arg.as_str() {
            "--bind" => {
                let value = value()?;
                bind = value
                    .parse()
                    .map_err(|e| format!("bad --bind address {value:?}: {e}"))?;
            }
            "--tls-bind" => {
                let value = value()?;
                let addr = value
                    .parse()
                    .map_err(|e| format!("bad --tls-bind address {value:?}: {e}"))?;
                tls_bind = Some(addr);
            }
            "--workers" => {
                let value = value()?;
                workers =
                    (value.parse()).map_err(|e| format!("bad --workers count {value:?}: {e}"))?;
            }
            "--audio-hold" => {
                let value = value()?;
                let ms = (value.parse())
                    .map_err(|e| format!("bad --audio-hold milliseconds {value:?}: {e}"))?;
                hub.audio_hold = Duration::from_millis(ms);
            }
            "--tls-cert" => cert = Some(value()?),
            "--tls-key" => key = Some(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    let config = ServerConfig::default()
        .bind(bind)
        .workers(workers)
        .hub_config(hub);
    match (cert, key, tls_bind) {
        (None, None, None) => Ok(config),
        (Some(cert), Some(key), tls_bind) => with_tls(config, &cert, &key, tls_bind),
        _ => Err("--tls-cert and --tls-key go together (and --tls-bind needs them)".into()),
    }
}

#[cfg(feature = "tls")]
fn with_tls(
    config: ServerConfig,
    cert: &str,
    key: &str,
    tls_bind: Option<SocketAddr>,
) -> Result<ServerConfig, Box<dyn std::error::Error>> {
    let config = config.tls(cert, key)?;
    Ok(match tls_bind {
        Some(addr) => config.tls_bind(addr),
        None => config,
    })
}

#[cfg(not(feature = "tls"))]
fn with_tls(
    _: ServerConfig,
    _: &str,
    _: &str,
    _: Option<SocketAddr>,
) -> Result<ServerConfig, Box<dyn std::error::Error>> {
    Err("this build has no RTMPS: build with the `tls` feature".into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = parse_args()?;
    // With workers, this runtime only accepts and logs; without, it runs everything.
    let runtime = match config.workers {
        0 => tokio::runtime::Builder::new_multi_thread(),
        _ => tokio::runtime::Builder::new_current_thread(),
    }
    .enable_all()
    .build()?;
    runtime.block_on(serve(config))
}

async fn serve(config: ServerConfig) -> Result<(), Box<dyn std::error::Error>> {
    let server = RtmpServer::listen(config, OpenServer).await?;
    let addr = server.local_addr().ok_or("listener has no address")?;
    let tls_addr = server.tls_local_addr();
    if tls_addr != Some(addr) {
        let url = format!("rtmp://{}/live/test", local(addr));
        println!("RTMP server on {addr}");
        println!("  publish: ffmpeg -re -i input.flv -c copy -f flv {url}");
        println!("  play:    ffplay {url}   (or: ffmpeg -i {url} -c copy out.flv)");
    }
    if let Some(tls_addr) = tls_addr {
        let url = format!("rtmps://{}/live/test", local(tls_addr));
        println!("RTMPS server on {tls_addr}");
        println!("  publish: ffmpeg -re -i input.flv -c copy -f flv {url}");
        println!("  (FFmpeg verifies the certificate: add -ca_file CA.pem or -tls_verify 0)");
    }

    let handle = server.handle();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            for stream in handle.streams() {
                let describe = |info: &Option<rtmp_rs::media::config::CodecInfo>| match info {
                    Some(i) => match (i.width, i.height, i.sample_rate) {
                        (Some(w), Some(h), _) => format!("{} {w}x{h}", i.codec),
                        (_, _, Some(rate)) => format!("{} {rate} Hz", i.codec),
                        _ => i.codec.to_string(),
                    },
                    None => "-".into(),
                };
                tracing::info!(
                    stream = %stream.key,
                    publishing = stream.publishing,
                    players = stream.players,
                    video = %describe(&stream.video),
                    audio = %describe(&stream.audio),
                    kbps = stream.bitrate_bps / 1000,
                    bytes_in = stream.bytes_in,
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

/// `addr` as a client on this machine would dial it.
fn local(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    }
}
