//! Interop-test harness around a real `ffmpeg` binary (std only).
//!
//! ```ignore
//! mod common;
//! use common::ffmpeg::*;
//!
//! #[test]
//! fn relay_matches_source() {
//!     let Some(ff) = require_ffmpeg() else { return };
//!     let input = h264_aac_flv();
//!     let (source, _) = parse_framecrc(&source_framecrc(&ff, &input));
//!     // ... start the server on port 0, then:
//!     let mut publisher = spawn_publish(&ff, &input, &url);
//!     let mut player = spawn_play(&ff, &url, &out);
//!     // ... wait_timeout / stderr_text ...
//!     let (played, _) = read_framecrc(&out);
//!     assert_same_packets(&source, &played, false);
//! }
//! ```
//!
//! framecrc notes (FFmpeg 9): a packet line is
//! `stream, dts, pts, duration, size, 0xCRC[, F=0xFLAGS][, S=n, ...side data]`.
//! The CRC is an Adler-32 of the payload. `F=` is printed only when the packet
//! flags are not exactly "keyframe", so a line without `F=` is a keyframe and
//! `F=0x0` is a non-keyframe (see [`Packet::is_keyframe`]).

use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, UNIX_EPOCH};

/// Environment variable naming the ffmpeg binary to use.
pub const FFMPEG_ENV: &str = "FFMPEG";
/// When this is `1`, a missing ffmpeg fails the test instead of skipping it.
pub const REQUIRE_ENV: &str = "RTMP_REQUIRE_FFMPEG";
/// `-rw_timeout` given to players, in microseconds (10 s).
pub const PLAY_RW_TIMEOUT_US: u64 = 10_000_000;
/// Length of the generated fixtures, in seconds.
pub const FIXTURE_SECONDS: u32 = 6;

/// Arguments every ffmpeg invocation starts with: quiet, never read stdin.
const COMMON_ARGS: [&str; 4] = ["-hide_banner", "-loglevel", "error", "-nostdin"];

// ---------------------------------------------------------------------------
// Locating ffmpeg
// ---------------------------------------------------------------------------

/// The ffmpeg binary: `$FFMPEG` if set, else the one bundled with the
/// `imageio-ffmpeg` Python package, else `ffmpeg` on `PATH`. Cached.
pub fn ffmpeg_path() -> Option<PathBuf> {
    static PATH: OnceLock<Option<PathBuf>> = OnceLock::new();
    PATH.get_or_init(locate_ffmpeg).clone()
}

/// Like [`ffmpeg_path`], but reports a missing ffmpeg: panics when
/// `RTMP_REQUIRE_FFMPEG=1`, otherwise prints a skip notice and returns `None`.
///
/// ```ignore
/// let Some(ff) = require_ffmpeg() else { return };
/// ```
pub fn require_ffmpeg() -> Option<PathBuf> {
    if let Some(path) = ffmpeg_path() {
        return Some(path);
    }
    if ffmpeg_required() {
        panic!(
            "ffmpeg not found but {REQUIRE_ENV}=1: set {FFMPEG_ENV}=/path/to/ffmpeg, \
             `pip install imageio-ffmpeg`, or put ffmpeg on PATH"
        );
    }
    eprintln!("skipping: ffmpeg not found");
    None
}

fn ffmpeg_required() -> bool {
    matches!(
        std::env::var(REQUIRE_ENV).as_deref().map(str::trim),
        Ok("1") | Ok("true") | Ok("yes")
    )
}

fn locate_ffmpeg() -> Option<PathBuf> {
    if let Some(value) = std::env::var_os(FFMPEG_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(&value);
        let found = if path.is_file() {
            Some(path.clone())
        } else if path.components().count() == 1 {
            search_path(&value)
        } else {
            None
        };
        if found.is_none() {
            eprintln!(
                "warning: {FFMPEG_ENV}={} does not name an existing file",
                path.display()
            );
        }
        return found;
    }
    imageio_ffmpeg().or_else(|| search_path(OsStr::new("ffmpeg")))
}

