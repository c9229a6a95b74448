//! Video configuration records: avcC and the H.264 SPS (ISO/IEC 14496-15, ITU-T
//! H.264 7.3.2.1), hvcC and the H.265 SPS (14496-15, H.265 7.3.2.2), av1C and the AV1
//! sequence header OBU (AV1 ISOBMFF binding, AV1 5.5), and vpcC (VP codec ISO
//! binding). Each parser fills what it can read and stops at the first problem.

use super::bits::{unescape_nal, BitReader};
use super::{decimal_level, ChromaFormat, CodecInfo};
use crate::media::wire::Reader;

/// The first parameter set of `count` length-prefixed (u16) NAL units.
fn first_nal<'a>(r: &mut Reader<'a>, count: u16) -> Option<&'a [u8]> {
    let mut first = None;
    for _ in 0..count {
        let len = r.u16("").ok()?;
        let nal = r.take(len.into(), "").ok()?;
        first = first.or(Some(nal));
    }
    first
}

/// Chroma format from a `chroma_format_idc` (AVC, HEVC).
fn chroma_from_idc(idc: u32) -> Option<ChromaFormat> {
    match idc {
        0 => Some(ChromaFormat::Monochrome),
        1 => Some(ChromaFormat::Yuv420),
        2 => Some(ChromaFormat::Yuv422),
        3 => Some(ChromaFormat::Yuv444),
        _ => None,
    }
}

/// Width and height of a coded picture after cropping, in chroma-dependent units.
fn cropped(
    coded: (u64, u64),
    crop_unit: (u64, u64),
    window: [u64; 4], // left, right, top, bottom
) -> (Option<u32>, Option<u32>) {
    let [left, right, top, bottom] = window;
    let width = crop_unit
        .0
        .checked_mul(left + right)
        .and_then(|c| coded.0.checked_sub(c));
    let height = crop_unit
        .1
        .checked_mul(top + bottom)
        .and_then(|c| coded.1.checked_sub(c));
    (
        width.and_then(|w| u32::try_from(w).ok()),
        height.and_then(|h| u32::try_from(h).ok()),
    )
}

/// avcC: profile and level from the record, the rest from its first SPS.
pub(super) fn avc(record: &[u8], info: &mut CodecInfo) -> Option<()> {
    let mut r = Reader::new(record);
    let [_version, profile, compatibility, level, _length_size, sps_count] = r.array("").ok()?;
    info.profile = Some(match profile {
        66 if compatibility & 0x40 != 0 => "Constrained Baseline".to_owned(),
        66 => "Baseline".to_owned(),
        77 => "Main".to_owned(),
        88 => "Extended".to_owned(),
        100 => "High".to_owned(),
        110 => "High 10".to_owned(),
        122 => "High 4:2:2".to_owned(),
        244 => "High 4:4:4 Predictive".to_owned(),
        44 => "CAVLC 4:4:4 Intra".to_owned(),
        other => other.to_string(),
    });
    info.level = Some(match level {
        9 => "1b".to_owned(),
        other => decimal_level(other.into()),
    });
    let sps = first_nal(&mut r, (sps_count & 0x1F).into())?;
    avc_sps(&unescape_nal(sps), info)
}

/// Skips a `scaling_list()` of `size` coefficients.
fn skip_scaling_list(b: &mut BitReader<'_>, size: usize) -> Option<()> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            next = (last + i64::from(b.se()?)).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Some(())
}

