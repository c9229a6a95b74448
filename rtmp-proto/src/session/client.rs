//! [`ClientSession`]: the client side of one RTMP connection — the handshake, then
//! `connect`, `createStream` and `publish` or `play`, driven by a [`ClientIntent`].

use super::link::{csid, Incoming, Link};
use super::{OutputQueue, SessionConfig, SessionError};
use crate::amf::{Amf0Value, AmfObject};
use crate::chunk::RawMessage;
use crate::enhanced::CapsEx;
use crate::handshake::{ClientHandshake, HandshakeForm};
use crate::media::{MediaKind, MediaMessage};
use crate::message::{type_id, Command, UserControl};
use bytes::{Bytes, BytesMut};
use smallvec::SmallVec;
use std::collections::VecDeque;
use std::time::Instant;

/// What the client connects to do.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientIntent {
    /// Publish `stream` (a stream name, with any `?query`).
    Publish {
        /// Stream name.
        stream: String,
        /// `live`, `record` or `append`.
        publish_type: String,
    },
    /// Play `stream`.
    Play {
        /// Stream name.
        stream: String,
        /// -2 live or recorded, -1 live only, >= 0 a position in seconds.
        start: f64,
    },
}

/// How the client introduces itself in `connect`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientParams {
    /// The URL sent as `tcUrl` (`rtmp://host[:port]/app`).
    pub tc_url: String,
    /// The application (`live`, `app/instance`).
    pub app: String,
    /// Client identification sent as `flashVer`.
    pub flash_ver: String,
    /// 0 for AMF0 commands, 3 to use the AMF3 command form (type 17).
    pub object_encoding: f64,
    /// Handshake form to offer.
    pub handshake: HandshakeForm,
    /// Enhanced RTMP extended capabilities to announce (`capsEx`), e.g. Reconnect
    /// when the client follows reconnect requests. Empty announces nothing.
    pub caps_ex: CapsEx,
    /// Further properties for the connect command object.
    pub extra: AmfObject,
}

impl ClientParams {
    /// Parameters for `app` at `tc_url`, AMF0, digest handshake.
    pub fn new(tc_url: impl Into<String>, app: impl Into<String>) -> Self {
        ClientParams {
            tc_url: tc_url.into(),
            app: app.into(),
            flash_ver: "FMLE/3.0 (compatible; rtmp-rs)".into(),
            object_encoding: 0.0,
            handshake: HandshakeForm::Digest,
            caps_ex: CapsEx::empty(),
            extra: AmfObject::new(),
        }
    }
}

/// What happened on a client connection, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// The handshake completed.
    HandshakeComplete,
    /// The server accepted `connect`; its properties and info objects.
    Connected {
        /// The `_result` command object (`fmsVer`, `capabilities`, …).
        properties: AmfObject,
        /// The info object (`code`, `description`, `objectEncoding`, …).
        info: AmfObject,
    },
    /// `createStream` returned this message stream id.
    StreamCreated {
        /// Message stream id.
        stream_id: u32,
    },
    /// An `onStatus` from the server (`NetStream.Publish.Start`, `…Play.Start`, errors…).
    Status {
        /// Message stream id it came on.
        stream_id: u32,
        /// `status`, `warning` or `error`.
        level: String,
        /// The status code.
        code: String,
        /// The description.
        description: String,
    },
    /// The server asks the client to reconnect (E-RTMP), to `tc_url` if given.
    ReconnectRequest {
        /// Where to reconnect; `None` means the same URL.
        tc_url: Option<String>,
        /// Why.
        description: String,
    },
    /// The server refused or failed the publish or play (an error-level status, e.g.
    /// `NetStream.Publish.BadName`, `NetStream.Play.StreamNotFound`); follows the Status.
    StreamFailed {
        /// The status code.
        code: String,
        /// The server's description.
        description: String,
    },
    /// The played stream ended (`NetStream.Play.Stop`, `…Complete`, `…UnpublishNotify`);
    /// follows the Status.
    StreamEnded {
        /// The status code.
        code: String,
    },
    /// Publishing may begin: the server sent `NetStream.Publish.Start`.
    PublishStarted,
    /// Playing began: the server sent `NetStream.Play.Start`.
    PlayStarted,
    /// A user control event about a stream (begin, EOF, dry, recorded).
    StreamControl(UserControl),
    /// An `onMetaData` data message payload, as played.
    Metadata {
        /// AMF0 payload starting with the string `onMetaData`.
        payload: Bytes,
    },
    /// Audio or video, as played.
    Media {
        /// The message.
        message: MediaMessage,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshake,
    /// `connect` sent.
    Connecting,
    /// `createStream` sent.
    CreatingStream,
    /// `publish` or `play` sent on the stream.
    Requested,
    /// Publishing or playing.
    Active,
    /// Closed by [`ClientSession::close_stream`].
    Finished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Connect,
    CreateStream,
    /// A call whose result nothing waits for (releaseStream, FCPublish, …).
    Other,
}

