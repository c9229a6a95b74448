//! The mio adapter with FFmpeg 9 on both ends: the same relay checks as the Tokio
//! server's (H.264 + AAC, and Enhanced RTMP HEVC + Opus), with a player from the
//! start and a late player receiving the source's packets.

mod common;

use common::ffmpeg::*;
use common::mio_server::MioTestServer;
use common::relay::relay_through;
use rtmp_rs::mio::{Handler, ServerConfig};

struct Open;
impl Handler for Open {}

#[test]
fn mio_relays_h264_aac_from_ffmpeg_to_ffmpeg() {
    let Some(ff) = require_ffmpeg() else { return };
    let server = MioTestServer::start(ServerConfig::default(), Open);
    relay_through(&server, &ff, &h264_aac_flv(), "mio_h264_aac", &[]);
}

#[test]
fn mio_relays_enhanced_hevc_opus_from_ffmpeg_to_ffmpeg() {
    let Some(ff) = require_ffmpeg() else { return };
    let server = MioTestServer::start(ServerConfig::default(), Open);
    relay_through(&server, &ff, &hevc_opus_flv(), "mio_hevc_opus", &[]);
}
