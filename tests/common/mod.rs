#![allow(dead_code)]
pub mod blocking_client;
pub mod ffmpeg;
pub mod server;
