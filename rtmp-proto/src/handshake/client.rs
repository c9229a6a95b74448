//! The client role.

use super::digest::{self, Digest, Party, Scheme};
use super::{
    check_version, has_version, new_block, signed_block, BlockReader, HandshakeError,
    HandshakeForm, HANDSHAKE_BLOCK, RTMP_VERSION,
};
use crate::rng::SplitMix64;
use bytes::{BufMut, Bytes, BytesMut};

/// Version C1 carries in the digest form: Flash Player 9.0.124.2, as FFmpeg sends.
const CLIENT_VERSION: u32 = 0x0900_7C02;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// C0 + C1 not sent yet.
    Start,
    /// C0 + C1 sent; waiting for S0.
    AwaitS0,
    /// Collecting S1.
    AwaitS1,
    /// C2 sent; collecting S2.
    AwaitS2,
    /// S2 received.
    Done,
}

/// Client side of the handshake: [`ClientHandshake::start`], then feed it bytes until
/// [`ClientHandshake::is_done`].
///
/// In the digest form C1 carries its digest in scheme 0 (digest first), as Flash Player
/// and FFmpeg do for plain RTMP. C2 is signed for S1's digest when S1 carries a valid one
/// and echoes S1 otherwise, so servers that answer in the simple form still work.
#[derive(Debug)]
pub struct ClientHandshake {
    form: HandshakeForm,
    stage: Stage,
    reader: BlockReader,
    rng: SplitMix64,
    epoch_ms: u32,
    /// C1's digest, in the digest form.
    c1_digest: Option<Digest>,
    /// Whether S1 carried a valid server digest.
    s1_valid: bool,
    verified: Option<bool>,
}

impl ClientHandshake {
    /// A handshake in `form` whose C1 carries `epoch_ms` as its time and filler from
    /// `rng_seed`.
    pub fn new(form: HandshakeForm, rng_seed: u64, epoch_ms: u32) -> Self {
        ClientHandshake {
            form,
            stage: Stage::Start,
            reader: BlockReader::new(),
            rng: SplitMix64::new(rng_seed),
            epoch_ms,
            c1_digest: None,
            s1_valid: false,
            verified: None,
        }
    }

    /// Appends C0 + C1 to `out` (call once, first; later calls do nothing).
    pub fn start(&mut self, out: &mut impl Extend<Bytes>) {
        if self.stage != Stage::Start {
            return;
        }
        let c1 = match self.form {
            HandshakeForm::Simple => new_block(&mut self.rng, self.epoch_ms, 0),
            HandshakeForm::Digest => {
                let mut c1 = new_block(&mut self.rng, self.epoch_ms, CLIENT_VERSION);
                self.c1_digest = Some(digest::imprint(&mut c1, Scheme::DigestFirst, Party::Client));
                c1
            }
        };
        let mut c0c1 = BytesMut::with_capacity(1 + HANDSHAKE_BLOCK);
        c0c1.put_u8(RTMP_VERSION);
        c0c1.put_slice(&c1);
        out.extend(std::iter::once(c0c1.freeze()));
        self.stage = Stage::AwaitS0;
    }

    /// Consumes S0 S1 S2 bytes from `input` (leaving anything after S2), appends C2 when
    /// S1 is complete. Does nothing before [`ClientHandshake::start`].
    pub fn handle_input(
        &mut self,
        input: &mut &[u8],
        out: &mut impl Extend<Bytes>,
    ) -> Result<(), HandshakeError> {
        loop {
            match self.stage {
                Stage::Start | Stage::Done => return Ok(()),
                Stage::AwaitS0 => {
                    let Some((&version, rest)) = input.split_first() else {
                        return Ok(());
                    };
                    check_version(version)?;
                    *input = rest;
                    self.stage = Stage::AwaitS1;
                }
                Stage::AwaitS1 => {
                    let Some(s1) = self.reader.read(input) else {
                        return Ok(());
                    };
                    out.extend(std::iter::once(self.c2(&s1)));
                    self.stage = Stage::AwaitS2;
                }
                Stage::AwaitS2 => {
                    let Some(s2) = self.reader.read(input) else {
                        return Ok(());
                    };
                    if let Some(c1_digest) = &self.c1_digest {
                        self.verified = Some(
                            self.s1_valid && digest::signature_valid(&s2, Party::Server, c1_digest),
                        );
                    }
                    self.stage = Stage::Done;
                }
            }
        }
    }

    /// Whether S2 has been received: bytes after it are chunk stream data.
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Whether the server proved the digest form (S1 digest and S2 signature both valid);
    /// `None` for the simple form and until S2 has been read.
    pub fn server_verified(&self) -> Option<bool> {
        self.verified
    }

    /// C2 for `s1`: signed for S1's digest in the digest form when S1 carries a valid
    /// one, an echo of S1 otherwise.
    fn c2(&mut self, s1: &[u8; HANDSHAKE_BLOCK]) -> Bytes {
        let s1_digest = match self.c1_digest {
            Some(_) if has_version(s1) => digest::find(s1, Party::Server),
            _ => None,
        };
        self.s1_valid = s1_digest.is_some();
        match s1_digest {
            Some((_, s1_digest)) => {
                Bytes::copy_from_slice(&signed_block(&mut self.rng, Party::Client, &s1_digest))
            }
            None => Bytes::copy_from_slice(s1),
        }
    }
}
