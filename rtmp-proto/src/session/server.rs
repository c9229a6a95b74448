//! [`ServerSession`]: the server side of one RTMP connection.

use super::{OutputQueue, RequestId, ServerEvent, SessionConfig, SessionError};
use crate::amf::{Amf0Value, AmfObject};
use crate::chunk::{ChunkDecoder, ChunkEncoder, MessageHeader, RawMessage};
use crate::handshake::ServerHandshake;
use crate::hub::Delivery;
use crate::media::{MediaKind, MediaMessage};
use crate::message::{
    type_id, Command, ConnectParams, ControlMessage, PlayParams, PublishParams, StatusLevel,
    UserControl,
};
use bytes::{Bytes, BytesMut};
use smallvec::SmallVec;
use std::collections::VecDeque;
use std::io::IoSlice;
use std::time::Instant;

/// Chunk stream ids this side sends on.
mod csid {
    pub const CONTROL: u32 = 2;
    pub const COMMAND: u32 = 3;
    pub const AUDIO: u32 = 4;
    pub const DATA: u32 = 5;
    pub const VIDEO: u32 = 6;
}

#[derive(Debug)]
enum Phase {
    Handshake(Box<ServerHandshake>),
    /// Handshake done; waiting for `connect`.
    AwaitConnect,
    /// `connect` reported to the app; waiting for its answer.
    Connecting,
    Connected,
}

/// What a message stream (made by `createStream`) is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Idle,
    PublishRequested,
    Publishing,
    PlayRequested,
    Playing,
}

#[derive(Debug, Clone, PartialEq)]
enum Pending {
    Connect {
        transaction_id: f64,
        object_encoding: f64,
    },
    Publish {
        stream_id: u32,
        stream_key: String,
    },
    Play {
        stream_id: u32,
        reset: bool,
        stream_key: String,
    },
}

/// The server side of one RTMP connection, with no I/O: feed it bytes and time, take
/// events and output. See the crate docs for the loop an adapter runs.
#[derive(Debug)]
pub struct ServerSession {
    config: SessionConfig,
    phase: Phase,
    decoder: ChunkDecoder,
    encoder: ChunkEncoder,
    output: OutputQueue,
    events: VecDeque<ServerEvent>,
    pending: SmallVec<[(RequestId, Pending); 2]>,
    streams: SmallVec<[(u32, Role); 2]>,
    /// Input not yet processed because a request awaits the app's answer.
    held: BytesMut,
    next_request: u32,
    next_stream_id: u32,
    app: String,
    /// Bytes received, for acknowledgements (wraps like the protocol's counter).
    received: u32,
    last_ack: u32,
    peer_window: Option<u32>,
    started: Instant,
    last_activity: Instant,
    closing: bool,
    error: Option<SessionError>,
}

impl ServerSession {
    /// A session for a connection accepted at `now`; `rng_seed` fills the handshake.
    pub fn new(config: SessionConfig, now: Instant, rng_seed: u64) -> Self {
        ServerSession {
            decoder: ChunkDecoder::new(config.chunk_limits),
            encoder: ChunkEncoder::new(),
            config,
            phase: Phase::Handshake(Box::new(ServerHandshake::new(rng_seed, 0))),
            output: OutputQueue::default(),
            events: VecDeque::new(),
            pending: SmallVec::new(),
            streams: SmallVec::new(),
            held: BytesMut::new(),
            next_request: 1,
            next_stream_id: 1,
            app: String::new(),
            received: 0,
            last_ack: 0,
            peer_window: None,
            started: now,
            last_activity: now,
            closing: false,
            error: None,
        }
    }

    /// The application name from `connect` (empty before).
    pub fn app(&self) -> &str {
        &self.app
    }

