//! Protocol control messages (types 1–6) and user control events (type 4).

use super::{type_id, MessageError};
use bytes::{BufMut, Bytes, BytesMut};

/// How the peer should treat a Set Peer Bandwidth window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandwidthLimit {
    /// Limit output to the window.
    Hard,
    /// Limit to the window or the limit already in effect, whichever is smaller.
    Soft,
    /// Hard if the previous limit was hard, else ignore.
    Dynamic,
}

/// A user control event (message type 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserControl {
    /// Stream is ready for use.
    StreamBegin(u32),
    /// Playback of the stream has ended.
    StreamEof(u32),
    /// No more data on the stream for now.
    StreamDry(u32),
    /// The client's buffer length for a stream, in milliseconds.
    SetBufferLength {
        /// Message stream id.
        stream_id: u32,
        /// Buffer length in milliseconds.
        millis: u32,
    },
    /// The stream is a recorded one.
    StreamIsRecorded(u32),
    /// Ping request carrying the sender's timestamp.
    PingRequest(u32),
    /// Ping response echoing the request's timestamp.
    PingResponse(u32),
    /// An event this library does not interpret (SWF verification 26/27,
    /// BufferEmpty 31, BufferReady 32, …); ignored, never an error.
    Other {
        /// Event type.
        event: u16,
        /// Event data.
        data: Bytes,
    },
}

/// A protocol control message (types 1, 2, 3, 4, 5, 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlMessage {
    /// New maximum chunk size for the sender's chunks.
    SetChunkSize(u32),
    /// Discard the partly received message on a chunk stream.
    Abort {
        /// The chunk stream id.
        csid: u32,
    },
    /// Bytes received so far (wrapping).
    Acknowledgement(u32),
    /// Send an acknowledgement every this many bytes received.
    WindowAckSize(u32),
    /// Limit the peer's output bandwidth.
    SetPeerBandwidth {
        /// Window size in bytes.
        window: u32,
        /// Limit type.
        limit: BandwidthLimit,
    },
    /// A user control event.
    UserControl(UserControl),
}

fn be_u32(payload: &[u8], at: usize, type_id: u8) -> Result<u32, MessageError> {
    payload
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(MessageError::Truncated { type_id })
}

impl ControlMessage {
    /// Parses a protocol control message; `Ok(None)` if `type_id` is not one.
    pub fn parse(type_id: u8, payload: &Bytes) -> Result<Option<Self>, MessageError> {
        let word = |at| be_u32(payload, at, type_id);
        let message = match type_id {
            type_id::SET_CHUNK_SIZE => ControlMessage::SetChunkSize(word(0)?),
            type_id::ABORT => ControlMessage::Abort { csid: word(0)? },
            type_id::ACKNOWLEDGEMENT => ControlMessage::Acknowledgement(word(0)?),
            type_id::WINDOW_ACK_SIZE => ControlMessage::WindowAckSize(word(0)?),
            type_id::SET_PEER_BANDWIDTH => ControlMessage::SetPeerBandwidth {
                window: word(0)?,
                // A missing limit byte is taken as dynamic: the weakest claim.
                limit: match payload.get(4) {
                    Some(0) => BandwidthLimit::Hard,
                    Some(1) => BandwidthLimit::Soft,
                    _ => BandwidthLimit::Dynamic,
                },
            },
            type_id::USER_CONTROL => ControlMessage::UserControl(UserControl::parse(payload)?),
            _ => return Ok(None),
        };
        Ok(Some(message))
    }

    /// The message type id this control message is sent with.
    pub fn type_id(&self) -> u8 {
        match self {
            ControlMessage::SetChunkSize(_) => type_id::SET_CHUNK_SIZE,
            ControlMessage::Abort { .. } => type_id::ABORT,
            ControlMessage::Acknowledgement(_) => type_id::ACKNOWLEDGEMENT,
            ControlMessage::WindowAckSize(_) => type_id::WINDOW_ACK_SIZE,
            ControlMessage::SetPeerBandwidth { .. } => type_id::SET_PEER_BANDWIDTH,
            ControlMessage::UserControl(_) => type_id::USER_CONTROL,
        }
    }

    /// The message payload.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(10);
        match self {
            ControlMessage::SetChunkSize(v)
            | ControlMessage::Abort { csid: v }
            | ControlMessage::Acknowledgement(v)
            | ControlMessage::WindowAckSize(v) => out.put_u32(*v),
            ControlMessage::SetPeerBandwidth { window, limit } => {
                out.put_u32(*window);
                out.put_u8(match limit {
                    BandwidthLimit::Hard => 0,
                    BandwidthLimit::Soft => 1,
                    BandwidthLimit::Dynamic => 2,
                });
            }
            ControlMessage::UserControl(event) => event.encode_into(&mut out),
        }
        out.freeze()
    }
}

