//! The live-agent queue. `routing` holds the rules, pure; the hub keeps one `Board` behind a lock.

mod routing;

pub use routing::{AgentProfile, Board, Offer, Presence, QueueView, TakeRefusal, Waiting};
