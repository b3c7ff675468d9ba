//! Who gets which waiting chat: the live-agent queue's rules, pure. The server keeps one `Board` behind
//! a lock and calls it on every change (a hand-off, an agent going available, a close, a timer); the
//! board answers with offers. It never reads a clock (times come in) and never does I/O.
//!
//! Architecture invariants, each pinned by a test below:
//! - **Crisis first, then priority, then longest waiting.**
//! - **Never to an agent without the chat's language**, unless the chat waits for an interpreter-assisted
//!   agent because nobody with its language is on shift.
//! - Among matching agents: the most free capacity, then the longest idle.

use crate::flow::Priority;
use crate::lang::Lang;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// An agent as configured: what they can take.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentProfile {
    pub id: String,
    pub languages: Vec<Lang>,
    pub skills: Vec<String>,
    /// Concurrent chats.
    pub capacity: usize,
    /// Works with a phone interpreter: may take chats in any language from the interpreter queue.
    pub interpreter: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Logged off or never connected: not on shift.
    Offline,
    /// On shift but taking no new chats.
    Away,
    Available,
}

#[derive(Debug, Clone)]
struct Seat {
    profile: AgentProfile,
    presence: Presence,
    chats: BTreeSet<String>,
    offers: BTreeSet<String>,
    /// When the agent last had no chat at all (or came on shift): longest idle goes first on ties.
    idle_since: DateTime<Utc>,
}

impl Seat {
    fn free(&self) -> usize {
        self.profile.capacity.saturating_sub(self.chats.len() + self.offers.len())
    }
}

/// One chat waiting in a queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Waiting {
    pub chat: String,
    /// `lang/skill`.
    pub queue: String,
    pub lang: Lang,
    pub skill: String,
    pub priority: Priority,
    pub since: DateTime<Utc>,
    /// Nobody with the chat's language is on shift: an interpreter-assisted agent may take it.
    pub interpreter: bool,
    /// The agent it is offered to, if any.
    pub offered_to: Option<String>,
    pub offered_at: Option<DateTime<Utc>>,
    /// Agents who let the offer lapse or declined it: offered to others first.
    #[serde(skip)]
    declined: BTreeSet<String>,
}

/// An offer to make: chat `chat` to agent `agent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub chat: String,
    pub agent: String,
}

/// A queue as an agent console lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueView {
    pub queue: String,
    pub waiting: usize,
    pub crisis: usize,
    pub oldest_wait_seconds: i64,
    /// Agents on shift (available or away) who could take this queue's chats.
    pub agents_on_shift: usize,
}

#[derive(Debug, Default)]
pub struct Board {
    seats: BTreeMap<String, Seat>,
    waiting: Vec<Waiting>,
}

impl Board {
    pub fn new(agents: impl IntoIterator<Item = AgentProfile>, now: DateTime<Utc>) -> Board {
        let seats = agents
            .into_iter()
            .map(|profile| {
                let seat = Seat {
                    profile,
                    presence: Presence::Offline,
                    chats: BTreeSet::new(),
                    offers: BTreeSet::new(),
                    idle_since: now,
                };
                (seat.profile.id.clone(), seat)
            })
            .collect();
        Board {
            seats,
            waiting: Vec::new(),
        }
    }

    /// A user's seat: added (offline until they say so) or, if it exists, given the current profile
    /// (a changed role, language or skill applies at once; chats and offers stay).
    pub fn set_profile(&mut self, profile: AgentProfile, now: DateTime<Utc>) {
        match self.seats.get_mut(&profile.id) {
            Some(seat) => seat.profile = profile,
            None => {
                self.seats.insert(
                    profile.id.clone(),
                    Seat {
                        profile,
                        presence: Presence::Offline,
                        chats: BTreeSet::new(),
                        offers: BTreeSet::new(),
                        idle_since: now,
                    },
                );
            }
        }
    }

    pub fn profile(&self, agent: &str) -> Option<&AgentProfile> {
        self.seats.get(agent).map(|s| &s.profile)
    }

    pub fn presence(&self, agent: &str) -> Option<Presence> {
        self.seats.get(agent).map(|s| s.presence)
    }

