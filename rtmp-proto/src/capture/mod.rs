//! Session capture (feature `capture`): records one connection's bytes, both ways, as a
//! pcapng file that Wireshark and tshark open and decode as RTMP, and that
//! [`crate::replay`] (feature `replay`) plays back through a session deterministically.
//!
//! The bytes are framed as a synthetic TCP connection over Ethernet and IPv4 or IPv6
//! with the real addresses, ports and arrival times: a SYN / SYN-ACK / ACK at the
//! start, sequence and acknowledgement numbers that add up, segments that fit IP's
//! limits, and a FIN exchange at [`SessionCapture::finish`]. The section header's
//! comment records the role, the session id and the handshake's RNG seed
//! ([`CaptureMeta`]), which is what a byte-identical replay needs.
//!
//! Recording never fails a session: the first I/O error is logged and recording
//! stops; a file that reaches [`CaptureConfig::max_file_bytes`] gets a last packet
//! whose comment says so ([`TRUNCATION_COMMENT`]), and recording stops there.

mod frame;
mod pcapng;

use frame::{Framer, Way, ACK, FIN, MAX_SEGMENT, PSH, SYN};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where captures go and how large one file may grow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureConfig {
    /// The directory capture files are created in (it must exist).
    pub dir: PathBuf,
    /// Most bytes one capture file may take; past it recording stops. Default 64 MiB.
    pub max_file_bytes: u64,
}

impl CaptureConfig {
    /// Captures in `dir`, with the default size bound.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CaptureConfig {
            dir: dir.into(),
            ..CaptureConfig::default()
        }
    }
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            dir: PathBuf::from("."),
            max_file_bytes: 64 << 20,
        }
    }
}

/// Which side of the connection the recording process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaptureRole {
    /// A server session recorded it: `local` is the server.
    Server,
    /// A client session recorded it: `local` is the client.
    Client,
}

impl CaptureRole {
    fn as_str(self) -> &'static str {
        match self {
            CaptureRole::Server => "server",
            CaptureRole::Client => "client",
        }
    }
}

/// What a capture file records about its session, in the section header's comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureMeta {
    /// The recording side.
    pub role: CaptureRole,
    /// The adapter's session id.
    pub session_id: u64,
    /// The `rng_seed` the session was created with.
    pub rng_seed: u64,
    /// The recording side's address.
    pub local: SocketAddr,
    /// The peer's address.
    pub peer: SocketAddr,
}

/// The first words of the section header comment of a capture written by this crate.
const META_PREFIX: &str = "rtmp-rs capture v1";

/// The comment of the packet that marks a capture cut at its size bound.
pub const TRUNCATION_COMMENT: &str =
    "rtmp-rs capture truncated: max_file_bytes reached, later traffic not recorded";

impl fmt::Display for CaptureMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{META_PREFIX}; role={}; session={}; seed={:#018x}; local={}; peer={}",
            self.role.as_str(),
            self.session_id,
            self.rng_seed,
            self.local,
            self.peer
        )
    }
}

impl FromStr for CaptureMeta {
    type Err = String;

    /// Parses the comment [`CaptureMeta`]'s `Display` writes.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut fields = text.split("; ");
        if fields.next() != Some(META_PREFIX) {
            return Err(format!("not an rtmp-rs capture comment: {text:?}"));
        }
        let (mut role, mut session_id, mut rng_seed, mut local, mut peer) =
            (None, None, None, None, None);
        for field in fields {
            let (key, value) = field
                .split_once('=')
                .ok_or_else(|| format!("malformed field {field:?}"))?;
            let bad = |what: &str| format!("bad {what} {value:?} in the capture comment");
            match key {
                "role" => {
                    role = Some(match value {
                        "server" => CaptureRole::Server,
                        "client" => CaptureRole::Client,
                        _ => return Err(bad("role")),
                    })
                }
                "session" => session_id = Some(value.parse().map_err(|_| bad("session id"))?),
                "seed" => {
                    let hex = value.strip_prefix("0x").ok_or_else(|| bad("seed"))?;
                    rng_seed = Some(u64::from_str_radix(hex, 16).map_err(|_| bad("seed"))?);
                }
                "local" => local = Some(value.parse().map_err(|_| bad("address"))?),
                "peer" => peer = Some(value.parse().map_err(|_| bad("address"))?),
                _ => {}
            }
        }
        let missing = |what| format!("the capture comment lacks the {what}");
        Ok(CaptureMeta {
            role: role.ok_or_else(|| missing("role"))?,
            session_id: session_id.ok_or_else(|| missing("session id"))?,
            rng_seed: rng_seed.ok_or_else(|| missing("seed"))?,
            local: local.ok_or_else(|| missing("local address"))?,
            peer: peer.ok_or_else(|| missing("peer address"))?,
        })
    }
}

