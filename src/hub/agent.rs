//! What agents and supervisors can do: go available or away, see queues, take offered chats, reply,
//! transfer, escalate to phone, close with a disposition and a review of the hand-off.

use crate::engine::{AgentEvent, Input, Status};
use crate::flow::Reason;
use crate::hub::tx::Tx;
use crate::hub::views::{AgentNotice, PatientNotice, StateView, masked_whisper, state_view};
use crate::hub::{AgentLine, Hub, HubError, LiveChat};
use crate::queue::{Board, Presence, QueueView, TakeRefusal, Waiting};
use crate::store::{MessageRecord, Review, Sender};
use crate::users::Role;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::broadcast;

/// A chat as the agent console shows it.
#[derive(Debug, Serialize)]
pub struct AgentChatView {
    pub chat_id: String,
    pub state: StateView,
    pub agent: Option<String>,
    pub transcript: Vec<MessageRecord>,
    /// The context panel: built from the chat as it stands, PHI masked unless the agent may see it.
    pub whisper: serde_json::Value,
    /// Whispers so far (hand-off, alerts, transfer notes), oldest first.
    pub whispers: Vec<serde_json::Value>,
}

/// Where a transfer goes.
#[derive(Debug, Clone)]
pub enum TransferTo {
    Queue(String),
    Agent(String),
}

/// How an agent closes a chat.
#[derive(Debug, Clone)]
pub struct Closing {
    pub disposition: String,
    pub review: Option<Review>,
}

impl Hub {
    pub fn set_presence(&self, agent: &str, presence: Presence) {
        self.board().set_presence(agent, presence, self.clock.now());
        self.dispatch();
    }

    pub fn presence(&self, agent: &str) -> Presence {
        self.board().presence(agent).unwrap_or(Presence::Offline)
    }

    /// The queues this agent may take from (all, for a supervisor), with their waits.
    pub fn queues_for(&self, line: &AgentLine) -> Vec<QueueView> {
        let who = (line.account.role != Role::Supervisor).then_some(line.account.profile.id.as_str());
        self.board().queues(self.clock.now(), who)
    }

    /// Every queue with its waits (supervisors, metrics).
    pub fn queues_all(&self) -> Vec<QueueView> {
        self.board().queues(self.clock.now(), None)
    }

    /// Every waiting chat in serving order (supervisor view).
    pub fn waiting_chats(&self) -> Vec<Waiting> {
        self.board().all_waiting().to_vec()
    }

    pub fn chats_of(&self, agent: &str) -> Vec<String> {
        self.board().chats_of(agent)
    }

    /// Every open chat with its status and agent (supervisor view).
    pub async fn live_chats(&self) -> Vec<(String, StateView, Option<String>)> {
        let chats: Vec<Arc<LiveChat>> = self.chats.read().expect("chats lock").values().cloned().collect();
        let mut out = Vec::with_capacity(chats.len());
        for chat in chats {
            let rec = chat.record.lock().await;
            if rec.state.status != Status::Bot {
                out.push((chat.id.clone(), state_view(&rec, self.wait_of(&chat.id)), rec.agent.clone()));
            }
        }
        out
    }

    pub fn agent_follow(&self, line: &AgentLine) -> broadcast::Receiver<Arc<AgentNotice>> {
        line.consoles.fetch_add(1, Ordering::Relaxed);
        line.notices.subscribe()
    }

    /// A console closed; with none left, an available agent goes away so nothing is offered to an
    /// empty chair (offers to them return to the queue at once).
    pub fn agent_unfollow(&self, line: &AgentLine) {
        if line.consoles.fetch_sub(1, Ordering::Relaxed) == 1 && self.presence(&line.account.profile.id) == Presence::Available {
            self.set_presence(&line.account.profile.id, Presence::Away);
        }
    }

    fn chat_for_agent(&self, line: &AgentLine, id: &str) -> Result<Arc<LiveChat>, HubError> {
        self.live(id).ok_or(HubError::UnknownChat).and_then(|chat| {
            let mine = self.board().chats_of(&line.account.profile.id).iter().any(|c| c == id);
            if mine || line.account.role == Role::Supervisor {
                Ok(chat)
            } else {
                Err(HubError::Forbidden("the chat is not assigned to you".into()))
            }
        })
    }

