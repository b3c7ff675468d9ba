//! `GET /api/v1/metrics/summary` (JSON, last 30 days by default) and `GET /metrics` (Prometheus text).
//! Both are aggregates (no patient, message or PHI appears in them), readable by supervisors,
//! analysts and admins.

use crate::http::AppState;
use crate::http::auth::caller_in;
use crate::http::body::Bearer;
use crate::http::error::ApiError;
use crate::metrics::{Day, Summary, daily as daily_series, summarize};
use crate::users::Role;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use std::fmt::Write;
use std::sync::atomic::Ordering;

#[derive(Deserialize)]
pub struct Window {
    days: Option<String>,
}

impl Window {
    fn days(&self, default: i64) -> Result<i64, ApiError> {
        match self.days.as_deref() {
            None => Ok(default),
            Some(d) => d
                .parse()
                .map_err(|_| ApiError::bad_request(format!("`days` is a whole number of days, not `{d}`"))),
        }
    }
}

async fn load(s: &AppState, days: i64) -> Result<Summary, ApiError> {
    let since = s.hub.clock.now() - chrono::Duration::days(days.clamp(1, 3650));
    let facts = s.hub.store.facts(since).await.map_err(|e| ApiError::store_failed(&e))?;
    Ok(summarize(&facts))
}

/// Metrics are aggregates, but still only for the roles that read them.
const READERS: &[Role] = &[Role::Supervisor, Role::Analyst, Role::Admin];

pub async fn summary(State(s): State<AppState>, Bearer(t): Bearer, Query(w): Query<Window>) -> Result<Json<Summary>, ApiError> {
    caller_in(&s, &t, READERS).await?;
    Ok(Json(load(&s, w.days(30)?).await?))
}

/// Per-day figures for the dashboard's charts, over the last `days` days (default 14, at most 366).
pub async fn daily(State(s): State<AppState>, Bearer(t): Bearer, Query(w): Query<Window>) -> Result<Json<Vec<Day>>, ApiError> {
    caller_in(&s, &t, READERS).await?;
    let days = w.days(14)?.clamp(1, 366) as u32;
    let now = s.hub.clock.now();
    let since = (now - chrono::Duration::days(i64::from(days) - 1))
        .date_naive()
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    let facts = s.hub.store.facts(since).await.map_err(|e| ApiError::store_failed(&e))?;
    Ok(Json(daily_series(&facts, now.date_naive(), days)))
}

pub async fn prometheus(State(s): State<AppState>, Bearer(t): Bearer) -> Result<impl IntoResponse, ApiError> {
    caller_in(&s, &t, READERS).await?;
    let m = load(&s, 30).await?;
    let c = &s.hub.counters;
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP careline_{name} {help}\n# TYPE careline_{name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(out, "careline_{name}{labels} {v}");
        }
    };
    let one = |v: f64| vec![(String::new(), v)];
    let counter = |a: &std::sync::atomic::AtomicU64| one(a.load(Ordering::Relaxed) as f64);
    metric(
        "chats_started_total",
        "counter",
        "Chats started since this process began.",
        &counter(&c.chats_started),
    );
    metric(
        "patient_messages_total",
        "counter",
        "Patient messages stored since start.",
        &counter(&c.patient_messages),
    );
    metric(
        "agent_messages_total",
        "counter",
        "Agent messages stored since start.",
        &counter(&c.agent_messages),
    );
    metric(
        "handoffs_total",
        "counter",
        "Hand-offs to people since start.",
        &counter(&c.handoffs),
    );
    metric(
        "crisis_handoffs_total",
        "counter",
        "Crisis hand-offs since start.",
        &counter(&c.crisis_handoffs),
    );
    metric(
        "offers_total",
        "counter",
        "Chats offered to agents since start.",
        &counter(&c.offers),
    );
    metric(
        "refused_messages_total",
        "counter",
        "Messages refused (size, rate, empty) since start.",
        &counter(&c.refused_messages),
    );
    metric(
        "store_failures_total",
        "counter",
        "Commits that failed (the caller was told to retry).",
        &counter(&c.store_failures),
    );
    metric("open_chats", "gauge", "Chats open in memory.", &one(s.hub.open_chat_count() as f64));
    let waiting: Vec<(String, f64)> = s
        .hub
        .queues_all()
        .into_iter()
        .map(|q| (format!("{{queue=\"{}\"}}", q.queue), q.waiting as f64))
        .collect();
    metric("queue_waiting", "gauge", "Chats waiting per queue.", &waiting);
    metric(
        "containment_rate",
        "gauge",
        "Share of engaged chats resolved by the bot (30 days).",
        &one(m.containment_rate),
    );
    let by_reason: Vec<(String, f64)> = m
        .handoffs_by_reason
        .iter()
        .map(|(r, n)| (format!("{{reason=\"{r}\"}}"), *n as f64))
        .collect();
    metric("handoffs_by_reason", "gauge", "Hand-offs by reason (30 days).", &by_reason);
    metric(
        "phone_escalations",
        "gauge",
        "Chats escalated to phone (30 days).",
        &one(m.phone_escalations as f64),
    );
    metric(
        "first_response_seconds_p90",
        "gauge",
        "Hand-off to an agent's first message, 90th percentile (30 days).",
        &one(m.first_response_seconds.p90),
    );
    metric(
        "queue_wait_seconds_p90",
        "gauge",
        "Queue wait, 90th percentile (30 days).",
        &one(m.queue_wait_seconds.p90),
    );
    metric("csat_mean", "gauge", "Mean CSAT 1-5 (30 days).", &one(m.csat.mean));
    metric(
        "escalation_unnecessary_rate",
        "gauge",
        "Reviewed hand-offs agents marked unneeded (30 days).",
        &one(m.escalation_accuracy.unnecessary_rate),
    );
    metric(
        "escalation_wrong_reason_rate",
        "gauge",
        "Reviewed hand-offs with the wrong reason (30 days).",
        &one(m.escalation_accuracy.wrong_reason_rate),
    );
    metric(
        "escalation_under_triaged",
        "gauge",
        "Reviewed hand-offs whose right reason was more urgent (30 days).",
        &one(m.escalation_accuracy.under_triaged as f64),
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}
