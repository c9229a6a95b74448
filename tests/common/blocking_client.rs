//! Drives a `ClientSession` over a blocking `TcpStream`: the smallest possible adapter,
//! for tests that need our own client on a real socket.

use rtmp_rs::proto::flv::{FlvReader, TAG_AUDIO, TAG_SCRIPT, TAG_VIDEO};
use rtmp_rs::proto::media::{MediaKind, MediaMessage};
use rtmp_rs::proto::{ClientEvent, ClientSession};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

pub struct BlockingClient {
    pub session: ClientSession,
    socket: TcpStream,
    pub events: Vec<ClientEvent>,
}

impl BlockingClient {
    pub fn connect(addr: SocketAddr, session: ClientSession) -> BlockingClient {
        let socket = TcpStream::connect(addr).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        socket.set_nodelay(true).unwrap();
        BlockingClient {
            session,
            socket,
            events: Vec::new(),
        }
    }

    /// Writes pending output, reads what has arrived, collects events.
    pub fn turn(&mut self) {
        for segment in self.session.take_output() {
            self.socket.write_all(&segment).unwrap();
        }
        let mut buf = [0u8; 65536];
        match self.socket.read(&mut buf) {
            Ok(0) if self.session.error().is_some() => {}
            Ok(0) => panic!("server closed the connection; events: {:?}", self.events),
            // An error ends the session; callers read it from `session.error()`.
            Ok(n) => {
                let _ = self.session.handle_input(Instant::now(), &buf[..n]);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("read failed: {e}"),
        }
        self.events
            .extend(std::iter::from_fn(|| self.session.poll_event()));
    }

    /// Turns until `done` holds on the events, or panics after `timeout`.
    pub fn turn_until(&mut self, timeout: Duration, done: impl Fn(&[ClientEvent]) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(&self.events) {
            assert!(
                Instant::now() < deadline,
                "timed out; events: {:?}",
                self.events
            );
            self.turn();
        }
    }

    /// Publishes every tag of an FLV file (already in `PublishStarted` state), then
    /// ends the stream politely.
    pub fn publish_flv(&mut self, path: &Path) {
        let mut reader = FlvReader::new();
        reader.push(&std::fs::read(path).unwrap());
        while let Some(tag) = reader.next_tag().unwrap() {
            match tag.tag_type {
                TAG_SCRIPT => self.session.send_metadata(&tag.data),
                TAG_AUDIO => self.session.send_media(&MediaMessage::new(
                    MediaKind::Audio,
                    tag.timestamp,
                    tag.data,
                )),
                TAG_VIDEO => self.session.send_media(&MediaMessage::new(
                    MediaKind::Video,
                    tag.timestamp,
                    tag.data,
                )),
                _ => {}
            }
            self.turn();
        }
        self.session.close_stream();
        while !self.session.output().is_empty() {
            self.turn();
        }
    }
}
