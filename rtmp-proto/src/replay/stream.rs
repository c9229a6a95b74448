//! One direction's bytes as RTMP messages, with where each sits in the stream: the
//! server's side of a capture tells the replay what the app decided and what the hub
//! delivered.

use crate::amf::Amf0Value;
use crate::chunk::{ChunkDecoder, RawMessage};
use crate::handshake::HANDSHAKE_BLOCK;
use crate::hub::{Delivery, SharedMedia};
use crate::media::{MediaKind, MediaMessage};
use crate::message::{split_aggregate, type_id, Command, ControlMessage, UserControl};
use crate::SessionConfig;

/// Bytes of the handshake before the chunk stream, each way (C0 + C1 + C2, S0 + S1 + S2).
pub(crate) const HANDSHAKE_LEN: usize = 1 + 2 * HANDSHAKE_BLOCK;

/// A message and the stream offsets of its first and past-its-last byte.
#[derive(Debug)]
pub(crate) struct Located {
    pub start: usize,
    pub end: usize,
    pub message: RawMessage,
}

/// The messages of one direction's stream (after the handshake), and why decoding
/// stopped early, if it did.
pub(crate) fn decode(stream: &[u8], config: &SessionConfig) -> (Vec<Located>, Option<String>) {
    let mut messages = Vec::new();
    let Some(mut input) = stream.get(HANDSHAKE_LEN..) else {
        return (messages, None);
    };
    let mut decoder = ChunkDecoder::new(config.chunk_limits);
    let mut start = HANDSHAKE_LEN;
    loop {
        let message = match decoder.decode(&mut input) {
            Ok(Some(message)) => message,
            Ok(None) => return (messages, None),
            Err(e) => return (messages, Some(format!("at byte {start}: {e}"))),
        };
        let end = stream.len() - input.len();
        match message.header.type_id {
            type_id::SET_CHUNK_SIZE | type_id::ABORT => {
                match ControlMessage::parse(message.header.type_id, &message.payload) {
                    Ok(Some(ControlMessage::SetChunkSize(size))) => {
                        if let Err(e) = decoder.set_chunk_size(size) {
                            return (messages, Some(format!("at byte {start}: {e}")));
                        }
                    }
                    Ok(Some(ControlMessage::Abort { csid })) => decoder.abort(csid),
                    _ => {}
                }
                messages.push(Located {
                    start,
                    end,
                    message,
                });
            }
            type_id::AGGREGATE => {
                for part in split_aggregate(message.header, message.payload) {
                    messages.push(Located {
                        start,
                        end,
                        message: part,
                    });
                }
            }
            _ => messages.push(Located {
                start,
                end,
                message,
            }),
        }
        start = end;
    }
}

/// A command message's command, if it is one and decodes.
pub(crate) fn command(message: &RawMessage, config: &SessionConfig) -> Option<Command> {
    let skip = match message.header.type_id {
        type_id::COMMAND_AMF0 => 0,
        type_id::COMMAND_AMF3 => 1,
        _ => return None,
    };
    Command::decode(message.payload.get(skip..)?, &config.amf_limits).ok()
}

/// A string property of a command's first argument (its info object).
pub(crate) fn info_text(command: &Command, key: &str) -> Option<String> {
    command
        .argument(0)?
        .as_object()?
        .get(key)?
        .as_str()
        .map(str::to_owned)
}

/// What the app decided about a request, as the server's answer shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Accept,
    Reject(String),
    Redirect(String),
}

/// Which request an answer answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    Connect,
    Publish(u32),
    Play(u32),
}

/// An answer found in the server's stream.
#[derive(Debug)]
pub(crate) struct Answer {
    pub offset: usize,
    pub request: Request,
    pub verdict: Verdict,
    pub used: bool,
}

/// A delivery found in the server's stream: what the hub handed the session.
#[derive(Debug)]
pub(crate) struct Delivered {
    pub offset: usize,
    pub stream_id: u32,
    pub delivery: Delivery,
}