impl UserControl {
    fn parse(payload: &Bytes) -> Result<Self, MessageError> {
        let truncated = MessageError::Truncated {
            type_id: type_id::USER_CONTROL,
        };
        let event = payload
            .get(..2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or(truncated.clone())?;
        let word = |at| be_u32(payload, at, type_id::USER_CONTROL);
        Ok(match event {
            0 => UserControl::StreamBegin(word(2)?),
            1 => UserControl::StreamEof(word(2)?),
            2 => UserControl::StreamDry(word(2)?),
            3 => UserControl::SetBufferLength {
                stream_id: word(2)?,
                millis: word(6)?,
            },
            4 => UserControl::StreamIsRecorded(word(2)?),
            6 => UserControl::PingRequest(word(2)?),
            7 => UserControl::PingResponse(word(2)?),
            _ => UserControl::Other {
                event,
                data: payload.slice(2..),
            },
        })
    }

    fn encode_into(&self, out: &mut BytesMut) {
        let (event, first) = match self {
            UserControl::StreamBegin(v) => (0, *v),
            UserControl::StreamEof(v) => (1, *v),
            UserControl::StreamDry(v) => (2, *v),
            UserControl::SetBufferLength { stream_id, .. } => (3, *stream_id),
            UserControl::StreamIsRecorded(v) => (4, *v),
            UserControl::PingRequest(v) => (6, *v),
            UserControl::PingResponse(v) => (7, *v),
            UserControl::Other { event, data } => {
                out.put_u16(*event);
                out.put_slice(data);
                return;
            }
        };
        out.put_u16(event);
        out.put_u32(first);
        if let UserControl::SetBufferLength { millis, .. } = self {
            out.put_u32(*millis);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(message: ControlMessage, bytes: &[u8]) {
        assert_eq!(&message.encode()[..], bytes);
        let parsed = ControlMessage::parse(message.type_id(), &Bytes::copy_from_slice(bytes));
        assert_eq!(parsed, Ok(Some(message)));
    }

    #[test]
    fn control_messages_match_the_spec_layout() {
        round_trip(ControlMessage::SetChunkSize(4096), &[0, 0, 0x10, 0]);
        round_trip(ControlMessage::Abort { csid: 6 }, &[0, 0, 0, 6]);
        round_trip(ControlMessage::Acknowledgement(0x01020304), &[1, 2, 3, 4]);
        round_trip(
            ControlMessage::WindowAckSize(2_500_000),
            &[0x00, 0x26, 0x25, 0xA0],
        );
        round_trip(
            ControlMessage::SetPeerBandwidth {
                window: 2_500_000,
                limit: BandwidthLimit::Dynamic,
            },
            &[0x00, 0x26, 0x25, 0xA0, 2],
        );
    }

    #[test]
    fn user_control_events_match_the_spec_layout() {
        let uc = |e| ControlMessage::UserControl(e);
        round_trip(uc(UserControl::StreamBegin(1)), &[0, 0, 0, 0, 0, 1]);
        round_trip(uc(UserControl::StreamEof(1)), &[0, 1, 0, 0, 0, 1]);
        round_trip(
            uc(UserControl::SetBufferLength {
                stream_id: 1,
                millis: 3000,
            }),
            &[0, 3, 0, 0, 0, 1, 0, 0, 0x0B, 0xB8],
        );
        round_trip(uc(UserControl::PingRequest(7)), &[0, 6, 0, 0, 0, 7]);
        round_trip(uc(UserControl::PingResponse(7)), &[0, 7, 0, 0, 0, 7]);
    }

    #[test]
    fn unknown_user_control_events_are_kept_not_rejected() {
        // BufferEmpty (31) as some servers send it.
        let parsed = ControlMessage::parse(4, &Bytes::from_static(&[0, 31, 0, 0, 0, 1]));
        assert_eq!(
            parsed,
            Ok(Some(ControlMessage::UserControl(UserControl::Other {
                event: 31,
                data: Bytes::from_static(&[0, 0, 0, 1])
            })))
        );
    }

    #[test]
    fn truncated_control_messages_are_errors() {
        for type_id in 1..=6u8 {
            let parsed = ControlMessage::parse(type_id, &Bytes::from_static(&[0, 0]));
            if type_id == 4 {
                // Two bytes are a whole event type with no data: still truncated for StreamBegin.
                assert!(parsed.is_err());
            } else {
                assert_eq!(parsed, Err(MessageError::Truncated { type_id }));
            }
        }
        assert_eq!(ControlMessage::parse(8, &Bytes::new()), Ok(None));
    }
}
