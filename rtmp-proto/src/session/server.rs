//! [`ServerSession`]: the server side of one RTMP connection.

use super::link::{csid, Incoming, Link};
use super::{OutputQueue, RequestId, ServerEvent, SessionConfig, SessionError};
use crate::amf::{Amf0Value, AmfObject};
use crate::chunk::RawMessage;
use crate::enhanced::EnhancedRtmpMode;
use crate::handshake::ServerHandshake;
use crate::hub::Delivery;
use crate::media::{MediaKind, MediaMessage};
use crate::message::{
    type_id, Command, ConnectParams, PlayParams, PublishParams, StatusLevel, UserControl,
};
use bytes::{Bytes, BytesMut};
use smallvec::SmallVec;
use std::collections::VecDeque;
use std::time::Instant;

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
enum Request {
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

#[derive(Debug)]
struct Pending {
    id: RequestId,
    since: Instant,
    request: Request,
}

/// The server side of one RTMP connection, with no I/O: feed it bytes and time, take
/// events and output. See the crate docs for the loop an adapter runs.
///
/// While a request (connect, publish, play) awaits the app's answer, the session reads
/// no further input: it holds it (up to [`SessionConfig::max_held_input`]) and goes on
/// once the request is answered, so the app's decisions and the peer's messages stay
/// in order.
#[derive(Debug)]
pub struct ServerSession {
    config: SessionConfig,
    phase: Phase,
    link: Link,
    events: VecDeque<ServerEvent>,
    pending: SmallVec<[Pending; 2]>,
    /// Input not yet processed because a request awaits the app's answer.
    held: BytesMut,
    streams: SmallVec<[(u32, Role); 2]>,
    /// When media last arrived on a publishing stream.
    last_media: Option<Instant>,
    /// Playing streams whose publisher left, and since when (the republish grace).
    orphaned: SmallVec<[(u32, Instant); 1]>,
    next_request: u32,
    next_stream_id: u32,
    app: String,
    started: Instant,
}

impl ServerSession {
    /// A session for a connection accepted at `now`; `rng_seed` fills the handshake.
    pub fn new(config: SessionConfig, now: Instant, rng_seed: u64) -> Self {
        ServerSession {
            link: Link::new(&config, now),
            config,
            phase: Phase::Handshake(Box::new(ServerHandshake::new(rng_seed, 0))),
            events: VecDeque::new(),
            pending: SmallVec::new(),
            held: BytesMut::new(),
            streams: SmallVec::new(),
            last_media: None,
            orphaned: SmallVec::new(),
            next_request: 1,
            next_stream_id: 1,
            app: String::new(),
            started: now,
        }
    }

    /// The application name from `connect` (empty before).
    pub fn app(&self) -> &str {
        &self.app
    }

    /// Feeds bytes received from the peer, split anywhere. On error the session is
    /// over: write what output remains (if any), then close the connection.
    pub fn handle_input(&mut self, now: Instant, mut data: &[u8]) -> Result<(), SessionError> {
        self.link.check_open()?;
        self.link.note_input(now, data.len());
        let result = if self.held.is_empty() && self.pending.is_empty() {
            self.consume(now, &mut data)
        } else {
            self.hold(data)
        };
        self.settle(result)
    }

