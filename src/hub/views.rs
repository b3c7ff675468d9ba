//! What the APIs show: the chat state a patient sees, the whisper an agent sees (PHI masked to what
//! the agent may read), and the notices pushed over WebSockets. Pure functions over records.

use crate::engine::state::{LanguageSource, Verification};
use crate::engine::{ChatState, Status};
use crate::flow::{Priority, Reason};
use crate::lang::Lang;
use crate::queue::QueueView;
use crate::store::{ChatRecord, MessageRecord};
use serde::Serialize;
use serde_json::Value;

/// The chat's state as the patient API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct StateView {
    pub language: Lang,
    pub language_source: LanguageSource,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handoff: Option<HandoffView>,
    pub verified: bool,
    pub exchanges: u32,
    /// The bot asked for a rating (1-5).
    pub awaiting_rating: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct HandoffView {
    pub reason: Reason,
    pub priority: Priority,
    pub queue: String,
    /// 1-based place in the queue while waiting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
    /// An honest estimate from recent waits in this queue; absent while nobody is on shift for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_wait_seconds: Option<i64>,
    /// Waiting for an interpreter-assisted agent.
    pub interpreter: bool,
    /// A person will also call (crisis).
    pub phone_escalation: bool,
}

/// Where a waiting chat stands; `None` fields when it is not waiting.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wait {
    pub position: Option<usize>,
    pub estimated_seconds: Option<i64>,
}

pub fn state_view(rec: &ChatRecord, wait: Wait) -> StateView {
    let st: &ChatState = &rec.state;
    StateView {
        language: st.language,
        language_source: st.language_source,
        status: st.status,
        handoff: st.handoff.as_ref().map(|h| HandoffView {
            reason: h.reason,
            priority: h.priority,
            queue: h.queue.clone(),
            position: wait.position,
            estimated_wait_seconds: wait.estimated_seconds,
            interpreter: rec.interpreter,
            phone_escalation: h.phone_escalation,
        }),
        verified: st.verification == Verification::Verified,
        exchanges: st.exchanges,
        awaiting_rating: st.awaiting_rating,
    }
}

/// Pushed to a patient's WebSocket.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PatientNotice {
    Message { message: MessageRecord },
    Typing { from: &'static str },
    Status { state: StateView },
}

/// Pushed to an agent's (or supervisor's) WebSocket.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentNotice {
    /// A chat offered to this agent, with its whisper: take it before the offer lapses.
    Offer {
        chat: String,
        queue: String,
        priority: Priority,
        reason: Option<Reason>,
        whisper: Value,
        expires_in_seconds: u64,
    },
    /// An offer lapsed or went elsewhere.
    OfferWithdrawn {
        chat: String,
    },
    Message {
        chat: String,
        message: MessageRecord,
    },
    /// New context or an alert (a crisis phrase mid-chat) for a chat the agent has.
    Whisper {
        chat: String,
        whisper: Value,
    },
    Typing {
        chat: String,
    },
    Assigned {
        chat: String,
    },
    Released {
        chat: String,
        why: String,
    },
    Queues {
        queues: Vec<QueueView>,
    },
}

/// A whisper with PHI slot values hidden unless the agent may see them: assigned to this chat and the
/// patient verified. Non-PHI slots and the triage evidence always show.
pub fn masked_whisper(whisper: &Value, may_see_phi: bool) -> Value {
    let mut w = whisper.clone();
    if let Some(slots) = w.get_mut("slots").and_then(Value::as_object_mut) {
        for value in slots.values_mut() {
            if let Some([text, Value::Bool(true)]) = value.as_array_mut().map(|a| a.as_mut_slice())
                && !may_see_phi
            {
                *text = Value::String("•••• (PHI: shown once verified and assigned to you)".into());
            }
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phi_slots_are_masked_unless_allowed() {
        let w = json!({"slots": {"member_id": ["ABC123456", true], "pharmacy": ["Main St", false]}});
        let masked = masked_whisper(&w, false);
        assert!(!masked.to_string().contains("ABC123456"));
        assert!(masked.to_string().contains("Main St"));
        assert!(masked_whisper(&w, true).to_string().contains("ABC123456"));
    }
}
