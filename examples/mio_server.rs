//! The mio adapter embedded in an event loop the example owns:
//! `cargo run --release --features mio --example mio_server [-- --bind ADDR --stats ADDR]`.
//!
//! One thread, one `mio::Poll`: the RTMP server (every publish and play accepted) and,
//! beside it on the same loop, a plain-text stats page over HTTP (`curl
//! http://127.0.0.1:8080/`) listing each stream with its players and bitrate.

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use rtmp_rs::mio::{Handler, RtmpServer, ServerConfig};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

struct OpenServer;
impl Handler for OpenServer {}

/// The stats listener's token; its connections count up from `STATS_FIRST`.
const STATS: Token = Token(0);
/// The RTMP server owns this token and the `max_connections` after it.
const RTMP_FIRST: Token = Token(1);
const STATS_FIRST: usize = 1 << 20;

const USAGE: &str = "usage: mio_server [--bind ADDR] [--stats ADDR]

  --bind ADDR   RTMP listen address (default 0.0.0.0:1935)
  --stats ADDR  HTTP stats listen address (default 127.0.0.1:8080)";

fn parse_args() -> Result<(SocketAddr, SocketAddr), String> {
    let mut bind: SocketAddr = "0.0.0.0:1935".parse().expect("valid literal");
    let mut stats: SocketAddr = "127.0.0.1:8080".parse().expect("valid literal");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let target = match arg.as_str() {
            "--bind" => &mut bind,
            "--stats" => &mut stats,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        };
        let value = args.next().ok_or(format!("{arg} needs a value"))?;
        *target = value
            .parse()
            .map_err(|e| format!("bad {arg} address {value:?}: {e}"))?;
    }
    Ok((bind, stats))
}

fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let (bind, stats_addr) = parse_args().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let mut poll = Poll::new()?;
    let config = ServerConfig {
        bind,
        ..ServerConfig::default()
    };
    let mut rtmp = RtmpServer::bind(config, OpenServer)?;
    rtmp.register(poll.registry(), RTMP_FIRST)?;
    let mut stats = TcpListener::bind(stats_addr)?;
    poll.registry()
        .register(&mut stats, STATS, Interest::READABLE)?;
    tracing::info!(rtmp = %rtmp.local_addr()?, stats = %stats.local_addr()?, "listening");

    let mut pages: HashMap<Token, TcpStream> = HashMap::new();
    let mut next_page = STATS_FIRST;
    let mut events = Events::with_capacity(1024);
    loop {
        let timeout = rtmp
            .poll_timeout()
            .map(|at| at.saturating_duration_since(Instant::now()));
        match poll.poll(&mut events, timeout) {
            Ok(()) => {}
            // A signal (a debugger or profiler attaching) is no reason to stop.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in &events {
            if rtmp.handle_event(poll.registry(), event) {
                continue;
            }
            if event.token() == STATS {
                while let Ok((mut page, _)) = stats.accept() {
                    let token = Token(next_page);
                    next_page += 1;
                    poll.registry()
                        .register(&mut page, token, Interest::READABLE)?;
                    pages.insert(token, page);
                }
            } else if let Some(mut page) = pages.remove(&event.token()) {
                // Any request gets the page; one read is enough for a GET.
                let mut request = [0u8; 1024];
                let _ = page.read(&mut request);
                let _ = page.write_all(stats_page(&rtmp).as_bytes());
                let _ = poll.registry().deregister(&mut page);
            }
        }
        rtmp.handle_timeout(poll.registry(), Instant::now());
    }
}

/// A plain-text HTTP response listing each stream.
fn stats_page(rtmp: &RtmpServer<OpenServer>) -> String {
    let mut body = format!("connections {}\n", rtmp.connections());
    for s in rtmp.streams() {
        body += &format!(
            "{} publishing={} players={} bitrate_bps={} dropped={}\n",
            s.key, s.publishing, s.players, s.bitrate_bps, s.dropped_messages
        );
    }
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}
