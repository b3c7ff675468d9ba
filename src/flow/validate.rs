//! Raw flows -> checked `Flow`s: every cross-reference resolved, every problem reported at once.

use crate::diagnostic::Diagnostics;
use crate::flow::expect::{Choice, Expect};
use crate::flow::model::{Canned, Flow, Reason, Settings, Step, StepIx, StepKind, Text, Triggers, placeholders};
use crate::flow::schema::{Named, RawFlow, RawKind, RawText};
use crate::flow::settings::complete_text;
use crate::lang::Lang;
use crate::text::normalize;
use crate::yaml::closest;
use std::collections::{BTreeMap, BTreeSet};

/// Slots the built-in identity verification fills; all of them identify a patient, so all are PHI.
pub const VERIFICATION_SLOTS: [&str; 3] = ["member_name", "member_dob", "member_id"];
/// The action the engine calls to verify a patient; its `verified` outcome means a match.
pub const VERIFY_ACTION: &str = "verify_member";

const EXPECTS: &[&str] = &["text", "name", "member_id", "date", "phone", "pattern", "choice", "language"];

/// Validates one flow against the settings. Returns `None` if it has any problem.
pub fn validate_flow(raw: &RawFlow, settings: &Settings, diags: &mut Diagnostics) -> Option<Flow> {
    let before = diags.list.len();
    diags.step = None;
    let id = raw.id.as_ref().map(|n| n.name.clone()).unwrap_or_default();
    let langs = raw.languages.clone();
    if langs.is_empty() {
        diags.push(
            raw.languages_line,
            "the flow declares no language",
            "list the languages it is written in, e.g. `languages: [en, es]`",
        );
    }
    for l in &langs {
        if !settings.languages.contains(l) {
            diags.push(
                raw.languages_line,
                format!("`{l}` is not one of careline.yaml's languages"),
                format!("add `{l}` to careline.yaml's `languages` (with all its messages) or remove it here"),
            );
        }
    }
    let mut triggers = BTreeMap::new();
    for (l, (examples, keywords)) in &raw.triggers {
        if !langs.contains(l) {
            diags.push(
                raw.languages_line,
                format!("triggers are given in `{l}`, which the flow does not declare"),
                format!("add `{l}` to `languages` with all its texts, or remove those triggers"),
            );
        }
        triggers.insert(
            *l,
            Triggers {
                examples: examples.clone(),
                keywords: keywords.iter().map(|k| normalize(k)).collect(),
            },
        );
    }
    if raw.id.as_ref().map(|n| n.name != settings.after_hours_flow).unwrap_or(true) {
        for l in &langs {
            if triggers
                .get(l)
                .map(|t| t.examples.is_empty() && t.keywords.is_empty())
                .unwrap_or(true)
            {
                diags.push(
                    raw.languages_line,
                    format!("no triggers in `{l}`: patients writing `{l}` can never start this flow"),
                    format!("add `triggers: {l}: examples: [...]` written natively"),
                );
            }
        }
    }
    let skill = raw.skill.clone().unwrap_or(Named {
        name: "general".into(),
        line: raw.languages_line,
    });
    check_skill(&skill, &langs, settings, diags);
    let hours = raw.hours.as_ref().and_then(|h| {
        let s = settings.hours.get(&h.name).cloned();
        if s.is_none() {
            diags.push(
                h.line,
                format!("hours `{}` are not declared in careline.yaml", h.name),
                format!("use one of: {}", settings.hours.keys().cloned().collect::<Vec<_>>().join(", ")),
            );
        }
        s
    });
    let after_hours = raw.after_hours.as_ref().map(|t| complete_text(t, &langs, "`after_hours`", diags));
    if hours.is_some() && after_hours.is_none() {
        diags.push(
            raw.hours.as_ref().map(|h| h.line).unwrap_or(1),
            "the flow has hours but no `after_hours` text",
            "add `after_hours:` saying when it is available, in each language",
        );
    }

    // Slots: what each step may read. Verification slots exist when the flow verifies.
    let mut slots: BTreeSet<String> = BTreeSet::new();
    let mut phi_slots: BTreeSet<String> = BTreeSet::new();
    if raw.requires_verification {
        slots.extend(VERIFICATION_SLOTS.iter().map(|s| s.to_string()));
        phi_slots.extend(VERIFICATION_SLOTS.iter().map(|s| s.to_string()));
        if let Some(v) = settings.actions.get(VERIFY_ACTION) {
            slots.extend(v.outputs.iter().cloned());
            phi_slots.extend(v.outputs.iter().cloned());
        }
    }
    for step in &raw.steps {
        match &step.kind {
            RawKind::Ask { slot, phi, .. } => {
                slots.insert(slot.name.clone());
                if *phi {
                    phi_slots.insert(slot.name.clone());
                }
            }
            RawKind::Action { name, .. } => {
                if let Some(spec) = settings.actions.get(&name.name) {
                    slots.extend(spec.outputs.iter().cloned());
                    if spec.phi {
                        phi_slots.extend(spec.outputs.iter().cloned());
                    }
                }
            }
            _ => {}
        }
    }

    // Step ids: unique, resolvable.
    let mut index: BTreeMap<&str, StepIx> = BTreeMap::new();
    for (i, step) in raw.steps.iter().enumerate() {
        if index.insert(step.id.name.as_str(), i).is_some() {
            diags.step = Some(step.id.name.clone());
            diags.push(
                step.id.line,
                format!("step id `{}` is used twice", step.id.name),
                "give each step its own id",
            );
        }
    }
    if raw.steps.is_empty() {
        diags.push(raw.start_line, "the flow has no steps", "add at least one step under `steps:`");
    }
    let ids: Vec<&str> = raw.steps.iter().map(|s| s.id.name.as_str()).collect();
    let resolve = |target: &Option<Named>, what: &str, line: usize, diags: &mut Diagnostics| -> StepIx {
        match target {
            None => {
                diags.push(
                    line,
                    format!("the step has no `{what}`"),
                    "add `next: <step id>` saying where the chat goes after it",
                );
                0
            }
            Some(t) => match index.get(t.name.as_str()) {
                Some(&i) => i,
                None => {
                    let hint = closest(&t.name, &ids)
                        .map(|c| format!("did you mean `{c}`?"))
                        .unwrap_or_else(|| format!("use one of the flow's step ids: {}", ids.join(", ")));
                    diags.push(t.line, format!("`{what}` points to step `{}`, which does not exist", t.name), hint);
                    0
                }
            },
        }
    };
    let mut uses_phi = Vec::new();
    let mut steps = Vec::new();
    for step in &raw.steps {
        diags.step = Some(step.id.name.clone());
        let line = step.id.line;
        let mut texts: Vec<&RawText> = Vec::new();
        let kind = match &step.kind {
            RawKind::Say { text, next } => {
                texts.push(text);
                StepKind::Say {
                    text: complete_text(text, &langs, "`say`", diags),
                    next: resolve(next, "next", line, diags),
                }
            }
            RawKind::Ask {
                slot,
                prompt,
                expect,
                pattern,
                choices,
                invalid,
                phi,
                next,
            } => {
                let prompt = match prompt {
                    Some(p) => {
                        texts.push(p);
                        complete_text(p, &langs, "`prompt`", diags)
                    }
                    None => {
                        diags.push(
                            slot.line,
                            format!("asking for `{}` without a `prompt`", slot.name),
                            "add `prompt:` with the question, in each language",
                        );
                        Text::default()
                    }
                };
                let invalid = invalid.as_ref().map(|t| {
                    texts.push(t);
                    complete_text(t, &langs, "`invalid`", diags)
                });
                let expect = decode_expect(expect, pattern, choices, &langs, diags);
                StepKind::Ask {
                    slot: slot.name.clone(),
                    prompt,
                    expect,
                    invalid,
                    phi: *phi,
                    next: resolve(next, "next", line, diags),
                }
            }
            RawKind::Action { name, args, on } => {
                let spec = settings.actions.get(&name.name);
                match spec {
                    None => {
                        let known: Vec<&str> = settings.actions.keys().map(String::as_str).collect();
                        let hint = closest(&name.name, &known)
                            .map(|c| format!("did you mean `{c}`?"))
                            .unwrap_or_else(|| {
                                format!("declare it under `actions:` in careline.yaml, or use one of: {}", known.join(", "))
                            });
                        diags.push(name.line, format!("action `{}` is not declared", name.name), hint);
                    }
                    Some(spec) if spec.phi => uses_phi.push((name.line, format!("action `{}` reads PHI", name.name))),
                    Some(_) => {}
                }
                for (_, template) in args {
                    for p in placeholders(template) {
                        check_slot(p, &slots, line, diags);
                        if phi_slots.contains(p) {
                            uses_phi.push((line, format!("slot `{p}` is PHI")));
                        }
                    }
                }
                let mut branches = BTreeMap::new();
                let mut on_failed = None;
                for (outcome, target) in on {
                    let ix = resolve(&Some(target.clone()), "on", line, diags);
                    if outcome.name == "failed" {
                        on_failed = Some(ix);
                    } else if spec.is_some_and(|s| !s.outcomes.contains(&outcome.name)) {
                        diags.push(
                            outcome.line,
                            format!("action `{}` has no outcome `{}`", name.name, outcome.name),
                            format!("use one of: {}, failed", spec.map(|s| s.outcomes.join(", ")).unwrap_or_default()),
                        );
                    } else {
                        branches.insert(outcome.name.clone(), ix);
                    }
                }
                if let Some(spec) = spec {
                    for o in &spec.outcomes {
                        if !branches.contains_key(o) {
                            diags.push(
                                line,
                                format!("outcome `{o}` of action `{}` is not handled", name.name),
                                format!("add `{o}: <step id>` under `on:`"),
                            );
                        }
                    }
                }
                StepKind::Action {
                    name: name.name.clone(),
                    args: args.clone(),
                    on: branches,
                    on_failed,
                }
            }
            RawKind::Branch { slot, cases, default } => {
                check_slot(&slot.name, &slots, slot.line, diags);
                let cases = cases
                    .iter()
                    .map(|(v, t)| (v.clone(), resolve(&Some(t.clone()), "cases", line, diags)))
                    .collect();
                StepKind::Branch {
                    slot: slot.name.clone(),
                    cases,
                    default: resolve(default, "default", line, diags),
                }
            }
            RawKind::SetLanguage { slot, next } => {
                check_slot(&slot.name, &slots, slot.line, diags);
                StepKind::SetLanguage {
                    slot: slot.name.clone(),
                    next: resolve(next, "next", line, diags),
                }
            }
            RawKind::Handoff { skill, reason, say } => {
                check_skill(skill, &langs, settings, diags);
                let r = Reason::parse(&reason.name);
                match r {
                    None | Some(Reason::Crisis) | Some(Reason::Language) | Some(Reason::NoProgress) => {
                        diags.push(reason.line, format!("a flow cannot hand off with reason `{}`", reason.name), "use routing, requested, clinical, distress or phi (crisis, language and no_progress are decided by Careline itself)");
                    }
                    Some(_) => {}
                }
                say.iter().for_each(|t| texts.push(t));
                StepKind::Handoff {
                    skill: skill.name.clone(),
                    reason: r.unwrap_or(Reason::Routing),
                    say: say.as_ref().map(|t| complete_text(t, &langs, "`say`", diags)),
                }
            }
            RawKind::Callback { skill, say } => {
                check_skill(skill, &langs, settings, diags);
                say.iter().for_each(|t| texts.push(t));
                StepKind::Callback {
                    skill: skill.name.clone(),
                    say: say.as_ref().map(|t| complete_text(t, &langs, "`say`", diags)),
                }
            }
            RawKind::End { say, survey } => {
                say.iter().for_each(|t| texts.push(t));
                StepKind::End {
                    say: say.as_ref().map(|t| complete_text(t, &langs, "`say`", diags)),
                    survey: *survey,
                }
            }
        };
        for t in texts {
            for s in t.by_lang.values() {
                for p in placeholders(s) {
                    check_slot(p, &slots, t.line, diags);
                    if phi_slots.contains(p) {
                        uses_phi.push((t.line, format!("the text shows slot `{p}`, which is PHI")));
                    }
                }
            }
        }
        steps.push(Step {
            id: step.id.name.clone(),
            line,
            kind,
        });
    }
    diags.step = None;
    if !raw.requires_verification {
        for (line, what) in uses_phi {
            diags.push(
                line,
                format!("{what}, but the flow does not verify the patient's identity"),
                "add `requires_verification: true` to the flow: no PHI before verification",
            );
        }
    }
    if diags.list.len() == before {
        check_graph(&steps, diags);
    }
    let canned = raw
        .canned
        .iter()
        .map(|c| Canned {
            id: c.id.name.clone(),
            title: c.title.clone(),
            text: complete_text(&c.text, &langs, &format!("canned response `{}`", c.id.name), diags),
        })
        .collect();
    (diags.list.len() == before).then(|| Flow {
        id,
        description: raw.description.clone(),
        file: raw.file.clone(),
        languages: langs,
        triggers,
        meaning_threshold: raw.meaning_threshold,
        requires_verification: raw.requires_verification,
        interrupt: raw.interrupt,
        skill: skill.name,
        hours,
        after_hours,
        steps,
        canned,
    })
}

