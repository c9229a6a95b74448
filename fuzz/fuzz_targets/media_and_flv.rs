#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../rtmp-proto/tests/fuzz_bodies/mod.rs"]
mod bodies;

fuzz_target!(|data: &[u8]| bodies::media_and_flv(data));
