//! Helpers shared by the client tests: source FLV tags, collecting a puller's events,
//! free ports for FFmpeg's listen mode, and test certificates made with rcgen.
#![allow(dead_code)]

use bytes::Bytes;
use rtmp_rs::client::{ClientConfig, ClientError, ClientEvent, MediaMessage, RtmpPuller};
use rtmp_rs::proto::flv::{FlvReader, TAG_AUDIO, TAG_SCRIPT, TAG_VIDEO};
use rtmp_rs::proto::media::MediaKind;
use rtmp_rs::RtmpHandler;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Accepts everything.
pub struct Open;
impl RtmpHandler for Open {}

/// The metadata and media of an FLV file, as a publisher sends them.
#[derive(Debug, Default)]
pub struct Tags {
    pub metadata: Option<Bytes>,
    pub media: Vec<MediaMessage>,
}

pub fn source_tags(path: &Path) -> Tags {
    let mut reader = FlvReader::new();
    reader.push(&std::fs::read(path).unwrap());
    let mut tags = Tags::default();
    while let Some(tag) = reader.next_tag().unwrap() {
        match tag.tag_type {
            TAG_SCRIPT => tags.metadata = Some(tag.data),
            TAG_AUDIO => {
                tags.media
                    .push(MediaMessage::new(MediaKind::Audio, tag.timestamp, tag.data))
            }
            TAG_VIDEO => {
                tags.media
                    .push(MediaMessage::new(MediaKind::Video, tag.timestamp, tag.data))
            }
            _ => {}
        }
    }
    tags
}

/// What a puller delivered.
#[derive(Debug, Default)]
pub struct Pulled {
    pub events: Vec<ClientEvent>,
}

impl Pulled {
    pub fn tags(&self) -> Tags {
        let mut tags = Tags::default();
        for event in &self.events {
            match event {
                ClientEvent::Metadata { payload } => tags.metadata = Some(payload.clone()),
                ClientEvent::VideoFrame { timestamp, data }
                | ClientEvent::AudioFrame { timestamp, data }
                | ClientEvent::EnhancedVideoFrame {
                    timestamp, data, ..
                }
                | ClientEvent::EnhancedAudioFrame {
                    timestamp, data, ..
                } => {
                    assert_eq!(*timestamp, data.timestamp);
                    tags.media.push(data.clone());
                }
                _ => {}
            }
        }
        tags
    }

    pub fn statuses(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Status { code, .. } => Some(code.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// Starts a puller; its events are collected by a task. Returns the handle of the
/// puller's run and of the collection.
pub fn spawn_pull(
    config: ClientConfig,
) -> (
    tokio::task::JoinHandle<Result<(), ClientError>>,
    tokio::task::JoinHandle<Pulled>,
) {
    let (puller, mut events) = RtmpPuller::new(config);
    let run = tokio::spawn(puller.start());
    let collect = tokio::spawn(async move {
        let mut pulled = Pulled::default();
        while let Some(event) = events.recv().await {
            pulled.events.push(event);
        }
        pulled
    });
    (run, collect)
}

/// Asserts that `got` is `want`, message for message (kind, timestamp, payload).
pub fn assert_same_media(want: &Tags, got: &Tags) {
    assert_eq!(
        got.media.len(),
        want.media.len(),
        "every message arrives ({} of {})",
        got.media.len(),
        want.media.len()
    );
    for (i, (w, g)) in want.media.iter().zip(&got.media).enumerate() {
        assert!(
            w.kind == g.kind && w.timestamp == g.timestamp && w.payload == g.payload,
            "message #{i} differs: want {:?} @{} ({} bytes), got {:?} @{} ({} bytes)",
            w.kind,
            w.timestamp,
            w.payload.len(),
            g.kind,
            g.timestamp,
            g.payload.len()
        );
    }
    assert_eq!(got.metadata, want.metadata, "metadata arrives unchanged");
}

/// A port nothing listens on now (for FFmpeg's listen mode, which needs a fixed port).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A fresh directory for this test's output files.
pub fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rtmp-rs-client-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Retries `attempt` until it succeeds or `timeout` passes (a server still starting).
pub async fn retry<T, F, Fut>(timeout: Duration, mut attempt: F) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// A test CA and a server certificate it signed for `localhost` and `127.0.0.1`, as
/// PEM, also written to files.
pub struct TestCerts {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    pub ca_path: PathBuf,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

pub fn test_certs(dir: &Path) -> TestCerts {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "rtmp-rs test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let certs = TestCerts {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        ca_path: dir.join("ca.pem"),
        cert_path: dir.join("cert.pem"),
        key_path: dir.join("key.pem"),
    };
    std::fs::write(&certs.ca_path, &certs.ca_pem).unwrap();
    std::fs::write(&certs.cert_path, &certs.cert_pem).unwrap();
    std::fs::write(&certs.key_path, &certs.key_pem).unwrap();
    certs
}
