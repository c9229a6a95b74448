//! The futures-io adapter with real peers: FFmpeg 9 publishing and playing through
//! the server on async-std (H.264 + AAC, Enhanced HEVC + Opus) and on smol, and the
//! adapter's own client publishing and playing, message for message.

mod client_support;
mod common;

use client_support::{assert_same_media, source_tags, Tags};
use common::async_std_server::{AsyncTestServer, Executor};
use common::ffmpeg::*;
use common::relay::{players, relay_through, wait_for, Served};
use rtmp_rs::async_std::{RtmpClient, RtmpHandler, ServerConfig};
use rtmp_rs::proto::{ClientEvent, SessionConfig};
use std::path::Path;

struct Open;
impl RtmpHandler for Open {}

#[test]
fn async_std_relays_h264_aac_from_ffmpeg_to_ffmpeg() {
    let Some(ff) = require_ffmpeg() else { return };
    let server = AsyncTestServer::start(Executor::AsyncStd, ServerConfig::default(), Open);
    relay_through(&server, &ff, &h264_aac_flv(), "as_h264_aac", &[]);
}

#[test]
fn async_std_relays_enhanced_hevc_opus_from_ffmpeg_to_ffmpeg() {
    let Some(ff) = require_ffmpeg() else { return };
    let server = AsyncTestServer::start(Executor::AsyncStd, ServerConfig::default(), Open);
    relay_through(&server, &ff, &hevc_opus_flv(), "as_hevc_opus", &[]);
}

#[test]
fn smol_relays_h264_aac_from_ffmpeg_to_ffmpeg() {
    let Some(ff) = require_ffmpeg() else { return };
    let server = AsyncTestServer::start(Executor::Smol, ServerConfig::default(), Open);
    relay_through(&server, &ff, &h264_aac_flv(), "smol_h264_aac", &[]);
}

#[test]
fn smol_relays_enhanced_hevc_opus_from_ffmpeg_to_ffmpeg() {
    let Some(ff) = require_ffmpeg() else { return };
    let server = AsyncTestServer::start(Executor::Smol, ServerConfig::default(), Open);
    relay_through(&server, &ff, &hevc_opus_flv(), "smol_hevc_opus", &[]);
}

/// Our futures-io client publishes `input` (as fast as the socket takes it) to the
/// server while another plays it from before the start: the player gets every
/// message unchanged, then the end of the stream.
fn client_to_client(executor: Executor, input: &Path, key: &str) {
    let source = source_tags(input);
    let server = AsyncTestServer::start(executor, ServerConfig::default(), Open);
    let url = server.url("live", key);
    let play_url = url.clone();
    let player = std::thread::spawn(move || async_std::task::block_on(play(&play_url)));
    wait_for(&server, "the player", |s| players(s, key) == 1);
    async_std::task::block_on(publish(&url, &source));
    let played = player.join().unwrap();
    assert_same_media(&source, &played);
}

async fn publish(url: &str, source: &Tags) {
    let mut client = RtmpClient::publish(url, SessionConfig::default())
        .await
        .unwrap();
    while let Some(event) = client.next_event().await.unwrap() {
        if event == ClientEvent::PublishStarted {
            break;
        }
    }
    let session = client.session();
    session.send_metadata(source.metadata.as_ref().unwrap());
    for message in &source.media {
        client.session().send_media(message);
        client.flush().await.unwrap();
    }
    client.session().close_stream();
    client.flush().await.unwrap();
}

async fn play(url: &str) -> Tags {
    let mut client = RtmpClient::play(url, SessionConfig::default())
        .await
        .unwrap();
    let mut played = Tags::default();
    while let Some(event) = client.next_event().await.unwrap() {
        match event {
            ClientEvent::Metadata { payload } => played.metadata = Some(payload),
            ClientEvent::Media { message } => played.media.push(message),
            ClientEvent::StreamEnded { .. } => break,
            _ => {}
        }
    }
    played
}

#[test]
fn async_std_client_publishes_and_plays_h264_aac() {
    let Some(_) = require_ffmpeg() else { return };
    client_to_client(Executor::AsyncStd, &h264_aac_flv(), "as_clients_h264");
}

#[test]
fn async_std_client_publishes_and_plays_hevc_opus_on_smol_server() {
    let Some(_) = require_ffmpeg() else { return };
    client_to_client(Executor::Smol, &hevc_opus_flv(), "smol_clients_hevc");
}
