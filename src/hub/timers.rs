//! Timers that survive restarts because they are computed from stored times, not kept in memory:
//! offers not taken in time go back to the queue, and chats left idle with the bot are closed.

use crate::engine::{Input, Status, Timer};
use crate::hub::tx::Tx;
use crate::hub::{AgentNotice, Hub, LiveChat};
use std::sync::Arc;
use std::time::Duration;

/// How often the timers are checked: well under the shortest timeout.
pub const TICK: Duration = Duration::from_secs(1);

impl Hub {
    /// One pass of every timer. Called every `TICK` by the server; tests call it directly.
    pub async fn tick(&self) {
        let now = self.clock.now();
        let deadline = now - chrono::Duration::from_std(self.config.offer_timeout).unwrap_or_default();
        let lapsed = self.board().lapse_offers(deadline);
        for offer in &lapsed {
            self.tell(&offer.agent, AgentNotice::OfferWithdrawn { chat: offer.chat.clone() });
        }
        if !lapsed.is_empty() {
            self.dispatch();
        }
        let idle_before = now - chrono::Duration::from_std(self.config.idle_timeout).unwrap_or_default();
        let chats: Vec<Arc<LiveChat>> = self.chats.read().expect("chats lock").values().cloned().collect();
        for chat in chats {
            // A chat busy with a turn is not idle.
            let Ok(mut rec) = chat.record.try_lock() else { continue };
            let last = rec.last_patient_at.unwrap_or(rec.created_at);
            if rec.state.status != Status::Bot || last > idle_before {
                continue;
            }
            let mut tx = Tx::new(&rec, now);
            self.engine_turn(&mut tx, Input::Timer(Timer::Idle)).await;
            if let Err(e) = self.finish(&chat, &mut rec, tx).await {
                tracing::warn!(chat = %chat.id, error = %e, "idle close not stored; will retry");
            }
        }
    }
}
