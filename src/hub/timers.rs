//! Timers that survive restarts because they are computed from stored times, not kept in memory:
//! offers not taken in time go back to the queue, chats left idle with the bot are closed, and (with a
//! retention policy) old transcripts are purged.

use crate::engine::{Input, Status, Timer};
use crate::hub::tx::Tx;
use crate::hub::{AgentNotice, Hub, LiveChat};
use std::sync::Arc;
use std::time::Duration;

/// How often the timers are checked: well under the shortest timeout.
pub const TICK: Duration = Duration::from_secs(1);
/// How often the retention policy runs.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

impl Hub {
    /// One pass of every timer. Called every `TICK` by the server; tests call it directly.
    pub async fn tick(&self) {
        let now = self.clock.now();
        if let Some(days) = self.config.retention_days {
            let due = self
                .last_purge
                .lock()
                .expect("purge lock")
                .is_none_or(|t| t.elapsed() >= PURGE_EVERY);
            if due {
                *self.last_purge.lock().expect("purge lock") = Some(std::time::Instant::now());
                self.purge_closed_before(now - chrono::Duration::days(i64::from(days))).await;
            }
        }
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

impl Hub {
    /// Applies the retention policy: transcripts of chats closed before `before` are deleted (metrics
    /// and the audit log stay). The purge itself is audited.
    pub async fn purge_closed_before(&self, before: chrono::DateTime<chrono::Utc>) -> usize {
        match self.store.purge(before).await {
            Ok(n) => {
                if n > 0 {
                    let _ = self
                        .audit_now(
                            "careline",
                            "retention_purge",
                            format!("{n} transcripts of chats closed before {before}"),
                            None,
                        )
                        .await;
                }
                n
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "retention purge failed; will retry");
                0
            }
        }
    }
}