fn imageio_ffmpeg() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    let path = PathBuf::from(text);
    (!text.is_empty() && path.is_file()).then_some(path)
}

fn search_path(name: &OsStr) -> Option<PathBuf> {
    let dirs = std::env::var_os("PATH")?;
    let mut file_name = name.to_os_string();
    file_name.push(std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&dirs)
        .map(|dir| dir.join(&file_name))
        .find(|candidate| candidate.is_file())
}

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// Directory holding generated fixtures, shared by all test processes.
pub fn fixture_dir() -> PathBuf {
    std::env::temp_dir().join("rtmp-rs-fixtures")
}

/// Generates a media file once with
/// `ffmpeg -hide_banner -loglevel error -nostdin -y <args> <out>` and returns
/// its path. The file lives in [`fixture_dir`] under a name keyed by a hash of
/// `name`, `args` and the ffmpeg binary, so concurrent test binaries share it;
/// it is written under a temporary name and renamed into place atomically.
/// `name` supplies the file stem and extension (e.g. `"h264_aac.flv"`).
pub fn fixture(name: &str, args: &[&str]) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

    let ff = ffmpeg_path()
        .unwrap_or_else(|| panic!("fixture({name:?}) needs ffmpeg; call require_ffmpeg() first"));
    let key = fixture_key(&ff, name, args);
    let name_path = Path::new(name);
    let stem = name_path
        .file_stem()
        .and_then(OsStr::to_str)
        .unwrap_or("fixture");
    let ext = name_path
        .extension()
        .and_then(OsStr::to_str)
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    let dir = fixture_dir();
    let path = dir.join(format!("{stem}-{key:016x}{ext}"));

    // Serialise generation within this process; other processes are handled
    // by the write-then-rename below.
    let _guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if is_nonempty_file(&path) {
        return path;
    }
    fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create fixture dir {}: {e}", dir.display()));
    let tmp = dir.join(format!(
        "{stem}-{key:016x}.tmp-{}-{}{ext}",
        std::process::id(),
        TMP_SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let mut full_args: Vec<OsString> = COMMON_ARGS.iter().map(OsString::from).collect();
    full_args.push("-y".into());
    full_args.extend(args.iter().map(OsString::from));
    full_args.push(tmp.clone().into_os_string());
    let out = Command::new(&ff)
        .args(&full_args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", ff.display()));
    if !out.status.success() || !is_nonempty_file(&tmp) {
        let _ = fs::remove_file(&tmp);
        panic!(
            "ffmpeg failed to generate fixture {name} ({}):\n  {}\n{}",
            out.status,
            display_command(ff.as_os_str(), &full_args),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if let Err(e) = fs::rename(&tmp, &path) {
        let _ = fs::remove_file(&tmp);
        // Another process may have won the race (rename cannot replace on
        // some platforms); that is fine as long as the file is there.
        assert!(
            is_nonempty_file(&path),
            "cannot move fixture into place at {}: {e}",
            path.display()
        );
    }
    path
}

/// H.264 + AAC in FLV: 6 s of `testsrc2` 320x240 @ 30 fps (GOP 30 = 1 s, no
/// B-frames) and a 440 Hz mono sine at 48 kHz.
pub fn h264_aac_flv() -> PathBuf {
    fixture(
        "h264_aac.flv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=30:duration=6",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=6",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-tune",
            "zerolatency",
            "-g",
            "30",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-f",
            "flv",
        ],
    )
}

/// HEVC + Opus in (Enhanced) FLV: same sources as [`h264_aac_flv`], x265 with
/// a 30-frame keyframe interval (with B-frames, so pts != dts), Opus 48 kHz.
pub fn hevc_opus_flv() -> PathBuf {
    fixture(
        "hevc_opus.flv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=30:duration=6",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=6",
            "-c:v",
            "libx265",
            "-preset",
            "veryfast",
            "-x265-params",
            "log-level=error:keyint=30",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "libopus",
            "-b:a",
            "64k",
            "-ar",
            "48000",
            "-f",
            "flv",
        ],
    )
}

/// A 4 s fixture from a `testsrc2` 320x240 @ 30 fps picture (GOP 1 s) and a 440 Hz
/// sine at 48 kHz, encoded with `codecs` (space-separated FFmpeg arguments, `-f flv`
/// included). Inputs: 0 = picture, 1 = sine, 2 = a second picture (`testsrc`).
fn av_fixture(name: &str, codecs: &str) -> PathBuf {
    let inputs = "-f lavfi -i testsrc2=size=320x240:rate=30:duration=4 \
                  -f lavfi -i sine=frequency=440:sample_rate=48000:duration=4 \
                  -f lavfi -i testsrc=size=320x240:rate=30:duration=4";
    let args: Vec<&str> = inputs
        .split_whitespace()
        .chain(codecs.split_whitespace())
        .collect();
    fixture(name, &args)
}

/// AV1 (SVT-AV1) + FLAC, Enhanced FLV.
pub fn av1_flac_flv() -> PathBuf {
    av_fixture(
        "av1_flac.flv",
        "-map 0:v -map 1:a -c:v libsvtav1 -preset 12 -g 30 -pix_fmt yuv420p -c:a flac -f flv",
    )
}

/// VP9 + AC-3, Enhanced FLV.
pub fn vp9_ac3_flv() -> PathBuf {
    av_fixture(
        "vp9_ac3.flv",
        "-map 0:v -map 1:a -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -g 30 -c:a ac3 -f flv",
    )
}

/// H.264 + E-AC-3 (Enhanced audio beside legacy video).
pub fn h264_eac3_flv() -> PathBuf {
    av_fixture(
        "h264_eac3.flv",
        "-map 0:v -map 1:a -c:v libx264 -preset veryfast -g 30 -pix_fmt yuv420p -c:a eac3 -f flv",
    )
}

/// Two H.264 video tracks + AAC: the second track travels as E-RTMP Multitrack.
pub fn two_h264_tracks_aac_flv() -> PathBuf {
    av_fixture(
        "multitrack.flv",
        "-map 0:v -map 2:v -map 1:a -c:v libx264 -preset veryfast -g 30 -pix_fmt yuv420p \
         -c:a aac -f flv",
    )
}

fn is_nonempty_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > 0)
}

