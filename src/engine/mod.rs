//! The conversation engine: a pure core. `Engine::handle` turns a chat state and an event into a new
//! state and effects; it reads no clock, touches no disk or network. The CLI and the server both run
//! it and carry out the effects (run an action, store a message, offer the chat to an agent).

pub mod intent;
pub mod io;
pub mod machine;
pub mod state;

pub use io::{ActionResult, AgentEvent, Effect, Event, Input, ReplyKind, Timer, Whisper};
pub use machine::Engine;
pub use state::{ChatState, Status};
