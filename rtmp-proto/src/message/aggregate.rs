//! Aggregate messages (type 22): several audio, video or data messages laid out as
//! FLV tags — type (1), size (3), timestamp (3) + extension (1), stream id (3), body,
//! back-pointer (4). FMS, Wowza and nginx-rtmp relays send them.

use crate::chunk::{MessageHeader, RawMessage};
use bytes::Bytes;

/// The sub-messages of an aggregate, as slices of its payload (no copy).
///
/// Timestamps are rebased onto the aggregate's: `aggregate + (sub - first sub)`,
/// wrapping. Sub-messages take the aggregate's message stream id and chunk stream.
/// A truncated trailing sub-message ends the iteration: what came before is kept.
pub fn split_aggregate(header: MessageHeader, payload: Bytes) -> impl Iterator<Item = RawMessage> {
    let mut rest = payload;
    let mut first_timestamp = None;
    std::iter::from_fn(move || {
        let tag = rest.get(..11)?;
        let type_id = tag[0];
        let size = u32::from_be_bytes([0, tag[1], tag[2], tag[3]]);
        let timestamp = u32::from_be_bytes([tag[7], tag[4], tag[5], tag[6]]);
        let end = 11usize.checked_add(size as usize)?;
        if rest.len() < end {
            return None;
        }
        let body = rest.slice(11..end);
        rest = rest.slice((end + 4).min(rest.len())..);
        let first = *first_timestamp.get_or_insert(timestamp);
        Some(RawMessage {
            header: MessageHeader {
                csid: header.csid,
                timestamp: header.timestamp.wrapping_add(timestamp.wrapping_sub(first)),
                type_id,
                stream_id: header.stream_id,
                length: size,
            },
            payload: body,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(type_id: u8, timestamp: u32, body: &[u8]) -> Vec<u8> {
        let mut out = vec![type_id];
        out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        out.extend_from_slice(&timestamp.to_be_bytes()[1..]);
        out.push((timestamp >> 24) as u8);
        out.extend_from_slice(&[0, 0, 0]);
        out.extend_from_slice(body);
        out.extend_from_slice(&(11 + body.len() as u32).to_be_bytes());
        out
    }

    #[test]
    fn sub_messages_are_rebased_onto_the_aggregate_timestamp() {
        let payload: Vec<u8> = [
            tag(9, 0x0100_0000, &[0x17, 1, 2]),
            tag(8, 0x0100_0015, &[0xAF, 1]),
            tag(9, 0x0100_0021, &[0x27, 1]),
        ]
        .concat();
        let header = MessageHeader {
            csid: 6,
            timestamp: 5000,
            type_id: 22,
            stream_id: 1,
            length: payload.len() as u32,
        };
        let subs: Vec<RawMessage> = split_aggregate(header, Bytes::from(payload)).collect();
        let summary: Vec<(u8, u32, usize)> = subs
            .iter()
            .map(|m| (m.header.type_id, m.header.timestamp, m.payload.len()))
            .collect();
        assert_eq!(summary, [(9, 5000, 3), (8, 5021, 2), (9, 5033, 2)]);
        assert!(subs.iter().all(|m| m.header.stream_id == 1));
    }

    #[test]
    fn a_truncated_tail_is_dropped_and_never_panics() {
        let mut payload = tag(9, 0, &[0x17, 1]);
        payload.extend_from_slice(&tag(8, 10, &[0xAF, 1, 2, 3])[..9]);
        let header = MessageHeader {
            csid: 6,
            timestamp: 0,
            type_id: 22,
            stream_id: 1,
            length: 0,
        };
        assert_eq!(
            split_aggregate(header, Bytes::from(payload.clone())).count(),
            1
        );
        for cut in 0..payload.len() {
            let _ = split_aggregate(header, Bytes::copy_from_slice(&payload[..cut])).count();
        }
    }
}
