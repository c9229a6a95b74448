//! Handshake tests. Digest-form bytes are checked against formulas written out here, not
//! against the `digest` module.

use super::*;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use sha2::Sha256;

const PLAYER_TEXT: &[u8] = b"Genuine Adobe Flash Player 001";
const SERVER_TEXT: &[u8] = b"Genuine Adobe Flash Media Server 001";
const KEY_TAIL: [u8; 32] = [
    0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
    0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
];

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The digest offset in a 1536-byte block for scheme 0 or 1.
fn offset(block: &[u8], scheme: usize) -> usize {
    let base = [8, 772][scheme];
    let sum: usize = block[base..base + 4].iter().map(|&b| b as usize).sum();
    sum % 728 + base + 4
}

/// The digest `block` should carry in `scheme` under the key text.
fn expected_digest(block: &[u8], scheme: usize, key_text: &[u8]) -> [u8; 32] {
    let at = offset(block, scheme);
    hmac(key_text, &[&block[..at], &block[at + 32..]])
}

fn digest_in(block: &[u8], scheme: usize) -> &[u8] {
    let at = offset(block, scheme);
    &block[at..at + 32]
}

/// Whether `block` (C2 or S2) is signed for `peer_digest` under the full key.
fn signed_for(block: &[u8], key_text: &[u8], peer_digest: &[u8]) -> bool {
    let key = hmac(&[key_text, &KEY_TAIL].concat(), &[peer_digest]);
    block[1504..] == hmac(&key, &[&block[..1504]])
}

/// C0 + a digest C1 built by hand in `scheme`.
fn hand_c0c1(scheme: usize) -> Vec<u8> {
    let mut c1 = vec![0, 0, 0x12, 0x34, 0x09, 0x00, 0x7C, 0x02];
    c1.extend((0..HANDSHAKE_BLOCK - 8).map(|i| (i * 31 + 7) as u8));
    let digest = expected_digest(&c1, scheme, PLAYER_TEXT);
    let at = offset(&c1, scheme);
    c1[at..at + 32].copy_from_slice(&digest);
    [&[3u8][..], &c1].concat()
}

/// C1's time in clients built by [`client_c0c1`] and [`digest_client_against`].
const CLIENT_EPOCH: u32 = 77;

/// C0 + C1 from a client in `form`.
fn client_c0c1(form: HandshakeForm, seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    ClientHandshake::new(form, seed, CLIENT_EPOCH).start(&mut out);
    assert_eq!(out.len(), 1);
    out[0].to_vec()
}

/// The server's S0 + S1 + S2 for `c0c1`.
fn answer(c0c1: &[u8]) -> (ServerHandshake, Vec<u8>) {
    let mut server = ServerHandshake::new(5, 1000);
    let mut out = Vec::new();
    let mut input = c0c1;
    server.handle_input(&mut input, &mut out).unwrap();
    assert!(input.is_empty());
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].len(), 1 + 2 * HANDSHAKE_BLOCK);
    assert_eq!(out[0][0], 3);
    (server, out[0].to_vec())
}

/// Checks a digest answer to a digest C1 in `scheme`.
fn assert_digest_answer(c0c1: &[u8], reply: &[u8], scheme: usize) {
    let (c1, s1, s2) = (&c0c1[1..], &reply[1..1537], &reply[1537..]);
    assert_eq!(&s1[4..8], &[0x0D, 0x0E, 0x0A, 0x0D], "S1 version");
    assert_eq!(
        digest_in(s1, scheme),
        expected_digest(s1, scheme, SERVER_TEXT),
        "S1 digest in scheme {scheme}"
    );
    assert!(
        signed_for(s2, SERVER_TEXT, digest_in(c1, scheme)),
        "S2 signature"
    );
}

/// Checks a simple answer: zero S1 version, S2 echoes C1.
fn assert_simple_answer(c0c1: &[u8], reply: &[u8]) {
    assert_eq!(&reply[5..9], &[0, 0, 0, 0], "S1 version bytes zero");
    assert_eq!(&reply[1 + HANDSHAKE_BLOCK..], &c0c1[1..], "S2 echoes C1");
}

fn patterned_c0c1() -> Vec<u8> {
    let mut bytes = vec![3u8, 0, 0, 0, 7, 9, 0, 124, 2];
    bytes.extend((0..HANDSHAKE_BLOCK - 8).map(|i| i as u8));
    bytes
}

#[test]
fn answers_s0_s1_s2_and_echoes_c1() {
    // Version bytes are set but no digest validates: the simple form.
    let c0c1 = patterned_c0c1();
    let (server, reply) = answer(&c0c1);
    assert_eq!(&reply[1..5], &1000u32.to_be_bytes());
    assert_simple_answer(&c0c1, &reply);
    assert_eq!(server.form(), Some(HandshakeForm::Simple));
    assert!(!server.is_done());
}

