//! Request bodies and credentials, with errors that say what to fix: a body over the limit is 413,
//! JSON that does not parse names the line and column, a wrong field names the field.

use crate::http::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON body; an empty body reads as `{}` so optional-field requests may send nothing.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(status, "the request body is larger than this server accepts")
            } else {
                ApiError::new(status, e.body_text())
            }
        })?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
        serde_json::from_slice(bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("the body is not the JSON this endpoint takes: {e}")))
    }
}

/// The bearer token from `Authorization: Bearer ...`, or `?token=` (browsers cannot set headers on a
/// WebSocket).
pub struct Bearer(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(h) = parts.headers.get(axum::http::header::AUTHORIZATION) {
            let value = h.to_str().unwrap_or_default();
            return value
                .strip_prefix("Bearer ")
                .map(|t| Bearer(t.trim().to_string()))
                .ok_or_else(|| ApiError::unauthorized("use `Authorization: Bearer <token>`"));
        }
        let query = parts.uri.query().unwrap_or_default();
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix("token="))
            .map(|t| Bearer(t.to_string()))
            .ok_or_else(|| ApiError::unauthorized("this endpoint needs a bearer token"))
    }
}
