//! Pulls a stream from one server and publishes it to another:
//! `cargo run --example relay -- rtmp://origin/live/key rtmp://edge/live/key`.

use rtmp_rs::client::{relay, ClientConfig, Reconnect};

const USAGE: &str = "usage: relay FROM_URL TO_URL [--reconnect] [--insecure]

Plays FROM_URL and publishes every message to TO_URL until the source ends.
  --reconnect   reconnect either side with backoff when its connection is lost
  --insecure    accept any TLS certificate (self-signed test servers)";

fn args() -> Result<(ClientConfig, ClientConfig), String> {
    let mut urls = Vec::new();
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
            _ => urls.push(arg),
        }
    }
    let [from, to] = <[String; 2]>::try_from(urls).map_err(|_| USAGE.to_owned())?;
    let configure = |url: String| {
        let config = ClientConfig::new(url).danger_accept_invalid_certs(insecure);
        if reconnect {
            config.reconnect(Reconnect::default())
        } else {
            config
        }
    };
    Ok((configure(from), configure(to)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let (from, to) = args()?;
    println!("relaying {} -> {}", from.url, to.url);
    let moved = relay(from, to).await?;
    println!(
        "source ended: {} media and {} metadata messages relayed",
        moved.media, moved.metadata
    );
    Ok(())
}
