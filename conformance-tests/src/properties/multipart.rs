//! Model-based test of multipart uploads: random operation sequences against the endpoint and
//! the reference model ([`crate::model`]), every answer compared.

use crate::model::{CompleteExpectation, PartModel, UploadModel, MIN_PART};
use crate::runner::{check, expect_eq, outcome_code, Ctx, Failure};
use base64::Engine;
use bytes::Bytes;
use md5::{Digest, Md5};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use vod_client::wire::vod::ApplyUploadRequest;
use vod_client::CosClient;

/// Size of a generated part.
#[derive(Debug, Clone, Copy)]
pub enum PartSize {
    /// A few bytes, or none (only valid as the last part).
    Tiny(u16),
    /// One byte under the minimum: the largest part refused before the last.
    MinMinusOne,
    /// Exactly the minimum.
    Min,
    /// A little over the minimum.
    MinPlus(u16),
}

impl PartSize {
    fn bytes(self) -> u64 {
        match self {
            PartSize::Tiny(n) => u64::from(n),
            PartSize::MinMinusOne => MIN_PART - 1,
            PartSize::Min => MIN_PART,
            PartSize::MinPlus(n) => MIN_PART + u64::from(n),
        }
    }
}

/// The highest part number COS takes (COS doc 436/7750).
const MAX_PART_NUMBER: u32 = 10_000;

/// How a Complete lists the parts.
#[derive(Debug, Clone, Copy)]
pub enum Listing {
    /// Every stored part, ascending: valid unless a non-last part is too small.
    Ascending,
    /// Descending: InvalidPartOrder with two or more parts.
    Descending,
    /// Without the first part.
    DropFirst,
    /// With one ETag wrong: InvalidPart.
    WrongEtag,
    /// Naming a part that was never uploaded.
    Missing,
}

