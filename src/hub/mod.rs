//! The live service: open chats in memory, the live-agent board, and the carrying-out of the engine's
//! effects (store, queue, notices). HTTP handlers call it; it knows nothing of HTTP.
//!
//! Architecture invariants:
//! - **Nothing sent is lost.** Every change to a chat is committed to the store before anyone (the
//!   patient's HTTP response, a WebSocket, an agent) sees it; if the commit fails, the chat is left as
//!   it was and the caller gets an error to retry.
//! - **A crisis never waits behind the bot.** The engine hands off on the crisis message itself; the
//!   hub queues it at crisis priority and offers it in the same call, before returning.
//! - Changes to one chat are serialised by its own lock, held across the commit, so turns are stored
//!   and shown in the order they happened.

pub mod accounts;
pub mod agent;
pub mod alerts;
pub mod patient;
mod timers;
mod tx;
pub mod views;

pub use timers::TICK;
pub use tx::split_queue;
pub use views::{AgentNotice, PatientNotice, StateView, Wait};

use crate::config::{AgentAccount, NoAgentFallback, Role, ServeConfig};
use crate::engine::{AgentEvent, Input, Status};
use crate::flow::Priority;
use crate::queue::{Board, Offer};
use crate::runner::Runner;
use crate::store::{ChatRecord, Sender, Store};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::broadcast;
use tx::{Tx, TxOutcome};

/// Until a queue has history, each chat ahead is expected to take this long to reach.
const DEFAULT_WAIT_PER_CHAT_SECONDS: i64 = 180;
/// Recent accepted waits kept per queue for the estimate.
const WAIT_HISTORY: usize = 20;
/// Notices buffered per WebSocket subscriber; a client further behind is told to reload.
const NOTICE_BUFFER: usize = 64;

/// What the service's clock reads. Tests and the load tool start it at a chosen time (so contact-centre
/// hours do not depend on when CI runs); it then advances with the wall clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    offset: chrono::Duration,
}

