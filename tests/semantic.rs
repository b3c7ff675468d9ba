//! The semantic layer with the real sentence model (`scripts/fetch-model.sh`, run by `scripts/test.sh`):
//! crisis by meaning where the lexicons are silent, never instead of them, with the exemplar in the
//! evidence; harmless look-alikes left alone; the cache; problems in the exemplar file with their line.
//! Without the model these tests fail and say how to get it, rather than skip.

mod common;

use careline::engine::{Effect, Input, ReplyKind};
use careline::flow::Reason;
use careline::semantic::{DEFAULT_MODEL_DIR, Semantic};
use careline::text::normalize;
use careline::triage::{RiskLevel, Triage};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

fn model_dir() -> PathBuf {
    let dir = common::root().join(DEFAULT_MODEL_DIR);
    assert!(
        dir.join("model.safetensors").exists(),
        "no sentence model in {}: run scripts/fetch-model.sh (scripts/test.sh does)",
        dir.display()
    );
    dir
}

fn triage() -> &'static Triage {
    static T: OnceLock<Triage> = OnceLock::new();
    T.get_or_init(|| {
        let models = common::root().join("models");
        let semantic = Semantic::load(&model_dir(), &models).expect("the model loads");
        Triage::load(&models).unwrap().with_semantic(semantic)
    })
}

fn lexicons_only() -> Triage {
    Triage::load(&common::root().join("models")).unwrap()
}

fn level(t: &Triage, text: &str) -> Option<RiskLevel> {
    t.assess(text, &normalize(text)).risk.map(|r| r.level)
}

/// Paraphrases of suicidal intent written for this test (not in the exemplar file, not from any
/// evaluation set): the lexicons miss them, the meaning does not.
const PARAPHRASES: [&str; 3] = [
    "nothing will ever change so I have decided to stop trying to stay here",
    "everybody would be happier if I just wasn't around anymore",
    "I'm planning to say goodbye to everyone tonight, for good",
];

#[test]
fn a_paraphrase_the_lexicons_miss_is_a_crisis_by_meaning_with_its_exemplar() {
    let plain = lexicons_only();
    for text in PARAPHRASES {
        assert_ne!(
            level(&plain, text),
            Some(RiskLevel::Crisis),
            "the lexicons alone already catch {text:?}: pick a harder one"
        );
        let risk = triage().assess(text, &normalize(text)).risk.expect(text);
        assert_eq!(risk.level, RiskLevel::Crisis, "{text:?}");
        let first = &risk.evidence[0];
        assert!(first.context.as_deref().unwrap().starts_with("by meaning: "), "{first:?}");
        assert!(
            !first.phrase.is_empty() && first.kind.is_some(),
            "the whisper names the exemplar it matched: {first:?}"
        );
    }
}

#[test]
fn harmless_look_alikes_are_not_raised() {
    for text in [
        "this bill is killing me",
        "I'm dying to know if my refill is ready",
        "I would never hurt myself, I just need my refill",
        "what time does the pharmacy close on saturday",
        "can you help me pay my bill online",
    ] {
        assert_ne!(level(triage(), text), Some(RiskLevel::Crisis), "{text:?}");
    }
}

#[test]
fn a_lexicon_crisis_is_never_lowered_and_keeps_its_own_evidence() {
    let text = "I want to kill myself";
    let with = triage().assess(text, &normalize(text)).risk.unwrap();
    let without = lexicons_only().assess(text, &normalize(text)).risk.unwrap();
    assert_eq!(
        with, without,
        "the second signal is not consulted when the lexicons already say crisis"
    );
}

#[test]
fn languages_the_model_does_not_cover_rely_on_the_lexicons() {
    // A Spanish paraphrase: the shipped model is English only, so meaning is not asked.
    let text = "ya no le encuentro sentido a seguir adelante con nada";
    let with = triage().assess(text, &normalize(text)).risk;
    assert!(
        with.iter()
            .flat_map(|r| &r.evidence)
            .all(|e| e.context.as_deref().is_none_or(|c| !c.starts_with("by meaning"))),
        "{with:?}"
    );
    assert_eq!(with, lexicons_only().assess(text, &normalize(text)).risk);
}

#[test]
fn the_engine_hands_a_crisis_by_meaning_off_at_once_with_resources_first() {
    let models = common::root().join("models");
    let semantic = Semantic::load(&model_dir(), &models).unwrap();
    let flows = careline::flow::load_dir(&common::root().join("flows")).unwrap();
    let engine = careline::engine::Engine::new(flows, Triage::load(&models).unwrap().with_semantic(semantic));
    let runner = careline::runner::Runner {
        engine: Arc::new(engine),
        actions: common::runner().actions,
    };
    let rt = common::rt();
    let at = "2026-11-24T15:00:00Z".parse().unwrap();
    let st = runner.engine.new_chat();
    let (st, fx) = rt.block_on(runner.turn(
        &st,
        Input::Patient {
            text: PARAPHRASES[1].into(),
        },
        at,
    ));
    assert!(
        matches!(
            fx.first(),
            Some(Effect::Reply {
                kind: ReplyKind::Crisis,
                ..
            })
        ),
        "{fx:?}"
    );
    assert_eq!(st.handoff.as_ref().map(|h| h.reason), Some(Reason::Crisis));
    let whisper = runner.engine.whisper_for(&st);
    let evidence = &whisper.risk[0].evidence[0];
    assert!(evidence.context.as_deref().unwrap().starts_with("by meaning"), "{whisper:?}");
}

