//! Language identification of chat messages (1 to 10 words, typos, no accents).
//!
//! Three signals, cheapest first:
//! 1. **Script.** Hangul, Han, Cyrillic and Arabic letters each belong to one of our languages, and
//!    Vietnamese's own letters (ơ, ư, ă, đ, the stacked tone marks) to Vietnamese: decided at once.
//! 2. **Word lists** (`models/langid/<lang>.txt`): the everyday words of patients' messages in each
//!    language. They decide most Latin-script chat messages without a statistical model, and they are
//!    the only thing that knows Haitian Creole, which no bundled model does.
//! 3. **lingua** (character n-gram models from its registry packages, restricted to our ten other
//!    languages), for the Latin-script messages the lists leave open, blended with the lists' votes.
//!
//! `whatlang`, the design card's detector, is kept as the baseline `careline eval langid --detector
//! whatlang` measures: on short Latin-script text it is the weakest (see `docs/evaluation.md`), and the
//! script test above is all it was reliable for.
//!
//! The verdict carries a confidence; callers keep the chat's current language when it is low (one
//! or two ambiguous words never flip a chat), and a patient's explicit choice always wins (that is the
//! engine's rule, not the detector's).

use crate::lang::Lang;
use crate::text::normalize;
use anyhow::Context;
use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub lang: Lang,
    /// 0..1; at or above `RELIABLE` a chat may switch language on this message alone.
    pub confidence: f32,
}

impl Detection {
    pub const RELIABLE: f32 = 0.5;

    pub fn is_reliable(&self) -> bool {
        self.confidence >= Self::RELIABLE
    }
}

/// The languages lingua scores: ours, minus Haitian Creole, which it does not know.
const LINGUA: [(Language, Lang); 10] = [
    (Language::English, Lang::En),
    (Language::Spanish, Lang::Es),
    (Language::Chinese, Lang::Zh),
    (Language::Vietnamese, Lang::Vi),
    (Language::Korean, Lang::Ko),
    (Language::Tagalog, Lang::Tl),
    (Language::Russian, Lang::Ru),
    (Language::Arabic, Lang::Ar),
    (Language::French, Lang::Fr),
    (Language::Portuguese, Lang::Pt),
];

/// How much one listed word weighs against lingua's probability (which sums to 1 over the ten
/// languages it knows). High, because lingua gives Haitian Creole nothing: tuned on
/// `fixtures/langid/` and the public sets (docs/evaluation.md).
const WORD_WEIGHT: f32 = 3.0;

/// How much of a message lingua reads.
const LINGUA_CHARS: usize = 300;

pub struct Detector {
    /// Normalised word -> bit set of the languages that list it (bit = `Lang` index in `Lang::ALL`).
    words: HashMap<String, u16>,
    lingua: LanguageDetector,
}

impl Detector {
    /// Reads the word lists under `models/langid/` and loads lingua's models for our languages.
    pub fn load(dir: &Path) -> anyhow::Result<Detector> {
        let mut words: HashMap<String, u16> = HashMap::new();
        for (i, lang) in Lang::ALL.iter().enumerate() {
            let path = dir.join(format!("{lang}.txt"));
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            for line in text.lines() {
                let line = line.split('#').next().unwrap_or("");
                for word in normalize(line).split_whitespace() {
                    *words.entry(word.to_string()).or_default() |= 1 << i;
                }
            }
        }
        Ok(Detector {
            words,
            lingua: Self::lingua_alone(),
        })
    }

    /// Every word of the word lists: words patients use, spelt as they are.
    pub fn vocabulary(&self) -> impl Iterator<Item = &str> {
        self.words.keys().map(String::as_str)
    }

    /// lingua restricted to our languages, high-accuracy mode, models preloaded: the statistical
    /// part of this detector, and on its own the baseline `careline eval langid` compares against.
    pub fn lingua_alone() -> LanguageDetector {
        let languages: Vec<Language> = LINGUA.iter().map(|(l, _)| *l).collect();
        LanguageDetectorBuilder::from_languages(&languages)
            .with_preloaded_language_models()
            .build()
    }

    pub fn from_lingua(language: Language) -> Option<Lang> {
        LINGUA.iter().find(|(l, _)| *l == language).map(|(_, lang)| *lang)
    }

    /// The language `text` is written in, or `None` when it carries no language signal (digits,
    /// emoji, punctuation). `normalized` is `text::normalize(text)`.
    pub fn detect(&self, text: &str, normalized: &str) -> Option<Detection> {
        let scripts = ScriptCounts::of(text);
        if scripts.letters == 0 {
            return None;
        }
        if let Some(lang) = scripts.decisive() {
            return Some(Detection { lang, confidence: 1.0 });
        }
        let (votes, tokens) = self.word_votes(normalized);
        let mut ranked = rank(&votes);
        let (best, best_votes) = ranked[0];
        let runner_up = ranked[1].1;
        // Clear word-list verdicts need no statistical model: most words of the message belong to
        // one language and clearly more to it than to any other.
        if tokens >= 2 && best_votes >= 0.5 * tokens as f32 && best_votes - runner_up >= 1.0 {
            let confidence = (0.6 + 0.1 * (best_votes - runner_up)).min(1.0);
            return Some(Detection { lang: best, confidence });
        }
        let mut scores = votes.map(|v| WORD_WEIGHT * v / tokens.max(1) as f32);
        // The opening of a long message says its language; lingua's cost grows with the length.
        let head = match text.char_indices().nth(LINGUA_CHARS) {
            Some((end, _)) => &text[..end],
            None => text,
        };
        for (language, p) in self.lingua.compute_language_confidence_values(head) {
            if let Some(lang) = Self::from_lingua(language) {
                scores[lang_index(lang)] += p as f32;
            }
        }
        ranked = rank(&scores);
        let (lang, top) = ranked[0];
        if top <= 0.0 {
            return None;
        }
        let margin = (top - ranked[1].1) / top;
        // One or two words are weak evidence whatever the models say.
        let length_cap = match tokens {
            0 | 1 => 0.45,
            2 => 0.7,
            _ => 1.0,
        };
        Some(Detection {
            lang,
            confidence: margin.min(length_cap),
        })
    }

