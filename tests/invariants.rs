//! The safety invariants, each a test that fails if it breaks: a crisis never waits behind the bot;
//! no chat stays with the bot after two exchanges without progress; no PHI before verification;
//! every PHI read audited.

mod common;

use careline::engine::io::AuditKind;
use careline::engine::{ChatState, Effect, Input, ReplyKind, Status};
use careline::flow::Reason;
use chrono::{DateTime, Utc};

fn at() -> DateTime<Utc> {
    careline::convtest::DEFAULT_AT.parse().unwrap()
}

/// Messages that match no flow, no risk and no question's answer (not even a name): each one is an
/// exchange without progress wherever the chat is.
const NOISE: [&str; 5] = ["???", "!!", "😀😀", "...", "#$%"];

#[test]
fn no_chat_stays_with_the_bot_after_two_exchanges_without_progress() {
    let runner = common::runner();
    let rt = common::rt();
    // From every point of a verified refill conversation, two noise messages reach a person.
    let script = ["is my prescription ready", "John Miller", "11/02/1975", "XYZ987654"];
    for prefix in 0..=script.len() {
        for noise in NOISE.windows(2) {
            let mut st: ChatState = runner.engine.new_chat();
            for m in &script[..prefix] {
                st = rt.block_on(runner.turn(&st, Input::Patient { text: m.to_string() }, at())).0;
            }
            let mut exchanges = 0;
            for m in noise {
                if st.status != Status::Bot {
                    break;
                }
                st = rt.block_on(runner.turn(&st, Input::Patient { text: m.to_string() }, at())).0;
                exchanges += 1;
            }
            assert_ne!(
                st.status,
                Status::Bot,
                "after {prefix} script messages and {exchanges} noise messages the bot still has the chat: {st:?}"
            );
        }
    }
}

#[test]
fn a_crisis_never_waits_behind_the_bot() {
    let runner = common::runner();
    let rt = common::rt();
    let script = ["is my prescription ready", "John Miller", "11/02/1975"];
    for prefix in 0..=script.len() {
        let mut st = runner.engine.new_chat();
        for m in &script[..prefix] {
            st = rt.block_on(runner.turn(&st, Input::Patient { text: m.to_string() }, at())).0;
        }
        let (st, fx) = rt.block_on(runner.turn(
            &st,
            Input::Patient {
                text: "I want to end my life".into(),
            },
            at(),
        ));
        assert!(
            matches!(fx.first(), Some(Effect::Reply { kind: ReplyKind::Crisis, text }) if text.contains("988") && text.contains("911")),
            "{fx:?}"
        );
        let h = st.handoff.expect("handed off");
        assert_eq!((h.reason, h.phone_escalation), (Reason::Crisis, true));
        assert!(
            !fx.iter().any(|f| matches!(f, Effect::RunAction { .. })),
            "no lookup may run before a crisis is handled"
        );
    }
}

#[test]
fn no_phi_before_verification_and_every_phi_read_is_audited() {
    let runner = common::runner();
    let rt = common::rt();
    let mut st = runner.engine.new_chat();
    let phi = ["Metformin", "2026-11-26", "Dr. Sam Patel", "2026-12-04"];
    let mut saw_phi = false;
    for (m, verified_after) in [
        ("is my prescription ready", false),
        ("John Miller", false),
        ("11/02/1975", false),
        ("XYZ987654", true),
    ] {
        let (s, fx) = rt.block_on(runner.turn(&st, Input::Patient { text: m.into() }, at()));
        st = s;
        let replies: String = fx.iter().filter_map(Effect::reply_text).collect();
        let shown = phi.iter().any(|p| replies.contains(p));
        if !verified_after {
            assert!(!shown, "PHI shown before verification: {replies}");
            assert!(
                !fx.iter()
                    .any(|f| matches!(f, Effect::RunAction { name, .. } if name != "verify_member")),
                "a PHI lookup ran before verification"
            );
        } else {
            saw_phi |= shown;
            let reads = fx
                .iter()
                .filter(|f| matches!(f, Effect::Audit(a) if a.kind == AuditKind::PhiRead))
                .count();
            let lookups = fx
                .iter()
                .filter(|f| matches!(f, Effect::RunAction { name, .. } if name != "verify_member"))
                .count();
            assert_eq!(reads, lookups, "every PHI lookup is audited: {fx:?}");
        }
    }
    assert!(saw_phi && st.verified());
}

#[test]
fn the_core_is_deterministic() {
    let engine = common::engine();
    let st = engine.new_chat();
    let ev = careline::engine::Event {
        at: at(),
        input: Input::Patient {
            text: "quiero pagar mi factura".into(),
        },
    };
    let a = engine.handle(&st, ev.clone());
    let b = engine.handle(&st, ev);
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
}

#[test]
fn odd_messages_get_an_answer_never_a_panic() {
    let engine = common::engine();
    let huge = "a".repeat(100_000);
    for text in [
        "",
        "   ",
        "😀😀😀",
        "\u{0}\u{1}\u{7f}",
        huge.as_str(),
        "مرحبا hello 你好",
        "1234567890",
    ] {
        let (st, fx) = engine.handle(
            &engine.new_chat(),
            careline::engine::Event {
                at: at(),
                input: Input::Patient { text: text.into() },
            },
        );
        assert!(!fx.is_empty(), "no answer to {:?}", &text[..text.len().min(20)]);
        assert!(st.exchanges == 1);
    }
}