/// Room kept for the truncation marker (a bare segment with its comment).
const MARKER_RESERVE: u64 = 256;

/// Records one session as a pcapng file; see the [module docs](self).
#[derive(Debug)]
pub struct SessionCapture {
    path: PathBuf,
    /// `None` once recording stopped.
    out: Option<BufWriter<File>>,
    framer: Framer,
    written: u64,
    max_file_bytes: u64,
    block: Vec<u8>,
}

impl SessionCapture {
    /// Creates `<dir>/<UTC time>-<role>-<session id>-<peer>.pcapng` (a `-N` suffix
    /// keeps names unique) and records the connection's opening at `at`.
    pub fn create(
        config: &CaptureConfig,
        role: CaptureRole,
        local: SocketAddr,
        peer: SocketAddr,
        session_id: u64,
        rng_seed: u64,
        at: SystemTime,
    ) -> io::Result<Self> {
        let (path, file) = create_unique(&config.dir, &file_stem(role, peer, session_id, at))?;
        let meta = CaptureMeta {
            role,
            session_id,
            rng_seed,
            local,
            peer,
        };
        let header = pcapng::file_header(
            &meta.to_string(),
            concat!("rtmp-rs ", env!("CARGO_PKG_VERSION")),
        );
        let mut out = BufWriter::new(file);
        out.write_all(&header)?;
        let mut capture = SessionCapture {
            path,
            out: Some(out),
            framer: Framer::new(local, peer, session_id ^ rng_seed),
            written: header.len() as u64,
            max_file_bytes: config.max_file_bytes,
            block: Vec::new(),
        };
        // The TCP handshake, from whichever side opened the connection.
        let (opener, answerer) = match role {
            CaptureRole::Server => (Way::In, Way::Out),
            CaptureRole::Client => (Way::Out, Way::In),
        };
        capture.record(at, opener, SYN, &[]);
        capture.record(at, answerer, SYN | ACK, &[]);
        capture.record(at, opener, ACK, &[]);
        Ok(capture)
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether recording goes on (it stops after an I/O error or at the size bound).
    pub fn is_recording(&self) -> bool {
        self.out.is_some()
    }

    /// Records bytes received from the peer at `at`.
    pub fn received(&mut self, at: SystemTime, data: &[u8]) {
        for segment in data.chunks(MAX_SEGMENT) {
            self.record(at, Way::In, ACK | PSH, segment);
        }
    }

    /// Records the first `len` bytes of `segments` (the output a write took them
    /// from, e.g. `session.output().segments()`), written at `at`.
    pub fn sent<S: AsRef<[u8]>>(
        &mut self,
        at: SystemTime,
        segments: impl IntoIterator<Item = S>,
        len: usize,
    ) {
        if self.out.is_none() {
            return;
        }
        let mut left = len;
        let mut pending: Vec<u8> = Vec::new();
        for segment in segments {
            if left == 0 {
                break;
            }
            let segment = segment.as_ref();
            let take = segment.len().min(left);
            left -= take;
            let mut part = &segment[..take];
            while !part.is_empty() {
                let room = MAX_SEGMENT - pending.len();
                let (head, rest) = part.split_at(room.min(part.len()));
                pending.extend_from_slice(head);
                part = rest;
                if pending.len() == MAX_SEGMENT {
                    self.record(at, Way::Out, ACK | PSH, &pending);
                    pending.clear();
                }
            }
        }
        if !pending.is_empty() {
            self.record(at, Way::Out, ACK | PSH, &pending);
        }
    }

    /// Records the connection's close at `at` (a FIN each way) and flushes the file.
    pub fn finish(mut self, at: SystemTime) {
        self.record(at, Way::Out, FIN | ACK, &[]);
        self.record(at, Way::In, FIN | ACK, &[]);
        self.record(at, Way::Out, ACK, &[]);
        if let Some(mut out) = self.out.take() {
            if let Err(e) = out.flush() {
                self.fail(&e);
            }
        }
    }

    /// Writes one segment, unless recording stopped or the file would pass its bound
    /// (then the truncation marker is written instead and recording stops).
    fn record(&mut self, at: SystemTime, way: Way, flags: u8, payload: &[u8]) {
        if self.out.is_none() {
            return;
        }
        let nanos = at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let frame = self.framer.segment(way, flags, payload);
        self.block.clear();
        let fits = self.written
            + (pcapng::PACKET_BLOCK_OVERHEAD + frame.len() + 3) as u64
            + MARKER_RESERVE
            <= self.max_file_bytes;
        if fits {
            pcapng::packet_block(&mut self.block, nanos, &frame, None);
        } else {
            let marker = self.framer.segment(way, ACK, &[]);
            pcapng::packet_block(&mut self.block, nanos, &marker, Some(TRUNCATION_COMMENT));
            tracing::warn!(path = %self.path.display(), limit = self.max_file_bytes,
                "capture reached its size bound: recording stopped");
        }
        let result = match &mut self.out {
            Some(out) => out.write_all(&self.block),
            None => Ok(()),
        };
        self.written += self.block.len() as u64;
        match result {
            Err(e) => self.fail(&e),
            Ok(()) if !fits => {
                if let Some(mut out) = self.out.take() {
                    if let Err(e) = out.flush() {
                        self.fail(&e);
                    }
                }
            }
            Ok(()) => {}
        }
    }

    fn fail(&mut self, error: &io::Error) {
        tracing::warn!(path = %self.path.display(), %error, "capture write failed: recording stopped");
        self.out = None;
    }
}

/// `<UTC time>-<role>-<session id>-<peer>`, with only file-name-safe characters.
fn file_stem(role: CaptureRole, peer: SocketAddr, session_id: u64, at: SystemTime) -> String {
    let peer: String = peer
        .to_string()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}-{}-{session_id}-{peer}", utc_stamp(at), role.as_str())
}

