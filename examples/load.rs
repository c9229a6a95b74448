//! Load tool: one publisher and many players over real sockets against any RTMP
//! server (ours or another), reporting delivered bytes, drops, join time and
//! latency percentiles — and, given the server's pid, its CPU seconds per delivered
//! gigabyte and resident memory.
//!
//! ```text
//! cargo run --release --example load -- --url rtmp://127.0.0.1:1935/live/load \
//!     --flv input.flv --players 300 --seconds 20 [--server-pid PID]
//! ```
//!
//! The publisher sends the FLV's tags at their own pace (looping), and notes when it
//! sent each message; players compare arrival times with that for latency, reported
//! for video and audio apart. A player plays them in step, so video's latency is the
//! one a viewer sees (audio may ride with the next video frame: `rtmp_rs::proto::hub::HubConfig::audio_hold`).

use rtmp_rs::proto::flv::{FlvReader, FlvTag, TAG_AUDIO, TAG_SCRIPT, TAG_VIDEO};
use rtmp_rs::proto::media::{MediaKind, MediaMessage};
use rtmp_rs::proto::url::RtmpUrl;
use rtmp_rs::proto::{ClientEvent, ClientIntent, ClientParams, ClientSession, SessionConfig};
use std::collections::HashMap;
use std::io::IoSlice;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    url: String,
    flv: String,
    players: usize,
    seconds: u64,
    server_pid: Option<u32>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: String::new(),
        flv: String::new(),
        players: 100,
        seconds: 20,
        server_pid: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => args.url = value()?,
            "--flv" => args.flv = value()?,
            "--players" => args.players = value()?.parse().map_err(|e| format!("--players: {e}"))?,
            "--seconds" => args.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--server-pid" => args.server_pid = Some(value()?.parse().map_err(|e| format!("--server-pid: {e}"))?),
            "-h" | "--help" => {
                return Err("usage: load --url rtmp://host:port/app/key --flv FILE [--players N] [--seconds S] [--server-pid PID]".into())
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.url.is_empty() || args.flv.is_empty() {
        return Err("--url and --flv are required (see --help)".into());
    }
    Ok(args)
}

/// When the publisher sent each message, by kind and timestamp (for latency).
type SendTimes = Arc<Mutex<HashMap<(MediaKind, u32), Instant>>>;

/// What one player saw.
#[derive(Default)]
struct PlayerReport {
    bytes: u64,
    messages: u64,
    join: Option<Duration>,
    /// Messages sent before this player's play started (the GOP cache's catch-up).
    cached: u64,
    /// Arrival minus send time of each message: video, then audio.
    latencies_us: [Vec<u64>; 2],
}

/// Runs a session over a socket until it closes or the deadline passes. `step` sees
/// every event (`Some`) and a tick every 5 ms (`None`), and may feed the session.
async fn drive(
    mut session: ClientSession,
    addr: &str,
    deadline: Instant,
    mut step: impl FnMut(&mut ClientSession, Option<ClientEvent>),
) -> std::io::Result<()> {
    let mut socket = TcpStream::connect(addr).await?;
    socket.set_nodelay(true)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut ticker = tokio::time::interval(Duration::from_millis(5));
    while Instant::now() < deadline && !session.is_closing() {
        while !session.output().is_empty() {
            let mut slices = [IoSlice::new(&[]); 64];
            let count = session.output().io_slices(&mut slices);
            let written = socket.write_vectored(&slices[..count]).await?;
            session.advance_output(written);
        }
        tokio::select! {
            read = socket.read(&mut buf) => {
                let n = read?;
                if n == 0 {
                    break;
                }
                session.handle_input(Instant::now(), &buf[..n]).map_err(std::io::Error::other)?;
                while let Some(event) = session.poll_event() {
                    step(&mut session, Some(event));
                }
            }
            _ = ticker.tick() => step(&mut session, None),
        }
    }
    Ok(())
}

fn client(url: &RtmpUrl, intent: ClientIntent, seed: u64) -> ClientSession {
    let params = ClientParams::new(url.tc_url.clone(), url.app.clone());
    ClientSession::new(
        SessionConfig::default(),
        params,
        intent,
        Instant::now(),
        seed,
    )
}

fn read_tags(path: &str) -> Result<Vec<FlvTag>, String> {
    let mut reader = FlvReader::new();
    reader.push(&std::fs::read(path).map_err(|e| format!("{path}: {e}"))?);
    let mut tags = Vec::new();
    while let Some(tag) = reader.next_tag().map_err(|e| e.to_string())? {
        tags.push(tag);
    }
    Ok(tags)
}

