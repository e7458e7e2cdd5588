//! When a rule fires: pure functions of the match count, the hit count, the time since the
//! rule was added (emulator clock) and a seeded draw, so the same seed and the same requests
//! give the same faults. No I/O, no global RNG.

use serde::{Deserialize, Serialize};

/// Which matching requests a rule affects. Every condition given must hold; none given means
/// every matching request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Only the n-th matching request (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<u64>,
    /// Only the first k matching requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
    /// Only every k-th matching request (k, 2k, 3k, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<u64>,
    /// With this probability, from the seeded generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Not before this many milliseconds (emulator clock) after the rule was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_ms: Option<u64>,
    /// Not from this many milliseconds (emulator clock) after the rule was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<u64>,
    /// At most this many times in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

/// Where a rule stands when a request matches it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moment {
    /// 1-based index of this match among the rule's matches.
    pub matched: u64,
    /// Times the rule has fired before.
    pub hits: u64,
    /// Milliseconds since the rule was added (emulator clock; negative if the clock went back).
    pub elapsed_ms: i64,
    /// A uniform draw from `[0, 1)` for this rule and match, from [`roll`].
    pub roll: f64,
}

impl Schedule {
    /// Whether no condition is set.
    pub fn is_always(&self) -> bool {
        *self == Self::default()
    }

    /// Whether the rule fires at this moment.
    pub fn fires(&self, m: Moment) -> bool {
        let elapsed = u64::try_from(m.elapsed_ms).unwrap_or(0);
        self.nth.is_none_or(|n| m.matched == n)
            && self.first.is_none_or(|k| m.matched <= k)
            && self
                .every
                .is_none_or(|k| k > 0 && m.matched.is_multiple_of(k))
            && self.after_ms.is_none_or(|t| elapsed >= t)
            && self.until_ms.is_none_or(|t| elapsed < t)
            && self.max.is_none_or(|max| m.hits < max)
            && self.probability.is_none_or(|p| m.roll < p)
    }

    /// Checks the values.
    ///
    /// # Errors
    /// A count of 0, a probability outside `[0, 1]` or an empty time window.
    pub fn validate(&self) -> Result<(), String> {
        if self.nth == Some(0) || self.every == Some(0) {
            return Err("`nth` and `every` count from 1".into());
        }
        if self
            .probability
            .is_some_and(|p| !(0.0..=1.0).contains(&p) || p.is_nan())
        {
            return Err("`probability` must be from 0 to 1".into());
        }
        if let (Some(a), Some(u)) = (self.after_ms, self.until_ms) {
            if a >= u {
                return Err("`after_ms` must be before `until_ms`".into());
            }
        }
        Ok(())
    }
}

/// A uniform draw from `[0, 1)` determined by the seed, a stream name (the rule id plus a
/// purpose) and an index: splitmix64 over an FNV-1a hash, stable across platforms and versions.
pub fn roll(seed: u64, stream: &str, index: u64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in stream.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = seed ^ h ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(matched: u64) -> Moment {
        Moment {
            matched,
            hits: 0,
            elapsed_ms: 0,
            roll: 0.5,
        }
    }

    fn fired(s: &Schedule, n: u64) -> Vec<u64> {
        (1..=n).filter(|&i| s.fires(at(i))).collect()
    }

    #[test]
    fn an_empty_schedule_always_fires() {
        assert_eq!(fired(&Schedule::default(), 3), vec![1, 2, 3]);
    }

    #[test]
    fn counts_select_the_nth_the_first_k_and_every_kth() {
        let nth = Schedule {
            nth: Some(3),
            ..Default::default()
        };
        assert_eq!(fired(&nth, 6), vec![3]);
        let first = Schedule {
            first: Some(2),
            ..Default::default()
        };
        assert_eq!(fired(&first, 6), vec![1, 2]);
        let every = Schedule {
            every: Some(2),
            ..Default::default()
        };
        assert_eq!(fired(&every, 6), vec![2, 4, 6]);
    }

    #[test]
    fn max_caps_the_hits_and_windows_bound_the_time() {
        let s = Schedule {
            max: Some(2),
            ..Default::default()
        };
        assert!(s.fires(Moment { hits: 1, ..at(5) }));
        assert!(!s.fires(Moment { hits: 2, ..at(6) }));
        let w = Schedule {
            after_ms: Some(1000),
            until_ms: Some(2000),
            ..Default::default()
        };
        let t = |elapsed_ms| {
            w.fires(Moment {
                elapsed_ms,
                ..at(1)
            })
        };
        assert!(!t(999));
        assert!(t(1000));
        assert!(t(1999));
        assert!(!t(2000));
    }

    #[test]
    fn probability_compares_the_seeded_roll() {
        let s = Schedule {
            probability: Some(0.25),
            ..Default::default()
        };
        assert!(s.fires(Moment { roll: 0.2, ..at(1) }));
        assert!(!s.fires(Moment { roll: 0.3, ..at(1) }));
    }

    #[test]
    fn rolls_are_deterministic_uniform_and_depend_on_every_input() {
        assert_eq!(roll(1, "r", 5), roll(1, "r", 5));
        assert_ne!(roll(1, "r", 5), roll(2, "r", 5));
        assert_ne!(roll(1, "r", 5), roll(1, "s", 5));
        assert_ne!(roll(1, "r", 5), roll(1, "r", 6));
        let n = 10_000;
        let below: usize = (0..n).filter(|&i| roll(42, "rule-1", i) < 0.3).count();
        assert!((2_700..3_300).contains(&below), "{below} of {n} below 0.3");
        assert!((0..n).all(|i| (0.0..1.0).contains(&roll(9, "x", i))));
    }

    #[test]
    fn validation_refuses_zero_counts_bad_probabilities_and_empty_windows() {
        let bad = [
            Schedule {
                nth: Some(0),
                ..Default::default()
            },
            Schedule {
                probability: Some(1.5),
                ..Default::default()
            },
            Schedule {
                after_ms: Some(5),
                until_ms: Some(5),
                ..Default::default()
            },
        ];
        for s in bad {
            assert!(s.validate().is_err(), "{s:?}");
        }
    }
}
