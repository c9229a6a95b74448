//! FLV files and clients: [`publish_flv`] sends a file through an [`RtmpPublisher`] at
//! the pace of its timestamps (like `ffmpeg -re`), [`FlvRecorder`] writes what a
//! puller receives, and [`record`] plays a stream into a file.

use super::{ClientConfig, ClientError, ClientEvent, RtmpPublisher, RtmpPuller};
use bytes::Bytes;
use rtmp_proto::flv::{FlvReader, FlvTag, FlvWriter, TAG_AUDIO, TAG_SCRIPT, TAG_VIDEO};
use rtmp_proto::media::{MediaKind, MediaMessage};
use std::io;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::time::Instant;

/// How [`publish_flv`] paces the tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Each tag goes out when the wall clock since the first tag reaches its timestamp
    /// (`ffmpeg -re`): a file plays out as a live stream.
    RealTime,
    /// As fast as the connection takes them.
    Unpaced,
}

/// What [`publish_flv`] sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlvSummary {
    /// Tags sent (metadata, audio and video).
    pub tags: u64,
    /// Tag body bytes sent.
    pub bytes: u64,
    /// Span of the media timestamps sent.
    pub duration: Duration,
}

/// Bytes read from a file at a time.
const READ_CHUNK: usize = 64 * 1024;

/// Sends every metadata, audio and video tag of an FLV stream through `publisher`,
/// paced by `pace`. Other tags are skipped. Returns at the end of the input (the
/// publisher stays open: [`RtmpPublisher::close`] it).
pub async fn publish_flv<R: AsyncRead + Unpin>(
    publisher: &RtmpPublisher,
    mut input: R,
    pace: Pace,
) -> Result<FlvSummary, ClientError> {
    let mut reader = FlvReader::new();
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut clock = Clock::default();
    let mut summary = FlvSummary::default();
    let mut span: Option<(u32, u32)> = None;
    loop {
        let Some(tag) = reader.next_tag()? else {
            // Only read when no complete tag is buffered: the reader holds one tag at most.
            let n = input.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            reader.push(&chunk[..n]);
            continue;
        };
        if !matches!(tag.tag_type, TAG_SCRIPT | TAG_AUDIO | TAG_VIDEO) {
            continue;
        }
        if pace == Pace::RealTime {
            clock.wait_for(tag.timestamp).await;
        }
        summary.tags += 1;
        summary.bytes += tag.data.len() as u64;
        if tag.tag_type != TAG_SCRIPT {
            let (first, last) = span.get_or_insert((tag.timestamp, tag.timestamp));
            *first = (*first).min(tag.timestamp);
            *last = (*last).max(tag.timestamp);
        }
        send_tag(publisher, tag).await?;
    }
    if let Some((first, last)) = span {
        summary.duration = Duration::from_millis(u64::from(last - first));
    }
    Ok(summary)
}

/// [`publish_flv`] from a file.
pub async fn publish_flv_file(
    publisher: &RtmpPublisher,
    path: impl AsRef<Path>,
    pace: Pace,
) -> Result<FlvSummary, ClientError> {
    let file = tokio::fs::File::open(path.as_ref()).await?;
    publish_flv(publisher, file, pace).await
}

async fn send_tag(publisher: &RtmpPublisher, tag: FlvTag) -> Result<(), ClientError> {
    match tag.tag_type {
        TAG_SCRIPT if is_metadata(&tag.data) => publisher.send_metadata(tag.data).await,
        TAG_AUDIO => {
            let message = MediaMessage::new(MediaKind::Audio, tag.timestamp, tag.data);
            publisher.send_media(message).await
        }
        TAG_VIDEO => {
            let message = MediaMessage::new(MediaKind::Video, tag.timestamp, tag.data);
            publisher.send_media(message).await
        }
        _ => Ok(()),
    }
}

/// Whether a script tag body is `onMetaData` (the only script data players expect).
fn is_metadata(body: &[u8]) -> bool {
    body.starts_with(b"\x02\x00\x0AonMetaData")
}

/// Maps tag timestamps to wall-clock instants from the first tag on.
#[derive(Debug, Default)]
struct Clock {
    /// The first timestamp and when it went out.
    origin: Option<(u32, Instant)>,
}

impl Clock {
    /// Sleeps until `timestamp` is due. A timestamp before the origin (a rewind or a
    /// wrap) becomes the new origin, so it never stalls the stream.
    async fn wait_for(&mut self, timestamp: u32) {
        let now = Instant::now();
        let (first, start) = *self.origin.get_or_insert((timestamp, now));
        if timestamp < first {
            self.origin = Some((timestamp, now));
            return;
        }
        let due = start + Duration::from_millis(u64::from(timestamp - first));
        tokio::time::sleep_until(due).await;
    }
}

/// Writes FLV: the header first, then a tag per metadata, audio or video message,
/// timestamps as received.
#[derive(Debug)]
pub struct FlvRecorder<W> {
    writer: W,
    header_written: bool,
    tags: u64,
}

