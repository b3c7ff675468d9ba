//! Loaders for the public evaluation sets (`../shared/data/`, see its README): each comes as CSV with
//! its own label scheme, mapped here to Careline's labels as its SOURCE.txt describes. The rows are
//! read at evaluation time and never copied into this repository.

use crate::eval::{Label, Row};
use crate::lang::Lang;
use crate::text::normalize;
use anyhow::{Context, bail};
use std::collections::HashMap;

/// A public set Careline knows how to read, and what it measures.
pub struct PublicSet {
    pub name: &'static str,
    pub measures: &'static str,
}

pub const TRIAGE_SETS: [PublicSet; 7] = [
    PublicSet {
        name: "crisis_en_tweets_suicidal",
        measures: "label 2 (writer at risk now) = crisis, 0 (not about the writer) = routine; 1 (ambiguous) skipped, as its authors did",
    },
    PublicSet {
        name: "crisis_es_tweets",
        measures: "1 = crisis, 0 = routine",
    },
    PublicSet {
        name: "crisis_en_reddit_sdcnl",
        measures: "r/SuicideWatch = crisis, r/depression = distress (title and body)",
    },
    PublicSet {
        name: "reddit_mh_subreddits",
        measures: "suicidewatch = crisis, support subreddits = distress, control subreddits = routine",
    },
    PublicSet {
        name: "intent_medical_symptoms",
        measures: "symptom phrases = clinical (\"Emotional pain\" = distress)",
    },
    PublicSet {
        name: "faq_medquad",
        measures: "consumer health questions = clinical",
    },
    PublicSet {
        name: "faq_liveqa_consumer",
        measures: "messy consumer health questions = clinical",
    },
];

pub const LANGID_SETS: [PublicSet; 2] = [
    PublicSet {
        name: "lid_lingua_testdata",
        measures: "10 languages at three tiers (sentences, word-pairs, single-words); choose one with --tier",
    },
    PublicSet {
        name: "haitian_cmu_medical",
        measures: "the Haitian Creole side of medical phrase pairs = ht",
    },
];

const DISTRESS_SUBREDDITS: [&str; 10] = [
    "depression",
    "lonely",
    "foreveralone",
    "bpd",
    "anxiety",
    "healthanxiety",
    "ptsd",
    "addiction",
    "alcoholism",
    "edanonymous",
];
const CONTROL_SUBREDDITS: [&str; 7] = [
    "guns",
    "legaladvice",
    "personalfinance",
    "divorce",
    "conspiracy",
    "teaching",
    "mindfulness",
];

/// CSV records as maps from column name to value.
fn records(csv_text: &str) -> anyhow::Result<Vec<HashMap<String, String>>> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().context("reading the CSV header")?.clone();
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("CSV record {}", i + 1))?;
        out.push(headers.iter().map(str::to_string).zip(record.iter().map(str::to_string)).collect());
    }
    Ok(out)
}

fn field<'a>(r: &'a HashMap<String, String>, name: &str) -> anyhow::Result<&'a str> {
    r.get(name)
        .map(String::as_str)
        .with_context(|| format!("the CSV has no `{name}` column"))
}

