//! The hub: which streams exist, who publishes each, who plays each, and what every
//! player still has to be sent. Plain data with methods — no locks, no I/O, no clock —
//! so each adapter decides how to share it (a mutex, a task, or one mio thread).
//!
//! Per stream it keeps the latest metadata and sequence headers and a GOP cache (the
//! media since the last keyframe). A player joining a live stream receives the
//! metadata, the headers, then the cached GOP, then live media: it starts at once, at
//! a keyframe. Without a cached GOP (a bound was exceeded) it waits for the next
//! keyframe, audio included, so both start together.
//!
//! Per player it keeps a bounded queue of [`Delivery`] items with a drop policy: above
//! half of [`HubConfig::video_drop_bytes`] disposable video frames are dropped; above it,
//! all video is dropped until the next keyframe that arrives with the queue back below
//! the mark; audio, metadata, sequence headers and stream notices are never dropped.
//! A player whose queue passes [`HubConfig::max_queue_bytes`] anyway is evicted.
//!
//! The hub is generic over a waker `W` the adapter gives each player. Methods that
//! enqueue push the wakers of players whose queue was empty into a caller-supplied
//! `Vec`, so the caller wakes them after releasing whatever guards the hub.

mod gop;
mod membership;
mod shared;

use gop::GopCache;
pub use gop::GopLimits;

pub use membership::{Membership, Routed};
pub use shared::SharedMedia;

use crate::media::config::{audio_info, video_info, CodecInfo};
use crate::media::{
    ex_packet_type, AudioTag, EnhancedAudioData, EnhancedVideoData, FrameClass, MediaKind,
    MediaMessage, VideoTag,
};
use bytes::Bytes;
use smallvec::SmallVec;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

/// Bounds on the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubConfig {
    /// Queue size (payload bytes plus a per-item overhead) above which a player's video
    /// is dropped until the next keyframe. Default 2 MiB.
    pub video_drop_bytes: usize,
    /// Queue size at which a player is evicted. Default 6 MiB.
    pub max_queue_bytes: usize,
    /// Most players one stream may have. Default 10 000.
    pub max_players_per_stream: usize,
    /// Most streams (published or awaited) at once. Default 10 000.
    pub max_streams: usize,
    /// Bounds on each stream's GOP cache.
    pub gop: GopLimits,
    /// What a publish on a key that is already being published does.
    pub publish_conflict: PublishConflict,
    /// How long a player's audio may wait for the stream's next video frame, so that
    /// both go out in one write (on streams with video; zero sends each audio message
    /// at once). A player plays audio and video in step, so audio that arrives ahead
    /// of its video plays no sooner: holding it costs no playback latency and saves a
    /// write and a wakeup per audio message and player. Default 50 ms (two frame
    /// intervals at 40 fps; longer video gaps flush audio on their own).
    pub audio_hold: Duration,
}

/// What happens when a publish arrives for a key that already has a publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishConflict {
    /// The new publish is refused.
    Reject,
    /// The new publish takes over; the old publisher is cut off.
    TakeOver,
    /// The new publish takes over if the current publisher has sent no media for this
    /// long (an encoder reconnecting after a network drop while the old connection
    /// is not yet known to be dead); otherwise it is refused.
    TakeOverIfIdle(Duration),
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            video_drop_bytes: 2 << 20,
            max_queue_bytes: 6 << 20,
            max_players_per_stream: 10_000,
            max_streams: 10_000,
            gop: GopLimits::default(),
            publish_conflict: PublishConflict::TakeOverIfIdle(Duration::from_secs(2)),
            audio_hold: Duration::from_millis(50),
        }
    }
}

/// Bytes a queued item is charged beyond its payload (the queue slot and bookkeeping).
const ITEM_OVERHEAD: usize = 64;

/// A stream's routing key: the application and the stream name (without query string).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// Application name.
    pub app: String,
    /// Stream name.
    pub name: String,
}

impl StreamKey {
    /// A key from its parts.
    pub fn new(app: impl Into<String>, name: impl Into<String>) -> Self {
        StreamKey {
            app: app.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.app, self.name)
    }
}

/// Something a player is to be sent, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A publisher started on the stream the player was waiting for.
    PublishStarted,
    /// `onMetaData` (an AMF0 data message payload).
    Metadata(Bytes),
    /// An audio or video message, shared with the other players.
    Media(SharedMedia),
    /// The publisher stopped or was lost.
    PublishStopped,
}

