//! `careline.yaml`: the languages, queues, hours, crisis resources, lookups and the bot's own lines
//! that every flow shares. Decoded and checked in one pass: it has no forward references.

use crate::diagnostic::Diagnostics;
use crate::flow::hours::Schedule;
use crate::flow::model::{ActionBackend, ActionSpec, HttpSpec, MESSAGE_KEYS, Messages, Reason, Settings, Skill, Text};
use crate::flow::schema::{RawText, lang, lang_code, langs, named, text};
use crate::lang::Lang;
use crate::yaml::{MapReader, Node};
use std::collections::BTreeMap;

const SETTINGS_KEYS: &[&str] = &[
    "languages",
    "default_language",
    "timezone",
    "no_progress_limit",
    "verification_attempts",
    "member_id_format",
    "after_hours_flow",
    "hours",
    "skills",
    "queues",
    "routing",
    "actions",
    "crisis",
    "unsupported_language",
    "queue_wait",
    "interpreter_wait",
    "messages",
];

/// Checks that `raw` has every language in `langs`, reporting each one missing.
pub fn complete_text(raw: &RawText, langs: &[Lang], what: &str, diags: &mut Diagnostics) -> Text {
    for l in langs {
        if !raw.by_lang.contains_key(l) {
            diags.push(
                raw.line,
                format!("{what} has no `{l}` text"),
                format!("add `{l}: ...` written natively in that language"),
            );
        }
    }
    Text(raw.by_lang.clone())
}