    /// Chats assigned to an agent.
    pub fn chats_of(&self, agent: &str) -> Vec<String> {
        self.seats.get(agent).map(|s| s.chats.iter().cloned().collect()).unwrap_or_default()
    }

    pub fn set_presence(&mut self, agent: &str, presence: Presence, now: DateTime<Utc>) {
        if let Some(seat) = self.seats.get_mut(agent) {
            if seat.presence == Presence::Offline && presence != Presence::Offline {
                seat.idle_since = now;
            }
            seat.presence = presence;
            if presence != Presence::Available {
                let offers: Vec<String> = std::mem::take(&mut seat.offers).into_iter().collect();
                for chat in offers {
                    self.withdraw(&chat, true);
                }
            }
        }
    }

    /// Whether someone who speaks `lang` (and has `skill`) is on shift.
    pub fn staffed(&self, lang: Lang, skill: &str) -> bool {
        self.seats
            .values()
            .any(|s| s.presence != Presence::Offline && s.profile.languages.contains(&lang) && s.profile.skills.iter().any(|k| k == skill))
    }

    /// Whether an interpreter-assisted agent with `skill` is on shift.
    pub fn interpreters_on_shift(&self, skill: &str) -> bool {
        self.seats
            .values()
            .any(|s| s.presence != Presence::Offline && s.profile.interpreter && s.profile.skills.iter().any(|k| k == skill))
    }

    /// Puts a chat in a queue, or updates it there (a crisis raised while waiting moves it up; the
    /// original `since` is kept so it never loses its place).
    pub fn enqueue(&mut self, mut w: Waiting) {
        if let Some(existing) = self.waiting.iter_mut().find(|e| e.chat == w.chat) {
            existing.priority = existing.priority.min(w.priority);
            let moved = existing.queue != w.queue;
            existing.queue = w.queue;
            existing.skill = w.skill;
            existing.interpreter = w.interpreter;
            if moved {
                // The agent it was offered to may lack the new queue's skill.
                self.withdraw(&w.chat, false);
            }
            return;
        }
        w.offered_to = None;
        w.offered_at = None;
        w.declined.clear();
        self.waiting.push(w);
    }

    /// A waiting chat, fresh from a restart or a hand-off.
    pub fn waiting(chat: &str, lang: Lang, skill: &str, priority: Priority, since: DateTime<Utc>) -> Waiting {
        Waiting {
            chat: chat.to_string(),
            queue: format!("{lang}/{skill}"),
            lang,
            skill: skill.to_string(),
            priority,
            since,
            interpreter: false,
            offered_to: None,
            offered_at: None,
            declined: BTreeSet::new(),
        }
    }

    /// Takes a chat out of the queues and off any agent (closed).
    pub fn remove(&mut self, chat: &str) {
        self.waiting.retain(|w| w.chat != chat);
        for seat in self.seats.values_mut() {
            seat.offers.remove(chat);
            seat.chats.remove(chat);
        }
    }

    /// Restores an assignment after a restart.
    pub fn restore_assignment(&mut self, chat: &str, agent: &str) {
        if let Some(seat) = self.seats.get_mut(agent) {
            seat.chats.insert(chat.to_string());
        }
    }

    /// The agent takes the chat (an offer, or straight from the queue). Refused if they may not.
    pub fn take(&mut self, chat: &str, agent: &str, supervisor: bool) -> Result<Waiting, TakeRefusal> {
        let Some(ix) = self.waiting.iter().position(|w| w.chat == chat) else {
            return Err(TakeRefusal::NotWaiting);
        };
        let seat = self.seats.get(agent).ok_or(TakeRefusal::UnknownAgent)?;
        let w = &self.waiting[ix];
        if !supervisor && !eligible(seat, w) {
            return Err(TakeRefusal::NotEligible);
        }
        if let Some(other) = &w.offered_to
            && other != agent
        {
            return Err(TakeRefusal::OfferedToOther);
        }
        let w = self.waiting.remove(ix);
        let seat = self.seats.get_mut(agent).expect("checked above");
        seat.offers.remove(chat);
        seat.chats.insert(chat.to_string());
        Ok(w)
    }