    /// Feeds bytes received from the peer, split anywhere. On error the session is
    /// over: write what output remains (if any), then close the connection.
    pub fn handle_input(&mut self, now: Instant, mut data: &[u8]) -> Result<(), SessionError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        self.last_activity = now;
        self.received = self.received.wrapping_add(data.len() as u32);
        let result = if self.held.is_empty() {
            self.consume(&mut data)
        } else {
            self.hold(data)
        };
        self.settle(result)
    }

    /// Records the outcome of processing input, and the bounds it may have crossed.
    fn settle(&mut self, result: Result<(), SessionError>) -> Result<(), SessionError> {
        self.check_output();
        self.maybe_acknowledge();
        match result {
            Ok(()) => self.error.clone().map_or(Ok(()), Err),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Keeps input unread while a request awaits an answer.
    fn hold(&mut self, data: &[u8]) -> Result<(), SessionError> {
        let held = self.held.len() + data.len();
        if held > self.config.max_held_input {
            return Err(SessionError::InputOverflow { held });
        }
        self.held.extend_from_slice(data);
        Ok(())
    }

    /// Processes held input once no request is pending.
    fn resume(&mut self) {
        if self.pending.is_empty() && !self.held.is_empty() && self.error.is_none() {
            let held = std::mem::take(&mut self.held);
            let mut data = &held[..];
            let result = self.consume(&mut data);
            let _ = self.settle(result);
        }
    }

    /// Processes input until it runs out, or a request needs the app's answer (then
    /// the rest is held).
    fn consume(&mut self, data: &mut &[u8]) -> Result<(), SessionError> {
        if let Phase::Handshake(handshake) = &mut self.phase {
            handshake.handle_input(data, &mut self.output)?;
            if !handshake.is_done() {
                return Ok(());
            }
            self.phase = Phase::AwaitConnect;
            self.events.push_back(ServerEvent::HandshakeComplete);
        }
        while let Some(message) = self.decoder.decode(data)? {
            self.handle_message(message)?;
            if self.closing {
                return Ok(());
            }
            if !self.pending.is_empty() {
                return self.hold(data);
            }
        }
        Ok(())
    }

    fn fail(&mut self, error: SessionError) -> SessionError {
        self.closing = true;
        self.error = Some(error.clone());
        error
    }

    /// The next event, if any. Drain these after every call that feeds the session.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// Why the session ended, once it has.
    pub fn error(&self) -> Option<&SessionError> {
        self.error.as_ref()
    }

    /// Whether the connection should be closed once the pending output is written.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// Bytes waiting to be written.
    pub fn pending_output(&self) -> usize {
        self.output.len()
    }

    /// Fills `dst` with the waiting output segments; returns how many were filled.
    /// Write them with one vectored write, then call [`ServerSession::advance_output`].
    pub fn output_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        self.output.io_slices(dst)
    }

    /// Marks the first `n` output bytes as written.
    pub fn advance_output(&mut self, n: usize) {
        self.output.advance(n);
    }

    /// Takes all waiting output (for tests and for adapters that copy anyway).
    pub fn take_output(&mut self) -> Vec<Bytes> {
        self.output.take_all()
    }

    /// When [`ServerSession::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closing {
            return None;
        }
        let idle = self.last_activity + self.config.idle_timeout;
        Some(match self.phase {
            Phase::Connected => idle,
            _ => idle.min(self.started + self.config.connect_timeout),
        })
    }

    /// Applies the timers at `now`: an expired connect or idle timeout ends the session.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), SessionError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if !matches!(self.phase, Phase::Connected)
            && now >= self.started + self.config.connect_timeout
        {
            return Err(self.fail(SessionError::ConnectTimeout));
        }
        if now >= self.last_activity + self.config.idle_timeout {
            return Err(self.fail(SessionError::IdleTimeout));
        }
        Ok(())
    }

    /// Grants a request.
    pub fn accept(&mut self, id: RequestId) {
        let Some(pending) = self.take_pending(id) else {
            return;
        };
        match pending {
            Pending::Connect {
                transaction_id,
                object_encoding,
            } => self.accept_connect(transaction_id, object_encoding),
            Pending::Publish {
                stream_id,
                stream_key,
            } => {
                self.set_role(stream_id, Role::Publishing);
                self.send_user_control(UserControl::StreamBegin(stream_id));
                self.send_status(
                    stream_id,
                    StatusLevel::Status,
                    "NetStream.Publish.Start",
                    &format!("{stream_key} is now published."),
                );
            }
            Pending::Play {
                stream_id,
                reset,
                stream_key,
            } => {
                self.set_role(stream_id, Role::Playing);
                self.send_user_control(UserControl::StreamBegin(stream_id));
                if reset {
                    self.send_status(
                        stream_id,
                        StatusLevel::Status,
                        "NetStream.Play.Reset",
                        &format!("Playing and resetting {stream_key}."),
                    );
                }
                self.send_status(
                    stream_id,
                    StatusLevel::Status,
                    "NetStream.Play.Start",
                    &format!("Started playing {stream_key}."),
                );
                self.send_data(
                    stream_id,
                    &["|RtmpSampleAccess".into(), true.into(), true.into()],
                );
                self.send_data(
                    stream_id,
                    &[
                        "onStatus".into(),
                        AmfObject::new().with("code", "NetStream.Data.Start").into(),
                    ],
                );
            }
        }
        self.check_output();
        self.resume();
    }

    /// Refuses a request with a reason the peer is shown. A refused connect closes the
    /// session once the answer is written.
    pub fn reject(&mut self, id: RequestId, reason: &str) {
        let Some(pending) = self.take_pending(id) else {
            return;
        };
        match pending {
            Pending::Connect { transaction_id, .. } => {
                let info = Command::status_info(
                    StatusLevel::Error,
                    "NetConnection.Connect.Rejected",
                    reason,
                );
                self.send_command(0, &Command::error(transaction_id, info));
                self.fail(SessionError::ConnectRejected(reason.to_owned()));
            }
            Pending::Publish { stream_id, .. } => {
                self.set_role(stream_id, Role::Idle);
                self.send_status(
                    stream_id,
                    StatusLevel::Error,
                    "NetStream.Publish.BadName",
                    reason,
                );
            }
            Pending::Play { stream_id, .. } => {
                self.set_role(stream_id, Role::Idle);
                self.send_status(
                    stream_id,
                    StatusLevel::Error,
                    "NetStream.Play.StreamNotFound",
                    reason,
                );
            }
        }
        self.check_output();
        self.resume();
    }

    /// Sends a player what the hub queued for it on message stream `stream_id`.
    /// Ignored unless that stream is playing.
    pub fn deliver(&mut self, stream_id: u32, delivery: &Delivery) {
        if self.role(stream_id) != Some(Role::Playing) {
            return;
        }
        match delivery {
            Delivery::PublishStarted => {
                self.send_user_control(UserControl::StreamBegin(stream_id));
                self.send_status(
                    stream_id,
                    StatusLevel::Status,
                    "NetStream.Play.PublishNotify",
                    "The stream is now published.",
                );
            }
            Delivery::Metadata(payload) => {
                self.send_message(csid::DATA, 0, type_id::DATA_AMF0, stream_id, payload)
            }
            Delivery::Media(message) => {
                let (chunk_stream, kind) = match message.kind {
                    MediaKind::Audio => (csid::AUDIO, type_id::AUDIO),
                    MediaKind::Video => (csid::VIDEO, type_id::VIDEO),
                };
                self.send_message(
                    chunk_stream,
                    message.timestamp,
                    kind,
                    stream_id,
                    &message.payload,
                );
            }
            Delivery::PublishStopped => {
                self.send_status(
                    stream_id,
                    StatusLevel::Status,
                    "NetStream.Play.UnpublishNotify",
                    "The stream is now unpublished.",
                );
                self.send_user_control(UserControl::StreamEof(stream_id));
            }
        }
    }

    /// Records that output was produced for the peer at `now` (delivery counts as
    /// activity for the idle timer) and checks the output bound.
    pub fn note_delivery(&mut self, now: Instant) {
        self.last_activity = now;
        self.check_output();
    }

    fn check_output(&mut self) {
        let pending = self.output.len();
        if pending > self.config.max_pending_output && self.error.is_none() {
            self.fail(SessionError::OutputOverflow { pending });
        }
    }

    fn take_pending(&mut self, id: RequestId) -> Option<Pending> {
        let at = self.pending.iter().position(|(r, _)| *r == id)?;
        Some(self.pending.remove(at).1)
    }

    fn request(&mut self, pending: Pending) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request = self.next_request.wrapping_add(1);
        self.pending.push((id, pending));
        id
    }

    fn role(&self, stream_id: u32) -> Option<Role> {
        self.streams
            .iter()
            .find(|(s, _)| *s == stream_id)
            .map(|(_, r)| *r)
    }

    fn set_role(&mut self, stream_id: u32, role: Role) {
        if let Some(entry) = self.streams.iter_mut().find(|(s, _)| *s == stream_id) {
            entry.1 = role;
        }
    }

    fn accept_connect(&mut self, transaction_id: f64, object_encoding: f64) {
        self.phase = Phase::Connected;
        self.send_control(ControlMessage::WindowAckSize(self.config.window_ack_size));
        self.send_control(ControlMessage::SetPeerBandwidth {
            window: self.config.peer_bandwidth,
            limit: crate::message::BandwidthLimit::Dynamic,
        });
        let chunk_size = self.config.chunk_size.clamp(128, 0x7FFF_FFFF);
        self.send_control(ControlMessage::SetChunkSize(chunk_size));
        self.encoder.set_chunk_size(chunk_size);
        let properties = AmfObject::new()
            .with("fmsVer", self.config.server_version.as_str())
            .with("capabilities", 31.0)
            .with("mode", 1.0);
        let mut info = Command::status_info(
            StatusLevel::Status,
            "NetConnection.Connect.Success",
            "Connection succeeded.",
        );
        info.insert("objectEncoding", object_encoding);
        self.send_command(
            0,
            &Command::result(transaction_id, properties.into(), vec![info.into()]),
        );
    }

    fn handle_message(&mut self, message: RawMessage) -> Result<(), SessionError> {
        let header = message.header;
        let payload = message.payload;
        match header.type_id {
            type_id::SET_CHUNK_SIZE..=type_id::SET_PEER_BANDWIDTH => {
                if let Some(control) = ControlMessage::parse(header.type_id, &payload)? {
                    self.handle_control(control)?;
                }
            }
            type_id::AUDIO | type_id::VIDEO => {
                if self.role(header.stream_id) == Some(Role::Publishing) {
                    let kind = if header.type_id == type_id::AUDIO {
                        MediaKind::Audio
                    } else {
                        MediaKind::Video
                    };
                    self.events.push_back(ServerEvent::Media {
                        stream_id: header.stream_id,
                        message: MediaMessage::new(kind, header.timestamp, payload),
                    });
                } else {
                    tracing::trace!(
                        stream_id = header.stream_id,
                        "media on a stream that is not publishing: dropped"
                    );
                }
            }
            type_id::DATA_AMF0 => self.handle_data(header.stream_id, payload),
            type_id::DATA_AMF3 => {
                // A format byte, then AMF0 values.
                self.handle_data(header.stream_id, payload.slice(payload.len().min(1)..))
            }
            type_id::COMMAND_AMF0 => self.handle_command_payload(header, &payload)?,
            type_id::COMMAND_AMF3 => {
                self.handle_command_payload(header, payload.get(1..).unwrap_or_default())?
            }
            other => tracing::debug!(type_id = other, "message type not handled: ignored"),
        }
        Ok(())
    }

    fn handle_control(&mut self, control: ControlMessage) -> Result<(), SessionError> {
        match control {
            ControlMessage::SetChunkSize(size) => self.decoder.set_chunk_size(size)?,
            ControlMessage::Abort { csid } => self.decoder.abort(csid),
            ControlMessage::WindowAckSize(window) => self.peer_window = Some(window.max(1)),
            ControlMessage::UserControl(UserControl::PingRequest(time)) => {
                self.send_user_control(UserControl::PingResponse(time))
            }
            ControlMessage::Acknowledgement(_)
            | ControlMessage::SetPeerBandwidth { .. }
            | ControlMessage::UserControl(_) => {}
        }
        Ok(())
    }

    /// Sends an Acknowledgement each time the peer's window of bytes has been received.
    fn maybe_acknowledge(&mut self) {
        if let Some(window) = self.peer_window {
            if self.received.wrapping_sub(self.last_ack) >= window {
                self.last_ack = self.received;
                self.send_control(ControlMessage::Acknowledgement(self.received));
            }
        }
    }

    /// Data messages: `@setDataFrame` / `onMetaData` from a publisher become metadata.
    fn handle_data(&mut self, stream_id: u32, payload: Bytes) {
        if self.role(stream_id) != Some(Role::Publishing) {
            return;
        }
        let Some(name_len) = leading_string(&payload) else {
            return;
        };
        let name = &payload[3..3 + name_len];
        let metadata = if name == b"@setDataFrame" {
            payload.slice(3 + name_len..)
        } else if name == b"onMetaData" {
            payload
        } else {
            return;
        };
        if leading_string(&metadata).map(|n| &metadata[3..3 + n]) == Some(b"onMetaData".as_slice())
        {
            self.events.push_back(ServerEvent::Metadata {
                stream_id,
                payload: metadata,
            });
        }
    }

    fn handle_command_payload(
        &mut self,
        header: MessageHeader,
        payload: &[u8],
    ) -> Result<(), SessionError> {
        let command = Command::decode(payload, &self.config.amf_limits)?;
        self.handle_command(header.stream_id, command)
    }

    fn handle_command(
        &mut self,
        message_stream: u32,
        command: Command,
    ) -> Result<(), SessionError> {
        let txn = command.transaction_id;
        if !matches!(self.phase, Phase::Connected) {
            if command.name == "connect" && matches!(self.phase, Phase::AwaitConnect) {
                let params = ConnectParams::from_command(&command);
                self.app.clone_from(&params.app);
                let id = self.request(Pending::Connect {
                    transaction_id: txn,
                    object_encoding: params.object_encoding,
                });
                self.phase = Phase::Connecting;
                self.events
                    .push_back(ServerEvent::ConnectRequest { id, params });
            } else {
                tracing::debug!(command = %command.name, "command before connect: ignored");
            }
            return Ok(());
        }
        match command.name.as_str() {
            "createStream" => {
                if self.streams.len() >= self.config.max_message_streams {
                    let info = Command::status_info(
                        StatusLevel::Error,
                        "NetConnection.Call.Failed",
                        "too many streams on this connection",
                    );
                    self.send_command(0, &Command::error(txn, info));
                } else {
                    let stream_id = self.next_stream_id;
                    self.next_stream_id += 1;
                    self.streams.push((stream_id, Role::Idle));
                    self.send_command(
                        0,
                        &Command::result(txn, Amf0Value::Null, vec![stream_id.into()]),
                    );
                }
            }
            "releaseStream" | "FCPublish" | "_checkbw" => {
                if txn != 0.0 {
                    self.send_command(
                        0,
                        &Command::result(txn, Amf0Value::Null, vec![Amf0Value::Undefined]),
                    );
                }
                if command.name == "FCPublish" {
                    let name = command
                        .argument(0)
                        .and_then(Amf0Value::as_str)
                        .unwrap_or_default();
                    let status = Command::status_named(
                        "onFCPublish",
                        StatusLevel::Status,
                        "NetStream.Publish.Start",
                        name,
                    );
                    self.send_command(0, &status);
                }
            }
            "publish" => {
                let params = PublishParams::from_command(&command, &self.app, message_stream)?;
                if self.role(message_stream) == Some(Role::Idle) {
                    self.set_role(message_stream, Role::PublishRequested);
                    let id = self.request(Pending::Publish {
                        stream_id: message_stream,
                        stream_key: params.stream_key.clone(),
                    });
                    self.events
                        .push_back(ServerEvent::PublishRequest { id, params });
                } else {
                    self.send_status(
                        message_stream,
                        StatusLevel::Error,
                        "NetStream.Publish.BadName",
                        "publish on a stream that was not created or is busy",
                    );
                }
            }
            "play" => {
                let params = PlayParams::from_command(&command, &self.app, message_stream)?;
                if self.role(message_stream) == Some(Role::Idle) {
                    self.set_role(message_stream, Role::PlayRequested);
                    let id = self.request(Pending::Play {
                        stream_id: message_stream,
                        reset: params.reset,
                        stream_key: params.stream_key.clone(),
                    });
                    self.events
                        .push_back(ServerEvent::PlayRequest { id, params });
                } else {
                    self.send_status(
                        message_stream,
                        StatusLevel::Error,
                        "NetStream.Play.Failed",
                        "play on a stream that was not created or is busy",
                    );
                }
            }
            "FCUnpublish" => {
                if txn != 0.0 {
                    self.send_command(
                        0,
                        &Command::result(txn, Amf0Value::Null, vec![Amf0Value::Undefined]),
                    );
                }
                let publishing: SmallVec<[u32; 2]> = self
                    .streams
                    .iter()
                    .filter(|(_, role)| *role == Role::Publishing)
                    .map(|(id, _)| *id)
                    .collect();
                for stream_id in publishing {
                    self.stop_stream(stream_id);
                }
            }
            "closeStream" => self.stop_stream(message_stream),
            "deleteStream" => {
                let stream_id = command
                    .argument(0)
                    .and_then(Amf0Value::as_number)
                    .map_or(message_stream, |n| n as u32);
                self.stop_stream(stream_id);
                self.streams.retain(|(s, _)| *s != stream_id);
                self.pending.retain(|(_, p)| !matches!(p, Pending::Publish { stream_id: s, .. } | Pending::Play { stream_id: s, .. } if *s == stream_id));
            }
            other => tracing::debug!(command = other, "command not handled: ignored"),
        }
        Ok(())
    }

    /// Ends whatever an accepted stream is doing and tells the app.
    fn stop_stream(&mut self, stream_id: u32) {
        match self.role(stream_id) {
            Some(Role::Publishing) => {
                self.send_status(
                    stream_id,
                    StatusLevel::Status,
                    "NetStream.Unpublish.Success",
                    "The stream is now unpublished.",
                );
                self.events
                    .push_back(ServerEvent::PublishStopped { stream_id });
            }
            Some(Role::Playing) => self
                .events
                .push_back(ServerEvent::PlayStopped { stream_id }),
            _ => {}
        }
        self.set_role(stream_id, Role::Idle);
    }

    fn send_message(
        &mut self,
        csid: u32,
        timestamp: u32,
        type_id: u8,
        stream_id: u32,
        payload: &Bytes,
    ) {
        let header = MessageHeader {
            csid,
            timestamp,
            type_id,
            stream_id,
            length: payload.len() as u32,
        };
        self.encoder.encode(&header, payload, &mut self.output);
    }

    fn send_control(&mut self, message: ControlMessage) {
        let type_id = message.type_id();
        self.send_message(csid::CONTROL, 0, type_id, 0, &message.encode());
    }

    fn send_user_control(&mut self, event: UserControl) {
        self.send_control(ControlMessage::UserControl(event));
    }

    fn send_command(&mut self, stream_id: u32, command: &Command) {
        self.send_message(
            csid::COMMAND,
            0,
            type_id::COMMAND_AMF0,
            stream_id,
            &command.encode(),
        );
    }

    fn send_status(&mut self, stream_id: u32, level: StatusLevel, code: &str, description: &str) {
        self.send_command(stream_id, &Command::on_status(level, code, description));
    }

    fn send_data(&mut self, stream_id: u32, values: &[Amf0Value]) {
        let mut payload = BytesMut::new();
        crate::amf::encode_all(values, &mut payload);
        self.send_message(
            csid::DATA,
            0,
            type_id::DATA_AMF0,
            stream_id,
            &payload.freeze(),
        );
    }
}

/// The length of the AMF0 string a payload starts with, if it starts with one.
fn leading_string(payload: &[u8]) -> Option<usize> {
    match payload {
        [0x02, hi, lo, rest @ ..] => {
            let len = usize::from(u16::from_be_bytes([*hi, *lo]));
            (rest.len() >= len).then_some(len)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
