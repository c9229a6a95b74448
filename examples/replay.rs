//! Replays a capture through the server session and checks that it is deterministic:
//! `cargo run --example replay --features replay -- CAPTURE.pcap[ng]`.
//!
//! For each TCP connection it prints the session's events (media summed up per
//! track), then replays it again as captured and one byte at a time: any difference
//! in events or output, or — for captures written by `rtmp_proto::capture` — any
//! difference from the captured server output, exits with status 1.

use rtmp_rs::proto::replay::{
    first_event_difference, Capture, ReplayOptions, SessionSummary, Split,
};
use rtmp_rs::proto::ServerEvent;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: replay CAPTURE.pcap|CAPTURE.pcapng");
        return ExitCode::from(2);
    };
    let capture = match Capture::open(&path) {
        Ok(capture) => capture,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(meta) = &capture.meta {
        println!("recorded by rtmp-rs: {meta}");
    }
    let mut diverged = false;
    for (index, connection) in capture.connections.iter().enumerate() {
        println!(
            "\n#{index} {} -> {} ({:?}, roles from {:?}; {} duplicate bytes, {} out-of-order segments{})",
            connection.client,
            connection.server,
            connection.opening,
            connection.roles_from,
            connection.duplicate_bytes,
            connection.out_of_order_segments,
            connection.gap.map_or(String::new(), |g| format!("; gap: {g:?}")),
        );
        let options = ReplayOptions::default();
        let first = match capture.replay_server(index, &options) {
            Ok(replay) => replay,
            Err(e) => {
                println!("  not replayed: {e}");
                continue;
            }
        };
        for event in &first.events {
            if !matches!(event.event, ServerEvent::Media { .. }) {
                println!("  {:>10.6} s {:?}", event.at.as_secs_f64(), event.event);
            }
        }
        println!(
            "  {}",
            SessionSummary::of(&first).to_string().replace('\n', "\n  ")
        );
        let again = capture
            .replay_server(index, &options)
            .expect("replayed once");
        let bytewise = capture
            .replay_server(
                index,
                &ReplayOptions {
                    split: Split::ByteAtATime,
                    ..ReplayOptions::default()
                },
            )
            .expect("replayed once");
        for (what, other) in [
            ("a second replay", &again),
            ("byte-at-a-time input", &bytewise),
        ] {
            if let Some((i, a, b)) = first_event_difference(&first.events, &other.events) {
                println!("  DIVERGED with {what}: event #{i} was {a:?}, now {b:?}");
                diverged = true;
            }
        }
        if first.output != again.output {
            println!("  DIVERGED: a second replay wrote different output");
            diverged = true;
        }
        match (&first.divergence, first.compared_from) {
            (None, 0) => println!("  output: byte-identical to the capture"),
            (None, from) => println!("  output: identical to the capture past byte {from}"),
            (Some(d), 0) => {
                println!("  DIVERGED from the captured output: {d}");
                diverged = true;
            }
            (Some(d), _) => println!("  note: another server's output (no seed), {d}"),
        }
    }
    if diverged {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
