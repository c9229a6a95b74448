//! The RTMP handshake, in both roles and both forms.
//!
//! The client sends C0 (the version byte, 3) and C1; the server answers S0, S1 and S2;
//! the client finishes with C2. C1 and S1 are 1536 bytes: a 4-byte time, a 4-byte version
//! and 1528 bytes of filler. C2 and S2 answer the peer's C1/S1.
//!
//! - **Simple form** (the published RTMP specification): the version bytes are zero and
//!   C2/S2 echo the peer's block.
//! - **Digest form** (Flash Player 9 and later, FFmpeg, librtmp): non-zero version bytes
//!   announce that the block carries a 32-byte HMAC-SHA256 digest of the other 1504 bytes.
//!   The four bytes at offset 8 (scheme 0, "digest first") or 772 (scheme 1, "key first")
//!   pick where it sits. C1's digest is keyed with "Genuine Adobe Flash Player 001", S1's
//!   with "Genuine Adobe Flash Media Server 001". C2 and S2 are then 1504 random bytes and
//!   a 32-byte HMAC of them, keyed with an HMAC of the peer's digest under the full
//!   Player (C2) or Server (S2) key: each side proves it saw the other's block.
//!
//! [`ServerHandshake`] answers a C1 whose digest validates in either scheme with the
//! digest form in the same scheme, and anything else with the simple form. It never
//! checks C2: real clients get it wrong often enough that checking only breaks interop.
//! [`ClientHandshake`] sends the form it was asked for and records whether a digest
//! server proved itself, without failing when it did not.
//!
//! Versions 6, 8 and 9 in C0/S0 ask for RTMPE (encryption), which is refused.

mod client;
mod digest;
mod server;
#[cfg(test)]
mod tests;

pub use client::ClientHandshake;
pub use server::ServerHandshake;

use crate::rng::SplitMix64;
use std::fmt;

/// Size of C1, S1, C2 and S2.
pub const HANDSHAKE_BLOCK: usize = 1536;
/// The RTMP version byte sent in C0/S0 and expected from the peer.
pub const RTMP_VERSION: u8 = 3;

/// A handshake that cannot go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// C0 or S0 named an RTMPE (encrypted) or otherwise unsupported version.
    UnsupportedVersion(u8),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::UnsupportedVersion(v) => {
                write!(
                    f,
                    "peer asked for RTMP version {v}, only 3 (plain RTMP) is supported"
                )
            }
        }
    }
}

impl std::error::Error for HandshakeError {}

/// Which handshake form a session uses; see the [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandshakeForm {
    /// Zero version bytes; C2/S2 echo the peer's block.
    Simple,
    /// Flash Player 9's form: HMAC-SHA256 digests in C1/S1 and signatures in C2/S2.
    Digest,
}

/// Checks a C0/S0 version byte: 6, 8 and 9 are RTMPE variants; anything else below 32
/// is treated as plain RTMP.
fn check_version(version: u8) -> Result<(), HandshakeError> {
    if matches!(version, 6 | 8 | 9) || version >= 32 {
        Err(HandshakeError::UnsupportedVersion(version))
    } else {
        Ok(())
    }
}

/// A fresh C1/S1: `time`, `version`, then filler from `rng`.
fn new_block(rng: &mut SplitMix64, time: u32, version: u32) -> [u8; HANDSHAKE_BLOCK] {
    let mut block = [0; HANDSHAKE_BLOCK];
    block[..4].copy_from_slice(&time.to_be_bytes());
    block[4..8].copy_from_slice(&version.to_be_bytes());
    rng.fill(&mut block[8..]);
    block
}

/// Whether a C1/S1 has non-zero version bytes, which announces the digest form.
fn has_version(block: &[u8; HANDSHAKE_BLOCK]) -> bool {
    block[4..8] != [0; 4]
}

/// A digest-form C2/S2 from `party`: random bytes signed for the peer's digest.
fn signed_block(
    rng: &mut SplitMix64,
    party: digest::Party,
    peer_digest: &digest::Digest,
) -> [u8; HANDSHAKE_BLOCK] {
    let mut block = [0; HANDSHAKE_BLOCK];
    rng.fill(&mut block);
    digest::sign(&mut block, party, peer_digest);
    block
}

/// Gathers one 1536-byte block across reads.
#[derive(Debug)]
struct BlockReader {
    block: [u8; HANDSHAKE_BLOCK],
    len: usize,
}

impl BlockReader {
    fn new() -> Self {
        BlockReader {
            block: [0; HANDSHAKE_BLOCK],
            len: 0,
        }
    }

    /// Takes bytes from `input` up to the end of the block; once it is complete, returns
    /// it and starts over.
    fn read(&mut self, input: &mut &[u8]) -> Option<[u8; HANDSHAKE_BLOCK]> {
        let take = (HANDSHAKE_BLOCK - self.len).min(input.len());
        let (head, rest) = input.split_at(take);
        self.block[self.len..self.len + take].copy_from_slice(head);
        *input = rest;
        self.len += take;
        if self.len < HANDSHAKE_BLOCK {
            return None;
        }
        self.len = 0;
        Some(self.block)
    }
}
