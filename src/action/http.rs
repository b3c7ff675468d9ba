//! The HTTP connector: a templated request to a configured URL, the JSON answer mapped to an outcome
//! and slots. A timeout, a non-2xx status, invalid JSON or an outcome the action does not declare are
//! all a failed action: the patient is never shown a half-understood answer.

use crate::engine::ActionResult;
use crate::flow::model::{ActionSpec, HttpSpec, placeholders};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

pub async fn call(client: &reqwest::Client, spec: &ActionSpec, http: &HttpSpec, args: &BTreeMap<String, String>) -> ActionResult {
    let failed = |reason: String| ActionResult::Failed { reason };
    let url = fill(&http.url, args, true);
    let mut req = match http.method.as_str() {
        "POST" => client.post(&url),
        _ => client.get(&url),
    };
    if let Some(body) = &http.body {
        req = req.json(&fill_json(body, args));
    }
    let resp = match req.timeout(Duration::from_millis(http.timeout_ms)).send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return failed(format!("timed out after {} ms", http.timeout_ms)),
        Err(e) => return failed(format!("request failed: {e}")),
    };
    if !resp.status().is_success() {
        return failed(format!("status {}", resp.status()));
    }
    let json: Value = match resp.json().await {
        Ok(j) => j,
        Err(e) => return failed(format!("answer is not JSON: {e}")),
    };
    let outcome = match json.pointer(&http.outcome).and_then(Value::as_str) {
        Some(o) if spec.outcomes.iter().any(|x| x == o) => o.to_string(),
        Some(o) => return failed(format!("undeclared outcome `{o}`")),
        None => return failed(format!("no outcome at {}", http.outcome)),
    };
    let outputs = http
        .outputs
        .iter()
        .filter_map(|(slot, ptr)| {
            let v = json.pointer(ptr)?;
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((slot.clone(), s))
        })
        .collect();
    ActionResult::Done { outcome, outputs }
}

/// Fills `{slot}` placeholders; in URLs the values are percent-encoded.
fn fill(template: &str, args: &BTreeMap<String, String>, url: bool) -> String {
    let mut out = template.to_string();
    for name in placeholders(template) {
        let v = args.get(name).map(String::as_str).unwrap_or("");
        let v = if url { encode(v) } else { v.to_string() };
        out = out.replace(&format!("{{{name}}}"), &v);
    }
    out
}

fn fill_json(v: &Value, args: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(fill(s, args, false)),
        Value::Array(a) => a.iter().map(|x| fill_json(x, args)).collect(),
        Value::Object(o) => o
            .iter()
            .map(|(k, x)| (k.clone(), fill_json(x, args)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        other => other.clone(),
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_values_are_encoded_and_body_values_are_not() {
        let args = BTreeMap::from([("name".to_string(), "Ana María & co".to_string())]);
        assert_eq!(fill("http://x/m?n={name}", &args, true), "http://x/m?n=Ana%20Mar%C3%ADa%20%26%20co");
        let body = serde_json::json!({"who": {"n": "{name}"}, "k": 1});
        assert_eq!(fill_json(&body, &args), serde_json::json!({"who": {"n": "Ana María & co"}, "k": 1}));
    }
}
