//! Link-layer frames to TCP segments: Ethernet (with VLAN tags), Linux cooked
//! captures (SLL and SLL2), BSD loopback (null and loop), raw IP; IPv4 and IPv6 (with
//! extension headers). Fragments and non-TCP packets are skipped.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// LINKTYPE_* numbers read here.
mod link {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const RAW: u32 = 101;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
    /// DLT_RAW as some BSDs number it in classic pcap files.
    pub const RAW_BSD_A: u32 = 12;
    pub const RAW_BSD_B: u32 = 14;
}

/// TCP flags.
pub(crate) const FIN: u8 = 0x01;
pub(crate) const SYN: u8 = 0x02;
pub(crate) const RST: u8 = 0x04;
pub(crate) const ACK: u8 = 0x10;

/// A TCP segment, as far as the frame holds it.
#[derive(Debug)]
pub(crate) struct Segment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub flags: u8,
    pub payload: &'a [u8],
    /// The IP packet was longer than the captured frame: payload bytes are missing.
    pub cut: bool,
}

/// Why a frame yields no segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    /// A link type this reader does not know.
    UnknownLink(u32),
    /// Not IPv4/IPv6, not TCP, or an IP fragment.
    NotTcp,
    /// Too short or inconsistent to parse.
    Malformed,
}

/// The TCP segment in a frame of link type `link`.
pub(crate) fn parse(link: u32, frame: &[u8]) -> Result<Segment<'_>, Skip> {
    let (ethertype, ip) = match link {
        link::ETHERNET => ethernet(frame)?,
        link::LINUX_SLL => (be16(frame, 14)?, frame.get(16..).ok_or(Skip::Malformed)?),
        link::LINUX_SLL2 => (be16(frame, 0)?, frame.get(20..).ok_or(Skip::Malformed)?),
        link::NULL | link::LOOP => {
            let family = frame.get(..4).ok_or(Skip::Malformed)?;
            let family = [family[0], family[1], family[2], family[3]];
            // DLT_NULL is in the capturing host's byte order, DLT_LOOP big-endian.
            let value = if link == link::LOOP || family[0] == 0 {
                u32::from_be_bytes(family)
            } else {
                u32::from_le_bytes(family)
            };
            let ethertype = match value {
                2 => ETHERTYPE_IPV4,
                // AF_INET6 on the BSDs, macOS and Linux.
                10 | 24 | 28 | 30 => ETHERTYPE_IPV6,
                _ => return Err(Skip::NotTcp),
            };
            (ethertype, &frame[4..])
        }
        link::RAW | link::RAW_BSD_A | link::RAW_BSD_B | link::IPV4 | link::IPV6 => {
            match frame.first().map(|b| b >> 4) {
                Some(4) => (ETHERTYPE_IPV4, frame),
                Some(6) => (ETHERTYPE_IPV6, frame),
                _ => return Err(Skip::NotTcp),
            }
        }
        other => return Err(Skip::UnknownLink(other)),
    };
    match ethertype {
        ETHERTYPE_IPV4 => ipv4(ip),
        ETHERTYPE_IPV6 => ipv6(ip),
        _ => Err(Skip::NotTcp),
    }
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const PROTO_TCP: u8 = 6;

fn be16(data: &[u8], at: usize) -> Result<u16, Skip> {
    match data.get(at..at + 2) {
        Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
        _ => Err(Skip::Malformed),
    }
}

fn be32(data: &[u8], at: usize) -> Result<u32, Skip> {
    match data.get(at..at + 4) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(Skip::Malformed),
    }
}

/// The ethertype and payload of an Ethernet frame, past any VLAN tags.
fn ethernet(frame: &[u8]) -> Result<(u16, &[u8]), Skip> {
    let mut at = 12;
    let mut ethertype = be16(frame, at)?;
    // 802.1Q and 802.1ad tags, at most two deep in practice; allow a few.
    for _ in 0..4 {
        if !matches!(ethertype, 0x8100 | 0x88A8 | 0x9100) {
            break;
        }
        at += 4;
        ethertype = be16(frame, at)?;
    }
    Ok((ethertype, frame.get(at + 2..).ok_or(Skip::Malformed)?))
}

