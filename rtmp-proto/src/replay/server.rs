//! Driving a [`ServerSession`] with a captured connection's client bytes.

use super::flow::{Connection, Direction};
use super::stream::{self, Answer, Delivered, Located, Request, Verdict, HANDSHAKE_LEN};
use super::summary::{abbreviate, describe_server_event};
use super::{ReplayOptions, Split, TimedEvent};
use crate::capture::CaptureMeta;
use crate::hub::Delivery;
use crate::rng::SplitMix64;
use crate::{ServerEvent, ServerSession, SessionError};
use bytes::Bytes;
use std::fmt;
use std::time::{Duration, Instant};

/// The first place where a replay's output differs from the captured output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// Offset in the server's output stream (the handshake included).
    pub offset: usize,
    /// Capture time of the captured byte there (of the last captured output when the
    /// replay wrote more), since the connection's first packet.
    pub at: Duration,
    /// The captured byte (`None`: the replay wrote more than the capture holds).
    pub expected: Option<u8>,
    /// The replayed byte (`None`: the replay wrote less).
    pub actual: Option<u8>,
    /// What surrounds the byte: hex windows of both sides, the captured message it
    /// falls in, and the last events before it.
    pub context: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let byte =
            |b: Option<u8>| b.map_or_else(|| "end of output".into(), |b| format!("{b:#04x}"));
        write!(
            f,
            "output differs at byte {} (capture time {:.6} s): captured {}, replayed {}\n{}",
            self.offset,
            self.at.as_secs_f64(),
            byte(self.expected),
            byte(self.actual),
            self.context
        )
    }
}

/// What replaying one connection through a server session gave.
#[derive(Debug, Clone)]
pub struct ServerReplay {
    /// The session's events, in order.
    pub events: Vec<TimedEvent<ServerEvent>>,
    /// What the hub delivered to the session's players (recovered from the capture).
    pub delivered: Vec<TimedEvent<Delivery>>,
    /// Everything the replayed session wrote.
    pub output: Bytes,
    /// Everything the captured server wrote.
    pub captured: Bytes,
    /// Status codes in the captured server output (`onStatus`, `_result`, `_error`).
    pub captured_statuses: Vec<String>,
    /// Offset from which output was compared: 0 when the handshake seed was known
    /// (our own capture), else past the handshake.
    pub compared_from: usize,
    /// The first difference between replayed and captured output, if any.
    pub divergence: Option<Divergence>,
    /// Bytes at the end of the replayed output that the captured server never wrote
    /// because the connection closed first (they answer the peer's last input).
    pub unwritten: usize,
    /// Requests the capture holds no answer to (left pending, as the server did).
    pub unanswered: Vec<String>,
    /// Why the replayed session ended, if it failed.
    pub error: Option<SessionError>,
    /// Why the captured server output could not be decoded to its end, if it couldn't.
    pub decode_error: Option<String>,
}

impl ServerReplay {
    /// Whether the whole output, handshake included, matched the capture.
    pub fn is_byte_identical(&self) -> bool {
        self.compared_from == 0 && self.divergence.is_none()
    }
}

struct Driver<'a> {
    session: ServerSession,
    base: Instant,
    last: Duration,
    options: &'a ReplayOptions,
    splitter: SplitMix64,
    events: Vec<TimedEvent<ServerEvent>>,
    /// For each event, the output length when it was raised.
    event_marks: Vec<usize>,
    delivered: Vec<TimedEvent<Delivery>>,
    output: Vec<u8>,
    answers: Vec<Answer>,
    deliveries: Vec<Delivered>,
    next_delivery: usize,
    unanswered: Vec<String>,
}

/// Bounds the timer loop between two packets (timers re-arm later than they fire,
/// so this is only a guard).
const MAX_TIMERS_PER_STEP: usize = 1000;