    /// The agent takes a waiting chat (their offer, or any chat they are eligible for).
    pub async fn take(&self, line: &AgentLine, id: &str) -> Result<AgentChatView, HubError> {
        let agent = line.account.profile.id.clone();
        let chat = self.live(id).ok_or(HubError::UnknownChat)?;
        let mut rec = chat.record.lock().await;
        let taken = self.board().take(id, &agent, line.account.role == Role::Supervisor);
        let waiting = taken.map_err(|e| match e {
            TakeRefusal::NotEligible => HubError::Forbidden(e.to_string()),
            _ => HubError::Conflict(e.to_string()),
        })?;
        let now = self.clock.now();
        let mut tx = Tx::new(&rec, now);
        tx.next.agent = Some(agent.clone());
        tx.next.accepted_at = Some(now);
        tx.audit(&agent, "assigned", format!("taken from {}", waiting.queue));
        self.engine_turn(&mut tx, Input::Agent(AgentEvent::Accepted { agent: agent.clone() }))
            .await;
        if let Err(e) = self.finish(&chat, &mut rec, tx).await {
            // Not stored: put it back where it was so it is offered again.
            {
                let mut board = self.board();
                board.release(id, &agent, now);
                board.enqueue(waiting);
            }
            return Err(e);
        }
        self.record_wait(&waiting.queue, (now - waiting.since).num_seconds());
        self.tell(&agent, AgentNotice::Assigned { chat: id.to_string() });
        self.broadcast_queues();
        drop(rec);
        self.agent_view(line, id).await
    }

    /// The offer is declined: back to the queue for someone else first.
    pub fn decline(&self, line: &AgentLine, id: &str) {
        {
            let mut board = self.board();
            if board.entry(id).and_then(|w| w.offered_to.as_deref()) == Some(line.account.profile.id.as_str()) {
                board.withdraw(id, true);
            }
        }
        self.dispatch();
    }

    /// The chat as this agent may see it.
    pub async fn agent_view(&self, line: &AgentLine, id: &str) -> Result<AgentChatView, HubError> {
        let chat = self.chat_for_agent(line, id)?;
        let rec = chat.record.lock().await.clone();
        let assigned = rec.agent.as_deref() == Some(line.account.profile.id.as_str());
        let may_see_phi = assigned && rec.state.verified();
        let clinical = line.account.role.reads_clinical_notes();
        let transcript = self.store.transcript(id).await.map_err(HubError::Store)?;
        let whispers = self.store.whispers(id).await.map_err(HubError::Store)?;
        // Every look at a chat is audited; seeing a verified patient's collected slots is a PHI read.
        let (kind, detail) = if may_see_phi {
            ("phi_read", "chat with verified slots opened")
        } else {
            ("chat_read", "chat opened (PHI masked)")
        };
        let audit = crate::store::AuditRecord {
            at: self.clock.now(),
            chat: Some(id.to_string()),
            actor: line.account.profile.id.clone(),
            kind: kind.into(),
            detail: detail.into(),
            ip: None,
        };
        {
            let mut live = chat.record.lock().await;
            let mut tx = Tx::new(&live, self.clock.now());
            tx.audits.push(audit);
            self.finish(&chat, &mut live, tx).await?;
        }
        self.watch_phi_read(&line.account.profile.id, id).await;
        Ok(AgentChatView {
            chat_id: id.to_string(),
            state: state_view(&rec, self.wait_of(id)),
            agent: rec.agent.clone(),
            transcript,
            whisper: masked_whisper(&self.whisper_of(&rec), may_see_phi, clinical),
            whispers: whispers.iter().map(|w| masked_whisper(&w.body, may_see_phi, clinical)).collect(),
        })
    }

