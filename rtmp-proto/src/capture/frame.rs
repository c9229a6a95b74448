//! Synthetic Ethernet + IPv4/IPv6 + TCP framing for one connection, so capture
//! tools see a well-formed TCP stream: handshake, sequence and acknowledgement
//! numbers that add up, valid checksums, and a FIN exchange at the end.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// Most payload bytes in one segment: keeps every IPv4 and IPv6 packet well under
/// the 65 535-byte IP length limit.
pub(crate) const MAX_SEGMENT: usize = 65_000;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const PROTO_TCP: u8 = 6;

/// TCP flags.
pub(crate) const FIN: u8 = 0x01;
pub(crate) const SYN: u8 = 0x02;
pub(crate) const PSH: u8 = 0x08;
pub(crate) const ACK: u8 = 0x10;

/// Which way a segment goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Way {
    /// From the recording side to its peer.
    Out,
    /// From the peer to the recording side.
    In,
}

/// One endpoint's address and next sequence number.
#[derive(Debug)]
struct End {
    ip: IpAddr,
    port: u16,
    mac: [u8; 6],
    next_seq: u32,
}

/// Builds the frames of one connection, tracking both sides' sequence numbers.
#[derive(Debug)]
pub(crate) struct Framer {
    local: End,
    peer: End,
}

impl Framer {
    /// A connection between `local` and `peer`. Mixed address families are written as
    /// IPv6 (IPv4 addresses mapped); initial sequence numbers derive from `salt`.
    pub(crate) fn new(local: SocketAddr, peer: SocketAddr, salt: u64) -> Self {
        let (local_ip, peer_ip) = match (local.ip(), peer.ip()) {
            (IpAddr::V4(l), IpAddr::V4(p)) => (IpAddr::V4(l), IpAddr::V4(p)),
            (l, p) => (IpAddr::V6(as_v6(l)), IpAddr::V6(as_v6(p))),
        };
        let isn = salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Framer {
            local: End {
                ip: local_ip,
                port: local.port(),
                mac: [0x02, 0, 0, 0, 0, 0x01],
                next_seq: isn as u32,
            },
            peer: End {
                ip: peer_ip,
                port: peer.port(),
                mac: [0x02, 0, 0, 0, 0, 0x02],
                next_seq: (isn >> 32) as u32,
            },
        }
    }

    /// A segment going `way` with `flags` and `payload` (at most [`MAX_SEGMENT`]
    /// bytes); SYN and FIN count one sequence number.
    pub(crate) fn segment(&mut self, way: Way, flags: u8, payload: &[u8]) -> Vec<u8> {
        let (from, to) = match way {
            Way::Out => (&mut self.local, &self.peer),
            Way::In => (&mut self.peer, &self.local),
        };
        let seq = from.next_seq;
        let ack = if flags & ACK != 0 { to.next_seq } else { 0 };
        let advance = payload.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        from.next_seq = from.next_seq.wrapping_add(advance);
        let mut tcp = Vec::with_capacity(20 + payload.len());
        tcp.extend_from_slice(&from.port.to_be_bytes());
        tcp.extend_from_slice(&to.port.to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&ack.to_be_bytes());
        tcp.push(5 << 4);
        tcp.push(flags);
        tcp.extend_from_slice(&65_535u16.to_be_bytes());
        tcp.extend_from_slice(&[0, 0, 0, 0]);
        tcp.extend_from_slice(payload);
        let checksum = tcp_checksum(from.ip, to.ip, &tcp);
        tcp[16..18].copy_from_slice(&checksum.to_be_bytes());

        let mut frame = Vec::with_capacity(14 + 40 + tcp.len());
        frame.extend_from_slice(&to.mac);
        frame.extend_from_slice(&from.mac);
        match (from.ip, to.ip) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                frame.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
                let mut ip = [0u8; 20];
                ip[0] = 0x45;
                ip[2..4].copy_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
                ip[6] = 0x40; // don't fragment
                ip[8] = 64;
                ip[9] = PROTO_TCP;
                ip[12..16].copy_from_slice(&src.octets());
                ip[16..20].copy_from_slice(&dst.octets());
                let checksum = !fold(sum_words(&ip, 0));
                ip[10..12].copy_from_slice(&checksum.to_be_bytes());
                frame.extend_from_slice(&ip);
            }
            (src, dst) => {
                frame.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
                frame.extend_from_slice(&[0x60, 0, 0, 0]);
                frame.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
                frame.push(PROTO_TCP);
                frame.push(64);
                frame.extend_from_slice(&as_v6(src).octets());
                frame.extend_from_slice(&as_v6(dst).octets());
            }
        }
        frame.extend_from_slice(&tcp);
        frame
    }
}

fn as_v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Adds `data` as big-endian 16-bit words to `sum`.
fn sum_words(data: &[u8], mut sum: u64) -> u64 {
    let mut words = data.chunks_exact(2);
    for word in &mut words {
        sum += u64::from(u16::from_be_bytes([word[0], word[1]]));
    }
    if let [last] = words.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u64) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    sum as u16
}

/// The TCP checksum over the pseudo-header and `segment` (whose checksum field is 0).
fn tcp_checksum(src: IpAddr, dst: IpAddr, segment: &[u8]) -> u16 {
    let mut sum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let sum = sum_words(&s.octets(), 0);
            sum_words(&d.octets(), sum)
        }
        (s, d) => {
            let sum = sum_words(&as_v6(s).octets(), 0);
            sum_words(&as_v6(d).octets(), sum)
        }
    };
    sum += u64::from(PROTO_TCP) + segment.len() as u64;
    !fold(sum_words(segment, sum))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_verify_and_sequence_numbers_add_up() {
        let local: SocketAddr = "127.0.0.1:1935".parse().unwrap();
        let peer: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let mut framer = Framer::new(local, peer, 7);
        let syn = framer.segment(Way::In, SYN, &[]);
        let data = framer.segment(Way::In, ACK | PSH, b"abc");
        let seq = |f: &[u8]| u32::from_be_bytes([f[38], f[39], f[40], f[41]]);
        assert_eq!(seq(&data), seq(&syn).wrapping_add(1));
        // A valid checksum sums to 0xFFFF over the header / pseudo-header.
        assert_eq!(fold(sum_words(&data[14..34], 0)), 0xFFFF);
        let tcp = &data[34..];
        let pseudo = sum_words(&[127, 0, 0, 1, 127, 0, 0, 1], 0) + 6 + tcp.len() as u64;
        assert_eq!(fold(sum_words(tcp, pseudo)), 0xFFFF);
        let reply = framer.segment(Way::Out, ACK, b"xy");
        let ack = u32::from_be_bytes([reply[42], reply[43], reply[44], reply[45]]);
        assert_eq!(ack, seq(&data).wrapping_add(3));
    }

    #[test]
    fn mixed_families_are_written_as_ipv6() {
        let local: SocketAddr = "[::1]:1935".parse().unwrap();
        let peer: SocketAddr = "10.0.0.1:50000".parse().unwrap();
        let frame = Framer::new(local, peer, 1).segment(Way::In, SYN, &[]);
        assert_eq!(&frame[12..14], &ETHERTYPE_IPV6.to_be_bytes());
        assert_eq!(frame.len(), 14 + 40 + 20);
    }
}
