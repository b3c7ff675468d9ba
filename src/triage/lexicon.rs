//! Risk lexicons: per-language phrase lists and patterns under `models/triage/<lang>.yaml`, which
//! analysts read and extend (format and rules: `docs/triage-models.md`).
//!
//! Keyword lists are fooled by negation ("I would never hurt myself"), idioms ("this bill is killing
//! me"), other people and the news ("my friend said she was suicidal", "suicidal lyrics") and the past
//! ("I tried years ago"). So each phrase match is weighed against the *markers* around it in its
//! clause: the same files list those markers, and the rules that combine them are small and written
//! down. Markers only ever soften a verdict when their words are there: unsure stays crisis.
//!
//! Every language's phrases are matched on every message (one Aho-Corasick automaton over all of
//! them): a crisis is recognised whatever language the chat was detected as.

use crate::lang::Lang;
use crate::text::{is_cjk, is_unspaced, normalize};
use crate::triage::gate::Gated;
use crate::triage::spelling::Speller;
use crate::triage::{CrisisKind, Evidence, Risk, RiskLevel};
use aho_corasick::{AhoCorasick, MatchKind};
use anyhow::Context;
use regex::Regex;
use std::path::Path;

/// What a phrase or pattern raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raises {
    Crisis(CrisisKind),
    Distress,
    Clinical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Negation,
    NegationAfter,
    Now,
    Idiom,
    ThirdParty,
    FirstPerson,
    Media,
    Past,
}

const MARKERS: [(&str, Marker); 8] = [
    ("negation", Marker::Negation),
    ("negation_after", Marker::NegationAfter),
    ("now", Marker::Now),
    ("idioms", Marker::Idiom),
    ("third_party", Marker::ThirdParty),
    ("first_person", Marker::FirstPerson),
    ("media", Marker::Media),
    ("past", Marker::Past),
];

const CRISIS_KINDS: [(&str, CrisisKind); 3] = [
    ("self_harm", CrisisKind::SelfHarm),
    ("emergency", CrisisKind::Emergency),
    ("violence", CrisisKind::Violence),
];

/// The most words a negation may stand before the phrase it denies.
const NEGATION_REACH: usize = 1;
/// The most words between a phrase and a denial that follows it ("자해할 생각은 전혀 없어요": the
/// thought of self-harm, at all, there is none).
const NEGATION_AFTER_REACH: usize = 2;

struct Rule<T> {
    what: T,
    lang: Lang,
    /// As the analyst wrote it: shown to agents as evidence.
    written: String,
}

pub struct Lexicon {
    year: Regex,
    phrases: AhoCorasick,
    phrase_rules: Vec<Rule<Raises>>,
    patterns: Gated<Rule<Raises>>,
    markers: AhoCorasick,
    marker_rules: Vec<Rule<Marker>>,
    speller: Speller,
    parts: AhoCorasick,
    part_rules: Vec<Part>,
    combinations: Vec<Combination>,
}

/// A crisis told across a message rather than in one phrase ("thank you for everything" ... "I won't
/// be around after tonight"): it counts when every group has a phrase somewhere in the message.
/// Word lists enumerate phrases; a combination multiplies its groups, so it meets wordings nobody
/// listed.
struct Combination {
    name: String,
    kind: CrisisKind,
    lang: Lang,
    groups: usize,
}

/// One phrase of one group of a combination.
struct Part {
    combination: usize,
    group: usize,
    written: String,
}

/// Phrases of both kinds on their way into an automaton.
#[derive(Default)]
struct Builder {
    phrases: Vec<String>,
    phrase_rules: Vec<Rule<Raises>>,
    /// Each pattern as compiled, the expression, and its rule.
    patterns: Vec<(String, Regex, Rule<Raises>)>,
    markers: Vec<String>,
    marker_rules: Vec<Rule<Marker>>,
    /// Real words that look like a typo of a crisis word (`not_misspellings`).
    not_misspellings: Vec<String>,
    parts: Vec<String>,
    part_rules: Vec<Part>,
    combinations: Vec<Combination>,
}

/// A phrase as the automaton matches it: padded for whole words, bare for unspaced scripts.
fn pattern_of(phrase: &str) -> Option<String> {
    let norm = normalize(phrase);
    if norm.trim().is_empty() {
        return None;
    }
    Some(if is_unspaced(&norm) { norm.trim().to_string() } else { norm })
}

/// A pattern as written, spelt the way normalised messages are: accents stripped and runs of one
/// letter collapsed, so `pills` in a pattern meets `PILLLS` (normalised `pils`) in a message. Case is
/// left alone: it carries meaning in regex escapes (`\B`, `\D`); messages are lower case already.
fn pattern_source(source: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let mut out = String::with_capacity(source.len());
    let mut last = None;
    for c in source.nfkd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphabetic() && Some(c) == last {
            continue;
        }
        out.push(c);
        last = Some(c);
    }
    out
}

