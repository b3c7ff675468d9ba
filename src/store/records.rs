//! What the store keeps: plain records, free of SQL, shared by every backend.

use crate::engine::ChatState;
use crate::flow::Reason;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A chat: its engine state plus the bookkeeping routing and metrics need.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRecord {
    pub id: String,
    /// SHA-256 of the patient's bearer token: the secret itself is never stored.
    pub token_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_patient_at: Option<DateTime<Utc>>,
    pub state: ChatState,
    /// The last message's sequence number.
    pub seq: i64,
    pub handoff_at: Option<DateTime<Utc>>,
    /// When it entered its current queue (kept across a crisis upgrade, reset by a transfer).
    pub queued_at: Option<DateTime<Utc>>,
    /// Waiting for an interpreter-assisted agent: nobody with its language was on shift.
    pub interpreter: bool,
    pub agent: Option<String>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub first_agent_reply_at: Option<DateTime<Utc>>,
    /// A bot flow resolved the patient's need.
    pub contained: bool,
    pub phone_escalation: bool,
    pub csat: Option<u8>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    pub disposition: Option<String>,
    pub review: Option<Review>,
}

impl ChatRecord {
    pub fn new(id: String, token_hash: Vec<u8>, state: ChatState, at: DateTime<Utc>) -> ChatRecord {
        ChatRecord {
            id,
            token_hash,
            created_at: at,
            updated_at: at,
            last_patient_at: None,
            state,
            seq: 0,
            handoff_at: None,
            queued_at: None,
            interpreter: false,
            agent: None,
            accepted_at: None,
            first_agent_reply_at: None,
            contained: false,
            phone_escalation: false,
            csat: None,
            closed_at: None,
            closed_by: None,
            disposition: None,
            review: None,
        }
    }
}

/// The agent's judgement of the hand-off, given at close: escalation accuracy is computed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Review {
    /// Did this chat need a person at all?
    pub needed: bool,
    /// Was the hand-off reason the right one?
    pub reason_right: bool,
    /// What the reason should have been, when it was wrong.
    pub correct_reason: Option<Reason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    Patient,
    Bot,
    Agent,
    /// Status lines the patient sees ("You are now chatting with Ana").
    System,
}

impl Sender {
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Patient => "patient",
            Sender::Bot => "bot",
            Sender::Agent => "agent",
            Sender::System => "system",
        }
    }

    pub fn parse(s: &str) -> Sender {
        match s {
            "patient" => Sender::Patient,
            "bot" => Sender::Bot,
            "agent" => Sender::Agent,
            _ => Sender::System,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageRecord {
    #[serde(skip)]
    pub chat: String,
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub sender: Sender,
    /// `text`, or `crisis` for crisis resources shown prominently.
    pub kind: String,
    /// The agent who wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    pub text: String,
    /// The id the patient's browser gave it: a repeat of the same id is the same message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhisperRecord {
    #[serde(skip)]
    pub chat: String,
    pub at: DateTime<Utc>,
    /// The engine's whisper (or an agent's transfer note) as JSON.
    pub body: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallbackRecord {
    pub chat: String,
    pub at: DateTime<Utc>,
    pub queue: String,
    pub reason: String,
    pub phone: Option<String>,
    pub note: Option<String>,
    /// `bot` (after-hours capture) or the agent who escalated to phone.
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    pub chat: Option<String>,
    pub actor: String,
    pub kind: String,
    /// What happened, in words; never a patient's message text.
    pub detail: String,
    /// Where the action came from (client address), when known.
    pub ip: Option<String>,
}

/// Everything one turn changed, written in one transaction. `chat` is absent for changes that touch
/// no chat (a login, a user's role change): audit records alone.
#[derive(Debug, Clone)]
pub struct Commit {
    pub chat: Option<ChatRecord>,
    pub messages: Vec<MessageRecord>,
    pub whispers: Vec<WhisperRecord>,
    pub callbacks: Vec<CallbackRecord>,
    pub audits: Vec<AuditRecord>,
}

impl Commit {
    /// A change that touches no chat: audit records alone (a login, a role change).
    pub fn audits_only(audits: Vec<AuditRecord>) -> Commit {
        Commit {
            chat: None,
            messages: Vec::new(),
            whispers: Vec::new(),
            callbacks: Vec::new(),
            audits,
        }
    }
}

/// One chat as metrics see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatFacts {
    pub created_at: DateTime<Utc>,
    pub language: String,
    pub exchanges: i64,
    pub status: String,
    pub queue: Option<String>,
    pub handoff_reason: Option<String>,
    pub handoff_at: Option<DateTime<Utc>>,
    pub queued_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub first_agent_reply_at: Option<DateTime<Utc>>,
    pub contained: bool,
    pub phone_escalation: bool,
    pub csat: Option<u8>,
    pub review: Option<Review>,
}