/// Publishes `tags` in a loop at their own pace until `deadline`.
async fn publish(
    url: RtmpUrl,
    tags: Vec<FlvTag>,
    sent: SendTimes,
    deadline: Instant,
) -> std::io::Result<()> {
    let intent = ClientIntent::Publish {
        stream: url.stream.clone(),
        publish_type: "live".into(),
    };
    let session = client(&url, intent, 1);
    let span = tags.last().map_or(1, |t| t.timestamp + 33);
    let mut started: Option<Instant> = None;
    let mut next = 0usize;
    let addr = url.authority();
    drive(session, &addr, deadline, |session, event| {
        if event == Some(ClientEvent::PublishStarted) {
            started = Some(Instant::now());
            if let Some(meta) = tags.iter().find(|t| t.tag_type == TAG_SCRIPT) {
                session.send_metadata(&meta.data);
            }
        }
        let Some(start) = started else { return };
        let elapsed = start.elapsed().as_millis() as u32;
        // Send every tag due by now (looping the file, timestamps kept increasing).
        while let Some(tag) = tags.get(next % tags.len()) {
            let lap = (next / tags.len()) as u32;
            let ts = tag.timestamp + lap * span;
            if ts > elapsed {
                break;
            }
            let kind = match tag.tag_type {
                TAG_AUDIO => MediaKind::Audio,
                TAG_VIDEO => MediaKind::Video,
                _ => {
                    next += 1;
                    continue;
                }
            };
            sent.lock().unwrap().insert((kind, ts), Instant::now());
            session.send_media(&MediaMessage::new(kind, ts, tag.data.clone()));
            next += 1;
        }
    })
    .await
}

async fn play(url: RtmpUrl, index: usize, sent: SendTimes, deadline: Instant) -> PlayerReport {
    let intent = ClientIntent::Play {
        stream: url.stream.clone(),
        start: -2.0,
    };
    let session = client(&url, intent, 100 + index as u64);
    let mut report = PlayerReport::default();
    let begun = Instant::now();
    let addr = url.authority();
    // Messages sent before the play started come from the server's GOP cache: they
    // are counted, but their age is no delivery latency.
    let mut playing_since = None;
    let result = drive(session, &addr, deadline, |_, event| match event {
        Some(ClientEvent::Status { code, .. }) if code == "NetStream.Play.Start" => {
            playing_since.get_or_insert_with(Instant::now);
        }
        Some(ClientEvent::Media { message }) => {
            report.bytes += message.payload.len() as u64;
            report.messages += 1;
            if report.join.is_none() && message.kind == MediaKind::Video {
                report.join = Some(begun.elapsed());
            }
            let key = (message.kind, message.timestamp);
            match (sent.lock().unwrap().get(&key), playing_since) {
                (Some(at), Some(since)) if *at >= since => {
                    let track = usize::from(message.kind == MediaKind::Audio);
                    report.latencies_us[track].push(at.elapsed().as_micros() as u64);
                }
                _ => report.cached += 1,
            }
        }
        _ => {}
    })
    .await;
    if let Err(e) = result {
        eprintln!("player {index}: {e}");
    }
    report
}

/// CPU seconds (user + system) and resident bytes of a process, from /proc.
fn process_usage(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((ticks / 100.0, rss_kb * 1024))
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let url = RtmpUrl::parse(&args.url)?;
    let tags = read_tags(&args.flv)?;
    let sent: SendTimes = Arc::new(Mutex::new(HashMap::new()));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let before = args.server_pid.and_then(process_usage);

    let mut players = Vec::new();
    for index in 0..args.players {
        players.push(tokio::spawn(play(
            url.clone(),
            index,
            sent.clone(),
            deadline,
        )));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let publisher = tokio::spawn(publish(url.clone(), tags, sent.clone(), deadline));

    let mut reports = Vec::new();
    for player in players {
        reports.push(player.await?);
    }
    publisher.await??;
    let after = args.server_pid.and_then(process_usage);

    let published = sent.lock().unwrap().len() as u64;
    let bytes: u64 = reports.iter().map(|r| r.bytes).sum();
    let short: usize = reports
        .iter()
        .filter(|r| r.messages + 5 < published)
        .count();
    let mut joins: Vec<u64> = reports
        .iter()
        .filter_map(|r| r.join)
        .map(|d| d.as_millis() as u64)
        .collect();
    joins.sort_unstable();
    println!(
        "players: {}  published messages: {published}",
        reports.len()
    );
    println!(
        "delivered: {:.3} GB ({} messages)",
        bytes as f64 / 1e9,
        reports.iter().map(|r| r.messages).sum::<u64>()
    );
    println!("players short of messages (>5 missing): {short}");
    println!(
        "caught up from the cache: {} messages (no latency measured)",
        reports.iter().map(|r| r.cached).sum::<u64>()
    );
    println!(
        "join ms: p50 {} p99 {}",
        percentile(&joins, 0.5),
        percentile(&joins, 0.99)
    );
    for (track, name) in ["video", "audio"].iter().enumerate() {
        let mut latencies: Vec<u64> = (reports.iter())
            .flat_map(|r| r.latencies_us[track].iter().copied())
            .collect();
        latencies.sort_unstable();
        println!(
            "{name} latency ms: p50 {:.1} p95 {:.1} p99 {:.1}",
            percentile(&latencies, 0.5) as f64 / 1000.0,
            percentile(&latencies, 0.95) as f64 / 1000.0,
            percentile(&latencies, 0.99) as f64 / 1000.0
        );
    }
    if let (Some((cpu0, _)), Some((cpu1, rss))) = (before, after) {
        let cpu = cpu1 - cpu0;
        println!(
            "server cpu: {cpu:.2} s  ({:.2} cpu-s per delivered GB)",
            cpu / (bytes as f64 / 1e9).max(1e-9)
        );
        println!(
            "server rss: {:.1} MiB  ({:.1} KiB per player)",
            rss as f64 / 1048576.0,
            rss as f64 / 1024.0 / args.players.max(1) as f64
        );
    }
    Ok(())
}
