//! Bad input never panics triage: each kind gets a sensible verdict or a clear refusal.

mod common;

use careline::lang::Lang;
use careline::text::normalize;
use careline::triage::input::{Refusal, accept};
use careline::triage::{RiskLevel, Triage};
use std::time::Instant;

fn triage() -> Triage {
    Triage::load(&common::root().join("models")).expect("models load")
}

#[test]
fn empty_and_whitespace_are_refused_and_carry_no_verdict() {
    let t = triage();
    for text in ["", "   ", "\n\t \u{3000}"] {
        assert_eq!(accept(text.as_bytes()), Err(Refusal::Empty), "{text:?}");
        let a = t.assess(text, &normalize(text));
        assert!(a.language.is_none() && a.risk.is_none(), "{text:?}: {a:?}");
    }
}

#[test]
fn a_100_kb_message_is_refused_and_still_assessed_quickly_if_it_gets_through() {
    let t = triage();
    let big = "I need my refill please ".repeat(100 * 1024 / 24) + " and I want to kill myself";
    assert!(matches!(accept(big.as_bytes()), Err(Refusal::TooLong { .. })));
    let started = Instant::now();
    let a = t.assess(&big, &normalize(&big));
    assert_eq!(a.risk.map(|r| r.level), Some(RiskLevel::Crisis), "the crisis at the end is found");
    assert_eq!(a.language.map(|d| d.lang), Some(Lang::En));
    assert!(started.elapsed().as_secs() < 5, "bounded: {:?}", started.elapsed());
}

#[test]
fn binary_and_invalid_utf8_are_refused_and_lossy_text_does_not_panic() {
    let t = triage();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(2048).collect();
    assert!(matches!(accept(&bytes), Err(Refusal::NotUtf8 { .. })));
    let lossy = String::from_utf8_lossy(&bytes);
    let a = t.assess(&lossy, &normalize(&lossy));
    assert!(a.risk.is_none(), "{a:?}");
}

#[test]
fn emoji_only_has_no_language_and_no_risk() {
    let t = triage();
    let text = "😭😭😭 🙏";
    assert!(accept(text.as_bytes()).is_ok());
    let a = t.assess(text, &normalize(text));
    assert!(a.language.is_none() && a.risk.is_none(), "{a:?}");
}

#[test]
fn mixed_script_takes_the_majority_and_finds_a_crisis_in_either_part() {
    let t = triage();
    let text = "hello 我想死 please";
    let a = t.assess(text, &normalize(text));
    assert_eq!(a.risk.map(|r| r.level), Some(RiskLevel::Crisis));
    let text = "mi tarjeta 보험 카드";
    let a = t.assess(text, &normalize(text));
    assert!(a.language.is_some(), "a verdict either way: {a:?}");
}