impl Delivery {
    fn cost(&self) -> usize {
        ITEM_OVERHEAD
            + match self {
                Delivery::Metadata(payload) => payload.len(),
                Delivery::Media(message) => message.payload.len(),
                Delivery::PublishStarted | Delivery::PublishStopped => 0,
            }
    }
}

/// Why the hub refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubError {
    /// Another session is publishing on this key.
    AlreadyPublishing(StreamKey),
    /// The stream has as many players as [`HubConfig::max_players_per_stream`] allows.
    TooManyPlayers(StreamKey),
    /// There are as many streams as [`HubConfig::max_streams`] allows.
    TooManyStreams,
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HubError::AlreadyPublishing(key) => {
                write!(f, "stream {key} is already being published")
            }
            HubError::TooManyPlayers(key) => write!(f, "stream {key} has reached its player limit"),
            HubError::TooManyStreams => f.write_str("the server has reached its stream limit"),
        }
    }
}

impl std::error::Error for HubError {}

/// A publisher's right to feed one stream; stale once that publish has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublishHandle {
    stream: u64,
    publish: u64,
}

/// One player's subscription to one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlayerId(u64);

/// What [`Hub::drain`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainStatus {
    /// The player is subscribed; more may come.
    Open,
    /// The player fell too far behind and was removed; close it.
    Evicted,
    /// No such player (already unsubscribed).
    Unknown,
}

/// A snapshot of one stream, for stats and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// The stream's key.
    pub key: StreamKey,
    /// Whether a publisher is live on it.
    pub publishing: bool,
    /// Number of players.
    pub players: usize,
    /// Media messages received from publishers.
    pub media_messages: u64,
    /// Media payload bytes received from publishers.
    pub bytes_in: u64,
    /// Video messages received.
    pub video_frames: u64,
    /// Audio messages received.
    pub audio_frames: u64,
    /// Average bitrate of the current publish, bits per second (0 when not publishing).
    pub bitrate_bps: u64,
    /// What the video sequence header of track 0 says (codec, profile, resolution).
    pub video: Option<CodecInfo>,
    /// What the audio sequence header of track 0 says (codec, sample rate, channels).
    pub audio: Option<CodecInfo>,
    /// Media messages dropped for slow players, in total.
    pub dropped_messages: u64,
}

#[derive(Debug)]
struct Stream {
    key: StreamKey,
    /// The current publish id, if live.
    publisher: Option<u64>,
    metadata: Option<Bytes>,
    /// Decoder configuration per (kind, track, packet type), in arrival order:
    /// sequence headers, multichannel configurations, colorInfo metadata.
    headers: SmallVec<[(HeaderKey, SharedMedia); 4]>,
    gop: GopCache,
    /// Whether coded frames have flowed since the publish began: players who join
    /// after that must start at a keyframe.
    mid_stream: bool,
    has_video: bool,
    players: Vec<PlayerId>,
    /// When the current publisher last sent media.
    last_media: Option<Instant>,
    /// The last timestamp players were sent: a new publisher continues from it, so
    /// timestamps never go backwards for a player who stays.
    timeline_end: Option<u32>,
    /// What is added to the current publisher's timestamps (set by its first message).
    offset: Option<u32>,
    /// When the current publish started, and the bytes it has sent.
    publish_started: Option<Instant>,
    publish_bytes: u64,
    media_messages: u64,
    bytes_in: u64,
    video_frames: u64,
    audio_frames: u64,
    dropped_messages: u64,
}

#[derive(Debug)]
struct Player<W> {
    stream: u64,
    waker: W,
    queue: VecDeque<Delivery>,
    queued_bytes: usize,
    /// The player's connection was woken (or told) to drain since its last drain.
    signalled: bool,
    /// When the oldest audio still held back for the next video frame was queued.
    held_since: Option<Instant>,
    /// Joined mid-stream: video, and audio on streams with video, wait for a keyframe.
    awaiting_start: bool,
    /// Video tracks this player has been sent a keyframe of: other tracks' (and, after
    /// a drop, all tracks') inter frames wait for their next keyframe.
    started: SmallVec<[u8; 2]>,
    /// Paused by the player: nothing is queued.
    paused: bool,
    /// `receiveAudio` / `receiveVideo`.
    receive_audio: bool,
    receive_video: bool,
    evicted: bool,
}