/// The client side of one RTMP connection, with no I/O. Created with C0 + C1 already
/// in its output; it connects, creates a stream and publishes or plays by itself,
/// reporting progress as [`ClientEvent`]s. Once [`ClientEvent::PublishStarted`], send
/// with [`ClientSession::send_media`] and [`ClientSession::send_metadata`].
#[derive(Debug)]
pub struct ClientSession {
    config: SessionConfig,
    params: ClientParams,
    intent: ClientIntent,
    phase: Phase,
    handshake: ClientHandshake,
    link: Link,
    events: VecDeque<ClientEvent>,
    /// Calls awaiting `_result`/`_error`: transaction id, kind, when sent.
    calls: SmallVec<[(f64, Call, Instant); 4]>,
    next_transaction: f64,
    stream_id: Option<u32>,
    started: Instant,
}

impl ClientSession {
    /// A session that will `intent` once connected; `rng_seed` fills the handshake.
    pub fn new(
        config: SessionConfig,
        params: ClientParams,
        intent: ClientIntent,
        now: Instant,
        rng_seed: u64,
    ) -> Self {
        let mut handshake = ClientHandshake::new(params.handshake, rng_seed, 0);
        let mut link = Link::new(&config, now);
        handshake.start(&mut link.output);
        if params.object_encoding == 3.0 {
            link.use_amf3_commands();
        }
        ClientSession {
            config,
            params,
            intent,
            phase: Phase::Handshake,
            handshake,
            link,
            events: VecDeque::new(),
            calls: SmallVec::new(),
            next_transaction: 1.0,
            stream_id: None,
            started: now,
        }
    }

    /// The message stream id the server gave, once it has.
    pub fn stream_id(&self) -> Option<u32> {
        self.stream_id
    }

    /// Whether the server proved the digest handshake (`None` for the simple form or
    /// before the handshake ends).
    pub fn server_verified(&self) -> Option<bool> {
        self.handshake.server_verified()
    }

    /// Feeds bytes received from the server, split anywhere. On error the session is over.
    pub fn handle_input(&mut self, now: Instant, mut data: &[u8]) -> Result<(), SessionError> {
        self.link.check_open()?;
        self.link.note_input(now, data.len());
        let result = self
            .consume(now, &mut data)
            .and_then(|()| self.link.finish_input());
        result.map_err(|e| self.link.fail(e))
    }

    fn consume(&mut self, now: Instant, data: &mut &[u8]) -> Result<(), SessionError> {
        if self.phase == Phase::Handshake {
            self.handshake.handle_input(data, &mut self.link.output)?;
            if !self.handshake.is_done() {
                return Ok(());
            }
            self.events.push_back(ClientEvent::HandshakeComplete);
            self.send_connect(now);
        }
        while let Some(incoming) = self.link.next(data)? {
            match incoming {
                Incoming::Message(message) => self.handle_message(now, message)?,
                Incoming::Event(event) => self.events.push_back(ClientEvent::StreamControl(event)),
            }
            if self.link.is_closing() {
                break;
            }
        }
        Ok(())
    }

    /// The next event, if any. Drain these after every call that feeds the session.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Why the session ended, once it has.
    pub fn error(&self) -> Option<&SessionError> {
        self.link.error()
    }

    /// Whether the connection should be closed once the pending output is written.
    pub fn is_closing(&self) -> bool {
        self.link.is_closing()
    }

    /// Output waiting to be written (see [`ServerSession::output`](crate::ServerSession::output)).
    pub fn output(&self) -> &OutputQueue {
        &self.link.output
    }

    /// Marks the first `n` output bytes as written.
    pub fn advance_output(&mut self, n: usize) {
        self.link.output.advance(n);
    }

    /// Takes all waiting output.
    pub fn take_output(&mut self) -> Vec<Bytes> {
        self.link.output.take_all()
    }