impl Lexicon {
    /// Loads `<lang>.yaml` for each language that has one; a malformed file is an error naming the
    /// file, the line and the fix.
    pub fn load(dir: &Path) -> anyhow::Result<Lexicon> {
        let mut b = Builder::default();
        for lang in Lang::ALL {
            let path = dir.join(format!("{lang}.yaml"));
            if !path.exists() {
                continue;
            }
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            b.read_file(lang, &path.display().to_string(), &text)?;
        }
        b.build()
    }

    /// Words never to read as a typo of a crisis word: the language-identification word lists.
    pub fn know_words(&mut self, words: impl IntoIterator<Item = String>) {
        self.speller.know(words);
    }

    /// The most urgent level the message raises, with every phrase of that level as evidence.
    /// `message_lang` (the detected language, when known) adds its markers to every match: "hindi po
    /// ako suicidal" is a Tagalog denial of an English word.
    pub fn risk(&self, text: &str, message_lang: Option<Lang>) -> Option<Risk> {
        let mut best: Option<Risk> = None;
        for clause in clauses(text) {
            let norm = normalize(clause);
            for (level, evidence) in self.read_clause(&norm, message_lang) {
                keep_most_urgent(&mut best, level, evidence);
            }
        }
        // Clauses joined by line breaks: a combination's part cannot span two, and markers are read
        // in the clauses its parts are in.
        let whole: String = clauses(text).map(normalize).collect::<Vec<_>>().join("\n");
        if !self.combinations.is_empty() {
            let fixed = self.speller.correct_lines(&whole);
            for norm in std::iter::once(&whole).chain(&fixed) {
                for (level, evidence) in self.combination_verdicts(norm, message_lang) {
                    keep_most_urgent(&mut best, level, evidence);
                }
            }
        }
        self.raise_if_happening_now(best, &whole, message_lang)
    }

    /// Someone else's self-harm is distress ("my friend said she was suicidal": worth a human), but
    /// when the message says it is happening now ("she just texted goodbye", "I can't reach her",
    /// "he is trying to jump"), it is a crisis: a `now` marker anywhere in the message, of the
    /// phrase's language or the message's, raises those softened matches back.
    fn raise_if_happening_now(&self, risk: Option<Risk>, whole: &str, message_lang: Option<Lang>) -> Option<Risk> {
        let risk = match risk {
            Some(r) if r.level == RiskLevel::Distress => r,
            other => return other,
        };
        let (markers, _) = self.markers_in(whole);
        let raised: Vec<Evidence> = risk
            .evidence
            .iter()
            .filter(|e| e.kind == Some(CrisisKind::SelfHarm))
            .filter_map(|e| {
                let about = e.context.as_deref().filter(|c| c.starts_with("third party"))?;
                let now = markers
                    .iter()
                    .find(|m| m.what == Marker::Now && (m.lang == e.lang || Some(m.lang) == message_lang))?;
                Some(Evidence {
                    context: Some(format!("{about}, now: {}", now.written)),
                    ..e.clone()
                })
            })
            .collect();
        if raised.is_empty() {
            return Some(risk);
        }
        Some(Risk {
            level: RiskLevel::Crisis,
            evidence: raised,
        })
    }

