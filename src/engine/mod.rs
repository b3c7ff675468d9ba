//! The conversation engine: a pure core. `Engine::handle` turns a chat state and an event into a new
//! state and effects; it reads no clock, touches no disk or network. The CLI and the server both run
//! it and carry out the effects (run an action, store a message, offer the chat to an agent).
//!
//! ```
//! use careline::engine::{Effect, Engine, Event, Input, Status};
//! use std::path::Path;
//!
//! let root = Path::new(env!("CARGO_MANIFEST_DIR"));
//! let flows = careline::flow::load_dir(&root.join("flows")).unwrap();
//! let triage = careline::triage::Triage::load(&root.join("models")).unwrap();
//! let engine = Engine::new(flows, triage);
//!
//! let at = "2026-11-24T15:00:00Z".parse().unwrap();
//! let chat = engine.new_chat();
//! let (chat, effects) = engine.handle(&chat, Event { at, input: Input::Patient { text: "agent please".into() } });
//! assert_eq!(chat.status, Status::Queued);
//! assert!(effects.iter().any(|e| matches!(e, Effect::Handoff(_))));
//! ```

pub mod intent;
pub mod io;
pub mod machine;
pub mod state;

pub use io::{ActionResult, AgentEvent, Effect, Event, Input, ReplyKind, Timer, Whisper};
pub use machine::Engine;
pub use state::{ChatState, Status};
