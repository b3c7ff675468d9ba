//! The OpenAPI document the server serves describes exactly the routes the router has.

use std::collections::BTreeSet;

#[test]
fn openapi_lists_every_route_and_no_other() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root.join("docs/openapi.json")).unwrap()).unwrap();
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let router = std::fs::read_to_string(root.join("src/http/mod.rs")).unwrap();
    let mut routed = BTreeSet::new();
    for m in regex::Regex::new(r#"\.route\(\s*"([^"]+)""#).unwrap().captures_iter(&router) {
        let path = &m[1];
        // Everything but the top-level endpoints is nested under /api/v1.
        let full = if ["/metrics", "/healthz"].contains(&path) {
            path.to_string()
        } else {
            format!("/api/v1{path}")
        };
        routed.insert(full);
    }
    assert!(routed.len() > 20, "{routed:?}");
    assert_eq!(documented, routed);
}
