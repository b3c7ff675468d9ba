//! The checked flow set: what the engine runs. Built only by `validate`, so every `next` here points at
//! a real step, every text has every language its flow declares, every queue exists. After this point
//! the engine never re-checks.

use crate::flow::expect::Expect;
use crate::flow::hours::Schedule;
use crate::lang::Lang;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Index of a step within its flow.
pub type StepIx = usize;

/// A patient-facing text in each language; `{slot}` placeholders are filled at render time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Text(pub BTreeMap<Lang, String>);

impl Text {
    /// The text in `lang`. Validation guarantees the flow's languages are present; the fallback to
    /// English (then any) only serves global texts shown to a patient whose language has no flows.
    pub fn get(&self, lang: Lang) -> &str {
        self.0
            .get(&lang)
            .or_else(|| self.0.get(&Lang::En))
            .or_else(|| self.0.values().next())
            .map(String::as_str)
            .unwrap_or("")
    }

    pub fn has(&self, lang: Lang) -> bool {
        self.0.contains_key(&lang)
    }
}

/// Names of the placeholders in a template, in order: `"Hi {name}"` -> `["name"]`.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = after[..close].trim();
                if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    out.push(name);
                }
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

/// Why a chat left the bot. Serialised in snake_case, as conversation tests and the API name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Suicide or self-harm intent, violence, a medical emergency.
    Crisis,
    /// Fear, anger, confusion, grief: a person should answer.
    Distress,
    /// A clinical question the bot must not answer.
    Clinical,
    /// The patient needs PHI the bot cannot show (e.g. verification locked).
    Phi,
    /// Two exchanges without progress.
    NoProgress,
    /// The patient asked for a person.
    Requested,
    /// The patient's language has no bot flows.
    Language,
    /// A flow routes this need to people by design (e.g. rescheduling).
    Routing,
}

