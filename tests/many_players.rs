//! 200 players of our own client on one stream, all receiving every packet.

mod common;

use common::ffmpeg::{h264_aac_flv, require_ffmpeg};
use common::server::TestServer;
use rtmp_rs::client::{
    publish_flv_file, ClientConfig, ClientEvent, Pace, RtmpPublisher, RtmpPuller,
};
use rtmp_rs::proto::flv::{FlvReader, TAG_AUDIO, TAG_VIDEO};
use rtmp_rs::{RtmpHandler, ServerConfig};
use std::time::Duration;

struct Open;
impl RtmpHandler for Open {}

const PLAYERS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_players_each_receive_every_packet() {
    // The fixture comes from FFmpeg; the stream itself is ours end to end.
    if require_ffmpeg().is_none() {
        return;
    }
    let input = h264_aac_flv();
    let mut reader = FlvReader::new();
    reader.push(&std::fs::read(&input).unwrap());
    let mut media = 0usize;
    while let Some(tag) = reader.next_tag().unwrap() {
        media += usize::from(tag.tag_type == TAG_AUDIO || tag.tag_type == TAG_VIDEO);
    }

    let server = TestServer::start(ServerConfig::default(), Open);
    let url = server.url("live", "crowd");
    let mut players = Vec::new();
    for _ in 0..PLAYERS {
        let (puller, mut events) = RtmpPuller::new(ClientConfig::new(url.clone()));
        tokio::spawn(puller.start());
        players.push(tokio::spawn(async move {
            let mut received = 0usize;
            while let Some(event) = events.recv().await {
                match event {
                    ClientEvent::Disconnected => break,
                    other if other.media().is_some() => received += 1,
                    _ => {}
                }
            }
            received
        }));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while server.players("crowd") < PLAYERS {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} players joined",
            server.players("crowd")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let publisher = RtmpPublisher::connect(ClientConfig::new(url))
        .await
        .unwrap();
    let sent = publish_flv_file(&publisher, &input, Pace::Unpaced)
        .await
        .unwrap();
    publisher.close().await.unwrap();
    assert!(
        sent.tags as usize > media,
        "metadata and every media tag were sent"
    );

    for (index, player) in players.into_iter().enumerate() {
        let received = tokio::time::timeout(Duration::from_secs(30), player)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            received, media,
            "player {index} received {received} of {media} packets"
        );
    }
}