    /// Combinations found in the message (its normalised clauses joined by line breaks). Each group
    /// takes its first phrase that is neither inside an idiom nor denied just before ("di
    /// nagsusuka"); a complete combination is weighed like a phrase with the markers of the clauses
    /// its parts are in, except that a third party softens it only when no first-person word is
    /// there: "mom, thank you for everything, I won't be around" is the writer's farewell.
    fn combination_verdicts(&self, norm: &str, message_lang: Option<Lang>) -> Vec<(RiskLevel, Evidence)> {
        let matches: Vec<(usize, usize, &Part)> = self
            .parts
            .find_overlapping_iter(norm)
            .map(|m| {
                let (start, end) = trim_span(norm, m.start(), m.end());
                (start, end, &self.part_rules[m.pattern().as_usize()])
            })
            .collect();
        if matches.is_empty() {
            return Vec::new();
        }
        let (markers, year) = self.markers_in(norm);
        let clause_of = |at: usize| norm[..at].matches('\n').count();
        let mut out = Vec::new();
        // Only the combinations some part of the message belongs to can be complete.
        let mut touched: Vec<usize> = matches.iter().map(|(_, _, p)| p.combination).collect();
        touched.sort_unstable();
        touched.dedup();
        for index in touched {
            let combination = &self.combinations[index];
            let own = |m: &&Found<'_, Marker>| m.lang == combination.lang || Some(m.lang) == message_lang;
            let context = Surroundings {
                norm,
                markers: markers.iter().filter(own).collect(),
            };
            let parts: Option<Vec<(usize, usize, &str)>> = (0..combination.groups)
                .map(|group| {
                    matches
                        .iter()
                        .filter(|(_, _, p)| p.combination == index && p.group == group)
                        .find(|(s, e, _)| !context.in_idiom(*s, *e) && !context.denied(*s, *e))
                        .map(|(s, e, p)| (*s, *e, p.written.as_str()))
                })
                .collect();
            let Some(parts) = parts else { continue };
            let written = format!(
                "{}: {}",
                combination.name,
                parts.iter().map(|p| p.2).collect::<Vec<_>>().join(" + ")
            );
            let hit = Found {
                start: parts.iter().map(|p| p.0).min().unwrap_or(0),
                end: parts.iter().map(|p| p.1).max().unwrap_or(0),
                what: Raises::Crisis(combination.kind),
                lang: combination.lang,
                written: &written,
            };
            let clauses: Vec<usize> = parts.iter().map(|p| clause_of(p.0)).collect();
            let near: Vec<&Found<'_, Marker>> = markers
                .iter()
                .filter(own)
                .chain(&year)
                .filter(|m| clauses.contains(&clause_of(m.start)))
                .collect();
            let writer_there = near.iter().any(|m| m.what == Marker::FirstPerson);
            let context = Surroundings {
                norm,
                markers: near
                    .into_iter()
                    // Denials were read part by part above; the writer outweighs anyone addressed.
                    .filter(|m| match m.what {
                        Marker::Negation | Marker::NegationAfter => false,
                        Marker::ThirdParty => !writer_there,
                        _ => true,
                    })
                    .collect(),
            };
            if let Some(verdict) = context.weigh(&hit) {
                out.push(verdict);
            }
        }
        out
    }

    /// The clause's verdicts; read again with typos of crisis words corrected (`spelling`), and
    /// that reading taken when, and only when, it finds a crisis the words as typed did not.
    fn read_clause(&self, norm: &str, message_lang: Option<Lang>) -> Vec<(RiskLevel, Evidence)> {
        let as_typed = self.clause_verdicts(norm, message_lang);
        let Some((fixed, fixes)) = self.speller.correct(norm) else {
            return as_typed;
        };
        let crises = |v: &[(RiskLevel, Evidence)]| v.iter().filter(|(l, _)| *l == RiskLevel::Crisis).count();
        let read = self.clause_verdicts(&fixed, message_lang);
        if crises(&read) <= crises(&as_typed) {
            return as_typed;
        }
        // The agent sees which words were read as what.
        let note = fixes
            .iter()
            .map(|f| format!("read \"{}\" as \"{}\"", f.typed, f.read_as))
            .collect::<Vec<_>>()
            .join(", ");
        read.into_iter()
            .map(|(level, mut evidence)| {
                let new = !as_typed.iter().any(|(l, e)| *l == level && *e == evidence);
                if level == RiskLevel::Crisis && new && evidence.context.is_none() {
                    evidence.context = Some(note.clone());
                }
                (level, evidence)
            })
            .collect()
    }

    /// The markers in a normalised text, and a year ("in 2019", "2019년"), which dates what the text
    /// tells: a past marker in every language.
    fn markers_in<'a>(&'a self, norm: &'a str) -> (Vec<Found<'a, Marker>>, Option<Found<'a, Marker>>) {
        let markers = self
            .markers
            .find_overlapping_iter(norm)
            .map(|m| Found::new(norm, m.start(), m.end(), &self.marker_rules[m.pattern().as_usize()]))
            .collect();
        let year = self.year.find(norm).map(|m| {
            let (start, end) = trim_span(norm, m.start(), m.end());
            Found {
                start,
                end,
                what: Marker::Past,
                lang: Lang::En,
                written: &norm[start..end],
            }
        });
        (markers, year)
    }

    /// Every verdict one normalised clause raises once markers are weighed.
    fn clause_verdicts(&self, norm: &str, message_lang: Option<Lang>) -> Vec<(RiskLevel, Evidence)> {
        let (markers, year) = self.markers_in(norm);
        let mut hits: Vec<Found<Raises>> = self
            .phrases
            .find_overlapping_iter(norm)
            .map(|m| Found::new(norm, m.start(), m.end(), &self.phrase_rules[m.pattern().as_usize()]))
            .collect();
        for (m, rule) in self.patterns.matches(norm) {
            hits.push(Found::new(norm, m.start(), m.end(), rule));
        }
        // Per hit, the markers of every language that has this very phrase ("suicide" is English and
        // French), of the message's language, and the year, which every language shares.
        let contexts: Vec<Surroundings> = hits
            .iter()
            .map(|hit| {
                let langs: Vec<Lang> = hits
                    .iter()
                    .filter(|h| h.span() == hit.span())
                    .map(|h| h.lang)
                    .chain(message_lang)
                    .collect();
                Surroundings {
                    norm,
                    markers: markers.iter().filter(|m| langs.contains(&m.lang)).chain(&year).collect(),
                }
            })
            .collect();
        // A denied phrase denies the phrases inside it: "no me quiero morir" also holds "quiero morir".
        let denied: Vec<(usize, usize)> = hits
            .iter()
            .zip(&contexts)
            .filter(|(h, context)| matches!(h.what, Raises::Crisis(_)) && context.negated(h))
            .map(|(h, _)| h.span())
            .collect();
        let mut out = Vec::new();
        for (hit, context) in hits.iter().zip(&contexts) {
            if matches!(hit.what, Raises::Crisis(_)) && denied.iter().any(|(s, e)| *s <= hit.start && hit.end <= *e) {
                continue;
            }
            if inside_idiom(&markers, hit.start, hit.end) {
                continue;
            }
            if let Some(verdict) = context.weigh(hit) {
                out.push(verdict);
            }
        }
        out
    }
}