/// Stable (FNV-1a) hash of everything that determines a fixture's content.
fn fixture_key(ff: &Path, name: &str, args: &[&str]) -> u64 {
    let mut hash = Fnv1a::new();
    hash.write(b"rtmp-rs-fixture-v1\0");
    hash.write(name.as_bytes());
    hash.write(b"\0");
    for arg in args {
        hash.write(arg.as_bytes());
        hash.write(b"\0");
    }
    hash.write(ff.to_string_lossy().as_bytes());
    hash.write(b"\0");
    if let Ok(meta) = fs::metadata(ff) {
        hash.write(&meta.len().to_le_bytes());
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        hash.write(&mtime.to_le_bytes());
    }
    hash.0
}

struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

// ---------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------

/// A spawned process whose stdout and stderr are captured in the background.
/// Dropping it kills the process (by pid) and reaps it, so no test leaves
/// processes behind, even when it panics.
pub struct Child {
    inner: std::process::Child,
    command: String,
    status: Option<ExitStatus>,
    stdout: Capture,
    stderr: Capture,
}

impl Child {
    /// Spawns `program args...` with stdin closed and stdout/stderr captured.
    pub fn spawn<I, S>(program: &Path, args: I) -> Child
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<OsString> = args
            .into_iter()
            .map(|a| a.as_ref().to_os_string())
            .collect();
        let command = display_command(program.as_os_str(), &args);
        let mut inner = Command::new(program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn `{command}`: {e}"));
        let stdout = Capture::start(inner.stdout.take());
        let stderr = Capture::start(inner.stderr.take());
        Child {
            inner,
            command,
            status: None,
            stdout,
            stderr,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.inner.id()
    }

    /// The command line, for diagnostics.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The exit status if the process has exited, without blocking.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            match self.inner.try_wait() {
                Ok(status) => self.status = status,
                Err(e) => panic!("try_wait on `{}` failed: {e}", self.command),
            }
        }
        self.status
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.try_status().is_none()
    }

    /// Waits up to `timeout` for the process to exit (polling `try_wait`).
    /// Returns `None` if it is still running; it is not killed.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(10)));
        }
    }

    /// Waits up to `timeout` and panics, showing stderr, unless the process
    /// exited successfully.
    pub fn expect_success(&mut self, timeout: Duration) {
        match self.wait_timeout(timeout) {
            Some(status) if status.success() => {}
            Some(status) => panic!(
                "`{}` failed ({status}); stderr:\n{}",
                self.command,
                self.stderr_text()
            ),
            None => {
                self.kill();
                panic!(
                    "`{}` did not finish within {timeout:?}; stderr:\n{}",
                    self.command,
                    self.stderr_text()
                );
            }
        }
    }

    /// Kills the process (SIGKILL on Unix) if it is still running, and reaps it.
    pub fn kill(&mut self) -> ExitStatus {
        if let Some(status) = self.try_status() {
            return status;
        }
        let _ = self.inner.kill();
        let status = self
            .inner
            .wait()
            .unwrap_or_else(|e| panic!("wait on `{}` failed: {e}", self.command));
        self.status = Some(status);
        status
    }

    /// Asks the process to stop gracefully with SIGINT (ffmpeg then finishes
    /// its output, e.g. a publisher sends FCUnpublish/deleteStream). Returns
    /// whether the signal was sent.
    #[cfg(unix)]
    pub fn interrupt(&mut self) -> bool {
        if self.try_status().is_some() {
            return false;
        }
        Command::new("sh")
            .args(["-c", "kill -INT \"$1\"", "sh"])
            .arg(self.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Interrupts the process, waits up to `grace` for it to exit, then kills it.
    #[cfg(unix)]
    pub fn stop(&mut self, grace: Duration) -> ExitStatus {
        if self.interrupt() {
            if let Some(status) = self.wait_timeout(grace) {
                return status;
            }
        }
        self.kill()
    }

    /// Captured stderr so far. Complete once an exit has been observed (by
    /// `wait_timeout`, `try_status`, `kill`, ...).
    pub fn stderr_text(&self) -> String {
        self.stderr.text(self.status.is_some())
    }

    /// Captured stdout so far. Complete once an exit has been observed.
    pub fn stdout_text(&self) -> String {
        self.stdout.text(self.status.is_some())
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_none() {
            if let Ok(None) = self.inner.try_wait() {
                let _ = self.inner.kill();
            }
            let _ = self.inner.wait();
        }
    }
}

impl std::fmt::Debug for Child {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.inner.id())
            .field("command", &self.command)
            .field("status", &self.status)
            .finish()
    }
}

