//! The smallest shell around the engine: feeds an event in, carries out `RunAction` effects and feeds
//! their results back, until the chat waits for the patient again. The CLI and conversation tests use
//! it; the server will do the same with storage around it.

use crate::action::Actions;
use crate::engine::{ChatState, Effect, Engine, Event, Input};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Actions chained within one turn before the runner gives up; a flow never needs this many.
const ACTION_BUDGET: usize = 16;

#[derive(Clone)]
pub struct Runner {
    pub engine: Arc<Engine>,
    pub actions: Arc<Actions>,
}

impl Runner {
    /// Takes one turn, running any lookups it asks for. Returns the new state and every effect,
    /// lookups included, in order.
    pub async fn turn(&self, state: &ChatState, input: Input, at: DateTime<Utc>) -> (ChatState, Vec<Effect>) {
        let (mut state, mut effects) = self.handle(state, Event { at, input }).await;
        let mut next = 0;
        let mut budget = ACTION_BUDGET;
        while next < effects.len() && budget > 0 {
            if let Effect::RunAction { id, name, args } = &effects[next] {
                budget -= 1;
                let spec = &self.engine.flows.settings.actions[name];
                let result = self.actions.run(spec, args).await;
                let (s, more) = self
                    .handle(
                        &state,
                        Event {
                            at,
                            input: Input::ActionDone { id: *id, result },
                        },
                    )
                    .await;
                state = s;
                effects.extend(more);
            }
            next += 1;
        }
        (state, effects)
    }

    /// One engine step. With the sentence model on, a step is ~10 ms of arithmetic: it runs on the
    /// blocking pool so the async workers keep serving sockets and timers meanwhile.
    async fn handle(&self, state: &ChatState, event: Event) -> (ChatState, Vec<Effect>) {
        if !self.engine.is_heavy() {
            return self.engine.handle(state, event);
        }
        let (engine, state) = (self.engine.clone(), state.clone());
        tokio::task::spawn_blocking(move || engine.handle(&state, event))
            .await
            .expect("the engine is pure and does not panic")
    }
}
