//! RTMP messages above the chunk layer: the message type ids, protocol control and
//! user control messages, and AMF0 commands with the parameters of the commands a
//! server answers (connect, publish, play).

mod aggregate;
mod command;
mod control;

pub use aggregate::split_aggregate;
pub use command::{
    split_stream_name, Command, ConnectParams, PlayParams, PublishParams, StatusLevel,
};
pub use control::{BandwidthLimit, ControlMessage, UserControl};

use crate::amf::AmfError;
use std::fmt;

/// Message type ids (RTMP 1.0 section 5.4 and 7.1).
pub mod type_id {
    /// Set Chunk Size (protocol control).
    pub const SET_CHUNK_SIZE: u8 = 1;
    /// Abort Message (protocol control).
    pub const ABORT: u8 = 2;
    /// Acknowledgement (protocol control).
    pub const ACKNOWLEDGEMENT: u8 = 3;
    /// User Control Message.
    pub const USER_CONTROL: u8 = 4;
    /// Window Acknowledgement Size (protocol control).
    pub const WINDOW_ACK_SIZE: u8 = 5;
    /// Set Peer Bandwidth (protocol control).
    pub const SET_PEER_BANDWIDTH: u8 = 6;
    /// Audio data (an FLV audio tag body).
    pub const AUDIO: u8 = 8;
    /// Video data (an FLV video tag body).
    pub const VIDEO: u8 = 9;
    /// Data message, AMF3 form (a 0x00 format byte, then AMF0 values).
    pub const DATA_AMF3: u8 = 15;
    /// Shared object message, AMF3 form.
    pub const SHARED_OBJECT_AMF3: u8 = 16;
    /// Command message, AMF3 form (a 0x00 format byte, then AMF0 values).
    pub const COMMAND_AMF3: u8 = 17;
    /// Data message (`@setDataFrame`, `onMetaData`, …), AMF0.
    pub const DATA_AMF0: u8 = 18;
    /// Shared object message, AMF0.
    pub const SHARED_OBJECT_AMF0: u8 = 19;
    /// Command message (`connect`, `publish`, `_result`, …), AMF0.
    pub const COMMAND_AMF0: u8 = 20;
    /// Aggregate message: several FLV-tag-shaped sub-messages.
    pub const AGGREGATE: u8 = 22;
}

/// A message that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageError {
    /// A control message shorter than its fixed layout.
    Truncated {
        /// The message type id.
        type_id: u8,
    },
    /// The AMF payload of a command or data message is malformed.
    Amf(AmfError),
    /// A command message without a name or transaction id.
    MalformedCommand,
    /// A command lacks an argument it cannot do without.
    MissingArgument {
        /// The command name.
        command: &'static str,
        /// What is missing.
        argument: &'static str,
    },
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::Truncated { type_id } => {
                write!(f, "control message of type {type_id} is truncated")
            }
            MessageError::Amf(e) => write!(f, "bad AMF payload: {e}"),
            MessageError::MalformedCommand => {
                f.write_str("command message lacks a name or transaction id")
            }
            MessageError::MissingArgument { command, argument } => {
                write!(f, "{command} command lacks its {argument}")
            }
        }
    }
}

impl std::error::Error for MessageError {}

impl From<AmfError> for MessageError {
    fn from(e: AmfError) -> Self {
        MessageError::Amf(e)
    }
}
