//! Logging in and out, and the role gates for people who do not handle chats: analysts (metrics,
//! de-identified transcripts), admins (users, alerts). Every endpoint checks the caller's role.

use crate::http::AppState;
use crate::http::body::{Bearer, JsonBody};
use crate::http::client::ClientIp;
use crate::http::error::ApiError;
use crate::hub::accounts::Caller;
use crate::hub::views::deidentify;
use crate::store::Sender;
use crate::users::Role;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

/// The caller, if their role is one of `roles`.
pub async fn caller_in(s: &AppState, token: &str, roles: &[Role]) -> Result<Caller, ApiError> {
    let caller = s
        .hub
        .caller(token)
        .await
        .ok_or_else(|| ApiError::unauthorized("unknown or expired token; log in again"))?;
    if roles.contains(&caller.role) {
        Ok(caller)
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "the {} role may not do this (allowed: {})",
                caller.role.as_str(),
                roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
            ),
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

pub async fn login(State(s): State<AppState>, ClientIp(ip): ClientIp, JsonBody(b): JsonBody<LoginBody>) -> Result<Json<Value>, ApiError> {
    let login = s.hub.login(&b.username, &b.password, Some(ip)).await?;
    Ok(Json(serde_json::to_value(login).unwrap_or_default()))
}

pub async fn logout(State(s): State<AppState>, ClientIp(ip): ClientIp, Bearer(t): Bearer) -> Result<StatusCode, ApiError> {
    s.hub.logout(&t, Some(ip)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn users(State(s): State<AppState>, Bearer(t): Bearer) -> Result<Json<Value>, ApiError> {
    caller_in(&s, &t, &[Role::Admin]).await?;
    let users = s.hub.store.users().await.map_err(|e| ApiError::store_failed(&e))?;
    let list: Vec<Value> = users
        .iter()
        .map(|u| json!({"username": u.username, "name": u.name, "role": u.role, "languages": u.languages, "skills": u.skills, "capacity": u.capacity, "interpreter": u.interpreter, "disabled": u.disabled}))
        .collect();
    Ok(Json(json!({"users": list})))
}

pub async fn alerts(State(s): State<AppState>, Bearer(t): Bearer) -> Result<Json<Value>, ApiError> {
    caller_in(&s, &t, &[Role::Admin]).await?;
    Ok(Json(json!({"alerts": s.hub.alerts()})))
}

#[derive(Deserialize)]
pub struct TranscriptQuery {
    limit: Option<i64>,
}

/// Recently closed chats, de-identified, for analysts reviewing the bot's work.
pub async fn transcripts(State(s): State<AppState>, Bearer(t): Bearer, Query(q): Query<TranscriptQuery>) -> Result<Json<Value>, ApiError> {
    let caller = caller_in(&s, &t, &[Role::Analyst, Role::Supervisor]).await?;
    let unavailable = |e: anyhow::Error| ApiError::store_failed(&e);
    let chats = s
        .hub
        .store
        .closed_chats(q.limit.unwrap_or(20).clamp(1, 200))
        .await
        .map_err(unavailable)?;
    // Answers to identity questions are masked whole: after a failed attempt the chat no longer holds
    // the values it was given, so slot masking alone would miss them.
    let m = &s.hub.runner.engine.flows.settings.messages;
    let identity_prompts: Vec<&str> = [&m.verify_name, &m.verify_dob, &m.verify_member_id]
        .iter()
        .flat_map(|t| t.0.values().map(String::as_str))
        .collect();
    let mut out = Vec::new();
    for (i, chat) in chats.iter().enumerate() {
        let slots: Vec<(String, String)> = chat.state.slots.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect();
        let messages: Vec<Value> = s
            .hub
            .store
            .transcript(&chat.id)
            .await
            .map_err(unavailable)?
            .iter()
            .scan(false, |after_identity_prompt, m| {
                let text = if m.sender == Sender::Patient && *after_identity_prompt {
                    "[identity answer]".to_string()
                } else {
                    deidentify(&m.text, &slots)
                };
                if m.sender != Sender::Patient {
                    *after_identity_prompt = identity_prompts.contains(&m.text.as_str());
                }
                Some(json!({"seq": m.seq, "sender": m.sender, "text": text}))
            })
            .collect();
        out.push(json!({
            // A stable label within this answer, not the chat id: analysts need no way back to the patient.
            "chat": format!("chat-{}", i + 1),
            "language": chat.state.language,
            "intent": chat.state.intent,
            "path": chat.state.path,
            "handoff_reason": chat.state.handoff.as_ref().map(|h| h.reason),
            "contained": chat.contained,
            "csat": chat.csat,
            "messages": messages,
        }));
    }
    s.hub
        .audit_now(
            &caller.id,
            "transcript_export",
            format!("{} de-identified transcripts", out.len()),
            None,
        )
        .await?;
    Ok(Json(json!({"transcripts": out})))
}
