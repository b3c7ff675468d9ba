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
    /// The patient has rated the chat (a closed chat can be rated once).
    pub rated: bool,
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
        rated: rec.csat.is_some(),
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

/// What a role without clinical notes sees instead of them.
const CLINICAL_NOTE: &str = "clinical note: for nurses";

/// A whisper with PHI slot values hidden unless the agent may see them (assigned to this chat and the
/// patient verified), and clinical notes (the words of a clinical question) hidden from roles that do
/// not read them. Non-PHI slots and crisis or distress evidence always show.
pub fn masked_whisper(whisper: &Value, may_see_phi: bool, clinical_notes: bool) -> Value {
    let mut w = whisper.clone();
    if !clinical_notes {
        if let Some(risk) = w.get_mut("risk").and_then(Value::as_array_mut) {
            for flag in risk.iter_mut().filter(|f| f["level"] == "clinical") {
                flag["evidence"] = Value::Array(vec![serde_json::json!({"phrase": CLINICAL_NOTE})]);
            }
        }
        // A clinical phrase raised mid-chat arrives as an alert: `clinical: "insulin dose" (en)`.
        if let Some(Value::String(alert)) = w.get_mut("alert")
            && alert.starts_with("clinical:")
        {
            *alert = format!("clinical: {CLINICAL_NOTE}");
        }
        // The summary quotes the evidence too: `Clinical ("can i take" (en))`.
        if let Some(Value::String(summary)) = w.get_mut("summary") {
            let quoted = regex::Regex::new(r"Clinical \((?:[^()]|\([^()]*\))*\)").expect("a valid pattern");
            *summary = quoted
                .replace_all(summary, format!("Clinical ({CLINICAL_NOTE})").as_str())
                .into_owned();
        }
    }
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

/// A transcript line for analysts: every value the chat collected (names, dates of birth, member ids,
/// phone numbers) replaced by its slot's name, and any other run of 3+ digits or e-mail address masked.
/// Free text can still name people the flows never asked about; analysts see this, never the original.
pub fn deidentify(text: &str, slots: &[(String, String)]) -> String {
    let mut out = text.to_string();
    // Longest first, so a full name goes before the first name inside it.
    let mut slots: Vec<&(String, String)> = slots.iter().collect();
    slots.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    for (name, value) in slots {
        let v = value.trim();
        if v.chars().count() >= 3 {
            out = replace_ignoring_case(&out, v, &format!("[{name}]"));
        }
    }
    let email = regex::Regex::new(r"[\w.+-]+@[\w-]+\.[\w.]+").expect("a valid pattern");
    let out = email.replace_all(&out, "[email]");
    let digits = regex::Regex::new(r"\d[\d\s./-]{1,}\d").expect("a valid pattern");
    digits
        .replace_all(&out, |c: &regex::Captures| {
            if c[0].chars().filter(char::is_ascii_digit).count() >= 3 {
                "[number]".to_string()
            } else {
                c[0].to_string()
            }
        })
        .into_owned()
}

fn replace_ignoring_case(text: &str, needle: &str, with: &str) -> String {
    let pattern = regex::RegexBuilder::new(&regex::escape(needle))
        .case_insensitive(true)
        .build()
        .expect("an escaped pattern");
    pattern.replace_all(text, with).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn deidentified_text_keeps_no_collected_value_or_number() {
        let slots = vec![
            ("full_name".to_string(), "John Miller".to_string()),
            ("member_id".to_string(), "XYZ987654".to_string()),
        ];
        let out = super::deidentify(
            "I'm john miller, id XYZ987654, call 555-867-5309 or jm@example.com on day 3",
            &slots,
        );
        assert_eq!(out, "I'm [full_name], id [member_id], call [number] or [email] on day 3");
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn phi_slots_are_masked_unless_allowed() {
        let w = json!({"slots": {"member_id": ["ABC123456", true], "pharmacy": ["Main St", false]}});
        let masked = masked_whisper(&w, false, true);
        assert!(!masked.to_string().contains("ABC123456"));
        assert!(masked.to_string().contains("Main St"));
        assert!(masked_whisper(&w, true, true).to_string().contains("ABC123456"));
    }

    #[test]
    fn clinical_notes_are_for_roles_that_read_them() {
        let w = json!({"risk": [
            {"level": "clinical", "evidence": [{"phrase": "insulin dose", "lang": "en"}]},
            {"level": "crisis", "evidence": [{"phrase": "kill myself", "lang": "en"}]}
        ], "summary": "Risk: Clinical (\"insulin dose\" (en)), Crisis (\"kill myself\" (en)).", "alert": "clinical: \"insulin dose\" (en)"});
        let agent = masked_whisper(&w, true, false).to_string();
        assert!(!agent.contains("insulin") && agent.contains("kill myself"), "{agent}");
        assert!(masked_whisper(&w, true, true).to_string().contains("insulin"));
    }
}
