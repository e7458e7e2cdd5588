//! The rule set and its decisions: which rules a request (or event) matches, which of them
//! fire, and what the request therefore gets. Deterministic and free of I/O: the caller passes
//! the clock reading, the seed is fixed at creation, and draws come from [`roll`].

use super::rule::{Catalog, Channel, Distribution, Effect, Kind, Rule, RuleError};
use super::schedule::{roll, Moment};
use super::Service;
use crate::glob::glob_matches;
use serde::Serialize;

/// What a rule is matched against: the facts of one request or event known before handling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// The service, `None` for requests no service serves (they match nothing).
    pub service: Option<Service>,
    /// Action, operation or event type; `None` when the request could not be classified.
    pub action: Option<String>,
    /// COS bucket.
    pub bucket: Option<String>,
    /// COS object key.
    pub key: Option<String>,
    /// COS part number.
    pub part_number: Option<u32>,
    /// VOD SubAppId.
    pub sub_app_id: Option<u64>,
    /// Request header names, lowercase.
    pub headers: Vec<String>,
    /// Events: how it is delivered.
    pub channel: Option<Channel>,
}

/// A rule that fired for a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fired {
    /// The rule's id.
    pub rule: String,
    /// Its effect.
    pub effect: Effect,
    /// For latency: the drawn delay in milliseconds (0 otherwise).
    pub delay_ms: u64,
}

impl Fired {
    /// `rule-id:effect`, as the journal lists it.
    pub fn label(&self) -> String {
        format!("{}:{}", self.rule, self.effect.name())
    }
}

/// A rule with its counters, as listed by the admin API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleStatus {
    /// The rule's id.
    pub id: String,
    /// The rule as written (with its id).
    pub rule: Rule,
    /// Requests (or events) that matched it.
    pub matched: u64,
    /// Times it fired.
    pub hits: u64,
    /// Emulator time it was added, ms since the epoch.
    pub added_ms: i64,
}

/// The installed rules of one emulator.
#[derive(Debug)]
pub struct Engine {
    seed: u64,
    next_id: u64,
    rules: Vec<RuleStatus>,
}