pub(super) fn replay(
    connection: &Connection,
    meta: Option<&CaptureMeta>,
    truncated: bool,
    options: &ReplayOptions,
) -> ServerReplay {
    let seed = options.rng_seed.or(meta.map(|m| m.rng_seed));
    let captured = Bytes::from(connection.stream(Direction::ServerToClient));
    let config = &options.config;
    let (messages, decode_error) = stream::decode(&captured, config);
    let (answers, deliveries) = stream::answers_and_deliveries(&messages, config);
    let base = Instant::now();
    let split_seed = match options.split {
        Split::Random { seed } => seed,
        _ => 0,
    };
    let mut driver = Driver {
        session: ServerSession::new(config.clone(), base, seed.unwrap_or(0)),
        base,
        last: Duration::ZERO,
        options,
        splitter: SplitMix64::new(split_seed),
        events: Vec::new(),
        event_marks: Vec::new(),
        delivered: Vec::new(),
        output: Vec::new(),
        answers,
        deliveries,
        next_delivery: 0,
        unanswered: Vec::new(),
    };
    let mut captured_end = 0;
    // Replayed output length when the captured server last wrote.
    let mut output_at_last_write = 0;
    for record in &connection.records {
        match record.direction {
            Direction::ClientToServer => {
                driver.fire_timers(record.at, false);
                driver.feed(record.at, &record.data);
            }
            Direction::ServerToClient => {
                captured_end += record.data.len();
                driver.before_write(record.at, captured_end);
                output_at_last_write = driver.output.len();
            }
        }
    }
    let end = connection.records.last().map_or(Duration::ZERO, |r| r.at);
    driver.deliver_up_to(end, captured.len());
    let unanswered = std::mem::take(&mut driver.unanswered);
    let compared_from = if seed.is_some() { 0 } else { HANDSHAKE_LEN };
    // Output made after the captured server's last write, for input that came
    // after it, is never written when the peer closes the connection first.
    let unwritten = if connection.closed && output_at_last_write <= captured.len() {
        driver.output.len().saturating_sub(captured.len())
    } else {
        0
    };
    let written = &driver.output[..driver.output.len() - unwritten];
    let divergence = compare(
        connection,
        &captured,
        written,
        compared_from,
        truncated,
        &messages,
        &driver,
    );
    ServerReplay {
        captured_statuses: stream::statuses(&messages, config),
        error: driver.session.error().cloned(),
        events: driver.events,
        delivered: driver.delivered,
        output: Bytes::from(driver.output),
        captured,
        compared_from,
        divergence,
        unwritten,
        unanswered,
        decode_error,
    }
}

impl Driver<'_> {
    fn now(&mut self, at: Duration) -> Instant {
        self.last = self.last.max(at);
        self.base + self.last
    }

    /// Feeds client bytes received at `at`, cut as the options say.
    fn feed(&mut self, at: Duration, data: &[u8]) {
        let mut rest = data;
        while !rest.is_empty() {
            if self.session.is_closing() {
                // The adapter stops reading once the session is closing.
                return;
            }
            let take = match self.options.split {
                Split::AsCaptured => rest.len(),
                Split::ByteAtATime => 1,
                Split::Random { .. } => 1 + (self.splitter.next_u64() % rest.len() as u64) as usize,
            };
            let (piece, tail) = rest.split_at(take);
            rest = tail;
            let now = self.now(at);
            let _ = self.session.handle_input(now, piece);
            self.drain(at);
        }
    }

    /// Fires the timers due by `at`: at their deadlines before input, at `at` (the
    /// time the captured server wrote) before output.
    fn fire_timers(&mut self, at: Duration, at_write: bool) -> bool {
        let mut fired = false;
        for _ in 0..MAX_TIMERS_PER_STEP {
            let Some(deadline) = self.session.poll_timeout() else {
                break;
            };
            let due = deadline.saturating_duration_since(self.base);
            if due > at {
                break;
            }
            let when = if at_write { at } else { due };
            let now = self.now(when);
            let _ = self.session.handle_timeout(now);
            self.drain(when);
            fired = true;
            if at_write {
                break;
            }
        }
        fired
    }

    /// Before a captured write at `at` that brought the captured output to
    /// `captured_end`: the deliveries and timers that came before it, in the order
    /// their output appears.
    fn before_write(&mut self, at: Duration, captured_end: usize) {
        for _ in 0..MAX_TIMERS_PER_STEP {
            let aligned = self
                .deliveries
                .get(self.next_delivery)
                .is_some_and(|d| d.offset == self.output.len() && d.offset < captured_end);
            if aligned {
                self.deliver_next(at);
            } else if !self.fire_timers(at, true) {
                break;
            }
        }
        // Deliveries whose output could not be lined up (the replay diverged, or the
        // server was not this crate's): in capture order, at the latest here.
        self.deliver_up_to(at, captured_end);
    }

    fn deliver_up_to(&mut self, at: Duration, captured_end: usize) {
        while self
            .deliveries
            .get(self.next_delivery)
            .is_some_and(|d| d.offset < captured_end)
        {
            self.deliver_next(at);
        }
    }

    fn deliver_next(&mut self, at: Duration) {
        let Some(delivered) = self.deliveries.get(self.next_delivery) else {
            return;
        };
        self.next_delivery += 1;
        let (stream_id, delivery) = (delivered.stream_id, delivered.delivery.clone());
        let now = self.now(at);
        self.session.deliver(now, stream_id, &delivery);
        self.delivered.push(TimedEvent {
            at,
            event: delivery,
        });
        self.drain(at);
    }

    /// Collects output and events, answering requests as the capture shows.
    fn drain(&mut self, at: Duration) {
        loop {
            for segment in self.session.take_output() {
                self.output.extend_from_slice(&segment);
            }
            let Some(event) = self.session.poll_event() else {
                return;
            };
            let request = match &event {
                ServerEvent::ConnectRequest { id, .. } => Some((*id, Request::Connect)),
                ServerEvent::PublishRequest { id, params } => {
                    Some((*id, Request::Publish(params.stream_id)))
                }
                ServerEvent::PlayRequest { id, params } => {
                    Some((*id, Request::Play(params.stream_id)))
                }
                _ => None,
            };
            let description = describe_server_event(&event);
            self.events.push(TimedEvent { at, event });
            self.event_marks.push(self.output.len());
            if let Some((id, request)) = request {
                let now = self.now(at);
                match self.verdict(request) {
                    Some(Verdict::Accept) => self.session.accept(now, id),
                    Some(Verdict::Reject(reason)) => self.session.reject(now, id, &reason),
                    Some(Verdict::Redirect(url)) => self.session.redirect(now, id, &url),
                    None => self.unanswered.push(description),
                }
            }
        }
    }

    /// The captured answer to `request`: the first unused one at or past the output
    /// written so far, else the first unused one.
    fn verdict(&mut self, request: Request) -> Option<Verdict> {
        let written = self.output.len();
        let unused = |a: &&mut Answer| !a.used && a.request == request;
        let found = match self
            .answers
            .iter_mut()
            .filter(unused)
            .find(|a| a.offset >= written)
        {
            Some(answer) => Some(answer),
            None => self
                .answers
                .iter_mut()
                .find(|a| !a.used && a.request == request),
        }?;
        found.used = true;
        Some(found.verdict.clone())
    }
}

