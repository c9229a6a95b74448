//! Plays a stream and prints what arrives:
//! `cargo run --example puller -- rtmp://127.0.0.1/live/test`.

use rtmp_rs::client::{ClientConfig, ClientEvent, Reconnect, RtmpPuller};

const USAGE: &str = "usage: puller URL [--reconnect] [--insecure]

Plays URL (rtmp:// or rtmps://) and prints each frame until the stream ends.
  --reconnect   reconnect with backoff when the connection is lost
  --insecure    accept any TLS certificate (self-signed test servers)";

fn config_from_args() -> Result<ClientConfig, String> {
    let mut url = None;
    let (mut reconnect, mut insecure) = (false, false);
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--reconnect" => reconnect = true,
            "--insecure" => insecure = true,
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag:?}\n{USAGE}")),
            _ if url.is_some() => return Err(format!("one URL only\n{USAGE}")),
            _ => url = Some(arg),
        }
    }
    let mut config = ClientConfig::new(url.ok_or(USAGE)?);
    if reconnect {
        config = config.reconnect(Reconnect::default());
    }
    if insecure {
        config = config.danger_accept_invalid_certs(true);
    }
    Ok(config)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let (puller, mut events) = RtmpPuller::new(config_from_args()?);
    let printer = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                ClientEvent::VideoFrame { timestamp, data } => {
                    let kind = if data.is_sequence_header() {
                        "video header"
                    } else if data.is_keyframe() {
                        "keyframe"
                    } else {
                        "video"
                    };
                    println!(
                        "{timestamp:>8} ms  {kind:<12} {:>7} bytes",
                        data.payload.len()
                    );
                }
                ClientEvent::AudioFrame { timestamp, data } => {
                    let kind = if data.is_sequence_header() {
                        "audio header"
                    } else {
                        "audio"
                    };
                    println!(
                        "{timestamp:>8} ms  {kind:<12} {:>7} bytes",
                        data.payload.len()
                    );
                }
                ClientEvent::Metadata { payload } => {
                    println!("metadata ({} bytes)", payload.len())
                }
                ClientEvent::Status {
                    code, description, ..
                } => {
                    println!("status {code}: {description}")
                }
                ClientEvent::Disconnected => println!("disconnected"),
                other => println!("{other:?}"),
            }
        }
    });
    let result = puller.start().await;
    printer.await?;
    Ok(result?)
}