#[test]
fn completes_on_c2_and_leaves_the_bytes_after_it() {
    let mut hs = ServerHandshake::new(1, 0);
    assert_eq!(hs.form(), None);
    let mut stream = patterned_c0c1();
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
        let c0c1 = patterned_c0c1();
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
    for version in [6, 8, 9, 32, 255] {
        let mut c0c1 = patterned_c0c1();
        c0c1[0] = version;
        let mut out = Vec::new();
        let err = ServerHandshake::new(1, 0).handle_input(&mut &c0c1[..], &mut out);
        assert_eq!(err, Err(HandshakeError::UnsupportedVersion(version)));
        assert!(out.is_empty());

        let mut client = ClientHandshake::new(HandshakeForm::Digest, 1, 0);
        client.start(&mut Vec::new());
        let err = client.handle_input(&mut &c0c1[..], &mut out);
        assert_eq!(err, Err(HandshakeError::UnsupportedVersion(version)));
        assert!(out.is_empty());
    }
}

#[test]
fn client_c1_follows_the_formulas() {
    let simple = client_c0c1(HandshakeForm::Simple, 3);
    assert_eq!(simple.len(), 1 + HANDSHAKE_BLOCK);
    assert_eq!(&simple[..9], &[3, 0, 0, 0, 77, 0, 0, 0, 0]);

    let c0c1 = client_c0c1(HandshakeForm::Digest, 3);
    let c1 = &c0c1[1..];
    assert_eq!(&c1[..8], &[0, 0, 0, 77, 0x09, 0x00, 0x7C, 0x02]);
    assert_eq!(digest_in(c1, 0), expected_digest(c1, 0, PLAYER_TEXT));
}

#[test]
fn server_answers_a_client_digest_c1_in_scheme_0() {
    let c0c1 = client_c0c1(HandshakeForm::Digest, 9);
    let (server, reply) = answer(&c0c1);
    assert_eq!(server.form(), Some(HandshakeForm::Digest));
    assert_digest_answer(&c0c1, &reply, 0);
}

#[test]
fn server_answers_hand_built_digest_c1s_in_their_scheme() {
    for scheme in [0, 1] {
        let c0c1 = hand_c0c1(scheme);
        let (server, reply) = answer(&c0c1);
        assert_eq!(server.form(), Some(HandshakeForm::Digest));
        assert_digest_answer(&c0c1, &reply, scheme);
    }
}

#[test]
fn server_answers_a_version_zero_c1_simply() {
    let c0c1 = client_c0c1(HandshakeForm::Simple, 9);
    let (server, reply) = answer(&c0c1);
    assert_eq!(server.form(), Some(HandshakeForm::Simple));
    assert_simple_answer(&c0c1, &reply);
}

#[test]
fn server_answers_a_corrupted_digest_c1_simply() {
    for scheme in [0, 1] {
        let mut c0c1 = hand_c0c1(scheme);
        let at = 1 + offset(&c0c1[1..], scheme);
        c0c1[at + 5] ^= 0x40;
        let (server, reply) = answer(&c0c1);
        assert_eq!(server.form(), Some(HandshakeForm::Simple));
        assert_simple_answer(&c0c1, &reply);
    }
}

/// Feeds `bytes` to `handle` in pieces of `piece` bytes; returns what it wrote and what
/// it left unread.
fn feed(
    bytes: &[u8],
    piece: usize,
    mut handle: impl FnMut(&mut &[u8], &mut Vec<Bytes>) -> Result<(), HandshakeError>,
) -> (Vec<u8>, Vec<u8>) {
    let mut out = Vec::new();
    let mut rest = Vec::new();
    for chunk in bytes.chunks(piece) {
        let mut input = chunk;
        handle(&mut input, &mut out).unwrap();
        rest.extend_from_slice(input);
    }
    (out.concat(), rest)
}

/// A client and a server talking in memory, `piece` bytes at a time. Returns the bytes
/// each sent (C0 C1 C2, S0 S1 S2) and both ends.
fn converse(
    form: HandshakeForm,
    seed: u64,
    piece: usize,
) -> (Vec<u8>, Vec<u8>, ClientHandshake, ServerHandshake) {
    let trailer = [0xC3, 0x01, 0x02];
    let mut client = ClientHandshake::new(form, seed, 10);
    let mut server = ServerHandshake::new(seed ^ 0xFF, 20);
    let mut c0c1 = Vec::new();
    client.start(&mut c0c1);
    let c0c1 = c0c1.concat();
    let (s0s1s2, rest) = feed(&c0c1, piece, |i, o| server.handle_input(i, o));
    assert!(rest.is_empty());
    let (c2, rest) = feed(&[&s0s1s2[..], &trailer].concat(), piece, |i, o| {
        client.handle_input(i, o)
    });
    assert_eq!(rest, trailer, "the client leaves what follows S2");
    let (nothing, rest) = feed(&[&c2[..], &trailer].concat(), piece, |i, o| {
        server.handle_input(i, o)
    });
    assert!(nothing.is_empty());
    assert_eq!(rest, trailer, "the server leaves what follows C2");
    assert!(client.is_done() && server.is_done());
    assert_eq!(server.form(), Some(form));
    ([c0c1, c2].concat(), s0s1s2, client, server)
}