/// One line of text as a TSV field: no tabs or line breaks.
fn flatten(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads a public triage set as labelled rows (row numbers are CSV record numbers).
pub fn triage_rows(set: &str, csv_text: &str) -> anyhow::Result<Vec<Row<Label>>> {
    let mut rows = Vec::new();
    for (i, r) in records(csv_text)?.iter().enumerate() {
        let (label, lang, text) = match set {
            "crisis_en_tweets_suicidal" => match field(r, "label")? {
                "2" => (Label::Crisis, Lang::En, field(r, "text")?.to_string()),
                "0" => (Label::Routine, Lang::En, field(r, "text")?.to_string()),
                _ => continue,
            },
            "crisis_es_tweets" => {
                let label = if field(r, "label")? == "1" { Label::Crisis } else { Label::Routine };
                (label, Lang::Es, field(r, "text")?.to_string())
            }
            "crisis_en_reddit_sdcnl" => {
                let label = if field(r, "is_suicide")? == "1" {
                    Label::Crisis
                } else {
                    Label::Distress
                };
                (label, Lang::En, format!("{}. {}", field(r, "title")?, field(r, "selftext")?))
            }
            "reddit_mh_subreddits" => {
                let sub = field(r, "subreddit")?.to_lowercase();
                let label = if sub == "suicidewatch" {
                    Label::Crisis
                } else if DISTRESS_SUBREDDITS.contains(&sub.as_str()) {
                    Label::Distress
                } else if CONTROL_SUBREDDITS.contains(&sub.as_str()) {
                    Label::Routine
                } else {
                    bail!("record {}: subreddit `{sub}` is in none of the set's groups", i + 1)
                };
                (label, Lang::En, field(r, "post")?.to_string())
            }
            "intent_medical_symptoms" => {
                let label = if field(r, "intent")? == "Emotional pain" {
                    Label::Distress
                } else {
                    Label::Clinical
                };
                (label, Lang::En, field(r, "phrase")?.to_string())
            }
            "faq_medquad" => (Label::Clinical, Lang::En, field(r, "question")?.to_string()),
            "faq_liveqa_consumer" => (Label::Clinical, Lang::En, field(r, "message")?.to_string()),
            _ => bail!("unknown triage set `{set}`; known: {}", TRIAGE_SETS.map(|s| s.name).join(", ")),
        };
        rows.push(Row {
            line: i + 2,
            label,
            lang: Some(lang),
            text: flatten(&text),
        });
    }
    Ok(rows)
}

/// Reads a public language-identification set; `tier` selects one tier of `lid_lingua_testdata`.
pub fn langid_rows(set: &str, csv_text: &str, tier: Option<&str>) -> anyhow::Result<Vec<Row<Lang>>> {
    let mut rows = Vec::new();
    for (i, r) in records(csv_text)?.iter().enumerate() {
        let (lang, text) = match set {
            "lid_lingua_testdata" => {
                if tier.is_some_and(|t| field(r, "tier").is_ok_and(|x| x != t)) {
                    continue;
                }
                let code = field(r, "lang")?;
                let lang = Lang::from_code(code).with_context(|| format!("record {}: unknown language `{code}`", i + 1))?;
                (lang, field(r, "text")?)
            }
            "haitian_cmu_medical" => (Lang::Ht, field(r, "ht")?),
            _ => bail!(
                "unknown language-identification set `{set}`; known: {}",
                LANGID_SETS.map(|s| s.name).join(", ")
            ),
        };
        rows.push(Row {
            line: i + 2,
            label: lang,
            lang: Some(lang),
            text: flatten(text),
        });
    }
    Ok(rows)
}

/// The keyword baseline: the published suicide-risk lexicon's prototypical terms, whole-word.
pub struct KeywordBaseline {
    terms: Vec<String>,
}

impl KeywordBaseline {
    /// Reads `srl_v1_terms.csv` (columns construct, term, prototypical).
    pub fn from_csv(csv_text: &str) -> anyhow::Result<KeywordBaseline> {
        let mut terms = Vec::new();
        for r in records(csv_text)? {
            if field(&r, "prototypical")? == "1" {
                terms.push(normalize(field(&r, "term")?));
            }
        }
        Ok(KeywordBaseline { terms })
    }

    pub fn is_crisis(&self, text: &str) -> bool {
        let norm = normalize(text);
        self.terms.iter().any(|t| norm.contains(t.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_each_scheme_to_careline_labels() {
        let tweets = "id,text,label,src_file\na,\"one\ttwo\",2,x\nb,calm,0,x\nc,meh,1,x\n";
        let rows = triage_rows("crisis_en_tweets_suicidal", tweets).unwrap();
        assert_eq!(
            rows.iter().map(|r| (r.label, r.text.as_str())).collect::<Vec<_>>(),
            [(Label::Crisis, "one two"), (Label::Routine, "calm")]
        );
        let lid = "id,lang,tier,text\n1,ko,sentences,x\n2,tl,word-pairs,y z\n";
        let rows = langid_rows("lid_lingua_testdata", lid, Some("word-pairs")).unwrap();
        assert_eq!((rows.len(), rows[0].label), (1, Lang::Tl));
        assert!(triage_rows("nope", tweets).is_err());
        assert!(triage_rows("faq_medquad", tweets).unwrap_err().to_string().contains("question"));
    }

    #[test]
    fn keyword_baseline_uses_prototypical_terms_only() {
        let b = KeywordBaseline::from_csv("construct,term,prototypical\nx,want to die,1\ny,sad,0\n").unwrap();
        assert!(b.is_crisis("I WANT to die"));
        assert!(!b.is_crisis("so sad"));
    }
}