    /// Records the outcome of processing input and checks the bounds it may have crossed.
    fn settle(&mut self, result: Result<(), SessionError>) -> Result<(), SessionError> {
        match result.and_then(|()| self.link.finish_input()) {
            Ok(()) => self.link.check_open(),
            Err(e) => Err(self.link.fail(e)),
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
    fn resume(&mut self, now: Instant) {
        if self.pending.is_empty() && !self.held.is_empty() && self.link.error().is_none() {
            let held = std::mem::take(&mut self.held);
            let result = self.consume(now, &mut &held[..]);
            let _ = self.settle(result);
        }
    }

    /// Processes input until it runs out, or a request needs the app's answer (then
    /// the rest is held).
    fn consume(&mut self, now: Instant, data: &mut &[u8]) -> Result<(), SessionError> {
        if let Phase::Handshake(handshake) = &mut self.phase {
            handshake.handle_input(data, &mut self.link.output)?;
            if !handshake.is_done() {
                return Ok(());
            }
            self.phase = Phase::AwaitConnect;
            self.events.push_back(ServerEvent::HandshakeComplete);
        }
        while let Some(incoming) = self.link.next(data)? {
            match incoming {
                Incoming::Message(message) => self.handle_message(now, message)?,
                Incoming::Event(event) => tracing::trace!(?event, "user control event"),
            }
            if self.link.is_closing() {
                return Ok(());
            }
            if !self.pending.is_empty() {
                return self.hold(data);
            }
        }
        Ok(())
    }

    /// The next event, if any. Drain these after every call that feeds the session.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
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

    /// Output waiting to be written: write its segments with one vectored write
    /// ([`OutputQueue::io_slices`]), then call [`ServerSession::advance_output`].
    pub fn output(&self) -> &OutputQueue {
        &self.link.output
    }

    /// Marks the first `n` output bytes as written.
    pub fn advance_output(&mut self, n: usize) {
        self.link.output.advance(n);
    }

    /// Takes all waiting output (for tests, and adapters that copy anyway).
    pub fn take_output(&mut self) -> Vec<Bytes> {
        self.link.output.take_all()
    }

    /// When [`ServerSession::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.link.is_closing() {
            return None;
        }
        let mut deadline = self.link.poll_timeout();
        if !matches!(self.phase, Phase::Connected) {
            deadline = deadline.min(self.started + self.config.connect_timeout);
        }
        if let Some(oldest) = self.pending.iter().map(|p| p.since).min() {
            deadline = deadline.min(oldest + self.config.command_timeout);
        }
        if let Some(last) = self.publishing_since_media() {
            deadline = deadline.min(last + self.config.publish_idle_timeout);
        }
        if let Some(oldest) = self.orphaned.iter().map(|(_, since)| *since).min() {
            deadline = deadline.min(oldest + self.config.republish_grace);
        }
        Some(deadline)
    }

    /// When media last arrived, if a stream is publishing.
    fn publishing_since_media(&self) -> Option<Instant> {
        let publishing = self
            .streams
            .iter()
            .any(|(_, role)| *role == Role::Publishing);
        if publishing {
            self.last_media
        } else {
            None
        }
    }

    /// Applies the timers at `now`: pings, the connect and idle timeouts, and requests
    /// left unanswered past the command timeout (rejected).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), SessionError> {
        self.link.check_open()?;
        if !matches!(self.phase, Phase::Connected)
            && now >= self.started + self.config.connect_timeout
        {
            return Err(self.link.fail(SessionError::ConnectTimeout));
        }
        let expired: SmallVec<[RequestId; 2]> = self
            .pending
            .iter()
            .filter(|p| now >= p.since + self.config.command_timeout)
            .map(|p| p.id)
            .collect();
        for id in expired {
            self.reject(now, id, "the request was not answered in time");
        }
        if self
            .publishing_since_media()
            .is_some_and(|last| now >= last + self.config.publish_idle_timeout)
        {
            return Err(self.link.fail(SessionError::PublishIdle));
        }
        let grace = self.config.republish_grace;
        let ended: SmallVec<[u32; 1]> = self
            .orphaned
            .iter()
            .filter(|(_, since)| now >= *since + grace)
            .map(|(id, _)| *id)
            .collect();
        for stream_id in ended {
            self.orphaned.retain(|(id, _)| *id != stream_id);
            self.link.send_status(
                stream_id,
                StatusLevel::Status,
                "NetStream.Play.Stop",
                "The stream was not published again.",
            );
            self.link
                .send_user_control(UserControl::StreamEof(stream_id));
            self.set_role(stream_id, Role::Idle);
            self.events
                .push_back(ServerEvent::PlayStopped { stream_id });
        }
        let result = self
            .link
            .handle_timeout(now)
            .and_then(|()| self.link.check_output());
        result.map_err(|e| self.link.fail(e))
    }

    /// Grants a request.
    pub fn accept(&mut self, now: Instant, id: RequestId) {
        let Some(request) = self.take_pending(id) else {
            return;
        };
        match request {
            Request::Connect {
                transaction_id,
                object_encoding,
            } => self.accept_connect(transaction_id, object_encoding),
            Request::Publish {
                stream_id,
                stream_key,
            } => {
                self.set_role(stream_id, Role::Publishing);
                self.last_media = Some(now);
                self.link
                    .send_user_control(UserControl::StreamBegin(stream_id));
                self.link.send_status(
                    stream_id,
                    StatusLevel::Status,
                    "NetStream.Publish.Start",
                    &format!("{stream_key} is now published."),
                );
            }
            Request::Play {
                stream_id,
                reset,
                stream_key,
            } => self.accept_play(stream_id, reset, &stream_key),
        }
        self.after_answer(now);
    }

