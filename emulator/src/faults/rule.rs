//! A fault rule as data: what it **matches**, what it does (**effect**), and when it fires
//! (**schedule**). The same serde types are read from scenario files (TOML or JSON), from the
//! admin API (JSON) and built in Rust; [`Rule::validate`] refuses, when the rule is written,
//! anything the emulator could not apply (an unknown action, an effect that makes no sense for
//! the service), naming the valid choices.

use super::schedule::Schedule;
use serde::{Deserialize, Serialize};
use vod_protocol::wire::events::{NEW_FILE_UPLOAD, PROCEDURE_STATE_CHANGED};
use vod_protocol::wire::procedure::{task_error_code, STEP_TYPES, TASK_ERROR_CODES};

/// One fault rule: match + effect + schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable name, used to remove the rule and in the journal; assigned (`rule-N`) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What the rule is for, for people reading a scenario or a listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Which requests (or events) it applies to.
    #[serde(rename = "match")]
    pub matcher: Match,
    /// What happens to them.
    pub effect: Effect,
    /// Which of the matching requests are affected (default: all).
    #[serde(default, skip_serializing_if = "Schedule::is_always")]
    pub schedule: Schedule,
}

/// The part of the emulator a rule targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// The VOD API (`X-TC-Action`).
    Vod,
    /// The COS XML API.
    Cos,
    /// Event notification: pulled events and push callbacks.
    Events,
    /// MediaUrl / CoverUrl downloads.
    Media,
}

impl Service {
    /// Every service, for listings.
    pub const ALL: [Service; 4] = [Service::Vod, Service::Cos, Service::Events, Service::Media];

    /// The lowercase name used in rules and the journal.
    pub fn name(self) -> &'static str {
        match self {
            Service::Vod => "vod",
            Service::Cos => "cos",
            Service::Events => "events",
            Service::Media => "media",
        }
    }
}

/// How an event reaches the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Returned by PullEvents.
    Pull,
    /// POSTed to the configured callback URL.
    Push,
}

impl Channel {
    /// The lowercase name used in rules.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Pull => "pull",
            Channel::Push => "push",
        }
    }
}

/// What a rule matches; every field given must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// The service.
    pub service: Service,
    /// VOD action (`ApplyUpload`), COS operation (`UploadPart`), event type (`NewFileUpload`)
    /// or media operation (`GetMedia`); any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Bucket glob (`*` any run of characters, `?` one character).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Object key glob; `*` also crosses `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// COS part number (UploadPart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_number: Option<u32>,
    /// VOD `SubAppId` of the request (or of the event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
    /// A request header that must be present (case-insensitive name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Events only: pulled or pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
}

impl Match {
    /// Matches every request of `service`.
    pub fn service(service: Service) -> Self {
        Self {
            service,
            action: None,
            bucket: None,
            key: None,
            part_number: None,
            sub_app_id: None,
            header: None,
            channel: None,
        }
    }
}

/// Where a connection reset happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetPoint {
    /// Before the request body is read: the handler never runs, nothing changes.
    BeforeBody,
    /// After the request was read and handled: the change is made, the response is lost.
    AfterBody,
}

/// A checksum a response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Checksum {
    /// The `ETag` header.
    Etag,
    /// The `x-cos-hash-crc64ecma` header.
    Crc64,
}

/// How an added latency is spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// `ms` plus a uniform draw from `[0, jitter_ms]`.
    #[default]
    Uniform,
    /// `ms` plus an exponential draw of mean `jitter_ms` (capped at 10× the mean): a long tail.
    Exponential,
}

