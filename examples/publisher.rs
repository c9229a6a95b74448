//! Publishes an FLV file in real time, like `ffmpeg -re -i FILE -c copy -f flv URL`:
//! `cargo run --example publisher -- input.flv rtmp://127.0.0.1/live/test`.

use rtmp_rs::client::{publish_flv_file, ClientConfig, Pace, RtmpPublisher};
use std::path::PathBuf;

const USAGE: &str = "usage: publisher FILE.flv URL [--unpaced] [--insecure]

Publishes FILE.flv to URL (rtmp:// or rtmps://) at the pace of its timestamps.
  --unpaced     send as fast as the connection takes it
  --insecure    accept any TLS certificate (self-signed test servers)";

fn args() -> Result<(PathBuf, ClientConfig, Pace), String> {
    let mut positional = Vec::new();
    let (mut pace, mut insecure) = (Pace::RealTime, false);
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--unpaced" => pace = Pace::Unpaced,
            "--insecure" => insecure = true,
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag:?}\n{USAGE}")),
            _ => positional.push(arg),
        }
    }
    let [file, url] = <[String; 2]>::try_from(positional).map_err(|_| USAGE.to_owned())?;
    let config = ClientConfig::new(url).danger_accept_invalid_certs(insecure);
    Ok((file.into(), config, pace))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let (file, config, pace) = args()?;
    let url = config.url.clone();
    let publisher = RtmpPublisher::connect(config).await?;
    println!("publishing {} to {url}", file.display());
    let sent = publish_flv_file(&publisher, &file, pace).await;
    publisher.close().await?;
    let sent = sent?;
    println!(
        "sent {} tags, {} bytes, {:.1} s of media",
        sent.tags,
        sent.bytes,
        sent.duration.as_secs_f64()
    );
    Ok(())
}
