//! The HTTP surface: `router(state)` is kept apart from serving, so tests drive the whole API over a
//! real socket on port 0 with a real SQLite file. One router per area.

mod agent;
mod auth;
mod body;
pub mod client;
mod cors;
pub mod error;
mod flows;
mod limits;
mod metrics;
mod pages;
mod patient;
pub mod tls;
mod ws;

use crate::hub::Hub;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub hub: Arc<Hub>,
}

/// Small frames leave at once: without this, Nagle's algorithm holds a WebSocket's second frame of a
/// turn (the bot's reply after the patient's own message) until the client's delayed ACK, about 40 ms.
pub fn no_delay(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "TCP_NODELAY not set");
    }
}

/// The OpenAPI document, served as written: `docs/openapi.json` is the one copy.
const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// Adds `Strict-Transport-Security` to every response: for servers reached over TLS only.
pub fn with_hsts(router: Router) -> Router {
    router.layer(axum::middleware::map_response(|mut r: axum::response::Response| async move {
        r.headers_mut().insert(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static(tls::HSTS),
        );
        r
    }))
}

async fn openapi() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

pub fn router(hub: Arc<Hub>) -> Router {
    let limits = hub.config.limits;
    let state = AppState { hub };
    let patient = Router::new()
        .route("/chats", post(patient::start))
        .route("/chats/{id}", get(patient::transcript))
        .route("/chats/{id}/messages", post(patient::message))
        .route("/chats/{id}/language", post(patient::language))
        .route("/chats/{id}/agent", post(patient::agent))
        .route("/chats/{id}/rating", post(patient::rating))
        .route("/chats/{id}/close", post(patient::close))
        .route("/chats/{id}/ws", get(ws::patient));
    let agent = Router::new()
        .route("/agent/me", get(agent::me))
        .route("/agent/status", post(agent::status))
        .route("/agent/queues", get(agent::queues))
        .route("/agent/chats", get(agent::chats))
        .route("/agent/chats/{id}", get(agent::chat))
        .route("/agent/chats/{id}/take", post(agent::take))
        .route("/agent/chats/{id}/decline", post(agent::decline))
        .route("/agent/chats/{id}/messages", post(agent::message))
        .route("/agent/chats/{id}/typing", post(agent::typing))
        .route("/agent/chats/{id}/transfer", post(agent::transfer))
        .route("/agent/chats/{id}/phone", post(agent::phone))
        .route("/agent/chats/{id}/close", post(agent::close))
        .route("/agent/canned", get(agent::canned))
        .route("/agent/ws", get(ws::agent))
        .route("/supervisor/chats", get(agent::live_chats))
        .route("/supervisor/callbacks", get(agent::callbacks));
    let about = Router::new()
        .route("/metrics/summary", get(metrics::summary))
        .route("/metrics/daily", get(metrics::daily))
        .route("/analyst/flows", get(flows::report))
        .route("/openapi.json", get(openapi))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/admin/users", get(auth::users))
        .route("/admin/alerts", get(auth::alerts))
        .route("/analyst/transcripts", get(auth::transcripts));
    let api = patient.merge(agent).merge(about);
    let limiter = Arc::new(limits::IpLimiter::new(limits.per_ip_per_minute));
    Router::new()
        .nest("/api/v1", api)
        .route("/metrics", get(metrics::prometheus))
        .route("/healthz", get(|| async { "ok" }))
        .merge(pages::router())
        .fallback(|| async { error::ApiError::new(axum::http::StatusCode::NOT_FOUND, "no such endpoint; see /api/v1/openapi.json") })
        .layer(axum::middleware::from_fn_with_state(limiter, limits::limit_by_ip))
        // First of all: whose request this is, for the limiter and the handlers.
        .layer(axum::middleware::from_fn_with_state(state.clone(), client::resolve))
        // Outside the limiter, so a widget on a plan's site can read a 429 and its Retry-After too.
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(state.hub.config.widget_origins.clone()),
            cors::widget_origins,
        ))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .with_state(state)
}
