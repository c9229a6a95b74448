//! Audio configuration: AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1, with explicit
//! and backward-compatible SBR/PS signalling), OpusHead (RFC 7845 5.1), FLAC
//! STREAMINFO, and AC-3/E-AC-3 sync frames (ATSC A/52). Each parser fills what it can
//! read and stops at the first problem.

use super::bits::BitReader;
use super::CodecInfo;

/// AAC sampling frequencies by samplingFrequencyIndex.
const AAC_RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

/// `GetAudioObjectType()`.
fn object_type(b: &mut BitReader<'_>) -> Option<u32> {
    match b.bits(5)? {
        31 => Some(32 + b.bits(6)?),
        aot => Some(aot),
    }
}

/// A samplingFrequencyIndex (15: an explicit 24-bit frequency); `Some(None)` for
/// a reserved index.
fn frequency(b: &mut BitReader<'_>) -> Option<Option<u32>> {
    match b.bits(4)? {
        15 => Some(Some(b.bits(24)?)),
        index => Some(AAC_RATES.get(index as usize).copied()),
    }
}

/// AudioSpecificConfig: object type, output sample rate and channels.
pub(super) fn aac(config: &[u8], info: &mut CodecInfo) -> Option<()> {
    let mut b = BitReader::new(config);
    let mut aot = object_type(&mut b)?;
    let core_rate = frequency(&mut b)?;
    let channel_config = b.bits(4)?;
    let (mut sbr, mut ps, mut sbr_rate) = (false, false, None);
    if aot == 5 || aot == 29 {
        // Explicit hierarchical signalling: the core object type follows.
        (sbr, ps) = (true, aot == 29);
        sbr_rate = frequency(&mut b)?;
        aot = object_type(&mut b)?;
    } else if (1..=4).contains(&aot) && channel_config != 0 {
        // Backward-compatible signalling after the GASpecificConfig.
        let mut sync_extension = || -> Option<()> {
            b.skip(1)?; // frameLengthFlag
            if b.bit()? {
                b.skip(14)?; // coreCoderDelay
            }
            if b.bit()? {
                b.skip(1)?; // extensionFlag3
            }
            if b.remaining() < 16 || b.bits(11)? != 0x2B7 || object_type(&mut b)? != 5 {
                return None;
            }
            sbr = b.bit()?;
            if sbr {
                sbr_rate = frequency(&mut b)?;
                if b.remaining() >= 12 && b.bits(11)? == 0x548 {
                    ps = b.bit()?;
                }
            }
            Some(())
        };
        let _ = sync_extension();
    }
    info.profile = Some(match (ps, sbr, aot) {
        (true, _, _) => "HE-AACv2".to_owned(),
        (false, true, _) => "HE-AAC".to_owned(),
        (false, false, 1) => "Main".to_owned(),
        (false, false, 2) => "LC".to_owned(),
        (false, false, 3) => "SSR".to_owned(),
        (false, false, 4) => "LTP".to_owned(),
        (false, false, 23) => "LD".to_owned(),
        (false, false, 39) => "ELD".to_owned(),
        (false, false, other) => format!("object type {other}"),
    });
    info.sample_rate = match sbr {
        true => sbr_rate.or(core_rate.and_then(|rate| rate.checked_mul(2))),
        false => core_rate,
    };
    info.channels = match channel_config {
        1 if ps => Some(2),
        1..=6 => u8::try_from(channel_config).ok(),
        7 | 12 | 14 => Some(8),
        11 => Some(7),
        13 => Some(24),
        _ => None, // 0: a program_config_element says
    };
    Some(())
}

/// OpusHead: channels, input sample rate and pre-skip.
pub(super) fn opus(config: &[u8], info: &mut CodecInfo) -> Option<()> {
    let rest = config.strip_prefix(b"OpusHead")?;
    let &[version, channels, skip0, skip1, r0, r1, r2, r3, ..] = rest else {
        return None;
    };
    if version >> 4 != 0 {
        return None; // an incompatible major version
    }
    info.channels = Some(channels);
    info.pre_skip = Some(u16::from_le_bytes([skip0, skip1]));
    info.sample_rate = Some(u32::from_le_bytes([r0, r1, r2, r3])).filter(|&rate| rate != 0);
    Some(())
}

/// FLAC STREAMINFO, optionally after the `fLaC` signature and a block header.
pub(super) fn flac(config: &[u8], info: &mut CodecInfo) -> Option<()> {
    let mut data = config.strip_prefix(b"fLaC").unwrap_or(config);
    if let [kind, 0, 0, 34, streaminfo @ ..] = data {
        if kind & 0x7F == 0 && streaminfo.len() >= 34 {
            data = streaminfo;
        }
    }
    let mut b = BitReader::new(data);
    b.skip(16 + 16 + 24 + 24)?; // block sizes, frame sizes
    let rate = b.bits(20)?;
    let channels = b.bits(3)? + 1;
    let bits_per_sample = b.bits(5)? + 1;
    info.sample_rate = Some(rate).filter(|&rate| rate != 0);
    info.channels = u8::try_from(channels).ok();
    info.bit_depth = u8::try_from(bits_per_sample).ok();
    Some(())
}

/// An AC-3 or E-AC-3 sync frame: sample rate and channels of the (independent)
/// stream. Empty input, the usual sequence header, yields nothing.
pub(super) fn ac3(frame: &[u8], info: &mut CodecInfo) -> Option<()> {
    /// Full-bandwidth channels by acmod.
    const CHANNELS: [u8; 8] = [2, 1, 2, 3, 3, 4, 4, 5];
    const RATES: [u32; 3] = [48_000, 44_100, 32_000];
    let &[0x0B, 0x77, _, _, b4, b5, ref rest @ ..] = frame else {
        return None;
    };
    let fscod = usize::from(b4 >> 6);
    let (rate, acmod, lfe) = if b5 >> 3 <= 10 {
        // AC-3 (bsid <= 10): BSI after bsid/bsmod.
        let mut b = BitReader::new(rest);
        let acmod = b.bits(3)?;
        let mixes = [acmod & 1 != 0 && acmod != 1, acmod & 4 != 0, acmod == 2];
        b.skip(2 * mixes.iter().filter(|&&present| present).count())?;
        (RATES.get(fscod).copied(), acmod, b.bit()?)
    } else {
        // E-AC-3: fscod, numblkscod/fscod2, acmod and lfeon share one byte.
        let rate = match fscod {
            3 => [24_000, 22_050, 16_000]
                .get(usize::from((b4 >> 4) & 3))
                .copied(),
            _ => RATES.get(fscod).copied(),
        };
        (rate, u32::from((b4 >> 1) & 7), b4 & 1 != 0)
    };
    info.sample_rate = rate;
    info.channels = CHANNELS
        .get(acmod as usize)
        .map(|&full| full + u8::from(lfe));
    Some(())
}
