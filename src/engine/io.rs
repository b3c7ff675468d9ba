//! What goes into the engine (events) and what comes out (effects). The shell carries effects out.

use crate::engine::state::{Handoff, RiskFlag, Verification};
use crate::flow::Reason;
use crate::lang::Lang;
use crate::triage::Evidence;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One input, with the time it happened: the engine reads no clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub input: Input,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The chat window opened; `hint` is the page's language, if known.
    Start {
        hint: Option<Lang>,
    },
    Patient {
        text: String,
    },
    /// The patient picked a language explicitly: always wins over detection.
    ChooseLanguage(Lang),
    /// The patient asked for a person with the always-visible button.
    RequestAgent,
    /// The patient rated the chat, 1 to 5.
    Rate(u8),
    /// The patient closed the chat.
    Close,
    ActionDone {
        id: u64,
        result: ActionResult,
    },
    Agent(AgentEvent),
    Timer(Timer),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ActionResult {
    /// The lookup answered with one of the action's declared outcomes, and filled these slots.
    Done {
        outcome: String,
        outputs: BTreeMap<String, String>,
    },
    /// Timeout, error, or an answer that made no sense. The reason is for logs, never the patient.
    Failed { reason: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    Accepted {
        agent: String,
    },
    /// Sent back to a queue (transfer, or an offer that timed out).
    Requeued {
        queue: String,
    },
    Closed {
        disposition: String,
    },
    /// Nobody who speaks the chat's language is on shift and the deployment captures call-backs in
    /// that case: the bot takes the chat back to record one (never for a crisis).
    NoneOnShift,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Timer {
    /// The patient has been silent too long.
    Idle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    Bot,
    /// Crisis resources: shown first and prominently.
    Crisis,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum Effect {
    Reply {
        text: String,
        kind: ReplyKind,
    },
    Handoff(Handoff),
    Whisper(Whisper),
    RunAction {
        id: u64,
        name: String,
        args: BTreeMap<String, String>,
    },
    Audit(Audit),
    /// A call-back request captured when no one was on shift.
    Callback {
        queue: String,
        reason: Reason,
        details: BTreeMap<String, String>,
    },
    LanguageChanged {
        language: Lang,
    },
    /// A flow ended resolved by the bot (containment).
    Resolved {
        flow: String,
    },
    Rating {
        score: u8,
    },
    Closed {
        by: String,
    },
}

impl Effect {
    /// The text of a reply to the patient, if this effect is one.
    pub fn reply_text(&self) -> Option<&str> {
        match self {
            Effect::Reply { text, .. } => Some(text),
            _ => None,
        }
    }
}

/// The private panel an agent sees; the patient never does. Slots carry their PHI flag so the shell
/// can mask them to the agent's role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Whisper {
    pub language: Lang,
    pub reason: Option<Reason>,
    pub intent: Option<String>,
    pub path: Vec<String>,
    pub slots: BTreeMap<String, (String, bool)>,
    pub verification: Verification,
    pub risk: Vec<RiskFlag>,
    pub summary: String,
    /// Canned responses for this intent, in the patient's language: (id, title, text).
    pub suggestions: Vec<(String, String, String)>,
    /// An alert that must not be missed (a crisis phrase while the agent chats).
    pub alert: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Audit {
    pub kind: AuditKind,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A lookup returned PHI into the chat.
    PhiRead,
    VerificationPassed,
    VerificationFailed,
    VerificationLocked,
    Handoff,
    /// The engine refused to show or fetch PHI for an unverified patient.
    PhiRefused,
}

/// Evidence as one line for whispers and audit records.
pub fn evidence_line(evidence: &[Evidence]) -> String {
    evidence
        .iter()
        .map(|e| format!("\"{}\" ({})", e.phrase, e.lang))
        .collect::<Vec<_>>()
        .join(", ")
}
