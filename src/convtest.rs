//! Conversation tests: YAML scripts of patient turns with expectations, run through the real engine
//! and the demo directory. `careline flows test` and `cargo test` run the same files through
//! `run_file`, so what analysts see is what CI checks.

use crate::diagnostic::Diagnostics;
use crate::engine::{AgentEvent, ChatState, Effect, Input, ReplyKind, Status};
use crate::lang::Lang;
use crate::runner::Runner;
use crate::yaml::{self, MapReader, Node, NodeKind};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Tuesday 10:00 in New York: inside every shipped opening hour, so tests do not depend on the clock.
pub const DEFAULT_AT: &str = "2026-11-24T15:00:00Z";

#[derive(Debug, Clone)]
pub struct ConvTest {
    pub name: String,
    pub file: String,
    pub line: usize,
    pub lang: Option<Lang>,
    pub at: DateTime<Utc>,
    pub outage: Vec<String>,
    pub turns: Vec<Turn>,
}

#[derive(Debug, Clone)]
pub struct Turn {
    pub line: usize,
    pub input: Input,
    pub expect: Expect,
}

#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub language: Option<Lang>,
    pub flow: Option<String>,
    pub handoff: Option<bool>,
    pub reason: Option<String>,
    pub reply_contains: Vec<String>,
    pub reply_not_contains: Vec<String>,
    pub queue: Option<String>,
    pub priority: Option<String>,
    pub crisis_resources: Option<bool>,
    pub verified: Option<bool>,
    pub status: Option<String>,
    pub resolved: Option<bool>,
    pub callback: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub name: String,
    pub file: String,
    pub line: usize,
    pub passed: bool,
    pub failures: Vec<String>,
}

const TEST_KEYS: &[&str] = &["name", "lang", "at", "outage", "turns"];
const TURN_KEYS: &[&str] = &[
    "patient",
    "choose_language",
    "request_agent",
    "rate",
    "agent_accepts",
    "idle",
    "close",
    "expect",
];
const EXPECT_KEYS: &[&str] = &[
    "language",
    "flow",
    "handoff",
    "reason",
    "reply_contains",
    "reply_not_contains",
    "queue",
    "priority",
    "crisis_resources",
    "verified",
    "status",
    "resolved",
    "callback",
];

/// Every `*.yaml` file under `path` (or `path` itself), sorted.
pub fn collect(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let p = entry?.path();
        if p.is_dir() {
            out.extend(collect(&p)?);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// Parses a test file: one test, or a list of tests.
pub fn parse_file(file: &str, source: &str) -> Result<Vec<ConvTest>, Diagnostics> {
    let mut diags = Diagnostics::new(file);
    let node = match yaml::parse(source) {
        Ok(n) => n,
        Err(e) => {
            diags.push(e.line, format!("not valid YAML: {}", e.message), "check the indentation and quotes");
            return Err(diags);
        }
    };
    let nodes = match &node.kind {
        NodeKind::Seq(items) => items.clone(),
        _ => vec![node],
    };
    let tests: Vec<ConvTest> = nodes.iter().filter_map(|n| parse_test(n, file, &mut diags)).collect();
    if diags.is_empty() { Ok(tests) } else { Err(diags) }
}

fn parse_test(node: &Node, file: &str, diags: &mut Diagnostics) -> Option<ConvTest> {
    let mut m = MapReader::new(node, "a conversation test", diags);
    let name = m.require_string("name", diags).unwrap_or_default();
    diags.step = Some(name.clone());
    let lang = m.get("lang").and_then(|n| crate::flow::schema::lang(&n, diags));
    let at = m.get("at").and_then(|n| {
        let s = n.string("`at`", diags)?;
        match DateTime::parse_from_rfc3339(&s) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                diags.push(n.line, format!("`{s}` is not a time"), "write it like 2026-11-24T10:00:00-05:00");
                None
            }
        }
    });
    let outage = m.get("outage").map(|n| n.strings("`outage`", diags)).unwrap_or_default();
    let turns = m.require("turns", diags).map(|n| n.list("`turns`", diags)).unwrap_or_default();
    let turns = turns.iter().filter_map(|t| parse_turn(t, diags)).collect();
    m.finish(TEST_KEYS, diags);
    diags.step = None;
    Some(ConvTest {
        name,
        file: file.to_string(),
        line: node.line,
        lang,
        at: at.unwrap_or_else(|| DEFAULT_AT.parse().expect("constant")),
        outage,
        turns,
    })
}

