//! The few pcapng blocks a session capture needs, written by hand (little-endian):
//! a Section Header Block with a comment and the writing application, one Ethernet
//! Interface Description Block with nanosecond timestamps, and Enhanced Packet Blocks.

/// pcapng block types and option codes used here.
const SECTION_HEADER: u32 = 0x0A0D_0D0A;
const INTERFACE_DESCRIPTION: u32 = 1;
const ENHANCED_PACKET: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USER_APPLICATION: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;
/// LINKTYPE_ETHERNET.
const LINKTYPE_ETHERNET: u16 = 1;
/// The snapshot length announced: larger than any frame written.
const SNAPLEN: u32 = 262_144;

/// Bytes an Enhanced Packet Block adds around its frame (without options).
pub(crate) const PACKET_BLOCK_OVERHEAD: usize = 32;

fn padded(len: usize) -> usize {
    (len + 3) & !3
}

/// Options as they are encoded: code, length, value, padding.
fn options_len(options: &[(u16, &[u8])]) -> usize {
    if options.is_empty() {
        return 0;
    }
    options
        .iter()
        .map(|(_, value)| 4 + padded(value.len()))
        .sum::<usize>()
        + 4
}

fn put_options(out: &mut Vec<u8>, options: &[(u16, &[u8])]) {
    if options.is_empty() {
        return;
    }
    for (code, value) in options {
        // Option values are bounded by the callers (comments of a few hundred bytes).
        let len = value.len().min(usize::from(u16::MAX));
        out.extend_from_slice(&code.to_le_bytes());
        out.extend_from_slice(&(len as u16).to_le_bytes());
        out.extend_from_slice(&value[..len]);
        out.resize(out.len() + padded(len) - len, 0);
    }
    out.extend_from_slice(&OPT_END.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
}

/// Appends a block of `kind` whose body is `body_len` bytes, filled by `fill`.
fn put_block(out: &mut Vec<u8>, kind: u32, body_len: usize, fill: impl FnOnce(&mut Vec<u8>)) {
    let total = (12 + body_len) as u32;
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    let start = out.len();
    fill(out);
    debug_assert_eq!(out.len() - start, body_len);
    out.extend_from_slice(&total.to_le_bytes());
}

/// The file header: a Section Header Block (with `comment` and `application`) and
/// the Ethernet interface every packet is captured on.
pub(crate) fn file_header(comment: &str, application: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let shb_options: [(u16, &[u8]); 2] = [
        (OPT_COMMENT, comment.as_bytes()),
        (SHB_USER_APPLICATION, application.as_bytes()),
    ];
    put_block(
        &mut out,
        SECTION_HEADER,
        16 + options_len(&shb_options),
        |out| {
            out.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
            out.extend_from_slice(&1u16.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&(-1i64).to_le_bytes());
            put_options(out, &shb_options);
        },
    );
    let idb_options: [(u16, &[u8]); 2] = [(IF_NAME, b"rtmp-rs"), (IF_TSRESOL, &[9])];
    put_block(
        &mut out,
        INTERFACE_DESCRIPTION,
        8 + options_len(&idb_options),
        |out| {
            out.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&SNAPLEN.to_le_bytes());
            put_options(out, &idb_options);
        },
    );
    out
}

/// An Enhanced Packet Block carrying `frame`, captured `nanos` after the epoch, with
/// an optional packet comment.
pub(crate) fn packet_block(out: &mut Vec<u8>, nanos: u64, frame: &[u8], comment: Option<&str>) {
    let options: Vec<(u16, &[u8])> = comment
        .map(|c| (OPT_COMMENT, c.as_bytes()))
        .into_iter()
        .collect();
    let body_len = 20 + padded(frame.len()) + options_len(&options);
    put_block(out, ENHANCED_PACKET, body_len, |out| {
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&((nanos >> 32) as u32).to_le_bytes());
        out.extend_from_slice(&(nanos as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(frame);
        out.resize(out.len() + padded(frame.len()) - frame.len(), 0);
        put_options(out, &options);
    });
}
