//! One-keystroke typos of crisis words: "suicdal", "overdsoe", "unconcious", "not breating".
//!
//! A patient in crisis types fast and badly, and a phrase list matches only what it spells. So before
//! the phrases are matched, a word of the message that the models do not know and that lies one edit
//! (a letter dropped, added, changed, or two swapped) from a word of a crisis phrase is read as that
//! word. Only crisis words are targets, since only a missed crisis is costly enough to guess for, and
//! the lexicon takes the corrected reading only when it finds a crisis the words as typed did not
//! (`Lexicon::read_clause`).
//!
//! What keeps this from inventing crises out of real words ("cooking" is one letter from "choking"):
//! every word any model file knows is left alone (the language-identification word lists, every phrase
//! and marker, and each lexicon's `not_misspellings`); both words must be [`MIN_LEN`] letters or
//! longer; and a word that alone makes a crisis phrase is a target only from [`MIN_LEN_ALONE`] letters,
//! where real neighbours are rare; the first letter must be the target's and the slip not at the end
//! of the word (another form of it). The lookup is the symmetric-delete scheme (SymSpell): each target
//! is stored with its one-letter deletions, so a word is checked with a handful of hash look-ups.

use crate::text::is_cjk;
use std::collections::{HashMap, HashSet};

/// Shorter words have too many real neighbours to guess at ("hiring" is one letter from "hitting",
/// spelt "hiting" once doubled letters are folded).
const MIN_LEN: usize = 7;
/// A crisis phrase of one word ("suicidal") fires on its own, so its typos are guessed only for
/// long words.
const MIN_LEN_ALONE: usize = 8;

#[derive(Default)]
pub struct Speller {
    known: HashSet<String>,
    /// A target word, or the target with one letter deleted, to the targets it came from.
    deletions: HashMap<String, Vec<usize>>,
    targets: Vec<Vec<char>>,
}

/// A word read as a crisis word: shown to the agent beside the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    pub typed: String,
    pub read_as: String,
}

impl Speller {
    /// `phrases`: the normalised crisis phrases (the words to guess towards); `known`: every word
    /// never to correct.
    pub fn new<'a>(phrases: impl IntoIterator<Item = &'a str>, known: impl IntoIterator<Item = String>) -> Speller {
        let mut speller = Speller {
            known: known.into_iter().collect(),
            ..Speller::default()
        };
        let phrases: Vec<&str> = phrases.into_iter().collect();
        // A word that is a whole phrase somewhere fires alone once read: the stricter length holds.
        let alone: HashSet<&str> = phrases.iter().map(|p| p.trim()).filter(|p| !p.contains(' ')).collect();
        let mut seen = HashSet::new();
        for phrase in phrases {
            for word in phrase.split_whitespace() {
                let chars: Vec<char> = word.chars().collect();
                let min = if alone.contains(word) { MIN_LEN_ALONE } else { MIN_LEN };
                if chars.len() < min || !chars.iter().all(|c| c.is_alphabetic() && !is_cjk(*c)) {
                    continue;
                }
                if !seen.insert(word.to_string()) {
                    continue;
                }
                let index = speller.targets.len();
                for variant in std::iter::once(word.to_string()).chain(deletions(&chars)) {
                    let entry = speller.deletions.entry(variant).or_default();
                    if !entry.contains(&index) {
                        entry.push(index);
                    }
                }
                speller.targets.push(chars);
            }
        }
        // A word that is itself a target is spelt right.
        let targets: Vec<String> = speller.targets.iter().map(|t| t.iter().collect()).collect();
        speller.known.extend(targets);
        speller
    }

    /// Adds words never to correct (e.g. the language-identification word lists).
    pub fn know(&mut self, words: impl IntoIterator<Item = String>) {
        self.known.extend(words);
    }

    /// `normalized` with each unknown word that is one edit from a crisis word replaced by it, and
    /// what was replaced; `None` when nothing was.
    pub fn correct(&self, normalized: &str) -> Option<(String, Vec<Correction>)> {
        let mut fixes = Vec::new();
        for word in normalized.split_whitespace() {
            if let Some(target) = self.target_of(word) {
                fixes.push(Correction {
                    typed: word.to_string(),
                    read_as: target,
                });
            }
        }
        if fixes.is_empty() {
            return None;
        }
        // Rebuilt word by word, keeping normalisation's padding so whole-word matching still works.
        let mut out = String::with_capacity(normalized.len() + 8);
        out.push(' ');
        for word in normalized.split_whitespace() {
            match fixes.iter().find(|f| f.typed == word) {
                Some(f) => out.push_str(&f.read_as),
                None => out.push_str(word),
            }
            out.push(' ');
        }
        Some((out, fixes))
    }

    /// `correct` line by line, keeping the line breaks (which separate clauses); `None` when no line
    /// changed.
    pub fn correct_lines(&self, normalized: &str) -> Option<String> {
        let mut changed = false;
        let lines: Vec<String> = normalized
            .split('\n')
            .map(|line| match self.correct(line) {
                Some((fixed, _)) => {
                    changed = true;
                    fixed
                }
                None => line.to_string(),
            })
            .collect();
        changed.then(|| lines.join("\n"))
    }

    fn target_of(&self, word: &str) -> Option<String> {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() < MIN_LEN || self.known.contains(word) || !chars.iter().all(|c| c.is_alphabetic() && !is_cjk(*c)) {
            return None;
        }
        let mut candidates: Vec<usize> = std::iter::once(word.to_string())
            .chain(deletions(&chars))
            .filter_map(|v| self.deletions.get(&v))
            .flatten()
            .copied()
            .filter(|&i| is_slip(&chars, &self.targets[i]) && one_edit_apart(&chars, &self.targets[i]))
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        // Two crisis words equally near: either reading is a crisis word, the first is as good.
        candidates.first().map(|&i| self.targets[i].iter().collect())
    }
}

