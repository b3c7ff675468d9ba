//! Cross-origin access for the patient widget. A health plan embeds `widget.js` on its own site
//! (`https://www.plan.example`), so the patient's browser calls Careline from another origin and asks
//! first (a CORS preflight). Only the origins in `widget_origins` are answered, and only on the
//! patient API: staff pages are served by Careline itself and never need it.
//!
//! No cookies are involved (the chat token travels in the `Authorization` header), so credentials
//! are never allowed.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// How long a browser may reuse a preflight answer.
const MAX_AGE_SECONDS: &str = "600";

fn allowed(origins: &[String], headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    origins.iter().any(|o| o.as_bytes() == origin.as_bytes()).then(|| origin.clone())
}

/// The patient API, the only part another site may call.
const PATIENT_API: &str = "/api/v1/chats";

pub async fn widget_origins(State(origins): State<Arc<Vec<String>>>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with(PATIENT_API) {
        return next.run(request).await;
    }
    let origin = allowed(&origins, request.headers());
    if request.method() == Method::OPTIONS {
        let Some(origin) = origin else {
            return crate::http::error::ApiError::new(
                StatusCode::FORBIDDEN,
                "this site may not embed the chat; the server's `widget_origins` must list its origin",
            )
            .into_response();
        };
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, accept-language"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE_SECONDS));
        h.insert(header::VARY, HeaderValue::from_static("origin"));
        return r;
    }
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    // The answer differs by origin whether or not this one is listed: caches must keep them apart.
    h.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("retry-after"));
    }
    response
}
