//! The HTTP boundary's one error type: a 4xx says what to fix; a 500 or 503 says nothing internal to
//! the client and is logged once.

use crate::hub::HubError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// The store failed: the detail goes to the log, the client learns only to retry.
    pub fn store_failed(e: &anyhow::Error) -> ApiError {
        tracing::error!(error = %format!("{e:#}"), "store read failed");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the store is unavailable; try again")
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }
}

impl From<HubError> for ApiError {
    fn from(e: HubError) -> ApiError {
        let status = match &e {
            HubError::UnknownChat => StatusCode::NOT_FOUND,
            HubError::Unauthorized => StatusCode::UNAUTHORIZED,
            HubError::WrongToken => StatusCode::FORBIDDEN,
            HubError::Closed => StatusCode::CONFLICT,
            HubError::Refused(_) => StatusCode::BAD_REQUEST,
            HubError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            HubError::RateLimited | HubError::TooManyChats => StatusCode::TOO_MANY_REQUESTS,
            HubError::Conflict(_) => StatusCode::CONFLICT,
            HubError::Forbidden(_) => StatusCode::FORBIDDEN,
            HubError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        if let HubError::Store(inner) = &e {
            return ApiError::store_failed(inner);
        }
        ApiError::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = %self.status, error = %self.message, "request failed");
        }
        let mut response = (
            self.status,
            axum::Json(json!({"error": self.message, "status": self.status.as_u16()})),
        )
            .into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        }
        response
    }
}