    /// The agent lets go of a chat (transfer, close): frees their capacity.
    pub fn release(&mut self, chat: &str, agent: &str, now: DateTime<Utc>) {
        if let Some(seat) = self.seats.get_mut(agent) {
            seat.chats.remove(chat);
            if seat.chats.is_empty() {
                seat.idle_since = now;
            }
        }
    }

    /// An offer declined or unanswered: back in the queue at its old place, for someone else first.
    pub fn withdraw(&mut self, chat: &str, declined: bool) {
        if let Some(w) = self.waiting.iter_mut().find(|w| w.chat == chat)
            && let Some(agent) = w.offered_to.take()
        {
            w.offered_at = None;
            if declined {
                w.declined.insert(agent.clone());
            }
            if let Some(seat) = self.seats.get_mut(&agent) {
                seat.offers.remove(chat);
            }
        }
    }

    /// Offers older than `deadline` lapse (returned so the shell can tell the agent).
    pub fn lapse_offers(&mut self, deadline: DateTime<Utc>) -> Vec<Offer> {
        let lapsed: Vec<Offer> = self
            .waiting
            .iter()
            .filter(|w| w.offered_at.is_some_and(|t| t <= deadline))
            .map(|w| Offer {
                chat: w.chat.clone(),
                agent: w.offered_to.clone().unwrap_or_default(),
            })
            .collect();
        for o in &lapsed {
            self.withdraw(&o.chat, true);
        }
        lapsed
    }

    /// Waiting chats in serving order: crisis first, then priority, then longest waiting.
    fn order(&mut self) {
        self.waiting.sort_by(|a, b| a.priority.cmp(&b.priority).then(a.since.cmp(&b.since)));
    }

    /// Matches waiting chats to free agents; returns the new offers (already recorded on the board).
    pub fn dispatch(&mut self, now: DateTime<Utc>) -> Vec<Offer> {
        self.order();
        let mut offers = Vec::new();
        for w in self.waiting.iter_mut().filter(|w| w.offered_to.is_none()) {
            let pick = |skip_declined: bool| {
                self.seats
                    .values()
                    .filter(|s| s.presence == Presence::Available && s.free() > 0 && eligible(s, w))
                    .filter(|s| !skip_declined || !w.declined.contains(&s.profile.id))
                    .max_by(|a, b| a.free().cmp(&b.free()).then(b.idle_since.cmp(&a.idle_since)))
                    .map(|s| s.profile.id.clone())
            };
            let Some(agent) = pick(true).or_else(|| pick(false)) else {
                continue;
            };
            w.offered_to = Some(agent.clone());
            w.offered_at = Some(now);
            self.seats.get_mut(&agent).expect("picked from seats").offers.insert(w.chat.clone());
            offers.push(Offer {
                chat: w.chat.clone(),
                agent,
            });
        }
        offers
    }

    /// 1-based place in its own queue, counting only chats served before it.
    pub fn position(&self, chat: &str) -> Option<usize> {
        let w = self.waiting.iter().find(|w| w.chat == chat)?;
        let ahead = self
            .waiting
            .iter()
            .filter(|o| o.queue == w.queue && (o.priority, o.since) < (w.priority, w.since))
            .count();
        Some(ahead + 1)
    }

    /// Chats that would be served before `w` in its queue (for a chat not yet enqueued).
    pub fn ahead(&self, w: &Waiting) -> usize {
        self.waiting
            .iter()
            .filter(|o| o.chat != w.chat && o.queue == w.queue && (o.priority, o.since) <= (w.priority, w.since))
            .count()
    }

    pub fn entry(&self, chat: &str) -> Option<&Waiting> {
        self.waiting.iter().find(|w| w.chat == chat)
    }

