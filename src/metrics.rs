//! Metrics from real chats: containment, hand-offs by reason and language, first response time, queue
//! waits, phone escalations, CSAT, and escalation accuracy from agents' reviews at close. Pure: the
//! store supplies one `ChatFacts` per chat and this module only counts.

use crate::flow::{Priority, Reason};
use crate::store::ChatFacts;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Distribution {
    pub count: usize,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub max: f64,
}

impl Distribution {
    pub fn of(mut values: Vec<f64>) -> Distribution {
        if values.is_empty() {
            return Distribution::default();
        }
        values.sort_by(f64::total_cmp);
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        Distribution {
            count: values.len(),
            mean: values.iter().sum::<f64>() / values.len() as f64,
            p50: at(0.5),
            p90: at(0.9),
            max: values[values.len() - 1],
        }
    }
}

/// How often the bot's hand-offs were right, in both directions, from agents' reviews.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EscalationAccuracy {
    /// Hand-offs an agent reviewed at close.
    pub reviewed: usize,
    /// The chat did not need a person: the bot could have kept it (over-escalation).
    pub unnecessary: usize,
    pub unnecessary_rate: f64,
    /// A person was needed but the reason was wrong.
    pub wrong_reason: usize,
    pub wrong_reason_rate: f64,
    /// The right reason was more urgent than the one given (e.g. a crisis routed as distress): the
    /// dangerous direction.
    pub under_triaged: usize,
    /// The right reason was less urgent than the one given.
    pub over_triaged: usize,
    /// Per hand-off reason: reviewed, unnecessary, wrong reason.
    pub by_reason: BTreeMap<String, ReasonAccuracy>,
    /// Given reason -> the reason agents said it should have been -> count.
    pub corrections: BTreeMap<String, BTreeMap<String, usize>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReasonAccuracy {
    pub reviewed: usize,
    pub unnecessary: usize,
    pub wrong_reason: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub chats: usize,
    /// Chats where the patient wrote at least once.
    pub engaged: usize,
    /// Engaged chats a bot flow resolved without a hand-off.
    pub contained: usize,
    pub containment_rate: f64,
    pub handoffs: usize,
    pub handoffs_by_reason: BTreeMap<String, usize>,
    pub handoffs_by_language: BTreeMap<String, usize>,
    pub phone_escalations: usize,
    /// Hand-off to the agent's first message, seconds.
    pub first_response_seconds: Distribution,
    /// Entering the queue to being taken, seconds.
    pub queue_wait_seconds: Distribution,
    pub queue_wait_by_queue: BTreeMap<String, Distribution>,
    pub csat: Csat,
    pub escalation_accuracy: EscalationAccuracy,
    /// Chats by status right now.
    pub by_status: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Csat {
    pub count: usize,
    pub mean: f64,
    /// Ratings 1..=5.
    pub distribution: [usize; 5],
}

fn rate(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

fn seconds(a: chrono::DateTime<chrono::Utc>, b: chrono::DateTime<chrono::Utc>) -> f64 {
    (b - a).num_milliseconds().max(0) as f64 / 1000.0
}

pub fn summarize<'a>(facts: impl IntoIterator<Item = &'a ChatFacts>) -> Summary {
    let mut s = Summary::default();
    let mut first_response = Vec::new();
    let mut waits = Vec::new();
    let mut waits_by_queue: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut ratings = Vec::new();
    for f in facts {
        s.chats += 1;
        *s.by_status.entry(f.status.clone()).or_default() += 1;
        if f.exchanges > 0 {
            s.engaged += 1;
            if f.contained && f.handoff_at.is_none() {
                s.contained += 1;
            }
        }
        s.phone_escalations += usize::from(f.phone_escalation);
        if let (Some(reason), Some(handoff)) = (&f.handoff_reason, f.handoff_at) {
            s.handoffs += 1;
            *s.handoffs_by_reason.entry(reason.clone()).or_default() += 1;
            *s.handoffs_by_language.entry(f.language.clone()).or_default() += 1;
            if let Some(reply) = f.first_agent_reply_at {
                first_response.push(seconds(handoff, reply));
            }
        }
        if let (Some(q), Some(accepted)) = (f.queued_at, f.accepted_at) {
            let w = seconds(q, accepted);
            waits.push(w);
            waits_by_queue.entry(f.queue.clone().unwrap_or_default()).or_default().push(w);
        }
        if let Some(c) = f.csat.filter(|c| (1..=5).contains(c)) {
            ratings.push(f64::from(c));
            s.csat.distribution[usize::from(c) - 1] += 1;
        }
        if let (Some(r), Some(given)) = (f.review, f.handoff_reason.as_deref()) {
            let acc = &mut s.escalation_accuracy;
            acc.reviewed += 1;
            let entry = acc.by_reason.entry(given.to_string()).or_default();
            entry.reviewed += 1;
            if !r.needed {
                acc.unnecessary += 1;
                entry.unnecessary += 1;
            } else if !r.reason_right {
                acc.wrong_reason += 1;
                entry.wrong_reason += 1;
                if let (Some(correct), Some(given_r)) = (r.correct_reason, Reason::parse(given)) {
                    *acc.corrections
                        .entry(given.to_string())
                        .or_default()
                        .entry(correct.as_str().to_string())
                        .or_default() += 1;
                    match urgency(correct).cmp(&urgency(given_r)) {
                        std::cmp::Ordering::Less => acc.under_triaged += 1,
                        std::cmp::Ordering::Greater => acc.over_triaged += 1,
                        std::cmp::Ordering::Equal => {}
                    }
                }
            }
        }
    }
    s.containment_rate = rate(s.contained, s.engaged);
    s.first_response_seconds = Distribution::of(first_response);
    s.queue_wait_seconds = Distribution::of(waits);
    s.queue_wait_by_queue = waits_by_queue.into_iter().map(|(q, v)| (q, Distribution::of(v))).collect();
    s.csat.count = ratings.len();
    s.csat.mean = if ratings.is_empty() {
        0.0
    } else {
        ratings.iter().sum::<f64>() / ratings.len() as f64
    };
    let acc = &mut s.escalation_accuracy;
    acc.unnecessary_rate = rate(acc.unnecessary, acc.reviewed);
    acc.wrong_reason_rate = rate(acc.wrong_reason, acc.reviewed);
    s
}

/// One day of the dashboard's charts: the summary's headline figures for chats created that day (UTC).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Day {
    pub date: chrono::NaiveDate,
    pub chats: usize,
    pub handoffs: usize,
    pub containment_rate: f64,
    pub first_response_p50: Option<f64>,
    pub queue_wait_p50: Option<f64>,
    pub queue_wait_p90: Option<f64>,
    pub csat_mean: Option<f64>,
}

