//! The properties, one module per family. Each states its rule and where the rule comes from.

mod errors;
mod events;
mod isolation;
mod multipart;
mod push;
pub mod round_trip;
mod wire;

use crate::runner::{Drives, Needs, Property};

/// Every property of the suite, in report order.
pub const ALL: &[Property] = &[
    Property {
        name: "round_trip",
        rule: "apply → upload (simple or multipart, any size, any concurrency, with or without cover and contexts) → commit yields a FileId, and MediaUrl/CoverUrl serve exactly the uploaded bytes, with ETag and CRC-64 consistent with them (vod-api.md §3-4, cos-api.md §3.13, §4.2)",
        needs: Needs::Protocol,
        drives: Drives::Client,
        check: round_trip::round_trip,
    },
    Property {
        name: "context_limits",
        rule: "SourceContext up to 250 characters and SessionContext up to 1000 characters (not bytes: '腾' × 250 is 750 bytes) are accepted, one character more is refused with InvalidParameterValue / InvalidParameterValue.SessionContextTooLong (vod-api.md §3.1)",
        needs: Needs::Protocol,
        drives: Drives::Protocol,
        check: round_trip::context_limits,
    },
    Property {
        name: "multipart_model",
        rule: "any sequence of Initiate / UploadPart (any order, overwrites) / ListParts / Complete / Abort behaves like the reference model: part ETags are MD5s, listings match, Complete checks order, ETags and the 1 MiB minimum and yields the S3-style ETag and combined CRC-64, refused requests change nothing (cos-api.md §3.6-3.11)",
        needs: Needs::Protocol,
        drives: Drives::Protocol,
        check: multipart::multipart_model,
    },
    Property {
        name: "invalid_input_is_refused",
        rule: "each documented invalid input (bad MediaType, oversize SourceContext, commit before upload, commit twice, unknown session, wrong part order, too-small part, bad Content-MD5, out-of-scope key, bad signature, skewed timestamp) gets its documented error code and changes nothing (vod-api.md §2-4, cos-api.md §4.1, §5, §7)",
        needs: Needs::Protocol,
        drives: Drives::Protocol,
        check: errors::invalid_input_is_refused,
    },
    Property {
        name: "expired_credentials_are_refused",
        rule: "temporary credentials past their ExpiredTime can no longer write, and an expired session cannot be committed (vod-api.md §3.2, §4.3)",
        needs: Needs::Admin,
        drives: Drives::Protocol,
        check: errors::expired_credentials_are_refused,
    },
    Property {
        name: "uploads_are_isolated",
        rule: "parallel uploads never see each other's objects, and an aborted multipart upload leaves nothing behind (cos-api.md §3.9, §7)",
        needs: Needs::Protocol,
        drives: Drives::Protocol,
        check: isolation::uploads_are_isolated,
    },
    Property {
        name: "events_at_least_once",
        rule: "every CommitUpload produces exactly one NewFileUpload for its FileId, echoing SourceContext; an unconfirmed event is delivered again after the 30 s confirmation deadline, a confirmed one never again; SubAppIds are kept apart (vod-api.md §5.2-5.4)",
        needs: Needs::Admin,
        drives: Drives::Protocol,
        check: events::events_at_least_once,
    },
    Property {
        name: "header_names",
        rule: "every response header name of the upload flow (VOD API, PutObject, HEAD/GET with and without Range, errors, multipart) is spelled exactly as the service spells it, e.g. `ETag` and `x-cos-request-id`; clients compare names case-sensitively (fixtures/wire/response-header-names.txt)",
        needs: Needs::PlainHttp,
        drives: Drives::Protocol,
        check: wire::header_names,
    },
    Property {
        name: "refusals_reach_the_client",
        rule: "a PUT refused before its body is read (unsigned, bad signature, unknown upload) reaches a client that writes its whole body (0 to 20 MiB) before reading, with and without Expect: 100-continue, as its status and XML error, not as a reset (cos-api.md §5)",
        needs: Needs::PlainHttp,
        drives: Drives::Protocol,
        check: wire::refusals_reach_the_client,
    },
    Property {
        name: "pushes_are_signed_and_retried",
        rule: "with Mode PUSH, every NewFileUpload reaches the application's NotificationUrl with Sign = md5(SignKey + T), and a callback the application answers with an error is tried again until it is taken (vod-api.md §5.5)",
        needs: Needs::Admin,
        drives: Drives::Protocol,
        check: push::pushes_are_signed_and_retried,
    },
];