impl<W: Clone> Player<W> {
    /// Queues what a player needs to start mid-stream: metadata, sequence headers,
    /// then the cached GOP (or, without one, a wait for the next keyframe).
    fn catch_up(&mut self, stream: &Stream) {
        self.awaiting_start = stream.mid_stream && stream.gop.is_empty();
        self.started.clear();
        let mut no_wake = Vec::new();
        if let Some(metadata) = &stream.metadata {
            enqueue(self, Delivery::Metadata(metadata.clone()), &mut no_wake);
        }
        for (_, header) in &stream.headers {
            enqueue(self, Delivery::Media(header.clone()), &mut no_wake);
        }
        for frame in stream.gop.frames() {
            // Each video track of the GOP starts at its own keyframe.
            let startable = match frame.class {
                FrameClass::Keyframe => {
                    self.start_tracks(frame);
                    true
                }
                FrameClass::InterFrame | FrameClass::DisposableFrame => self.all_started(frame),
                _ => true,
            };
            if startable && self.wants(frame.kind) {
                enqueue(self, Delivery::Media(frame.clone()), &mut no_wake);
            }
        }
    }

    /// Whether an audio message queued at `now` may wait for the next video frame (for
    /// a player that takes video): the connection is not woken yet and the oldest held
    /// audio is younger than `hold`.
    fn hold_audio(&mut self, now: Instant, hold: Duration) -> bool {
        if self.signalled {
            return false;
        }
        let since = *self.held_since.get_or_insert(now);
        now.saturating_duration_since(since) < hold
    }

    fn start_tracks(&mut self, keyframe: &SharedMedia) {
        for &(track, _) in keyframe.tracks() {
            if !self.started.contains(&track) {
                self.started.push(track);
            }
        }
    }

    fn all_started(&self, frame: &SharedMedia) -> bool {
        frame
            .tracks()
            .iter()
            .all(|(track, _)| self.started.contains(track))
    }

    fn wants(&self, kind: MediaKind) -> bool {
        !self.paused
            && match kind {
                MediaKind::Audio => self.receive_audio,
                MediaKind::Video => self.receive_video,
            }
    }
}

/// The stream registry and player queues. See the module docs.
#[derive(Debug)]
pub struct Hub<W> {
    config: HubConfig,
    streams: HashMap<u64, Stream>,
    by_key: HashMap<StreamKey, u64>,
    players: HashMap<PlayerId, Player<W>>,
    next_id: u64,
}

