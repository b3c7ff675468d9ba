//! The state machine: one pure function from (chat state, event) to (new state, effects).
//!
//! Architecture invariants, each pinned by tests:
//! - **A crisis never waits.** Triage runs on every patient message, in every status, before anything
//!   else; crisis resources are the first reply and the hand-off has crisis priority.
//! - **Two exchanges at most.** `no_progress` counts consecutive exchanges that did not move the chat
//!   forward (nothing matched, an invalid answer, a failed lookup); at the configured limit (never
//!   above 2) the chat is handed off with reason `no_progress`.
//! - **No PHI before verification.** A PHI action never runs and a PHI slot is never rendered for an
//!   unverified patient; the flow loader rejects flows that try, and this module refuses at run time.

use crate::engine::intent::IntentMatcher;
use crate::engine::io::{ActionResult, AgentEvent, Audit, AuditKind, Effect, Event, Input, ReplyKind, Timer, Whisper, evidence_line};
use crate::engine::state::{Active, ChatState, Handoff, LanguageSource, Phase, RiskFlag, Slot, Status, Verification};
use crate::flow::expect::Expect;
use crate::flow::model::placeholders;
use crate::flow::validate::{VERIFICATION_SLOTS, VERIFY_ACTION};
use crate::flow::{Flow, FlowSet, Reason, StepKind, Text};
use crate::lang::Lang;
use crate::triage::{Assessment, Risk, RiskLevel, Triage};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Steps one turn may run without waiting for the patient; a validated flow never comes close.
const STEP_BUDGET: usize = 64;

/// The flows, triage models and intent index: built once, shared by every chat.
pub struct Engine {
    pub flows: Arc<FlowSet>,
    triage: Arc<Triage>,
    intents: IntentMatcher,
}

impl Engine {
    /// Turns take milliseconds of arithmetic when the sentence model runs on every message, not
    /// microseconds: the shell then runs them off the async workers.
    pub fn is_heavy(&self) -> bool {
        self.triage.semantic().is_some()
    }

    pub fn new(flows: FlowSet, mut triage: Triage) -> Engine {
        let intents = IntentMatcher::new(&flows);
        if let Some(semantic) = triage.semantic_mut() {
            // Embedding in-memory strings does not fail in practice; if it did, intents are matched
            // by their words alone, as without a model.
            let _ = semantic.index_intents(&flows);
        }
        Engine {
            flows: Arc::new(flows),
            triage: Arc::new(triage),
            intents,
        }
    }

    pub fn triage(&self) -> &Triage {
        &self.triage
    }

    /// A new chat in its default language.
    pub fn new_chat(&self) -> ChatState {
        ChatState::new(self.flows.settings.default_language, LanguageSource::Default)
    }

    /// The agent's whisper for a chat as it stands (for an offer, or after a restart).
    pub fn whisper_for(&self, state: &ChatState) -> Whisper {
        let turn = Turn {
            eng: self,
            st: state.clone(),
            fx: Vec::new(),
            at: DateTime::UNIX_EPOCH,
        };
        turn.whisper(None)
    }

    /// Takes one turn. Pure: the same state and event always give the same result.
    pub fn handle(&self, state: &ChatState, event: Event) -> (ChatState, Vec<Effect>) {
        let mut turn = Turn {
            eng: self,
            st: state.clone(),
            fx: Vec::new(),
            at: event.at,
        };
        turn.input(event.input);
        (turn.st, turn.fx)
    }
}

struct Turn<'a> {
    eng: &'a Engine,
    st: ChatState,
    fx: Vec<Effect>,
    at: DateTime<Utc>,
}

