//! The chat server end to end: a real server on port 0, a real SQLite file, real HTTP and WebSocket
//! clients. Every test starts its own server with its own database.

mod common;

use careline::cli::serve::start_hub;
use careline::config::ServeConfig;
use careline::hub::{Clock, Hub};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Tuesday 10:00 in New York: the contact centre is open.
const OPEN: &str = "2026-11-24T15:00:00Z";

const AGENTS: &str = r#"
offer_timeout_seconds: 30
agents:
  - id: ana
    name: Ana
    token: test-token-ana-000000000
    languages: [en, es]
    skills: [general, scheduling, billing, pharmacy, nurse]
    capacity: 2
  - id: minh
    name: Minh
    token: test-token-minh-00000000
    languages: [vi, en]
    skills: [general, nurse]
    capacity: 2
  - id: sam
    name: Sam
    token: test-token-sam-000000000
    role: supervisor
    languages: [en]
    skills: [general, nurse]
    capacity: 1
"#;

struct Server {
    base: String,
    hub: Arc<Hub>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn server_with(yaml: &str, edit: impl FnOnce(&mut ServeConfig)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServeConfig::parse("test.yaml", yaml).unwrap();
    config.database = dir.path().join("careline.db");
    edit(&mut config);
    let clock = Clock::starting_at(OPEN.parse().unwrap());
    let hub = start_hub(common::runner(), config, clock).await.unwrap();
    Server {
        base: common::serve_in_process(hub.clone()).await,
        hub,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

async fn server() -> Server {
    server_with(AGENTS, |_| {}).await
}

impl Server {
    async fn call(&self, method: reqwest::Method, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body)).await
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, token, None).await
    }

    /// Starts a chat; returns (id, token, response).
    async fn start(&self, body: Value) -> (String, String, Value) {
        let (status, v) = self.post("/api/v1/chats", None, body).await;
        assert_eq!(status, 201, "{v}");
        (v["chat_id"].as_str().unwrap().into(), v["token"].as_str().unwrap().into(), v)
    }

    async fn say(&self, chat: &str, token: &str, text: &str) -> Value {
        let (status, v) = self
            .post(&format!("/api/v1/chats/{chat}/messages"), Some(token), json!({"text": text}))
            .await;
        assert_eq!(status, 200, "{v}");
        v
    }

    async fn ws(&self, path: &str, token: &str) -> Ws {
        let url = format!("{}{path}?token={token}", self.base.replace("http://", "ws://"));
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Ws(ws)
    }

    async fn presence(&self, token: &str, status: &str) {
        let (code, v) = self.post("/api/v1/agent/status", Some(token), json!({"status": status})).await;
        assert_eq!(code, 200, "{v}");
    }

    async fn available(&self, token: &str) {
        self.presence(token, "available").await;
    }
}

struct Ws(tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>);

impl Ws {
    /// The next notice of type `kind`, skipping others; fails after 5 s.
    async fn next_of(&mut self, kind: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let msg = tokio::time::timeout_at(deadline, self.0.next())
                .await
                .unwrap_or_else(|_| panic!("no `{kind}` notice within 5 s"))
                .unwrap()
                .unwrap();
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == kind {
                    return v;
                }
            }
        }
    }
}