/// The H.264 SPS fields up to the frame cropping window.
fn avc_sps(rbsp: &[u8], info: &mut CodecInfo) -> Option<()> {
    let mut b = BitReader::new(rbsp);
    b.skip(8)?; // NAL unit header
    let profile_idc = b.bits(8)?;
    b.skip(16)?; // constraint flags, level_idc
    b.ue()?; // seq_parameter_set_id
    let (mut chroma_format_idc, mut separate_planes, mut bit_depth) = (1, false, 8);
    if matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format_idc = b.ue()?;
        if chroma_format_idc == 3 {
            separate_planes = b.bit()?;
        }
        bit_depth = b.ue()?.checked_add(8)?;
        b.ue()?; // bit_depth_chroma_minus8
        b.skip(1)?; // qpprime_y_zero_transform_bypass_flag
        if b.bit()? {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if b.bit()? {
                    skip_scaling_list(&mut b, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    info.chroma = chroma_from_idc(chroma_format_idc);
    info.bit_depth = u8::try_from(bit_depth).ok();
    b.ue()?; // log2_max_frame_num_minus4
    match b.ue()? {
        0 => {
            b.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            b.skip(1)?; // delta_pic_order_always_zero_flag
            b.se()?; // offset_for_non_ref_pic
            b.se()?; // offset_for_top_to_bottom_field
            for _ in 0..b.ue()? {
                b.se()?; // offset_for_ref_frame
            }
        }
        _ => {}
    }
    b.ue()?; // max_num_ref_frames
    b.skip(1)?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = u64::from(b.ue()?) + 1;
    let height_map_units = u64::from(b.ue()?) + 1;
    let frame_mbs_only = b.bit()?;
    if !frame_mbs_only {
        b.skip(1)?; // mb_adaptive_frame_field_flag
    }
    b.skip(1)?; // direct_8x8_inference_flag
    let mut window = [0u64; 4];
    if b.bit()? {
        for edge in &mut window {
            *edge = b.ue()?.into();
        }
    }
    let field_factor = if frame_mbs_only { 1 } else { 2 };
    let chroma_array_type = if separate_planes {
        0
    } else {
        chroma_format_idc
    };
    let crop_unit = match chroma_array_type {
        1 => (2, 2 * field_factor),
        2 => (2, field_factor),
        _ => (1, field_factor),
    };
    let coded = (width_mbs * 16, field_factor * height_map_units * 16);
    (info.width, info.height) = cropped(coded, crop_unit, window);
    Some(())
}

/// hvcC: profile, level, chroma and bit depth from the record, size from its SPS.
pub(super) fn hevc(record: &[u8], info: &mut CodecInfo) -> Option<()> {
    let mut r = Reader::new(record);
    let fixed: [u8; 23] = r.array("").ok()?;
    let [_version, profile, ..] = fixed;
    info.profile = Some(match profile & 0x1F {
        1 => "Main".to_owned(),
        2 => "Main 10".to_owned(),
        3 => "Main Still Picture".to_owned(),
        4 => "Range Extensions".to_owned(),
        5 => "High Throughput".to_owned(),
        9 => "Screen Content Coding".to_owned(),
        other => other.to_string(),
    });
    let level = u32::from(fixed[12]);
    info.level = Some(format!("{}.{}", level / 30, level % 30 / 3));
    info.chroma = chroma_from_idc((fixed[16] & 0x03).into());
    info.bit_depth = Some((fixed[17] & 0x07) + 8);
    for _ in 0..fixed[22] {
        let nal_type = r.u8("").ok()? & 0x3F;
        let count = r.u16("").ok()?;
        let first = first_nal(&mut r, count);
        if nal_type == 33 {
            return hevc_sps(&unescape_nal(first?), info);
        }
    }
    None
}

/// The H.265 SPS fields up to the bit depth.
fn hevc_sps(rbsp: &[u8], info: &mut CodecInfo) -> Option<()> {
    let mut b = BitReader::new(rbsp);
    b.skip(16 + 4)?; // NAL unit header, sps_video_parameter_set_id
    let sub_layers = b.bits(3)? as usize; // sps_max_sub_layers_minus1
    b.skip(1)?; // sps_temporal_id_nesting_flag
                // profile_tier_level(1, sps_max_sub_layers_minus1): the general part ...
    b.skip(2 + 1 + 5 + 32 + 48 + 8)?;
    // ... then per sub-layer presence flags, padding to 8 entries, and the parts.
    let mut present = [(false, false); 8];
    for flags in present.iter_mut().take(sub_layers) {
        *flags = (b.bit()?, b.bit()?);
    }
    if sub_layers > 0 {
        b.skip(2 * (8 - sub_layers))?;
    }
    for &(profile, level) in present.iter().take(sub_layers) {
        b.skip(if profile { 88 } else { 0 } + if level { 8 } else { 0 })?;
    }
    b.ue()?; // sps_seq_parameter_set_id
    let chroma_format_idc = b.ue()?;
    let separate_planes = chroma_format_idc == 3 && b.bit()?;
    let coded = (u64::from(b.ue()?), u64::from(b.ue()?));
    let mut window = [0u64; 4];
    if b.bit()? {
        for edge in &mut window {
            *edge = b.ue()?.into();
        }
    }
    let crop_unit = match (separate_planes, chroma_format_idc) {
        (false, 1) => (2, 2),
        (false, 2) => (2, 1),
        _ => (1, 1),
    };
    (info.width, info.height) = cropped(coded, crop_unit, window);
    info.chroma = chroma_from_idc(chroma_format_idc);
    info.bit_depth = u8::try_from(b.ue()?.checked_add(8)?).ok();
    Some(())
}

/// av1C: profile, level, bit depth and chroma from the record, the maximum frame
/// size from the sequence header OBU among its configOBUs.
pub(super) fn av1(record: &[u8], info: &mut CodecInfo) -> Option<()> {
    let mut r = Reader::new(record);
    let [marker_version, profile_level, flags, _delay] = r.array("").ok()?;
    if marker_version != 0x81 {
        return None;
    }
    let profile = profile_level >> 5;
    info.profile = Some(match profile {
        0 => "Main".to_owned(),
        1 => "High".to_owned(),
        2 => "Professional".to_owned(),
        other => other.to_string(),
    });
    info.level = Some(match profile_level & 0x1F {
        31 => "max".to_owned(),
        idx => format!("{}.{}", 2 + (idx >> 2), idx & 3),
    });
    let (high_bitdepth, twelve_bit) = (flags & 0x40 != 0, flags & 0x20 != 0);
    info.bit_depth = Some(match (high_bitdepth, twelve_bit && profile == 2) {
        (true, true) => 12,
        (true, false) => 10,
        (false, _) => 8,
    });
    info.chroma = Some(
        match (flags & 0x10 != 0, flags & 0x08 != 0, flags & 0x04 != 0) {
            (true, _, _) => ChromaFormat::Monochrome,
            (false, true, true) => ChromaFormat::Yuv420,
            (false, true, false) => ChromaFormat::Yuv422,
            (false, false, _) => ChromaFormat::Yuv444,
        },
    );
    while !r.is_empty() {
        let header = r.u8("").ok()?;
        if header & 0x04 != 0 {
            r.u8("").ok()?; // obu_extension_header
        }
        let size = if header & 0x02 != 0 {
            leb128(&mut r)?
        } else {
            r.len() // the rest
        };
        let payload = r.take(size, "").ok()?;
        if (header >> 3) & 0x0F == 1 {
            return av1_sequence_header(payload, info);
        }
    }
    None
}

/// An unsigned LEB128 value of at most 8 bytes.
fn leb128(r: &mut Reader<'_>) -> Option<usize> {
    let mut value = 0u64;
    for i in 0..8 {
        let byte = r.u8("").ok()?;
        value |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return usize::try_from(value).ok();
        }
    }
    None
}

/// The AV1 sequence header fields up to the maximum frame size.
fn av1_sequence_header(obu: &[u8], info: &mut CodecInfo) -> Option<()> {
    let mut b = BitReader::new(obu);
    b.skip(3 + 1)?; // seq_profile, still_picture
    if b.bit()? {
        b.skip(5)?; // reduced_still_picture_header: seq_level_idx[0]
    } else {
        let mut decoder_model = false;
        let mut buffer_delay_bits = 0;
        if b.bit()? {
            // timing_info()
            b.skip(64)?; // num_units_in_display_tick, time_scale
            if b.bit()? {
                // equal_picture_interval: num_ticks_per_picture_minus_1, uvlc()
                let mut zeros = 0;
                while !b.bit()? {
                    zeros += 1;
                    if zeros >= 32 {
                        return None;
                    }
                }
                b.skip(zeros)?;
            }
            decoder_model = b.bit()?;
            if decoder_model {
                buffer_delay_bits = b.bits(5)? as usize + 1;
                b.skip(32 + 5 + 5)?;
            }
        }
        let initial_display_delay = b.bit()?;
        for _ in 0..=b.bits(5)? {
            b.skip(12)?; // operating_point_idc
            if b.bits(5)? > 7 {
                b.skip(1)?; // seq_tier
            }
            if decoder_model && b.bit()? {
                b.skip(2 * buffer_delay_bits + 1)?;
            }
            if initial_display_delay && b.bit()? {
                b.skip(4)?;
            }
        }
    }
    let width_bits = b.bits(4)? + 1;
    let height_bits = b.bits(4)? + 1;
    info.width = b.bits(width_bits)?.checked_add(1);
    info.height = b.bits(height_bits)?.checked_add(1);
    Some(())
}

/// vpcC: profile, level, bit depth and chroma subsampling.
pub(super) fn vpx(record: &[u8], info: &mut CodecInfo) -> Option<()> {
    // As a FullBox payload (version 1, flags 0) or the bare record.
    let body = match record {
        [1, 0, 0, 0, body @ ..]
            if matches!(body, [_, _, _, _, _, _, a, b, ..]
            if usize::from(u16::from_be_bytes([*a, *b])) + 8 == body.len()) =>
        {
            body
        }
        _ => record,
    };
    let mut r = Reader::new(body);
    let [profile, level, depth_chroma] = r.array("").ok()?;
    info.profile = Some(format!("Profile {profile}"));
    info.level = Some(decimal_level(level.into()));
    info.bit_depth = Some(depth_chroma >> 4);
    info.chroma = match (depth_chroma >> 1) & 0x07 {
        0 | 1 => Some(ChromaFormat::Yuv420),
        2 => Some(ChromaFormat::Yuv422),
        3 => Some(ChromaFormat::Yuv444),
        _ => None,
    };
    Some(())
}
