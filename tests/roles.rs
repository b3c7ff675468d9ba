//! Minimum necessary, role by role: each role logs in with a password and is refused everywhere it does
//! not belong. Plus: failed logins are audited and raise an alert; analysts see de-identified
//! transcripts only; clinical notes are for nurses.

mod common;

use careline::cli::serve::start_hub;
use careline::config::ServeConfig;
use careline::hub::{Clock, Hub};
use careline::lang::Lang;
use careline::users::{Role, User, hash_password};
use serde_json::{Value, json};
use std::sync::Arc;

const PASSWORD: &str = "a long enough password";

struct Server {
    base: String,
    hub: Arc<Hub>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServeConfig::parse("t.yaml", "agents: []").unwrap();
    config.database = dir.path().join("careline.db");
    let hub = start_hub(
        common::runner(),
        config,
        Clock::starting_at("2026-11-24T15:00:00Z".parse().unwrap()),
    )
    .await
    .unwrap();
    for (username, role, skills) in [
        ("pat", Role::Agent, vec!["pharmacy", "nurse", "general"]),
        ("nina", Role::Nurse, vec!["nurse", "general"]),
        ("sue", Role::Supervisor, vec!["general", "nurse"]),
        ("andy", Role::Analyst, vec![]),
        ("adam", Role::Admin, vec![]),
    ] {
        hub.store
            .put_user(User {
                username: username.into(),
                name: username.into(),
                role,
                password_hash: hash_password(PASSWORD).unwrap(),
                languages: vec![Lang::En, Lang::Es],
                skills: skills.into_iter().map(String::from).collect(),
                capacity: 3,
                interpreter: false,
                disabled: false,
            })
            .await
            .unwrap();
    }
    Server {
        base: common::serve_in_process(hub.clone()).await,
        hub,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Server {
    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = self.http.request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if method == "POST" {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn login(&self, username: &str) -> String {
        let (status, v) = self
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                json!({"username": username, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    /// Logs in a chat-handling user and puts them on shift (away: chats wait for them).
    async fn on_shift(&self, username: &str) -> String {
        let token = self.login(username).await;
        let (status, v) = self
            .call("POST", "/api/v1/agent/status", Some(&token), json!({"status": "away"}))
            .await;
        assert_eq!(status, 200, "{v}");
        token
    }

    /// A chat handed off with a clinical question, and its id.
    async fn clinical_chat(&self) -> String {
        let (status, v) = self
            .call(
                "POST",
                "/api/v1/chats",
                None,
                json!({"text": "how much ibuprofen can I take with my lisinopril?"}),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["state"]["handoff"]["reason"], "clinical", "{v}");
        v["chat_id"].as_str().unwrap().to_string()
    }
}

/// Every endpoint family, with a role that may use it.
const CHAT_WORK: &str = "/api/v1/agent/me";
const SUPERVISION: &str = "/api/v1/supervisor/chats";
const METRICS: &str = "/api/v1/metrics/summary";
const USERS: &str = "/api/v1/admin/users";
const TRANSCRIPTS: &str = "/api/v1/analyst/transcripts";

async fn reach(s: &Server, token: &str) -> Vec<(&'static str, u16)> {
    let mut out = Vec::new();
    for path in [CHAT_WORK, SUPERVISION, METRICS, USERS, TRANSCRIPTS, "/metrics"] {
        out.push((path, s.call("GET", path, Some(token), Value::Null).await.0));
    }
    out
}

fn allowed(reached: &[(&str, u16)]) -> Vec<String> {
    reached.iter().filter(|(_, s)| *s == 200).map(|(p, _)| p.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_reaches_only_what_it_needs() {
    let s = server().await;
    let expect: [(&str, &[&str]); 5] = [
        ("pat", &[CHAT_WORK]),
        ("nina", &[CHAT_WORK]),
        ("sue", &[CHAT_WORK, SUPERVISION, METRICS, TRANSCRIPTS, "/metrics"]),
        ("andy", &[METRICS, TRANSCRIPTS, "/metrics"]),
        ("adam", &[METRICS, USERS, "/metrics"]),
    ];
    for (user, paths) in expect {
        let token = s.login(user).await;
        let reached = reach(&s, &token).await;
        assert_eq!(
            allowed(&reached),
            paths.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            "{user}: {reached:?}"
        );
        assert!(
            reached.iter().all(|(_, st)| *st == 200 || *st == 403),
            "{user}: refused with 403: {reached:?}"
        );
    }
    // A patient's chat token is no one's login.
    let (_, v) = s.call("POST", "/api/v1/chats", None, json!({})).await;
    let patient = v["token"].as_str().unwrap().to_string();
    assert!(reach(&s, &patient).await.iter().all(|(_, st)| *st == 401));
    // Nor is nothing.
    assert_eq!(s.call("GET", METRICS, None, Value::Null).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysts_and_admins_never_open_a_chat() {
    let s = server().await;
    s.on_shift("nina").await;
    let chat = s.clinical_chat().await;
    for user in ["andy", "adam"] {
        let token = s.login(user).await;
        for (method, path) in [
            ("GET", format!("/api/v1/agent/chats/{chat}")),
            ("POST", format!("/api/v1/agent/chats/{chat}/take")),
        ] {
            let (status, v) = s.call(method, &path, Some(&token), json!({})).await;
            assert_eq!(status, 403, "{user} {path}: {v}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clinical_notes_are_for_nurses() {
    let s = server().await;
    let pat = s.on_shift("pat").await;
    let nina = s.on_shift("nina").await;
    let chat = s.clinical_chat().await;
    let (status, view) = s
        .call("POST", &format!("/api/v1/agent/chats/{chat}/take"), Some(&pat), json!({}))
        .await;
    assert_eq!(status, 200, "{view}");
    let clinical_words = |v: &Value| v["whisper"].to_string().contains("can i take") || v["whispers"].to_string().contains("can i take");
    assert!(!clinical_words(&view), "an agent sees no clinical note: {view}");
    let chat = s.clinical_chat().await;
    let (status, view) = s
        .call("POST", &format!("/api/v1/agent/chats/{chat}/take"), Some(&nina), json!({}))
        .await;
    assert_eq!(status, 200, "{view}");
    assert!(clinical_words(&view), "a nurse does: {view}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_audited_and_raise_an_alert() {
    let s = server().await;
    for _ in 0..5 {
        let (status, v) = s
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                json!({"username": "pat", "password": "guess guess guess"}),
            )
            .await;
        assert_eq!(status, 401, "{v}");
        assert_eq!(v["error"], "wrong username or password");
    }
    let (status, _) = s
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            json!({"username": "nobody", "password": "guess guess guess"}),
        )
        .await;
    assert_eq!(status, 401, "an unknown user looks the same");
    let chain = s.hub.store.audit_chain(None, None).await.unwrap();
    let failed: Vec<_> = chain.iter().filter(|c| c.record.kind == "login_failed").collect();
    assert_eq!(failed.len(), 6);
    assert!(failed.iter().all(|c| c.record.ip.as_deref() == Some("127.0.0.1")));
    let admin = s.login("adam").await;
    let (_, alerts) = s.call("GET", "/api/v1/admin/alerts", Some(&admin), Value::Null).await;
    assert!(
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "failed_logins" && a["subject"] == "pat"),
        "{alerts}"
    );
    assert!(
        chain.iter().any(|c| c.record.kind == "alert")
            || s.hub
                .store
                .audit_chain(None, None)
                .await
                .unwrap()
                .iter()
                .any(|c| c.record.kind == "alert")
    );
    assert!(careline::audit::verify(&s.hub.store.audit_chain(None, None).await.unwrap()).intact());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_cannot_log_in_and_logout_ends_the_session() {
    let s = server().await;
    let token = s.login("pat").await;
    let (status, _) = s.call("POST", "/api/v1/auth/logout", Some(&token), json!({})).await;
    assert_eq!(status, 204);
    assert_eq!(
        s.call("GET", CHAT_WORK, Some(&token), Value::Null).await.0,
        401,
        "the session ended"
    );
    let mut pat = s.hub.store.user("pat").await.unwrap().unwrap();
    pat.disabled = true;
    s.hub.store.put_user(pat).await.unwrap();
    let (status, _) = s
        .call("POST", "/api/v1/auth/login", None, json!({"username": "pat", "password": PASSWORD}))
        .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysts_read_transcripts_without_identifiers() {
    let s = server().await;
    let (_, v) = s
        .call("POST", "/api/v1/chats", None, json!({"text": "is my prescription ready?"}))
        .await;
    let (id, token) = (v["chat_id"].as_str().unwrap().to_string(), v["token"].as_str().unwrap().to_string());
    for text in ["John Miller", "11/02/1975", "XYZ987654"] {
        s.call("POST", &format!("/api/v1/chats/{id}/messages"), Some(&token), json!({"text": text}))
            .await;
    }
    s.call("POST", &format!("/api/v1/chats/{id}/close"), Some(&token), json!({})).await;
    // A failed attempt: the chat keeps none of these values, yet they must not reach the analyst.
    let (_, v) = s
        .call("POST", "/api/v1/chats", None, json!({"text": "is my prescription ready?"}))
        .await;
    let (id2, token2) = (v["chat_id"].as_str().unwrap().to_string(), v["token"].as_str().unwrap().to_string());
    for text in ["Rosalind Quimby", "02/03/1961", "QQQ111222"] {
        s.call(
            "POST",
            &format!("/api/v1/chats/{id2}/messages"),
            Some(&token2),
            json!({"text": text}),
        )
        .await;
    }
    s.call("POST", &format!("/api/v1/chats/{id2}/close"), Some(&token2), json!({}))
        .await;
    let andy = s.login("andy").await;
    let (status, v) = s.call("GET", TRANSCRIPTS, Some(&andy), Value::Null).await;
    assert_eq!(status, 200, "{v}");
    let text = v.to_string();
    assert!(text.contains("prescription ready"), "{text}");
    for identifier in [
        "John",
        "Miller",
        "1975",
        "XYZ987654",
        "Metformin",
        &id,
        "Rosalind",
        "Quimby",
        "QQQ111222",
    ] {
        assert!(!text.contains(identifier), "`{identifier}` reached the analyst: {text}");
    }
    let chain = s.hub.store.audit_chain(None, None).await.unwrap();
    assert!(
        chain
            .iter()
            .any(|c| c.record.kind == "transcript_export" && c.record.actor == "andy")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_guessing_from_one_address_raises_an_alert() {
    let s = server().await;
    s.on_shift("sue").await;
    for _ in 0..2 {
        let (_, v) = s
            .call("POST", "/api/v1/chats", None, json!({"text": "is my prescription ready?"}))
            .await;
        let (id, token) = (v["chat_id"].as_str().unwrap().to_string(), v["token"].as_str().unwrap().to_string());
        for _ in 0..3 {
            for text in ["John Miller", "01/01/1980", "XYZ987654"] {
                s.call("POST", &format!("/api/v1/chats/{id}/messages"), Some(&token), json!({"text": text}))
                    .await;
            }
        }
    }
    let admin = s.login("adam").await;
    let (_, alerts) = s.call("GET", "/api/v1/admin/alerts", Some(&admin), Value::Null).await;
    assert!(
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "verification_brute_force" && a["subject"] == "127.0.0.1"),
        "{alerts}"
    );
}