fn texts(v: &Value) -> String {
    v["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spanish_patient_checks_a_refill_verifies_and_rates() {
    let s = server().await;
    let (id, token, v) = s.start(json!({"text": "hola, quiero saber si mi receta está lista"})).await;
    assert_eq!(v["state"]["language"], "es");
    assert!(texts(&v).contains("nombre completo"), "{v}");
    assert!(
        texts(&v).starts_with("¡Hola") || !texts(&v).contains("Hi!"),
        "greeted in Spanish: {v}"
    );
    s.say(&id, &token, "María García").await;
    s.say(&id, &token, "14 de marzo de 1962").await;
    let v = s.say(&id, &token, "ABC123456").await;
    assert!(texts(&v).contains("Lisinopril"), "{v}");
    assert_eq!(v["state"]["verified"], true);
    let (status, v) = s
        .post(&format!("/api/v1/chats/{id}/rating"), Some(&token), json!({"score": 5}))
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, t) = s.get(&format!("/api/v1/chats/{id}"), Some(&token)).await;
    assert_eq!(status, 200);
    let messages = t["messages"].as_array().unwrap();
    assert!(messages.iter().any(|m| m["sender"] == "patient" && m["text"] == "ABC123456"));
    let (_, m) = s.get("/api/v1/metrics/summary", Some("test-token-sam-000000000")).await;
    assert_eq!(m["contained"], 1, "{m}");
    assert_eq!(m["csat"]["count"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vietnamese_crisis_goes_to_the_head_of_the_vi_queue_with_its_evidence() {
    let s = server().await;
    // Minh is on shift but away: chats queue for him.
    s.presence("test-token-minh-00000000", "away").await;
    // Two ordinary Vietnamese chats wait first.
    for _ in 0..2 {
        let (id, token, _) = s.start(json!({"lang": "vi"})).await;
        let (status, v) = s.post(&format!("/api/v1/chats/{id}/agent"), Some(&token), json!({})).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["state"]["status"], "queued");
    }
    let (id, _token, v) = s.start(json!({"text": "tôi muốn tự tử, tôi không muốn sống nữa"})).await;
    assert_eq!(v["state"]["language"], "vi");
    assert_eq!(v["replies"][0]["kind"], "crisis", "crisis resources come first: {v}");
    assert!(v["replies"][0]["text"].as_str().unwrap().contains("988"));
    assert_eq!(v["state"]["handoff"]["reason"], "crisis");
    assert_eq!(v["state"]["handoff"]["queue"], "vi/nurse");
    assert_eq!(v["state"]["handoff"]["position"], 1, "{v}");
    assert_eq!(v["state"]["handoff"]["phone_escalation"], true);

    // Minh comes on shift: the crisis is offered first, with the words that raised it.
    let mut console = s.ws("/api/v1/agent/ws", "test-token-minh-00000000").await;
    s.available("test-token-minh-00000000").await;
    let offer = console.next_of("offer").await;
    assert_eq!(offer["chat"], id.as_str(), "{offer}");
    assert_eq!(offer["priority"], "crisis");
    let evidence = offer["whisper"]["risk"][0]["evidence"].to_string();
    assert!(evidence.contains("tự tử") || evidence.contains("tu tu"), "{offer}");

    let (status, view) = s
        .post(
            &format!("/api/v1/agent/chats/{id}/take"),
            Some("test-token-minh-00000000"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["state"]["status"], "agent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_messages_without_progress_reach_an_agent() {
    let s = server().await;
    s.presence("test-token-ana-000000000", "away").await;
    let (id, token, v) = s.start(json!({"text": "purple elephant banana"})).await;
    assert_eq!(v["state"]["status"], "bot");
    let v = s.say(&id, &token, "glorp zzz").await;
    assert_eq!(v["state"]["status"], "queued", "{v}");
    assert_eq!(v["state"]["handoff"]["reason"], "no_progress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_agent_for_the_language_uses_the_interpreter_queue() {
    let yaml = format!(
        "{AGENTS}  - id: ivy\n    name: Ivy\n    token: test-token-ivy-000000000\n    languages: [en]\n    skills: [general]\n    interpreter: true\n"
    );
    let s = server_with(&yaml, |_| {}).await;
    s.available("test-token-ivy-000000000").await;
    let (_, _, v) = s.start(json!({"lang": "ko"})).await;
    assert_eq!(v["state"]["status"], "queued", "{v}");
    assert_eq!(v["state"]["handoff"]["interpreter"], true, "{v}");
    let said = texts(&v);
    assert!(said.contains("통역"), "told in Korean that an interpreter will help: {said}");
    assert!(v["state"]["handoff"]["estimated_wait_seconds"].as_i64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_agent_for_the_language_captures_a_callback_when_configured() {
    let s = server_with(AGENTS, |c| c.no_agent = careline::config::NoAgentFallback::Callback).await;
    let (id, token, v) = s.start(json!({"text": "我想和真人说话"})).await;
    assert_eq!(v["state"]["language"], "zh");
    assert_eq!(
        v["state"]["status"], "bot",
        "nobody speaks Chinese: the bot captures a call-back: {v}"
    );
    // A crisis is never deferred to a call-back.
    let v = s.say(&id, &token, "我想自杀").await;
    assert_eq!(v["state"]["status"], "queued", "{v}");
    assert_eq!(v["state"]["handoff"]["reason"], "crisis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_on_shift_at_all_captures_a_callback_instead_of_an_endless_wait() {
    let s = server().await;
    let (_, _, v) = s.start(json!({"text": "I want to talk to a person"})).await;
    assert_eq!(v["state"]["status"], "bot", "{v}");
    assert!(texts(&v).contains("phone number"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_takes_replies_and_closes_with_a_review() {
    let s = server().await;
    let mut console = s.ws("/api/v1/agent/ws", "test-token-ana-000000000").await;
    s.available("test-token-ana-000000000").await;
    let (id, token, _) = s.start(json!({"text": "I want to talk to a person"})).await;
    let mut patient = s.ws(&format!("/api/v1/chats/{id}/ws"), &token).await;
    assert_eq!(patient.next_of("status").await["state"]["status"], "queued");
    let offer = console.next_of("offer").await;
    assert_eq!(offer["chat"], id.as_str());
    let ana = "test-token-ana-000000000";
    let (status, _) = s.post(&format!("/api/v1/agent/chats/{id}/take"), Some(ana), json!({})).await;
    assert_eq!(status, 200);
    let (status, _) = s
        .post(
            &format!("/api/v1/agent/chats/{id}/messages"),
            Some(ana),
            json!({"text": "Hi, this is Ana. How can I help?"}),
        )
        .await;
    assert_eq!(status, 200);
    loop {
        let m = patient.next_of("message").await;
        if m["message"]["sender"] == "agent" {
            assert_eq!(m["message"]["text"], "Hi, this is Ana. How can I help?");
            break;
        }
    }
    s.say(&id, &token, "thanks, I need my card").await;
    let m = console.next_of("message").await;
    assert_eq!(m["message"]["text"], "thanks, I need my card");
    // A crisis phrase mid-chat is whispered to the agent as an alert.
    s.say(&id, &token, "honestly I want to kill myself").await;
    let w = console.next_of("whisper").await;
    assert!(w["whisper"]["alert"].as_str().unwrap().contains("CRISIS"), "{w}");

    let (status, v) = s
        .post(
            &format!("/api/v1/agent/chats/{id}/phone"),
            Some(ana),
            json!({"phone": "555-123-4567", "reason": "crisis follow-up"}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let (status, v) = s
        .post(
            &format!("/api/v1/agent/chats/{id}/close"),
            Some(ana),
            json!({"disposition": "resolved", "handoff_needed": true, "reason_right": true}),
        )
        .await;
    assert_eq!(status, 204, "{v}");
    assert_eq!(patient.next_of("status").await["state"]["status"], "closed");
    let (_, m) = s.get("/api/v1/metrics/summary", Some("test-token-sam-000000000")).await;
    assert_eq!(m["escalation_accuracy"]["reviewed"], 1, "{m}");
    assert_eq!(m["phone_escalations"], 1);
    assert_eq!(m["first_response_seconds"]["count"], 1);
    let (_, callbacks) = s.get("/api/v1/supervisor/callbacks", Some("test-token-sam-000000000")).await;
    assert_eq!(callbacks["callbacks"][0]["phone"], "555-123-4567");
    let (status, prom) = s.get("/metrics", Some("test-token-sam-000000000")).await;
    assert_eq!(status, 200);
    assert!(prom.as_str().unwrap().contains("careline_handoffs_total 1"), "{prom}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_status_and_the_server_keeps_serving() {
    let s = server_with(AGENTS, |c| c.limits.per_ip_per_minute = 40).await;
    let (id, token, _) = s.start(json!({})).await;
    let (other, other_token, _) = s.start(json!({})).await;
    let path = format!("/api/v1/chats/{id}/messages");

    let (status, v) = s.post("/api/v1/chats/nope/messages", Some(&token), json!({"text": "hi"})).await;
    assert_eq!(status, 404, "{v}");
    let (status, v) = s.post(&path, Some("wrong"), json!({"text": "hi"})).await;
    assert_eq!(status, 403, "{v}");
    let (status, _) = s.post(&path, Some(&other_token), json!({"text": "hi"})).await;
    assert_eq!(status, 403, "another chat's token opens nothing else");
    let (status, v) = s.call(reqwest::Method::POST, &path, None, Some(json!({"text": "hi"}))).await;
    assert_eq!(status, 401, "{v}");
    let (status, v) = s.post(&path, Some(&token), json!({"text": "x".repeat(5000)})).await;
    assert_eq!(status, 413, "{v}");
    assert!(v["error"].as_str().unwrap().contains("4096"), "{v}");
    let (status, _) = s.post(&path, Some(&token), json!({"text": "y".repeat(40_000)})).await;
    assert_eq!(status, 413, "a body over the server's limit");
    let resp = s
        .http
        .post(format!("{}{path}", s.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"text\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.text().await.unwrap().contains("not the JSON"));
    let (status, v) = s.post(&path, Some(&token), json!({"txet": "hi"})).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("txet"));
    let (status, _) = s.post(&path, Some(&token), json!({"text": "   "})).await;
    assert_eq!(status, 400);

    // A flood from one address: refused with 429 once over the limit.
    let mut statuses = Vec::new();
    for _ in 0..60 {
        statuses.push(s.get(&format!("/api/v1/chats/{other}"), Some(&other_token)).await.0);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 429));

    // Nothing was lost and the server still serves (the limiter refills; health is fine).
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (status, t) = s.get(&format!("/api/v1/chats/{id}"), Some(&token)).await;
    assert_eq!(status, 200, "{t}");
    assert!(
        t["messages"].as_array().unwrap().iter().all(|m| m["sender"] != "patient"),
        "refused messages were not stored"
    );
    let resp = s.http.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert!(resp.status().is_success() || resp.status().as_u16() == 429);
    assert_eq!(s.hub.open_chat_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_flooded_by_its_patient_is_rate_limited() {
    let s = server_with(AGENTS, |c| c.limits.per_chat_per_minute = 5).await;
    let (id, token, _) = s.start(json!({})).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let (status, _) = s
            .post(&format!("/api/v1/chats/{id}/messages"), Some(&token), json!({"text": "hours?"}))
            .await;
        statuses.push(status);
    }
    assert_eq!(&statuses[..5], &[200; 5]);
    assert!(statuses[5..].iter().all(|s| *s == 429 || *s == 409), "{statuses:?}");
}

const TWO_EN_AGENTS: &str = r#"
offer_timeout_seconds: 1
agents:
  - id: ana
    name: Ana
    token: test-token-ana-000000000
    languages: [en, es]
    skills: [general, nurse]
  - id: bo
    name: Bo
    token: test-token-bo-0000000000
    languages: [en]
    skills: [general, nurse]
  - id: sam
    name: Sam
    token: test-token-sam-000000000
    role: supervisor
    languages: [en]
    skills: [general]
    capacity: 1
"#;
const ANA: &str = "test-token-ana-000000000";
const BO: &str = "test-token-bo-0000000000";

async fn offers_to(s: &Server, token: &str) -> Vec<String> {
    let (_, v) = s.get("/api/v1/agent/chats", Some(token)).await;
    v["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["chat"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_not_taken_in_time_goes_to_another_agent() {
    let s = server_with(TWO_EN_AGENTS, |_| {}).await;
    s.available(ANA).await;
    s.available(BO).await;
    let (id, _, _) = s.start(json!({"text": "agent please"})).await;
    let first = if offers_to(&s, ANA).await.contains(&id) { ANA } else { BO };
    let other = if first == ANA { BO } else { ANA };
    assert!(offers_to(&s, first).await.contains(&id));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    s.hub.tick().await;
    assert!(!offers_to(&s, first).await.contains(&id), "the lapsed offer is withdrawn");
    assert!(offers_to(&s, other).await.contains(&id), "and made to the other agent");
    let (status, _) = s.post(&format!("/api/v1/agent/chats/{id}/take"), Some(first), json!({})).await;
    assert_eq!(
        status, 409,
        "the first agent can no longer take it while it is offered to the other"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_carries_its_note_to_the_next_agent() {
    let s = server_with(TWO_EN_AGENTS, |_| {}).await;
    s.available(ANA).await;
    let (id, token, _) = s.start(json!({"text": "agent please"})).await;
    let (status, _) = s.post(&format!("/api/v1/agent/chats/{id}/take"), Some(ANA), json!({})).await;
    assert_eq!(status, 200);
    s.available(BO).await;
    let (status, v) = s
        .post(
            &format!("/api/v1/agent/chats/{id}/transfer"),
            Some(ANA),
            json!({"queue": "en/nurse", "note": "asks about insulin dosing"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["state"]["status"], "queued");
    assert_eq!(v["state"]["handoff"]["queue"], "en/nurse");
    let (status, _) = s.get(&format!("/api/v1/agent/chats/{id}"), Some(ANA)).await;
    assert_eq!(status, 403, "Ana no longer has the chat");
    let offered_to = if offers_to(&s, BO).await.contains(&id) { BO } else { ANA };
    let (status, view) = s.post(&format!("/api/v1/agent/chats/{id}/take"), Some(offered_to), json!({})).await;
    assert_eq!(status, 200, "{view}");
    assert!(view["whispers"].to_string().contains("asks about insulin dosing"), "{view}");
    let (_, t) = s.get(&format!("/api/v1/chats/{id}"), Some(&token)).await;
    assert_eq!(t["state"]["status"], "agent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_reach_only_what_is_theirs() {
    let s = server_with(TWO_EN_AGENTS, |_| {}).await;
    s.available(ANA).await;
    let (id, _, _) = s.start(json!({"text": "agent please"})).await;
    let (status, _) = s
        .post(&format!("/api/v1/agent/chats/{id}/messages"), Some(ANA), json!({"text": "hi"}))
        .await;
    assert_eq!(status, 403, "not assigned yet: nothing to reply to");
    let (status, _) = s.post(&format!("/api/v1/agent/chats/{id}/take"), Some(ANA), json!({})).await;
    assert_eq!(status, 200);
    let (status, _) = s.get(&format!("/api/v1/agent/chats/{id}"), Some(BO)).await;
    assert_eq!(status, 403, "Bo cannot read Ana's chat");
    let (status, _) = s
        .post(&format!("/api/v1/agent/chats/{id}/close"), Some(BO), json!({"disposition": "x"}))
        .await;
    assert_eq!(status, 403);
    let (status, _) = s.get("/api/v1/supervisor/chats", Some(BO)).await;
    assert_eq!(status, 403, "supervisor views are for supervisors");
    let (status, v) = s.get("/api/v1/supervisor/chats", Some("test-token-sam-000000000")).await;
    assert_eq!(status, 200);
    assert_eq!(v["chats"][0]["agent"], "ana", "{v}");
    let (status, _) = s.get("/api/v1/agent/me", Some("not-an-agent-token")).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phi_in_the_whisper_is_masked_until_the_verified_chat_is_assigned() {
    let s = server().await;
    s.presence(ANA, "away").await;
    let (id, token, _) = s.start(json!({"text": "is my prescription ready?"})).await;
    s.say(&id, &token, "John Miller").await;
    s.say(&id, &token, "11/02/1975").await;
    let v = s.say(&id, &token, "XYZ987654").await;
    assert_eq!(v["state"]["verified"], true, "{v}");
    let (_, v) = s.post(&format!("/api/v1/chats/{id}/agent"), Some(&token), json!({})).await;
    assert_eq!(v["state"]["status"], "queued", "{v}");
    let mut console = s.ws("/api/v1/agent/ws", ANA).await;
    s.available(ANA).await;
    let offer = console.next_of("offer").await;
    assert!(!offer.to_string().contains("XYZ987654"), "an offer never shows PHI: {offer}");
    let (_, view) = s.post(&format!("/api/v1/agent/chats/{id}/take"), Some(ANA), json!({})).await;
    assert!(
        view["whisper"].to_string().contains("XYZ987654"),
        "assigned and verified: shown: {view}"
    );
    let audit = s.hub.store.audit_of(&id).await.unwrap();
    assert!(audit.iter().any(|a| a.kind == "phi_read" && a.actor == "ana"), "{audit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_chat_with_the_bot_is_closed_by_the_timer() {
    let s = server_with(AGENTS, |c| c.idle_timeout = Duration::from_millis(300)).await;
    let (id, token, _) = s.start(json!({"text": "what are your hours?"})).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.hub.tick().await;
    let (_, t) = s.get(&format!("/api/v1/chats/{id}"), Some(&token)).await;
    assert_eq!(t["state"]["status"], "closed", "{t}");
    let (status, _) = s
        .post(&format!("/api/v1/chats/{id}/messages"), Some(&token), json!({"text": "hello?"}))
        .await;
    assert_eq!(status, 409, "a closed chat says so");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_may_hold_only_so_many_open_chats() {
    let s = server_with(AGENTS, |c| c.limits.max_open_chats_per_ip = 3).await;
    let mut chats = Vec::new();
    for _ in 0..3 {
        chats.push(s.start(json!({})).await);
    }
    let (status, v) = s.post("/api/v1/chats", None, json!({})).await;
    assert_eq!(status, 429, "{v}");
    assert!(v["error"].as_str().unwrap().contains("open chats"));
    // Closing one frees a place.
    let (id, token, _) = &chats[0];
    let (status, _) = s.post(&format!("/api/v1/chats/{id}/close"), Some(token), json!({})).await;
    assert_eq!(status, 200);
    s.start(json!({})).await;
}

const SAM: &str = "test-token-sam-000000000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_the_agent_closed_can_still_be_rated_once() {
    let s = server().await;
    let ana = "test-token-ana-000000000";
    s.available(ana).await;
    let (chat, token, _) = s.start(json!({"text": "I want to talk to a person", "lang": "en"})).await;
    let (code, v) = s.post(&format!("/api/v1/agent/chats/{chat}/take"), Some(ana), json!({})).await;
    assert_eq!(code, 200, "{v}");
    let (code, _) = s
        .post(
            &format!("/api/v1/agent/chats/{chat}/close"),
            Some(ana),
            json!({"disposition": "resolved"}),
        )
        .await;
    assert_eq!(code, 204);
    let (_, v) = s.get(&format!("/api/v1/chats/{chat}"), Some(&token)).await;
    assert_eq!(v["state"]["rated"], false, "{v}");
    let (code, v) = s
        .post(&format!("/api/v1/chats/{chat}/rating"), Some(&token), json!({"score": 4}))
        .await;
    assert_eq!((code, &v["state"]["rated"]), (200, &json!(true)), "{v}");
    let (code, _) = s
        .post(&format!("/api/v1/chats/{chat}/rating"), Some(&token), json!({"score": 1}))
        .await;
    assert_eq!(code, 409, "a closed chat is rated once");
    let (code, _) = s
        .post(&format!("/api/v1/chats/{chat}/rating"), Some("not-the-token"), json!({"score": 1}))
        .await;
    assert_eq!(code, 403);
    let (_, m) = s.get("/api/v1/metrics/summary", Some(SAM)).await;
    assert_eq!(m["csat"]["distribution"], json!([0, 0, 0, 1, 0]), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_listed_sites_may_call_the_patient_api_from_the_browser() {
    let s = server_with(AGENTS, |c| c.widget_origins = vec!["https://www.plan.example".into()]).await;
    let preflight = |origin: &'static str, path: &'static str| {
        s.http
            .request(reqwest::Method::OPTIONS, format!("{}{path}", s.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    let ok = preflight("https://www.plan.example", "/api/v1/chats").await.unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://www.plan.example");
    assert!(
        ok.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    assert!(ok.headers().get("access-control-allow-credentials").is_none());
    let refused = preflight("https://evil.example", "/api/v1/chats").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.headers().get("access-control-allow-origin").is_none());
    let staff = preflight("https://www.plan.example", "/api/v1/agent/me").await.unwrap();
    assert!(
        staff.headers().get("access-control-allow-origin").is_none(),
        "staff APIs answer no other site"
    );
    let started = s
        .http
        .post(format!("{}/api/v1/chats", s.base))
        .header("origin", "https://www.plan.example")
        .json(&json!({"text": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 201);
    assert_eq!(started.headers()["access-control-allow-origin"], "https://www.plan.example");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_served_from_the_binary_with_a_strict_content_security_policy() {
    let s = server().await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/console", "text/html"),
        ("/dashboard", "text/html"),
        ("/widget.js", "text/javascript"),
        ("/assets/widget.css", "text/css"),
        ("/assets/console.js", "text/javascript"),
    ] {
        let r = s.http.get(format!("{}{path}", s.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with(kind), "{path}");
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }
    for path in ["/assets/nothing.js", "/assets/..%2FCargo.toml", "/assets/%2e%2e%2fsrc%2fmain.rs"] {
        let r = s.http.get(format!("{}{path}", s.base)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_gets_a_day_by_day_series_and_the_flows_report() {
    let s = server().await;
    s.start(json!({"text": "I want to talk to a person", "lang": "en"})).await;
    let (code, days) = s.get("/api/v1/metrics/daily?days=7", Some(SAM)).await;
    assert_eq!(code, 200, "{days}");
    let days = days.as_array().unwrap();
    assert_eq!(days.len(), 7);
    assert_eq!(
        days.last().unwrap()["date"],
        OPEN[..10],
        "the last day is today on the service clock"
    );
    assert_eq!(days.last().unwrap()["chats"], 1);
    assert_eq!(days[0]["queue_wait_p50"], Value::Null, "no figure is not zero");
    let (code, _) = s.get("/api/v1/metrics/daily?days=soon", Some(SAM)).await;
    assert_eq!(code, 400);
    let (code, _) = s.get("/api/v1/analyst/flows", Some("test-token-ana-000000000")).await;
    assert_eq!(code, 403, "flows are for analysts and supervisors");
    let (_, quick) = s.get("/api/v1/analyst/flows", Some(SAM)).await;
    assert!(quick.get("tests").is_none(), "tests run only when asked for");
    let (code, report) = s.get("/api/v1/analyst/flows?tests=true", Some(SAM)).await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["disk"]["valid"], true, "{}", report["disk"]);
    assert!(report["flows"].as_array().unwrap().iter().any(|f| f["id"] == "refill_status"));
    let tests = &report["tests"];
    assert!(tests["passed"].as_u64().unwrap() > 50, "{tests}");
    assert_eq!(tests["failed"], 0, "{tests}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_file_broken_on_disk_shows_in_the_flows_report_with_file_and_line() {
    let flows = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(common::root().join("flows")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, flows.path().join(path.file_name().unwrap())).unwrap();
    }
    let broken = flows.path().join("hours_directions.yaml");
    let text = std::fs::read_to_string(&broken).unwrap();
    std::fs::write(&broken, text.replacen("steps:", "stepz:", 1)).unwrap();
    let dir = flows.path().to_path_buf();
    let s = server_with(AGENTS, move |c| c.flows = dir).await;
    let (code, report) = s.get("/api/v1/analyst/flows", Some(SAM)).await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["disk"]["valid"], false);
    let problems = report["disk"]["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["file"].as_str().unwrap().ends_with("hours_directions.yaml") && p["line"].as_u64().unwrap() > 1),
        "{problems:?}"
    );
    assert!(
        report["flows"].as_array().unwrap().iter().any(|f| f["id"] == "hours_directions"),
        "the served flows are still the ones loaded at start"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_again_under_its_client_id_is_stored_and_answered_once() {
    let s = server().await;
    let (chat, token, _) = s.start(json!({"lang": "en"})).await;
    let path = format!("/api/v1/chats/{chat}/messages");
    let body = json!({"text": "what time do you open on saturday", "client_id": "m-1a2b3c"});
    let (code, first) = s.post(&path, Some(&token), body.clone()).await;
    assert_eq!(code, 200, "{first}");
    assert!(first.get("duplicate").is_none());
    let (code, again) = s.post(&path, Some(&token), body).await;
    assert_eq!(code, 200, "{again}");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["replies"], json!([]), "the bot does not answer twice");
    let (_, t) = s.get(&format!("/api/v1/chats/{chat}"), Some(&token)).await;
    let mine: Vec<&Value> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sender"] == "patient")
        .collect();
    assert_eq!(mine.len(), 1, "{t}");
    assert_eq!(mine[0]["client_id"], "m-1a2b3c", "the browser finds its message by id");
    let (code, _) = s
        .post(&path, Some(&token), json!({"text": "and sunday?", "client_id": "not ok!"}))
        .await;
    assert_eq!(code, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_site_can_read_the_per_address_limit_and_when_to_retry() {
    let s = server_with(AGENTS, |c| {
        c.widget_origins = vec!["https://www.plan.example".into()];
        c.limits.per_ip_per_minute = 2;
    })
    .await;
    let mut last = None;
    for _ in 0..6 {
        let r = s
            .http
            .post(format!("{}/api/v1/chats", s.base))
            .header("origin", "https://www.plan.example")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        last = Some(r);
    }
    let r = last.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["access-control-allow-origin"], "https://www.plan.example");
    assert!(
        r.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("retry-after")
    );
    assert!(r.headers().contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_can_send_messages_over_the_chat_socket() {
    let s = server().await;
    let (chat, token, _) = s.start(json!({"lang": "en"})).await;
    let mut patient = s.ws(&format!("/api/v1/chats/{chat}/ws"), &token).await;
    patient.next_of("status").await;
    let send = |v: Value| Message::Text(v.to_string().into());
    patient
        .0
        .send(send(json!({"type": "message", "text": "what are your hours?", "client_id": "w-1"})))
        .await
        .unwrap();
    let sent = patient.next_of("sent").await;
    assert_eq!(sent, json!({"type": "sent", "client_id": "w-1", "duplicate": false}));
    // Stored before it was answered: the transcript has it, and the bot's answer follows on the socket.
    let (_, t) = s.get(&format!("/api/v1/chats/{chat}"), Some(&token)).await;
    let texts: Vec<&str> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert!(texts.contains(&"what are your hours?"), "{t}");
    let reply = patient.next_of("message").await;
    assert!(
        ["patient", "bot"].contains(&reply["message"]["sender"].as_str().unwrap()),
        "{reply}"
    );
    // The same id again is stored once; bad input gets the status REST would give, and the socket stays.
    patient
        .0
        .send(send(json!({"type": "message", "text": "what are your hours?", "client_id": "w-1"})))
        .await
        .unwrap();
    assert_eq!(patient.next_of("sent").await["duplicate"], true);
    patient
        .0
        .send(send(json!({"type": "message", "text": "x".repeat(5000)})))
        .await
        .unwrap();
    let refused = patient.next_of("error").await;
    assert_eq!(refused["status"], 413, "{refused}");
    patient.0.send(Message::Text("{not json".into())).await.unwrap();
    assert_eq!(patient.next_of("error").await["status"], 400);
    patient
        .0
        .send(send(json!({"type": "message", "text": "where is the clinic?"})))
        .await
        .unwrap();
    assert_eq!(patient.next_of("sent").await["client_id"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_patient_has_their_own_limits() {
    let start_from = |s: &Server, forwarded: &'static str| {
        let req = s
            .http
            .post(format!("{}/api/v1/chats", s.base))
            .header("x-forwarded-for", forwarded)
            .json(&json!({}));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    // The test's requests come from 127.0.0.1: here that is the plan's proxy.
    let s = server_with(AGENTS, |c| {
        c.limits.max_open_chats_per_ip = 2;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    for _ in 0..2 {
        assert_eq!(start_from(&s, "198.51.100.1").await, 201);
        assert_eq!(start_from(&s, "198.51.100.2").await, 201, "another patient behind the same proxy");
    }
    assert_eq!(start_from(&s, "198.51.100.1").await, 429, "each patient's own cap");
    assert_eq!(
        start_from(&s, "203.0.113.5, 198.51.100.1").await,
        429,
        "what a patient writes into the header before their own address is not believed"
    );
    // Without trusted proxies the header means nothing: every request is the peer's.
    let s = server_with(AGENTS, |c| c.limits.max_open_chats_per_ip = 2).await;
    assert_eq!(start_from(&s, "198.51.100.1").await, 201);
    assert_eq!(start_from(&s, "198.51.100.2").await, 201);
    assert_eq!(start_from(&s, "198.51.100.3").await, 429);
}