/// The span lies inside an idiom ("dying to know"): a risk phrase there means nothing.
fn inside_idiom<'a, 'b: 'a>(markers: impl IntoIterator<Item = &'a Found<'b, Marker>>, start: usize, end: usize) -> bool {
    markers
        .into_iter()
        .any(|m| m.what == Marker::Idiom && m.start <= start && end <= m.end)
}

/// Folds one verdict into the message's: the most urgent level wins, with every evidence of it.
fn keep_most_urgent(best: &mut Option<Risk>, level: RiskLevel, evidence: Evidence) {
    match best {
        Some(r) if r.level == level => {
            if !r.evidence.contains(&evidence) {
                r.evidence.push(evidence)
            }
        }
        Some(r) if r.level < level => {}
        _ => {
            *best = Some(Risk {
                level,
                evidence: vec![evidence],
            })
        }
    }
}

/// A phrase or marker found in a clause, with its byte span and the rule's text as written.
struct Found<'a, T> {
    start: usize,
    end: usize,
    what: T,
    lang: Lang,
    written: &'a str,
}

impl<'a, T: Copy> Found<'a, T> {
    fn new(norm: &str, start: usize, end: usize, rule: &'a Rule<T>) -> Found<'a, T> {
        // Whole-word patterns carry their padding spaces; the span is the words.
        let (start, end) = trim_span(norm, start, end);
        Found {
            start,
            end,
            what: rule.what,
            lang: rule.lang,
            written: &rule.written,
        }
    }

    fn span(&self) -> (usize, usize) {
        (self.start, self.end)
    }
}

fn trim_span(norm: &str, mut start: usize, mut end: usize) -> (usize, usize) {
    while start < end && norm.as_bytes()[start] == b' ' {
        start += 1;
    }
    while end > start && norm.as_bytes()[end - 1] == b' ' {
        end -= 1;
    }
    (start, end)
}

/// The markers around a hit, from the languages the hit's phrase belongs to.
struct Surroundings<'a> {
    norm: &'a str,
    markers: Vec<&'a Found<'a, Marker>>,
}