impl Engine {
    /// An empty rule set drawing from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            next_id: 1,
            rules: Vec::new(),
        }
    }

    /// Validates and installs rules, all or none; returns their ids.
    ///
    /// # Errors
    /// A rule is invalid, or its id is already taken; nothing is installed.
    pub fn add(
        &mut self,
        rules: Vec<Rule>,
        catalog: &Catalog,
        now_ms: i64,
    ) -> Result<Vec<String>, RuleError> {
        let mut taken: Vec<String> = self.rules.iter().map(|r| r.id.clone()).collect();
        let mut next_id = self.next_id;
        let mut staged = Vec::with_capacity(rules.len());
        for (i, mut rule) in rules.into_iter().enumerate() {
            rule.validate(catalog).map_err(|e| RuleError {
                message: format!("rule {}: {}", i + 1, e.message),
                valid: e.valid,
            })?;
            let id = match &rule.id {
                Some(id) => id.clone(),
                None => loop {
                    let id = format!("rule-{next_id}");
                    next_id += 1;
                    if !taken.contains(&id) {
                        break id;
                    }
                },
            };
            if taken.contains(&id) {
                return Err(RuleError {
                    message: format!("rule {}: the id `{id}` is already in use", i + 1),
                    valid: Vec::new(),
                });
            }
            taken.push(id.clone());
            rule.id = Some(id.clone());
            staged.push(RuleStatus {
                id,
                rule,
                matched: 0,
                hits: 0,
                added_ms: now_ms,
            });
        }
        self.next_id = next_id;
        let ids = staged.iter().map(|r| r.id.clone()).collect();
        self.rules.extend(staged);
        Ok(ids)
    }

    /// Removes a rule; whether it existed.
    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.rules.len();
        self.rules.retain(|r| r.id != id);
        self.rules.len() != before
    }

    /// Removes every rule and restarts the id sequence.
    pub fn clear(&mut self) {
        self.rules.clear();
        self.next_id = 1;
    }

    /// The installed rules in order, with their counters.
    pub fn list(&self) -> Vec<RuleStatus> {
        self.rules.clone()
    }

    /// Counts the match on every rule the subject matches and returns the rules that fire, in
    /// rule order. At most one [`Kind::Primary`] effect fires: a later rule whose primary effect
    /// would also fire is neither applied nor counted as a hit (its match still counts).
    pub fn decide(&mut self, subject: &Subject, now_ms: i64) -> Vec<Fired> {
        self.decide_where(subject, now_ms, |_| true)
    }

    /// [`Engine::decide`] among the rules whose effect `applies` here: the others are not
    /// consulted at all (their match is not counted), because they apply at another point.
    pub fn decide_where(
        &mut self,
        subject: &Subject,
        now_ms: i64,
        applies: impl Fn(&Effect) -> bool,
    ) -> Vec<Fired> {
        let seed = self.seed;
        let mut fired = Vec::new();
        let mut primary_taken = false;
        for status in &mut self.rules {
            if !applies(&status.rule.effect) || !matches(&status.rule, subject) {
                continue;
            }
            status.matched += 1;
            let moment = Moment {
                matched: status.matched,
                hits: status.hits,
                elapsed_ms: now_ms.saturating_sub(status.added_ms),
                roll: roll(seed, &status.id, status.matched),
            };
            if !status.rule.schedule.fires(moment) {
                continue;
            }
            let effect = &status.rule.effect;
            if effect.kind() == Kind::Primary {
                if primary_taken {
                    continue;
                }
                primary_taken = true;
            }
            status.hits += 1;
            let delay_ms = match effect {
                Effect::Latency {
                    ms,
                    jitter_ms,
                    distribution,
                } => {
                    let u = roll(seed, &format!("{}/latency", status.id), status.matched);
                    ms.saturating_add(jitter(*jitter_ms, *distribution, u))
                }
                _ => 0,
            };
            fired.push(Fired {
                rule: status.id.clone(),
                effect: effect.clone(),
                delay_ms,
            });
        }
        fired
    }
}

/// The random part of a latency for a uniform draw `u` in `[0, 1)`.
fn jitter(jitter_ms: u64, distribution: Distribution, u: f64) -> u64 {
    let j = jitter_ms as f64;
    let x = match distribution {
        Distribution::Uniform => u * j,
        Distribution::Exponential => (-(1.0 - u).ln() * j).min(10.0 * j),
    };
    x.round() as u64
}