/// Drains one pipe on a background thread so the child never blocks on it.
struct Capture {
    data: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Capture {
    fn start<R: Read + Send + 'static>(pipe: Option<R>) -> Capture {
        let data = Arc::new(Mutex::new(Vec::new()));
        let reader = pipe.map(|mut pipe| {
            let data = Arc::clone(&data);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match pipe.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => data
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
            })
        });
        Capture { data, reader }
    }

    fn text(&self, exited: bool) -> String {
        if exited {
            // The pipe reaches EOF once the process is gone; give the reader
            // a moment to drain it (bounded, in case something inherited it).
            if let Some(reader) = &self.reader {
                let deadline = Instant::now() + Duration::from_secs(5);
                while !reader.is_finished() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        let data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&data).into_owned()
    }
}

fn display_command(program: &OsStr, args: &[OsString]) -> String {
    let mut out = String::new();
    for (i, word) in std::iter::once(program)
        .chain(args.iter().map(OsString::as_os_str))
        .enumerate()
    {
        if i > 0 {
            out.push(' ');
        }
        let word = word.to_string_lossy();
        if word.is_empty() || word.contains(|c: char| c.is_whitespace() || c == '\'') {
            let _ = write!(out, "'{}'", word.replace('\'', "'\\''"));
        } else {
            out.push_str(&word);
        }
    }
    out
}

