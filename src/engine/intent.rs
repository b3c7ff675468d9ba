//! Which flow a message asks for, from the flows' trigger keywords and examples.
//!
//! Keywords are phrases an analyst vouches for: one whole-word hit starts the flow. Examples are
//! compared by shared tokens weighted by rarity (a word in every example, like "my", says little), so
//! "is my refill ready yet" matches "is my prescription ready" better than "is my bill ready".

use crate::flow::FlowSet;
use crate::lang::Lang;
use crate::text::{is_unspaced, normalize, tokens};
use aho_corasick::{AhoCorasick, MatchKind};
use std::collections::HashMap;

/// Example similarity at or above this starts a flow.
pub const EXAMPLE_THRESHOLD: f32 = 0.5;

pub struct IntentMatcher {
    keywords: AhoCorasick,
    /// Per keyword pattern: (flow index, language).
    keyword_owner: Vec<(usize, Lang)>,
    /// token -> (example index) posting lists.
    index: HashMap<String, Vec<u32>>,
    /// Per example: flow index, language, total weight.
    examples: Vec<(usize, Lang, f32)>,
    weight: HashMap<String, f32>,
    unknown_weight: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntentMatch {
    pub flow: usize,
    pub lang: Lang,
    pub score: f32,
}

impl IntentMatcher {
    pub fn new(flows: &FlowSet) -> IntentMatcher {
        let mut patterns = Vec::new();
        let mut keyword_owner = Vec::new();
        let mut example_tokens: Vec<(usize, Lang, Vec<String>)> = Vec::new();
        for (fi, flow) in flows.flows.iter().enumerate() {
            for (lang, t) in &flow.triggers {
                for k in &t.keywords {
                    patterns.push(if is_unspaced(k) { k.trim().to_string() } else { k.clone() });
                    keyword_owner.push((fi, *lang));
                }
                for e in &t.examples {
                    let mut toks = tokens(&normalize(e));
                    toks.sort();
                    toks.dedup();
                    example_tokens.push((fi, *lang, toks));
                }
            }
        }
        let mut df: HashMap<String, u32> = HashMap::new();
        for (_, _, toks) in &example_tokens {
            for t in toks {
                *df.entry(t.clone()).or_default() += 1;
            }
        }
        let n = example_tokens.len().max(1) as f32;
        let weight: HashMap<String, f32> = df.iter().map(|(t, d)| (t.clone(), (1.0 + n / *d as f32).ln())).collect();
        let unknown_weight = (1.0 + n).ln();
        let mut index: HashMap<String, Vec<u32>> = HashMap::new();
        let mut examples = Vec::new();
        for (i, (fi, lang, toks)) in example_tokens.into_iter().enumerate() {
            let total: f32 = toks.iter().map(|t| weight[t]).sum();
            for t in toks {
                index.entry(t).or_default().push(i as u32);
            }
            examples.push((fi, lang, total));
        }
        let keywords = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .expect("keywords are plain strings");
        IntentMatcher {
            keywords,
            keyword_owner,
            index,
            examples,
            weight,
            unknown_weight,
        }
    }

    /// The best flow for `norm` (text already through `text::normalize`) among flows `allowed` by
    /// index, if any clears the bar. Keyword hits outrank example similarity; among equals the flow
    /// whose trigger is in `prefer` wins.
    pub fn best(&self, norm: &str, prefer: Lang, allowed: impl Fn(usize) -> bool) -> Option<IntentMatch> {
        let mut best: Option<IntentMatch> = None;
        let mut consider = |m: IntentMatch| {
            let better = match best {
                None => true,
                Some(b) => m.score > b.score || (m.score == b.score && m.lang == prefer && b.lang != prefer),
            };
            if better {
                best = Some(m);
            }
        };
        for m in self.keywords.find_overlapping_iter(norm) {
            let (flow, lang) = self.keyword_owner[m.pattern().as_usize()];
            if allowed(flow) {
                // Longer keywords are more specific: "talk to a person" beats "person".
                consider(IntentMatch {
                    flow,
                    lang,
                    score: 1.0 + m.len() as f32 / 1000.0,
                });
            }
        }
        let mut toks = tokens(norm);
        toks.sort();
        toks.dedup();
        let msg_weight: f32 = toks
            .iter()
            .map(|t| self.weight.get(t).copied().unwrap_or(self.unknown_weight))
            .sum();
        if msg_weight > 0.0 {
            let mut shared: HashMap<u32, f32> = HashMap::new();
            for t in &toks {
                if let (Some(post), Some(w)) = (self.index.get(t), self.weight.get(t)) {
                    for &e in post {
                        *shared.entry(e).or_default() += w;
                    }
                }
            }
            for (e, common) in shared {
                let (flow, lang, total) = self.examples[e as usize];
                let score = common / (msg_weight * total).sqrt();
                if score >= EXAMPLE_THRESHOLD && allowed(flow) {
                    consider(IntentMatch { flow, lang, score });
                }
            }
        }
        best
    }
}
