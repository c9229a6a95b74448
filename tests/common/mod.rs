#![allow(dead_code)]
#[cfg(feature = "async-std")]
pub mod async_std_server;
pub mod blocking_client;
pub mod ffmpeg;
#[cfg(feature = "mio")]
pub mod mio_server;
pub mod relay;
pub mod scenarios;
pub mod server;
