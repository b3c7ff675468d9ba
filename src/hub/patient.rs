//! What a patient can do: start a chat, send a message, pick a language, ask for a person, rate, close,
//! read the transcript, follow the chat live. Every call is checked against the chat's own token.

use crate::engine::{Input, Status};
use crate::hub::tx::Tx;
use crate::hub::views::{PatientNotice, StateView, state_view};
use crate::hub::{Hub, HubError, LiveChat, random_hex, token_hash};
use crate::lang::Lang;
use crate::store::{ChatRecord, MessageRecord, Sender};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::broadcast;

/// What a patient call answers with.
#[derive(Debug, serde::Serialize)]
pub struct PatientReply {
    pub chat_id: String,
    /// Only when the chat starts: the bearer secret for every later call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub replies: Vec<MessageRecord>,
    pub state: StateView,
    /// The message was already stored under its `client_id`: nothing was stored or answered again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
}

/// The patient's buttons, as opposed to typed messages.
#[derive(Debug, Clone, Copy)]
pub enum PatientAction {
    ChooseLanguage(Lang),
    RequestAgent,
    Rate(u8),
    Close,
}

impl Hub {
    /// Opens a chat: greeting in the page's language (or the one asked for), then the first message.
    /// `ip` is the client's address, counted against the open-chats-per-address limit.
    pub async fn start_chat(
        &self,
        text: Option<&str>,
        chosen: Option<Lang>,
        hint: Option<Lang>,
        ip: Option<std::net::IpAddr>,
    ) -> Result<PatientReply, HubError> {
        if let Some(t) = text {
            crate::triage::input::accept(t.as_bytes()).map_err(crate::hub::refusal)?;
        }
        if let Some(ip) = ip
            && !self.admit_ip(ip)
        {
            return Err(HubError::TooManyChats);
        }
        let result = self.open_new_chat(text, chosen, hint, ip).await;
        if let (Err(_), Some(ip)) = (&result, ip) {
            self.release_ip(ip);
        }
        result
    }

    async fn open_new_chat(
        &self,
        text: Option<&str>,
        chosen: Option<Lang>,
        hint: Option<Lang>,
        ip: Option<std::net::IpAddr>,
    ) -> Result<PatientReply, HubError> {
        let now = self.clock.now();
        let id = random_hex(16);
        let token = random_hex(32);
        let rec = ChatRecord::new(id.clone(), token_hash(&token), self.runner.engine.new_chat(), now);
        let mut chat = LiveChat::new(rec);
        chat.ip = ip;
        let chat = Arc::new(chat);
        let mut rec = chat.record.lock().await;
        let mut tx = Tx::new(&rec, now);
        // The first message says more about the patient's language than the browser does: greet in it.
        let detected = text
            .and_then(|t| self.runner.engine.triage().assess(t, &crate::text::normalize(t)).language)
            .filter(|d| d.is_reliable())
            .map(|d| d.lang);
        self.engine_turn(
            &mut tx,
            Input::Start {
                hint: chosen.or(detected).or(hint),
            },
        )
        .await;
        if let Some(l) = chosen {
            self.engine_turn(&mut tx, Input::ChooseLanguage(l)).await;
        }
        if let Some(t) = text {
            let greeting = tx.messages.len();
            self.patient_text(&mut tx, t, None).await;
            if tx.messages.iter().any(|m| m.kind == "crisis") {
                tx.forget_first(greeting);
            }
        }
        self.chats.write().expect("chats lock").insert(id.clone(), chat.clone());
        let outcome = match self.finish(&chat, &mut rec, tx).await {
            Ok(o) => o,
            Err(e) => {
                self.chats.write().expect("chats lock").remove(&id);
                return Err(e);
            }
        };
        self.counters.chats_started.fetch_add(1, Ordering::Relaxed);
        Ok(PatientReply {
            token: Some(token),
            ..self.reply_to_patient(&chat, &rec, outcome.replies)
        })
    }

    /// What a patient call answers once its change is stored: the new replies and the state.
    fn reply_to_patient(&self, chat: &LiveChat, rec: &ChatRecord, replies: Vec<MessageRecord>) -> PatientReply {
        PatientReply {
            chat_id: chat.id.clone(),
            token: None,
            replies,
            state: state_view(rec, self.wait_of(&chat.id)),
            duplicate: false,
        }
    }

    async fn patient_text(&self, tx: &mut Tx, text: &str, client_id: Option<&str>) {
        self.counters.patient_messages.fetch_add(1, Ordering::Relaxed);
        tx.message(Sender::Patient, "text", None, text.to_string());
        if let Some(m) = tx.messages.last_mut() {
            m.client_id = client_id.map(str::to_string);
        }
        tx.next.last_patient_at = Some(tx.at);
        self.engine_turn(tx, Input::Patient { text: text.to_string() }).await;
    }

    /// The chat, if this token opens it and it is still open.
    async fn open_chat(&self, id: &str, token: &str) -> Result<Arc<LiveChat>, HubError> {
        match self.live(id) {
            Some(chat) if chat.opens_with(token) => Ok(chat),
            Some(_) => Err(HubError::WrongToken),
            None => match self.store.chat(id).await.map_err(HubError::Store)? {
                Some(rec) if rec.token_hash == token_hash(token) => Err(HubError::Closed),
                Some(_) => Err(HubError::WrongToken),
                None => Err(HubError::UnknownChat),
            },
        }
    }

