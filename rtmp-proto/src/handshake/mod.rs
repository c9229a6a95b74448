//! The RTMP handshake, server role.
//!
//! The client sends C0 (version byte 3) and C1 (1536 bytes: time, zero, random); the server
//! answers S0, S1 and S2 (an echo of C1) at once, then waits for C2 (an echo of S1).
//!
//! This is the simple form: S1's version bytes are zero, which tells FFmpeg not to
//! validate a digest. C2 is read but not checked: real clients get it wrong often enough
//! that checking it only breaks interop.

use crate::rng::SplitMix64;
use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

/// Size of C1, S1, C2 and S2.
pub const HANDSHAKE_BLOCK: usize = 1536;
/// The RTMP version byte sent in S0 and expected in C0.
pub const RTMP_VERSION: u8 = 3;

/// A handshake the server cannot go on with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// C0 asked for an RTMPE (encrypted) or otherwise unsupported version.
    UnsupportedVersion(u8),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::UnsupportedVersion(v) => {
                write!(
                    f,
                    "client asked for RTMP version {v}, only 3 (plain RTMP) is supported"
                )
            }
        }
    }
}

impl std::error::Error for HandshakeError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Collecting C0 + C1.
    AwaitC0C1,
    /// S0 S1 S2 sent; collecting C2.
    AwaitC2,
    /// C2 received.
    Done,
}

/// Server side of the handshake: feed it bytes until [`ServerHandshake::is_done`].
#[derive(Debug)]
pub struct ServerHandshake {
    stage: Stage,
    received: BytesMut,
    rng: SplitMix64,
    epoch_ms: u32,
}

impl ServerHandshake {
    /// A handshake whose S1 carries `epoch_ms` as its time and filler from `rng_seed`.
    pub fn new(rng_seed: u64, epoch_ms: u32) -> Self {
        ServerHandshake {
            stage: Stage::AwaitC0C1,
            received: BytesMut::new(),
            rng: SplitMix64::new(rng_seed),
            epoch_ms,
        }
    }

    /// Whether C2 has been received: bytes after it are chunk stream data.
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Consumes handshake bytes from `input`, leaving anything after C2 in it. Appends
    /// S0 + S1 + S2 to `out` once C0 + C1 are complete.
    pub fn handle_input(
        &mut self,
        input: &mut &[u8],
        out: &mut impl Extend<Bytes>,
    ) -> Result<(), HandshakeError> {
        loop {
            let wanted = match self.stage {
                Stage::AwaitC0C1 => 1 + HANDSHAKE_BLOCK,
                Stage::AwaitC2 => HANDSHAKE_BLOCK,
                Stage::Done => return Ok(()),
            };
            let take = (wanted - self.received.len()).min(input.len());
            self.received.extend_from_slice(&input[..take]);
            *input = &input[take..];
            if self.received.len() < wanted {
                return Ok(());
            }
            match self.stage {
                Stage::AwaitC0C1 => {
                    let version = self.received[0];
                    // 6, 8 and 9 are RTMPE variants; anything else is answered as plain RTMP.
                    if matches!(version, 6 | 8 | 9) || version >= 32 {
                        return Err(HandshakeError::UnsupportedVersion(version));
                    }
                    let c0c1 = std::mem::take(&mut self.received);
                    out.extend(std::iter::once(self.response(&c0c1[1..])));
                    self.stage = Stage::AwaitC2;
                }
                Stage::AwaitC2 => {
                    self.received = BytesMut::new();
                    self.stage = Stage::Done;
                }
                Stage::Done => {}
            }
        }
    }

    /// S0 + S1 + S2 for the given C1.
    fn response(&mut self, c1: &[u8]) -> Bytes {
        let mut out = BytesMut::with_capacity(1 + 2 * HANDSHAKE_BLOCK);
        out.put_u8(RTMP_VERSION);
        out.put_u32(self.epoch_ms);
        out.put_u32(0);
        let filler_at = out.len();
        out.resize(1 + HANDSHAKE_BLOCK, 0);
        self.rng.fill(&mut out[filler_at..]);
        out.put_slice(c1);
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c0c1() -> Vec<u8> {
        let mut bytes = vec![3u8, 0, 0, 0, 7, 9, 0, 124, 2];
        bytes.extend((0..HANDSHAKE_BLOCK - 8).map(|i| i as u8));
        bytes
    }

    #[test]
    fn answers_s0_s1_s2_and_echoes_c1() {
        let mut hs = ServerHandshake::new(1, 1000);
        let mut out = Vec::new();
        let c0c1 = c0c1();
        let mut input = &c0c1[..];
        hs.handle_input(&mut input, &mut out).unwrap();
        assert!(input.is_empty());
        assert_eq!(out.len(), 1);
        let reply = &out[0];
        assert_eq!(reply.len(), 1 + 2 * HANDSHAKE_BLOCK);
        assert_eq!(reply[0], 3);
        assert_eq!(&reply[1..5], &1000u32.to_be_bytes());
        assert_eq!(
            &reply[5..9],
            &[0, 0, 0, 0],
            "S1 version bytes zero: simple handshake"
        );
        assert_eq!(&reply[1 + HANDSHAKE_BLOCK..], &c0c1[1..], "S2 echoes C1");
        assert!(!hs.is_done());
    }

    #[test]
    fn completes_on_c2_and_leaves_the_bytes_after_it() {
        let mut hs = ServerHandshake::new(1, 0);
        let mut stream = c0c1();
        stream.extend(std::iter::repeat(0xAB).take(HANDSHAKE_BLOCK));
        stream.extend([0x02, 0x00]);
        // Byte by byte: the split must not matter.
        let mut out = Vec::new();
        let mut rest = Vec::new();
        for byte in &stream {
            let mut input = std::slice::from_ref(byte);
            hs.handle_input(&mut input, &mut out).unwrap();
            rest.extend_from_slice(input);
        }
        assert!(hs.is_done());
        assert_eq!(out.len(), 1);
        assert_eq!(rest, [0x02, 0x00]);
    }

    #[test]
    fn the_same_seed_gives_the_same_s1() {
        let run = |seed| {
            let mut out = Vec::new();
            let c0c1 = c0c1();
            ServerHandshake::new(seed, 5)
                .handle_input(&mut &c0c1[..], &mut out)
                .unwrap();
            out.remove(0)
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn rtmpe_is_refused() {
        let mut c0c1 = c0c1();
        c0c1[0] = 6;
        let mut out = Vec::new();
        let err = ServerHandshake::new(1, 0).handle_input(&mut &c0c1[..], &mut out);
        assert_eq!(err, Err(HandshakeError::UnsupportedVersion(6)));
        assert!(out.is_empty());
    }
}