fn ipv4(packet: &[u8]) -> Result<Segment<'_>, Skip> {
    let first = *packet.first().ok_or(Skip::Malformed)?;
    if first >> 4 != 4 {
        return Err(Skip::Malformed);
    }
    let header = usize::from(first & 0x0F) * 4;
    if header < 20 || packet.len() < header {
        return Err(Skip::Malformed);
    }
    let total = usize::from(be16(packet, 2)?);
    let fragment = be16(packet, 6)?;
    if fragment & 0x3FFF != 0 {
        // More fragments, or not the first: TCP can't be read from it alone.
        return Err(Skip::NotTcp);
    }
    if packet[9] != PROTO_TCP {
        return Err(Skip::NotTcp);
    }
    let src = IpAddr::V4(Ipv4Addr::new(
        packet[12], packet[13], packet[14], packet[15],
    ));
    let dst = IpAddr::V4(Ipv4Addr::new(
        packet[16], packet[17], packet[18], packet[19],
    ));
    // A zero total length appears on segmentation-offloaded packets: take the frame.
    let end = if total == 0 { packet.len() } else { total };
    if end < header {
        return Err(Skip::Malformed);
    }
    let cut = end > packet.len();
    tcp(src, dst, &packet[header..end.min(packet.len())], cut)
}

fn ipv6(packet: &[u8]) -> Result<Segment<'_>, Skip> {
    if packet.len() < 40 || packet[0] >> 4 != 6 {
        return Err(Skip::Malformed);
    }
    let payload_len = usize::from(be16(packet, 4)?);
    let mut next = packet[6];
    let octets = |at: usize| {
        let mut a = [0u8; 16];
        a.copy_from_slice(&packet[at..at + 16]);
        IpAddr::V6(Ipv6Addr::from(a))
    };
    let (src, dst) = (octets(8), octets(24));
    // Zero payload length: a jumbogram or an offloaded packet; take the frame.
    let end = if payload_len == 0 {
        packet.len()
    } else {
        40 + payload_len
    };
    let cut = end > packet.len();
    let mut at = 40;
    for _ in 0..8 {
        match next {
            PROTO_TCP => {
                let stop = end.min(packet.len());
                return tcp(src, dst, &packet[at.min(stop)..stop], cut);
            }
            // Hop-by-hop, routing, destination options.
            0 | 43 | 60 => {
                let len = (usize::from(*packet.get(at + 1).ok_or(Skip::Malformed)?) + 1) * 8;
                next = *packet.get(at).ok_or(Skip::Malformed)?;
                at += len;
            }
            44 => {
                let fragment = be16(packet, at + 2)?;
                if fragment & 0xFFF9 != 0 {
                    return Err(Skip::NotTcp);
                }
                next = *packet.get(at).ok_or(Skip::Malformed)?;
                at += 8;
            }
            // Authentication header.
            51 => {
                let len = (usize::from(*packet.get(at + 1).ok_or(Skip::Malformed)?) + 2) * 4;
                next = *packet.get(at).ok_or(Skip::Malformed)?;
                at += len;
            }
            _ => return Err(Skip::NotTcp),
        }
    }
    Err(Skip::NotTcp)
}

fn tcp(src: IpAddr, dst: IpAddr, segment: &[u8], cut: bool) -> Result<Segment<'_>, Skip> {
    let src_port = be16(segment, 0)?;
    let dst_port = be16(segment, 2)?;
    let seq = be32(segment, 4)?;
    let offset = usize::from(*segment.get(12).ok_or(Skip::Malformed)? >> 4) * 4;
    let flags = *segment.get(13).ok_or(Skip::Malformed)?;
    if offset < 20 || offset > segment.len() {
        // Options cut off by the snapshot length count as a cut packet with no payload.
        if offset >= 20 && cut {
            return Ok(Segment {
                src: SocketAddr::new(src, src_port),
                dst: SocketAddr::new(dst, dst_port),
                seq,
                flags,
                payload: &[],
                cut,
            });
        }
        return Err(Skip::Malformed);
    }
    Ok(Segment {
        src: SocketAddr::new(src, src_port),
        dst: SocketAddr::new(dst, dst_port),
        seq,
        flags,
        payload: &segment[offset..],
        cut,
    })
}