/// Spawns `ffmpeg -hide_banner -loglevel error -nostdin <args>`.
pub fn spawn_ffmpeg<I, S>(ff: &Path, args: I) -> Child
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<OsString> = COMMON_ARGS
        .iter()
        .map(OsString::from)
        .chain(args.into_iter().map(|a| a.as_ref().to_os_string()))
        .collect();
    Child::spawn(ff, args)
}

/// Publishes `input` in real time: `ffmpeg -re -i input -c copy -f flv url`.
pub fn spawn_publish(ff: &Path, input: &Path, url: &str) -> Child {
    spawn_ffmpeg(
        ff,
        [
            OsStr::new("-re"),
            OsStr::new("-i"),
            input.as_os_str(),
            OsStr::new("-c"),
            OsStr::new("copy"),
            OsStr::new("-f"),
            OsStr::new("flv"),
            OsStr::new(url),
        ],
    )
}

/// Plays `url` into a framecrc file:
/// `ffmpeg -rw_timeout 10s -i url -c copy -f framecrc out`. The output is
/// flushed per packet, so it can be read even after the player is killed.
pub fn spawn_play(ff: &Path, url: &str, out: &Path) -> Child {
    play_with(ff, url, out, &[])
}

/// Like [`spawn_play`] but keeping every stream (`-map 0`).
pub fn spawn_play_all(ff: &Path, url: &str, out: &Path) -> Child {
    play_with(ff, url, out, &["-map", "0"])
}

fn play_with(ff: &Path, url: &str, out: &Path, select: &[&str]) -> Child {
    let rw_timeout = PLAY_RW_TIMEOUT_US.to_string();
    let mut args: Vec<OsString> = ["-rw_timeout", &rw_timeout, "-i", url]
        .iter()
        .map(OsString::from)
        .collect();
    args.extend(select.iter().map(OsString::from));
    args.extend(["-c", "copy", "-f", "framecrc"].iter().map(OsString::from));
    args.push(out.as_os_str().to_os_string());
    spawn_ffmpeg(ff, args)
}

// ---------------------------------------------------------------------------
// framecrc
// ---------------------------------------------------------------------------

/// One packet line of framecrc output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Normalised stream index (see [`parse_framecrc`]): video first.
    pub stream: u32,
    pub dts: i64,
    pub pts: i64,
    pub duration: i64,
    pub size: u32,
    /// Adler-32 of the payload, as printed, e.g. `0x1234abcd`.
    pub crc: String,
    /// The `F=` value (e.g. `0x0`), present only when the packet flags are
    /// not exactly "keyframe".
    pub flags: Option<String>,
}

impl Packet {
    /// Whether the packet is a keyframe: no `F=` field (flags == KEY), or an
    /// `F=` value with the key bit (0x1) set.
    pub fn is_keyframe(&self) -> bool {
        match &self.flags {
            None => true,
            Some(flags) => {
                flags.contains('K') || parse_hex(flags).is_some_and(|bits| bits & 1 != 0)
            }
        }
    }

    /// Whether payloads are identical (size and CRC); timestamps are ignored.
    pub fn same_payload(&self, other: &Packet) -> bool {
        self.size == other.size && self.crc.eq_ignore_ascii_case(&other.crc)
    }
}

/// A stream described by the framecrc header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    /// Normalised index, as used in [`Packet::stream`].
    pub index: u32,
    /// Index as printed by ffmpeg.
    pub original_index: u32,
    /// `video`, `audio`, `data`, ... (empty if the header did not say).
    pub media_type: String,
    /// e.g. `h264`, `aac`, `hevc`, `opus` (empty if unknown).
    pub codec_id: String,
}

/// Everything parsed from a framecrc text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameCrc {
    pub packets: Vec<Packet>,
    /// `#extradata N: size, 0xcrc` lines, renumbered and sorted by normalised index.
    pub extradata: Vec<String>,
    pub streams: Vec<StreamInfo>,
}

