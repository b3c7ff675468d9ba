//! One change to one chat, built up and then committed: engine turns, messages from people, and the
//! bookkeeping the store and the queue need. Nothing is visible to anyone until `Hub::finish` has
//! stored it durably.

use crate::engine::{AgentEvent, Effect, Input, ReplyKind, Status};
use crate::queue::Waiting;
use crate::store::{AuditRecord, CallbackRecord, ChatRecord, Commit, MessageRecord, Sender, WhisperRecord};
use chrono::{DateTime, Utc};

pub struct Tx {
    pub at: DateTime<Utc>,
    pub next: ChatRecord,
    pub messages: Vec<MessageRecord>,
    pub whispers: Vec<WhisperRecord>,
    pub callbacks: Vec<CallbackRecord>,
    pub audits: Vec<AuditRecord>,
    /// The chat entered (or moved up in) a queue.
    pub enqueue: Option<Waiting>,
    /// The chat left the queues for good.
    pub closed: bool,
    /// Replies and status lines for the patient, in order (also in `messages`).
    pub replies: Vec<MessageRecord>,
    /// Whispers for the agent who has the chat.
    pub new_whispers: Vec<serde_json::Value>,
}

impl Tx {
    pub fn new(current: &ChatRecord, at: DateTime<Utc>) -> Tx {
        let mut next = current.clone();
        next.updated_at = at;
        Tx {
            at,
            next,
            messages: Vec::new(),
            whispers: Vec::new(),
            callbacks: Vec::new(),
            audits: Vec::new(),
            enqueue: None,
            closed: false,
            replies: Vec::new(),
            new_whispers: Vec::new(),
        }
    }

    /// Appends a message to the transcript.
    pub fn message(&mut self, sender: Sender, kind: &str, author: Option<&str>, text: String) -> MessageRecord {
        self.next.seq += 1;
        let m = MessageRecord {
            chat: self.next.id.clone(),
            seq: self.next.seq,
            at: self.at,
            sender,
            kind: kind.to_string(),
            author: author.map(str::to_string),
            text,
            client_id: None,
        };
        self.messages.push(m.clone());
        if sender != Sender::Patient {
            self.replies.push(m.clone());
        }
        m
    }

    /// Forgets the first `n` messages of a chat not yet shown to anyone (a greeting that a crisis
    /// makes noise: the resources must come first), renumbering the rest.
    pub fn forget_first(&mut self, n: usize) {
        let gone: Vec<i64> = self.messages.drain(..n.min(self.messages.len())).map(|m| m.seq).collect();
        self.replies.retain(|m| !gone.contains(&m.seq));
        let base = self.next.seq - self.messages.len() as i64 - gone.len() as i64;
        for (i, m) in self.messages.iter_mut().enumerate() {
            let seq = base + 1 + i as i64;
            if let Some(r) = self.replies.iter_mut().find(|r| r.seq == m.seq) {
                r.seq = seq;
            }
            m.seq = seq;
        }
        self.next.seq = base + self.messages.len() as i64;
    }

    pub fn audit(&mut self, actor: &str, kind: &str, detail: String) {
        self.audits.push(AuditRecord {
            at: self.at,
            chat: Some(self.next.id.clone()),
            actor: actor.to_string(),
            kind: kind.to_string(),
            detail,
            ip: None,
        });
    }

    pub fn whisper(&mut self, body: serde_json::Value) {
        self.whispers.push(WhisperRecord {
            chat: self.next.id.clone(),
            at: self.at,
            body: body.clone(),
        });
        self.new_whispers.push(body);
    }

    /// Folds the engine's effects into this change. `input` is what produced them.
    pub fn apply(&mut self, input: &Input, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Reply { text, kind } => {
                    let kind = match kind {
                        ReplyKind::Bot => "text",
                        ReplyKind::Crisis => "crisis",
                    };
                    self.message(Sender::Bot, kind, None, text);
                }
                Effect::Handoff(h) => {
                    self.next.handoff_at.get_or_insert(self.at);
                    self.next.phone_escalation |= h.phone_escalation;
                    let since = *self.next.queued_at.get_or_insert(self.at);
                    if self.next.state.status == Status::Queued {
                        let (lang, skill) = split_queue(&h.queue);
                        self.enqueue = Some(crate::queue::Board::waiting(
                            &self.next.id,
                            lang.unwrap_or(self.next.state.language),
                            skill,
                            h.priority,
                            since,
                        ));
                    }
                }
                Effect::Whisper(w) => self.whisper(serde_json::to_value(&w).unwrap_or_default()),
                Effect::Audit(a) => {
                    let kind = serde_json::to_value(a.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    self.audit("bot", &kind, a.detail);
                }
                Effect::Callback { queue, reason, details } => {
                    let phone = details.get("phone").cloned();
                    let note = details.get("message").or_else(|| details.get("note")).cloned();
                    self.callbacks.push(CallbackRecord {
                        chat: self.next.id.clone(),
                        at: self.at,
                        queue,
                        reason: reason.as_str().to_string(),
                        phone,
                        note,
                        by: "bot".into(),
                    });
                }
                Effect::Resolved { .. } => {
                    if self.next.handoff_at.is_none() {
                        self.next.contained = true;
                    }
                }
                Effect::Rating { score } => self.next.csat = Some(score),
                Effect::Closed { by } => {
                    self.next.closed_at = Some(self.at);
                    self.next.closed_by = Some(by);
                    self.closed = true;
                }
                Effect::LanguageChanged { .. } | Effect::RunAction { .. } => {}
            }
        }
        if let Input::Agent(AgentEvent::NoneOnShift) = input
            && self.next.state.status == Status::Bot
        {
            // Back with the bot to capture a call-back: not waiting any more.
            self.next.queued_at = None;
            self.next.handoff_at = None;
            self.enqueue = None;
        }
    }

    pub fn into_commit(self) -> (Commit, TxOutcome) {
        let outcome = TxOutcome {
            enqueue: self.enqueue,
            closed: self.closed,
            replies: self.replies,
            patient_messages: self.messages.iter().filter(|m| m.sender == Sender::Patient).cloned().collect(),
            whispers: self.new_whispers,
        };
        (
            Commit {
                chat: Some(self.next),
                messages: self.messages,
                whispers: self.whispers,
                callbacks: self.callbacks,
                audits: self.audits,
            },
            outcome,
        )
    }
}

/// What happens after a commit: notices and queue moves.
pub struct TxOutcome {
    pub enqueue: Option<Waiting>,
    pub closed: bool,
    pub replies: Vec<MessageRecord>,
    pub patient_messages: Vec<MessageRecord>,
    pub whispers: Vec<serde_json::Value>,
}

/// `es/pharmacy` -> (es, pharmacy).
pub fn split_queue(queue: &str) -> (Option<crate::lang::Lang>, &str) {
    match queue.split_once('/') {
        Some((l, skill)) => (crate::lang::Lang::from_code(l), skill),
        None => (None, queue),
    }
}