impl<W: Clone> Hub<W> {
    /// An empty hub.
    pub fn new(config: HubConfig) -> Self {
        Hub {
            config,
            streams: HashMap::new(),
            by_key: HashMap::new(),
            players: HashMap::new(),
            next_id: 1,
        }
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The stream for `key`, created (without a publisher) if absent.
    fn stream_for(&mut self, key: &StreamKey) -> Result<u64, HubError> {
        if let Some(&id) = self.by_key.get(key) {
            return Ok(id);
        }
        if self.streams.len() >= self.config.max_streams {
            return Err(HubError::TooManyStreams);
        }
        let id = self.next_id();
        self.by_key.insert(key.clone(), id);
        self.streams.insert(
            id,
            Stream {
                key: key.clone(),
                publisher: None,
                metadata: None,
                headers: SmallVec::new(),
                gop: GopCache::default(),
                mid_stream: false,
                has_video: false,
                players: Vec::new(),
                last_media: None,
                timeline_end: None,
                offset: None,
                publish_started: None,
                publish_bytes: 0,
                media_messages: 0,
                bytes_in: 0,
                video_frames: 0,
                audio_frames: 0,
                dropped_messages: 0,
            },
        );
        Ok(id)
    }

    fn remove_if_unused(&mut self, stream: u64) {
        if let Some(s) = self.streams.get(&stream) {
            if s.publisher.is_none() && s.players.is_empty() {
                self.by_key.remove(&s.key);
                self.streams.remove(&stream);
            }
        }
    }

    /// Starts a publish on `key` at `now`. Players already waiting are told and will
    /// receive everything from the first message on. If the key has a publisher,
    /// [`HubConfig::publish_conflict`] decides; a publisher taken over finds its handle
    /// stale (see [`Hub::publish_media`]) while its players carry on seamlessly.
    pub fn start_publish(
        &mut self,
        key: &StreamKey,
        now: Instant,
        wake: &mut Vec<W>,
    ) -> Result<PublishHandle, HubError> {
        let stream_id = self.stream_for(key)?;
        let publish = self.next_id();
        let conflict = self.config.publish_conflict;
        let stream = self
            .streams
            .get_mut(&stream_id)
            .expect("stream_for returns live ids");
        if stream.publisher.is_some() {
            let idle = stream
                .last_media
                .map_or(Duration::MAX, |t| now.saturating_duration_since(t));
            let take_over = match conflict {
                PublishConflict::Reject => false,
                PublishConflict::TakeOver => true,
                PublishConflict::TakeOverIfIdle(after) => idle >= after,
            };
            if !take_over {
                return Err(HubError::AlreadyPublishing(key.clone()));
            }
            tracing::info!(stream = %key, "publish taken over by a new publisher");
            stream.reset_publish();
        } else {
            for id in &stream.players {
                if let Some(player) = self.players.get_mut(id) {
                    player.awaiting_start = false;
                    player.started.clear();
                    enqueue(player, Delivery::PublishStarted, wake);
                }
            }
        }
        stream.publisher = Some(publish);
        stream.last_media = Some(now);
        stream.publish_started = Some(now);
        stream.publish_bytes = 0;
        Ok(PublishHandle {
            stream: stream_id,
            publish,
        })
    }

    /// Ends a publish: its players are told at once and stay subscribed, waiting for
    /// the next publisher. Stale handles are ignored.
    pub fn stop_publish(&mut self, handle: PublishHandle, wake: &mut Vec<W>) {
        let Some(stream) = live_stream(&mut self.streams, handle) else {
            return;
        };
        stream.publisher = None;
        stream.reset_publish();
        for id in &stream.players {
            if let Some(player) = self.players.get_mut(id) {
                player.awaiting_start = false;
                player.started.clear();
                enqueue(player, Delivery::PublishStopped, wake);
            }
        }
        self.remove_if_unused(handle.stream);
    }

    /// Whether `handle` is still the live publisher of its stream.
    pub fn is_live(&self, handle: PublishHandle) -> bool {
        self.streams
            .get(&handle.stream)
            .is_some_and(|s| s.publisher == Some(handle.publish))
    }

    /// Replaces the stream's metadata and sends it to every player.
    pub fn publish_metadata(&mut self, handle: PublishHandle, payload: Bytes, wake: &mut Vec<W>) {
        let Some(stream) = live_stream(&mut self.streams, handle) else {
            return;
        };
        stream.metadata = Some(payload.clone());
        for id in &stream.players {
            if let Some(player) = self.players.get_mut(id) {
                enqueue(player, Delivery::Metadata(payload.clone()), wake);
            }
        }
    }

    /// Sends a media message to every player of the stream, applying each player's drop
    /// policy. Returns false if `handle` is stale (the publish has ended).
    pub fn publish_media(
        &mut self,
        handle: PublishHandle,
        mut message: MediaMessage,
        now: Instant,
        wake: &mut Vec<W>,
    ) -> bool {
        let config = self.config;
        let Some(stream) = live_stream(&mut self.streams, handle) else {
            return false;
        };
        stream.media_messages += 1;
        stream.last_media = Some(now);
        let size = message.payload.len() as u64;
        stream.bytes_in += size;
        stream.publish_bytes += size;
        match message.kind {
            MediaKind::Video => stream.video_frames += 1,
            MediaKind::Audio => stream.audio_frames += 1,
        }
        let first = message.timestamp;
        let offset = *stream
            .offset
            .get_or_insert_with(|| stream.timeline_end.map_or(0, |end| end.wrapping_sub(first)));
        message.timestamp = message.timestamp.wrapping_add(offset);
        stream.timeline_end = Some(message.timestamp);
        let message = SharedMedia::from(message);
        let packet_type = ex_packet_type(message.kind, &message.payload);
        let is_color_info = message.kind == MediaKind::Video && packet_type == Some(VIDEO_METADATA);
        match message.class {
            FrameClass::SequenceHeader => stream.keep_header(&message, packet_type),
            FrameClass::Other if is_color_info => stream.keep_header(&message, packet_type),
            FrameClass::Keyframe
            | FrameClass::InterFrame
            | FrameClass::DisposableFrame
            | FrameClass::AudioFrame => stream.mid_stream = true,
            FrameClass::Other => {}
        }
        if message.kind == MediaKind::Video {
            stream.has_video = true;
        }
        stream.gop.push(&message, &config.gop);
        let has_video = stream.has_video;
        let hold =
            message.class == FrameClass::AudioFrame && has_video && !config.audio_hold.is_zero();
        for id in &stream.players {
            let Some(player) = self.players.get_mut(id) else {
                continue;
            };
            if player.evicted || !player.wants(message.kind) {
                continue;
            }
            if admit(player, &message, has_video, &config) {
                if hold
                    && player.wants(MediaKind::Video)
                    && player.hold_audio(now, config.audio_hold)
                {
                    push(player, Delivery::Media(message.clone()));
                } else {
                    enqueue(player, Delivery::Media(message.clone()), wake);
                }
                if player.queued_bytes > config.max_queue_bytes {
                    player.evicted = true;
                    player.queue.clear();
                    player.queued_bytes = 0;
                    wake.push(player.waker.clone());
                }
            } else {
                stream.dropped_messages += 1;
            }
        }
        true
    }

    /// Adds a player to the stream `key`. If the stream is live, the player's queue
    /// starts with the metadata and sequence headers; drain it after subscribing.
    pub fn subscribe(&mut self, key: &StreamKey, waker: W) -> Result<PlayerId, HubError> {
        let stream_id = self.stream_for(key)?;
        let id = PlayerId(self.next_id());
        let stream = self
            .streams
            .get_mut(&stream_id)
            .expect("stream_for returns live ids");
        if stream.players.len() >= self.config.max_players_per_stream {
            self.remove_if_unused(stream_id);
            return Err(HubError::TooManyPlayers(key.clone()));
        }
        stream.players.push(id);
        let mut player = Player {
            stream: stream_id,
            waker,
            queue: VecDeque::new(),
            queued_bytes: 0,
            signalled: false,
            held_since: None,
            awaiting_start: false,
            started: SmallVec::new(),
            paused: false,
            receive_audio: true,
            receive_video: true,
            evicted: false,
        };
        player.catch_up(stream);
        self.players.insert(id, player);
        Ok(id)
    }

    /// Pauses or resumes a player. A paused player is sent nothing (what was queued
    /// is dropped); on resume it catches up like a new player — headers resent, then
    /// the cached GOP from its keyframe — and is woken.
    pub fn set_paused(&mut self, id: PlayerId, paused: bool, wake: &mut Vec<W>) {
        let Some(player) = self.players.get_mut(&id) else {
            return;
        };
        if player.paused == paused {
            return;
        }
        player.paused = paused;
        player.queue.clear();
        player.queued_bytes = 0;
        if !paused {
            if let Some(stream) = self.streams.get(&player.stream) {
                player.catch_up(stream);
            }
            wake.push(player.waker.clone());
        }
    }

    /// Applies a player's `receiveAudio` / `receiveVideo`. Video switched back on
    /// resumes at the next keyframe.
    pub fn set_receive(&mut self, id: PlayerId, audio: Option<bool>, video: Option<bool>) {
        let Some(player) = self.players.get_mut(&id) else {
            return;
        };
        if let Some(audio) = audio {
            player.receive_audio = audio;
        }
        if let Some(video) = video {
            if video && !player.receive_video {
                player.started.clear();
            }
            player.receive_video = video;
        }
    }

    /// Removes a player.
    pub fn unsubscribe(&mut self, id: PlayerId) {
        if let Some(player) = self.players.remove(&id) {
            if let Some(stream) = self.streams.get_mut(&player.stream) {
                stream.players.retain(|p| *p != id);
            }
            self.remove_if_unused(player.stream);
        }
    }

    /// Moves everything queued for `id` into `out`. An evicted player is removed.
    pub fn drain(&mut self, id: PlayerId, out: &mut Vec<Delivery>) -> DrainStatus {
        let Some(player) = self.players.get_mut(&id) else {
            return DrainStatus::Unknown;
        };
        if player.evicted {
            self.unsubscribe(id);
            return DrainStatus::Evicted;
        }
        out.extend(player.queue.drain(..));
        player.queued_bytes = 0;
        player.signalled = false;
        player.held_since = None;
        DrainStatus::Open
    }

    /// Snapshots of every stream.
    pub fn streams(&self) -> Vec<StreamInfo> {
        self.streams
            .values()
            .map(|s| StreamInfo {
                key: s.key.clone(),
                publishing: s.publisher.is_some(),
                players: s.players.len(),
                media_messages: s.media_messages,
                bytes_in: s.bytes_in,
                video_frames: s.video_frames,
                audio_frames: s.audio_frames,
                bitrate_bps: s.bitrate_bps(),
                video: s.codec_info(MediaKind::Video),
                audio: s.codec_info(MediaKind::Audio),
                dropped_messages: s.dropped_messages,
            })
            .collect()
    }
}

/// Most decoder configuration messages kept per stream (tracks × header kinds).
const MAX_HEADERS: usize = 32;

/// Which decoder configuration a message is: kind, track, E-RTMP packet type (0 legacy).
type HeaderKey = (MediaKind, u8, u8);

/// The video packet type of E-RTMP metadata (colorInfo).
const VIDEO_METADATA: u8 = 4;

impl Stream {
    /// Keeps a decoder configuration message for late joiners, replacing the previous
    /// one of the same kind, track and type.
    fn keep_header(&mut self, message: &SharedMedia, packet_type: Option<u8>) {
        let track = message.tracks().first().map_or(0, |(track, _)| *track);
        let key = (message.kind, track, packet_type.unwrap_or(0));
        if let Some(entry) = self.headers.iter_mut().find(|(k, _)| *k == key) {
            entry.1 = message.clone();
        } else if self.headers.len() < MAX_HEADERS {
            self.headers.push((key, message.clone()));
        }
    }