impl Turn<'_> {
    fn flows(&self) -> &FlowSet {
        &self.eng.flows
    }

    fn input(&mut self, input: Input) {
        if self.st.status == Status::Closed {
            return;
        }
        match input {
            Input::Start { hint } => {
                if let Some(l) = hint {
                    self.st.language = l;
                    self.st.language_source = LanguageSource::Hint;
                }
                if self.flows().serves(self.st.language) {
                    self.say_msg(|m| &m.greeting);
                }
            }
            Input::Patient { text } => self.patient(&text),
            Input::ChooseLanguage(lang) => self.choose_language(lang, true),
            Input::RequestAgent => self.hand_off(Reason::Requested, None),
            Input::Rate(score) => self.rate(score),
            Input::Close => self.close("patient"),
            Input::ActionDone { id, result } => self.action_done(id, result),
            Input::Agent(ev) => self.agent(ev),
            Input::Timer(Timer::Idle) => {
                if self.st.status == Status::Bot {
                    self.say_msg(|m| &m.goodbye);
                    self.close("timeout");
                }
            }
        }
    }

    // ---- patient messages -------------------------------------------------------------------

    fn patient(&mut self, text: &str) {
        let norm = crate::text::normalize(text);
        let mut assessment = self.eng.triage.assess(text, &norm);
        let embedding = assessment.embedding.take();
        let clarifying = self.st.clarifying.take();
        self.st.exchanges += 1;
        self.update_language(&assessment, text);
        if let Some(risk) = assessment.risk {
            if let [first, rest @ ..] = risk.evidence.as_slice()
                && rest.iter().all(|e| e.lang == first.lang)
            {
                self.adopt_phrase_language(first.lang);
            }
            self.risk(risk);
            return;
        }
        if self.st.status != Status::Bot {
            // An agent has the chat (or will): the bot stays quiet.
            return;
        }
        if !self.flows().serves(self.st.language) {
            let lang = self.st.language;
            self.reply(self.flows().settings.unsupported_language.get(lang).to_string(), ReplyKind::Bot);
            self.hand_off(Reason::Language, None);
            return;
        }
        if self.st.awaiting_rating {
            self.st.awaiting_rating = false;
            if let Some(score) = parse_rating(text) {
                self.rate(score);
                return;
            }
        }
        if let Some(flow) = clarifying.and_then(|id| self.eng.flows.flows.iter().position(|f| f.id == id))
            && is_yes(&norm)
        {
            self.start_flow(flow, Some(text));
            return;
        }
        let lang = self.st.language;
        if let Some(m) = self.eng.intents.best(&norm, lang, |f| self.eng.flows.flows[f].interrupt) {
            self.adopt_phrase_language(m.lang);
            self.start_flow(m.flow, Some(text));
            return;
        }
        match self.st.active.as_ref().map(|a| a.phase.clone()) {
            Some(Phase::Answer { step }) => self.answer(step, text, &norm),
            Some(Phase::Verify { stage }) => self.verify_answer(stage, text),
            Some(Phase::Retry { step }) => {
                let flow = self.active_flow_ix().expect("an active phase has a flow");
                self.run(flow, step, None);
            }
            Some(Phase::Action { .. } | Phase::VerifyCheck { .. }) => {}
            None => self.new_topic(text, &norm, embedding.as_deref()),
        }
    }

    /// No flow is active: start the one the message asks for, or count an exchange without progress.
    fn new_topic(&mut self, text: &str, norm: &str, embedding: Option<&[f32]>) {
        let lang = self.st.language;
        let served = |f: usize| !self.eng.flows.flows[f].interrupt && self.eng.flows.flows[f].languages.contains(&lang);
        let found = self.eng.intents.best(norm, lang, served).or_else(|| {
            // On the first messages a short text may be in another served language than the default.
            (self.st.language_source < LanguageSource::Detected)
                .then(|| self.eng.intents.best(norm, lang, |f| !self.eng.flows.flows[f].interrupt))
                .flatten()
        });
        match found {
            Some(m) => {
                if self.eng.flows.flows[m.flow].languages.contains(&m.lang) {
                    self.adopt_phrase_language(m.lang);
                }
                self.start_flow(m.flow, Some(text));
            }
            None if self.by_meaning(text, embedding) => {}
            None => {
                self.no_progress(|t| {
                    t.say_msg(|m| &m.not_understood);
                });
            }
        }
    }

    /// No flow's words matched: the flow whose examples the message means, if the model is sure
    /// enough (it starts), or close (the bot asks once, "did you mean ...?", which counts as an
    /// exchange without progress: the two-exchange rule still holds). False when neither.
    fn by_meaning(&mut self, text: &str, embedding: Option<&[f32]>) -> bool {
        let (Some(semantic), Some(v)) = (self.eng.triage.semantic(), embedding) else {
            return false;
        };
        let lang = self.st.language;
        let flows = &self.eng.flows.flows;
        let Some(m) = semantic.intent(v, |f| !flows[f].interrupt && flows[f].languages.contains(&lang)) else {
            return false;
        };
        let flow = &flows[m.flow];
        let threshold = flow.meaning_threshold.unwrap_or(semantic.intent_bands.0);
        let unsure = semantic.intent_bands.1.min(threshold);
        if m.similarity >= threshold {
            self.start_flow(m.flow, Some(text));
            return true;
        }
        if m.similarity < unsure {
            return false;
        }
        let id = flow.id.clone();
        let question = self
            .flows()
            .settings
            .messages
            .did_you_mean
            .get(lang)
            .replace("{example}", &m.example);
        self.no_progress(|t| {
            t.st.clarifying = Some(id);
            t.reply(question, ReplyKind::Bot);
        });
        true
    }

    fn update_language(&mut self, a: &Assessment, text: &str) {
        if self.st.language_source == LanguageSource::Chosen {
            return;
        }
        let Some(d) = a.language else { return };
        if d.lang == self.st.language || !d.is_reliable() {
            return;
        }
        // An answer to the bot's question (a name, a date, a note) is written in the chat's language
        // as far as the patient is concerned: flipping on it misreads names and short notes.
        if self.st.active.is_some() {
            return;
        }
        let first = self.st.exchanges == 1;
        let words = text.split_whitespace().count();
        if first || (words >= 4 && d.confidence >= 0.8) || d.confidence >= 0.99 {
            self.set_language(d.lang, LanguageSource::Detected, !first);
        }
    }

    /// A matched phrase (a trigger, a crisis phrase) tells the language of a message too short for
    /// detection; it decides only while nothing better has.
    fn adopt_phrase_language(&mut self, lang: Lang) {
        if self.st.language_source < LanguageSource::Detected && self.st.language != lang && self.flows().serves(lang) {
            self.set_language(lang, LanguageSource::Detected, false);
        }
    }

    fn set_language(&mut self, lang: Lang, source: LanguageSource, announce: bool) {
        let changed = self.st.language != lang;
        self.st.language = lang;
        self.st.language_source = self.st.language_source.max(source);
        if changed {
            self.fx.push(Effect::LanguageChanged { language: lang });
            if announce && self.flows().serves(lang) {
                self.say_msg(|m| &m.language_switched);
            }
        }
    }

    /// An explicit choice: always wins, and a chat mid-question is asked again in the new language.
    fn choose_language(&mut self, lang: Lang, reprompt: bool) {
        let was = self.st.language;
        self.st.language_source = LanguageSource::Chosen;
        self.set_language(lang, LanguageSource::Chosen, false);
        if self.st.status != Status::Bot {
            return;
        }
        if !self.flows().serves(lang) {
            self.reply(self.flows().settings.unsupported_language.get(lang).to_string(), ReplyKind::Bot);
            self.hand_off(Reason::Language, None);
            return;
        }
        if was != lang || !reprompt {
            self.say_msg(|m| &m.language_switched);
        }
        if reprompt {
            self.reprompt();
        }
    }

    fn reprompt(&mut self) {
        match self.st.active.as_ref().map(|a| a.phase.clone()) {
            Some(Phase::Answer { step }) => {
                let flow = self.active_flow_ix().expect("active");
                if let StepKind::Ask { prompt, .. } = &self.flows().flows[flow].steps[step].kind {
                    let prompt = prompt.clone();
                    self.say_text(&prompt);
                }
            }
            Some(Phase::Verify { stage }) if stage < 3 => self.ask_verification(stage),
            _ => {}
        }
    }

    fn risk(&mut self, risk: Risk) {
        let exchange = self.st.exchanges;
        self.st.risk.push(RiskFlag {
            level: risk.level,
            evidence: risk.evidence.clone(),
            exchange,
        });
        match risk.level {
            RiskLevel::Crisis => {
                let lang = self.st.language;
                // First, before anything else: the resources, in the patient's language.
                self.fx.insert(
                    0,
                    Effect::Reply {
                        text: self.flows().settings.crisis.get(lang).to_string(),
                        kind: ReplyKind::Crisis,
                    },
                );
                if self.st.status == Status::Bot {
                    self.hand_off(Reason::Crisis, None);
                } else if let Some(h) = &mut self.st.handoff {
                    h.reason = Reason::Crisis;
                    h.priority = Reason::Crisis.priority();
                    h.phone_escalation = true;
                    let h = h.clone();
                    self.fx.push(Effect::Handoff(h));
                    let alert = format!("CRISIS: {}", evidence_line(&risk.evidence));
                    let w = self.whisper(Some(alert));
                    self.fx.push(Effect::Whisper(w));
                }
            }
            level => {
                let reason = if level == RiskLevel::Clinical {
                    Reason::Clinical
                } else {
                    Reason::Distress
                };
                if self.st.status == Status::Bot {
                    self.hand_off(reason, None);
                } else {
                    let w = self.whisper(Some(format!("{reason}: {}", evidence_line(&risk.evidence))));
                    self.fx.push(Effect::Whisper(w));
                }
            }
        }
    }

    fn rate(&mut self, score: u8) {
        if (1..=5).contains(&score) {
            self.st.awaiting_rating = false;
            self.fx.push(Effect::Rating { score });
            if self.flows().serves(self.st.language) {
                self.say_msg(|m| &m.survey_thanks);
            }
        }
    }

    fn close(&mut self, by: &str) {
        self.st.status = Status::Closed;
        self.st.active = None;
        self.fx.push(Effect::Closed { by: by.to_string() });
    }

    // ---- flows ------------------------------------------------------------------------------

    fn active_flow_ix(&self) -> Option<usize> {
        let id = &self.st.active.as_ref()?.flow;
        self.flows().flows.iter().position(|f| &f.id == id)
    }

    fn start_flow(&mut self, fi: usize, trigger: Option<&str>) {
        let flow: &Flow = &self.eng.flows.flows[fi];
        self.st.no_progress = 0;
        self.st.active = None;
        self.st.intent = Some(flow.id.clone());
        self.st.visit(flow.id.clone());
        if let Some(hours) = &flow.hours
            && !hours.is_open(self.at, self.flows().settings.timezone)
        {
            if let Some(t) = &flow.after_hours {
                self.say_text(&t.clone());
            }
            self.start_after_hours(false);
            return;
        }
        if flow.requires_verification && !self.st.verified() {
            if self.st.verification == Verification::Locked {
                self.hand_off(Reason::Phi, Some(flow.skill.clone()));
                return;
            }
            self.st.after_verification = Some(flow.id.clone());
            self.say_msg(|m| &m.verify_intro);
            self.ask_verification(0);
            return;
        }
        self.run(fi, 0, trigger);
    }

    /// Runs steps from `step` until one waits for the patient or an action, or ends the flow.
    fn run(&mut self, fi: usize, mut step: usize, trigger: Option<&str>) {
        let eng = self.eng;
        let flow = &eng.flows.flows[fi];
        for _ in 0..STEP_BUDGET {
            self.st.visit(format!("{}/{}", flow.id, flow.steps[step].id));
            self.st.active = Some(Active {
                flow: flow.id.clone(),
                phase: Phase::Answer { step },
            });
            match &flow.steps[step].kind {
                StepKind::Say { text, next } => {
                    if !self.say_text(text) {
                        return;
                    }
                    step = *next;
                }
                StepKind::Ask {
                    slot,
                    prompt,
                    expect,
                    phi,
                    next,
                    ..
                } => {
                    // The opening message may already answer a self-evident question ("switch to español").
                    let prefill = trigger
                        .filter(|_| matches!(expect, Expect::Language | Expect::MemberId | Expect::Phone))
                        .and_then(|t| self.accept(expect, t));
                    if let Some(value) = prefill {
                        self.st.slots.insert(slot.clone(), Slot { value, phi: *phi });
                        step = *next;
                        continue;
                    }
                    self.say_text(prompt);
                    return;
                }
                StepKind::Action { name, args, .. } => {
                    let spec = &eng.flows.settings.actions[name];
                    if spec.phi && !self.st.verified() {
                        self.refuse_phi(&format!("action {name}"));
                        return;
                    }
                    let mut rendered = BTreeMap::new();
                    for (k, template) in args {
                        let Some(v) = self.render(template) else { return };
                        rendered.insert(k.clone(), v);
                    }
                    let id = self.st.next_action_id;
                    self.st.next_action_id += 1;
                    self.st.active = Some(Active {
                        flow: flow.id.clone(),
                        phase: Phase::Action { step, id },
                    });
                    self.fx.push(Effect::RunAction {
                        id,
                        name: name.clone(),
                        args: rendered,
                    });
                    return;
                }
                StepKind::Branch { slot, cases, default } => {
                    let value = self.st.slots.get(slot).map(|s| s.value.as_str()).unwrap_or("");
                    step = cases.iter().find(|(v, _)| v == value).map(|c| c.1).unwrap_or(*default);
                }
                StepKind::SetLanguage { slot, next } => {
                    match self.st.slots.get(slot).and_then(|s| Lang::from_code(&s.value)) {
                        Some(lang) => {
                            self.choose_language(lang, false);
                            if self.st.status != Status::Bot {
                                return;
                            }
                        }
                        None => {
                            self.hand_off(Reason::Language, None);
                            return;
                        }
                    }
                    step = *next;
                }
                StepKind::Handoff { skill, reason, say } => {
                    if let Some(t) = say
                        && !self.say_text(t)
                    {
                        return;
                    }
                    self.hand_off(*reason, Some(skill.clone()));
                    return;
                }
                StepKind::Callback { skill, say } => {
                    let (reason, queue) = self
                        .st
                        .deferred
                        .take()
                        .unwrap_or((Reason::Routing, eng.flows.settings.queue(self.st.language, skill)));
                    let details = self.st.slots.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect();
                    self.fx.push(Effect::Callback { queue, reason, details });
                    if let Some(t) = say {
                        self.say_text(t);
                    }
                    self.st.active = None;
                    self.close("bot");
                    return;
                }
                StepKind::End { say, survey } => {
                    if let Some(t) = say
                        && !self.say_text(t)
                    {
                        return;
                    }
                    self.st.active = None;
                    self.st.no_progress = 0;
                    // A set, not a log: a long chat that asks the same thing again must not grow its state.
                    if !self.st.resolved.contains(&flow.id) {
                        self.st.resolved.push(flow.id.clone());
                    }
                    self.fx.push(Effect::Resolved { flow: flow.id.clone() });
                    if *survey {
                        self.st.awaiting_rating = true;
                        self.say_msg(|m| &m.survey);
                    } else {
                        self.say_msg(|m| &m.anything_else);
                    }
                    return;
                }
            }
        }
        self.hand_off(Reason::NoProgress, None);
    }

    fn accept(&self, expect: &Expect, text: &str) -> Option<String> {
        expect.accept(text, self.st.language, &self.flows().settings.member_id)
    }

    fn answer(&mut self, step: usize, text: &str, norm: &str) {
        let eng = self.eng;
        let fi = self.active_flow_ix().expect("active");
        let flow = &eng.flows.flows[fi];
        let StepKind::Ask {
            slot,
            prompt,
            expect,
            invalid,
            phi,
            next,
        } = &flow.steps[step].kind
        else {
            unreachable!("Answer phases sit on ask steps");
        };
        if let Some(value) = self.accept(expect, text) {
            self.st.slots.insert(slot.clone(), Slot { value, phi: *phi });
            self.st.no_progress = 0;
            self.run(fi, *next, None);
            return;
        }
        // Not an answer: perhaps the patient changed the subject.
        let lang = self.st.language;
        let other = eng.intents.best(norm, lang, |f| {
            f != fi && !eng.flows.flows[f].interrupt && eng.flows.flows[f].languages.contains(&lang)
        });
        if let Some(m) = other.filter(|m| m.score >= 1.0) {
            self.start_flow(m.flow, Some(text));
            return;
        }
        self.no_progress(|t| {
            match invalid {
                Some(i) => {
                    t.say_text(i);
                }
                None => t.say_msg(|m| &m.invalid),
            }
            t.say_text(prompt);
        });
    }

    /// Counts an exchange without progress; hands off at the limit, otherwise says `reply`.
    fn no_progress(&mut self, reply: impl FnOnce(&mut Self)) {
        self.st.no_progress += 1;
        if self.st.no_progress >= self.flows().settings.no_progress_limit {
            self.hand_off(Reason::NoProgress, None);
        } else {
            reply(self);
        }
    }

    // ---- verification -----------------------------------------------------------------------

    fn ask_verification(&mut self, stage: u8) {
        let flow = self.st.after_verification.clone().unwrap_or_default();
        self.st.active = Some(Active {
            flow,
            phase: Phase::Verify { stage },
        });
        match stage {
            0 => self.say_msg(|m| &m.verify_name),
            1 => self.say_msg(|m| &m.verify_dob),
            _ => self.say_msg(|m| &m.verify_member_id),
        }
    }

    fn verify_answer(&mut self, stage: u8, text: &str) {
        if stage >= 3 {
            // The last lookup failed; any message retries it.
            self.check_verification();
            return;
        }
        let expect = [Expect::Name, Expect::Date, Expect::MemberId][stage as usize].clone();
        match self.accept(&expect, text) {
            Some(value) => {
                self.st
                    .slots
                    .insert(VERIFICATION_SLOTS[stage as usize].to_string(), Slot { value, phi: true });
                self.st.no_progress = 0;
                if stage < 2 {
                    self.ask_verification(stage + 1);
                } else {
                    self.check_verification();
                }
            }
            None => self.no_progress(|t| {
                t.say_msg(|m| &m.invalid);
                t.ask_verification(stage);
            }),
        }
    }

    fn check_verification(&mut self) {
        let id = self.st.next_action_id;
        self.st.next_action_id += 1;
        let args = ["name", "dob", "member_id"]
            .iter()
            .zip(VERIFICATION_SLOTS)
            .map(|(k, s)| (k.to_string(), self.st.slots.get(s).map(|v| v.value.clone()).unwrap_or_default()))
            .collect();
        let flow = self.st.after_verification.clone().unwrap_or_default();
        self.st.active = Some(Active {
            flow,
            phase: Phase::VerifyCheck { id },
        });
        self.fx.push(Effect::RunAction {
            id,
            name: VERIFY_ACTION.to_string(),
            args,
        });
    }

    fn action_done(&mut self, id: u64, result: ActionResult) {
        let Some(active) = self.st.active.clone() else { return };
        match active.phase {
            Phase::Action { step, id: want } if want == id => {
                let eng = self.eng;
                let fi = self.active_flow_ix().expect("active");
                let flow = &eng.flows.flows[fi];
                let StepKind::Action { name, on, on_failed, .. } = &flow.steps[step].kind else {
                    unreachable!("Action phases sit on action steps");
                };
                let spec = &eng.flows.settings.actions[name];
                match result {
                    ActionResult::Done { outcome, outputs } if on.contains_key(&outcome) => {
                        for (k, v) in outputs {
                            if spec.outputs.contains(&k) {
                                self.st.slots.insert(k, Slot { value: v, phi: spec.phi });
                            }
                        }
                        if spec.phi {
                            self.audit(AuditKind::PhiRead, format!("action {name} returned {outcome}"));
                        }
                        self.st.no_progress = 0;
                        self.run(fi, on[&outcome], None);
                    }
                    _ => match on_failed {
                        Some(next) => self.run(fi, *next, None),
                        None => self.no_progress(|t| {
                            t.say_msg(|m| &m.action_failed);
                            t.st.active = Some(Active {
                                flow: active.flow.clone(),
                                phase: Phase::Retry { step },
                            });
                        }),
                    },
                }
            }
            Phase::VerifyCheck { id: want } if want == id => match result {
                ActionResult::Done { outcome, outputs } if outcome == "verified" => {
                    self.st.verification = Verification::Verified;
                    let allowed = &self.flows().settings.actions[VERIFY_ACTION].outputs;
                    let outputs: Vec<(String, String)> = outputs.into_iter().filter(|(k, _)| allowed.contains(k)).collect();
                    for (k, v) in outputs {
                        self.st.slots.insert(k, Slot { value: v, phi: true });
                    }
                    self.audit(AuditKind::VerificationPassed, "identity verified".into());
                    self.say_msg(|m| &m.verify_ok);
                    let next = self
                        .st
                        .after_verification
                        .take()
                        .and_then(|id| self.flows().flows.iter().position(|f| f.id == id));
                    match next {
                        Some(fi) => self.run(fi, 0, None),
                        None => self.st.active = None,
                    }
                }
                ActionResult::Done { .. } => {
                    self.st.verification_failures += 1;
                    for s in VERIFICATION_SLOTS {
                        self.st.slots.remove(s);
                    }
                    self.audit(AuditKind::VerificationFailed, format!("attempt {}", self.st.verification_failures));
                    if self.st.verification_failures >= self.flows().settings.verification_attempts {
                        self.st.verification = Verification::Locked;
                        self.audit(AuditKind::VerificationLocked, "verification locked for this chat".into());
                        let skill = self
                            .st
                            .after_verification
                            .as_ref()
                            .and_then(|id| self.flows().flow(id))
                            .map(|f| f.skill.clone());
                        self.hand_off(Reason::Phi, skill);
                    } else {
                        self.say_msg(|m| &m.verify_failed);
                        self.ask_verification(0);
                    }
                }
                ActionResult::Failed { .. } => self.no_progress(|t| {
                    t.say_msg(|m| &m.action_failed);
                    t.st.active = Some(Active {
                        flow: active.flow.clone(),
                        phase: Phase::Verify { stage: 3 },
                    });
                }),
            },
            _ => {}
        }
    }

    // ---- hand-off ---------------------------------------------------------------------------

    /// Hands the chat to people. `skill` is the flow's choice; otherwise `careline.yaml`'s routing.
    fn hand_off(&mut self, reason: Reason, skill: Option<String>) {
        if self.st.status != Status::Bot {
            return;
        }
        let settings = &self.eng.flows.settings;
        let lang = self.st.language;
        let flow_skill = self
            .st
            .active
            .as_ref()
            .and_then(|a| self.flows().flow(&a.flow))
            .map(|f| f.skill.clone());
        // A flow's own skill serves its no-progress hand-offs (a stuck refill goes to pharmacy).
        let wanted = skill
            .or(if reason == Reason::NoProgress { flow_skill } else { None })
            .unwrap_or_else(|| settings.skill_for(reason).to_string());
        let skill = if settings.has_queue(lang, &wanted) {
            wanted
        } else {
            settings.skill_for(reason).to_string()
        };
        let queue = settings.queue(lang, &skill);
        let open = settings
            .skills
            .get(&skill)
            .is_none_or(|s| s.hours.is_open(self.at, settings.timezone));
        let served = self.flows().serves(lang);
        // Already capturing a call-back and still stuck: queue anyway, so the first person on shift sees it.
        let capturing = self.st.active.as_ref().is_some_and(|a| a.flow == settings.after_hours_flow);
        if !open && reason != Reason::Crisis && served && !capturing {
            self.st.deferred = Some((reason, queue));
            self.start_after_hours(true);
            return;
        }
        self.st.active = None;
        self.st.status = Status::Queued;
        let handoff = Handoff {
            reason,
            priority: reason.priority(),
            queue,
            phone_escalation: reason == Reason::Crisis,
        };
        self.st.handoff = Some(handoff.clone());
        if served {
            if reason == Reason::Requested {
                self.say_msg(|m| &m.handoff_requested);
            } else {
                self.say_msg(|m| &m.handoff);
            }
        }
        self.audit(AuditKind::Handoff, format!("{reason} to {}", handoff.queue));
        self.fx.push(Effect::Handoff(handoff));
        let w = self.whisper(None);
        self.fx.push(Effect::Whisper(w));
    }

    /// No one is on shift: say so and capture a call-back with the after-hours flow.
    fn start_after_hours(&mut self, announce: bool) {
        if announce {
            self.say_msg(|m| &m.after_hours);
        }
        let id = self.flows().settings.after_hours_flow.clone();
        if let Some(fi) = self.flows().flows.iter().position(|f| f.id == id) {
            self.st.intent = Some(id);
            self.run(fi, 0, None);
        }
    }

    fn refuse_phi(&mut self, what: &str) {
        self.audit(AuditKind::PhiRefused, format!("{what} refused: patient not verified"));
        self.hand_off(Reason::Phi, None);
    }

    fn agent(&mut self, ev: AgentEvent) {
        match ev {
            AgentEvent::Accepted { .. } => {
                self.st.status = Status::Agent;
                self.st.active = None;
                if self.flows().serves(self.st.language) {
                    self.say_msg(|m| &m.with_agent);
                }
            }
            AgentEvent::Requeued { queue } => {
                self.st.status = Status::Queued;
                if let Some(h) = &mut self.st.handoff {
                    h.queue = queue;
                }
            }
            AgentEvent::Closed { .. } => self.close("agent"),
            AgentEvent::NoneOnShift => {
                let Some(h) = self.st.handoff.clone() else { return };
                let capturing = self.st.active.is_some();
                if self.st.status != Status::Queued || h.reason == Reason::Crisis || capturing || !self.flows().serves(self.st.language) {
                    return;
                }
                self.st.status = Status::Bot;
                self.st.handoff = None;
                self.st.deferred = Some((h.reason, h.queue));
                self.start_after_hours(true);
            }
        }
    }

    // ---- output -----------------------------------------------------------------------------

    fn reply(&mut self, text: String, kind: ReplyKind) {
        self.fx.push(Effect::Reply { text, kind });
    }

    fn say_msg(&mut self, pick: impl Fn(&crate::flow::model::Messages) -> &Text) {
        let template = pick(&self.eng.flows.settings.messages).get(self.st.language).to_string();
        if let Some(text) = self.render(&template) {
            self.reply(text, ReplyKind::Bot);
        }
    }

    /// Says a flow text with its slots filled. Returns false (and hands off) if it would show PHI to
    /// an unverified patient.
    fn say_text(&mut self, text: &Text) -> bool {
        match self.render(text.get(self.st.language)) {
            Some(s) => {
                self.reply(s, ReplyKind::Bot);
                true
            }
            None => false,
        }
    }

    fn render(&mut self, template: &str) -> Option<String> {
        let mut out = template.to_string();
        for name in placeholders(template) {
            let slot = self.st.slots.get(name);
            if slot.is_some_and(|s| s.phi) && !self.st.verified() {
                self.refuse_phi(&format!("slot {name}"));
                return None;
            }
            let value = slot.map(|s| s.value.clone()).unwrap_or_default();
            out = out.replace(&format!("{{{name}}}"), &value);
        }
        Some(out)
    }

    fn audit(&mut self, kind: AuditKind, detail: String) {
        self.fx.push(Effect::Audit(Audit { kind, detail }));
    }

    fn whisper(&self, alert: Option<String>) -> Whisper {
        let lang = self.st.language;
        let intent = self.st.intent.clone();
        let suggestions = intent
            .as_ref()
            .and_then(|i| self.flows().flow(i))
            .map(|f| {
                f.canned
                    .iter()
                    .map(|c| (c.id.clone(), c.title.clone(), c.text.get(lang).to_string()))
                    .collect()
            })
            .unwrap_or_default();
        Whisper {
            language: lang,
            reason: self.st.handoff.as_ref().map(|h| h.reason),
            intent,
            path: self.st.path.clone(),
            slots: self.st.slots.iter().map(|(k, v)| (k.clone(), (v.value.clone(), v.phi))).collect(),
            verification: self.st.verification,
            risk: self.st.risk.clone(),
            summary: self.summary(),
            suggestions,
            alert,
        }
    }

    /// A few plain sentences an agent reads in two seconds.
    fn summary(&self) -> String {
        let st = &self.st;
        let mut s = format!("{} message(s) with the bot, in {}.", st.exchanges, st.language.native_name());
        if let Some(i) = &st.intent {
            s.push_str(&format!(" Asked about: {i}."));
        }
        if !st.resolved.is_empty() {
            s.push_str(&format!(" Resolved by the bot: {}.", st.resolved.join(", ")));
        }
        s.push_str(match st.verification {
            Verification::Verified => " Identity verified.",
            Verification::Locked => " Identity verification LOCKED after failed attempts.",
            Verification::Unverified => " Not verified.",
        });
        if let Some(h) = &st.handoff {
            let why = match h.reason {
                Reason::NoProgress => format!("{} exchanges without progress", st.no_progress.max(1)),
                r => r.to_string(),
            };
            s.push_str(&format!(" Handed off: {why}."));
        }
        if let Some(r) = st.risk.iter().min_by_key(|r| r.level) {
            s.push_str(&format!(" Risk: {:?} ({}).", r.level, evidence_line(&r.evidence)));
        }
        s
    }
}

/// "5", "5 stars", "⭐⭐⭐⭐" -> a score.
fn parse_rating(text: &str) -> Option<u8> {
    let stars = text.chars().filter(|c| *c == '⭐' || *c == '★').count();
    if (1..=5).contains(&stars) {
        return Some(stars as u8);
    }
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    match digits.as_slice() {
        [d] if (1..=5).contains(d) && text.trim().chars().count() <= 12 => Some(*d as u8),
        _ => None,
    }
}

/// A yes to "did you mean ...?", in the languages the bot speaks.
fn is_yes(norm: &str) -> bool {
    const YES: &[&str] = &[
        "yes", "yeah", "yep", "yup", "y", "sure", "correct", "right", "exactly", "si", "claro", "correcto", "exacto", "是", "是的", "对",
        "对的", "没错", "嗯", "co", "dung", "vang", "phai",
    ];
    let first = norm.split(|c: char| !c.is_alphanumeric()).find(|w| !w.is_empty()).unwrap_or("");
    YES.contains(&first) || YES.contains(&norm.trim())
}