#[test]
fn exemplar_vectors_are_cached_per_model_and_file_and_reused() {
    let models = copy_models();
    let first = Semantic::load(&model_dir(), models.path()).unwrap();
    let cache = model_dir().join("careline-cache");
    let files: Vec<_> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(files.iter().any(|f| f.extension().is_some_and(|e| e == "f32")), "{files:?}");
    let again = Semantic::load(&model_dir(), models.path()).unwrap();
    for text in PARAPHRASES {
        assert_eq!(first.crisis(text).unwrap(), again.crisis(text).unwrap());
    }
}

#[test]
fn a_problem_in_the_exemplar_file_names_its_line() {
    let models = copy_models();
    let file = models.path().join("semantic/crisis.yaml");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("threshold: 0.52", "threshold: high");
    std::fs::write(&file, text).unwrap();
    let err = Semantic::load(&model_dir(), models.path()).err().expect("refused").to_string();
    assert!(
        err.contains("crisis.yaml:") && err.contains("threshold") && err.contains("0 to 1"),
        "{err}"
    );
}

fn copy_models() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy(&common::root().join("models/semantic"), &dir.path().join("semantic"));
    dir
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

fn runner_with_model() -> careline::runner::Runner {
    let models = common::root().join("models");
    let semantic = Semantic::load(&model_dir(), &models).unwrap();
    let flows = careline::flow::load_dir(&common::root().join("flows")).unwrap();
    careline::runner::Runner {
        engine: Arc::new(careline::engine::Engine::new(
            flows,
            Triage::load(&models).unwrap().with_semantic(semantic),
        )),
        actions: common::runner().actions,
    }
}

fn say(runner: &careline::runner::Runner, st: &careline::engine::ChatState, text: &str) -> (careline::engine::ChatState, Vec<Effect>) {
    let at = "2026-11-24T15:00:00Z".parse().unwrap();
    common::rt().block_on(runner.turn(st, Input::Patient { text: text.into() }, at))
}

fn bot_text(fx: &[Effect]) -> String {
    fx.iter()
        .filter_map(|f| match f {
            Effect::Reply { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_request_in_other_words_starts_its_flow_by_meaning() {
    let runner = runner_with_model();
    let plain = common::runner();
    for (text, flow) in [
        ("has the pharmacy finished filling my medicine order", "refill_status"),
        ("my card got stolen and I need another one", "faq_id_card"),
    ] {
        let (without, _) = say(&plain, &plain.engine.new_chat(), text);
        assert_ne!(
            without.intent.as_deref(),
            Some(flow),
            "the words alone already match {text:?}: pick a harder one"
        );
        let (st, fx) = say(&runner, &runner.engine.new_chat(), text);
        assert_eq!(st.intent.as_deref(), Some(flow), "{text:?}: {}", bot_text(&fx));
        assert_eq!(st.no_progress, 0);
    }
}

#[test]
fn a_near_miss_is_asked_about_once_and_a_yes_starts_the_flow() {
    let runner = runner_with_model();
    let (st, fx) = say(&runner, &runner.engine.new_chat(), "are my pills done yet");
    assert!(bot_text(&fx).contains("do you mean"), "{}", bot_text(&fx));
    assert_eq!(st.clarifying.as_deref(), Some("refill_status"));
    assert_eq!(st.no_progress, 1, "the question counts as an exchange without progress");
    let (st, _) = say(&runner, &st, "yes");
    assert_eq!(st.intent.as_deref(), Some("refill_status"));
    assert_eq!(st.clarifying, None);
}

#[test]
fn a_no_to_the_question_reaches_a_person_within_two_exchanges() {
    let runner = runner_with_model();
    let (st, _) = say(&runner, &runner.engine.new_chat(), "are my pills done yet");
    let (st, fx) = say(&runner, &st, "no, something else");
    assert_eq!(st.handoff.as_ref().map(|h| h.reason), Some(Reason::NoProgress), "{}", bot_text(&fx));
    assert!(!bot_text(&fx).contains("do you mean"), "asked once, never twice");
}

#[test]
fn an_unrelated_message_is_not_understood_rather_than_guessed() {
    let runner = runner_with_model();
    let (st, fx) = say(&runner, &runner.engine.new_chat(), "the weather is nice today");
    assert_eq!(st.intent, None);
    assert!(!bot_text(&fx).contains("do you mean"), "{}", bot_text(&fx));
}