    /// Queues with their waits, for agents who may take from them (all for supervisors).
    pub fn queues(&self, now: DateTime<Utc>, agent: Option<&str>) -> Vec<QueueView> {
        let mut by_queue: BTreeMap<String, QueueView> = BTreeMap::new();
        let seat = agent.and_then(|a| self.seats.get(a));
        for w in &self.waiting {
            if seat.is_some_and(|s| !eligible(s, w)) {
                continue;
            }
            let v = by_queue.entry(w.queue.clone()).or_insert_with(|| QueueView {
                queue: w.queue.clone(),
                waiting: 0,
                crisis: 0,
                oldest_wait_seconds: 0,
                agents_on_shift: self.on_shift(w),
            });
            v.waiting += 1;
            v.crisis += usize::from(w.priority == Priority::Crisis);
            v.oldest_wait_seconds = v.oldest_wait_seconds.max((now - w.since).num_seconds());
        }
        by_queue.into_values().collect()
    }

    /// Agents on shift (available or away) who could take `w`.
    pub fn on_shift(&self, w: &Waiting) -> usize {
        self.seats
            .values()
            .filter(|s| s.presence != Presence::Offline && eligible(s, w))
            .count()
    }

    /// Every waiting chat, in serving order (supervisor view).
    pub fn all_waiting(&mut self) -> &[Waiting] {
        self.order();
        &self.waiting
    }
}

