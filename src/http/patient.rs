//! The patient API: start a chat, send messages, press the buttons, read the transcript.

use crate::http::AppState;
use crate::http::body::{Bearer, JsonBody};
use crate::http::client::ClientIp;
use crate::http::error::ApiError;
use crate::hub::patient::{PatientAction, PatientReply};
use crate::lang::Lang;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    text: Option<String>,
    lang: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    text: String,
    /// The browser's own id for this message, so a retry after a lost answer is stored once.
    client_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LangBody {
    lang: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingBody {
    score: u8,
}

fn lang(code: &str) -> Result<Lang, ApiError> {
    Lang::from_code(code).ok_or_else(|| {
        ApiError::bad_request(format!(
            "`{code}` is not a language Careline serves; use one of en es zh vi ko tl ru ar fr ht pt"
        ))
    })
}

/// The first supported language in `Accept-Language`, if any.
fn accept_language(headers: &HeaderMap) -> Option<Lang> {
    let value = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    value.split(',').find_map(|part| {
        let tag = part.split(';').next()?.trim();
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::from_code(&primary)
    })
}

pub async fn start(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(body): JsonBody<StartBody>,
) -> Result<(StatusCode, Json<PatientReply>), ApiError> {
    let chosen = body.lang.as_deref().map(lang).transpose()?;
    let reply = s
        .hub
        .start_chat(body.text.as_deref(), chosen, accept_language(&headers), Some(ip))
        .await?;
    Ok((StatusCode::CREATED, Json(reply)))
}

pub async fn message(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Bearer(token): Bearer,
    JsonBody(body): JsonBody<TextBody>,
) -> Result<Json<PatientReply>, ApiError> {
    if let Some(cid) = &body.client_id
        && (cid.is_empty() || cid.len() > 64 || !cid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(ApiError::bad_request(
            "`client_id` is 1 to 64 letters, digits, `-` or `_`; make a new random one for each message",
        ));
    }
    Ok(Json(
        s.hub.patient_message(&id, &token, &body.text, body.client_id.as_deref()).await?,
    ))
}

pub async fn transcript(State(s): State<AppState>, Path(id): Path<String>, Bearer(token): Bearer) -> Result<Json<Value>, ApiError> {
    let (messages, state) = s.hub.patient_transcript(&id, &token).await?;
    Ok(Json(json!({"chat_id": id, "messages": messages, "state": state})))
}

pub async fn language(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Bearer(token): Bearer,
    JsonBody(body): JsonBody<LangBody>,
) -> Result<Json<PatientReply>, ApiError> {
    let l = lang(&body.lang)?;
    Ok(Json(s.hub.patient_action(&id, &token, PatientAction::ChooseLanguage(l)).await?))
}

pub async fn agent(State(s): State<AppState>, Path(id): Path<String>, Bearer(token): Bearer) -> Result<Json<PatientReply>, ApiError> {
    Ok(Json(s.hub.patient_action(&id, &token, PatientAction::RequestAgent).await?))
}

pub async fn rating(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Bearer(token): Bearer,
    JsonBody(body): JsonBody<RatingBody>,
) -> Result<Json<PatientReply>, ApiError> {
    Ok(Json(s.hub.patient_action(&id, &token, PatientAction::Rate(body.score)).await?))
}

pub async fn close(State(s): State<AppState>, Path(id): Path<String>, Bearer(token): Bearer) -> Result<Json<PatientReply>, ApiError> {
    Ok(Json(s.hub.patient_action(&id, &token, PatientAction::Close).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_takes_the_first_language_careline_serves() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, "de-DE,es-MX;q=0.8,en;q=0.5".parse().unwrap());
        assert_eq!(accept_language(&h), Some(Lang::Es));
    }
}