impl Surroundings<'_> {
    /// Applies the rules of `docs/triage-models.md` to one hit.
    fn weigh(&self, hit: &Found<'_, Raises>) -> Option<(RiskLevel, Evidence)> {
        let evidence = |kind: Option<CrisisKind>, context: Option<String>| Evidence {
            phrase: hit.written.to_string(),
            lang: hit.lang,
            kind,
            context,
        };
        let kind = match hit.what {
            Raises::Distress => return Some((RiskLevel::Distress, evidence(None, None))),
            Raises::Clinical => return Some((RiskLevel::Clinical, evidence(None, None))),
            Raises::Crisis(kind) => kind,
        };
        if self.negated(hit) {
            return None;
        }
        let person = self.nearest_person(hit);
        let about_writer = person.is_some_and(|p| p.what == Marker::FirstPerson);
        if !about_writer && self.any(Marker::Media).is_some() {
            return None;
        }
        if let Some(past) = self.any(Marker::Past) {
            let note = Some(format!("past: {}", past.written));
            return match kind {
                CrisisKind::Emergency => None,
                CrisisKind::SelfHarm | CrisisKind::Violence => Some((RiskLevel::Distress, evidence(Some(kind), note))),
            };
        }
        if let Some(other) = person.filter(|p| p.what == Marker::ThirdParty && kind == CrisisKind::SelfHarm) {
            let note = Some(format!("third party: {}", other.written));
            return Some((RiskLevel::Distress, evidence(Some(kind), note)));
        }
        Some((RiskLevel::Crisis, evidence(Some(kind), None)))
    }

    fn any(&self, marker: Marker) -> Option<&Found<'_, Marker>> {
        self.markers.iter().copied().find(|m| m.what == marker)
    }

    /// A negation just before the hit, with no new subject in between ("never said I want to die"
    /// is not a denial).
    fn negated(&self, hit: &Found<'_, Raises>) -> bool {
        self.denied(hit.start, hit.end)
    }

    /// A negation ends at most `NEGATION_REACH` words before `start`, with no first-person word
    /// after it ("never said I want to die" is no denial); or a denial that follows (`negation_after`,
    /// for languages that deny after the verb) starts at most `NEGATION_AFTER_REACH` words after `end`.
    fn denied(&self, start: usize, end: usize) -> bool {
        self.markers.iter().any(|neg| match neg.what {
            Marker::Negation => {
                neg.end <= start
                    && words_between(self.norm, neg.end, start) <= NEGATION_REACH
                    && !self
                        .markers
                        .iter()
                        .any(|p| p.what == Marker::FirstPerson && p.start >= neg.end && p.end <= start)
            }
            Marker::NegationAfter => neg.start >= end && words_between(self.norm, end, neg.start) <= NEGATION_AFTER_REACH,
            _ => false,
        })
    }

    fn in_idiom(&self, start: usize, end: usize) -> bool {
        inside_idiom(self.markers.iter().copied(), start, end)
    }

    /// The person marker that starts closest before the hit, or where it starts: who the phrase is
    /// about. A first-person verb opening the phrase counts ("хочу умереть", "gusto kong mamatay"
    /// carry their "I" in the verb), and of two markers starting together the longer ("my son", not
    /// "my") wins.
    fn nearest_person(&self, hit: &Found<'_, Raises>) -> Option<&Found<'_, Marker>> {
        self.markers
            .iter()
            .copied()
            .filter(|m| matches!(m.what, Marker::ThirdParty | Marker::FirstPerson) && m.start <= hit.start && m.end <= hit.end)
            .max_by_key(|m| (m.start, m.end - m.start))
    }
}

/// Words between two byte offsets; in unspaced scripts, about two characters make a word.
fn words_between(norm: &str, from: usize, to: usize) -> usize {
    let gap = &norm[from..to];
    let cjk = gap.chars().filter(|c| is_cjk(*c)).count();
    gap.split_whitespace().filter(|w| !w.chars().all(is_cjk)).count() + cjk.div_ceil(2)
}

/// Clauses: negation, people and tense are read within one, so "no aguanto más, me quiero morir"
/// keeps its crisis.
fn clauses(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| {
        matches!(
            c,
            '.' | ',' | '!' | '?' | ';' | ':' | '\n' | '。' | '，' | '！' | '？' | '؟' | '،' | '؛'
        )
    })
    .filter(|c| !c.trim().is_empty())
}

impl Builder {
    fn build(self) -> anyhow::Result<Lexicon> {
        let automaton = |patterns: &[String]| {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(patterns)
                .context("building a lexicon automaton")
        };
        let crisis_phrases = self
            .phrases
            .iter()
            .zip(&self.phrase_rules)
            .filter(|(_, rule)| matches!(rule.what, Raises::Crisis(_)))
            .map(|(p, _)| p.as_str());
        let known = self
            .phrases
            .iter()
            .chain(&self.markers)
            .chain(&self.parts)
            .chain(&self.not_misspellings)
            .flat_map(|p| p.split_whitespace())
            .map(str::to_string)
            .collect::<Vec<_>>();
        let speller = Speller::new(crisis_phrases, known);
        Ok(Lexicon {
            speller,
            parts: automaton(&self.parts)?,
            part_rules: self.part_rules,
            combinations: self.combinations,
            year: Regex::new(r"(?:^|[^0-9])(?:19|20)[0-9]{2}(?:[^0-9]|$)").expect("a fixed, valid expression"),
            phrases: automaton(&self.phrases)?,
            phrase_rules: self.phrase_rules,
            patterns: Gated::new(self.patterns).context("building the patterns' gate")?,
            markers: automaton(&self.markers)?,
            marker_rules: self.marker_rules,
        })
    }

