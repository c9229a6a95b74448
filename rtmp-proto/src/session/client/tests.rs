//! ClientSession against a ServerSession, byte for byte.

use super::*;
use crate::{RequestId, ServerEvent, ServerSession};

fn pump(client: &mut ClientSession, server: &mut ServerSession, now: Instant) -> Vec<ServerEvent> {
    let mut seen = Vec::new();
    loop {
        let up: Vec<u8> = client.take_output().concat();
        let down_before = server.output().len();
        if !up.is_empty() {
            server.handle_input(now, &up).unwrap();
        }
        let mut answered = false;
        while let Some(event) = server.poll_event() {
            let id: Option<RequestId> = match &event {
                ServerEvent::ConnectRequest { id, .. }
                | ServerEvent::PublishRequest { id, .. }
                | ServerEvent::PlayRequest { id, .. } => Some(*id),
                _ => None,
            };
            if let Some(id) = id {
                server.accept(now, id);
                answered = true;
            }
            seen.push(event);
        }
        let down: Vec<u8> = server.take_output().concat();
        if !down.is_empty() {
            client.handle_input(now, &down).unwrap();
        }
        if up.is_empty() && down.is_empty() && down_before == 0 && !answered {
            return seen;
        }
    }
}

fn drain(client: &mut ClientSession) -> Vec<ClientEvent> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

fn publish_intent() -> ClientIntent {
    ClientIntent::Publish {
        stream: "key?token=1".into(),
        publish_type: "live".into(),
    }
}

#[test]
fn a_publishing_client_connects_creates_a_stream_and_publishes() {
    let now = Instant::now();
    let params = ClientParams::new("rtmp://localhost:1935/live", "live");
    let mut client = ClientSession::new(SessionConfig::default(), params, publish_intent(), now, 1);
    let mut server = ServerSession::new(SessionConfig::default(), now, 2);
    let seen = pump(&mut client, &mut server, now);
    let ServerEvent::ConnectRequest { params, .. } = &seen[1] else {
        panic!("{seen:?}")
    };
    assert_eq!(params.app, "live");
    assert_eq!(params.tc_url.as_deref(), Some("rtmp://localhost:1935/live"));
    assert_eq!(
        params.flash_ver.as_deref(),
        Some("FMLE/3.0 (compatible; rtmp-rs)")
    );
    assert_eq!(
        seen[2],
        ServerEvent::FcPublish {
            stream_key: "key".into()
        }
    );
    let ServerEvent::PublishRequest { params, .. } = &seen[3] else {
        panic!("{seen:?}")
    };
    assert_eq!(
        (params.stream_key.as_str(), params.query.as_deref()),
        ("key", Some("token=1"))
    );
    let events = drain(&mut client);
    assert!(matches!(events[0], ClientEvent::HandshakeComplete));
    assert!(matches!(&events[1], ClientEvent::Connected { info, .. }
        if info.get("code").and_then(Amf0Value::as_str) == Some("NetConnection.Connect.Success")));
    assert!(events.contains(&ClientEvent::StreamCreated { stream_id: 1 }));
    assert!(events.contains(&ClientEvent::PublishStarted));
    assert_eq!(client.stream_id(), Some(1));
    assert_eq!(
        client.server_verified(),
        Some(true),
        "our server proves the digest handshake"
    );

    let frame = MediaMessage::new(MediaKind::Video, 40, Bytes::from(vec![0x17; 9000]));
    client.send_media(&frame);
    let seen = pump(&mut client, &mut server, now);
    assert_eq!(
        seen,
        [ServerEvent::Media {
            stream_id: 1,
            message: frame
        }]
    );
}

#[test]
fn an_amf3_client_sends_type_17_commands_and_is_answered_in_kind() {
    let now = Instant::now();
    let mut params = ClientParams::new("rtmp://localhost/live", "live");
    params.object_encoding = 3.0;
    let mut client = ClientSession::new(SessionConfig::default(), params, publish_intent(), now, 1);
    let mut server = ServerSession::new(SessionConfig::default(), now, 2);
    // Skip the handshake, then look at the connect message itself.
    let seen = pump(&mut client, &mut server, now);
    let ServerEvent::ConnectRequest { params, .. } = &seen[1] else {
        panic!("{seen:?}")
    };
    assert_eq!(params.object_encoding, 3.0);
    assert!(drain(&mut client).contains(&ClientEvent::PublishStarted));
}

#[test]
fn a_connect_rejection_ends_the_client_with_the_reason() {
    let now = Instant::now();
    let params = ClientParams::new("rtmp://localhost/private", "private");
    let mut client = ClientSession::new(SessionConfig::default(), params, publish_intent(), now, 1);
    let mut server = ServerSession::new(SessionConfig::default(), now, 2);
    for _ in 0..4 {
        let up: Vec<u8> = client.take_output().concat();
        let _ = server.handle_input(now, &up);
        while let Some(event) = server.poll_event() {
            if let ServerEvent::ConnectRequest { id, .. } = event {
                server.reject(now, id, "no such app");
            }
        }
        let down: Vec<u8> = server.take_output().concat();
        let _ = client.handle_input(now, &down);
    }
    assert_eq!(
        client.error(),
        Some(&SessionError::ConnectRejected("no such app".into()))
    );
    assert!(client.is_closing());
}

#[test]
fn an_unanswered_connect_times_out() {
    let now = Instant::now();
    let params = ClientParams::new("rtmp://localhost/live", "live");
    let mut client = ClientSession::new(SessionConfig::default(), params, publish_intent(), now, 1);
    let deadline = client.poll_timeout().unwrap();
    assert_eq!(deadline, now + SessionConfig::default().connect_timeout);
    assert_eq!(
        client.handle_timeout(deadline),
        Err(SessionError::ConnectTimeout)
    );
}

#[test]
fn connect_properties_of_a_player() {
    let now = Instant::now();
    let params = ClientParams::new("rtmp://localhost/live", "live");
    let intent = ClientIntent::Play {
        stream: "key".into(),
        start: -2.0,
    };
    let mut client = ClientSession::new(SessionConfig::default(), params, intent, now, 1);
    let mut server = ServerSession::new(SessionConfig::default(), now, 2);
    let seen = pump(&mut client, &mut server, now);
    let ServerEvent::ConnectRequest { params, .. } = &seen[1] else {
        panic!("{seen:?}")
    };
    assert_eq!(
        params.properties.get("fpad"),
        Some(&Amf0Value::Boolean(false))
    );
    assert!(
        matches!(&seen[2], ServerEvent::PlayRequest { params, .. } if params.stream_key == "key")
    );
    assert!(drain(&mut client).contains(&ClientEvent::PlayStarted));
}