    /// Refuses a request with a reason the peer is shown. A refused connect closes the
    /// session once the answer is written.
    pub fn reject(&mut self, now: Instant, id: RequestId, reason: &str) {
        let Some(request) = self.take_pending(id) else {
            return;
        };
        match request {
            Request::Connect { transaction_id, .. } => {
                let info = Command::status_info(
                    StatusLevel::Error,
                    "NetConnection.Connect.Rejected",
                    reason,
                );
                self.link
                    .send_command(0, &Command::error(transaction_id, info));
                self.link
                    .fail(SessionError::ConnectRejected(reason.to_owned()));
            }
            Request::Publish { stream_id, .. } => {
                self.set_role(stream_id, Role::Idle);
                self.link.send_status(
                    stream_id,
                    StatusLevel::Error,
                    "NetStream.Publish.BadName",
                    reason,
                );
            }
            Request::Play { stream_id, .. } => {
                self.set_role(stream_id, Role::Idle);
                self.link.send_status(
                    stream_id,
                    StatusLevel::Error,
                    "NetStream.Play.StreamNotFound",
                    reason,
                );
            }
        }
        self.after_answer(now);
    }

    fn after_answer(&mut self, now: Instant) {
        if let Err(e) = self.link.check_output() {
            self.link.fail(e);
        }
        self.resume(now);
    }

    /// Refuses a connect by sending the client elsewhere: `NetConnection.Connect.Rejected`
    /// with `ex.code` 302 and `ex.redirect` (the form FMS and Wowza clients follow).
    /// Other requests are refused plainly. The session closes once the answer is written.
    pub fn redirect(&mut self, now: Instant, id: RequestId, url: &str) {
        let Some(at) = self.pending.iter().position(|p| p.id == id) else {
            return;
        };
        let Request::Connect { transaction_id, .. } = self.pending[at].request else {
            self.reject(now, id, &format!("redirected to {url}"));
            return;
        };
        self.pending.remove(at);
        let mut info = Command::status_info(
            StatusLevel::Error,
            "NetConnection.Connect.Rejected",
            &format!("redirected to {url}"),
        );
        info.insert(
            "ex",
            AmfObject::new().with("code", 302.0).with("redirect", url),
        );
        self.link
            .send_command(0, &Command::error(transaction_id, info));
        self.link.fail(SessionError::ConnectRejected(format!(
            "redirected to {url}"
        )));
        self.after_answer(now);
    }

    /// Asks the client to reconnect (E-RTMP `NetConnection.Connect.ReconnectRequest`),
    /// to `tc_url` if given, else to the same URL. Clients that announced `capsEx`
    /// Reconnect honour it; others ignore it.
    pub fn request_reconnect(&mut self, tc_url: Option<&str>, description: &str) {
        let mut info = Command::status_info(
            StatusLevel::Status,
            "NetConnection.Connect.ReconnectRequest",
            description,
        );
        if let Some(url) = tc_url {
            info.insert("tcUrl", url);
        }
        let command = Command {
            name: "onStatus".into(),
            transaction_id: 0.0,
            command_object: Amf0Value::Null,
            arguments: vec![info.into()],
        };
        self.link.send_command(0, &command);
    }

