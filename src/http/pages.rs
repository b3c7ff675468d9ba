//! The browser pages, embedded in the binary (no separate web server, no CDN): the demo page at `/`
//! with the patient widget, the agent console at `/console` and the analyst dashboard at
//! `/dashboard`. Plain JavaScript modules and CSS under `web/`, served as written: nothing to build.
//!
//! Every page is served with a Content-Security-Policy that allows only this server's own scripts,
//! styles and connections, so a message that slipped past escaping still could not run a script.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// One embedded file: its name under `web/`, its content type and its bytes.
struct Asset {
    name: &'static str,
    kind: &'static str,
    body: &'static str,
}

macro_rules! asset {
    ($name:literal, $kind:expr) => {
        Asset {
            name: $name,
            kind: $kind,
            body: include_str!(concat!("../../web/", $name)),
        }
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

const ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("console.html", HTML),
    asset!("dashboard.html", HTML),
    asset!("widget.js", JS),
    asset!("widget.css", CSS),
    asset!("staff.js", JS),
    asset!("staff.css", CSS),
    asset!("console.js", JS),
    asset!("dashboard.js", JS),
    asset!("charts.js", JS),
    asset!("demo.css", CSS),
    asset!("favicon.svg", SVG),
];

/// Scripts, styles, images and connections from this server only; no framing by other sites.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
                   form-action 'none'";

fn serve(name: &str) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return crate::http::error::ApiError::new(StatusCode::NOT_FOUND, "no such page").into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.kind));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Staff pages hold session tokens in memory; an old copy must never be shown from cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    response
}

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { serve("index.html") }))
        .route("/console", get(|| async { serve("console.html") }))
        .route("/dashboard", get(|| async { serve("dashboard.html") }))
        .route("/widget.js", get(|| async { serve("widget.js") }))
        .route("/assets/{name}", get(|Path(name): Path<String>| async move { serve(&name) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_a_page_names_is_embedded() {
        for page in ASSETS.iter().filter(|a| a.kind == HTML || a.kind == JS) {
            for part in page.body.split("/assets/").skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                    .collect();
                assert!(
                    ASSETS.iter().any(|a| a.name == name),
                    "{} names /assets/{name}, which is not embedded",
                    page.name
                );
            }
        }
    }
}
