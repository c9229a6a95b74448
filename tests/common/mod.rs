#![allow(dead_code)]
pub mod ffmpeg;
pub mod server;