pub fn decode_settings(node: &Node, diags: &mut Diagnostics) -> Option<Settings> {
    let mut m = MapReader::new(node, "careline.yaml", diags);
    let languages = m.require("languages", diags).map(|n| langs(&n, diags)).unwrap_or_default();
    if languages.is_empty() {
        diags.push(
            m.line,
            "no language has bot flows",
            "list at least one under `languages:`, e.g. `languages: [en]`",
        );
    }
    let default_language = m.get("default_language").and_then(|n| lang(&n, diags)).unwrap_or(Lang::En);
    if !languages.is_empty() && !languages.contains(&default_language) {
        diags.push(
            m.line,
            format!("the default language `{default_language}` has no flows"),
            "pick one of `languages` as `default_language`",
        );
    }
    let timezone = match m.get("timezone") {
        Some(n) => n.string("`timezone`", diags).and_then(|s| match s.parse::<chrono_tz::Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                diags.push(
                    n.line,
                    format!("`{s}` is not a time zone"),
                    "use an IANA name such as America/New_York or America/Los_Angeles",
                );
                None
            }
        }),
        None => Some(chrono_tz::America::New_York),
    };
    let no_progress_limit = m
        .get("no_progress_limit")
        .and_then(|n| n.number("`no_progress_limit`", diags).map(|v| (v, n.line)));
    let no_progress_limit = match no_progress_limit {
        Some((v @ 1..=2, _)) => v as u8,
        Some((v, line)) => {
            diags.push(
                line,
                format!("no_progress_limit {v} breaks the two-exchange rule"),
                "use 1 or 2: a patient is never kept by the bot longer",
            );
            2
        }
        None => 2,
    };
    let verification_attempts = m
        .get("verification_attempts")
        .and_then(|n| n.number("`verification_attempts`", diags))
        .unwrap_or(3)
        .clamp(1, 5) as u8;
    let member_id = {
        let (pattern, line) = m
            .get("member_id_format")
            .and_then(|n| n.string("`member_id_format`", diags).map(|s| (s, n.line)))
            .unwrap_or_else(|| ("^[A-Z0-9]{6,12}$".into(), m.line));
        match regex::Regex::new(&pattern) {
            Ok(re) => Some(re),
            Err(e) => {
                diags.push(
                    line,
                    format!("member_id_format is not a valid pattern: {}", first_line(&e.to_string())),
                    "fix the regular expression, e.g. ^[A-Z]{3}[0-9]{6}$",
                );
                None
            }
        }
    };
    let after_hours_flow = m.require_string("after_hours_flow", diags).unwrap_or_default();

    let mut schedules: BTreeMap<String, Schedule> = BTreeMap::from([("always".to_string(), Schedule::Always)]);
    if let Some(n) = m.get("hours") {
        for (name, value, line) in n.entries("`hours`", diags) {
            if let Some(s) = decode_schedule(&value, line, diags) {
                schedules.insert(name, s);
            }
        }
    }
    let mut skills = BTreeMap::new();
    if let Some(n) = m.require("skills", diags) {
        for (name, value, line) in n.entries("`skills`", diags) {
            let hours_name = value.string("a skill's hours", diags).unwrap_or_else(|| "always".into());
            match schedules.get(&hours_name) {
                Some(h) => {
                    skills.insert(name.clone(), Skill { name, hours: h.clone() });
                }
                None => diags.push(
                    line,
                    format!("skill `{name}` uses hours `{hours_name}`, which are not declared"),
                    format!("declare `{hours_name}` under `hours:` or use one of: {}", keys(&schedules)),
                ),
            }
        }
    }
    let mut queues = Vec::new();
    if let Some(n) = m.require("queues", diags) {
        for (code, list, line) in n.entries("`queues`", diags) {
            let Some(l) = lang_code(&code, line, diags) else { continue };
            for s in list.list("a language's queues", diags) {
                if let Some(skill) = named(&s, "a skill", diags) {
                    if !skills.contains_key(&skill.name) {
                        diags.push(
                            skill.line,
                            format!("queue `{l}/{}` uses an undeclared skill", skill.name),
                            format!("declare `{}` under `skills:` or use one of: {}", skill.name, keys(&skills)),
                        );
                    }
                    queues.push(format!("{l}/{}", skill.name));
                }
            }
        }
    }
    let mut routing = BTreeMap::new();
    if let Some(n) = m.require("routing", diags) {
        for (reason, skill, line) in n.entries("`routing`", diags) {
            let Some(r) = Reason::parse(&reason) else {
                let all: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
                diags.push(
                    line,
                    format!("`{reason}` is not a hand-off reason"),
                    format!("use one of: {}", all.join(", ")),
                );
                continue;
            };
            if let Some(skill) = skill.string("a skill", diags) {
                routing.insert(r, skill);
            }
        }
    }
    // Triage covers every language, so a crisis or a request for a person in any of them must have a queue.
    for r in Reason::ALL {
        let skill = routing.get(&r).cloned().unwrap_or_else(|| "general".into());
        for l in Lang::ALL {
            if !queues.contains(&format!("{l}/{skill}")) {
                diags.push(
                    m.line,
                    format!("a `{r}` hand-off in `{l}` would go to queue `{l}/{skill}`, which is not declared"),
                    format!("add `{skill}` to `queues: {l}:` (or route `{r}` to a skill every language has)"),
                );
            }
        }
    }
    let actions = m.get("actions").map(|n| decode_actions(&n, diags)).unwrap_or_default();
    let crisis = m
        .require("crisis", diags)
        .map(|n| complete_text(&text(&n, diags), &Lang::ALL, "`crisis`", diags))
        .unwrap_or_default();
    for (l, s) in &crisis.0 {
        if !s.contains("988") || !s.contains("911") {
            diags.push(
                m.line,
                format!("the `{l}` crisis text does not give both 988 and 911"),
                "name the 988 Suicide & Crisis Lifeline and 911 in it",
            );
        }
    }
    let unsupported_language = m
        .require("unsupported_language", diags)
        .map(|n| complete_text(&text(&n, diags), &Lang::ALL, "`unsupported_language`", diags))
        .unwrap_or_default();
    let queue_wait = wait_text(&mut m, "queue_wait", diags);
    let interpreter_wait = wait_text(&mut m, "interpreter_wait", diags);
    let mut messages = Messages::default();
    if let Some(n) = m.require("messages", diags) {
        let mut mm = MapReader::new(&n, "`messages`", diags);
        for key in MESSAGE_KEYS {
            if let Some(t) = mm.require(key, diags) {
                let raw = text(&t, diags);
                *messages.slot_mut(key).expect("MESSAGE_KEYS are Messages fields") =
                    complete_text(&raw, &languages, &format!("message `{key}`"), diags);
            }
        }
        mm.finish(&MESSAGE_KEYS, diags);
    }
    m.finish(SETTINGS_KEYS, diags);
    Some(Settings {
        languages,
        default_language,
        timezone: timezone?,
        no_progress_limit,
        verification_attempts,
        hours: schedules,
        skills,
        queues,
        routing,
        crisis,
        unsupported_language,
        queue_wait,
        interpreter_wait,
        messages,
        actions,
        member_id: member_id?,
        after_hours_flow,
    })
}

fn keys<V>(map: &BTreeMap<String, V>) -> String {
    map.keys().cloned().collect::<Vec<_>>().join(", ")
}

fn first_line(s: &str) -> &str {
    s.lines().last().unwrap_or(s).trim()
}

fn decode_schedule(node: &Node, line: usize, diags: &mut Diagnostics) -> Option<Schedule> {
    if node.as_str() == Some("always") {
        return Some(Schedule::Always);
    }
    let mut days: [Vec<(u16, u16)>; 7] = Default::default();
    for (spec, interval, l) in node.entries("opening hours", diags) {
        let parsed = Schedule::parse_days(&spec).and_then(|d| {
            let i = Schedule::parse_interval(interval.as_str().unwrap_or(""))?;
            Ok((d, i))
        });
        match parsed {
            Ok((ds, Some(i))) => ds.iter().for_each(|d| days[d.num_days_from_monday() as usize].push(i)),
            Ok((_, None)) => {}
            Err(e) => diags.push(l, e, "write lines like `mon-fri: \"08:00-17:00\"` or `sun: closed`"),
        }
    }
    if days.iter().all(Vec::is_empty) {
        diags.push(
            line,
            "these opening hours are never open",
            "give at least one day with hours, or write `always`",
        );
    }
    Some(Schedule::Weekly(days))
}

