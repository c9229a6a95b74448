//! [`Link`]: the message layer both session roles share. It owns the chunk decoder
//! and encoder, the output queue, protocol control (chunk size, abort,
//! acknowledgement windows), pings, aggregate splitting and the liveness timers, so
//! the roles above it deal only in commands, data and media.

use super::{OutputQueue, SessionConfig, SessionError};
use crate::amf::{self, Amf0Value};
use crate::chunk::{ChunkDecoder, ChunkEncoder, MessageHeader, RawMessage};
use crate::hub::SharedMedia;
use crate::message::{
    split_aggregate, type_id, BandwidthLimit, Command, ControlMessage, StatusLevel, UserControl,
};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Chunk stream ids this side sends on.
pub(crate) mod csid {
    pub const CONTROL: u32 = 2;
    pub const COMMAND: u32 = 3;
    pub const AUDIO: u32 = 4;
    pub const DATA: u32 = 5;
    pub const VIDEO: u32 = 6;
}

/// What the link hands up to a session role.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A command, data or media message (aggregates already split).
    Message(RawMessage),
    /// A user control event the link does not handle itself (stream begin/EOF/dry,
    /// buffer length, recorded, and unknown events).
    Event(UserControl),
}

#[derive(Debug)]
pub(crate) struct Link {
    decoder: ChunkDecoder,
    encoder: ChunkEncoder,
    pub(crate) output: OutputQueue,
    /// Sub-messages of an aggregate not yet handed up.
    split: VecDeque<RawMessage>,
    /// Bytes received, for acknowledgements (wraps like the protocol's counter).
    received: u32,
    last_ack: u32,
    peer_window: Option<u32>,
    started: Instant,
    last_input: Instant,
    ping_sent: Option<Instant>,
    ping_interval: Option<Duration>,
    ping_timeout: Duration,
    idle_timeout: Duration,
    max_pending_output: usize,
    /// Send commands in their AMF3 form (type 17), as a peer using objectEncoding 3 does.
    amf3_commands: bool,
    /// The connection should close once the output is written.
    closing: bool,
    /// Why the session ended, if it failed.
    error: Option<SessionError>,
}

impl Link {
    pub(crate) fn new(config: &SessionConfig, now: Instant) -> Self {
        Link {
            decoder: ChunkDecoder::new(config.chunk_limits),
            encoder: ChunkEncoder::new(),
            output: OutputQueue::default(),
            split: VecDeque::new(),
            received: 0,
            last_ack: 0,
            peer_window: None,
            started: now,
            last_input: now,
            ping_sent: None,
            ping_interval: config.ping_interval,
            ping_timeout: config.ping_timeout,
            idle_timeout: config.idle_timeout,
            max_pending_output: config.max_pending_output,
            amf3_commands: false,
            closing: false,
            error: None,
        }
    }

    /// Ends the session with `error`. Pending output is dropped — the peer is broken or
    /// gone — except a connect rejection, which the peer should get to read.
    pub(crate) fn fail(&mut self, error: SessionError) -> SessionError {
        if !matches!(error, SessionError::ConnectRejected(_)) {
            self.output.take_all();
        }
        self.closing = true;
        self.error = Some(error.clone());
        error
    }

    /// Ends the session politely: close once the pending output is written.
    pub(crate) fn close(&mut self) {
        self.closing = true;
    }

    /// Whether the connection should close once the pending output is written.
    pub(crate) fn is_closing(&self) -> bool {
        self.closing
    }

    /// Why the session ended, once it failed.
    pub(crate) fn error(&self) -> Option<&SessionError> {
        self.error.as_ref()
    }

    /// The session's error, if it failed.
    pub(crate) fn check_open(&self) -> Result<(), SessionError> {
        self.error.clone().map_or(Ok(()), Err)
    }

    /// Records that `len` bytes arrived at `now`: the peer is alive.
    pub(crate) fn note_input(&mut self, now: Instant, len: usize) {
        self.last_input = now;
        self.ping_sent = None;
        self.received = self.received.wrapping_add(len as u32);
    }

    /// The next message or event from `data`, handling protocol control on the way.
    pub(crate) fn next(&mut self, data: &mut &[u8]) -> Result<Option<Incoming>, SessionError> {
        loop {
            if let Some(message) = self.split.pop_front() {
                return Ok(Some(Incoming::Message(message)));
            }
            let Some(message) = self.decoder.decode(data)? else {
                return Ok(None);
            };
            match message.header.type_id {
                type_id::AGGREGATE => self
                    .split
                    .extend(split_aggregate(message.header, message.payload)),
                type_id::SET_CHUNK_SIZE..=type_id::SET_PEER_BANDWIDTH => {
                    if let Some(control) =
                        ControlMessage::parse(message.header.type_id, &message.payload)?
                    {
                        if let Some(event) = self.apply(control)? {
                            return Ok(Some(Incoming::Event(event)));
                        }
                    }
                }
                _ => return Ok(Some(Incoming::Message(message))),
            }
        }
    }

