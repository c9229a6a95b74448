//! [`RtmpPublisher`]: connects, publishes, and sends metadata and media from your code
//! through a bounded channel to a task that owns the connection.

use super::connection::{lifecycle, parse_url, sleep_until, ClientConnection, Lifecycle, Turn};
use super::{ClientConfig, ClientError};
use bytes::Bytes;
use rtmp_proto::media::{MediaKind, MediaMessage};
use rtmp_proto::url::RtmpUrl;
use rtmp_proto::ClientIntent;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A message on its way to the connection task.
#[derive(Debug)]
enum Outgoing {
    Metadata(Bytes),
    Media(MediaMessage),
}

/// What the task shares with the handle.
#[derive(Debug, Default)]
struct State {
    /// Why the task stopped, once it has failed.
    failure: Mutex<Option<ClientError>>,
    /// The message stream id of the current publish.
    stream_id: AtomicU32,
}

/// Publishes one stream. [`RtmpPublisher::connect`] returns once the server has
/// started the publish; then send metadata and media. Sends wait while the connection
/// is behind (more than [`ClientConfig::max_buffered`] bytes unwritten and a full
/// channel), so a publisher never outruns its network. [`RtmpPublisher::close`] ends
/// the publish politely; dropping the publisher does the same in the background.
#[derive(Debug)]
pub struct RtmpPublisher {
    sender: mpsc::Sender<Outgoing>,
    task: JoinHandle<Result<(), ClientError>>,
    state: Arc<State>,
}

impl RtmpPublisher {
    /// Connects to `config.url` and publishes its stream (type `live`), retrying
    /// under the reconnect policy if one is set.
    pub async fn connect(config: ClientConfig) -> Result<RtmpPublisher, ClientError> {
        let url = parse_url(&config.url)?;
        let state = Arc::new(State::default());
        let mut failures = 0;
        let mut task = Task {
            connection: establish(&url, &config, &mut failures).await?,
            url,
            config,
            headers: Headers::default(),
            state: state.clone(),
            failures,
        };
        task.note_stream_id();
        let (sender, receiver) = mpsc::channel(task.config.channel_capacity.max(1));
        let task = tokio::spawn(task.run(receiver));
        Ok(RtmpPublisher {
            sender,
            task,
            state,
        })
    }

    /// The message stream id the server gave this publish.
    pub fn stream_id(&self) -> u32 {
        self.state.stream_id.load(Ordering::Relaxed)
    }

    /// Sends `onMetaData` (an AMF0 payload starting with the string `onMetaData`, as a
    /// puller's [`ClientEvent::Metadata`](super::ClientEvent::Metadata) or an FLV script
    /// tag carries it); it goes out as `@setDataFrame`.
    pub async fn send_metadata(&self, payload: Bytes) -> Result<(), ClientError> {
        self.send(Outgoing::Metadata(payload)).await
    }

    /// Sends an audio or video message (legacy or Enhanced RTMP FLV tag body).
    pub async fn send_media(&self, message: MediaMessage) -> Result<(), ClientError> {
        self.send(Outgoing::Media(message)).await
    }

    /// Sends a video tag body with its timestamp.
    pub async fn send_video(&self, timestamp: u32, payload: Bytes) -> Result<(), ClientError> {
        self.send_media(MediaMessage::new(MediaKind::Video, timestamp, payload))
            .await
    }

    /// Sends an audio tag body with its timestamp.
    pub async fn send_audio(&self, timestamp: u32, payload: Bytes) -> Result<(), ClientError> {
        self.send_media(MediaMessage::new(MediaKind::Audio, timestamp, payload))
            .await
    }

    async fn send(&self, message: Outgoing) -> Result<(), ClientError> {
        if self.sender.send(message).await.is_ok() {
            return Ok(());
        }
        let failure = self.state.failure.lock().unwrap_or_else(|p| p.into_inner());
        Err(failure.clone().unwrap_or(ClientError::Closed))
    }

    /// Sends what is queued, ends the publish (`FCUnpublish`, `deleteStream`) and
    /// closes the connection; the error that stopped the publisher, if one did.
    pub async fn close(self) -> Result<(), ClientError> {
        drop(self.sender);
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e).into()),
        }
    }
}

/// The last metadata and sequence headers, sent again after a reconnect so the
/// server can hand them to players.
#[derive(Debug, Default)]
struct Headers {
    metadata: Option<Bytes>,
    audio: Option<MediaMessage>,
    video: Option<MediaMessage>,
}

impl Headers {
    fn note(&mut self, message: &Outgoing) {
        match message {
            Outgoing::Metadata(payload) => self.metadata = Some(payload.clone()),
            Outgoing::Media(m) if m.is_sequence_header() => match m.kind {
                MediaKind::Audio => self.audio = Some(m.clone()),
                MediaKind::Video => self.video = Some(m.clone()),
            },
            Outgoing::Media(_) => {}
        }
    }
}

/// The connection task.
struct Task {
    connection: ClientConnection,
    url: RtmpUrl,
    config: ClientConfig,
    headers: Headers,
    state: Arc<State>,
    /// Connection tries failed in a row.
    failures: u32,
}

impl Task {
    async fn run(mut self, mut receiver: mpsc::Receiver<Outgoing>) -> Result<(), ClientError> {
        let result = self.serve(&mut receiver).await;
        if let Err(e) = &result {
            tracing::info!(url = %self.url, error = %e, "publish failed");
            *self.state.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
        }
        result
    }

