//! VOD API request bodies, for every action, lax and strict.
#![no_main]
use libfuzzer_sys::fuzz_target;

const ACTIONS: &[&str] = &[
    "ApplyUpload",
    "CommitUpload",
    "PullEvents",
    "ConfirmEvents",
    "DescribeEventConfig",
    "ModifyEventConfig",
    "DescribeMediaInfos",
    "DeleteMedia",
    "ParseStreamingManifest",
];

fuzz_target!(|data: &[u8]| {
    if let Some((&selector, body)) = data.split_first() {
        let action = ACTIONS[usize::from(selector) % ACTIONS.len()];
        let _ = vod_emulator::parse::vod_params(action, body, selector & 0x80 != 0);
    }
});