    /// Per language, how many of the message's words its list holds (a word listed by `k`
    /// languages gives each `1/k`), and the number of words looked at.
    fn word_votes(&self, normalized: &str) -> ([f32; 11], usize) {
        let mut votes = [0.0f32; 11];
        let mut tokens = 0;
        for word in normalized.split_whitespace() {
            if word.chars().any(|c| c.is_ascii_digit()) {
                continue;
            }
            tokens += 1;
            if let Some(&set) = self.words.get(word) {
                let share = 1.0 / set.count_ones() as f32;
                for (i, vote) in votes.iter_mut().enumerate() {
                    if set & (1 << i) != 0 {
                        *vote += share;
                    }
                }
            }
        }
        (votes, tokens)
    }
}

fn lang_index(lang: Lang) -> usize {
    Lang::ALL.iter().position(|l| *l == lang).expect("every Lang is in Lang::ALL")
}

/// Languages by descending score (ties keep `Lang::ALL` order, so results are deterministic).
fn rank(scores: &[f32; 11]) -> Vec<(Lang, f32)> {
    let mut ranked: Vec<(Lang, f32)> = Lang::ALL.iter().copied().zip(scores.iter().copied()).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked
}

/// Letters of `text` by script.
#[derive(Default)]
struct ScriptCounts {
    letters: usize,
    hangul: usize,
    han: usize,
    cyrillic: usize,
    arabic: usize,
    vietnamese: usize,
}

impl ScriptCounts {
    fn of(text: &str) -> ScriptCounts {
        let mut s = ScriptCounts::default();
        for c in text.chars().filter(|c| c.is_alphabetic()) {
            s.letters += 1;
            match c as u32 {
                0xAC00..=0xD7AF | 0x1100..=0x11FF | 0x3130..=0x318F => s.hangul += 1,
                0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF => s.han += 1,
                0x0400..=0x04FF => s.cyrillic += 1,
                0x0600..=0x06FF | 0x0750..=0x077F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => s.arabic += 1,
                _ if is_vietnamese_letter(c) => s.vietnamese += 1,
                _ => {}
            }
        }
        s
    }

    /// The language a script settles: the majority of letters in one of the four non-Latin
    /// scripts, or any letter only Vietnamese uses.
    fn decisive(&self) -> Option<Lang> {
        let by_script = [
            (self.hangul, Lang::Ko),
            (self.han, Lang::Zh),
            (self.cyrillic, Lang::Ru),
            (self.arabic, Lang::Ar),
        ];
        let (count, lang) = by_script.into_iter().max_by_key(|(n, _)| *n)?;
        if count * 2 >= self.letters && count > 0 {
            return Some(lang);
        }
        (self.vietnamese > 0).then_some(Lang::Vi)
    }
}

/// Letters no other of our Latin-script languages writes: ơ ư ă đ and the precomposed letters
/// with stacked diacritics (Latin Extended Additional, U+1EA0..U+1EF9).
fn is_vietnamese_letter(c: char) -> bool {
    matches!(c, 'ơ' | 'Ơ' | 'ư' | 'Ư' | 'ă' | 'Ă' | 'đ' | 'Đ' | 'ĩ' | 'Ĩ' | 'ũ' | 'Ũ') || ('\u{1EA0}'..='\u{1EF9}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector() -> Detector {
        Detector::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/langid")).unwrap()
    }

    fn detect(d: &Detector, text: &str) -> Option<Detection> {
        d.detect(text, &normalize(text))
    }

    #[test]
    fn scripts_are_certain() {
        let d = detector();
        for (text, lang) in [
            ("我想知道我的药好了没有", Lang::Zh),
            ("약 리필 상태", Lang::Ko),
            ("где мой рецепт", Lang::Ru),
            ("أين دوائي", Lang::Ar),
            ("tôi muốn hỏi", Lang::Vi),
        ] {
            assert_eq!(detect(&d, text), Some(Detection { lang, confidence: 1.0 }), "{text}");
        }
    }

    #[test]
    fn latin_script_languages_including_haitian_creole() {
        let d = detector();
        for (text, lang) in [
            ("Quiero saber si mi receta está lista", Lang::Es),
            ("mwen bezwen renouvle medikaman mwen", Lang::Ht),
            ("je voudrais prendre un rendez-vous", Lang::Fr),
            ("gusto ko po malaman kung handa na ang gamot ko", Lang::Tl),
            ("quero marcar uma consulta com o médico", Lang::Pt),
            ("when is the pharmacy open", Lang::En),
        ] {
            let got = detect(&d, text).unwrap();
            assert_eq!(got.lang, lang, "{text}");
            assert!(got.is_reliable(), "{text}: {got:?}");
        }
    }

    #[test]
    fn one_word_is_never_reliable_and_no_letters_is_no_language() {
        let d = detector();
        assert!(!detect(&d, "hola").is_some_and(|x| x.is_reliable()));
        assert_eq!(detect(&d, "12345 !!"), None);
        assert_eq!(detect(&d, "🙂🙂"), None);
    }
}