fn check_slot(name: &str, slots: &BTreeSet<String>, line: usize, diags: &mut Diagnostics) {
    if !slots.contains(name) {
        let known: Vec<&str> = slots.iter().map(String::as_str).collect();
        let hint = closest(name, &known)
            .map(|c| format!("did you mean `{{{c}}}`?"))
            .unwrap_or_else(|| {
                format!(
                    "ask for `{name}` in an `ask` step or take it from an action's outputs; known slots: {}",
                    known.join(", ")
                )
            });
        diags.push(line, format!("slot `{name}` is never filled in this flow"), hint);
    }
}

fn check_skill(skill: &Named, langs: &[Lang], settings: &Settings, diags: &mut Diagnostics) {
    if !settings.skills.contains_key(&skill.name) {
        diags.push(
            skill.line,
            format!("skill `{}` is not declared", skill.name),
            format!("use one of: {}", settings.skills.keys().cloned().collect::<Vec<_>>().join(", ")),
        );
        return;
    }
    for l in langs {
        if !settings.has_queue(*l, &skill.name) {
            diags.push(
                skill.line,
                format!("hand-off to queue `{l}/{}`, which careline.yaml does not declare", skill.name),
                format!(
                    "add `{}` under `queues: {l}:` in careline.yaml, or hand off to another skill",
                    skill.name
                ),
            );
        }
    }
}