    /// A patient's message. `client_id`, when the browser gives one, makes a retry safe: a message
    /// already stored under that id is not stored or answered again (the answer says `duplicate`).
    pub async fn patient_message(&self, id: &str, token: &str, text: &str, client_id: Option<&str>) -> Result<PatientReply, HubError> {
        let chat = self.open_chat(id, token).await?;
        if let Err(r) = crate::triage::input::accept(text.as_bytes()) {
            self.counters.refused_messages.fetch_add(1, Ordering::Relaxed);
            return Err(crate::hub::refusal(r));
        }
        let now = self.clock.now();
        if !chat.admit(now, self.config.limits.per_chat_per_minute) {
            self.counters.refused_messages.fetch_add(1, Ordering::Relaxed);
            return Err(HubError::RateLimited);
        }
        let mut rec = chat.record.lock().await;
        if rec.state.status == Status::Closed {
            return Err(HubError::Closed);
        }
        // Checked under the chat's lock, after any earlier send of the same id has committed.
        if let Some(cid) = client_id
            && self.store.has_client_message(id, cid).await.map_err(HubError::Store)?
        {
            let mut reply = self.reply_to_patient(&chat, &rec, Vec::new());
            reply.duplicate = true;
            return Ok(reply);
        }
        let mut tx = Tx::new(&rec, now);
        self.patient_text(&mut tx, text, client_id).await;
        let outcome = self.finish(&chat, &mut rec, tx).await?;
        Ok(self.reply_to_patient(&chat, &rec, outcome.replies))
    }

    pub async fn patient_action(&self, id: &str, token: &str, action: PatientAction) -> Result<PatientReply, HubError> {
        let chat = match (self.open_chat(id, token).await, action) {
            (Err(HubError::Closed), PatientAction::Rate(score)) => return self.rate_closed(id, score).await,
            (chat, _) => chat?,
        };
        let mut rec = chat.record.lock().await;
        if rec.state.status == Status::Closed {
            drop(rec);
            return match action {
                // Closed a moment ago and not yet out of memory: rated like any closed chat.
                PatientAction::Rate(score) => self.rate_closed(id, score).await,
                _ => Err(HubError::Closed),
            };
        }
        let mut tx = Tx::new(&rec, self.clock.now());
        let input = match action {
            PatientAction::ChooseLanguage(l) => Input::ChooseLanguage(l),
            PatientAction::RequestAgent => Input::RequestAgent,
            PatientAction::Rate(score) => {
                if !(1..=5).contains(&score) {
                    return Err(HubError::Refused(format!("a rating is 1 to 5, not {score}")));
                }
                Input::Rate(score)
            }
            PatientAction::Close => Input::Close,
        };
        if let (PatientAction::Close, Some(agent)) = (action, rec.agent.clone()) {
            tx.audit("patient", "closed", format!("patient closed the chat with agent {agent}"));
        }
        self.engine_turn(&mut tx, input).await;
        let outcome = self.finish(&chat, &mut rec, tx).await?;
        Ok(self.reply_to_patient(&chat, &rec, outcome.replies))
    }

    /// A rating after the chat ended (the agent closed it, or the patient did): the survey comes at the
    /// end, so it must still be accepted then. Once only; the token was checked by the caller.
    async fn rate_closed(&self, id: &str, score: u8) -> Result<PatientReply, HubError> {
        if !(1..=5).contains(&score) {
            return Err(HubError::Refused(format!("a rating is 1 to 5, not {score}")));
        }
        if !self.store.rate_closed(id, score).await.map_err(HubError::Store)? {
            return Err(HubError::Conflict("this chat has already been rated".into()));
        }
        let rec = self.store.chat(id).await.map_err(HubError::Store)?.ok_or(HubError::UnknownChat)?;
        Ok(PatientReply {
            chat_id: id.to_string(),
            token: None,
            replies: Vec::new(),
            state: state_view(&rec, Default::default()),
            duplicate: false,
        })
    }

    /// The transcript so far and the state, from the store (open or closed chats alike).
    pub async fn patient_transcript(&self, id: &str, token: &str) -> Result<(Vec<MessageRecord>, StateView), HubError> {
        let (rec, wait) = match self.live(id) {
            Some(chat) if chat.opens_with(token) => (chat.record.lock().await.clone(), self.wait_of(id)),
            Some(_) => return Err(HubError::WrongToken),
            None => match self.store.chat(id).await.map_err(HubError::Store)? {
                Some(rec) if rec.token_hash == token_hash(token) => (rec, Default::default()),
                Some(_) => return Err(HubError::WrongToken),
                None => return Err(HubError::UnknownChat),
            },
        };
        let transcript = self.store.transcript(id).await.map_err(HubError::Store)?;
        Ok((transcript, state_view(&rec, wait)))
    }

    /// Live notices for the patient's WebSocket, with the state to start from.
    pub async fn patient_follow(&self, id: &str, token: &str) -> Result<(broadcast::Receiver<Arc<PatientNotice>>, StateView), HubError> {
        let chat = self.open_chat(id, token).await?;
        let rx = chat.subscribe();
        let rec = chat.record.lock().await;
        Ok((rx, state_view(&rec, self.wait_of(id))))
    }

    /// The patient is typing: the agent who has the chat sees it.
    pub async fn patient_typing(&self, id: &str) {
        if let Some(chat) = self.live(id)
            && let Some(agent) = chat.record.lock().await.agent.clone()
        {
            self.tell(&agent, crate::hub::AgentNotice::Typing { chat: id.to_string() });
        }
    }
}

impl LiveChat {
    /// Counts a patient message against the per-chat limit; false when over it (0 = no limit).
    fn admit(&self, now: chrono::DateTime<chrono::Utc>, per_minute: u32) -> bool {
        if per_minute == 0 {
            return true;
        }
        let mut recent = self.recent.lock().expect("rate lock");
        let window = now - chrono::Duration::minutes(1);
        while recent.front().is_some_and(|t| *t <= window) {
            recent.pop_front();
        }
        if recent.len() >= per_minute as usize {
            return false;
        }
        recent.push_back(now);
        true
    }
}