fn decode_actions(node: &Node, diags: &mut Diagnostics) -> BTreeMap<String, ActionSpec> {
    let mut out = BTreeMap::new();
    for (name, value, _) in node.entries("`actions`", diags) {
        let mut a = MapReader::new(&value, &format!("action `{name}`"), diags);
        let outcomes = a
            .require("outcomes", diags)
            .map(|n| n.strings("`outcomes`", diags))
            .unwrap_or_default();
        if outcomes.iter().any(|o| o == "failed") {
            diags.push(
                a.line,
                format!("action `{name}` lists `failed` as an outcome"),
                "remove it: every action can fail, and `on: failed:` handles it",
            );
        }
        let outputs = a.get("outputs").map(|n| n.strings("`outputs`", diags)).unwrap_or_default();
        let phi = a.boolean("phi", diags).unwrap_or(false);
        let backend = match (a.get("directory"), a.get("http")) {
            (Some(d), None) => d.string("`directory`", diags).map(|lookup| ActionBackend::Directory { lookup }),
            (None, Some(h)) => decode_http(&h, &outputs, diags).map(ActionBackend::Http),
            _ => {
                diags.push(
                    a.line,
                    format!("action `{name}` needs exactly one of `directory:` or `http:`"),
                    "use `directory: <lookup>` for the demo directory or an `http:` block for your system",
                );
                None
            }
        };
        a.finish(&["outcomes", "outputs", "phi", "directory", "http"], diags);
        if let Some(backend) = backend {
            out.insert(
                name.clone(),
                ActionSpec {
                    name,
                    outcomes,
                    outputs,
                    phi,
                    backend,
                },
            );
        }
    }
    out
}

fn decode_http(node: &Node, outputs: &[String], diags: &mut Diagnostics) -> Option<HttpSpec> {
    let mut h = MapReader::new(node, "an `http` action", diags);
    let method = h.string("method", diags).unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
    if !["GET", "POST"].contains(&method.as_str()) {
        diags.push(h.line, format!("method `{method}` is not supported"), "use GET or POST");
    }
    let url = h.require_string("url", diags)?;
    let body = h.get("body").map(|n| yaml_to_json(&n));
    let timeout_ms = h.get("timeout_ms").and_then(|n| n.number("`timeout_ms`", diags)).unwrap_or(3000);
    let outcome = h.require_string("outcome", diags)?;
    let mut map = BTreeMap::new();
    if let Some(n) = h.get("outputs") {
        for (slot, ptr, line) in n.entries("`outputs`", diags) {
            if !outputs.contains(&slot) {
                diags.push(
                    line,
                    format!("`{slot}` is mapped but not listed in the action's `outputs`"),
                    "add it to `outputs:` or remove the mapping",
                );
            }
            if let Some(p) = ptr.string("a JSON pointer", diags) {
                map.insert(slot, p);
            }
        }
    }
    for p in std::iter::once(&outcome).chain(map.values()) {
        if !p.starts_with('/') {
            diags.push(h.line, format!("`{p}` is not a JSON pointer"), "write it like /status or /rx/name");
        }
    }
    h.finish(&["method", "url", "body", "timeout_ms", "outcome", "outputs"], diags);
    Some(HttpSpec {
        method,
        url,
        body,
        timeout_ms,
        outcome,
        outputs: map,
    })
}

fn yaml_to_json(node: &Node) -> serde_json::Value {
    use crate::yaml::NodeKind;
    match &node.kind {
        NodeKind::Null => serde_json::Value::Null,
        NodeKind::Scalar { text, .. } => serde_json::Value::String(text.clone()),
        NodeKind::Seq(items) => items.iter().map(yaml_to_json).collect(),
        NodeKind::Map(entries) => entries
            .iter()
            .filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), yaml_to_json(v))))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

/// A text told to a waiting patient in every triage language, with `{position}` and `{minutes}` to fill.
fn wait_text(m: &mut MapReader, key: &str, diags: &mut Diagnostics) -> Text {
    let Some(n) = m.require(key, diags) else {
        return Text::default();
    };
    let t = complete_text(&text(&n, diags), &Lang::ALL, &format!("`{key}`"), diags);
    for (l, s) in &t.0 {
        if !s.contains("{position}") || !s.contains("{minutes}") {
            diags.push(
                n.line,
                format!("the `{l}` {key} text lacks {{position}} or {{minutes}}"),
                "keep both placeholders, untranslated: the server fills them in",
            );
        }
    }
    t
}