/// `YYYYMMDDTHHMMSS.mmmZ` for `at` (the epoch for earlier times).
fn utc_stamp(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian, 400-year eras).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Creates `dir/stem.pcapng`, or `dir/stem-N.pcapng` if taken.
fn create_unique(dir: &Path, stem: &str) -> io::Result<(PathBuf, File)> {
    let mut last = None;
    for n in 0..100 {
        let name = if n == 0 {
            format!("{stem}.pcapng")
        } else {
            format!("{stem}-{n}.pcapng")
        };
        let path = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::AlreadyExists, stem.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(951_782_400_123 + 86_399_000);
        assert_eq!(utc_stamp(t), "20000229T235959.123Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_704_067_200);
        assert_eq!(utc_stamp(t), "20240101T000000.000Z");
    }

    #[test]
    fn meta_round_trips_and_rejects_garbage() {
        let meta = CaptureMeta {
            role: CaptureRole::Client,
            session_id: 7,
            rng_seed: u64::MAX,
            local: "[::1]:50000".parse().unwrap(),
            peer: "127.0.0.1:1935".parse().unwrap(),
        };
        assert_eq!(meta.to_string().parse::<CaptureMeta>(), Ok(meta.clone()));
        assert!("hello".parse::<CaptureMeta>().is_err());
        let no_seed = meta.to_string().replace("seed=", "sid=");
        assert!(no_seed.parse::<CaptureMeta>().unwrap_err().contains("seed"));
        let bad = meta.to_string().replace("role=client", "role=x");
        assert!(bad.parse::<CaptureMeta>().is_err());
    }

    #[test]
    fn file_names_are_unique_and_safe() {
        let dir = std::env::temp_dir().join(format!("rtmp-capture-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = CaptureConfig::new(&dir);
        let peer: SocketAddr = "[::1]:4000".parse().unwrap();
        let local: SocketAddr = "[::1]:1935".parse().unwrap();
        let make = || {
            SessionCapture::create(&config, CaptureRole::Server, local, peer, 3, 9, UNIX_EPOCH)
                .unwrap()
        };
        let (a, b) = (make(), make());
        assert_ne!(a.path(), b.path());
        let name = a.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(name, "19700101T000000.000Z-server-3-___1__4000.pcapng");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