    /// What track 0's sequence header of `kind` says, if there is one.
    fn codec_info(&self, kind: MediaKind) -> Option<CodecInfo> {
        let (_, header) = self
            .headers
            .iter()
            .find(|((k, track, packet_type), _)| *k == kind && *track == 0 && *packet_type == 0)?;
        match kind {
            MediaKind::Video => VideoTag::parse(&header.payload)
                .ok()?
                .tracks()
                .find_map(|view| match view {
                    EnhancedVideoData::SequenceHeader { codec, config, .. } => {
                        Some(video_info(codec, &config))
                    }
                    _ => None,
                }),
            MediaKind::Audio => AudioTag::parse(&header.payload)
                .ok()?
                .tracks()
                .find_map(|view| match view {
                    EnhancedAudioData::SequenceHeader { codec, config, .. } => {
                        Some(audio_info(codec, &config))
                    }
                    _ => None,
                }),
        }
    }

    /// Average bitrate of the current publish, from its start to its latest media.
    fn bitrate_bps(&self) -> u64 {
        match (self.publisher, self.publish_started, self.last_media) {
            (Some(_), Some(start), Some(last)) => {
                let millis = last.saturating_duration_since(start).as_millis().max(1) as u64;
                self.publish_bytes.saturating_mul(8000) / millis
            }
            _ => 0,
        }
    }