    /// Publishes until the handle is gone (then closes politely) or a failure the
    /// reconnect policy does not cover.
    async fn serve(&mut self, receiver: &mut mpsc::Receiver<Outgoing>) -> Result<(), ClientError> {
        loop {
            let error = match self.publish(receiver).await {
                Ok(()) => return Ok(()),
                Err(error) => error,
            };
            let Some(policy) = self.config.reconnect else {
                return Err(error);
            };
            if error.is_permanent() {
                return Err(error);
            }
            if self.connection.opened().elapsed() >= policy.max_delay {
                self.failures = 0;
            }
            self.failures += 1;
            if self.failures > policy.max_attempts {
                return Err(error);
            }
            let delay = policy.delay(self.failures);
            tracing::info!(url = %self.url, attempt = self.failures, ?delay, %error, "publish: reconnecting");
            tokio::time::sleep(delay).await;
            self.connection = establish(&self.url, &self.config, &mut self.failures).await?;
            self.note_stream_id();
            self.resend_headers();
        }
    }

    /// Moves messages from the channel to the connection while less than
    /// `max_buffered` waits unwritten.
    async fn publish(
        &mut self,
        receiver: &mut mpsc::Receiver<Outgoing>,
    ) -> Result<(), ClientError> {
        let max_buffered = self.config.max_buffered.max(1);
        loop {
            let accepting = self.connection.session().output().len() < max_buffered;
            let next = async {
                if accepting {
                    receiver.recv().await
                } else {
                    std::future::pending().await
                }
            };
            match self.connection.turn(next).await? {
                Turn::Progress => {}
                Turn::Closed => return Err(ClientError::Closed),
                Turn::Extra(None) => {
                    self.connection.close(&self.config).await;
                    return Ok(());
                }
                Turn::Extra(Some(message)) => {
                    self.send(message);
                    while self.connection.session().output().len() < max_buffered {
                        let Ok(message) = receiver.try_recv() else {
                            break;
                        };
                        self.send(message);
                    }
                }
            }
            while let Some(event) = self.connection.poll_event() {
                match lifecycle(&event) {
                    Lifecycle::Failed(error) => return Err(error),
                    Lifecycle::Redirect(tc_url) if self.config.reconnect.is_some() => {
                        if let Some(Ok(to)) =
                            tc_url.map(|tc_url| RtmpUrl::from_tc_url(&tc_url, &self.url.stream))
                        {
                            self.url = to;
                        }
                        tracing::info!(url = %self.url, "server asked to reconnect");
                        self.connection.close(&self.config).await;
                        return Err(ClientError::Closed);
                    }
                    _ => tracing::debug!(?event, "publisher event"),
                }
            }
        }
    }

    fn send(&mut self, message: Outgoing) {
        self.headers.note(&message);
        let session = self.connection.session();
        match &message {
            Outgoing::Metadata(payload) => session.send_metadata(payload),
            Outgoing::Media(media) => session.send_media(media),
        }
    }

    fn resend_headers(&mut self) {
        let session = self.connection.session();
        if let Some(metadata) = &self.headers.metadata {
            session.send_metadata(metadata);
        }
        for header in [&self.headers.video, &self.headers.audio]
            .into_iter()
            .flatten()
        {
            session.send_media(header);
        }
    }

    fn note_stream_id(&mut self) {
        let id = self.connection.session().stream_id().unwrap_or(0);
        self.state.stream_id.store(id, Ordering::Relaxed);
    }
}

/// Opens a connection and waits for the publish to start, within the connect
/// timeout; with a reconnect policy, tries again with backoff. `failures` counts the
/// tries failed in a row.
async fn establish(
    url: &RtmpUrl,
    config: &ClientConfig,
    failures: &mut u32,
) -> Result<ClientConnection, ClientError> {
    loop {
        let error = match establish_once(url, config).await {
            Ok(connection) => return Ok(connection),
            Err(error) => error,
        };
        let Some(policy) = config.reconnect else {
            return Err(error);
        };
        *failures += 1;
        if error.is_permanent() || *failures > policy.max_attempts {
            return Err(error);
        }
        let delay = policy.delay(*failures);
        tracing::info!(%url, attempt = failures, ?delay, %error, "publish: reconnecting");
        tokio::time::sleep(delay).await;
    }
}

async fn establish_once(
    url: &RtmpUrl,
    config: &ClientConfig,
) -> Result<ClientConnection, ClientError> {
    let intent = ClientIntent::Publish {
        stream: url.stream.clone(),
        publish_type: "live".into(),
    };
    let mut connection = ClientConnection::open(url, config, intent).await?;
    let start_by = tokio::time::Instant::from_std(connection.opened() + config.connect_timeout);
    loop {
        match connection.turn(sleep_until(Some(start_by))).await? {
            Turn::Progress => {}
            Turn::Extra(()) => return Err(ClientError::ConnectTimeout),
            Turn::Closed => return Err(ClientError::Closed),
        }
        while let Some(event) = connection.poll_event() {
            match lifecycle(&event) {
                Lifecycle::Started => {
                    tracing::info!(%url, "publishing");
                    return Ok(connection);
                }
                Lifecycle::Failed(error) => return Err(error),
                _ => tracing::debug!(?event, "publisher event"),
            }
        }
    }
}
