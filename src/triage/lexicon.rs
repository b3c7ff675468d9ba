//! Risk lexicons: per-language phrase lists under `models/triage/<lang>.yaml`, which analysts can read
//! and extend. Phrases are normalised like messages (see `text::normalize`) and matched whole-word with
//! one Aho-Corasick automaton over every language at once: a crisis is recognised whatever language the
//! chat was detected as.

use crate::lang::Lang;
use crate::text::{is_unspaced, normalize};
use crate::triage::{Evidence, Risk, RiskLevel};
use aho_corasick::{AhoCorasick, MatchKind};
use anyhow::Context;
use std::path::Path;

pub struct Lexicon {
    automaton: AhoCorasick,
    /// Per pattern: level, language and the phrase as the analyst wrote it.
    rules: Vec<(RiskLevel, Lang, String)>,
}

impl Lexicon {
    pub fn load(dir: &Path) -> anyhow::Result<Lexicon> {
        let mut patterns = Vec::new();
        let mut rules = Vec::new();
        for lang in Lang::ALL {
            let path = dir.join(format!("{lang}.yaml"));
            if !path.exists() {
                continue;
            }
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let node = crate::yaml::parse(&text).map_err(|e| anyhow::anyhow!("{}:{}: {}", path.display(), e.line, e.message))?;
            let mut diags = crate::diagnostic::Diagnostics::new(path.display().to_string());
            for (key, list, line) in node.entries("a lexicon", &mut diags) {
                let level = match key.as_str() {
                    "crisis" => RiskLevel::Crisis,
                    "distress" => RiskLevel::Distress,
                    "clinical" => RiskLevel::Clinical,
                    _ => {
                        diags.push(line, format!("unknown section `{key}`"), "use crisis, distress or clinical");
                        continue;
                    }
                };
                for phrase in list.strings("phrases", &mut diags) {
                    let norm = normalize(&phrase);
                    if norm.trim().is_empty() {
                        continue;
                    }
                    patterns.push(if is_unspaced(&norm) { norm.trim().to_string() } else { norm });
                    rules.push((level, lang, phrase));
                }
            }
            if let Some(d) = diags.list.first() {
                anyhow::bail!("{d}");
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .context("building the lexicon automaton")?;
        Ok(Lexicon { automaton, rules })
    }

    /// The most urgent level any phrase in `normalized` raises, with every phrase of that level.
    pub fn risk(&self, normalized: &str) -> Option<Risk> {
        let mut best: Option<Risk> = None;
        for m in self.automaton.find_overlapping_iter(normalized) {
            let (level, lang, phrase) = &self.rules[m.pattern().as_usize()];
            let evidence = Evidence {
                phrase: phrase.clone(),
                lang: *lang,
            };
            match &mut best {
                Some(r) if r.level == *level => {
                    if !r.evidence.contains(&evidence) {
                        r.evidence.push(evidence)
                    }
                }
                Some(r) if r.level < *level => {}
                _ => {
                    best = Some(Risk {
                        level: *level,
                        evidence: vec![evidence],
                    })
                }
            }
        }
        best
    }
}