    /// Sends a player what the hub queued for it on message stream `stream_id` at
    /// `now`. Ignored unless that stream is playing.
    pub fn deliver(&mut self, now: Instant, stream_id: u32, delivery: &Delivery) {
        if self.role(stream_id) != Some(Role::Playing) {
            return;
        }
        match delivery {
            Delivery::PublishStarted => self.orphaned.retain(|(id, _)| *id != stream_id),
            Delivery::PublishStopped => self.orphaned.push((stream_id, now)),
            Delivery::Metadata(_) | Delivery::Media(_) => {}
        }
        let link = &mut self.link;
        match delivery {
            Delivery::PublishStarted => {
                link.send_user_control(UserControl::StreamBegin(stream_id));
                link.send_status(
                    stream_id,
                    StatusLevel::Status,
                    "NetStream.Play.PublishNotify",
                    "The stream is now published.",
                );
            }
            Delivery::Metadata(payload) => {
                link.send_message(csid::DATA, 0, type_id::DATA_AMF0, stream_id, payload)
            }
            Delivery::Media(message) => {
                let (csid, type_id) = match message.kind {
                    MediaKind::Audio => (csid::AUDIO, type_id::AUDIO),
                    MediaKind::Video => (csid::VIDEO, type_id::VIDEO),
                };
                link.send_shared(message, csid, type_id, stream_id);
            }
            Delivery::PublishStopped => {
                link.send_status(
                    stream_id,
                    StatusLevel::Status,
                    "NetStream.Play.UnpublishNotify",
                    "The stream is now unpublished.",
                );
                link.send_user_control(UserControl::StreamEof(stream_id));
            }
        }
    }

    fn take_pending(&mut self, id: RequestId) -> Option<Request> {
        let at = self.pending.iter().position(|p| p.id == id)?;
        Some(self.pending.remove(at).request)
    }