    /// Forgets what the last publisher sent (its headers, GOP and timestamp offset).
    fn reset_publish(&mut self) {
        self.metadata = None;
        self.headers.clear();
        self.gop.clear();
        self.mid_stream = false;
        self.has_video = false;
        self.offset = None;
    }
}

/// The stream `handle` publishes to, if that publish is still live.
fn live_stream(streams: &mut HashMap<u64, Stream>, handle: PublishHandle) -> Option<&mut Stream> {
    streams
        .get_mut(&handle.stream)
        .filter(|s| s.publisher == Some(handle.publish))
}

/// Decides whether `player` gets `message` now, updating its keyframe gates.
fn admit<W: Clone>(
    player: &mut Player<W>,
    message: &SharedMedia,
    has_video: bool,
    config: &HubConfig,
) -> bool {
    match message.class {
        FrameClass::SequenceHeader | FrameClass::Other => true,
        FrameClass::AudioFrame => !(player.awaiting_start && has_video),
        FrameClass::Keyframe => {
            if player.queued_bytes > config.video_drop_bytes {
                player.started.clear();
                return false;
            }
            player.awaiting_start = false;
            player.start_tracks(message);
            true
        }
        FrameClass::InterFrame | FrameClass::DisposableFrame => {
            let limit = if message.class == FrameClass::DisposableFrame {
                config.video_drop_bytes / 2
            } else {
                config.video_drop_bytes
            };
            if player.awaiting_start || !player.all_started(message) {
                false
            } else if player.queued_bytes > limit {
                // A lost inter frame breaks the rest of its GOP: skip to the next keyframe.
                if message.class == FrameClass::InterFrame {
                    player.started.clear();
                }
                false
            } else {
                true
            }
        }
    }
}

/// Queues `delivery` for `player` and wakes its connection, unless it was woken since
/// its last drain.
fn enqueue<W: Clone>(player: &mut Player<W>, delivery: Delivery, wake: &mut Vec<W>) {
    push(player, delivery);
    if !player.signalled {
        player.signalled = true;
        wake.push(player.waker.clone());
    }
}

/// Queues `delivery` for `player` without waking its connection.
fn push<W>(player: &mut Player<W>, delivery: Delivery) {
    player.queued_bytes += delivery.cost();
    player.queue.push_back(delivery);
}

#[cfg(test)]
mod tests;
