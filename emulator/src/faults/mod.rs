//! Fault injection: rules that make the emulator misbehave on demand, deterministically.
//!
//! A [`Rule`] is a [`Match`] (service, action, bucket/key glob, part number, SubAppId, header)
//! plus an [`Effect`] (protocol-correct error, latency, throttling, connection reset, truncated
//! or stalled response, corrupted checksum, lost write, early session expiry, clock skew, and
//! for events drop/duplicate/delay/reorder/early callback/bad signature/failed task flow) plus
//! a [`Schedule`] (n-th, first k, every k-th, seeded probability, time window, max count).
//!
//! Rules come from a scenario file ([`Scenario`], `--faults FILE`), the admin API
//! (`/_emulator/faults`) or [`Faults::add`] on the in-process handle. The server consults
//! [`Faults`] in one place, before and after each handler (`server::dispatch`); the decisions
//! themselves are pure ([`engine`], [`schedule`]), and the effects that need the connection wrap
//! the bodies ([`shaping`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use vod_emulator::faults::{Effect, Rule, Service};
//! let emu = vod_emulator::Emulator::builder().seed(7).start().await?;
//! // The first two UploadPart requests for part 3 fail with a 503.
//! emu.faults().add(
//!     Rule::new(Service::Cos, "UploadPart", Effect::error("ServiceUnavailable"))
//!         .part_number(3)
//!         .first(2),
//! )?;
//! # Ok(()) }
//! ```

pub mod engine;
pub mod rule;
pub mod schedule;
pub mod shaping;

pub use engine::{Fired, RuleStatus, Subject};
pub use rule::{
    Catalog, Channel, Checksum, Distribution, Effect, Kind, Match, ResetPoint, Rule, RuleError,
    Service,
};
pub use schedule::Schedule;

use crate::clock::Clock;
use engine::Engine;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use vod_protocol::wire::events;

/// Event types event rules may name.
pub const EVENT_TYPES: &[&str] = &events::EVENT_TYPES;
/// Operations of the media URLs.
pub const MEDIA_OPERATIONS: &[&str] = &["GetMedia", "HeadMedia"];

/// Cheap-to-clone handle to an emulator's fault rules.
#[derive(Debug, Clone)]
pub struct Faults {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    // A std mutex: decisions are short and never cross an `.await`.
    engine: Mutex<Engine>,
    clock: Clock,
    catalog: Catalog,
}

impl Faults {
    /// An empty rule set deciding with `seed` against `clock`, accepting the names in `catalog`.
    pub fn new(seed: u64, clock: Clock, catalog: Catalog) -> Self {
        Self {
            inner: Arc::new(Shared {
                engine: Mutex::new(Engine::new(seed)),
                clock,
                catalog,
            }),
        }
    }

    fn engine(&self) -> MutexGuard<'_, Engine> {
        self.inner
            .engine
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The names rules may use, per service (what `/_emulator/routes` lists).
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// Validates and installs a rule; returns its id.
    ///
    /// # Errors
    /// The rule is invalid (for example it names an action the emulator does not serve); the
    /// error lists the valid names.
    pub fn add(&self, rule: Rule) -> Result<String, RuleError> {
        let mut ids = self.add_all(vec![rule])?;
        Ok(ids.remove(0))
    }

    /// Validates and installs several rules, all or none; returns their ids.
    ///
    /// # Errors
    /// One of the rules is invalid or reuses an id; nothing is installed.
    pub fn add_all(&self, rules: Vec<Rule>) -> Result<Vec<String>, RuleError> {
        let now = self.inner.clock.now_ms();
        self.engine().add(rules, &self.inner.catalog, now)
    }

    /// The installed rules with their match and hit counts.
    pub fn list(&self) -> Vec<RuleStatus> {
        self.engine().list()
    }

    /// One installed rule with its counts.
    pub fn get(&self, id: &str) -> Option<RuleStatus> {
        self.engine().list().into_iter().find(|r| r.id == id)
    }

    /// Removes a rule; whether it was installed.
    pub fn remove(&self, id: &str) -> bool {
        self.engine().remove(id)
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.engine().clear();
    }

    /// Decides what happens to a request: counts its matches and returns the rules that fire.
    pub fn decide(&self, subject: &Subject) -> Plan {
        let now = self.inner.clock.now_ms();
        Plan {
            fired: self.engine().decide(subject, now),
        }
    }

