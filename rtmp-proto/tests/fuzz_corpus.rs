//! Replays the checked-in fuzz corpora (`fuzz/corpus/<target>/`) through the same
//! bodies the fuzz targets run, so CI guards them on stable Rust without libFuzzer.

mod fuzz_bodies;

use std::path::PathBuf;

/// Fewest files a corpus may hold: fewer means it was lost or truncated.
const MIN_FILES: usize = 3;

fn replay(target: &str, body: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} cannot be read: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= MIN_FILES,
        "corpus {} holds {} files, expected at least {MIN_FILES}",
        dir.display(),
        files.len()
    );
    for path in &files {
        let data = std::fs::read(path).expect("corpus file");
        let result = std::panic::catch_unwind(|| body(&data));
        assert!(result.is_ok(), "{target}: {} panicked", path.display());
    }
}

#[test]
fn chunk_decoder_corpus() {
    replay("chunk_decoder", fuzz_bodies::chunk_decoder);
}

#[test]
fn amf0_corpus() {
    replay("amf0", fuzz_bodies::amf0);
}

#[test]
fn amf3_corpus() {
    replay("amf3", fuzz_bodies::amf3);
}

#[test]
fn handshake_corpus() {
    replay("handshake", fuzz_bodies::handshake);
}

#[test]
fn server_session_corpus() {
    replay("server_session", fuzz_bodies::server_session);
}

#[test]
fn client_session_corpus() {
    replay("client_session", fuzz_bodies::client_session);
}

#[test]
fn media_and_flv_corpus() {
    replay("media_and_flv", fuzz_bodies::media_and_flv);
}
