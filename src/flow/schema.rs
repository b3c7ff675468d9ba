//! Raw flow files: YAML decoded into plain structs that still name steps by string and remember lines.
//! Decoding reports shape problems (unknown keys, wrong types, unknown languages) for the whole file;
//! cross-references (does `next` exist, is the queue declared) are `validate`'s job.

use crate::diagnostic::Diagnostics;
use crate::lang::Lang;
use crate::yaml::{MapReader, Node};
use std::collections::BTreeMap;

/// A text as written: language -> string, with the line of the text block.
#[derive(Debug, Clone, Default)]
pub struct RawText {
    pub line: usize,
    pub by_lang: BTreeMap<Lang, String>,
}

#[derive(Debug, Clone)]
pub struct Named {
    pub name: String,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct RawFlow {
    pub file: String,
    pub id: Option<Named>,
    pub description: String,
    pub languages: Vec<Lang>,
    pub languages_line: usize,
    pub triggers: BTreeMap<Lang, (Vec<String>, Vec<String>)>,
    /// How close by meaning a message must be to this flow's examples to start it (overrides
    /// `models/semantic/intents.yaml`).
    pub meaning_threshold: Option<f32>,
    pub requires_verification: bool,
    pub interrupt: bool,
    pub skill: Option<Named>,
    pub hours: Option<Named>,
    pub after_hours: Option<RawText>,
    pub start_line: usize,
    pub steps: Vec<RawStep>,
    pub canned: Vec<RawCanned>,
}

#[derive(Debug, Clone)]
pub struct RawCanned {
    pub id: Named,
    pub title: String,
    pub text: RawText,
}

#[derive(Debug, Clone)]
pub struct RawStep {
    pub id: Named,
    pub kind: RawKind,
}

#[derive(Debug, Clone)]
pub struct RawChoice {
    pub value: String,
    pub line: usize,
    pub words: BTreeMap<Lang, Vec<String>>,
}

#[derive(Debug, Clone)]
pub enum RawKind {
    Say {
        text: RawText,
        next: Option<Named>,
    },
    Ask {
        slot: Named,
        prompt: Option<RawText>,
        expect: Named,
        pattern: Option<Named>,
        choices: Vec<RawChoice>,
        invalid: Option<RawText>,
        phi: bool,
        next: Option<Named>,
    },
    Action {
        name: Named,
        args: Vec<(String, String)>,
        on: Vec<(Named, Named)>,
    },
    Branch {
        slot: Named,
        cases: Vec<(String, Named)>,
        default: Option<Named>,
    },
    SetLanguage {
        slot: Named,
        next: Option<Named>,
    },
    Handoff {
        skill: Named,
        reason: Named,
        say: Option<RawText>,
    },
    Callback {
        skill: Named,
        say: Option<RawText>,
    },
    End {
        say: Option<RawText>,
        survey: bool,
    },
}

pub const FLOW_KEYS: &[&str] = &[
    "id",
    "description",
    "languages",
    "triggers",
    "meaning_threshold",
    "requires_verification",
    "interrupt",
    "skill",
    "hours",
    "after_hours",
    "steps",
    "canned",
];

pub const STEP_KEYS: &[&str] = &[
    "id",
    "say",
    "next",
    "ask",
    "prompt",
    "expect",
    "pattern",
    "choices",
    "invalid",
    "phi",
    "action",
    "with",
    "on",
    "branch",
    "cases",
    "default",
    "set_language",
    "handoff",
    "reason",
    "callback",
    "end",
    "survey",
];

/// The keys that decide what a step does; a step has at most one (none means a `say` step).
const KIND_KEYS: &[&str] = &["ask", "action", "branch", "set_language", "handoff", "callback", "end"];

pub fn named(node: &Node, what: &str, diags: &mut Diagnostics) -> Option<Named> {
    node.string(what, diags).map(|name| Named { name, line: node.line })
}

pub fn lang(node: &Node, diags: &mut Diagnostics) -> Option<Lang> {
    let code = node.string("a language", diags)?;
    lang_code(&code, node.line, diags)
}

/// A language code written as a mapping key (`en: ...`) on `line`.
pub fn lang_code(code: &str, line: usize, diags: &mut Diagnostics) -> Option<Lang> {
    let lang = Lang::from_code(code).filter(|l| l.code() == code.trim());
    if lang.is_none() {
        let codes: Vec<&str> = Lang::ALL.iter().map(|l| l.code()).collect();
        diags.push(
            line,
            format!("`{code}` is not a language Careline knows"),
            format!("use one of: {}", codes.join(", ")),
        );
    }
    lang
}

pub fn langs(node: &Node, diags: &mut Diagnostics) -> Vec<Lang> {
    node.list("languages", diags).iter().filter_map(|n| lang(n, diags)).collect()
}

pub fn text(node: &Node, diags: &mut Diagnostics) -> RawText {
    let mut by_lang = BTreeMap::new();
    if node.as_str().is_some() {
        diags.push(
            node.line,
            "a patient-facing text must be given per language",
            "write it as `en: ...`, `es: ...` lines, one per language of the flow",
        );
        return RawText { line: node.line, by_lang };
    }
    for (key, value, line) in node.entries("a text", diags) {
        if let (Some(l), Some(s)) = (lang_code(&key, line, diags), value.string("a text", diags)) {
            if s.trim().is_empty() {
                diags.push(
                    line,
                    format!("the `{l}` text is empty"),
                    "write the sentence the patient should see",
                );
            }
            by_lang.insert(l, s);
        }
    }
    RawText { line: node.line, by_lang }
}

pub fn decode_flow(node: &Node, file: &str, diags: &mut Diagnostics) -> RawFlow {
    let mut m = MapReader::new(node, "a flow", diags);
    let id = m.require("id", diags).and_then(|n| named(&n, "`id`", diags));
    let description = m.string("description", diags).unwrap_or_default();
    let (languages, languages_line) = match m.require("languages", diags) {
        Some(n) => (langs(&n, diags), n.line),
        None => (Vec::new(), m.line),
    };
    let mut triggers = BTreeMap::new();
    if let Some(n) = m.get("triggers") {
        for (key, value, line) in n.entries("`triggers`", diags) {
            let Some(l) = lang_code(&key, line, diags) else { continue };
            let mut t = MapReader::new(&value, "a language's triggers", diags);
            let examples = t.get("examples").map(|n| n.strings("`examples`", diags)).unwrap_or_default();
            let keywords = t.get("keywords").map(|n| n.strings("`keywords`", diags)).unwrap_or_default();
            t.finish(&["examples", "keywords"], diags);
            triggers.insert(l, (examples, keywords));
        }
    }
    let meaning_threshold = m.get("meaning_threshold").and_then(|n| {
        let v = n
            .as_str()
            .and_then(|t| t.trim().parse::<f32>().ok())
            .filter(|v| (0.0..=1.0).contains(v));
        if v.is_none() {
            diags.push(
                n.line,
                "`meaning_threshold` should be a number from 0 to 1",
                "write e.g. `meaning_threshold: 0.7`",
            );
        }
        v
    });
    let requires_verification = m.boolean("requires_verification", diags).unwrap_or(false);
    let interrupt = m.boolean("interrupt", diags).unwrap_or(false);
    let skill = m.get("skill").and_then(|n| named(&n, "`skill`", diags));
    let hours = m.get("hours").and_then(|n| named(&n, "`hours`", diags));
    let after_hours = m.get("after_hours").map(|n| text(&n, diags));
    let (steps, start_line) = match m.require("steps", diags) {
        Some(n) => {
            let list = n.list("`steps`", diags);
            (list.iter().map(|s| decode_step(s, diags)).collect::<Vec<_>>(), n.line)
        }
        None => (Vec::new(), m.line),
    };
    diags.step = None;
    let canned = m
        .get("canned")
        .map(|n| n.list("`canned`", diags).iter().filter_map(|c| decode_canned(c, diags)).collect())
        .unwrap_or_default();
    m.finish(FLOW_KEYS, diags);
    RawFlow {
        file: file.to_string(),
        id,
        description,
        languages,
        languages_line,
        triggers,
        meaning_threshold,
        requires_verification,
        interrupt,
        skill,
        hours,
        after_hours,
        start_line,
        steps: steps.into_iter().flatten().collect(),
        canned,
    }
}

fn decode_canned(node: &Node, diags: &mut Diagnostics) -> Option<RawCanned> {
    let mut m = MapReader::new(node, "a canned response", diags);
    let id = m.require("id", diags).and_then(|n| named(&n, "`id`", diags));
    let title = m.string("title", diags).unwrap_or_default();
    let text = m.require("text", diags).map(|n| text(&n, diags));
    m.finish(&["id", "title", "text"], diags);
    Some(RawCanned {
        id: id?,
        title,
        text: text?,
    })
}

fn decode_step(node: &Node, diags: &mut Diagnostics) -> Option<RawStep> {
    diags.step = None;
    let mut m = MapReader::new(node, "a step", diags);
    let id = m.require("id", diags).and_then(|n| named(&n, "`id`", diags))?;
    diags.step = Some(id.name.clone());
    let kinds: Vec<&str> = KIND_KEYS.iter().copied().filter(|k| m.has(k)).collect();
    if kinds.len() > 1 {
        diags.push(
            id.line,
            format!("the step does several things at once ({})", kinds.join(", ")),
            "split it into one step per thing, linked with `next`",
        );
    }
    let say = |m: &mut MapReader, diags: &mut Diagnostics| m.get("say").map(|n| text(&n, diags));
    let next = |m: &mut MapReader, diags: &mut Diagnostics| m.get("next").and_then(|n| named(&n, "`next`", diags));
    let kind = match kinds.first().copied() {
        None => {
            let text = m.require("say", diags).map(|n| text(&n, diags)).unwrap_or_default();
            RawKind::Say {
                text,
                next: next(&mut m, diags),
            }
        }
        Some("ask") => {
            let slot = m.get("ask").and_then(|n| named(&n, "`ask`", diags))?;
            let prompt = m.get("prompt").map(|n| text(&n, diags));
            let expect = m.get("expect").and_then(|n| named(&n, "`expect`", diags)).unwrap_or(Named {
                name: "text".into(),
                line: slot.line,
            });
            let pattern = m.get("pattern").and_then(|n| named(&n, "`pattern`", diags));
            let choices = m.get("choices").map(|n| decode_choices(&n, diags)).unwrap_or_default();
            let invalid = m.get("invalid").map(|n| text(&n, diags));
            let phi = m.boolean("phi", diags).unwrap_or(false);
            RawKind::Ask {
                slot,
                prompt,
                expect,
                pattern,
                choices,
                invalid,
                phi,
                next: next(&mut m, diags),
            }
        }
        Some("action") => {
            let name = m.get("action").and_then(|n| named(&n, "`action`", diags))?;
            let args = m
                .get("with")
                .map(|n| {
                    n.entries("`with`", diags)
                        .into_iter()
                        .filter_map(|(k, v, _)| v.string("an argument", diags).map(|v| (k, v)))
                        .collect()
                })
                .unwrap_or_default();
            let on = m
                .get("on")
                .map(|n| {
                    n.entries("`on`", diags)
                        .into_iter()
                        .filter_map(|(k, v, line)| named(&v, "a step id", diags).map(|step| (Named { name: k, line }, step)))
                        .collect()
                })
                .unwrap_or_default();
            RawKind::Action { name, args, on }
        }
        Some("branch") => {
            let slot = m.get("branch").and_then(|n| named(&n, "`branch`", diags))?;
            let cases = m
                .get("cases")
                .map(|n| {
                    n.entries("`cases`", diags)
                        .into_iter()
                        .filter_map(|(k, v, _)| named(&v, "a step id", diags).map(|s| (k, s)))
                        .collect()
                })
                .unwrap_or_default();
            let default = m.get("default").and_then(|n| named(&n, "`default`", diags));
            if default.is_none() {
                diags.push(
                    slot.line,
                    "a branch has no `default`",
                    "add `default: <step id>` for values no case names",
                );
            }
            RawKind::Branch { slot, cases, default }
        }
        Some("set_language") => {
            let slot = m.get("set_language").and_then(|n| named(&n, "`set_language`", diags))?;
            RawKind::SetLanguage {
                slot,
                next: next(&mut m, diags),
            }
        }
        Some("handoff") => {
            let skill = m.get("handoff").and_then(|n| named(&n, "`handoff`", diags))?;
            let reason = m.get("reason").and_then(|n| named(&n, "`reason`", diags)).unwrap_or(Named {
                name: "routing".into(),
                line: skill.line,
            });
            RawKind::Handoff {
                skill,
                reason,
                say: say(&mut m, diags),
            }
        }
        Some("callback") => {
            let skill = m.get("callback").and_then(|n| named(&n, "`callback`", diags))?;
            RawKind::Callback {
                skill,
                say: say(&mut m, diags),
            }
        }
        Some("end") => {
            let outcome = m.get("end").and_then(|n| n.string("`end`", diags));
            if let Some(o) = outcome.filter(|o| o != "resolved") {
                diags.push(
                    id.line,
                    format!("`end: {o}` is not an ending Careline knows"),
                    "write `end: resolved`",
                );
            }
            let survey = m.boolean("survey", diags).unwrap_or(false);
            RawKind::End {
                say: say(&mut m, diags),
                survey,
            }
        }
        Some(other) => unreachable!("{other} is in KIND_KEYS"),
    };
    // Keys that only some kinds read: present on the wrong kind, they are mistakes, reported by finish.
    m.finish(allowed_keys(&kind), diags);
    Some(RawStep { id, kind })
}

fn allowed_keys(kind: &RawKind) -> &'static [&'static str] {
    match kind {
        RawKind::Say { .. } => &["id", "say", "next"],
        RawKind::Ask { .. } => &["id", "ask", "prompt", "expect", "pattern", "choices", "invalid", "phi", "next"],
        RawKind::Action { .. } => &["id", "action", "with", "on"],
        RawKind::Branch { .. } => &["id", "branch", "cases", "default"],
        RawKind::SetLanguage { .. } => &["id", "set_language", "next"],
        RawKind::Handoff { .. } => &["id", "handoff", "reason", "say"],
        RawKind::Callback { .. } => &["id", "callback", "say"],
        RawKind::End { .. } => &["id", "end", "say", "survey"],
    }
}

fn decode_choices(node: &Node, diags: &mut Diagnostics) -> Vec<RawChoice> {
    node.entries("`choices`", diags)
        .into_iter()
        .map(|(value, words_node, line)| {
            let mut words = BTreeMap::new();
            if !words_node.is_null() {
                for (code, list, l) in words_node.entries("a choice's words", diags) {
                    if let Some(lang) = lang_code(&code, l, diags) {
                        words.insert(lang, list.strings("a choice's words", diags));
                    }
                }
            }
            RawChoice { value, line, words }
        })
        .collect()
}