impl Clock {
    pub fn system() -> Clock {
        Clock {
            offset: chrono::Duration::zero(),
        }
    }

    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock {
            offset: start - Utc::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("no chat with this id")]
    UnknownChat,
    #[error("this token does not open this chat")]
    WrongToken,
    #[error("the chat is closed")]
    Closed,
    #[error("{0}")]
    Refused(String),
    /// The message is larger than a chat message may be.
    #[error("{0}")]
    TooLarge(String),
    #[error("too many messages in this chat; wait a few seconds")]
    RateLimited,
    #[error("too many open chats from this address; close one first")]
    TooManyChats,
    #[error("wrong username or password")]
    Unauthorized,
    #[error("{0}")]
    Conflict(String),
    #[error("this agent may not do that: {0}")]
    Forbidden(String),
    #[error("the change could not be stored; nothing was saved, try again")]
    Store(#[source] anyhow::Error),
}

/// A chat held in memory while open.
pub struct LiveChat {
    pub id: String,
    token_hash: Vec<u8>,
    /// Why a tokio mutex: it is held across the store commit, so one chat's turns are stored in order.
    record: tokio::sync::Mutex<ChatRecord>,
    /// Patient WebSocket subscribers.
    events: broadcast::Sender<Arc<PatientNotice>>,
    /// Patient messages in the last minute (std mutex: touched briefly, never across an await).
    recent: Mutex<VecDeque<DateTime<Utc>>>,
    /// The address that opened it, for the open-chats-per-address limit.
    ip: Option<std::net::IpAddr>,
}

/// An agent's live line: where notices to their console go. Config agents have one from the start;
/// users who handle chats get one when they first log in.
pub struct AgentLine {
    pub account: AgentAccount,
    pub notices: broadcast::Sender<Arc<AgentNotice>>,
    consoles: AtomicUsize,
}

/// Counters for `/metrics`, cheap to bump from any task.
#[derive(Default)]
pub struct Counters {
    pub chats_started: AtomicU64,
    pub patient_messages: AtomicU64,
    pub agent_messages: AtomicU64,
    pub handoffs: AtomicU64,
    pub crisis_handoffs: AtomicU64,
    pub offers: AtomicU64,
    pub refused_messages: AtomicU64,
    pub store_failures: AtomicU64,
}

pub struct Hub {
    pub runner: Runner,
    pub store: Arc<dyn Store>,
    pub config: Arc<ServeConfig>,
    pub clock: Clock,
    pub counters: Counters,
    /// Why a std RwLock: lookups are many and short, inserts rare; never held across an await.
    chats: RwLock<HashMap<String, Arc<LiveChat>>>,
    /// Why a std Mutex: every routing decision is a short pure call on the board.
    board: Mutex<Board>,
    /// Why a std RwLock: read on every notice, written only when a user first logs in.
    agents: RwLock<HashMap<String, Arc<AgentLine>>>,
    /// SHA-256 of each agent token -> agent id: tokens are compared by hash, never as strings.
    agent_tokens: HashMap<Vec<u8>, String>,
    waits: Mutex<HashMap<String, VecDeque<i64>>>,
    /// Flips to true when the server stops: long-lived WebSockets close instead of holding shutdown.
    stopping: tokio::sync::watch::Sender<bool>,
    /// Sessions seen recently, by token hash (std RwLock: never held across an await).
    sessions: RwLock<HashMap<Vec<u8>, accounts::CachedSession>>,
    /// When the retention policy last ran.
    last_purge: Mutex<Option<std::time::Instant>>,
    /// Recent events for security alerts.
    watch: Mutex<alerts::Watch>,
    /// Open chats per client address (abuse limit; counted from this start, restored chats excluded).
    open_by_ip: Mutex<HashMap<std::net::IpAddr, u32>>,
    /// Open WebSockets: on shutdown the server waits (briefly) for each to send its close frame.
    pub sockets: AtomicUsize,
    /// The digest of the flow files this process loaded (`flow::load::digest`), set once at start.
    pub served_flows: std::sync::OnceLock<String>,
}

/// A refused message as the hub reports it: too long is its own case (HTTP 413).
pub fn refusal(r: crate::triage::input::Refusal) -> HubError {
    match r {
        crate::triage::input::Refusal::TooLong { .. } => HubError::TooLarge(r.to_string()),
        _ => HubError::Refused(r.to_string()),
    }
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A random secret, hex encoded: 32 bytes for tokens, 16 for ids.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random source");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

impl Hub {
    /// Builds the hub and restores every open chat, queue place and assignment from the store.
    pub async fn start(runner: Runner, store: Arc<dyn Store>, config: ServeConfig, clock: Clock) -> anyhow::Result<Arc<Hub>> {
        let now = clock.now();
        let board = Board::new(config.agents.iter().map(|a| a.profile.clone()), now);
        let agents = config
            .agents
            .iter()
            .map(|a| {
                let (notices, _) = broadcast::channel(NOTICE_BUFFER);
                (
                    a.profile.id.clone(),
                    Arc::new(AgentLine {
                        account: a.clone(),
                        notices,
                        consoles: AtomicUsize::new(0),
                    }),
                )
            })
            .collect();
        let agent_tokens = config.agents.iter().map(|a| (token_hash(&a.token), a.profile.id.clone())).collect();
        let hub = Hub {
            runner,
            store,
            config: Arc::new(config),
            clock,
            counters: Counters::default(),
            chats: RwLock::new(HashMap::new()),
            board: Mutex::new(board),
            agents: RwLock::new(agents),
            agent_tokens,
            waits: Mutex::new(HashMap::new()),
            stopping: tokio::sync::watch::Sender::new(false),
            sockets: AtomicUsize::new(0),
            served_flows: std::sync::OnceLock::new(),
            open_by_ip: Mutex::new(HashMap::new()),
            sessions: RwLock::new(HashMap::new()),
            watch: Mutex::new(alerts::Watch::default()),
            last_purge: Mutex::new(None),
        };
        hub.restore().await?;
        Ok(Arc::new(hub))
    }

    async fn restore(&self) -> anyhow::Result<()> {
        let open = self.store.open_chats().await?;
        let mut board = self.board.lock().expect("board lock");
        let mut chats = self.chats.write().expect("chats lock");
        for rec in open {
            match rec.state.status {
                Status::Queued => {
                    if let Some(h) = &rec.state.handoff {
                        let (lang, skill) = split_queue(&h.queue);
                        let mut w = Board::waiting(
                            &rec.id,
                            lang.unwrap_or(rec.state.language),
                            skill,
                            h.priority,
                            rec.queued_at.unwrap_or(rec.updated_at),
                        );
                        w.interpreter = rec.interpreter;
                        board.enqueue(w);
                    }
                }
                Status::Agent => {
                    if let Some(agent) = &rec.agent {
                        board.restore_assignment(&rec.id, agent);
                    }
                }
                Status::Bot | Status::Closed => {}
            }
            chats.insert(rec.id.clone(), Arc::new(LiveChat::new(rec)));
        }
        tracing::info!(open = chats.len(), "restored open chats");
        Ok(())
    }

    /// Tells every WebSocket to close: the server is stopping.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Counts a new chat against its address; false if the address already has its maximum open.
    fn admit_ip(&self, ip: std::net::IpAddr) -> bool {
        let max = self.config.limits.max_open_chats_per_ip;
        let mut open = self.open_by_ip.lock().expect("ip lock");
        let n = open.entry(ip).or_default();
        if max > 0 && *n >= max {
            return false;
        }
        *n += 1;
        true
    }

    fn release_ip(&self, ip: std::net::IpAddr) {
        let mut open = self.open_by_ip.lock().expect("ip lock");
        if let Some(n) = open.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&ip);
            }
        }
    }

    /// After `stop`: waits until every WebSocket has said goodbye, or `limit` passes.
    pub async fn sockets_closed(&self, limit: std::time::Duration) {
        let end = tokio::time::Instant::now() + limit;
        while self.sockets.load(Ordering::Relaxed) > 0 && tokio::time::Instant::now() < end {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Resolves when the server starts stopping.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    pub fn open_chat_count(&self) -> usize {
        self.chats.read().expect("chats lock").len()
    }

    fn live(&self, id: &str) -> Option<Arc<LiveChat>> {
        self.chats.read().expect("chats lock").get(id).cloned()
    }

    fn board(&self) -> std::sync::MutexGuard<'_, Board> {
        self.board.lock().expect("board lock")
    }

    /// The agent a console token belongs to.
    /// A config agent's line, by their token.
    pub fn agent_by_token(&self, token: &str) -> Option<Arc<AgentLine>> {
        self.agent_tokens.get(&token_hash(token)).and_then(|id| self.agent(id))
    }

    pub fn agent(&self, id: &str) -> Option<Arc<AgentLine>> {
        self.agents.read().expect("agents lock").get(id).cloned()
    }

    /// The line of a user who handles chats, created (with a seat on the board) on first use.
    /// The account is re-read from the store on every session check, so a role or skill changed with
    /// `careline users add` takes effect here too: the line is rebuilt (keeping its console channel).
    pub fn agent_for_user(&self, account: AgentAccount) -> Arc<AgentLine> {
        let existing = self.agent(&account.profile.id);
        if let Some(line) = &existing
            && line.account.role == account.role
            && line.account.profile == account.profile
            && line.account.name == account.name
        {
            return line.clone();
        }
        // Lock order everywhere: the board before the agents.
        self.board().set_profile(account.profile.clone(), self.clock.now());
        let line = Arc::new(AgentLine {
            notices: existing
                .as_ref()
                .map_or_else(|| broadcast::channel(NOTICE_BUFFER).0, |l| l.notices.clone()),
            consoles: AtomicUsize::new(existing.as_ref().map_or(0, |l| l.consoles.load(Ordering::Relaxed))),
            account,
        });
        self.agents
            .write()
            .expect("agents lock")
            .insert(line.account.profile.id.clone(), line.clone());
        line
    }

    /// Whether `id` belongs to an agent from the configuration file (a user may not take it over).
    pub fn is_config_agent(&self, id: &str) -> bool {
        self.agent_tokens.values().any(|a| a == id)
    }

    fn agent_lines(&self) -> Vec<Arc<AgentLine>> {
        self.agents.read().expect("agents lock").values().cloned().collect()
    }

    /// Where a waiting chat stands and how long it will honestly take.
    fn wait_of(&self, chat: &str) -> Wait {
        let board = self.board();
        let Some(position) = board.position(chat) else {
            return Wait::default();
        };
        let (queue, on_shift) = board.entry(chat).map(|w| (w.queue.clone(), board.on_shift(w))).unwrap_or_default();
        drop(board);
        Wait {
            position: Some(position),
            estimated_seconds: (on_shift > 0).then(|| self.estimate(&queue, position, on_shift)),
        }
    }

    fn estimate(&self, queue: &str, position: usize, on_shift: usize) -> i64 {
        let waits = self.waits.lock().expect("waits lock");
        let per_chat = waits
            .get(queue)
            .filter(|w| !w.is_empty())
            .map_or(DEFAULT_WAIT_PER_CHAT_SECONDS, |w| w.iter().sum::<i64>() / w.len() as i64);
        per_chat * position.div_ceil(on_shift.max(1)) as i64
    }

    fn record_wait(&self, queue: &str, seconds: i64) {
        let mut waits = self.waits.lock().expect("waits lock");
        let w = waits.entry(queue.to_string()).or_default();
        w.push_back(seconds.max(0));
        if w.len() > WAIT_HISTORY {
            w.pop_front();
        }
    }

    /// Runs one engine turn inside `tx`.
    async fn engine_turn(&self, tx: &mut Tx, input: Input) {
        let (state, effects) = self.runner.turn(&tx.next.state, input.clone(), tx.at).await;
        tx.next.state = state;
        tx.apply(&input, effects);
        self.place_handoff(tx).await;
    }

    /// A fresh hand-off: if nobody with the chat's language is on shift, take the configured fallback;
    /// then tell the patient their place and the expected wait.
    async fn place_handoff(&self, tx: &mut Tx) {
        let Some(w) = tx.enqueue.as_mut() else { return };
        let crisis = w.priority == Priority::Crisis;
        let (staffed, interpreters) = {
            let board = self.board();
            (board.staffed(w.lang, &w.skill), board.interpreters_on_shift(&w.skill))
        };
        if !staffed {
            let capture = self.config.no_agent == NoAgentFallback::Callback || !interpreters;
            if capture && !crisis && self.runner.engine.flows.serves(tx.next.state.language) {
                let input = Input::Agent(AgentEvent::NoneOnShift);
                let (state, effects) = self.runner.turn(&tx.next.state, input.clone(), tx.at).await;
                tx.next.state = state;
                tx.apply(&input, effects);
                return;
            }
            w.interpreter = interpreters;
            tx.next.interpreter = interpreters;
        }
        let w = tx.enqueue.clone().expect("checked above");
        let settings = &self.runner.engine.flows.settings;
        let (position, on_shift) = {
            let board = self.board();
            let position = board.position(&w.chat).unwrap_or_else(|| board.ahead(&w) + 1);
            (position, board.on_shift(&w))
        };
        if on_shift == 0 {
            return;
        }
        let minutes = ((self.estimate(&w.queue, position, on_shift) + 59) / 60).max(1);
        let template = if w.interpreter {
            &settings.interpreter_wait
        } else {
            &settings.queue_wait
        };
        let text = template
            .get(tx.next.state.language)
            .replace("{position}", &position.to_string())
            .replace("{minutes}", &minutes.to_string());
        tx.message(Sender::System, "wait", None, text);
    }

    /// Stores the change, then makes it visible: the chat's new state, the patient's and agent's
    /// notices, the queue, and any offers it leads to. Returns what the caller reports.
    async fn finish(&self, chat: &LiveChat, rec: &mut ChatRecord, tx: Tx) -> Result<TxOutcome, HubError> {
        let (commit, outcome) = tx.into_commit();
        let next = commit.chat.clone().expect("a chat's change carries the chat");
        let verification_failures = commit.audits.iter().filter(|a| a.kind == "verification_failed").count();
        if let Err(e) = self.store.commit(commit).await {
            self.counters.store_failures.fetch_add(1, Ordering::Relaxed);
            tracing::error!(chat = %chat.id, error = %format!("{e:#}"), "commit failed");
            return Err(HubError::Store(e));
        }
        if verification_failures > 0
            && let Some(ip) = chat.ip
        {
            self.watch_verification_failures(ip, &chat.id, verification_failures).await;
        }
        let status_changed = rec.state.status != next.state.status || rec.state.language != next.state.language;
        *rec = next;
        for m in outcome.patient_messages.iter().chain(&outcome.replies) {
            chat.notify(PatientNotice::Message { message: m.clone() });
        }
        if let Some(agent) = rec.agent.clone() {
            let may_see_phi = rec.state.verified();
            let clinical = self.agent(&agent).is_some_and(|l| l.account.role.reads_clinical_notes());
            for m in &outcome.patient_messages {
                self.tell(
                    &agent,
                    AgentNotice::Message {
                        chat: chat.id.clone(),
                        message: m.clone(),
                    },
                );
            }
            for w in &outcome.whispers {
                self.tell(
                    &agent,
                    AgentNotice::Whisper {
                        chat: chat.id.clone(),
                        whisper: views::masked_whisper(w, may_see_phi, clinical),
                    },
                );
            }
        }
        if let Some(w) = &outcome.enqueue {
            self.counters.handoffs.fetch_add(1, Ordering::Relaxed);
            if w.priority == Priority::Crisis {
                self.counters.crisis_handoffs.fetch_add(1, Ordering::Relaxed);
            }
            self.board().enqueue(w.clone());
        }
        if outcome.closed {
            let agent = rec.agent.clone();
            {
                let mut board = self.board();
                board.remove(&chat.id);
                if let Some(a) = &agent {
                    board.release(&chat.id, a, rec.updated_at);
                }
            }
            if let Some(a) = agent {
                self.tell(
                    &a,
                    AgentNotice::Released {
                        chat: chat.id.clone(),
                        why: "closed".into(),
                    },
                );
            }
            self.chats.write().expect("chats lock").remove(&chat.id);
            if let Some(ip) = chat.ip {
                self.release_ip(ip);
            }
        }
        if status_changed || outcome.enqueue.is_some() {
            chat.notify(PatientNotice::Status {
                state: views::state_view(rec, self.wait_of(&chat.id)),
            });
        }
        if outcome.enqueue.is_some() || outcome.closed {
            self.dispatch();
        }
        Ok(outcome)
    }

    /// Offers waiting chats to free agents and tells them, whisper included.
    pub fn dispatch(&self) {
        let offers = self.board().dispatch(self.clock.now());
        for offer in offers {
            self.counters.offers.fetch_add(1, Ordering::Relaxed);
            self.send_offer(&offer);
        }
        self.broadcast_queues();
    }

    fn send_offer(&self, offer: &Offer) {
        let Some(chat) = self.live(&offer.chat) else { return };
        let (queue, priority) = {
            let board = self.board();
            match board.entry(&offer.chat) {
                Some(w) => (w.queue.clone(), w.priority),
                None => return,
            }
        };
        // The latest whisper is in the record's state; build it from there so restarts lose nothing.
        let whisper = match chat.record.try_lock() {
            Ok(rec) => self.whisper_of(&rec),
            Err(_) => serde_json::json!({"note": "context loading"}),
        };
        self.tell(
            &offer.agent,
            AgentNotice::Offer {
                chat: offer.chat.clone(),
                queue,
                priority,
                reason: chat.record.try_lock().ok().and_then(|r| r.state.handoff.as_ref().map(|h| h.reason)),
                whisper: views::masked_whisper(
                    &whisper,
                    false,
                    self.agent(&offer.agent).is_some_and(|l| l.account.role.reads_clinical_notes()),
                ),
                expires_in_seconds: self.config.offer_timeout.as_secs(),
            },
        );
    }

    /// The whisper for a chat as it stands, built from its state by the engine's own rules.
    fn whisper_of(&self, rec: &ChatRecord) -> serde_json::Value {
        serde_json::to_value(self.runner.engine.whisper_for(&rec.state)).unwrap_or_default()
    }

    fn tell(&self, agent: &str, notice: AgentNotice) {
        if let Some(line) = self.agent(agent) {
            let _ = line.notices.send(Arc::new(notice));
        }
    }

    /// Every console gets its queues' current waits (supervisors: all queues).
    fn broadcast_queues(&self) {
        let now = self.clock.now();
        let board = self.board();
        for line in self.agent_lines() {
            if line.notices.receiver_count() == 0 {
                continue;
            }
            let who = (line.account.role != Role::Supervisor).then_some(line.account.profile.id.as_str());
            let _ = line.notices.send(Arc::new(AgentNotice::Queues {
                queues: board.queues(now, who),
            }));
        }
    }
}

impl LiveChat {
    fn new(rec: ChatRecord) -> LiveChat {
        let (events, _) = broadcast::channel(NOTICE_BUFFER);
        LiveChat {
            id: rec.id.clone(),
            token_hash: rec.token_hash.clone(),
            record: tokio::sync::Mutex::new(rec),
            events,
            recent: Mutex::new(VecDeque::new()),
            ip: None,
        }
    }

    /// Constant-time comparison of the presented token's hash with the chat's.
    fn opens_with(&self, token: &str) -> bool {
        let presented = token_hash(token);
        presented.len() == self.token_hash.len() && presented.iter().zip(&self.token_hash).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    fn notify(&self, notice: PatientNotice) {
        let _ = self.events.send(Arc::new(notice));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<PatientNotice>> {
        self.events.subscribe()
    }
}