/// One operation; indexes pick among the uploads the model knows (modulo their count).
#[derive(Debug, Clone)]
pub enum Op {
    /// InitiateMultipartUpload on key number `key` of the session.
    Initiate {
        /// Which of the session's keys.
        key: usize,
    },
    /// UploadPart.
    UploadPart {
        /// Which upload.
        upload: usize,
        /// Part number.
        number: u32,
        /// Size.
        size: PartSize,
        /// Content seed.
        seed: u8,
    },
    /// ListParts.
    ListParts {
        /// Which upload.
        upload: usize,
    },
    /// CompleteMultipartUpload.
    Complete {
        /// Which upload.
        upload: usize,
        /// How the parts are listed.
        listing: Listing,
    },
    /// AbortMultipartUpload.
    Abort {
        /// Which upload.
        upload: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    // Sizes at and around the 1 MiB minimum, and empty parts.
    let size = prop_oneof![
        4 => (0u16..200).prop_map(PartSize::Tiny),
        1 => Just(PartSize::MinMinusOne),
        2 => Just(PartSize::Min),
        1 => (1u16..100).prop_map(PartSize::MinPlus),
    ];
    // Part numbers around both ends of 1..=10000, the out-of-range ones refused.
    let number = prop_oneof![
        8 => 1u32..=4,
        1 => Just(MAX_PART_NUMBER),
        1 => prop_oneof![Just(0u32), Just(MAX_PART_NUMBER + 1)],
    ];
    let listing = prop_oneof![
        4 => Just(Listing::Ascending),
        1 => Just(Listing::Descending),
        1 => Just(Listing::DropFirst),
        1 => Just(Listing::WrongEtag),
        1 => Just(Listing::Missing),
    ];
    prop_oneof![
        2 => (0usize..4).prop_map(|key| Op::Initiate { key }),
        6 => (0usize..8, number, size, any::<u8>())
            .prop_map(|(upload, number, size, seed)| Op::UploadPart { upload, number, size, seed }),
        2 => (0usize..8).prop_map(|upload| Op::ListParts { upload }),
        2 => (0usize..8, listing).prop_map(|(upload, listing)| Op::Complete { upload, listing }),
        1 => (0usize..8).prop_map(|upload| Op::Abort { upload }),
    ]
}

/// The `multipart_model` property.
pub fn multipart_model(ctx: &Ctx, runner: &mut TestRunner) -> Result<(), Failure> {
    check(runner, proptest::collection::vec(op(), 1..14), |ops| {
        ctx.block_on(run_ops(ctx, &ops))
    })
}

struct Live {
    model: UploadModel,
    id: String,
}

async fn run_ops(ctx: &Ctx<'_>, ops: &[Op]) -> Result<(), String> {
    let vod = ctx.target.vod().map_err(|e| e.to_string())?;
    let session = vod
        .apply_upload(&ApplyUploadRequest {
            media_type: Some("m3u8".into()),
            cover_type: Some("jpg".into()),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("ApplyUpload: {e}"))?;
    let cos = ctx
        .target
        .session_cos(&session)
        .map_err(|e| e.to_string())?;
    let media = session
        .media_storage_path
        .trim_start_matches('/')
        .to_owned();
    let dir = media
        .rsplit_once('/')
        .map_or(String::new(), |(d, _)| format!("{d}/"));
    let keys = [
        media.clone(),
        session
            .cover_storage_path
            .clone()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned(),
        format!("{dir}seg/a.ts"),
        format!("{dir}seg/b.ts"),
    ];
    let mut uploads: Vec<Live> = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        apply_op(&cos, &keys, &mut uploads, op)
            .await
            .map_err(|e| format!("step {step} {op:?}: {e}"))?;
    }
    let mut live_ids: Vec<String> = uploads
        .iter()
        .filter(|u| u.model.live)
        .map(|u| u.id.clone())
        .collect();
    live_ids.sort();
    let mut listed: Vec<String> = cos
        .list_multipart_uploads(&dir)
        .await
        .map_err(|e| format!("ListMultipartUploads: {e}"))?
        .into_iter()
        .map(|u| u.upload_id)
        .collect();
    listed.sort();
    expect_eq(
        "uploads listed under the session's prefix",
        live_ids,
        listed,
    )?;
    for u in uploads.iter().filter(|u| u.model.live) {
        cos.abort_multipart_upload(&u.model.key, &u.id)
            .await
            .map_err(|e| format!("cleanup abort: {e}"))?;
    }
    Ok(())
}

/// The `(part number, ETag correct?)` list a Complete sends for `listing` of the stored parts.
fn listing_plan(listing: Listing, numbers: &[u32]) -> Vec<(u32, bool)> {
    match listing {
        Listing::Ascending => numbers.iter().map(|n| (*n, true)).collect(),
        Listing::Descending => numbers.iter().rev().map(|n| (*n, true)).collect(),
        Listing::DropFirst => numbers.iter().skip(1).map(|n| (*n, true)).collect(),
        Listing::WrongEtag => numbers
            .iter()
            .enumerate()
            .map(|(k, n)| (*n, k != 0))
            .collect(),
        Listing::Missing => {
            let mut plan: Vec<(u32, bool)> = numbers.iter().map(|n| (*n, true)).collect();
            plan.push((numbers.last().map_or(1, |n| n + 1) + 5, true));
            plan
        }
    }
}

fn part_bytes(size: u64, seed: u8) -> Vec<u8> {
    vod_testkit::bytes(size, u64::from(seed))
}

async fn apply_op(
    cos: &CosClient,
    keys: &[String],
    uploads: &mut Vec<Live>,
    op: &Op,
) -> Result<(), String> {
    let pick = |i: usize, n: usize| (n > 0).then(|| i % n);
    match op {
        Op::Initiate { key } => {
            let key = &keys[key % keys.len()];
            let id = cos
                .initiate_multipart_upload(key, None)
                .await
                .map_err(|e| e.to_string())?;
            uploads.push(Live {
                model: UploadModel::new(key.clone()),
                id,
            });
        }
        Op::UploadPart {
            upload,
            number,
            size,
            seed,
        } => {
            let Some(i) = pick(*upload, uploads.len()) else {
                return Ok(());
            };
            let u = &mut uploads[i];
            if !(1..=MAX_PART_NUMBER).contains(number) {
                let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(b"x"));
                let got = cos
                    .upload_part(&u.model.key, &u.id, *number, Bytes::from_static(b"x"), &md5)
                    .await;
                return expect_eq(
                    "UploadPart with a part number outside 1..=10000",
                    "InvalidArgument".to_owned(),
                    outcome_code(&got),
                );
            }
            let data = part_bytes(size.bytes(), *seed);
            let md5: [u8; 16] = Md5::digest(&data).into();
            let content_md5 = base64::engine::general_purpose::STANDARD.encode(md5);
            let got = cos
                .upload_part(
                    &u.model.key,
                    &u.id,
                    *number,
                    Bytes::from(data.clone()),
                    &content_md5,
                )
                .await;
            if u.model.live {
                let stored = got.map_err(|e| e.to_string())?;
                expect_eq(
                    "part ETag",
                    format!("\"{}\"", hex::encode(md5)),
                    stored.etag,
                )?;
                u.model.parts.insert(
                    *number,
                    PartModel {
                        size: data.len() as u64,
                        md5,
                        bytes: data.to_vec(),
                    },
                );
            } else {
                expect_eq(
                    "UploadPart to a finished upload",
                    "NoSuchUpload".to_owned(),
                    outcome_code(&got),
                )?;
            }
        }
        Op::ListParts { upload } => {
            let Some(i) = pick(*upload, uploads.len()) else {
                return Ok(());
            };
            let u = &uploads[i];
            let got = cos.list_parts(&u.model.key, &u.id).await;
            if u.model.live {
                let listed: Vec<(u32, u64, String)> = got
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|p| (p.part_number, p.size, p.etag))
                    .collect();
                let expected: Vec<(u32, u64, String)> = u
                    .model
                    .parts
                    .iter()
                    .map(|(n, p)| (*n, p.size, format!("\"{}\"", hex::encode(p.md5))))
                    .collect();
                expect_eq("ListParts", expected, listed)?;
            } else {
                expect_eq(
                    "ListParts of a finished upload",
                    "NoSuchUpload".to_owned(),
                    outcome_code(&got),
                )?;
            }
        }
        Op::Complete { upload, listing } => {
            let Some(i) = pick(*upload, uploads.len()) else {
                return Ok(());
            };
            let u = &mut uploads[i];
            let numbers: Vec<u32> = u.model.parts.keys().copied().collect();
            let plan = listing_plan(*listing, &numbers);
            let listed: Vec<(u32, bool)> = plan
                .iter()
                .map(|(n, ok)| (*n, *ok && u.model.parts.contains_key(n)))
                .collect();
            let sent: Vec<(u32, String)> = listed
                .iter()
                .map(|(n, ok)| match u.model.parts.get(n) {
                    Some(p) if *ok => (*n, format!("\"{}\"", hex::encode(p.md5))),
                    _ => (*n, "\"00000000000000000000000000000000\"".to_owned()),
                })
                .collect();
            let expected = u.model.expect_complete(&listed);
            let got = cos
                .complete_multipart_upload(&u.model.key, &u.id, &sent)
                .await;
            match expected {
                CompleteExpectation::Ok { etag, crc64 } => {
                    let stored = got.map_err(|e| format!("Complete should succeed: {e}"))?;
                    expect_eq("multipart ETag", etag, stored.etag)?;
                    let crc = stored
                        .crc64
                        .ok_or("Complete answered without x-cos-hash-crc64ecma")?;
                    expect_eq("multipart CRC-64", crc64, crc)?;
                    u.model.live = false;
                }
                CompleteExpectation::Refused(code) => {
                    expect_eq("Complete outcome", code.to_owned(), outcome_code(&got))?;
                }
            }
        }
        Op::Abort { upload } => {
            let Some(i) = pick(*upload, uploads.len()) else {
                return Ok(());
            };
            let u = &mut uploads[i];
            let got = cos.abort_multipart_upload(&u.model.key, &u.id).await;
            if u.model.live {
                got.map_err(|e| e.to_string())?;
                u.model.live = false;
            } else {
                expect_eq(
                    "Abort of a finished upload",
                    "NoSuchUpload".to_owned(),
                    outcome_code(&got),
                )?;
            }
        }
    }
    Ok(())
}