impl FlvRecorder<BufWriter<tokio::fs::File>> {
    /// A recorder writing a new file at `path` (replacing any).
    pub async fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        let file = tokio::fs::File::create(path).await?;
        Ok(FlvRecorder::new(BufWriter::new(file)))
    }
}

impl<W: AsyncWrite + Unpin> FlvRecorder<W> {
    /// A recorder writing to `writer`.
    pub fn new(writer: W) -> Self {
        FlvRecorder {
            writer,
            header_written: false,
            tags: 0,
        }
    }

    /// Tags written so far.
    pub fn tags(&self) -> u64 {
        self.tags
    }

    /// Writes the event if it is metadata, audio or video; whether it was.
    pub async fn write_event(&mut self, event: &ClientEvent) -> io::Result<bool> {
        if let ClientEvent::Metadata { payload } = event {
            self.write_metadata(payload.clone()).await?;
        } else if let Some(media) = event.media() {
            self.write_media(media).await?;
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// Writes an `onMetaData` payload as a script tag at time 0.
    pub async fn write_metadata(&mut self, payload: Bytes) -> io::Result<()> {
        self.write_tag(FlvTag {
            tag_type: TAG_SCRIPT,
            timestamp: 0,
            data: payload,
        })
        .await
    }

    /// Writes an audio or video message as a tag.
    pub async fn write_media(&mut self, message: &MediaMessage) -> io::Result<()> {
        let tag_type = match message.kind {
            MediaKind::Audio => TAG_AUDIO,
            MediaKind::Video => TAG_VIDEO,
        };
        self.write_tag(FlvTag {
            tag_type,
            timestamp: message.timestamp,
            data: message.payload.clone(),
        })
        .await
    }

    async fn write_tag(&mut self, tag: FlvTag) -> io::Result<()> {
        if !self.header_written {
            self.writer
                .write_all(&FlvWriter::header(true, true))
                .await?;
            self.header_written = true;
        }
        self.writer.write_all(&FlvWriter::tag(&tag)).await?;
        self.tags += 1;
        Ok(())
    }

    /// Flushes and returns the writer. A recorder that got nothing still writes the
    /// header, so the file is a valid, empty FLV.
    pub async fn finish(mut self) -> io::Result<W> {
        if !self.header_written {
            self.writer
                .write_all(&FlvWriter::header(true, true))
                .await?;
        }
        self.writer.flush().await?;
        Ok(self.writer)
    }
}

/// Plays `config.url` into a new FLV file at `path` until the stream ends; the number
/// of tags written.
pub async fn record(config: ClientConfig, path: impl AsRef<Path>) -> Result<u64, ClientError> {
    let mut recorder = FlvRecorder::create(path).await?;
    let (puller, mut events) = RtmpPuller::new(config);
    let pull = tokio::spawn(puller.start());
    while let Some(event) = events.recv().await {
        if let Err(e) = recorder.write_event(&event).await {
            drop(events);
            let _ = pull.await;
            return Err(e.into());
        }
        if event == ClientEvent::Disconnected {
            break;
        }
    }
    let tags = recorder.tags();
    recorder.finish().await?;
    match pull.await {
        Ok(result) => result.map(|()| tags),
        Err(e) => Err(io::Error::other(e).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_clock_paces_by_timestamps_and_survives_rewinds() {
        let mut clock = Clock::default();
        let start = Instant::now();
        clock.wait_for(1000).await;
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "the first tag goes at once"
        );
        clock.wait_for(1500).await;
        assert_eq!(start.elapsed(), Duration::from_millis(500));
        clock.wait_for(10).await;
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(500),
            "a rewind restarts"
        );
        clock.wait_for(110).await;
        assert_eq!(start.elapsed(), Duration::from_millis(600));
    }

    #[tokio::test]
    async fn recorded_events_read_back_as_tags() {
        let mut recorder = FlvRecorder::new(Vec::new());
        let video = MediaMessage::new(
            MediaKind::Video,
            40,
            Bytes::from_static(&[0x17, 1, 0, 0, 0, 9]),
        );
        let events = [
            ClientEvent::Connected,
            ClientEvent::Metadata {
                payload: Bytes::from_static(b"\x02\x00\x0AonMetaData\x05"),
            },
            ClientEvent::VideoFrame {
                timestamp: 40,
                data: video,
            },
        ];
        for event in &events {
            recorder.write_event(event).await.unwrap();
        }
        assert_eq!(recorder.tags(), 2);
        let bytes = recorder.finish().await.unwrap();
        let mut reader = FlvReader::new();
        reader.push(&bytes);
        let script = reader.next_tag().unwrap().unwrap();
        assert_eq!((script.tag_type, script.timestamp), (TAG_SCRIPT, 0));
        let video = reader.next_tag().unwrap().unwrap();
        assert_eq!((video.tag_type, video.timestamp), (TAG_VIDEO, 40));
        assert_eq!(&video.data[..], &[0x17, 1, 0, 0, 0, 9]);
        assert_eq!(reader.next_tag().unwrap(), None);
    }
}