impl Reason {
    pub const ALL: [Reason; 8] = [
        Reason::Crisis,
        Reason::Distress,
        Reason::Clinical,
        Reason::Phi,
        Reason::NoProgress,
        Reason::Requested,
        Reason::Language,
        Reason::Routing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Crisis => "crisis",
            Reason::Distress => "distress",
            Reason::Clinical => "clinical",
            Reason::Phi => "phi",
            Reason::NoProgress => "no_progress",
            Reason::Requested => "requested",
            Reason::Language => "language",
            Reason::Routing => "routing",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Queue priority: crisis before everything, then people in distress or locked out.
    pub fn priority(self) -> Priority {
        match self {
            Reason::Crisis => Priority::Crisis,
            Reason::Distress | Reason::Clinical | Reason::Phi => Priority::High,
            _ => Priority::Normal,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lower sorts first: the queue serves `Crisis` before `High` before `Normal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Crisis,
    High,
    Normal,
}

/// What a flow's lookups are, declared once in `careline.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionSpec {
    pub name: String,
    /// Results the action can report besides `failed`; a flow branches on these.
    pub outcomes: Vec<String>,
    /// Slots the action fills.
    pub outputs: Vec<String>,
    /// The action reads or returns PHI: it may only run for a verified patient.
    pub phi: bool,
    pub backend: ActionBackend,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ActionBackend {
    /// A lookup in the built-in demo directory (`fixtures/demo_directory.yaml`).
    Directory { lookup: String },
    /// A templated HTTP request to the health plan's own system.
    Http(HttpSpec),
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpSpec {
    pub method: String,
    pub url: String,
    /// JSON body with `{slot}` placeholders in its string values.
    pub body: Option<serde_json::Value>,
    pub timeout_ms: u64,
    /// JSON pointer to the outcome string in the response.
    pub outcome: String,
    /// Output slot -> JSON pointer in the response.
    pub outputs: BTreeMap<String, String>,
}

/// Which skills exist, and when each is staffed.
#[derive(Debug, Clone, PartialEq)]
pub struct Skill {
    pub name: String,
    pub hours: Schedule,
}

/// Global settings and texts from `careline.yaml`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Languages the bot serves with flows.
    pub languages: Vec<Lang>,
    pub default_language: Lang,
    pub timezone: chrono_tz::Tz,
    /// Consecutive exchanges without progress before a hand-off (1 or 2; never more).
    pub no_progress_limit: u8,
    pub verification_attempts: u8,
    /// Named opening hours (`always` is built in).
    pub hours: BTreeMap<String, Schedule>,
    pub skills: BTreeMap<String, Skill>,
    /// Declared queues, `lang/skill`.
    pub queues: Vec<String>,
    /// The skill each hand-off reason goes to when no flow says otherwise.
    pub routing: BTreeMap<Reason, String>,
    /// Crisis resources (988 / 911 wording) in every triage language.
    pub crisis: Text,
    /// Said to a patient whose language has no flows, before the hand-off, in every triage language.
    pub unsupported_language: Text,
    /// Told to a patient who waits for a person: `{position}` in line, about `{minutes}` minutes.
    pub queue_wait: Text,
    /// The same, when nobody with the patient's language is on shift and an interpreter will help.
    pub interpreter_wait: Text,
    pub messages: Messages,
    pub actions: BTreeMap<String, ActionSpec>,
    pub member_id: regex::Regex,
    /// The flow that captures a call-back message when no one is on shift.
    pub after_hours_flow: String,
}

impl Settings {
    pub fn queue(&self, lang: Lang, skill: &str) -> String {
        format!("{lang}/{skill}")
    }

    pub fn has_queue(&self, lang: Lang, skill: &str) -> bool {
        self.queues.iter().any(|q| *q == self.queue(lang, skill))
    }

    /// The skill a hand-off for `reason` goes to; `general` when unconfigured.
    pub fn skill_for(&self, reason: Reason) -> &str {
        self.routing.get(&reason).map(String::as_str).unwrap_or("general")
    }
}

/// The bot's own lines, each in every flow language.
#[derive(Debug, Clone, Default)]
pub struct Messages {
    pub greeting: Text,
    pub not_understood: Text,
    pub invalid: Text,
    pub action_failed: Text,
    pub handoff: Text,
    pub handoff_requested: Text,
    pub after_hours: Text,
    pub verify_intro: Text,
    pub verify_name: Text,
    pub verify_dob: Text,
    pub verify_member_id: Text,
    pub verify_ok: Text,
    pub verify_failed: Text,
    pub survey: Text,
    pub survey_thanks: Text,
    pub anything_else: Text,
    pub goodbye: Text,
    pub language_switched: Text,
    pub with_agent: Text,
    /// Asked once when a message is close, but not close enough, to a flow by meaning. `{example}`.
    pub did_you_mean: Text,
}

/// The names of the `messages` keys, in file order; the loader and validator share this list.
pub const MESSAGE_KEYS: [&str; 20] = [
    "greeting",
    "not_understood",
    "invalid",
    "action_failed",
    "handoff",
    "handoff_requested",
    "after_hours",
    "verify_intro",
    "verify_name",
    "verify_dob",
    "verify_member_id",
    "verify_ok",
    "verify_failed",
    "survey",
    "survey_thanks",
    "anything_else",
    "goodbye",
    "language_switched",
    "with_agent",
    "did_you_mean",
];

impl Messages {
    pub fn slot_mut(&mut self, key: &str) -> Option<&mut Text> {
        Some(match key {
            "greeting" => &mut self.greeting,
            "not_understood" => &mut self.not_understood,
            "invalid" => &mut self.invalid,
            "action_failed" => &mut self.action_failed,
            "handoff" => &mut self.handoff,
            "handoff_requested" => &mut self.handoff_requested,
            "after_hours" => &mut self.after_hours,
            "verify_intro" => &mut self.verify_intro,
            "verify_name" => &mut self.verify_name,
            "verify_dob" => &mut self.verify_dob,
            "verify_member_id" => &mut self.verify_member_id,
            "verify_ok" => &mut self.verify_ok,
            "verify_failed" => &mut self.verify_failed,
            "survey" => &mut self.survey,
            "survey_thanks" => &mut self.survey_thanks,
            "anything_else" => &mut self.anything_else,
            "goodbye" => &mut self.goodbye,
            "language_switched" => &mut self.language_switched,
            "with_agent" => &mut self.with_agent,
            "did_you_mean" => &mut self.did_you_mean,
            _ => return None,
        })
    }
}

/// Example sentences and keywords that start a flow, in one language.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Triggers {
    pub examples: Vec<String>,
    pub keywords: Vec<String>,
}

/// A canned response agents can send.
#[derive(Debug, Clone, PartialEq)]
pub struct Canned {
    pub id: String,
    pub title: String,
    pub text: Text,
}

#[derive(Debug, Clone)]
pub struct Flow {
    pub id: String,
    pub description: String,
    pub file: String,
    pub languages: Vec<Lang>,
    pub triggers: BTreeMap<Lang, Triggers>,
    /// How close by meaning a message must be to start this flow, when not the default.
    pub meaning_threshold: Option<f32>,
    /// Run identity verification before the first step.
    pub requires_verification: bool,
    /// Matched on every message, even while another flow waits for an answer.
    pub interrupt: bool,
    /// The skill this flow's hand-offs go to unless a step names another.
    pub skill: String,
    /// When the flow runs; outside these hours `after_hours` is said and a call-back is captured.
    pub hours: Option<Schedule>,
    pub after_hours: Option<Text>,
    pub steps: Vec<Step>,
    pub canned: Vec<Canned>,
}

impl Flow {
    pub fn step_named(&self, id: &str) -> Option<StepIx> {
        self.steps.iter().position(|s| s.id == id)
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub line: usize,
    pub kind: StepKind,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Say {
        text: Text,
        next: StepIx,
    },
    Ask {
        slot: String,
        prompt: Text,
        expect: Expect,
        invalid: Option<Text>,
        phi: bool,
        next: StepIx,
    },
    Action {
        name: String,
        args: Vec<(String, String)>,
        on: BTreeMap<String, StepIx>,
        on_failed: Option<StepIx>,
    },
    Branch {
        slot: String,
        cases: Vec<(String, StepIx)>,
        default: StepIx,
    },
    SetLanguage {
        slot: String,
        next: StepIx,
    },
    Handoff {
        skill: String,
        reason: Reason,
        say: Option<Text>,
    },
    Callback {
        skill: String,
        say: Option<Text>,
    },
    End {
        say: Option<Text>,
        survey: bool,
    },
}

impl StepKind {
    /// Steps a chat can go to from here.
    pub fn successors(&self) -> Vec<StepIx> {
        match self {
            StepKind::Say { next, .. } | StepKind::Ask { next, .. } | StepKind::SetLanguage { next, .. } => vec![*next],
            StepKind::Action { on, on_failed, .. } => on.values().copied().chain(*on_failed).collect(),
            StepKind::Branch { cases, default, .. } => cases.iter().map(|c| c.1).chain([*default]).collect(),
            StepKind::Handoff { .. } | StepKind::Callback { .. } | StepKind::End { .. } => Vec::new(),
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self, StepKind::Handoff { .. } | StepKind::Callback { .. } | StepKind::End { .. })
    }
}

/// Everything the engine needs, checked.
#[derive(Debug, Clone)]
pub struct FlowSet {
    pub settings: Settings,
    pub flows: Vec<Flow>,
}

impl FlowSet {
    pub fn flow(&self, id: &str) -> Option<&Flow> {
        self.flows.iter().find(|f| f.id == id)
    }

    pub fn serves(&self, lang: Lang) -> bool {
        self.settings.languages.contains(&lang)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_and_braces_in_prose_ignored() {
        assert_eq!(
            placeholders("Hi {name}, your {rx_name} is {status}."),
            vec!["name", "rx_name", "status"]
        );
        assert!(placeholders("a { b c } d").is_empty());
        assert!(placeholders("unclosed {x").is_empty());
    }
}