fn decode_expect(
    expect: &Named,
    pattern: &Option<Named>,
    choices: &[crate::flow::schema::RawChoice],
    langs: &[Lang],
    diags: &mut Diagnostics,
) -> Expect {
    if !EXPECTS.contains(&expect.name.as_str()) {
        let hint = closest(&expect.name, EXPECTS)
            .map(|c| format!("did you mean `{c}`?"))
            .unwrap_or_else(|| format!("use one of: {}", EXPECTS.join(", ")));
        diags.push(
            expect.line,
            format!("`expect: {}` is not a kind of answer Careline knows", expect.name),
            hint,
        );
        return Expect::Text;
    }
    if expect.name != "pattern" && pattern.is_some() {
        diags.push(
            expect.line,
            "`pattern` is given but `expect` is not `pattern`",
            "write `expect: pattern` or remove `pattern`",
        );
    }
    if expect.name != "choice" && !choices.is_empty() {
        diags.push(
            expect.line,
            "`choices` are given but `expect` is not `choice`",
            "write `expect: choice` or remove `choices`",
        );
    }
    match expect.name.as_str() {
        "text" => Expect::Text,
        "name" => Expect::Name,
        "member_id" => Expect::MemberId,
        "date" => Expect::Date,
        "phone" => Expect::Phone,
        "language" => Expect::Language,
        "pattern" => match pattern {
            None => {
                diags.push(
                    expect.line,
                    "`expect: pattern` without a `pattern`",
                    "add `pattern: '<regular expression>'`",
                );
                Expect::Text
            }
            Some(p) => match regex::Regex::new(&p.name) {
                Ok(re) => Expect::Pattern(re),
                Err(e) => {
                    let why = e.to_string();
                    diags.push(
                        p.line,
                        format!("`{}` is not a valid pattern: {}", p.name, why.lines().last().unwrap_or("").trim()),
                        "fix the regular expression (quote it with single quotes in YAML)",
                    );
                    Expect::Text
                }
            },
        },
        _ => {
            if choices.is_empty() {
                diags.push(
                    expect.line,
                    "`expect: choice` without `choices`",
                    "add `choices:` with each answer and its words per language",
                );
            }
            Expect::Choice(
                choices
                    .iter()
                    .map(|c| {
                        for l in langs {
                            if !c.words.contains_key(l) && *l != Lang::En {
                                diags.push(
                                    c.line,
                                    format!("choice `{}` has no words in `{l}`", c.value),
                                    format!("add `{l}: [...]` with how patients say it"),
                                );
                            }
                        }
                        Choice {
                            value: c.value.clone(),
                            words: c
                                .words
                                .iter()
                                .map(|(l, ws)| (*l, ws.iter().map(|w| normalize(w)).collect()))
                                .collect(),
                        }
                    })
                    .collect(),
            )
        }
    }
}

/// Unreachable steps, and steps from which no hand-off or end can be reached (a cycle with no exit).
fn check_graph(steps: &[Step], diags: &mut Diagnostics) {
    let n = steps.len();
    let mut reached = vec![false; n];
    let mut stack = vec![0];
    while let Some(i) = stack.pop() {
        if n == 0 || std::mem::replace(&mut reached[i], true) {
            continue;
        }
        stack.extend(steps[i].kind.successors());
    }
    let mut exits = vec![false; n];
    loop {
        let mut changed = false;
        for (i, s) in steps.iter().enumerate() {
            if !exits[i] && (s.kind.is_terminal() || s.kind.successors().iter().any(|&j| exits[j])) {
                exits[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for (i, s) in steps.iter().enumerate() {
        diags.step = Some(s.id.clone());
        if !reached[i] {
            diags.push(
                s.line,
                "no path from the first step reaches this step",
                "point a `next` (or a branch) at it, or delete it",
            );
        } else if !exits[i] {
            diags.push(
                s.line,
                "this step is in a loop that never reaches a hand-off or an end",
                "give the loop a way out: a branch to an `end` or `handoff` step",
            );
        }
    }
    diags.step = None;
}