/// May this agent take this chat? Language (or interpreter help) and skill; crisis chats go to anyone
/// with the language who has the skill, as any chat does: priority decides order, not eligibility.
fn eligible(seat: &Seat, w: &Waiting) -> bool {
    let lang = seat.profile.languages.contains(&w.lang) || (w.interpreter && seat.profile.interpreter);
    lang && seat.profile.skills.contains(&w.skill)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TakeRefusal {
    #[error("the chat is not waiting in a queue")]
    NotWaiting,
    #[error("unknown agent")]
    UnknownAgent,
    #[error("the chat needs a language or skill this agent does not have")]
    NotEligible,
    #[error("the chat is offered to another agent")]
    OfferedToOther,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn agent(id: &str, langs: &[Lang], skills: &[&str], capacity: usize) -> AgentProfile {
        AgentProfile {
            id: id.into(),
            languages: langs.to_vec(),
            skills: skills.iter().map(|s| s.to_string()).collect(),
            capacity,
            interpreter: false,
        }
    }

    fn board(agents: Vec<AgentProfile>) -> Board {
        let ids: Vec<String> = agents.iter().map(|a| a.id.clone()).collect();
        let mut b = Board::new(agents, t(0));
        for id in ids {
            b.set_presence(&id, Presence::Available, t(0));
        }
        b
    }

    #[test]
    fn crisis_first_then_priority_then_longest_waiting() {
        let mut b = board(vec![agent("ana", &[Lang::En], &["nurse", "general"], 1)]);
        b.enqueue(Board::waiting("old-normal", Lang::En, "general", Priority::Normal, t(1)));
        b.enqueue(Board::waiting("high", Lang::En, "general", Priority::High, t(5)));
        b.enqueue(Board::waiting("crisis", Lang::En, "nurse", Priority::Crisis, t(9)));
        let offers = b.dispatch(t(10));
        assert_eq!(
            offers,
            vec![Offer {
                chat: "crisis".into(),
                agent: "ana".into()
            }]
        );
        assert_eq!(b.position("high"), Some(1));
        assert_eq!(b.position("old-normal"), Some(2));
    }

    #[test]
    fn never_to_an_agent_without_the_language() {
        let mut b = board(vec![agent("ana", &[Lang::En], &["general"], 5)]);
        b.enqueue(Board::waiting("c1", Lang::Vi, "general", Priority::Crisis, t(1)));
        assert!(b.dispatch(t(2)).is_empty());
        assert_eq!(b.take("c1", "ana", false), Err(TakeRefusal::NotEligible));
        assert!(!b.staffed(Lang::Vi, "general"));
    }

    #[test]
    fn interpreter_help_opens_the_chat_to_interpreter_agents_only() {
        let mut with = agent("ivy", &[Lang::En], &["general"], 2);
        with.interpreter = true;
        let mut b = board(vec![agent("ana", &[Lang::En], &["general"], 2), with]);
        let mut w = Board::waiting("c1", Lang::Ht, "general", Priority::Normal, t(1));
        w.interpreter = true;
        b.enqueue(w);
        assert_eq!(
            b.dispatch(t(2)),
            vec![Offer {
                chat: "c1".into(),
                agent: "ivy".into()
            }]
        );
    }

    #[test]
    fn most_free_capacity_then_longest_idle() {
        let mut b = board(vec![
            agent("busy", &[Lang::Es], &["general"], 3),
            agent("free", &[Lang::Es], &["general"], 3),
        ]);
        b.restore_assignment("x", "busy");
        b.enqueue(Board::waiting("c1", Lang::Es, "general", Priority::Normal, t(1)));
        assert_eq!(b.dispatch(t(2))[0].agent, "free");

        let mut b = board(vec![
            agent("recent", &[Lang::Es], &["general"], 1),
            agent("idle", &[Lang::Es], &["general"], 1),
        ]);
        b.set_presence("recent", Presence::Offline, t(0));
        b.set_presence("recent", Presence::Available, t(50));
        b.enqueue(Board::waiting("c1", Lang::Es, "general", Priority::Normal, t(60)));
        assert_eq!(b.dispatch(t(61))[0].agent, "idle");
    }

    #[test]
    fn capacity_counts_offers_and_lapsed_offers_go_to_someone_else() {
        let mut b = board(vec![
            agent("ana", &[Lang::En], &["general"], 1),
            agent("bo", &[Lang::En], &["general"], 1),
        ]);
        b.enqueue(Board::waiting("c1", Lang::En, "general", Priority::Normal, t(1)));
        b.enqueue(Board::waiting("c2", Lang::En, "general", Priority::Normal, t(2)));
        b.enqueue(Board::waiting("c3", Lang::En, "general", Priority::Normal, t(3)));
        let offers = b.dispatch(t(4));
        assert_eq!(offers.len(), 2, "one chat each: capacity 1");
        let first = offers.iter().find(|o| o.chat == "c1").unwrap().agent.clone();
        assert_eq!(b.lapse_offers(t(40)).len(), 2);
        let again = b.dispatch(t(41));
        let c1 = again.iter().find(|o| o.chat == "c1").unwrap();
        assert_ne!(c1.agent, first, "a lapsed offer goes to the other agent first");
    }

    #[test]
    fn take_moves_the_chat_to_the_agent_and_release_frees_capacity() {
        let mut b = board(vec![agent("ana", &[Lang::En], &["general"], 1)]);
        b.enqueue(Board::waiting("c1", Lang::En, "general", Priority::Normal, t(1)));
        b.enqueue(Board::waiting("c2", Lang::En, "general", Priority::Normal, t(2)));
        b.dispatch(t(3));
        assert!(b.take("c1", "ana", false).is_ok());
        assert!(b.dispatch(t(4)).is_empty(), "full");
        b.release("c1", "ana", t(5));
        assert_eq!(
            b.dispatch(t(6)),
            vec![Offer {
                chat: "c2".into(),
                agent: "ana".into()
            }]
        );
    }

    #[test]
    fn a_crisis_raised_while_waiting_moves_up_without_losing_its_place() {
        let mut b = board(vec![]);
        b.enqueue(Board::waiting("a", Lang::En, "general", Priority::Normal, t(1)));
        b.enqueue(Board::waiting("b", Lang::En, "general", Priority::Normal, t(2)));
        b.enqueue(Board::waiting("b", Lang::En, "general", Priority::Crisis, t(9)));
        assert_eq!(b.position("b"), Some(1));
        assert_eq!(b.entry("b").unwrap().since, t(2));
    }

    #[test]
    fn going_away_withdraws_pending_offers() {
        let mut b = board(vec![agent("ana", &[Lang::En], &["general"], 1)]);
        b.enqueue(Board::waiting("c1", Lang::En, "general", Priority::Normal, t(1)));
        assert_eq!(b.dispatch(t(2)).len(), 1);
        b.set_presence("ana", Presence::Away, t(3));
        assert_eq!(b.entry("c1").unwrap().offered_to, None);
        assert!(b.staffed(Lang::En, "general"), "away is still on shift");
    }
}