/// The `days` days up to and including `last`, oldest first. Days without chats are present and
/// empty, so a chart's axis never skips a day.
pub fn daily(facts: &[ChatFacts], last: chrono::NaiveDate, days: u32) -> Vec<Day> {
    let mut by_day: BTreeMap<chrono::NaiveDate, Vec<&ChatFacts>> = BTreeMap::new();
    for f in facts {
        by_day.entry(f.created_at.date_naive()).or_default().push(f);
    }
    (0..i64::from(days))
        .rev()
        .map(|back| {
            let date = last - chrono::Duration::days(back);
            let s = summarize(by_day.get(&date).into_iter().flatten().copied());
            let measured = |d: &Distribution, v: f64| (d.count > 0).then_some(v);
            Day {
                date,
                chats: s.chats,
                handoffs: s.handoffs,
                containment_rate: s.containment_rate,
                first_response_p50: measured(&s.first_response_seconds, s.first_response_seconds.p50),
                queue_wait_p50: measured(&s.queue_wait_seconds, s.queue_wait_seconds.p50),
                queue_wait_p90: measured(&s.queue_wait_seconds, s.queue_wait_seconds.p90),
                csat_mean: (s.csat.count > 0).then_some(s.csat.mean),
            }
        })
        .collect()
}

/// Lower is more urgent: crisis, then the high-priority reasons, then the rest.
fn urgency(r: Reason) -> (Priority, u8) {
    (r.priority(), u8::from(r != Reason::Clinical))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Review, from_millis};

    fn chat() -> ChatFacts {
        ChatFacts {
            created_at: from_millis(0),
            language: "en".into(),
            exchanges: 2,
            status: "closed".into(),
            queue: None,
            handoff_reason: None,
            handoff_at: None,
            queued_at: None,
            accepted_at: None,
            first_agent_reply_at: None,
            contained: false,
            phone_escalation: false,
            csat: None,
            review: None,
        }
    }

    #[test]
    fn daily_series_has_every_day_in_order_and_counts_each_chat_on_its_own_day() {
        let day = |n: i64| from_millis(n * 86_400_000 + 3_600_000);
        let mut waited = chat();
        waited.created_at = day(2);
        waited.handoff_reason = Some("requested".into());
        waited.handoff_at = Some(day(2));
        waited.queued_at = Some(day(2));
        waited.accepted_at = Some(day(2) + chrono::Duration::seconds(40));
        let mut rated = chat();
        rated.created_at = day(0);
        rated.csat = Some(4);
        let last = day(3).date_naive();
        let series = daily(&[waited, rated], last, 4);
        let dates: Vec<_> = series.iter().map(|d| d.date).collect();
        assert_eq!(dates, (0..4).map(|n| day(n).date_naive()).collect::<Vec<_>>());
        assert_eq!(series.iter().map(|d| d.chats).collect::<Vec<_>>(), [1, 0, 1, 0]);
        assert_eq!(series[0].csat_mean, Some(4.0));
        assert_eq!(series[2].queue_wait_p50, Some(40.0));
        assert_eq!(series[2].handoffs, 1);
        assert_eq!(series[1].queue_wait_p50, None, "a day without waits has no figure, not zero");
    }

    #[test]
    fn containment_counts_engaged_chats_the_bot_resolved_alone() {
        let resolved = ChatFacts {
            contained: true,
            csat: Some(5),
            ..chat()
        };
        let silent = ChatFacts { exchanges: 0, ..chat() };
        let handed = ChatFacts {
            handoff_reason: Some("requested".into()),
            handoff_at: Some(from_millis(1_000)),
            queued_at: Some(from_millis(1_000)),
            accepted_at: Some(from_millis(31_000)),
            first_agent_reply_at: Some(from_millis(46_000)),
            queue: Some("en/general".into()),
            csat: Some(3),
            ..chat()
        };
        let s = summarize(&[resolved, silent, handed]);
        assert_eq!((s.engaged, s.contained), (2, 1));
        assert_eq!(s.containment_rate, 0.5);
        assert_eq!(s.first_response_seconds.p50, 45.0);
        assert_eq!(s.queue_wait_seconds.mean, 30.0);
        assert_eq!(s.csat.mean, 4.0);
        assert_eq!(s.handoffs_by_reason["requested"], 1);
    }

    #[test]
    fn escalation_accuracy_separates_over_escalation_from_under_triage() {
        let reviewed = |reason: &str, review: Review| ChatFacts {
            handoff_reason: Some(reason.into()),
            handoff_at: Some(from_millis(0)),
            review: Some(review),
            ..chat()
        };
        let facts = [
            reviewed(
                "requested",
                Review {
                    needed: false,
                    reason_right: true,
                    correct_reason: None,
                },
            ),
            reviewed(
                "distress",
                Review {
                    needed: true,
                    reason_right: false,
                    correct_reason: Some(Reason::Crisis),
                },
            ),
            reviewed(
                "crisis",
                Review {
                    needed: true,
                    reason_right: false,
                    correct_reason: Some(Reason::Distress),
                },
            ),
            reviewed(
                "clinical",
                Review {
                    needed: true,
                    reason_right: true,
                    correct_reason: None,
                },
            ),
        ];
        let a = summarize(&facts).escalation_accuracy;
        assert_eq!((a.reviewed, a.unnecessary, a.wrong_reason), (4, 1, 2));
        assert_eq!((a.under_triaged, a.over_triaged), (1, 1));
        assert_eq!(a.corrections["distress"]["crisis"], 1);
        assert_eq!(a.unnecessary_rate, 0.25);
    }
}
