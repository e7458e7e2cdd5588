//! CompleteMultipartUpload bodies, and fault scenarios and task flows (the admin API's JSON).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vod_emulator::parse::complete_multipart_upload(data);
    let _ = vod_emulator::parse::task_flows(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vod_emulator::parse::fault_scenario_json(text);
    }
});
