//! Authorization (TC3 and COS), Range, Content-MD5 and query strings.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vod_emulator::parse::content_md5(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vod_emulator::parse::tc3_authorization(text);
        let _ = vod_emulator::parse::cos_authorization(text);
        let _ = vod_emulator::parse::query(text);
        let size = u64::from(text.len() as u32) * 977;
        if let Ok(Some((start, end))) = vod_emulator::parse::range(text, size) {
            assert!(start <= end && end < size);
        }
    }
});
