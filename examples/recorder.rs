//! Records a stream to an FLV file until it ends:
//! `cargo run --example recorder -- rtmp://127.0.0.1/live/test out.flv`.

use rtmp_rs::client::{record, ClientConfig};
use std::path::PathBuf;

const USAGE: &str = "usage: recorder URL OUT.flv [--insecure]

Plays URL (rtmp:// or rtmps://) into OUT.flv until the stream ends.
  --insecure    accept any TLS certificate (self-signed test servers)";

fn args() -> Result<(ClientConfig, PathBuf), String> {
    let mut positional = Vec::new();
    let mut insecure = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--insecure" => insecure = true,
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag:?}\n{USAGE}")),
            _ => positional.push(arg),
        }
    }
    let [url, out] = <[String; 2]>::try_from(positional).map_err(|_| USAGE.to_owned())?;
    let config = ClientConfig::new(url).danger_accept_invalid_certs(insecure);
    Ok((config, out.into()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let (config, out) = args()?;
    println!("recording {} to {}", config.url, out.display());
    let tags = record(config, &out).await?;
    println!("stream ended: {tags} tags written");
    Ok(())
}
