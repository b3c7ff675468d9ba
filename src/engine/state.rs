//! A chat's state: everything the engine needs to take the next turn, serialisable so the server can
//! store it and a restart loses nothing.

use crate::flow::{Priority, Reason};
use crate::lang::Lang;
use crate::triage::{Evidence, RiskLevel};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The bot is serving the chat.
    Bot,
    /// Handed off, waiting in a queue.
    Queued,
    /// A live agent has the chat.
    Agent,
    Closed,
}

/// Where the chat's language came from; an explicit choice always wins over detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LanguageSource {
    Default,
    /// The page's language or an `Accept-Language` header.
    Hint,
    Detected,
    Chosen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    Unverified,
    Verified,
    /// Too many failed attempts: only a person can verify now.
    Locked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    pub value: String,
    /// Identifies the patient or describes their care: masked by role, shown only after verification.
    pub phi: bool,
}

/// What the chat is waiting for inside a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Phase {
    /// Waiting for the answer to the `ask` step `step`.
    Answer { step: usize },
    /// Identity verification: waiting for the answer to the `stage`-th question (0 name, 1 date of birth, 2 member id).
    Verify { stage: u8 },
    /// An action is running; its result carries `id`.
    Action { step: usize, id: u64 },
    /// Verification lookup running.
    VerifyCheck { id: u64 },
    /// The action at `step` failed; the next patient message retries it.
    Retry { step: usize },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Active {
    pub flow: String,
    pub phase: Phase,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    pub reason: Reason,
    pub priority: Priority,
    pub queue: String,
    /// Crisis: a person should call the patient, not only chat.
    pub phone_escalation: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskFlag {
    pub level: RiskLevel,
    pub evidence: Vec<Evidence>,
    /// The exchange on which it was raised.
    pub exchange: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatState {
    pub language: Lang,
    pub language_source: LanguageSource,
    pub status: Status,
    pub active: Option<Active>,
    pub slots: BTreeMap<String, Slot>,
    pub verification: Verification,
    pub verification_failures: u8,
    /// Consecutive exchanges without progress: the two-exchange rule counts here.
    pub no_progress: u8,
    /// Patient messages so far.
    pub exchanges: u32,
    /// The flow (intent) the chat is or was in.
    pub intent: Option<String>,
    /// Steps taken, `flow/step`, most recent last (bounded).
    pub path: Vec<String>,
    pub handoff: Option<Handoff>,
    pub risk: Vec<RiskFlag>,
    /// After verification, the flow to start.
    pub after_verification: Option<String>,
    /// A hand-off that could not happen (no one on shift), now captured as a call-back.
    pub deferred: Option<(Reason, String)>,
    pub awaiting_rating: bool,
    /// Flows that ended resolved.
    pub resolved: Vec<String>,
    pub next_action_id: u64,
    /// The flow the bot asked "did you mean ...?" about, awaiting a yes.
    #[serde(default)]
    pub clarifying: Option<String>,
}

/// How many path entries the whisper keeps: enough to see the route, not a transcript.
pub const PATH_LIMIT: usize = 24;

impl ChatState {
    pub fn new(language: Lang, source: LanguageSource) -> ChatState {
        ChatState {
            language,
            language_source: source,
            status: Status::Bot,
            active: None,
            slots: BTreeMap::new(),
            verification: Verification::Unverified,
            verification_failures: 0,
            no_progress: 0,
            exchanges: 0,
            intent: None,
            path: Vec::new(),
            handoff: None,
            risk: Vec::new(),
            after_verification: None,
            deferred: None,
            awaiting_rating: false,
            resolved: Vec::new(),
            next_action_id: 1,
            clarifying: None,
        }
    }

    pub fn verified(&self) -> bool {
        self.verification == Verification::Verified
    }

    pub fn visit(&mut self, entry: String) {
        if self.path.last() != Some(&entry) {
            self.path.push(entry);
        }
        if self.path.len() > PATH_LIMIT {
            self.path.remove(0);
        }
    }
}