/// The first difference between captured and replayed output from `from` on.
fn compare(
    connection: &Connection,
    captured: &[u8],
    output: &[u8],
    from: usize,
    truncated: bool,
    messages: &[Located],
    driver: &Driver<'_>,
) -> Option<Divergence> {
    // A capture cut short (size bound, gap) holds only a prefix of the output.
    let gap = connection
        .gap
        .filter(|g| g.direction == Direction::ServerToClient)
        .map(|g| g.offset as usize);
    let prefix_only = truncated || connection.gap.is_some();
    let limit = gap.unwrap_or(captured.len()).min(captured.len());
    let captured = &captured[..limit];
    let output = if prefix_only {
        &output[..output.len().min(limit)]
    } else {
        output
    };
    let offset =
        (from..captured.len().max(output.len())).find(|&i| captured.get(i) != output.get(i))?;
    let at = record_time(connection, offset);
    let window = |bytes: &[u8]| {
        let start = offset.saturating_sub(16).min(bytes.len());
        let end = (offset + 16).min(bytes.len());
        let hex: Vec<String> = bytes[start..end]
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if start + i == offset {
                    format!("[{b:02x}]")
                } else {
                    format!("{b:02x}")
                }
            })
            .collect();
        format!("@{start}: {}", hex.join(" "))
    };
    let mut context = format!(
        "  captured {}\n  replayed {}\n",
        window(captured),
        window(output)
    );
    if offset < HANDSHAKE_LEN {
        context.push_str("  in the handshake (S0 S1 S2)\n");
    } else if let Some(located) = messages
        .iter()
        .find(|m| m.start <= offset && offset < m.end)
    {
        let h = located.message.header;
        context.push_str(&format!(
            "  in the captured message at bytes {}..{}: type {}, chunk stream {}, message stream {}, timestamp {}\n",
            located.start, located.end, h.type_id, h.csid, h.stream_id, h.timestamp
        ));
    }
    // The events raised before the differing byte was written.
    let before: Vec<&TimedEvent<ServerEvent>> = driver
        .events
        .iter()
        .zip(&driver.event_marks)
        .filter(|(_, &mark)| mark <= offset)
        .map(|(event, _)| event)
        .collect();
    context.push_str("  last events before it:");
    if before.is_empty() {
        context.push_str(" none");
    }
    for event in before.iter().rev().take(3).rev() {
        let text = abbreviate(&describe_server_event(&event.event), 120);
        context.push_str(&format!("\n    {:.6} s {text}", event.at.as_secs_f64()));
    }
    Some(Divergence {
        offset,
        at,
        expected: captured.get(offset).copied(),
        actual: output.get(offset).copied(),
        context,
    })
}

/// Capture time of the server output byte at `offset` (the last output's past the end).
fn record_time(connection: &Connection, offset: usize) -> Duration {
    let mut end = 0;
    let mut last = Duration::ZERO;
    for record in connection
        .records
        .iter()
        .filter(|r| r.direction == Direction::ServerToClient)
    {
        end += record.data.len();
        last = record.at;
        if offset < end {
            return record.at;
        }
    }
    last
}