    fn request(&mut self, now: Instant, request: Request) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request = self.next_request.wrapping_add(1);
        self.pending.push(Pending {
            id,
            since: now,
            request,
        });
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
        self.link.send_link_settings(&self.config);
        let mut properties = AmfObject::new()
            .with("fmsVer", self.config.server_version.as_str())
            .with("capabilities", 31.0)
            .with("mode", 1.0);
        if self.config.enhanced_mode != EnhancedRtmpMode::LegacyOnly {
            self.config.enhanced_capabilities.write_to(&mut properties);
        }
        let mut info = Command::status_info(
            StatusLevel::Status,
            "NetConnection.Connect.Success",
            "Connection succeeded.",
        );
        info.insert("objectEncoding", object_encoding);
        self.link.send_command(
            0,
            &Command::result(transaction_id, properties.into(), vec![info.into()]),
        );
    }

    fn accept_play(&mut self, stream_id: u32, reset: bool, stream_key: &str) {
        self.set_role(stream_id, Role::Playing);
        let link = &mut self.link;
        link.send_user_control(UserControl::StreamBegin(stream_id));
        if reset {
            link.send_status(
                stream_id,
                StatusLevel::Status,
                "NetStream.Play.Reset",
                &format!("Playing and resetting {stream_key}."),
            );
        }
        link.send_status(
            stream_id,
            StatusLevel::Status,
            "NetStream.Play.Start",
            &format!("Started playing {stream_key}."),
        );
        link.send_data(
            stream_id,
            &["|RtmpSampleAccess".into(), true.into(), true.into()],
        );
    }

    fn handle_message(&mut self, now: Instant, message: RawMessage) -> Result<(), SessionError> {
        let header = message.header;
        let payload = message.payload;
        match header.type_id {
            type_id::AUDIO | type_id::VIDEO => {
                if self.role(header.stream_id) == Some(Role::Publishing) {
                    self.last_media = Some(now);
                    if let Some(refusal) = self.media_refusal(header.type_id, &payload) {
                        self.refuse_publish(header.stream_id, &refusal);
                        return Ok(());
                    }
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
            // The AMF3 forms start with a format byte, then AMF0 values.
            type_id::DATA_AMF3 => {
                self.handle_data(header.stream_id, payload.slice(payload.len().min(1)..))
            }
            type_id::COMMAND_AMF0 | type_id::COMMAND_AMF3 => {
                let amf3 = header.type_id == type_id::COMMAND_AMF3;
                if amf3 {
                    // Answer in the form the client speaks.
                    self.link.use_amf3_commands();
                }
                let skip = usize::from(amf3).min(payload.len());
                let command = Command::decode(&payload[skip..], &self.config.amf_limits)?;
                self.handle_command(now, header.stream_id, command)?;
            }
            other => tracing::debug!(type_id = other, "message type not handled: ignored"),
        }
        Ok(())
    }

    /// Why this server does not take this media, if it does not: Enhanced media in
    /// `LegacyOnly` mode, or an Enhanced codec outside the stated capabilities.
    fn media_refusal(&self, type_id: u8, payload: &Bytes) -> Option<String> {
        let fourcc = enhanced_fourcc(type_id, payload)?;
        if self.config.enhanced_mode == EnhancedRtmpMode::LegacyOnly {
            return Some("this server accepts legacy RTMP only, not Enhanced RTMP media".into());
        }
        let fourcc = fourcc?;
        let caps = &self.config.enhanced_capabilities;
        let accepted = if type_id == type_id::VIDEO {
            caps.accepts_video(&fourcc)
        } else {
            caps.accepts_audio(&fourcc)
        };
        (!accepted).then(|| {
            format!(
                "codec {} is not accepted by this server",
                String::from_utf8_lossy(&fourcc)
            )
        })
    }

    /// Ends a publish the server will not carry, telling the publisher why; the
    /// connection stays, so the publisher gets to read the reason.
    fn refuse_publish(&mut self, stream_id: u32, reason: &str) {
        tracing::info!(stream_id, reason, "publish refused");
        self.link.send_status(
            stream_id,
            StatusLevel::Error,
            "NetStream.Publish.Failed",
            reason,
        );
        self.set_role(stream_id, Role::Idle);
        self.events
            .push_back(ServerEvent::PublishStopped { stream_id });
    }

    /// Data messages: `@setDataFrame` / `onMetaData` from a publisher become metadata.
    fn handle_data(&mut self, stream_id: u32, payload: Bytes) {
        if self.role(stream_id) != Some(Role::Publishing) {
            return;
        }
        let metadata = match leading_string(&payload) {
            Some(b"@setDataFrame") => payload.slice(3 + "@setDataFrame".len()..),
            Some(b"onMetaData") => payload,
            _ => return,
        };
        if leading_string(&metadata) == Some(b"onMetaData") {
            self.events.push_back(ServerEvent::Metadata {
                stream_id,
                payload: metadata,
            });
        }
    }

    fn handle_command(
        &mut self,
        now: Instant,
        message_stream: u32,
        command: Command,
    ) -> Result<(), SessionError> {
        let txn = command.transaction_id;
        if !matches!(self.phase, Phase::Connected) {
            if command.name == "connect" && matches!(self.phase, Phase::AwaitConnect) {
                let params = ConnectParams::from_command(&command);
                self.app.clone_from(&params.app);
                let id = self.request(
                    now,
                    Request::Connect {
                        transaction_id: txn,
                        object_encoding: params.object_encoding,
                    },
                );
                self.phase = Phase::Connecting;
                if self.config.enhanced_mode == EnhancedRtmpMode::EnhancedOnly
                    && params.enhanced.is_none()
                {
                    self.reject(now, id, "this server requires Enhanced RTMP (announce fourCcList or FourCcInfoMaps)");
                } else {
                    self.events
                        .push_back(ServerEvent::ConnectRequest { id, params });
                }
            } else {
                tracing::debug!(command = %command.name, "command before connect: ignored");
            }
            return Ok(());
        }
        match command.name.as_str() {
            "createStream" => self.create_stream(txn),
            "releaseStream" | "FCPublish" | "_checkbw" => {
                self.answer_null(txn);
                if command.name == "FCPublish" {
                    let name = command
                        .argument(0)
                        .and_then(Amf0Value::as_str)
                        .unwrap_or_default();
                    let (stream_key, _) = crate::message::split_stream_name(name);
                    self.events.push_back(ServerEvent::FcPublish {
                        stream_key: stream_key.to_owned(),
                    });
                    let status = Command::status_named(
                        "onFCPublish",
                        StatusLevel::Status,
                        "NetStream.Publish.Start",
                        name,
                    );
                    self.link.send_command(0, &status);
                }
            }
            "publish" => {
                let params = PublishParams::from_command(&command, &self.app, message_stream)?;
                if self.role(message_stream) == Some(Role::Idle) {
                    self.set_role(message_stream, Role::PublishRequested);
                    let stream_key = params.stream_key.clone();
                    let id = self.request(
                        now,
                        Request::Publish {
                            stream_id: message_stream,
                            stream_key,
                        },
                    );
                    self.events
                        .push_back(ServerEvent::PublishRequest { id, params });
                } else {
                    self.link.send_status(
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
                    let (reset, stream_key) = (params.reset, params.stream_key.clone());
                    let id = self.request(
                        now,
                        Request::Play {
                            stream_id: message_stream,
                            reset,
                            stream_key,
                        },
                    );
                    self.events
                        .push_back(ServerEvent::PlayRequest { id, params });
                } else {
                    self.link.send_status(
                        message_stream,
                        StatusLevel::Error,
                        "NetStream.Play.Failed",
                        "play on a stream that was not created or is busy",
                    );
                }
            }
            "FCUnpublish" => {
                self.answer_null(txn);
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
            "pause" if self.role(message_stream) == Some(Role::Playing) => {
                let paused = command
                    .argument(0)
                    .and_then(Amf0Value::as_bool)
                    .unwrap_or(true);
                let position_ms = command
                    .argument(1)
                    .and_then(Amf0Value::as_number)
                    .unwrap_or(0.0);
                let link = &mut self.link;
                if paused {
                    link.send_user_control(UserControl::StreamEof(message_stream));
                    link.send_status(
                        message_stream,
                        StatusLevel::Status,
                        "NetStream.Pause.Notify",
                        "Paused.",
                    );
                } else {
                    link.send_user_control(UserControl::StreamBegin(message_stream));
                    link.send_status(
                        message_stream,
                        StatusLevel::Status,
                        "NetStream.Unpause.Notify",
                        "Unpaused.",
                    );
                }
                self.events.push_back(ServerEvent::Pause {
                    stream_id: message_stream,
                    paused,
                    position_ms,
                });
            }
            "receiveAudio" | "receiveVideo" if self.role(message_stream) == Some(Role::Playing) => {
                let on = command.argument(0).and_then(Amf0Value::as_bool);
                let (audio, video) = if command.name == "receiveAudio" {
                    (on, None)
                } else {
                    (None, on)
                };
                self.events.push_back(ServerEvent::Receive {
                    stream_id: message_stream,
                    audio,
                    video,
                });
            }
            "closeStream" => self.stop_stream(message_stream),
            "deleteStream" => {
                let stream_id = command
                    .argument(0)
                    .and_then(Amf0Value::as_number)
                    .map_or(message_stream, |n| n as u32);
                self.stop_stream(stream_id);
                self.streams.retain(|(s, _)| *s != stream_id);
            }
            other => tracing::debug!(command = other, "command not handled: ignored"),
        }
        Ok(())
    }

    fn create_stream(&mut self, txn: f64) {
        if self.streams.len() >= self.config.max_message_streams {
            let info = Command::status_info(
                StatusLevel::Error,
                "NetConnection.Call.Failed",
                "too many streams on this connection",
            );
            self.link.send_command(0, &Command::error(txn, info));
            return;
        }
        let stream_id = self.next_stream_id;
        self.next_stream_id += 1;
        self.streams.push((stream_id, Role::Idle));
        self.link.send_command(
            0,
            &Command::result(txn, Amf0Value::Null, vec![stream_id.into()]),
        );
    }

    /// Answers a command that expects a result but has nothing to report.
    fn answer_null(&mut self, txn: f64) {
        if txn != 0.0 {
            self.link.send_command(
                0,
                &Command::result(txn, Amf0Value::Null, vec![Amf0Value::Undefined]),
            );
        }
    }

    /// Ends whatever an accepted stream is doing and tells the app.
    fn stop_stream(&mut self, stream_id: u32) {
        match self.role(stream_id) {
            Some(Role::Publishing) => {
                self.link.send_status(
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
}

/// For Enhanced media: `Some(codec)`, the FourCC of its (first) track when the
/// message names one; `None` for legacy media.
fn enhanced_fourcc(type_id: u8, payload: &Bytes) -> Option<Option<[u8; 4]>> {
    let first = *payload.first()?;
    let kind = if type_id == type_id::VIDEO {
        MediaKind::Video
    } else {
        MediaKind::Audio
    };
    let is_ex = match kind {
        MediaKind::Video => first & 0x80 != 0,
        MediaKind::Audio => first >> 4 == 9,
    };
    if !is_ex {
        return None;
    }
    Some(crate::media::first_fourcc(kind, payload))
}

/// The AMF0 string a payload starts with, if it starts with one.
fn leading_string(payload: &[u8]) -> Option<&[u8]> {
    match payload {
        [0x02, hi, lo, rest @ ..] => rest.get(..usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => None,
    }
}

#[cfg(test)]
mod quirks;
#[cfg(test)]
mod tests;