/// What a rule does to a matching request or event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Effect {
    /// Answer with a protocol-correct error instead of running the handler: any TC API code in
    /// the JSON envelope (VOD), any COS code with its HTTP status in the XML body (COS; the
    /// status may be omitted for codes the emulator knows).
    Error {
        /// Error code (`InternalError`, `RequestLimitExceeded`, `SlowDown`, ...).
        code: String,
        /// HTTP status (COS only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// Message; a generic one when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Wait before handling the request.
    Latency {
        /// Fixed part, in milliseconds.
        ms: u64,
        /// Random part (seeded), in milliseconds.
        #[serde(default)]
        jitter_ms: u64,
        /// How the random part is drawn.
        #[serde(default)]
        distribution: Distribution,
    },
    /// Limit request and response bodies to this many bytes per second.
    Throttle {
        /// Bytes per second (at least 1).
        bytes_per_sec: u64,
    },
    /// Reset the TCP connection (RST) instead of answering.
    Reset {
        /// Before or after the request is read and handled.
        at: ResetPoint,
    },
    /// Send the status and headers (with the full Content-Length), then only this many body
    /// bytes, then close the connection.
    Truncate {
        /// Body bytes sent before closing.
        after_bytes: u64,
    },
    /// Send the status, headers and this many body bytes, then nothing for `ms`, then close.
    Stall {
        /// Body bytes sent before stalling.
        #[serde(default)]
        after_bytes: u64,
        /// How long to stall, in milliseconds.
        ms: u64,
    },
    /// Corrupt a checksum header of a successful response.
    Corrupt {
        /// Which one.
        field: Checksum,
    },
    /// Answer success but do not keep the write: the object, part or commit stays as it was
    /// before the request ("the server said yes and then lost it"). A lost CommitUpload
    /// answers its FileId and MediaUrl but records nothing: no media, no event, and the
    /// session stays uncommitted, so committing it again works.
    LoseWrite,
    /// Expire the upload session the request uses (its temporary credentials and session key)
    /// before handling it, so the request fails the way an expired session does.
    ExpireSession,
    /// Move the emulator's clock by `ms` (negative: back) before handling the request.
    Skew {
        /// Milliseconds.
        ms: i64,
    },
    /// Events: lose the event for good (state `dropped`): a push is never sent, a pull never
    /// returns it, now or later. `POST /_emulator/events/{id}/resend` brings it back.
    Drop,
    /// Events: deliver the event this many extra times: a push is POSTed again, a pull returns
    /// a stored copy under its own handle next to the original (each is confirmed on its own).
    Duplicate {
        /// Extra copies (at least 1).
        #[serde(default = "one")]
        copies: u32,
    },
    /// Events: hold the event back (state `held`) this long, then deliver it without a new
    /// fault decision; events behind it overtake it meanwhile.
    Delay {
        /// Milliseconds (emulator clock).
        ms: u64,
    },
    /// Events: hold the event back until the events due with it have been delivered, so the
    /// next one overtakes it; alone, it is delivered as usual.
    Reorder,
    /// Events: POST the NewFileUpload callback before the CommitUpload response is sent.
    EarlyCallback,
    /// Events: sign the callback with the wrong key.
    BadSignature,
    /// Events: the task flow fails when it finishes: its steps of type `step` (all of them
    /// without one) are `FAIL` with a documented video processing error, and its
    /// ProcedureStateChanged reports them. Decided once per task flow, where it finishes.
    FailTask {
        /// Which steps fail, by result `Type` (`Transcode`, `SampleSnapshot`, `ImageSprites`,
        /// `CoverBySnapshot`, `AdaptiveDynamicStreaming`); every step when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        /// Their `ErrCodeExt`, one of the documented codes; `InternalError` when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        err_code: Option<String>,
        /// Their `Message`; the code's documented meaning when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

fn one() -> u32 {
    1
}

/// The kind of an effect, for listings, validation and the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Replaces the handler's answer (error, reset) or the handler's write (lose_write), or
    /// shapes the response body (truncate, stall); a request gets at most one.
    Primary,
    /// Adds to whatever else happens (latency, throttle, corrupt, expire, skew).
    Additive,
}

impl Effect {
    /// Every effect type name.
    pub const NAMES: &'static [&'static str] = &[
        "error",
        "latency",
        "throttle",
        "reset",
        "truncate",
        "stall",
        "corrupt",
        "lose_write",
        "expire_session",
        "skew",
        "drop",
        "duplicate",
        "delay",
        "reorder",
        "early_callback",
        "bad_signature",
        "fail_task",
    ];

    /// The effect's `type` name.
    pub fn name(&self) -> &'static str {
        match self {
            Effect::Error { .. } => "error",
            Effect::Latency { .. } => "latency",
            Effect::Throttle { .. } => "throttle",
            Effect::Reset { .. } => "reset",
            Effect::Truncate { .. } => "truncate",
            Effect::Stall { .. } => "stall",
            Effect::Corrupt { .. } => "corrupt",
            Effect::LoseWrite => "lose_write",
            Effect::ExpireSession => "expire_session",
            Effect::Skew { .. } => "skew",
            Effect::Drop => "drop",
            Effect::Duplicate { .. } => "duplicate",
            Effect::Delay { .. } => "delay",
            Effect::Reorder => "reorder",
            Effect::EarlyCallback => "early_callback",
            Effect::BadSignature => "bad_signature",
            Effect::FailTask { .. } => "fail_task",
        }
    }

    /// Whether a request can carry it alongside others.
    pub fn kind(&self) -> Kind {
        match self {
            Effect::Latency { .. }
            | Effect::Throttle { .. }
            | Effect::Corrupt { .. }
            | Effect::ExpireSession
            | Effect::Skew { .. }
            | Effect::Delay { .. } => Kind::Additive,
            Effect::Error { .. }
            | Effect::Reset { .. }
            | Effect::Truncate { .. }
            | Effect::Stall { .. }
            | Effect::LoseWrite
            | Effect::Drop
            | Effect::Duplicate { .. }
            | Effect::Reorder
            | Effect::EarlyCallback
            | Effect::BadSignature
            | Effect::FailTask { .. } => Kind::Primary,
        }
    }

    /// The services this effect can be applied to.
    pub fn services(&self) -> &'static [Service] {
        match self {
            Effect::Error { .. } => &[Service::Vod, Service::Cos, Service::Media],
            Effect::ExpireSession | Effect::LoseWrite => &[Service::Vod, Service::Cos],
            Effect::Latency { .. }
            | Effect::Throttle { .. }
            | Effect::Reset { .. }
            | Effect::Truncate { .. }
            | Effect::Stall { .. }
            | Effect::Skew { .. } => &[Service::Vod, Service::Cos, Service::Media],
            Effect::Corrupt { .. } => &[Service::Cos, Service::Media],
            Effect::Drop
            | Effect::Duplicate { .. }
            | Effect::Delay { .. }
            | Effect::Reorder
            | Effect::EarlyCallback
            | Effect::BadSignature
            | Effect::FailTask { .. } => &[Service::Events],
        }
    }
}

