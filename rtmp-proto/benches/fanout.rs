//! Fan-out cost per published message against the number of players: the hub's
//! queueing and drop policy, each player session taking the shared encoding, and the
//! bytes reaching each player's output queue (as a vectored write would take them).
//!
//! `cargo bench -p rtmp-proto --bench fanout`

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rtmp_proto::amf::{Amf0Value, AmfObject};
use rtmp_proto::chunk::{ChunkEncoder, MessageHeader};
use rtmp_proto::hub::{Hub, HubConfig, Membership, StreamKey};
use rtmp_proto::media::{MediaKind, MediaMessage};
use rtmp_proto::message::{Command, PlayParams};
use rtmp_proto::{ServerEvent, ServerSession, SessionConfig};
use std::time::Instant;

/// A server session that has accepted a play of `live/bench` on stream 1.
fn playing_session(
    hub: &mut Hub<usize>,
    index: usize,
    now: Instant,
) -> (ServerSession, Membership<usize>) {
    let mut session = ServerSession::new(SessionConfig::default(), now, index as u64);
    let mut input = vec![3u8];
    input.extend(std::iter::repeat(0u8).take(2 * 1536));
    let mut encoder = ChunkEncoder::new();
    let mut send = |name: &str, stream_id: u32, object: Amf0Value, args: Vec<Amf0Value>| {
        let payload = Command {
            name: name.into(),
            transaction_id: 1.0,
            command_object: object,
            arguments: args,
        }
        .encode();
        let header = MessageHeader {
            csid: 3,
            timestamp: 0,
            type_id: 20,
            stream_id,
            length: 0,
        };
        let mut out: Vec<Bytes> = Vec::new();
        encoder.encode(&header, &payload, &mut out);
        out.concat()
    };
    input.extend(send(
        "connect",
        0,
        AmfObject::new().with("app", "live").into(),
        vec![],
    ));
    input.extend(send("createStream", 0, Amf0Value::Null, vec![]));
    input.extend(send("play", 1, Amf0Value::Null, vec!["bench".into()]));
    let mut membership = Membership::new(index);
    session.handle_input(now, &input).expect("valid input");
    while let Some(event) = session.poll_event() {
        match event {
            ServerEvent::ConnectRequest { id, .. } => session.accept(now, id),
            ServerEvent::PlayRequest { id, params } => {
                play(&mut membership, hub, &mut session, now, id, &params)
            }
            _ => {}
        }
    }
    session.take_output();
    (session, membership)
}

fn play(
    membership: &mut Membership<usize>,
    hub: &mut Hub<usize>,
    session: &mut ServerSession,
    now: Instant,
    id: rtmp_proto::RequestId,
    params: &PlayParams,
) {
    membership
        .accept_play(hub, session, now, id, params)
        .expect("room for players");
}

fn fanout(c: &mut Criterion) {
    let now = Instant::now();
    // A 4 Mbps, 30 fps stream's inter frame: about 16 KB.
    let frame = Bytes::from(vec![0x27u8; 16 * 1024]);
    let mut group = c.benchmark_group("fanout_per_message");
    for players in [1usize, 10, 100, 1000] {
        let mut hub: Hub<usize> = Hub::new(HubConfig::default());
        let mut wake = Vec::new();
        let publisher = hub
            .start_publish(&StreamKey::new("live", "bench"), now, &mut wake)
            .unwrap();
        let mut sessions: Vec<_> = (0..players)
            .map(|i| playing_session(&mut hub, i, now))
            .collect();
        hub.publish_media(
            publisher,
            MediaMessage::new(MediaKind::Video, 0, Bytes::from_static(&[0x17, 1, 0])),
            now,
            &mut wake,
        );
        let mut ts = 0u32;
        group.throughput(Throughput::Elements(players as u64));
        group.bench_with_input(BenchmarkId::from_parameter(players), &players, |b, _| {
            b.iter(|| {
                ts = ts.wrapping_add(33);
                let message = MediaMessage::new(MediaKind::Video, ts, frame.clone());
                wake.clear();
                hub.publish_media(publisher, message, now, &mut wake);
                let mut bytes = 0;
                for (session, membership) in &mut sessions {
                    membership.pull(&mut hub, session, now);
                    bytes += session.output().len();
                    let written = session.output().len();
                    session.advance_output(written);
                }
                bytes
            })
        });
    }
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
