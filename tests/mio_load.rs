//! The mio adapter's fan-out from one thread: 200 players each receiving every
//! packet, and a stalled player that stalls neither the loop nor anyone else (the
//! same scenarios, bounds and assertions as the Tokio server's).

mod common;

use common::ffmpeg::require_ffmpeg;
use common::mio_server::MioTestServer;
use common::scenarios::stalled_player_hurts_nobody;
use common::scenarios::{many_players_receive_every_packet, stall_hub_config};
use rtmp_rs::mio::{Handler, ServerConfig};

struct Open;
impl Handler for Open {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mio_serves_two_hundred_players_from_one_thread() {
    if require_ffmpeg().is_none() {
        return;
    }
    let server = MioTestServer::start(ServerConfig::default(), Open);
    many_players_receive_every_packet(&server, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mio_stalled_player_stalls_neither_the_loop_nor_other_players() {
    let config = ServerConfig {
        hub: stall_hub_config(),
        ..ServerConfig::default()
    };
    stalled_player_hurts_nobody(&MioTestServer::start(config, Open)).await;
}
