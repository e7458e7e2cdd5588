//! Documented invalid inputs get their documented error codes and change nothing.

use crate::runner::{check, expect_eq, outcome_code, Ctx, Failure};
use base64::Engine;
use bytes::Bytes;
use md5::{Digest, Md5};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use vod_client::clock::ServerClock;
use vod_client::wire::vod::{ApplyUploadRequest, ApplyUploadResponse, CommitUploadRequest};
use vod_client::{Credentials, VodClient};

/// One invalid input.
#[derive(Debug, Clone)]
pub enum Invalid {
    /// A MediaType not in the supported list.
    MediaType(String),
    /// A SourceContext over 250 characters.
    SourceContext(usize),
    /// CommitUpload before the media is uploaded.
    CommitBeforeUpload,
    /// CommitUpload twice.
    CommitTwice,
    /// CommitUpload of a key that was never issued.
    UnknownSession(String),
    /// Complete with the parts in descending order.
    WrongPartOrder,
    /// Complete with a non-last part under 1 MiB.
    TooSmallPart(u16),
    /// PutObject whose Content-MD5 does not match the body.
    ContentMd5(u8),
    /// A write outside the session's paths.
    OutOfScopeKey(String),
    /// A VOD call signed with the wrong key.
    Signature(String),
    /// A VOD call whose timestamp is far from the server's clock.
    SkewedTimestamp(i64),
}

fn invalid() -> impl Strategy<Value = Invalid> {
    prop_oneof![
        "[a-z0-9]{1,6}"
            .prop_filter("unsupported", |t| !vod_client::wire::vod::MEDIA_TYPES
                .contains(&t.as_str()))
            .prop_map(Invalid::MediaType),
        (251usize..600).prop_map(Invalid::SourceContext),
        Just(Invalid::CommitBeforeUpload),
        Just(Invalid::CommitTwice),
        "[A-Za-z0-9+/]{8,64}".prop_map(Invalid::UnknownSession),
        Just(Invalid::WrongPartOrder),
        (1u16..1000).prop_map(Invalid::TooSmallPart),
        any::<u8>().prop_map(Invalid::ContentMd5),
        "[a-z]{1,8}/[a-z]{1,8}\\.mp4".prop_map(Invalid::OutOfScopeKey),
        "[A-Za-z0-9]{8,32}".prop_map(Invalid::Signature),
        prop_oneof![301i64..7200, -7200i64..-301].prop_map(Invalid::SkewedTimestamp),
    ]
}

/// The `invalid_input_is_refused` property.
pub fn invalid_input_is_refused(ctx: &Ctx, runner: &mut TestRunner) -> Result<(), Failure> {
    check(runner, invalid(), |case| ctx.block_on(refused(ctx, &case)))
}

async fn apply(vod: &VodClient) -> Result<ApplyUploadResponse, String> {
    vod.apply_upload(&ApplyUploadRequest {
        media_type: Some("mp4".into()),
        ..Default::default()
    })
    .await
    .map_err(|e| format!("ApplyUpload: {e}"))
}

fn key_of(path: &str) -> String {
    path.trim_start_matches('/').to_owned()
}

/// Stores `data` as the session's media, with its Content-MD5, using the session's credentials.
async fn put_media(
    ctx: &Ctx<'_>,
    session: &ApplyUploadResponse,
    data: &[u8],
) -> vod_client::Result<()> {
    ctx.target
        .session_cos(session)?
        .put_object(
            &key_of(&session.media_storage_path),
            Bytes::copy_from_slice(data),
            Some(&content_md5(data)),
        )
        .await
        .map(drop)
}

fn commit(session: &ApplyUploadResponse) -> CommitUploadRequest {
    CommitUploadRequest {
        vod_session_key: Some(session.vod_session_key.clone()),
        sub_app_id: None,
    }
}

fn content_md5(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(data))
}

