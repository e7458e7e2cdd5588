//! Events: at-least-once delivery of NewFileUpload through PullEvents / ConfirmEvents.

use crate::properties::round_trip::upload_generated;
use crate::runner::{check, expect_eq, outcome_code, Ctx, Failure};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use vod_client::wire::events::{ConfirmEventsRequest, EventContent, PullEventsRequest};
use vod_client::{UploadOptions, VodClient};

/// The confirmation deadline after which an unconfirmed event is delivered again.
const CONFIRM_DEADLINE_MS: i64 = 30_000;

/// The `events_at_least_once` property (needs the emulator's clock to pass the deadline).
pub fn events_at_least_once(ctx: &Ctx, runner: &mut TestRunner) -> Result<(), Failure> {
    let Some(admin) = ctx.target.admin() else {
        return Err(Failure {
            message: "needs the emulator".into(),
            minimal_case: String::new(),
        });
    };
    let strategy = (
        1u64..1_000_000,
        proptest::option::of("\\PC{0,40}"),
        1u64..3000,
        any::<bool>(),
    );
    check(
        runner,
        strategy,
        |(app, source_context, size, redeliver)| {
            ctx.block_on(async {
                let sub_app_id = 1_600_000_000 + app;
                let vod = ctx.target.vod().map_err(|e| e.to_string())?;
                let options = UploadOptions {
                    sub_app_id: Some(sub_app_id),
                    source_context: source_context.clone(),
                    ..UploadOptions::default()
                };
                let done = upload_generated(ctx, size, app, options).await?;

                let first = pull(&vod, sub_app_id).await?;
                let event = only_new_file_upload(&first, &done.file_id)?;
                let echoed = event
                    .file_upload_event
                    .as_ref()
                    .map(|e| e.media_basic_info.source_info.source_context.clone());
                expect_eq(
                    "SourceContext in the event",
                    source_context.clone().unwrap_or_default(),
                    echoed.unwrap_or_default(),
                )?;
                let mut handle = event.event_handle.clone().unwrap_or_default();
                if redeliver {
                    admin.advance_ms(CONFIRM_DEADLINE_MS + 1000).await?;
                    let again = pull(&vod, sub_app_id).await?;
                    handle = only_new_file_upload(&again, &done.file_id)?
                        .event_handle
                        .clone()
                        .unwrap_or_default();
                }
                vod.confirm_events(&ConfirmEventsRequest {
                    event_handles: Some(vec![handle]),
                    sub_app_id: Some(sub_app_id),
                    ..Default::default()
                })
                .await
                .map_err(|e| format!("ConfirmEvents: {e}"))?;
                admin.advance_ms(CONFIRM_DEADLINE_MS + 1000).await?;
                let after = vod
                    .pull_events(&PullEventsRequest {
                        sub_app_id: Some(sub_app_id),
                        ..Default::default()
                    })
                    .await;
                expect_eq(
                    "PullEvents after confirmation (queue empty)",
                    "ResourceNotFound".to_owned(),
                    outcome_code(&after),
                )
            })
        },
    )
}

async fn pull(vod: &VodClient, sub_app_id: u64) -> Result<Vec<EventContent>, String> {
    vod.pull_events(&PullEventsRequest {
        sub_app_id: Some(sub_app_id),
        ..Default::default()
    })
    .await
    .map(|r| r.event_set)
    .map_err(|e| format!("PullEvents: {e}"))
}

fn only_new_file_upload<'a>(
    events: &'a [EventContent],
    file_id: &str,
) -> Result<&'a EventContent, String> {
    match events {
        [one]
            if one.event_type == "NewFileUpload"
                && one
                    .file_upload_event
                    .as_ref()
                    .is_some_and(|e| e.file_id == file_id) =>
        {
            Ok(one)
        }
        other => Err(format!(
            "expected exactly one NewFileUpload for {file_id}, got {:?}",
            other
                .iter()
                .map(|e| e.event_type.clone())
                .collect::<Vec<_>>()
        )),
    }
}
