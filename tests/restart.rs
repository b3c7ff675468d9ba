//! Nothing a patient sent is lost on crash or restart: the real `careline serve` binary, killed with
//! SIGKILL mid-chat and started again on the same SQLite file, and stopped with SIGTERM.

use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
mod common;

const CONFIG: &str = r#"
agents:
  - id: ana
    name: Ana
    token: restart-token-ana-000000
    languages: [en, es]
    skills: [general, scheduling, billing, pharmacy, nurse]
    capacity: 2
"#;

fn serve(dir: &Path) -> common::Served {
    let config = dir.join("serve.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    common::serve_with(&config, &dir.join("careline.db"))
}

fn call(base: &str, method: &str, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut req = client
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .timeout(Duration::from_secs(10));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if method == "POST" {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    })
}

#[test]
fn kill_9_mid_chat_loses_nothing_and_the_queue_is_intact() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = serve(dir.path());
    let ana = "restart-token-ana-000000";
    assert_eq!(
        call(&s.base, "POST", "/api/v1/agent/status", Some(ana), json!({"status": "away"})).0,
        200
    );

    // One chat mid-flow with the bot, two waiting in a queue, in order.
    let (_, a) = call(&s.base, "POST", "/api/v1/chats", None, json!({"text": "is my prescription ready?"}));
    let (a_id, a_token) = (a["chat_id"].as_str().unwrap().to_string(), a["token"].as_str().unwrap().to_string());
    let (_, b) = call(
        &s.base,
        "POST",
        "/api/v1/chats",
        None,
        json!({"text": "I want to talk to a person"}),
    );
    let (_, c) = call(&s.base, "POST", "/api/v1/chats", None, json!({"text": "agent please"}));
    assert_eq!(b["state"]["handoff"]["position"], 1, "{b}");
    assert_eq!(c["state"]["handoff"]["position"], 2, "{c}");
    let (status, _) = call(
        &s.base,
        "POST",
        &format!("/api/v1/chats/{a_id}/messages"),
        Some(&a_token),
        json!({"text": "John Miller"}),
    );
    assert_eq!(status, 200);

    // SIGKILL: no chance to flush anything that was not already committed.
    s.child.kill().unwrap();
    s.child.wait().unwrap();

    let mut s = serve(dir.path());
    let (status, t) = call(&s.base, "GET", &format!("/api/v1/chats/{a_id}"), Some(&a_token), Value::Null);
    assert_eq!(status, 200, "{t}");
    let said: Vec<&str> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sender"] == "patient")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(said, ["is my prescription ready?", "John Miller"]);
    // The flow resumes where it was: the next answer is the date of birth.
    let (_, v) = call(
        &s.base,
        "POST",
        &format!("/api/v1/chats/{a_id}/messages"),
        Some(&a_token),
        json!({"text": "11/02/1975"}),
    );
    assert!(v["replies"].to_string().contains("member ID"), "{v}");

    // The queue is restored in order, and an agent coming on shift is offered the first chat.
    let (b_id, b_token) = (b["chat_id"].as_str().unwrap(), b["token"].as_str().unwrap());
    let (_, t) = call(&s.base, "GET", &format!("/api/v1/chats/{b_id}"), Some(b_token), Value::Null);
    assert_eq!(t["state"]["status"], "queued");
    assert_eq!(t["state"]["handoff"]["position"], 1, "{t}");
    assert_eq!(
        call(&s.base, "POST", "/api/v1/agent/status", Some(ana), json!({"status": "available"})).0,
        200
    );
    let (_, chats) = call(&s.base, "GET", "/api/v1/agent/chats", Some(ana), Value::Null);
    assert_eq!(chats["offers"][0]["chat"], b_id, "{chats}");
    let (status, _) = call(&s.base, "POST", &format!("/api/v1/agent/chats/{b_id}/take"), Some(ana), json!({}));
    assert_eq!(status, 200);

    // Kill again: the assignment survives too.
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    let mut s = serve(dir.path());
    let (_, me) = call(&s.base, "GET", "/api/v1/agent/me", Some(ana), Value::Null);
    assert_eq!(me["chats"], json!([b_id]), "{me}");

    // SIGTERM with a patient's WebSocket open: a graceful stop that closes the socket and exits cleanly.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = format!("{}/api/v1/chats/{b_id}/ws?token={b_token}", s.base.replace("http://", "ws://"));
    let (mut socket, _) = rt.block_on(tokio_tungstenite::connect_async(url)).unwrap();
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(s.child.id() as i32, libc::SIGTERM);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "an open WebSocket must not hold the server up"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    // The patient's socket was told the server is going away (so the widget reconnects), not just cut.
    let close = rt.block_on(async {
        use futures_util::StreamExt;
        while let Some(Ok(msg)) = socket.next().await {
            if let tokio_tungstenite::tungstenite::Message::Close(frame) = msg {
                return frame;
            }
        }
        None
    });
    assert_eq!(close.map(|f| u16::from(f.code)), Some(1001));
}

#[test]
fn serve_help_documents_every_setting_and_its_environment_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_careline"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for var in [
        "CARELINE_CONFIG",
        "CARELINE_LISTEN",
        "CARELINE_DATABASE",
        "CARELINE_FLOWS",
        "CARELINE_MODELS",
        "CARELINE_NO_AGENT_FALLBACK",
        "CARELINE_PER_IP_PER_MINUTE",
    ] {
        assert!(help.contains(var), "{var} missing from:\n{help}");
    }
    assert!(help.contains("127.0.0.1:8080"));
}

#[test]
fn a_broken_configuration_names_file_line_and_fix_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("serve.yaml");
    std::fs::write(&config, "listen: 127.0.0.1:0\nagnets: []\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_careline"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("serve.yaml:2:") && err.contains("did you mean `agents`"), "{err}");
}