    /// Decides what happens to one event delivery: the rules of service `events` matching its
    /// type, channel and SubAppId whose effect applies on that channel (drop, duplicate,
    /// delay, reorder; bad_signature on push).
    pub fn decide_event(
        &self,
        event_type: &str,
        channel: Channel,
        sub_app_id: Option<u64>,
    ) -> Plan {
        let now = self.inner.clock.now_ms();
        let fired = self.engine().decide_where(
            &event_subject(event_type, channel, sub_app_id),
            now,
            |effect| effect.delivery_channels().contains(&channel),
        );
        Plan { fired }
    }

    /// Decides, while CommitUpload records a pushed NewFileUpload, whether an
    /// `early_callback` rule fires: the callback is then POSTed before the response is sent.
    pub fn early_callback(&self, sub_app_id: Option<u64>) -> Plan {
        let now = self.inner.clock.now_ms();
        let fired = self.engine().decide_where(
            &event_subject(events::NEW_FILE_UPLOAD, Channel::Push, sub_app_id),
            now,
            |effect| matches!(effect, Effect::EarlyCallback),
        );
        Plan { fired }
    }

    /// Decides, as a task flow of `sub_app_id` finishes, whether a `fail_task` rule fires:
    /// its ProcedureStateChanged then reports failed steps.
    pub fn fail_task(&self, sub_app_id: Option<u64>) -> Plan {
        let now = self.inner.clock.now_ms();
        let subject = Subject {
            service: Some(Service::Events),
            action: Some(events::PROCEDURE_STATE_CHANGED.to_owned()),
            sub_app_id,
            ..Subject::default()
        };
        let fired = self.engine().decide_where(&subject, now, |effect| {
            matches!(effect, Effect::FailTask { .. })
        });
        Plan { fired }
    }
}

fn event_subject(event_type: &str, channel: Channel, sub_app_id: Option<u64>) -> Subject {
    Subject {
        service: Some(Service::Events),
        action: Some(event_type.to_owned()),
        sub_app_id,
        channel: Some(channel),
        ..Subject::default()
    }
}

/// The rules that fired for one request, and what they add up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// The rules that fired, in rule order.
    pub fired: Vec<Fired>,
}

impl Plan {
    /// The one effect that replaces or shapes the answer, if any.
    pub fn primary(&self) -> Option<&Effect> {
        self.fired
            .iter()
            .map(|f| &f.effect)
            .find(|e| e.kind() == Kind::Primary)
    }

    /// Total added latency.
    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.fired.iter().map(|f| f.delay_ms).sum())
    }

    /// The tightest bandwidth limit, in bytes per second.
    pub fn throttle(&self) -> Option<u64> {
        self.fired
            .iter()
            .filter_map(|f| match f.effect {
                Effect::Throttle { bytes_per_sec } => Some(bytes_per_sec),
                _ => None,
            })
            .min()
    }

    /// Checksums to corrupt.
    pub fn corrupt(&self) -> Vec<Checksum> {
        self.fired
            .iter()
            .filter_map(|f| match f.effect {
                Effect::Corrupt { field } => Some(field),
                _ => None,
            })
            .collect()
    }

    /// Total clock shift, in milliseconds.
    pub fn skew_ms(&self) -> i64 {
        self.fired
            .iter()
            .map(|f| match f.effect {
                Effect::Skew { ms } => ms,
                _ => 0,
            })
            .sum()
    }

    /// Whether the request's upload session expires first.
    pub fn expires_session(&self) -> bool {
        self.fired
            .iter()
            .any(|f| matches!(f.effect, Effect::ExpireSession))
    }

    /// `rule:effect` for each fired rule, as the journal shows them.
    pub fn labels(&self) -> Vec<String> {
        self.fired.iter().map(Fired::label).collect()
    }
}

impl Effect {
    /// A VOD or COS error with this code (COS: the emulator's status for it) and the default
    /// message.
    pub fn error(code: impl Into<String>) -> Self {
        Effect::Error {
            code: code.into(),
            status: None,
            message: None,
        }
    }

    /// A COS error with an explicit HTTP status.
    pub fn cos_error(code: impl Into<String>, status: u16) -> Self {
        Effect::Error {
            code: code.into(),
            status: Some(status),
            message: None,
        }
    }

    /// A fixed latency.
    pub fn latency_ms(ms: u64) -> Self {
        Effect::Latency {
            ms,
            jitter_ms: 0,
            distribution: Distribution::Uniform,
        }
    }
}