impl FrameCrc {
    /// Normalised index of the first stream with this media type.
    pub fn stream_of(&self, media_type: &str) -> Option<u32> {
        self.streams
            .iter()
            .find(|s| s.media_type == media_type)
            .map(|s| s.index)
    }
}

/// Parses framecrc output into packets and `#extradata` lines.
///
/// Stream indices are normalised by media type, because the FLV demuxer
/// numbers streams in the order it first sees them: video streams come
/// first, then audio, then anything else (original order within a type). So
/// with one video and one audio stream, video is always 0 and audio 1.
pub fn parse_framecrc(text: &str) -> (Vec<Packet>, Vec<String>) {
    let parsed = parse_framecrc_full(text);
    (parsed.packets, parsed.extradata)
}

/// Reads and parses a framecrc file (see [`parse_framecrc`]).
pub fn read_framecrc(path: &Path) -> (Vec<Packet>, Vec<String>) {
    let text = fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read framecrc {}: {e}", path.display()));
    parse_framecrc(&text)
}

/// Like [`parse_framecrc`], also returning the stream descriptions.
pub fn parse_framecrc_full(text: &str) -> FrameCrc {
    let mut media_types: HashMap<u32, String> = HashMap::new();
    let mut codecs: HashMap<u32, String> = HashMap::new();
    let mut extradata: Vec<(u32, String)> = Vec::new();
    let mut packets = Vec::new();
    let unterminated = !text.is_empty() && !text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();

    for (n, raw) in lines.iter().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('#') {
            // `#key N: value` or `#key: value`
            let Some((left, value)) = header.split_once(':') else {
                continue;
            };
            let mut words = left.split_whitespace();
            let key = words.next().unwrap_or("");
            let Some(index) = words.next().and_then(|w| w.parse::<u32>().ok()) else {
                continue;
            };
            match key {
                "media_type" => {
                    media_types.insert(index, value.trim().to_string());
                }
                "codec_id" => {
                    codecs.insert(index, value.trim().to_string());
                }
                "extradata" => extradata.push((index, value.to_string())),
                _ => {}
            }
            continue;
        }
        match parse_packet_line(line) {
            Some(packet) => packets.push(packet),
            // A player killed mid-write may leave a partial last line.
            None if unterminated && n + 1 == lines.len() => {}
            None => panic!("malformed framecrc line {}: {raw:?}", n + 1),
        }
    }

    // Normalise stream numbering: video, audio, then the rest.
    let mut originals: Vec<u32> = media_types
        .keys()
        .chain(codecs.keys())
        .copied()
        .chain(extradata.iter().map(|(i, _)| *i))
        .chain(packets.iter().map(|p| p.stream))
        .collect();
    originals.sort_unstable();
    originals.dedup();
    let rank = |index: &u32| match media_types.get(index).map(String::as_str) {
        Some("video") => 0,
        Some("audio") => 1,
        Some(_) => 2,
        None => 3,
    };
    originals.sort_by_key(|i| (rank(i), *i));
    let remap: HashMap<u32, u32> = originals
        .iter()
        .enumerate()
        .map(|(new, &old)| (old, new as u32))
        .collect();

    for packet in &mut packets {
        packet.stream = remap[&packet.stream];
    }
    let mut extradata: Vec<(u32, String)> = extradata
        .into_iter()
        .map(|(i, value)| (remap[&i], value))
        .collect();
    extradata.sort_by_key(|(i, _)| *i);
    let streams = originals
        .iter()
        .map(|old| StreamInfo {
            index: remap[old],
            original_index: *old,
            media_type: media_types.get(old).cloned().unwrap_or_default(),
            codec_id: codecs.get(old).cloned().unwrap_or_default(),
        })
        .collect();

    FrameCrc {
        packets,
        extradata: extradata
            .into_iter()
            .map(|(i, value)| format!("#extradata {i}:{value}"))
            .collect(),
        streams,
    }
}