/// The word with each one of its letters deleted in turn.
fn deletions(chars: &[char]) -> impl Iterator<Item = String> + '_ {
    (0..chars.len()).map(|skip| chars.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, c)| c).collect())
}

/// Whether `word` is `target` slipped, not another word: the first and last letters are typed with
/// care (and "sitting", "eating", "dwelling" are not "hitting", "beating", "swelling"), and a change
/// at the end makes another form of the word ("seizures" names a topic, "responder" and "response"
/// are not "responde"), not a typo.
fn is_slip(word: &[char], target: &[char]) -> bool {
    word.first() == target.first() && word.last() == target.last() && !word.starts_with(target) && !target.starts_with(word)
}

/// Exactly one insertion, deletion, substitution or swap of neighbours turns `a` into `b`.
fn one_edit_apart(a: &[char], b: &[char]) -> bool {
    if a == b {
        return false;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    match long.len() - short.len() {
        0 => {
            let rest = |from: usize| short[from..] == long[from..];
            rest(prefix + 1)
                || (prefix + 1 < short.len() && short[prefix] == long[prefix + 1] && short[prefix + 1] == long[prefix] && rest(prefix + 2))
        }
        1 => short[prefix..] == long[prefix + 1..],
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speller() -> Speller {
        let known = ["cooking", "overdone", "classes"].map(String::from);
        Speller::new(
            ["suicidal", "overdose", "not breathing", "choking", "is choking", "unconscious"],
            known,
        )
    }

    fn read(s: &Speller, text: &str) -> Option<String> {
        s.correct(&crate::text::normalize(text)).map(|(t, _)| t.trim().to_string())
    }

    #[test]
    fn one_slip_of_the_thumb_reads_as_the_crisis_word() {
        let s = speller();
        assert_eq!(read(&s, "im suicdal"), Some("im suicidal".into()));
        assert_eq!(read(&s, "im siucidal"), Some("im suicidal".into()));
        assert_eq!(read(&s, "she is not breating"), Some("she is not breathing".into()));
        assert_eq!(read(&s, "he is unconcious"), Some("he is unconscious".into()));
        assert_eq!(read(&s, "an ovedrose"), Some("an overdose".into()));
        let (_, fixes) = s.correct(&crate::text::normalize("OVERDSOE")).unwrap();
        assert_eq!(
            fixes,
            vec![Correction {
                typed: "overdsoe".into(),
                read_as: "overdose".into()
            }]
        );
    }

    #[test]
    fn real_words_short_words_and_far_words_stay() {
        let s = speller();
        // Known words, however near.
        assert_eq!(read(&s, "cooking classes"), None);
        assert_eq!(read(&s, "the steak was overdone"), None);
        // A one-word phrase under MIN_LEN_ALONE letters is no target: "choking" alone is 7, even
        // where another phrase has the word too.
        assert_eq!(read(&s, "chocking"), None);
        assert_eq!(read(&s, "is chocking"), None);
        // Another form of the word, and a slip on the first letter.
        assert_eq!(read(&s, "overdoses in the news"), None);
        assert_eq!(read(&s, "overdosed"), None);
        assert_eq!(read(&s, "is not breathing"), None);
        assert_eq!(read(&s, "is not creathing"), None);
        // Two edits away, and spelt right.
        assert_eq!(read(&s, "sucidl overdosing"), None);
        assert_eq!(read(&s, "I am suicidal"), None);
        assert_eq!(read(&s, "自杀"), None);
    }

    #[test]
    fn one_edit_means_one() {
        let w = |s: &str| s.chars().collect::<Vec<_>>();
        assert!(one_edit_apart(&w("suicdal"), &w("suicidal")));
        assert!(one_edit_apart(&w("suicidla"), &w("suicidal")));
        assert!(one_edit_apart(&w("suicidaal"), &w("suicidal")));
        assert!(one_edit_apart(&w("suicidel"), &w("suicidal")));
        assert!(!one_edit_apart(&w("suicidal"), &w("suicidal")));
        assert!(!one_edit_apart(&w("sucidl"), &w("suicidal")));
        assert!(!one_edit_apart(&w("siucidla"), &w("suicidal")));
    }
}