    /// An agent's message to the patient, stored before it is shown.
    pub async fn agent_message(&self, line: &AgentLine, id: &str, text: &str) -> Result<MessageRecord, HubError> {
        crate::triage::input::accept(text.as_bytes()).map_err(crate::hub::refusal)?;
        let chat = self.chat_for_agent(line, id)?;
        let mut rec = chat.record.lock().await;
        if rec.state.status != Status::Agent || rec.agent.as_deref() != Some(line.account.profile.id.as_str()) {
            return Err(HubError::Conflict("take the chat before replying".into()));
        }
        let now = self.clock.now();
        let mut tx = Tx::new(&rec, now);
        tx.next.first_agent_reply_at.get_or_insert(now);
        let m = tx.message(Sender::Agent, "text", Some(&line.account.name), text.to_string());
        self.counters.agent_messages.fetch_add(1, Ordering::Relaxed);
        self.finish(&chat, &mut rec, tx).await?;
        Ok(m)
    }

    pub async fn agent_typing(&self, line: &AgentLine, id: &str) -> Result<(), HubError> {
        let chat = self.chat_for_agent(line, id)?;
        chat.notify(PatientNotice::Typing { from: "agent" });
        Ok(())
    }

    /// Sends the chat to another queue (or straight to an agent), with a note the next agent sees.
    pub async fn transfer(&self, line: &AgentLine, id: &str, to: TransferTo, note: &str) -> Result<StateView, HubError> {
        let from = line.account.profile.id.clone();
        let chat = self.chat_for_agent(line, id)?;
        let mut rec = chat.record.lock().await;
        if rec.state.status == Status::Closed {
            return Err(HubError::Closed);
        }
        let settings = &self.runner.engine.flows.settings;
        let lang = rec.state.language;
        let (queue, target) = match &to {
            TransferTo::Queue(q) => {
                if !settings.queues.contains(q) {
                    return Err(HubError::Refused(format!("no queue `{q}`; queues are declared in careline.yaml")));
                }
                (q.clone(), None)
            }
            TransferTo::Agent(a) => {
                let profile = self
                    .board()
                    .profile(a)
                    .cloned()
                    .ok_or_else(|| HubError::Refused(format!("no agent `{a}`")))?;
                if !profile.languages.contains(&lang) {
                    return Err(HubError::Refused(format!("agent `{a}` does not speak {}", lang.native_name())));
                }
                let queue = rec
                    .state
                    .handoff
                    .as_ref()
                    .map(|h| h.queue.clone())
                    .unwrap_or_else(|| settings.queue(lang, "general"));
                (queue, Some(a.clone()))
            }
        };
        let now = self.clock.now();
        let mut tx = Tx::new(&rec, now);
        tx.next.agent = None;
        tx.next.queued_at = Some(now);
        tx.audit(&from, "transfer", format!("to {}", target.as_deref().unwrap_or(&queue)));
        tx.whisper(serde_json::json!({"transfer": {"from": line.account.name, "to": target.as_deref().unwrap_or(&queue), "note": note}}));
        self.engine_turn(&mut tx, Input::Agent(AgentEvent::Requeued { queue: queue.clone() }))
            .await;
        let priority = rec
            .state
            .handoff
            .as_ref()
            .map(|h| h.priority)
            .unwrap_or(crate::flow::Priority::Normal);
        // Free whoever had the chat (a supervisor may transfer an agent's chat).
        let holder = rec.agent.clone();
        if let Some(h) = &holder {
            self.board().release(id, h, now);
        }
        match &target {
            // Straight to a colleague: assigned to them alone, never offered to anyone else on the way.
            Some(a) => {
                tx.next.agent = Some(a.clone());
                tx.next.accepted_at = Some(now);
                self.engine_turn(&mut tx, Input::Agent(AgentEvent::Accepted { agent: a.clone() }))
                    .await;
                self.board().restore_assignment(id, a);
            }
            None => {
                let (qlang, skill) = crate::hub::split_queue(&queue);
                tx.enqueue = Some(Board::waiting(id, qlang.unwrap_or(lang), skill, priority, now));
            }
        }
        if let Err(e) = self.finish(&chat, &mut rec, tx).await {
            let mut board = self.board();
            if let Some(a) = &target {
                board.release(id, a, now);
            }
            if let Some(h) = &holder {
                board.restore_assignment(id, h);
            }
            return Err(e);
        }
        if let Some(a) = &target {
            self.tell(a, AgentNotice::Assigned { chat: id.to_string() });
        }
        if let Some(h) = holder {
            self.tell(
                &h,
                AgentNotice::Released {
                    chat: id.to_string(),
                    why: "transferred".into(),
                },
            );
        }
        Ok(state_view(&rec, self.wait_of(id)))
    }