/// The app's answers and the hub's deliveries in a server's stream.
pub(crate) fn answers_and_deliveries(
    messages: &[Located],
    config: &SessionConfig,
) -> (Vec<Answer>, Vec<Delivered>) {
    let mut answers = Vec::new();
    let mut deliveries = Vec::new();
    for (i, located) in messages.iter().enumerate() {
        let header = located.message.header;
        let payload = &located.message.payload;
        let mut deliver = |delivery| {
            deliveries.push(Delivered {
                offset: located.start,
                stream_id: header.stream_id,
                delivery,
            })
        };
        match header.type_id {
            type_id::AUDIO | type_id::VIDEO if header.stream_id != 0 => {
                let kind = if header.type_id == type_id::AUDIO {
                    MediaKind::Audio
                } else {
                    MediaKind::Video
                };
                let message = MediaMessage::new(kind, header.timestamp, payload.clone());
                deliver(Delivery::Media(SharedMedia::from(message)));
            }
            type_id::DATA_AMF0 if payload.starts_with(b"\x02\x00\x0AonMetaData") => {
                deliver(Delivery::Metadata(payload.clone()));
            }
            type_id::USER_CONTROL => {
                // The hub's PublishStarted: StreamBegin for the player's stream, then
                // PublishNotify (user control messages travel on stream 0).
                let Ok(Some(ControlMessage::UserControl(UserControl::StreamBegin(stream_id)))) =
                    ControlMessage::parse(header.type_id, payload)
                else {
                    continue;
                };
                let notify = messages
                    .get(i + 1)
                    .and_then(|next| command(&next.message, config))
                    .and_then(|next| info_text(&next, "code"));
                if notify.as_deref() == Some("NetStream.Play.PublishNotify") {
                    deliveries.push(Delivered {
                        offset: located.start,
                        stream_id,
                        delivery: Delivery::PublishStarted,
                    });
                }
            }
            _ => {
                let Some(command) = command(&located.message, config) else {
                    continue;
                };
                let code = info_text(&command, "code").unwrap_or_default();
                let description = info_text(&command, "description").unwrap_or_default();
                let (request, verdict) = match (command.name.as_str(), code.as_str()) {
                    ("_result", "NetConnection.Connect.Success") => {
                        (Request::Connect, Verdict::Accept)
                    }
                    ("_error", "NetConnection.Connect.Rejected") => {
                        let redirect = command
                            .argument(0)
                            .and_then(Amf0Value::as_object)
                            .and_then(|info| info.get("ex"))
                            .and_then(Amf0Value::as_object)
                            .and_then(|ex| ex.get("redirect"))
                            .and_then(Amf0Value::as_str);
                        let verdict = match redirect {
                            Some(url) => Verdict::Redirect(url.to_owned()),
                            None => Verdict::Reject(description),
                        };
                        (Request::Connect, verdict)
                    }
                    ("onStatus", "NetStream.Publish.Start") => {
                        (Request::Publish(header.stream_id), Verdict::Accept)
                    }
                    ("onStatus", "NetStream.Publish.BadName") => (
                        Request::Publish(header.stream_id),
                        Verdict::Reject(description),
                    ),
                    ("onStatus", "NetStream.Play.Start") => {
                        (Request::Play(header.stream_id), Verdict::Accept)
                    }
                    ("onStatus", "NetStream.Play.StreamNotFound") => (
                        Request::Play(header.stream_id),
                        Verdict::Reject(description),
                    ),
                    ("onStatus", "NetStream.Play.UnpublishNotify") => {
                        deliver(Delivery::PublishStopped);
                        continue;
                    }
                    _ => continue,
                };
                answers.push(Answer {
                    offset: located.start,
                    request,
                    verdict,
                    used: false,
                });
            }
        }
    }
    (answers, deliveries)
}

/// The `onStatus` codes (and `_error` descriptions) a stream carries, in order.
pub(crate) fn statuses(messages: &[Located], config: &SessionConfig) -> Vec<String> {
    messages
        .iter()
        .filter_map(|located| command(&located.message, config))
        .filter_map(|command| match command.name.as_str() {
            "onStatus" | "_error" => info_text(&command, "code"),
            "_result" => info_text(&command, "code"),
            _ => None,
        })
        .collect()
}