    fn read_file(&mut self, lang: Lang, file: &str, text: &str) -> anyhow::Result<()> {
        let node = crate::yaml::parse(text).map_err(|e| anyhow::anyhow!("{file}:{}: {}", e.line, e.message))?;
        let mut diags = crate::diagnostic::Diagnostics::new(file);
        let mut map = crate::yaml::MapReader::new(&node, "a risk lexicon", &mut diags);
        if let Some(crisis) = map.get("crisis") {
            let mut kinds = crate::yaml::MapReader::new(&crisis, "`crisis`", &mut diags);
            for (key, kind) in CRISIS_KINDS {
                if let Some(list) = kinds.get(key) {
                    self.add_phrases(lang, Raises::Crisis(kind), &list.strings(key, &mut diags));
                }
            }
            kinds.finish(&CRISIS_KINDS.map(|k| k.0), &mut diags);
        }
        for (key, raises) in [("distress", Raises::Distress), ("clinical", Raises::Clinical)] {
            if let Some(list) = map.get(key) {
                self.add_phrases(lang, raises, &list.strings(key, &mut diags));
            }
        }
        if let Some(patterns) = map.get("patterns") {
            let mut levels = crate::yaml::MapReader::new(&patterns, "`patterns`", &mut diags);
            // A crisis pattern counts as self-harm: the kind every softening rule treats most carefully.
            for (key, raises) in [
                ("crisis", Raises::Crisis(CrisisKind::SelfHarm)),
                ("distress", Raises::Distress),
                ("clinical", Raises::Clinical),
            ] {
                let Some(list) = levels.get(key) else { continue };
                for node in list.list(key, &mut diags) {
                    let Some(source) = node.string("a pattern", &mut diags) else {
                        continue;
                    };
                    let compiled = pattern_source(&source);
                    match Regex::new(&compiled) {
                        Ok(regex) => self.patterns.push((
                            compiled,
                            regex,
                            Rule {
                                what: raises,
                                lang,
                                written: source,
                            },
                        )),
                        Err(e) => diags.push(
                            node.line,
                            format!("pattern `{source}` is not a valid regular expression: {e}"),
                            "fix the expression (Rust regex syntax: no look-around or back-references)",
                        ),
                    }
                }
            }
            levels.finish(&["crisis", "distress", "clinical"], &mut diags);
        }
        for (key, marker) in MARKERS {
            if let Some(list) = map.get(key) {
                for written in list.strings(key, &mut diags) {
                    if let Some(p) = pattern_of(&written) {
                        self.markers.push(p);
                        self.marker_rules.push(Rule {
                            what: marker,
                            lang,
                            written,
                        });
                    }
                }
            }
        }
        if let Some(list) = map.get("combinations") {
            for node in list.list("combinations", &mut diags) {
                self.read_combination(lang, &node, &mut diags);
            }
        }
        if let Some(list) = map.get("not_misspellings") {
            let words = list.strings("not_misspellings", &mut diags);
            self.not_misspellings.extend(words.iter().map(|w| normalize(w)));
        }
        let known: Vec<&str> = ["crisis", "distress", "clinical", "patterns", "combinations", "not_misspellings"]
            .into_iter()
            .chain(MARKERS.map(|m| m.0))
            .collect();
        map.finish(&known, &mut diags);
        if let Some(d) = diags.list.first() {
            anyhow::bail!("{d}");
        }
        Ok(())
    }

    /// `{name, kind, all: [[phrases of group 1], [group 2], ...]}`.
    fn read_combination(&mut self, lang: Lang, node: &crate::yaml::Node, diags: &mut crate::diagnostic::Diagnostics) {
        let mut map = crate::yaml::MapReader::new(node, "a combination", diags);
        let name = map.require_string("name", diags);
        let kind = map.require_string("kind", diags).and_then(|k| {
            let kind = CRISIS_KINDS.iter().find(|(n, _)| *n == k).map(|(_, kind)| *kind);
            if kind.is_none() {
                diags.push(
                    node.line,
                    format!("combination kind `{k}` is not a crisis kind"),
                    "write `kind: self_harm`, `kind: emergency` or `kind: violence`",
                );
            }
            kind
        });
        let groups: Vec<Vec<String>> = map
            .require("all", diags)
            .map(|all| {
                all.list("`all`", diags)
                    .iter()
                    .map(|group| group.strings("a group of `all`", diags))
                    .collect()
            })
            .unwrap_or_default();
        map.finish(&["name", "kind", "all"], diags);
        if groups.len() < 2 || groups.iter().any(Vec::is_empty) {
            diags.push(
                node.line,
                "a combination needs two or more groups under `all`, none of them empty",
                "list each group as `- [phrase, phrase]`; a single list of phrases belongs under `crisis:` instead",
            );
            return;
        }
        let (Some(name), Some(kind)) = (name, kind) else { return };
        let combination = self.combinations.len();
        for (group, phrases) in groups.iter().enumerate() {
            for written in phrases {
                if let Some(p) = pattern_of(written) {
                    self.parts.push(p);
                    self.part_rules.push(Part {
                        combination,
                        group,
                        written: written.clone(),
                    });
                }
            }
        }
        self.combinations.push(Combination {
            name,
            kind,
            lang,
            groups: groups.len(),
        });
    }