impl Effect {
    /// The event channels on which the effect applies when an event is delivered; none for
    /// request effects, for `early_callback`, which applies when CommitUpload runs, and for
    /// `fail_task`, which applies when a task flow finishes.
    pub fn delivery_channels(&self) -> &'static [Channel] {
        match self {
            Effect::Drop | Effect::Duplicate { .. } | Effect::Delay { .. } | Effect::Reorder => {
                &[Channel::Pull, Channel::Push]
            }
            Effect::BadSignature => &[Channel::Push],
            Effect::Error { .. }
            | Effect::Latency { .. }
            | Effect::Throttle { .. }
            | Effect::Reset { .. }
            | Effect::Truncate { .. }
            | Effect::Stall { .. }
            | Effect::Corrupt { .. }
            | Effect::LoseWrite
            | Effect::ExpireSession
            | Effect::Skew { .. }
            | Effect::EarlyCallback
            | Effect::FailTask { .. } => &[],
        }
    }
}

/// The names a rule may use, per service: what the emulator serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Catalog {
    /// VOD API actions.
    pub vod: Vec<&'static str>,
    /// COS operations.
    pub cos: Vec<&'static str>,
    /// Event types.
    pub events: Vec<&'static str>,
    /// Media URL operations.
    pub media: Vec<&'static str>,
}

impl Catalog {
    /// The valid `action` names of a service.
    pub fn actions(&self, service: Service) -> &[&'static str] {
        match service {
            Service::Vod => &self.vod,
            Service::Cos => &self.cos,
            Service::Events => &self.events,
            Service::Media => &self.media,
        }
    }
}

