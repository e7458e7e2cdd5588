//! m3u8 and mpd manifests (ParseStreamingManifest) and procedure strings.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vod_emulator::parse::m3u8(text);
        let _ = vod_emulator::parse::mpd(text);
        let _ = vod_emulator::parse::procedure(text);
    }
});
