//! Any bytes as a patient message, through the whole pure pipeline: the size and UTF-8 gate, triage
//! (language and risk), then the engine on a fresh chat, a chat waiting for an answer, and a chat
//! with an agent. Nothing may panic, and a crisis must always hand off.
#![no_main]

use careline::engine::{Effect, Engine, Event, Input, Status};
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let flows = careline::flow::load_dir(&root.join("flows")).unwrap();
        let triage = careline::triage::Triage::load(&root.join("models")).unwrap();
        Engine::new(flows, triage)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = careline::triage::input::accept(data) else { return };
    let engine = engine();
    let at = "2026-11-24T15:00:00Z".parse().unwrap();
    let fresh = engine.new_chat();
    let (asking, _) = engine.handle(&fresh, Event { at, input: Input::Patient { text: "is my prescription ready?".into() } });
    let mut with_agent = fresh.clone();
    with_agent.status = Status::Agent;
    for state in [&fresh, &asking, &with_agent] {
        let (next, effects) = engine.handle(state, Event { at, input: Input::Patient { text: text.to_string() } });
        let crisis = effects.iter().any(|e| matches!(e, Effect::Reply { kind: careline::engine::ReplyKind::Crisis, .. }));
        if crisis {
            assert_ne!(next.status, Status::Bot, "a crisis never stays with the bot");
        }
        let _ = serde_json::to_string(&next).unwrap();
    }
});
