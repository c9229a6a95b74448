//! A player that stops reading does not slow the publisher or other players; the
//! server drops its video (never its audio) down to the next keyframe, and when it
//! reads again it gets continuous audio and video that restarts at a keyframe.

mod common;

use common::scenarios::{stall_hub_config, stalled_player_hurts_nobody};
use common::server::TestServer;
use rtmp_rs::{RtmpHandler, ServerConfig};

struct Open;
impl RtmpHandler for Open {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_player_hurts_nobody_and_resumes_from_a_keyframe() {
    let config = ServerConfig::default().hub_config(stall_hub_config());
    stalled_player_hurts_nobody(&TestServer::start(config, Open)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_single_threaded_workers_a_stalled_player_hurts_nobody() {
    // One worker: the stalled player, the publisher and the healthy player share a thread.
    let config = (ServerConfig::default().hub_config(stall_hub_config())).workers(1);
    stalled_player_hurts_nobody(&TestServer::start(config, Open)).await;
}
