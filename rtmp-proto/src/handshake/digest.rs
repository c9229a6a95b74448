//! The digest form's arithmetic, as pure functions over 1536-byte blocks: where a block
//! keeps its digest, how the digest is computed and checked, and how C2/S2 are signed.

use super::HANDSHAKE_BLOCK;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of a digest and of a C2/S2 signature.
pub(super) const DIGEST_LEN: usize = 32;
/// An HMAC-SHA256 output.
pub(super) type Digest = [u8; DIGEST_LEN];

/// C2/S2 sign their first 1504 bytes and carry the signature in the last 32.
const SIGNED_LEN: usize = HANDSHAKE_BLOCK - DIGEST_LEN;

/// The 32 bytes both full keys end with.
const KEY_TAIL: [u8; 32] = [
    0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
    0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
];
/// Flash Player's key: the 30 text bytes key C1's digest, all 62 derive C2's signing key.
const PLAYER_KEY: [u8; 62] = with_tail(b"Genuine Adobe Flash Player 001");
/// Flash Media Server's key: the 36 text bytes key S1's digest, all 68 derive S2's signing key.
const SERVER_KEY: [u8; 68] = with_tail(b"Genuine Adobe Flash Media Server 001");

/// `text` followed by [`KEY_TAIL`]; `N` must be their combined length.
const fn with_tail<const N: usize>(text: &[u8]) -> [u8; N] {
    let mut key = [0; N];
    let mut i = 0;
    while i < N {
        key[i] = if i < text.len() {
            text[i]
        } else {
            KEY_TAIL[i - text.len()]
        };
        i += 1;
    }
    key
}

/// The side that made a block, which picks the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Party {
    /// Flash Player: C1, C2.
    Client,
    /// Flash Media Server: S1, S2.
    Server,
}

impl Party {
    /// The text part of the key, which keys C1/S1 digests.
    fn digest_key(self) -> &'static [u8] {
        match self {
            Party::Client => &PLAYER_KEY[..30],
            Party::Server => &SERVER_KEY[..36],
        }
    }

    /// The full key, which derives C2/S2 signing keys.
    fn full_key(self) -> &'static [u8] {
        match self {
            Party::Client => &PLAYER_KEY,
            Party::Server => &SERVER_KEY,
        }
    }
}

/// Where a C1/S1 keeps its digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    /// Scheme 0: the digest part (bytes 8..772) comes first.
    DigestFirst,
    /// Scheme 1: the key part comes first, the digest part is bytes 772..1536.
    KeyFirst,
}

impl Scheme {
    /// Both schemes, in the order a receiver tries them.
    const ALL: [Scheme; 2] = [Scheme::DigestFirst, Scheme::KeyFirst];

    /// Offset of the digest in `block`: the four bytes at the start of the digest part,
    /// summed modulo 728, index into the 760 bytes after them.
    pub(super) fn digest_offset(self, block: &[u8; HANDSHAKE_BLOCK]) -> usize {
        let base = match self {
            Scheme::DigestFirst => 8,
            Scheme::KeyFirst => 772,
        };
        let sum: usize = block[base..base + 4].iter().map(|&b| usize::from(b)).sum();
        base + 4 + sum % 728
    }
}

/// HMAC-SHA256 keyed with `key`.
fn keyed(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length")
}

/// HMAC state over `block` without the digest at `offset`, keyed for `party`'s digest.
fn mac_around(block: &[u8; HANDSHAKE_BLOCK], offset: usize, party: Party) -> HmacSha256 {
    let mut mac = keyed(party.digest_key());
    mac.update(&block[..offset]);
    mac.update(&block[offset + DIGEST_LEN..]);
    mac
}

/// Writes `party`'s digest into `block` where `scheme` puts it, and returns it.
pub(super) fn imprint(block: &mut [u8; HANDSHAKE_BLOCK], scheme: Scheme, party: Party) -> Digest {
    let offset = scheme.digest_offset(block);
    let digest: Digest = mac_around(block, offset, party)
        .finalize()
        .into_bytes()
        .into();
    block[offset..offset + DIGEST_LEN].copy_from_slice(&digest);
    digest
}

/// The scheme under which `block` carries a valid digest from `party`, and that digest.
pub(super) fn find(block: &[u8; HANDSHAKE_BLOCK], party: Party) -> Option<(Scheme, Digest)> {
    Scheme::ALL.into_iter().find_map(|scheme| {
        let offset = scheme.digest_offset(block);
        let digest: Digest = block[offset..offset + DIGEST_LEN].try_into().ok()?;
        mac_around(block, offset, party)
            .verify_slice(&digest)
            .ok()?;
        Some((scheme, digest))
    })
}

/// HMAC state keyed for `party`'s C2/S2 answering the peer's `peer_digest`.
fn signer(party: Party, peer_digest: &Digest) -> HmacSha256 {
    let mut derive = keyed(party.full_key());
    derive.update(peer_digest);
    keyed(&derive.finalize().into_bytes())
}

/// Signs `block` as `party`'s C2/S2 answering `peer_digest`: the last 32 bytes become the
/// signature of the first 1504.
pub(super) fn sign(block: &mut [u8; HANDSHAKE_BLOCK], party: Party, peer_digest: &Digest) {
    let (body, signature) = block.split_at_mut(SIGNED_LEN);
    let mut mac = signer(party, peer_digest);
    mac.update(body);
    signature.copy_from_slice(&mac.finalize().into_bytes());
}

/// Whether `block` is `party`'s C2/S2 correctly signed for `peer_digest`.
pub(super) fn signature_valid(
    block: &[u8; HANDSHAKE_BLOCK],
    party: Party,
    peer_digest: &Digest,
) -> bool {
    let (body, signature) = block.split_at(SIGNED_LEN);
    let mut mac = signer(party, peer_digest);
    mac.update(body);
    mac.verify_slice(signature).is_ok()
}