#[test]
fn client_and_server_complete_both_forms_in_any_split() {
    for piece in [1, 7, 1537, 5000] {
        let (sent, received, client, _) = converse(HandshakeForm::Simple, 1, piece);
        assert_eq!(client.server_verified(), None);
        assert_eq!(&sent[1537..], &received[1..1537], "C2 echoes S1");

        let (sent, received, client, _) = converse(HandshakeForm::Digest, 1, piece);
        assert_eq!(client.server_verified(), Some(true));
        let (s1, c2) = (&received[1..1537], &sent[1537..]);
        assert!(
            signed_for(c2, PLAYER_TEXT, digest_in(s1, 0)),
            "C2 signature"
        );
    }
}

#[test]
fn the_same_seeds_give_the_same_bytes() {
    for form in [HandshakeForm::Simple, HandshakeForm::Digest] {
        let (a_sent, a_received, _, _) = converse(form, 42, 64);
        let (b_sent, b_received, _, _) = converse(form, 42, 1);
        assert_eq!((&a_sent, &a_received), (&b_sent, &b_received));
        let (c_sent, c_received, _, _) = converse(form, 43, 64);
        assert_ne!((&a_sent, &a_received), (&c_sent, &c_received));
    }
}

/// A digest client seeded 8 fed `s0s1s2`: returns its C2 and verdict.
fn digest_client_against(s0s1s2: &[u8]) -> (Vec<u8>, Option<bool>) {
    let mut client = ClientHandshake::new(HandshakeForm::Digest, 8, CLIENT_EPOCH);
    let mut out = Vec::new();
    client.start(&mut out);
    out.clear();
    let mut input = s0s1s2;
    client.handle_input(&mut input, &mut out).unwrap();
    assert!(input.is_empty() && client.is_done());
    (out.concat(), client.server_verified())
}

#[test]
fn digest_client_tolerates_a_simple_server() {
    // A simple answer, as FFmpeg's listen mode gives: zero version, S2 echoes C1.
    let mut s0s1s2 = vec![3u8];
    s0s1s2.extend((0..2 * HANDSHAKE_BLOCK).map(|i| (i * 13) as u8));
    s0s1s2[5..9].fill(0);
    let (c2, verified) = digest_client_against(&s0s1s2);
    assert_eq!(c2, &s0s1s2[1..1537], "C2 echoes S1");
    assert_eq!(verified, Some(false));
}

#[test]
fn digest_client_reports_a_bad_s2_signature_but_completes() {
    let c0c1 = client_c0c1(HandshakeForm::Digest, 8);
    let (_, mut reply) = answer(&c0c1);
    let (c2, verified) = digest_client_against(&reply);
    assert_eq!(verified, Some(true));
    assert!(signed_for(&c2, PLAYER_TEXT, digest_in(&reply[1..1537], 0)));

    let last = reply.len() - 1;
    reply[last] ^= 1;
    assert_eq!(digest_client_against(&reply).1, Some(false));
}

#[test]
fn client_does_nothing_before_start_or_twice() {
    let mut client = ClientHandshake::new(HandshakeForm::Simple, 1, 0);
    let mut out = Vec::new();
    let mut input: &[u8] = &[3, 0, 0];
    client.handle_input(&mut input, &mut out).unwrap();
    assert_eq!(input.len(), 3);
    client.start(&mut out);
    client.start(&mut out);
    assert_eq!(out.len(), 1);
}

/// Up to ~5000 arbitrary bytes in arbitrary pieces.
fn pieces() -> impl Strategy<Value = Vec<Vec<u8>>> {
    proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..700), 0..8)
}

proptest! {
    #[test]
    fn arbitrary_input_never_panics_either_role(
        prefix in 0usize..3,
        pieces in pieces(),
        seed in any::<u64>(),
    ) {
        let lead = match prefix {
            0 => Vec::new(),
            1 => vec![3],
            _ => client_c0c1(HandshakeForm::Digest, seed),
        };
        let mut server = ServerHandshake::new(seed, 0);
        let mut client = ClientHandshake::new(HandshakeForm::Digest, seed, 0);
        let mut out: Vec<Bytes> = Vec::new();
        client.start(&mut out);
        out.clear();
        let mut server_ok = true;
        let mut client_ok = true;
        for piece in std::iter::once(&lead).chain(&pieces) {
            if server_ok {
                let mut input = &piece[..];
                server_ok = server.handle_input(&mut input, &mut out).is_ok();
            }
            if client_ok {
                let mut input = &piece[..];
                client_ok = client.handle_input(&mut input, &mut out).is_ok();
            }
        }
        for bytes in &out {
            prop_assert!(bytes.len() == HANDSHAKE_BLOCK || bytes.len() == 1 + 2 * HANDSHAKE_BLOCK);
        }
    }
}
