//! Regular-expression rules behind one literal gate. Running every pattern on every clause cost more
//! than all the phrase lists together (each expression scans the clause on its own, and a Unicode
//! `\b` sends non-ASCII text to the slower engines). Nearly every pattern must begin with one of a
//! few words ("took", "swallowed", "吞了"), and most messages contain none of them: one automaton
//! pass over the clause finds the few patterns worth running.

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use regex_syntax::hir::literal::{ExtractKind, Extractor};

pub struct Gated<R> {
    rules: Vec<(Regex, R)>,
    /// Every literal some pattern's match must begin with.
    gate: AhoCorasick,
    /// The pattern each literal of `gate` opens.
    opens: Vec<usize>,
    /// Patterns with no such literals (a match may begin anywhere): always run.
    always: Vec<usize>,
}

impl<R> Gated<R> {
    /// `rules` pairs each compiled expression with its source as compiled and what a match means.
    pub fn new(rules: Vec<(String, Regex, R)>) -> anyhow::Result<Gated<R>> {
        let mut literals = Vec::new();
        let mut opens = Vec::new();
        let mut always = Vec::new();
        for (i, (source, _, _)) in rules.iter().enumerate() {
            match required_literals(source) {
                Some(lits) => {
                    opens.extend(std::iter::repeat_n(i, lits.len()));
                    literals.extend(lits);
                }
                None => always.push(i),
            }
        }
        let gate = AhoCorasick::builder().match_kind(MatchKind::Standard).build(&literals)?;
        Ok(Gated {
            rules: rules.into_iter().map(|(_, regex, rule)| (regex, rule)).collect(),
            gate,
            opens,
            always,
        })
    }

    /// The first match of every pattern that matches `text`, in the order the patterns were given.
    pub fn matches<'a>(&'a self, text: &'a str) -> impl Iterator<Item = (regex::Match<'a>, &'a R)> + 'a {
        let mut candidates = self.always.clone();
        candidates.extend(self.gate.find_overlapping_iter(text).map(|m| self.opens[m.pattern().as_usize()]));
        candidates.sort_unstable();
        candidates.dedup();
        candidates.into_iter().filter_map(move |i| {
            let (regex, rule) = &self.rules[i];
            regex.find(text).map(|m| (m, rule))
        })
    }
}

/// Literals one of which every match of `source` contains: those it must begin with, or else those
/// it must end with ("\d+ ?(mg|ml)"); `None` when neither is a finite, non-empty set (the pattern
/// must then be run on every text).
fn required_literals(source: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new().build().parse(source).ok()?;
    [ExtractKind::Prefix, ExtractKind::Suffix].into_iter().find_map(|kind| {
        let seq = Extractor::new().kind(kind).extract(&hir);
        let literals = seq.literals()?;
        if literals.is_empty() || literals.iter().any(|l| l.as_bytes().is_empty()) {
            return None;
        }
        Some(literals.iter().map(|l| l.as_bytes().to_vec()).collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gated(sources: &[&str]) -> Gated<usize> {
        let rules = sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.to_string(), Regex::new(s).expect("valid"), i))
            .collect();
        Gated::new(rules).expect("builds")
    }

    fn matched(g: &Gated<usize>, text: &str) -> Vec<(usize, String)> {
        g.matches(text).map(|(m, i)| (*i, m.as_str().to_string())).collect()
    }

    #[test]
    fn patterns_are_gated_by_the_words_they_begin_or_end_with() {
        assert_eq!(
            required_literals(r"\b(took|swallowed) (\d+|all) pills\b").map(|l| l.len()),
            Some(2),
            "the alternation's words open the gate"
        );
        let units = required_literals(r"\b\d+ ?(mg|ml)\b").expect("gated by how it ends");
        assert!(
            units.iter().all(|l| l.ends_with(b"mg") || l.ends_with(b"ml")),
            "a pattern that may begin anywhere is gated by how it ends: {units:?}"
        );
        assert_eq!(required_literals(r"\w+$"), None, "neither begins nor ends with a word: never gated");
        assert_eq!(required_literals(r"(a)?pills"), Some(vec![b"apills".to_vec(), b"pills".to_vec()]));
    }

    #[test]
    fn the_gate_finds_what_running_every_pattern_finds() {
        let sources = [
            r"\b(took|swallowed) (\d+|all) (of my )?pills\b",
            r"\b\w+ bottle of bleach\b",
            r"吞了\d+片",
            r"\bdye\s*$",
            r"\b\d+ ?(mg|ml)\b",
            r"\w+$",
        ];
        let g = gated(&sources);
        for text in [
            "i took 30 of my pills",
            "i swallowed all pills and drank a bottle of bleach",
            "我吞了30片药",
            "i want to dye",
            "what are your hours",
            "took the bus to the clinic",
            "is 500mg too much",
        ] {
            let every: Vec<(usize, String)> = sources
                .iter()
                .enumerate()
                .filter_map(|(i, s)| Regex::new(s).expect("valid").find(text).map(|m| (i, m.as_str().to_string())))
                .collect();
            assert_eq!(matched(&g, text), every, "{text}");
        }
        assert_eq!(
            matched(&g, "what are your hours"),
            vec![(5, "hours".to_string())],
            "an ungated pattern still runs"
        );
    }
}