    /// Records a call-back request: a person will phone the patient.
    pub async fn escalate_to_phone(&self, line: &AgentLine, id: &str, phone: &str, reason: &str) -> Result<(), HubError> {
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        if !(7..=15).contains(&digits) {
            return Err(HubError::Refused(format!("`{phone}` is not a phone number (7 to 15 digits)")));
        }
        let chat = self.chat_for_agent(line, id)?;
        let mut rec = chat.record.lock().await;
        let mut tx = Tx::new(&rec, self.clock.now());
        tx.next.phone_escalation = true;
        let queue = rec.state.handoff.as_ref().map(|h| h.queue.clone()).unwrap_or_default();
        tx.callbacks.push(crate::store::CallbackRecord {
            chat: id.to_string(),
            at: tx.at,
            queue,
            reason: reason.to_string(),
            phone: Some(phone.to_string()),
            note: None,
            by: line.account.profile.id.clone(),
        });
        tx.audit(&line.account.profile.id, "phone_escalation", reason.to_string());
        self.finish(&chat, &mut rec, tx).await?;
        Ok(())
    }

    /// Closes the chat with a disposition and the agent's review of the hand-off.
    pub async fn agent_close(&self, line: &AgentLine, id: &str, closing: Closing) -> Result<(), HubError> {
        if closing.disposition.trim().is_empty() {
            return Err(HubError::Refused("give a disposition (e.g. resolved, callback-scheduled)".into()));
        }
        if let Some(r) = closing.review
            && r.reason_right
            && r.correct_reason.is_some()
        {
            return Err(HubError::Refused(
                "`correct_reason` is for a hand-off whose reason was wrong".into(),
            ));
        }
        let chat = self.chat_for_agent(line, id)?;
        let mut rec = chat.record.lock().await;
        let mut tx = Tx::new(&rec, self.clock.now());
        tx.next.disposition = Some(closing.disposition.clone());
        tx.next.review = closing.review;
        tx.audit(&line.account.profile.id, "closed", closing.disposition.clone());
        self.engine_turn(
            &mut tx,
            Input::Agent(AgentEvent::Closed {
                disposition: closing.disposition,
            }),
        )
        .await;
        self.finish(&chat, &mut rec, tx).await?;
        Ok(())
    }

    /// Canned responses in the patient's language, filtered by words in the title or text.
    pub fn canned(&self, query: &str, lang: crate::lang::Lang) -> Vec<serde_json::Value> {
        let q = crate::text::normalize(query);
        self.runner
            .engine
            .flows
            .flows
            .iter()
            .flat_map(|f| f.canned.iter().map(move |c| (f, c)))
            .filter(|(_, c)| c.text.has(lang))
            .filter(|(_, c)| {
                q.is_empty()
                    || q.split_whitespace()
                        .all(|w| crate::text::normalize(&format!("{} {}", c.title, c.text.get(lang))).contains(w))
            })
            .map(|(f, c)| serde_json::json!({"id": c.id, "flow": f.id, "title": c.title, "text": c.text.get(lang)}))
            .collect()
    }
}

/// A reason named in a review, parsed.
pub fn parse_reason(s: &str) -> Result<Reason, HubError> {
    Reason::parse(s).ok_or_else(|| {
        HubError::Refused(format!(
            "unknown reason `{s}`; use one of {}",
            Reason::ALL.map(|r| r.as_str()).join(", ")
        ))
    })
}