    fn apply(&mut self, control: ControlMessage) -> Result<Option<UserControl>, SessionError> {
        match control {
            ControlMessage::SetChunkSize(size) => self.decoder.set_chunk_size(size)?,
            ControlMessage::Abort { csid } => self.decoder.abort(csid),
            ControlMessage::WindowAckSize(window) => self.peer_window = Some(window.max(1)),
            ControlMessage::UserControl(UserControl::PingRequest(time)) => {
                self.send_user_control(UserControl::PingResponse(time))
            }
            ControlMessage::UserControl(UserControl::PingResponse(_)) => {}
            ControlMessage::UserControl(event) => return Ok(Some(event)),
            ControlMessage::Acknowledgement(_) | ControlMessage::SetPeerBandwidth { .. } => {}
        }
        Ok(None)
    }

    /// Work due after a batch of input: acknowledgements and the output bound.
    pub(crate) fn finish_input(&mut self) -> Result<(), SessionError> {
        if let Some(window) = self.peer_window {
            if self.received.wrapping_sub(self.last_ack) >= window {
                self.last_ack = self.received;
                self.send_control(ControlMessage::Acknowledgement(self.received));
            }
        }
        self.check_output()
    }

    /// Fails if more output waits than the bound allows.
    pub(crate) fn check_output(&self) -> Result<(), SessionError> {
        let pending = self.output.len();
        if pending > self.max_pending_output {
            Err(SessionError::OutputOverflow { pending })
        } else {
            Ok(())
        }
    }

    /// When [`Link::handle_timeout`] has work: a ping to send, or a peer to give up on.
    pub(crate) fn poll_timeout(&self) -> Instant {
        let idle = self.last_input + self.idle_timeout;
        match (self.ping_sent, self.ping_interval) {
            (Some(sent), _) => idle.min(sent + self.ping_timeout),
            (None, Some(interval)) => idle.min(self.last_input + interval),
            (None, None) => idle,
        }
    }

    /// Sends a ping after a quiet spell; fails if the peer stayed silent too long.
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Result<(), SessionError> {
        if now >= self.last_input + self.idle_timeout {
            return Err(SessionError::IdleTimeout);
        }
        match (self.ping_sent, self.ping_interval) {
            (Some(sent), _) if now >= sent + self.ping_timeout => Err(SessionError::PingTimeout),
            (None, Some(interval)) if now >= self.last_input + interval => {
                let millis = now.saturating_duration_since(self.started).as_millis() as u32;
                self.send_user_control(UserControl::PingRequest(millis));
                self.ping_sent = Some(now);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Sends Window Acknowledgement Size, Set Peer Bandwidth and Set Chunk Size.
    pub(crate) fn send_link_settings(&mut self, config: &SessionConfig) {
        self.send_control(ControlMessage::WindowAckSize(config.window_ack_size));
        self.send_control(ControlMessage::SetPeerBandwidth {
            window: config.peer_bandwidth,
            limit: BandwidthLimit::Dynamic,
        });
        self.set_chunk_size(config.chunk_size);
    }

    /// Announces and applies a new outgoing chunk size.
    pub(crate) fn set_chunk_size(&mut self, size: u32) {
        let size = size.clamp(128, crate::chunk::MAX_CHUNK_SIZE);
        self.send_control(ControlMessage::SetChunkSize(size));
        self.encoder.set_chunk_size(size);
    }

    pub(crate) fn send_message(
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

    /// Sends a hub message with its shared encoding (encoded once for all players);
    /// the next message on `csid` starts with a full header again.
    pub(crate) fn send_shared(
        &mut self,
        message: &SharedMedia,
        csid: u32,
        type_id: u8,
        stream_id: u32,
    ) {
        let header = MessageHeader {
            csid,
            timestamp: message.timestamp,
            type_id,
            stream_id,
            length: message.payload.len() as u32,
        };
        let chunk_size = self.encoder.chunk_size();
        self.output
            .push(message.encoded(chunk_size, stream_id, header));
        self.encoder.forget(csid);
    }

    pub(crate) fn send_control(&mut self, message: ControlMessage) {
        let type_id = message.type_id();
        self.send_message(csid::CONTROL, 0, type_id, 0, &message.encode());
    }

    pub(crate) fn send_user_control(&mut self, event: UserControl) {
        self.send_control(ControlMessage::UserControl(event));
    }

    /// Sends commands as type 17 (a 0x00 format byte, then AMF0 values) from now on.
    pub(crate) fn use_amf3_commands(&mut self) {
        self.amf3_commands = true;
    }

    pub(crate) fn send_command(&mut self, stream_id: u32, command: &Command) {
        let payload = command.encode();
        if self.amf3_commands {
            let mut framed = BytesMut::with_capacity(1 + payload.len());
            framed.extend_from_slice(&[0]);
            framed.extend_from_slice(&payload);
            let framed = framed.freeze();
            self.send_message(csid::COMMAND, 0, type_id::COMMAND_AMF3, stream_id, &framed);
        } else {
            self.send_message(csid::COMMAND, 0, type_id::COMMAND_AMF0, stream_id, &payload);
        }
    }

    pub(crate) fn send_status(
        &mut self,
        stream_id: u32,
        level: StatusLevel,
        code: &str,
        description: &str,
    ) {
        self.send_command(stream_id, &Command::on_status(level, code, description));
    }

    pub(crate) fn send_data(&mut self, stream_id: u32, values: &[Amf0Value]) {
        let mut payload = BytesMut::new();
        amf::encode_all(values, &mut payload);
        self.send_message(
            csid::DATA,
            0,
            type_id::DATA_AMF0,
            stream_id,
            &payload.freeze(),
        );
    }
}