    /// When [`ClientSession::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.link.is_closing() {
            return None;
        }
        let mut deadline = self.link.poll_timeout();
        if matches!(self.phase, Phase::Handshake | Phase::Connecting) {
            deadline = deadline.min(self.started + self.config.connect_timeout);
        }
        if let Some(oldest) = self.awaited_calls().min() {
            deadline = deadline.min(oldest + self.config.command_timeout);
        }
        Some(deadline)
    }

    fn awaited_calls(&self) -> impl Iterator<Item = Instant> + '_ {
        self.calls
            .iter()
            .filter(|(_, call, _)| *call != Call::Other)
            .map(|(.., sent)| *sent)
    }

    /// Applies the timers at `now`: pings, the connect timeout, unanswered calls.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), SessionError> {
        self.link.check_open()?;
        if matches!(self.phase, Phase::Handshake | Phase::Connecting)
            && now >= self.started + self.config.connect_timeout
        {
            return Err(self.link.fail(SessionError::ConnectTimeout));
        }
        if self
            .awaited_calls()
            .any(|sent| now >= sent + self.config.command_timeout)
        {
            return Err(self.link.fail(SessionError::CommandTimeout));
        }
        let result = self
            .link
            .handle_timeout(now)
            .and_then(|()| self.link.check_output());
        result.map_err(|e| self.link.fail(e))
    }

    /// Pauses (`true`) or resumes playback; the server answers with a status.
    pub fn pause(&mut self, paused: bool, position_ms: f64) {
        self.play_command("pause", vec![paused.into(), position_ms.into()]);
    }

    /// Asks the server to send (or stop sending) audio.
    pub fn receive_audio(&mut self, on: bool) {
        self.play_command("receiveAudio", vec![on.into()]);
    }

    /// Asks the server to send (or stop sending) video.
    pub fn receive_video(&mut self, on: bool) {
        self.play_command("receiveVideo", vec![on.into()]);
    }

    /// Sends a command about the playing stream. Ignored unless playing.
    fn play_command(&mut self, name: &str, arguments: Vec<Amf0Value>) {
        if let (ClientIntent::Play { .. }, Phase::Active, Some(stream_id)) =
            (&self.intent, self.phase, self.stream_id)
        {
            let command = Command {
                name: name.into(),
                transaction_id: 0.0,
                command_object: Amf0Value::Null,
                arguments,
            };
            self.link.send_command(stream_id, &command);
        }
    }

    /// Announces and applies a new outgoing chunk size (any time, also mid-stream).
    pub fn set_chunk_size(&mut self, size: u32) {
        self.link.set_chunk_size(size);
    }

    /// Sends `onMetaData` (an AMF0 payload starting with the string `onMetaData`, as
    /// [`ClientEvent::Metadata`] and the server's events carry it) as `@setDataFrame`.
    pub fn send_metadata(&mut self, payload: &Bytes) {
        let Some(stream_id) = self.publishing_stream() else {
            return;
        };
        let mut framed = BytesMut::with_capacity(16 + payload.len());
        crate::amf::encode_value(&"@setDataFrame".into(), &mut framed);
        framed.extend_from_slice(payload);
        self.link.send_message(
            csid::DATA,
            0,
            type_id::DATA_AMF0,
            stream_id,
            &framed.freeze(),
        );
    }

    /// Sends audio or video on the publishing stream. Ignored unless publishing.
    pub fn send_media(&mut self, message: &MediaMessage) {
        let Some(stream_id) = self.publishing_stream() else {
            return;
        };
        let (chunk_stream, kind) = match message.kind {
            MediaKind::Audio => (csid::AUDIO, type_id::AUDIO),
            MediaKind::Video => (csid::VIDEO, type_id::VIDEO),
        };
        self.link.send_message(
            chunk_stream,
            message.timestamp,
            kind,
            stream_id,
            &message.payload,
        );
    }

    fn publishing_stream(&self) -> Option<u32> {
        match (&self.intent, self.phase) {
            (ClientIntent::Publish { .. }, Phase::Active) => self.stream_id,
            _ => None,
        }
    }

    /// Ends the publish or play politely (`FCUnpublish` and `deleteStream`); close
    /// the connection once the output is written.
    pub fn close_stream(&mut self) {
        if let Some(stream_id) = self.stream_id.take() {
            if let ClientIntent::Publish { stream, .. } = &self.intent {
                let unpublish = self.call(
                    "FCUnpublish",
                    Call::Other,
                    vec![stream.clone().into()],
                    self.started,
                );
                self.link.send_command(0, &unpublish);
            }
            let delete = self.call(
                "deleteStream",
                Call::Other,
                vec![stream_id.into()],
                self.started,
            );
            self.link.send_command(0, &delete);
        }
        self.phase = Phase::Finished;
        self.link.close();
    }

    /// A command with a fresh transaction id, tracked until answered.
    fn call(&mut self, name: &str, kind: Call, arguments: Vec<Amf0Value>, now: Instant) -> Command {
        let transaction_id = self.next_transaction;
        self.next_transaction += 1.0;
        if kind != Call::Other || self.calls.len() < 8 {
            self.calls.push((transaction_id, kind, now));
        }
        Command {
            name: name.into(),
            transaction_id,
            command_object: Amf0Value::Null,
            arguments,
        }
    }

    fn send_connect(&mut self, now: Instant) {
        let p = &self.params;
        let mut object = AmfObject::new()
            .with("app", p.app.as_str())
            .with("type", "nonprivate")
            .with("flashVer", p.flash_ver.as_str())
            .with("tcUrl", p.tc_url.as_str());
        if matches!(self.intent, ClientIntent::Play { .. }) {
            object = object
                .with("fpad", false)
                .with("capabilities", 15.0)
                .with("audioCodecs", 4071.0)
                .with("videoCodecs", 252.0)
                .with("videoFunction", 1.0);
        }
        object.insert("objectEncoding", p.object_encoding);
        if p.caps_ex != CapsEx::empty() {
            object.insert("capsEx", f64::from(p.caps_ex.bits()));
        }
        for (key, value) in p.extra.iter() {
            object.insert(key.clone(), value.clone());
        }
        let mut connect = self.call("connect", Call::Connect, vec![], now);
        connect.command_object = object.into();
        self.link.send_command(0, &connect);
        self.phase = Phase::Connecting;
    }

    fn handle_message(&mut self, now: Instant, message: RawMessage) -> Result<(), SessionError> {
        let header = message.header;
        let payload = message.payload;
        match header.type_id {
            type_id::AUDIO | type_id::VIDEO if self.phase == Phase::Active => {
                let kind = if header.type_id == type_id::AUDIO {
                    MediaKind::Audio
                } else {
                    MediaKind::Video
                };
                let message = MediaMessage::new(kind, header.timestamp, payload);
                self.events.push_back(ClientEvent::Media { message });
            }
            type_id::DATA_AMF0 | type_id::DATA_AMF3 => {
                let skip = usize::from(header.type_id == type_id::DATA_AMF3).min(payload.len());
                let payload = payload.slice(skip..);
                if payload.get(..13) == Some(b"\x02\x00\x0AonMetaData".as_slice()) {
                    self.events.push_back(ClientEvent::Metadata { payload });
                }
            }
            type_id::COMMAND_AMF0 | type_id::COMMAND_AMF3 => {
                let skip = usize::from(header.type_id == type_id::COMMAND_AMF3).min(payload.len());
                let command = Command::decode(&payload[skip..], &self.config.amf_limits)?;
                self.handle_command(now, header.stream_id, command)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn handle_command(
        &mut self,
        now: Instant,
        stream_id: u32,
        command: Command,
    ) -> Result<(), SessionError> {
        match command.name.as_str() {
            "_result" | "_error" => {
                let Some(at) = self
                    .calls
                    .iter()
                    .position(|(txn, ..)| *txn == command.transaction_id)
                else {
                    return Ok(());
                };
                let (_, call, _) = self.calls.remove(at);
                let info = command
                    .argument(0)
                    .and_then(Amf0Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                if command.name == "_error" {
                    let description = text(&info, "description")
                        .or_else(|| text(&info, "code"))
                        .unwrap_or_default();
                    return match call {
                        Call::Connect => Err(SessionError::ConnectRejected(description)),
                        Call::CreateStream => Err(SessionError::Rejected(description)),
                        Call::Other => Ok(()),
                    };
                }
                match call {
                    Call::Connect => self.on_connected(now, &command, info),
                    Call::CreateStream => {
                        let id = command
                            .arguments
                            .iter()
                            .find_map(Amf0Value::as_number)
                            .unwrap_or(1.0);
                        self.on_stream_created(now, id as u32);
                    }
                    Call::Other => {}
                }
            }
            "onStatus" => {
                let info = command
                    .argument(0)
                    .and_then(Amf0Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                let code = text(&info, "code").unwrap_or_default();
                let level = text(&info, "level").unwrap_or_default();
                if code == "NetConnection.Connect.ReconnectRequest" {
                    self.events.push_back(ClientEvent::ReconnectRequest {
                        tc_url: text(&info, "tcUrl"),
                        description: text(&info, "description").unwrap_or_default(),
                    });
                    return Ok(());
                }
                if self.phase == Phase::Requested {
                    match code.as_str() {
                        "NetStream.Publish.Start"
                            if matches!(self.intent, ClientIntent::Publish { .. }) =>
                        {
                            self.phase = Phase::Active;
                            self.events.push_back(ClientEvent::PublishStarted);
                        }
                        "NetStream.Play.Start"
                            if matches!(self.intent, ClientIntent::Play { .. }) =>
                        {
                            self.phase = Phase::Active;
                            self.events.push_back(ClientEvent::PlayStarted);
                        }
                        _ => {}
                    }
                }
                let description = text(&info, "description").unwrap_or_default();
                let failed = level.eq_ignore_ascii_case("error");
                let ended = self.phase == Phase::Active
                    && matches!(self.intent, ClientIntent::Play { .. })
                    && matches!(
                        code.as_str(),
                        "NetStream.Play.Stop"
                            | "NetStream.Play.Complete"
                            | "NetStream.Play.UnpublishNotify"
                    );
                let outcome = if failed {
                    Some(ClientEvent::StreamFailed {
                        code: code.clone(),
                        description: description.clone(),
                    })
                } else if ended {
                    Some(ClientEvent::StreamEnded { code: code.clone() })
                } else {
                    None
                };
                self.events.push_back(ClientEvent::Status {
                    stream_id,
                    level,
                    code,
                    description,
                });
                self.events.extend(outcome);
            }
            "onBWDone" | "_onbwcheck" | "_onbwdone" | "onFCPublish" | "onFCUnpublish" => {}
            other => tracing::debug!(command = other, "command from server not handled: ignored"),
        }
        Ok(())
    }

    fn on_connected(&mut self, now: Instant, result: &Command, info: AmfObject) {
        let properties = result
            .command_object
            .as_object()
            .cloned()
            .unwrap_or_default();
        self.events
            .push_back(ClientEvent::Connected { properties, info });
        self.link.set_chunk_size(self.config.chunk_size);
        self.link
            .send_control(crate::message::ControlMessage::WindowAckSize(
                self.config.window_ack_size,
            ));
        if let ClientIntent::Publish { stream, .. } = &self.intent {
            let name: Amf0Value = stream.clone().into();
            let release = self.call("releaseStream", Call::Other, vec![name.clone()], now);
            self.link.send_command(0, &release);
            let fc_publish = self.call("FCPublish", Call::Other, vec![name], now);
            self.link.send_command(0, &fc_publish);
        }
        let create = self.call("createStream", Call::CreateStream, vec![], now);
        self.link.send_command(0, &create);
        self.phase = Phase::CreatingStream;
    }

    fn on_stream_created(&mut self, now: Instant, stream_id: u32) {
        self.stream_id = Some(stream_id);
        self.events
            .push_back(ClientEvent::StreamCreated { stream_id });
        let mut command = match &self.intent {
            ClientIntent::Publish {
                stream,
                publish_type,
            } => {
                let arguments = vec![stream.clone().into(), publish_type.clone().into()];
                self.call("publish", Call::Other, arguments, now)
            }
            ClientIntent::Play { stream, start } => {
                let arguments = vec![stream.clone().into(), (*start).into()];
                self.call("play", Call::Other, arguments, now)
            }
        };
        // publish and play are answered by onStatus, not _result.
        self.calls
            .retain(|(txn, ..)| *txn != command.transaction_id);
        command.transaction_id = 0.0;
        self.link.send_command(stream_id, &command);
        if matches!(self.intent, ClientIntent::Play { .. }) {
            self.link.send_user_control(UserControl::SetBufferLength {
                stream_id,
                millis: 3000,
            });
        }
        self.phase = Phase::Requested;
    }
}

fn text(object: &AmfObject, key: &str) -> Option<String> {
    object
        .get(key)
        .and_then(Amf0Value::as_str)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests;