fn parse_packet_line(line: &str) -> Option<Packet> {
    let mut fields = line.split(',').map(str::trim);
    let stream = fields.next()?.parse().ok()?;
    let dts = fields.next()?.parse().ok()?;
    let pts = fields.next()?.parse().ok()?;
    let duration = fields.next()?.parse().ok()?;
    let size = fields.next()?.parse().ok()?;
    let crc = fields.next()?;
    parse_hex(crc)?;
    let mut flags = None;
    for field in fields {
        if let Some(value) = field.strip_prefix("F=") {
            flags = Some(value.to_string());
        } else if field.starts_with("S=") {
            // Side data follows; not compared.
            break;
        }
    }
    Some(Packet {
        stream,
        dts,
        pts,
        duration,
        size,
        crc: crc.to_string(),
        flags,
    })
}

fn parse_hex(text: &str) -> Option<u64> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    u64::from_str_radix(digits, 16).ok()
}

/// Runs `ffmpeg -i input -c copy -f framecrc -` and returns its output.
pub fn source_framecrc(ff: &Path, input: &Path) -> String {
    framecrc_of(ff, input, &[])
}

/// H.264 + AAC, 10 s with 2 s GOPs (for late-join timing).
pub fn h264_aac_gop2_flv() -> PathBuf {
    fixture(
        "h264_aac_gop2.flv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=30:duration=10",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=10",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            "60",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-f",
            "flv",
        ],
    )
}

/// Like [`source_framecrc`] but with every stream (`-map 0`): extra video tracks too.
pub fn source_framecrc_all(ff: &Path, input: &Path) -> String {
    framecrc_of(ff, input, &["-map", "0"])
}

