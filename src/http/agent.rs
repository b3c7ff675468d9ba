//! The agent and supervisor API. Until user accounts land, an agent logs in with the token from the
//! server configuration; every handler resolves it to the agent first.

use crate::http::AppState;
use crate::http::body::{Bearer, JsonBody};
use crate::http::error::ApiError;
use crate::hub::AgentLine;
use crate::hub::agent::{AgentChatView, Closing, TransferTo, parse_reason};
use crate::lang::Lang;
use crate::queue::Presence;
use crate::store::Review;
use crate::users::Role;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// The calling agent's line: agents, nurses and supervisors only.
pub async fn line(s: &AppState, token: &str) -> Result<Arc<AgentLine>, ApiError> {
    let caller = s
        .hub
        .caller(token)
        .await
        .ok_or_else(|| ApiError::unauthorized("unknown or expired token; log in again"))?;
    caller.line.ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            format!("the {} role does not handle chats", caller.role.as_str()),
        )
    })
}

async fn supervisor(s: &AppState, token: &str) -> Result<Arc<AgentLine>, ApiError> {
    let l = line(s, token).await?;
    if l.account.role == Role::Supervisor {
        Ok(l)
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "supervisors only"))
    }
}

pub async fn me(State(s): State<AppState>, Bearer(t): Bearer) -> Result<Json<Value>, ApiError> {
    let l = line(&s, &t).await?;
    let p = &l.account.profile;
    Ok(Json(json!({
        "id": p.id, "name": l.account.name,
        "role": l.account.role,
        "languages": p.languages, "skills": p.skills, "capacity": p.capacity, "interpreter": p.interpreter,
        "status": s.hub.presence(&p.id), "chats": s.hub.chats_of(&p.id),
        // Every declared queue: where a transfer may go.
        "queues": s.hub.runner.engine.flows.settings.queues,
        "offer_timeout_seconds": s.hub.config.offer_timeout.as_secs(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: String,
}

pub async fn status(State(s): State<AppState>, Bearer(t): Bearer, JsonBody(b): JsonBody<StatusBody>) -> Result<Json<Value>, ApiError> {
    let l = line(&s, &t).await?;
    let presence = match b.status.as_str() {
        "available" => Presence::Available,
        "away" => Presence::Away,
        "offline" => Presence::Offline,
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown status `{other}`; use available, away or offline"
            )));
        }
    };
    s.hub.set_presence(&l.account.profile.id, presence);
    Ok(Json(json!({"status": presence})))
}

pub async fn queues(State(s): State<AppState>, Bearer(t): Bearer) -> Result<Json<Value>, ApiError> {
    let l = line(&s, &t).await?;
    Ok(Json(json!({"queues": s.hub.queues_for(&l)})))
}

pub async fn chats(State(s): State<AppState>, Bearer(t): Bearer) -> Result<Json<Value>, ApiError> {
    let l = line(&s, &t).await?;
    let id = &l.account.profile.id;
    let offers: Vec<_> = s
        .hub
        .waiting_chats()
        .into_iter()
        .filter(|w| w.offered_to.as_deref() == Some(id))
        .collect();
    Ok(Json(json!({"assigned": s.hub.chats_of(id), "offers": offers})))
}

pub async fn chat(State(s): State<AppState>, Bearer(t): Bearer, Path(id): Path<String>) -> Result<Json<AgentChatView>, ApiError> {
    let l = line(&s, &t).await?;
    Ok(Json(s.hub.agent_view(&l, &id).await?))
}

pub async fn take(State(s): State<AppState>, Bearer(t): Bearer, Path(id): Path<String>) -> Result<Json<AgentChatView>, ApiError> {
    let l = line(&s, &t).await?;
    Ok(Json(s.hub.take(&l, &id).await?))
}

pub async fn decline(State(s): State<AppState>, Bearer(t): Bearer, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let l = line(&s, &t).await?;
    s.hub.decline(&l, &id);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    text: String,
}

pub async fn message(
    State(s): State<AppState>,
    Bearer(t): Bearer,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<TextBody>,
) -> Result<Json<Value>, ApiError> {
    let l = line(&s, &t).await?;
    let m = s.hub.agent_message(&l, &id, &b.text).await?;
    Ok(Json(json!({"message": m})))
}

pub async fn typing(State(s): State<AppState>, Bearer(t): Bearer, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let l = line(&s, &t).await?;
    s.hub.agent_typing(&l, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    queue: Option<String>,
    agent: Option<String>,
    #[serde(default)]
    note: String,
}

pub async fn transfer(
    State(s): State<AppState>,
    Bearer(t): Bearer,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<TransferBody>,
) -> Result<Json<Value>, ApiError> {
    let l = line(&s, &t).await?;
    let to = match (b.queue, b.agent) {
        (Some(q), None) => TransferTo::Queue(q),
        (None, Some(a)) => TransferTo::Agent(a),
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of `queue` (e.g. \"es/pharmacy\") or `agent`",
            ));
        }
    };
    let state = s.hub.transfer(&l, &id, to, &b.note).await?;
    Ok(Json(json!({"state": state})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneBody {
    phone: String,
    reason: String,
}

pub async fn phone(
    State(s): State<AppState>,
    Bearer(t): Bearer,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<PhoneBody>,
) -> Result<StatusCode, ApiError> {
    let l = line(&s, &t).await?;
    s.hub.escalate_to_phone(&l, &id, &b.phone, &b.reason).await?;
    Ok(StatusCode::CREATED)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    disposition: String,
    /// Did the chat need a person? Reviewing the hand-off is what escalation accuracy is built from.
    handoff_needed: Option<bool>,
    reason_right: Option<bool>,
    correct_reason: Option<String>,
}

pub async fn close(
    State(s): State<AppState>,
    Bearer(t): Bearer,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<CloseBody>,
) -> Result<StatusCode, ApiError> {
    let l = line(&s, &t).await?;
    let review = match b.handoff_needed {
        Some(needed) => Some(Review {
            needed,
            reason_right: b.reason_right.unwrap_or(true),
            correct_reason: b.correct_reason.as_deref().map(parse_reason).transpose()?,
        }),
        None => None,
    };
    s.hub
        .agent_close(
            &l,
            &id,
            Closing {
                disposition: b.disposition,
                review,
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct CannedQuery {
    #[serde(default)]
    q: String,
    lang: Option<String>,
}

pub async fn canned(State(s): State<AppState>, Bearer(t): Bearer, Query(q): Query<CannedQuery>) -> Result<Json<Value>, ApiError> {
    line(&s, &t).await?;
    let lang = match q.lang.as_deref() {
        Some(code) => Lang::from_code(code).ok_or_else(|| ApiError::bad_request(format!("unknown language `{code}`")))?,
        None => Lang::En,
    };
    Ok(Json(json!({"canned": s.hub.canned(&q.q, lang)})))
}

pub async fn live_chats(State(s): State<AppState>, Bearer(t): Bearer) -> Result<Json<Value>, ApiError> {
    supervisor(&s, &t).await?;
    let chats: Vec<Value> = s
        .hub
        .live_chats()
        .await
        .into_iter()
        .map(|(id, state, agent)| json!({"chat_id": id, "state": state, "agent": agent}))
        .collect();
    Ok(Json(json!({"chats": chats, "waiting": s.hub.waiting_chats()})))
}

pub async fn callbacks(State(s): State<AppState>, Bearer(t): Bearer) -> Result<Json<Value>, ApiError> {
    let l = supervisor(&s, &t).await?;
    let list = s.hub.store.callbacks(200).await.map_err(|e| ApiError::store_failed(&e))?;
    // Call-backs carry phone numbers: reading them is a PHI read.
    s.hub
        .audit_now(
            &l.account.profile.id,
            "phi_read",
            format!("{} call-back requests listed", list.len()),
            None,
        )
        .await?;
    Ok(Json(json!({"callbacks": list})))
}