/// COS operations whose write [`Effect::LoseWrite`] can lose.
pub const LOSABLE_WRITES: &[&str] = &["PutObject", "UploadPart", "CompleteMultipartUpload"];

/// VOD actions whose write [`Effect::LoseWrite`] can lose.
pub const LOSABLE_COMMITS: &[&str] = &["CommitUpload"];

/// Why a rule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleError {
    /// What is wrong, naming the valid choices.
    pub message: String,
    /// The valid names for the field at fault, when it is a name.
    pub valid: Vec<String>,
}

impl RuleError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            valid: Vec::new(),
        }
    }

    fn choices(message: impl Into<String>, valid: &[&str]) -> Self {
        Self {
            message: format!("{}; valid: {}", message.into(), valid.join(", ")),
            valid: valid.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

impl Rule {
    /// A rule applying `effect` to every request of `service` named `action` (a VOD action, a
    /// COS operation, an event type or a media operation), always.
    pub fn new(service: Service, action: impl Into<String>, effect: Effect) -> Self {
        Self {
            id: None,
            description: None,
            matcher: Match {
                action: Some(action.into()),
                ..Match::service(service)
            },
            effect,
            schedule: Schedule::default(),
        }
    }

    /// Names the rule.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Describes the rule.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// Only requests to buckets matching this glob.
    pub fn bucket(mut self, glob: impl Into<String>) -> Self {
        self.matcher.bucket = Some(glob.into());
        self
    }

    /// Only requests for keys matching this glob.
    pub fn key(mut self, glob: impl Into<String>) -> Self {
        self.matcher.key = Some(glob.into());
        self
    }

    /// Only UploadPart requests for this part.
    pub fn part_number(mut self, n: u32) -> Self {
        self.matcher.part_number = Some(n);
        self
    }

    /// Only requests (or events) of this SubAppId.
    pub fn sub_app_id(mut self, id: u64) -> Self {
        self.matcher.sub_app_id = Some(id);
        self
    }

    /// Only requests carrying this header.
    pub fn header(mut self, name: impl Into<String>) -> Self {
        self.matcher.header = Some(name.into());
        self
    }

    /// Only events delivered this way.
    pub fn channel(mut self, channel: Channel) -> Self {
        self.matcher.channel = Some(channel);
        self
    }

    /// Replaces the schedule.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Fires only on the `n`-th matching request (1-based).
    pub fn nth(mut self, n: u64) -> Self {
        self.schedule.nth = Some(n);
        self
    }

    /// Fires on the first `k` matching requests.
    pub fn first(mut self, k: u64) -> Self {
        self.schedule.first = Some(k);
        self
    }

    /// Fires on every `k`-th matching request (the k-th, 2k-th, ...).
    pub fn every(mut self, k: u64) -> Self {
        self.schedule.every = Some(k);
        self
    }

    /// Fires with probability `p`, drawn from the emulator's seed.
    pub fn probability(mut self, p: f64) -> Self {
        self.schedule.probability = Some(p);
        self
    }

    /// Fires only between `after_ms` and `until_ms` (emulator clock) after the rule is added.
    pub fn window(mut self, after_ms: Option<u64>, until_ms: Option<u64>) -> Self {
        self.schedule.after_ms = after_ms;
        self.schedule.until_ms = until_ms;
        self
    }

    /// Fires at most `m` times.
    pub fn max(mut self, m: u64) -> Self {
        self.schedule.max = Some(m);
        self
    }

    /// Checks the rule against what the emulator serves.
    ///
    /// # Errors
    /// The rule names an unknown action, pairs an effect with a service it cannot apply to,
    /// or has an out-of-range value; the error names the valid choices.
    pub fn validate(&self, catalog: &Catalog) -> Result<(), RuleError> {
        let m = &self.matcher;
        let service = m.service;
        if let Some(id) = &self.id {
            let ok = !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
            if !ok {
                return Err(RuleError::new(format!(
                    "rule id `{id}` must be 1 to 64 letters, digits, `-`, `_` or `.`"
                )));
            }
        }
        let actions = catalog.actions(service);
        if let Some(action) = &m.action {
            if !actions.contains(&action.as_str()) {
                return Err(RuleError::choices(
                    format!(
                        "the emulator does not serve `{action}` in service `{}`",
                        service.name()
                    ),
                    actions,
                ));
            }
        }
        let cos_only = |field: &str, present: bool| {
            if present && service != Service::Cos && service != Service::Media {
                Err(RuleError::new(format!(
                    "`{field}` only applies to cos and media requests"
                )))
            } else {
                Ok(())
            }
        };
        cos_only("bucket", m.bucket.is_some())?;
        cos_only("key", m.key.is_some())?;
        if m.part_number.is_some() && service != Service::Cos {
            return Err(RuleError::new("`part_number` only applies to cos requests"));
        }
        if m.part_number == Some(0) {
            return Err(RuleError::new("`part_number` counts from 1"));
        }
        if m.channel.is_some() && service != Service::Events {
            return Err(RuleError::new("`channel` only applies to events"));
        }
        if let Some(channel) = m.channel {
            let channels = match self.effect {
                Effect::EarlyCallback => &[Channel::Push][..],
                _ => self.effect.delivery_channels(),
            };
            if !channels.contains(&channel) {
                let names: Vec<&str> = channels.iter().map(|c| c.name()).collect();
                return Err(RuleError::choices(
                    format!(
                        "effect `{}` does not apply to {} events",
                        self.effect.name(),
                        channel.name()
                    ),
                    &names,
                ));
            }
        }
        if m.header.is_some() && service == Service::Events {
            return Err(RuleError::new("`header` does not apply to events"));
        }
        let services = self.effect.services();
        if !services.contains(&service) {
            let names: Vec<&str> = services.iter().map(|s| s.name()).collect();
            return Err(RuleError::choices(
                format!(
                    "effect `{}` cannot apply to service `{}`",
                    self.effect.name(),
                    service.name()
                ),
                &names,
            ));
        }
        self.validate_effect(catalog)?;
        self.schedule.validate().map_err(RuleError::new)
    }

    fn validate_effect(&self, catalog: &Catalog) -> Result<(), RuleError> {
        let action = self.matcher.action.as_deref();
        match &self.effect {
            Effect::Error { code, status, .. } => {
                let well_formed = !code.is_empty()
                    && code.len() <= 128
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
                if !well_formed {
                    return Err(RuleError::new(format!(
                        "error code `{code}` must be letters, digits, `.` and `_`"
                    )));
                }
                match (self.matcher.service, status) {
                    (Service::Vod, Some(_)) => Err(RuleError::new(
                        "VOD API errors are always HTTP 200 in the JSON envelope; drop `status`",
                    )),
                    (Service::Cos | Service::Media, Some(s)) if !(400..=599).contains(s) => Err(
                        RuleError::new(format!("error status {s} must be from 400 to 599")),
                    ),
                    (Service::Cos | Service::Media, None)
                        if crate::error::CosCode::parse(code).is_none() =>
                    {
                        Err(RuleError::new(format!(
                            "give `status` for the code `{code}`, which the emulator does not know"
                        )))
                    }
                    _ => Ok(()),
                }
            }
            Effect::Throttle { bytes_per_sec: 0 } => {
                Err(RuleError::new("`bytes_per_sec` must be at least 1"))
            }
            Effect::Duplicate { copies: 0 } => Err(RuleError::new("`copies` must be at least 1")),
            Effect::LoseWrite => {
                let writes = match self.matcher.service {
                    Service::Vod => LOSABLE_COMMITS,
                    _ => LOSABLE_WRITES,
                };
                match action {
                    Some(a) if writes.contains(&a) => Ok(()),
                    _ => Err(RuleError::choices(
                        "lose_write needs an `action` that writes",
                        writes,
                    )),
                }
            }
            Effect::ExpireSession => {
                let sessionful: Vec<&str> = match self.matcher.service {
                    Service::Vod => vec!["CommitUpload"],
                    _ => catalog.cos.clone(),
                };
                match action {
                    Some(a) if sessionful.contains(&a) => Ok(()),
                    None if self.matcher.service == Service::Cos => Ok(()),
                    _ => Err(RuleError::choices(
                        "expire_session needs a request made with an upload session",
                        &sessionful,
                    )),
                }
            }
            Effect::EarlyCallback => match action {
                None | Some(NEW_FILE_UPLOAD) => Ok(()),
                Some(_) => Err(RuleError::choices(
                    "early_callback applies to the NewFileUpload callback",
                    &[NEW_FILE_UPLOAD],
                )),
            },
            Effect::FailTask { step, err_code, .. } => {
                if !matches!(action, None | Some(PROCEDURE_STATE_CHANGED)) {
                    return Err(RuleError::choices(
                        "fail_task applies to task flows, notified by ProcedureStateChanged",
                        &[PROCEDURE_STATE_CHANGED],
                    ));
                }
                if let Some(step) = step.as_deref() {
                    if !STEP_TYPES.contains(&step) {
                        return Err(RuleError::choices(
                            format!("`{step}` is not a step type"),
                            STEP_TYPES,
                        ));
                    }
                }
                match err_code.as_deref() {
                    Some(code) if task_error_code(code).is_none() => {
                        let codes: Vec<&str> = TASK_ERROR_CODES.iter().map(|c| c.code).collect();
                        Err(RuleError::choices(
                            format!("`{code}` is not a documented video processing error code"),
                            &codes,
                        ))
                    }
                    _ => Ok(()),
                }
            }
            Effect::Latency { .. }
            | Effect::Throttle { .. }
            | Effect::Reset { .. }
            | Effect::Truncate { .. }
            | Effect::Stall { .. }
            | Effect::Corrupt { .. }
            | Effect::Skew { .. }
            | Effect::Drop
            | Effect::Duplicate { .. }
            | Effect::Delay { .. }
            | Effect::Reorder
            | Effect::BadSignature => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::catalog;

    fn cos_error() -> Effect {
        Effect::Error {
            code: "InternalError".into(),
            status: None,
            message: None,
        }
    }

    #[test]
    fn unknown_actions_are_refused_with_the_valid_names() {
        let err = Rule::new(Service::Cos, "UploadParts", cos_error())
            .validate(&catalog())
            .expect_err("refused");
        assert!(err.message.contains("UploadParts"), "{err}");
        assert!(err.valid.iter().any(|v| v == "UploadPart"), "{err:?}");
        assert!(err.valid.iter().any(|v| v == "CompleteMultipartUpload"));
    }

    #[test]
    fn effects_are_checked_against_the_service() {
        let c = catalog();
        assert!(Rule::new(Service::Cos, "UploadPart", Effect::Drop)
            .validate(&c)
            .is_err());
        assert!(Rule::new(Service::Events, "NewFileUpload", Effect::Drop)
            .validate(&c)
            .is_ok());
        let vod_status = Effect::Error {
            code: "RequestLimitExceeded".into(),
            status: Some(503),
            message: None,
        };
        assert!(Rule::new(Service::Vod, "ApplyUpload", vod_status)
            .validate(&c)
            .is_err());
        let unknown_cos = Effect::Error {
            code: "SomethingNew".into(),
            status: None,
            message: None,
        };
        assert!(Rule::new(Service::Cos, "PutObject", unknown_cos)
            .validate(&c)
            .is_err());
        assert!(Rule::new(Service::Cos, "PutObject", Effect::LoseWrite)
            .validate(&c)
            .is_ok());
        assert!(
            Rule::new(Service::Vod, "ApplyUpload", Effect::ExpireSession)
                .validate(&c)
                .is_err()
        );
        assert!(Rule::new(Service::Cos, "UploadPart", cos_error())
            .part_number(0)
            .validate(&c)
            .is_err());
        assert!(Rule::new(Service::Cos, "UploadPart", cos_error())
            .id("bad id")
            .validate(&c)
            .is_err());
    }

    #[test]
    fn lost_commits_media_errors_and_event_channels_are_checked() {
        let c = catalog();
        let ok = |r: Rule| r.validate(&c).is_ok();
        assert!(ok(Rule::new(
            Service::Vod,
            "CommitUpload",
            Effect::LoseWrite
        )));
        let err = Rule::new(Service::Vod, "ApplyUpload", Effect::LoseWrite)
            .validate(&c)
            .expect_err("ApplyUpload writes nothing to lose");
        assert_eq!(err.valid, vec!["CommitUpload"]);
        assert!(!ok(Rule::new(
            Service::Cos,
            "CommitUpload",
            Effect::LoseWrite
        )));
        assert!(ok(Rule::new(Service::Media, "GetMedia", cos_error())));
        assert!(ok(Rule::new(
            Service::Media,
            "HeadMedia",
            Effect::cos_error("Gateway", 504)
        )));
        assert!(!ok(Rule::new(
            Service::Media,
            "GetMedia",
            Effect::error("Gateway")
        )));
        let event =
            |effect, channel| Rule::new(Service::Events, "NewFileUpload", effect).channel(channel);
        assert!(ok(event(Effect::Drop, Channel::Pull)));
        assert!(ok(event(Effect::Reorder, Channel::Pull)));
        assert!(ok(event(Effect::Delay { ms: 5 }, Channel::Push)));
        assert!(ok(event(Effect::EarlyCallback, Channel::Push)));
        assert!(!ok(event(Effect::EarlyCallback, Channel::Pull)));
        assert!(!ok(event(Effect::BadSignature, Channel::Pull)));
    }

    #[test]
    fn failed_task_flows_name_a_step_type_and_a_documented_code() {
        let c = catalog();
        let fail = |step: Option<&str>, code: Option<&str>| Effect::FailTask {
            step: step.map(str::to_owned),
            err_code: code.map(str::to_owned),
            message: None,
        };
        let ok = |r: Rule| r.validate(&c).is_ok();
        assert!(ok(Rule::new(
            Service::Events,
            "ProcedureStateChanged",
            fail(
                Some("ImageSprites"),
                Some("SourceFileError.ContentMalformed")
            )
        )));
        let any = Rule {
            matcher: Match::service(Service::Events),
            ..Rule::new(Service::Events, "", fail(None, None))
        };
        assert!(ok(any));
        let err = Rule::new(
            Service::Events,
            "ProcedureStateChanged",
            fail(None, Some("Oops")),
        )
        .validate(&c)
        .expect_err("undocumented code");
        assert!(err.valid.iter().any(|v| v == "SourceFileError"), "{err:?}");
        let err = Rule::new(
            Service::Events,
            "ProcedureStateChanged",
            fail(Some("Snapshot"), None),
        )
        .validate(&c)
        .expect_err("unknown step");
        assert!(err.valid.iter().any(|v| v == "CoverBySnapshot"), "{err:?}");
        assert!(!ok(Rule::new(
            Service::Events,
            "NewFileUpload",
            fail(None, None)
        )));
        assert!(!ok(Rule::new(
            Service::Events,
            "ProcedureStateChanged",
            fail(None, None)
        )
        .channel(Channel::Push)));
        assert!(!ok(Rule::new(
            Service::Vod,
            "CommitUpload",
            fail(None, None)
        )));
    }

    #[test]
    fn rules_read_from_json_and_toml_alike() {
        let json = r#"{"id": "flaky", "match": {"service": "cos", "action": "UploadPart"},
            "effect": {"type": "error", "code": "InternalError", "status": 500},
            "schedule": {"first": 2}}"#;
        let toml_text = r#"
            id = "flaky"
            match = { service = "cos", action = "UploadPart" }
            effect = { type = "error", code = "InternalError", status = 500 }
            schedule = { first = 2 }
        "#;
        let a: Rule = serde_json::from_str(json).expect("json rule");
        let b: Rule = toml::from_str(toml_text).expect("toml rule");
        assert_eq!(a, b);
        assert_eq!(a.schedule.first, Some(2));
        assert!(serde_json::from_str::<Rule>(
            r#"{"match": {"service": "cos", "actoin": "X"}, "effect": {"type": "drop"}}"#
        )
        .is_err());
        assert!(serde_json::from_str::<Rule>(
            r#"{"match": {"service": "cos"}, "effect": {"type": "explode"}}"#
        )
        .is_err());
    }
}
