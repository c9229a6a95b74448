//! 200 players of our own client on one stream, all receiving every packet.

mod common;

use common::ffmpeg::require_ffmpeg;
use common::scenarios::many_players_receive_every_packet;
use common::server::TestServer;
use rtmp_rs::{RtmpHandler, ServerConfig};

struct Open;
impl RtmpHandler for Open {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_players_each_receive_every_packet() {
    // The fixture comes from FFmpeg; the stream itself is ours end to end.
    if require_ffmpeg().is_none() {
        return;
    }
    let server = TestServer::start(ServerConfig::default(), Open);
    many_players_receive_every_packet(&server, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_players_on_two_workers_each_receive_every_packet() {
    if require_ffmpeg().is_none() {
        return;
    }
    // Players and the publisher are dealt to two single-threaded workers, so most
    // deliveries cross from the publisher's worker to the other one.
    let server = TestServer::start(ServerConfig::default().workers(2), Open);
    many_players_receive_every_packet(&server, 200).await;
}