fn framecrc_of(ff: &Path, input: &Path, select: &[&str]) -> String {
    let mut args: Vec<OsString> = COMMON_ARGS.iter().map(OsString::from).collect();
    args.extend([OsStr::new("-i"), input.as_os_str()].map(OsStr::to_os_string));
    args.extend(select.iter().map(OsString::from));
    args.extend(
        [
            OsStr::new("-c"),
            OsStr::new("copy"),
            OsStr::new("-f"),
            OsStr::new("framecrc"),
            OsStr::new("-"),
        ]
        .map(OsStr::to_os_string),
    );
    let out = Command::new(ff)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", ff.display()));
    assert!(
        out.status.success(),
        "`{}` failed ({}):\n{}",
        display_command(ff.as_os_str(), &args),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Packets of one (normalised) stream.
pub fn stream_packets(packets: &[Packet], stream: u32) -> Vec<&Packet> {
    packets.iter().filter(|p| p.stream == stream).collect()
}

/// Number of packets per (normalised) stream.
pub fn stream_counts(packets: &[Packet]) -> BTreeMap<u32, usize> {
    let mut counts = BTreeMap::new();
    for packet in packets {
        *counts.entry(packet.stream).or_insert(0) += 1;
    }
    counts
}

// ---------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------

/// Asserts that, for every stream, the played packets' (size, CRC) sequence
/// is a contiguous run of the source's. Timestamps are not compared (they may
/// be shifted). With `from_start`, each run must begin at the source's first
/// packet of that stream; otherwise it may begin anywhere, but the first
/// played packet of stream 0 (video, after normalisation) must be a keyframe.
/// Streams with no played packets pass; callers assert counts themselves.
/// Panics with a readable diff on mismatch.
pub fn assert_same_packets(source: &[Packet], played: &[Packet], from_start: bool) {
    let source = group_by_stream(source);
    let played = group_by_stream(played);
    for (&stream, got) in &played {
        let Some(src) = source.get(&stream) else {
            panic!(
                "played output has stream {stream} ({} packets) but the source has only \
                 streams {:?}",
                got.len(),
                source.keys().collect::<Vec<_>>()
            );
        };
        check_stream(stream, src, got, from_start);
    }
}

fn group_by_stream(packets: &[Packet]) -> BTreeMap<u32, Vec<&Packet>> {
    let mut map: BTreeMap<u32, Vec<&Packet>> = BTreeMap::new();
    for packet in packets {
        map.entry(packet.stream).or_default().push(packet);
    }
    map
}

/// Index into `got` of the first packet differing from `src[offset..]`.
fn first_mismatch(src: &[&Packet], offset: usize, got: &[&Packet]) -> Option<usize> {
    (0..got.len()).find(|&i| {
        !src.get(offset + i)
            .is_some_and(|expected| expected.same_payload(got[i]))
    })
}

fn check_stream(stream: u32, src: &[&Packet], got: &[&Packet], from_start: bool) {
    if got.is_empty() {
        return;
    }
    if from_start {
        if let Some(i) = first_mismatch(src, 0, got) {
            panic!("{}", mismatch_report(stream, src, 0, got, i, from_start));
        }
        return;
    }

    let need_keyframe = stream == 0;
    let mut non_key_match = None;
    // (offset, index of first mismatch) of the longest partial match.
    let mut best: Option<(usize, usize)> = None;
    for offset in (0..src.len()).filter(|&o| src[o].same_payload(got[0])) {
        match first_mismatch(src, offset, got) {
            None if !need_keyframe || src[offset].is_keyframe() => return,
            None => {
                non_key_match.get_or_insert(offset);
            }
            Some(i) => {
                if best.map_or(true, |(_, longest)| i > longest) {
                    best = Some((offset, i));
                }
            }
        }
    }
    if let Some(offset) = non_key_match {
        panic!(
            "stream {stream}: played packets match the source from packet #{offset}, which is \
             not a keyframe (flags {:?}); a joining player must start at a keyframe\n{}",
            src[offset].flags,
            context_table(src, offset, got, 0)
        );
    }
    match best {
        Some((offset, i)) => panic!("{}", mismatch_report(stream, src, offset, got, i, false)),
        None => {
            let mut msg = format!(
                "stream {stream}: the first played packet ({}) does not occur in the source \
                 ({} packets)\nfirst played packets:\n",
                describe(got[0]),
                src.len()
            );
            for (i, p) in got.iter().take(5).enumerate() {
                let _ = writeln!(msg, "  played #{i:<5} {}", describe(p));
            }
            panic!("{msg}");
        }
    }
}

fn mismatch_report(
    stream: u32,
    src: &[&Packet],
    offset: usize,
    got: &[&Packet],
    i: usize,
    from_start: bool,
) -> String {
    let mut msg = format!(
        "stream {stream}: played packets are not a contiguous run of the source{}\n\
         first difference at played #{i} = source #{}:\n",
        if from_start {
            " starting at its first packet"
        } else {
            ""
        },
        offset + i
    );
    let expected = src
        .get(offset + i)
        .map_or_else(|| "<end of source>".to_string(), |p| describe(p));
    let _ = writeln!(msg, "  expected: {expected}");
    let _ = writeln!(msg, "  got:      {}", describe(got[i]));
    let _ = writeln!(
        msg,
        "  ({} source packets, {} played, aligned at source #{offset})",
        src.len(),
        got.len()
    );
    msg.push_str(&context_table(src, offset, got, i));
    msg
}

/// Side-by-side rows around played index `at`, with the source aligned at `offset`.
fn context_table(src: &[&Packet], offset: usize, got: &[&Packet], at: usize) -> String {
    let mut table = format!("  {:<3}{:<48} | played\n", "", "source");
    for j in at.saturating_sub(3)..(at + 4).min(got.len().max(at + 1)) {
        let left = src.get(offset + j).map_or_else(
            || "-".to_string(),
            |p| format!("#{:<5} {}", offset + j, describe(p)),
        );
        let right = got
            .get(j)
            .map_or_else(|| "-".to_string(), |p| format!("#{j:<5} {}", describe(p)));
        let same = matches!(
            (src.get(offset + j), got.get(j)),
            (Some(a), Some(b)) if a.same_payload(b)
        );
        let marker = if j == at {
            ">>"
        } else if same {
            "  "
        } else {
            "!="
        };
        let _ = writeln!(table, "  {marker} {left:<48} | {right}");
    }
    table
}

fn describe(p: &Packet) -> String {
    format!(
        "size {:>6} crc {} dts {:>7}{}",
        p.size,
        p.crc,
        p.dts,
        if p.is_keyframe() { " K" } else { "" }
    )
}
