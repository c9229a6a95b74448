//! Capture files to link-layer packets, with the `pcap-file` crate: classic pcap
//! (micro- and nanosecond, either byte order) and pcapng (any number of sections and
//! interfaces, each with its own link type and timestamp resolution).

use super::ReplayError;
use crate::capture::{CaptureMeta, TRUNCATION_COMMENT};
use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::SectionHeaderOption;
use pcap_file::pcapng::{Block, PcapNgParser};
use pcap_file::PcapError;
use std::borrow::Cow;
use std::time::Duration;

/// One captured frame.
#[derive(Debug)]
pub(crate) struct Packet<'a> {
    /// Capture time since the Unix epoch.
    pub time: Duration,
    /// The link type (LINKTYPE_* number).
    pub link: u32,
    /// The frame as captured (possibly cut at the snapshot length).
    pub data: Cow<'a, [u8]>,
}

/// What the file says beyond its packets.
#[derive(Debug, Default)]
pub(crate) struct FileInfo {
    /// Our own metadata, if the file was written by [`crate::capture`].
    pub meta: Option<CaptureMeta>,
    /// Whether the file is pcapng (else classic pcap).
    pub pcapng: bool,
    /// When the capture was cut at its size bound, if it was.
    pub truncated_at: Option<Duration>,
    /// Whether the file ends in the middle of a block or packet.
    pub cut_short: bool,
}

/// Calls `each` with every packet of `file`, in file order.
pub(crate) fn read_packets<'a>(
    file: &'a [u8],
    mut each: impl FnMut(Packet<'a>) -> Result<(), ReplayError>,
) -> Result<FileInfo, ReplayError> {
    match file.get(..4) {
        Some([0x0A, 0x0D, 0x0D, 0x0A]) => read_pcapng(file, each),
        Some(
            [0xA1, 0xB2, 0xC3, 0xD4]
            | [0xD4, 0xC3, 0xB2, 0xA1]
            | [0xA1, 0xB2, 0x3C, 0x4D]
            | [0x4D, 0x3C, 0xB2, 0xA1],
        ) => {
            let (mut rest, parser) = PcapParser::new(file).map_err(bad_file)?;
            let link = u32::from(parser.header().datalink);
            let mut info = FileInfo::default();
            while !rest.is_empty() {
                match parser.next_packet(rest) {
                    Ok((next, packet)) => {
                        rest = next;
                        each(Packet {
                            time: packet.timestamp,
                            link,
                            data: packet.data,
                        })?;
                    }
                    Err(PcapError::IncompleteBuffer) => {
                        info.cut_short = true;
                        break;
                    }
                    Err(e) => return Err(bad_file(e)),
                }
            }
            Ok(info)
        }
        _ => Err(ReplayError::NotACapture),
    }
}

fn bad_file(e: PcapError) -> ReplayError {
    ReplayError::Malformed(e.to_string())
}

/// An interface's link type and how its timestamps convert to nanoseconds.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: u32,
    /// `if_tsresol`: bit 7 clear = 10^-n seconds, set = 2^-n seconds.
    resolution: u8,
    /// `if_tsoffset`, seconds added to every timestamp.
    offset: u64,
}

impl Interface {
    fn new(block: &InterfaceDescriptionBlock<'_>) -> Self {
        let mut interface = Interface {
            link: u32::from(block.linktype),
            resolution: 6,
            offset: 0,
        };
        for option in &block.options {
            match option {
                InterfaceDescriptionOption::IfTsResol(r) => interface.resolution = *r,
                InterfaceDescriptionOption::IfTsOffset(o) => interface.offset = *o,
                _ => {}
            }
        }
        interface
    }

    /// A raw timestamp (units of the interface's resolution) as time since the epoch.
    fn time(&self, raw: u64) -> Duration {
        let raw = u128::from(raw);
        let nanos = if self.resolution & 0x80 == 0 {
            let exponent = u32::from(self.resolution);
            if exponent <= 9 {
                raw * 10u128.pow(9 - exponent)
            } else {
                raw / 10u128.pow((exponent - 9).min(38))
            }
        } else {
            let shift = u32::from(self.resolution & 0x7F).min(127);
            (raw * 1_000_000_000) >> shift
        };
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
        Duration::from_nanos(nanos).saturating_add(Duration::from_secs(self.offset))
    }
}

fn read_pcapng<'a>(
    file: &'a [u8],
    mut each: impl FnMut(Packet<'a>) -> Result<(), ReplayError>,
) -> Result<FileInfo, ReplayError> {
    let mut info = FileInfo {
        pcapng: true,
        ..FileInfo::default()
    };
    let (mut rest, mut parser) = PcapNgParser::new(file).map_err(bad_file)?;
    note_section(&mut info, parser.section().options.iter());
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut last_time = Duration::ZERO;
    while !rest.is_empty() {
        let (next, block) = match parser.next_block(rest) {
            Ok(found) => found,
            Err(PcapError::IncompleteBuffer) => {
                info.cut_short = true;
                break;
            }
            Err(e) => return Err(bad_file(e)),
        };
        rest = next;
        match block {
            Block::SectionHeader(section) => {
                interfaces.clear();
                note_section(&mut info, section.options.iter());
            }
            Block::InterfaceDescription(interface) => interfaces.push(Interface::new(&interface)),
            Block::EnhancedPacket(packet) => {
                let interface = interface(&interfaces, packet.interface_id)?;
                // pcap-file hands back the raw timestamp units as nanoseconds.
                let raw = u64::try_from(packet.timestamp.as_nanos()).unwrap_or(u64::MAX);
                let time = interface.time(raw);
                last_time = time;
                let truncation = packet.options.iter().any(
                    |o| matches!(o, EnhancedPacketOption::Comment(c) if c == TRUNCATION_COMMENT),
                );
                if truncation {
                    info.truncated_at = Some(time);
                    continue;
                }
                let data = packet.data;
                each(Packet {
                    time,
                    link: interface.link,
                    data,
                })?;
            }
            Block::SimplePacket(packet) => {
                let interface = interface(&interfaces, 0)?;
                let data = packet.data;
                each(Packet {
                    time: last_time,
                    link: interface.link,
                    data,
                })?;
            }
            Block::Packet(packet) => {
                let interface = interface(&interfaces, u32::from(packet.interface_id))?;
                let time = interface.time(packet.timestamp);
                last_time = time;
                let data = packet.data;
                each(Packet {
                    time,
                    link: interface.link,
                    data,
                })?;
            }
            _ => {}
        }
    }
    Ok(info)
}

fn interface(interfaces: &[Interface], id: u32) -> Result<Interface, ReplayError> {
    usize::try_from(id)
        .ok()
        .and_then(|i| interfaces.get(i))
        .copied()
        .ok_or_else(|| ReplayError::Malformed(format!("packet on undeclared interface {id}")))
}

fn note_section<'s>(
    info: &mut FileInfo,
    options: impl Iterator<Item = &'s SectionHeaderOption<'s>>,
) {
    for option in options {
        if let SectionHeaderOption::Comment(comment) = option {
            if let Ok(meta) = comment.parse::<CaptureMeta>() {
                info.meta = Some(meta);
            }
        }
    }
}