fn parse_turn(node: &Node, diags: &mut Diagnostics) -> Option<Turn> {
    let mut m = MapReader::new(node, "a turn", diags);
    let input = if let Some(t) = m.string("patient", diags) {
        Some(Input::Patient { text: t })
    } else if let Some(n) = m.get("choose_language") {
        crate::flow::schema::lang(&n, diags).map(Input::ChooseLanguage)
    } else if m.get("request_agent").is_some() {
        Some(Input::RequestAgent)
    } else if let Some(n) = m.get("rate") {
        n.number("`rate`", diags).map(|s| Input::Rate(s.min(255) as u8))
    } else if let Some(a) = m.string("agent_accepts", diags) {
        Some(Input::Agent(AgentEvent::Accepted { agent: a }))
    } else if m.get("idle").is_some() {
        Some(Input::Timer(crate::engine::Timer::Idle))
    } else if m.get("close").is_some() {
        Some(Input::Close)
    } else {
        diags.push(
            node.line,
            "the turn has no input",
            "start it with `patient: \"...\"` (or choose_language, request_agent, rate, agent_accepts, idle, close)",
        );
        None
    };
    let mut expect = Expect::default();
    if let Some(e) = m.get("expect") {
        let mut x = MapReader::new(&e, "`expect`", diags);
        expect.language = x.get("language").and_then(|n| crate::flow::schema::lang(&n, diags));
        expect.flow = x.string("flow", diags);
        expect.handoff = x.boolean("handoff", diags);
        expect.reason = x.string("reason", diags);
        expect.reply_contains = x
            .get("reply_contains")
            .map(|n| n.strings("`reply_contains`", diags))
            .unwrap_or_default();
        expect.reply_not_contains = x
            .get("reply_not_contains")
            .map(|n| n.strings("`reply_not_contains`", diags))
            .unwrap_or_default();
        expect.queue = x.string("queue", diags);
        expect.priority = x.string("priority", diags);
        expect.crisis_resources = x.boolean("crisis_resources", diags);
        expect.verified = x.boolean("verified", diags);
        expect.status = x.string("status", diags);
        expect.resolved = x.boolean("resolved", diags);
        expect.callback = x.boolean("callback", diags);
        x.finish(EXPECT_KEYS, diags);
    }
    m.finish(TURN_KEYS, diags);
    Some(Turn {
        line: node.line,
        input: input?,
        expect,
    })
}

/// Runs one test through `runner` (whose actions may be swapped for the test's outage).
pub async fn run_test(runner: &Runner, test: &ConvTest) -> TestResult {
    let runner = if test.outage.is_empty() {
        runner.clone()
    } else {
        let actions = crate::action::Actions::new(runner.actions.directory().clone()).with_outage(test.outage.clone());
        Runner {
            engine: runner.engine.clone(),
            actions: std::sync::Arc::new(actions),
        }
    };
    let mut failures = Vec::new();
    let mut at = test.at;
    let (mut state, _) = runner.turn(&runner.engine.new_chat(), Input::Start { hint: test.lang }, at).await;
    let mut callback_seen = false;
    for (i, turn) in test.turns.iter().enumerate() {
        at += Duration::seconds(30);
        let (s, effects) = runner.turn(&state, turn.input.clone(), at).await;
        state = s;
        callback_seen |= effects.iter().any(|e| matches!(e, Effect::Callback { .. }));
        for f in check(&turn.expect, &state, &effects, callback_seen) {
            failures.push(format!("turn {} (line {}): {f}", i + 1, turn.line));
        }
    }
    TestResult {
        name: test.name.clone(),
        file: test.file.clone(),
        line: test.line,
        passed: failures.is_empty(),
        failures,
    }
}

fn check(e: &Expect, st: &ChatState, effects: &[Effect], callback_seen: bool) -> Vec<String> {
    let mut out = Vec::new();
    let replies: Vec<&str> = effects.iter().filter_map(Effect::reply_text).collect();
    let all = replies.join("\n").to_lowercase();
    let shown = || format!("the bot said: {:?}", replies);
    if let Some(l) = e.language.filter(|l| *l != st.language) {
        out.push(format!("language is {}, expected {l}", st.language));
    }
    if let Some(f) = &e.flow
        && st.intent.as_deref() != Some(f.as_str())
    {
        out.push(format!("flow is {:?}, expected {f}", st.intent));
    }
    let handed = st.handoff.is_some() && matches!(st.status, Status::Queued | Status::Agent);
    if let Some(h) = e.handoff.filter(|h| *h != handed) {
        out.push(format!("handed off is {handed}, expected {h} ({})", shown()));
    }
    if let Some(r) = &e.reason {
        let got = st.handoff.as_ref().map(|h| h.reason.as_str());
        if got != Some(r.as_str()) {
            out.push(format!("hand-off reason is {got:?}, expected {r}"));
        }
    }
    if let Some(q) = &e.queue {
        let got = st.handoff.as_ref().map(|h| h.queue.as_str());
        if got != Some(q.as_str()) {
            out.push(format!("queue is {got:?}, expected {q}"));
        }
    }
    if let Some(p) = &e.priority {
        let got = st.handoff.as_ref().map(|h| {
            serde_json::to_value(h.priority)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default()
        });
        if got.as_deref() != Some(p.as_str()) {
            out.push(format!("priority is {got:?}, expected {p}"));
        }
    }
    for want in &e.reply_contains {
        if !all.contains(&want.to_lowercase()) {
            out.push(format!("no reply contains {want:?}; {}", shown()));
        }
    }
    for bad in &e.reply_not_contains {
        if all.contains(&bad.to_lowercase()) {
            out.push(format!("a reply contains {bad:?}; {}", shown()));
        }
    }
    if let Some(c) = e.crisis_resources {
        let first_is_crisis = matches!(
            effects.first(),
            Some(Effect::Reply {
                kind: ReplyKind::Crisis,
                ..
            })
        );
        if c != first_is_crisis {
            out.push(format!(
                "crisis resources shown first is {first_is_crisis}, expected {c}; {}",
                shown()
            ));
        }
    }
    if let Some(v) = e.verified.filter(|v| *v != st.verified()) {
        out.push(format!("verified is {}, expected {v}", !v));
    }
    if let Some(s) = &e.status {
        let got = serde_json::to_value(st.status)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        if &got != s {
            out.push(format!("status is {got}, expected {s}"));
        }
    }
    if let Some(r) = e.resolved {
        let got = effects.iter().any(|f| matches!(f, Effect::Resolved { .. }));
        if got != r {
            out.push(format!("a flow resolved this turn is {got}, expected {r}"));
        }
    }
    if let Some(c) = e.callback.filter(|c| *c != callback_seen) {
        out.push(format!("call-back captured is {}, expected {c}", !c));
    }
    out
}
