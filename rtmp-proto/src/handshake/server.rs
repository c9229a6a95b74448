//! The server role.

use super::digest::{self, Party};
use super::{
    check_version, has_version, new_block, signed_block, BlockReader, HandshakeError,
    HandshakeForm, HANDSHAKE_BLOCK, RTMP_VERSION,
};
use crate::rng::SplitMix64;
use bytes::{BufMut, Bytes, BytesMut};

/// Version S1 carries in the digest form. FFmpeg checks S1's digest and S2's signature
/// when the first byte is at least 3.
const SERVER_VERSION: u32 = 0x0D0E_0A0D;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for C0.
    AwaitC0,
    /// C0 accepted; collecting C1.
    AwaitC1,
    /// S0 S1 S2 sent; collecting C2.
    AwaitC2,
    /// C2 received.
    Done,
}

/// Server side of the handshake: feed it bytes until [`ServerHandshake::is_done`].
///
/// Answers in the digest form when C1's digest validates, otherwise in the simple form.
#[derive(Debug)]
pub struct ServerHandshake {
    stage: Stage,
    reader: BlockReader,
    rng: SplitMix64,
    epoch_ms: u32,
    form: Option<HandshakeForm>,
}

impl ServerHandshake {
    /// A handshake whose S1 carries `epoch_ms` as its time and filler from `rng_seed`.
    pub fn new(rng_seed: u64, epoch_ms: u32) -> Self {
        ServerHandshake {
            stage: Stage::AwaitC0,
            reader: BlockReader::new(),
            rng: SplitMix64::new(rng_seed),
            epoch_ms,
            form: None,
        }
    }

    /// Whether C2 has been received: bytes after it are chunk stream data.
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// The form the server answered in, once C1 has been read.
    pub fn form(&self) -> Option<HandshakeForm> {
        self.form
    }

    /// Consumes handshake bytes from `input`, leaving anything after C2 in it. Appends
    /// S0 + S1 + S2 to `out` once C0 + C1 are complete.
    pub fn handle_input(
        &mut self,
        input: &mut &[u8],
        out: &mut impl Extend<Bytes>,
    ) -> Result<(), HandshakeError> {
        loop {
            match self.stage {
                Stage::AwaitC0 => {
                    let Some((&version, rest)) = input.split_first() else {
                        return Ok(());
                    };
                    check_version(version)?;
                    *input = rest;
                    self.stage = Stage::AwaitC1;
                }
                Stage::AwaitC1 => {
                    let Some(c1) = self.reader.read(input) else {
                        return Ok(());
                    };
                    out.extend(std::iter::once(self.response(&c1)));
                    self.stage = Stage::AwaitC2;
                }
                Stage::AwaitC2 => {
                    if self.reader.read(input).is_none() {
                        return Ok(());
                    }
                    self.stage = Stage::Done;
                }
                Stage::Done => return Ok(()),
            }
        }
    }

    /// S0 + S1 + S2 for the given C1, in the form C1 asks for.
    fn response(&mut self, c1: &[u8; HANDSHAKE_BLOCK]) -> Bytes {
        let mut out = BytesMut::with_capacity(1 + 2 * HANDSHAKE_BLOCK);
        out.put_u8(RTMP_VERSION);
        let c1_digest = if has_version(c1) {
            digest::find(c1, Party::Client)
        } else {
            None
        };
        match c1_digest {
            Some((scheme, c1_digest)) => {
                self.form = Some(HandshakeForm::Digest);
                let mut s1 = new_block(&mut self.rng, self.epoch_ms, SERVER_VERSION);
                digest::imprint(&mut s1, scheme, Party::Server);
                out.put_slice(&s1);
                out.put_slice(&signed_block(&mut self.rng, Party::Server, &c1_digest));
            }
            None => {
                self.form = Some(HandshakeForm::Simple);
                out.put_slice(&new_block(&mut self.rng, self.epoch_ms, 0));
                out.put_slice(c1);
            }
        }
        out.freeze()
    }
}