/// A set of rules from a file: TOML (`[[rules]]` tables) or JSON (`{"rules": [...]}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario simulates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the endpoint still keeps the protocol under these faults, and whether a correct
    /// client can finish (every shipped scenario says which, and the conformance suite holds it
    /// to that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<ScenarioClass>,
    /// The rules, in order.
    pub rules: Vec<Rule>,
}

/// What a fault scenario makes of the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioClass {
    /// The endpoint breaks the protocol (an acknowledged write or commit lost, a wrong ETag or
    /// CRC, a truncated download, an event lost for good, a push never retried or forged): a
    /// conformance run must fail at least one property.
    BreaksProtocol,
    /// Failures the protocol allows and a correct client rides out (5xx, resets, throttling,
    /// slow or stalled networks, expiring credentials, skewed clocks, late, duplicate or
    /// reordered events): every property that drives the reference client must still pass.
    RideOut,
    /// Refusals the protocol allows that no retry cures (FailedOperation,
    /// UnauthorizedOperation): a correct client stops and reports the documented error, so a
    /// property that drives the reference client fails, naming it.
    Refuses,
}

/// Why a scenario file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid scenario.
    #[error("{path} is not a valid scenario: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What the parser said.
        message: String,
    },
}

impl Scenario {
    /// Reads a scenario file, in any of the forms [`Scenario::parse`] takes.
    ///
    /// # Errors
    /// The file cannot be read or parsed. Rule validation happens when the rules are added.
    pub fn from_file(path: &Path) -> Result<Self, ScenarioError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ScenarioError::Parse {
            path: shown,
            message,
        })
    }

    /// Parses a scenario in any of its forms, the same for `--faults` files and the admin API:
    /// TOML (`description`, `class`, `[[rules]]`), or JSON — `{"rules": [...]}`, an array of
    /// rules, or one rule.
    ///
    /// # Errors
    /// What the parser said.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') && !trimmed.starts_with("[[") {
            let rules = serde_json::from_str(text).map_err(|e| e.to_string())?;
            return Ok(Self::of(rules));
        }
        if trimmed.starts_with('{') {
            let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
            return if value.get("rules").is_some() {
                serde_json::from_value(value).map_err(|e| e.to_string())
            } else {
                serde_json::from_value(value)
                    .map(|rule| Self::of(vec![rule]))
                    .map_err(|e| e.to_string())
            };
        }
        toml::from_str(text).map_err(|e| toml_message(text, &e))
    }

    fn of(rules: Vec<Rule>) -> Self {
        Self {
            description: None,
            class: None,
            rules,
        }
    }

    /// Validates the rules as [`Faults::add_all`] would at start-up, without installing them.
    ///
    /// # Errors
    /// A rule is invalid; the error says which and lists the valid names.
    pub fn check(&self) -> Result<(), RuleError> {
        Faults::new(0, Clock::default(), crate::catalog())
            .add_all(self.rules.clone())
            .map(drop)
    }
}

/// A TOML error in one line, placed as serde_json places its own: the message, then `at line L
/// column C` (the TOML crate's own rendering quotes the source over several lines).
fn toml_message(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim_end();
    let Some(span) = err.span() else {
        return message.to_owned();
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{message} at line {line} column {column}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_errors_are_one_line_with_their_place() {
        let text = "[[rules]]\nmatch = [\n";
        let err = toml::from_str::<Scenario>(text)
            .err()
            .map(|e| toml_message(text, &e));
        let message = err.unwrap_or_default();
        assert!(!message.contains('\n'), "{message}");
        assert!(message.ends_with("at line 2 column 10"), "{message}");
    }

    #[test]
    fn plans_add_up_additive_effects_and_pick_the_primary_one() {
        let fired = |effect: Effect, delay_ms| Fired {
            rule: "r".into(),
            effect,
            delay_ms,
        };
        let plan = Plan {
            fired: vec![
                fired(Effect::latency_ms(10), 10),
                fired(Effect::latency_ms(5), 5),
                fired(Effect::Throttle { bytes_per_sec: 9 }, 0),
                fired(Effect::Throttle { bytes_per_sec: 4 }, 0),
                fired(Effect::Skew { ms: -3 }, 0),
                fired(Effect::error("InternalError"), 0),
            ],
        };
        assert_eq!(plan.delay(), Duration::from_millis(15));
        assert_eq!(plan.throttle(), Some(4));
        assert_eq!(plan.skew_ms(), -3);
        assert_eq!(plan.primary().map(Effect::name), Some("error"));
        assert!(!plan.expires_session());
        assert_eq!(plan.labels()[5], "r:error");
    }
}
