//! Runs every conversation test under fixtures/conversations through the same function as
//! `careline flows test`.

mod common;

use careline::convtest::{collect, parse_file, run_test};

#[test]
fn shipped_conversation_tests_pass() {
    let runner = common::runner();
    let rt = common::rt();
    let mut failures = Vec::new();
    let mut count = 0;
    for file in collect(&common::root().join("fixtures/conversations")).unwrap() {
        let source = std::fs::read_to_string(&file).unwrap();
        let tests = parse_file(&file.display().to_string(), &source).unwrap_or_else(|d| panic!("{:?}", d.list));
        for t in tests {
            count += 1;
            let r = rt.block_on(run_test(&runner, &t));
            if !r.passed {
                failures.push(format!("{} ({}:{}):\n  {}", r.name, r.file, r.line, r.failures.join("\n  ")));
            }
        }
    }
    assert!(count >= 40, "only {count} conversation tests");
    assert!(failures.is_empty(), "{} failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_shipped_flow_is_exercised_in_each_of_its_languages() {
    let engine = common::engine();
    let mut all = String::new();
    for file in collect(&common::root().join("fixtures/conversations")).unwrap() {
        all.push_str(&std::fs::read_to_string(file).unwrap());
    }
    for flow in &engine.flows.flows {
        assert!(
            all.contains(&format!("flow: {}", flow.id)),
            "no conversation test expects flow {}",
            flow.id
        );
    }
    for lang in ["en", "es", "zh", "vi"] {
        assert!(all.contains(&format!("language: {lang}")), "no test checks language {lang}");
    }
}

#[test]
fn a_failing_expectation_is_reported_with_its_turn() {
    let runner = common::runner();
    let src = "name: wrong on purpose\nturns:\n  - patient: \"what are your hours\"\n    expect: {flow: refill_status, handoff: true}\n";
    let tests = parse_file("inline.yaml", src).unwrap();
    let r = common::rt().block_on(run_test(&runner, &tests[0]));
    assert!(!r.passed);
    assert_eq!(r.failures.len(), 2, "{:?}", r.failures);
    assert!(r.failures[0].starts_with("turn 1 (line 3)"), "{:?}", r.failures);
}

#[test]
fn unknown_keys_in_a_test_file_are_errors_not_silently_ignored() {
    let src = "name: typo\nturns:\n  - patient: hi\n    expect: {handof: true}\n";
    let diags = parse_file("typo.yaml", src).unwrap_err();
    assert_eq!(diags.list.len(), 1);
    assert_eq!(diags.list[0].line, 4);
    assert!(diags.list[0].fix.contains("`handoff`"));
}