    fn add_phrases(&mut self, lang: Lang, raises: Raises, phrases: &[String]) {
        for written in phrases {
            if let Some(p) = pattern_of(written) {
                self.phrases.push(p);
                self.phrase_rules.push(Rule {
                    what: raises,
                    lang,
                    written: written.clone(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon(yaml: &str) -> Lexicon {
        lexicon_in(Lang::En, yaml)
    }

    fn lexicon_in(lang: Lang, yaml: &str) -> Lexicon {
        let mut b = Builder::default();
        b.read_file(lang, &format!("{lang}.yaml"), yaml).unwrap();
        b.build().unwrap()
    }

    const EN: &str = "
crisis:
  self_harm: [kill myself, suicidal, want to die]
  emergency: [chest pain, stroke]
  violence: [hits me]
distress: [scared]
clinical: [side effects]
patterns:
  crisis: ['\\btook \\d+ pills\\b']
negation: [never, dont]
idioms: [dying to know]
third_party: [my friend, she]
first_person: [i, me, my]
media: [lyrics, movie]
past: [years ago, last year]
";

    fn level(lex: &Lexicon, text: &str) -> Option<RiskLevel> {
        lex.risk(text, None).map(|r| r.level)
    }

    #[test]
    fn markers_soften_only_when_their_words_are_there() {
        let lex = lexicon(EN);
        assert_eq!(level(&lex, "I want to die"), Some(RiskLevel::Crisis));
        assert_eq!(level(&lex, "I would never kill myself"), None);
        assert_eq!(level(&lex, "I never said it but I want to die"), Some(RiskLevel::Crisis));
        assert_eq!(level(&lex, "dont worry, I want to die"), Some(RiskLevel::Crisis));
        assert_eq!(level(&lex, "my friend said she was suicidal"), Some(RiskLevel::Distress));
        assert_eq!(level(&lex, "I told my friend I want to die"), Some(RiskLevel::Crisis));
        assert_eq!(level(&lex, "suicidal lyrics in that song"), None);
        assert_eq!(level(&lex, "that movie made me suicidal"), Some(RiskLevel::Crisis));
        assert_eq!(level(&lex, "I tried to kill myself years ago"), Some(RiskLevel::Distress));
        assert_eq!(level(&lex, "I had a stroke last year, is rehab covered"), None);
        assert_eq!(level(&lex, "my friend has chest pain"), Some(RiskLevel::Crisis));
        assert_eq!(level(&lex, "I took 30 pills"), Some(RiskLevel::Crisis));
        assert_eq!(level(&lex, "I had a stroke in 2019, do I put it on the form"), None);
        assert_eq!(level(&lex, "I dont want to die, just need my refill"), None);
    }

    #[test]
    fn evidence_names_the_phrase_its_kind_and_why_it_was_softened() {
        let lex = lexicon(EN);
        let risk = lex.risk("My friend said she is SUICIDAL", None).unwrap();
        assert_eq!(
            risk.evidence,
            vec![Evidence {
                phrase: "suicidal".into(),
                lang: Lang::En,
                kind: Some(CrisisKind::SelfHarm),
                context: Some("third party: she".into()),
            }]
        );
        let risk = lex.risk("scared of the side effects", None).unwrap();
        assert_eq!((risk.level, risk.evidence[0].phrase.as_str()), (RiskLevel::Distress, "scared"));
    }

    #[test]
    fn a_typo_of_a_crisis_word_is_read_only_to_find_a_crisis() {
        let lex = lexicon("crisis:\n  emergency: [not breathing, throat swelling]\nclinical: [swelling]\nnot_misspellings: [overdone]\n");
        let risk = lex.risk("my wife is not breating", None).unwrap();
        assert_eq!(risk.level, RiskLevel::Crisis);
        assert_eq!(risk.evidence[0].context.as_deref(), Some("read \"breating\" as \"breathing\""));
        // "selling" is one letter from "swelling", but reading it so finds no crisis: left as typed.
        assert_eq!(level(&lex, "I am selling my car"), None);
        assert_eq!(level(&lex, "the throat sweling is bad"), Some(RiskLevel::Crisis));
    }

    const FAREWELL: &str = "
crisis:
  self_harm: [kill myself]
combinations:
  - name: farewell and an ending
    kind: self_harm
    all:
      - [thank you for everything, goodbye]
      - [wont be around, after tonight]
  - name: head injury and vomiting
    kind: emergency
    all:
      - [hit his head, hit her head]
      - [vomiting, throwing up]
negation: [not, no]
third_party: [my friend, mom]
first_person: [i]
media: [movie]
past: [last year]
idioms: [goodbye to my old phone]
";

    #[test]
    fn a_combination_counts_when_every_group_is_there_in_any_clause() {
        let lex = lexicon(FAREWELL);
        let risk = lex
            .risk("just wanted to say thank you for everything. I won't be around", None)
            .unwrap();
        assert_eq!(risk.level, RiskLevel::Crisis);
        assert_eq!(
            risk.evidence[0].phrase,
            "farewell and an ending: thank you for everything + wont be around"
        );
        assert_eq!(risk.evidence[0].kind, Some(CrisisKind::SelfHarm));
        // One group alone is a thank-you.
        assert_eq!(level(&lex, "thank you for everything, see you next week"), None);
        // The same markers weigh it as they weigh a phrase.
        assert_eq!(
            level(&lex, "my friend texted goodbye, she wont be around"),
            Some(RiskLevel::Distress)
        );
        assert_eq!(level(&lex, "in the movie he says goodbye, after tonight hes gone"), None);
        assert_eq!(level(&lex, "goodbye to my old phone after tonight"), None);
    }

    #[test]
    fn a_combination_reads_denials_and_markers_where_its_parts_are() {
        let lex = lexicon(FAREWELL);
        // A denied part does not count; the same idea said plainly later does.
        assert_eq!(level(&lex, "he hit his head but is not vomiting"), None);
        assert_eq!(
            level(&lex, "he hit his head, not sure why but now hes vomiting"),
            Some(RiskLevel::Crisis)
        );
        // A past marker in another clause dates that clause only.
        assert_eq!(
            level(&lex, "last year was rough. he hit his head and is throwing up"),
            Some(RiskLevel::Crisis)
        );
        assert_eq!(level(&lex, "last year he hit his head and was throwing up"), None);
        // Someone addressed is not the subject when the writer speaks of themself.
        assert_eq!(
            level(&lex, "mom, thank you for everything. I wont be around"),
            Some(RiskLevel::Crisis)
        );
    }

    #[test]
    fn a_denial_after_the_phrase_denies_it_where_the_language_puts_it_there() {
        let lex = lexicon_in(
            Lang::Ko,
            "crisis:\n  self_harm: [자해]\nnegation_after: [생각은 전혀 없, 안 해요]\n",
        );
        assert_eq!(level(&lex, "자해할 생각은 전혀 없어요 그냥 처방전 문의예요"), None);
        assert_eq!(level(&lex, "자해 안 해요"), None);
        assert_eq!(level(&lex, "어제 자해했어요 또 하고 싶어요"), Some(RiskLevel::Crisis));
    }

    #[test]
    fn someone_elses_self_harm_happening_now_is_a_crisis() {
        let yaml = format!("{EN}now:\n  - just texted\n  - cant reach her\n");
        let lex = lexicon(&yaml);
        assert_eq!(level(&lex, "my friend said she was suicidal"), Some(RiskLevel::Distress));
        let risk = lex
            .risk("my friend just texted that she is suicidal, I cant reach her", None)
            .unwrap();
        assert_eq!(risk.level, RiskLevel::Crisis);
        assert_eq!(risk.evidence[0].context.as_deref(), Some("third party: she, now: just texted"));
        // Now does not undo the past: an attempt years ago stays history.
        assert_eq!(
            level(&lex, "she was suicidal years ago, I just texted her"),
            Some(RiskLevel::Distress)
        );
    }

    #[test]
    fn a_bad_combination_names_its_line_and_the_fix() {
        let mut b = Builder::default();
        let yaml = "combinations:\n  - name: x\n    kind: selfharm\n    all:\n      - [a]\n      - [b]\n";
        let err = b.read_file(Lang::En, "en.yaml", yaml).unwrap_err().to_string();
        assert!(err.contains("en.yaml:2") && err.contains("self_harm"), "{err}");
        let yaml = "combinations:\n  - name: x\n    kind: emergency\n    all: [[a]]\n";
        let err = b.read_file(Lang::En, "en.yaml", yaml).unwrap_err().to_string();
        assert!(err.contains("two or more groups"), "{err}");
    }

    #[test]
    fn a_bad_file_names_its_line_and_the_fix() {
        let mut b = Builder::default();
        let err = b
            .read_file(Lang::En, "en.yaml", "crisis:\n  self_harm: [a]\nnegaton: [never]\n")
            .unwrap_err();
        assert!(
            err.to_string().contains("en.yaml:3") && err.to_string().contains("negation"),
            "{err}"
        );
        let err = b
            .read_file(Lang::En, "en.yaml", "patterns:\n  crisis: ['(unclosed']\n")
            .unwrap_err();
        assert!(
            err.to_string().contains("en.yaml:2") && err.to_string().contains("regular expression"),
            "{err}"
        );
    }
}
