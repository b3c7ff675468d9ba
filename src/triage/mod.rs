//! Triage: every patient message passes through here before the flow engine sees it.
//!
//! Text in, verdicts with evidence out: the language the message is written in, and whether it
//! raises a crisis, distress or a clinical question, with the words that raised it. Pure: models are
//! loaded once (`Triage::load`), then `assess` does no I/O.

mod gate;
pub mod input;
pub mod language;
pub mod lexicon;
pub mod spelling;

use crate::lang::Lang;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub use language::Detection;

/// How urgently a person must see the chat. Ordered: `Crisis` outranks the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Crisis,
    Distress,
    Clinical,
}

/// What kind of crisis a phrase signals: the agent's first question differs (988 or 911).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrisisKind {
    SelfHarm,
    Emergency,
    Violence,
}

/// The words (or pattern) that raised a verdict, the language of the rule that matched and, when a
/// marker softened it, why: an agent reads this in the whisper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub phrase: String,
    pub lang: Lang,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<CrisisKind>,
    /// e.g. "third party: my friend", "past: years ago".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Risk {
    pub level: RiskLevel,
    pub evidence: Vec<Evidence>,
}

/// Triage's verdict on one message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Assessment {
    /// `None` when the message carries no language signal (digits, emoji, a name).
    pub language: Option<Detection>,
    /// The most urgent risk found, if any.
    pub risk: Option<Risk>,
    /// The message's sentence vector, when the semantic layer embedded it: the engine matches intents
    /// by meaning with it, so each message is embedded once.
    pub embedding: Option<Vec<f32>>,
}

/// The loaded triage models.
pub struct Triage {
    lexicon: lexicon::Lexicon,
    detector: language::Detector,
    /// The second signal, by meaning; `None` runs on the lexicons alone.
    semantic: Option<crate::semantic::Semantic>,
}

/// Messages shorter than this many words carry too little meaning to compare by meaning; the
/// lexicons still see them.
const MIN_WORDS_FOR_MEANING: usize = 2;

impl Triage {
    /// Loads the risk lexicons under `models/triage/` and the language models (`models/langid/`
    /// plus lingua's bundled n-gram models).
    pub fn load(models: &Path) -> anyhow::Result<Triage> {
        let detector = language::Detector::load(&models.join("langid"))?;
        let mut lexicon = lexicon::Lexicon::load(&models.join("triage"))?;
        // Everyday words are spelt right: never read one as a typo of a crisis word.
        lexicon.know_words(detector.vocabulary().map(str::to_string));
        Ok(Triage {
            lexicon,
            detector,
            semantic: None,
        })
    }

    /// Adds the semantic layer (`crate::semantic`): crisis by meaning where the lexicons found none.
    pub fn with_semantic(mut self, semantic: crate::semantic::Semantic) -> Triage {
        self.semantic = Some(semantic);
        self
    }

    pub fn semantic(&self) -> Option<&crate::semantic::Semantic> {
        self.semantic.as_ref()
    }

    pub fn semantic_mut(&mut self) -> Option<&mut crate::semantic::Semantic> {
        self.semantic.as_mut()
    }

    /// Assesses `text`, given also as `normalized` (through `text::normalize`, which callers that
    /// match other things against the same message compute once).
    pub fn assess(&self, text: &str, normalized: &str) -> Assessment {
        let language = self.detector.detect(text, normalized);
        let risk = self.lexicon.risk(text, language.map(|d| d.lang));
        let embedding = match (&risk, &self.semantic, language) {
            (Some(r), _, _) if r.level == RiskLevel::Crisis => None,
            (_, Some(semantic), Some(d)) if semantic.covers(d.lang) && text.split_whitespace().count() >= MIN_WORDS_FOR_MEANING => {
                // An embedding failure leaves the lexicons' verdict as it was: the second signal can
                // only add.
                semantic.embedder().embed(text).ok()
            }
            _ => None,
        };
        let risk = match (&self.semantic, &embedding) {
            (Some(semantic), Some(v)) => by_meaning(semantic, v, risk),
            _ => risk,
        };
        Assessment { language, risk, embedding }
    }
}

/// Raises `risk` to a crisis when the message means one; keeps the lexicons' evidence beside it.
fn by_meaning(semantic: &crate::semantic::Semantic, v: &[f32], risk: Option<Risk>) -> Option<Risk> {
    let Some(m) = semantic.crisis_of(v) else { return risk };
    let mut evidence = vec![Evidence {
        phrase: m.exemplar,
        lang: m.lang,
        kind: Some(m.kind),
        context: Some(format!("by meaning: {:.2} similar", m.similarity)),
    }];
    evidence.extend(risk.into_iter().flat_map(|r| r.evidence));
    Some(Risk {
        level: RiskLevel::Crisis,
        evidence,
    })
}