/// Whether every condition of the rule's match holds for the subject.
fn matches(rule: &Rule, s: &Subject) -> bool {
    let m = &rule.matcher;
    let glob = |pattern: &Option<String>, value: &Option<String>| match pattern {
        None => true,
        Some(p) => value.as_deref().is_some_and(|v| glob_matches(p, v)),
    };
    s.service == Some(m.service)
        && m.action
            .as_ref()
            .is_none_or(|a| s.action.as_ref() == Some(a))
        && glob(&m.bucket, &s.bucket)
        && glob(&m.key, &s.key)
        && m.part_number.is_none_or(|n| s.part_number == Some(n))
        && m.sub_app_id.is_none_or(|n| s.sub_app_id == Some(n))
        && m.channel.is_none_or(|c| s.channel == Some(c))
        && m.header.as_ref().is_none_or(|h| {
            let h = h.to_ascii_lowercase();
            s.headers.contains(&h)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::rule::ResetPoint;

    use crate::catalog;

    fn part(n: u32) -> Subject {
        Subject {
            service: Some(Service::Cos),
            action: Some("UploadPart".into()),
            bucket: Some("vod-ap-guangzhou-1".into()),
            key: Some("a/f0.mp4".into()),
            part_number: Some(n),
            ..Default::default()
        }
    }

    fn error() -> Effect {
        Effect::Error {
            code: "InternalError".into(),
            status: None,
            message: None,
        }
    }

    fn engine(rules: Vec<Rule>) -> Engine {
        let mut e = Engine::new(1);
        e.add(rules, &catalog(), 0).expect("valid rules");
        e
    }

    #[test]
    fn rules_match_on_every_given_field() {
        let mut e = engine(vec![Rule::new(Service::Cos, "UploadPart", error())
            .part_number(2)
            .bucket("vod-*")
            .key("*.mp4")]);
        assert!(e.decide(&part(1), 0).is_empty());
        assert_eq!(e.decide(&part(2), 0).len(), 1);
        let mut other = part(2);
        other.key = Some("a/cover.jpg".into());
        assert!(e.decide(&other, 0).is_empty());
        let status = &e.list()[0];
        assert_eq!((status.matched, status.hits), (1, 1));
    }

    #[test]
    fn ids_are_assigned_in_order_and_duplicates_refused() {
        let mut e = Engine::new(0);
        let ids = e
            .add(
                vec![
                    Rule::new(Service::Cos, "PutObject", error()),
                    Rule::new(Service::Cos, "PutObject", error()).id("mine"),
                ],
                &catalog(),
                0,
            )
            .expect("added");
        assert_eq!(ids, vec!["rule-1", "mine"]);
        let dup = e.add(
            vec![
                Rule::new(Service::Cos, "PutObject", error()),
                Rule::new(Service::Cos, "PutObject", error()).id("mine"),
            ],
            &catalog(),
            0,
        );
        assert!(dup.is_err());
        assert_eq!(e.list().len(), 2, "a refused batch installs nothing");
        assert!(e.remove("mine"));
        assert!(!e.remove("mine"));
    }

    #[test]
    fn one_primary_effect_per_request_but_additive_ones_stack() {
        let mut e = engine(vec![
            Rule::new(
                Service::Cos,
                "UploadPart",
                Effect::Latency {
                    ms: 5,
                    jitter_ms: 0,
                    distribution: Distribution::Uniform,
                },
            ),
            Rule::new(Service::Cos, "UploadPart", error()),
            Rule::new(
                Service::Cos,
                "UploadPart",
                Effect::Reset {
                    at: ResetPoint::BeforeBody,
                },
            ),
        ]);
        let fired = e.decide(&part(1), 0);
        let names: Vec<&str> = fired.iter().map(|f| f.effect.name()).collect();
        assert_eq!(names, vec!["latency", "error"]);
        assert_eq!(fired[0].delay_ms, 5);
        let reset = &e.list()[2];
        assert_eq!((reset.matched, reset.hits), (1, 0));
    }

    #[test]
    fn the_same_seed_fires_on_the_same_requests() {
        let rules = || vec![Rule::new(Service::Cos, "UploadPart", error()).probability(0.5)];
        let run = |seed| {
            let mut e = Engine::new(seed);
            e.add(rules(), &catalog(), 0).expect("valid");
            (1..=64)
                .map(|n| !e.decide(&part(n), 0).is_empty())
                .collect::<Vec<bool>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let hits = run(7).iter().filter(|b| **b).count();
        assert!((16..=48).contains(&hits), "{hits} of 64");
    }

    #[test]
    fn latency_jitter_is_drawn_within_its_bounds() {
        assert_eq!(jitter(100, Distribution::Uniform, 0.0), 0);
        assert_eq!(jitter(100, Distribution::Uniform, 0.5), 50);
        assert!(jitter(100, Distribution::Exponential, 0.999_999) <= 1000);
    }

    #[test]
    fn time_windows_use_the_time_since_the_rule_was_added() {
        let mut e = Engine::new(0);
        e.add(
            vec![Rule::new(Service::Cos, "UploadPart", error()).window(Some(1000), None)],
            &catalog(),
            10_000,
        )
        .expect("valid");
        assert!(e.decide(&part(1), 10_500).is_empty());
        assert_eq!(e.decide(&part(1), 11_000).len(), 1);
    }
}
