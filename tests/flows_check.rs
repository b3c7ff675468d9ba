//! `careline flows check`: clean on the shipped flows; on broken copies, each problem named with file
//! and line. Runs the real binary so exit codes are checked too.

mod common;

use std::path::Path;
use std::process::Command;

fn check(dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_careline"))
        .args(["flows", "check"])
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// A copy of the shipped flows with `edit` applied to one file.
fn broken(file: &str, edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(common::root().join("flows")).unwrap() {
        let p = entry.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        let text = if name == file { edit(&text) } else { text };
        std::fs::write(dir.path().join(&name), text).unwrap();
    }
    dir
}

fn line_of(file: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(common::root().join("flows").join(file)).unwrap();
    text.lines().position(|l| l.contains(needle)).expect(needle) + 1
}

#[test]
fn shipped_flows_are_clean() {
    let (code, out) = check(&common::root().join("flows"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no problems"));
}

#[test]
fn a_typo_in_a_key_is_named_with_file_line_and_the_likely_key() {
    let dir = broken("bill_payment.yaml", |t| t.replacen("    next: route", "    nxt: route", 1));
    let (code, out) = check(dir.path());
    assert_eq!(code, 1, "{out}");
    let line = line_of("bill_payment.yaml", "    next: route");
    assert!(
        out.contains(&format!("bill_payment.yaml:{line}: step `choose`: unknown key `nxt`")),
        "{out}"
    );
    assert!(out.contains("did you mean `next`?"), "{out}");
}

#[test]
fn a_missing_translation_is_named() {
    let dir = broken("faq_copays.yaml", |t| {
        t.lines()
            .filter(|l| !l.trim_start().starts_with("vi: \"Tiền đồng trả"))
            .collect::<Vec<_>>()
            .join("\n")
    });
    let (code, out) = check(dir.path());
    assert_eq!(code, 1, "{out}");
    let line = line_of("faq_copays.yaml", "    say:");
    assert!(
        out.contains(&format!("faq_copays.yaml:{line}: step `answer`: `say` has no `vi` text")),
        "{out}"
    );
}

#[test]
fn a_dangling_next_is_named_with_a_suggestion() {
    let dir = broken("refill_status.yaml", |t| t.replacen("    next: done", "    next: dnoe", 1));
    let (code, out) = check(dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("`next` points to step `dnoe`, which does not exist"), "{out}");
    assert!(out.contains("did you mean `done`?"), "{out}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = broken("bill_payment.yaml", |t| {
        t.replacen("    next: route", "    nxt: route", 1)
            .replacen("handoff: billing", "handoff: billing_team", 1)
            .replacen(
                "      question: specialist\n",
                "      question: specialist\n      refund: nowhere\n",
                1,
            )
            .replacen("id: done\n", "id: route\n", 1)
    });
    let (code, out) = check(dir.path());
    assert_eq!(code, 1, "{out}");
    for want in [
        "unknown key `nxt`",
        "skill `billing_team` is not declared",
        "step `nowhere`, which does not exist",
        "step id `route` is used twice",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
}

/// An edit to one flow file's text.
type Edit = Box<dyn Fn(&str) -> String>;

#[test]
fn structural_problems_are_caught() {
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "faq_id_card.yaml",
            Box::new(|t: &str| t.replacen("    next: done", "    next: answer", 1)),
            "loop that never reaches a hand-off or an end",
        ),
        (
            "faq_id_card.yaml",
            Box::new(|t: &str| format!("{t}  - id: orphan\n    end: resolved\n")),
            "no path from the first step reaches this step",
        ),
        (
            "after_hours_message.yaml",
            Box::new(|t: &str| t.replacen("expect: phone", "expect: pattern\n    pattern: '[0-9'", 1)),
            "is not a valid pattern",
        ),
        (
            "refill_status.yaml",
            Box::new(|t: &str| t.replacen("{drug} is ready", "{drugs} is ready", 1)),
            "slot `drugs` is never filled",
        ),
        (
            "refill_status.yaml",
            Box::new(|t: &str| t.replacen("requires_verification: true", "requires_verification: false", 1)),
            "no PHI before verification",
        ),
        (
            "careline.yaml",
            Box::new(|t: &str| {
                t.replacen(
                    "  vi: [general, scheduling, billing, pharmacy, nurse]",
                    "  vi: [general, scheduling, pharmacy, nurse]",
                    1,
                )
            }),
            "hand-off to queue `vi/billing`, which careline.yaml does not declare",
        ),
        (
            "careline.yaml",
            Box::new(|t: &str| t.replacen("no_progress_limit: 2", "no_progress_limit: 3", 1)),
            "breaks the two-exchange rule",
        ),
        (
            "talk_to_person.yaml",
            Box::new(|t: &str| t.replacen("id: talk_to_person", "id: switch_language", 1)),
            "flow id `switch_language` is also used",
        ),
        (
            "switch_language.yaml",
            Box::new(|t: &str| t.replacen("languages: [en, es, zh, vi]", "languages: [en, es, zh, vi, de]", 1)),
            "`de` is not a language Careline knows",
        ),
        (
            "careline.yaml",
            Box::new(|t: &str| {
                t.replacen("  ht: \"Si w ap panse", "  ht: \"Si w ap panse (no numbers)", 1)
                    .replace("rele oswa voye tèks bay 988", "rele")
                    .replacen("rele 911", "rele", 1)
            }),
            "does not give both 988 and 911",
        ),
    ];
    for (file, edit, want) in cases {
        let dir = broken(file, edit);
        let (code, out) = check(dir.path());
        assert_eq!(code, 1, "{file}: {out}");
        assert!(out.contains(want), "{file}: missing {want:?} in\n{out}");
        assert!(out.contains(file), "{file}: {out}");
    }
}

#[test]
fn invalid_yaml_names_file_and_line() {
    let dir = broken("faq_coverage.yaml", |t| t.replacen("steps:", "steps: [", 1));
    let (code, out) = check(dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("faq_coverage.yaml:") && out.contains("not valid YAML"), "{out}");
}

#[test]
fn a_missing_directory_could_not_run() {
    let (code, out) = check(Path::new("/nonexistent/flows"));
    assert_eq!(code, 2, "{out}");
}

#[test]
fn the_engine_never_starts_on_invalid_flows() {
    let dir = broken("faq_copays.yaml", |t| t.replacen("next: done", "next: nowhere", 1));
    let out = Command::new(env!("CARGO_BIN_EXE_careline"))
        .args(["flows", "test", "fixtures/conversations", "--flows"])
        .arg(dir.path())
        .current_dir(common::root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("problem(s)"));
}
