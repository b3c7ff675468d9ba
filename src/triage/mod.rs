//! Triage: every patient message passes through here before the flow engine sees it.
//!
//! Text in, verdicts with evidence out: the language the message is written in, and whether it
//! raises a crisis, distress or a clinical question, with the words that raised it. Pure: models are
//! loaded once (`Triage::load`), then `assess` does no I/O.

pub mod language;
pub mod lexicon;

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

/// The words (or pattern) that raised a verdict, and the language of the rule that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub phrase: String,
    pub lang: Lang,
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
}

/// The loaded triage models.
pub struct Triage {
    lexicon: lexicon::Lexicon,
    detector: language::Detector,
}

impl Triage {
    /// Loads the lexicons under `models/triage/`.
    pub fn load(models: &Path) -> anyhow::Result<Triage> {
        Ok(Triage {
            lexicon: lexicon::Lexicon::load(&models.join("triage"))?,
            detector: language::Detector::new(),
        })
    }

    /// Assesses `text`, given also as `normalized` (through `text::normalize`, which callers that
    /// match other things against the same message compute once).
    pub fn assess(&self, text: &str, normalized: &str) -> Assessment {
        Assessment {
            language: self.detector.detect(text),
            risk: self.lexicon.risk(normalized),
        }
    }
}