async fn refused(ctx: &Ctx<'_>, case: &Invalid) -> Result<(), String> {
    let vod = ctx.target.vod().map_err(|e| e.to_string())?;
    match case {
        Invalid::MediaType(t) => {
            let got = vod
                .apply_upload(&ApplyUploadRequest {
                    media_type: Some(t.clone()),
                    ..Default::default()
                })
                .await;
            expect_eq(
                "ApplyUpload",
                "InvalidParameterValue.MediaType".to_owned(),
                outcome_code(&got),
            )
        }
        Invalid::SourceContext(n) => {
            let got = vod
                .apply_upload(&ApplyUploadRequest {
                    media_type: Some("mp4".into()),
                    source_context: Some("s".repeat(*n)),
                    ..Default::default()
                })
                .await;
            expect_eq(
                "ApplyUpload",
                "InvalidParameterValue".to_owned(),
                outcome_code(&got),
            )
        }
        Invalid::CommitBeforeUpload => {
            let session = apply(&vod).await?;
            let got = vod.commit_upload(&commit(&session)).await;
            expect_eq(
                "early CommitUpload",
                "ResourceNotFound".to_owned(),
                outcome_code(&got),
            )?;
            put_media(ctx, &session, b"late")
                .await
                .map_err(|e| e.to_string())?;
            let done = vod.commit_upload(&commit(&session)).await;
            if let Ok(d) = &done {
                ctx.target.created(&d.file_id);
            }
            expect_eq(
                "CommitUpload after the upload (the session was not consumed)",
                "ok".to_owned(),
                outcome_code(&done),
            )
        }
        Invalid::CommitTwice => {
            let session = apply(&vod).await?;
            let data = b"twice".to_vec();
            put_media(ctx, &session, &data)
                .await
                .map_err(|e| e.to_string())?;
            let first = vod
                .commit_upload(&commit(&session))
                .await
                .map_err(|e| e.to_string())?;
            ctx.target.created(&first.file_id);
            let again = vod.commit_upload(&commit(&session)).await;
            expect_eq(
                "second CommitUpload",
                "InvalidParameterValue.VodSessionKey".to_owned(),
                outcome_code(&again),
            )?;
            let body = ctx
                .target
                .http()
                .get(&first.media_url)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let body = body.bytes().await.map_err(|e| e.to_string())?;
            expect_eq(
                "media after the refused commit",
                data.as_slice(),
                body.as_ref(),
            )
        }
        Invalid::UnknownSession(key) => {
            let got = vod
                .commit_upload(&CommitUploadRequest {
                    vod_session_key: Some(key.clone()),
                    sub_app_id: None,
                })
                .await;
            expect_eq(
                "CommitUpload",
                "InvalidParameterValue.VodSessionKey".to_owned(),
                outcome_code(&got),
            )
        }
        Invalid::WrongPartOrder | Invalid::TooSmallPart(_) => {
            let session = apply(&vod).await?;
            let cos = ctx
                .target
                .session_cos(&session)
                .map_err(|e| e.to_string())?;
            let key = key_of(&session.media_storage_path);
            let id = cos
                .initiate_multipart_upload(&key, None)
                .await
                .map_err(|e| e.to_string())?;
            let first_len = match case {
                Invalid::TooSmallPart(n) => usize::from(*n),
                _ => 1024 * 1024,
            };
            let mut parts = Vec::new();
            for (n, len) in [(1u32, first_len), (2, 10)] {
                let data = vec![n as u8; len];
                let stored = cos
                    .upload_part(&key, &id, n, Bytes::from(data.clone()), &content_md5(&data))
                    .await
                    .map_err(|e| e.to_string())?;
                parts.push((n, stored.etag));
            }
            let (listed, code) = match case {
                Invalid::WrongPartOrder => (
                    parts.iter().rev().cloned().collect::<Vec<_>>(),
                    "InvalidPartOrder",
                ),
                _ => (parts.clone(), "EntityTooSmall"),
            };
            let got = cos.complete_multipart_upload(&key, &id, &listed).await;
            expect_eq(
                "CompleteMultipartUpload",
                code.to_owned(),
                outcome_code(&got),
            )?;
            let still = cos
                .list_parts(&key, &id)
                .await
                .map_err(|e| format!("ListParts after refusal: {e}"))?;
            expect_eq("parts after the refused Complete", 2, still.len())?;
            cos.abort_multipart_upload(&key, &id)
                .await
                .map_err(|e| e.to_string())
        }
        Invalid::ContentMd5(seed) => {
            let session = apply(&vod).await?;
            let cos = ctx
                .target
                .session_cos(&session)
                .map_err(|e| e.to_string())?;
            let data = vec![*seed; 100];
            let wrong = content_md5(&[seed.wrapping_add(1); 100]);
            let got = cos
                .put_object(
                    &key_of(&session.media_storage_path),
                    Bytes::from(data),
                    Some(&wrong),
                )
                .await;
            expect_eq("PutObject", "BadDigest".to_owned(), outcome_code(&got))?;
            let commit = vod.commit_upload(&commit(&session)).await;
            expect_eq(
                "CommitUpload (nothing was stored)",
                "ResourceNotFound".to_owned(),
                outcome_code(&commit),
            )
        }
        Invalid::OutOfScopeKey(key) => {
            let session = apply(&vod).await?;
            let cos = ctx
                .target
                .session_cos(&session)
                .map_err(|e| e.to_string())?;
            let got = cos.put_object(key, Bytes::from_static(b"x"), None).await;
            expect_eq(
                "PutObject outside the session",
                "AccessDenied".to_owned(),
                outcome_code(&got),
            )
        }
        Invalid::Signature(secret) => {
            let c = ctx.target.credentials();
            let wrong = VodClient::new(
                ctx.target.http().clone(),
                ctx.target.vod_endpoint(),
                Credentials::new(c.secret_id.clone(), secret.clone()),
                vod.region().to_owned(),
            )
            .map_err(|e| e.to_string())?;
            let got = wrong
                .apply_upload(&ApplyUploadRequest {
                    media_type: Some("mp4".into()),
                    ..Default::default()
                })
                .await;
            expect_eq(
                "ApplyUpload",
                "AuthFailure.SignatureFailure".to_owned(),
                outcome_code(&got),
            )
        }
        Invalid::SkewedTimestamp(secs) => {
            let skewed = vod.clone().with_clock(ServerClock::skewed(*secs));
            let got = skewed
                .apply_upload(&ApplyUploadRequest {
                    media_type: Some("mp4".into()),
                    ..Default::default()
                })
                .await;
            expect_eq(
                "ApplyUpload",
                "AuthFailure.SignatureExpire".to_owned(),
                outcome_code(&got),
            )
        }
    }
}

/// The `expired_credentials_are_refused` property (needs the emulator's clock).
pub fn expired_credentials_are_refused(ctx: &Ctx, runner: &mut TestRunner) -> Result<(), Failure> {
    let Some(admin) = ctx.target.admin() else {
        return Err(Failure {
            message: "needs the emulator".into(),
            minimal_case: String::new(),
        });
    };
    let ttl = admin.session_ttl_secs();
    check(runner, 1i64..120, |extra| {
        ctx.block_on(async {
            let vod = ctx.target.vod().map_err(|e| e.to_string())?;
            let session = apply(&vod).await?;
            put_media(ctx, &session, b"v")
                .await
                .map_err(|e| e.to_string())?;
            let shift = (ttl + extra) * 1000;
            admin.advance_ms(shift).await?;
            let put = put_media(ctx, &session, b"v").await;
            let commit = vod.commit_upload(&commit(&session)).await;
            admin.advance_ms(-shift).await?;
            expect_eq(
                "PutObject with expired credentials",
                "ExpiredToken".to_owned(),
                outcome_code(&put),
            )?;
            expect_eq(
                "CommitUpload of an expired session",
                "InvalidParameterValue.VodSessionKey".to_owned(),
                outcome_code(&commit),
            )
        })
    })
}
